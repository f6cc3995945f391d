//! Why a storage operation failed. SQLite's own error is kept (not flattened to text), so a
//! caller can tell a constraint violation (a name taken meanwhile) from a broken disk.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A storage failure.
#[derive(Debug, Clone)]
pub enum StoreError {
    /// SQLite refused or failed. Shared: one failed commit answers every job of its batch.
    Sqlite(Arc<rusqlite::Error>),
    /// The database file (or its directory) could not be opened or created.
    Open {
        /// What failed: "create data directory" or "open database".
        doing: &'static str,
        path: PathBuf,
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A stored JSON column does not parse.
    CorruptJson(Arc<serde_json::Error>),
    /// A stored value has the wrong shape (e.g. a channel that is not a JSON object).
    Corrupt(&'static str),
    /// The database was written by a newer server.
    SchemaTooNew { found: usize, known: usize },
    /// An update named a row that does not exist.
    NotFound { what: &'static str, key: String },
    /// The storage thread is gone (the process is shutting down).
    Stopped,
}

impl StoreError {
    /// Whether SQLite refused the change because of a UNIQUE or other constraint.
    pub fn is_constraint_violation(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => {
                e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
            }
            _ => false,
        }
    }

    /// Whether a read was stopped by its time budget ([`super::read_budget`]).
    pub fn is_too_broad(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => {
                e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted)
            }
            _ => false,
        }
    }

    pub(crate) fn open(
        doing: &'static str,
        path: impl Into<PathBuf>,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Open {
            doing,
            path: path.into(),
            source: Arc::new(e),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "{e}"),
            StoreError::Open {
                doing,
                path,
                source,
            } => {
                write!(f, "cannot {doing} {}: {source}", path.display())
            }
            StoreError::CorruptJson(e) => write!(f, "corrupt JSON in the database: {e}"),
            StoreError::Corrupt(what) => f.write_str(what),
            StoreError::SchemaTooNew { found, known } => write!(
                f,
                "the database has schema version {found}, newer than this server knows \
                 ({known}); use a newer originchats-server"
            ),
            StoreError::NotFound { what, key } => write!(f, "no {what} with id {key}"),
            StoreError::Stopped => f.write_str("the storage thread has stopped"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Sqlite(e) => Some(e.as_ref()),
            StoreError::Open { source, .. } => Some(source.as_ref()),
            StoreError::CorruptJson(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(Arc::new(e))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::CorruptJson(Arc::new(e))
    }
}
