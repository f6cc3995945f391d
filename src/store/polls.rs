//! Queries on polls (tables `polls`, `poll_options`, `poll_votes`, migration 6), and the
//! typed calls the executor makes. A poll belongs to its message (foreign keys with
//! cascade): deleting the message, or its channel's history, takes the poll and its votes
//! along, whatever deletes it.
//!
//! Each change (a vote, the end) is one job on the storage thread that checks the poll's
//! state, writes, and rewrites the poll's embed in its message: history always shows the
//! current counts, and no two changes can interleave.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row, params};

use super::db::{Db, Result};
use super::{Store, StoreError};
use crate::model::Message;
use crate::model::poll::{Poll, PollOption, PollState, Vote, is_embed_of};

/// Why a vote or an end was refused by the poll's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollRefusal {
    NotFound,
    /// Voting on an ended poll.
    Ended,
    /// Voting after the end time, before the timer marked the poll ended.
    Expired,
    /// Ending an ended poll.
    AlreadyEnded,
}

impl PollRefusal {
    /// The error text, as the original server words it.
    pub fn text(self) -> &'static str {
        match self {
            PollRefusal::NotFound => "Poll not found",
            PollRefusal::Ended => "Poll has ended",
            PollRefusal::Expired => "Poll has expired",
            PollRefusal::AlreadyEnded => "Poll has already ended",
        }
    }
}

/// How a request names a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollKey {
    Id(String),
    Message(String),
}

const POLL_COLUMNS: &str = "p.id, p.message_id, m.channel, p.question, p.allow_multiselect, \
     p.expires_at, p.created_by, p.created_at, p.ended_at";

fn poll_from_row(r: &Row<'_>) -> rusqlite::Result<Poll> {
    Ok(Poll {
        id: r.get(0)?,
        message_id: r.get(1)?,
        channel: r.get(2)?,
        question: r.get(3)?,
        options: Vec::new(),
        allow_multiselect: r.get(4)?,
        expires_at: r.get(5)?,
        created_by: r.get(6)?,
        created_at: r.get(7)?,
        ended_at: r.get(8)?,
    })
}

