//! `message_edit` (docs/protocol.md#82-message_edit): authors edit their own messages.

use serde::Deserialize;

use crate::protocol::Text;
use serde_json::{Value, json};

use super::message_new::{check_length, validate_embeds};
use super::{Ctx, Outcome, Reply, given};
use crate::model::message::pings;
use crate::model::{Action, Message};
use crate::protocol::errors::{EMPTY_MESSAGE, INVALID_EDIT};
use crate::store::calls::Change;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    thread_id: Option<Text<'a>>,
    #[serde(borrow)]
    content: Option<Text<'a>>,
    embeds: Option<Value>,
}

enum Edit {
    Done(Message),
    NotAuthor,
}

pub async fn message_edit(ctx: &Ctx<'_>) -> Outcome {
    // The original's `rate_limit` answer to an edit has no `reason` (other commands' have).
    let now = ctx.app.now();
    if let Err(d) = ctx.app.limiter.borrow_mut().check(ctx.user_id, now) {
        return Ok(Reply::to_sender(
            &json!({"cmd": "rate_limit", "length": d.wait_ms}),
        ));
    }
    let req: Request = ctx.fields_fast()?;
    let (Some(id), Some(raw)) = (given(&req.id), given(&req.content)) else {
        return Err(INVALID_EDIT.into());
    };
    if given(&req.channel).is_none() && given(&req.thread_id).is_none() {
        return Err(INVALID_EDIT.into());
    }
    // Unlike the original server, edits are trimmed and length-checked like new messages.
    let content = raw.trim().to_string();
    if content.is_empty() {
        return Err(EMPTY_MESSAGE.into());
    }
    check_length(ctx.app, &content)?;
    let embeds = match &req.embeds {
        Some(e) if !e.is_null() => Some(validate_embeds(e)?),
        _ => None,
    };
    ctx.roles()?;
    let channel = ctx.context(given(&req.channel), given(&req.thread_id))?;
    let name = channel.name().to_string();
    ctx.require_view(&name)?;
    let may_edit_own = ctx.can(&name, Action::EditOwn);
    let me = ctx.user_id.to_string();
    let edit = ctx
        .app
        .store
        .change_message(&name, id, move |m| {
            if m.user_id != me || !may_edit_own {
                return Change::Keep(Edit::NotAuthor);
            }
            m.content = content;
            m.extra.insert("edited".into(), json!(true));
            if let Some(embeds) = embeds {
                m.extra.insert("embeds".into(), embeds);
            }
            Change::Save(Edit::Done(m.clone()))
        })
        .await?;
    let message = match edit {
        Some(Edit::Done(m)) => m,
        None => return Err("Message not found or cannot be edited".into()),
        Some(Edit::NotAuthor) => {
            // Distinguish "your own, but this channel forbids it" from "someone else's".
            let author = ctx.app.store.message(&name, id).await?.map(|m| m.user_id);
            return Err(if author.as_deref() == Some(ctx.user_id) {
                "You do not have permission to edit your own message in this channel".into()
            } else {
                "You do not have permission to edit this message".into()
            });
        }
    };
    let dir = ctx.app.dir();
    let mut wire = message.wire(&dir);
    let p = pings(&message.content, &dir, None);
    if !p.users.is_empty() || !p.roles.is_empty() {
        wire.insert("pings".into(), serde_json::json!(p));
    }
    Ok(Reply::global(
        &json!({"cmd": "message_edit", "id": message.id, "content": message.content, "message": wire,
                "channel": name, "global": true}),
        Some(&name),
    ))
}
