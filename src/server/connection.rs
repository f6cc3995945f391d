//! One TCP connection, from the HTTP request to the WebSocket close.
//!
//! A WebSocket connection is one task running four futures at once: the reader
//! (async-tungstenite reads and checks frames; packets are handled one at a time, in
//! order), the writer (drains the outbox and writes the queued frames itself, see
//! [`super::frames`]), a watcher that ends everything when the outbox is killed (slow
//! consumer, idle peer), or a few seconds after a close frame was queued, and the
//! authentication deadline. Each is polled only when its own waker fired
//! ([`super::first_of`]), so a broadcast wakes only the writers. Whichever finishes first
//! ends the connection; the [`Cleanup`] guard then does the presence
//! bookkeeping, even after a panic.
//!
//! The reader reads the socket only while the outbox is below its high-water mark
//! (backpressure, see [`crate::hub::outbox`]), so a client that pipelines requests gets
//! every answer in order. A WebSocket violation of the client gets the close frame
//! RFC 6455 asks for ([`super::violations`]). The connection ends when its close frame has
//! been written; then the server ends its direction of the stream and reads (and drops)
//! whatever still comes until the peer ends its own ([`after_close`]).
//!
//! The connection is plain TCP or TLS (see [`super::transport`]); the same code runs over
//! both. Both sides share the stream. The reader's own writes (tungstenite's pong replies) are
//! captured by [`ReadSide`] and queued on the outbox, so frames never interleave; what it
//! reads passes the [`super::message_gate`] first, which decides about large messages
//! before tungstenite buffers them.

use std::borrow::Cow;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use futures_lite::{AsyncRead, AsyncWrite, AsyncWriteExt, FutureExt, StreamExt};
use futures_rustls::server::TlsStream;
use serde_json::json;
use smol::Timer;
use smol::net::TcpStream;

use super::coalescing::Coalescing;
use super::first_of::first_of;
use super::read_side::{self, ReadSide};
use super::transport::{self, Link};
use super::violations::{self, Violation};
use super::{
    frames, http, media_routes, session_route, tls_page, upload_route, web, webhook_route,
};
use crate::app::App;
use crate::hub::Session;
use crate::hub::outbox::{Outgoing, PRESENCE_WAIT};
use crate::protocol::encode;
use crate::tls::Tls;

/// Bytes read from the socket at a time: most chat packets fit; larger ones take more reads.
/// Every connection keeps this much allocated, so it is small.
const READ_BUFFER: usize = 512;

type Reason = Cow<'static, str>;

/// A WebSocket connection after its upgrade: the reader, writer, watcher and deadline,
/// and the close.
pub type Connected = Pin<Box<dyn Future<Output = ()>>>;

/// Serves one accepted TCP connection: plain, or TLS when its first byte starts a TLS
/// handshake (and TLS is on).
///
/// Two futures, one after the other: the first (boxed by the caller) reads the request and
/// answers it, or upgrades it and returns the second, [`Connected`], which serves the
/// WebSocket connection. Only the second lives as long as the connection, and it holds
/// only what a WebSocket connection needs: no room for the TLS handshake, the request
/// head, the HTTP routes or the upgrade's arguments (an `async fn` keeps room for every
/// argument, and a value it moves on is kept twice), which made a connection's task 1.8 KB
/// larger.
pub async fn serve(
    app: Rc<App>,
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<Rc<Tls>>,
) -> Option<Connected> {
    let limit = Duration::from_secs(app.config.connections.handshake_timeout_seconds);
    // One deadline for everything before the first packet: the first byte, the TLS
    // handshake and the HTTP request head.
    let opened = open(stream, tls.as_deref())
        .or(async {
            Timer::after(limit).await;
            Err(std::io::ErrorKind::TimedOut.into())
        })
        .await;
    match opened {
        Ok(Some(Opened::Plain(stream, request))) => {
            answer(app, stream, peer, request, tls.as_deref()).await
        }
        Ok(Some(Opened::Tls(stream, request))) => {
            answer(app, stream, peer, request, tls.as_deref()).await
        }
        Ok(None) => None,
        Err(e) if crate::tls::client_distrusts_us(&e) => {
            untrusted(&app, peer);
            None
        }
        Err(e) => {
            log::debug!("{peer}: no complete request: {e}");
            None
        }
    }
}

