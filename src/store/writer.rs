//! The storage thread's loop: group commit, all or nothing per transaction, and what it
//! does when the disk fails under it.
//!
//! Every waiting job runs in one transaction, each in a savepoint of its own (a job that
//! fails is undone alone), and only the commit answers them. When the disk fills up or
//! turns read-only, SQLite may roll the whole transaction back by itself; a job run after
//! that would write outside any transaction, each statement on its own. So the thread
//! checks after every job that the transaction is still open; if it is not, the batch has
//! failed as a whole: the jobs still waiting run against a connection that refuses every
//! write (`PRAGMA query_only`), and every job of the batch is told the same error. Nothing
//! of a failed batch stays on disk, and the executor, which changes its memory only after
//! the store answered, keeps what it had.
//!
//! A failure is looked at once per batch: SQLite's "full" and "read-only" say it; for an
//! I/O error the thread writes a small file into the data directory to learn why
//! ([`DiskTrouble::of_io`]). The next batch simply tries again, so writes resume by
//! themselves once space is freed. The log says when writes stop and when they work again,
//! once each, not per refused write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smol::channel::Receiver;

use super::error::DiskTrouble;
use super::{BATCH, Db, Job, StoreError};

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// How long without a write before the write connection's page cache is given back.
const WRITER_IDLE: Duration = Duration::from_secs(10);

/// The file written to find out why a write failed (removed at once).
const PROBE: &str = ".write-check";

/// Runs jobs until every sender is gone; each job's answer means "committed" or says why not.
pub(super) fn run(db: Db, rx: Receiver<Job>) {
    let dir = db
        .conn()
        .path()
        .and_then(|p| Path::new(p).parent().map(Path::to_path_buf));
    // Grown by the batches that need it (room for BATCH answers is 18 KiB that an idle
    // server would keep).
    let mut batch: Vec<Job> = Vec::new();
    let mut done: Vec<(Finish, Result<(), StoreError>)> = Vec::new();
    let mut trouble: Option<DiskTrouble> = None;
    let mut cache = IdleCache::new();
    while let Ok(first) = rx.recv_blocking() {
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let changes = db.conn().total_changes();
        let outcome = match run_batch(&db, &mut batch, &mut done) {
            Ok(()) => Ok(()),
            Err(e) => Err(diagnose(e, dir.as_deref())),
        };
        // A batch of reads (the watcher's look at `data_version`) commits on a full disk too.
        let wrote = db.conn().total_changes() > changes;
        cache.after_batch(&db, wrote);
        report(&mut trouble, &outcome, wrote);
        for (finish, released) in done.drain(..) {
            finish(outcome.clone().and(released));
        }
    }
    log::debug!("storage thread stopped");
}

/// The write connection's page cache (up to 512 KiB after a busy hour) given back once
/// nothing was written for [`WRITER_IDLE`]. Looked at after each batch: the server's
/// watcher asks for `data_version` every `storage.watch_interval_ms` (a batch that writes
/// nothing), so no timer is needed, and a timer per wait would wake the executor thread
/// (async-io's reactor) for every message. The next write reads its pages again from the
/// OS cache.
struct IdleCache {
    last_write: Instant,
    released: bool,
}

impl IdleCache {
    fn new() -> IdleCache {
        IdleCache {
            last_write: Instant::now(),
            released: false,
        }
    }

    fn after_batch(&mut self, db: &Db, wrote: bool) {
        if wrote {
            self.last_write = Instant::now();
            self.released = false;
        } else if !self.released && self.last_write.elapsed() >= WRITER_IDLE {
            self.release(db);
        }
    }

    fn release(&mut self, db: &Db) {
        db.release_memory();
        // Freed on this thread's arena.
        crate::memory::trim();
        self.released = true;
    }
}

/// Runs `batch` in one transaction; `done` gets each job's answer and whether its own
/// savepoint held. An error means nothing of the batch was kept.
fn run_batch(
    db: &Db,
    batch: &mut Vec<Job>,
    done: &mut Vec<(Finish, Result<(), StoreError>)>,
) -> Result<(), StoreError> {
    // A job alone in its batch (the usual case at a chat's pace) runs without a savepoint:
    // if it fails, rolling the transaction back undoes it alone. A savepoint makes SQLite
    // copy every page the job changes into its sub-journal first.
    let alone = batch.len() == 1;
    let mut undo = false;
    let mut jobs = batch.drain(..);
    if let Err(e) = db.begin() {
        refuse(db, jobs, done);
        return Err(e);
    }
    while let Some(job) = jobs.next() {
        let savepoint = if alone { Ok(()) } else { db.savepoint() };
        let (ok, finish) = job(db);
        let released = if alone {
            undo = !ok;
            Ok(())
        } else {
            savepoint.and_then(|_| db.release(ok))
        };
        let cause = released.clone().err();
        done.push((finish, released));
        if db.conn().is_autocommit() {
            // SQLite rolled the transaction back by itself (disk full, I/O error).
            refuse(db, jobs, done);
            return Err(cause.unwrap_or(StoreError::Corrupt("SQLite rolled the transaction back")));
        }
    }
    if undo {
        db.rollback();
        return Ok(());
    }
    db.commit().inspect_err(|_| db.rollback())
}

/// Answers `jobs` without letting them write: a job must run to give its answer, so each
/// runs on a connection where every write fails (or, should even that switch fail, inside
/// a transaction that is rolled back), and the batch's error is what it is told.
fn refuse(
    db: &Db,
    jobs: impl Iterator<Item = Job>,
    done: &mut Vec<(Finish, Result<(), StoreError>)>,
) {
    let guarded = db.conn().pragma_update(None, "query_only", true).is_ok();
    for job in jobs {
        if !guarded {
            let _ = db.conn().execute_batch("BEGIN");
        }
        let (_, finish) = job(db);
        if !guarded {
            db.rollback();
        }
        done.push((finish, Ok(())));
    }
    if guarded {
        let _ = db.conn().pragma_update(None, "query_only", false);
    }
}

