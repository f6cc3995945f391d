//! Leaving voice (docs/protocol.md#89-voice), which a `voice_leave`, a new `voice_join`, a disconnect, a channel
//! deletion, a ban and an external change all do.

use serde_json::json;

use crate::app::App;
use crate::protocol::encode;

impl App {
    /// The user ids in a voice channel, in joining order.
    pub fn voice_members(&self, channel: &str) -> Vec<String> {
        self.voice
            .borrow()
            .participants(channel)
            .iter()
            .map(|p| p.user_id.clone())
            .collect()
    }

    /// Takes a user out of voice and tells the channel. Returns the channel they left.
    pub fn leave_voice(&self, user_id: &str) -> Option<String> {
        let channel = self.voice.borrow().channel_of(user_id)?.to_string();
        // Computed while the user is still a participant.
        let members = self.voice_members(&channel);
        let (channel, p) = self.voice.borrow_mut().leave(user_id)?;
        let left =
            encode(&json!({"cmd": "voice_user_left", "channel": channel, "username": p.username}));
        self.hub.voice_broadcast(
            &self.dir(),
            self.dir_version(),
            &channel,
            &members,
            &left,
            &left,
        );
        Some(channel)
    }
}