/// Says, at most once a minute, that a device refused our certificate, and what to do.
fn untrusted(app: &App, peer: SocketAddr) {
    thread_local! {
        static LAST: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
    }
    let due = LAST.with(|last| {
        let due = last
            .get()
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        if due {
            last.set(Some(Instant::now()));
        }
        due
    });
    if due {
        log::info!(
            "{peer} does not trust this server's TLS certificate: open {} once on that device \
             (or use http://)",
            crate::tls::trust_url(app.listen_port.get())
        );
    }
}

/// A connection whose request head has been read.
enum Opened {
    Plain(TcpStream, http::Request),
    Tls(Box<TlsStream<TcpStream>>, http::Request),
}

async fn open(mut stream: TcpStream, tls: Option<&Tls>) -> io::Result<Option<Opened>> {
    if let Some(tls) = tls {
        let mut first = [0u8; 1];
        if stream.peek(&mut first).await? == 0 {
            return Ok(None);
        }
        if first[0] == transport::TLS_HANDSHAKE {
            // Boxed, like the stream after it: see `Link for Box<TlsStream>`.
            let mut stream = Box::new(Box::pin(tls.accept(stream)).await?);
            let request = http::read_request(&mut stream).await?;
            return Ok(request.map(|r| Opened::Tls(stream, r)));
        }
    }
    let request = http::read_request(&mut stream).await?;
    Ok(request.map(|r| Opened::Plain(stream, r)))
}

/// Upgrades to WebSocket, or answers the HTTP request and closes.
async fn answer<S: Link + 'static>(
    app: Rc<App>,
    stream: S,
    peer: SocketAddr,
    mut request: http::Request,
    tls: Option<&Tls>,
) -> Option<Connected> {
    let upgrade =
        request.websocket_key.is_some() && request.method == "GET" && request.route() == "/";
    // RFC 6455 §4.4: another version is refused with the one this server speaks.
    let wrong_version = upgrade && !http::speaks_websocket_13(&request);
    if let (Some(key), false, true) = (&request.websocket_key, wrong_version, upgrade) {
        let key = key.clone();
        let cookie = session_route::upgrade_cookie(&app, &request);
        let base_url = request.base_url(S::TRANSPORT.is_tls());
        let rest = std::mem::take(&mut request.rest);
        // The head's strings would otherwise stay allocated as long as the connection.
        drop(request);
        return websocket(app, stream, peer, &key, rest, cookie, base_url).await;
    }
    // Boxed: the request's future is short-lived, but the HTTP routes' state (several KiB:
    // bodies' buffers, the linger buffer) would make every upgrade's allocation larger too.
    Box::pin(http_answer(app, stream, peer, request, tls, wrong_version)).await;
    None
}

/// Answers an HTTP request (not an upgrade) and closes.
async fn http_answer<S: Link>(
    app: Rc<App>,
    mut stream: S,
    peer: SocketAddr,
    request: http::Request,
    tls: Option<&Tls>,
    wrong_version: bool,
) {
    // A peer that does not read its answer is not kept forever.
    let limit = Duration::from_secs(app.config.connections.handshake_timeout_seconds);
    if media_routes::handles(&request) {
        let idle = Duration::from_secs(app.config.connections.idle_timeout_seconds);
        media_routes::answer(&app, &mut stream, &request, idle).await;
        let _ = stream.close().or(timeout(limit)).await;
        return;
    }
    let mut unread_body = false;
    let response = if wrong_version {
        http::Response::upgrade_required()
    } else if session_route::handles(&request) {
        session_route::answer(&app, &mut stream, &request, S::TRANSPORT.is_tls()).await
    } else if webhook_route::handles(&request) {
        let answer = webhook_route::answer(&app, &mut stream, &request).await;
        unread_body = answer.unread_body;
        answer.response
    } else if upload_route::handles(&request) {
        let answer = upload_route::answer(&app, &mut stream, &request, S::TRANSPORT.is_tls()).await;
        unread_body = answer.unread_body;
        answer.response
    } else {
        tls_page::route(tls, &request)
            .unwrap_or_else(|| route(&app, &request, S::TRANSPORT.is_tls()))
    };
    let head_only = request.method == "HEAD";
    let written = async {
        http::write_response(&mut stream, &response, head_only).await?;
        if unread_body {
            linger(&mut stream).await;
        }
        // Ends a TLS stream properly (close_notify), then the socket.
        stream.close().await
    }
    .or(async {
        Timer::after(limit).await;
        Err(io::ErrorKind::TimedOut.into())
    })
    .await;
    if let Err(e) = written {
        log::debug!("{peer}: HTTP answer failed: {e}");
    }
}

