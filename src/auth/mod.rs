//! Authentication (docs/protocol.md#4-authentication): the handlers of `auth` ([`rotur`]), `login` and `register`
//! ([`cracked`]) — the router's command table says which mode allows which — the refusal of
//! an attempt, the success sequence, and presence at disconnect.

pub mod cracked;
pub mod password;
pub mod rotur;
pub mod session_token;
pub mod throttle;

use std::rc::Rc;

use serde_json::json;

use crate::app::App;
use crate::hub::outbox::Outgoing;
use crate::hub::{Session, Target};
use crate::protocol::{encode, outbound::auth_error};

/// How an attempt ended, when it did not succeed.
pub enum Failure {
    /// Sent as `{"cmd":"auth_error","val":…}`; counts as a failed attempt.
    Denied(String),
}

impl<T: Into<String>> From<T> for Failure {
    fn from(text: T) -> Self {
        Failure::Denied(text.into())
    }
}

/// Answers a refused attempt, and closes a connection that failed too often.
pub fn refused(app: &App, session: &Session, failure: Failure) {
    let Failure::Denied(text) = failure;
    session.send(auth_error(&text));
    let failures = session.failed_auth.get() + 1;
    session.failed_auth.set(failures);
    if failures >= app.config.connections.max_failed_auth {
        log::warn!(
            "connection {} ({}) closed after {failures} failed authentication attempts",
            session.id,
            session.peer
        );
        session.push(Outgoing::Close(
            1008,
            "too many failed authentication attempts",
        ));
    }
}

/// Binds the connection to `user_id` and sends the success sequence (docs/protocol.md#44-success-sequence).
pub async fn succeed(app: &Rc<App>, session: &Rc<Session>, user_id: &str, new_user: bool) {
    session.session_token.borrow_mut().forget_cookie();
    let validator = crate::random::validator();
    // A credential for HTTP uploads (`Authorization: Bearer`), good while this connection
    // is open; only its hash is kept.
    let upload_token = crate::random::session_token();
    session
        .upload_token
        .set(Some(session_token::hash(&upload_token)));
    let (ready, brief, invisible, username, display_name) = {
        let dir = app.dir();
        let Some(user) = dir.user(user_id) else {
            return;
        };
        (
            encode(
                &json!({"cmd": "ready", "user": user.ready_view(), "validator": validator,
                "upload_token": upload_token}),
            ),
            encode(&json!({"cmd": "user_connect", "user": user.brief_view(&dir.roles)})),
            user.is_invisible(),
            user.username.clone(),
            // What clients show: the nickname (a local account's name), else the username.
            user.nickname
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| user.username.clone()),
        )
    };
    session.send(encode(
        &json!({"cmd": "auth_success", "val": "Authentication successful"}),
    ));
    session.send(ready);
    let first = app.hub.authenticate(session, user_id);
    log::info!(
        "connection {} ({}) authenticated as {username}",
        session.id,
        session.peer
    );
    if new_user {
        let join = {
            let dir = app.dir();
            dir.user(user_id)
                .map(|u| encode(&json!({"cmd": "user_join", "user": u.brief_view(&dir.roles)})))
        };
        if let Some(join) = join {
            app.broadcast(Target::All, &join);
        }
    }
    if first && !invisible {
        app.hub.announce(&brief);
    }
    let welcome = &app.config.welcome;
    if new_user && welcome.enabled {
        let text = welcome.message.replace("{username}", &display_name);
        app.post_as_server(&welcome.channel, text).await;
    }
    // The validator carries no authority; it is remembered only as the reference does.
    if let Err(e) = app.remember_validator(user_id, validator).await {
        log::warn!("could not store the validator of {username}: {e}");
    }
}

/// Presence bookkeeping when a connection closes, in the order of docs/protocol.md#34-disconnect: forget the
/// connection, take it out of voice, drop the slash commands it registered, then announce
/// the user's departure if it was their last.
pub fn disconnected(app: &App, session: &Session) {
    let user_id = session.user_id();
    let last = app.hub.close(session);
    if let Some(user_id) = &user_id {
        let in_voice_here = app
            .voice
            .borrow()
            .participant(user_id)
            .is_some_and(|p| p.session == session.id);
        if in_voice_here {
            app.leave_voice(user_id);
        }
    }
    // A bot's slash commands end with the connection that registered them.
    app.forget_bot_commands(session.id);
    if let Some(user_id) = last {
        // The user's limiter state goes with their last connection (unless a cooldown or
        // timeout still runs).
        app.limiter
            .borrow_mut()
            .release_idle(app.now(), |u| app.hub.is_online(u));
        let (username, invisible) = {
            let dir = app.dir();
            match dir.user(&user_id) {
                Some(u) => (
                    u.username.clone(),
                    u.is_invisible() || session.invisible.get(),
                ),
                None => return,
            }
        };
        if !invisible {
            app.hub.announce(&encode(
                &json!({"cmd": "user_disconnect", "username": username}),
            ));
        }
    }
}
