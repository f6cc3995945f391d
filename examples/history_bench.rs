//! History read costs at scale (issue 14, items 1 and 2), measured on the store itself:
//! the queries the `messages_search`, `pings_get`, `unreads_count`, `messages_around` and
//! deep `messages_get` handlers run, new (indexed) beside the old form (the scans they
//! replaced, still in the code as fallbacks, or their SQL), in the same run on the same
//! store; and one small read's latency while heavy reads run, with one reader thread (as
//! before) and with the server's three.
//!
//! ```text
//! cargo run --release --example history_bench -- --messages N [--dir DIR] [--runs R]
//!     [--commit-every K] [--fts light|positions]
//! ```
//!
//! The store (N messages in `general`, 1 in 1000 mentioning `@bob`, 1 in 20 a reply, to
//! him in 1 of 50) is built in DIR (default `/tmp/history-N`) if it is not there yet, through
//! `Db::insert_message` in transactions of K messages (default 10 000, as the importer
//! does; 1 is what the server does at a chat's pace, and leaves FTS5 a segment per message
//! to merge), with the index a new store gets (`light`, schema::LIGHT_FTS) or migration 8's
//! with positions (`positions`, what a store that had history before schema 9 keeps).

use std::path::{Path, PathBuf};
use std::time::Instant;

use originchats_server::config::SyncMode;
use originchats_server::model::Message;
use originchats_server::model::message::pings_user;
use originchats_server::store::{Db, Store};
use rusqlite::params;
use serde_json::json;

const WORDS: &[&str] = &[
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "raspberry",
    "pi",
    "server",
    "chat",
    "message",
    "hello",
    "world",
    "rust",
    "sqlite",
    "index",
    "board",
    "lan",
    "club",
    "meeting",
    "tonight",
    "tomorrow",
    "weekend",
    "music",
    "game",
    "code",
    "build",
    "test",
];

/// Migration 8's trigram index, for `--fts positions`: what a store that had history
/// before schema 9 keeps (a new store gets schema::LIGHT_FTS).
const MIGRATION_8_FTS: &str = "DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        content, content = 'messages', content_rowid = 'seq', tokenize = 'trigram'
    );";

fn build(dir: &Path, n: usize, commit_every: usize, positions: bool) {
    if positions {
        drop(Db::open(dir, SyncMode::Normal).expect("open"));
        rusqlite::Connection::open(dir.join("originchats.sqlite3"))
            .and_then(|c| c.execute_batch(MIGRATION_8_FTS))
            .expect("migration 8's index");
    }
    let db = Db::open(dir, SyncMode::Normal).expect("open");
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |k: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % k as u64) as usize
    };
    let started = Instant::now();
    for batch in 0..n.div_ceil(commit_every) {
        db.begin().expect("begin");
        for i in batch * commit_every..((batch + 1) * commit_every).min(n) {
            let words: Vec<&str> = (0..4 + next(8)).map(|_| WORDS[next(WORDS.len())]).collect();
            let mut content = words.join(" ");
            if next(1000) == 0 {
                content.push_str(" @bob");
            }
            if i == n / 2 {
                content.push_str(" needle-in-the-haystack");
            }
            let mut m = Message {
                id: format!("m{i:07}"),
                channel: "general".into(),
                user_id: format!("USR:user{}", next(50)),
                content,
                timestamp: 1.7e9 + i as f64 * 0.1,
                extra: Default::default(),
            };
            if next(20) == 0 {
                let to = if next(50) == 0 {
                    "USR:bob".to_string()
                } else {
                    format!("USR:user{}", next(50))
                };
                m.extra.insert(
                    "reply_to".into(),
                    json!({"id": format!("m{:07}", i.saturating_sub(1)), "user": to}),
                );
            }
            db.insert_message(&m).expect("insert");
        }
        db.commit().expect("commit");
    }
    eprintln!(
        "built {n} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Median, min and max of `runs` timings of `f`, in milliseconds.
fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0], t[t.len() - 1])
}

