//! Roles (§7.2) and server permissions (§7.3 A).

use serde_json::{Map, Value, json};

/// The 20 server permission names the handshake announces, in the reference's order.
pub const SERVER_PERMISSIONS: [&str; 20] = [
    "administrator",
    "manage_server",
    "view_audit_log",
    "manage_roles",
    "manage_channels",
    "manage_threads",
    "manage_users",
    "manage_messages",
    "read_message_history",
    "send_messages",
    "embed_links",
    "attach_files",
    "add_reactions",
    "external_emojis",
    "connect",
    "speak",
    "stream",
    "use_voice_activity",
    "mention_everyone",
    "use_slash_commands",
];

/// All roles, keyed by name, in store (rank) order. Each value is the role object as sent
/// to clients (`id`, `description`, `color`, `hoisted`, `permissions`, … — no `name`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roles(pub Map<String, Value>);

impl Roles {
    /// The roles a fresh server starts with. `new_id` makes the uuids.
    pub fn defaults(mut new_id: impl FnMut() -> String) -> Roles {
        let mut map = Map::new();
        let mut add = |name: &str,
                       position: u32,
                       color: Value,
                       hoisted: bool,
                       description: &str,
                       perms: &[&str]| {
            map.insert(
                name.to_string(),
                json!({
                    "id": new_id(),
                    "description": description,
                    "color": color,
                    "hoisted": hoisted,
                    "permissions": perms,
                    "self_assignable": false,
                    "category": null,
                    "position": position,
                }),
            );
        };
        add(
            "owner",
            0,
            json!("#9400D3"),
            true,
            "Server owner with ultimate permissions.",
            &["administrator"],
        );
        add(
            "admin",
            1,
            json!("#FF0000"),
            true,
            "Administrator role with full permissions.",
            &[
                "administrator",
                "manage_roles",
                "manage_channels",
                "manage_users",
                "manage_server",
                "manage_messages",
                "manage_threads",
                "manage_nicknames",
                "kick_members",
                "ban_members",
                "create_invite",
                "manage_invites",
                "mention_everyone",
                "use_slash_commands",
            ],
        );
        add(
            "moderator",
            2,
            json!("#FFFF00"),
            true,
            "Moderator role with elevated permissions.",
            &[
                "manage_messages",
                "manage_threads",
                "kick_members",
                "manage_nicknames",
                "mute_members",
                "deafen_members",
                "move_members",
                "create_invite",
                "use_slash_commands",
            ],
        );
        add(
            "user",
            3,
            Value::Null,
            false,
            "Regular user role with standard permissions.",
            &[
                "send_messages",
                "read_message_history",
                "add_reactions",
                "attach_files",
                "embed_links",
                "external_emojis",
                "connect",
                "speak",
                "stream",
                "use_voice_activity",
                "change_nickname",
                "create_invite",
                "use_slash_commands",
            ],
        );
        Roles(map)
    }

    pub fn get(&self, name: &str) -> Option<&Map<String, Value>> {
        self.0.get(name).and_then(Value::as_object)
    }

    /// The color rule: the color of the role named first in the user's list, else null.
    pub fn color_of(&self, user_roles: &[String]) -> Value {
        user_roles
            .first()
            .and_then(|r| self.get(r))
            .and_then(|r| r.get("color"))
            .filter(|c| c.is_string())
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// `has_permission` (§7.3 A): owner always; else any role granting `administrator` or
    /// `permission`.
    pub fn has_permission(&self, user_roles: &[String], permission: &str) -> bool {
        if user_roles.iter().any(|r| r == "owner") {
            return true;
        }
        user_roles.iter().filter_map(|r| self.get(r)).any(|role| {
            role.get("permissions")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p == "administrator" || p == permission))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> Roles {
        let mut n = 0;
        Roles::defaults(|| {
            n += 1;
            format!("id{n}")
        })
    }

    fn r(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn color_is_the_first_roles_color() {
        let roles = roles();
        assert_eq!(roles.color_of(&r(&["owner", "user"])), json!("#9400D3"));
        assert_eq!(roles.color_of(&r(&["user", "admin"])), Value::Null);
        assert_eq!(roles.color_of(&r(&["banned", "owner"])), Value::Null);
        assert_eq!(roles.color_of(&[]), Value::Null);
    }

    #[test]
    fn permissions_follow_roles() {
        let roles = roles();
        assert!(roles.has_permission(&r(&["owner"]), "manage_channels"));
        assert!(roles.has_permission(&r(&["admin"]), "manage_channels"));
        assert!(!roles.has_permission(&r(&["moderator"]), "manage_channels"));
        assert!(roles.has_permission(&r(&["moderator"]), "manage_messages"));
        assert!(!roles.has_permission(&r(&["user"]), "manage_server"));
        assert!(!roles.has_permission(&[], "send_messages"));
        assert_eq!(
            roles.0.keys().collect::<Vec<_>>(),
            ["owner", "admin", "moderator", "user"]
        );
    }
}
