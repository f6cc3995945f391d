//! Messages (docs/protocol.md#75-messages): the stored form, the wire form clients see, and the computed `pings`.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use super::Directory;

/// The author of server-made messages (welcome, slash command output).
pub const SERVER_AUTHOR: &str = "originChats";

/// A message as stored. Standard fields are typed; every other stored key is in `extra`, in
/// order (`embeds`, `attachments`, `reply_to`, `ping`, `edited`, `reactions`, `pinned`,
/// `interaction`, `webhook`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub channel: String,
    /// Author user id, or [`SERVER_AUTHOR`].
    pub user_id: String,
    pub content: String,
    /// Unix seconds.
    pub timestamp: f64,
    pub extra: Map<String, Value>,
}

impl Message {
    pub fn new(channel: &str, user_id: &str, content: String) -> Message {
        Message {
            id: crate::random::uuid_v4(),
            channel: channel.to_string(),
            user_id: user_id.to_string(),
            content,
            timestamp: now(),
            extra: Map::new(),
        }
    }

    /// The first message of a new text channel, from the server.
    pub fn first_in_channel(channel: &str) -> Message {
        Message::new(channel, SERVER_AUTHOR, format!("Welcome to #{channel}!"))
    }

    /// The id of the message this one replies to.
    pub fn reply_to(&self) -> Option<&str> {
        self.extra
            .get("reply_to")
            .and_then(|r| r.get("id"))
            .and_then(Value::as_str)
    }

    /// The author id of the message this one replies to.
    pub fn reply_user(&self) -> Option<&str> {
        self.extra
            .get("reply_to")
            .and_then(|r| r.get("user"))
            .and_then(Value::as_str)
    }

    pub fn pinned(&self) -> bool {
        self.extra.get("pinned") == Some(&Value::Bool(true))
    }

    /// Users (ids) who reacted with `emoji`.
    pub fn reactors(&self, emoji: &str) -> Vec<&str> {
        self.extra
            .get("reactions")
            .and_then(|r| r.get(emoji))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Adds a reaction; false if this user already reacted with this emoji.
    pub fn add_reaction(&mut self, emoji: &str, user_id: &str) -> bool {
        let reactions = self.extra.entry("reactions").or_insert_with(|| json!({}));
        let Some(reactions) = reactions.as_object_mut() else {
            return false;
        };
        let list = reactions.entry(emoji).or_insert_with(|| json!([]));
        let Some(list) = list.as_array_mut() else {
            return false;
        };
        if list.iter().any(|u| u == user_id) {
            return false;
        }
        list.push(json!(user_id));
        true
    }

    /// Removes a reaction; false if this user had not reacted with this emoji.
    pub fn remove_reaction(&mut self, emoji: &str, user_id: &str) -> bool {
        let Some(reactions) = self
            .extra
            .get_mut("reactions")
            .and_then(Value::as_object_mut)
        else {
            return false;
        };
        let Some(list) = reactions.get_mut(emoji).and_then(Value::as_array_mut) else {
            return false;
        };
        let before = list.len();
        list.retain(|u| u != user_id);
        let removed = list.len() != before;
        if list.is_empty() {
            reactions.shift_remove(emoji);
        }
        if reactions.is_empty() {
            self.extra.shift_remove("reactions");
        }
        removed
    }

    /// The wire form (docs/protocol.md#75-messages) as a JSON object (see [`WireMessage`]).
    pub fn wire(&self, dir: &Directory) -> Map<String, Value> {
        match serde_json::to_value(WireMessage {
            message: self,
            dir,
            pings: None,
        }) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

/// A message in its wire form (docs/protocol.md#75-messages), serialized straight from the stored message: ids
/// become usernames (author, `reply_to.user`, reactions), and `pinned`, `type` and
/// `interaction` are added when absent; `pings` last when given. No intermediate JSON
/// value is built, so a broadcast costs one encoding.
pub struct WireMessage<'a> {
    pub message: &'a Message,
    pub dir: &'a Directory,
    pub pings: Option<&'a Pings<'a>>,
}

impl Serialize for WireMessage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (m, dir) = (self.message, self.dir);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("user", username(dir, &m.user_id))?;
        map.serialize_entry("content", &m.content)?;
        map.serialize_entry("timestamp", &m.timestamp)?;
        map.serialize_entry("id", &m.id)?;
        for (k, v) in &m.extra {
            match (k.as_str(), v) {
                ("reply_to", Value::Object(r)) => map.serialize_entry(k, &ReplyTo(r, dir))?,
                ("reactions", Value::Object(r)) => map.serialize_entry(k, &Reactions(r, dir))?,
                _ => map.serialize_entry(k, v)?,
            }
        }
        if !m.extra.contains_key("pinned") {
            map.serialize_entry("pinned", &false)?;
        }
        if !m.extra.contains_key("type") {
            map.serialize_entry("type", "message")?;
        }
        if !m.extra.contains_key("interaction") {
            map.serialize_entry("interaction", &())?;
        }
        if let Some(p) = self.pings {
            map.serialize_entry("pings", p)?;
        }
        map.end()
    }
}

