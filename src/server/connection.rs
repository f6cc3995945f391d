//! One TCP connection, from the HTTP request to the WebSocket close.
//!
//! A WebSocket connection is one task running three futures at once: the reader (frames
//! in, one packet handled at a time, in order), the writer (drains the outbox, writes every
//! queued frame, then flushes once) and a watcher that ends everything when the outbox is
//! killed (slow consumer, idle peer). Whichever finishes first ends the connection; the
//! [`Cleanup`] guard then does the presence bookkeeping, even after a panic.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use async_tungstenite::tungstenite::{Bytes, Error as WsError, Message, error::CapacityError};
use futures_lite::{FutureExt, StreamExt};
use futures_util::SinkExt;
use serde_json::json;
use smol::Timer;
use smol::net::TcpStream;

use super::http;
use super::outbox::Outgoing;
use crate::app::App;
use crate::hub::Session;
use crate::protocol::encode;

type Reason = Cow<'static, str>;

/// Serves one accepted TCP connection.
pub async fn serve(app: Rc<App>, mut stream: TcpStream, peer: SocketAddr) {
    let limit = Duration::from_secs(app.config.connections.handshake_timeout_seconds);
    let request = http::read_request(&mut stream)
        .or(async {
            Timer::after(limit).await;
            Err(std::io::ErrorKind::TimedOut.into())
        })
        .await;
    let request = match request {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            log::debug!("{peer}: no complete HTTP request: {e}");
            return;
        }
    };
    let path = request.path.split('?').next().unwrap_or("/");
    let answered = match (request.method.as_str(), path, &request.websocket_key) {
        ("GET", "/", Some(key)) => {
            let key = key.clone();
            return websocket(app, stream, peer, &key, request.rest).await;
        }
        ("OPTIONS", _, _) => http::no_content(&mut stream).await,
        ("GET" | "HEAD", "/info", _) => {
            http::respond(&mut stream, "200 OK", "application/json", &app.info()).await
        }
        ("GET" | "HEAD", "/", None) => {
            let body = "This is an OriginChats server: connect with a WebSocket client (ws://host:port/).\n";
            http::respond(
                &mut stream,
                "400 Bad Request",
                "text/plain; charset=utf-8",
                body,
            )
            .await
        }
        _ => http::not_found(&mut stream).await,
    };
    if let Err(e) = answered {
        log::debug!("{peer}: HTTP answer failed: {e}");
    }
}

async fn websocket(
    app: Rc<App>,
    mut stream: TcpStream,
    peer: SocketAddr,
    key: &str,
    rest: Vec<u8>,
) {
    if let Err(e) = http::accept_websocket(&mut stream, key).await {
        log::debug!("{peer}: upgrade failed: {e}");
        return;
    }
    let limits = &app.config.connections;
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(limits.send_queue_bytes + limits.max_message_bytes)
        .max_message_size(Some(limits.max_message_bytes))
        .max_frame_size(Some(limits.max_message_bytes));
    let ws = WebSocketStream::from_partially_read(stream, rest, Role::Server, Some(config)).await;
    let session = app.hub.open(peer);
    log::info!(
        "connection {} from {peer} opened ({} open)",
        session.id,
        app.hub.len()
    );
    let _cleanup = Cleanup {
        app: app.clone(),
        session: session.clone(),
    };
    session.send(app.handshake(&session));

    let (sender, receiver) = ws.split();
    let reason = read_loop(&app, &session, receiver)
        .or(write_loop(&session, sender))
        .or(async { Cow::Borrowed(session.outbox.killed().await) })
        .await;
    log::info!("connection {} from {peer} closed: {reason}", session.id);
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

type Receiver = async_tungstenite::WebSocketReceiver<TcpStream>;
type Sender = async_tungstenite::WebSocketSender<TcpStream>;

async fn read_loop(app: &Rc<App>, session: &Rc<Session>, mut receiver: Receiver) -> Reason {
    loop {
        let message = match receiver.next().await {
            None => return "closed by the peer".into(),
            Some(Ok(m)) => m,
            Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                log::warn!(
                    "connection {} ({}): message of {size} bytes exceeds {max_size}",
                    session.id,
                    session.peer
                );
                session.push(Outgoing::Close(1009, "message too big"));
                return closing(session).await;
            }
            Some(Err(e)) => return format!("protocol error: {e}").into(),
        };
        session.last_seen.set(Instant::now());
        match message {
            Message::Text(text) => crate::commands::handle_frame(app, session, text.as_str()).await,
            Message::Binary(_) => session.send(encode(&json!({
                "cmd": "error",
                "val": "Binary frames are not supported: send JSON text frames"
            }))),
            Message::Close(_) => return "closed by the peer".into(),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
        if session.outbox.is_closed() {
            return closing(session).await;
        }
    }
}

/// Gives the writer a moment to send a queued close frame.
async fn closing(session: &Session) -> Reason {
    Timer::after(Duration::from_secs(5)).await;
    session.outbox.kill("the peer did not take the close frame");
    "closed by the server".into()
}

async fn write_loop(session: &Rc<Session>, mut sender: Sender) -> Reason {
    loop {
        let Some(first) = session.outbox.next().await else {
            return "killed".into();
        };
        let mut next = Some(first);
        while let Some(item) = next {
            let sent = match item {
                Outgoing::Text(text) => sender.feed(Message::Text(text)).await,
                Outgoing::Ping => sender.feed(Message::Ping(Bytes::new())).await,
                Outgoing::Close(code, reason) => {
                    let frame = CloseFrame {
                        code: CloseCode::from(code),
                        reason: reason.into(),
                    };
                    let _ = sender.send(Message::Close(Some(frame))).await;
                    return Cow::Borrowed(reason);
                }
            };
            if let Err(e) = sent {
                return format!("write failed: {e}").into();
            }
            next = session.outbox.try_next();
        }
        if let Err(e) = sender.flush().await {
            return format!("write failed: {e}").into();
        }
    }
}