impl Db {
    /// Stores a new poll with its options (its message must be stored first).
    pub fn insert_poll(&self, p: &Poll) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO polls (id, message_id, question, allow_multiselect, expires_at,
                                    created_by, created_at, ended_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                p.id,
                p.message_id,
                p.question,
                p.allow_multiselect,
                p.expires_at,
                p.created_by,
                p.created_at,
                p.ended_at
            ])?;
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO poll_options (poll_id, position, id, text, emoji) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (i, o) in p.options.iter().enumerate() {
            stmt.execute(params![p.id, i as i64, o.id, o.text, o.emoji])?;
        }
        Ok(())
    }

    /// Stores one vote row as it was cast (the importer); false if it was there already.
    pub fn insert_poll_vote(
        &self,
        poll_id: &str,
        user_id: &str,
        option_id: &str,
        voted_at: f64,
    ) -> Result<bool> {
        let n = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO poll_votes (poll_id, user_id, option_id, voted_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![poll_id, user_id, option_id, voted_at])?;
        Ok(n > 0)
    }

    /// A poll by its id or its message's id, with its options.
    pub fn poll(&self, key: &PollKey) -> Result<Option<Poll>> {
        let (column, value) = match key {
            PollKey::Id(id) => ("p.id", id),
            PollKey::Message(id) => ("p.message_id", id),
        };
        let sql = format!(
            "SELECT {POLL_COLUMNS} FROM polls p JOIN messages m ON m.id = p.message_id
             WHERE {column} = ?1"
        );
        let Some(mut poll) = self
            .conn()
            .prepare_cached(&sql)?
            .query_row(params![value], poll_from_row)
            .optional()?
        else {
            return Ok(None);
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, text, emoji FROM poll_options WHERE poll_id = ?1 ORDER BY position",
        )?;
        let rows = stmt.query_map(params![poll.id], |r| {
            Ok(PollOption {
                id: r.get(0)?,
                text: r.get(1)?,
                emoji: r.get(2)?,
            })
        })?;
        poll.options = rows.collect::<rusqlite::Result<_>>()?;
        Ok(Some(poll))
    }

    /// A poll with its votes.
    pub fn poll_state(&self, key: &PollKey) -> Result<Option<PollState>> {
        let Some(poll) = self.poll(key)? else {
            return Ok(None);
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT option_id, user_id FROM poll_votes WHERE poll_id = ?1 ORDER BY voted_at, rowid",
        )?;
        let rows = stmt.query_map(params![poll.id], |r| {
            Ok(Vote {
                option_id: r.get(0)?,
                user_id: r.get(1)?,
            })
        })?;
        let votes = rows.collect::<rusqlite::Result<_>>()?;
        Ok(Some(PollState { poll, votes }))
    }

    /// Replaces `user_id`'s choices in an open poll with `option_ids` (checked against the
    /// poll's options by the caller), and rewrites the poll's embed.
    pub fn cast_vote(
        &self,
        poll_id: &str,
        user_id: &str,
        option_ids: &[String],
        now: f64,
    ) -> Result<std::result::Result<PollState, PollRefusal>> {
        let key = PollKey::Id(poll_id.to_string());
        let Some(poll) = self.poll(&key)? else {
            return Ok(Err(PollRefusal::NotFound));
        };
        if poll.ended() {
            return Ok(Err(PollRefusal::Ended));
        }
        if poll.expired(now) {
            return Ok(Err(PollRefusal::Expired));
        }
        self.conn()
            .prepare_cached("DELETE FROM poll_votes WHERE poll_id = ?1 AND user_id = ?2")?
            .execute(params![poll_id, user_id])?;
        for option in option_ids {
            self.insert_poll_vote(poll_id, user_id, option, now)?;
        }
        self.refreshed(&key)
    }

    /// Ends an open poll at `at` and rewrites its embed.
    pub fn end_poll(
        &self,
        key: &PollKey,
        at: f64,
    ) -> Result<std::result::Result<PollState, PollRefusal>> {
        let Some(poll) = self.poll(key)? else {
            return Ok(Err(PollRefusal::NotFound));
        };
        if poll.ended() {
            return Ok(Err(PollRefusal::AlreadyEnded));
        }
        self.conn()
            .prepare_cached("UPDATE polls SET ended_at = ?2 WHERE id = ?1")?
            .execute(params![poll.id, at])?;
        self.refreshed(key)
    }

    /// Ends every open poll whose end time is at or before `now` (each at its end time).
    pub fn end_due_polls(&self, now: f64) -> Result<Vec<PollState>> {
        let due: Vec<(String, f64)> = {
            let mut stmt = self.conn().prepare_cached(
                "SELECT id, expires_at FROM polls
                 WHERE ended_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?1
                 ORDER BY expires_at",
            )?;
            let rows = stmt.query_map(params![now], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut ended = Vec::with_capacity(due.len());
        for (id, at) in due {
            if let Ok(state) = self.end_poll(&PollKey::Id(id), at)? {
                ended.push(state);
            }
        }
        Ok(ended)
    }

    /// The earliest end time of an open poll.
    pub fn next_poll_end(&self) -> Result<Option<f64>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT min(expires_at) FROM polls WHERE ended_at IS NULL AND expires_at IS NOT NULL",
            )?
            .query_row([], |r| r.get(0))?)
    }

    /// The options `user_id` chose in each of the polls shown by these messages: message
    /// id → (poll id, option ids).
    pub fn choices_in(
        &self,
        user_id: &str,
        message_ids: &[String],
    ) -> Result<HashMap<String, (String, Vec<String>)>> {
        let mut out = HashMap::new();
        let mut poll_of = self
            .conn()
            .prepare_cached("SELECT id FROM polls WHERE message_id = ?1")?;
        let mut choices = self.conn().prepare_cached(
            "SELECT v.option_id FROM poll_votes v JOIN poll_options o
               ON o.poll_id = v.poll_id AND o.id = v.option_id
             WHERE v.poll_id = ?1 AND v.user_id = ?2 ORDER BY o.position",
        )?;
        for m in message_ids {
            let Some(poll_id): Option<String> =
                poll_of.query_row(params![m], |r| r.get(0)).optional()?
            else {
                continue;
            };
            let chosen = choices
                .query_map(params![poll_id, user_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            out.insert(m.clone(), (poll_id, chosen));
        }
        Ok(out)
    }

    /// The poll's state after a change, with its embed in the message rewritten.
    fn refreshed(&self, key: &PollKey) -> Result<std::result::Result<PollState, PollRefusal>> {
        let Some(state) = self.poll_state(key)? else {
            return Ok(Err(PollRefusal::NotFound));
        };
        let p = &state.poll;
        if let Some(mut m) = self.message(&p.channel, &p.message_id)? {
            if rewrite_embed(&mut m, &state) {
                self.update_message(&m)?;
            }
        }
        Ok(Ok(state))
    }
}

/// Replaces the poll's embed in its message; false if the message no longer shows it (its
/// author replaced the embeds with `message_edit`).
fn rewrite_embed(m: &mut Message, state: &PollState) -> bool {
    let Some(serde_json::Value::Array(embeds)) = m.extra.get_mut("embeds") else {
        return false;
    };
    match embeds.iter_mut().find(|e| is_embed_of(e, &state.poll.id)) {
        Some(e) => {
            *e = state.embed();
            true
        }
        None => false,
    }
}

type Outcome<T> = std::result::Result<std::result::Result<T, PollRefusal>, StoreError>;

impl Store {
    /// Stores a poll's message and the poll in one transaction.
    pub async fn insert_poll_message(&self, message: Message, poll: Poll) -> Result<()> {
        self.call(move |db| {
            db.insert_message(&message)?;
            db.insert_poll(&poll)
        })
        .await
    }

    /// A poll with its votes, read on the reader thread.
    pub async fn poll_state(&self, key: PollKey) -> Result<Option<PollState>> {
        self.read(move |db| db.poll_state(&key)).await
    }

    /// See [`Db::cast_vote`].
    pub async fn cast_vote(
        &self,
        poll_id: String,
        user_id: String,
        option_ids: Vec<String>,
        now: f64,
    ) -> Outcome<PollState> {
        self.call(move |db| db.cast_vote(&poll_id, &user_id, &option_ids, now))
            .await
    }

    /// See [`Db::end_poll`].
    pub async fn end_poll(&self, key: PollKey, at: f64) -> Outcome<PollState> {
        self.call(move |db| db.end_poll(&key, at)).await
    }

    /// See [`Db::end_due_polls`].
    pub async fn end_due_polls(&self, now: f64) -> Result<Vec<PollState>> {
        self.call(move |db| db.end_due_polls(now)).await
    }

    /// See [`Db::next_poll_end`].
    pub async fn next_poll_end(&self) -> Result<Option<f64>> {
        self.read(|db| db.next_poll_end()).await
    }

    /// See [`Db::choices_in`].
    pub async fn choices_in(
        &self,
        user_id: String,
        message_ids: Vec<String>,
    ) -> Result<HashMap<String, (String, Vec<String>)>> {
        self.read(move |db| db.choices_in(&user_id, &message_ids))
            .await
    }
}
