//! The packet hot path, measured with criterion. Run with `cargo bench --bench dispatch`.
//!
//! - `decode/*`: the envelope and the fields of the packets clients send most;
//! - `hot/*`: decode + permission check + building and encoding the broadcast of
//!   `message_new` and `typing` (no store, no sockets);
//! - `router/*`: a whole frame through `router::handle_frame` — decode, permission check,
//!   rate limiter, handler, encode once, queue on every recipient — with 100 authenticated
//!   sessions in `general` (their outboxes are drained between iterations);
//! - `broadcast/*`: one encoded packet queued on 100 and 1000 recipients;
//! - `ratelimit/check`: one limiter decision.
//!
//! Each group also prints the heap allocations per operation, counted by a wrapping global
//! allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use originchats_server::app::App;
use originchats_server::config::{Config, SyncMode};
use originchats_server::hub::{Session, Target};
use originchats_server::model::{Action, Message, User};
use originchats_server::ops::messages::{Posted, message_new_packet};
use originchats_server::protocol::{Text, decode, encode, fields_fast};
use originchats_server::ratelimit::Limiter;
use originchats_server::router::handle_frame;
use originchats_server::store::{Db, Store};
use serde::Deserialize;
use serde_json::json;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations per call of `f`, averaged over 1000 calls.
fn allocations(mut f: impl FnMut()) -> f64 {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..1000 {
        f();
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / 1000.0
}

const MESSAGE_NEW: &str = r#"{"cmd":"message_new","channel":"general","content":"hello there, how is everyone doing today?","listener":"msg_1732"}"#;
const MESSAGE_NEW_ESCAPED: &str = r#"{"cmd":"message_new","channel":"general","content":"line one\nline \"two\" caf\u00e9","listener":"msg_1733"}"#;
const TYPING: &str = r#"{"cmd":"typing","channel":"general"}"#;
const MESSAGE_EDIT: &str = r#"{"cmd":"message_edit","id":"656e5a5d-d7e1-47dd-b6a2-59adea1bc5dd","channel":"general","content":"fixed typo"}"#;
const MESSAGES_GET: &str =
    r#"{"cmd":"messages_get","channel":"general","start":0,"limit":100,"listener":"h1"}"#;

#[derive(Deserialize)]
#[allow(dead_code)]
struct MessageFields<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    content: Option<Text<'a>>,
    start: Option<i64>,
    limit: Option<i64>,
}

fn decode_packets(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (name, text) in [
        ("message_new", MESSAGE_NEW),
        ("message_new_escaped", MESSAGE_NEW_ESCAPED),
        ("typing", TYPING),
        ("message_edit", MESSAGE_EDIT),
        ("messages_get", MESSAGES_GET),
    ] {
        let run = || {
            let envelope = decode(black_box(text)).map(|e| e.cmd.len());
            let fields =
                fields_fast::<MessageFields>(black_box(text)).map(|m| m.content.map(|c| c.len()));
            black_box((envelope.ok(), fields.ok()));
        };
        println!(
            "decode/{name}: {} heap allocations per packet",
            allocations(run)
        );
        g.bench_function(name, |b| b.iter(run));
    }
    g.finish();
}

/// A server state with `n` authenticated sessions in `general`, no sockets.
fn app_with_sessions(n: usize) -> (Rc<App>, Vec<Rc<Session>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
    let mut directory = db.load_directory().unwrap();
    let reader = Db::open_reader(dir.path()).unwrap();
    let store = Store::start(db, reader).unwrap();
    let mut config = Config::defaults();
    config.rate_limiting.enabled = false;
    for i in 0..n {
        directory.put_user(User::new_local(
            &format!("u{i}"),
            String::new(),
            vec!["user".into()],
        ));
    }
    let media =
        originchats_server::media::files::MediaDir::open(dir.path(), SyncMode::Normal).unwrap();
    let app = App::new(config, directory, store, Default::default(), media);
    let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let sessions: Vec<Rc<Session>> = (0..n)
        .map(|i| {
            let s = app.hub.open(peer);
            app.hub.authenticate(&s, &format!("USR:local_u{i}"));
            s
        })
        .collect();
    (app, sessions, dir)
}

