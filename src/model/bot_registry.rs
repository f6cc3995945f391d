//! The slash commands bots have registered, and the calls waiting for a bot's answer
//! (docs/protocol.md#813-slash-commands). Memory only, as in the original server: a
//! registration belongs to the connection that made it and ends with it.
//!
//! Everything is bounded: [`MAX_BOTS`] registering connections, each with at most
//! [`MAX_COMMANDS_PER_BOT`] commands of at most [`MAX_REGISTRATION_BYTES`] of JSON (so
//! `slash_list` stays a few hundred KiB at worst), and at most [`MAX_PENDING`] calls
//! ([`MAX_PENDING_PER_INVOKER`] per calling user), each forgotten after [`CALL_EXPIRY`].

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::bot_command::{BotCommand, MAX_COMMANDS_PER_BOT};

/// Connections that may hold registrations at once.
pub const MAX_BOTS: usize = 16;
/// The JSON of one connection's commands (their `slash_list` entries), at most.
pub const MAX_REGISTRATION_BYTES: usize = 16 * 1024;
/// Calls waiting for an answer, over all bots, and per calling user.
pub const MAX_PENDING: usize = 256;
pub const MAX_PENDING_PER_INVOKER: usize = 8;
/// How long a bot has to answer a call.
pub const CALL_EXPIRY: Duration = Duration::from_secs(300);

/// One connection's commands.
#[derive(Debug, Clone)]
pub struct Registration {
    pub session: u64,
    pub user_id: String,
    pub commands: Vec<BotCommand>,
}

/// A call forwarded to a bot, as the server recorded it: the bot's answer is posted with
/// these, whatever it says itself.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingCall {
    pub id: String,
    /// The bot's connection.
    pub session: u64,
    /// The calling user's id.
    pub invoker: String,
    pub channel: String,
    pub command: String,
    pub expires: Instant,
}

/// Why a registration or a call is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    TooManyCommands,
    TooLarge,
    TooManyBots,
    OtherSession,
    Duplicate(String),
    Taken { name: String, by: String },
    TooManyPending,
    TooManyPendingForUser,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::TooManyCommands => write!(
                f,
                "Too many commands (at most {MAX_COMMANDS_PER_BOT} per bot)"
            ),
            RegistryError::TooLarge => write!(
                f,
                "Commands too large (at most {MAX_REGISTRATION_BYTES} bytes of JSON per bot)"
            ),
            RegistryError::TooManyBots => write!(
                f,
                "Too many bots have slash commands registered (at most {MAX_BOTS})"
            ),
            RegistryError::OtherSession => write!(
                f,
                "You already have slash commands registered from another session"
            ),
            RegistryError::Duplicate(name) => {
                write!(f, "Invalid command schema: duplicate command name '{name}'")
            }
            RegistryError::Taken { name, by } => {
                write!(f, "Command name '/{name}' is already registered by {by}")
            }
            RegistryError::TooManyPending => write!(
                f,
                "Too many slash commands are waiting for a bot's answer; try again later"
            ),
            RegistryError::TooManyPendingForUser => write!(
                f,
                "You have too many slash commands waiting for a bot's answer; try again later"
            ),
        }
    }
}

/// What a bot's answer may name to pick its call (each one given must match).
#[derive(Debug, Default, Clone, Copy)]
pub struct CallFilter<'a> {
    pub id: Option<&'a str>,
    pub channel: Option<&'a str>,
    /// The invoker as the bot names it: matched against the call's user id, or its
    /// username (`invoker_name`).
    pub invoker: Option<&'a str>,
    pub command: Option<&'a str>,
}

/// The registrations and the pending calls.
#[derive(Debug, Default)]
pub struct BotRegistry {
    bots: Vec<Registration>,
    calls: VecDeque<PendingCall>,
}

impl BotRegistry {
    /// Every registered command with its bot's user id, in registration order.
    pub fn commands(&self) -> impl Iterator<Item = (&str, &BotCommand)> {
        self.bots
            .iter()
            .flat_map(|r| r.commands.iter().map(move |c| (r.user_id.as_str(), c)))
    }

    /// The command named `name` (exactly), and the registration holding it.
    pub fn find(&self, name: &str) -> Option<(&Registration, &BotCommand)> {
        self.bots
            .iter()
            .find_map(|r| r.commands.iter().find(|c| c.name == name).map(|c| (r, c)))
    }

