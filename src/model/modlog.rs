//! An audit log entry (docs/protocol.md#821-audit-log): who did which moderation or
//! management action to what, and when. The shape is the original server's (`modlog_get`
//! returns entries as they are stored); the category of an action is fixed by the action,
//! and each category keeps its entries for as long as the original keeps them.

use serde_json::{Value, json};

/// Who acted when the admin command line changed something: it has no account.
pub const CLI_ACTOR: &str = "admin-cli";

/// The category of each action that writes an entry, as the original groups them.
const CATEGORIES: &[(&str, &str)] = &[
    ("user_ban", "user_moderation"),
    ("user_unban", "user_moderation"),
    ("user_timeout", "user_moderation"),
    ("user_roles_set", "user_moderation"),
    ("user_update", "user_moderation"),
    ("user_delete", "user_moderation"),
    ("role_create", "role_management"),
    ("role_update", "role_management"),
    ("role_delete", "role_management"),
    ("role_reorder", "role_management"),
    ("role_permissions_set", "role_management"),
    ("self_role_add", "role_management"),
    ("self_role_remove", "role_management"),
    ("channel_create", "channel_management"),
    ("channel_update", "channel_management"),
    ("channel_move", "channel_management"),
    ("channel_delete", "channel_management"),
    ("message_delete", "message_moderation"),
    ("message_pin", "message_moderation"),
    ("message_unpin", "message_moderation"),
    ("server_update", "server_management"),
    ("emoji_add", "server_management"),
    ("emoji_update", "server_management"),
    ("emoji_delete", "server_management"),
    ("webhook_create", "server_management"),
    ("webhook_update", "server_management"),
    ("webhook_delete", "server_management"),
    ("webhook_regenerate", "server_management"),
];

/// The category of an action; `other` for one the original does not know (imported).
pub fn category_of(action: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|(a, _)| *a == action)
        .map_or("other", |(_, c)| c)
}

/// How long entries of each category are kept, in days (the original's defaults); any
/// other category keeps them [`DEFAULT_RETENTION_DAYS`].
pub const RETENTION_DAYS: &[(&str, u32)] = &[
    ("user_moderation", 365),
    ("role_management", 365),
    ("channel_management", 180),
    ("message_moderation", 90),
    ("server_management", 180),
];

/// Retention of the categories [`RETENTION_DAYS`] does not name.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// One entry. `details` is a JSON object whose keys depend on the action; it never holds
/// a secret (no token, no password hash).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// `<milliseconds>-<actor id>`, as the original makes them.
    pub id: String,
    pub action: String,
    pub category: String,
    pub actor_id: String,
    pub actor_name: String,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub details: Value,
    /// Unix seconds.
    pub timestamp: f64,
}

impl AuditEntry {
    /// An entry for `action` by this actor, now, with no target and empty details.
    pub fn new(action: &str, actor_id: &str, actor_name: &str) -> AuditEntry {
        let timestamp = super::message::now();
        AuditEntry {
            id: format!("{}-{actor_id}", (timestamp * 1000.0) as u64),
            action: action.to_string(),
            category: category_of(action).to_string(),
            actor_id: actor_id.to_string(),
            actor_name: actor_name.to_string(),
            target_id: None,
            target_name: None,
            details: json!({}),
            timestamp,
        }
    }

    /// An entry for an action of the admin command line.
    pub fn by_cli(action: &str) -> AuditEntry {
        AuditEntry::new(action, CLI_ACTOR, CLI_ACTOR)
    }

    /// Names what the action was done to (a user, role, channel, message, webhook, …).
    pub fn target(mut self, id: impl Into<String>, name: Option<String>) -> AuditEntry {
        self.target_id = Some(id.into());
        self.target_name = name;
        self
    }

    /// Sets the details (a JSON object).
    pub fn details(mut self, details: Value) -> AuditEntry {
        self.details = details;
        self
    }

    /// Whether the entry is still within its category's retention at `now` (Unix seconds).
    pub fn is_live(&self, now: f64) -> bool {
        let days = RETENTION_DAYS
            .iter()
            .find(|(c, _)| *c == self.category)
            .map_or(DEFAULT_RETENTION_DAYS, |(_, d)| *d);
        self.timestamp > now - f64::from(days) * 86_400.0
    }

    /// The wire form of `modlog_get`: the original's fields, in its order.
    pub fn wire(&self) -> Value {
        json!({
            "id": self.id,
            "action": self.action,
            "category": self.category,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "target_id": self.target_id,
            "target_name": self.target_name,
            "details": self.details,
            "timestamp": self.timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_have_the_original_categories() {
        assert_eq!(category_of("user_ban"), "user_moderation");
        assert_eq!(category_of("role_reorder"), "role_management");
        assert_eq!(category_of("channel_move"), "channel_management");
        assert_eq!(category_of("message_unpin"), "message_moderation");
        assert_eq!(category_of("webhook_regenerate"), "server_management");
        assert_eq!(category_of("plugins_reload"), "other");
    }

    #[test]
    fn an_entry_is_shaped_as_the_original() {
        let e = AuditEntry::new("user_ban", "u1", "alice")
            .target("u2", Some("bob".into()))
            .details(json!({"reason": "spam"}));
        assert!(e.id.ends_with("-u1"), "{}", e.id);
        let wire = e.wire();
        let keys: Vec<&str> = wire
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "id",
                "action",
                "category",
                "actor_id",
                "actor_name",
                "target_id",
                "target_name",
                "details",
                "timestamp"
            ]
        );
        assert_eq!(wire["category"], "user_moderation");
        assert_eq!(wire["target_name"], "bob");
        let now = e.timestamp;
        assert!(e.is_live(now + 364.0 * 86_400.0));
        assert!(!e.is_live(now + 366.0 * 86_400.0));
    }
}
