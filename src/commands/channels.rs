//! Channels (docs/protocol.md#88-channels): `channels_get`, and for holders of `manage_channels`: `channel_create`,
//! `channel_update` (a rename takes history, read markers and voice along), `channel_move`,
//! `channel_delete`. After a change every connected client gets a fresh `channels_get`
//! ([`crate::ops::channels`]).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{CmdError, Ctx, Outcome, Reply, text_field};
use crate::model::{Channel, ChannelKind};
use crate::protocol::errors::{
    CHANNEL_NAME_REQUIRED, CHANNEL_NOT_FOUND, USER_NOT_FOUND, invalid_field,
};

pub async fn channels_get(ctx: &Ctx<'_>) -> Outcome {
    if ctx.app.dir().user(ctx.user_id).is_none() {
        return Err(USER_NOT_FOUND.into());
    }
    let newest = ctx.app.newest_messages().await?;
    Ok(Reply::to_sender(
        &json!({"cmd": "channels_get", "val": ctx.app.channel_list(ctx.user_id, &newest)}),
    ))
}

fn check_name(name: &str) -> Result<(), CmdError> {
    crate::model::channel::validate_name(name).map_err(CmdError::from)
}

/// What `channel_create` stores when no permissions are given (docs/protocol.md#73-permissions): owners only.
fn default_permissions() -> Value {
    json!({"view": ["owner"], "send": ["owner"], "delete": ["owner"], "create_thread": ["owner"],
           "delete_own": ["user"], "edit_own": ["user"], "react": ["user"], "pin": ["owner"]})
}

/// Drops empty lists, as the original server does when saving permissions.
fn clean_permissions(p: &Value) -> Result<Value, CmdError> {
    let Some(map) = p.as_object() else {
        return Err("Permissions must be an object".into());
    };
    let kept: Map<String, Value> = map
        .iter()
        .filter(|(_, v)| !v.as_array().is_some_and(Vec::is_empty))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Value::Object(kept))
}

#[derive(Deserialize)]
struct Create {
    name: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<Value>,
    // Typed: a value of another type is refused with the field's name, not dropped.
    description: Option<String>,
    display_name: Option<String>,
    permissions: Option<Value>,
    size: Option<Value>,
}

/// A separator's `size`: a number, or absent (`null`, `""`).
fn separator_size<'v>(field: &str, size: Option<&'v Value>) -> Result<Option<&'v Value>, CmdError> {
    match size {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(n @ Value::Number(_)) => Ok(Some(n)),
        Some(_) => Err(invalid_field(field, "expected a number").into()),
    }
}

/// The keys of `channel_update.updates` with a type of their own: the text fields must be
/// strings (or `null`), `size` a number (or `null`, `""`). `name`, `type` and
/// `permissions` have their own checks.
fn check_update_types(updates: &Map<String, Value>) -> Result<(), CmdError> {
    for key in ["description", "display_name"] {
        if let Some(value) = updates.get(key) {
            if let Err(e) = Option::<String>::deserialize(value) {
                return Err(invalid_field(&format!("updates.{key}"), &e.to_string()).into());
            }
        }
    }
    separator_size("updates.size", updates.get("size"))?;
    Ok(())
}

pub async fn channel_create(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_channels")?;
    let req: Create = ctx.fields()?;
    let Some(name) = req
        .name
        .as_ref()
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
    else {
        return Err(CHANNEL_NAME_REQUIRED.into());
    };
    let Some(type_name) = text_field(&req.kind) else {
        return Err("Channel type is required (text, voice, or separator)".into());
    };
    let Some(kind) = ChannelKind::parse(type_name) else {
        return Err("Invalid channel type, must be text, voice, or separator".into());
    };
    check_name(name)?;
    let mut channels = ctx.app.dir().channels.clone();
    if channels.iter().any(|c| c.name() == name) {
        return Err("Channel already exists".into());
    }
    let mut obj = Map::new();
    obj.insert("name".into(), json!(name));
    obj.insert("type".into(), json!(type_name));
    let permissions = match &req.permissions {
        Some(p) if !p.is_null() => clean_permissions(p)?,
        _ => default_permissions(),
    };
    obj.insert("permissions".into(), permissions);
    for (key, value) in [
        ("description", &req.description),
        ("display_name", &req.display_name),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            obj.insert(key.into(), json!(v));
        }
    }
    let size = separator_size("size", req.size.as_ref())?;
    if kind == ChannelKind::Separator {
        if let Some(size) = size {
            obj.insert("size".into(), size.clone());
        }
    }
    let channel = Channel(obj.clone());
    channels.push(channel);
    let entry = ctx
        .audit("channel_create")
        .target(name, Some(name.to_string()))
        .details(json!({"type": type_name}));
    // The web client shows no live message in a channel with an empty history: give a new
    // text channel its first message.
    let first = (kind == ChannelKind::Text).then(|| crate::model::Message::first_in_channel(name));
    ctx.app
        .save_channels(
            channels,
            move |db| match &first {
                Some(m) => db.insert_message(m).map(|_| ()),
                None => Ok(()),
            },
            entry,
        )
        .await?;
    log::info!("channel {name} created by {}", ctx.username());
    ctx.app.push_channel_lists().await;
    Ok(Reply::to_sender(
        &json!({"cmd": "channel_create", "channel": obj, "created": true}),
    ))
}

