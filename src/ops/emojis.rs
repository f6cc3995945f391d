//! Custom emojis and the server's icon and banner: images checked completely (type from
//! the bytes, size, name) before anything is written, then the file, then the row. A
//! refused image therefore never leaves a file behind (the original server's did).

use serde_json::{Value, json};

use crate::app::App;
use crate::media::files::{FileName, Kind};
use crate::media::sniff;
use crate::model::emoji::valid_name;
use crate::model::{AuditEntry, Emoji};
use crate::ops::attachments::unix_now;
use crate::store::StoreError;
use crate::store::emojis::ServerAsset;

/// The image types an emoji or a server asset may have, with the extensions that name them
/// in `uploads.emoji_allowed_file_types`.
const IMAGE_TYPES: &[(&str, &[&str])] = &[
    ("image/gif", &["gif"]),
    ("image/jpeg", &["jpg", "jpeg"]),
    ("image/png", &["png"]),
    ("image/webp", &["webp"]),
    ("image/svg+xml", &["svg"]),
];

/// Why an emoji change is refused (the text of the error packet).
#[derive(Debug)]
pub enum EmojiError {
    Refused(String),
    Store(StoreError),
}

impl From<StoreError> for EmojiError {
    fn from(e: StoreError) -> EmojiError {
        EmojiError::Store(e)
    }
}

impl From<String> for EmojiError {
    fn from(text: String) -> EmojiError {
        EmojiError::Refused(text)
    }
}

impl From<&str> for EmojiError {
    fn from(text: &str) -> EmojiError {
        EmojiError::Refused(text.to_string())
    }
}

/// The sniffed type of an image whose type is among `allowed` (extensions).
pub fn image_type(bytes: &[u8], allowed: &[String]) -> Result<&'static str, String> {
    let mime = sniff::sniff(&bytes[..bytes.len().min(4096)]);
    let ok = IMAGE_TYPES.iter().any(|(m, exts)| {
        *m == mime
            && exts
                .iter()
                .any(|e| allowed.iter().any(|a| a.eq_ignore_ascii_case(e)))
    });
    if ok {
        Ok(mime)
    } else {
        Err(format!(
            "Emoji images must be one of: {} (this one is {mime})",
            allowed.join(", ")
        ))
    }
}

/// A fresh file name for an image (never the same twice: clients cache images by URL).
fn fresh_name(prefix: &str, mime: &str) -> Option<FileName> {
    FileName::for_id(&format!("{prefix}-{}", crate::random::uuid_v4()), mime)
}

