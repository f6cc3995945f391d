//! An uploaded file's metadata (docs/protocol.md#10-http-routes): what the store keeps and
//! what clients are shown. The bytes are in `attachments/<file>` (see `crate::media`).

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// Random (a UUID): knowing it is what lets a client without credentials fetch it.
    pub id: String,
    /// The file's name on disk (made by us from the id, never from the uploader).
    pub file: String,
    /// The name the uploader gave (shown, never used as a path).
    pub name: String,
    /// Sniffed from the file's first bytes, never taken from the uploader.
    pub mime_type: String,
    pub size: u64,
    pub uploader_id: String,
    pub uploader_name: String,
    /// The channel it was uploaded for: who may view that channel may fetch it.
    pub channel: String,
    /// Unix seconds.
    pub created_at: f64,
    /// Unix seconds. Permanent attachments expire too, after `permanent_expiration_days`
    /// (as in the original server).
    pub expires_at: f64,
    /// Uploaded by a user of a permanent tier (or role): the long expiry.
    pub permanent: bool,
    /// The URL the uploader was given (`<where the server was reached>/attachments/<id>`);
    /// messages carry it, so it stays the same for everyone.
    pub url: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The message it was posted with, once it is.
    pub message_id: Option<String>,
}

impl Attachment {
    pub fn expired(&self, now: f64) -> bool {
        now > self.expires_at
    }

    /// The info object clients get from an upload, `attachment_get` and in a message's
    /// `attachments`: `id, name, mime_type, size, url, expires_at, permanent[, width,
    /// height]`.
    pub fn info(&self) -> Value {
        let mut info = Map::new();
        info.insert("id".into(), json!(self.id));
        info.insert("name".into(), json!(self.name));
        info.insert("mime_type".into(), json!(self.mime_type));
        info.insert("size".into(), json!(self.size));
        info.insert("url".into(), json!(self.url));
        info.insert("expires_at".into(), json!(self.expires_at));
        info.insert("permanent".into(), json!(self.permanent));
        if let (Some(w), Some(h)) = (self.width, self.height) {
            info.insert("width".into(), json!(w));
            info.insert("height".into(), json!(h));
        }
        Value::Object(info)
    }
}