async fn timeout<T>(limit: Duration) -> io::Result<T> {
    Timer::after(limit).await;
    Err(io::ErrorKind::TimedOut.into())
}

/// After refusing a request whose body is still coming: reads (and drops) a little more of
/// it, briefly, so that the peer is not reset before it reads the answer. Bounded: at most
/// [`LINGER_BYTES`] within [`LINGER`].
async fn linger<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 4096];
    let mut drained = 0;
    let drain = async {
        while drained < LINGER_BYTES {
            match futures_lite::AsyncReadExt::read(stream, &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
        Ok::<(), io::Error>(())
    };
    let _ = drain.or(timeout(LINGER)).await;
}

/// See [`linger`].
const LINGER_BYTES: usize = 256 * 1024;
const LINGER: Duration = Duration::from_secs(2);

/// Answers an HTTP request that is not a WebSocket upgrade (over plain TCP or TLS alike).
fn route(app: &App, request: &http::Request, tls: bool) -> http::Response {
    match (request.method.as_str(), request.route()) {
        ("OPTIONS", _) => http::Response::no_content(),
        ("GET" | "HEAD", "/info") => {
            http::Response::json("200 OK", app.info(&request.base_url(tls)))
        }
        // The built-in web client: `/` without an upgrade, and any path outside the API.
        ("GET" | "HEAD", path) if !web::is_api_path(path) => web::serve(request),
        _ => http::Response::not_found(),
    }
}

/// Answers the upgrade and returns the WebSocket connection, not started yet.
async fn websocket<S: Link + 'static>(
    app: Rc<App>,
    mut stream: S,
    peer: SocketAddr,
    key: &str,
    rest: Vec<u8>,
    cookie: Option<String>,
    base_url: String,
) -> Option<Connected> {
    if let Err(e) = http::accept_websocket(&mut stream, key).await {
        log::debug!("{peer}: upgrade failed: {e}");
        return None;
    }
    let limits = &app.config.connections;
    // Kernel buffering counts toward what a slow reader may leave unread: keep it small, so
    // that the outbox limit decides.
    if let Err(e) = rustix::net::sockopt::set_socket_send_buffer_size(
        stream.socket(),
        limits.socket_send_buffer_bytes,
    ) {
        log::debug!("{peer}: cannot set the socket send buffer: {e}");
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        // The gate keeps smaller messages (and all before authentication) to
        // max_message_bytes; only what passes it can be this large.
        .max_message_size(Some(limits.max_large_message_bytes))
        .max_frame_size(Some(limits.max_large_message_bytes));
    let session = app.hub.open(peer);
    session_route::remember_cookie(&session, cookie);
    *session.base_url.borrow_mut() = base_url.into();
    let (reading, writing) = stream.split();
    let read_side = ReadSide::new(&app, &session, reading, rest);
    // Boxed: the stream (0.6 KB) is moved into the reader's future, which would otherwise
    // keep it twice (see `serve`).
    let ws =
        Box::new(WebSocketStream::from_raw_socket(read_side, Role::Server, Some(config)).await);
    log::info!(
        "connection {} from {peer} opened ({}{} open)",
        session.id,
        if S::TRANSPORT.is_tls() { "TLS, " } else { "" },
        app.hub.len()
    );
    let cleanup = Cleanup {
        app: app.clone(),
        session: session.clone(),
    };
    session.send(crate::router::handshake(&app, &session));
    Some(Box::pin(connected(
        app, session, ws, writing, peer, cleanup,
    )))
}

/// Serves a WebSocket connection until it ends. Not an `async fn`: its arguments are
/// kept once, as the block's own (see [`serve`]).
#[allow(clippy::manual_async_fn)]
fn connected<H: AsyncRead + AsyncWrite + Unpin + 'static>(
    app: Rc<App>,
    session: Rc<Session>,
    ws: Box<WebSocketStream<ReadSide<H>>>,
    mut writing: H,
    peer: SocketAddr,
    cleanup: Cleanup,
) -> impl Future<Output = ()> {
    async move {
        let ended = {
            let reader = pin!(async { Ended::Other(read_loop(&app, &session, ws).await) });
            let writer = pin!(write_loop(&session, &mut writing));
            let watcher = pin!(async { Ended::Other(watch(&session).await) });
            let deadline = pin!(async { Ended::Other(auth_deadline(&app, &session).await) });
            // Each polled only when woken: a frame queued for this connection polls the writer
            // alone.
            first_of([
                reader as Pin<&mut dyn Future<Output = Ended>>,
                writer,
                watcher,
                deadline,
            ])
            .await
        };
        // The reader (and any packet it was handling) is gone: for everyone else the
        // connection ends here.
        drop(cleanup);
        let reason = match ended {
            Ended::Other(reason) => reason,
            Ended::CloseWritten(reason) => {
                after_close(&mut writing).await;
                reason
            }
        };
        log::info!("connection {} from {peer} closed: {reason}", session.id);
    }
}

