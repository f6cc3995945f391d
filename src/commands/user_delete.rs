//! `user_delete` (docs/protocol.md#811-roles-and-moderation): the owner deletes someone's
//! account. The same deletion as `user_leave` ([`crate::ops::accounts`]): the row and its
//! session tokens go, everyone is told (`user_leave`, which makes the official client drop
//! the member), the name is free again, and the account's connections are closed.

use serde_json::json;

use super::users::{UserRequest, target};
use super::{Ctx, Outcome, Reply};

/// Whether `roles` holds the literal owner role.
fn is_owner(roles: &[String]) -> bool {
    roles.iter().any(|r| r == "owner")
}

pub async fn user_delete(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_owner()?;
    let req: UserRequest = ctx.fields()?;
    let user = {
        let dir = ctx.app.dir();
        let user = target(&dir, &req)?.clone();
        // A server without an owner could never be managed again from a client.
        if is_owner(&user.roles) && dir.users().filter(|u| is_owner(&u.roles)).count() <= 1 {
            return Err("Cannot delete the last owner".into());
        }
        user
    };
    let actor = ctx.username();
    let entry = ctx
        .audit("user_delete")
        .target(&user.id, Some(user.username.clone()));
    ctx.app.delete_account(&user, Some(entry)).await?;
    log::info!("{actor} deleted the account of {}", user.username);
    Ok(
        Reply::to_sender(&json!({"cmd": "user_delete", "user": user.username, "deleted": true}))
            .then_close(&user.id, "account deleted"),
    )
}
