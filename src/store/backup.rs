//! Backups of the database, because SD cards die (README "Backups").
//!
//! [`backup`] makes a consistent copy of the database while a server writes to it: SQLite's
//! `VACUUM INTO` on a connection of its own reads one snapshot (WAL mode lets the server
//! go on committing meanwhile) into a new, compact file. The copy is written next to its
//! destination under a temporary name, checked (`PRAGMA integrity_check`), synced, and only
//! then renamed into place, so a backup that exists is whole. [`restore`] puts a backup
//! back while no server runs ([`DataDirLock`]), keeping the replaced database beside it.
//! [`prune`] keeps the newest automatic backups of a directory.
//!
//! User files (attachments, emojis, server assets) are files under the data directory,
//! not in the database: copy those with any file tool.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::db::DB_FILE;
use super::schema::MIGRATIONS;

/// The prefix and suffix of an automatic backup's name: `originchats-20261202-003700.sqlite3`.
const AUTO_PREFIX: &str = "originchats-";
const AUTO_SUFFIX: &str = ".sqlite3";

/// Why a backup or restore failed.
#[derive(Debug)]
pub enum BackupError {
    /// The destination exists; a backup never overwrites a file.
    Exists(PathBuf),
    /// The source of a restore is missing or not a database of this server.
    NotADatabase(PathBuf, String),
    /// A copy failed its integrity check.
    Damaged(PathBuf, String),
    /// A server runs on the data directory (restore needs it stopped).
    ServerRunning(PathBuf),
    Sqlite(rusqlite::Error),
    Io(String, PathBuf, std::io::Error),
}

impl fmt::Display for BackupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackupError::Exists(p) => write!(f, "{} exists; choose a new file name", p.display()),
            BackupError::NotADatabase(p, why) => {
                write!(f, "{} is not a backup of this server: {why}", p.display())
            }
            BackupError::Damaged(p, why) => {
                write!(f, "{} failed its integrity check: {why}", p.display())
            }
            BackupError::ServerRunning(dir) => write!(
                f,
                "a server is running on {}: stop it first (e.g. systemctl stop originchats-server)",
                dir.display()
            ),
            BackupError::Sqlite(e) => write!(f, "{e}"),
            BackupError::Io(doing, p, e) => write!(f, "cannot {doing} {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for BackupError {}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> Self {
        BackupError::Sqlite(e)
    }
}

fn io(doing: &str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let (doing, path) = (doing.to_string(), path.to_path_buf());
    move |e| BackupError::Io(doing, path, e)
}

/// Copies the database of `data_dir` to `dest` (a new file), consistently even while a
/// server writes to it. Returns the size of the copy.
pub fn backup(data_dir: &Path, dest: &Path) -> Result<u64, BackupError> {
    if dest.exists() {
        return Err(BackupError::Exists(dest.to_path_buf()));
    }
    let source = data_dir.join(DB_FILE);
    if !source.exists() {
        return Err(BackupError::NotADatabase(
            source,
            "there is no database yet".into(),
        ));
    }
    let partial = partial_name(dest);
    let _ = std::fs::remove_file(&partial);
    let written = (|| {
        let conn = Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        let target = partial.to_str().ok_or_else(|| {
            BackupError::Io(
                "name".into(),
                partial.clone(),
                std::io::Error::other("the path is not UTF-8"),
            )
        })?;
        conn.execute("VACUUM INTO ?1", [target])?;
        check(&partial)?;
        let file = File::open(&partial).map_err(io("open", &partial))?;
        file.sync_all().map_err(io("sync", &partial))?;
        file.metadata()
            .map(|m| m.len())
            .map_err(io("read", &partial))
    })();
    let size = match written {
        Ok(size) => size,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, dest).map_err(io("rename", dest))?;
    sync_dir(dest);
    Ok(size)
}

/// Puts the backup `source` in place of the database of `data_dir`. No server may run on
/// it. The replaced database is kept as `originchats.sqlite3.replaced-<unix time>`; returns
/// that name (if there was one).
pub fn restore(data_dir: &Path, source: &Path) -> Result<Option<PathBuf>, BackupError> {
    let _lock = DataDirLock::take(data_dir)?;
    check(source)?;
    let version: usize = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)?
        .query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 || version > MIGRATIONS.len() {
        return Err(BackupError::NotADatabase(
            source.to_path_buf(),
            format!(
                "its schema version is {version}; this server knows 1 to {}",
                MIGRATIONS.len()
            ),
        ));
    }
    let db = data_dir.join(DB_FILE);
    let incoming = partial_name(&db);
    std::fs::copy(source, &incoming).map_err(io("copy to", &incoming))?;
    File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(io("sync", &incoming))?;
    let kept = if db.exists() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let kept = data_dir.join(format!("{DB_FILE}.replaced-{now}"));
        // Checkpointed first, so the replaced copy is whole without its WAL file. A damaged
        // database (the reason for many a restore) may refuse: then its WAL goes with it,
        // under the name SQLite looks for beside the kept copy.
        let checkpointed = Connection::open(&db)
            .and_then(|c| c.pragma_update(None, "wal_checkpoint", "TRUNCATE"))
            .is_ok();
        std::fs::rename(&db, &kept).map_err(io("rename", &db))?;
        if !checkpointed {
            let wal = data_dir.join(format!("{DB_FILE}-wal"));
            let kept_wal = PathBuf::from(format!("{}-wal", kept.display()));
            if wal.exists() {
                std::fs::rename(&wal, &kept_wal).map_err(io("rename", &wal))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data_dir.join(format!("{DB_FILE}{side}")));
    }
    std::fs::rename(&incoming, &db).map_err(io("rename", &incoming))?;
    sync_dir(&db);
    Ok(kept)
}

