//! Queries on custom emojis (the `emojis` table) and server assets (`server_assets`).
//! Names are unique whatever their case (`name_key` is the lower-cased name).

use rusqlite::{OptionalExtension, Row, params};

use super::db::{Db, Result};
use crate::model::Emoji;

const COLUMNS: &str = "id, name, file, mime_type, size, created_by, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Emoji> {
    Ok(Emoji {
        id: r.get(0)?,
        name: r.get(1)?,
        file: r.get(2)?,
        mime_type: r.get(3)?,
        size: r.get::<_, i64>(4)?.max(0) as u64,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
    })
}

/// A stored server icon or banner.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerAsset {
    pub file: String,
    pub mime_type: String,
    pub updated_at: f64,
}

impl Db {
    /// Stores a new emoji (its `id` is ignored unless `keep_id`, as the importer does) and
    /// returns its id. `Ok(None)`: the name is taken.
    pub fn insert_emoji(&self, e: &Emoji, keep_id: bool) -> Result<Option<i64>> {
        let id = keep_id.then_some(e.id);
        let n = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO emojis (id, name, name_key, file, mime_type, size, created_by, created_at)
                 VALUES (?1, ?2, lower(?2), ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                id,
                e.name,
                e.file,
                e.mime_type,
                i64::try_from(e.size).unwrap_or(i64::MAX),
                e.created_by,
                e.created_at
            ])?;
        Ok((n > 0).then(|| self.conn().last_insert_rowid()))
    }

    pub fn emojis(&self) -> Result<Vec<Emoji>> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM emojis ORDER BY id"))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn emoji(&self, id: i64) -> Result<Option<Emoji>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM emojis WHERE id = ?1"))?
            .query_row(params![id], from_row)
            .optional()?)
    }

    /// By name, whatever its case.
    pub fn emoji_named(&self, name: &str) -> Result<Option<Emoji>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM emojis WHERE name_key = lower(?1)"
            ))?
            .query_row(params![name], from_row)
            .optional()?)
    }

    pub fn emoji_by_file(&self, file: &str) -> Result<Option<Emoji>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM emojis WHERE file = ?1"))?
            .query_row(params![file], from_row)
            .optional()?)
    }

    /// Replaces an emoji's name and image. `Ok(false)`: the name belongs to another emoji.
    pub fn update_emoji(&self, e: &Emoji) -> Result<bool> {
        let n = self
            .conn()
            .prepare_cached(
                "UPDATE OR IGNORE emojis SET name = ?2, name_key = lower(?2), file = ?3,
                 mime_type = ?4, size = ?5 WHERE id = ?1",
            )?
            .execute(params![
                e.id,
                e.name,
                e.file,
                e.mime_type,
                i64::try_from(e.size).unwrap_or(i64::MAX)
            ])?;
        Ok(n > 0)
    }

    /// Deletes an emoji and returns it (its file is the caller's to delete).
    pub fn delete_emoji(&self, id: i64) -> Result<Option<Emoji>> {
        let found = self.emoji(id)?;
        if found.is_some() {
            self.conn()
                .prepare_cached("DELETE FROM emojis WHERE id = ?1")?
                .execute(params![id])?;
        }
        Ok(found)
    }

    pub fn server_asset(&self, name: &str) -> Result<Option<ServerAsset>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT file, mime_type, updated_at FROM server_assets WHERE name = ?1",
            )?
            .query_row(params![name], |r| {
                Ok(ServerAsset {
                    file: r.get(0)?,
                    mime_type: r.get(1)?,
                    updated_at: r.get(2)?,
                })
            })
            .optional()?)
    }

    /// Stores a server asset; returns the file it replaces, if any.
    pub fn put_server_asset(
        &self,
        name: &str,
        asset: &ServerAsset,
        size: u64,
    ) -> Result<Option<String>> {
        let old = self.server_asset(name)?.map(|a| a.file);
        self.conn()
            .prepare_cached(
                "INSERT INTO server_assets (name, file, mime_type, size, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET file = excluded.file,
                 mime_type = excluded.mime_type, size = excluded.size, updated_at = excluded.updated_at",
            )?
            .execute(params![
                name,
                asset.file,
                asset.mime_type,
                i64::try_from(size).unwrap_or(i64::MAX),
                asset.updated_at
            ])?;
        Ok(old.filter(|f| *f != asset.file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SyncMode;

    fn emoji(name: &str, file: &str) -> Emoji {
        Emoji {
            id: 0,
            name: name.into(),
            file: file.into(),
            mime_type: "image/gif".into(),
            size: 5,
            created_by: "u".into(),
            created_at: 1.0,
        }
    }

    #[test]
    fn names_are_unique_in_any_case_and_ids_are_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
        let a = db
            .insert_emoji(&emoji("Cat", "a.gif"), false)
            .unwrap()
            .unwrap();
        assert_eq!(
            db.insert_emoji(&emoji("cAT", "b.gif"), false).unwrap(),
            None
        );
        assert_eq!(db.emoji_named("CAT").unwrap().unwrap().id, a);
        assert_eq!(db.emoji_by_file("a.gif").unwrap().unwrap().name, "Cat");
        let b = db
            .insert_emoji(&emoji("dog", "b.gif"), false)
            .unwrap()
            .unwrap();
        let mut renamed = db.emoji(b).unwrap().unwrap();
        renamed.name = "CAT".into();
        assert!(!db.update_emoji(&renamed).unwrap(), "taken by another");
        renamed.name = "Dog2".into();
        assert!(db.update_emoji(&renamed).unwrap());
        db.delete_emoji(b).unwrap().unwrap();
        let c = db
            .insert_emoji(&emoji("eel", "c.gif"), false)
            .unwrap()
            .unwrap();
        assert!(c > b, "ids are never reused");
        // The importer keeps the original server's ids (which start at 0).
        let mut zero = emoji("zero", "0.png");
        zero.id = 0;
        assert_eq!(db.insert_emoji(&zero, true).unwrap(), Some(0));
    }
}
