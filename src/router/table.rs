//! The command table: every command this server answers, declared once — its name, when it
//! is answered (before authentication, in which auth modes; or after), and its handler.
//! [`before_auth`] and [`after_auth`] (the dispatch) and [`capabilities`] (the handshake's
//! list) are all generated from it by one macro, so they cannot drift apart.
//!
//! A new command: write its handler in `src/commands/` and add one line below
//! (`docs/architecture.md`, "Where things go").

use std::rc::Rc;

use crate::app::App;
use crate::auth::{Failure, cracked, rotur, session_token};
use crate::commands::{
    Ctx, Outcome, attachments, bot_slash, channels, emojis, history, message_delete, message_edit,
    message_new, moderation, ping, pings, pins, plugins, polls, profile, reactions, roles,
    server_info, slash, status, typing, unreads, user_delete, user_update, users, voice, webhooks,
};
use crate::config::AuthMode;
use crate::hub::Session;
use crate::protocol::errors::ROTUR_DISABLED;

/// The commands that may come in a message above `connections.max_message_bytes` (up to
/// `connections.max_large_message_bytes`): those that carry an image as a data URL. Any
/// other command in such a message is refused (`router::handle_frame`).
pub const LARGE_COMMANDS: &[&str] = &["emoji_add", "emoji_update", "server_update"];

/// When a command is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Only before authentication, and only in these auth modes (then it is announced).
    BeforeAuth(&'static [AuthMode]),
    /// Only after authentication (always announced).
    AfterAuth,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    pub name: &'static str,
    pub phase: Phase,
}

impl Command {
    /// Whether the handshake announces this command in `mode`.
    pub fn announced(&self, mode: AuthMode) -> bool {
        match self.phase {
            Phase::BeforeAuth(modes) => modes.contains(&mode),
            Phase::AfterAuth => true,
        }
    }
}

/// The handshake's `capabilities` in `mode`: every announced command, sorted.
pub fn capabilities(mode: AuthMode) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = COMMANDS
        .iter()
        .filter(|c| c.announced(mode))
        .map(|c| c.name)
        .collect();
    names.sort_unstable();
    names
}

