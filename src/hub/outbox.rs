//! The bounded queue of packets waiting to be written to one connection.
//!
//! Everything that sends to a client pushes here and never waits: when a client lets more
//! than the configured number of packets or bytes pile up, it is a *slow consumer* and the
//! outbox is killed, which ends that connection (and nobody else notices). Single-threaded
//! by design: only the executor thread touches it.
//!
//! The connection's own requests are the exception: the reader asks [`Outbox::readable`]
//! before it reads the next frame, and stops reading the socket while the queue is above
//! its high-water mark (half of either bound) until it is back at the low-water mark (a
//! quarter). A direct reply waits for room ([`Outbox::room_for`]). So a client that
//! pipelines many requests and reads is slowed down by TCP instead of dropped; only what
//! others send (broadcasts, presence, heartbeats) can fill the queue of a client that stops
//! reading, and that client is still a slow consumer.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::Duration;

use async_tungstenite::tungstenite::Bytes;

use crate::protocol::Encoded;

/// One thing to write.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A packet: written as one text frame.
    Text(Encoded),
    /// A presence announcement (`user_connect`, `user_disconnect`): a text frame that may wait
    /// up to [`PRESENCE_WAIT`] for company, so that a burst of them (every login of a
    /// reconnect storm is announced to everyone) costs each client a few writes instead of
    /// one per login. It keeps its place in the queue: anything queued behind it waits for it.
    Presence(Encoded),
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
            Outgoing::Text(t) | Outgoing::Presence(t) => t.len(),
            Outgoing::Raw(b) => b.len(),
            _ => 16,
        }
    }
}

/// How long a presence announcement may wait for other packets to share its write. Long enough
/// to gather a storm's logins, too short for anyone to see the difference.
pub const PRESENCE_WAIT: Duration = Duration::from_millis(25);

/// Queue slots kept after a burst has drained (more are allocated while needed).
const KEEP_SLOTS: usize = 8;

/// Presence announcements held back together at most: the writer goes once this many are
/// queued. Gathering a whole storm's worth would grow every connection's queue past
/// [`KEEP_SLOTS`] at once, and the grown queues' freed blocks stay behind as holes in the heap
/// that no trim gives back (2–3 KB per connection after 500 logins).
const PRESENCE_GATHER: usize = KEEP_SLOTS - 1;

/// Above `1 / HIGH_WATER` of either bound the connection's socket is not read; it is read
/// again at `1 / LOW_WATER` of both. Half a queue stays free for what others send meanwhile.
const HIGH_WATER: usize = 2;
const LOW_WATER: usize = 4;

/// What the reader waits for in the queue.
#[derive(Debug, Clone, Copy)]
enum Need {
    /// The low-water mark ([`Outbox::readable`]).
    LowWater,
    /// Room for one more item of this cost ([`Outbox::room_for`]).
    Room(usize),
}

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
    /// Queued items that are not [`Outgoing::Presence`].
    urgent: usize,
    max_packets: usize,
    max_bytes: usize,
    closing: bool,
    killed: Option<&'static str>,
    writer: Option<Waker>,
    /// The writer, holding back a presence announcement until something urgent is queued
    /// ([`Outbox::urgent_queued`]).
    company: Option<Waker>,
    watcher: Option<Waker>,
    /// Waits for a close frame to be queued (or the kill): see [`Outbox::closing`].
    closer: Option<Waker>,
    /// The reader, waiting for the queue to drain (see [`Need`]).
    reader: Option<(Waker, Need)>,
    /// Set while the queue drains from the high-water mark to the low-water mark.
    draining: bool,
}

impl Inner {
    /// Whether the queue is above `1 / divisor` of either bound.
    fn above(&self, divisor: usize) -> bool {
        self.queue.len() > self.max_packets / divisor || self.bytes > self.max_bytes / divisor
    }

    fn has_room(&self, cost: usize) -> bool {
        self.queue.is_empty()
            || (self.queue.len() < self.max_packets && self.bytes + cost <= self.max_bytes)
    }

    fn ended(&self) -> bool {
        self.closing || self.killed.is_some()
    }