/// The username of a user id; unknown ids (and `originChats`) stay as they are.
fn username<'a>(dir: &'a Directory, id: &'a str) -> &'a str {
    dir.user(id).map_or(id, |u| u.username.as_str())
}

/// `reply_to` with its `user` shown as a username.
struct ReplyTo<'a>(&'a Map<String, Value>, &'a Directory);

impl Serialize for ReplyTo<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            match (k.as_str(), v.as_str()) {
                ("user", Some(id)) => map.serialize_entry(k, username(self.1, id))?,
                _ => map.serialize_entry(k, v)?,
            }
        }
        map.end()
    }
}

/// `reactions` with every user shown as a username.
struct Reactions<'a>(&'a Map<String, Value>, &'a Directory);

impl Serialize for Reactions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (emoji, ids) in self.0 {
            let names: Vec<&str> = ids
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|id| username(self.1, id.as_str().unwrap_or("")))
                        .collect()
                })
                .unwrap_or_default();
            map.serialize_entry(emoji, &names)?;
        }
        map.end()
    }
}

/// Now, as Unix seconds.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The `pings` object of `message_new` / `message_edit` (docs/protocol.md#81-message_new), computed, never stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pings<'a> {
    /// `@name` tokens, as stored usernames when such a user exists (else as typed).
    pub users: Vec<&'a str>,
    /// `@&role` tokens.
    pub roles: Vec<&'a str>,
    /// The author of the message replied to, unless the reply turned pinging off.
    pub replies: Vec<&'a str>,
}

/// Computes [`Pings`]: deduplicated tokens in order of first appearance.
pub fn pings<'a>(content: &'a str, dir: &'a Directory, reply_author: Option<&'a str>) -> Pings<'a> {
    let mut users: Vec<&str> = Vec::new();
    let mut roles: Vec<&str> = Vec::new();
    for (at, token, role) in mention_tokens(content) {
        if role {
            if !roles.contains(&token) {
                roles.push(token);
            }
            continue;
        }
        // A token whose first occurrence follows `&` is a role mention of the same name.
        if first_mention(content, token)
            .unwrap_or(at)
            .checked_sub(1)
            .is_some_and(|i| content.as_bytes()[i] == b'&')
        {
            continue;
        }
        let shown = dir
            .user_by_name(token)
            .map_or(token, |u| u.username.as_str());
        if !users.contains(&shown) {
            users.push(shown);
        }
    }
    Pings {
        users,
        roles,
        replies: reply_author.into_iter().collect(),
    }
}

/// Where `@token` first occurs in `content` (as a substring, like the original server).
fn first_mention(content: &str, token: &str) -> Option<usize> {
    content
        .match_indices('@')
        .map(|(i, _)| i)
        .find(|&i| content[i + 1..].starts_with(token))
}

/// `@name` and `@&name` tokens (name = a run of ASCII letters, digits and `_`), with where
/// each starts and a flag telling role mentions apart.
fn mention_tokens(content: &str) -> Vec<(usize, &str, bool)> {
    let bytes = content.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'@' {
            i += 1;
            continue;
        }
        let role = bytes.get(i + 1) == Some(&b'&');
        let start = i + 1 + usize::from(role);
        let mut end = start;
        while end < bytes.len() && word(bytes[end]) {
            end += 1;
        }
        if end > start {
            out.push((i, &content[start..end], role));
        }
        i = end.max(i + 1);
    }
    out
}

