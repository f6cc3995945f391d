//! `POST /webhooks?token=<t>` (also `/webhooks/<anything>?token=<t>`, as the original
//! accepts): an outside service posts a message into the webhook's channel
//! (docs/protocol.md#1013-post-webhooks). The message is stored and broadcast exactly as a
//! chat message is ([`App::post_message`]), from `originChats` with a `webhook` object
//! that the client shows as the name, avatar and badge. A GitHub `push` event
//! (`X-GitHub-Event`) is posted as the original renders it (`model::github_push`).
//!
//! Bounded in every way a stranger could push: the body is at most [`MAX_BODY`] (a larger
//! `Content-Length` is refused unread), the text at most `limits.post_content` characters,
//! the embeds as for `message_new`, and each webhook posts at most
//! [`crate::app::WEBHOOK_POSTS_PER_MINUTE`] times a minute. The token is looked up by its
//! SHA-256 and never logged.

use std::time::Duration;

use futures_lite::AsyncRead;
use serde_json::{Map, Value, json};
use smol::lock::Semaphore;

use super::http::{Request, Response};
use super::session_route::read_body;
use crate::app::App;
use crate::commands::message_new::{check_length, validate_embeds};
use crate::hub::Target;
use crate::model::github_push;
use crate::model::message::SERVER_AUTHOR;
use crate::model::{ChannelKind, Message};
use crate::ops::messages::Posted;
use crate::store::webhooks::{Webhook, token_hash};

/// A few KiB of text plus embeds fit; more is not a chat message.
pub const MAX_BODY: usize = 16 * 1024;
/// A GitHub event (`X-GitHub-Event`): its payload carries the whole repository object, and a
/// push with many commits is larger still.
pub const MAX_GITHUB_BODY: usize = 256 * 1024;
/// GitHub payloads read at once; more wait (so they hold at most 512 KiB together).
static GITHUB_BODIES: Semaphore = Semaphore::new(2);
/// The `username` a post may show instead of the webhook's name.
const MAX_USERNAME: usize = 100;
/// The `avatar_url` a post may show instead of the webhook's avatar.
const MAX_AVATAR_URL: usize = 2048;

/// What [`answer`] said, and whether it left the body unread (see `upload_route::Answer`).
pub struct Answer {
    pub response: Response,
    pub unread_body: bool,
}

/// Whether this request is for [`answer`].
pub fn handles(request: &Request) -> bool {
    let route = request.route();
    request.method == "POST" && (route == "/webhooks" || route.starts_with("/webhooks/"))
}

/// Answers `POST /webhooks`: `204` once the message is stored and broadcast.
pub async fn answer<S: AsyncRead + Unpin>(app: &App, stream: &mut S, request: &Request) -> Answer {
    // Only a body still on its way needs the linger; one already read with the head does not.
    let pending = request
        .header("content-length")
        .and_then(|n| n.parse::<usize>().ok())
        .is_none_or(|n| n > request.rest.len());
    let unread = |response| Answer {
        response,
        unread_body: pending,
    };
    let Some(token) = request.query("token").filter(|t| !t.is_empty()) else {
        return unread(Response::error(
            "401 Unauthorized",
            "Webhook token required",
        ));
    };
    let json = request
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return unread(Response::error(
            "415 Unsupported Media Type",
            "Content-Type must be application/json",
        ));
    }
    if request.header("transfer-encoding").is_some() {
        return unread(bad_request("Send the body with a Content-Length"));
    }
    let limit = Duration::from_secs(app.config.connections.handshake_timeout_seconds);
    let github_event = request.header("x-github-event").map(str::to_string);
    // GitHub's payloads are larger (the whole repository object comes with each): a larger
    // bound, and only a few read at once.
    let _github_turn = match github_event {
        Some(_) => Some(GITHUB_BODIES.acquire().await),
        None => None,
    };
    let max = if github_event.is_some() {
        MAX_GITHUB_BODY
    } else {
        MAX_BODY
    };
    let body = match read_body(stream, request, limit, max).await {
        Ok(body) => body,
        Err(refusal) => return unread(refusal),
    };
    let response = match post(app, &token, &body, github_event.as_deref()).await {
        Ok(()) => Response::no_content(),
        Err(refusal) => refusal,
    };
    Answer {
        response,
        unread_body: false,
    }
}

