//! `pings_get`: messages that mention the sender (or a role of theirs) or reply to them,
//! across the text channels they can view, newest first, a page at a time.

use crate::protocol::errors::USER_NOT_FOUND;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, Outcome, Reply};
use crate::model::{Action, ChannelKind};

#[derive(Deserialize)]
struct Request {
    limit: Option<Value>,
    offset: Option<Value>,
}

pub async fn pings_get(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let (username, roles, channels) = {
        let dir = ctx.app.dir();
        let Some(user) = dir.user(ctx.user_id) else {
            return Err(USER_NOT_FOUND.into());
        };
        let channels: Vec<String> = dir
            .channels
            .iter()
            .filter(|c| {
                c.kind() == ChannelKind::Text && dir.can(ctx.user_id, c.name(), Action::View)
            })
            .map(|c| c.name().to_string())
            .collect();
        (user.username.clone(), user.roles.clone(), channels)
    };
    let limit = match &req.limit {
        None => 50,
        Some(v) => match v.as_i64() {
            Some(n @ 1..=100) => n as usize,
            _ => return Err("Limit must be a number between 1 and 100".into()),
        },
    };
    let offset = match &req.offset {
        None => 0,
        Some(v) => match v.as_i64() {
            Some(n @ 0..) => n as usize,
            _ => return Err("Offset must be a non-negative number".into()),
        },
    };
    let (page, total) = ctx
        .app
        .store
        .pings(channels, ctx.user_id, username, roles, offset, limit)
        .await?;
    let messages: Vec<Value> = {
        let dir = ctx.app.dir();
        page.iter()
            .map(|m| {
                let mut w = m.wire(&dir);
                w.insert("channel".into(), json!(m.channel));
                Value::Object(w)
            })
            .collect()
    };
    Ok(Reply::to_sender(
        &json!({"cmd": "pings_get", "messages": messages, "offset": offset, "limit": limit, "total": total}),
    ))
}
