//! Who sends an HTTP request: a bearer token (a connection's upload token from `ready`, or
//! a session token), or the built-in web client's session cookie (same-origin only, see
//! [`super::session_route`]). Used by the upload and download routes.

use super::http::Request;
use super::session_route;
use crate::app::App;
use crate::auth::session_token;

/// What a request's credentials say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// None sent.
    Absent,
    /// A valid credential of this (existing, not banned) user.
    User(String),
    /// A credential that is not (or no longer) valid.
    Invalid,
}

/// The request's credential. A bearer token wins over the cookie.
pub async fn of(app: &App, request: &Request) -> Credential {
    if let Some(value) = request.header("authorization") {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= session_token::MAX_LEN);
        return match token {
            Some(token) => by_token(app, token).await,
            None => Credential::Invalid,
        };
    }
    let cookie = session_route::cookie(request, &session_route::cookie_name(app))
        .filter(|_| session_route::same_origin(request));
    match cookie {
        Some(token) => by_token(app, &token).await,
        None => Credential::Absent,
    }
}

async fn by_token(app: &App, token: &str) -> Credential {
    let key = session_token::hash(token);
    let user_id = match app.hub.by_upload_token(&key) {
        Some(session) => session.user_id().map(|id| id.to_string()),
        None => {
            let now = session_token::now_unix();
            // A read: every image the web client loads shows the cookie, and a write
            // transaction (an SD card write) per image would be wasted.
            match app
                .store
                .read(move |db| db.live_session_token(&key, now))
                .await
            {
                Ok(live) => live.map(|l| l.user_id),
                Err(e) => {
                    log::error!("cannot check a session token: {e}");
                    None
                }
            }
        }
    };
    match user_id {
        Some(id) if app.dir().user(&id).is_some_and(|u| !u.is_banned()) => Credential::User(id),
        _ => Credential::Invalid,
    }
}
