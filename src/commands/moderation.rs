//! Moderation and server settings (docs/protocol.md#811-roles-and-moderation, docs/protocol.md#812-server): `user_ban`, `user_unban`,
//! `users_banned_list`, `user_timeout`, `rate_limit_reset`, `user_leave`, `server_update`.
//! Bans and timeouts themselves are in [`crate::ops::moderation`] (slash commands use them
//! too).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::users::{UserRequest, target};
use super::{Ctx, Outcome, Reply, given};
use crate::protocol::errors::{USER_NOT_FOUND, USER_PARAMETER_REQUIRED};
use crate::protocol::{Text, encode};

pub async fn user_ban(ctx: &Ctx<'_>, banning: bool) -> Outcome {
    ctx.require_owner()?;
    let req: UserRequest = ctx.fields()?;
    let Some(name) = given(&req.user) else {
        return Err(USER_PARAMETER_REQUIRED.into());
    };
    let user = ctx.app.dir().resolve(name).cloned();
    let (shown, changed) = match user {
        None => (name.to_string(), false),
        Some(u) => {
            let shown = u.username.clone();
            let changed = if banning {
                ctx.app.ban(u, ctx.audit("user_ban")).await?
            } else {
                ctx.app.unban(u, ctx.audit("user_unban")).await?
            };
            (shown, changed)
        }
    };
    Ok(if banning {
        Reply::to_sender(&json!({"cmd": "user_ban", "user": shown, "banned": changed}))
    } else {
        Reply::to_sender(&json!({"cmd": "user_unban", "user": shown, "unbanned": changed}))
    })
}

pub fn users_banned_list(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_owner()?;
    let dir = ctx.app.dir();
    let users: Vec<&str> = dir
        .users()
        .filter(|u| u.is_banned())
        .map(|u| u.username.as_str())
        .collect();
    Ok(Reply::to_sender(
        &json!({"cmd": "users_banned_list", "users": users}),
    ))
}

#[derive(Deserialize)]
struct Timeout<'a> {
    #[serde(borrow)]
    user: Option<Text<'a>>,
    timeout: Option<Value>,
}

pub async fn user_timeout(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_owner()?;
    let req: Timeout = ctx.fields()?;
    let Some(seconds) = req
        .timeout
        .as_ref()
        .and_then(Value::as_u64)
        .filter(|s| *s > 0)
    else {
        return Err("Timeout must be a positive integer".into());
    };
    let Some(name) = given(&req.user) else {
        return Err(USER_PARAMETER_REQUIRED.into());
    };
    let Some((id, username)) = ctx
        .app
        .dir()
        .resolve(name)
        .map(|u| (u.id.clone(), u.username.clone()))
    else {
        return Err(USER_NOT_FOUND.into());
    };
    let enabled = ctx.app.limiter.borrow().enabled();
    if enabled {
        let entry = ctx
            .audit("user_timeout")
            .target(&id, Some(username))
            .details(json!({"timeout": seconds}));
        ctx.app
            .timeout(&id, seconds, "User timeout set", entry)
            .await?;
    }
    Ok(Reply::to_sender(
        &json!({"cmd": "user_timeout", "user": name, "timeout": seconds}),
    ))
}

pub fn rate_limit_reset(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: UserRequest = ctx.fields()?;
    let (id, username) = {
        let dir = ctx.app.dir();
        let user = target(&dir, &req)?;
        (user.id.clone(), user.username.clone())
    };
    ctx.app.limiter.borrow_mut().reset(&id);
    Ok(Reply::to_sender(&json!({
        "cmd": "rate_limit_reset", "user": username, "val": format!("Rate limit reset for user {username}")
    })))
}

pub async fn user_leave(ctx: &Ctx<'_>) -> Outcome {
    let Some(user) = ctx.app.dir().user(ctx.user_id).cloned() else {
        return Err(USER_NOT_FOUND.into());
    };
    if user.is_banned() {
        return Err("Banned accounts cannot be deleted".into());
    }
    ctx.app.delete_account(&user, None).await?;
    log::info!("{} deleted their account", user.username);
    Ok(Reply::to_sender(
        &json!({"cmd": "user_leave", "user": user.username, "val": "User left server"}),
    )
    .then_close(&user.id, "account deleted"))
}

/// The largest server icon or banner (sent as a data URL in one WebSocket message).
const SERVER_ASSET_MAX_BYTES: usize = 1536 * 1024;

#[derive(Deserialize)]
struct ServerUpdate {
    name: Option<Value>,
    icon: Option<Value>,
    banner: Option<Value>,
}

pub async fn server_update(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: ServerUpdate = ctx.fields()?;
    let mut changes = Map::new();
    for (key, label, value) in [
        ("name", "Name", &req.name),
        ("icon", "Icon", &req.icon),
        ("banner", "Banner", &req.banner),
    ] {
        match value {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => drop(changes.insert(key.into(), json!(s))),
            Some(_) => return Err(format!("{label} must be a string or null").into()),
        }
    }
    if changes.is_empty() {
        return Err("No updates provided".into());
    }
    // An image sent as a data URL is stored as a server asset (`/server-assets/<key>`);
    // a URL is kept as it is, as by the original server.
    for key in ["icon", "banner"] {
        let Some(Value::String(data)) = changes.get(key) else {
            continue;
        };
        if !data.starts_with("data:") {
            continue;
        }
        let bytes = crate::media::data_url::decode_image(data, SERVER_ASSET_MAX_BYTES)
            .map_err(|e| format!("{}: {e}", if key == "icon" { "Icon" } else { "Banner" }))?;
        let value = ctx.app.set_server_asset(key, bytes).await?;
        changes.insert(key.into(), value);
    }
    let mut overrides = ctx.app.server_overrides();
    overrides.extend(changes.clone());
    // The audit log names what changed; an image by its stored URL, never its bytes.
    let entry = ctx
        .audit("server_update")
        .details(Value::Object(changes.clone()));
    ctx.app
        .write(move |db| {
            db.set_setting(crate::app::SERVER_OVERRIDES, &Value::Object(overrides))?;
            db.insert_audit(&entry)
        })
        .await?;
    let mut all = ctx.app.server_overrides();
    all.extend(changes.clone());
    ctx.app.set_server_overrides(all);
    ctx.app.server_info.borrow_mut().extend(changes);
    // Each client gets the icon and banner as URLs of the address it reached us at.
    let packet_for = |base_url: &str| {
        let info = ctx.app.server_view(base_url);
        let text = |k: &str| info.get(k).cloned().unwrap_or_else(|| json!(""));
        json!({"cmd": "server_update", "name": text("name"), "icon": text("icon"), "banner": text("banner")})
    };
    // Everyone, the sender included (who also gets the reply), as the original server does.
    for session in ctx.app.hub.sessions() {
        if session.is_authenticated() {
            session.send(encode(&packet_for(&session.base_url.borrow())));
        }
    }
    Ok(Reply::to_sender(&packet_for(
        &ctx.session.base_url.borrow(),
    )))
}
