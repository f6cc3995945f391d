//! `message_react_add`, `message_react_remove` (docs/protocol.md#85-reactions).

use serde::Deserialize;

use crate::protocol::Text;
use serde_json::json;

use super::{Ctx, Outcome, Reply, given};
use crate::model::Action;
use crate::store::calls::Change;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    emoji: Option<Text<'a>>,
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    thread_id: Option<Text<'a>>,
}

pub async fn react(ctx: &Ctx<'_>, add: bool) -> Outcome {
    let req: Request = ctx.fields()?;
    if add {
        ctx.roles()?;
    }
    let (Some(id), Some(emoji)) = (given(&req.id), given(&req.emoji)) else {
        return Err("Message ID and emoji are required".into());
    };
    if !add {
        ctx.roles()?;
    }
    if emoji.chars().count() > 200 {
        return Err("Invalid emoji".into());
    }
    let channel = ctx.context(given(&req.channel), given(&req.thread_id))?;
    let name = channel.name().to_string();
    ctx.require_view(&name)?;
    if !ctx.can(&name, Action::React) {
        return Err(if add {
            "You do not have permission to add reactions to this message".into()
        } else {
            "You do not have permission to remove reactions from this message".into()
        });
    }
    let (e, me) = (emoji.to_string(), ctx.user_id.to_string());
    let changed = ctx
        .app
        .store
        .change_message(&name, id, move |m| {
            let changed = if add {
                m.add_reaction(&e, &me)
            } else {
                m.remove_reaction(&e, &me)
            };
            if changed {
                Change::Save(true)
            } else {
                Change::Keep(false)
            }
        })
        .await?
        .unwrap_or(false);
    if !changed {
        return Err(if add {
            "Failed to add reaction".into()
        } else {
            "Failed to remove reaction".into()
        });
    }
    let cmd = if add {
        "message_react_add"
    } else {
        "message_react_remove"
    };
    Ok(Reply::global(
        &json!({"cmd": cmd, "id": id, "emoji": emoji, "channel": name, "from": ctx.username(), "global": true}),
        Some(&name),
    ))
}
