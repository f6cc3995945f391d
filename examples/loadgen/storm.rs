//! The load tool's reconnect storm (issue 14, item 3): what the server does when every client
//! comes back at once after a restart, against a large history.
//!
//! The store (`--history N` messages in `general`, default 1 000 000, and an account for each
//! chatter and each storm client, hashed at the run's bcrypt cost) is made once in `--store DIR`
//! (default `/tmp/loadgen-storm-N-costC`) and reused by later runs, since at cost 12 the
//! accounts alone take minutes. The messages are written with `Db::insert_message` before the
//! server first runs on it (as the importer writes them: indexes and mentions included); the
//! accounts are registered over WebSocket. A file `storm-ready.json` marks a finished store.
//!
//! A run restarts the server on that store (its start-up time, spawn to listening, and its
//! memory before any client are reported), logs in `--chatters` clients, who chat at `--rate`
//! messages per second in total, and halfway through `--duration` opens `--logins` connections
//! at once, from `--addresses` loopback addresses (default 250: two devices' worth each; the
//! server's per-address limits and bcrypt turns apply to them as to hosts on a LAN; 0: all
//! from 127.0.0.1, which the run exempts from the limits). Each of them does what the
//! official client does on connect: WebSocket upgrade and
//! `handshake`, `login`, then `channels_get`, `users_list`, `users_online`, `roles_list` and
//! `messages_get` of `general`, and counts as done when all five replies are in. The storm's
//! figures: the time until all of them have their history, and each one's time to `ready` and to
//! its history. The chatters' latency is reported per phase (calm, storm, after) by send time,
//! as in `logins`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message as WsMessage;
use originchats_server::config::SyncMode;
use originchats_server::model::Message;
use originchats_server::store::Db;
use serde_json::{Value, json};
use smol::{Executor, Timer, channel};

use super::{
    AUTH_TIMEOUT, Args, Client, Ctx, G, Hist, OPEN_TIMEOUT, PhasedChat, Relaxed, Server,
    authenticate, chat_json, chat_until_event, check_size, common_json, connect_all, default_size,
    drain, extend, frame_avg, join_senders, log_line, merge_stats, next_text, now_ns, open_from,
    r3, rss_anon_kib, secs, settle, sleep_until, snap, spawn_reader, start_server, str_field,
    window_json, with_timeout,
};

/// The run name of the store's accounts (`lgstorm_<i>`), the same in every run.
pub const RUN: &str = "storm";
/// The five requests the official client sends once it is logged in, by reply `cmd`.
const ON_CONNECT: [&str; 5] = [
    "channels_get",
    "users_list",
    "users_online",
    "roles_list",
    "messages_get",
];
/// Messages per write transaction while the history is built.
const BATCH: usize = 10_000;
const READY: &str = "storm-ready.json";
/// Accounts registered (and their connections closed) at a time while the store is made.
const PREPARE_SLICE: usize = 50;

/// The store directory of this run: `--store`, or one per history size and bcrypt cost.
pub fn store_dir(a: &Args, cost: u32) -> PathBuf {
    a.store
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/loadgen-storm-{}-cost{cost}", a.history)))
}

/// Makes the store if it is not there yet: the history first, then the accounts, registered on
/// a server started on it (and stopped again).
pub fn prepare(
    a: &Args,
    ex: &'static Executor<'static>,
    cost: u32,
    accounts: usize,
) -> Result<(), String> {
    let root = store_dir(a, cost);
    let marker = root.join(READY);
    if let Ok(text) = std::fs::read_to_string(&marker) {
        let made: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let ok = made["history"] == json!(a.history)
            && made["bcrypt_cost"] == json!(cost)
            && made["accounts"].as_u64().unwrap_or(0) >= accounts as u64;
        if !ok {
            return Err(format!(
                "{} was made for {made}, not for {} messages, {accounts} accounts at cost {cost}: \
                 pass another --store or remove it",
                root.display(),
                a.history
            ));
        }
        log_line(&format!("reusing the store in {}", root.display()));
        return Ok(());
    }
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    }
    let data = root.join("data");
    copy_files(&history(a.history)?, &data)?;

    let server = start_server(a, accounts + 64, cost, None)?;
    let pre = Arc::new(Ctx {
        addr: server.addr,
        run: RUN.into(),
        nsenders: 0,
        ex,
        pid: None,
        log: None,
        concurrency: a.concurrency,
        existing: 0,
    });
    log_line(&format!(
        "registering {accounts} accounts at bcrypt cost {cost} …"
    ));
    // In slices, each closed once registered: at cost 12 all of them take minutes, longer
    // than an idle client is kept.
    smol::block_on(ex.run(async {
        for from in (0..accounts).step_by(PREPARE_SLICE) {
            let to = (from + PREPARE_SLICE).min(accounts);
            connect_all(&pre, from..to, |_| (false, None, None))
                .await
                .map(drop)?;
        }
        Ok::<(), String>(())
    }))?;
    G.authed.store(0, Relaxed);
    drop(server);
    let made = json!({"history": a.history, "accounts": accounts, "bcrypt_cost": cost});
    std::fs::write(&marker, made.to_string()).map_err(|e| format!("{}: {e}", marker.display()))
}

