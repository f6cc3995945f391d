//! `typing` (docs/protocol.md#84-typing): a typing indicator for the channel's viewers (rate limited).

use crate::protocol::errors::{CHANNEL_NOT_FOUND, USER_NOT_FOUND};
use serde::{Deserialize, Serialize};

use crate::hub::Route;
use crate::protocol::{Encoded, Text, encode};

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
        return Err(USER_NOT_FOUND.into());
    }
    if ctx.app.dir().channel(channel).is_none() {
        return Err(CHANNEL_NOT_FOUND.into());
    }
    ctx.text_access(channel)?;
    let packet = packet(channel, &ctx.username());
    Ok(Reply {
        packet,
        route: Route::Global(Some(channel.to_string())),
        then_close: None,
    })
}

/// The `typing` broadcast, encoded once for every viewer.
pub fn packet(channel: &str, username: &str) -> Encoded {
    #[derive(Serialize)]
    struct Typing<'a> {
        cmd: &'static str,
        channel: &'a str,
        user: &'a str,
        thread_id: Option<&'a str>,
        global: bool,
    }
    encode(&Typing {
        cmd: "typing",
        channel,
        user: username,
        thread_id: None,
        global: true,
    })
}
