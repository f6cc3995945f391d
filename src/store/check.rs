//! The look at the database before the server runs on it: `PRAGMA quick_check`. A damaged
//! file is not opened for writing (migrations, the seed, a WAL checkpoint would all write
//! into it and could spread the damage); the server refuses to start and says to restore a
//! backup instead.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::db::DB_FILE;
use super::error::StoreError;

/// Findings listed at most in the error (quick_check can report thousands).
const FINDINGS_SHOWN: usize = 5;

/// What `PRAGMA quick_check` found wrong with a database file.
#[derive(Debug)]
pub struct Damaged {
    pub path: PathBuf,
    /// Its first findings (or SQLite's refusal to read the file at all).
    pub findings: Vec<String>,
}

/// Checks the database of `data_dir`, if there is one, on a read-only connection (which
/// never checkpoints the WAL into the file). `Ok(None)`: fine, or no database yet.
pub fn quick_check(data_dir: &Path) -> Result<Option<Damaged>, StoreError> {
    let path = data_dir.join(DB_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let damaged = |findings: Vec<String>| {
        Ok(Some(Damaged {
            path: path.clone(),
            findings,
        }))
    };
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| StoreError::open("open database", &path, e))?;
    let mut findings = Vec::new();
    let checked = conn.prepare("PRAGMA quick_check").and_then(|mut stmt| {
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows {
            let row = row?;
            if findings.len() < FINDINGS_SHOWN {
                findings.push(row);
            }
        }
        Ok(())
    });
    match checked {
        Ok(()) if findings == ["ok"] => Ok(None),
        Ok(()) => damaged(findings),
        Err(e) if is_damage(&e) => damaged(vec![e.to_string()]),
        Err(e) => Err(StoreError::from(e)),
    }
}

/// Whether SQLite refused to read because the file is damaged (rather than, say, locked).
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}
