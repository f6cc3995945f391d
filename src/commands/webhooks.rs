//! Webhooks (docs/protocol.md#819-webhooks): `webhook_create`, `webhook_get`,
//! `webhook_list`, `webhook_update`, `webhook_delete`, `webhook_regenerate`, all with
//! `manage_server`. A token is made here and shown only in the reply to `webhook_create`
//! and `webhook_regenerate`, to the sender; the store keeps its SHA-256. The HTTP side
//! (`POST /webhooks`) is `crate::server::webhook_route`.

use serde_json::{Map, Value, json};

use super::{CmdError, Ctx, Outcome, Reply};
use crate::model::ChannelKind;
use crate::protocol::errors::CHANNEL_NOT_FOUND;
use crate::store::webhooks::{Webhook, token_hash};

const NOT_FOUND: &str = "Webhook not found";
const ID_REQUIRED: &str = "Webhook ID is required";
/// Longer names would crowd the client's message header.
const MAX_NAME: usize = 100;
/// An avatar is a URL; this is generous for one.
const MAX_AVATAR: usize = 2048;

/// The request's fields as sent: `webhook_update` tells an absent `avatar` from a null one.
type Request = Map<String, Value>;

/// A non-empty string field, trimmed (Python's truthiness: absent, null or "" is missing).
fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn check_name(name: &str) -> Result<(), CmdError> {
    if name.chars().count() > MAX_NAME {
        return Err(format!("Webhook name must be at most {MAX_NAME} characters").into());
    }
    Ok(())
}

/// `avatar`: a URL string, or null for none.
fn avatar(value: &Value) -> Result<Option<String>, CmdError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) if s.chars().count() <= MAX_AVATAR => Ok(Some(s.trim().to_string())),
        Value::String(_) => {
            Err(format!("Webhook avatar must be at most {MAX_AVATAR} characters").into())
        }
        _ => Err("Webhook avatar must be a string or null".into()),
    }
}

/// Finds the webhook named by the request's `id`.
async fn target(ctx: &Ctx<'_>, req: &Request) -> Result<Webhook, CmdError> {
    let Some(id) = text(req.get("id")).map(str::to_string) else {
        return Err(ID_REQUIRED.into());
    };
    ctx.app
        .store
        .read(move |db| db.webhook(&id))
        .await?
        .ok_or_else(|| NOT_FOUND.into())
}

/// The wire form with the new token: only ever in the reply to the sender.
fn with_token(webhook: &Webhook, token: &str) -> Value {
    let mut wire = webhook.wire();
    wire["token"] = json!(token);
    wire
}

pub async fn webhook_create(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: Request = ctx.fields()?;
    let Some(channel) = text(req.get("channel")) else {
        return Err("Channel is required".into());
    };
    let Some(name) = text(req.get("name")) else {
        return Err("Webhook name is required".into());
    };
    check_name(name)?;
    let avatar = req.get("avatar").map(avatar).transpose()?.flatten();
    let kind = ctx.app.dir().channel(channel).map(|c| c.kind());
    match kind {
        None => return Err(CHANNEL_NOT_FOUND.into()),
        Some(ChannelKind::Text) => {}
        Some(_) => return Err("Webhooks can only be created for text channels".into()),
    }
    let webhook = Webhook {
        id: crate::random::uuid_v4(),
        channel: channel.to_string(),
        name: name.to_string(),
        avatar,
        created_by: ctx.user_id.to_string(),
        created_at: crate::model::message::now(),
    };
    let token = crate::random::session_token();
    let hash = token_hash(&token);
    let stored = webhook.clone();
    let entry = ctx
        .audit("webhook_create")
        .target(&webhook.id, Some(webhook.name.clone()))
        .details(json!({"channel": webhook.channel}));
    ctx.app
        .write(move |db| {
            db.insert_webhook(&stored, &hash)?;
            db.insert_audit(&entry)
        })
        .await?;
    log::info!(
        "webhook {} ({}) created in #{} by {}",
        webhook.id,
        webhook.name,
        webhook.channel,
        ctx.username()
    );
    Ok(Reply::to_sender(
        &json!({"cmd": "webhook_create", "webhook": with_token(&webhook, &token)}),
    ))
}