    /// Whether a writer holding presence announcements back should stop waiting: something
    /// urgent is queued, enough announcements are ([`PRESENCE_GATHER`]), or the end came.
    fn company_arrived(&self) -> bool {
        self.urgent > 0 || self.queue.len() >= PRESENCE_GATHER || self.ended()
    }

    /// Wakes the tasks that wait for the end (close queued or killed).
    fn wake_closer(&mut self) {
        if let Some(w) = self.company.take() {
            w.wake();
        }
        if let Some(w) = self.closer.take() {
            w.wake();
        }
        if let Some((w, _)) = self.reader.take() {
            w.wake();
        }
    }
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
                urgent: 0,
                max_packets,
                max_bytes,
                closing: false,
                killed: None,
                writer: None,
                company: None,
                watcher: None,
                closer: None,
                reader: None,
                draining: false,
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
        // An empty queue takes an item larger than the byte bound: it is allocated already,
        // and the bound is about what piles up.
        if !inner.has_room(cost) {
            drop(inner);
            self.kill("slow consumer: too much unread data queued");
            return Err(PushError::SlowConsumer);
        }
        inner.closing = matches!(item, Outgoing::Close(..));
        let urgent = !matches!(item, Outgoing::Presence(_));
        inner.bytes += cost;
        inner.queue.push_back(item);
        if let Some(w) = inner.writer.take() {
            w.wake();
        }
        if urgent {
            inner.urgent += 1;
        }
        if inner.company_arrived() {
            if let Some(w) = inner.company.take() {
                w.wake();
            }
        }
        if inner.closing {
            inner.wake_closer();
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
            inner.urgent = 0;
            if let Some(w) = inner.watcher.take() {
                w.wake();
            }
            if let Some(w) = inner.writer.take() {
                w.wake();
            }
            inner.wake_closer();
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
        if !matches!(item, Outgoing::Presence(_)) {
            inner.urgent -= 1;
        }
        if inner.queue.is_empty() && inner.queue.capacity() > KEEP_SLOTS {
            // A burst (e.g. a presence storm) must not leave every idle connection holding
            // a large queue.
            inner.queue.shrink_to(KEEP_SLOTS);
        }
        let satisfied = match inner.reader {
            Some((_, Need::LowWater)) => !inner.above(LOW_WATER),
            Some((_, Need::Room(cost))) => inner.has_room(cost),
            None => false,
        };
        if satisfied {
            if let Some((w, _)) = inner.reader.take() {
                w.wake();
            }
        }
        Some(item)
    }

