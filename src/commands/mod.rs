//! Commands of authenticated clients: one file per command (or small family), each of the
//! form "read fields → check → change state / store → build the reply". This module reads
//! the frame, answers malformed input (§1.2), sends unauthenticated packets to
//! [`crate::auth`], dispatches by `cmd` and routes the reply (§2) through the hub.

mod channels;
mod history;
mod message_delete;
mod message_edit;
mod message_new;
mod moderation;
mod ping;
mod pings;
mod pins;
mod profile;
mod reactions;
mod roles;
mod server_info;
mod slash;
mod status;
pub mod typing;
mod unreads;
mod user_update;
mod users;
mod voice;

pub use channels::push_channel_lists;
pub use message_new::{broadcast_packet, post_as_server};
pub use voice::leave_voice;

use std::borrow::Cow;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth;
use crate::hub::{Route, Session};
use crate::model::{Action, Channel, Message};
use crate::protocol::{self, Encoded, Envelope, Malformed, encode, outbound};

/// Every command [`dispatch`] answers, for the handshake's `capabilities`.
pub const COMMANDS: &[&str] = &[
    "channel_create",
    "channel_delete",
    "channel_move",
    "channel_update",
    "channels_get",
    "embeds_list",
    "message_delete",
    "message_edit",
    "message_get",
    "message_new",
    "message_pin",
    "message_react_add",
    "message_react_remove",
    "message_replies",
    "message_unpin",
    "messages_around",
    "messages_get",
    "messages_pinned",
    "messages_search",
    "nickname_remove",
    "nickname_update",
    "pfp_get",
    "pfp_set",
    "ping",
    "pings_get",
    "rate_limit_reset",
    "rate_limit_status",
    "role_create",
    "role_delete",
    "role_permissions_get",
    "role_permissions_set",
    "role_reorder",
    "role_update",
    "roles_list",
    "self_role_add",
    "self_role_remove",
    "self_roles_list",
    "server_info",
    "server_update",
    "session_token_create",
    "session_token_revoke",
    "slash_call",
    "slash_list",
    "status_get",
    "status_set",
    "typing",
    "unreads_ack",
    "unreads_count",
    "unreads_get",
    "user_ban",
    "user_leave",
    "user_roles_get",
    "user_roles_set",
    "user_timeout",
    "user_unban",
    "user_update",
    "users_banned_list",
    "users_list",
    "users_online",
    "voice_join",
    "voice_leave",
    "voice_mute",
    "voice_state",
    "voice_unmute",
];

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
            _ => Err("User roles not found".into()),
        }
    }

    /// The sender's username.
    pub fn username(&self) -> String {
        self.app
            .dir()
            .user(self.user_id)
            .map_or_else(|| self.user_id.to_string(), |u| u.username.clone())
    }

    /// The channel a message command acts on (§8.2 step 5). Threads live only in forum
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
                .ok_or_else(|| "Channel not found".into()),
            (None, Some(_)) => Err("Thread not found".into()),
            (None, None) => Err("Channel or thread_id required".into()),
        }
    }

    /// "Text access" (§8.7): a channel the sender can view, of type `text`.
    pub fn text_access(&self, channel: &str) -> Result<(), CmdError> {
        let dir = self.app.dir();
        let ok = dir.channel(channel).is_some_and(|c| c.kind() == "text")
            && dir.can(self.user_id, channel, Action::View);
        if ok {
            Ok(())
        } else {
            Err("Access denied to this channel".into())
        }
    }

    /// A server permission (§7.3 A), else "Access denied: '<p>' permission required".
    pub fn require_permission(&self, permission: &str) -> Result<(), CmdError> {
        let dir = self.app.dir();
        let allowed = dir
            .user(self.user_id)
            .is_some_and(|u| dir.roles.has_permission(&u.roles, permission));
        if allowed {
            Ok(())
        } else {
            Err(format!("Access denied: '{permission}' permission required").into())
        }
    }

    /// The literal `owner` role, else "Access denied: 'owner' role required".
    pub fn require_owner(&self) -> Result<(), CmdError> {
        if self.is_owner() {
            Ok(())
        } else {
            Err("Access denied: 'owner' role required".into())
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

    /// Applies the rate limiter (§5): `Err` holds the `rate_limit` reply.
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

    /// Reads from the store (reader thread).
    pub async fn read<R, F>(&self, f: F) -> Result<R, CmdError>
    where
        R: Send + 'static,
        F: FnOnce(&crate::store::Db) -> Result<R, crate::store::StoreError> + Send + 'static,
    {
        self.app.store.read(f).await.map_err(store_failed)
    }

    /// Writes to the store and waits for the commit.
    pub async fn write<R, F>(&self, f: F) -> Result<R, CmdError>
    where
        R: Send + 'static,
        F: FnOnce(&crate::store::Db) -> Result<R, crate::store::StoreError> + Send + 'static,
    {
        self.app.write(f).await.map_err(store_failed)
    }
}

fn store_failed(e: crate::store::StoreError) -> CmdError {
    log::error!("storage error: {e}");
    "The server could not read or save this (storage error); try again".into()
}

/// Handles one text frame from a client.
pub async fn handle_frame(app: &Rc<App>, session: &Rc<Session>, text: &str) {
    let packet = match protocol::decode(text) {
        Ok(packet) => packet,
        Err(m) => return malformed(session, m),
    };
    let Some(user_id) = session.user_id() else {
        return auth::handle(app, session, &packet).await;
    };
    if packet.cmd == "pong" {
        // The answer to our heartbeat: welcome, nothing to say.
        return;
    }
    let ctx = Ctx {
        app,
        session,
        user_id: &user_id,
        text,
    };
    let reply = dispatch(&ctx, &packet)
        .await
        .unwrap_or_else(|CmdError(text)| Reply::to_sender(&outbound::error(&packet.cmd, &text)));
    app.hub.reply(
        &app.dir(),
        app.dir_version(),
        session,
        &reply.packet,
        &reply.route,
        packet.listener.as_deref(),
    );
    if let Some((user_id, reason)) = reply.then_close {
        for s in app.hub.sessions_of(&user_id) {
            s.push(crate::server::outbox::Outgoing::Close(1000, reason));
        }
    }
}

async fn dispatch(ctx: &Ctx<'_>, packet: &Envelope<'_>) -> Outcome {
    match packet.cmd.as_ref() {
        "channels_get" => channels::channels_get(ctx).await,
        "channel_create" => channels::channel_create(ctx).await,
        "channel_update" => channels::channel_update(ctx).await,
        "channel_move" => channels::channel_move(ctx).await,
        "channel_delete" => channels::channel_delete(ctx).await,
        "voice_join" => voice::voice_join(ctx),
        "voice_leave" => voice::voice_leave(ctx),
        "voice_mute" => voice::voice_mute(ctx, true),
        "voice_unmute" => voice::voice_mute(ctx, false),
        "voice_state" => voice::voice_state(ctx),
        "role_create" => roles::role_create(ctx).await,
        "role_update" => roles::role_update(ctx).await,
        "role_delete" => roles::role_delete(ctx).await,
        "role_reorder" => roles::role_reorder(ctx).await,
        "user_roles_set" => roles::user_roles_set(ctx).await,
        "self_role_add" => roles::self_role(ctx, true).await,
        "self_role_remove" => roles::self_role(ctx, false).await,
        "self_roles_list" => roles::self_roles_list(ctx),
        "user_ban" => moderation::user_ban(ctx, true).await,
        "user_unban" => moderation::user_ban(ctx, false).await,
        "users_banned_list" => moderation::users_banned_list(ctx),
        "user_timeout" => moderation::user_timeout(ctx),
        "rate_limit_reset" => moderation::rate_limit_reset(ctx),
        "user_leave" => moderation::user_leave(ctx).await,
        "server_update" => moderation::server_update(ctx).await,
        "session_token_create" => auth::session_token::create(ctx).await,
        "session_token_revoke" => auth::session_token::revoke(ctx).await,
        "slash_list" => slash::slash_list(ctx),
        "slash_call" => slash::slash_call(ctx).await,
        "embeds_list" => history::embeds_list(ctx).await,
        "role_permissions_get" => roles::role_permissions_get(ctx),
        "role_permissions_set" => roles::role_permissions_set(ctx).await,
        "user_update" => user_update::user_update(ctx).await,
        "message_delete" => message_delete::message_delete(ctx).await,
        "message_edit" => message_edit::message_edit(ctx).await,
        "message_get" => history::message_get(ctx).await,
        "message_new" => message_new::message_new(ctx).await,
        "message_pin" | "message_unpin" => pins::pin(ctx, &packet.cmd).await,
        "message_react_add" => reactions::react(ctx, true).await,
        "message_react_remove" => reactions::react(ctx, false).await,
        "message_replies" => history::message_replies(ctx).await,
        "messages_around" => history::messages_around(ctx).await,
        "messages_get" => history::messages_get(ctx).await,
        "messages_pinned" => pins::messages_pinned(ctx).await,
        "messages_search" => history::messages_search(ctx).await,
        "nickname_remove" => profile::nickname(ctx, false).await,
        "nickname_update" => profile::nickname(ctx, true).await,
        "pfp_get" => profile::pfp_get(ctx),
        "pfp_set" => profile::pfp_set(ctx).await,
        "ping" => ping::ping(ctx),
        "pings_get" => pings::pings_get(ctx).await,
        "rate_limit_status" => server_info::rate_limit_status(ctx),
        "roles_list" => users::roles_list(ctx),
        "server_info" => server_info::server_info(ctx),
        "status_get" => status::status_get(ctx),
        "status_set" => status::status_set(ctx).await,
        "typing" => typing::typing(ctx),
        "unreads_ack" => unreads::unreads_ack(ctx).await,
        "unreads_count" => unreads::unreads_count(ctx).await,
        "unreads_get" => unreads::unreads_get(ctx).await,
        "user_roles_get" => users::user_roles_get(ctx),
        "users_list" => users::users_list(ctx),
        "users_online" => users::users_online(ctx),
        other => Err(format!("Unknown command: {other}").into()),
    }
}

/// After another process changed the store: users who are now banned or gone lose their
/// connections, as a ban does (§8.11 "→ do").
pub fn after_external_change(app: &App) {
    for session in app.hub.sessions() {
        let Some(user_id) = session.user_id() else {
            continue;
        };
        let reason = match app.dir().user(&user_id) {
            None => "Your account was deleted",
            Some(u) if u.is_banned() => "You have been banned",
            Some(_) => continue,
        };
        disconnect(&session, reason);
    }
    // Voice channels that were deleted or turned into something else lose their people.
    let stale: Vec<String> = {
        let dir = app.dir();
        let voice = app.voice.borrow();
        dir.users()
            .filter_map(|u| {
                voice
                    .channel_of(&u.id)
                    .map(|c| (u.id.clone(), c.to_string()))
            })
            .filter(|(_, c)| dir.channel(c).is_none_or(|c| c.kind() != "voice"))
            .map(|(u, _)| u)
            .collect()
    };
    for user in stale {
        leave_voice(app, &user);
    }
}

/// Tells a connection why it is closed, then closes it.
pub fn disconnect(session: &Session, reason: &'static str) {
    session.send(encode(&json!({"cmd": "disconnect", "reason": reason})));
    session.push(crate::server::outbox::Outgoing::Close(1008, reason));
}

/// Answers a frame that is not a usable packet; the connection stays open.
fn malformed(session: &Session, m: Malformed) {
    let authed = session.is_authenticated();
    let packet = match m {
        Malformed::InvalidJson => json!({"cmd": "error", "val": "Invalid JSON"}),
        Malformed::NotAnObject(kind) => json!({
            "cmd": "error",
            "val": format!("Invalid message format: expected a dictionary, got {kind}")
        }),
        Malformed::MissingCmd | Malformed::NonStringCmd(_) if !authed => {
            return session.send(outbound::auth_error(auth::AUTH_REQUIRED));
        }
        Malformed::MissingCmd => json!({"cmd": "error", "val": "Unknown command: None"}),
        Malformed::NonStringCmd(cmd) => {
            let shown = match &cmd {
                Value::Bool(true) => "True".to_string(),
                Value::Bool(false) => "False".to_string(),
                Value::Null => "None".to_string(),
                other => other.to_string(),
            };
            json!({"cmd": "error", "src": cmd, "val": format!("Unknown command: {shown}")})
        }
    };
    session.send(encode(&packet));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_list_is_sorted_and_unique() {
        let mut sorted = COMMANDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, COMMANDS);
    }
}
