//! The reader threads: history reads on read-only connections of their own, so that a
//! page of messages never waits behind a commit.
//!
//! Reads go to the first reader while it is free. The others, the helpers, are woken only
//! when a read comes while the first is busy (or finds more waiting behind the one it
//! took): a heavy read keeps one thread while another answers, and a server under a light
//! load keeps one connection open, with its page cache of up to 512 KiB, where reads
//! spread over every thread would keep one per thread. A reader without a read for
//! [`READER_IDLE`] closes its connection and opens it again when reads come.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::thread;
use std::time::Duration;

use futures_lite::FutureExt;
use smol::Timer;
use smol::channel::{Receiver, Sender, bounded};

use super::read_budget::ReadBudget;
use super::{Db, StoreError};

/// How long a reader keeps its connection without a read to run. Then it closes it: an
/// idle server does not keep a connection's lookaside, parsed schema and page cache
/// (about 100 KiB before a page of history is cached, up to 0.6 MiB after). The next read
/// opens it again (well under a millisecond; the pages come from the OS cache).
pub(super) const READER_IDLE: Duration = Duration::from_secs(10);

/// A read runs on a reader thread, given its connection or why it could not be opened.
pub(super) type ReadJob = Box<dyn FnOnce(Result<&Db, StoreError>) + Send>;

/// Where reads are sent; lives on the executor thread.
#[derive(Clone)]
pub(super) struct Reads {
    jobs: Sender<ReadJob>,
    /// A token wakes one helper; at most one waits per helper.
    wake: Sender<()>,
    /// The first reader is running a read.
    first_busy: Arc<AtomicBool>,
}

/// The thread pool is gone.
pub(super) struct Stopped;

impl Reads {
    /// Starts a thread for each of `readers`, the first of them the one reads go to first.
    pub(super) fn spawn(readers: Vec<ReadConn>, queue: usize) -> std::io::Result<Reads> {
        let (jobs, rx) = bounded::<ReadJob>(queue);
        let (wake, woken) = bounded::<()>(readers.len().saturating_sub(1).max(1));
        let first_busy = Arc::new(AtomicBool::new(false));
        for (i, conn) in readers.into_iter().enumerate() {
            let pool = Pool {
                jobs: rx.clone(),
                wake: wake.clone(),
                first_busy: first_busy.clone(),
            };
            let woken = woken.clone();
            thread::Builder::new()
                .name(format!("storage-read-{i}"))
                .spawn(move || {
                    if i == 0 {
                        pool.run_first(conn);
                    } else {
                        pool.run_helper(conn, woken);
                    }
                })?;
        }
        Ok(Reads {
            jobs,
            wake,
            first_busy,
        })
    }

    /// Queues `job` (waiting for room), and wakes a helper if the first reader is busy.
    pub(super) async fn send(&self, job: ReadJob) -> Result<(), Stopped> {
        self.jobs.send(job).await.map_err(|_| Stopped)?;
        // Pairs with the fence in `Pool::took`: either this sees the first reader busy,
        // or it sees this job waiting behind the one it took.
        fence(Ordering::SeqCst);
        if self.first_busy.load(Ordering::SeqCst) {
            let _ = self.wake.try_send(());
        }
        Ok(())
    }
}

/// What every reader thread shares.
struct Pool {
    jobs: Receiver<ReadJob>,
    wake: Sender<()>,
    first_busy: Arc<AtomicBool>,
}

impl Pool {
    /// The first reader: takes every read it can.
    fn run_first(&self, mut conn: ReadConn) {
        while let Some(job) = conn.next(&self.jobs) {
            self.first_busy.store(true, Ordering::SeqCst);
            self.took();
            conn.run(job);
            self.first_busy.store(false, Ordering::SeqCst);
        }
    }

    /// A helper: woken, it takes reads while the first reader is busy or more than one is
    /// waiting. (A read that comes just as the first reader finishes wakes a helper too;
    /// the first reader takes it.)
    fn run_helper(&self, mut conn: ReadConn, woken: Receiver<()>) {
        while conn.next(&woken).is_some() {
            while self.first_busy.load(Ordering::SeqCst) || self.jobs.len() > 1 {
                let Ok(job) = self.jobs.try_recv() else {
                    break;
                };
                self.took();
                conn.run(job);
            }
        }
    }

