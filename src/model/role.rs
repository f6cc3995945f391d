//! Roles (docs/protocol.md#72-roles) and server permissions (docs/protocol.md#73-permissions A): [`Role`] typed, with its extra keys kept.

use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, Serializer};
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

/// Roles in their stored form: name → role object, in rank order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredRoles(pub Map<String, Value>);

/// One role (docs/protocol.md#72-roles). The standard keys are typed; any other stored key is in `extras`, in
/// order. Serialized (for clients and the store) in the standard order — `id`,
/// `description`, `color`, `hoisted`, `permissions`, `self_assignable`, `category`,
/// `position` — then the extras; `id` and `position` only when the role has them. A
/// standard key stored with the wrong type is kept as it was, among the extras.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Role {
    pub id: Option<String>,
    pub description: Option<String>,
    pub color: Option<String>,
    pub hoisted: bool,
    /// Server permission names (docs/protocol.md#73-permissions A).
    pub permissions: Vec<String>,
    pub self_assignable: bool,
    pub category: Option<String>,
    /// Rank: 0 is the highest. A role without one ranks below all others.
    pub position: Option<i64>,
    pub extras: Map<String, Value>,
}

impl Role {
    /// A new role as `role_create` makes it.
    pub fn new(id: String, position: usize) -> Role {
        Role {
            id: Some(id),
            position: Some(position as i64),
            ..Role::default()
        }
    }

    /// A role from its stored JSON object (anything else is an empty role).
    pub fn from_stored(value: Value) -> Role {
        let Value::Object(mut map) = value else {
            return Role::default();
        };
        let mut role = Role::default();
        fn take<T>(
            map: &mut Map<String, Value>,
            key: &str,
            f: impl Fn(&Value) -> Option<T>,
        ) -> Option<T> {
            let typed = f(map.get(key)?)?;
            map.shift_remove(key);
            Some(typed)
        }
        let text = |v: &Value| v.as_str().map(str::to_string);
        let nullable_text = |v: &Value| match v {
            Value::Null => Some(None),
            Value::String(s) => Some(Some(s.clone())),
            _ => None,
        };
        role.id = take(&mut map, "id", text);
        role.description = take(&mut map, "description", nullable_text).flatten();
        role.color = take(&mut map, "color", nullable_text).flatten();
        role.hoisted = take(&mut map, "hoisted", Value::as_bool).unwrap_or(false);
        role.permissions = take(&mut map, "permissions", |v| {
            v.as_array()?
                .iter()
                .map(text)
                .collect::<Option<Vec<String>>>()
        })
        .unwrap_or_default();
        role.self_assignable = take(&mut map, "self_assignable", Value::as_bool).unwrap_or(false);
        role.category = take(&mut map, "category", nullable_text).flatten();
        role.position = take(&mut map, "position", Value::as_i64);
        role.extras = map;
        role
    }

    /// Whether the role grants `permission` (or `administrator`).
    pub fn grants(&self, permission: &str) -> bool {
        self.permissions
            .iter()
            .any(|p| p == "administrator" || p == permission)
    }

    /// The role as a JSON object, in its serialized order.
    pub fn to_object(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        // A standard key whose stored value had another type is written with the extras.
        let typed = |key: &str| !self.extras.contains_key(key);
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        if typed("description") {
            map.serialize_entry("description", &self.description)?;
        }
        if typed("color") {
            map.serialize_entry("color", &self.color)?;
        }
        if typed("hoisted") {
            map.serialize_entry("hoisted", &self.hoisted)?;
        }
        if typed("permissions") {
            map.serialize_entry("permissions", &self.permissions)?;
        }
        if typed("self_assignable") {
            map.serialize_entry("self_assignable", &self.self_assignable)?;
        }
        if typed("category") {
            map.serialize_entry("category", &self.category)?;
        }
        if let Some(position) = self.position {
            map.serialize_entry("position", &position)?;
        }
        for (k, v) in &self.extras {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// All roles, keyed by name, in store (rank) order. Serialized as the `roles` object
/// clients see (name → role, no `name` inside).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roles(IndexMap<String, Role>);

impl From<StoredRoles> for Roles {
    fn from(stored: StoredRoles) -> Roles {
        Roles(
            stored
                .0
                .into_iter()
                .map(|(name, data)| (name, Role::from_stored(data)))
                .collect(),
        )
    }
}

impl Serialize for Roles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, role) in &self.0 {
            map.serialize_entry(name, role)?;
        }
        map.end()
    }
}

