//! Queries on message history and read markers.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::db::{Db, Result};
use crate::model::Message;

const COLUMNS: &str = "id, channel, user_id, content, timestamp, extra";

fn row_to_message(r: &Row<'_>) -> rusqlite::Result<(Message, String)> {
    Ok((
        Message {
            id: r.get(0)?,
            channel: r.get(1)?,
            user_id: r.get(2)?,
            content: r.get(3)?,
            timestamp: r.get(4)?,
            extra: Map::new(),
        },
        r.get::<_, String>(5)?,
    ))
}

fn finish((mut m, extra): (Message, String)) -> Result<Message> {
    if let Value::Object(map) = serde_json::from_str(&extra)? {
        m.extra = map;
    }
    Ok(m)
}

impl Db {
    fn query_messages(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Message>> {
        let mut stmt = self.conn().prepare_cached(sql)?;
        let rows = stmt.query_map(params, row_to_message)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(finish(row?)?);
        }
        Ok(out)
    }

    /// Stores a new message. Ignored if its id exists (imports may run twice).
    pub fn insert_message(&self, m: &Message) -> Result<bool> {
        let n = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO messages (channel, id, user_id, content, timestamp, reply_to, reply_user, pinned, extra)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                m.channel,
                m.id,
                m.user_id,
                m.content,
                m.timestamp,
                m.reply_to(),
                m.reply_user(),
                m.pinned(),
                serde_json::to_string(&m.extra)?
            ])?;
        Ok(n > 0)
    }

    /// Writes a changed message (content, pin, reactions, …).
    pub fn update_message(&self, m: &Message) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE messages SET content = ?2, pinned = ?3, extra = ?4 WHERE id = ?1",
            )?
            .execute(params![
                m.id,
                m.content,
                m.pinned(),
                serde_json::to_string(&m.extra)?
            ])?;
        Ok(())
    }

    pub fn delete_message(&self, channel: &str, id: &str) -> Result<bool> {
        let n = self
            .conn()
            .prepare_cached("DELETE FROM messages WHERE channel = ?1 AND id = ?2")?
            .execute(params![channel, id])?;
        Ok(n > 0)
    }

    pub fn message(&self, channel: &str, id: &str) -> Result<Option<Message>> {
        let sql = format!("SELECT {COLUMNS} FROM messages WHERE channel = ?1 AND id = ?2");
        Ok(self.query_messages(&sql, params![channel, id])?.pop())
    }

    pub fn message_count(&self, channel: &str) -> Result<usize> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM messages WHERE channel = ?1")?
            .query_row(params![channel], |r| r.get(0))?;
        Ok(n as usize)
    }

    /// The newest message's id and timestamp.
    pub fn newest(&self, channel: &str) -> Result<Option<(String, f64)>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT id, timestamp FROM messages WHERE channel = ?1 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![channel], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// `limit` messages ending `back` messages before the newest, oldest first.
    pub fn page(&self, channel: &str, back: usize, limit: usize) -> Result<Vec<Message>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE channel = ?1 ORDER BY seq DESC LIMIT ?2 OFFSET ?3"
        );
        let mut page = self.query_messages(&sql, params![channel, limit as i64, back as i64])?;
        page.reverse();
        Ok(page)
    }

    /// Up to `limit` messages immediately before message `id`, oldest first.
    pub fn before(&self, channel: &str, id: &str, limit: usize) -> Result<Vec<Message>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE channel = ?1 AND seq < (SELECT seq FROM messages WHERE channel = ?1 AND id = ?2)
             ORDER BY seq DESC LIMIT ?3"
        );
        let mut page = self.query_messages(&sql, params![channel, id, limit as i64])?;
        page.reverse();
        Ok(page)
    }

    /// How many messages of the channel are older than message `id` (its index).
    pub fn index_of(&self, channel: &str, id: &str) -> Result<Option<usize>> {
        let seq: Option<i64> = self
            .conn()
            .prepare_cached("SELECT seq FROM messages WHERE channel = ?1 AND id = ?2")?
            .query_row(params![channel, id], |r| r.get(0))
            .optional()?;
        let Some(seq) = seq else { return Ok(None) };
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM messages WHERE channel = ?1 AND seq < ?2")?
            .query_row(params![channel, seq], |r| r.get(0))?;
        Ok(Some(n as usize))
    }

    /// Messages `[start, end)` by index, oldest first.
    pub fn range(&self, channel: &str, start: usize, end: usize) -> Result<Vec<Message>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE channel = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3"
        );
        self.query_messages(
            &sql,
            params![channel, end.saturating_sub(start) as i64, start as i64],
        )
    }

    /// The first `limit` replies to message `id`, oldest first.
    pub fn replies(&self, channel: &str, id: &str, limit: usize) -> Result<Vec<Message>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE channel = ?1 AND reply_to = ?2 ORDER BY seq LIMIT ?3"
        );
        self.query_messages(
            &sql,
            params![channel, id, limit.min(i64::MAX as usize) as i64],
        )
    }

    /// Pinned messages, newest first.
    pub fn pinned(&self, channel: &str) -> Result<Vec<Message>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE channel = ?1 AND pinned = 1 ORDER BY seq DESC"
        );
        self.query_messages(&sql, params![channel])
    }

    /// Messages whose content contains `query` (case-insensitive), newest first, at most
    /// `limit`. Scans row by row, so memory does not grow with the history.
    pub fn search(&self, channel: &str, query: &str, limit: usize) -> Result<Vec<Message>> {
        let needle = query.to_lowercase();
        let sql = format!("SELECT {COLUMNS} FROM messages WHERE channel = ?1 ORDER BY seq DESC");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query(params![channel])?;
        let mut hits = Vec::new();
        while let Some(row) = rows.next()? {
            let content: String = row.get(3)?;
            if content.to_lowercase().contains(&needle) {
                hits.push(finish(row_to_message(row)?)?);
                if hits.len() >= limit {
                    break;
                }
            }
        }
        Ok(hits)
    }

    /// Messages of `channels` for which `keep` is true, newest first: the page
    /// `[offset, offset + limit)` and the total count.
    pub fn scan_filtered(
        &self,
        channels: &[String],
        offset: usize,
        limit: usize,
        keep: impl Fn(&Message) -> bool,
    ) -> Result<(Vec<Message>, usize)> {
        let mut page = Vec::new();
        let mut total = 0;
        let placeholders = vec!["?"; channels.len()].join(",");
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE channel IN ({placeholders}) ORDER BY timestamp DESC, seq DESC"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(channels.iter()))?;
        while let Some(row) = rows.next()? {
            let m = finish(row_to_message(row)?)?;
            if keep(&m) {
                if total >= offset && page.len() < limit {
                    page.push(m);
                }
                total += 1;
            }
        }
        Ok((page, total))
    }

    pub fn set_last_read(&self, user_id: &str, channel: &str, message_id: &str) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO unreads (user_id, channel, last_read) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id, channel) DO UPDATE SET last_read = excluded.last_read",
            )?
            .execute(params![user_id, channel, message_id])?;
        Ok(())
    }

    /// A user's read markers: channel → last read message id.
    pub fn last_reads(&self, user_id: &str) -> Result<HashMap<String, String>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT channel, last_read FROM unreads WHERE user_id = ?1")?;
        let rows = stmt.query_map(params![user_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Unread count after `last_read` (all messages if it is unknown), and the total.
    pub fn unread_count(&self, channel: &str, last_read: Option<&str>) -> Result<(usize, usize)> {
        let total = self.message_count(channel)?;
        let Some(id) = last_read else {
            return Ok((total, total));
        };
        match self.index_of(channel, id)? {
            Some(i) => Ok((total - i - 1, total)),
            None => Ok((total, total)),
        }
    }
}
