//! Bots' slash commands leaving: when a connection that registered commands closes (for
//! any reason: `auth::disconnected` runs for every end of a connection), or when a bot
//! re-registers without some of its names, everyone is told with `slash_remove`.

use serde_json::json;

use crate::app::App;
use crate::hub::Target;
use crate::protocol::encode;

impl App {
    /// Forgets the commands and pending calls of connection `session`.
    pub fn forget_bot_commands(&self, session: u64) {
        let names = self.bots.borrow_mut().remove_session(session);
        self.announce_slash_removed(names);
    }

    /// `{"cmd":"slash_remove","commands":[…]}` to every authenticated connection.
    pub fn announce_slash_removed(&self, names: Vec<String>) {
        if !names.is_empty() {
            self.broadcast(
                Target::All,
                &encode(&json!({"cmd": "slash_remove", "commands": names})),
            );
        }
    }
}
