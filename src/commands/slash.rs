//! Built-in slash commands (docs/protocol.md#813-slash-commands): `slash_list` and `slash_call` for `/nick`, `/help`,
//! `/ban`, `/unban`, `/mute`, `/unmute`. A command's text output is stored in the channel
//! as a message from `originChats` with an `interaction`, and broadcast like `message_new`.
//! Bots' commands (`slash_register`, `slash_response`, and calls of them) are in
//! [`super::bot_slash`]; `slash_list` shows them after the built-ins.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{CmdError, Ctx, Outcome, Reply, bot_slash, given};
use crate::hub::{Route, Target};
use crate::model::message::SERVER_AUTHOR;
use crate::model::user::local_id;
use crate::model::{Message, User};
use crate::ops::messages::Posted;
use crate::protocol::errors::{NICKNAME_TOO_LONG, USER_NOT_FOUND};
use crate::protocol::{Text, encode};

/// A built-in command: name, description, options (name, description, type, required),
/// and whether it is for moderators (`admin` or `owner`).
struct Builtin {
    name: &'static str,
    description: &'static str,
    options: &'static [(&'static str, &'static str, &'static str, bool)],
    moderation: bool,
}

const BUILTINS: [Builtin; 6] = [
    Builtin {
        name: "nick",
        description: "Set or clear your display nickname",
        options: &[(
            "nickname",
            "Your new nickname (leave empty to clear)",
            "str",
            false,
        )],
        moderation: false,
    },
    Builtin {
        name: "help",
        description: "List all available slash commands",
        options: &[],
        moderation: false,
    },
    Builtin {
        name: "ban",
        description: "Ban a user from the server",
        options: &[
            ("username", "The user to ban", "str", true),
            ("reason", "Reason for the ban", "str", false),
        ],
        moderation: true,
    },
    Builtin {
        name: "unban",
        description: "Unban a user from the server",
        options: &[("username", "The user to unban", "str", true)],
        moderation: true,
    },
    Builtin {
        name: "mute",
        description: "Timeout a user (prevent them from sending messages)",
        options: &[
            ("username", "The user to mute", "str", true),
            ("duration", "Duration in seconds", "int", true),
            ("reason", "Reason for the mute", "str", false),
        ],
        moderation: true,
    },
    Builtin {
        name: "unmute",
        description: "Remove timeout from a user",
        options: &[("username", "The user to unmute", "str", true)],
        moderation: true,
    },
];

const MODERATORS: [&str; 2] = ["admin", "owner"];

impl Builtin {
    fn view(&self) -> Value {
        let options: Vec<Value> = self
            .options
            .iter()
            .map(|(name, description, kind, required)| {
                json!({"name": name, "description": description, "type": kind, "required": required})
            })
            .collect();
        json!({
            "name": self.name, "description": self.description, "options": options,
            "whitelistRoles": if self.moderation { json!(MODERATORS) } else { Value::Null },
            "blacklistRoles": null, "ephemeral": false, "registeredBy": "originChats",
        })
    }

    fn allowed(&self, roles: &[String]) -> bool {
        !self.moderation || roles.iter().any(|r| MODERATORS.contains(&r.as_str()))
    }
}

pub fn slash_list(ctx: &Ctx<'_>) -> Outcome {
    let mut commands: Vec<Value> = BUILTINS.iter().map(Builtin::view).collect();
    commands.extend(bot_slash::listed(ctx));
    Ok(Reply::to_sender(
        &json!({"cmd": "slash_list", "commands": commands}),
    ))
}

/// `slash_register`: a bot's commands, which may not take a built-in's name.
pub fn slash_register(ctx: &Ctx<'_>) -> Outcome {
    let names = BUILTINS.map(|b| b.name);
    bot_slash::slash_register(ctx, &names)
}

#[derive(Deserialize)]
struct Call<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    command: Option<Value>,
    args: Option<Value>,
}

