//! Voice signalling (docs/protocol.md#89-voice): `voice_join`, `voice_leave`, `voice_mute`, `voice_unmute`,
//! `voice_state`. Participants of a channel see each other's peer ids; other viewers get the
//! same events without them.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, Outcome, Reply, given};
use crate::app::App;
use crate::model::{Action, ChannelKind};
use crate::protocol::errors::USER_NOT_FOUND;
use crate::protocol::{Text, encode};
use crate::voice::Participant;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    peer_id: Option<Text<'a>>,
}

/// Sends a voice event about `p` to VOICE(channel), `members` being the participants.
fn announce(
    app: &App,
    channel: &str,
    members: &[String],
    packet: impl Fn(Value) -> Value,
    p: &Participant,
) {
    let with_peer = encode(&packet(p.view(true)));
    let without = encode(&packet(p.view(false)));
    app.hub.voice_broadcast(
        &app.dir(),
        app.dir_version(),
        channel,
        members,
        &with_peer,
        &without,
    );
}

/// Checks shared by `voice_join` and `voice_state`.
fn voice_channel(ctx: &Ctx<'_>, channel: Option<&str>) -> Result<String, super::CmdError> {
    let channel = channel.ok_or("Channel name is required")?;
    let dir = ctx.app.dir();
    let Some(user) = dir.user(ctx.user_id) else {
        return Err(USER_NOT_FOUND.into());
    };
    let found = dir.channel(channel);
    if !crate::model::channel::allows(found, Action::View, &user.roles) {
        return Err("You do not have permission to access this voice channel".into());
    }
    match found {
        Some(c) if c.kind() == ChannelKind::Voice => Ok(channel.to_string()),
        _ => Err("This is not a voice channel".into()),
    }
}

pub fn voice_join(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let Some(peer_id) = given(&req.peer_id) else {
        return Err("Peer ID is required".into());
    };
    let channel = voice_channel(ctx, given(&req.channel))?;
    ctx.app.leave_voice(ctx.user_id);
    let p = Participant {
        user_id: ctx.user_id.to_string(),
        username: ctx.username(),
        peer_id: peer_id.to_string(),
        muted: false,
        session: ctx.session.id,
    };
    ctx.app.voice.borrow_mut().join(&channel, p.clone());
    let members = ctx.app.voice_members(&channel);
    announce(
        ctx.app,
        &channel,
        &members,
        |user| json!({"cmd": "voice_user_joined", "channel": channel, "user": user}),
        &p,
    );
    let others: Vec<Value> = ctx
        .app
        .voice
        .borrow()
        .participants(&channel)
        .iter()
        .filter(|o| o.user_id != ctx.user_id)
        .map(|o| json!({"username": o.username, "peer_id": o.peer_id, "muted": o.muted}))
        .collect();
    Ok(Reply::to_sender(
        &json!({"cmd": "voice_join", "channel": channel, "participants": others}),
    ))
}

/// The caller's voice channel, with the membership checks of leave/mute.
fn my_channel(ctx: &Ctx<'_>) -> Result<String, super::CmdError> {
    let Some(channel) = ctx
        .app
        .voice
        .borrow()
        .channel_of(ctx.user_id)
        .map(str::to_string)
    else {
        return Err("You are not in a voice channel".into());
    };
    if ctx
        .app
        .dir()
        .channel(&channel)
        .is_none_or(|c| c.kind() != ChannelKind::Voice)
    {
        ctx.app.voice.borrow_mut().remove_channel(&channel);
        return Err("Voice channel no longer exists".into());
    }
    Ok(channel)
}

pub fn voice_leave(ctx: &Ctx<'_>) -> Outcome {
    let channel = my_channel(ctx)?;
    ctx.app.leave_voice(ctx.user_id);
    Ok(Reply::to_sender(
        &json!({"cmd": "voice_leave", "channel": channel}),
    ))
}

pub fn voice_mute(ctx: &Ctx<'_>, muted: bool) -> Outcome {
    my_channel(ctx)?;
    let Some((channel, p)) = ctx.app.voice.borrow_mut().set_muted(ctx.user_id, muted) else {
        return Err("You are not in this voice channel".into());
    };
    let members = ctx.app.voice_members(&channel);
    announce(
        ctx.app,
        &channel,
        &members,
        |user| json!({"cmd": "voice_user_updated", "channel": channel, "user": user}),
        &p,
    );
    let cmd = if muted { "voice_mute" } else { "voice_unmute" };
    Ok(Reply::to_sender(
        &json!({"cmd": cmd, "channel": channel, "muted": muted}),
    ))
}

pub fn voice_state(ctx: &Ctx<'_>) -> Outcome {
    let req: Request = ctx.fields()?;
    let channel = voice_channel(ctx, given(&req.channel))?;
    let voice = ctx.app.voice.borrow();
    let list = voice.participants(&channel);
    let inside = list.iter().any(|p| p.user_id == ctx.user_id);
    let participants: Vec<Value> = list.iter().map(|p| p.view(inside)).collect();
    Ok(Reply::to_sender(
        &json!({"cmd": "voice_state", "channel": channel, "participants": participants}),
    ))
}