fn show(what: &str, new: (f64, f64, f64), old: (f64, f64, f64)) {
    println!(
        "| {what} | {:.2} ({:.2}–{:.2}) | {:.2} ({:.2}–{:.2}) |",
        new.0, new.1, new.2, old.0, old.1, old.2
    );
}

/// Old `pings_get`: every message of the channels, filtered by the ping rule. In a store
/// read (below) the read budget may stop it: then 0.
fn old_pings(db: &Db) -> usize {
    let channels = vec!["general".to_string()];
    let roles = vec!["user".to_string()];
    db.scan_filtered(&channels, 0, 50, |m| {
        pings_user(m, "USR:bob", "bob", &roles)
    })
    .map(|(_, total)| total)
    .unwrap_or(0)
}

fn new_pings(db: &Db) -> usize {
    let channels = vec!["general".to_string()];
    let roles = vec!["user".to_string()];
    db.pings(&channels, "USR:bob", "bob", &roles, 0, 50)
        .expect("pings")
        .1
}

fn old_search(db: &Db) -> usize {
    db.search_scan("general", "zebra crossing", 50)
        .map(|v| v.len())
        .unwrap_or(0)
}

fn new_search(db: &Db) -> usize {
    db.search("general", "zebra crossing", 50).unwrap().len()
}

/// A 2-character query has no trigram: the scan, stopped by the read budget if too long.
fn short_search(db: &Db) -> usize {
    db.search("general", "zq", 50).map(|v| v.len()).unwrap_or(0)
}

