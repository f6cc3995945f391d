//! Nicknames (`nickname_update`, `nickname_remove`, for oneself) and profile pictures
//! (`pfp_set`, `pfp_get`) (docs/protocol.md#810-users-presence-and-profiles).

use serde::Deserialize;

use crate::protocol::Text;
use serde_json::json;

use super::{Ctx, Outcome, Reply, given};
use crate::config::AuthMode;
use crate::protocol::errors::{NICKNAME_TOO_LONG, USER_NOT_FOUND};

#[derive(Deserialize)]
struct NicknameRequest<'a> {
    #[serde(borrow)]
    nickname: Option<Text<'a>>,
}

pub async fn nickname(ctx: &Ctx<'_>, update: bool) -> Outcome {
    let req: NicknameRequest = ctx.fields()?;
    let wanted = if update {
        req.nickname
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
    } else {
        None
    };
    if wanted.is_some_and(|n| n.chars().count() > 20) {
        return Err(NICKNAME_TOO_LONG.into());
    }
    let Some(mut user) = ctx.app.dir().user(ctx.user_id).cloned() else {
        return Err(USER_NOT_FOUND.into());
    };
    user.nickname = wanted.map(str::to_string);
    ctx.app.save_user(user.clone()).await?;
    let packet = match &user.nickname {
        Some(n) => {
            json!({"cmd": "nickname_update", "user": user.id, "username": user.username, "nickname": n})
        }
        None => json!({"cmd": "nickname_remove", "user": user.id, "username": user.username}),
    };
    Ok(Reply::global(&packet, None))
}

#[derive(Deserialize)]
struct PfpSet<'a> {
    #[serde(borrow)]
    url: Option<Text<'a>>,
}

pub async fn pfp_set(ctx: &Ctx<'_>) -> Outcome {
    let req: PfpSet = ctx.fields()?;
    let local = ctx
        .app
        .dir()
        .user(ctx.user_id)
        .is_some_and(|u| u.is_local());
    if ctx.app.config.auth_mode() == AuthMode::Rotur || !local {
        return Err("Profile pictures are managed by Rotur for this account".into());
    }
    let Some(url) = given(&req.url) else {
        return Err("URL required".into());
    };
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    if host.is_none_or(|h| h.is_empty() || h.contains(char::is_whitespace)) {
        return Err("Invalid URL format".into());
    }
    if url.chars().count() > 500 {
        return Err("URL too long (max 500 characters)".into());
    }
    let Some(mut user) = ctx.app.dir().user(ctx.user_id).cloned() else {
        return Err(USER_NOT_FOUND.into());
    };
    user.pfp_url = Some(url.to_string());
    ctx.app.save_user(user).await?;
    Ok(Reply::to_sender(&json!({"cmd": "pfp_set", "val": url})))
}

#[derive(Deserialize)]
struct PfpGet<'a> {
    #[serde(borrow)]
    username: Option<Text<'a>>,
}

pub fn pfp_get(ctx: &Ctx<'_>) -> Outcome {
    let req: PfpGet = ctx.fields()?;
    let Some(name) = given(&req.username) else {
        return Err("Username required".into());
    };
    let dir = ctx.app.dir();
    let user = dir.resolve(name).ok_or(USER_NOT_FOUND)?;
    Ok(Reply::to_sender(
        &json!({"cmd": "pfp_get", "val": user.pfp_url, "username": name}),
    ))
}
