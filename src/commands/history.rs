//! Reading history (docs/protocol.md#87-history): `messages_get`, `message_get`, `message_replies`,
//! `messages_search`, `messages_around`. All reads run on the store's reader thread and
//! touch only the page asked for.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{CmdError, Ctx, Outcome, Reply, given};
use crate::hub::Target;
use crate::protocol::errors::{
    CHANNEL_AND_MESSAGE_ID_REQUIRED, MESSAGE_ID_REQUIRED, MESSAGE_NOT_FOUND, invalid_field,
};
use crate::protocol::{Text, encode};
use crate::store::calls::Start;

/// `limit` of `messages_get` at most.
const MAX_PAGE: usize = 200;
/// `limit` of `message_replies` at most (the original server has none; memory wants one).
const MAX_REPLIES: usize = 200;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    thread_id: Option<Text<'a>>,
    #[serde(borrow)]
    id: Option<Text<'a>>,
    start: Option<Value>,
    limit: Option<Value>,
    #[serde(borrow)]
    query: Option<Text<'a>>,
    #[serde(borrow)]
    around: Option<Text<'a>>,
    bounds: Option<Value>,
}

/// A number field as an integer (floats truncated, as Python slicing would refuse them
/// anyway); anything else is an error naming the field.
fn integer(v: &Value, field: &str) -> Result<i64, CmdError> {
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .ok_or_else(|| invalid_field(field, "expected a number").into())
}

pub async fn messages_get(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    ctx.roles()?;
    let channel = ctx.context(given(&req.channel), given(&req.thread_id))?;
    let name = channel.name().to_string();
    ctx.text_access(&name)?;
    let limit_sent = match &req.limit {
        None | Some(Value::Null) => None,
        Some(v) => Some(integer(v, "limit")?),
    };
    let limit = match limit_sent {
        None => 100,
        Some(n) if n <= 0 => 100,
        Some(n) => (n as usize).min(MAX_PAGE),
    };
    let (start, range) = match &req.start {
        None | Some(Value::Null) => (
            Start::Back(0),
            json!({"start": 0, "end": limit_sent.unwrap_or(100)}),
        ),
        Some(Value::String(id)) => (Start::Before(id.clone()), json!({"start": id, "end": null})),
        Some(v) => {
            let n = integer(v, "start")?;
            let end = n.saturating_add(limit_sent.unwrap_or(100));
            (
                Start::Back(n.max(0) as usize),
                json!({"start": v, "end": end}),
            )
        }
    };
    let (mut messages, newest) = ctx.app.store.page(&name, start, limit).await?;
    ctx.app.mark_own_votes(ctx.user_id, &mut messages).await?;
    if let Some((newest_id, _)) = newest {
        match ctx
            .app
            .store
            .set_last_read(ctx.user_id, &name, &newest_id)
            .await
        {
            Ok(()) => {
                let update = encode(
                    &json!({"cmd": "unreads_update", "last_read": newest_id, "channel": name}),
                );
                ctx.app.broadcast(Target::User(ctx.user_id), &update);
            }
            // History is still read while the disk is full or read-only; the read marker
            // moves with a later read.
            Err(e) if e.disk_trouble().is_some() => {
                log::warn!("read marker of {} in {name} not saved: {e}", ctx.user_id)
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Reply::to_sender(
        &json!({"cmd": "messages_get", "channel": name, "messages": ctx.wire(&messages), "range": range}),
    ))
}

pub async fn message_get(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let Some(id) = given(&req.id) else {
        return Err(CHANNEL_AND_MESSAGE_ID_REQUIRED.into());
    };
    if given(&req.channel).is_none() && given(&req.thread_id).is_none() {
        return Err(CHANNEL_AND_MESSAGE_ID_REQUIRED.into());
    }
    ctx.roles()?;
    let channel = ctx.context(given(&req.channel), given(&req.thread_id))?;
    let name = channel.name().to_string();
    ctx.text_access(&name)?;
    let Some(message) = ctx.app.store.message(&name, id).await? else {
        return Err(MESSAGE_NOT_FOUND.into());
    };
    let mut messages = [message];
    ctx.app.mark_own_votes(ctx.user_id, &mut messages).await?;
    let wire = ctx.wire(&messages).pop();
    Ok(Reply::to_sender(
        &json!({"cmd": "message_get", "channel": name, "message": wire}),
    ))
}

pub async fn message_replies(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let (Some(channel), Some(id)) = (given(&req.channel), given(&req.id)) else {
        return Err("Channel name and message ID are required".into());
    };
    ctx.text_access(channel)?;
    let limit = match &req.limit {
        None | Some(Value::Null) => 50,
        Some(v) => integer(v, "limit")?.clamp(0, MAX_REPLIES as i64) as usize,
    };
    let replies = ctx.app.store.replies(channel, id, limit).await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "message_replies", "channel": channel, "message_id": id, "replies": ctx.wire(&replies)}),
    ))
}

pub async fn messages_search(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let (Some(channel), Some(query)) = (given(&req.channel), given(&req.query)) else {
        return Err("Channel name and query are required".into());
    };
    ctx.text_access(channel)?;
    let limit = ctx.app.config.limits.search_results.min(50);
    let results = ctx.app.store.search(channel, query, limit).await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "messages_search", "channel": channel, "query": query, "results": ctx.wire(&results)}),
    ))
}

pub async fn messages_around(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let Some(around) = given(&req.around) else {
        return Err("around (message ID) is required".into());
    };
    ctx.roles()?;
    let channel = ctx.context(given(&req.channel), given(&req.thread_id))?;
    let name = channel.name().to_string();
    ctx.text_access(&name)?;
    let bound = |key: &str| -> Result<usize, CmdError> {
        match req.bounds.as_ref().and_then(|b| b.get(key)) {
            None | Some(Value::Null) => Ok(50),
            Some(v) => Ok(integer(v, key)?.clamp(0, MAX_PAGE as i64) as usize),
        }
    };
    let (above, below) = (bound("above")?, bound("below")?);
    let found = ctx.app.store.around(&name, around, above, below).await?;
    let Some((mut messages, start, end)) = found else {
        return Err(MESSAGE_NOT_FOUND.into());
    };
    ctx.app.mark_own_votes(ctx.user_id, &mut messages).await?;
    Ok(Reply::to_sender(&json!({
        "cmd": "messages_around", "channel": name, "thread_id": null,
        "messages": ctx.wire(&messages), "range": {"start": start, "end": end}
    })))
}

/// `embeds_list`: the embeds of one message (of a channel the sender can read).
pub async fn embeds_list(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let Some(id) = given(&req.id) else {
        return Err(MESSAGE_ID_REQUIRED.into());
    };
    let channel = ctx.context(given(&req.channel), given(&req.thread_id))?;
    let name = channel.name().to_string();
    ctx.text_access(&name)?;
    let Some(message) = ctx.app.store.message(name, id).await? else {
        return Err(MESSAGE_NOT_FOUND.into());
    };
    let embeds = message
        .extra
        .get("embeds")
        .cloned()
        .unwrap_or_else(|| json!([]));
    Ok(Reply::to_sender(
        &json!({"cmd": "embeds_list", "id": id, "embeds": embeds}),
    ))
}
