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
mod readers;
pub mod schema;
pub mod session_tokens;
pub mod webhooks;
mod writer;

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::thread;

use smol::channel::{Sender, bounded};

pub use db::Db;
pub use error::StoreError;
use readers::{ReadConn, ReadJob, Reads};

/// Jobs waiting at most; senders wait (asynchronously) beyond that. Each queue keeps room
/// for this many from the start (24 bytes each): as many as a batch takes.
const QUEUE: usize = BATCH;
/// Jobs in one transaction at most.
const BATCH: usize = 256;

/// A job runs on the storage thread and returns what to do once the commit is known.
type Job = Box<dyn FnOnce(&Db) -> (bool, Box<dyn FnOnce(Result<(), StoreError>) + Send>) + Send>;

/// A handle to the storage threads. Cheap to clone; lives on the executor thread.
#[derive(Clone)]
pub struct Store {
    jobs: Sender<Job>,
    reads: Reads,
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

    /// Like [`Store::start`] with one reader thread per connection of `readers`: a heavy
    /// read keeps one of them, the others go on answering (see [`readers`]). A reader idle
    /// for [`readers::READER_IDLE`] closes its connection and opens another to the same
    /// file when reads come again.
    pub fn start_with_readers(db: Db, readers: Vec<Db>) -> std::io::Result<Store> {
        Self::spawn(db, readers.into_iter().map(ReadConn::open).collect())
    }

    /// Like [`Store::start_with_readers`] with `readers` threads that open their
    /// connection to the database in `data_dir` only when the first read comes (the caller
    /// has checked that one opens).
    pub fn start_with_lazy_readers(
        db: Db,
        data_dir: &Path,
        readers: usize,
    ) -> std::io::Result<Store> {
        let file = data_dir.join(db::DB_FILE);
        let readers = (0..readers).map(|_| ReadConn::lazy(file.clone())).collect();
        Self::spawn(db, readers)
    }

    fn spawn(db: Db, readers: Vec<ReadConn>) -> std::io::Result<Store> {
        let (jobs, rx) = bounded::<Job>(QUEUE);
        thread::Builder::new()
            .name("storage".into())
            .spawn(move || writer::run(db, rx))?;
        Ok(Store {
            jobs,
            reads: Reads::spawn(readers, QUEUE)?,
            writes: Rc::default(),
        })
    }

    /// Runs `f` on the reader thread: it sees committed data, and writes nothing.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = bounded(1);
        let job: ReadJob = Box::new(move |db| {
            let _ = tx.try_send(db.and_then(f));
        });
        if self.reads.send(job).await.is_err() {
            return Err(StoreError::Stopped);
        }
        rx.recv().await.unwrap_or_else(|_| Err(StoreError::Stopped))
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::SyncMode;

    #[test]
    fn reads_see_writes_across_a_reopened_connection() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
        let store = Store::spawn(
            db,
            vec![
                ReadConn::lazy(dir.path().join(db::DB_FILE)).idle_after(Duration::from_millis(20)),
            ],
        )
        .unwrap();
        let count = || {
            smol::block_on(store.read(|db| {
                Ok(db
                    .conn()
                    .query_row("SELECT count(*) FROM settings", [], |r| r.get::<_, i64>(0))?)
            }))
            .unwrap()
        };
        let before = count();
        std::thread::sleep(Duration::from_millis(100));
        smol::block_on(store.call(|db| {
            db.conn()
                .execute("INSERT INTO settings (key, value) VALUES ('k', 'v')", [])?;
            Ok(())
        }))
        .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(count(), before + 1);
    }

    #[test]
    fn a_reader_that_cannot_open_answers_with_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
        let store = Store::start_with_lazy_readers(db, &dir.path().join("gone"), 1).unwrap();
        let read = smol::block_on(store.read(|_| Ok(())));
        assert!(matches!(read, Err(StoreError::Open { .. })), "{read:?}");
    }
}
