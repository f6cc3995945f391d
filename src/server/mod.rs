//! The transport: the listener and its connection cap, the heartbeat, the watch for
//! changes made to the store by another process (the admin command line), and the
//! graceful shutdown on SIGTERM or SIGINT ([`shut_down`]).
//!
//! Everything here runs on one thread, in one `smol::LocalExecutor`.

pub mod coalescing;
pub mod connection;
pub mod credentials;
pub mod error;
pub mod first_of;
pub mod frames;
pub mod http;
pub mod large_budget;
pub mod media_routes;
pub mod message_gate;
pub mod per_address;
pub mod read_side;
pub mod session_route;
pub mod tls_page;
pub mod transport;
pub mod upload_route;
pub mod violations;
pub mod web;
pub mod webhook_route;

use std::cell::Cell;
use std::net::{SocketAddr, TcpListener};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_signal::{Signal, Signals};
use futures_lite::{FutureExt, StreamExt};
use serde_json::json;
use smol::{Async, LocalExecutor, Timer};

use crate::app::App;
use crate::config::Config;
use crate::hub::outbox::Outgoing;
use crate::media::files::MediaDir;
use crate::protocol::encode;
use crate::ratelimit::auth_attempts::Host;
use crate::store::backup::{self, DataDirLock};
use crate::store::{Db, Store};
use crate::store::{check, clean_stop};
use crate::tls::Tls;
pub use error::ServerError;
use per_address::PerAddress;
use transport::Refusal;

/// Reader threads (each with its own read-only connection and 512 KiB page cache, open
/// while reads come): a heavy read keeps one, the others keep answering everyone's history.
const READERS: usize = 3;