pub async fn webhook_get(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: Request = ctx.fields()?;
    let webhook = target(ctx, &req).await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "webhook_get", "webhook": webhook.wire()}),
    ))
}

pub async fn webhook_list(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: Request = ctx.fields()?;
    let channel = text(req.get("channel")).map(str::to_string);
    if let Some(c) = &channel {
        if ctx.app.dir().channel(c).is_none() {
            return Err(CHANNEL_NOT_FOUND.into());
        }
    }
    let webhooks = ctx
        .app
        .store
        .read(move |db| db.webhooks(channel.as_deref()))
        .await?;
    let wire: Vec<Value> = webhooks.iter().map(Webhook::wire).collect();
    Ok(Reply::to_sender(
        &json!({"cmd": "webhook_list", "webhooks": wire}),
    ))
}

pub async fn webhook_update(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: Request = ctx.fields()?;
    let mut webhook = target(ctx, &req).await?;
    let mut changed = false;
    if let Some(name) = req.get("name") {
        let Some(name) = name.as_str().map(str::trim).filter(|n| !n.is_empty()) else {
            return Err("Webhook name must be a non-empty string".into());
        };
        check_name(name)?;
        webhook.name = name.to_string();
        changed = true;
    }
    if let Some(value) = req.get("avatar") {
        webhook.avatar = avatar(value)?;
        changed = true;
    }
    if !changed {
        return Err("No updates provided".into());
    }
    let (id, name, avatar) = (
        webhook.id.clone(),
        webhook.name.clone(),
        webhook.avatar.clone(),
    );
    let mut updates = serde_json::Map::new();
    if req.get("name").is_some() {
        updates.insert("name".into(), json!(webhook.name));
    }
    if req.get("avatar").is_some() {
        updates.insert("avatar".into(), json!(webhook.avatar));
    }
    let entry = ctx
        .audit("webhook_update")
        .target(&webhook.id, Some(webhook.name.clone()))
        .details(Value::Object(updates));
    let found = ctx
        .app
        .write(move |db| {
            let found = db.update_webhook(&id, &name, avatar.as_deref())?;
            if found {
                db.insert_audit(&entry)?;
            }
            Ok(found)
        })
        .await?;
    if !found {
        return Err(NOT_FOUND.into());
    }
    Ok(Reply::to_sender(
        &json!({"cmd": "webhook_update", "webhook": webhook.wire()}),
    ))
}

pub async fn webhook_delete(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: Request = ctx.fields()?;
    let webhook = target(ctx, &req).await?;
    let id = webhook.id.clone();
    let entry = ctx
        .audit("webhook_delete")
        .target(&webhook.id, Some(webhook.name.clone()));
    let deleted = ctx.app.write(move |db| {
        let deleted = db.delete_webhook(&id)?;
        if deleted {
            db.insert_audit(&entry)?;
        }
        Ok(deleted)
    });
    if !deleted.await? {
        return Err(NOT_FOUND.into());
    }
    log::info!(
        "webhook {} ({}) deleted by {}",
        webhook.id,
        webhook.name,
        ctx.username()
    );
    Ok(Reply::to_sender(
        &json!({"cmd": "webhook_delete", "id": webhook.id, "deleted": true}),
    ))
}

pub async fn webhook_regenerate(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: Request = ctx.fields()?;
    let webhook = target(ctx, &req).await?;
    let token = crate::random::session_token();
    let hash = token_hash(&token);
    let id = webhook.id.clone();
    let entry = ctx
        .audit("webhook_regenerate")
        .target(&webhook.id, Some(webhook.name.clone()));
    let replaced = ctx.app.write(move |db| {
        let replaced = db.set_webhook_token(&id, &hash)?;
        if replaced {
            db.insert_audit(&entry)?;
        }
        Ok(replaced)
    });
    if !replaced.await? {
        return Err(NOT_FOUND.into());
    }
    log::info!(
        "webhook {} ({}): token regenerated by {}",
        webhook.id,
        webhook.name,
        ctx.username()
    );
    Ok(Reply::to_sender(
        &json!({"cmd": "webhook_regenerate", "webhook": with_token(&webhook, &token)}),
    ))
}
