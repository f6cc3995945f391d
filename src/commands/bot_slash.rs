//! Bots' slash commands (docs/protocol.md#813-slash-commands): `slash_register` from a
//! bot's connection, the forwarding of a `slash_call` of such a command to that
//! connection, and the bot's `slash_response`, posted into the channel the call came from
//! with the invoker the server recorded. The registrations and pending calls are
//! [`crate::model::bot_registry`]; a closing connection takes its commands along
//! ([`crate::ops::bots`]).
//!
//! Registering needs the `manage_server` permission (checked at every `slash_register`
//! and `slash_response`, with current roles): a bot adds entries to everyone's command
//! picker and posts into channels on users' behalf, which is configuring the server, as
//! webhooks are. Owners and the default `admin` role have it; an owner gives it to a bot
//! through a role.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::message_new::{check_length, validate_embeds};
use super::{CmdError, Ctx, Outcome, Reply, given};
use crate::hub::{Route, Target};
use crate::model::bot_command::{BotCommand, MAX_COMMANDS_PER_BOT};
use crate::model::bot_registry::{CALL_EXPIRY, CallFilter, PendingCall, RegistryError};
use crate::model::{Action, ChannelKind, Message};
use crate::ops::messages::Posted;
use crate::protocol::{Text, encode};

/// The permission a bot needs to register commands and answer calls.
pub const REGISTER_PERMISSION: &str = "manage_server";

#[derive(Deserialize)]
struct Register {
    commands: Option<Value>,
}

