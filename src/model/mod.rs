//! The data model (docs/protocol.md#7-data-model): users, roles, channels, and the in-memory directory of them;
//! also the slash commands bots register (memory only).
//!
//! The directory is a cache of the store's accounts, roles and channels, owned by the
//! executor thread so that permission checks and broadcast filtering never wait on disk.
//! Every change is written through the store before it is announced.

mod accounts;
pub mod attachment;
pub mod bot_command;
pub mod bot_registry;
pub mod channel;
pub mod emoji;
pub mod github_push;
pub mod message;
pub mod modlog;
pub mod poll;
pub mod role;
pub mod user;

use accounts::Accounts;
pub use attachment::Attachment;
pub use channel::{Action, Channel, ChannelKind};
pub use emoji::Emoji;
pub use message::Message;
pub use modlog::AuditEntry;
pub use poll::{Poll, PollOption, PollState};
pub use role::{Role, Roles, StoredRoles};
pub use user::{Status, User};

/// Accounts, roles and channels, in store order.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    users: Accounts,
    pub roles: Roles,
    pub channels: Vec<Channel>,
}

impl Directory {
    pub fn new(users: Vec<User>, roles: Roles, channels: Vec<Channel>) -> Directory {
        Directory {
            users: Accounts::new(users),
            roles,
            channels,
        }
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.by_id(id)
    }

    /// The user whose username matches case-insensitively.
    pub fn user_by_name(&self, username: &str) -> Option<&User> {
        self.users.by_name(username)
    }

    /// Target users named in requests: a username (case-insensitive), else an id.
    pub fn resolve(&self, name_or_id: &str) -> Option<&User> {
        self.user_by_name(name_or_id)
            .or_else(|| self.user(name_or_id))
    }

    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.iter()
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Inserts or replaces a user (keeping its place when it exists).
    pub fn put_user(&mut self, user: User) {
        self.users.put(user);
    }

    pub fn remove_user(&mut self, id: &str) -> Option<User> {
        self.users.remove(id)
    }

    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name() == name)
    }

    /// May this user (by id, with their current roles) do `action` in channel `name`?
    pub fn can(&self, user_id: &str, channel: &str, action: Action) -> bool {
        self.user(user_id)
            .is_some_and(|u| channel::allows(self.channel(channel), action, &u.roles))
    }
}