/// Generates [`COMMANDS`], [`before_auth`] and [`after_auth`] from one list. A name given
/// twice is an unreachable match arm, which the lints (`-D warnings`) reject.
macro_rules! command_table {
    (
        before_auth($app:ident, $session:ident, $text:ident) {
            $( $pre:literal in [$($mode:ident),+] $(else $refusal:expr)? => $pre_handler:expr, )+
        }
        after_auth($ctx:ident) {
            $( $name:literal => $handler:expr, )+
        }
    ) => {
        /// Every command, in table order.
        pub const COMMANDS: &[Command] = &[
            $( Command { name: $pre, phase: Phase::BeforeAuth(&[$(AuthMode::$mode),+]) }, )+
            $( Command { name: $name, phase: Phase::AfterAuth }, )+
        ];

        /// Runs an authentication command. `None`: not one in this mode (the caller answers
        /// "Authentication required"); a refusal is `Some(Err(_))`.
        pub async fn before_auth(
            $app: &Rc<App>,
            $session: &Rc<Session>,
            $text: &str,
            cmd: &str,
            mode: AuthMode,
        ) -> Option<Result<(), Failure>> {
            match cmd {
                $( $pre => {
                    if [$(AuthMode::$mode),+].contains(&mode) {
                        Some($pre_handler)
                    } else {
                        // The refusal of a command this mode does not allow, if it has one.
                        let refusal: &[&'static str] = &[$($refusal)?];
                        refusal.first().map(|text| Err(Failure::from(*text)))
                    }
                } )+
                _ => None,
            }
        }

        /// Runs a command of an authenticated connection. `None`: no such command.
        pub async fn after_auth($ctx: &Ctx<'_>, cmd: &str) -> Option<Outcome> {
            Some(match cmd {
                $( $name => $handler, )+
                _ => return None,
            })
        }
    };
}

command_table! {
    before_auth(app, session, text) {
        "auth" in [Rotur, Cracked] else ROTUR_DISABLED => rotur::auth(app, session, text).await,
        "login" in [Cracked, CrackedOnly] => cracked::login(app, session, text).await,
        "register" in [Cracked, CrackedOnly] => cracked::register(app, session, text).await,
        // Session tokens work in every mode; the account's kind is checked at login.
        "token_login" in [Rotur, Cracked, CrackedOnly]
            => session_token::token_login(app, session, text).await,
    }
    after_auth(ctx) {
        "attachment_get" => attachments::attachment_get(ctx).await,
        "attachment_delete" => attachments::attachment_delete(ctx).await,
        "attachment_upload" => attachments::attachment_upload(ctx),
        "emoji_add" => emojis::emoji_add(ctx).await,
        "emoji_update" => emojis::emoji_update(ctx).await,
        "emoji_delete" => emojis::emoji_delete(ctx).await,
        "emoji_get_all" => emojis::emoji_get_all(ctx).await,
        "emoji_get_filename" => emojis::emoji_lookup(ctx, "emoji_get_filename").await,
        "emoji_get_id" => emojis::emoji_lookup(ctx, "emoji_get_id").await,
        "channels_get" => channels::channels_get(ctx).await,
        "channel_create" => channels::channel_create(ctx).await,
        "channel_update" => channels::channel_update(ctx).await,
        "channel_move" => channels::channel_move(ctx).await,
        "channel_delete" => channels::channel_delete(ctx).await,
        "voice_join" => voice::voice_join(ctx),
        "voice_leave" => voice::voice_leave(ctx),
        "voice_mute" => voice::voice_mute(ctx, true),
        "voice_unmute" => voice::voice_mute(ctx, false),
        "voice_state" => voice::voice_state(ctx),
        "role_create" => roles::role_create(ctx).await,
        "role_update" => roles::role_update(ctx).await,
        "role_set" => roles::role_set(ctx).await,
        "role_delete" => roles::role_delete(ctx).await,
        "role_reorder" => roles::role_reorder(ctx).await,
        "role_permissions_get" => roles::role_permissions_get(ctx),
        "role_permissions_set" => roles::role_permissions_set(ctx).await,
        "roles_list" => users::roles_list(ctx),
        "user_roles_set" => roles::user_roles_set(ctx).await,
        "user_roles_get" => users::user_roles_get(ctx),
        "self_role_add" => roles::self_role(ctx, true).await,
        "self_role_remove" => roles::self_role(ctx, false).await,
        "self_roles_list" => roles::self_roles_list(ctx),
        "user_ban" => moderation::user_ban(ctx, true).await,
        "user_unban" => moderation::user_ban(ctx, false).await,
        "users_banned_list" => moderation::users_banned_list(ctx),
        "user_timeout" => moderation::user_timeout(ctx).await,
        "rate_limit_reset" => moderation::rate_limit_reset(ctx),
        "rate_limit_status" => server_info::rate_limit_status(ctx),
        "user_leave" => moderation::user_leave(ctx).await,
        "user_delete" => user_delete::user_delete(ctx).await,
        "server_update" => moderation::server_update(ctx).await,
        "server_info" => server_info::server_info(ctx),
        "plugins_list" => plugins::plugins_list(ctx),
        "plugins_reload" => plugins::plugins_reload(ctx),
        "session_token_create" => session_token::create(ctx).await,
        "session_token_revoke" => session_token::revoke(ctx).await,
        "slash_list" => slash::slash_list(ctx),
        "slash_call" => slash::slash_call(ctx).await,
        "slash_register" => slash::slash_register(ctx),
        "slash_response" => bot_slash::slash_response(ctx).await,
        "user_update" => user_update::user_update(ctx).await,
        "message_new" => message_new::message_new(ctx).await,
        "message_edit" => message_edit::message_edit(ctx).await,
        "message_delete" => message_delete::message_delete(ctx).await,
        "message_get" => history::message_get(ctx).await,
        "message_replies" => history::message_replies(ctx).await,
        "messages_get" => history::messages_get(ctx).await,
        "messages_around" => history::messages_around(ctx).await,
        "messages_search" => history::messages_search(ctx).await,
        "embeds_list" => history::embeds_list(ctx).await,
        "message_pin" => pins::pin(ctx, "message_pin").await,
        "message_unpin" => pins::pin(ctx, "message_unpin").await,
        "messages_pinned" => pins::messages_pinned(ctx).await,
        "message_react_add" => reactions::react(ctx, true).await,
        "message_react_remove" => reactions::react(ctx, false).await,
        "nickname_update" => profile::nickname(ctx, true).await,
        "nickname_remove" => profile::nickname(ctx, false).await,
        "pfp_get" => profile::pfp_get(ctx),
        "pfp_set" => profile::pfp_set(ctx).await,
        "ping" => ping::ping(ctx),
        "pings_get" => pings::pings_get(ctx).await,
        "status_get" => status::status_get(ctx),
        "status_set" => status::status_set(ctx).await,
        "typing" => typing::typing(ctx),
        "unreads_ack" => unreads::unreads_ack(ctx).await,
        "unreads_count" => unreads::unreads_count(ctx).await,
        "unreads_get" => unreads::unreads_get(ctx).await,
        "users_list" => users::users_list(ctx),
        "users_online" => users::users_online(ctx),
        "webhook_create" => webhooks::webhook_create(ctx).await,
        "webhook_get" => webhooks::webhook_get(ctx).await,
        "webhook_list" => webhooks::webhook_list(ctx).await,
        "webhook_update" => webhooks::webhook_update(ctx).await,
        "webhook_delete" => webhooks::webhook_delete(ctx).await,
        "webhook_regenerate" => webhooks::webhook_regenerate(ctx).await,
        "poll_create" => polls::poll_create(ctx).await,
        "poll_vote" => polls::poll_vote(ctx).await,
        "poll_end" => polls::poll_end(ctx).await,
        "poll_results" => polls::poll_results(ctx).await,
        "poll_get" => polls::poll_get(ctx).await,
        "modlog_get" => crate::commands::modlog::modlog_get(ctx).await,
        "modlog_summary" => crate::commands::modlog::modlog_summary(ctx).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
    }

    /// The handshake's list: 64 commands after authentication before the media commands
    /// (3 attachment and 6 emoji commands), 4 of accounts and the rest (`user_delete`,
    /// `role_set`, `plugins_list`, `plugins_reload`), the 6 webhook commands, the 2 of
    /// bots' slash commands (`slash_register`, `slash_response`), the 5 poll commands, the
    /// 2 audit log commands, plus the authentication commands of the mode.
    #[test]
    fn capabilities_per_mode() {
        let after_auth = COMMANDS
            .iter()
            .filter(|c| c.phase == Phase::AfterAuth)
            .count();
        assert_eq!(after_auth, 64 + 9 + 4 + 6 + 2 + 5 + 2);
        let auth_commands = |mode| {
            let caps = capabilities(mode);
            let mut sorted = caps.clone();
            sorted.sort_unstable();
            assert_eq!(caps, sorted);
            ["auth", "login", "register", "token_login"]
                .into_iter()
                .filter(|c| caps.contains(c))
                .collect::<Vec<_>>()
        };
        assert_eq!(auth_commands(AuthMode::Rotur), ["auth", "token_login"]);
        assert_eq!(
            auth_commands(AuthMode::Cracked),
            ["auth", "login", "register", "token_login"]
        );
        assert_eq!(
            auth_commands(AuthMode::CrackedOnly),
            ["login", "register", "token_login"]
        );
    }
}