/// Checks and opens the store in `data_dir`, listens, and serves until SIGTERM or SIGINT
/// (then shuts down gracefully and returns `Ok`). `on_listening` is told the bound
/// address (useful with port 0).
pub fn run(
    config: Config,
    data_dir: &Path,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    // Held until the process ends: one server per data directory.
    let _lock = DataDirLock::take(data_dir).map_err(|e| ServerError::Locked(e.to_string()))?;
    // Before anything writes to it (migrations, the seed, a WAL checkpoint); skipped when the
    // file is as the last clean stop left it.
    if clean_stop::take(data_dir).map_err(ServerError::CleanStop)? {
        log::info!("database unchanged since the last clean stop: not checked again");
    } else {
        let began = Instant::now();
        if let Some(damaged) = check::quick_check(data_dir).map_err(ServerError::Check)? {
            return Err(ServerError::Damaged(damaged));
        }
        log::info!(
            "database checked (PRAGMA quick_check, {} ms): no damage",
            began.elapsed().as_millis()
        );
    }
    // Caught from here on: a signal during the start still shuts down in order.
    let signals = Signals::new([Signal::Term, Signal::Int]).map_err(ServerError::Signals)?;
    let db = Db::open(data_dir, config.storage.sync).map_err(|source| ServerError::OpenData {
        dir: data_dir.to_path_buf(),
        source,
    })?;
    let dir = db.load_directory().map_err(ServerError::ReadDatabase)?;
    let overrides = match db.setting(crate::app::SERVER_OVERRIDES) {
        Ok(Some(serde_json::Value::Object(map))) => map,
        Ok(_) => serde_json::Map::new(),
        Err(e) => return Err(ServerError::ReadDatabase(e)),
    };
    // The directory load read every account's page: nothing needs them cached now.
    db.release_memory();
    // The reader threads open their connections when reads come: one is opened here so
    // that a database that cannot be read refuses to start.
    drop(Db::open_reader(data_dir).map_err(ServerError::OpenReader)?);
    let store = Store::start_with_lazy_readers(db, data_dir, READERS)
        .map_err(ServerError::StorageThread)?;
    let tls = Tls::start(&config.tls, data_dir).map_err(ServerError::Tls)?;
    let addr = config.listen_addr();
    let listener = TcpListener::bind(&addr).map_err(|source| ServerError::Bind {
        addr: addr.clone(),
        source,
    })?;
    // Room for every allowed client to knock at once (a reconnect storm after a restart):
    // with the standard library's 128, the kernel drops the SYNs beyond it and those
    // clients try again only a second later. Linux caps it at net.core.somaxconn.
    let backlog = config.connections.max.clamp(128, 4096) as i32;
    if let Err(e) = rustix::net::listen(&listener, backlog) {
        log::warn!("cannot raise the accept backlog to {backlog}: {e}");
    }
    let listener = Async::new(listener).map_err(|source| ServerError::Listen {
        addr: addr.clone(),
        source,
    })?;
    let local = listener
        .get_ref()
        .local_addr()
        .map_err(ServerError::LocalAddr)?;
    let media =
        MediaDir::open(data_dir, config.storage.sync).map_err(|source| ServerError::OpenMedia {
            dir: data_dir.to_path_buf(),
            source,
        })?;
    let app = App::new(config, dir, store, overrides, media);
    app.listen_port.set(local.port());
    log::info!(
        "listening on {local} ({} mode, {} accounts, up to {} connections)",
        app.config.auth_mode,
        app.dir().user_count(),
        app.config.connections.max
    );
    match &tls {
        Some(tls) => log::info!(
            "TLS on the same port (wss://, https://): {}; the certificate to trust has SHA-256 \
             fingerprint {}; to trust it, open {} once",
            tls.describe,
            tls.fingerprint(),
            crate::tls::trust_url(local.port())
        ),
        None => log::info!("TLS is off (tls.mode): plain ws:// and http:// only"),
    }
    // What the start-up work freed (the check, the schema parses, the directory load's
    // pages) goes back to the system before the first client comes.
    crate::memory::trim();
    on_listening(local);

    let ex = Rc::new(LocalExecutor::new());
    smol::block_on(ex.run(async {
        ex.spawn(heartbeat(app.clone())).detach();
        ex.spawn(watch_store(app.clone())).detach();
        ex.spawn(janitor(app.clone())).detach();
        ex.spawn(app.clone().run_poll_timer()).detach();
        if let Some(dir) = backup_dir(&app.config.storage.backup, data_dir) {
            ex.spawn(backups(app.clone(), data_dir.to_path_buf(), dir))
                .detach();
        }
        if let Some(tls) = &tls {
            ex.spawn(crate::tls::watch_files(tls.clone())).detach();
        }
        let open = Rc::new(Cell::new(0usize));
        let signal = accept_loop(&ex, &app, &listener, tls, &open)
            .or(first_signal(signals))
            .await;
        // Stop accepting: new connections are refused by the kernel from now on.
        drop(listener);
        shut_down(&app, data_dir, &open, signal).await;
    }));
    Ok(())
}

/// How long connections get to see their close frame out before the server stops anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How often the shutdown looks whether every connection has ended.
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);

/// Waits for SIGTERM or SIGINT; returns its name (for the log).
async fn first_signal(mut signals: Signals) -> &'static str {
    match signals.next().await {
        Some(Ok(Signal::Int)) => "SIGINT",
        Some(Ok(_)) => "SIGTERM",
        // The signal stream cannot end or fail on its own; if it ever did, the server
        // would go on without a graceful shutdown, so wait forever rather than stop.
        _ => std::future::pending().await,
    }
}