/// The name of a new automatic backup in `dir`, from the time (UTC).
pub fn auto_name(dir: &Path, unix_seconds: i64) -> PathBuf {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    dir.join(format!(
        "{AUTO_PREFIX}{:04}{:02}{:02}-{:02}{:02}{:02}{AUTO_SUFFIX}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Deletes the oldest automatic backups of `dir` beyond the newest `keep`; other files are
/// never touched. Returns how many went.
pub fn prune(dir: &Path, keep: usize) -> Result<usize, BackupError> {
    let mut ours: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io("list", dir))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| is_auto_name(p))
        .collect();
    // The names sort by time.
    ours.sort();
    let excess = ours.len().saturating_sub(keep);
    for old in &ours[..excess] {
        std::fs::remove_file(old).map_err(io("delete", old))?;
    }
    Ok(excess)
}

fn is_auto_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.strip_prefix(AUTO_PREFIX)
        .and_then(|rest| rest.strip_suffix(AUTO_SUFFIX))
        .is_some_and(|stamp| {
            stamp.len() == 15
                && stamp
                    .char_indices()
                    .all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() })
        })
}

/// Runs SQLite's integrity check on the file at `path`.
fn check(path: &Path) -> Result<(), BackupError> {
    if !path.is_file() {
        return Err(BackupError::NotADatabase(
            path.to_path_buf(),
            "no such file".into(),
        ));
    }
    let not_db = |e: rusqlite::Error| BackupError::NotADatabase(path.to_path_buf(), e.to_string());
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(not_db)?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(not_db)?;
    if verdict != "ok" {
        return Err(BackupError::Damaged(path.to_path_buf(), verdict));
    }
    Ok(())
}

fn partial_name(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

/// Makes a rename in `path`'s directory durable (best effort: a failure only weakens it).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
}

/// An exclusive lock on a data directory (`data/server.lock`, `flock`), held by a running
/// server for its lifetime and by `admin restore` while it works: a second server cannot
/// start on the same data, and a restore cannot pull the database from under a server. The
/// kernel drops it when the process ends, however it ends.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// The lock file inside the data directory.
pub const LOCK_FILE: &str = "server.lock";

impl DataDirLock {
    pub fn take(data_dir: &Path) -> Result<DataDirLock, BackupError> {
        std::fs::create_dir_all(data_dir).map_err(io("create", data_dir))?;
        let path = data_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io("open", &path))?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(rustix::io::Errno::WOULDBLOCK) => {
                Err(BackupError::ServerRunning(data_dir.to_path_buf()))
            }
            Err(e) => Err(BackupError::Io("lock".into(), path, e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_names_sort_by_time_and_only_they_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let a = auto_name(dir.path(), 1_796_000_000);
        let b = auto_name(dir.path(), 1_796_000_001);
        let c = auto_name(dir.path(), 1_800_000_000);
        assert_eq!(
            a.file_name().unwrap(),
            "originchats-20261130-005320.sqlite3"
        );
        for p in [&a, &b, &c] {
            std::fs::write(p, b"x").unwrap();
        }
        let mine = dir.path().join("originchats-mine.sqlite3");
        std::fs::write(&mine, b"x").unwrap();
        assert_eq!(prune(dir.path(), 2).unwrap(), 1);
        assert!(!a.exists() && b.exists() && c.exists() && mine.exists());
        assert_eq!(prune(dir.path(), 2).unwrap(), 0);
    }

    #[test]
    fn a_backup_never_overwrites_and_a_restore_refuses_junk() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        drop(super::super::Db::open(&data, crate::config::SyncMode::Normal).unwrap());
        let dest = dir.path().join("b.sqlite3");
        assert!(backup(&data, &dest).unwrap() > 0);
        assert!(matches!(backup(&data, &dest), Err(BackupError::Exists(_))));
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"not a database at all, not at all").unwrap();
        assert!(matches!(
            restore(&data, &junk),
            Err(BackupError::NotADatabase(..))
        ));
        let kept = restore(&data, &dest).unwrap().unwrap();
        assert!(kept.exists());
        let _held = DataDirLock::take(&data).unwrap();
        assert!(matches!(
            restore(&data, &dest),
            Err(BackupError::ServerRunning(_))
        ));
    }
}
