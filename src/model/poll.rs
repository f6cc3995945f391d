//! Polls (docs/protocol.md#820-polls): a poll as stored, its votes, and every wire form
//! built from them — the embed of the poll's message, the `results` object of the poll
//! packets and the `poll` object of `poll_get`.
//!
//! The shapes are the official client's: it finds a poll's embed by `type == "poll"` and
//! `poll.id`, draws `poll.results` (or `poll.options`) with each option's `votes`,
//! `poll.total_votes`, `poll.ended`, `poll.expires_at` and `poll.allow_multiselect`, starts
//! with `poll.user_votes` selected, and merges the `results` object of `poll_vote_update`
//! and `poll_end` into the embed's `poll`.

use serde_json::{Map, Value, json};

use super::Directory;

/// Options a poll has at least.
pub const MIN_OPTIONS: usize = 2;
/// Options a poll has at most.
pub const MAX_OPTIONS: usize = 10;
/// Code points of a question at most (the client's field takes 300).
pub const MAX_QUESTION: usize = 300;
/// Code points of an option's text at most (the client's field takes 100).
pub const MAX_OPTION_TEXT: usize = 100;
/// Code points of an option id at most (the original's documented limit).
pub const MAX_OPTION_ID: usize = 50;
/// Code points of an option's emoji at most: a few characters, or a custom emoji's name.
pub const MAX_OPTION_EMOJI: usize = 100;
/// How far ahead an end time may be: a year and a day.
pub const MAX_DURATION_SECS: f64 = 366.0 * 86400.0;

/// One answer a poll offers.
#[derive(Debug, Clone, PartialEq)]
pub struct PollOption {
    pub id: String,
    pub text: String,
    pub emoji: Option<String>,
}

impl PollOption {
    /// `{"id","text"[,"emoji"]}`, as `poll_create` and `poll_get` show options.
    pub fn wire(&self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!(self.id));
        o.insert("text".into(), json!(self.text));
        if let Some(e) = &self.emoji {
            o.insert("emoji".into(), json!(e));
        }
        Value::Object(o)
    }
}

/// A poll as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Poll {
    pub id: String,
    /// The message that shows it (its embed).
    pub message_id: String,
    /// The message's channel.
    pub channel: String,
    pub question: String,
    /// In the order they were given.
    pub options: Vec<PollOption>,
    pub allow_multiselect: bool,
    /// Unix seconds; `None`: open until ended by hand.
    pub expires_at: Option<f64>,
    /// User id.
    pub created_by: String,
    pub created_at: f64,
    /// Unix seconds; `None` while open.
    pub ended_at: Option<f64>,
}

impl Poll {
    pub fn ended(&self) -> bool {
        self.ended_at.is_some()
    }

    /// Whether the end time has passed at `now` (the poll may not be marked ended yet).
    pub fn expired(&self, now: f64) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    pub fn option(&self, id: &str) -> Option<&PollOption> {
        self.options.iter().find(|o| o.id == id)
    }
}

/// One vote row: a user chose an option.
#[derive(Debug, Clone, PartialEq)]
pub struct Vote {
    pub option_id: String,
    pub user_id: String,
}

/// A poll with all its votes: everything a wire form needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PollState {
    pub poll: Poll,
    /// In the order they were cast.
    pub votes: Vec<Vote>,
}

impl PollState {
    /// Votes for each option, in option order.
    fn counts(&self) -> Vec<usize> {
        self.poll
            .options
            .iter()
            .map(|o| self.votes.iter().filter(|v| v.option_id == o.id).count())
            .collect()
    }

    /// The options `user_id` chose, in option order.
    pub fn choices_of(&self, user_id: &str) -> Vec<&str> {
        self.poll
            .options
            .iter()
            .filter(|o| {
                self.votes
                    .iter()
                    .any(|v| v.option_id == o.id && v.user_id == user_id)
            })
            .map(|o| o.id.as_str())
            .collect()
    }

