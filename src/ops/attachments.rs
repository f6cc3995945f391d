//! Attachments (docs/protocol.md#10-http-routes): taking a finished upload in, posting
//! attachments with a message, deleting them, and the janitor.
//!
//! Order of writes, so that a crash never leaves a row without its file: a file is moved
//! into place before its row is stored, and a row is deleted before its file. What a crash
//! can leave is a file without a row, which [`App::sweep_attachments`] deletes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::app::App;
use crate::media::files::{FileName, Kind, STALE_TEMP, TempFile};
use crate::media::sniff;
use crate::model::{Action, Attachment};
use crate::store::StoreError;
use crate::store::calls::Change;

/// An attachment that is never posted in a message is deleted this long after its upload
/// (the original server: one hour, checked daily).
pub const UNPOSTED_GRACE: Duration = Duration::from_secs(24 * 3600);

/// How often the janitor runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Bytes of a file read for sniffing its type and image size.
const HEAD: usize = 64 * 1024;

/// Why an upload is refused: an HTTP status and the text of `{"error": …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: &'static str,
    pub text: String,
}

impl Refusal {
    pub fn new(status: &'static str, text: impl Into<String>) -> Refusal {
        Refusal {
            status,
            text: text.into(),
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        log::error!("attachment store error: {e}");
        Refusal::new("500 Internal Server Error", "Failed to save attachment")
    }
}

/// Who uploads what, known once the request is authenticated.
#[derive(Debug, Clone)]
pub struct Upload {
    pub uploader_id: String,
    pub channel: String,
    /// As the uploader named it (display only).
    pub name: String,
    pub expires_in_days: Option<f64>,
    /// A permanent tier or role.
    pub permanent: bool,
    /// `http(s)://host[:port]` the uploader reached us at.
    pub base_url: String,
}

/// Unix seconds now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The original server's expiry curve by size (days), before the free tier's cap.
fn days_for_size(size: u64) -> f64 {
    let mb = size as f64 / 1_048_576.0;
    if mb <= 5.0 {
        49.0
    } else if mb >= 100.0 {
        1.0
    } else if mb <= 25.0 {
        7.0 + (25.0 - mb) * 42.0 / 20.0
    } else {
        7.0 - (mb - 25.0) * 6.0 / 75.0
    }
}

impl App {
    /// What can be checked before the body is read: the uploader, the channel, `send` on
    /// it, the per-user count and the disk budget (`expected`: the file's size at most).
    pub async fn may_upload(
        &self,
        uploader_id: &str,
        channel: &str,
        expected: u64,
    ) -> Result<(), Refusal> {
        let a = &self.config.attachments;
        {
            let dir = self.dir();
            if dir.user(uploader_id).is_none() {
                return Err(Refusal::new("401 Unauthorized", "User not found"));
            }
            if dir.channel(channel).is_none() {
                return Err(Refusal::new("404 Not Found", "Channel does not exist"));
            }
            if !dir.can(uploader_id, channel, Action::Send) {
                return Err(Refusal::new(
                    "403 Forbidden",
                    "You don't have permission to send in this channel",
                ));
            }
        }
        if a.max_attachments_per_user == 0 {
            return Err(Refusal::new(
                "403 Forbidden",
                "Uploads are disabled on this server",
            ));
        }
        if a.max_attachments_per_user > 0 {
            let id = uploader_id.to_string();
            let now = unix_now();
            let count = self
                .store
                .read(move |db| db.attachment_count_of(&id, now))
                .await?;
            if count >= a.max_attachments_per_user as u64 {
                return Err(Refusal::new(
                    "429 Too Many Requests",
                    format!(
                        "Attachment limit reached (max {} per user): delete one first",
                        a.max_attachments_per_user
                    ),
                ));
            }
        }
        self.check_disk_budget(expected)
    }

    fn check_disk_budget(&self, size: u64) -> Result<(), Refusal> {
        let max = self.config.attachments.max_total_bytes;
        if self.media.used_bytes.get().saturating_add(size) > max {
            return Err(Refusal::new(
                "507 Insufficient Storage",
                format!("Attachment storage is full (max {max} bytes in total)"),
            ));
        }
        Ok(())
    }