/// A data directory holding only the history of `n` messages, built once and copied into
/// each store made with that history (the stores of the two bcrypt costs share it).
fn history(n: usize) -> Result<PathBuf, String> {
    let dir = PathBuf::from(format!("/tmp/loadgen-history-{n}"));
    let data = dir.join("data");
    let marker = dir.join(READY);
    if !marker.exists() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
        build_history(&data, n)?;
        std::fs::write(&marker, json!({"history": n}).to_string())
            .map_err(|e| format!("{}: {e}", marker.display()))?;
    }
    Ok(data)
}

/// Copies the files of directory `from` (no subdirectories: a closed store has none that
/// matter) into `to`.
fn copy_files(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.file_type().map_err(|e| e.to_string())?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// `n` messages in `general`: 4–11 words each, by 50 authors, one in 20 a reply.
fn build_history(data: &Path, n: usize) -> Result<(), String> {
    const WORDS: [&str; 16] = [
        "the", "board", "meeting", "is", "tonight", "at", "eight", "bring", "your", "pi", "and",
        "a", "cable", "we", "build", "music",
    ];
    let db = Db::open(data, SyncMode::Normal).map_err(|e| e.to_string())?;
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |k: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % k as u64) as usize
    };
    let started = Instant::now();
    for batch in 0..n.div_ceil(BATCH) {
        db.begin().map_err(|e| e.to_string())?;
        for i in batch * BATCH..((batch + 1) * BATCH).min(n) {
            let words: Vec<&str> = (0..4 + next(8)).map(|_| WORDS[next(WORDS.len())]).collect();
            let mut m = Message {
                id: format!("h{i:08}"),
                channel: "general".into(),
                user_id: format!("USR:history{}", next(50)),
                content: words.join(" "),
                timestamp: 1.7e9 + i as f64 * 0.1,
                extra: Default::default(),
            };
            if i > 0 && next(20) == 0 {
                m.extra.insert(
                    "reply_to".into(),
                    json!({"id": format!("h{:08}", i - 1), "user": format!("USR:history{}", next(50))}),
                );
            }
            db.insert_message(&m).map_err(|e| e.to_string())?;
        }
        db.commit().map_err(|e| e.to_string())?;
        if batch % 10 == 9 {
            log_line(&format!("history: {} of {n} messages", (batch + 1) * BATCH));
        }
    }
    log_line(&format!(
        "history of {n} messages built in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Times of one storm client, in ns since the storm began.
struct Arrival {
    ready: u64,
    history: u64,
    all: u64,
}

/// One storm client: connect, log in, the five requests; then it stays connected, reading.
async fn reconnect(
    ctx: Arc<Ctx>,
    i: usize,
    t0: u64,
    history: usize,
    source: Option<IpAddr>,
) -> Result<(Arrival, Client), String> {
    let mut ws = with_timeout(OPEN_TIMEOUT, "open", open_from(ctx.addr, source)).await?;
    with_timeout(
        AUTH_TIMEOUT,
        "login",
        authenticate(&mut ws, &ctx.name(i), "login"),
    )
    .await?;
    let ready = now_ns() - t0;
    for cmd in ON_CONNECT {
        let pkt = match cmd {
            "messages_get" => json!({"cmd": cmd, "channel": "general"}),
            _ => json!({"cmd": cmd}),
        };
        ws.send(WsMessage::text(pkt.to_string()))
            .await
            .map_err(|e| format!("send {cmd}: {e}"))?;
    }
    let mut pending = ON_CONNECT.to_vec();
    let mut history_at = 0;
    let replies = async {
        while !pending.is_empty() {
            let t = next_text(&mut ws).await?;
            let Some(cmd) = str_field(&t, "cmd") else {
                continue;
            };
            if cmd == "error" || cmd == "auth_error" {
                return Err(format!("{}: {t}", ctx.name(i)));
            }
            let Some(k) = pending.iter().position(|c| *c == cmd) else {
                continue;
            };
            if cmd == "messages_get" {
                check_history(&t, history.min(100))?;
                history_at = now_ns() - t0;
            }
            pending.swap_remove(k);
        }
        Ok::<_, String>(())
    };
    with_timeout(AUTH_TIMEOUT, "replies", replies).await?;
    let all = now_ns() - t0;
    let arrival = Arrival {
        ready,
        history: history_at,
        all,
    };
    Ok((arrival, spawn_reader(&ctx, ws, i, false, None, None)))
}

/// The executor the reconnecting devices run on, with `threads` threads of its own. On the
/// chatters' executor their 500 upgrades at once would queue in front of the chatters' readers,
/// and the tool's own delay would show up as the chatters' latency; real devices do not share
/// a run queue with each other.
fn devices(threads: usize) -> &'static Executor<'static> {
    static DEVICES: OnceLock<&'static Executor<'static>> = OnceLock::new();
    DEVICES.get_or_init(|| {
        let ex: &'static Executor<'static> = Box::leak(Box::new(Executor::new()));
        for i in 0..threads.max(1) {
            // As for the tool's own threads: without them the storm would never start.
            std::thread::Builder::new()
                .name(format!("loadgen-devices-{i}"))
                .stack_size(1 << 20)
                .spawn(move || smol::block_on(ex.run(std::future::pending::<()>())))
                .expect("a thread for the reconnecting devices");
        }
        ex
    })
}

/// The `messages_get` reply holds the newest page of `general`.
fn check_history(reply: &str, expected: usize) -> Result<(), String> {
    let v: Value = serde_json::from_str(reply).map_err(|e| format!("messages_get: {e}"))?;
    let got = v["messages"].as_array().map_or(0, Vec::len);
    // Messages the chatters sent during the run are in the page too, so at least `expected`.
    if got < expected {
        return Err(format!("messages_get gave {got} messages, not {expected}"));
    }
    Ok(())
}

/// `storm`: see the module documentation.
pub async fn mode_storm(ctx: Arc<Ctx>, a: &Args, startup: Startup) -> Result<Value, String> {
    let c = a.chatters.ok_or("storm needs --chatters C")?;
    let rate = a.rate.ok_or("storm needs --rate R")?;
    let l = a.logins.ok_or("storm needs --logins L")?;
    let s = a.senders.unwrap_or(c);
    if s == 0 || s > c {
        return Err("--senders must be 1..=chatters".into());
    }
    let size = check_size(a.size.unwrap_or_else(|| default_size(&ctx)))?;
    let (mut clients, _) = connect_all(&ctx, 0..c, |i| (true, (i < s).then_some(i), None)).await?;
    settle(Duration::from_millis(500), Duration::from_secs(60)).await;
    Timer::after(Duration::from_secs_f64(a.settle)).await;
    let rss_before = ctx.rss();
    let anon_before = ctx.pid.as_deref().and_then(rss_anon_kib);

    let PhasedChat {
        senders,
        progress,
        t_end,
        t_event: t_storm,
        calm_start: sa,
        calm_end: sb,
    } = chat_until_event(
        &ctx,
        &mut clients,
        s,
        (rate, size, a.duration),
        &format!("{l} reconnections"),
    )
    .await;
    log_line(&format!("reconnect storm: {l} clients at once"));
    let (done_tx, done_rx) = channel::unbounded();
    for i in c..c + l {
        let ctx2 = ctx.clone();
        let done = done_tx.clone();
        let history = a.history;
        // Devices on a LAN: 127.0.0.2, .3, … (all this machine), `--addresses` of them.
        let source = (a.addresses > 0).then(|| {
            let k = ((i - c) % a.addresses) as u32 + 2;
            IpAddr::V4(Ipv4Addr::from(0x7f00_0000 | k))
        });
        devices(a.threads)
            .spawn(async move {
                let r = reconnect(ctx2, i, t_storm, history, source).await;
                let _ = done.send(r).await;
            })
            .detach();
    }
    drop(done_tx);
    let (mut ready, mut history, mut all) = (Hist::new(), Hist::new(), Hist::new());
    let mut last_history = 0;
    let mut failures = Vec::new();
    let mut storm_clients = Vec::new();
    while let Ok(r) = done_rx.recv().await {
        match r {
            Ok((t, client)) => {
                ready.record(t.ready / 1000);
                history.record(t.history / 1000);
                all.record(t.all / 1000);
                last_history = last_history.max(t.history);
                storm_clients.push(client);
            }
            Err(e) => failures.push(e),
        }
    }
    let storm_end = now_ns();
    G.bounds[2].store(storm_end, Relaxed);
    let sc = snap(&ctx);
    let rss_after = (ctx.rss(), ctx.pid.as_deref().and_then(rss_anon_kib));
    log_line(&format!(
        "storm over after {:.2}s ({} with their history, {} failed)",
        secs(storm_end - t_storm),
        storm_clients.len(),
        failures.len()
    ));
    let send_end = t_end.max(storm_end + 2_000_000_000);
    G.send_end.store(send_end, Relaxed);
    sleep_until(send_end).await;
    let sd = snap(&ctx);
    let chat = join_senders(senders).await;
    let total_sent: u64 = chat.sent.iter().sum();
    drain(total_sent * c as u64).await;
    drop(progress);
    G.shutting_down.store(true, Relaxed);
    let refs: Vec<&Client> = clients.iter().collect();
    let m = merge_stats(&refs, &chat.sent);
    let (started_in, rss_start, anon_start) = startup;
    let mut v = json!({
        "mode": "storm",
        "history": a.history,
        "bcrypt_cost": a.bcrypt_cost.unwrap_or(4),
        "chatters": c,
        "senders": s,
        "rate": rate,
        "logins": l,
        "source_addresses": a.addresses,
        "duration_s": a.duration,
        "server_start_s": r3(started_in.as_secs_f64()),
        "server_rss_kib_at_start": rss_start,
        "server_rss_anon_kib_at_start": anon_start,
        "server_rss_kib_before_storm": rss_before,
        "server_rss_anon_kib_before_storm": anon_before,
        "server_rss_kib_after_storm": rss_after.0,
        "server_rss_anon_kib_after_storm": rss_after.1,
        "calm": {"latency_ms": m.hists[1].json_ms(), "window": window_json(&sa, &sb)},
        "storm": {"latency_ms": m.hists[2].json_ms(), "window": window_json(&sb, &sc)},
        "after": {"latency_ms": m.hists[3].json_ms(), "window": window_json(&sc, &sd)},
        "reconnect_storm": {
            "ok": storm_clients.len(),
            "failed": failures.len(),
            "failure_samples": &failures[..failures.len().min(3)],
            "all_have_history_s": r3(secs(last_history)),
            "storm_s": r3(secs(storm_end - t_storm)),
            "ready_ms": ready.json_ms(),
            "history_ms": history.json_ms(),
            "all_replies_ms": all.json_ms(),
        },
    });
    extend(&mut v, chat_json(&m, &chat, c, frame_avg()));
    extend(&mut v, common_json(&ctx));
    drop(storm_clients);
    Ok(v)
}

/// How long the server took from spawn to listening, and its VmRSS and RssAnon (KiB) then.
pub type Startup = (Duration, Option<u64>, Option<u64>);

/// The server started on the store for a run, with its [`Startup`] figures.
pub fn start(a: &Args, max_conns: usize, cost: u32) -> Result<(Server, Startup), String> {
    let began = Instant::now();
    let server = start_server(a, max_conns, cost, None)?;
    let started_in = began.elapsed();
    // Its memory once start-up work handed to other threads (the store check) is over.
    smol::block_on(Timer::after(Duration::from_millis(500)));
    let pid = server.pid.to_string();
    let memory = (super::rss_kib(&pid), rss_anon_kib(&pid));
    Ok((server, (started_in, memory.0, memory.1)))
}
