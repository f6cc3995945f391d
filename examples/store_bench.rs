//! The storage thread's cost per stored message, alone: `N` messages stored through
//! `Store::insert_message` (the call `message_new` makes) one after the other, so that each
//! is a transaction of its own, as at a chat's pace (at 20–100 msg/s nearly every message
//! is a batch of its own), on a fresh store in a temporary directory.
//!
//! ```text
//! cargo build --release --example store_bench
//! valgrind --tool=callgrind target/release/examples/store_bench --messages 1000
//! valgrind --tool=callgrind target/release/examples/store_bench --messages 3000
//! ```
//!
//! (Ir of the long run − Ir of the short run) / 2000 is the instructions per stored message,
//! without the server's start-up. `--content padded` (default) is the load tool's `fanout`
//! content (`lg <sender> <seq> <nanos> xxx…`, what `benches/instructions.sh` sends),
//! `--content words` the `diskio` mode's chat-like words; `--size` the content's bytes
//! (default 190, as in a 384-byte `message_new` frame); `--prefill K` stores K messages in one
//! transaction first; `--dir DIR` keeps the store in DIR (made if needed) instead.

use originchats_server::config::SyncMode;
use originchats_server::model::Message;
use originchats_server::store::{Db, Store};

const WORDS: &[&str] = &[
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "hello", "world", "server",
    "chat", "tonight", "meeting", "game", "code", "music", "weekend",
];

struct Args {
    messages: usize,
    prefill: usize,
    words: bool,
    size: usize,
    dir: Option<std::path::PathBuf>,
    /// Experiments: the FTS5 table made again with these options, and FTS5 settings.
    fts: Option<String>,
    fts_config: Vec<(String, String)>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        messages: 1000,
        prefill: 0,
        words: false,
        size: 190,
        dir: None,
        fts: None,
        fts_config: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--messages" => a.messages = num(value()?)?,
            "--prefill" => a.prefill = num(value()?)?,
            "--size" => a.size = num(value()?)?,
            "--content" => {
                a.words = match value()?.as_str() {
                    "words" => true,
                    "padded" => false,
                    other => return Err(format!("--content: words or padded, not {other}")),
                }
            }
            "--dir" => a.dir = Some(value()?.into()),
            "--fts" => a.fts = Some(value()?),
            "--fts-config" => {
                let v = value()?;
                let (k, x) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--fts-config: key=value, not {v}"))?;
                a.fts_config.push((k.to_string(), x.to_string()));
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(a)
}

fn content(a: &Args, seq: usize) -> String {
    let mut c = format!(
        "lg {} {seq} {}",
        seq % 10,
        1_700_000_000_000_000_000u64 + seq as u64
    );
    let mut x = (seq as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    if !a.words {
        c.push(' ');
    }
    while c.len() < a.size {
        if a.words {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.push(' ');
            c.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
        } else {
            c.push('x');
        }
    }
    c
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = a.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    drop(Db::open(&dir, SyncMode::Normal).expect("open"));
    let conn =
        rusqlite::Connection::open(dir.join(originchats_server::store::db::DB_FILE)).expect("open");
    if let Some(options) = &a.fts {
        conn.execute_batch(&format!(
            "DROP TABLE messages_fts; CREATE VIRTUAL TABLE messages_fts USING fts5 (
             content, content = 'messages', content_rowid = 'seq', tokenize = 'trigram'{options})"
        ))
        .expect("FTS table");
    }
    for (k, v) in &a.fts_config {
        conn.execute(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES (?1, ?2)",
            rusqlite::params![k, v],
        )
        .expect("FTS setting");
    }
    drop(conn);
    let db = Db::open(&dir, SyncMode::Normal).expect("open");
    if a.prefill > 0 {
        db.begin().expect("begin");
        for i in 0..a.prefill {
            let m = Message::new("general", "USR:prefill", content(&a, i));
            db.insert_message(&m).expect("insert");
        }
        db.commit().expect("commit");
    }
    // The server's own path: the storage thread's loop, one job per message, each waited
    // for before the next is sent (so each is a batch of its own, as at a chat's pace).
    let reader = Db::open_reader(&dir).expect("open reader");
    let store = Store::start(db, reader).expect("storage thread");
    smol::block_on(async {
        for i in 0..a.messages {
            let m = Message::new("general", "USR:local_sender", content(&a, a.prefill + i));
            store.insert_message(m).await.expect("insert");
        }
    });
    drop(store);
    eprintln!("stored {} messages in {}", a.messages, dir.display());
}
