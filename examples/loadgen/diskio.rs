//! The load tool's `diskio` mode (issue 14, item 4): bytes the server makes the kernel write
//! to the device per acknowledged `message_new` (SD cards wear out).
//!
//! S senders post `message_new` into `general` at `--rate` msg/s in total, or closed loop
//! with `--outstanding K` each, for `--duration` seconds; a sender's own copy of its message
//! is its ack (it comes only after the commit). The figure is `write_bytes` of
//! `/proc/PID/io`: bytes of page-cache pages the process dirtied, counted when a clean page
//! turns dirty (a page dirtied again before the kernel wrote it back is not counted twice;
//! one written back, by an fsync or the flusher, is counted again when next dirtied). The
//! filesystem's own journal, written by a kernel thread, is not in it.
//!
//! The window, and why it ends with the server's exit: it starts after the logins, once the
//! tool has checkpointed the setup's writes into the database file on a connection of its
//! own (so the WAL starts empty), and it ends when the server has exited after SIGTERM,
//! whose graceful shutdown checkpoints the WAL into the file and truncates it. Start and
//! end are then alike (everything in the database file, an empty WAL), so every byte the
//! messages cost is counted once: their WAL frames and every checkpoint's copy into the
//! file, the last one included, whatever the run's length. A window of whole checkpoints
//! would instead depend on where the automatic checkpoints fall. A process's counters can
//! no longer be read once it has exited, but its reaping adds them to the reaper's: the
//! server's total is the growth of the tool's own `/proc/self/io` across the `waitpid`
//! minus what the tool's own threads did meanwhile. The figures of the live part (until
//! the last ack) and of the shutdown are reported separately too.
//!
//! The stored size is measured afterwards on the database (read-only, SQLite's `dbstat`):
//! the `messages` row (its record's bytes: the payload `dbstat` counts), what every index
//! of a message adds (`messages_by_channel`, the id's unique index, FTS5's
//! `messages_fts_*`, `mentions`, `message_buckets`), and the file's growth per message.
//!
//! `--page-size N` makes the database before the server starts, with that page size (the
//! server keeps the page size of an existing database), to compare page sizes on one
//! binary. The content is words (FTS5 indexes them as a chat line would be, unlike the
//! other modes' padding), after the `lg <sender> <seq> <nanos>` prefix that the receiving
//! side parses.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_tungstenite::WebSocketSender;
use async_tungstenite::tungstenite::Message;
use futures_lite::future;
use serde_json::{Value, json};
use smol::Timer;
use smol::channel;

use super::{
    Args, ChatResult, Client, Conn, Ctx, G, Hist, Plan, Relaxed, SenderResult, Server,
    ack_channels, check_size, clk_tck, common_json, connect_all, default_size, drain, extend,
    frame_avg, join_senders, log_line, merge_stats, now_ns, r3, secs, settle, sleep_until, snap,
    spawn_progress, sys, window_json,
};

/// The database file in the server's data directory (`store::db::DB_FILE`).
const DB_FILE: &str = "originchats.sqlite3";
const SIGTERM: i32 = 15;
/// How long the server may take to shut down (its own grace period is 3 s, then the
/// checkpoint).
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The counters of `/proc/PID/io`.
#[derive(Clone, Copy, Default, Debug)]
struct Io {
    rchar: u64,
    wchar: u64,
    syscr: u64,
    syscw: u64,
    read_bytes: u64,
    write_bytes: u64,
    cancelled_write_bytes: u64,
}

