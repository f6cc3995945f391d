//! Polls (docs/protocol.md#820-polls): `poll_create`, `poll_vote`, `poll_end`,
//! `poll_results`, `poll_get`. A poll is a message with a poll embed, posted like any
//! message; its votes live in the store ([`crate::store::polls`]), and every change is
//! announced to the channel's viewers in the packets the official client reads
//! ([`crate::ops::polls`]).

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::{CmdError, Ctx, Outcome, Reply};
use crate::model::message::now;
use crate::model::poll::{
    MAX_DURATION_SECS, MAX_OPTION_EMOJI, MAX_OPTION_ID, MAX_OPTION_TEXT, MAX_OPTIONS, MAX_QUESTION,
    MIN_OPTIONS,
};
use crate::model::{Action, Message, Poll, PollOption, PollState};
use crate::protocol::errors::{CHANNEL_OR_THREAD_REQUIRED, invalid_field};
use crate::store::polls::{PollKey, PollRefusal};

const KEY_REQUIRED: &str = "poll_id or message_id is required";
const NO_VIEW: &str = "You do not have permission to view this poll";
const OPTIONS_REQUIRED: &str = "At least 2 options are required";

/// The request's fields as sent, so that a wrong type can be told from a missing field.
type Request = Map<String, Value>;

/// A string field, trimmed: `None` when absent, null or empty (Python's truthiness, as
/// the original reads them); any other type is an error naming the field.
fn string<'r>(req: &'r Request, key: &str) -> Result<Option<&'r str>, CmdError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty())),
        Some(_) => Err(invalid_field(key, "expected a string").into()),
    }
}

/// The poll a request names: `poll_id`, else `message_id`.
fn key(req: &Request) -> Result<PollKey, CmdError> {
    if let Some(id) = string(req, "poll_id")? {
        return Ok(PollKey::Id(id.to_string()));
    }
    match string(req, "message_id")? {
        Some(id) => Ok(PollKey::Message(id.to_string())),
        None => Err(KEY_REQUIRED.into()),
    }
}

/// The named poll with its votes, if the sender can view its channel.
async fn visible_poll(ctx: &Ctx<'_>, req: &Request) -> Result<PollState, CmdError> {
    let key = key(req)?;
    let Some(state) = ctx.app.store.poll_state(key).await? else {
        return Err(PollRefusal::NotFound.text().into());
    };
    if !ctx.can(&state.poll.channel, Action::View) {
        return Err(NO_VIEW.into());
    }
    Ok(state)
}

/// Code points of `s` at most `max`, else "<what> must be at most <max> characters".
fn bounded(s: &str, max: usize, what: &str) -> Result<(), CmdError> {
    if s.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters").into());
    }
    Ok(())
}

