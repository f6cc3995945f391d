//! Polls (docs/protocol.md#820-polls) as shared state changes: posting a poll's message,
//! the live packets every viewer of its channel gets (`poll_vote_update`, `poll_end`), the
//! reader's own choices in history, and the timer that ends polls when their time is up.
//!
//! The timer is one task on the executor. It sleeps until the earliest end time of an open
//! poll (asked of the store), or until a new poll with an end time is made; at start-up
//! its first look ends whatever expired while the server was down. No polling: with no
//! timed poll open it waits for the next one.

use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value, json};
use smol::Timer;

use crate::app::App;
use crate::hub::Target;
use crate::model::message::now;
use crate::model::poll::{is_embed_of, mark_choices};
use crate::model::{Message, Poll, PollState};
use crate::ops::messages::{Posted, message_new_packet};
use crate::protocol::{Encoded, encode};
use crate::store::StoreError;

/// The timer looks again at least this often (a changed clock), and waits this long after
/// a store error. Another process's commit (an import) wakes it at once
/// (`App::adopt_external_directory`).
const LOOK_AGAIN: Duration = Duration::from_secs(3600);

impl App {
    /// Stores a poll's message and the poll together, wakes the timer if the poll has an
    /// end time, and returns the message's `message_new` broadcast (the one encoder, as
    /// for any user's message).
    pub async fn post_poll(&self, message: Message, poll: Poll) -> Result<Encoded, StoreError> {
        let timed = poll.expires_at.is_some();
        self.store
            .insert_poll_message(message.clone(), poll)
            .await?;
        if timed {
            // Full means a wake-up is already pending, which is as good.
            let _ = self.poll_timer.0.try_send(());
        }
        Ok(message_new_packet(
            &message,
            &self.dir(),
            Posted::ByUser { reply_author: None },
        ))
    }

    /// `poll_vote_update` to the viewers of the poll's channel (the voter too): what the
    /// client merges into the poll's embed.
    pub fn announce_vote(&self, state: &PollState, voter: &str) {
        let dir = self.dir();
        let p = &state.poll;
        let user = dir.user(voter).map_or(voter, |u| u.username.as_str());
        let packet = encode(&json!({
            "cmd": "poll_vote_update",
            "poll_id": p.id,
            "message_id": p.message_id,
            "channel": p.channel,
            "thread_id": null,
            "user": user,
            "option_ids": state.choices_of(voter),
            "results": state.results(&dir, None),
        }));
        drop(dir);
        self.broadcast(Target::Viewers(&p.channel), &packet);
    }

    /// `poll_end` to the viewers of the poll's channel.
    pub fn announce_poll_end(&self, state: &PollState) {
        let packet = encode(&self.poll_end_packet(state));
        self.broadcast(Target::Viewers(&state.poll.channel), &packet);
    }

    /// The `poll_end` packet: the same for the one who ended it and for every viewer.
    pub fn poll_end_packet(&self, state: &PollState) -> Value {
        let p = &state.poll;
        json!({
            "cmd": "poll_end",
            "poll_id": p.id,
            "message_id": p.message_id,
            "channel": p.channel,
            "thread_id": null,
            "results": state.results(&self.dir(), None),
        })
    }

    /// Marks `user_id`'s own choices (`user_votes`, each result's `voted`) in the poll
    /// embeds of these messages, copies read for a reply to that user. A poll is found by
    /// its message, so an embed that only claims a poll's id is left alone.
    pub async fn mark_own_votes(
        &self,
        user_id: &str,
        messages: &mut [Message],
    ) -> Result<(), StoreError> {
        let has_poll = |m: &Message| {
            m.extra
                .get("embeds")
                .and_then(Value::as_array)
                .is_some_and(|list| {
                    list.iter()
                        .any(|e| e.get("type").and_then(Value::as_str) == Some("poll"))
                })
        };
        let ids: Vec<String> = messages
            .iter()
            .filter(|m| has_poll(m))
            .map(|m| m.id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let choices = self.store.choices_in(user_id.to_string(), ids).await?;
        for m in messages.iter_mut() {
            let Some((poll_id, chosen)) = choices.get(&m.id) else {
                continue;
            };
            if let Some(Value::Array(embeds)) = m.extra.get_mut("embeds") {
                for e in embeds.iter_mut().filter(|e| is_embed_of(e, poll_id)) {
                    mark_choices(e, chosen);
                }
            }
        }
        Ok(())
    }

    /// Ends polls when their end time passes and tells their channels (`poll_end`). Runs
    /// for the server's lifetime.
    pub async fn run_poll_timer(self: Rc<Self>) {
        loop {
            // A wake-up from before this look is answered by it.
            while self.poll_timer.1.try_recv().is_ok() {}
            let next = match self.store.next_poll_end().await {
                Ok(next) => next,
                Err(StoreError::Stopped) => return,
                Err(e) => {
                    log::error!("poll timer: cannot read the polls' end times: {e}");
                    self.wait_for_poll(LOOK_AGAIN).await;
                    continue;
                }
            };
            let now = now();
            match next {
                None => self.wait_for_poll(LOOK_AGAIN).await,
                Some(at) if at > now => {
                    let wait = Duration::from_secs_f64((at - now).min(LOOK_AGAIN.as_secs_f64()));
                    self.wait_for_poll(wait).await;
                }
                Some(_) => match self.store.end_due_polls(now).await {
                    Ok(ended) if ended.is_empty() => {
                        // Cannot be (each poll has its message); never spin on it.
                        log::warn!("poll timer: a poll past its end time could not be ended");
                        self.wait_for_poll(LOOK_AGAIN).await;
                    }
                    Ok(ended) => {
                        for state in &ended {
                            log::info!(
                                "poll {} in #{} ended: its end time passed",
                                state.poll.id,
                                state.poll.channel
                            );
                            self.announce_poll_end(state);
                        }
                    }
                    Err(StoreError::Stopped) => return,
                    Err(e) => {
                        log::error!("poll timer: cannot end polls: {e}");
                        self.wait_for_poll(LOOK_AGAIN).await;
                    }
                },
            }
        }
    }

    /// Waits `at_most`, or less if a poll with an end time is made meanwhile.
    async fn wait_for_poll(&self, at_most: Duration) {
        smol::future::or(
            async {
                Timer::after(at_most).await;
            },
            async {
                let _ = self.poll_timer.1.recv().await;
            },
        )
        .await;
    }
}
