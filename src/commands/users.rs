//! Members and roles: `users_list`, `users_online`, `user_roles_get`, `roles_list`.

use crate::protocol::errors::USER_NOT_FOUND;
use serde::Deserialize;

use crate::protocol::Text;
use serde_json::{Value, json};

use super::{Ctx, Outcome, Reply, given};
use crate::model::{Directory, User};

/// The status others see: the stored one while the user is connected and not invisible,
/// otherwise offline (with the stored text).
pub fn visible_status(ctx: &Ctx<'_>, user: &User) -> Value {
    if ctx.app.hub.is_online(&user.id) && !user.is_invisible() {
        json!(user.status)
    } else {
        json!({"status": "offline", "text": user.status.text})
    }
}

pub fn users_list(ctx: &Ctx<'_>) -> Outcome {
    let dir = ctx.app.dir();
    let users: Vec<Value> = dir
        .users()
        .filter(|u| !u.is_banned())
        .map(|u| {
            json!({
                "username": u.username, "nickname": u.nickname, "roles": u.roles,
                "color": dir.roles.color_of(&u.roles), "status": visible_status(ctx, u),
                "cracked": u.is_local(), "pfp": u.pfp_url,
            })
        })
        .collect();
    Ok(Reply::to_sender(
        &json!({"cmd": "users_list", "users": users}),
    ))
}

pub fn users_online(ctx: &Ctx<'_>) -> Outcome {
    let dir = ctx.app.dir();
    let users: Vec<Value> = dir
        .users()
        .filter(|u| ctx.app.hub.is_online(&u.id) && !u.is_invisible())
        .map(|u| {
            json!({"username": u.username, "nickname": u.nickname, "roles": u.roles,
                   "color": dir.roles.color_of(&u.roles), "status": u.status})
        })
        .collect();
    Ok(Reply::to_sender(
        &json!({"cmd": "users_online", "users": users}),
    ))
}

#[derive(Deserialize)]
pub struct UserRequest<'a> {
    #[serde(borrow)]
    pub user: Option<Text<'a>>,
}

/// The user a request names (`user`): "User parameter is required" / "User not found".
pub fn target<'d>(dir: &'d Directory, req: &UserRequest<'_>) -> Result<&'d User, super::CmdError> {
    let name = given(&req.user).ok_or("User parameter is required")?;
    dir.resolve(name).ok_or_else(|| USER_NOT_FOUND.into())
}

pub fn user_roles_get(ctx: &Ctx<'_>) -> Outcome {
    let req: UserRequest = ctx.fields()?;
    let dir = ctx.app.dir();
    let user = target(&dir, &req)?;
    Ok(Reply::to_sender(&json!({
        "cmd": "user_roles_get", "user": user.username, "roles": user.roles, "color": dir.roles.color_of(&user.roles)
    })))
}

pub fn roles_list(ctx: &Ctx<'_>) -> Outcome {
    Ok(Reply::to_sender(
        &json!({"cmd": "roles_list", "roles": ctx.app.dir().roles}),
    ))
}