    /// Replaces the commands of connection `session` (of user `user_id`). Names compare
    /// without regard to ASCII case, so `/Ban` cannot pose as `/ban`; `reserved` are the
    /// built-ins. `size` is the JSON size of the commands' list entries. Returns the
    /// names the connection had before and no longer has.
    pub fn register(
        &mut self,
        session: u64,
        user_id: &str,
        commands: Vec<BotCommand>,
        size: usize,
        reserved: &[&str],
        username_of: impl Fn(&str) -> String,
    ) -> Result<Vec<String>, RegistryError> {
        if commands.len() > MAX_COMMANDS_PER_BOT {
            return Err(RegistryError::TooManyCommands);
        }
        if size > MAX_REGISTRATION_BYTES {
            return Err(RegistryError::TooLarge);
        }
        if self
            .bots
            .iter()
            .any(|r| r.session != session && r.user_id == user_id)
        {
            return Err(RegistryError::OtherSession);
        }
        for (i, c) in commands.iter().enumerate() {
            if commands[..i]
                .iter()
                .any(|d| d.name.eq_ignore_ascii_case(&c.name))
            {
                return Err(RegistryError::Duplicate(c.name.clone()));
            }
            if reserved.iter().any(|r| r.eq_ignore_ascii_case(&c.name)) {
                return Err(RegistryError::Taken {
                    name: c.name.clone(),
                    by: "originChats (a built-in command)".into(),
                });
            }
            let holder = self.bots.iter().find(|r| {
                r.session != session
                    && r.commands
                        .iter()
                        .any(|d| d.name.eq_ignore_ascii_case(&c.name))
            });
            if let Some(holder) = holder {
                return Err(RegistryError::Taken {
                    name: c.name.clone(),
                    by: username_of(&holder.user_id),
                });
            }
        }
        let existing = self.bots.iter().position(|r| r.session == session);
        if existing.is_none() && self.bots.len() >= MAX_BOTS {
            return Err(RegistryError::TooManyBots);
        }
        let registration = Registration {
            session,
            user_id: user_id.to_string(),
            commands,
        };
        let before = match existing {
            Some(i) => std::mem::replace(&mut self.bots[i], registration).commands,
            None => {
                self.bots.push(registration);
                Vec::new()
            }
        };
        let now = &self.bots[existing.unwrap_or(self.bots.len() - 1)].commands;
        Ok(before
            .into_iter()
            .map(|c| c.name)
            .filter(|n| !now.iter().any(|c| &c.name == n))
            .collect())
    }

