//! `typing` (§8.4): a typing indicator for the channel's viewers (rate limited).

use serde::Deserialize;

use crate::protocol::Text;
use serde_json::json;

use super::{Ctx, Outcome, Reply, given};

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    thread_id: Option<Text<'a>>,
}

pub fn typing(ctx: &Ctx<'_>) -> Outcome {
    if let Err(limited) = ctx.rate_limit() {
        return Ok(limited);
    }
    let req: Request = ctx.fields_fast()?;
    let channel = match (given(&req.channel), given(&req.thread_id)) {
        (Some(c), _) => c,
        (None, Some(_)) => return Err("Thread not found".into()),
        (None, None) => return Err("Channel name or thread_id not provided".into()),
    };
    if ctx.app.dir().user(ctx.user_id).is_none() {
        return Err("User not found".into());
    }
    if ctx.app.dir().channel(channel).is_none() {
        return Err("Channel not found".into());
    }
    ctx.text_access(channel)?;
    Ok(Reply::global(
        &json!({"cmd": "typing", "channel": channel, "user": ctx.username(), "thread_id": null, "global": true}),
        Some(channel),
    ))
}
