//! `user_update`: staff (`manage_users`) change a user's nickname, or a Rotur account's
//! username; everyone is told with `user_updated`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::roles::{can_manage_role, roles_and_actor};
use super::{Ctx, Outcome, Reply, given};
use crate::hub::Target;
use crate::protocol::errors::{NICKNAME_TOO_LONG, USER_NOT_FOUND, USER_PARAMETER_REQUIRED};
use crate::protocol::{Text, encode};

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    user: Option<Text<'a>>,
    updates: Option<Value>,
}

pub async fn user_update(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_users")?;
    let req: Request = ctx.fields()?;
    let Some(name) = given(&req.user) else {
        return Err(USER_PARAMETER_REQUIRED.into());
    };
    let Some(mut user) = ctx.app.dir().resolve(name).cloned() else {
        return Err(USER_NOT_FOUND.into());
    };
    let (roles, actor) = roles_and_actor(ctx);
    let Some(updates) = req
        .updates
        .as_ref()
        .and_then(Value::as_object)
        .filter(|u| !u.is_empty())
    else {
        return Err("Updates must be an object".into());
    };
    if let Some(field) = updates
        .keys()
        .find(|k| *k != "username" && *k != "nickname")
    {
        return Err(format!("Cannot update field: {field}").into());
    }
    // Staff manage people below them (owners excepted), as with roles.
    if user.id != ctx.user_id {
        for role in &user.roles {
            if roles.get(role).is_some() {
                can_manage_role(&roles, &actor, role).map_err(|_| {
                    super::CmdError::from("Cannot manage users at or above your position")
                })?;
            }
        }
    }
    if let Some(new) = updates.get("username") {
        let Some(new) = new.as_str().map(str::trim).filter(|n| !n.is_empty()) else {
            return Err("Username must be a non-empty string".into());
        };
        if user.is_local() {
            return Err("Local accounts keep their login name; set a nickname instead".into());
        }
        if ctx
            .app
            .dir()
            .user_by_name(new)
            .is_some_and(|other| other.id != user.id)
        {
            return Err("Username already taken".into());
        }
        user.username = new.to_string();
    }
    if let Some(nickname) = updates.get("nickname") {
        user.nickname = match nickname {
            Value::Null => None,
            Value::String(n) if n.chars().count() <= 20 => Some(n.clone()),
            Value::String(_) => return Err(NICKNAME_TOO_LONG.into()),
            _ => return Err("Nickname must be a string or null".into()),
        };
    }
    let entry = ctx
        .audit("user_update")
        .target(&user.id, Some(user.username.clone()))
        .details(Value::Object(updates.clone()));
    ctx.app.save_user_logged(user.clone(), entry).await?;
    ctx.app
        .voice
        .borrow_mut()
        .rename_user(&user.id, &user.username);
    let event = json!({"cmd": "user_updated", "user_id": user.id, "username": user.username, "nickname": user.nickname});
    ctx.app.broadcast(Target::All, &encode(&event));
    Ok(Reply::to_sender(
        &json!({"cmd": "user_update", "user": user.username, "nickname": user.nickname}),
    ))
}