/// `slash_register`: replaces this connection's commands.
pub fn slash_register(ctx: &Ctx<'_>, builtins: &[&str]) -> Outcome {
    ctx.roles()?;
    ctx.require_permission(REGISTER_PERMISSION)?;
    let req: Register = ctx.fields()?;
    let list = match &req.commands {
        Some(Value::Array(list)) if !list.is_empty() => list,
        _ => return Err("Commands must be provided as a list".into()),
    };
    // Before parsing: a long list is refused without reading each entry.
    if list.len() > MAX_COMMANDS_PER_BOT {
        return Err(RegistryError::TooManyCommands.to_string().into());
    }
    let commands = list
        .iter()
        .enumerate()
        .map(|(i, c)| {
            BotCommand::parse(c).map_err(|why| {
                CmdError::from(format!("Invalid command schema: commands[{i}]: {why}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let username = ctx.username();
    let views: Vec<Value> = commands.iter().map(|c| c.view(&username)).collect();
    let size = views.iter().map(|v| v.to_string().len() + 1).sum();
    let count = commands.len();
    let dropped = {
        let dir = ctx.app.dir();
        ctx.app
            .bots
            .borrow_mut()
            .register(
                ctx.session.id,
                ctx.user_id,
                commands,
                size,
                builtins,
                |id| {
                    dir.user(id)
                        .map_or_else(|| id.to_string(), |u| u.username.clone())
                },
            )
            .map_err(|e| CmdError::from(e.to_string()))?
    };
    ctx.app.announce_slash_removed(dropped);
    ctx.app.broadcast(
        Target::All,
        &encode(&json!({"cmd": "slash_add", "commands": views})),
    );
    Ok(Reply::to_sender(&json!({
        "cmd": "slash_register",
        "val": format!("{count} commands registered successfully"),
    })))
}

/// The `slash_list` entries of every bot's commands, after the built-ins.
pub fn listed(ctx: &Ctx<'_>) -> Vec<Value> {
    let dir = ctx.app.dir();
    ctx.app
        .bots
        .borrow()
        .commands()
        .map(|(user_id, c)| c.view(dir.user(user_id).map_or(user_id, |u| &u.username)))
        .collect()
}

/// `slash_call` of a bot's command (not a built-in): checked like a built-in, then
/// forwarded to the bot's connection; the caller gets the same packet, as from the
/// original server.
pub fn call(ctx: &Ctx<'_>, name: &str, channel: &str, args: &Map<String, Value>) -> Outcome {
    let roles = ctx.roles()?;
    let (bot_session, bot_user, command) = {
        let bots = ctx.app.bots.borrow();
        let Some((registration, command)) = bots.find(name) else {
            return Err(format!("Unknown slash command: /{name}").into());
        };
        (
            registration.session,
            registration.user_id.clone(),
            command.clone(),
        )
    };
    command.allows(&roles).map_err(CmdError::from)?;
    ctx.text_access(channel)?;
    if !ctx.can(channel, Action::Send) {
        return Err("You do not have permission to send messages in this channel".into());
    }
    let args = command.check_args(args).map_err(CmdError::from)?;
    let Some(bot) = ctx.app.hub.session(bot_session) else {
        return Err(format!("Command handler for /{name} is not currently connected").into());
    };
    let call_id = crate::random::uuid_v4();
    let now = std::time::Instant::now();
    ctx.app
        .bots
        .borrow_mut()
        .add_call(
            PendingCall {
                id: call_id.clone(),
                session: bot_session,
                invoker: ctx.user_id.to_string(),
                channel: channel.to_string(),
                command: name.to_string(),
                expires: now + CALL_EXPIRY,
            },
            now,
        )
        .map_err(|e| CmdError::from(e.to_string()))?;
    let commander = {
        let dir = ctx.app.dir();
        dir.user(&bot_user)
            .map_or(bot_user.clone(), |u| u.username.clone())
    };
    let packet = encode(&json!({
        "cmd": "slash_call",
        "val": {"command": name, "args": args, "commander": commander},
        "invoker": ctx.user_id,
        "invokerUsername": ctx.username(),
        "channel": channel,
        "call_id": call_id,
    }));
    // A bot calling its own command gets the packet once, as the reply.
    if bot.id != ctx.session.id {
        bot.send(packet.clone());
    }
    Ok(Reply {
        packet,
        route: Route::Sender,
        then_close: None,
    })
}

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow)]
    call_id: Option<Text<'a>>,
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    invoker: Option<Text<'a>>,
    #[serde(borrow)]
    command: Option<Text<'a>>,
    response: Option<Value>,
    embeds: Option<Value>,
}

/// `slash_response`: a bot answers one of the calls forwarded to this connection. The
/// answer is posted as a message of the bot in the call's channel, with `interaction`
/// naming the call's command and invoker; `channel`, `invoker` and `command` in the
/// request only pick the call (each given must match it), and `call_id` names it exactly.
pub async fn slash_response(ctx: &Ctx<'_>) -> Outcome {
    ctx.roles()?;
    ctx.require_permission(REGISTER_PERMISSION)?;
    let req: Response = ctx.fields()?;
    let content = match &req.response {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err("Slash response must be a string".into()),
    };
    let embeds = match &req.embeds {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) if list.is_empty() => None,
        Some(e) => Some(validate_embeds(e)?),
    };
    if content.is_empty() && embeds.is_none() {
        return Err("Slash response must have content or embeds".into());
    }
    check_length(ctx.app, content)?;
    let filter = CallFilter {
        id: given(&req.call_id),
        channel: given(&req.channel),
        invoker: given(&req.invoker),
        command: given(&req.command),
    };
    let now = std::time::Instant::now();
    let taken = {
        let dir = ctx.app.dir();
        ctx.app
            .bots
            .borrow_mut()
            .take_call(ctx.session.id, filter, now, |id| {
                dir.user(id)
                    .map_or_else(|| id.to_string(), |u| u.username.clone())
            })
    };
    let Some(call) = taken else {
        let bots = ctx.app.bots.borrow();
        let known = filter.id.and_then(|id| bots.call(id, now));
        return Err(match known {
            Some(c) if c.session != ctx.session.id => {
                "This slash call was not sent to this connection"
            }
            Some(_) => "This response does not match its slash call (channel, invoker or command)",
            None => {
                "No pending slash call matches this response (unknown, expired or already answered)"
            }
        }
        .into());
    };
    let channel_ok = ctx
        .app
        .dir()
        .channel(&call.channel)
        .is_some_and(|c| c.kind() == ChannelKind::Text);
    if !channel_ok {
        return Err("The channel of this slash call no longer exists".into());
    }
    let invoker = {
        let dir = ctx.app.dir();
        dir.user(&call.invoker)
            .map_or_else(|| call.invoker.clone(), |u| u.username.clone())
    };
    let mut message = Message::new(&call.channel, ctx.user_id, content.to_string());
    message.extra.insert(
        "interaction".into(),
        json!({"command": call.command, "username": invoker}),
    );
    if let Some(embeds) = embeds {
        message.extra.insert("embeds".into(), embeds);
    }
    let packet = ctx.app.post_message(message, Posted::SlashOutput).await?;
    Ok(Reply {
        packet,
        route: Route::Global(Some(call.channel)),
        then_close: None,
    })
}