    /// After taking a read: more waiting behind it go to a helper.
    fn took(&self) {
        fence(Ordering::SeqCst);
        if !self.jobs.is_empty() {
            let _ = self.wake.try_send(());
        }
    }
}

/// A reader thread's connection: open, or (after [`READER_IDLE`] without reads, or before
/// the first) closed, to be opened from `file` when a read comes.
pub(super) struct ReadConn {
    /// `None` for a database in memory: its connection is never closed.
    file: Option<PathBuf>,
    open: Option<Opened>,
    /// [`READER_IDLE`], shorter in tests.
    idle: Duration,
}

struct Opened {
    db: Db,
    budget: ReadBudget,
}

impl Opened {
    fn new(db: Db) -> Opened {
        let budget = ReadBudget::install(db.conn());
        Opened { db, budget }
    }
}

impl ReadConn {
    /// A reader of the database `db` is connected to, open from the start.
    pub(super) fn open(db: Db) -> ReadConn {
        ReadConn {
            file: db.file(),
            open: Some(Opened::new(db)),
            idle: READER_IDLE,
        }
    }

    /// A reader of `file` that opens it for its first read.
    pub(super) fn lazy(file: PathBuf) -> ReadConn {
        ReadConn {
            file: Some(file),
            open: None,
            idle: READER_IDLE,
        }
    }

    /// The same, closing its connection after `idle` without a read.
    #[cfg(test)]
    pub(super) fn idle_after(self, idle: Duration) -> ReadConn {
        ReadConn { idle, ..self }
    }

    /// The next message of `rx`; closes the connection when none comes for `idle`.
    fn next<T>(&mut self, rx: &Receiver<T>) -> Option<T> {
        if self.open.is_none() || self.file.is_none() {
            return rx.recv_blocking().ok();
        }
        // The common case under load, without a timer.
        if let Ok(job) = rx.try_recv() {
            return Some(job);
        }
        let timed = smol::block_on(async { Some(rx.recv().await.ok()) }.or(async {
            Timer::after(self.idle).await;
            None
        }));
        match timed {
            Some(job) => job,
            None => {
                self.open = None;
                // The connection's memory was freed on this thread's arena.
                crate::memory::trim();
                rx.recv_blocking().ok()
            }
        }
    }

    /// The open connection, opened now if it is closed.
    fn get(&mut self) -> Result<&Opened, StoreError> {
        if self.open.is_none() {
            let file = self.file.as_deref().ok_or(StoreError::Stopped)?;
            self.open = Some(Opened::new(Db::open_reader_file(file)?));
        }
        self.open.as_ref().ok_or(StoreError::Stopped)
    }

    /// Runs `job` in its own read transaction (one snapshot for all its queries) and
    /// within its time budget.
    fn run(&mut self, job: ReadJob) {
        let opened = match self.get() {
            Ok(opened) => opened,
            Err(e) => {
                log::warn!("cannot open a reader connection to the database: {e}");
                job(Err(e));
                return;
            }
        };
        let db = &opened.db;
        let snapshot = db.begin_read();
        opened.budget.arm();
        job(Ok(db));
        opened.budget.disarm();
        if snapshot.is_ok() {
            db.rollback();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::config::SyncMode;
    use crate::store::db;

    fn job(tx: mpsc::Sender<bool>) -> ReadJob {
        Box::new(move |db| {
            let _ = tx.send(db.is_ok());
        })
    }

    fn lazy(dir: &std::path::Path, idle: Duration) -> ReadConn {
        ReadConn::lazy(dir.join(db::DB_FILE)).idle_after(idle)
    }

    #[test]
    fn an_idle_reader_closes_its_connection_and_opens_it_again() {
        let dir = tempfile::tempdir().unwrap();
        drop(Db::open(dir.path(), SyncMode::Normal).unwrap());
        let mut conn = lazy(dir.path(), Duration::from_millis(20));
        let (tx, rx) = bounded::<ReadJob>(4);
        let (answers, answered) = mpsc::channel();
        // Opened by the first read only.
        tx.send_blocking(job(answers.clone())).unwrap();
        let first = conn.next(&rx).unwrap();
        assert!(conn.open.is_none());
        conn.run(first);
        assert!(conn.open.is_some() && answered.recv().unwrap());
        // A read waiting already is taken at once, the connection kept.
        tx.send_blocking(job(answers.clone())).unwrap();
        let second = conn.next(&rx).unwrap();
        assert!(conn.open.is_some());
        conn.run(second);
        assert!(answered.recv().unwrap());
        // None for longer than `idle`: closed, and opened again for the next.
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            tx.send_blocking(job(answers)).unwrap();
        });
        let third = conn.next(&rx).unwrap();
        assert!(conn.open.is_none());
        conn.run(third);
        assert!(conn.open.is_some() && answered.recv().unwrap());
        late.join().unwrap();
    }