/// Whether a message pings a user (for `pings_get`): `@<username>` or `@&<one of their
/// roles>` as a whole token, or a reply to them that did not turn the ping off.
pub fn pings_user(m: &Message, user_id: &str, username: &str, roles: &[String]) -> bool {
    let whole = |needle: &str| {
        m.content.match_indices(needle).any(|(i, _)| {
            m.content[i + needle.len()..]
                .bytes()
                .next()
                .is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        })
    };
    if whole(&format!("@{username}")) || roles.iter().any(|r| whole(&format!("@&{r}"))) {
        return true;
    }
    m.reply_user() == Some(user_id) && m.extra.get("ping") != Some(&Value::Bool(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Roles, User};

    fn dir() -> Directory {
        let bob = User::new_local("bob", String::new(), vec!["user".into()]);
        Directory::new(vec![bob], Roles::default(), vec![])
    }

    #[test]
    fn pings_match_the_reference_example() {
        let d = dir();
        let p = pings("hello @bob and @USR:local_bob @nobody @&user", &d, None);
        assert_eq!(
            json!(p),
            json!({"users": ["bob", "USR", "nobody"], "roles": ["user"], "replies": []})
        );
        let p = pings("@&mods and @mods", &d, Some("USR:local_alice"));
        assert_eq!(
            json!(p),
            json!({"users": ["mods"], "roles": ["mods"], "replies": ["USR:local_alice"]})
        );
        let p = pings("&@bob", &d, None);
        assert!(p.users.is_empty());
    }

    #[test]
    fn reactions_add_and_remove() {
        let mut m = Message::new("general", "u1", "hi".into());
        assert!(m.add_reaction("👍", "u1"));
        assert!(!m.add_reaction("👍", "u1"));
        assert!(m.add_reaction("👍", "u2"));
        assert_eq!(m.reactors("👍"), ["u1", "u2"]);
        assert!(m.remove_reaction("👍", "u1"));
        assert!(!m.remove_reaction("👍", "u1"));
        assert!(m.remove_reaction("👍", "u2"));
        assert!(!m.extra.contains_key("reactions"));
    }

    #[test]
    fn wire_form_names_users_and_adds_defaults() {
        let d = dir();
        let mut m = Message::new("general", "USR:local_bob", "hi".into());
        m.extra.insert(
            "reply_to".into(),
            json!({"id": "x", "user": "USR:local_bob"}),
        );
        m.add_reaction("🎉", "USR:local_bob");
        m.add_reaction("🎉", "gone");
        let w = Value::Object(m.wire(&d));
        assert_eq!(w["user"], "USR:local_bob");
        assert_eq!(w["reactions"], json!({"🎉": ["USR:local_bob", "gone"]}));
        assert_eq!(w["pinned"], false);
        assert_eq!(w["type"], "message");
        assert_eq!(w["interaction"], Value::Null);
        let keys: Vec<&String> = w.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "user",
                "content",
                "timestamp",
                "id",
                "reply_to",
                "reactions",
                "pinned",
                "type",
                "interaction"
            ]
        );
    }

    #[test]
    fn pinged_users() {
        let mut m = Message::new("general", "a", "hey @USR:local_bob!".into());
        assert!(pings_user(&m, "USR:local_bob", "USR:local_bob", &[]));
        m.content = "hey @USR:local_bobby".into();
        assert!(!pings_user(&m, "USR:local_bob", "USR:local_bob", &[]));
        m.content = "hey @&user".into();
        assert!(pings_user(&m, "x", "y", &["user".into()]));
        m.content = "reply".into();
        m.extra
            .insert("reply_to".into(), json!({"id": "1", "user": "x"}));
        assert!(pings_user(&m, "x", "y", &[]));
        m.extra.insert("ping".into(), json!(false));
        assert!(!pings_user(&m, "x", "y", &[]));
    }
}
