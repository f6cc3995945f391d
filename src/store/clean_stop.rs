//! The record of a clean stop, so that a start after one need not read the whole database.
//!
//! `PRAGMA quick_check` reads every page: about 2 s for a million messages here, several
//! times that on a Raspberry Pi's SD card, on every start. Damage comes from a crash, a power
//! cut or something writing the file while the server is stopped. So a graceful shutdown,
//! after its final checkpoint, notes what the database file looks like (size, inode, change
//! and modification times, to the nanosecond), and the next start checks the file only when
//! it no longer looks like that, or when the write-ahead log holds anything (something wrote
//! after the stop), or when there is no record (the last run did not stop cleanly). The
//! record is removed at start, before anything writes, so a crash during the run never leaves
//! one behind. The change time (`ctime`) cannot be set back by user tools, so a file written
//! and then given its old modification time again is still noticed; and since file times
//! tick only every few milliseconds, a hash of the file's first 64 KiB (its header and the
//! schema) is part of the record too.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::db::DB_FILE;

/// The record's file in the data directory.
const RECORD: &str = "clean-stop";

/// Bytes at the start of the file that are hashed into the record.
const HASHED: u64 = 64 * 1024;

/// What the database file looks like: the fields a write or a replacement changes.
fn look(db: &Path) -> io::Result<String> {
    let mut file = fs::File::open(db)?;
    let m = file.metadata()?;
    let mut head = Vec::new();
    (&mut file).take(HASHED).read_to_end(&mut head)?;
    // FNV-1a: enough to tell a changed header, nothing to defend against.
    let hash = head.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Ok(format!(
        "{hash:016x} {} {} {} {}.{} {}.{}",
        m.dev(),
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    ))
}

fn record_path(data_dir: &Path) -> PathBuf {
    data_dir.join(RECORD)
}

/// Notes the database file of `data_dir` as it is now, after a clean stop's checkpoint.
pub fn record(data_dir: &Path) -> io::Result<()> {
    let look = look(&data_dir.join(DB_FILE))?;
    let path = record_path(data_dir);
    let partial = data_dir.join(format!("{RECORD}.partial"));
    fs::write(&partial, look)?;
    fs::rename(partial, path)
}

/// Removes the record and says whether the database file is still as the last clean stop
/// left it, with nothing in its write-ahead log. `false` whenever that is not certain.
pub fn take(data_dir: &Path) -> io::Result<bool> {
    let path = record_path(data_dir);
    let recorded = match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if recorded.is_some() {
        fs::remove_file(&path)?;
    }
    let db = data_dir.join(DB_FILE);
    let wal_empty = match fs::metadata(data_dir.join(format!("{DB_FILE}-wal"))) {
        Ok(m) => m.len() == 0,
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    };
    Ok(wal_empty && recorded.is_some_and(|r| look(&db).is_ok_and(|now| now == r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_db() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(DB_FILE), b"pages").unwrap();
        dir
    }

    #[test]
    fn an_untouched_file_after_a_record_is_known_once() {
        let dir = dir_with_db();
        record(dir.path()).unwrap();
        assert!(take(dir.path()).unwrap());
        // Taken: the next start without a new clean stop checks again.
        assert!(!take(dir.path()).unwrap());
    }

    #[test]
    fn no_record_means_a_check() {
        let dir = dir_with_db();
        assert!(!take(dir.path()).unwrap());
    }

    #[test]
    fn a_write_after_the_stop_means_a_check() {
        let dir = dir_with_db();
        record(dir.path()).unwrap();
        fs::write(dir.path().join(DB_FILE), b"other").unwrap();
        assert!(!take(dir.path()).unwrap());
    }

    #[test]
    fn a_write_that_keeps_size_and_modification_time_means_a_check() {
        let dir = dir_with_db();
        let db = dir.path().join(DB_FILE);
        record(dir.path()).unwrap();
        let modified = fs::metadata(&db).unwrap().modified().unwrap();
        fs::write(&db, b"PAGES").unwrap();
        fs::File::options()
            .write(true)
            .open(&db)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        assert_eq!(fs::metadata(&db).unwrap().modified().unwrap(), modified);
        assert!(!take(dir.path()).unwrap());
    }

    #[test]
    fn a_wal_with_frames_means_a_check() {
        let dir = dir_with_db();
        record(dir.path()).unwrap();
        fs::write(dir.path().join(format!("{DB_FILE}-wal")), b"frames").unwrap();
        assert!(!take(dir.path()).unwrap());
        record(dir.path()).unwrap();
        fs::write(dir.path().join(format!("{DB_FILE}-wal")), b"").unwrap();
        assert!(take(dir.path()).unwrap());
    }
}