impl Io {
    fn read(path: &Path) -> Result<Io, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut io = Io::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value: u64 = value.trim().parse().unwrap_or(0);
            match key {
                "rchar" => io.rchar = value,
                "wchar" => io.wchar = value,
                "syscr" => io.syscr = value,
                "syscw" => io.syscw = value,
                "read_bytes" => io.read_bytes = value,
                "write_bytes" => io.write_bytes = value,
                "cancelled_write_bytes" => io.cancelled_write_bytes = value,
                _ => {}
            }
        }
        Ok(io)
    }

    fn of_pid(pid: &str) -> Result<Io, String> {
        Io::read(&PathBuf::from(format!("/proc/{pid}/io")))
    }

    /// The tool's own threads (without the children it reaped).
    fn own_threads() -> Result<Io, String> {
        let mut sum = Io::default();
        let tasks = std::fs::read_dir("/proc/self/task").map_err(|e| e.to_string())?;
        for task in tasks.flatten() {
            // A thread that just ended has no file any more: it did nothing on disk.
            if let Ok(io) = Io::read(&task.path().join("io")) {
                sum = sum.plus(io);
            }
        }
        Ok(sum)
    }

    fn plus(self, o: Io) -> Io {
        Io {
            rchar: self.rchar + o.rchar,
            wchar: self.wchar + o.wchar,
            syscr: self.syscr + o.syscr,
            syscw: self.syscw + o.syscw,
            read_bytes: self.read_bytes + o.read_bytes,
            write_bytes: self.write_bytes + o.write_bytes,
            cancelled_write_bytes: self.cancelled_write_bytes + o.cancelled_write_bytes,
        }
    }

    fn minus(self, o: Io) -> Io {
        Io {
            rchar: self.rchar.saturating_sub(o.rchar),
            wchar: self.wchar.saturating_sub(o.wchar),
            syscr: self.syscr.saturating_sub(o.syscr),
            syscw: self.syscw.saturating_sub(o.syscw),
            read_bytes: self.read_bytes.saturating_sub(o.read_bytes),
            write_bytes: self.write_bytes.saturating_sub(o.write_bytes),
            cancelled_write_bytes: self
                .cancelled_write_bytes
                .saturating_sub(o.cancelled_write_bytes),
        }
    }

    fn json(&self) -> Value {
        json!({
            "write_bytes": self.write_bytes,
            "cancelled_write_bytes": self.cancelled_write_bytes,
            "read_bytes": self.read_bytes,
            "wchar": self.wchar,
            "rchar": self.rchar,
            "syscw": self.syscw,
            "syscr": self.syscr,
        })
    }

    fn per(&self, n: u64) -> Value {
        let n = n.max(1) as f64;
        json!({
            "write_bytes": r3(self.write_bytes as f64 / n),
            "write_bytes_net": r3(self.write_bytes.saturating_sub(self.cancelled_write_bytes) as f64 / n),
            "wchar": r3(self.wchar as f64 / n),
            "syscw": r3(self.syscw as f64 / n),
        })
    }
}

/// With `--page-size`: a data directory whose database already exists with that page size
/// (and in WAL mode, which fixes it), for the server to migrate.
pub fn prepared_dir(a: &Args) -> Result<Option<tempfile::TempDir>, String> {
    let Some(size) = a.page_size else {
        return Ok(None);
    };
    if !size.is_power_of_two() || !(512..=65536).contains(&size) {
        return Err("--page-size: a power of two from 512 to 65536".into());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let conn = rusqlite::Connection::open(data.join(DB_FILE)).map_err(|e| e.to_string())?;
    conn.pragma_update(None, "page_size", size)
        .and_then(|_| conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())))
        .map_err(|e| format!("--page-size: {e}"))?;
    Ok(Some(dir))
}

/// A little chat vocabulary: FTS5 sees trigrams of words, as in a real history.
const WORDS: &[&str] = &[
    "the",
    "and",
    "you",
    "that",
    "was",
    "for",
    "are",
    "with",
    "his",
    "they",
    "this",
    "have",
    "from",
    "one",
    "had",
    "word",
    "but",
    "not",
    "what",
    "all",
    "were",
    "when",
    "your",
    "can",
    "said",
    "there",
    "use",
    "each",
    "which",
    "she",
    "how",
    "their",
    "will",
    "other",
    "about",
    "out",
    "many",
    "then",
    "them",
    "these",
    "some",
    "her",
    "would",
    "make",
    "like",
    "him",
    "into",
    "time",
    "has",
    "look",
    "two",
    "more",
    "write",
    "see",
    "number",
    "way",
    "could",
    "people",
    "than",
    "first",
    "water",
    "been",
    "call",
    "who",
    "its",
    "now",
    "find",
    "long",
    "down",
    "day",
    "did",
    "get",
    "come",
    "made",
    "may",
    "part",
    "server",
    "raspberry",
    "chat",
    "tonight",
    "game",
    "lol",
    "thanks",
    "anyone",
    "build",
    "works",
    "broken",
    "fixed",
];