#[derive(Deserialize)]
struct Update {
    current_name: Option<Value>,
    updates: Option<Value>,
}

pub async fn channel_update(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_channels")?;
    let req: Update = ctx.fields()?;
    let Some(current) = text_field(&req.current_name) else {
        return Err("current_name is required".into());
    };
    let Some(updates) = req.updates.as_ref().and_then(Value::as_object) else {
        return Err("updates object is required".into());
    };
    check_update_types(updates)?;
    let mut channels = ctx.app.dir().channels.clone();
    let Some(at) = channels.iter().position(|c| c.name() == current) else {
        return Err(CHANNEL_NOT_FOUND.into());
    };
    let mut obj = channels[at].0.clone();
    for (k, v) in updates {
        let v = if k == "permissions" {
            clean_permissions(v)?
        } else {
            v.clone()
        };
        obj.insert(k.clone(), v);
    }
    if !obj
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| ChannelKind::parse(t).is_some() || t == channels[at].type_name())
    {
        return Err("Invalid channel type".into());
    }
    let Some(new_name) = obj.get("name").and_then(Value::as_str).map(str::to_string) else {
        return Err(CHANNEL_NAME_REQUIRED.into());
    };
    let renamed = new_name != current;
    if renamed {
        check_name(&new_name)?;
        if channels.iter().any(|c| c.name() == new_name) {
            return Err("Channel with new name already exists".into());
        }
    }
    channels[at] = Channel(obj.clone());
    let (old, new) = (current.to_string(), new_name.clone());
    let entry = ctx
        .audit("channel_update")
        .target(current, Some(new_name.clone()))
        .details(Value::Object(updates.clone()));
    ctx.app
        .save_channels(
            channels,
            move |db| {
                if renamed {
                    db.rename_channel_data(&old, &new)
                } else {
                    Ok(())
                }
            },
            entry,
        )
        .await?;
    if renamed {
        ctx.app
            .voice
            .borrow_mut()
            .rename_channel(current, &new_name);
        log::info!(
            "channel {current} renamed to {new_name} by {}",
            ctx.username()
        );
    }
    ctx.app.push_channel_lists().await;
    Ok(Reply::to_sender(
        &json!({"cmd": "channel_update", "channel": obj, "updated": true}),
    ))
}

#[derive(Deserialize)]
struct Move {
    name: Option<Value>,
    position: Option<Value>,
}

pub async fn channel_move(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_channels")?;
    let req: Move = ctx.fields()?;
    let Some(name) = text_field(&req.name) else {
        return Err(CHANNEL_NAME_REQUIRED.into());
    };
    let Some(position) = req.position.as_ref().filter(|p| !p.is_null()) else {
        return Err("Position is required".into());
    };
    let Some(to) = position.as_u64() else {
        return Err("Position must be a non-negative integer".into());
    };
    let mut channels = ctx.app.dir().channels.clone();
    let moved = match channels.iter().position(|c| c.name() == name) {
        None => false,
        Some(from) => {
            let channel = channels.remove(from);
            let to = (to as usize).min(channels.len());
            channels.insert(to, channel);
            let entry = ctx
                .audit("channel_move")
                .target(name, Some(name.to_string()))
                .details(json!({"position": to}));
            ctx.app.save_channels(channels, |_| Ok(()), entry).await?;
            ctx.app.push_channel_lists().await;
            true
        }
    };
    Ok(Reply::to_sender(
        &json!({"cmd": "channel_move", "name": name, "position": position, "moved": moved}),
    ))
}

#[derive(Deserialize)]
struct Delete {
    name: Option<Value>,
}

pub async fn channel_delete(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_permission("manage_channels")?;
    let req: Delete = ctx.fields()?;
    let Some(name) = text_field(&req.name) else {
        return Err(CHANNEL_NAME_REQUIRED.into());
    };
    let mut channels = ctx.app.dir().channels.clone();
    let at = channels.iter().position(|c| c.name() == name).or_else(|| {
        channels
            .iter()
            .position(|c| c.name().eq_ignore_ascii_case(name))
    });
    let Some(at) = at else {
        return Err(CHANNEL_NOT_FOUND.into());
    };
    let actual = channels[at].name().to_string();
    // Voice participants leave first, announced while the channel still exists.
    for user in ctx.app.voice_members(&actual) {
        ctx.app.leave_voice(&user);
    }
    channels.remove(at);
    let gone = actual.clone();
    let entry = ctx
        .audit("channel_delete")
        .target(&actual, Some(actual.clone()));
    ctx.app
        .save_channels(channels, move |db| db.delete_channel_data(&gone), entry)
        .await?;
    log::info!("channel {actual} deleted by {}", ctx.username());
    ctx.app.push_channel_lists().await;
    Ok(Reply::to_sender(
        &json!({"cmd": "channel_delete", "name": actual, "deleted": true}),
    ))
}