    /// Which reader threads ran the reads `f` sends, by name.
    fn threads_that_ran(
        readers: usize,
        f: impl FnOnce(&Reads, &dyn Fn() -> ReadJob),
    ) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        drop(Db::open(dir.path(), SyncMode::Normal).unwrap());
        let conns = (0..readers)
            .map(|_| lazy(dir.path(), READER_IDLE))
            .collect();
        let reads = Reads::spawn(conns, 16).unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let make = || -> ReadJob {
            let tx = tx.clone();
            Box::new(move |_| {
                let name = thread::current().name().unwrap_or("").to_string();
                let _ = tx.send(name);
            })
        };
        f(&reads, &make);
        drop(tx);
        rx.iter().collect()
    }

    /// `inner`, and a receiver told when it has run.
    fn answered(inner: ReadJob) -> (ReadJob, mpsc::Receiver<()>) {
        let (done, finished) = mpsc::channel();
        let job: ReadJob = Box::new(move |db| {
            inner(db);
            let _ = done.send(());
        });
        (job, finished)
    }

    #[test]
    fn reads_one_after_another_all_go_to_the_first_reader() {
        let ran = threads_that_ran(3, |reads, make| {
            for _ in 0..20 {
                let (job, finished) = answered(make());
                smol::block_on(reads.send(job)).ok().unwrap();
                finished.recv().unwrap();
                // As a client's next request would come: after the first reader is done.
                while reads.first_busy.load(Ordering::SeqCst) {
                    thread::yield_now();
                }
            }
        });
        assert_eq!(ran.len(), 20);
        assert!(ran.iter().all(|name| name == "storage-read-0"), "{ran:?}");
    }

    #[test]
    fn a_read_sent_while_the_first_reader_is_busy_goes_to_a_helper() {
        let ran = threads_that_ran(3, |reads, make| {
            let (started, busy) = mpsc::channel();
            let (release, held) = mpsc::channel::<()>();
            let heavy = make();
            let job: ReadJob = Box::new(move |db| {
                let _ = started.send(());
                let _ = held.recv();
                heavy(db);
            });
            smol::block_on(reads.send(job)).ok().unwrap();
            busy.recv().unwrap();
            // Answered while the first reader is still held.
            let (job, finished) = answered(make());
            smol::block_on(reads.send(job)).ok().unwrap();
            finished
                .recv_timeout(Duration::from_secs(10))
                .expect("the small read was answered while the heavy one ran");
            release.send(()).unwrap();
        });
        assert_eq!(ran.len(), 2);
        assert_ne!(ran[0], "storage-read-0", "{ran:?}");
        assert_eq!(ran[1], "storage-read-0", "{ran:?}");
    }

    #[test]
    fn reads_queued_together_are_spread_over_the_helpers() {
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let all_met = Arc::new(AtomicBool::new(true));
        let ran = threads_that_ran(3, |reads, make| {
            // Three reads that each wait for the other two to have started: they meet
            // only if three threads run them at once.
            for _ in 0..3 {
                let (started, all_met) = (started.clone(), all_met.clone());
                let inner = make();
                let job: ReadJob = Box::new(move |db| {
                    started.fetch_add(1, Ordering::SeqCst);
                    let deadline = std::time::Instant::now() + Duration::from_secs(10);
                    while started.load(Ordering::SeqCst) < 3 {
                        if std::time::Instant::now() > deadline {
                            all_met.store(false, Ordering::SeqCst);
                            break;
                        }
                        thread::sleep(Duration::from_millis(1));
                    }
                    inner(db);
                });
                smol::block_on(reads.send(job)).ok().unwrap();
            }
        });
        assert!(all_met.load(Ordering::SeqCst), "{ran:?}");
        let mut names = ran.clone();
        names.sort();
        assert_eq!(
            names,
            ["storage-read-0", "storage-read-1", "storage-read-2"]
        );
    }
}
