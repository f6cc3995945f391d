//! `message_pin`, `message_unpin`, `messages_pinned` (docs/protocol.md#86-pins). Replies carry the resulting
//! state, unknown ids are an error, and `message_pin` with `"pinned": false` unpins (the
//! web client unpins that way).

use serde::Deserialize;

use crate::protocol::Text;
use serde_json::json;

use super::{Ctx, Outcome, Reply, given};
use crate::model::Action;
use crate::protocol::errors::{CHANNEL_NAME_NOT_PROVIDED, MESSAGE_ID_REQUIRED, MESSAGE_NOT_FOUND};
use crate::store::calls::Change;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    pinned: Option<bool>,
}

pub async fn pin(ctx: &Ctx<'_>, cmd: &str) -> Outcome {
    let req: Request = ctx.fields()?;
    ctx.roles()?;
    let Some(channel) = given(&req.channel) else {
        return Err(CHANNEL_NAME_NOT_PROVIDED.into());
    };
    ctx.require_view(channel)?;
    if !ctx.can(channel, Action::Pin) {
        return Err("You do not have permission to pin messages in this channel".into());
    }
    let Some(id) = given(&req.id) else {
        return Err(MESSAGE_ID_REQUIRED.into());
    };
    let pinned = cmd == "message_pin" && req.pinned != Some(false);
    let entry = ctx
        .audit(if pinned {
            "message_pin"
        } else {
            "message_unpin"
        })
        .target(id, None)
        .details(json!({"channel": channel}));
    let found = ctx
        .app
        .store
        .change_message(channel, id, move |m| {
            m.extra.insert("pinned".into(), json!(pinned));
            Change::SaveLogged((), entry)
        })
        .await?;
    if found.is_none() {
        return Err(MESSAGE_NOT_FOUND.into());
    }
    Ok(Reply::global(
        &json!({"cmd": cmd, "id": id, "channel": channel, "pinned": pinned, "global": true}),
        Some(channel),
    ))
}

#[derive(Deserialize)]
struct ChannelOnly<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
}

pub async fn messages_pinned(ctx: &Ctx<'_>) -> Outcome {
    let req: ChannelOnly = ctx.fields()?;
    let Some(channel) = given(&req.channel) else {
        return Err(CHANNEL_NAME_NOT_PROVIDED.into());
    };
    ctx.text_access(channel)?;
    let messages = ctx.app.store.pinned(channel).await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "messages_pinned", "channel": channel, "messages": ctx.wire(&messages)}),
    ))
}