    /// Forgets connection `session`: its commands (their names are returned) and the
    /// calls waiting for it.
    pub fn remove_session(&mut self, session: u64) -> Vec<String> {
        self.calls.retain(|c| c.session != session);
        match self.bots.iter().position(|r| r.session == session) {
            Some(i) => self
                .bots
                .remove(i)
                .commands
                .into_iter()
                .map(|c| c.name)
                .collect(),
            None => Vec::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        self.calls.retain(|c| c.expires > now);
    }

    /// Records a call forwarded to a bot.
    pub fn add_call(&mut self, call: PendingCall, now: Instant) -> Result<(), RegistryError> {
        self.expire(now);
        if self.calls.len() >= MAX_PENDING {
            return Err(RegistryError::TooManyPending);
        }
        let mine = self
            .calls
            .iter()
            .filter(|c| c.invoker == call.invoker)
            .count();
        if mine >= MAX_PENDING_PER_INVOKER {
            return Err(RegistryError::TooManyPendingForUser);
        }
        self.calls.push_back(call);
        Ok(())
    }

    /// Takes the oldest unexpired call of connection `session` that matches `filter`.
    /// `invoker_name` gives a call's invoker's username (a bot may name either).
    pub fn take_call(
        &mut self,
        session: u64,
        filter: CallFilter<'_>,
        now: Instant,
        invoker_name: impl Fn(&str) -> String,
    ) -> Option<PendingCall> {
        self.expire(now);
        let matches = |c: &PendingCall| {
            c.session == session
                && filter.id.is_none_or(|id| c.id == id)
                && filter.channel.is_none_or(|ch| c.channel == ch)
                && filter.command.is_none_or(|n| c.command == n)
                && filter.invoker.is_none_or(|i| {
                    c.invoker == i || invoker_name(&c.invoker).eq_ignore_ascii_case(i)
                })
        };
        let i = self.calls.iter().position(matches)?;
        self.calls.remove(i)
    }

    /// The unexpired call with this id, whoever it was sent to.
    pub fn call(&self, id: &str, now: Instant) -> Option<&PendingCall> {
        self.calls.iter().find(|c| c.id == id && c.expires > now)
    }

    pub fn pending(&self) -> usize {
        self.calls.len()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cmd(name: &str) -> BotCommand {
        BotCommand::parse(&json!({"name": name, "description": ""})).unwrap()
    }

    fn name(id: &str) -> String {
        format!("name-of-{id}")
    }

    #[test]
    fn names_are_unique_and_owned_by_one_connection() {
        let mut r = BotRegistry::default();
        assert_eq!(
            r.register(1, "bot", vec![cmd("a"), cmd("b")], 10, &["ban"], name),
            Ok(vec![])
        );
        assert_eq!(
            r.register(2, "other", vec![cmd("A")], 10, &["ban"], name),
            Err(RegistryError::Taken {
                name: "A".into(),
                by: "name-of-bot".into()
            })
        );
        assert_eq!(
            r.register(2, "other", vec![cmd("Ban")], 10, &["ban"], name),
            Err(RegistryError::Taken {
                name: "Ban".into(),
                by: "originChats (a built-in command)".into()
            })
        );
        assert_eq!(
            r.register(3, "bot", vec![cmd("c")], 10, &[], name),
            Err(RegistryError::OtherSession)
        );
        assert_eq!(
            r.register(2, "other", vec![cmd("x"), cmd("x")], 10, &[], name),
            Err(RegistryError::Duplicate("x".into()))
        );
        // Re-registering replaces: the names it drops are returned.
        assert_eq!(
            r.register(1, "bot", vec![cmd("b"), cmd("c")], 10, &[], name),
            Ok(vec!["a".to_string()])
        );
        let names: Vec<&str> = r.commands().map(|(_, c)| c.name.as_str()).collect();
        assert_eq!(names, ["b", "c"]);
        assert_eq!(r.remove_session(1), ["b", "c"]);
        assert!(r.find("b").is_none());
    }

    #[test]
    fn bounds() {
        let mut r = BotRegistry::default();
        let many: Vec<BotCommand> = (0..=MAX_COMMANDS_PER_BOT)
            .map(|i| cmd(&format!("c{i}")))
            .collect();
        assert_eq!(
            r.register(1, "bot", many, 10, &[], name),
            Err(RegistryError::TooManyCommands)
        );
        assert_eq!(
            r.register(
                1,
                "bot",
                vec![cmd("a")],
                MAX_REGISTRATION_BYTES + 1,
                &[],
                name
            ),
            Err(RegistryError::TooLarge)
        );
        for i in 0..MAX_BOTS as u64 {
            let user = format!("bot{i}");
            r.register(i, &user, vec![cmd(&user)], 10, &[], name)
                .unwrap();
        }
        assert_eq!(
            r.register(99, "late", vec![cmd("late")], 10, &[], name),
            Err(RegistryError::TooManyBots)
        );
    }

    #[test]
    fn calls_are_matched_bounded_and_expire() {
        let mut r = BotRegistry::default();
        let now = Instant::now();
        let call = |id: &str, invoker: &str| PendingCall {
            id: id.into(),
            session: 1,
            invoker: invoker.into(),
            channel: "general".into(),
            command: "ping".into(),
            expires: now + CALL_EXPIRY,
        };
        r.add_call(call("1", "alice"), now).unwrap();
        r.add_call(call("2", "bob"), now).unwrap();
        let forged = CallFilter {
            channel: Some("secret"),
            ..CallFilter::default()
        };
        assert_eq!(r.take_call(1, forged, now, name), None);
        let by_name = CallFilter {
            invoker: Some("NAME-OF-bob"),
            ..CallFilter::default()
        };
        assert_eq!(r.take_call(2, by_name, now, name), None, "another bot");
        assert_eq!(r.take_call(1, by_name, now, name).unwrap().id, "2");
        assert_eq!(r.pending(), 1);
        for i in 1..MAX_PENDING_PER_INVOKER {
            r.add_call(call(&format!("a{i}"), "alice"), now).unwrap();
        }
        assert_eq!(
            r.add_call(call("over", "alice"), now),
            Err(RegistryError::TooManyPendingForUser)
        );
        let later = now + CALL_EXPIRY;
        assert!(r.call("1", later).is_none());
        assert_eq!(r.take_call(1, CallFilter::default(), later, name), None);
        assert_eq!(r.pending(), 0);
    }
}