/// Says what a failed batch's error means for the disk: SQLite's own code when it tells,
/// else what a small write into the data directory reports.
fn diagnose(e: StoreError, dir: Option<&Path>) -> StoreError {
    let StoreError::Sqlite(source) = &e else {
        return e;
    };
    match e.disk_trouble().or_else(|| dir.and_then(probe)) {
        Some(trouble) => StoreError::Disk {
            trouble,
            source: Arc::clone(source),
        },
        None => e,
    }
}

/// Writes, syncs and removes a small file in `dir`; says what kept it from being written.
fn probe(dir: &Path) -> Option<DiskTrouble> {
    let path: PathBuf = dir.join(PROBE);
    let written = std::fs::File::create(&path).and_then(|mut f| {
        f.write_all(&[0u8; 4096])?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(&path);
    written.err().as_ref().and_then(DiskTrouble::of_io)
}

/// Logs when writes stop working because of the disk and when they work again.
fn report(trouble: &mut Option<DiskTrouble>, outcome: &Result<(), StoreError>, wrote: bool) {
    match outcome {
        Ok(()) if !wrote => {}
        Ok(()) => {
            if let Some(was) = trouble.take() {
                log::warn!("storage: writes work again ({was} no longer)");
            }
        }
        Err(e) => match e.disk_trouble() {
            Some(now) if *trouble != Some(now) => {
                *trouble = Some(now);
                log::error!(
                    "storage: {now}: every write is refused (the clients are told so) until \
                     {}; reading goes on ({e})",
                    match now {
                        DiskTrouble::Full => "space is freed in the data directory",
                        DiskTrouble::ReadOnly => "the data directory is writable again",
                    }
                );
            }
            Some(_) => {}
            None => log::error!("storage: a transaction failed: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use serde_json::json;

    use super::*;
    use crate::config::SyncMode;

    #[test]
    fn the_page_cache_is_given_back_after_a_quiet_spell_without_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
        let mut cache = IdleCache::new();
        cache.after_batch(&db, false);
        assert!(!cache.released, "kept right after a write");
        cache.last_write -= WRITER_IDLE;
        cache.after_batch(&db, false);
        assert!(
            cache.released,
            "given back once nothing was written for WRITER_IDLE"
        );
        cache.after_batch(&db, true);
        assert!(!cache.released, "a write starts the count again");
    }

    /// A job that writes the setting `key` (then does `then` with the connection) and
    /// reports its answer on `answers`.
    fn job(
        key: &'static str,
        then: &'static str,
        answers: &mpsc::Sender<(&'static str, bool)>,
    ) -> Job {
        let answers = answers.clone();
        Box::new(move |db: &Db| {
            let wrote = db.set_setting(key, &json!(true));
            if !then.is_empty() {
                let _ = db.conn().execute_batch(then);
            }
            let finish: Finish = Box::new(move |answer: Result<(), StoreError>| {
                let _ = answers.send((key, answer.is_ok()));
            });
            (wrote.is_ok(), finish)
        })
    }

    #[test]
    fn a_failed_job_alone_in_its_batch_keeps_nothing_and_the_next_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
        let (tx, rx) = mpsc::channel();
        // It writes, then fails (as a job whose second statement hits a constraint).
        let answers = tx.clone();
        let failing: Job = Box::new(move |db: &Db| {
            db.set_setting("half", &json!(true)).unwrap();
            let finish: Finish = Box::new(move |answer: Result<(), StoreError>| {
                let _ = answers.send(("half", answer.is_ok()));
            });
            (false, finish)
        });
        let mut done = Vec::new();
        assert!(run_batch(&db, &mut vec![failing], &mut done).is_ok());
        assert!(db.conn().is_autocommit(), "no transaction left open");
        assert_eq!(db.setting("half").unwrap(), None);
        assert!(run_batch(&db, &mut vec![job("d", "", &tx)], &mut done).is_ok());
        for (finish, released) in done.drain(..) {
            finish(released);
        }
        assert_eq!(
            rx.try_iter().collect::<Vec<_>>(),
            [("half", true), ("d", true)]
        );
        assert_eq!(db.setting("d").unwrap(), Some(json!(true)));
    }

    #[test]
    fn a_transaction_sqlite_rolled_back_keeps_nothing_of_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
        let (tx, rx) = mpsc::channel();
        // The second job's ROLLBACK stands for SQLite's own after a full disk.
        let mut batch = vec![
            job("a", "", &tx),
            job("b", "ROLLBACK", &tx),
            job("c", "", &tx),
        ];
        let mut done = Vec::new();
        assert!(run_batch(&db, &mut batch, &mut done).is_err());
        let outcome: Result<(), StoreError> = Err(StoreError::Corrupt("lost"));
        for (finish, released) in done.drain(..) {
            finish(outcome.clone().and(released));
        }
        let answers: Vec<_> = rx.try_iter().collect();
        assert_eq!(answers, [("a", false), ("b", false), ("c", false)]);
        for key in ["a", "b", "c"] {
            assert_eq!(db.setting(key).unwrap(), None, "{key} was kept");
        }
        // The connection writes again in the next batch.
        let mut batch = vec![job("d", "", &tx)];
        assert!(run_batch(&db, &mut batch, &mut done).is_ok());
        for (finish, released) in done.drain(..) {
            finish(released);
        }
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [("d", true)]);
        assert_eq!(db.setting("d").unwrap(), Some(json!(true)));
    }
}
