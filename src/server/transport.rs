//! What a connection is carried over: plain TCP or TLS on the same port, told apart by the
//! first byte, and how the WebSocket reader and writer share each kind of stream.

use std::cell::{Cell, RefCell};
use std::io::{self, IoSlice, Write};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::{AsyncRead, AsyncWrite, FutureExt};
use futures_rustls::server::TlsStream;
use smol::net::TcpStream;
use smol::{Async, LocalExecutor, Timer};

/// The first byte of a TLS record carrying a handshake message (the ClientHello).
pub const TLS_HANDSHAKE: u8 = 0x16;

/// How the connection is carried; routes use it (e.g. a cookie is `Secure` only on TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Plain,
    Tls,
}

impl Transport {
    pub fn is_tls(self) -> bool {
        self == Transport::Tls
    }
}

/// A stream the HTTP and WebSocket code runs over.
pub trait Link: AsyncRead + AsyncWrite + Unpin + Sized {
    /// One side of the stream after [`Link::split`].
    type Half: AsyncRead + AsyncWrite + Unpin;
    const TRANSPORT: Transport;
    /// The TCP socket underneath (for socket options).
    fn socket(&self) -> &TcpStream;
    /// A reading side and a writing side that may be used at the same time.
    fn split(self) -> (Self::Half, Self::Half);
}

impl Link for TcpStream {
    type Half = TcpStream;
    const TRANSPORT: Transport = Transport::Plain;

    fn socket(&self) -> &TcpStream {
        self
    }

    /// A TCP socket is simply shared: the reader reads, the writer writes (vectored,
    /// straight from the shared frames).
    fn split(self) -> (TcpStream, TcpStream) {
        (self.clone(), self)
    }
}

/// Boxed: a rustls connection is large, and an unboxed one would make every connection's
/// task (plain ones too) reserve room for it.
impl Link for Box<TlsStream<TcpStream>> {
    type Half = Shared<TlsStream<TcpStream>>;
    const TRANSPORT: Transport = Transport::Tls;

    fn socket(&self) -> &TcpStream {
        self.get_ref().0
    }

    fn split(self) -> (Self::Half, Self::Half) {
        let shared = Shared(Rc::new(RefCell::new(*self)));
        (shared.clone(), shared)
    }
}

/// One stream used by two tasks of the same thread. A TLS connection is one rustls state
/// for both directions, so it cannot be cloned like a socket; each poll borrows it for the
/// poll only, so reads and writes interleave record by record. The reading direction only
/// reads the socket and the writing direction only writes it (rustls queues anything a
/// read produces, e.g. a key update reply, for the next write), so each side registers its
/// own readiness waker.
pub struct Shared<S>(Rc<RefCell<S>>);

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<S> Shared<S> {
    fn with<T>(&self, f: impl FnOnce(&mut S) -> Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match self.0.try_borrow_mut() {
            Ok(mut inner) => f(&mut inner),
            // Cannot happen on one thread with polls that do not nest; an error rather
            // than a panic if it ever does.
            Err(_) => Poll::Ready(Err(io::Error::other("stream used re-entrantly"))),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Shared<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.with(|s| Pin::new(s).poll_read(cx, buf))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Shared<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.with(|s| Pin::new(s).poll_write(cx, buf))
    }

    /// Passed through: the whole batch becomes TLS records in one go.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.with(|s| Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|s| Pin::new(s).poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|s| Pin::new(s).poll_close(cx))
    }
}

/// How long a refused connection is given to show what it speaks.
const REFUSAL_WAIT: Duration = Duration::from_millis(500);

/// Refused connections waiting for their first byte at most; beyond, they are just closed.
const MAX_WAITING_REFUSALS: usize = 16;

/// Why a connection is turned away.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// `connections.max` connections are open.
    Full,
    /// `abuse.connections_per_address` connections are open from its address.
    TooManyFromAddress,
}

impl Refusal {
    fn response(self) -> String {
        let (status, body) = match self {
            Refusal::Full => ("503 Service Unavailable", r#"{"error": "Server full"}"#),
            Refusal::TooManyFromAddress => (
                "429 Too Many Requests",
                r#"{"error": "Too many connections from your address"}"#,
            ),
        };
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }
}

/// Turns away a connection: a plain client is told why (HTTP 503 or 429); a TLS client's
/// socket is closed, since plaintext in a TLS stream is only garbage to it. When TLS is on,
/// what the client speaks is known from its first byte: it is usually there already (a
/// client speaks first), otherwise a short, bounded wait decides.
pub fn refuse(
    ex: &LocalExecutor<'_>,
    stream: Async<std::net::TcpStream>,
    tls_on: bool,
    waiting: &Rc<Cell<usize>>,
    why: Refusal,
) {
    if !tls_on {
        write_refusal(stream.get_ref(), why);
        return;
    }
    if waiting.get() >= MAX_WAITING_REFUSALS {
        return;
    }
    waiting.set(waiting.get() + 1);
    let waiting = waiting.clone();
    ex.spawn(async move {
        let mut first = [0u8; 1];
        let peeked = stream
            .peek(&mut first)
            .or(async {
                Timer::after(REFUSAL_WAIT).await;
                Ok(0)
            })
            .await;
        if !matches!(peeked, Ok(1) if first[0] == TLS_HANDSHAKE) {
            write_refusal(stream.get_ref(), why);
        }
        waiting.set(waiting.get() - 1);
    })
    .detach();
}

/// Tells a plain client why it cannot come in, without waiting for it.
fn write_refusal(mut stream: &std::net::TcpStream, why: Refusal) {
    let _ = stream.write(why.response().as_bytes());
}