/// The longest of 5 small reads (ms) made one after the other while `heavy` runs on
/// `heavy_jobs` other reads at once.
fn stalled_read(store: &Store, heavy: fn(&Db) -> usize, heavy_jobs: usize) -> f64 {
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let mut jobs = Vec::new();
        for _ in 0..heavy_jobs {
            let s = store.clone();
            jobs.push(ex.spawn(async move { s.read(move |db| Ok(heavy(db))).await }));
        }
        // Let the heavy reads reach their threads first.
        smol::Timer::after(std::time::Duration::from_millis(20)).await;
        let mut lat = Vec::new();
        for _ in 0..5 {
            let s = Instant::now();
            store.message("general", "m0000010").await.expect("read");
            lat.push(s.elapsed().as_secs_f64() * 1e3);
        }
        for j in jobs {
            j.await.expect("heavy");
        }
        lat.into_iter().fold(0.0, f64::max)
    }))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut n, mut dir, mut runs) = (1_000_000usize, None, 5usize);
    let (mut commit_every, mut positions) = (10_000usize, false);
    while let Some(a) = args.next() {
        let v = args.next().expect("a value after each option");
        match a.as_str() {
            "--messages" => n = v.parse().expect("--messages N"),
            "--dir" => dir = Some(PathBuf::from(v)),
            "--runs" => runs = v.parse().expect("--runs R"),
            "--commit-every" => commit_every = v.parse().expect("--commit-every K"),
            "--fts" => positions = v == "positions",
            _ => panic!("unknown option {a}"),
        }
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(format!("/tmp/history-{n}")));
    if !dir.join("originchats.sqlite3").exists() {
        build(&dir, n, commit_every.max(1), positions);
    }
    let db = Db::open(&dir, SyncMode::Normal).expect("open");
    let raw = rusqlite::Connection::open(dir.join("originchats.sqlite3")).expect("open raw");
    raw.pragma_update(None, "cache_size", -512).expect("cache");
    let total = db.message_count("general").expect("count");
    println!("{total} messages in general; median (min–max) of {runs} runs, ms");
    println!("| read | new | old |");
    println!("|---|---|---|");
    let miss = "zebra crossing";
    let hit = "needle-in-the";
    show(
        "messages_search, a miss",
        time(runs, || {
            assert!(db.search("general", miss, 50).unwrap().is_empty())
        }),
        time(runs, || {
            assert!(db.search_scan("general", miss, 50).unwrap().is_empty())
        }),
    );
    show(
        "messages_search, a hit in the middle of the history",
        time(runs, || {
            assert_eq!(db.search("general", hit, 50).unwrap().len(), 1)
        }),
        time(runs, || {
            assert_eq!(db.search_scan("general", hit, 50).unwrap().len(), 1)
        }),
    );
    show(
        "messages_search, a common word (50 newest hits)",
        time(runs, || {
            assert_eq!(db.search("general", "raspberry", 50).unwrap().len(), 50)
        }),
        time(runs, || {
            assert_eq!(
                db.search_scan("general", "raspberry", 50).unwrap().len(),
                50
            )
        }),
    );
    let pings = new_pings(&db);
    assert_eq!(pings, old_pings(&db));
    show(
        &format!("pings_get ({pings} pings)"),
        time(runs, || assert_eq!(new_pings(&db), pings)),
        time(runs, || assert_eq!(old_pings(&db), pings)),
    );
    let recent = format!("m{:07}", n - 20);
    let old_index = |id: &str| -> i64 {
        raw.query_row(
            "SELECT count(*) FROM messages WHERE channel = 'general' AND seq <
             (SELECT seq FROM messages WHERE channel = 'general' AND id = ?1)",
            params![id],
            |r| r.get(0),
        )
        .unwrap()
    };
    let old_count = || -> i64 {
        raw.query_row(
            "SELECT count(*) FROM messages WHERE channel = 'general'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    show(
        "unreads_count (last read 20 from the newest)",
        time(runs, || {
            let (unread, _) = db.unread_count("general", Some(&recent)).unwrap();
            assert_eq!(unread, 19);
        }),
        time(runs, || {
            assert_eq!(old_count() - old_index(&recent) - 1, 19);
        }),
    );
    let deep = format!("m{:07}", n / 10);
    let old_range = |start: i64, len: i64| -> usize {
        raw.prepare_cached(
            "SELECT id, content, extra FROM messages WHERE channel = 'general' ORDER BY seq LIMIT ?1 OFFSET ?2",
        )
        .unwrap()
        .query_map(params![len, start], |r| r.get::<_, String>(0))
        .unwrap()
        .count()
    };
    show(
        "messages_around a message 10 % into the history (50 + 50)",
        time(runs, || {
            assert_eq!(
                db.around("general", &deep, 50, 50)
                    .unwrap()
                    .unwrap()
                    .0
                    .len(),
                101
            )
        }),
        time(runs, || {
            let t = old_index(&deep);
            let _ = old_count();
            assert_eq!(old_range(t - 50, 101), 101);
        }),
    );
    let back = n * 9 / 10;
    show(
        "messages_get, start 90 % back (100)",
        time(runs, || {
            assert_eq!(db.page("general", back, 100).unwrap().len(), 100)
        }),
        time(runs, || {
            let start = old_count() as usize - back - 100;
            assert_eq!(old_range(start as i64, 100), 100);
        }),
    );
    drop(raw);
    println!();
    println!(
        "the longest of 5 message_get reads made while heavy reads run (ms; median (min–max) of 3 runs):"
    );
    println!("| heavy reads at once | readers | latency |");
    println!("|---|---|---|");
    let latency = |store: &Store, heavy: fn(&Db) -> usize, k: usize| {
        let mut all = Vec::new();
        for _ in 0..runs.min(3) {
            all.push(stalled_read(store, heavy, k));
        }
        all.sort_by(f64::total_cmp);
        format!(
            "{:.2} ({:.2}–{:.2})",
            all[all.len() / 2],
            all[0],
            all[all.len() - 1]
        )
    };
    let one = Store::start(
        Db::open(&dir, SyncMode::Normal).unwrap(),
        Db::open_reader(&dir).unwrap(),
    )
    .unwrap();
    println!(
        "| old search + old pings_get | 1 (before) | {} |",
        latency(&one, |db| old_search(db) + old_pings(db), 1)
    );
    drop(one);
    let three = Store::start_with_readers(
        Db::open(&dir, SyncMode::Normal).unwrap(),
        Db::open_readers(&dir, 3).unwrap(),
    )
    .unwrap();
    println!(
        "| new search + new pings_get | 3 | {} |",
        latency(&three, |db| new_search(db) + new_pings(db), 2)
    );
    println!(
        "| 2 short (2-character) searches that miss: full scans | 3 | {} |",
        latency(&three, short_search, 2)
    );
}
