//! Typed asynchronous store calls for the executor: each takes its arguments by value (they
//! move to the storage thread) and returns what the query returns. Handlers call these
//! instead of writing closures that clone their arguments by hand.
//!
//! Reads run on the reader thread ([`Store::read`]); writes on the storage thread, counted
//! as writes of ours ([`Store::call`]).

use std::collections::HashMap;

use super::session_tokens::TokenHash;
use super::{Store, StoreError};
use crate::model::{AuditEntry, Message};

type Result<T> = std::result::Result<T, StoreError>;

impl Store {
    /// A page of history (oldest first) and the channel's newest message, read together.
    pub async fn page(
        &self,
        channel: impl Into<String>,
        start: Start,
        limit: usize,
    ) -> Result<(Vec<Message>, Option<(String, f64)>)> {
        let c = channel.into();
        self.read(move |db| {
            let page = match start {
                Start::Back(back) => db.page(&c, back, limit)?,
                Start::Before(id) => db.before(&c, &id, limit)?,
            };
            Ok((page, db.newest(&c)?))
        })
        .await
    }

    /// Deletes an account (its messages stay, as in the original server) and revokes its
    /// session tokens: a new account of the same name must not inherit the old one's logins.
    /// `entry` is the audit log's, when someone else deletes it.
    pub async fn delete_user(
        &self,
        user_id: impl Into<String>,
        entry: Option<AuditEntry>,
    ) -> Result<()> {
        let id = user_id.into();
        self.call(move |db| {
            db.delete_user(&id)?;
            db.revoke_session_tokens_of(&id)?;
            entry.iter().try_for_each(|e| db.insert_audit(e))
        })
        .await
    }

    /// Stores a new session token (its hash) for a user, dropping the user's oldest beyond
    /// `max_per_user`.
    pub async fn insert_session_token(
        &self,
        key: TokenHash,
        user_id: impl Into<String>,
        now: i64,
        expires_at: i64,
        max_per_user: usize,
    ) -> Result<()> {
        let user_id = user_id.into();
        self.call(move |db| db.insert_session_token(&key, &user_id, now, expires_at, max_per_user))
            .await
    }

    /// Revokes one of a user's session tokens; false if they have no such token.
    pub async fn revoke_session_token(
        &self,
        key: TokenHash,
        user_id: impl Into<String>,
    ) -> Result<bool> {
        let user_id = user_id.into();
        self.call(move |db| db.revoke_session_token(&key, &user_id))
            .await
    }

    /// The messages in `channels` that ping this user (by id, username or one of `roles`),
    /// newest first: a page, and how many there are in all.
    pub async fn pings(
        &self,
        channels: Vec<String>,
        user_id: impl Into<String>,
        username: String,
        roles: Vec<String>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Message>, usize)> {
        let me = user_id.into();
        self.read(move |db| db.pings(&channels, &me, &username, &roles, offset, limit))
            .await
    }

    /// One message by id.
    pub async fn message(
        &self,
        channel: impl Into<String>,
        id: impl Into<String>,
    ) -> Result<Option<Message>> {
        let (channel, id) = (channel.into(), id.into());
        self.read(move |db| db.message(&channel, &id)).await
    }

    /// The newest message of a channel: its id and timestamp.
    pub async fn newest(&self, channel: impl Into<String>) -> Result<Option<(String, f64)>> {
        let channel = channel.into();
        self.read(move |db| db.newest(&channel)).await
    }

    /// The newest message of each of these channels, in the same order.
    pub async fn newest_of(
        &self,
        channels: Vec<String>,
    ) -> Result<Vec<(String, Option<(String, f64)>)>> {
        self.read(move |db| {
            channels
                .into_iter()
                .map(|c| Ok((c.clone(), db.newest(&c)?)))
                .collect()
        })
        .await
    }

    /// Replies to a message, oldest first.
    pub async fn replies(
        &self,
        channel: impl Into<String>,
        id: impl Into<String>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let (channel, id) = (channel.into(), id.into());
        self.read(move |db| db.replies(&channel, &id, limit)).await
    }

    /// Messages whose content contains `query`.
    pub async fn search(
        &self,
        channel: impl Into<String>,
        query: impl Into<String>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let (channel, query) = (channel.into(), query.into());
        self.read(move |db| db.search(&channel, &query, limit))
            .await
    }

