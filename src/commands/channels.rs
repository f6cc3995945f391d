//! `channels_get` (§8.8): the channels the sender can view, with live fields.

use serde_json::{Value, json};

use super::{Ctx, Outcome, Reply};
use crate::model::Action;

pub async fn channels_get(ctx: &Ctx<'_>) -> Outcome {
    let visible: Vec<_> = {
        let dir = ctx.app.dir.borrow();
        if dir.user(ctx.user_id).is_none() {
            return Err("User not found".into());
        }
        dir.channels
            .iter()
            .filter(|c| dir.can(ctx.user_id, c.name(), Action::View))
            .cloned()
            .collect()
    };
    let text: Vec<String> = visible
        .iter()
        .filter(|c| c.kind() == "text")
        .map(|c| c.name().to_string())
        .collect();
    let newest = ctx
        .read(move |db| {
            text.iter()
                .map(|c| Ok((c.clone(), db.newest(c)?)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let val: Vec<Value> = visible
        .into_iter()
        .map(|c| {
            let mut obj = c.0.clone();
            match c.kind() {
                "text" => {
                    let last = newest
                        .iter()
                        .find(|(n, _)| n == c.name())
                        .and_then(|(_, l)| l.clone());
                    obj.insert("last_message".into(), json!(last.as_ref().map(|l| l.1)));
                    obj.insert("last_message_id".into(), json!(last.map(|l| l.0)));
                }
                "voice" => {
                    // Voice signalling is not served yet, so nobody is ever in a voice channel.
                    obj.insert("voice_state".into(), json!([]));
                }
                _ => {}
            }
            Value::Object(obj)
        })
        .collect();
    Ok(Reply::to_sender(
        &json!({"cmd": "channels_get", "val": val}),
    ))
}
