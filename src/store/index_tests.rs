//! The history indexes of migration 8 (`messages_fts`, `message_buckets`, `mentions`)
//! against plain scans of `messages` on a random history: search results, pings, indexes
//! and pages must be the same, after edits and deletes, for a store migrated from
//! version 7 and for both kinds of `messages_fts` (migration 8's, and migration 9's for a
//! store without history).

use rusqlite::{Connection, params};
use serde_json::json;

use super::Db;
use super::schema::MIGRATIONS;
use crate::config::SyncMode;
use crate::model::Message;
use crate::model::message::pings_user;

const WORDS: &[&str] = &[
    "hello",
    "Hello",
    "WORLD",
    "world",
    "@bob",
    "@bob,",
    "@bobby",
    "@&mods",
    "@&Mods",
    "@&mod",
    "x@bob",
    "@alice!",
    "Ärger",
    "ärger",
    "straße",
    "日本語",
    "a",
    "ab",
    "the",
    "-",
    "@",
    "@@bob",
    "m1",
    "M1",
];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn random_message(rng: &mut Rng, i: usize) -> Message {
    let channel = if rng.below(4) == 0 {
        "other"
    } else {
        "general"
    };
    let content: Vec<&str> = (0..1 + rng.below(5))
        .map(|_| WORDS[rng.below(WORDS.len())])
        .collect();
    let mut m = Message {
        id: format!("id{i}"),
        channel: channel.into(),
        user_id: "USR:alice".into(),
        content: content.join(" "),
        timestamp: 1.7e9 + (i / 3) as f64,
        extra: Default::default(),
    };
    if rng.below(6) == 0 {
        let to = if rng.below(2) == 0 {
            "USR:bob"
        } else {
            "USR:carol"
        };
        m.extra.insert(
            "reply_to".into(),
            json!({"id": format!("id{}", i / 2), "user": to}),
        );
        if rng.below(3) == 0 {
            m.extra.insert("ping".into(), json!(false));
        }
    }
    m
}

/// Inserts `n` random messages in one transaction.
fn fill(db: &Db, rng: &mut Rng, n: usize) -> Vec<Message> {
    db.begin().unwrap();
    let all: Vec<Message> = (0..n).map(|i| random_message(rng, i)).collect();
    for m in &all {
        db.insert_message(m).unwrap();
    }
    db.commit().unwrap();
    all
}

fn ids(list: &[Message]) -> Vec<&str> {
    list.iter().map(|m| m.id.as_str()).collect()
}

/// What the old full scans answer, compared with the indexed queries.
fn check_same_as_scans(db: &Db, rng: &mut Rng) {
    let queries = [
        "hello",
        "HELLO",
        "wor",
        "orld h",
        "ÄRGER",
        "straße",
        "日本語",
        "@bob",
        "nothing here",
        "a",
        "ab",
        "-",
        "\"quoted\"",
        "m1 ",
        // Trigrams that are all in many messages, but seldom in this order: a search
        // without positions finds those messages and must drop them.
        "world hello",
        "ld he",
        "bob @bob",
    ];
    for channel in ["general", "other"] {
        for q in queries {
            for limit in [1, 7, 50] {
                let fast = db.search(channel, q, limit).unwrap();
                let slow = db.search_scan(channel, q, limit).unwrap();
                assert_eq!(
                    ids(&fast),
                    ids(&slow),
                    "search {q:?} in {channel}, limit {limit}"
                );
            }
        }
    }
    let channels = vec!["general".to_string(), "other".to_string()];
    let people: [(&str, &str, Vec<String>); 4] = [
        ("USR:bob", "bob", vec!["mods".into()]),
        ("USR:carol", "carol", vec![]),
        ("USR:alice", "alice", vec!["Mods".into(), "mod".into()]),
        ("USR:x", "@bob", vec![]),
    ];
    for (id, name, roles) in &people {
        for (offset, limit) in [(0, 100), (0, 5), (7, 3), (10_000, 5)] {
            let fast = db.pings(&channels, id, name, roles, offset, limit).unwrap();
            let slow = db
                .scan_filtered(&channels, offset, limit, |m| pings_user(m, id, name, roles))
                .unwrap();
            assert_eq!(fast.1, slow.1, "ping count of {name}");
            assert_eq!(ids(&fast.0), ids(&slow.0), "pings of {name} at {offset}");
        }
    }
    for channel in ["general", "other"] {
        let all: Vec<String> = db
            .conn()
            .prepare("SELECT id FROM messages WHERE channel = ?1 ORDER BY seq")
            .unwrap()
            .query_map(params![channel], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(db.message_count(channel).unwrap(), all.len());
        for _ in 0..40 {
            let i = rng.below(all.len());
            assert_eq!(db.index_of(channel, &all[i]).unwrap(), Some(i));
            let (above, below) = (rng.below(60), rng.below(60));
            let (got, start, end) = db.around(channel, &all[i], above, below).unwrap().unwrap();
            let (s, e) = (i.saturating_sub(below), (i + above + 1).min(all.len()));
            assert_eq!((start, end), (s, e));
            assert_eq!(
                ids(&got),
                all[s..e].iter().map(String::as_str).collect::<Vec<_>>()
            );
            let (back, limit) = (rng.below(all.len() + 10), 1 + rng.below(100));
            let page = db.page(channel, back, limit).unwrap();
            let end = all.len().saturating_sub(back);
            let want = &all[end.saturating_sub(limit)..end];
            assert_eq!(
                ids(&page),
                want.iter().map(String::as_str).collect::<Vec<_>>()
            );
        }
        assert_eq!(db.index_of(channel, "no such id").unwrap(), None);
    }
}

/// Edits and deletes a random tenth of the messages.
fn churn(db: &Db, rng: &mut Rng, all: &[Message]) {
    db.begin().unwrap();
    for (i, m) in all.iter().enumerate() {
        match rng.below(20) {
            0 => {
                let mut edited = random_message(rng, i);
                edited.id = m.id.clone();
                edited.channel = m.channel.clone();
                edited.extra = m.extra.clone();
                db.update_message(&edited).unwrap();
            }
            1 => {
                db.delete_message(&m.channel, &m.id).unwrap();
            }
            _ => {}
        }
    }
    db.commit().unwrap();
}

#[test]
fn indexed_reads_answer_like_the_scans() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
    assert!(!db.fts_positions(), "a new store gets the light index");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let all = fill(&db, &mut rng, 3000);
    check_same_as_scans(&db, &mut rng);
    churn(&db, &mut rng, &all);
    check_same_as_scans(&db, &mut rng);
    db.rename_channel_data("other", "renamed").unwrap();
    db.rename_channel_data("renamed", "other").unwrap();
    check_same_as_scans(&db, &mut rng);
}