/// The graceful shutdown: every connection gets the close frame 1001, the server waits
/// (at most [`SHUTDOWN_GRACE`]) for them to end, then for the storage thread to commit
/// every write queued so far: after this, every acknowledged change is on disk.
async fn shut_down(app: &Rc<App>, data_dir: &Path, open: &Rc<Cell<usize>>, signal: &'static str) {
    let sessions = app.hub.sessions();
    log::info!(
        "{signal}: shutting down: closing {} WebSocket connection(s)",
        sessions.len()
    );
    for session in sessions {
        session.push(Outgoing::Close(1001, SHUTTING_DOWN));
    }
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    // Counted in the accept loop's tasks, which signal nothing when they end: look often.
    while open.get() > 0 && Instant::now() < deadline {
        Timer::after(SHUTDOWN_POLL).await;
    }
    if open.get() > 0 {
        log::info!(
            "{} connection(s) still open after {}s: closed without waiting",
            open.get(),
            SHUTDOWN_GRACE.as_secs()
        );
    }
    // Jobs run in order: once this one is answered, every write sent before it committed.
    match app.store.call(|_| Ok(())).await {
        Ok(()) => log::info!("shut down: every write is committed"),
        Err(e) => log::error!("shut down: the last writes could not be committed: {e}"),
    }
    // The database file whole by itself (for a copy, a check), not half in its WAL.
    let dir = data_dir.to_path_buf();
    let stopped = smol::unblock(move || match Db::checkpoint(&dir) {
        // Only a stop that got this far spares the next start its database check.
        Ok(()) => clean_stop::record(&dir).map_err(|e| {
            format!("the clean stop could not be noted (the next start checks the database): {e}")
        }),
        Err(e) => Err(format!(
            "the WAL could not be moved into the database file: {e}"
        )),
    });
    if let Err(e) = stopped.await {
        log::warn!("shut down: {e}");
    }
}

/// The reason of the close frame every client gets at a graceful shutdown (code 1001).
pub const SHUTTING_DOWN: &str = "server shutting down";

/// Where automatic backups go, if they are on.
fn backup_dir(config: &crate::config::Backup, data_dir: &Path) -> Option<PathBuf> {
    if config.directory.trim().is_empty() {
        return None;
    }
    Some(data_dir.join(&config.directory))
}

/// Makes a backup of the database every `storage.backup.interval_hours` (the first one
/// after one interval) and keeps the newest `storage.backup.keep`. The copy runs on a
/// blocking thread with a connection of its own; the server goes on meanwhile.
async fn backups(app: Rc<App>, data_dir: PathBuf, dir: PathBuf) {
    let config = app.config.storage.backup.clone();
    let interval = Duration::from_secs_f64((config.interval_hours * 3600.0).max(1.0));
    log::info!(
        "automatic backups every {}s into {} (keeping {})",
        interval.as_secs(),
        dir.display(),
        config.keep
    );
    loop {
        Timer::after(interval).await;
        let (data_dir, dir) = (data_dir.clone(), dir.clone());
        let keep = config.keep.max(1);
        let done = smol::unblock(move || {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let dest = backup::auto_name(&dir, now);
            let size = backup::backup(&data_dir, &dest).map_err(|e| e.to_string())?;
            let pruned = backup::prune(&dir, keep).map_err(|e| e.to_string())?;
            Ok::<_, String>((dest, size, pruned))
        })
        .await;
        match done {
            Ok((dest, size, pruned)) => log::info!(
                "backup written: {} ({size} bytes; {pruned} old one(s) deleted)",
                dest.display()
            ),
            Err(e) => log::error!("automatic backup failed: {e}"),
        }
    }
}

/// Runs the attachments janitor at start and then every hour.
async fn janitor(app: Rc<App>) {
    loop {
        if let Err(e) = app.sweep_attachments().await {
            log::warn!("attachments janitor: {e}");
        }
        Timer::after(crate::ops::attachments::SWEEP_EVERY).await;
    }
}