pub async fn slash_call(ctx: &Ctx<'_>) -> Outcome {
    let roles = ctx.roles()?;
    let req: Call = ctx.fields()?;
    let Some(channel) = given(&req.channel) else {
        return Err("Channel parameter is required for slash commands".into());
    };
    let args = match &req.args {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("Command args must be an object".into()),
    };
    let Some(name) = req.command.as_ref().and_then(Value::as_str) else {
        return Err("Command name must be a string".into());
    };
    let Some(builtin) = BUILTINS.iter().find(|b| b.name == name) else {
        return bot_slash::call(ctx, name, channel, &args);
    };
    if !builtin.allowed(&roles) {
        return Err("Access denied: 'admin' role required".into());
    }
    // Unlike the original server, output only goes to a text channel the caller can see.
    ctx.text_access(channel)?;
    let text = |k: &str| {
        args.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let output = match name {
        "nick" => nick(ctx, text("nickname")).await?,
        "help" => help(ctx, &roles),
        "ban" => {
            let (user, shown) = target(ctx, text("username"), "ban")?;
            let reason = text("reason").unwrap_or("No reason provided");
            let entry = ctx.audit("user_ban").details(json!({"reason": reason}));
            if !ctx.app.ban(user, entry).await? {
                return Err(format!("User '{shown}' is already banned").into());
            }
            format!("🚫 **{shown}** has been banned.\n**Reason:** {reason}")
        }
        "unban" => {
            let (user, shown) = target(ctx, text("username"), "unban")?;
            if !ctx.app.unban(user, ctx.audit("user_unban")).await? {
                return Err(format!("User '{shown}' is not banned").into());
            }
            format!("✅ **{shown}** has been unbanned.")
        }
        "mute" => {
            let seconds = match args.get("duration") {
                None | Some(Value::Null) => return Err("Duration is required".into()),
                Some(v) => v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    .ok_or("Duration must be a valid number")?,
            };
            if seconds <= 0 {
                return Err("Duration must be a positive number".into());
            }
            let (user, shown) = target(ctx, text("username"), "mute")?;
            let reason = text("reason").unwrap_or("No reason provided");
            let entry = ctx
                .audit("user_timeout")
                .target(&user.id, Some(shown.clone()))
                .details(json!({"timeout": seconds, "reason": reason}));
            ctx.app
                .timeout(&user.id, seconds as u64, &format!("Muted: {reason}"), entry)
                .await?;
            format!("🔇 **{shown}** has been muted for {seconds} seconds.\n**Reason:** {reason}")
        }
        _ => {
            let (user, shown) = target(ctx, text("username"), "unmute")?;
            ctx.app.limiter.borrow_mut().reset(&user.id);
            format!("🔊 **{shown}** has been unmuted.")
        }
    };
    let mut message = Message::new(channel, SERVER_AUTHOR, output);
    message.extra.insert(
        "interaction".into(),
        json!({"command": name, "username": ctx.username()}),
    );
    let packet = ctx.app.post_message(message, Posted::SlashOutput).await?;
    Ok(Reply {
        packet,
        route: Route::Global(Some(channel.to_string())),
        then_close: None,
    })
}

/// The user a moderation command names: a username, an id, or a local name.
fn target(ctx: &Ctx<'_>, name: Option<&str>, action: &str) -> Result<(User, String), CmdError> {
    let name = name.ok_or("Username is required")?;
    let dir = ctx.app.dir();
    let user = dir
        .resolve(name)
        .or_else(|| dir.user(&local_id(&name.to_lowercase())))
        .ok_or_else(|| CmdError::from(format!("User '{name}' not found")))?;
    if action != "unban" && action != "unmute" && user.roles.iter().any(|r| r == "owner") {
        return Err(format!("Cannot {action} the server owner").into());
    }
    Ok((user.clone(), user.username.clone()))
}

async fn nick(ctx: &Ctx<'_>, nickname: Option<&str>) -> Result<String, CmdError> {
    if nickname.is_some_and(|n| n.chars().count() > 20) {
        return Err(NICKNAME_TOO_LONG.into());
    }
    let Some(mut user) = ctx.app.dir().user(ctx.user_id).cloned() else {
        return Err(USER_NOT_FOUND.into());
    };
    if nickname.is_none() && user.nickname.is_none() {
        return Ok("You don't have a nickname set. Use `/nick <name>` to set one.".into());
    }
    user.nickname = nickname.map(str::to_string);
    ctx.app.save_user(user.clone()).await?;
    let (event, text) = match nickname {
        Some(n) => (
            json!({"cmd": "nickname_update", "user": user.id, "username": user.username, "nickname": n}),
            format!("Nickname set to **{n}**"),
        ),
        None => (
            json!({"cmd": "nickname_remove", "user": user.id, "username": user.username}),
            "Nickname cleared".into(),
        ),
    };
    ctx.app.broadcast(Target::All, &encode(&event));
    Ok(text)
}

/// Every command the caller may use, built-in or a bot's, sorted by name (as the
/// original's `/help`).
fn help(ctx: &Ctx<'_>, roles: &[String]) -> String {
    let mut available: Vec<(String, String)> = BUILTINS
        .iter()
        .filter(|b| b.allowed(roles))
        .map(|b| (b.name.to_string(), b.description.to_string()))
        .collect();
    available.extend(
        ctx.app
            .bots
            .borrow()
            .commands()
            .filter(|(_, c)| c.allows(roles).is_ok())
            .map(|(_, c)| (c.name.clone(), c.description.clone())),
    );
    available.sort();
    let mut lines = vec!["**Available Commands:**".to_string()];
    lines.extend(
        available
            .iter()
            .map(|(name, description)| format!("• `/{name}` - {description}")),
    );
    lines.join("\n")
}
