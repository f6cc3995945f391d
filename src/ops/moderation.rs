//! Bans, timeouts and closing a user's connections: used by `user_ban`, the slash commands
//! and the reaction to external store changes.

use serde_json::json;

use crate::app::App;
use crate::hub::outbox::Outgoing;
use crate::hub::{Session, Target};
use crate::model::{AuditEntry, User};
use crate::protocol::encode;
use crate::store::StoreError;

impl App {
    /// Bans a user: `banned` goes first in their roles, and every connection of theirs is
    /// told why and closed. `entry` (the actor's `user_ban`, its target set here) goes into
    /// the audit log with the change. Returns false if they were banned already.
    pub async fn ban(&self, mut user: User, entry: AuditEntry) -> Result<bool, StoreError> {
        if user.is_banned() {
            return Ok(false);
        }
        user.roles.insert(0, "banned".into());
        let (id, username) = (user.id.clone(), user.username.clone());
        let entry = entry.target(&id, Some(username.clone()));
        self.save_user_logged(user, entry).await?;
        for session in self.hub.sessions_of(&id) {
            disconnect(&session, "You have been banned");
        }
        log::info!("{username} banned");
        Ok(true)
    }

    /// Lifts a ban, with its audit log entry as [`App::ban`]. Returns false if the user
    /// was not banned.
    pub async fn unban(&self, mut user: User, entry: AuditEntry) -> Result<bool, StoreError> {
        if !user.is_banned() {
            return Ok(false);
        }
        user.roles.retain(|r| r != "banned");
        let entry = entry.target(&user.id, Some(user.username.clone()));
        self.save_user_logged(user, entry).await?;
        Ok(true)
    }

    /// Puts a user in timeout and tells every connection of theirs. A timeout lives in
    /// memory only (the rate limiter), so its audit log `entry` is written on its own
    /// first: if that write fails, there is no timeout either.
    pub async fn timeout(
        &self,
        user_id: &str,
        seconds: u64,
        reason: &str,
        entry: AuditEntry,
    ) -> Result<(), StoreError> {
        self.write(move |db| db.insert_audit(&entry)).await?;
        self.limiter
            .borrow_mut()
            .timeout(user_id, seconds as f64, self.now());
        let packet =
            encode(&json!({"cmd": "rate_limit", "reason": reason, "length": seconds * 1000}));
        self.broadcast(Target::User(user_id), &packet);
        Ok(())
    }

    /// Closes every connection of a user with a normal close frame (no `disconnect`
    /// packet), after what is already queued for them.
    pub fn close_connections(&self, user_id: &str, reason: &'static str) {
        for s in self.hub.sessions_of(user_id) {
            s.push(Outgoing::Close(1000, reason));
        }
    }
}

/// Tells a connection why it is closed, then closes it.
pub fn disconnect(session: &Session, reason: &'static str) {
    session.send(encode(&json!({"cmd": "disconnect", "reason": reason})));
    session.push(Outgoing::Close(1008, reason));
}
