//! The socket as tungstenite sees it on one WebSocket connection: reads come from the
//! socket through the [`Gate`] (large messages, see [`super::message_gate`]), writes (pong
//! and close replies) are queued on the outbox for the writer, so frames never interleave.
//!
//! After a large message tungstenite's read buffer would keep that message's allocation
//! (up to `connections.max_large_message_bytes`) for as long as the connection lives:
//! [`renew`] gives the same reader to a fresh tungstenite instead. The gate stops each read
//! at the end of a large message, so the old one holds nothing unread when it goes.

use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::Bytes;
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use futures_lite::{AsyncRead, AsyncWrite};

use super::large_budget::BudgetShare;
use super::message_gate::Gate;
use crate::app::App;
use crate::hub::Session;
use crate::hub::outbox::Outgoing;

/// See the module docs.
pub struct ReadSide<R> {
    /// Moves to the next tungstenite in [`renew`]; never `None` otherwise.
    reader: Option<Reader<R>>,
    session: Rc<Session>,
}

/// What reads go through.
struct Reader<R> {
    stream: R,
    /// Bytes to read before the socket's: what the client sent right after its request
    /// head (read with it), or what a read stopped before (after a large message).
    early: Vec<u8>,
    early_at: usize,
    gate: Gate,
    /// Given back when the reader is dropped, however the connection ends.
    budget: BudgetShare,
}

impl<R> ReadSide<R> {
    /// `early`: bytes already read after the request head.
    pub fn new(app: &Rc<App>, session: &Rc<Session>, stream: R, early: Vec<u8>) -> ReadSide<R> {
        let limits = &app.config.connections;
        ReadSide {
            reader: Some(Reader {
                stream,
                early,
                early_at: 0,
                gate: Gate::new(limits.max_message_bytes, limits.max_large_message_bytes),
                budget: BudgetShare::new(app.clone(), session.clone()),
            }),
            session: session.clone(),
        }
    }

    /// Tungstenite has delivered a data message; true when it is the start of a large
    /// message cut short, to be dropped (its sender has been told).
    pub fn delivered(&mut self) -> bool {
        self.reader.as_mut().is_some_and(|r| r.gate.delivered())
    }

    /// A data message of `len` bytes has been handled: a large one gives its bytes back.
    pub fn handled(&mut self, len: usize) {
        if let Some(r) = self.reader.as_mut() {
            r.budget.handled(len);
        }
    }
}

/// The same reader under a fresh tungstenite, whose buffers are small again. Only right
/// after a large message (the old one then holds no unread byte, no partial message and
/// no pending reply).
pub async fn renew<R: AsyncRead + Unpin>(
    mut ws: WebSocketStream<ReadSide<R>>,
) -> WebSocketStream<ReadSide<R>> {
    let config: WebSocketConfig = *ws.get_config();
    let side = ws.get_mut();
    let fresh = ReadSide {
        reader: side.reader.take(),
        session: side.session.clone(),
    };
    drop(ws);
    WebSocketStream::from_raw_socket(fresh, Role::Server, Some(config)).await
}

impl<R: AsyncRead + Unpin> AsyncRead for ReadSide<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let Some(this) = self.reader.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        // A read that the gate swallows whole is no end of stream: read on.
        loop {
            if let Some(big) = this.gate.refused() {
                return Poll::Ready(Err(big.into_io()));
            }
            if let Some(bad) = this.gate.bad_frame() {
                return Poll::Ready(Err(bad.into_io()));
            }
            let carried = this.gate.carried();
            let whole_header = this.gate.holds_header();
            if buf.len() < carried || (buf.len() == carried && !whole_header) {
                // Tungstenite always offers room for a whole frame header here.
                return Poll::Ready(Err(io::Error::other(
                    "read buffer smaller than a frame header",
                )));
            }
            let room = &mut buf[carried..];
            let from_early = this.early_at < this.early.len();
            let read = if whole_header {
                // A header that waited for the messages before it: judged on its own.
                0
            } else if from_early {
                let early = &this.early[this.early_at..];
                let n = early.len().min(room.len());
                room[..n].copy_from_slice(&early[..n]);
                this.early_at += n;
                n
            } else {
                match Pin::new(&mut this.stream).poll_read(cx, room) {
                    Poll::Ready(Ok(n)) => n,
                    other => return other,
                }
            };
            if read == 0 && !whole_header {
                return Poll::Ready(Ok(0));
            }
            let end = carried + read;
            let filtered = this.gate.filter(&mut buf[..end], &mut this.budget);
            // The unread bytes are the last of those just read (the carried ones were
            // looked at first; a header judged on its own leaves none).
            if from_early {
                this.early_at -= filtered.unread;
            } else if filtered.unread > 0 {
                this.early = buf[end - filtered.unread..end].to_vec();
                this.early_at = 0;
            }
            if this.early_at == this.early.len() && !this.early.is_empty() {
                this.early = Vec::new();
                this.early_at = 0;
            }
            if filtered.kept > 0 {
                // A refusal after these bytes fails the next read.
                return Poll::Ready(Ok(filtered.kept));
            }
        }
    }
}

impl<R> AsyncWrite for ReadSide<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.session
            .push(Outgoing::Raw(Bytes::copy_from_slice(buf)));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
