//! `message_delete` (§8.3): own messages with `delete_own`, others' with `delete`.

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
    #[serde(borrow)]
    thread_id: Option<Text<'a>>,
}

enum Delete {
    Done,
    NotFound,
    OwnForbidden,
    OthersForbidden,
}

pub async fn message_delete(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let Some(id) = given(&req.id) else {
        return Err("Invalid message delete format".into());
    };
    if given(&req.channel).is_none() && given(&req.thread_id).is_none() {
        return Err("Invalid message delete format".into());
    }
    ctx.roles()?;
    let channel = ctx.context(given(&req.channel), given(&req.thread_id))?;
    let name = channel.name().to_string();
    let (own, others) = (
        ctx.can(&name, Action::DeleteOwn),
        ctx.can(&name, Action::Delete),
    );
    let (c, i, me) = (name.clone(), id.to_string(), ctx.user_id.to_string());
    let outcome = ctx
        .write(move |db| {
            let Some(m) = db.message(&c, &i)? else {
                return Ok(Delete::NotFound);
            };
            match (m.user_id == me, own, others) {
                (true, false, _) => return Ok(Delete::OwnForbidden),
                (false, _, false) => return Ok(Delete::OthersForbidden),
                _ => {}
            }
            db.delete_message(&c, &i)?;
            Ok(Delete::Done)
        })
        .await?;
    match outcome {
        Delete::Done => Ok(Reply::global(
            &json!({"cmd": "message_delete", "id": id, "channel": name, "global": true}),
            Some(&name),
        )),
        Delete::NotFound => Err("Message not found or cannot be deleted".into()),
        Delete::OwnForbidden => {
            Err("You do not have permission to delete your own message in this channel".into())
        }
        Delete::OthersForbidden => Err("You do not have permission to delete this message".into()),
    }
}
