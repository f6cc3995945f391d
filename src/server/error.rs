//! Why the server could not start. Each case says what to look at; `main` prints it.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::store::StoreError;

#[derive(Debug)]
pub enum ServerError {
    /// Another server runs on the data directory (or its lock file cannot be taken).
    Locked(String),
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
            ServerError::ReadDatabase(e) | ServerError::OpenReader(e) => Some(e),
            ServerError::StorageThread(e)
            | ServerError::OpenMedia { source: e, .. }
            | ServerError::Bind { source: e, .. }
            | ServerError::Listen { source: e, .. }
            | ServerError::LocalAddr(e) => Some(e),
            ServerError::Tls(_) | ServerError::Locked(_) => None,
        }
    }
}
