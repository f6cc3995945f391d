//! Queries on webhooks (the `webhooks` table). A webhook's token is shown once, to whoever
//! created or regenerated it; only its SHA-256 is stored, so a copy of the database cannot
//! post, and `POST /webhooks` finds the webhook by that hash.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Value, json};

use super::db::{Db, Result};

/// The SHA-256 of a webhook token: how the table knows it.
pub type WebhookTokenHash = [u8; 32];

/// The SHA-256 of `token`.
pub fn token_hash(token: &str) -> WebhookTokenHash {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A stored webhook (without its token, which is never stored).
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: String,
    pub channel: String,
    pub name: String,
    pub avatar: Option<String>,
    /// User id.
    pub created_by: String,
    /// Unix seconds.
    pub created_at: f64,
}

impl Webhook {
    /// Its wire form (`webhook_get`, `webhook_list`, …): the original's fields minus the
    /// token.
    pub fn wire(&self) -> Value {
        json!({
            "id": self.id,
            "channel": self.channel,
            "name": self.name,
            "avatar": self.avatar,
            "created_by": self.created_by,
            "created_at": self.created_at,
        })
    }
}

const COLUMNS: &str = "id, channel, name, avatar, created_by, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        id: r.get(0)?,
        channel: r.get(1)?,
        name: r.get(2)?,
        avatar: r.get(3)?,
        created_by: r.get(4)?,
        created_at: r.get(5)?,
    })
}

impl Db {
    /// Stores a new webhook whose token hashes to `hash`.
    pub fn insert_webhook(&self, w: &Webhook, hash: &WebhookTokenHash) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO webhooks (id, channel, name, avatar, token_hash, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                w.id,
                w.channel,
                w.name,
                w.avatar,
                &hash[..],
                w.created_by,
                w.created_at
            ])?;
        Ok(())
    }

    pub fn webhook(&self, id: &str) -> Result<Option<Webhook>> {
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"))?
            .query_row(params![id], from_row)
            .optional()?)
    }

    /// The webhook whose token hashes to `hash`.
    pub fn webhook_by_token(&self, hash: &WebhookTokenHash) -> Result<Option<Webhook>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM webhooks WHERE token_hash = ?1"
            ))?
            .query_row(params![&hash[..]], from_row)
            .optional()?)
    }

    /// The webhooks of `channel`, or all of them, oldest first.
    pub fn webhooks(&self, channel: Option<&str>) -> Result<Vec<Webhook>> {
        let mut statement = self.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM webhooks WHERE ?1 IS NULL OR channel = ?1
             ORDER BY created_at, rowid"
        ))?;
        let rows = statement.query_map(params![channel], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Changes a webhook's name and avatar; false if there is no such webhook.
    pub fn update_webhook(&self, id: &str, name: &str, avatar: Option<&str>) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("UPDATE webhooks SET name = ?2, avatar = ?3 WHERE id = ?1")?
            .execute(params![id, name, avatar])?
            > 0)
    }

    /// Replaces a webhook's token: the old one stops working at once.
    pub fn set_webhook_token(&self, id: &str, hash: &WebhookTokenHash) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("UPDATE webhooks SET token_hash = ?2 WHERE id = ?1")?
            .execute(params![id, &hash[..]])?
            > 0)
    }

    pub fn delete_webhook(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("DELETE FROM webhooks WHERE id = ?1")?
            .execute(params![id])?
            > 0)
    }

    /// Deletes the webhooks of a deleted channel.
    pub fn delete_channel_webhooks(&self, channel: &str) -> Result<usize> {
        Ok(self
            .conn()
            .prepare_cached("DELETE FROM webhooks WHERE channel = ?1")?
            .execute(params![channel])?)
    }
}