#[test]
fn an_edit_or_a_delete_changes_what_search_finds() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
    let mut m = Message::new("general", "USR:alice", "Hello Wonderful World".into());
    db.insert_message(&m).unwrap();
    assert_eq!(
        ids(&db.search("general", "wONDERful", 10).unwrap()),
        [m.id.as_str()]
    );
    m.content = "plain now".into();
    db.update_message(&m).unwrap();
    assert!(db.search("general", "wonderful", 10).unwrap().is_empty());
    assert_eq!(
        ids(&db.search("general", "PLAIN", 10).unwrap()),
        [m.id.as_str()]
    );
    db.delete_message("general", &m.id).unwrap();
    assert!(db.search("general", "plain", 10).unwrap().is_empty());
}

#[test]
fn a_version_7_store_is_indexed_by_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    {
        let mut conn = Connection::open(dir.path().join(super::db::DB_FILE)).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..7] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 7).unwrap();
        for i in 0..2500 {
            insert_old_row(&tx, &random_message(&mut rng, i));
        }
        tx.commit().unwrap();
    }
    let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
    let version: usize = db
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, MIGRATIONS.len());
    assert!(
        db.fts_positions(),
        "a store with history keeps migration 8's index"
    );
    let hits = db.search("general", "hello", 5000).unwrap();
    assert!(hits.len() > 100, "the migration indexed the old messages");
    check_same_as_scans(&db, &mut rng);
}

/// Inserts `m` as a store at an older schema did, without `Db` (which would migrate it).
fn insert_old_row(conn: &Connection, m: &Message) {
    conn.execute(
        "INSERT INTO messages (channel, id, user_id, content, timestamp, reply_to, reply_user, extra)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            m.channel,
            m.id,
            m.user_id,
            m.content,
            m.timestamp,
            m.reply_to(),
            m.reply_user(),
            serde_json::to_string(&m.extra).unwrap()
        ],
    )
    .unwrap();
}

/// Makes a store at schema 8 (as the server made them before migration 9) with `n`
/// random messages.
fn version_8_store(dir: &std::path::Path, rng: &mut Rng, n: usize) {
    let mut conn = Connection::open(dir.join(super::db::DB_FILE)).unwrap();
    let tx = conn.transaction().unwrap();
    for sql in &MIGRATIONS[..8] {
        tx.execute_batch(sql).unwrap();
    }
    tx.pragma_update(None, "user_version", 8).unwrap();
    tx.commit().unwrap();
    drop(conn);
    // Db::open would migrate it: insert as the store did at schema 8, without Db.
    let conn = Connection::open(dir.join(super::db::DB_FILE)).unwrap();
    for i in 0..n {
        let m = random_message(rng, i);
        insert_old_row(&conn, &m);
        super::mentions::record_new(&conn, conn.last_insert_rowid(), &m).unwrap();
    }
}

fn fts_sql(db: &Db) -> String {
    db.conn()
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'messages_fts'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn migration_9_lightens_the_index_of_a_store_without_history_only() {
    let mut rng = Rng(0xdead_beef_1234_5678);
    // With history: the index and its data stay as they were (no re-indexing at start-up).
    let kept = tempfile::tempdir().unwrap();
    version_8_store(kept.path(), &mut rng, 1500);
    let before: i64 = Connection::open(kept.path().join(super::db::DB_FILE))
        .unwrap()
        .query_row("SELECT count(*) FROM messages_fts_data", [], |r| r.get(0))
        .unwrap();
    let db = Db::open(kept.path(), SyncMode::Normal).unwrap();
    assert!(db.fts_positions());
    assert!(!fts_sql(&db).contains("detail"), "{}", fts_sql(&db));
    let after: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM messages_fts_data", [], |r| r.get(0))
        .unwrap();
    assert_eq!(before, after);
    assert!(Db::open_reader(kept.path()).unwrap().fts_positions());
    fill(&db, &mut rng, 500);
    check_same_as_scans(&db, &mut rng);

    // Without: the light index, which the triggers keep from then on.
    let empty = tempfile::tempdir().unwrap();
    version_8_store(empty.path(), &mut rng, 0);
    let db = Db::open(empty.path(), SyncMode::Normal).unwrap();
    assert!(!db.fts_positions());
    assert!(fts_sql(&db).contains("detail = 'none'"));
    assert!(!Db::open_reader(empty.path()).unwrap().fts_positions());
    let all = fill(&db, &mut rng, 2000);
    check_same_as_scans(&db, &mut rng);
    churn(&db, &mut rng, &all);
    check_same_as_scans(&db, &mut rng);
    // Opened again, it stays as it is.
    drop(db);
    assert!(
        !Db::open(empty.path(), SyncMode::Normal)
            .unwrap()
            .fts_positions()
    );
}
