//! Queries on attachment metadata (the `attachments` table). The files themselves are
//! handled by `crate::media::files`; a row goes in after its file is complete and comes out
//! before its file is deleted, so a row never points at a half-written file.

use rusqlite::{OptionalExtension, Row, params};

use super::db::{Db, Result};
use crate::model::Attachment;

const COLUMNS: &str = "id, file, name, mime_type, size, uploader_id, uploader_name, channel, \
                       created_at, expires_at, permanent, url, width, height, message_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: r.get(0)?,
        file: r.get(1)?,
        name: r.get(2)?,
        mime_type: r.get(3)?,
        size: r.get::<_, i64>(4)?.max(0) as u64,
        uploader_id: r.get(5)?,
        uploader_name: r.get(6)?,
        channel: r.get(7)?,
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
        permanent: r.get(10)?,
        url: r.get(11)?,
        width: r.get(12)?,
        height: r.get(13)?,
        message_id: r.get(14)?,
    })
}

impl Db {
    pub fn insert_attachment(&self, a: &Attachment) -> Result<()> {
        self.conn()
            .prepare_cached(&format!(
                "INSERT INTO attachments ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            ))?
            .execute(params![
                a.id,
                a.file,
                a.name,
                a.mime_type,
                i64::try_from(a.size).unwrap_or(i64::MAX),
                a.uploader_id,
                a.uploader_name,
                a.channel,
                a.created_at,
                a.expires_at,
                a.permanent,
                a.url,
                a.width,
                a.height,
                a.message_id,
            ])?;
        Ok(())
    }

    pub fn attachment(&self, id: &str) -> Result<Option<Attachment>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM attachments WHERE id = ?1"))?
            .query_row(params![id], from_row)
            .optional()?)
    }

    /// How many attachments a user has that have not expired at `now`.
    pub fn attachment_count_of(&self, uploader_id: &str, now: f64) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM attachments WHERE uploader_id = ?1
                 AND expires_at >= ?2",
            )?
            .query_row(params![uploader_id, now], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// The bytes all attachments take (the disk budget's use).
    pub fn attachment_bytes(&self) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT coalesce(sum(size), 0) FROM attachments")?
            .query_row([], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Records that attachments were posted with a message.
    pub fn attach_to_message(&self, ids: &[String], message_id: &str) -> Result<()> {
        let mut stmt = self
            .conn()
            .prepare_cached("UPDATE attachments SET message_id = ?2 WHERE id = ?1")?;
        for id in ids {
            stmt.execute(params![id, message_id])?;
        }
        Ok(())
    }

    /// Deletes a row and returns it (its file is the caller's to delete).
    pub fn delete_attachment(&self, id: &str) -> Result<Option<Attachment>> {
        let found = self.attachment(id)?;
        if found.is_some() {
            self.conn()
                .prepare_cached("DELETE FROM attachments WHERE id = ?1")?
                .execute(params![id])?;
        }
        Ok(found)
    }

    /// Deletes the attachments posted with a message and returns them.
    pub fn delete_attachments_of_message(&self, message_id: &str) -> Result<Vec<Attachment>> {
        self.take_attachments("message_id = ?1", params![message_id])
    }

    /// Deletes (and returns, at most `limit`) the attachments the janitor removes: expired
    /// at `now`, never posted within `unposted_grace` seconds of their upload, or posted
    /// with a message that no longer exists (its channel was deleted).
    pub fn take_dead_attachments(
        &self,
        now: f64,
        unposted_grace: f64,
        limit: usize,
    ) -> Result<Vec<Attachment>> {
        self.take_attachments(
            "id IN (SELECT id FROM attachments WHERE
                 expires_at < ?1
              OR (message_id IS NULL AND created_at <= ?1 - ?2)
              OR (message_id IS NOT NULL AND NOT EXISTS
                     (SELECT 1 FROM messages m WHERE m.id = attachments.message_id))
              LIMIT ?3)",
            params![
                now,
                unposted_grace,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
        )
    }

    /// The file names of all attachments (to find files without a row).
    pub fn attachment_files(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached("SELECT file FROM attachments")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn take_attachments(
        &self,
        condition: &str,
        args: impl rusqlite::Params + Clone,
    ) -> Result<Vec<Attachment>> {
        let taken = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM attachments WHERE {condition}"
            ))?
            .query_map(args.clone(), from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        self.conn()
            .prepare_cached(&format!("DELETE FROM attachments WHERE {condition}"))?
            .execute(args)?;
        Ok(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SyncMode;

    fn sample(id: &str, expires_at: f64, message_id: Option<&str>) -> Attachment {
        Attachment {
            id: id.into(),
            file: format!("{id}.png"),
            name: "cat.png".into(),
            mime_type: "image/png".into(),
            size: 10,
            uploader_id: "u1".into(),
            uploader_name: "alice".into(),
            channel: "general".into(),
            created_at: 1000.0,
            expires_at,
            permanent: false,
            url: format!("http://pi:5613/attachments/{id}"),
            width: Some(2),
            height: Some(3),
            message_id: message_id.map(str::to_string),
        }
    }

    #[test]
    fn round_trip_counts_and_the_janitor_query() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
        let a = sample("a", 5000.0, None);
        db.insert_attachment(&a).unwrap();
        db.insert_attachment(&sample("b", 1e12, None)).unwrap();
        db.insert_attachment(&sample("c", 1500.0, None)).unwrap();
        assert_eq!(db.attachment("a").unwrap(), Some(a));
        assert_eq!(db.attachment_count_of("u1", 2000.0).unwrap(), 2);
        assert_eq!(db.attachment_bytes().unwrap(), 30);
        db.attach_to_message(&["a".into(), "b".into()], "m1")
            .unwrap();
        // c expired; a and b were posted with m1, which does not exist: all three go.
        let mut dead: Vec<String> = db
            .take_dead_attachments(2000.0, 86400.0, 10)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        dead.sort();
        assert_eq!(dead, ["a", "b", "c"]);
        assert_eq!(db.attachment_bytes().unwrap(), 0);
        // Not posted: kept during the grace period, taken after it.
        db.insert_attachment(&sample("d", 1e12, None)).unwrap();
        assert!(
            db.take_dead_attachments(2000.0, 86400.0, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            db.take_dead_attachments(90000.0, 86400.0, 10)
                .unwrap()
                .len(),
            1
        );
    }
}
