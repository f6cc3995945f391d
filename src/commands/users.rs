//! Members and roles: `users_list`, `users_online`, `user_roles_get`, `roles_list`.

use crate::protocol::errors::USER_NOT_FOUND;
use serde::{Deserialize, Serialize};

use crate::protocol::Text;
use serde_json::json;

use super::{Ctx, Outcome, Reply, given};
use crate::model::{Directory, Status, User};

pub fn users_list(ctx: &Ctx<'_>) -> Outcome {
    let dir = ctx.app.dir();
    let users: Vec<Member> = dir
        .users()
        .filter(|u| !u.is_banned())
        .map(|u| {
            let shown = ctx.app.hub.is_online(&u.id) && !u.is_invisible();
            Member {
                username: &u.username,
                nickname: &u.nickname,
                roles: &u.roles,
                color: dir.roles.color_name(&u.roles),
                status: StatusView {
                    status: if shown { &u.status.status } else { "offline" },
                    text: &u.status.text,
                },
                cracked: u.is_local(),
                pfp: &u.pfp_url,
            }
        })
        .collect();
    Ok(Reply::to_sender(&List {
        cmd: "users_list",
        users,
    }))
}

pub fn users_online(ctx: &Ctx<'_>) -> Outcome {
    let dir = ctx.app.dir();
    let users: Vec<OnlineMember> = dir
        .users()
        .filter(|u| ctx.app.hub.is_online(&u.id) && !u.is_invisible())
        .map(|u| OnlineMember {
            username: &u.username,
            nickname: &u.nickname,
            roles: &u.roles,
            color: dir.roles.color_name(&u.roles),
            status: &u.status,
        })
        .collect();
    Ok(Reply::to_sender(&List {
        cmd: "users_online",
        users,
    }))
}

// The member lists are the largest replies every client asks for on connect (a reconnect
// storm asks for them hundreds of times at once): serialized straight from the directory,
// with no JSON tree in between. Keys in the order clients have always seen.

#[derive(Serialize)]
struct List<T> {
    cmd: &'static str,
    users: Vec<T>,
}

#[derive(Serialize)]
struct Member<'a> {
    username: &'a str,
    nickname: &'a Option<String>,
    roles: &'a [String],
    color: Option<&'a str>,
    status: StatusView<'a>,
    cracked: bool,
    pfp: &'a Option<String>,
}

/// The status others see: the stored one while the user is connected and not invisible,
/// otherwise offline (with the stored text).
#[derive(Serialize)]
struct StatusView<'a> {
    status: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct OnlineMember<'a> {
    username: &'a str,
    nickname: &'a Option<String>,
    roles: &'a [String],
    color: Option<&'a str>,
    status: &'a Status,
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