fn drain(sessions: &[Rc<Session>]) {
    for s in sessions {
        while s.outbox.try_next().is_some() {}
    }
}

/// Exactly the CPU work of `message_new` and `typing` without the store: decode, the
/// channel permission check on current roles, building the broadcast, encoding it once.
fn hot_path(c: &mut Criterion) {
    let (app, _sessions, _dir) = app_with_sessions(100);
    let mut g = c.benchmark_group("hot");
    let message_new = || {
        let envelope = decode(black_box(MESSAGE_NEW)).ok();
        let f: MessageFields = fields_fast(black_box(MESSAGE_NEW)).unwrap();
        let dir = app.dir();
        let allowed = dir.can("USR:local_u0", "general", Action::Send);
        let message = Message::new(
            "general",
            "USR:local_u0",
            f.content.as_deref().unwrap_or("").trim().to_string(),
        );
        let packet = message_new_packet(&message, &dir, Posted::ByUser { reply_author: None });
        black_box((envelope.is_some(), allowed, packet));
    };
    let typing = || {
        let envelope = decode(black_box(TYPING)).ok();
        let f: MessageFields = fields_fast(black_box(TYPING)).unwrap();
        let dir = app.dir();
        let allowed = dir.can(
            "USR:local_u0",
            f.channel.as_deref().unwrap_or(""),
            Action::View,
        );
        let packet = originchats_server::commands::typing::packet("general", "USR:local_u0");
        black_box((envelope.is_some(), allowed, packet));
    };
    println!(
        "hot/message_new: {} heap allocations per packet",
        allocations(message_new)
    );
    println!(
        "hot/typing: {} heap allocations per packet",
        allocations(typing)
    );
    g.bench_function("message_new_decode_check_encode", |b| b.iter(message_new));
    g.bench_function("typing_decode_check_encode", |b| b.iter(typing));
    g.finish();
}

fn router(c: &mut Criterion) {
    let mut g = c.benchmark_group("router");
    let (app, sessions, _dir) = app_with_sessions(100);
    let sender = sessions[0].clone();
    let typing = || {
        smol::block_on(handle_frame(&app, &sender, black_box(TYPING)));
        drain(&sessions);
    };
    println!(
        "router/typing_100: {} heap allocations per packet",
        allocations(typing)
    );
    g.bench_function("typing_100_viewers", |b| b.iter(typing));
    // message_new includes its SQLite commit (WAL, synchronous=NORMAL).
    g.bench_function("message_new_100_viewers", |b| {
        b.iter(|| {
            smol::block_on(handle_frame(&app, &sender, black_box(MESSAGE_NEW)));
            drain(&sessions);
        })
    });
    g.bench_function("ping", |b| {
        b.iter(|| {
            smol::block_on(handle_frame(
                &app,
                &sender,
                black_box(r#"{"cmd":"ping","listener":"p"}"#),
            ));
            drain(&sessions[..1]);
        })
    });
    g.finish();
}

fn broadcast(c: &mut Criterion) {
    let mut g = c.benchmark_group("broadcast");
    for n in [100, 1000] {
        let (app, sessions, _dir) = app_with_sessions(n);
        let packet = encode(
            &json!({"cmd": "message_new", "message": {"user": "USR:local_u0", "content": "x".repeat(300)}, "channel": "general", "global": true}),
        );
        let run = || {
            app.broadcast(Target::Viewers("general"), black_box(&packet));
            drain(&sessions);
        };
        println!(
            "broadcast/{n}: {} heap allocations per broadcast",
            allocations(run)
        );
        g.bench_function(format!("encoded_once_to_{n}"), |b| b.iter(run));
    }
    g.finish();
}

fn ratelimit(c: &mut Criterion) {
    let config = Config::defaults().rate_limiting;
    let mut limiter = Limiter::new(config);
    let mut now = 0.0;
    c.bench_function("ratelimit/check", |b| {
        b.iter(|| {
            now += 2.0;
            black_box(limiter.check(black_box("USR:local_u1"), now)).ok();
        })
    });
}

criterion_group!(
    benches,
    decode_packets,
    hot_path,
    router,
    broadcast,
    ratelimit
);
criterion_main!(benches);
