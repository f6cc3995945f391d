//! `message_delete` (docs/protocol.md#83-message_delete): own messages with `delete_own`, others' with `delete`.

use serde::Deserialize;

use crate::protocol::Text;
use serde_json::json;

use super::{Ctx, Outcome, Reply, given};
use crate::model::Action;
use crate::protocol::errors::INVALID_DELETE;
use crate::store::calls::Change;

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
        return Err(INVALID_DELETE.into());
    };
    if given(&req.channel).is_none() && given(&req.thread_id).is_none() {
        return Err(INVALID_DELETE.into());
    }
    ctx.roles()?;
    let channel = ctx.context(given(&req.channel), given(&req.thread_id))?;
    let name = channel.name().to_string();
    ctx.require_view(&name)?;
    let (own, others) = (
        ctx.can(&name, Action::DeleteOwn),
        ctx.can(&name, Action::Delete),
    );
    let me = ctx.user_id.to_string();
    // Only a deletion of someone else's message is moderation, and goes into the audit log.
    let entry = ctx.audit("message_delete").target(id, None);
    let channel_name = name.clone();
    let outcome = ctx
        .app
        .store
        .change_message(&name, id, move |m| match (m.user_id == me, own, others) {
            (true, false, _) => Change::Keep(Delete::OwnForbidden),
            (false, _, false) => Change::Keep(Delete::OthersForbidden),
            (true, true, _) => Change::Delete(Delete::Done),
            (false, _, true) => Change::DeleteLogged(
                Delete::Done,
                entry.details(json!({"channel": channel_name, "author_id": m.user_id})),
            ),
        })
        .await?
        .unwrap_or(Delete::NotFound);
    match outcome {
        Delete::Done => {
            // As in the original server: a deleted message takes its files with it.
            ctx.app.delete_attachments_of(id).await?;
            Ok(Reply::global(
                &json!({"cmd": "message_delete", "id": id, "channel": name, "global": true}),
                Some(&name),
            ))
        }
        Delete::NotFound => Err("Message not found or cannot be deleted".into()),
        Delete::OwnForbidden => {
            Err("You do not have permission to delete your own message in this channel".into())
        }
        Delete::OthersForbidden => Err("You do not have permission to delete this message".into()),
    }
}
