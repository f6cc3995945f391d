//! Changes another process (the admin command line) committed to the store: the transport's
//! watcher reloads the directory and hands it here.

use crate::app::App;
use crate::model::{ChannelKind, Directory};

use super::moderation::disconnect;

impl App {
    /// Makes a freshly loaded directory the live one, then applies what it implies: users
    /// who are now banned or gone lose their connections, as a ban does (docs/protocol.md#811-roles-and-moderation "→ do"),
    /// voice channels that are gone lose their people, and a changed channel list is pushed.
    pub async fn adopt_external_directory(&self, dir: Directory) {
        let channels_changed = self.dir().channels != dir.channels;
        *self.dir_mut() = dir;
        for session in self.hub.sessions() {
            let Some(user_id) = session.user_id() else {
                continue;
            };
            let reason = match self.dir().user(&user_id) {
                None => "Your account was deleted",
                Some(u) if u.is_banned() => "You have been banned",
                Some(_) => continue,
            };
            disconnect(&session, reason);
        }
        // Voice channels that were deleted or turned into something else lose their people.
        let stale: Vec<String> = {
            let dir = self.dir();
            let voice = self.voice.borrow();
            dir.users()
                .filter_map(|u| {
                    voice
                        .channel_of(&u.id)
                        .map(|c| (u.id.clone(), c.to_string()))
                })
                .filter(|(_, c)| {
                    dir.channel(c)
                        .is_none_or(|c| c.kind() != ChannelKind::Voice)
                })
                .map(|(u, _)| u)
                .collect()
        };
        for user in stale {
            self.leave_voice(&user);
        }
        if channels_changed {
            self.push_channel_lists().await;
        }
        // An import may have brought polls with end times: the timer looks again.
        let _ = self.poll_timer.0.try_send(());
    }
}
