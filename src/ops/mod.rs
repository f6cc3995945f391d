//! What several layers do to the shared state, in one place below both [`crate::auth`] and
//! [`crate::commands`]: methods on [`crate::app::App`], one file per concern.
//!
//! - [`accounts`]: write-through changes of users and roles (store first, then the
//!   directory, so a handler cannot do half);
//! - [`attachments`]: uploads taken in, attachments posted and deleted, the janitor;
//! - [`bots`]: bots' slash commands leaving with their connection (`slash_remove`);
//! - [`emojis`]: custom emojis and the server's icon and banner (checked, then written);
//! - [`channels`]: the channel list (write-through) and the `channels_get` push;
//! - [`messages`]: posting a message (store, then broadcast) and the one `message_new`
//!   encoder;
//! - [`moderation`]: ban, unban, timeout, closing a user's connections;
//! - [`polls`]: posting a poll, its live packets, and the timer that ends polls on time;
//! - [`voice`]: taking a user out of voice;
//! - [`external`]: reacting to changes another process committed to the store.
//!
//! See `docs/architecture.md` ("Layers").

pub mod accounts;
pub mod attachments;
pub mod bots;
pub mod channels;
pub mod emojis;
pub mod external;
pub mod messages;
pub mod moderation;
pub mod polls;
pub mod voice;
