//! Custom emojis: `emoji_add`, `emoji_update`, `emoji_delete` (with `manage_server`),
//! `emoji_get_all`, `emoji_get_filename`, `emoji_get_id`. Changes are announced to every
//! client in the reply's own shape, which the official client applies (the original
//! server told only the sender).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{CmdError, Ctx, Outcome, Reply};
use crate::media::data_url;
use crate::ops::emojis::EmojiError;

impl From<EmojiError> for CmdError {
    fn from(e: EmojiError) -> CmdError {
        match e {
            EmojiError::Refused(text) => text.into(),
            EmojiError::Store(e) => e.into(),
        }
    }
}

#[derive(Deserialize)]
struct Change {
    name: Option<Value>,
    image: Option<Value>,
    emoji_id: Option<Value>,
}

fn text<'v>(value: &'v Option<Value>, cmd: &str, field: &str) -> Result<Option<&'v str>, CmdError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(format!("Invalid {cmd} command scheme: {field} must be a string").into()),
    }
}

/// An emoji id as the official client sends it: a number (or a string of digits).
fn emoji_id(value: &Option<Value>, cmd: &str) -> Result<i64, CmdError> {
    let id = match value {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    id.ok_or_else(|| format!("Invalid {cmd} command scheme: emoji_id must be an integer").into())
}

fn image(ctx: &Ctx<'_>, data: &str) -> Result<Vec<u8>, CmdError> {
    let max = ctx.app.config.uploads.emoji_max_bytes;
    data_url::decode_image(data, max).map_err(|e| match e {
        data_url::DataUrlError::TooLarge { max } => {
            CmdError::from(format!("Emoji image too large (max {max} bytes)"))
        }
        other => CmdError::from(other.to_string()),
    })
}

pub async fn emoji_add(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: Change = ctx.fields()?;
    let (Some(name), Some(data)) = (
        text(&req.name, "emoji_add", "name")?,
        text(&req.image, "emoji_add", "image")?,
    ) else {
        return Err(
            "Invalid emoji_add command scheme: name and image (a data URL) are required".into(),
        );
    };
    let bytes = image(ctx, data)?;
    let entry = ctx.audit("emoji_add");
    let emoji = ctx
        .app
        .add_emoji(name, bytes, &ctx.username(), entry)
        .await?;
    Ok(Reply::global(
        &json!({"cmd": "emoji_add", "id": emoji.id.to_string(), "name": emoji.name,
            "fileName": emoji.file, "added": true}),
        None,
    ))
}

pub async fn emoji_update(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: Change = ctx.fields()?;
    let id = emoji_id(&req.emoji_id, "emoji_update")?;
    let name = text(&req.name, "emoji_update", "name")?;
    let data = text(&req.image, "emoji_update", "image")?;
    if name.is_none() && data.is_none() {
        return Err("At least one field to update is required (name or image)".into());
    }
    let bytes = data.map(|d| image(ctx, d)).transpose()?;
    let mut updates = serde_json::Map::new();
    if let Some(name) = name {
        updates.insert("name".into(), json!(name));
    }
    if bytes.is_some() {
        updates.insert("image".into(), json!(true));
    }
    let entry = ctx
        .audit("emoji_update")
        .details(serde_json::Value::Object(updates));
    let Some(emoji) = ctx.app.update_emoji(id, name, bytes, entry).await? else {
        return Err("Emoji not found".into());
    };
    Ok(Reply::global(
        &json!({"cmd": "emoji_update", "id": emoji.id.to_string(), "name": emoji.name,
            "fileName": emoji.file, "updated": true}),
        None,
    ))
}

pub async fn emoji_delete(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_server")?;
    let req: Change = ctx.fields()?;
    let id = emoji_id(&req.emoji_id, "emoji_delete")?;
    match ctx.app.delete_emoji(id, ctx.audit("emoji_delete")).await? {
        Some(emoji) => {
            log::info!("emoji :{}: deleted by {}", emoji.name, ctx.username());
            Ok(Reply::global(
                &json!({"cmd": "emoji_delete", "id": id.to_string(), "deleted": true}),
                None,
            ))
        }
        None => Ok(Reply::to_sender(
            &json!({"cmd": "emoji_delete", "id": id.to_string(), "deleted": false}),
        )),
    }
}

pub async fn emoji_get_all(ctx: &Ctx<'_>) -> Outcome {
    let emojis = ctx.app.store.read(|db| db.emojis()).await?;
    let listing: Map<String, Value> = emojis
        .iter()
        .map(|e| (e.id.to_string(), e.listing()))
        .collect();
    Ok(Reply::to_sender(
        &json!({"cmd": "emoji_get_all", "emojis": listing}),
    ))
}

/// `emoji_get_filename` and `emoji_get_id`: an emoji by name, whatever its case.
pub async fn emoji_lookup(ctx: &Ctx<'_>, cmd: &'static str) -> Outcome {
    #[derive(Deserialize)]
    struct Lookup {
        name: Option<Value>,
    }
    let req: Lookup = ctx.fields()?;
    let Some(Value::String(asked)) = req.name else {
        return Err(format!("Invalid {cmd} command scheme: name must be a string").into());
    };
    let key = asked.trim().to_string();
    let Some(emoji) = ctx.app.store.read(move |db| db.emoji_named(&key)).await? else {
        return Err("Emoji not found".into());
    };
    Ok(Reply::to_sender(&if cmd == "emoji_get_id" {
        json!({"cmd": cmd, "name": asked, "id": emoji.id.to_string()})
    } else {
        json!({"cmd": cmd, "name": asked, "filepath": emoji.file})
    }))
}