/// Closes a connection that has not authenticated within `abuse.auth_timeout_seconds`
/// (1008): it would hold a connection slot for nothing. Never ends for one that has. An
/// attempt under way by then is let finish: after a restart hundreds of logins may queue for
/// the bcrypt threads, and their clients did all they had to in time.
async fn auth_deadline(app: &App, session: &Session) -> Reason {
    let limit = Duration::from_secs(app.config.abuse.auth_timeout_seconds);
    Timer::after(limit).await;
    while session.attempting_auth.get() {
        Timer::after(ATTEMPT_POLL).await;
    }
    if session.is_authenticated() {
        return std::future::pending().await;
    }
    log::info!(
        "connection {} ({}): not authenticated within {}s",
        session.id,
        session.peer,
        limit.as_secs()
    );
    // The watcher ends the connection once the frame is written (or the peer does not take it).
    session.push(Outgoing::Close(1008, "authentication timeout"));
    std::future::pending().await
}

/// How often the authentication deadline looks whether an attempt under way has ended.
const ATTEMPT_POLL: Duration = Duration::from_millis(250);

/// How a connection's three futures ended.
enum Ended {
    /// The close frame was written: the stream is still open.
    CloseWritten(Reason),
    /// Anything else.
    Other(Reason),
}

/// Forgets the connection when its task ends, however it ends.
struct Cleanup {
    app: Rc<App>,
    session: Rc<Session>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        crate::auth::disconnected(&self.app, &self.session);
    }
}

/// After the close frame: ends our direction of the stream (a TLS close_notify first),
/// then reads and drops whatever the peer still sends until it ends its own (RFC 6455
/// §7.1.1). Closing a socket with unread bytes would reset it, and a reset can destroy the
/// close frame before the peer reads it. Both within [`CLOSE_LINGER`].
async fn after_close<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let ends = async {
        if stream.close().await.is_ok() {
            let mut buf = [0u8; 512];
            while let Ok(1..) = futures_lite::AsyncReadExt::read(stream, &mut buf).await {}
        }
    };
    ends.or(async {
        Timer::after(CLOSE_LINGER).await;
    })
    .await;
}