async fn post(
    app: &App,
    token: &str,
    body: &[u8],
    github_event: Option<&str>,
) -> Result<(), Response> {
    let hash = token_hash(token);
    let webhook = match app.store.read(move |db| db.webhook_by_token(&hash)).await {
        Ok(Some(webhook)) => webhook,
        Ok(None) => return Err(Response::error("401 Unauthorized", "Invalid webhook token")),
        Err(e) => return Err(storage_failed(&e)),
    };
    if let Err(wait) = app.webhook_posts.borrow_mut().take(&webhook.id, app.now()) {
        return Err(Response::error(
            "429 Too Many Requests",
            &format!("Rate limited: try again in {wait} s"),
        )
        .with("Retry-After", wait.to_string()));
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad_request("Invalid JSON body"));
    };
    let message = match github_event {
        // GitHub's test delivery when a hook is added: answered, nothing posted.
        Some("ping") => return Ok(()),
        Some(event) if github_push::is_push_like(&fields) => {
            github_message(&webhook, event, &fields)?
        }
        _ => message(app, &webhook, &fields)?,
    };
    let channel = webhook.channel.clone();
    if app
        .dir()
        .channel(&channel)
        .is_none_or(|c| c.kind() != ChannelKind::Text)
    {
        return Err(Response::error("404 Not Found", "Channel not found"));
    }
    match app.post_message(message, Posted::ByWebhook).await {
        Ok(packet) => {
            app.broadcast(Target::Viewers(&channel), &packet);
            Ok(())
        }
        Err(e) => Err(storage_failed(&e)),
    }
}

/// The message a post's fields make, checked as `message_new` checks a user's.
fn message(app: &App, webhook: &Webhook, fields: &Map<String, Value>) -> Result<Message, Response> {
    let content = ["content", "text", "message"].iter().find_map(|k| {
        let text = fields.get(*k).and_then(Value::as_str).map(str::trim);
        text.filter(|c| !c.is_empty())
    });
    let embeds = match fields.get("embeds") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) if list.is_empty() => None,
        Some(e) => Some(validate_embeds(e).map_err(|e| bad_request(&e.0))?),
    };
    let Some(content) = content.or(embeds.is_some().then_some("")) else {
        return Err(bad_request("No content provided"));
    };
    check_length(app, content).map_err(|e| bad_request(&e.0))?;
    let name = optional_text(fields, "username", MAX_USERNAME)?.unwrap_or(&webhook.name);
    let avatar = optional_text(fields, "avatar_url", MAX_AVATAR_URL)?.or(webhook.avatar.as_deref());
    let mut message = Message::new(&webhook.channel, SERVER_AUTHOR, content.to_string());
    message.extra.insert(
        "webhook".into(),
        json!({"id": webhook.id, "name": name, "avatar": avatar}),
    );
    if let Some(embeds) = embeds {
        message.extra.insert("embeds".into(), embeds);
    }
    Ok(message)
}

/// A GitHub event's message: a push as the original renders it, from GitHub's name and
/// avatar; any other event with a `repository` and a `ref` is refused as the original does.
fn github_message(
    webhook: &Webhook,
    event: &str,
    fields: &Map<String, Value>,
) -> Result<Message, Response> {
    if event != "push" {
        return Err(bad_request(&format!(
            "Unhandled event type: {}",
            event.chars().take(64).collect::<String>()
        )));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let embeds = validate_embeds(&json!([github_push::embed(fields, now)]))
        .map_err(|e| bad_request(&e.0))?;
    let mut message = Message::new(&webhook.channel, SERVER_AUTHOR, String::new());
    message.extra.insert(
        "webhook".into(),
        json!({"id": webhook.id, "name": "GitHub", "avatar": github_push::GITHUB_AVATAR}),
    );
    message.extra.insert("embeds".into(), embeds);
    Ok(message)
}

/// An optional string field; empty counts as absent, anything but a string is refused.
fn optional_text<'f>(
    fields: &'f Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<Option<&'f str>, Response> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.trim().chars().count() <= max => Ok(Some(s.trim())),
        Some(Value::String(_)) => Err(bad_request(&format!(
            "{key} must be at most {max} characters"
        ))),
        Some(_) => Err(bad_request(&format!("{key} must be a string"))),
    }
}

fn bad_request(text: &str) -> Response {
    Response::error("400 Bad Request", text)
}

fn storage_failed(e: &crate::store::StoreError) -> Response {
    log::error!("storage error while posting through a webhook: {e}");
    Response::error(
        "503 Service Unavailable",
        "The server could not store the message (storage error); try again",
    )
}