    /// The pinned messages of a channel.
    pub async fn pinned(&self, channel: impl Into<String>) -> Result<Vec<Message>> {
        let channel = channel.into();
        self.read(move |db| db.pinned(&channel)).await
    }

    /// Up to `below` messages before and `above` after the message `around`, with the
    /// range's start and end indexes; `None` if `around` is not in the channel.
    pub async fn around(
        &self,
        channel: impl Into<String>,
        around: impl Into<String>,
        above: usize,
        below: usize,
    ) -> Result<Option<(Vec<Message>, usize, usize)>> {
        let (c, a) = (channel.into(), around.into());
        self.read(move |db| db.around(&c, &a, above, below)).await
    }

    /// A user's read markers: channel → last read message id.
    pub async fn last_reads(&self, user_id: impl Into<String>) -> Result<HashMap<String, String>> {
        let user_id = user_id.into();
        self.read(move |db| db.last_reads(&user_id)).await
    }

    /// For each channel: its name, the user's last read message, the unread count and the
    /// total.
    pub async fn unread_counts(
        &self,
        user_id: impl Into<String>,
        channels: Vec<String>,
    ) -> Result<Vec<(String, Option<String>, usize, usize)>> {
        let user_id = user_id.into();
        self.read(move |db| {
            let marks = db.last_reads(&user_id)?;
            let mut out = Vec::with_capacity(channels.len());
            for c in channels {
                let last = marks.get(&c).cloned();
                let (unread, total) = db.unread_count(&c, last.as_deref())?;
                out.push((c, last, unread, total));
            }
            Ok(out)
        })
        .await
    }

    /// Moves a user's read marker in a channel.
    pub async fn set_last_read(
        &self,
        user_id: impl Into<String>,
        channel: impl Into<String>,
        message_id: impl Into<String>,
    ) -> Result<()> {
        let (u, c, m) = (user_id.into(), channel.into(), message_id.into());
        self.call(move |db| db.set_last_read(&u, &c, &m)).await
    }

    /// Stores a new message, and records its attachments as posted with it (one
    /// transaction: an attachment is never in two messages).
    pub async fn insert_message(&self, message: Message) -> Result<()> {
        self.call(move |db| {
            db.insert_message(&message)?;
            let ids: Vec<String> = match message.extra.get("attachments") {
                Some(serde_json::Value::Array(list)) => list
                    .iter()
                    .filter_map(|a| a.get("id")?.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            db.attach_to_message(&ids, &message.id)
        })
        .await
    }

    /// Reads a message, lets `change` look at it and decide, and saves it when `change`
    /// says so, all in one transaction. `None` when the message does not exist.
    pub async fn change_message<R: Send + 'static>(
        &self,
        channel: impl Into<String>,
        id: impl Into<String>,
        change: impl FnOnce(&mut Message) -> Change<R> + Send + 'static,
    ) -> Result<Option<R>> {
        let (c, i) = (channel.into(), id.into());
        self.call(move |db| {
            let Some(mut m) = db.message(&c, &i)? else {
                return Ok(None);
            };
            Ok(Some(match change(&mut m) {
                Change::Save(r) => {
                    db.update_message(&m)?;
                    r
                }
                Change::SaveLogged(r, entry) => {
                    db.update_message(&m)?;
                    db.insert_audit(&entry)?;
                    r
                }
                Change::Delete(r) => {
                    db.delete_message(&c, &i)?;
                    r
                }
                Change::DeleteLogged(r, entry) => {
                    db.delete_message(&c, &i)?;
                    db.insert_audit(&entry)?;
                    r
                }
                Change::Keep(r) => r,
            }))
        })
        .await
    }

    /// Writes a server setting (JSON).
    pub async fn set_setting(&self, key: &'static str, value: serde_json::Value) -> Result<()> {
        self.call(move |db| db.set_setting(key, &value)).await
    }
}

/// Where a page of history starts.
pub enum Start {
    /// This many messages back from the newest.
    Back(usize),
    /// Just before the message with this id.
    Before(String),
}

/// What [`Store::change_message`] does with the message after looking at it.
pub enum Change<R> {
    /// Save the changed message.
    Save(R),
    /// Save it, and write this audit log entry in the same transaction (a pin).
    SaveLogged(R, AuditEntry),
    /// Delete it.
    Delete(R),
    /// Delete it, and write this audit log entry in the same transaction (a moderator
    /// deleting someone else's message).
    DeleteLogged(R, AuditEntry),
    /// Leave it as it was.
    Keep(R),
}
