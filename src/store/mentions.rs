//! The `mentions` table: who a message may ping, recorded when the message is written, so
//! that `pings_get` reads the pings of one user instead of scanning every message.
//!
//! The rule of what pings whom stays in one place, [`pings_user`]: the table only narrows
//! the messages it is asked about. A message pings a user when its content has `@username`
//! (or `@&role` for one of their roles) followed by the end or a byte that is not a word
//! character, or when it replies to them. So for every `@` in the content, each text that
//! follows it up to such a boundary is a name the message may ping, and is recorded
//! (`Kind::Name`). Names are at most [`MAX_NAME_BYTES`] long; a user whose name (or role)
//! is longer is served by the full scan. A message with more than [`MAX_NAMES`] such names
//! (a wall of `@`s) gets one `Kind::Many` row instead, and is looked at for everyone.
//! Replies record the replied-to user's id (`Kind::Reply`).

use std::collections::BTreeSet;

use rusqlite::{Connection, params};
use serde_json::Value;

use super::db::Result;
use crate::model::Message;

/// Longest name recorded, in bytes: local usernames have at most 32 characters, role names
/// at most 50 (plus the `&`); longer names fall back to the scan.
pub const MAX_NAME_BYTES: usize = 64;
/// Names recorded per message at most; beyond, the message is marked [`Kind::Many`].
pub const MAX_NAMES: usize = 64;

/// What a row of `mentions` says (the `kind` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i64)]
pub enum Kind {
    /// `name` follows an `@` in the content, up to a word boundary.
    Name = 0,
    /// The message replies to the user whose id is `name`.
    Reply = 1,
    /// Too many names to record: check this message for every user.
    Many = 2,
}

/// The names after the `@`s of `content` that a ping could match, or `None` if there are
/// more than [`MAX_NAMES`].
pub fn names(content: &str) -> Option<BTreeSet<&str>> {
    let mut found = BTreeSet::new();
    for (at, _) in content.match_indices('@') {
        let rest = &content[at + 1..];
        let bytes = rest.as_bytes();
        for end in 1..=rest.len().min(MAX_NAME_BYTES) {
            let boundary =
                end == rest.len() || (rest.is_char_boundary(end) && !is_word_byte(bytes[end]));
            if boundary && rest.is_char_boundary(end) {
                found.insert(&rest[..end]);
                if found.len() > MAX_NAMES {
                    return None;
                }
            }
        }
    }
    Some(found)
}

/// The same word characters as the ping rule: ASCII letters, digits and `_`.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether a user of this name (or a role, with its `&`) is found through the table.
pub fn indexable(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_BYTES
}

/// Records who message `seq` may ping, replacing what was recorded before (an edit).
pub fn record(conn: &Connection, seq: i64, m: &Message) -> Result<()> {
    conn.prepare_cached("DELETE FROM mentions WHERE seq = ?1")?
        .execute(params![seq])?;
    record_new(conn, seq, m)
}

/// Records who message `seq`, just inserted, may ping: a new seq has no rows yet (seqs
/// are never reused: `messages.seq` is AUTOINCREMENT), so there is nothing to replace.
pub fn record_new(conn: &Connection, seq: i64, m: &Message) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO mentions (kind, name, seq, channel, timestamp)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut row = |kind: Kind, name: &str| {
        insert.execute(params![kind as i64, name, seq, m.channel, m.timestamp])
    };
    match names(&m.content) {
        Some(names) => {
            for name in names {
                row(Kind::Name, name)?;
            }
        }
        None => {
            row(Kind::Many, "")?;
        }
    }
    // The ping rule's reply part, whole: a reply with `ping: false` pings no one.
    let pings_reply = m.extra.get("ping") != Some(&Value::Bool(false));
    if let Some(user) = m.reply_user().filter(|_| pings_reply) {
        row(Kind::Reply, user)?;
    }
    Ok(())
}

/// Fills the table for every stored message (migration 8, on a store that has history).
pub fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM mentions", [])?;
    let mut stmt = conn.prepare(
        "SELECT seq, id, channel, user_id, content, timestamp, extra FROM messages
         WHERE instr(content, '@') > 0 OR reply_user IS NOT NULL",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let extra = match serde_json::from_str(&row.get::<_, String>(6)?)? {
            Value::Object(map) => map,
            _ => Default::default(),
        };
        let m = Message {
            id: row.get(1)?,
            channel: row.get(2)?,
            user_id: row.get(3)?,
            content: row.get(4)?,
            timestamp: row.get(5)?,
            extra,
        };
        record(conn, row.get(0)?, &m)?;
    }
    Ok(())
}

