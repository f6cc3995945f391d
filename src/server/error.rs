//! Why the server could not start. Each case says what to look at; `main` prints it.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::store::StoreError;
use crate::store::check::Damaged;

#[derive(Debug)]
pub enum ServerError {
    /// Another server runs on the data directory (or its lock file cannot be taken).
    Locked(String),
    /// The database fails `PRAGMA quick_check`: the server does not run on it.
    Damaged(Damaged),
    /// The database could not be checked before the start.
    Check(StoreError),
    /// The record of the last clean stop could not be read or removed.
    CleanStop(io::Error),
    /// SIGTERM and SIGINT could not be caught (there would be no graceful shutdown).
    Signals(io::Error),
    /// The data directory or its database could not be opened (or migrated).
    OpenData { dir: PathBuf, source: StoreError },
    /// The database opened but reading what the server keeps in memory failed.
    ReadDatabase(StoreError),
    /// The read-only connection for the history reader could not be opened.
    OpenReader(StoreError),
    /// The directories for user files could not be created.
    OpenMedia { dir: PathBuf, source: io::Error },
    /// The storage threads could not be started.
    StorageThread(io::Error),
    /// The listening address could not be bound (most often: the port is taken).
    Bind { addr: String, source: io::Error },
    /// The bound socket could not be set up for the executor.
    Listen { addr: String, source: io::Error },
    /// The bound socket has no local address (the operating system refused to say).
    LocalAddr(io::Error),
    /// The TLS certificate could not be made or loaded (the text names the files).
    Tls(String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Locked(why) => write!(f, "{why}"),
            ServerError::Damaged(d) => {
                let dir = d.path.parent().unwrap_or(&d.path).display();
                write!(
                    f,
                    "the database {} is damaged (PRAGMA quick_check: {}); the server does not \
                     run on it, so as not to make it worse. Put the newest backup back: \
                     `originchats-server --data-dir {dir} admin restore BACKUP-FILE` (the \
                     damaged file is kept beside it as originchats.sqlite3.replaced-<time>), \
                     then start the server again (README: \"When things go wrong\")",
                    d.path.display(),
                    d.findings.join("; "),
                )
            }
            ServerError::Check(e) => write!(f, "cannot check the database: {e}"),
            ServerError::CleanStop(e) => write!(
                f,
                "cannot read or remove the record of the last clean stop (data/clean-stop): {e}"
            ),
            ServerError::Signals(e) => write!(f, "cannot catch SIGTERM and SIGINT: {e}"),
            ServerError::OpenData { dir, source } => {
                write!(
                    f,
                    "cannot open the data directory {}: {source}",
                    dir.display()
                )
            }
            ServerError::ReadDatabase(e) => write!(f, "cannot read the database: {e}"),
            ServerError::OpenReader(e) => write!(f, "cannot open the database: {e}"),
            ServerError::OpenMedia { dir, source } => write!(
                f,
                "cannot create the file directories in {}: {source}",
                dir.display()
            ),
            ServerError::StorageThread(e) => write!(f, "cannot start the storage thread: {e}"),
            ServerError::Bind { addr, source } => {
                write!(
                    f,
                    "cannot listen on {addr}: {source} (is another server using the port? \
                     change websocket.host / websocket.port in the config file)"
                )
            }
            ServerError::Listen { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            ServerError::LocalAddr(e) => write!(f, "{e}"),
            ServerError::Tls(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::OpenData { source, .. } => Some(source),
            ServerError::ReadDatabase(e) | ServerError::OpenReader(e) | ServerError::Check(e) => {
                Some(e)
            }
            ServerError::StorageThread(e)
            | ServerError::OpenMedia { source: e, .. }
            | ServerError::Bind { source: e, .. }
            | ServerError::Listen { source: e, .. }
            | ServerError::LocalAddr(e)
            | ServerError::Signals(e)
            | ServerError::CleanStop(e) => Some(e),
            ServerError::Tls(_) | ServerError::Locked(_) | ServerError::Damaged(_) => None,
        }
    }
}
