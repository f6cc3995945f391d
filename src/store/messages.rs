//! Queries on message history and read markers.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::db::{Db, Result};
use super::mentions;
use crate::model::Message;
use crate::model::message::pings_user;

/// `message_buckets` counts the messages of each block of `1 << BUCKET_SHIFT` seqs.
const BUCKET_SHIFT: i64 = 10;

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

/// Trigrams asked for at most by a search without positions: the messages holding the
/// first 32 distinct trigrams of a longer query are few already, and each is checked.
const MAX_TRIGRAMS: usize = 32;

/// `text` as one FTS5 string (a phrase of its trigrams).
fn fts_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// An FTS5 query for the messages that hold every trigram of `query` (at least 3
/// characters), in any order: `"abc" AND "bcd" AND …`. Each string of 3 characters is
/// one trigram to the tokenizer, which folds its case as it did the content's.
fn all_trigrams(query: &str) -> String {
    let starts: Vec<usize> = query.char_indices().map(|(i, _)| i).collect();
    let mut seen = std::collections::HashSet::new();
    let mut parts = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        if k + 3 > starts.len() || parts.len() == MAX_TRIGRAMS {
            break;
        }
        let end = starts.get(k + 3).copied().unwrap_or(query.len());
        let trigram = &query[start..end];
        if seen.insert(trigram) {
            parts.push(fts_string(trigram));
        }
    }
    parts.join(" AND ")
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
        if n > 0 {
            mentions::record_new(self.conn(), self.conn().last_insert_rowid(), m)?;
        }
        Ok(n > 0)
    }

    /// Writes a changed message (content, pin, reactions, …).
    pub fn update_message(&self, m: &Message) -> Result<()> {
        let seq: Option<i64> = self
            .conn()
            .prepare_cached(
                "UPDATE messages SET content = ?2, pinned = ?3, extra = ?4 WHERE id = ?1 RETURNING seq",
            )?
            .query_row(
                params![
                    m.id,
                    m.content,
                    m.pinned(),
                    serde_json::to_string(&m.extra)?
                ],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(seq) = seq {
            mentions::record(self.conn(), seq, m)?;
        }
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

    /// How many messages the channel has: a sum over its blocks (`message_buckets`).
    pub fn message_count(&self, channel: &str) -> Result<usize> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT coalesce(sum(n), 0) FROM message_buckets WHERE channel = ?1")?
            .query_row(params![channel], |r| r.get(0))?;
        Ok(n.max(0) as usize)
    }

    /// The seq of a message of the channel, if it is there.
    fn seq_of(&self, channel: &str, id: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT seq FROM messages WHERE channel = ?1 AND id = ?2")?
            .query_row(params![channel, id], |r| r.get(0))
            .optional()?)
    }

    /// How many messages of the channel come before seq `seq`: the full blocks before its
    /// block, counted by `message_buckets`, and the rows of its own block before it.
    fn index_of_seq(&self, channel: &str, seq: i64) -> Result<usize> {
        let block = seq >> BUCKET_SHIFT;
        let before: i64 = self
            .conn()
            .prepare_cached(
                "SELECT coalesce(sum(n), 0) FROM message_buckets WHERE channel = ?1 AND bucket < ?2",
            )?
            .query_row(params![channel, block], |r| r.get(0))?;
        let inside: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM messages WHERE channel = ?1 AND seq >= ?2 AND seq < ?3",
            )?
            .query_row(params![channel, block << BUCKET_SHIFT, seq], |r| r.get(0))?;
        Ok((before + inside).max(0) as usize)
    }

    /// The seq of the message at `index` (0 = oldest) of the channel, if there is one.
    fn seq_at(&self, channel: &str, index: usize) -> Result<Option<i64>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT bucket, n FROM message_buckets WHERE channel = ?1 ORDER BY bucket",
        )?;
        let mut rows = stmt.query(params![channel])?;
        let mut passed = 0usize;
        while let Some(row) = rows.next()? {
            let (block, n): (i64, i64) = (row.get(0)?, row.get(1)?);
            let n = n.max(0) as usize;
            if passed + n > index {
                return Ok(self
                    .conn()
                    .prepare_cached(
                        "SELECT seq FROM messages WHERE channel = ?1 AND seq >= ?2 ORDER BY seq LIMIT 1 OFFSET ?3",
                    )?
                    .query_row(
                        params![channel, block << BUCKET_SHIFT, (index - passed) as i64],
                        |r| r.get(0),
                    )
                    .optional()?);
            }
            passed += n;
        }
        Ok(None)
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
        if back > 0 {
            return self.page_deep(channel, back, limit);
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE channel = ?1 ORDER BY seq DESC LIMIT ?2 OFFSET ?3"
        );
        let mut page = self.query_messages(&sql, params![channel, limit as i64, back as i64])?;
        page.reverse();
        Ok(page)
    }

    /// [`Db::page`] away from the newest: the page's first message is found through the
    /// blocks, not by skipping `back` rows.
    fn page_deep(&self, channel: &str, back: usize, limit: usize) -> Result<Vec<Message>> {
        let total = self.message_count(channel)?;
        let end = total.saturating_sub(back);
        let start = end.saturating_sub(limit);
        if end == start {
            return Ok(Vec::new());
        }
        let Some(first) = self.seq_at(channel, start)? else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE channel = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3"
        );
        self.query_messages(&sql, params![channel, first, (end - start) as i64])
    }

    /// Message `id` with up to `below` messages before it and `above` after it, oldest
    /// first, and the range's start and end indexes; `None` if it is not in the channel.
    pub fn around(
        &self,
        channel: &str,
        id: &str,
        above: usize,
        below: usize,
    ) -> Result<Option<(Vec<Message>, usize, usize)>> {
        let Some(seq) = self.seq_of(channel, id)? else {
            return Ok(None);
        };
        let t = self.index_of_seq(channel, seq)?;
        let older = format!(
            "SELECT {COLUMNS} FROM messages WHERE channel = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
        );
        let mut messages = self.query_messages(&older, params![channel, seq, below as i64])?;
        messages.reverse();
        let start = t.saturating_sub(messages.len());
        let newer = format!(
            "SELECT {COLUMNS} FROM messages WHERE channel = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3"
        );
        let from = self.query_messages(&newer, params![channel, seq, (above + 1) as i64])?;
        let end = t + from.len();
        messages.extend(from);
        Ok(Some((messages, start, end)))
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
        match self.seq_of(channel, id)? {
            Some(seq) => Ok(Some(self.index_of_seq(channel, seq)?)),
            None => Ok(None),
        }
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
    /// `limit`. A query of 3 characters or more is looked up in the trigram index
    /// (`messages_fts`): as one phrase where the index keeps positions (migration 8's
    /// table), else as all of its trigrams, anywhere in the message ([`LIGHT_FTS`]). Each
    /// hit is checked with the same lower-cased comparison as the scan, so the index only
    /// narrows. Shorter queries have no trigram: they scan.
    ///
    /// [`LIGHT_FTS`]: super::schema::LIGHT_FTS
    pub fn search(&self, channel: &str, query: &str, limit: usize) -> Result<Vec<Message>> {
        if query.chars().count() < 3 {
            return self.search_scan(channel, query, limit);
        }
        let needle = query.to_lowercase();
        let phrase = if self.fts_positions() {
            fts_string(query)
        } else {
            all_trigrams(query)
        };
        let sql = "SELECT m.id, m.channel, m.user_id, m.content, m.timestamp, m.extra
             FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid
             WHERE messages_fts MATCH ?1 AND m.channel = ?2 ORDER BY messages_fts.rowid DESC";
        let mut stmt = self.conn().prepare_cached(sql)?;
        let mut rows = stmt.query(params![phrase, channel])?;
        let mut hits = Vec::new();
        while hits.len() < limit {
            let Some(row) = rows.next()? else { break };
            let content: String = row.get(3)?;
            if content.to_lowercase().contains(&needle) {
                hits.push(finish(row_to_message(row)?)?);
            }
        }
        Ok(hits)
    }

    /// [`Db::search`] by reading the channel row by row, newest first: memory does not
    /// grow with the history, time does.
    pub fn search_scan(&self, channel: &str, query: &str, limit: usize) -> Result<Vec<Message>> {
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

    /// The messages of `channels` that ping this user (by id, `username` or one of
    /// `roles`, see [`pings_user`]), newest first: the page `[offset, offset + limit)` and
    /// how many there are. Counted and ordered from the `mentions` table; only the page's
    /// messages are read, and those the table cannot decide alone (see
    /// [`mentions::exact`]), which are checked with the rule itself. A user or role name
    /// too long for the table falls back to the full scan.
    pub fn pings(
        &self,
        channels: &[String],
        user_id: &str,
        username: &str,
        roles: &[String],
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Message>, usize)> {
        let keep = |m: &Message| pings_user(m, user_id, username, roles);
        let names: Vec<String> = std::iter::once(username.to_string())
            .chain(roles.iter().map(|r| format!("&{r}")))
            .collect();
        if !names.iter().all(|n| mentions::indexable(n)) {
            return self.scan_filtered(channels, offset, limit, keep);
        }
        if channels.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let (plain, with_at): (Vec<&str>, Vec<&str>) = names
            .iter()
            .map(String::as_str)
            .partition(|n| !n.contains('@'));
        let mut found = mentions::exact(self.conn(), channels, user_id, &plain)?;
        let by_seq = format!("SELECT {COLUMNS} FROM messages WHERE seq = ?1");
        for seq in mentions::to_check(self.conn(), channels, &with_at)? {
            let m = self.query_messages(&by_seq, params![seq])?.pop();
            if let Some(m) = m.filter(|m| keep(m)) {
                found.push((m.timestamp, seq));
            }
        }
        // Newest first, as the scan's ORDER BY timestamp DESC, seq DESC.
        found.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        found.dedup_by_key(|f| f.1);
        let mut page = Vec::new();
        for &(_, seq) in found.iter().skip(offset).take(limit) {
            page.extend(self.query_messages(&by_seq, params![seq])?);
        }
        Ok((page, found.len()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_without_positions_asks_for_each_distinct_trigram_once() {
        assert_eq!(all_trigrams("abc"), r#""abc""#);
        assert_eq!(all_trigrams("abcab"), r#""abc" AND "bca" AND "cab""#);
        assert_eq!(all_trigrams("aaaa"), r#""aaa""#);
        assert_eq!(all_trigrams("a\"bc"), r#""a""b" AND """bc""#);
        assert_eq!(all_trigrams("日本語だ"), r#""日本語" AND "本語だ""#);
        // 98 distinct trigrams.
        let long: String = (0..100)
            .filter_map(|i| char::from_u32(0x4e00 + i))
            .collect();
        assert_eq!(
            all_trigrams(&long).matches(" AND ").count(),
            MAX_TRIGRAMS - 1
        );
    }
}