    /// The `results` object of `poll_vote`, `poll_vote_update`, `poll_end` and
    /// `poll_results`: `{"poll_id","question","allow_multiselect","ended","ended_at",
    /// "expires_at","total_votes","results":[{"id","text","emoji","votes","voters"}]}`.
    /// `voters` are usernames once the poll has ended, empty before (votes are secret
    /// while it runs). With `viewer`, each option also says whether they `voted` for it
    /// (only in replies to that viewer: a broadcast is the same for everyone).
    pub fn results(&self, dir: &Directory, viewer: Option<&str>) -> Value {
        let p = &self.poll;
        let counts = self.counts();
        let list: Vec<Value> = p
            .options
            .iter()
            .zip(&counts)
            .map(|(o, &votes)| {
                let voters: Vec<&str> = if p.ended() {
                    self.votes
                        .iter()
                        .filter(|v| v.option_id == o.id)
                        .map(|v| {
                            dir.user(&v.user_id)
                                .map_or(v.user_id.as_str(), |u| &u.username)
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let mut r = Map::new();
                r.insert("id".into(), json!(o.id));
                r.insert("text".into(), json!(o.text));
                r.insert("emoji".into(), json!(o.emoji));
                r.insert("votes".into(), json!(votes));
                r.insert("voters".into(), json!(voters));
                if let Some(me) = viewer {
                    let voted = self
                        .votes
                        .iter()
                        .any(|v| v.option_id == o.id && v.user_id == me);
                    r.insert("voted".into(), json!(voted));
                }
                Value::Object(r)
            })
            .collect();
        json!({
            "poll_id": p.id,
            "question": p.question,
            "allow_multiselect": p.allow_multiselect,
            "ended": p.ended(),
            "ended_at": p.ended_at,
            "expires_at": p.expires_at,
            "total_votes": self.votes.len(),
            "results": list,
        })
    }

    /// The embed of the poll's message, with the current counts (stored in the message and
    /// rewritten on every vote and at the end, so history shows them):
    /// `{"type":"poll","title","poll":{"id","question","options","allow_multiselect",
    /// "expires_at","ended","ended_at","total_votes","results":[{"id","text","emoji","votes"}]}}`.
    pub fn embed(&self) -> Value {
        let p = &self.poll;
        let results: Vec<Value> = p
            .options
            .iter()
            .zip(self.counts())
            .map(|(o, votes)| json!({"id": o.id, "text": o.text, "emoji": o.emoji, "votes": votes}))
            .collect();
        json!({
            "type": "poll",
            "title": p.question,
            "poll": {
                "id": p.id,
                "question": p.question,
                "options": p.options.iter().map(PollOption::wire).collect::<Vec<_>>(),
                "allow_multiselect": p.allow_multiselect,
                "expires_at": p.expires_at,
                "ended": p.ended(),
                "ended_at": p.ended_at,
                "total_votes": self.votes.len(),
                "results": results,
            }
        })
    }

    /// The `poll` object of `poll_get` for `viewer`: the original's fields, `created_by`
    /// as a username, `user_votes` the viewer's choices.
    pub fn details(&self, dir: &Directory, viewer: &str) -> Value {
        let p = &self.poll;
        json!({
            "id": p.id,
            "message_id": p.message_id,
            "channel": p.channel,
            "thread_id": null,
            "question": p.question,
            "options": p.options.iter().map(PollOption::wire).collect::<Vec<_>>(),
            "allow_multiselect": p.allow_multiselect,
            "expires_at": p.expires_at,
            "created_by": dir.user(&p.created_by).map_or(p.created_by.as_str(), |u| &u.username),
            "created_at": p.created_at,
            "ended": p.ended(),
            "ended_at": p.ended_at,
            "user_votes": self.choices_of(viewer),
        })
    }
}

/// Whether `embed` is the embed of poll `poll_id`.
pub fn is_embed_of(embed: &Value, poll_id: &str) -> bool {
    embed.get("type").and_then(Value::as_str) == Some("poll")
        && embed.pointer("/poll/id").and_then(Value::as_str) == Some(poll_id)
}

/// Puts `user_votes` and each result's `voted` for one reader into a poll embed (a copy
/// of a stored message, for a history reply to that reader).
pub fn mark_choices(embed: &mut Value, choices: &[String]) {
    let Some(poll) = embed.get_mut("poll").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(Value::Array(results)) = poll.get_mut("results") {
        for r in results.iter_mut() {
            let chosen = r
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| choices.iter().any(|c| c == id));
            if let Some(r) = r.as_object_mut() {
                r.insert("voted".into(), json!(chosen));
            }
        }
    }
    poll.insert("user_votes".into(), json!(choices));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Roles, User};

    fn state() -> (Directory, PollState) {
        let bob = User::new_local("bob", String::new(), vec!["user".into()]);
        let dir = Directory::new(vec![bob], Roles::default(), vec![]);
        let option = |id: &str, emoji: Option<&str>| PollOption {
            id: id.into(),
            text: id.to_uppercase(),
            emoji: emoji.map(str::to_string),
        };
        let poll = Poll {
            id: "p1".into(),
            message_id: "m1".into(),
            channel: "general".into(),
            question: "Which?".into(),
            options: vec![option("a", Some("🅰")), option("b", None)],
            allow_multiselect: true,
            expires_at: Some(2000.0),
            created_by: "USR:local_bob".into(),
            created_at: 1000.0,
            ended_at: None,
        };
        let votes = vec![
            Vote {
                option_id: "b".into(),
                user_id: "USR:local_bob".into(),
            },
            Vote {
                option_id: "a".into(),
                user_id: "USR:local_bob".into(),
            },
            Vote {
                option_id: "b".into(),
                user_id: "u2".into(),
            },
        ];
        (dir, PollState { poll, votes })
    }

    #[test]
    fn results_hide_voters_until_the_end() {
        let (dir, mut s) = state();
        let r = s.results(&dir, Some("u2"));
        assert_eq!(r["total_votes"], 3);
        assert_eq!(
            r["results"],
            json!([
                {"id": "a", "text": "A", "emoji": "🅰", "votes": 1, "voters": [], "voted": false},
                {"id": "b", "text": "B", "emoji": null, "votes": 2, "voters": [], "voted": true}
            ])
        );
        s.poll.ended_at = Some(1500.0);
        let r = s.results(&dir, None);
        assert_eq!(r["ended"], true);
        assert_eq!(r["results"][1]["voters"], json!(["USR:local_bob", "u2"]));
        assert!(r["results"][1].get("voted").is_none());
    }

    #[test]
    fn embed_and_marks() {
        let (_, s) = state();
        let mut e = s.embed();
        assert!(is_embed_of(&e, "p1"));
        assert!(!is_embed_of(&e, "p2"));
        assert_eq!(e["poll"]["results"][1]["votes"], 2);
        assert_eq!(s.choices_of("USR:local_bob"), ["a", "b"]);
        mark_choices(&mut e, &["a".to_string()]);
        assert_eq!(e["poll"]["user_votes"], json!(["a"]));
        assert_eq!(e["poll"]["results"][0]["voted"], true);
        assert_eq!(e["poll"]["results"][1]["voted"], false);
    }
}
