//! User accounts (docs/protocol.md#71-users) and the views of them that clients see.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::role::Roles;

/// The prefix of every local ("cracked") account id and username.
pub const LOCAL_PREFIX: &str = "USR:local_";

/// A stored account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Stable key: the Rotur id, or `USR:local_<name>`.
    pub id: String,
    /// What clients see; unique case-insensitively.
    pub username: String,
    pub nickname: Option<String>,
    /// bcrypt hash; local accounts only. Never sent.
    pub password_hash: Option<String>,
    /// Order matters: the first role gives the color, and it decides `!role` conflicts.
    pub roles: Vec<String>,
    pub status: Status,
    pub pfp_url: Option<String>,
}

/// A user's presence status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub status: String,
    pub text: String,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            status: "online".into(),
            text: String::new(),
        }
    }
}

impl User {
    /// A local account as `register` creates it.
    pub fn new_local(name: &str, password_hash: String, roles: Vec<String>) -> User {
        User {
            id: local_id(name),
            username: local_id(name),
            nickname: Some(name.to_string()),
            password_hash: Some(password_hash),
            roles,
            status: Status::default(),
            pfp_url: None,
        }
    }

    /// A Rotur account as first seen.
    pub fn new_rotur(id: String, username: String, roles: Vec<String>) -> User {
        User {
            id,
            username,
            nickname: None,
            password_hash: None,
            roles,
            status: Status::default(),
            pfp_url: None,
        }
    }

    /// Local accounts log in with a password; Rotur accounts with a token.
    pub fn is_local(&self) -> bool {
        self.id.starts_with(LOCAL_PREFIX)
    }

    pub fn is_banned(&self) -> bool {
        self.roles.iter().any(|r| r == "banned")
    }

    pub fn is_invisible(&self) -> bool {
        self.status.status == "invisible"
    }

    /// `ready.user`: the record without secrets, plus `cracked`.
    pub fn ready_view(&self) -> Value {
        let mut v = json!({
            "username": self.username,
            "roles": self.roles,
            "status": self.status,
        });
        if let Some(map) = v.as_object_mut() {
            if self.is_local() || self.nickname.is_some() {
                map.insert("nickname".into(), json!(self.nickname));
            }
            if self.is_local() || self.pfp_url.is_some() {
                map.insert("pfp_url".into(), json!(self.pfp_url));
            }
            map.insert("cracked".into(), json!(self.is_local()));
        }
        v
    }

    /// `{"username","roles","color","nickname"}`, as in `user_join` and `user_connect`. The
    /// original server sends no nickname there; the web client replaces its record of the
    /// user with this object, so without it nicknames vanish until a reload.
    pub fn brief_view(&self, roles: &Roles) -> Value {
        json!({"username": self.username, "roles": self.roles, "color": roles.color_of(&self.roles),
               "nickname": self.nickname})
    }
}

/// `USR:local_<name>` for a lower-cased local name.
pub fn local_id(name: &str) -> String {
    format!("{LOCAL_PREFIX}{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_view_of_a_local_user_matches_the_spec() {
        let u = User::new_local(
            "alice",
            "$2b$hash".into(),
            vec!["owner".into(), "user".into()],
        );
        assert_eq!(
            u.ready_view(),
            json!({"username": "USR:local_alice", "nickname": "alice", "roles": ["owner", "user"],
                   "status": {"status": "online", "text": ""}, "pfp_url": null, "cracked": true})
        );
        assert!(!u.ready_view().to_string().contains("hash"));
    }

    #[test]
    fn ready_view_of_a_rotur_user() {
        let u = User::new_rotur("abc".into(), "rudy".into(), vec!["user".into()]);
        assert_eq!(
            u.ready_view(),
            json!({"roles": ["user"], "username": "rudy", "status": {"status": "online", "text": ""}, "cracked": false})
        );
    }
}