impl Roles {
    pub fn get(&self, name: &str) -> Option<&Role> {
        self.0.get(name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Role> {
        self.0.get_mut(name)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Role names in rank order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Role)> {
        self.0.iter().map(|(n, r)| (n.as_str(), r))
    }

    /// Adds a role at the end (or replaces one of the same name, in its place).
    pub fn insert(&mut self, name: String, role: Role) {
        self.0.insert(name, role);
    }

    /// Removes a role, keeping the others' order.
    pub fn remove(&mut self, name: &str) -> Option<Role> {
        self.0.shift_remove(name)
    }

    /// Renames a role in its place.
    pub fn rename(&mut self, old: &str, new: String) {
        if let Some(at) = self.0.get_index_of(old) {
            if let Some((_, role)) = self.0.shift_remove_index(at) {
                self.0.shift_insert(at, new, role);
            }
        }
    }

    /// Orders the roles by position (those without one last, in their order).
    pub fn sort_by_position(&mut self) {
        let rank = |r: &Role| r.position.unwrap_or(i64::MAX);
        self.0.sort_by(|_, a, _, b| rank(a).cmp(&rank(b)));
    }

    /// The color rule: the color of the role named first in the user's list, else null.
    pub fn color_of(&self, user_roles: &[String]) -> Value {
        self.color_name(user_roles)
            .map_or(Value::Null, |c| Value::String(c.to_string()))
    }

    /// [`Roles::color_of`], borrowed.
    pub fn color_name(&self, user_roles: &[String]) -> Option<&str> {
        user_roles
            .first()
            .and_then(|r| self.get(r))
            .and_then(|r| r.color.as_deref())
    }

    /// `has_permission` (docs/protocol.md#73-permissions A): owner always; else any role granting `administrator` or
    /// `permission`.
    pub fn has_permission(&self, user_roles: &[String], permission: &str) -> bool {
        if user_roles.iter().any(|r| r == "owner") {
            return true;
        }
        user_roles
            .iter()
            .filter_map(|r| self.get(r))
            .any(|role| role.grants(permission))
    }
}

impl Roles {
    /// The roles a fresh server starts with, in their stored form (what the store seeds and
    /// the importer compares against). `new_id` makes the uuids.
    pub fn defaults(mut new_id: impl FnMut() -> String) -> StoredRoles {
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
        StoredRoles(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> Roles {
        let mut n = 0;
        Roles::from(Roles::defaults(|| {
            n += 1;
            format!("id{n}")
        }))
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
            roles.names().collect::<Vec<_>>(),
            ["owner", "admin", "moderator", "user"]
        );
    }

    #[test]
    fn a_role_serializes_as_it_was_stored() {
        for (_, stored) in Roles::defaults(|| "x".into()).0 {
            let role = Role::from_stored(stored.clone());
            assert_eq!(serde_json::to_string(&role).unwrap(), stored.to_string());
        }
        let odd = json!({"id": "r", "description": "d", "color": 5, "hoisted": true,
                         "permissions": ["connect"], "self_assignable": false,
                         "category": null, "position": 2, "icon": "x"});
        let role = Role::from_stored(odd.clone());
        assert_eq!(role.color, None);
        assert_eq!(role.position, Some(2));
        // A known key of the wrong type stays as it was, where the other extras are.
        let text = serde_json::to_string(&role).unwrap();
        assert_eq!(
            text,
            r#"{"id":"r","description":"d","hoisted":true,"permissions":["connect"],"self_assignable":false,"category":null,"position":2,"color":5,"icon":"x"}"#
        );
    }
}
