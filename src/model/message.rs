//! Messages (§7.5): the stored form, the wire form clients see, and the computed `pings`.

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

    /// The wire form (§7.5): ids turned into usernames, and `pinned`, `type`,
    /// `interaction` added when absent.
    pub fn wire(&self, dir: &Directory) -> Map<String, Value> {
        let name = |id: &str| {
            dir.user(id)
                .map_or_else(|| id.to_string(), |u| u.username.clone())
        };
        let mut m = Map::new();
        m.insert("user".into(), json!(name(&self.user_id)));
        m.insert("content".into(), json!(self.content));
        m.insert("timestamp".into(), json!(self.timestamp));
        m.insert("id".into(), json!(self.id));
        for (k, v) in &self.extra {
            let v = match k.as_str() {
                "reply_to" => {
                    let mut r = v.clone();
                    if let Some(u) = v.get("user").and_then(Value::as_str) {
                        r["user"] = json!(name(u));
                    }
                    r
                }
                "reactions" => match v.as_object() {
                    Some(map) => Value::Object(
                        map.iter()
                            .map(|(emoji, ids)| {
                                let names: Vec<Value> = ids
                                    .as_array()
                                    .map(|a| {
                                        a.iter()
                                            .map(|id| json!(name(id.as_str().unwrap_or(""))))
                                            .collect()
                                    })
                                    .unwrap_or_default();
                                (emoji.clone(), Value::Array(names))
                            })
                            .collect(),
                    ),
                    None => v.clone(),
                },
                _ => v.clone(),
            };
            m.insert(k.clone(), v);
        }
        for (k, default) in [
            ("pinned", json!(false)),
            ("type", json!("message")),
            ("interaction", Value::Null),
        ] {
            if !m.contains_key(k) {
                m.insert(k.into(), default);
            }
        }
        m
    }
}

/// Now, as Unix seconds.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The `pings` object of `message_new` / `message_edit` (§8.1): `@name` tokens (resolved to
/// stored usernames when they exist), `@&role` tokens, and the replied-to author.
pub fn pings(content: &str, dir: &Directory, reply_author: Option<&str>) -> Value {
    let mut users: Vec<String> = Vec::new();
    let mut roles: Vec<String> = Vec::new();
    for (token, role) in mention_tokens(content) {
        if role {
            if !roles.iter().any(|r| r == token) {
                roles.push(token.to_string());
            }
            continue;
        }
        // A token whose first occurrence follows `&` is a role mention of the same name.
        let first = content.find(&format!("@{token}")).unwrap_or(0);
        if content[..first].ends_with('&') {
            continue;
        }
        let shown = dir
            .user_by_name(token)
            .map_or_else(|| token.to_string(), |u| u.username.clone());
        if !users.contains(&shown) {
            users.push(shown);
        }
    }
    let replies: Vec<String> = reply_author
        .map(|a| vec![a.to_string()])
        .unwrap_or_default();
    json!({"users": users, "roles": roles, "replies": replies})
}

/// `@name` and `@&name` tokens (name = a run of ASCII letters, digits and `_`), with a flag
/// telling role mentions apart.
fn mention_tokens(content: &str) -> Vec<(&str, bool)> {
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
            out.push((&content[start..end], role));
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
        let p = pings("hello @bob and @USR:local_bob @nobody @&user", &dir(), None);
        assert_eq!(
            p,
            json!({"users": ["bob", "USR", "nobody"], "roles": ["user"], "replies": []})
        );
        let p = pings("@&mods and @mods", &dir(), Some("USR:local_alice"));
        assert_eq!(
            p,
            json!({"users": ["mods"], "roles": ["mods"], "replies": ["USR:local_alice"]})
        );
        let p = pings("&@bob", &dir(), None);
        assert_eq!(p["users"], json!([]));
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
