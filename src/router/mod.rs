//! The router: what happens to a text frame between the transport and the handlers.
//!
//! It decodes the frame, answers malformed input ([`malformed`]), sends a packet of a
//! connection that is not authenticated yet to the authentication commands and anything
//! else to the commands — both found in one table ([`table`]), from which the handshake's
//! `capabilities` are derived too — and routes the reply (docs/protocol.md#2-routing-of-replies) through the hub.
//! A message above `connections.max_message_bytes` (only an authenticated connection can
//! send one: the transport's gate sees to that) is handled only for the commands that carry
//! images ([`table::LARGE_COMMANDS`]); any other command gets an error instead.
//!
//! See `docs/architecture.md` ("Layers", "Where things go").

pub mod malformed;
pub mod table;

use std::rc::Rc;

use serde_json::json;

use crate::app::App;
use crate::auth;
use crate::commands::{CmdError, Ctx, Reply};
use crate::hub::Session;
use crate::protocol::errors::{AUTH_REQUIRED, message_too_large, unknown_command};
use crate::protocol::{self, Encoded, encode, outbound};

/// Handles one text frame from a client.
pub async fn handle_frame(app: &Rc<App>, session: &Rc<Session>, text: &str) {
    let packet = match protocol::decode(text) {
        Ok(packet) => packet,
        Err(m) => return malformed::answer(session, m),
    };
    let Some(user_id) = session.user_id() else {
        let mode = app.config.auth_mode();
        return match table::before_auth(app, session, text, &packet.cmd, mode).await {
            None => session.send(outbound::auth_error(AUTH_REQUIRED)),
            Some(Ok(())) => {}
            Some(Err(failure)) => auth::refused(app, session, failure),
        };
    };
    let max_message_bytes = app.config.connections.max_message_bytes;
    let too_large =
        text.len() > max_message_bytes && !table::LARGE_COMMANDS.contains(&packet.cmd.as_ref());
    if packet.cmd == "pong" && !too_large {
        // The answer to our heartbeat: welcome, nothing to say.
        return;
    }
    let ctx = Ctx {
        app,
        session,
        user_id: &user_id,
        text,
    };
    let outcome = if too_large {
        Err(message_too_large(&packet.cmd, max_message_bytes).into())
    } else {
        match table::after_auth(&ctx, &packet.cmd).await {
            Some(outcome) => outcome,
            None => Err(unknown_command(&packet.cmd).into()),
        }
    };
    let reply = outcome
        .unwrap_or_else(|CmdError(text)| Reply::to_sender(&outbound::error(&packet.cmd, &text)));
    // The reply to the connection's own request waits for room in its queue rather than
    // overflowing it (a pipelining client that reads is no slow consumer). Escaping can
    // make the copied `listener` longer than its text: counted twice.
    let listener_cost = packet.listener.as_deref().map_or(0, |l| 2 * l.len() + 16);
    session
        .outbox
        .room_for(reply.packet.len() + listener_cost)
        .await;
    app.hub.reply(
        &app.dir(),
        app.dir_version(),
        session,
        &reply.packet,
        &reply.route,
        packet.listener.as_deref(),
    );
    if let Some((user_id, reason)) = reply.then_close {
        app.close_connections(&user_id, reason);
    }
}

/// The first packet of every connection (`docs/protocol.md` docs/protocol.md#31-handshake).
pub fn handshake(app: &App, session: &Session) -> Encoded {
    let a = &app.config.attachments;
    let mut capabilities = table::capabilities(app.config.auth_mode());
    if !a.enabled {
        // An HTTP route: the official client uploads to an outside host without it.
        capabilities.retain(|c| *c != "attachment_upload");
    }
    encode(&json!({
        "cmd": "handshake",
        "val": {
            "server": app.server_view(&session.base_url.borrow()),
            "limits": app.config.limits.raw,
            "attachments": {
                "enabled": a.enabled,
                "max_size": a.max_size,
                "allowed_types": a.allowed_types,
                "max_attachments_per_user": a.max_attachments_per_user,
                "permanent_tiers": a.permanent_tiers,
            },
            "version": "1.1.0",
            "validator_key": session.validator_key.as_str(),
            "capabilities": capabilities,
            "permissions": crate::model::role::SERVER_PERMISSIONS,
            "auth_mode": app.config.auth_mode,
        }
    }))
}