async fn read_loop(
    app: &Rc<App>,
    session: &Rc<Session>,
    mut ws: Box<WebSocketStream<ReadSide<impl AsyncRead + Unpin>>>,
) -> Reason {
    loop {
        // Backpressure: while this connection's replies pile up, its socket is not read.
        session.outbox.readable().await;
        if session.outbox.is_closed() {
            // A close frame is queued: the writer (or the watcher) ends the connection.
            return std::future::pending().await;
        }
        let message = match ws.next().await {
            None => return "closed by the peer".into(),
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                let Some(violation) = Violation::of(&e) else {
                    return format!("protocol error: {e}").into();
                };
                match violation.size {
                    Some((size, max_size)) => log::warn!(
                        "connection {} ({}): message of {size} bytes exceeds {max_size}",
                        session.id,
                        session.peer
                    ),
                    None => log::info!(
                        "connection {} ({}): WebSocket violation: {e}",
                        session.id,
                        session.peer
                    ),
                }
                session.push(Outgoing::Close(violation.code, violation.reason));
                return std::future::pending().await;
            }
        };
        session.last_seen.set(Instant::now());
        let data_len = match &message {
            Message::Text(text) => Some(text.len()),
            Message::Binary(bytes) => Some(bytes.len()),
            _ => None,
        };
        // The start of a large message cut short: its sender has been told already.
        let cut = data_len.is_some() && ws.get_mut().delivered();
        match message {
            _ if cut => {}
            // Boxed: an idle connection's task then does not reserve room for the largest
            // command handler; the box lives only while a packet is handled.
            Message::Text(text) => {
                Box::pin(crate::router::handle_frame(app, session, text.as_str())).await;
                // One packet per turn: a client that sent many at once (the requests of a
                // reconnect, a bot's burst) does not keep everyone else's waiting.
                futures_lite::future::yield_now().await;
            }
            Message::Binary(_) => session.send(encode(&json!({
                "cmd": "error",
                "val": "Binary frames are not supported: send JSON text frames"
            }))),
            Message::Close(frame) => {
                // Answer the close handshake (unless this is the answer to ours); the
                // writer ends the connection once the answer is out.
                let (code, reason) = violations::close_reply(frame.as_ref());
                session.push(Outgoing::Close(code, reason));
                return std::future::pending().await;
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
        if let Some(len) = data_len {
            ws.get_mut().handled(len);
            if len > app.config.connections.max_message_bytes {
                // Boxed: it holds two WebSocket streams at once, room every connection's
                // task would otherwise keep for this rare step.
                *ws = Box::pin(read_side::renew(*ws)).await;
            }
        }
    }
}

/// How long the peer has, once a close frame is queued, to take it (the frame's write is
/// bounded by this), and then to end the connection after it was written.
const CLOSE_LINGER: Duration = Duration::from_secs(5);

/// Ends the connection when its outbox is killed (slow consumer, idle peer), or
/// [`CLOSE_LINGER`] after a close frame was queued if it has not been written by then.
async fn watch(session: &Session) -> Reason {
    let outbox = &session.outbox;
    outbox.closing().await;
    if !outbox.is_killed() {
        async {
            Timer::after(CLOSE_LINGER).await;
        }
        .or(async {
            outbox.killed().await;
        })
        .await;
        outbox.kill("the peer did not take the close frame");
    }
    Cow::Borrowed(outbox.killed().await)
}

/// Batch room a writer keeps between bursts: what a chat's pace fills (a `Vec`'s first
/// allocation holds four).
const BATCH_KEPT: usize = 4;

/// Writes whatever is queued, a batch per system call (plain: one vectored write from the
/// shared frames; TLS: the batch becomes records, then one flush), until a close frame or
/// an error.
async fn write_loop(session: &Rc<Session>, stream: &mut (impl AsyncWrite + Unpin)) -> Ended {
    let mut batch: Vec<Outgoing> = Vec::new();
    let mut coalescing = Coalescing::default();
    loop {
        let Some(first) = session.outbox.next().await else {
            // Killed: say why (resolves at once).
            return Ended::Other(Cow::Borrowed(session.outbox.killed().await));
        };
        let presence = matches!(first, Outgoing::Presence(_));
        batch.push(first);
        if presence && session.outbox.queued() + 1 < frames::BATCH {
            // A presence announcement waits a moment for company (see Outgoing::Presence),
            // unless something urgent is queued or comes meanwhile.
            futures_lite::future::or(session.outbox.urgent_queued(), async {
                smol::Timer::after(PRESENCE_WAIT).await;
            })
            .await;
        }
        // Let the other ready tasks run first, when that pays: frames they queue for this
        // connection go out in the same system call.
        let waiting = session.outbox.queued();
        if coalescing.should_yield(waiting) {
            futures_lite::future::yield_now().await;
            coalescing.yielded(session.outbox.queued() > waiting);
        }
        while batch.len() < frames::BATCH {
            match session.outbox.try_next() {
                Some(item) => batch.push(item),
                None => break,
            }
        }
        let written = match frames::write_batch(stream, &batch).await {
            // A no-op on a plain socket.
            Ok(closing) => stream.flush().await.map(|()| closing),
            Err(e) => Err(e),
        };
        match written {
            Ok(false) => {}
            Ok(true) => {
                let reason = batch.iter().find_map(|i| match i {
                    Outgoing::Close(_, reason) if !reason.is_empty() => Some(*reason),
                    _ => None,
                });
                // Only the answer to the peer's own close frame has no reason.
                return Ended::CloseWritten(Cow::Borrowed(reason.unwrap_or("closed by the peer")));
            }
            Err(e) => return Ended::Other(format!("write failed: {e}").into()),
        }
        batch.clear();
        if batch.capacity() > BATCH_KEPT && session.outbox.queued() == 0 {
            // A burst (the presence storm of a reconnect) filled whole batches; an idle
            // connection should not keep that room (1.3 KB) for the next one.
            batch = Vec::new();
        }
    }
}
