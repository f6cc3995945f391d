//! `plugins_list` and `plugins_reload` (docs/protocol.md#812-server). This server has no
//! plugins, so the list is always empty and a reload changes nothing; both say so plainly,
//! behind the owner check the original server has, so bots and scripts written for the
//! original get a well-formed answer instead of "Unknown command".

use serde::Deserialize;
use serde_json::json;

use super::{Ctx, Outcome, Reply, given};
use crate::protocol::Text;

/// The original answers with its plugins as an object keyed by name; none here.
pub fn plugins_list(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_owner()?;
    Ok(Reply::to_sender(
        &json!({"cmd": "plugins_list", "plugins": {}}),
    ))
}

#[derive(Deserialize)]
struct Reload<'a> {
    #[serde(borrow)]
    plugin: Option<Text<'a>>,
}

pub fn plugins_reload(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_owner()?;
    let req: Reload = ctx.fields()?;
    if let Some(name) = given(&req.plugin) {
        return Err(format!("Failed to reload plugin '{name}': this server has no plugins").into());
    }
    Ok(Reply::to_sender(
        &json!({"cmd": "plugins_reload", "val": "This server has no plugins: nothing was reloaded"}),
    ))
}
