//! The channel list: saving it write-through, and sending every connection its own view
//! of it (`channels_get`) after a change.

use serde_json::{Value, json};

use crate::app::App;
use crate::model::{Action, AuditEntry, Channel, ChannelKind};
use crate::protocol::encode;
use crate::store::{Db, StoreError};

/// The newest message (id, timestamp) of every text channel.
pub type Newest = Vec<(String, Option<(String, f64)>)>;

impl App {
    /// The newest message of every text channel (one read for all).
    pub async fn newest_messages(&self) -> Result<Newest, StoreError> {
        let text: Vec<String> = self
            .dir()
            .channels
            .iter()
            .filter(|c| c.kind() == ChannelKind::Text)
            .map(|c| c.name().to_string())
            .collect();
        self.store.newest_of(text).await
    }

    /// `channels_get`'s `val` for one user: the channels they can view, with live fields.
    pub fn channel_list(&self, user_id: &str, newest: &Newest) -> Value {
        let dir = self.dir();
        let voice = self.voice.borrow();
        let list: Vec<Value> = dir
            .channels
            .iter()
            .filter(|c| dir.can(user_id, c.name(), Action::View))
            .map(|c| {
                let mut obj = c.0.clone();
                match c.kind() {
                    ChannelKind::Text => {
                        let last = newest
                            .iter()
                            .find(|(n, _)| n == c.name())
                            .and_then(|(_, l)| l.clone());
                        obj.insert("last_message".into(), json!(last.as_ref().map(|l| l.1)));
                        obj.insert("last_message_id".into(), json!(last.map(|l| l.0)));
                    }
                    ChannelKind::Voice => {
                        let state: Vec<Value> = voice
                            .participants(c.name())
                            .iter()
                            .map(|p| json!({"username": p.username, "muted": p.muted}))
                            .collect();
                        obj.insert("voice_state".into(), json!(state));
                    }
                    ChannelKind::Separator | ChannelKind::Other => {}
                }
                Value::Object(obj)
            })
            .collect();
        Value::Array(list)
    }

    /// Sends every authenticated connection its (filtered) channel list.
    pub async fn push_channel_lists(&self) {
        let newest = match self.newest_messages().await {
            Ok(n) => n,
            Err(e) => return log::error!("cannot read channels for the update: {e}"),
        };
        for session in self.hub.sessions() {
            if let Some(user_id) = session.user_id() {
                session.send(encode(
                    &json!({"cmd": "channels_get", "val": self.channel_list(&user_id, &newest)}),
                ));
            }
        }
    }

    /// Writes the whole channel list (names, order, data) in one transaction with `also`
    /// (moving or deleting a channel's history) and the change's audit log entry, then
    /// makes it the live one.
    pub async fn save_channels(
        &self,
        channels: Vec<Channel>,
        also: impl FnOnce(&Db) -> Result<(), StoreError> + Send + 'static,
        entry: AuditEntry,
    ) -> Result<(), StoreError> {
        let stored = channels.clone();
        self.write(move |db| {
            also(db)?;
            db.replace_channels(&stored)?;
            db.insert_audit(&entry)
        })
        .await?;
        self.dir_mut().channels = channels;
        Ok(())
    }
}
