//! Commands of authenticated clients: one file per command (or small family), each of the
//! form "read fields → check → change state through [`crate::ops`] → build the reply".
//! This module has what every handler shares: the request context [`Ctx`], the [`Reply`]
//! and the refusal [`CmdError`]. The router's command table (`crate::router::table`) names
//! every handler and dispatches to it.

pub mod attachments;
pub mod bot_slash;
pub mod channels;
pub mod emojis;
pub mod history;
pub mod message_delete;
pub mod message_edit;
pub mod message_new;
pub mod moderation;
pub mod modlog;
pub mod ping;
pub mod pings;
pub mod pins;
pub mod plugins;
pub mod polls;
pub mod profile;
pub mod reactions;
pub mod roles;
pub mod server_info;
pub mod slash;
pub mod status;
pub mod typing;
pub mod unreads;
pub mod user_delete;
pub mod user_update;
pub mod users;
pub mod voice;
pub mod webhooks;

use std::borrow::Cow;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::hub::{Route, Session};
use crate::model::{Action, Channel, ChannelKind, Message};
use crate::protocol::errors::{
    CHANNEL_ACCESS_DENIED, CHANNEL_NOT_FOUND, CHANNEL_OR_THREAD_ID_REQUIRED, DATA_READ_ONLY,
    DISK_FULL, OWNER_REQUIRED, STORAGE_ERROR, THREAD_NOT_FOUND, USER_ROLES_NOT_FOUND,
    permission_required,
};
use crate::protocol::{self, Encoded, encode};
use crate::store::StoreError;
use crate::store::error::DiskTrouble;

/// A handler's answer to the sender, and who else gets it.
pub struct Reply {
    pub packet: Encoded,
    pub route: Route,
    /// Close every connection of this user once the reply is queued (`user_leave`).
    pub then_close: Option<(String, &'static str)>,
}

impl Reply {
    /// Closes every connection of `user_id` after this reply.
    pub fn then_close(mut self, user_id: &str, reason: &'static str) -> Reply {
        self.then_close = Some((user_id.to_string(), reason));
        self
    }

    /// A reply for the sender only.
    pub fn to_sender<T: Serialize + ?Sized>(packet: &T) -> Reply {
        Reply {
            packet: encode(packet),
            route: Route::Sender,
            then_close: None,
        }
    }

    /// A `global` reply: the viewers of `channel` (or everyone), then the sender.
    pub fn global<T: Serialize + ?Sized>(packet: &T, channel: Option<&str>) -> Reply {
        Reply {
            packet: encode(packet),
            route: Route::Global(channel.map(str::to_string)),
            then_close: None,
        }
    }
}

/// A refusal, sent as `{"cmd":"error","src":<cmd>,"val":<text>}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, str>);

impl From<&'static str> for CmdError {
    fn from(text: &'static str) -> Self {
        CmdError(Cow::Borrowed(text))
    }
}

impl From<String> for CmdError {
    fn from(text: String) -> Self {
        CmdError(Cow::Owned(text))
    }
}

/// A storage failure is logged here; the client is told whether the disk is full or
/// read-only, and gets a generic refusal for anything else.
impl From<StoreError> for CmdError {
    fn from(e: StoreError) -> Self {
        if e.is_too_broad() {
            return CmdError(Cow::Borrowed(crate::store::read_budget::TOO_BROAD));
        }
        log::error!("storage error: {e}");
        CmdError(Cow::Borrowed(match e.disk_trouble() {
            Some(DiskTrouble::Full) => DISK_FULL,
            Some(DiskTrouble::ReadOnly) => DATA_READ_ONLY,
            None => STORAGE_ERROR,
        }))
    }
}

impl From<protocol::FieldError> for CmdError {
    fn from(e: protocol::FieldError) -> Self {
        CmdError(Cow::Owned(e.0))
    }
}

pub type Outcome = Result<Reply, CmdError>;

/// What a handler sees of the request.
pub struct Ctx<'a> {
    pub app: &'a Rc<App>,
    pub session: &'a Rc<Session>,
    /// The authenticated user's id.
    pub user_id: &'a str,
    /// The request frame, for [`protocol::fields`].
    pub text: &'a str,
}

/// A field that must be a non-empty string: anything else counts as missing.
pub fn text_field(field: &Option<Value>) -> Option<&str> {
    field
        .as_ref()
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// An empty string counts as missing, as in the original server.
pub fn given<'f>(field: &'f Option<protocol::Text<'_>>) -> Option<&'f str> {
    field.as_deref().filter(|s| !s.is_empty())
}

impl<'a> Ctx<'a> {
    /// The request's fields.
    pub fn fields<T: serde::Deserialize<'a>>(&self) -> Result<T, CmdError> {
        Ok(protocol::fields(self.text)?)
    }

    /// The request's fields, for the packets clients send all the time (see
    /// [`protocol::fields_fast`]).
    pub fn fields_fast<T: serde::Deserialize<'a>>(&self) -> Result<T, CmdError> {
        Ok(protocol::fields_fast(self.text)?)
    }
}

