//! The webhooks part of `import`: the original's `webhooks.json` (an object of webhook id
//! → `{"id", "channel", "name", "token", "created_by", "created_at", "avatar"}`). Tokens
//! keep working: each is stored as its SHA-256 only, as ours are
//! ([`crate::store::webhooks`]); the token itself is never printed.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{ImportError, Tally, shown};
use crate::model::ChannelKind;
use crate::store::Db;
use crate::store::webhooks::{Webhook, token_hash};

pub(super) fn import_webhooks(
    db: &Db,
    webhooks: Option<&Map<String, Value>>,
    now: f64,
    t: &mut Tally,
) -> Result<(), ImportError> {
    let Some(webhooks) = webhooks else {
        t.absent = Some("webhooks.json");
        return Ok(());
    };
    let text_channels: HashSet<String> = db
        .channels()?
        .iter()
        .filter(|c| c.kind() == ChannelKind::Text)
        .map(|c| c.name().to_string())
        .collect();
    for (key, record) in webhooks {
        let example = || Some(shown(key));
        let Value::Object(w) = record else {
            t.skip("not a JSON object", example());
            continue;
        };
        let text = |k: &str| {
            w.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let id = text("id").unwrap_or(key);
        let (Some(channel), Some(name), Some(token)) =
            (text("channel"), text("name"), text("token"))
        else {
            t.skip("channel, name or token missing", example());
            continue;
        };
        if !text_channels.contains(channel) {
            t.skip("unknown or not a text channel", example());
            continue;
        }
        let hash = token_hash(token);
        if db.webhook(id)?.is_some() || db.webhook_by_token(&hash)?.is_some() {
            t.skip("already there, ours kept", example());
            continue;
        }
        let webhook = Webhook {
            id: id.to_string(),
            channel: channel.to_string(),
            name: name.to_string(),
            avatar: text("avatar").map(str::to_string),
            created_by: text("created_by").unwrap_or_default().to_string(),
            created_at: w.get("created_at").and_then(Value::as_f64).unwrap_or(now),
        };
        db.insert_webhook(&webhook, &hash)?;
        t.imported += 1;
    }
    Ok(())
}