/// `options`: 2 to 10, each a string (its text) or `{"text", "id"?, "emoji"?}`; an option
/// without an id gets its index, as in the original. Ids must differ.
fn options(req: &Request) -> Result<Vec<PollOption>, CmdError> {
    let list = match req.get("options") {
        None | Some(Value::Null) => return Err(OPTIONS_REQUIRED.into()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid_field("options", "expected an array").into()),
    };
    if list.len() < MIN_OPTIONS {
        return Err(OPTIONS_REQUIRED.into());
    }
    if list.len() > MAX_OPTIONS {
        return Err(format!("Cannot have more than {MAX_OPTIONS} options").into());
    }
    let mut out: Vec<PollOption> = Vec::with_capacity(list.len());
    for (i, option) in list.iter().enumerate() {
        let (text, id, emoji) = match option {
            Value::String(text) => (Some(text.as_str()), None, None),
            Value::Object(o) => {
                if !o.contains_key("text") {
                    return Err(format!("Option {i} must have 'text'").into());
                }
                let text = o.get("text").and_then(Value::as_str);
                let id = match o.get("id") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(id)) if !id.trim().is_empty() => Some(id.trim()),
                    Some(_) => {
                        return Err(format!("Option {i}: id must be a non-empty string").into());
                    }
                };
                let emoji = match o.get("emoji") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(e)) => Some(e.trim()).filter(|e| !e.is_empty()),
                    Some(_) => return Err(format!("Option {i}: emoji must be a string").into()),
                };
                (text, id, emoji)
            }
            _ => return Err(format!("Option {i} must be a string or an object").into()),
        };
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(format!("Option {i}: text must be a non-empty string").into());
        };
        bounded(text, MAX_OPTION_TEXT, &format!("Option {i}: text"))?;
        let id = match id {
            Some(id) => {
                bounded(id, MAX_OPTION_ID, &format!("Option {i}: id"))?;
                id.to_string()
            }
            None => i.to_string(),
        };
        if let Some(e) = emoji {
            bounded(e, MAX_OPTION_EMOJI, &format!("Option {i}: emoji"))?;
        }
        if out.iter().any(|o| o.id == id) {
            return Err(format!("Duplicate option id: {id}").into());
        }
        out.push(PollOption {
            id,
            text: text.to_string(),
            emoji: emoji.map(str::to_string),
        });
    }
    Ok(out)
}

/// The end time: `expires_at` (Unix seconds), else `duration_hours` from now (rounded up
/// to a whole second); neither (or a zero duration): none.
fn end_time(req: &Request, now: f64) -> Result<Option<f64>, CmdError> {
    let number = |key: &str| match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(CmdError::from(invalid_field(key, "expected a number"))),
    };
    let at = match (number("expires_at")?, number("duration_hours")?) {
        (Some(at), _) => at,
        (None, None) => return Ok(None),
        (None, Some(0.0)) => return Ok(None),
        (None, Some(h)) if h < 0.0 => return Err("duration_hours must be positive".into()),
        (None, Some(h)) => (now + h * 3600.0).ceil(),
    };
    if !at.is_finite() || at <= now {
        return Err("Poll end time must be in the future".into());
    }
    if at - now > MAX_DURATION_SECS {
        return Err(format!(
            "Poll end time must be at most {} days away",
            MAX_DURATION_SECS / 86400.0
        )
        .into());
    }
    Ok(Some(at))
}

/// `option_ids` (an array, or one id as a string), else `option_id`: the choices of a vote.
fn choices(req: &Request) -> Result<Vec<String>, CmdError> {
    let ids: Vec<String> = match (req.get("option_ids"), req.get("option_id")) {
        (Some(Value::Array(list)), _) if !list.is_empty() => list
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid_field("option_ids", "expected an array of strings"))?,
        (Some(Value::String(id)), _) if !id.is_empty() => vec![id.clone()],
        (None | Some(Value::Null | Value::Array(_) | Value::String(_)), _) => {
            match string(req, "option_id")? {
                Some(id) => vec![id.to_string()],
                None => return Err("option_id or option_ids is required".into()),
            }
        }
        (Some(_), _) => {
            return Err(invalid_field("option_ids", "expected an array of strings").into());
        }
    };
    let mut seen = HashSet::new();
    if let Some(twice) = ids.iter().find(|id| !seen.insert(id.as_str())) {
        return Err(format!("Duplicate option id: {twice}").into());
    }
    Ok(ids)
}