async fn accept_loop(
    ex: &Rc<LocalExecutor<'_>>,
    app: &Rc<App>,
    listener: &Async<TcpListener>,
    tls: Option<Rc<Tls>>,
    open: &Rc<Cell<usize>>,
) -> &'static str {
    let refusing = Rc::new(Cell::new(0usize));
    let mut last_refusal_log = Instant::now() - Duration::from_secs(60);
    let mut refused_since_log = 0u64;
    let per_address = Rc::new(PerAddress::default());
    let mut last_address_log = Instant::now() - Duration::from_secs(60);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: wait instead of spinning.
                log::warn!("cannot accept a connection: {e}");
                Timer::after(Duration::from_millis(100)).await;
                continue;
            }
        };
        if open.get() >= app.config.connections.max {
            transport::refuse(ex, stream, tls.is_some(), &refusing, Refusal::Full);
            refused_since_log += 1;
            if last_refusal_log.elapsed() >= Duration::from_secs(10) {
                log::warn!(
                    "refused {refused_since_log} connection(s), latest from {peer}: {} connections are open \
                     (connections.max in the config file)",
                    open.get()
                );
                last_refusal_log = Instant::now();
                refused_since_log = 0;
            }
            continue;
        }
        let per_host = if app.auth.attempts.borrow().exempt(peer.ip()) {
            None
        } else {
            let max = app.config.abuse.connections_per_address;
            match per_address.hold(Host::of(peer.ip()), max) {
                Some(held) => Some(held),
                None => {
                    transport::refuse(
                        ex,
                        stream,
                        tls.is_some(),
                        &refusing,
                        Refusal::TooManyFromAddress,
                    );
                    if last_address_log.elapsed() >= Duration::from_secs(10) {
                        log::warn!(
                            "refused a connection from {}: {max} are open from that address \
                             (abuse.connections_per_address in the config file)",
                            peer.ip()
                        );
                        last_address_log = Instant::now();
                    }
                    continue;
                }
            }
        };
        let _ = stream.get_ref().set_nodelay(true);
        // Let every task that is ready run before taking the next connection: after a
        // restart hundreds arrive at once, and starting them all in one go would queue their
        // set-up ahead of the connected clients' messages.
        smol::future::yield_now().await;
        let stream = smol::net::TcpStream::from(stream);
        open.set(open.get() + 1);
        let guard = (Counted(open.clone()), per_host);
        // Boxed, and freed once the request is answered or upgraded: a WebSocket
        // connection's task then keeps only the WebSocket connection's own state.
        let opening = Box::pin(connection::serve(app.clone(), stream, peer, tls.clone()));
        ex.spawn(async move {
            let _guard = guard;
            let served = AssertUnwindSafe(async move {
                if let Some(connected) = opening.await {
                    connected.await;
                }
            })
            .catch_unwind()
            .await;
            if served.is_err() {
                log::error!("a connection handler from {peer} panicked; the connection was closed, the server goes on");
            }
        })
        .detach();
    }
}

/// Counts a connection until dropped.
struct Counted(Rc<Cell<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Sends `{"cmd":"ping"}` and a WebSocket ping to every connection, and drops the ones
/// that have said nothing for too long.
async fn heartbeat(app: Rc<App>) {
    let c = &app.config.connections;
    let interval = Duration::from_secs(c.ping_interval_seconds);
    let idle = Duration::from_secs(c.idle_timeout_seconds);
    let ping = encode(&json!({"cmd": "ping"}));
    loop {
        Timer::after(interval).await;
        for session in app.hub.sessions() {
            // Silence during an authentication attempt says nothing: the connection's
            // reader waits for the attempt (a login queued for bcrypt after a restart).
            if session.last_seen.get().elapsed() > idle && !session.attempting_auth.get() {
                log::info!(
                    "connection {} ({}): no sign of life for {}s",
                    session.id,
                    session.peer,
                    idle.as_secs()
                );
                session
                    .outbox
                    .kill("idle timeout: the peer stopped answering");
                continue;
            }
            session.send(ping.clone());
            session.push(Outgoing::Ping);
        }
        crate::memory::trim();
    }
}

/// Picks up changes another process (the admin command line) committed to the store:
/// accounts, roles and channels are reloaded, and banned users are disconnected. It asks
/// every `storage.watch_interval_ms`.
async fn watch_store(app: Rc<App>) {
    let store = &app.store;
    let mut seen = store.probe(|db| db.data_version()).await.ok();
    loop {
        Timer::after(Duration::from_millis(app.config.storage.watch_interval_ms)).await;
        let version = store.probe(|db| db.data_version()).await.ok();
        if version == seen || store.writes_in_flight() {
            continue;
        }
        let generation = store.write_generation();
        let Ok(dir) = store.probe(|db| db.load_directory()).await else {
            continue;
        };
        // A write of ours raced with the reload: the snapshot may miss it; try again.
        if store.writes_in_flight() || store.write_generation() != generation {
            continue;
        }
        seen = version;
        log::info!(
            "the database was changed by another process: reloaded accounts, roles and channels"
        );
        app.adopt_external_directory(dir).await;
    }
}
