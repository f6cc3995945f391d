//! Who is in which voice channel (docs/protocol.md#89-voice). Memory only: media is peer-to-peer, the server just
//! relays WebRTC peer ids. Keyed by user id; the connection that joined owns the membership,
//! so closing a user's *other* tab does not take them out of voice. At most one entry per
//! user, so the state is bounded by the connection cap.

use indexmap::IndexMap;
use serde_json::{Value, json};

/// One participant of a voice channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub user_id: String,
    pub username: String,
    pub peer_id: String,
    pub muted: bool,
    /// The connection that joined.
    pub session: u64,
}

impl Participant {
    /// `{"id","username","muted"[, "peer_id"]}`: the peer id only for fellow participants.
    pub fn view(&self, with_peer: bool) -> Value {
        let mut v = json!({"id": self.user_id, "username": self.username, "muted": self.muted});
        if with_peer {
            v["peer_id"] = json!(self.peer_id);
        }
        v
    }
}

/// All voice channels with participants, in the order they were first joined.
#[derive(Debug, Default)]
pub struct Voice {
    channels: IndexMap<String, Vec<Participant>>,
}

impl Voice {
    /// The voice channel a user is in.
    pub fn channel_of(&self, user_id: &str) -> Option<&str> {
        self.channels
            .iter()
            .find(|(_, ps)| ps.iter().any(|p| p.user_id == user_id))
            .map(|(c, _)| c.as_str())
    }

    pub fn participants(&self, channel: &str) -> &[Participant] {
        self.channels.get(channel).map_or(&[], Vec::as_slice)
    }

    pub fn participant(&self, user_id: &str) -> Option<&Participant> {
        self.channels
            .values()
            .flatten()
            .find(|p| p.user_id == user_id)
    }

    pub fn join(&mut self, channel: &str, participant: Participant) {
        self.leave(&participant.user_id);
        self.channels
            .entry(channel.to_string())
            .or_default()
            .push(participant);
    }

    /// Takes a user out of voice; returns the channel and the participant as they were.
    pub fn leave(&mut self, user_id: &str) -> Option<(String, Participant)> {
        let channel = self.channel_of(user_id)?.to_string();
        let list = self.channels.get_mut(&channel)?;
        let at = list.iter().position(|p| p.user_id == user_id)?;
        let p = list.remove(at);
        if list.is_empty() {
            self.channels.shift_remove(&channel);
        }
        Some((channel, p))
    }

    pub fn set_muted(&mut self, user_id: &str, muted: bool) -> Option<(String, Participant)> {
        for (c, list) in self.channels.iter_mut() {
            if let Some(p) = list.iter_mut().find(|p| p.user_id == user_id) {
                p.muted = muted;
                return Some((c.clone(), p.clone()));
            }
        }
        None
    }

    /// Everyone in a channel that is going away.
    pub fn remove_channel(&mut self, channel: &str) -> Vec<Participant> {
        self.channels.shift_remove(channel).unwrap_or_default()
    }

    pub fn rename_channel(&mut self, old: &str, new: &str) {
        if let Some(list) = self.channels.shift_remove(old) {
            self.channels.insert(new.to_string(), list);
        }
    }

    pub fn rename_user(&mut self, user_id: &str, username: &str) {
        for p in self
            .channels
            .values_mut()
            .flatten()
            .filter(|p| p.user_id == user_id)
        {
            p.username = username.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(user: &str, session: u64) -> Participant {
        Participant {
            user_id: user.into(),
            username: user.into(),
            peer_id: format!("peer-{user}"),
            muted: false,
            session,
        }
    }

    #[test]
    fn join_moves_and_leave_cleans_up() {
        let mut v = Voice::default();
        v.join("a", p("u1", 1));
        v.join("a", p("u2", 2));
        v.join("b", p("u1", 3));
        assert_eq!(v.participants("a").len(), 1);
        assert_eq!(v.channel_of("u1"), Some("b"));
        assert_eq!(v.participant("u1").map(|p| p.session), Some(3));
        let (c, left) = v.leave("u1").unwrap();
        assert_eq!((c.as_str(), left.session), ("b", 3));
        assert!(v.participants("b").is_empty());
        assert!(v.leave("u1").is_none());
        assert_eq!(
            v.set_muted("u2", true).map(|(c, p)| (c, p.muted)),
            Some(("a".into(), true))
        );
        assert_eq!(v.remove_channel("a").len(), 1);
        assert!(v.channel_of("u2").is_none());
    }

    #[test]
    fn views_hide_the_peer_id_from_outsiders() {
        let part = p("u1", 1);
        assert_eq!(
            part.view(false),
            json!({"id": "u1", "username": "u1", "muted": false})
        );
        assert_eq!(part.view(true)["peer_id"], "peer-u1");
    }
}