    /// Takes a complete upload (`size` bytes in `temp`): sniffs its type, checks it, moves
    /// the file into place and stores its row.
    pub async fn accept_upload(
        &self,
        temp: TempFile,
        size: u64,
        upload: Upload,
    ) -> Result<Attachment, Refusal> {
        if size == 0 {
            return Err(Refusal::new("400 Bad Request", "The file is empty"));
        }
        let (temp, head) = smol::unblock(move || {
            let mut head = vec![0u8; HEAD];
            let n = temp.read_head(&mut head).unwrap_or(0);
            head.truncate(n);
            (temp, head)
        })
        .await;
        let mime = sniff::sniff(&head);
        let a = &self.config.attachments;
        if !sniff::type_allowed(mime, &a.allowed_types) {
            return Err(Refusal::new(
                "415 Unsupported Media Type",
                format!("File type {mime} is not allowed on this server"),
            ));
        }
        // Others may have uploaded meanwhile.
        self.check_disk_budget(size)?;
        let (width, height) = if mime.starts_with("image/") {
            sniff::dimensions(&head).unzip()
        } else {
            (None, None)
        };
        let id = crate::random::uuid_v4();
        let Some(file) = FileName::for_id(&id, mime) else {
            return Err(Refusal::new(
                "500 Internal Server Error",
                "Failed to save attachment",
            ));
        };
        let now = unix_now();
        let max_days = if upload.permanent {
            a.permanent_expiration_days
        } else {
            days_for_size(size).min(a.free_tier_max_expiration_days)
        };
        let days = upload.expires_in_days.map_or(max_days, |d| d.min(max_days));
        let attachment = Attachment {
            url: format!("{}/attachments/{id}", upload.base_url),
            id,
            file: file.to_string(),
            name: upload.name,
            mime_type: mime.to_string(),
            size,
            uploader_name: self
                .dir()
                .user(&upload.uploader_id)
                .map_or_else(|| upload.uploader_id.clone(), |u| u.username.clone()),
            uploader_id: upload.uploader_id,
            channel: upload.channel,
            created_at: now,
            expires_at: now + days * 86400.0,
            permanent: upload.permanent,
            width,
            height,
            message_id: None,
        };
        let dir = self.media.dir.clone();
        let moved = {
            let file = file.clone();
            smol::unblock(move || dir.commit(temp, Kind::Attachment, &file)).await
        };
        if let Err(e) = moved {
            log::error!("cannot store attachment {}: {e}", attachment.id);
            return Err(Refusal::new(
                "500 Internal Server Error",
                "Failed to save attachment",
            ));
        }
        let row = attachment.clone();
        if let Err(e) = self.write(move |db| db.insert_attachment(&row)).await {
            self.remove_file(Kind::Attachment, file.as_str()).await;
            return Err(e.into());
        }
        self.media
            .used_bytes
            .set(self.media.used_bytes.get() + attachment.size);
        log::info!(
            "attachment {} uploaded by {} ({} bytes, {mime})",
            attachment.id,
            attachment.uploader_name,
            attachment.size
        );
        Ok(attachment)
    }

    /// An attachment that has not expired.
    pub async fn live_attachment(&self, id: &str) -> Result<Option<Attachment>, StoreError> {
        let key = id.to_string();
        let found = self.store.read(move |db| db.attachment(&key)).await?;
        Ok(found.filter(|a| !a.expired(unix_now())))
    }

    /// Deletes an attachment: its row, its file, and its entry in the message it was posted
    /// with. Returns the `attachment_deleted` packet for the viewers of its channel.
    pub async fn delete_attachment(&self, attachment: &Attachment) -> Result<Value, StoreError> {
        let id = attachment.id.clone();
        let Some(gone) = self.write(move |db| db.delete_attachment(&id)).await? else {
            return Ok(json!({}));
        };
        self.forget_files(std::slice::from_ref(&gone)).await;
        if let Some(message_id) = &gone.message_id {
            let id = gone.id.clone();
            self.store
                .change_message(gone.channel.clone(), message_id.clone(), move |m| {
                    let Some(Value::Array(list)) = m.extra.get_mut("attachments") else {
                        return Change::Keep(());
                    };
                    list.retain(|a| a.get("id").and_then(Value::as_str) != Some(id.as_str()));
                    Change::Save(())
                })
                .await?;
        }
        let packet = json!({"cmd": "attachment_deleted", "attachment_id": gone.id,
            "deleted": true, "channel": gone.channel, "message_id": gone.message_id});
        Ok(packet)
    }

    /// Deletes the attachments posted with a message (the message is being deleted).
    pub async fn delete_attachments_of(&self, message_id: &str) -> Result<(), StoreError> {
        let id = message_id.to_string();
        let gone = self
            .write(move |db| db.delete_attachments_of_message(&id))
            .await?;
        self.forget_files(&gone).await;
        Ok(())
    }