/// `lg <sender> <seq> <nanos>` and words, `size` bytes (at least the prefix).
fn word_content(s: usize, seq: u64, ts: u64, size: usize) -> String {
    let mut c = format!("lg {s} {seq} {ts}");
    let prefix = c.len();
    let mut x = (s as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ seq.wrapping_mul(0xbf58_476d_1ce4_e5b9)
        | 1;
    while c.len() < size {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.push(' ');
        c.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
    }
    // Every word is ASCII: any length is a character boundary.
    c.truncate(size.max(prefix));
    while c.ends_with(' ') {
        c.pop();
    }
    c
}

/// One sender: at its share of the rate, or keeping `outstanding` unacknowledged.
async fn word_sender(
    s: usize,
    mut tx: WebSocketSender<Conn>,
    plan: Arc<Plan>,
    acks: Option<channel::Receiver<()>>,
) -> SenderResult {
    let mut r = SenderResult {
        sent: 0,
        lag: Hist::new(),
        error: None,
    };
    let mut seq = 0u64;
    loop {
        let end = G.send_end.load(Relaxed);
        if let Some(rate) = plan.rate {
            let slot = s as f64 + seq as f64 * plan.nsenders as f64;
            let due = plan.t0 + (slot * 1e9 / rate) as u64;
            if due >= end {
                break;
            }
            sleep_until(due).await;
            r.lag.record((now_ns() - due) / 1000);
        } else if seq >= plan.outstanding as u64 {
            let Some(acks) = acks.as_ref() else { break };
            let got = future::or(async { acks.recv().await.is_ok() }, async {
                sleep_until(end).await;
                false
            })
            .await;
            if !got || now_ns() >= end {
                break;
            }
        } else {
            sleep_until(plan.t0).await;
        }
        let content = word_content(s, seq, now_ns(), plan.size);
        let pkt = json!({"cmd": "message_new", "channel": "general", "content": content});
        if let Err(e) = tx.send(Message::text(pkt.to_string())).await {
            r.error = Some(e.to_string());
            break;
        }
        r.sent += 1;
        G.sent.fetch_add(1, Relaxed);
        seq += 1;
    }
    r
}

/// What `dbstat` says of one b-tree.
struct Btree {
    name: String,
    pages: u64,
    cells: u64,
    payload: u64,
    bytes: u64,
}

/// The stored size of the history: per b-tree, and the messages.
struct Stored {
    page_size: u64,
    messages: u64,
    file_bytes: u64,
    btrees: Vec<Btree>,
}

/// B-trees that grow with every message (the others hold accounts, roles, settings…).
fn per_message_btree(name: &str) -> bool {
    name.starts_with("messages")
        || name.starts_with("message_")
        || name.starts_with("mentions")
        || name == "sqlite_autoindex_messages_1"
}

fn stored(db: &Path) -> Result<Stored, String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    let e = |e: rusqlite::Error| format!("reading {}: {e}", db.display());
    let page_size: u64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(e)?;
    let messages: u64 = conn
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .map_err(e)?;
    let mut stmt = conn
        .prepare(
            "SELECT name, count(*), sum(ncell), sum(payload), sum(pgsize) FROM dbstat \
             GROUP BY name ORDER BY sum(pgsize) DESC",
        )
        .map_err(e)?;
    let btrees = stmt
        .query_map([], |r| {
            Ok(Btree {
                name: r.get(0)?,
                pages: r.get(1)?,
                cells: r.get(2)?,
                payload: r.get(3)?,
                bytes: r.get(4)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(e)?;
    let file_bytes = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
    Ok(Stored {
        page_size,
        messages,
        file_bytes,
        btrees,
    })
}

/// Stops the server as an operator would (SIGTERM: graceful shutdown, last checkpoint) and
/// returns what it wrote from its last live reading, just before the signal, to its exit,
/// with the exit status.
async fn stop_and_count(mut server: Server) -> Result<(Server, Io, String), String> {
    let pid = server.pid;
    smol::unblock(move || {
        let own0 = Io::own_threads()?;
        let all0 = Io::read(Path::new("/proc/self/io"))?;
        let server_live = Io::of_pid(&pid.to_string())?;
        if unsafe { sys::kill(pid as i32, SIGTERM) } != 0 {
            return Err(format!("cannot send SIGTERM to {pid}"));
        }
        let deadline = std::time::Instant::now() + EXIT_TIMEOUT;
        let status = loop {
            match server.child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => return Err("the server did not exit within 60 s of SIGTERM".into()),
                Err(e) => return Err(format!("waiting for the server: {e}")),
            }
        };
        let all1 = Io::read(Path::new("/proc/self/io"))?;
        let own1 = Io::own_threads()?;
        // What the reaping added: the server's lifetime total.
        let total = all1.minus(all0).minus(own1.minus(own0));
        let after_live = total.minus(server_live);
        Ok((server, after_live, status.to_string()))
    })
    .await
}

pub async fn mode_diskio(ctx: Arc<Ctx>, a: &Args, server: Option<Server>) -> Result<Value, String> {
    let server = server.ok_or(
        "diskio starts its own server (no --addr): it reads the server's counters up to its exit",
    )?;
    let pid = server.pid.to_string();
    let db_path = server
        .dir
        .as_ref()
        .map(|d| d.path().join("data").join(DB_FILE))
        .ok_or("the server has no data directory of ours")?;
    let s = a.senders.unwrap_or(10);
    let n = a.clients.unwrap_or(s);
    if s == 0 || s > n {
        return Err("--senders must be 1..=clients".into());
    }
    let closed = match (a.rate, a.outstanding) {
        (Some(_), None) => false,
        (None, Some(k)) if k > 0 => true,
        _ => {
            return Err(
                "diskio needs exactly one of --rate MSGS_PER_S or --outstanding K (K >= 1)".into(),
            );
        }
    };
    let size = check_size(a.size.unwrap_or_else(|| default_size(&ctx)))?;
    let (ack_tx, mut ack_rx) = ack_channels(s, closed);
    let (mut clients, _) = connect_all(&ctx, 0..n, |i| {
        (true, (i < s).then_some(i), ack_tx.get(i).cloned().flatten())
    })
    .await?;
    drop(ack_tx);
    settle(Duration::from_millis(500), Duration::from_secs(60)).await;

    // The setup's writes into the database file, so that the window starts with an empty WAL.
    let checkpoint_path = db_path.clone();
    smol::unblock(move || {
        let conn = rusqlite::Connection::open(&checkpoint_path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
    })
    .await
    .map_err(|e| format!("checkpoint before the window: {e}"))?;
    Timer::after(Duration::from_secs_f64(a.settle)).await;
    let file0 = std::fs::metadata(&db_path).map(|m| m.len()).unwrap_or(0);
    let io0 = Io::of_pid(&pid)?;
    let acks0 = G.acks.load(Relaxed);

    let dur = (a.duration * 1e9) as u64;
    let t0 = now_ns() + 200_000_000;
    G.send_end.store(t0 + dur, Relaxed);
    let plan = Arc::new(Plan {
        nsenders: s,
        rate: a.rate,
        outstanding: a.outstanding.unwrap_or(1),
        size,
        t0,
    });
    log_line(&format!(
        "sending for {}s: {s} senders, {}, content {size} B, sync {}",
        a.duration,
        match a.rate {
            Some(r) => format!("{r} msg/s in total"),
            None => format!("{} outstanding each", plan.outstanding),
        },
        a.sync
    ));
    let progress = spawn_progress(&ctx);
    let sa = snap(&ctx);
    let senders: Vec<_> = (0..s)
        .map(|i| {
            let tx = clients[i].tx.take().ok_or("sender without a socket")?;
            Ok(ctx
                .ex
                .spawn(word_sender(i, tx, plan.clone(), ack_rx[i].take())))
        })
        .collect::<Result<_, String>>()?;
    let chat: ChatResult = join_senders(senders).await;
    let total_sent: u64 = chat.sent.iter().sum();
    drain(total_sent * n as u64).await;
    let sb = snap(&ctx);
    drop(progress);
    let acked = G.acks.load(Relaxed) - acks0;
    let io_live = Io::of_pid(&pid)?.minus(io0);

    G.shutting_down.store(true, Relaxed);
    log_line("stopping the server (SIGTERM) …");
    let (server, io_shutdown, exit_status) = stop_and_count(server).await?;
    let io_all = io_live.plus(io_shutdown);
    let st = smol::unblock(move || stored(&db_path)).await?;
    drop(server);

    let refs: Vec<&Client> = clients.iter().collect();
    let m = merge_stats(&refs, &chat.sent);
    let acked_f = acked.max(1) as f64;
    let btree_json: Vec<Value> = st
        .btrees
        .iter()
        .filter(|b| per_message_btree(&b.name))
        .map(|b| {
            json!({
                "name": b.name,
                "pages": b.pages,
                "cells": b.cells,
                "payload_per_message": r3(b.payload as f64 / st.messages.max(1) as f64),
                "bytes_per_message": r3(b.bytes as f64 / st.messages.max(1) as f64),
            })
        })
        .collect();
    let msgs = st.messages.max(1) as f64;
    let row = st
        .btrees
        .iter()
        .find(|b| b.name == "messages")
        .map(|b| b.payload as f64 / msgs)
        .unwrap_or(0.0);
    let indexes_payload: u64 = st
        .btrees
        .iter()
        .filter(|b| per_message_btree(&b.name) && b.name != "messages")
        .map(|b| b.payload)
        .sum();
    let growth = st.file_bytes.saturating_sub(file0) as f64 / acked_f;
    let per_msg = io_all.write_bytes as f64 / acked_f;
    let mut v = json!({
        "mode": "diskio",
        "sync": a.sync,
        "loop": if closed { "closed" } else { "open" },
        "rate": a.rate,
        "outstanding": a.outstanding,
        "senders": s,
        "clients": n,
        "duration_s": a.duration,
        "content_bytes": size,
        "acked": acked,
        "window": window_json(&sa, &sb),
        "io_until_last_ack": io_live.json(),
        "io_shutdown": io_shutdown.json(),
        "per_message_until_last_ack": io_live.per(acked),
        "per_message": io_all.per(acked),
        "server_exit": exit_status,
        "stored": {
            "page_size": st.page_size,
            "messages": st.messages,
            "row_payload_bytes": r3(row),
            "indexes_payload_bytes_per_message": r3(indexes_payload as f64 / msgs),
            "file_bytes": st.file_bytes,
            "file_growth_per_message": r3(growth),
            "btrees": btree_json,
        },
        "write_bytes_per_message": r3(per_msg),
        "ratio_to_row": if row > 0.0 { Some(r3(per_msg / row)) } else { None },
        "ratio_to_file_growth": if growth > 0.0 { Some(r3(per_msg / growth)) } else { None },
        "server_cpu_s_window": sa.server_ticks.zip(sb.server_ticks).map(|(x, y)| r3((y - x) as f64 / clk_tck())),
        "window_s": r3(secs(sb.t - sa.t)),
    });
    extend(&mut v, super::chat_json(&m, &chat, n, frame_avg()));
    extend(&mut v, common_json(&ctx));
    Ok(v)
}