pub async fn poll_create(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let channel = string(&req, "channel")?;
    let thread_id = string(&req, "thread_id")?;
    if channel.is_none() && thread_id.is_none() {
        return Err(CHANNEL_OR_THREAD_REQUIRED.into());
    }
    let Some(question) = string(&req, "question")? else {
        return Err("Question is required".into());
    };
    bounded(question, MAX_QUESTION, "Question")?;
    let options = options(&req)?;
    let allow_multiselect = match req.get("allow_multiselect") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid_field("allow_multiselect", "expected true or false").into()),
    };
    let created_at = now();
    let expires_at = end_time(&req, created_at)?;
    let name = ctx.sendable(channel, thread_id)?;
    if let Err(limited) = ctx.rate_limit() {
        return Ok(limited);
    }
    let mut message = Message::new(&name, ctx.user_id, String::new());
    message.timestamp = created_at;
    let state = PollState {
        poll: Poll {
            id: crate::random::uuid_v4(),
            message_id: message.id.clone(),
            channel: name.clone(),
            question: question.to_string(),
            options,
            allow_multiselect,
            expires_at,
            created_by: ctx.user_id.to_string(),
            created_at,
            ended_at: None,
        },
        votes: Vec::new(),
    };
    message
        .extra
        .insert("embeds".into(), json!([state.embed()]));
    let poll = state.poll;
    let reply = json!({
        "cmd": "poll_create",
        "poll_id": poll.id,
        "message_id": poll.message_id,
        "channel": name,
        "thread_id": null,
        "question": poll.question,
        "options": poll.options.iter().map(PollOption::wire).collect::<Vec<_>>(),
        "allow_multiselect": poll.allow_multiselect,
        "expires_at": poll.expires_at,
    });
    let packet = ctx.app.post_poll(message, poll).await?;
    ctx.app
        .broadcast(crate::hub::Target::Viewers(&name), &packet);
    Ok(Reply::to_sender(&reply))
}

pub async fn poll_vote(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    key(&req)?;
    let chosen = choices(&req)?;
    let state = visible_poll(ctx, &req).await?;
    let poll = &state.poll;
    if poll.ended() {
        return Err(PollRefusal::Ended.text().into());
    }
    if poll.expired(now()) {
        return Err(PollRefusal::Expired.text().into());
    }
    if let Some(unknown) = chosen.iter().find(|id| poll.option(id).is_none()) {
        return Err(format!("Invalid option: {unknown}").into());
    }
    if !poll.allow_multiselect && chosen.len() > 1 {
        return Err("This poll allows only one choice".into());
    }
    if let Err(limited) = ctx.rate_limit() {
        return Ok(limited);
    }
    let state = ctx
        .app
        .store
        .cast_vote(poll.id.clone(), ctx.user_id.to_string(), chosen, now())
        .await?
        .map_err(|refusal| CmdError::from(refusal.text()))?;
    ctx.app.announce_vote(&state, ctx.user_id);
    Ok(Reply::to_sender(&json!({
        "cmd": "poll_vote",
        "poll_id": state.poll.id,
        "option_ids": state.choices_of(ctx.user_id),
        "results": state.results(&ctx.app.dir(), Some(ctx.user_id)),
    })))
}

pub async fn poll_end(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let state = visible_poll(ctx, &req).await?;
    if state.poll.ended() {
        return Err(PollRefusal::AlreadyEnded.text().into());
    }
    if state.poll.created_by != ctx.user_id {
        ctx.require_permission("manage_messages")?;
    }
    let ended = ctx
        .app
        .store
        .end_poll(PollKey::Id(state.poll.id.clone()), now())
        .await?
        .map_err(|refusal| CmdError::from(refusal.text()))?;
    log::info!(
        "poll {} in #{} ended by {}",
        ended.poll.id,
        ended.poll.channel,
        ctx.username()
    );
    Ok(Reply::global(
        &ctx.app.poll_end_packet(&ended),
        Some(&ended.poll.channel),
    ))
}

pub async fn poll_results(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let state = visible_poll(ctx, &req).await?;
    Ok(Reply::to_sender(&json!({
        "cmd": "poll_results",
        "poll_id": state.poll.id,
        "message_id": state.poll.message_id,
        "results": state.results(&ctx.app.dir(), Some(ctx.user_id)),
    })))
}

pub async fn poll_get(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let state = visible_poll(ctx, &req).await?;
    Ok(Reply::to_sender(&json!({
        "cmd": "poll_get",
        "poll": state.details(&ctx.app.dir(), ctx.user_id),
    })))
}
