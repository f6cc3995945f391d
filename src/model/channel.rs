//! Channels (docs/protocol.md#74-channels) and channel permissions (docs/protocol.md#73-permissions B).

use serde_json::{Map, Value, json};

/// One channel: the stored object as clients see it (`name`, `type`, `permissions`, and
/// any other keys, kept as they are).
#[derive(Debug, Clone, PartialEq)]
pub struct Channel(pub Map<String, Value>);

/// What a channel is for (its `type`). A stored type this server does not know (say, a
/// forum imported from elsewhere) is [`ChannelKind::Other`]: listed, but not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    Text,
    Voice,
    Separator,
    Other,
}

impl ChannelKind {
    /// The kinds `channel_create` accepts, with their wire names.
    pub const CREATABLE: [(ChannelKind, &'static str); 3] = [
        (ChannelKind::Text, "text"),
        (ChannelKind::Voice, "voice"),
        (ChannelKind::Separator, "separator"),
    ];

    /// The kind a wire name stands for; `None` for names this server does not create.
    pub fn parse(name: &str) -> Option<ChannelKind> {
        Self::CREATABLE
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(k, _)| *k)
    }
}

/// The action keys of a channel's `permissions` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    View,
    Send,
    Delete,
    CreateThread,
    DeleteOwn,
    EditOwn,
    React,
    Pin,
}

impl Action {
    pub fn key(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Send => "send",
            Action::Delete => "delete",
            Action::CreateThread => "create_thread",
            Action::DeleteOwn => "delete_own",
            Action::EditOwn => "edit_own",
            Action::React => "react",
            Action::Pin => "pin",
        }
    }

    /// The list used when the key is missing (only the "default" keys have one) or, for
    /// the first four, when the channel has no permissions at all.
    fn default_roles(self) -> &'static [&'static str] {
        match self {
            Action::DeleteOwn | Action::EditOwn | Action::React => &["user"],
            Action::View | Action::Send | Action::Delete | Action::CreateThread | Action::Pin => {
                &["owner"]
            }
        }
    }

    /// `delete_own`, `edit_own`, `react` and `pin` are checked by plain membership.
    fn is_membership_key(self) -> bool {
        matches!(
            self,
            Action::DeleteOwn | Action::EditOwn | Action::React | Action::Pin
        )
    }
}

impl Channel {
    /// The channel every fresh server has.
    pub fn general() -> Channel {
        let v = json!({
            "type": "text",
            "name": "general",
            "description": "General chat channel for everyone",
            "permissions": {
                "view": ["user"],
                "send": ["user"],
                "delete": ["admin", "moderator"],
                "create_thread": ["user"]
            }
        });
        match v {
            Value::Object(map) => Channel(map),
            _ => unreachable!("a JSON object literal"),
        }
    }

    pub fn name(&self) -> &str {
        self.0.get("name").and_then(Value::as_str).unwrap_or("")
    }

    /// The stored `type` as it is (`text` when absent).
    pub fn type_name(&self) -> &str {
        self.0.get("type").and_then(Value::as_str).unwrap_or("text")
    }

    pub fn kind(&self) -> ChannelKind {
        ChannelKind::parse(self.type_name()).unwrap_or(ChannelKind::Other)
    }

    fn permissions(&self) -> Option<&Map<String, Value>> {
        self.0
            .get("permissions")
            .and_then(Value::as_object)
            .filter(|p| !p.is_empty())
    }
}

/// Channel names are keys in the store and appear in paths of the original server's data:
/// at most 100 characters, no `/`, `\`, `..` or control characters, not empty.
pub fn validate_name(name: &str) -> Result<(), &'static str> {
    let bad = name.trim().is_empty()
        || name.chars().count() > 100
        || name.contains(['/', '\\'])
        || name.contains("..")
        || name.chars().any(char::is_control);
    if bad {
        return Err(
            "Invalid channel name: at most 100 characters, without /, \\, .. or control characters",
        );
    }
    Ok(())
}

/// May a user with `user_roles` (in stored order) do `action` in `channel`?
/// `channel` is `None` when it does not exist.
pub fn allows(channel: Option<&Channel>, action: Action, user_roles: &[String]) -> bool {
    if action.is_membership_key() {
        let Some(channel) = channel else { return false };
        let listed = channel.permissions().and_then(|p| p.get(action.key()));
        return match listed.and_then(Value::as_array) {
            Some(list) => user_roles.iter().any(|r| list.iter().any(|l| l == r)),
            None => user_roles
                .iter()
                .any(|r| action.default_roles().contains(&r.as_str())),
        };
    }
    match channel.and_then(Channel::permissions) {
        None => first_match(user_roles, action.default_roles().iter().copied()),
        Some(perms) => match perms.get(action.key()).and_then(Value::as_array) {
            None => false,
            Some(list) => first_match(user_roles, list.iter().filter_map(Value::as_str)),
        },
    }
}

/// Walks the user's roles in order: `!role` in the list denies, `role` allows, the first
/// one found decides; no match denies.
fn first_match<'a>(user_roles: &[String], list: impl Iterator<Item = &'a str> + Clone) -> bool {
    for role in user_roles {
        for entry in list.clone() {
            if entry.strip_prefix('!') == Some(role.as_str()) {
                return false;
            }
        }
        if list.clone().any(|e| e == role) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn chan(perms: Value) -> Channel {
        let mut c = Channel::general();
        c.0.insert("permissions".into(), perms);
        c
    }

    #[test]
    fn first_matching_role_decides() {
        let c = chan(json!({"view": ["user", "!muted"]}));
        assert!(allows(Some(&c), Action::View, &r(&["user", "muted"])));
        assert!(!allows(Some(&c), Action::View, &r(&["muted", "user"])));
        assert!(!allows(Some(&c), Action::View, &r(&["guest"])));
    }

    #[test]
    fn owner_has_no_bypass_on_listed_keys() {
        let g = Channel::general();
        assert!(!allows(Some(&g), Action::Delete, &r(&["owner", "user"])));
        assert!(allows(Some(&g), Action::Delete, &r(&["moderator"])));
        assert!(allows(Some(&g), Action::View, &r(&["owner", "user"])));
        assert!(!allows(Some(&g), Action::View, &r(&["owner"])));
    }

    #[test]
    fn missing_key_and_missing_channel() {
        let c = chan(json!({"view": ["user"]}));
        assert!(!allows(Some(&c), Action::Send, &r(&["owner", "user"])));
        assert!(allows(Some(&c), Action::React, &r(&["user"])));
        assert!(allows(Some(&c), Action::Pin, &r(&["owner"])));
        assert!(!allows(Some(&c), Action::Pin, &r(&["user"])));
        assert!(allows(None, Action::View, &r(&["owner"])));
        assert!(!allows(None, Action::View, &r(&["user"])));
        assert!(!allows(None, Action::React, &r(&["user"])));
        let empty = chan(json!({}));
        assert!(allows(Some(&empty), Action::Send, &r(&["owner"])));
        assert!(!allows(Some(&empty), Action::Send, &r(&["user"])));
    }

    #[test]
    fn channel_names() {
        assert!(validate_name("general").is_ok());
        assert!(validate_name("café-☕").is_ok());
        for bad in ["", "  ", "../x", "a/b", "a\\b", "a\nb", &"x".repeat(101)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn membership_keys_ignore_denials() {
        let c = chan(json!({"view": ["user"], "react": ["!user", "user"]}));
        assert!(allows(Some(&c), Action::React, &r(&["user"])));
    }
}
