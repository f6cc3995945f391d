//! `status_set`, `status_get` (docs/protocol.md#810-users-presence-and-profiles). Going invisible looks like leaving to everyone else.

use serde::Deserialize;
use serde_json::json;

use super::users::{UserRequest, target};
use super::{Ctx, Outcome, Reply, given};
use crate::model::Status;
use crate::protocol::errors::USER_NOT_FOUND;
use crate::protocol::{Text, encode};

const STATUSES: [&str; 5] = ["online", "idle", "dnd", "offline", "invisible"];

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    status: Option<Text<'a>>,
    #[serde(borrow)]
    text: Option<Text<'a>>,
}

pub async fn status_set(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let Some(status) = given(&req.status) else {
        return Err("Status is required".into());
    };
    let text = req.text.as_deref().unwrap_or("");
    if !STATUSES.contains(&status) || text.chars().count() > 100 {
        return Err("Invalid status. Must be one of: online, idle, dnd, offline, invisible".into());
    }
    let new = Status {
        status: status.to_string(),
        text: text.to_string(),
    };
    let Some(mut user) = ctx.app.dir().user(ctx.user_id).cloned() else {
        return Err(USER_NOT_FOUND.into());
    };
    user.status = new.clone();
    ctx.app.save_user(user.clone()).await?;

    let was_invisible = ctx.session.invisible.get();
    let invisible = status == "invisible";
    ctx.session.invisible.set(invisible);
    if invisible {
        if !was_invisible {
            ctx.app.hub.announce(&encode(
                &json!({"cmd": "user_disconnect", "username": user.username}),
            ));
        }
        // Only the sender learns of it: others must not see an invisible user.
        return Ok(Reply::to_sender(
            &json!({"cmd": "status_set", "status": new, "global": true}),
        ));
    }
    if was_invisible {
        let brief = user.brief_view(&ctx.app.dir().roles);
        ctx.app
            .hub
            .announce(&encode(&json!({"cmd": "user_connect", "user": brief})));
    }
    Ok(Reply::global(
        &json!({"cmd": "status_get", "username": user.username, "status": new, "global": true}),
        None,
    ))
}

pub fn status_get(ctx: &Ctx<'_>) -> Outcome {
    let req: UserRequest = ctx.fields()?;
    let dir = ctx.app.dir();
    let user = target(&dir, &req)?;
    // Invisible users look offline to everyone but themselves.
    let status = if user.is_invisible() && user.id != ctx.user_id {
        json!({"status": "offline", "text": user.status.text})
    } else {
        json!(user.status)
    };
    Ok(Reply::to_sender(
        &json!({"cmd": "status", "username": user.username, "status": status}),
    ))
}
