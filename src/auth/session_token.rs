//! Session tokens: a client stays logged in across reloads without keeping the password.
//!
//! An authenticated client asks for a token (`session_token_create`), and a later
//! connection logs in with it (`token_login`), either naming it or, in a browser, through
//! the HttpOnly cookie that `POST /session` set (see [`crate::server::session_route`]), so
//! page scripts never hold it. The server keeps only each token's SHA-256 (the table is
//! looked up by hash, so no constant-time comparison is needed), never logs a token, and
//! never shows one again after creating it.

use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::json;

use super::{Failure, succeed};
use crate::app::App;
use crate::commands::{CmdError, Ctx, Outcome, Reply};
use crate::config::AuthMode;
use crate::hub::Session;
use crate::protocol::errors::{AUTH_REQUIRED, BANNED, ROTUR_DISABLED};
use crate::protocol::{LooseStr, fields};
use crate::store::session_tokens::TokenHash;

/// How long a token is valid: 30 days.
pub const LIFETIME_SECONDS: i64 = 30 * 24 * 60 * 60;

/// Tokens one user may hold; making one more deletes the oldest.
pub const MAX_PER_USER: usize = 32;

/// Longer text cannot be a token (they are 43 characters): it is refused before hashing,
/// and no more is kept per connection or read from an HTTP body.
pub const MAX_LEN: usize = 128;

pub const INVALID: &str = "Invalid or expired session token";
pub const NOT_FOUND: &str = "Session token not found";
pub const REVOKED: &str = "Session token revoked";

/// The key a token is stored and looked up under.
pub fn hash(token: &str) -> TokenHash {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The wall clock in unix seconds (token expiry survives restarts, so not monotonic time).
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub use crate::hub::held_token::Held;

#[derive(Deserialize)]
struct TokenField<'a> {
    /// Missing (or null): the cookie's token. Present but not a string: no valid token.
    #[serde(borrow, default)]
    token: Option<LooseStr<'a>>,
}

/// `token_login`, before authentication: logs in with a session token.
pub async fn token_login(app: &Rc<App>, session: &Rc<Session>, text: &str) -> Result<(), Failure> {
    super::throttle::attempt(app, session)?;
    let field: TokenField = fields(text).map_err(|_| Failure::from(INVALID))?;
    let token = match &field.token {
        Some(given) => given.as_deref().map(str::to_string),
        None => session.session_token.borrow_mut().take_cookie(),
    };
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= MAX_LEN) else {
        log::info!(
            "failed token login from connection {} ({}): no session token",
            session.id,
            session.peer
        );
        return Err(INVALID.into());
    };
    let key = hash(&token);
    let now = now_unix();
    let found = app
        .write(move |db| db.session_token(&key, now))
        .await
        .map_err(|e| {
            log::error!("storage error while checking a session token: {e}");
            Failure::from("The server could not check the session token (storage error); try again")
        })?;
    let Some(live) = found else {
        log::info!(
            "failed token login from connection {} ({}): unknown or expired session token",
            session.id,
            session.peer
        );
        return Err(INVALID.into());
    };
    refuse_account(app, &live.user_id)?;
    *session.session_token.borrow_mut() = Held::LoggedInWith(key);
    succeed(app, session, &live.user_id, false).await;
    Ok(())
}

/// Why the account a valid token belongs to may not log in now, if it may not: the same
/// answers a password or Rotur login would get.
fn refuse_account(app: &App, user_id: &str) -> Result<(), Failure> {
    let dir = app.dir();
    let Some(user) = dir.user(user_id) else {
        return Err(INVALID.into());
    };
    if user.is_banned() {
        return Err(BANNED.into());
    }
    match (app.config.auth_mode(), user.is_local()) {
        (AuthMode::Rotur, true) => Err(AUTH_REQUIRED.into()),
        (AuthMode::CrackedOnly, false) => Err(ROTUR_DISABLED.into()),
        _ => Ok(()),
    }
}

/// `session_token_create`: a new token for the sender, shown this once.
pub async fn create(ctx: &Ctx<'_>) -> Outcome {
    if let Err(limited) = ctx.rate_limit() {
        return Ok(limited);
    }
    let token = crate::random::session_token();
    let key = hash(&token);
    let now = now_unix();
    let expires_at = now.saturating_add(LIFETIME_SECONDS);
    ctx.app
        .store
        .insert_session_token(key, ctx.user_id, now, expires_at, MAX_PER_USER)
        .await?;
    log::info!(
        "connection {} ({}): new session token for {}",
        ctx.session.id,
        ctx.session.peer,
        ctx.username()
    );
    Ok(Reply::to_sender(&json!({
        "cmd": "session_token_create", "token": token, "expires_at": expires_at
    })))
}

/// `session_token_revoke`: revokes the named token of the sender, or the one this
/// connection logged in with.
pub async fn revoke(ctx: &Ctx<'_>) -> Outcome {
    if let Err(limited) = ctx.rate_limit() {
        return Ok(limited);
    }
    let field: TokenField = ctx.fields()?;
    let key = match &field.token {
        Some(given) => given
            .as_deref()
            .filter(|t| !t.is_empty() && t.len() <= MAX_LEN)
            .map(hash),
        None => match *ctx.session.session_token.borrow() {
            Held::LoggedInWith(key) => Some(key),
            _ => None,
        },
    };
    let Some(key) = key else {
        return Err(CmdError::from(NOT_FOUND));
    };
    if !ctx.app.store.revoke_session_token(key, ctx.user_id).await? {
        return Err(NOT_FOUND.into());
    }
    let mut held = ctx.session.session_token.borrow_mut();
    if *held == Held::LoggedInWith(key) {
        *held = Held::Nothing;
    }
    drop(held);
    log::info!(
        "connection {} ({}): {} revoked a session token",
        ctx.session.id,
        ctx.session.peer,
        ctx.username()
    );
    Ok(Reply::to_sender(
        &json!({"cmd": "session_token_revoke", "val": REVOKED}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256() {
        let h = hash("abc");
        assert_eq!(
            h[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "SHA-256(\"abc\") starts ba7816bf"
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let held = Held::Cookie("very-secret-token".into());
        assert!(!format!("{held:?}").contains("very-secret"));
    }

    #[test]
    fn only_a_cookie_token_is_forgotten() {
        let mut held = Held::Cookie("t".into());
        held.forget_cookie();
        assert_eq!(held, Held::Nothing);
        let mut held = Held::Cookie("t".into());
        assert_eq!(held.take_cookie().as_deref(), Some("t"));
        assert_eq!(held.take_cookie(), None);
        let mut held = Held::LoggedInWith([1; 32]);
        held.forget_cookie();
        assert_eq!(held, Held::LoggedInWith([1; 32]));
    }
}
