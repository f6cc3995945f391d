//! The polls part of `import`: the original's `polls.json` (poll id → `{"id",
//! "message_id", "channel", "thread_id", "question", "options": [{"id","text","emoji"?}],
//! "allow_multiselect", "expires_at", "created_by", "created_at", "ended", "ended_at"}`)
//! and `poll_votes.json` (poll id → `[{"poll_id","option_id","user_id","voted_at"}]`).
//!
//! A poll comes only with its message (imported before, from the channel's history), and
//! that message's poll embed is rewritten in our form: with the poll's id and its counts,
//! which the original never put there (so the official client showed no counts). A poll
//! whose end time passed while open stays open here; the server's poll timer ends it at
//! start-up.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{ImportError, Tally, shown};
use crate::model::poll::{MAX_OPTIONS, MIN_OPTIONS};
use crate::model::{Poll, PollOption};
use crate::store::Db;
use crate::store::polls::PollKey;

pub(super) fn import_polls(
    db: &Db,
    polls: Option<&Map<String, Value>>,
    votes: Option<&Map<String, Value>>,
    now: f64,
    t: &mut Tally,
) -> Result<(), ImportError> {
    let Some(polls) = polls else {
        t.absent = Some("polls.json");
        return Ok(());
    };
    let (mut votes_in, mut votes_skipped) = (0usize, 0usize);
    for (key, record) in polls {
        let example = || Some(shown(key));
        let Value::Object(p) = record else {
            t.skip("not a JSON object", example());
            continue;
        };
        let text = |k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let number = |k: &str| p.get(k).and_then(Value::as_f64).filter(|n| n.is_finite());
        let id = text("id").unwrap_or(key);
        if text("thread_id").is_some() {
            t.skip("in a thread (threads are not imported)", example());
            continue;
        }
        let (Some(message_id), Some(channel), Some(question)) =
            (text("message_id"), text("channel"), text("question"))
        else {
            t.skip("message_id, channel or question missing", example());
            continue;
        };
        let Some(options) = options(p.get("options")) else {
            t.skip("options missing or invalid", example());
            continue;
        };
        let Some(message) = db.message(channel, message_id)? else {
            t.skip("its message is not in the history", example());
            continue;
        };
        let key_id = PollKey::Id(id.to_string());
        let key_message = PollKey::Message(message_id.to_string());
        if db.poll(&key_id)?.is_some() || db.poll(&key_message)?.is_some() {
            t.skip("already present", None);
            continue;
        }
        let expires_at = number("expires_at");
        let ended = p.get("ended").and_then(Value::as_bool).unwrap_or(false);
        let created_at = number("created_at").unwrap_or(message.timestamp);
        let poll = Poll {
            id: id.to_string(),
            message_id: message_id.to_string(),
            channel: channel.to_string(),
            question: question.to_string(),
            options,
            allow_multiselect: p
                .get("allow_multiselect")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            expires_at,
            created_by: text("created_by").unwrap_or(&message.user_id).to_string(),
            created_at,
            ended_at: ended.then(|| number("ended_at").or(expires_at).unwrap_or(now)),
        };
        db.insert_poll(&poll)?;
        let list = votes
            .and_then(|v| v.get(key).or_else(|| v.get(id)))
            .and_then(Value::as_array);
        for vote in list.into_iter().flatten() {
            let field = |k: &str| {
                vote.get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            let valid = field("option_id")
                .filter(|o| poll.option(o).is_some())
                .zip(field("user_id"));
            let Some((option, user)) = valid else {
                votes_skipped += 1;
                continue;
            };
            let at = vote
                .get("voted_at")
                .and_then(Value::as_f64)
                .unwrap_or(created_at);
            if db.insert_poll_vote(&poll.id, user, option, at)? {
                votes_in += 1;
            } else {
                votes_skipped += 1;
            }
        }
        show_in_message(db, &key_id)?;
        t.imported += 1;
    }
    if votes_in + votes_skipped > 0 {
        t.notes.push(format!(
            "votes: {votes_in} imported, {votes_skipped} skipped (unknown option, no user, or twice)"
        ));
    }
    Ok(())
}

/// 2 to 10 options, each with a string `text`; ids as the original stored them (its
/// index when it has none), all different.
fn options(value: Option<&Value>) -> Option<Vec<PollOption>> {
    let list = value?.as_array()?;
    if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&list.len()) {
        return None;
    }
    let mut out: Vec<PollOption> = Vec::with_capacity(list.len());
    let mut ids = HashSet::new();
    for (i, o) in list.iter().enumerate() {
        let (text, id, emoji) = match o {
            Value::String(text) => (text.as_str(), i.to_string(), None),
            Value::Object(o) => (
                o.get("text")?.as_str()?,
                match o.get("id") {
                    Some(Value::String(id)) => id.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => i.to_string(),
                },
                o.get("emoji")
                    .and_then(Value::as_str)
                    .filter(|e| !e.is_empty())
                    .map(str::to_string),
            ),
            _ => return None,
        };
        if !ids.insert(id.clone()) {
            return None;
        }
        out.push(PollOption {
            id,
            text: text.to_string(),
            emoji,
        });
    }
    Some(out)
}

/// Puts our embed of the poll into its message: in place of the original's poll embed
/// (which has no id), or added when the message has none.
fn show_in_message(db: &Db, key: &PollKey) -> Result<(), ImportError> {
    let Some(state) = db.poll_state(key)? else {
        return Ok(());
    };
    let p = &state.poll;
    let Some(mut m) = db.message(&p.channel, &p.message_id)? else {
        return Ok(());
    };
    let embed = state.embed();
    let ours = |e: &Value| {
        e.get("type").and_then(Value::as_str) == Some("poll")
            && e.pointer("/poll/id")
                .and_then(Value::as_str)
                .is_none_or(|id| id == p.id)
    };
    match m.extra.get_mut("embeds") {
        Some(Value::Array(embeds)) => match embeds.iter_mut().find(|e| ours(e)) {
            Some(e) => *e = embed,
            None => embeds.push(embed),
        },
        _ => {
            m.extra.insert("embeds".into(), Value::Array(vec![embed]));
        }
    }
    db.update_message(&m)?;
    Ok(())
}
