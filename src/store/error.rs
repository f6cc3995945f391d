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
    /// A write failed because of the disk itself (full, or no longer writable), as the
    /// storage thread found out; nothing of the transaction was kept.
    Disk {
        trouble: DiskTrouble,
        source: Arc<rusqlite::Error>,
    },
}

/// What is wrong with the disk under the data directory when a write fails because of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskTrouble {
    /// No space left (or SQLite's own size limit reached).
    Full,
    /// The file system is read-only (an SD card the kernel remounted read-only after
    /// errors), or the server may no longer write there.
    ReadOnly,
}

impl fmt::Display for DiskTrouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiskTrouble::Full => "the disk is full",
            DiskTrouble::ReadOnly => "the data directory is read-only",
        })
    }
}

impl DiskTrouble {
    /// What an error from the file system says about the disk, if anything.
    pub fn of_io(e: &std::io::Error) -> Option<DiskTrouble> {
        use std::io::ErrorKind;
        match e.kind() {
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Some(DiskTrouble::Full),
            ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied => {
                Some(DiskTrouble::ReadOnly)
            }
            _ => None,
        }
    }
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

    /// Whether the failure is the disk's (full or read-only), and which.
    pub fn disk_trouble(&self) -> Option<DiskTrouble> {
        match self {
            StoreError::Disk { trouble, .. } => Some(*trouble),
            StoreError::Sqlite(e) => match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DiskFull) => Some(DiskTrouble::Full),
                Some(rusqlite::ErrorCode::ReadOnly) => Some(DiskTrouble::ReadOnly),
                _ => None,
            },
            _ => None,
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
            StoreError::Disk { trouble, source } => write!(f, "{trouble} ({source})"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Sqlite(e) | StoreError::Disk { source: e, .. } => Some(e.as_ref()),
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
