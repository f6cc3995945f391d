//! `message_new` (docs/protocol.md#81-message_new): post a message; it is stored, committed, then broadcast to the
//! viewers of the channel (sender last), through [`crate::ops::messages`].

use serde::Deserialize;
use serde_json::{Value, json};

use super::{CmdError, Ctx, Outcome, Reply, given};
use crate::app::App;
use crate::hub::Route;
use crate::model::{Action, Attachment, Message};
use crate::ops::messages::Posted;
use crate::protocol::Text;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    thread_id: Option<Text<'a>>,
    #[serde(borrow)]
    content: Option<Text<'a>>,
    #[serde(borrow)]
    reply_to: Option<Text<'a>>,
    ping: Option<bool>,
    embeds: Option<Value>,
    attachments: Option<Value>,
}

pub async fn message_new(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields_fast()?;
    let channel = given(&req.channel);
    let thread_id = given(&req.thread_id);
    let raw = given(&req.content).unwrap_or("");
    let has_attachments = req.attachments.as_ref().is_some_and(|a| !is_empty(a));
    let mut missing = Vec::new();
    if channel.is_none() && thread_id.is_none() {
        missing.push("channel or thread_id");
    }
    if raw.is_empty() && !has_attachments {
        missing.push("content or attachments");
    }
    if !missing.is_empty() {
        return Err(format!("Missing fields: {}", missing.join(", ")).into());
    }
    let content = raw.trim();
    if content.is_empty() && !has_attachments {
        return Err("Message content or attachments cannot be empty".into());
    }
    let embeds = match &req.embeds {
        Some(e) if !is_empty(e) => Some(validate_embeds(e)?),
        _ => None,
    };
    check_length(ctx.app, content)?;
    if let Err(limited) = ctx.rate_limit() {
        return Ok(limited);
    }
    let name = ctx.sendable(channel, thread_id)?;
    let mut message = Message::new(&name, ctx.user_id, content.to_string());
    if let Some(embeds) = embeds {
        message.extra.insert("embeds".into(), embeds);
    }
    let mut reply_author = None;
    let mut reply_to = None;
    if let Some(target) = given(&req.reply_to) {
        // In a channel one may send to but not view, the reply would tell whether a
        // message exists and who wrote it: there, none is found.
        let found = if ctx.can(&name, Action::View) {
            ctx.app.store.message(&name, target).await?
        } else {
            None
        };
        let Some(original) = found else {
            return Err("The message you're trying to reply to was not found".into());
        };
        reply_to = Some(json!({"id": original.id, "user": original.user_id}));
        if req.ping != Some(false) {
            reply_author = Some(original.user_id);
        }
    }
    if let (true, Some(list)) = (has_attachments, &req.attachments) {
        let attachments = ctx
            .app
            .attachments_to_post(ctx.user_id, &name, list)
            .await?;
        let infos: Vec<Value> = attachments.iter().map(Attachment::info).collect();
        message
            .extra
            .insert("attachments".into(), Value::Array(infos));
    }
    if let Some(reply_to) = reply_to {
        message.extra.insert("reply_to".into(), reply_to);
    }
    if let Some(ping) = req.ping {
        message.extra.insert("ping".into(), json!(ping));
    }
    let posted = Posted::ByUser {
        reply_author: reply_author.as_deref(),
    };
    let packet = ctx.app.post_message(message, posted).await?;
    Ok(Reply {
        packet,
        route: Route::Global(Some(name)),
        then_close: None,
    })
}

/// "Message too long" (docs/protocol.md#81-message_new step 4); lengths count code points.
pub fn check_length(app: &App, content: &str) -> Result<(), CmdError> {
    let max = app.config.limits.post_content;
    if content.chars().count() > max {
        return Err(format!("Message too long. Maximum length is {max} characters").into());
    }
    Ok(())
}

/// Python's truthiness for the optional collections of a request.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

const EMBED_TYPES: [&str; 6] = ["rich", "poll", "link", "image", "video", "article"];

/// Checks embeds (Discord-like limits) and returns them as they will be stored.
pub fn validate_embeds(embeds: &Value) -> Result<Value, CmdError> {
    let Some(list) = embeds.as_array() else {
        return Err("Embeds must be an array".into());
    };
    if list.len() > 10 {
        return Err("Cannot have more than 10 embeds".into());
    }
    for (i, embed) in list.iter().enumerate() {
        validate_embed(embed).map_err(|why| CmdError::from(format!("Embed {i}: {why}")))?;
    }
    Ok(embeds.clone())
}

fn validate_embed(embed: &Value) -> Result<(), String> {
    let Some(e) = embed.as_object() else {
        return Err("must be an object".into());
    };
    let text_len = |k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .map_or(0, |s| s.chars().count())
    };
    if let Some(t) = e.get("type") {
        if !t.as_str().is_some_and(|t| EMBED_TYPES.contains(&t)) {
            return Err(format!("type must be one of {}", EMBED_TYPES.join(", ")));
        }
    }
    for (key, max) in [("title", 256), ("description", 4096)] {
        if e.get(key).is_some_and(|v| !v.is_string() && !v.is_null()) {
            return Err(format!("{key} must be a string"));
        }
        if text_len(key) > max {
            return Err(format!("{key} must be at most {max} characters"));
        }
    }
    let fields = e
        .get("fields")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if fields > 25 {
        return Err("at most 25 fields".into());
    }
    let inner = |v: Option<&Value>, k: &str| {
        v.and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .map_or(0, |s| s.chars().count())
    };
    let field_text: usize = e.get("fields").and_then(Value::as_array).map_or(0, |fs| {
        fs.iter()
            .map(|f| inner(Some(f), "name") + inner(Some(f), "value"))
            .sum()
    });
    let total = text_len("title")
        + text_len("description")
        + field_text
        + inner(e.get("footer"), "text")
        + inner(e.get("author"), "name");
    if total > 6000 {
        return Err("total text must be at most 6000 characters".into());
    }
    Ok(())
}
