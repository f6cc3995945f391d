//! Read markers: `unreads_get`, `unreads_ack`, `unreads_count`. The web client calls
//! `unreads_get` on every start.

use serde::Deserialize;
use serde_json::{Map, json};

use super::{Ctx, Outcome, Reply, given};
use crate::hub::Target;
use crate::model::Action;
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
            .filter(|c| c.kind() == "text" && dir.can(ctx.user_id, c.name(), Action::View))
            .map(|c| c.name().to_string())
            .collect()
    };
    let me = ctx.user_id.to_string();
    let counts = ctx
        .read(move |db| {
            let marks = db.last_reads(&me)?;
            let mut out = Vec::with_capacity(channels.len());
            for c in channels {
                let last = marks.get(&c).cloned();
                let (unread, total) = db.unread_count(&c, last.as_deref())?;
                out.push((c, last, unread, total));
            }
            Ok(out)
        })
        .await?;
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
        return Err("Channel or thread_id is required".into());
    }
    ctx.roles()?;
    let channel = ctx.context(given(&req.channel), given(&req.thread_id))?;
    let name = channel.name().to_string();
    ctx.text_access(&name)?;
    let last_read = match given(&req.message_id) {
        Some(id) => Some(id.to_string()),
        None => {
            let c = name.clone();
            ctx.read(move |db| db.newest(&c)).await?.map(|(id, _)| id)
        }
    };
    if let Some(id) = &last_read {
        let (c, me, i) = (name.clone(), ctx.user_id.to_string(), id.clone());
        ctx.write(move |db| db.set_last_read(&me, &c, &i)).await?;
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
        (None, Some(_)) => return Err("Thread not found".into()),
        (None, None) => return Err("Channel or thread_id is required".into()),
    };
    ctx.roles()?;
    ctx.text_access(&channel)?;
    let (c, me) = (channel.clone(), ctx.user_id.to_string());
    let (last, unread, total) = ctx
        .read(move |db| {
            let last = db.last_reads(&me)?.remove(&c);
            let (unread, total) = db.unread_count(&c, last.as_deref())?;
            Ok((last, unread, total))
        })
        .await?;
    Ok(Reply::to_sender(&json!({
        "cmd": "unreads_count", "channel": channel, "unread_count": unread, "last_read": last, "total_messages": total
    })))
}
