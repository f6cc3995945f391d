//! The bounded queue of packets waiting to be written to one connection.
//!
//! Everything that sends to a client pushes here and never waits: when a client lets more
//! than the configured number of packets or bytes pile up, it is a *slow consumer* and the
//! outbox is killed, which ends that connection (and nobody else notices). Single-threaded
//! by design: only the executor thread touches it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::task::{Poll, Waker};

use async_tungstenite::tungstenite::Bytes;

use crate::protocol::Encoded;

/// One thing to write.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A packet: written as one text frame.
    Text(Encoded),
    /// A WebSocket ping frame (liveness; browsers answer it by themselves).
    Ping,
    /// Frames the WebSocket reader produced itself (pong and close replies), as bytes.
    Raw(Bytes),
    /// A close frame; the writer stops after it.
    Close(u16, &'static str),
}

impl Outgoing {
    fn cost(&self) -> usize {
        match self {
            Outgoing::Text(t) => t.len(),
            Outgoing::Raw(b) => b.len(),
            _ => 16,
        }
    }
}

/// Queue slots kept after a burst has drained (more are allocated while needed).
const KEEP_SLOTS: usize = 8;

/// Why a push did not queue the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The queue was full: the outbox has been killed as a slow consumer just now.
    SlowConsumer,
    /// The connection is already closing or gone.
    Closed,
}

#[derive(Debug)]
struct Inner {
    queue: VecDeque<Outgoing>,
    bytes: usize,
    max_packets: usize,
    max_bytes: usize,
    closing: bool,
    killed: Option<&'static str>,
    writer: Option<Waker>,
    watcher: Option<Waker>,
}

/// See the module docs.
#[derive(Debug)]
pub struct Outbox {
    inner: RefCell<Inner>,
}

impl Outbox {
    pub fn new(max_packets: usize, max_bytes: usize) -> Outbox {
        Outbox {
            inner: RefCell::new(Inner {
                queue: VecDeque::new(),
                bytes: 0,
                max_packets,
                max_bytes,
                closing: false,
                killed: None,
                writer: None,
                watcher: None,
            }),
        }
    }

    /// Queues a packet, or kills the outbox if the client is not keeping up.
    pub fn push(&self, item: Outgoing) -> Result<(), PushError> {
        let mut inner = self.inner.borrow_mut();
        if inner.closing || inner.killed.is_some() {
            return Err(PushError::Closed);
        }
        let cost = item.cost();
        if inner.queue.len() >= inner.max_packets || inner.bytes + cost > inner.max_bytes {
            drop(inner);
            self.kill("slow consumer: too much unread data queued");
            return Err(PushError::SlowConsumer);
        }
        inner.closing = matches!(item, Outgoing::Close(..));
        inner.bytes += cost;
        inner.queue.push_back(item);
        if let Some(w) = inner.writer.take() {
            w.wake();
        }
        Ok(())
    }

    /// Ends the connection now, dropping whatever is queued.
    pub fn kill(&self, reason: &'static str) {
        let mut inner = self.inner.borrow_mut();
        if inner.killed.is_none() {
            inner.killed = Some(reason);
            inner.queue.clear();
            inner.bytes = 0;
            if let Some(w) = inner.watcher.take() {
                w.wake();
            }
            if let Some(w) = inner.writer.take() {
                w.wake();
            }
        }
    }

    /// Whether the connection is closing or killed (nothing more can be queued).
    pub fn is_closed(&self) -> bool {
        let inner = self.inner.borrow();
        inner.closing || inner.killed.is_some()
    }

    fn pop(inner: &mut Inner) -> Option<Outgoing> {
        let item = inner.queue.pop_front()?;
        inner.bytes -= item.cost();
        if inner.queue.is_empty() && inner.queue.capacity() > KEEP_SLOTS {
            // A burst (e.g. a presence storm) must not leave every idle connection holding
            // a large queue.
            inner.queue.shrink_to(KEEP_SLOTS);
        }
        Some(item)
    }

    /// The next packet to write; `None` once killed.
    pub async fn next(&self) -> Option<Outgoing> {
        poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            if inner.killed.is_some() {
                return Poll::Ready(None);
            }
            match Self::pop(&mut inner) {
                Some(item) => Poll::Ready(Some(item)),
                None => {
                    inner.writer = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// The next packet if one is queued right now.
    pub fn try_next(&self) -> Option<Outgoing> {
        let mut inner = self.inner.borrow_mut();
        if inner.killed.is_some() {
            return None;
        }
        Self::pop(&mut inner)
    }

    /// Resolves with the reason once the outbox is killed.
    pub async fn killed(&self) -> &'static str {
        poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            match inner.killed {
                Some(reason) => Poll::Ready(reason),
                None => {
                    inner.watcher = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::outbound::Utf8Bytes;

    fn text(s: &'static str) -> Outgoing {
        Outgoing::Text(Utf8Bytes::from_static(s))
    }

    #[test]
    fn full_queue_kills_the_outbox() {
        let o = Outbox::new(2, 1000);
        assert!(o.push(text("a")).is_ok());
        assert!(o.push(text("b")).is_ok());
        assert_eq!(o.push(text("c")), Err(PushError::SlowConsumer));
        assert_eq!(o.push(text("d")), Err(PushError::Closed));
        assert!(o.try_next().is_none());
        assert_eq!(
            smol::block_on(o.killed()),
            "slow consumer: too much unread data queued"
        );
    }

    #[test]
    fn byte_budget_counts() {
        let o = Outbox::new(100, 5);
        assert!(o.push(text("abc")).is_ok());
        assert_eq!(o.push(text("abc")), Err(PushError::SlowConsumer));
    }

    #[test]
    fn drains_in_order_and_frees_budget() {
        let o = Outbox::new(2, 1000);
        o.push(text("a")).unwrap();
        o.push(text("b")).unwrap();
        assert!(matches!(smol::block_on(o.next()), Some(Outgoing::Text(t)) if t == "a"));
        o.push(text("c")).unwrap();
        assert!(matches!(o.try_next(), Some(Outgoing::Text(t)) if t == "b"));
        o.push(Outgoing::Close(1000, "bye")).unwrap();
        assert_eq!(o.push(text("late")), Err(PushError::Closed));
    }
}
