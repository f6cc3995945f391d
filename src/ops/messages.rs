//! Posting a message: it is stored and committed, then broadcast. Every `message_new`
//! broadcast is encoded here ([`message_new_packet`]), once for all its recipients.

use serde::Serialize;

use crate::app::App;
use crate::hub::Target;
use crate::model::message::{SERVER_AUTHOR, WireMessage, pings};
use crate::model::{Directory, Message};
use crate::protocol::{Encoded, encode};
use crate::store::StoreError;

/// The three shapes a `message_new` broadcast has on the wire, kept as the original server
/// sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted<'a> {
    /// A user's message: with `pings` (computed here) and `"thread_id": null`.
    /// `reply_author` is the user id of the replied message's author when it pings.
    ByUser { reply_author: Option<&'a str> },
    /// A server message (welcome): `"thread_id": null`, no `pings`.
    ByServer,
    /// The output of a slash command: neither `thread_id` nor `pings`.
    SlashOutput,
    /// A webhook's message (`POST /webhooks`): neither `thread_id` nor `pings`.
    ByWebhook,
}

/// Encodes the `message_new` broadcast of a stored message.
pub fn message_new_packet(message: &Message, dir: &Directory, posted: Posted<'_>) -> Encoded {
    let computed;
    let pings = match posted {
        Posted::ByUser { reply_author } => {
            let reply_author =
                reply_author.map(|id| dir.user(id).map_or(id, |u| u.username.as_str()));
            computed = pings(&message.content, dir, reply_author);
            Some(&computed)
        }
        Posted::ByServer | Posted::SlashOutput | Posted::ByWebhook => None,
    };
    encode(&MessageNew {
        cmd: "message_new",
        message: WireMessage {
            message,
            dir,
            pings,
        },
        channel: &message.channel,
        thread_id: match posted {
            Posted::SlashOutput | Posted::ByWebhook => None,
            Posted::ByUser { .. } | Posted::ByServer => Some(None),
        },
        global: true,
    })
}

#[derive(Serialize)]
struct MessageNew<'a> {
    cmd: &'static str,
    message: WireMessage<'a>,
    channel: &'a str,
    /// Absent, or present as null (threads are not served).
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<Option<&'a str>>,
    global: bool,
}

impl App {
    /// Stores a message and, once it is committed, encodes its broadcast (the caller
    /// routes it: a command reply goes to the sender last).
    pub async fn post_message(
        &self,
        message: Message,
        posted: Posted<'_>,
    ) -> Result<Encoded, StoreError> {
        let stored = message.clone();
        self.store.insert_message(stored).await?;
        Ok(message_new_packet(&message, &self.dir(), posted))
    }

    /// Posts a message as the server (`originChats`) and broadcasts it to the channel's
    /// viewers, as the welcome plugin of the original server does.
    pub async fn post_as_server(&self, channel: &str, content: String) {
        if self.dir().channel(channel).is_none() {
            log::warn!(
                "cannot post to channel `{channel}`: it does not exist (welcome.channel in the config file)"
            );
            return;
        }
        let message = Message::new(channel, SERVER_AUTHOR, content);
        match self.post_message(message, Posted::ByServer).await {
            Ok(packet) => self.broadcast(Target::Viewers(channel), &packet),
            Err(e) => log::error!("could not store a server message in {channel}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{Channel, Roles, User};

    fn fixture() -> (Directory, Message) {
        let alice = User::new_local("alice", String::new(), vec!["user".into()]);
        let dir = Directory::new(
            vec![alice],
            Roles::from(Roles::defaults(|| "id".into())),
            vec![Channel::general()],
        );
        let mut m = Message::new("general", "USR:local_alice", "hi @bob".into());
        m.id = "m1".into();
        m.timestamp = 1700000000.5;
        (dir, m)
    }

    /// The three shapes, byte for byte as the handlers built them before there was one
    /// encoder (`json!` with `preserve_order` for the server and slash forms).
    #[test]
    fn message_new_shapes_are_unchanged() {
        let (dir, m) = fixture();
        let wire = m.wire(&dir);
        let server = json!({"cmd": "message_new", "message": wire, "channel": "general",
                            "thread_id": null, "global": true});
        assert_eq!(
            &*message_new_packet(&m, &dir, Posted::ByServer),
            server.to_string()
        );
        let slash = json!({"cmd": "message_new", "message": wire, "channel": "general",
                           "global": true});
        assert_eq!(
            &*message_new_packet(&m, &dir, Posted::SlashOutput),
            slash.to_string()
        );
        let by_user = message_new_packet(&m, &dir, Posted::ByUser { reply_author: None });
        let mut with_pings = wire.clone();
        with_pings.insert(
            "pings".into(),
            json!({"users": ["bob"], "roles": [], "replies": []}),
        );
        let user = json!({"cmd": "message_new", "message": with_pings, "channel": "general",
                          "thread_id": null, "global": true});
        assert_eq!(&*by_user, user.to_string());
    }
}