    /// The attachments of a message being posted, as the message will carry them
    /// (docs/protocol.md#81-message_new step 10). Errors are the wire texts.
    /// An attachment goes only into the channel it was uploaded for: who may download it
    /// is decided by that channel.
    pub async fn attachments_to_post(
        &self,
        sender: &str,
        channel: &str,
        list: &Value,
    ) -> Result<Vec<Attachment>, String> {
        if !self.config.attachments.enabled {
            return Err("Attachments are disabled".into());
        }
        let Value::Array(items) = list else {
            return Err("Attachments must be an array".into());
        };
        if items.len() > 10 {
            return Err("Cannot have more than 10 attachments".into());
        }
        let mut found = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(item) = item else {
                return Err("Each attachment must be an object".into());
            };
            let Some(id) = item
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            else {
                return Err("Attachment ID is required".into());
            };
            let attachment = match self.live_attachment(id).await {
                Ok(Some(a)) if a.message_id.is_none() => a,
                Ok(_) => return Err(format!("Attachment {id} not found or expired")),
                Err(e) => return Err(e.to_string()),
            };
            if attachment.uploader_id != sender {
                return Err("You can only attach your own uploads".into());
            }
            if attachment.channel != channel {
                return Err(format!(
                    "Attachment {id} was uploaded for another channel ({})",
                    attachment.channel
                ));
            }
            if !found.iter().any(|a: &Attachment| a.id == attachment.id) {
                found.push(attachment);
            }
        }
        Ok(found)
    }

    /// The janitor: deletes expired attachments, ones never posted within
    /// [`UNPOSTED_GRACE`], ones whose message is gone, files without a row and temporary
    /// files left by a crash. Returns how many files it deleted.
    pub async fn sweep_attachments(&self) -> Result<usize, StoreError> {
        let grace = UNPOSTED_GRACE.as_secs_f64();
        let mut deleted = 0;
        loop {
            let now = unix_now();
            let dead = self
                .write(move |db| db.take_dead_attachments(now, grace, 256))
                .await?;
            if dead.is_empty() {
                break;
            }
            deleted += dead.len();
            self.forget_files(&dead).await;
        }
        let known = self.store.read(|db| db.attachment_files()).await?;
        let dir = self.media.dir.clone();
        let orphans = smol::unblock(move || -> std::io::Result<usize> {
            let known: std::collections::HashSet<String> = known.into_iter().collect();
            let mut removed = dir.remove_stale_temps(STALE_TEMP)?;
            for name in dir.list(Kind::Attachment)? {
                // A file renamed into place whose row is not stored yet is younger than this.
                if !known.contains(name.as_str())
                    && dir.older_than(Kind::Attachment, &name, STALE_TEMP)
                {
                    dir.remove(Kind::Attachment, &name)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await;
        match orphans {
            Ok(n) => deleted += n,
            Err(e) => log::warn!("cannot clean the attachments directory: {e}"),
        }
        let used = self.store.read(|db| db.attachment_bytes()).await?;
        self.media.used_bytes.set(used);
        if deleted > 0 {
            log::info!("janitor: deleted {deleted} attachment file(s)");
        }
        Ok(deleted)
    }

    /// Deletes the files of rows already deleted, and takes their size off the budget.
    async fn forget_files(&self, gone: &[Attachment]) {
        let bytes: u64 = gone.iter().map(|a| a.size).sum();
        self.media
            .used_bytes
            .set(self.media.used_bytes.get().saturating_sub(bytes));
        for a in gone {
            self.remove_file(Kind::Attachment, &a.file).await;
        }
    }

    /// Deletes a stored file (off the executor thread); a name we would never make is
    /// not ours to delete. Failures are logged: the janitor tries again for attachments.
    pub(super) async fn remove_file(&self, kind: Kind, file: &str) {
        let Some(name) = FileName::new(file) else {
            return;
        };
        let dir = self.media.dir.clone();
        if let Err(e) = smol::unblock(move || dir.remove(kind, &name)).await {
            log::warn!("cannot delete {file}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_the_original_curve() {
        assert_eq!(days_for_size(1), 49.0);
        assert_eq!(days_for_size(25 * 1_048_576), 7.0);
        assert_eq!(days_for_size(100 * 1_048_576), 1.0);
        assert!((days_for_size(15 * 1_048_576) - 28.0).abs() < 1e-9);
    }
}
