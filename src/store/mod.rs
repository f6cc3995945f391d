//! Durable storage: one SQLite database in the data directory, owned by one thread.
//!
//! The executor never touches the disk. It sends jobs (closures over [`Db`]) to the storage
//! thread and awaits their answers. The thread takes every job that is waiting, runs them
//! all in one transaction (each in its own savepoint, so one failing job does not undo the
//! others), commits once, and only then answers each job: an answer means "on disk".
//! Many clients' writes arriving together thus cost one commit (group commit). A batch
//! the disk refuses (full, read-only) is kept all or nothing, and writes resume by
//! themselves once it takes them again: see [`writer`].

pub mod attachments;
pub mod backup;
pub mod calls;
pub mod check;
pub mod clean_stop;
pub mod db;
pub mod emojis;
pub mod error;
#[cfg(test)]
mod index_tests;
pub mod mentions;
pub mod messages;
pub mod modlog;
pub mod polls;
pub mod read_budget;
pub mod schema;
pub mod session_tokens;
pub mod webhooks;
mod writer;

use std::cell::Cell;
use std::rc::Rc;
use std::thread;

use smol::channel::{Receiver, Sender, bounded};

pub use db::Db;
pub use error::StoreError;

/// Jobs waiting at most; senders wait (asynchronously) beyond that.
const QUEUE: usize = 1024;
/// Jobs in one transaction at most.
const BATCH: usize = 256;

/// A job runs on the storage thread and returns what to do once the commit is known.
type Job = Box<dyn FnOnce(&Db) -> (bool, Box<dyn FnOnce(Result<(), StoreError>) + Send>) + Send>;

/// A handle to the storage threads. Cheap to clone; lives on the executor thread.
#[derive(Clone)]
pub struct Store {
    jobs: Sender<Job>,
    reads: Sender<Job>,
    writes: Rc<Writes>,
}

/// Counts the writes of this process, so that the watcher for other processes' commits
/// can tell whether a reload raced with one of ours.
#[derive(Default)]
struct Writes {
    /// Started and not yet answered.
    in_flight: Cell<u32>,
    /// Started so far.
    generation: Cell<u64>,
}

impl Store {
    /// Moves `db` onto a new storage thread, and `reader` (a read-only connection to the
    /// same database) onto a reader thread: history reads never wait behind writes.
    pub fn start(db: Db, reader: Db) -> std::io::Result<Store> {
        Self::start_with_readers(db, vec![reader])
    }

    /// Like [`Store::start`] with one reader thread per connection of `readers`, all
    /// taking jobs from one queue: a heavy read keeps one of them, the others go on
    /// answering.
    pub fn start_with_readers(db: Db, readers: Vec<Db>) -> std::io::Result<Store> {
        let (jobs, rx) = bounded::<Job>(QUEUE);
        thread::Builder::new()
            .name("storage".into())
            .spawn(move || writer::run(db, rx))?;
        let (reads, read_rx) = bounded::<Job>(QUEUE);
        for (i, reader) in readers.into_iter().enumerate() {
            let rx = read_rx.clone();
            thread::Builder::new()
                .name(format!("storage-read-{i}"))
                .spawn(move || run_reads(reader, rx))?;
        }
        Ok(Store {
            jobs,
            reads,
            writes: Rc::default(),
        })
    }

    /// Runs `f` on the reader thread: it sees committed data, and writes nothing.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
    {
        Self::submit(&self.reads, f).await
    }

    /// Runs `f` on the storage thread inside a transaction and returns its result once the
    /// transaction is committed. If `f` fails, its changes are rolled back. Counted as a
    /// write of ours (see [`Store::writes_in_flight`]).
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
    {
        let w = &self.writes;
        w.in_flight.set(w.in_flight.get() + 1);
        w.generation.set(w.generation.get() + 1);
        let result = Self::submit(&self.jobs, f).await;
        w.in_flight.set(w.in_flight.get() - 1);
        result
    }

    /// Runs `f` on the storage thread like [`Store::call`], without counting it as a write:
    /// for the watcher's own look at the database (`data_version`, reloading).
    pub async fn probe<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
    {
        Self::submit(&self.jobs, f).await
    }

    /// Whether a write of ours is on its way to the store (a reload must wait for it).
    pub fn writes_in_flight(&self) -> bool {
        self.writes.in_flight.get() > 0
    }

    /// Counts the writes started so far, to tell whether one happened meanwhile.
    pub fn write_generation(&self) -> u64 {
        self.writes.generation.get()
    }

    async fn submit<R, F>(queue: &Sender<Job>, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = bounded(1);
        let job: Job = Box::new(move |db| {
            let result = f(db);
            let ok = result.is_ok();
            let done = Box::new(move |commit: Result<(), StoreError>| {
                let _ = tx.try_send(commit.and(result));
            });
            (ok, done as Box<dyn FnOnce(Result<(), StoreError>) + Send>)
        });
        if queue.send(job).await.is_err() {
            return Err(StoreError::Stopped);
        }
        rx.recv().await.unwrap_or_else(|_| Err(StoreError::Stopped))
    }
}

/// A reader thread: each job runs in its own read transaction (one snapshot for all its
/// queries) and within its time budget.
fn run_reads(db: Db, rx: Receiver<Job>) {
    let budget = read_budget::ReadBudget::install(db.conn());
    while let Ok(job) = rx.recv_blocking() {
        let snapshot = db.begin_read();
        budget.arm();
        let (_, finish) = job(&db);
        budget.disarm();
        if snapshot.is_ok() {
            db.rollback();
        }
        finish(Ok(()));
    }
}