impl Ctx<'_> {
    /// The sender's current roles; "User roles not found" when there are none.
    pub fn roles(&self) -> Result<Vec<String>, CmdError> {
        match self.app.dir().user(self.user_id) {
            Some(u) if !u.roles.is_empty() => Ok(u.roles.clone()),
            _ => Err(USER_ROLES_NOT_FOUND.into()),
        }
    }

    /// The sender's username.
    pub fn username(&self) -> String {
        self.app
            .dir()
            .user(self.user_id)
            .map_or_else(|| self.user_id.to_string(), |u| u.username.clone())
    }

    /// The channel a message command acts on (docs/protocol.md#82-message_edit step 5). Threads live only in forum
    /// channels, which this server does not serve.
    pub fn context(
        &self,
        channel: Option<&str>,
        thread_id: Option<&str>,
    ) -> Result<Channel, CmdError> {
        match (channel, thread_id) {
            (Some(c), _) => self
                .app
                .dir()
                .channel(c)
                .cloned()
                .ok_or_else(|| CHANNEL_NOT_FOUND.into()),
            (None, Some(_)) => Err(THREAD_NOT_FOUND.into()),
            (None, None) => Err(CHANNEL_OR_THREAD_ID_REQUIRED.into()),
        }
    }

    /// The name of the text channel a new message (or poll) goes to, once the sender may
    /// send there: the checks `message_new` and `poll_create` share, in their order.
    pub fn sendable(
        &self,
        channel: Option<&str>,
        thread_id: Option<&str>,
    ) -> Result<String, CmdError> {
        self.roles()?;
        let channel = self.context(channel, thread_id)?;
        let name = channel.name().to_string();
        if !self.can(&name, Action::Send) {
            return Err("You do not have permission to send messages in this channel".into());
        }
        if channel.kind() != ChannelKind::Text {
            return Err("Cannot send messages in this channel type".into());
        }
        Ok(name)
    }

    /// "Text access" (docs/protocol.md#87-history): a channel the sender can view, of type `text`.
    pub fn text_access(&self, channel: &str) -> Result<(), CmdError> {
        let dir = self.app.dir();
        let ok = dir
            .channel(channel)
            .is_some_and(|c| c.kind() == ChannelKind::Text)
            && dir.can(self.user_id, channel, Action::View);
        if ok {
            Ok(())
        } else {
            Err(CHANNEL_ACCESS_DENIED.into())
        }
    }

    /// `view` of a channel of any type, else "Access denied to this channel": a command
    /// that acts on a message (react, pin, edit, delete) first needs to see it, so that
    /// the membership keys' defaults (`react`, `edit_own`, `delete_own`: `["user"]`) do not
    /// open a channel its `view` closes, and its errors do not tell which ids exist there.
    pub fn require_view(&self, channel: &str) -> Result<(), CmdError> {
        if self.can(channel, Action::View) {
            Ok(())
        } else {
            Err(CHANNEL_ACCESS_DENIED.into())
        }
    }

    /// A server permission (docs/protocol.md#73-permissions A), else "Access denied: '<p>' permission required".
    pub fn require_permission(&self, permission: &str) -> Result<(), CmdError> {
        let dir = self.app.dir();
        let allowed = dir
            .user(self.user_id)
            .is_some_and(|u| dir.roles.has_permission(&u.roles, permission));
        if allowed {
            Ok(())
        } else {
            Err(permission_required(permission).into())
        }
    }

    /// The literal `owner` role, else "Access denied: 'owner' role required".
    pub fn require_owner(&self) -> Result<(), CmdError> {
        if self.is_owner() {
            Ok(())
        } else {
            Err(OWNER_REQUIRED.into())
        }
    }

    pub fn is_owner(&self) -> bool {
        self.app
            .dir()
            .user(self.user_id)
            .is_some_and(|u| u.roles.iter().any(|r| r == "owner"))
    }

    /// Whether the sender may do `action` in `channel` (current roles).
    pub fn can(&self, channel: &str, action: Action) -> bool {
        self.app.dir().can(self.user_id, channel, action)
    }

    /// Messages in their wire form.
    pub fn wire(&self, messages: &[Message]) -> Vec<Value> {
        let dir = self.app.dir();
        messages
            .iter()
            .map(|m| Value::Object(m.wire(&dir)))
            .collect()
    }

    /// Applies the rate limiter (docs/protocol.md#5-rate-limiting): `Err` holds the `rate_limit` reply.
    pub fn rate_limit(&self) -> Result<(), Reply> {
        let now = self.app.now();
        self.app
            .limiter
            .borrow_mut()
            .check(self.user_id, now)
            .map_err(|d| {
                Reply::to_sender(
                    &json!({"cmd": "rate_limit", "reason": d.reason, "length": d.wait_ms}),
                )
            })
    }
}