    /// Resolves when the connection's socket may be read again: at once while the queue is
    /// below its high-water mark; once above it, when it has drained to the low-water mark
    /// (backpressure, see the module docs). Also resolves once the connection is ending.
    pub async fn readable(&self) {
        poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            if inner.ended() {
                return Poll::Ready(());
            }
            if !inner.draining && inner.above(HIGH_WATER) {
                inner.draining = true;
            }
            if inner.draining && inner.above(LOW_WATER) {
                inner.reader = Some((cx.waker().clone(), Need::LowWater));
                return Poll::Pending;
            }
            inner.draining = false;
            Poll::Ready(())
        })
        .await
    }

    /// Resolves when one more item of `cost` bytes fits in the queue (or the queue is empty,
    /// for an item larger than the bound), so that a reply to the connection's own request
    /// waits instead of overflowing. Also resolves once the connection is ending.
    pub async fn room_for(&self, cost: usize) {
        poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            if inner.ended() || inner.has_room(cost) {
                return Poll::Ready(());
            }
            inner.reader = Some((cx.waker().clone(), Need::Room(cost)));
            Poll::Pending
        })
        .await
    }

    /// Resolves once a close frame is queued or the outbox is killed.
    pub async fn closing(&self) {
        poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            if inner.ended() {
                return Poll::Ready(());
            }
            inner.closer = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Resolves once an item other than a presence announcement is queued, enough
    /// announcements are ([`PRESENCE_GATHER`]), or the connection is ending: the writer's
    /// signal to stop holding a presence announcement back.
    pub async fn urgent_queued(&self) {
        poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            if inner.company_arrived() {
                return Poll::Ready(());
            }
            inner.company = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// The number of items queued (0 once killed).
    pub fn queued(&self) -> usize {
        self.inner.borrow().queue.len()
    }

    /// Whether the outbox has been killed.
    pub fn is_killed(&self) -> bool {
        self.inner.borrow().killed.is_some()
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

    /// Polls `future` once; true when it is ready.
    fn ready_now(future: impl std::future::Future<Output = ()>) -> bool {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(Waker::noop());
        future.as_mut().poll(&mut cx).is_ready()
    }

    #[test]
    fn reading_stops_above_the_high_water_mark_until_the_low_water_mark() {
        let o = Outbox::new(8, 1000);
        for _ in 0..4 {
            o.push(text("a")).unwrap();
        }
        assert!(
            ready_now(o.readable()),
            "at the high-water mark: still readable"
        );
        o.push(text("a")).unwrap();
        assert!(!ready_now(o.readable()), "above it");
        o.try_next();
        o.try_next();
        assert!(!ready_now(o.readable()), "3 left: above the low-water mark");
        o.try_next();
        assert!(ready_now(o.readable()), "2 left: at the low-water mark");
        // Bytes count too.
        let o = Outbox::new(100, 40);
        o.push(text("twenty-one bytes long")).unwrap();
        assert!(!ready_now(o.readable()));
        o.push(Outgoing::Close(1000, "")).unwrap();
        assert!(ready_now(o.readable()), "closing: nothing more to wait for");
    }

    #[test]
    fn presence_waits_for_company_until_something_urgent_or_the_end() {
        let presence = || Outgoing::Presence(Utf8Bytes::from_static("p"));
        let o = Outbox::new(8, 1000);
        assert!(!ready_now(o.urgent_queued()), "empty");
        o.push(presence()).unwrap();
        o.push(presence()).unwrap();
        assert!(!ready_now(o.urgent_queued()), "only presence queued");
        o.push(text("m")).unwrap();
        assert!(ready_now(o.urgent_queued()), "a message is queued");
        let order: Vec<bool> = std::iter::from_fn(|| o.try_next())
            .map(|i| matches!(i, Outgoing::Presence(_)))
            .collect();
        assert_eq!(order, [true, true, false], "presence keeps its place");
        assert!(!ready_now(o.urgent_queued()), "the message has been taken");
        o.push(presence()).unwrap();
        o.push(Outgoing::Ping).unwrap();
        assert!(ready_now(o.urgent_queued()), "a ping is urgent too");
        o.try_next();
        o.try_next();
        o.push(presence()).unwrap();
        o.kill("gone");
        assert!(ready_now(o.urgent_queued()), "killed");
        let o = Outbox::new(8, 1000);
        o.push(presence()).unwrap();
        o.push(Outgoing::Close(1000, "bye")).unwrap();
        assert!(ready_now(o.urgent_queued()), "closing");
    }

    #[test]
    fn presence_gathers_no_more_than_the_queue_keeps() {
        let o = Outbox::new(100, 10_000);
        for _ in 1..PRESENCE_GATHER {
            o.push(Outgoing::Presence(Utf8Bytes::from_static("p")))
                .unwrap();
        }
        assert!(!ready_now(o.urgent_queued()), "one short of a gathering");
        o.push(Outgoing::Presence(Utf8Bytes::from_static("p")))
            .unwrap();
        assert!(ready_now(o.urgent_queued()), "enough gathered: write them");
        assert!(o.inner.borrow().queue.capacity() <= KEEP_SLOTS);
    }

    #[test]
    fn a_reply_waits_for_room_and_a_huge_one_for_an_empty_queue() {
        let o = Outbox::new(2, 10);
        o.push(text("abcdef")).unwrap();
        assert!(ready_now(o.room_for(4)));
        assert!(!ready_now(o.room_for(5)));
        o.push(text("a")).unwrap();
        assert!(!ready_now(o.room_for(1)), "no packet slot left");
        o.try_next();
        assert!(ready_now(o.room_for(1)));
        assert!(!ready_now(o.room_for(50)));
        o.try_next();
        assert!(ready_now(o.room_for(50)), "an empty queue takes anything");
        o.push(text("abcdefghij")).unwrap();
        o.kill("gone");
        assert!(ready_now(o.room_for(50)));
        assert!(ready_now(o.closing()));
    }
}