/// The messages of `channels` that ping `user_id` by a reply or one of `names` (the
/// username, `&role`s; each [`indexable`]) without an `@` in it, as (timestamp, seq),
/// read from the table alone. For such a name the table is exact: its occurrences after
/// an `@` cannot overlap, so the ping rule's search finds each one the table recorded.
pub fn exact(
    conn: &Connection,
    channels: &[String],
    user_id: &str,
    names: &[&str],
) -> Result<Vec<(f64, i64)>> {
    let in_channels = vec!["?"; channels.len()].join(",");
    let in_names = vec!["?"; names.len()].join(",");
    let sql = format!(
        "SELECT timestamp, seq FROM mentions WHERE kind = {name} AND name IN ({in_names})
             AND channel IN ({in_channels})
         UNION SELECT timestamp, seq FROM mentions WHERE kind = {reply} AND name = ?
             AND channel IN ({in_channels})",
        name = Kind::Name as i64,
        reply = Kind::Reply as i64,
    );
    let args = names
        .iter()
        .copied()
        .chain(channels.iter().map(String::as_str))
        .chain(std::iter::once(user_id))
        .chain(channels.iter().map(String::as_str));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The seqs of the messages of `channels` the table cannot decide for these names: the
/// [`Kind::Many`] ones, and those recorded under one of `names` (which have an `@`).
pub fn to_check(conn: &Connection, channels: &[String], names: &[&str]) -> Result<Vec<i64>> {
    let in_channels = vec!["?"; channels.len()].join(",");
    let in_names = vec!["?"; names.len()].join(",");
    let sql = format!(
        "SELECT seq FROM mentions WHERE kind = {many} AND name = '' AND channel IN ({in_channels})
         UNION SELECT seq FROM mentions WHERE kind = {name} AND name IN ({in_names})
             AND channel IN ({in_channels})",
        many = Kind::Many as i64,
        name = Kind::Name as i64,
    );
    let args = channels
        .iter()
        .map(String::as_str)
        .chain(names.iter().copied())
        .chain(channels.iter().map(String::as_str));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::message::pings_user;

    #[test]
    fn names_after_an_at_end_at_word_boundaries() {
        let n = names("hi @bob, and @&Server Mods!").unwrap();
        for name in ["bob", "bob,", "&Server", "&Server Mods", "&Server Mods!"] {
            assert!(n.contains(name), "{name} missing from {n:?}");
        }
        assert!(!n.contains("bo"));
        assert!(!n.contains("&Serve"));
    }

    #[test]
    fn names_end_on_character_boundaries() {
        assert_eq!(names("@é@").unwrap(), ["é", "é@"].into_iter().collect());
    }

    #[test]
    fn a_wall_of_ats_is_marked_many() {
        let wall: String = (0..100).map(|i| format!("@u{i} ")).collect();
        assert!(names(&wall).is_none());
        assert!(names("no mention").unwrap().is_empty());
    }

    /// Whatever the ping rule matches, the table has: the index never loses a ping.
    #[test]
    fn every_name_the_ping_rule_matches_is_recorded() {
        let alphabet = ['@', '&', 'a', 'b', '_', ' ', '.', 'é', '1'];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..20_000 {
            let content: String = (0..next(12))
                .map(|_| alphabet[next(alphabet.len())])
                .collect();
            let name: String = (0..1 + next(4))
                .map(|_| alphabet[next(alphabet.len())])
                .collect();
            let m = Message {
                id: "1".into(),
                channel: "general".into(),
                user_id: "u".into(),
                content: content.clone(),
                timestamp: 0.0,
                extra: Default::default(),
            };
            let Some(found) = names(&content) else {
                continue;
            };
            if pings_user(&m, "nobody", &name, &[]) {
                assert!(found.contains(name.as_str()), "{name:?} in {content:?}");
            }
            let role = format!("&{name}");
            if pings_user(&m, "nobody", "\u{0}", std::slice::from_ref(&name)) {
                assert!(found.contains(role.as_str()), "{role:?} in {content:?}");
            }
        }
    }
}
