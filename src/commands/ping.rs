//! `ping` (docs/protocol.md#812-server): the client's liveness check.

use serde_json::json;

use super::{Ctx, Outcome, Reply};

pub fn ping(_ctx: &Ctx<'_>) -> Outcome {
    Ok(Reply::to_sender(&json!({"cmd": "pong", "val": "pong"})))
}
