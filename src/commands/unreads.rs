//! Read markers: `unreads_get`, `unreads_ack`, `unreads_count`. The web client calls
//! `unreads_get` on every start.

use serde::Deserialize;
use serde_json::{Map, json};

use super::{Ctx, Outcome, Reply, given};
use crate::hub::Target;
use crate::model::{Action, ChannelKind};
use crate::protocol::errors::{CHANNEL_OR_THREAD_REQUIRED, THREAD_NOT_FOUND};
use crate::protocol::{Text, encode};

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    thread_id: Option<Text<'a>>,
    #[serde(borrow)]
    message_id: Option<Text<'a>>,
}

pub async fn unreads_get(ctx: &Ctx<'_>) -> Outcome {
    ctx.roles()?;
    let channels: Vec<String> = {
        let dir = ctx.app.dir();
        dir.channels
            .iter()
            .filter(|c| {
                c.kind() == ChannelKind::Text && dir.can(ctx.user_id, c.name(), Action::View)
            })
            .map(|c| c.name().to_string())
            .collect()
    };
    let counts = ctx.app.store.unread_counts(ctx.user_id, channels).await?;
    let mut unreads = Map::new();
    for (c, last, unread, total) in counts {
        unreads.insert(
            c,
            json!({"last_read": last, "unread_count": unread, "total_messages": total}),
        );
    }
    Ok(Reply::to_sender(
        &json!({"cmd": "unreads_get", "unreads": unreads}),
    ))
}

pub async fn unreads_ack(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    if given(&req.channel).is_none() && given(&req.thread_id).is_none() {
        return Err(CHANNEL_OR_THREAD_REQUIRED.into());
    }
    ctx.roles()?;
    let channel = ctx.context(given(&req.channel), given(&req.thread_id))?;
    let name = channel.name().to_string();
    ctx.text_access(&name)?;
    let last_read = match given(&req.message_id) {
        Some(id) => Some(id.to_string()),
        None => ctx.app.store.newest(&name).await?.map(|(id, _)| id),
    };
    if let Some(id) = &last_read {
        ctx.app.store.set_last_read(ctx.user_id, &name, id).await?;
        let update = encode(&json!({"cmd": "unreads_update", "last_read": id, "channel": name}));
        ctx.app.broadcast(Target::User(ctx.user_id), &update);
    }
    Ok(Reply::to_sender(
        &json!({"cmd": "unreads_ack", "channel": name, "last_read": last_read}),
    ))
}

pub async fn unreads_count(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let channel = match (given(&req.channel), given(&req.thread_id)) {
        (Some(c), _) => c.to_string(),
        (None, Some(_)) => return Err(THREAD_NOT_FOUND.into()),
        (None, None) => return Err(CHANNEL_OR_THREAD_REQUIRED.into()),
    };
    ctx.roles()?;
    ctx.text_access(&channel)?;
    let counted = ctx
        .app
        .store
        .unread_counts(ctx.user_id, vec![channel.clone()])
        .await?;
    let (_, last, unread, total) = counted.into_iter().next().unwrap_or_default();
    Ok(Reply::to_sender(&json!({
        "cmd": "unreads_count", "channel": channel, "unread_count": unread, "last_read": last, "total_messages": total
    })))
}
