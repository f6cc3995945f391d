//! `server_info` (docs/protocol.md#812-server) and `rate_limit_status` (docs/protocol.md#811-roles-and-moderation).

use serde_json::{Value, json};

use super::users::{UserRequest, target};
use super::{Ctx, Outcome, Reply};

pub fn server_info(ctx: &Ctx<'_>) -> Outcome {
    let info = ctx.app.server_view(&ctx.session.base_url.borrow());
    let text = |k: &str| info.get(k).cloned().unwrap_or_else(|| json!(""));
    Ok(Reply::to_sender(
        &json!({"cmd": "server_info", "name": text("name"), "icon": text("icon"), "banner": text("banner")}),
    ))
}

pub fn rate_limit_status(ctx: &Ctx<'_>) -> Outcome {
    let req: UserRequest = ctx.fields()?;
    let (user_id, username) = {
        let dir = ctx.app.dir();
        match req.user.as_deref() {
            None | Some("") => (ctx.user_id.to_string(), ctx.username()),
            Some(name) => {
                let me_owner = dir
                    .user(ctx.user_id)
                    .is_some_and(|u| u.roles.iter().any(|r| r == "owner"));
                let user = dir.resolve(name);
                // As the original: a non-owner learns nothing of others, not even whether
                // they exist.
                let is_self = user.is_some_and(|u| u.id == ctx.user_id);
                if !is_self && !me_owner {
                    return Err("Access denied: can only check your own rate limit status".into());
                }
                let user = target(&dir, &req)?;
                (user.id.clone(), user.username.clone())
            }
        }
    };
    let limiter = ctx.app.limiter.borrow();
    if !limiter.enabled() {
        return Err("Rate limiter not available or disabled".into());
    }
    let s = limiter.status(&user_id, ctx.app.now());
    let c = limiter.config();
    Ok(Reply::to_sender(&json!({
        "cmd": "rate_limit_status", "user": username,
        "status": {
            "messages_this_minute": s.messages_this_minute, "messages_per_minute_limit": c.messages_per_minute,
            "recent_messages": s.recent_messages, "burst_limit": c.burst_limit,
            "cooldown_remaining": if s.cooldown_remaining > 0.0 { json!(s.cooldown_remaining) } else { Value::from(0) },
        }
    })))
}
