//! A time budget for each read: a reader connection stops a query that runs longer than
//! [`READ_BUDGET`] (SQLite's progress handler), so that one too broad a query (a short
//! search scanning a long history on a slow board) cannot keep a reader thread for long.
//! The client gets [`TOO_BROAD`] instead of an answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// How long one read job may run.
pub const READ_BUDGET: Duration = Duration::from_secs(1);
/// SQLite virtual machine steps between two looks at the clock (about 100 µs).
const STEPS_BETWEEN_CHECKS: i32 = 10_000;
/// The error text a client gets for a read stopped by its budget.
pub const TOO_BROAD: &str = "Query too broad: it took too long, narrow it down";
/// Deadline value meaning "no job running".
const UNARMED: u64 = u64::MAX;

/// The budget of one reader connection.
pub struct ReadBudget {
    epoch: Instant,
    /// Nanoseconds after `epoch` at which the running job is stopped.
    deadline: Arc<AtomicU64>,
}

impl ReadBudget {
    /// Installs the budget's check on `conn`; nothing is stopped until [`ReadBudget::arm`].
    pub fn install(conn: &Connection) -> ReadBudget {
        let epoch = Instant::now();
        let deadline = Arc::new(AtomicU64::new(UNARMED));
        let seen = Arc::clone(&deadline);
        conn.progress_handler(
            STEPS_BETWEEN_CHECKS,
            Some(move || {
                let now = epoch.elapsed().as_nanos().min(u64::MAX as u128 - 1) as u64;
                now > seen.load(Ordering::Relaxed)
            }),
        );
        ReadBudget { epoch, deadline }
    }

    /// Starts the clock for a job.
    pub fn arm(&self) {
        let end = (self.epoch.elapsed() + READ_BUDGET).as_nanos();
        self.deadline
            .store(end.min(u64::MAX as u128 - 1) as u64, Ordering::Relaxed);
    }

    /// Stops the clock (between jobs).
    pub fn disarm(&self) {
        self.deadline.store(UNARMED, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    const ENDLESS: &str =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

    #[test]
    fn an_endless_read_is_stopped_with_a_clear_error() {
        let conn = Connection::open_in_memory().unwrap();
        let budget = ReadBudget::install(&conn);
        budget.arm();
        let started = Instant::now();
        let e: StoreError = conn
            .query_row(ENDLESS, [], |r| r.get::<_, i64>(0))
            .unwrap_err()
            .into();
        let took = started.elapsed();
        assert!(e.is_too_broad(), "{e}");
        assert!(took >= READ_BUDGET && took < READ_BUDGET * 3, "{took:?}");
        budget.disarm();
        let n: i64 = conn.query_row("SELECT 41 + 1", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 42, "the connection answers after a stopped read");
    }

    #[test]
    fn nothing_is_stopped_between_jobs() {
        let conn = Connection::open_in_memory().unwrap();
        let _budget = ReadBudget::install(&conn);
        let n: i64 = conn
            .query_row(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
                 SELECT count(*) FROM c",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 100_000);
    }
}
