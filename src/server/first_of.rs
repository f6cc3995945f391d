//! Running a connection's futures at once, polling each only when its own waker fired.
//!
//! A WebSocket connection is one task running its reader, its writer, its watcher and its
//! authentication deadline together; the first to finish ends the connection. Chained
//! `or`s would poll every one of them whenever any is woken: each frame queued for a
//! connection then also polled its reader (which tries a `recv` on the socket, a system
//! call that finds nothing), its timer and its watcher. At a broadcast to many clients that
//! was most of the per-recipient work. Here each future is polled with a waker of its own
//! that marks it, and a wake-up of the task polls only the marked futures.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// What the futures' wakers share: which of them fired, and the task to wake.
struct Shared {
    woken: AtomicU32,
    task: Mutex<Option<Waker>>,
}

/// The waker handed to one of the futures.
struct Mark {
    shared: Arc<Shared>,
    bit: u32,
}

impl Wake for Mark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.woken.fetch_or(self.bit, Ordering::AcqRel);
        let task = self.shared.task.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(task) = task.as_ref() {
            task.wake_by_ref();
        }
    }
}

/// Resolves with the output of the first of `futures` to finish (at most 32), polling
/// each one only when it is new or its waker fired since its last poll. Futures earlier in
/// the array win when several are ready in the same poll.
pub async fn first_of<T, const N: usize>(mut futures: [Pin<&mut dyn Future<Output = T>>; N]) -> T {
    const { assert!(N <= 32) };
    let shared = Arc::new(Shared {
        // Everything is polled the first time.
        woken: AtomicU32::new(u32::MAX),
        task: Mutex::new(None),
    });
    let wakers: [Waker; N] = std::array::from_fn(|i| {
        Waker::from(Arc::new(Mark {
            shared: shared.clone(),
            bit: 1 << i,
        }))
    });
    std::future::poll_fn(move |cx| {
        {
            let mut task = shared.task.lock().unwrap_or_else(|e| e.into_inner());
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        // A future that wakes itself while it is polled (a yield) sets its bit again,
        // after this swap: it is polled on the next wake-up.
        let woken = shared.woken.swap(0, Ordering::AcqRel);
        for (i, (future, waker)) in futures.iter_mut().zip(&wakers).enumerate() {
            if woken & (1 << i) != 0 {
                if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(waker)) {
                    return Poll::Ready(out);
                }
            }
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::pin::pin;

    /// Counts its polls; ready once `ready` is set, woken through the stored waker.
    struct Probe<'a> {
        polls: &'a Cell<u32>,
        ready: &'a Cell<bool>,
        waker: &'a std::cell::RefCell<Option<Waker>>,
    }

    impl Future for Probe<'_> {
        type Output = &'static str;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
            self.polls.set(self.polls.get() + 1);
            if self.ready.get() {
                return Poll::Ready("probe");
            }
            *self.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[test]
    fn only_the_woken_future_is_polled_again() {
        let (polls, ready, waker) = (Cell::new(0), Cell::new(false), Default::default());
        let (other_polls, other_ready, other_waker) =
            (Cell::new(0), Cell::new(false), Default::default());
        let probe = pin!(Probe {
            polls: &polls,
            ready: &ready,
            waker: &waker,
        });
        let other = pin!(Probe {
            polls: &other_polls,
            ready: &other_ready,
            waker: &other_waker,
        });
        let mut all = pin!(first_of([probe as Pin<&mut dyn Future<Output = _>>, other]));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(all.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            (polls.get(), other_polls.get()),
            (1, 1),
            "both polled at first"
        );
        assert!(all.as_mut().poll(&mut cx).is_pending());
        assert_eq!((polls.get(), other_polls.get()), (1, 1), "nobody woken");
        waker.borrow_mut().take().unwrap().wake();
        assert!(all.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            (polls.get(), other_polls.get()),
            (2, 1),
            "the woken one only"
        );
        other_ready.set(true);
        other_waker.borrow_mut().take().unwrap().wake_by_ref();
        assert_eq!(all.as_mut().poll(&mut cx), Poll::Ready("probe"));
        assert_eq!((polls.get(), other_polls.get()), (2, 2));
    }

    #[test]
    fn a_wake_reaches_the_task() {
        let woke = Arc::new(Flag::default());
        let task = Waker::from(woke.clone());
        let (polls, ready, waker) = (Cell::new(0), Cell::new(false), Default::default());
        let probe = pin!(Probe {
            polls: &polls,
            ready: &ready,
            waker: &waker,
        });
        let mut all = pin!(first_of([probe as Pin<&mut dyn Future<Output = _>>]));
        assert!(
            all.as_mut()
                .poll(&mut Context::from_waker(&task))
                .is_pending()
        );
        assert!(!woke.0.load(Ordering::Acquire));
        ready.set(true);
        waker.borrow_mut().take().unwrap().wake();
        assert!(woke.0.load(Ordering::Acquire), "the task was woken");
        assert_eq!(
            all.as_mut().poll(&mut Context::from_waker(&task)),
            Poll::Ready("probe")
        );
    }

    #[derive(Default)]
    struct Flag(std::sync::atomic::AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::Release);
        }
    }
}
