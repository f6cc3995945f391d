//! Commands of authenticated clients: one file per command (or small family), each of the
//! form "read fields → check → change state / store → build the reply". This module reads
//! the frame, answers malformed input (§1.2), sends unauthenticated packets to
//! [`crate::auth`], dispatches by `cmd` and routes the reply (§2) through the hub.

mod ping;

use std::borrow::Cow;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth;
use crate::hub::{Route, Session};
use crate::protocol::{self, Encoded, Envelope, Malformed, encode, outbound};

/// Every command [`dispatch`] answers, for the handshake's `capabilities`.
pub const COMMANDS: &[&str] = &["ping"];

/// A handler's answer to the sender, and who else gets it.
pub struct Reply {
    pub packet: Encoded,
    pub route: Route,
}

impl Reply {
    /// A reply for the sender only.
    pub fn to_sender<T: Serialize + ?Sized>(packet: &T) -> Reply {
        Reply {
            packet: encode(packet),
            route: Route::Sender,
        }
    }

    /// A `global` reply: the viewers of `channel` (or everyone), then the sender.
    pub fn global<T: Serialize + ?Sized>(packet: &T, channel: Option<&str>) -> Reply {
        Reply {
            packet: encode(packet),
            route: Route::Global(channel.map(str::to_string)),
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
        &app.dir.borrow(),
        session,
        &reply.packet,
        &reply.route,
        packet.listener.as_deref(),
    );
}

async fn dispatch(ctx: &Ctx<'_>, packet: &Envelope<'_>) -> Outcome {
    match packet.cmd.as_ref() {
        "ping" => ping::ping(ctx),
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
        let reason = match app.dir.borrow().user(&user_id) {
            None => "Your account was deleted",
            Some(u) if u.is_banned() => "You have been banned",
            Some(_) => continue,
        };
        disconnect(&session, reason);
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