impl App {
    /// Checks an emoji image: its size and type. Returns the type.
    fn check_emoji_image(&self, bytes: &[u8]) -> Result<&'static str, String> {
        let max = self.config.uploads.emoji_max_bytes;
        if bytes.len() > max {
            return Err(format!("Emoji image too large (max {max} bytes)"));
        }
        if bytes.is_empty() {
            return Err("The image is empty".into());
        }
        image_type(bytes, &self.config.uploads.emoji_allowed_file_types)
    }

    /// Writes an image file (off the executor thread).
    async fn write_image(&self, kind: Kind, name: &FileName, bytes: Vec<u8>) -> Result<(), String> {
        let dir = self.media.dir.clone();
        let target = name.clone();
        smol::unblock(move || dir.write(kind, &target, &bytes))
            .await
            .map_err(|e| {
                log::error!("cannot write {name}: {e}");
                "Error saving the image".to_string()
            })
    }

    /// Adds a custom emoji, with its audit log `entry` (its target set here).
    pub async fn add_emoji(
        &self,
        name: &str,
        image: Vec<u8>,
        by: &str,
        entry: AuditEntry,
    ) -> Result<Emoji, EmojiError> {
        if !valid_name(name) {
            return Err("Emoji names are 1 to 64 letters, digits or underscores".into());
        }
        let mime = self.check_emoji_image(&image)?;
        let taken = {
            let name = name.to_string();
            self.store.read(move |db| db.emoji_named(&name)).await?
        };
        if taken.is_some() {
            return Err(format!("An emoji named {name} already exists").into());
        }
        let Some(file) = fresh_name("emoji", mime) else {
            return Err("Error saving the image".into());
        };
        let mut emoji = Emoji {
            id: 0,
            name: name.to_string(),
            file: file.to_string(),
            mime_type: mime.to_string(),
            size: image.len() as u64,
            created_by: by.to_string(),
            created_at: unix_now(),
        };
        self.write_image(Kind::Emoji, &file, image).await?;
        let row = emoji.clone();
        let inserted = self.write(move |db| {
            let id = db.insert_emoji(&row, false)?;
            if let Some(id) = id {
                db.insert_audit(&entry.target(id.to_string(), Some(row.name.clone())))?;
            }
            Ok(id)
        });
        match inserted.await {
            Ok(Some(id)) => emoji.id = id,
            Ok(None) => {
                // Taken meanwhile by a simultaneous add.
                self.remove_file(Kind::Emoji, &emoji.file).await;
                return Err(format!("An emoji named {name} already exists").into());
            }
            Err(e) => {
                self.remove_file(Kind::Emoji, &emoji.file).await;
                return Err(e.into());
            }
        }
        log::info!("emoji :{name}: added by {by}");
        Ok(emoji)
    }

    /// Renames an emoji and/or replaces its image, with its audit log `entry` (its target
    /// set here). Returns
    /// the emoji as it is now, or `None` when there is no emoji with this id.
    pub async fn update_emoji(
        &self,
        id: i64,
        name: Option<&str>,
        image: Option<Vec<u8>>,
        entry: AuditEntry,
    ) -> Result<Option<Emoji>, EmojiError> {
        if name.is_some_and(|n| !valid_name(n)) {
            return Err("Emoji names are 1 to 64 letters, digits or underscores".into());
        }
        let mime = image
            .as_deref()
            .map(|bytes| self.check_emoji_image(bytes))
            .transpose()?;
        let Some(old) = self.store.read(move |db| db.emoji(id)).await? else {
            return Ok(None);
        };
        let mut new = old.clone();
        if let Some(name) = name {
            new.name = name.to_string();
        }
        if let (Some(bytes), Some(mime)) = (image, mime) {
            let Some(file) = fresh_name("emoji", mime) else {
                return Err("Error saving the image".into());
            };
            new.size = bytes.len() as u64;
            new.mime_type = mime.to_string();
            new.file = file.to_string();
            self.write_image(Kind::Emoji, &file, bytes).await?;
        }
        let row = new.clone();
        let stored = self
            .write(move |db| {
                let updated = db.update_emoji(&row)?;
                if updated {
                    db.insert_audit(&entry.target(id.to_string(), Some(row.name.clone())))?;
                }
                Ok(updated)
            })
            .await;
        let replaced_file = new.file != old.file;
        match stored {
            Ok(true) => {
                if replaced_file {
                    self.remove_file(Kind::Emoji, &old.file).await;
                }
                Ok(Some(new))
            }
            Ok(false) | Err(_) if replaced_file => {
                self.remove_file(Kind::Emoji, &new.file).await;
                Err(refusal_of(stored, &new.name))
            }
            _ => Err(refusal_of(stored, &new.name)),
        }
    }

    /// Deletes an emoji, with its audit log `entry`; `None` when there is none with this
    /// id.
    pub async fn delete_emoji(
        &self,
        id: i64,
        entry: AuditEntry,
    ) -> Result<Option<Emoji>, StoreError> {
        let gone = self
            .write(move |db| {
                let gone = db.delete_emoji(id)?;
                if let Some(emoji) = &gone {
                    db.insert_audit(&entry.target(id.to_string(), Some(emoji.name.clone())))?;
                }
                Ok(gone)
            })
            .await?;
        if let Some(emoji) = &gone {
            self.remove_file(Kind::Emoji, &emoji.file).await;
        }
        Ok(gone)
    }

    /// Stores the server's `icon` or `banner` image (its size is the caller's to bound);
    /// returns the value clients get for it
    /// (`/server-assets/<name>`, made absolute per client).
    pub async fn set_server_asset(
        &self,
        name: &'static str,
        image: Vec<u8>,
    ) -> Result<Value, EmojiError> {
        let mime = image_type(
            &image,
            &["gif", "jpg", "png", "webp", "svg"].map(String::from),
        )
        .map_err(|_| "Server icons and banners must be GIF, JPEG, PNG, WebP or SVG images")?;
        let Some(file) = fresh_name(name, mime) else {
            return Err("Error saving the image".into());
        };
        let size = image.len() as u64;
        self.write_image(Kind::ServerAsset, &file, image).await?;
        let asset = ServerAsset {
            file: file.to_string(),
            mime_type: mime.to_string(),
            updated_at: unix_now(),
        };
        match self
            .write(move |db| db.put_server_asset(name, &asset, size))
            .await
        {
            Ok(old) => {
                if let Some(old) = old {
                    self.remove_file(Kind::ServerAsset, &old).await;
                }
                Ok(json!(format!("/server-assets/{name}")))
            }
            Err(e) => {
                self.remove_file(Kind::ServerAsset, file.as_str()).await;
                Err(e.into())
            }
        }
    }
}

fn refusal_of(stored: Result<bool, StoreError>, name: &str) -> EmojiError {
    match stored {
        Err(e) => EmojiError::Store(e),
        Ok(_) => EmojiError::Refused(format!("An emoji named {name} already exists")),
    }
}
