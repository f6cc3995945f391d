//! `message_pin`, `message_unpin`, `messages_pinned` (§8.6). Replies carry the resulting
//! state, unknown ids are an error, and `message_pin` with `"pinned": false` unpins (the
//! web client unpins that way).

use serde::Deserialize;

use crate::protocol::Text;
use serde_json::json;

use super::{Ctx, Outcome, Reply, given};
use crate::model::Action;

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
        return Err("Channel name not provided".into());
    };
    if !ctx.can(channel, Action::Pin) {
        return Err("You do not have permission to pin messages in this channel".into());
    }
    let Some(id) = given(&req.id) else {
        return Err("Message ID is required".into());
    };
    let pinned = cmd == "message_pin" && req.pinned != Some(false);
    let (c, i) = (channel.to_string(), id.to_string());
    let found = ctx
        .write(move |db| {
            let Some(mut m) = db.message(&c, &i)? else {
                return Ok(false);
            };
            m.extra.insert("pinned".into(), json!(pinned));
            db.update_message(&m)?;
            Ok(true)
        })
        .await?;
    if !found {
        return Err("Message not found".into());
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
        return Err("Channel name not provided".into());
    };
    ctx.text_access(channel)?;
    let c = channel.to_string();
    let messages = ctx.read(move |db| db.pinned(&c)).await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "messages_pinned", "channel": channel, "messages": ctx.wire(&messages)}),
    ))
}
