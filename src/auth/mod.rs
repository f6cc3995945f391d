//! Authentication (§4): what a connection may do before it is bound to an account, the
//! success sequence, and presence at disconnect.

pub mod cracked;
pub mod rotur;
pub mod session_token;

use std::rc::Rc;

use serde_json::json;
use smol::lock::Semaphore;

use crate::app::App;
use crate::config::AuthMode;
use crate::hub::{Session, Target};
use crate::protocol::{Envelope, encode, outbound::auth_error};
use crate::server::outbox::Outgoing;

pub const AUTH_REQUIRED: &str = "Authentication required";
pub const BANNED: &str = "Access denied: You are banned from this server";
pub const ROTUR_DISABLED: &str =
    "Rotur authentication is disabled. Use login or register commands.";

/// Bounds on the blocking work authentication does off the executor thread, so that a
/// login storm cannot take every core or start hundreds of threads.
pub struct Limits {
    /// bcrypt hashes and checks at once: one per core but one (left for the executor).
    pub bcrypt: Semaphore,
    /// Rotur validation calls in flight at once.
    pub rotur: Semaphore,
}

impl Limits {
    pub fn new() -> Limits {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Limits {
            bcrypt: Semaphore::new(cores.saturating_sub(1).max(1)),
            rotur: Semaphore::new(16),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

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

/// A packet from a connection that is not authenticated yet.
pub async fn handle(app: &Rc<App>, session: &Rc<Session>, packet: &Envelope<'_>) {
    let mode = app.config.auth_mode();
    let result = match (packet.cmd.as_ref(), mode) {
        ("auth", AuthMode::CrackedOnly) => Err(ROTUR_DISABLED.into()),
        ("auth", _) => rotur::auth(app, session, packet.text).await,
        ("login", AuthMode::Cracked | AuthMode::CrackedOnly) => {
            cracked::login(app, session, packet.text).await
        }
        ("register", AuthMode::Cracked | AuthMode::CrackedOnly) => {
            cracked::register(app, session, packet.text).await
        }
        ("token_login", _) => session_token::token_login(app, session, packet.text).await,
        _ => {
            session.send(auth_error(AUTH_REQUIRED));
            return;
        }
    };
    if let Err(Failure::Denied(text)) = result {
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
}

/// Binds the connection to `user_id` and sends the success sequence (§4.4).
pub async fn succeed(app: &Rc<App>, session: &Rc<Session>, user_id: &str, new_user: bool) {
    session.session_token.borrow_mut().forget_cookie();
    let validator = crate::random::validator();
    let (ready, brief, invisible, username, display_name) = {
        let dir = app.dir();
        let Some(user) = dir.user(user_id) else {
            return;
        };
        (
            encode(&json!({"cmd": "ready", "user": user.ready_view(), "validator": validator})),
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
        app.broadcast(Target::All, &brief);
    }
    let welcome = &app.config.welcome;
    if new_user && welcome.enabled {
        let text = welcome.message.replace("{username}", &display_name);
        crate::commands::post_as_server(app, &welcome.channel, text).await;
    }
    // The validator carries no authority; it is remembered only as the reference does.
    let id = user_id.to_string();
    if let Err(e) = app.write(move |db| db.set_validator(&id, &validator)).await {
        log::warn!("could not store the validator of {username}: {e}");
    }
}

/// Presence bookkeeping when a connection closes, in the order of §3.4: forget the
/// connection, take it out of voice, then announce the user's departure if it was their last.
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
            crate::commands::leave_voice(app, user_id);
        }
    }
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
            app.broadcast(
                Target::All,
                &encode(&json!({"cmd": "user_disconnect", "username": username})),
            );
        }
    }
}
