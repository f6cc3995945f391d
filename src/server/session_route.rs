//! The browser's side of session tokens (see [`crate::auth::session_token`]): `POST
//! /session` turns a token into an HttpOnly cookie, `DELETE /session` revokes it and clears
//! the cookie, and a same-origin WebSocket upgrade hands the cookie's token to the new
//! session for a later `{"cmd":"token_login"}`. Page scripts thus never hold the token
//! after creating it, and browser storage never sees it.
//!
//! Everything here is same-origin only. A request with an `Origin` header for another
//! host is refused (`/session`) or has its cookie ignored (upgrade): otherwise any web page
//! could open a WebSocket to this server with the visitor's cookie (cross-site WebSocket
//! hijacking), log the visitor into another account, or log them out.

use std::time::Duration;

use futures_lite::{AsyncRead, AsyncReadExt, FutureExt};
use smol::Timer;

use super::http::{Request, Response};
use crate::app::App;
use crate::auth::session_token::{self, Held, MAX_LEN};
use crate::hub::Session;

/// Whether this request is for [`answer`].
pub fn handles(request: &Request) -> bool {
    request.route() == "/session" && matches!(request.method.as_str(), "POST" | "DELETE")
}

/// Answers `POST /session` or `DELETE /session`. `secure`: the connection is TLS (the
/// cookie then gets `Secure`). The body, if any, is read from `stream`: at most
/// [`MAX_LEN`] bytes, within the handshake timeout.
pub async fn answer<S: AsyncRead + Unpin>(
    app: &App,
    stream: &mut S,
    request: &Request,
    secure: bool,
) -> Response {
    let response = if !same_origin(request) {
        Response::error("403 Forbidden", "Cross-origin request refused")
    } else if request.method == "POST" {
        let limit = Duration::from_secs(app.config.connections.handshake_timeout_seconds);
        match read_body(stream, request, limit, MAX_LEN).await {
            Ok(body) => set_cookie(app, &body, secure).await,
            Err(refusal) => refusal,
        }
    } else {
        clear_cookie(app, request, secure).await
    };
    response.with("Cache-Control", "no-store")
}

/// The token of a WebSocket upgrade's session cookie, if the upgrade is same-origin.
pub fn upgrade_cookie(app: &App, request: &Request) -> Option<String> {
    let token = cookie(request, &cookie_name(app))?;
    if !same_origin(request) {
        log::info!(
            "ignored the session cookie of a WebSocket upgrade from origin {:?} (host {:?})",
            request.header("origin").unwrap_or_default(),
            request.header("host").unwrap_or_default()
        );
        return None;
    }
    Some(token)
}

/// Gives a new session the token of its upgrade's cookie, for `token_login`.
pub fn remember_cookie(session: &Session, token: Option<String>) {
    if let Some(token) = token {
        *session.session_token.borrow_mut() = Held::Cookie(token);
    }
}

/// `ocs_session_<listening port>`: two servers on one host keep separate cookies (cookies
/// do not tell ports apart).
pub(super) fn cookie_name(app: &App) -> String {
    format!("ocs_session_{}", app.listen_port.get())
}

fn cookie_header(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

/// No `Origin` (not a browser, or a same-origin navigation), or one whose host[:port]
/// is the `Host` the request was sent to.
pub(super) fn same_origin(request: &Request) -> bool {
    let Some(origin) = request.header("origin") else {
        return true;
    };
    let Some(host) = request.header("host") else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

/// The value of cookie `name`, if it is there and could be a token.
pub(super) fn cookie(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .iter()
        .filter(|(n, _)| n == "cookie")
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty() && value.len() <= MAX_LEN)
        .map(str::to_string)
}

/// The request body: at most `max` bytes (a larger `Content-Length` is refused unread, 413)
/// and bounded by `limit` in time.
pub(super) async fn read_body<S: AsyncRead + Unpin>(
    stream: &mut S,
    request: &Request,
    limit: Duration,
    max: usize,
) -> Result<Vec<u8>, Response> {
    if request.header("transfer-encoding").is_some() {
        return Err(Response::error(
            "400 Bad Request",
            "Send the token with a Content-Length",
        ));
    }
    let Some(length) = request.header("content-length") else {
        return Err(Response::error(
            "411 Length Required",
            "Content-Length required",
        ));
    };
    let Ok(length) = length.parse::<usize>() else {
        return Err(Response::error("400 Bad Request", "Invalid Content-Length"));
    };
    if length > max {
        return Err(Response::error("413 Payload Too Large", "Body too large"));
    }
    let mut body = request.rest[..length.min(request.rest.len())].to_vec();
    let have = body.len();
    body.resize(length, 0);
    let read = stream.read_exact(&mut body[have..]).or(async {
        Timer::after(limit).await;
        Err(std::io::ErrorKind::TimedOut.into())
    });
    match read.await {
        Ok(()) => Ok(body),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(Response::error(
            "408 Request Timeout",
            "The body did not arrive in time",
        )),
        Err(_) => Err(Response::error("400 Bad Request", "Incomplete body")),
    }
}

/// `POST /session`: a valid token becomes the session cookie.
async fn set_cookie(app: &App, body: &[u8], secure: bool) -> Response {
    let invalid = || Response::error("401 Unauthorized", session_token::INVALID);
    let Some(token) = std::str::from_utf8(body)
        .ok()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return invalid();
    };
    let key = session_token::hash(token);
    let now = session_token::now_unix();
    let live = match app.write(move |db| db.session_token(&key, now)).await {
        Ok(Some(live)) if app.dir().user(&live.user_id).is_some() => live,
        Ok(_) => return invalid(),
        Err(e) => return storage_failed(&e),
    };
    let cookie = cookie_header(&cookie_name(app), token, live.expires_at - now, secure);
    Response::no_content().with("Set-Cookie", cookie)
}

/// `DELETE /session`: revokes the cookie's token (if any) and clears the cookie.
async fn clear_cookie(app: &App, request: &Request, secure: bool) -> Response {
    if let Some(token) = cookie(request, &cookie_name(app)) {
        let key = session_token::hash(&token);
        match app.write(move |db| db.delete_session_token(&key)).await {
            Ok(true) => log::info!("a session token was revoked (DELETE /session)"),
            Ok(false) => {}
            Err(e) => return storage_failed(&e),
        }
    }
    Response::no_content().with(
        "Set-Cookie",
        cookie_header(&cookie_name(app), "", 0, secure),
    )
}

fn storage_failed(e: &crate::store::StoreError) -> Response {
    log::error!("storage error while checking a session token: {e}");
    Response::error(
        "503 Service Unavailable",
        "The server could not check the token (storage error); try again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            websocket_key: None,
            rest: Vec::new(),
        }
    }

    #[test]
    fn origin_must_name_the_host() {
        assert!(same_origin(&request(&[("host", "pi:5613")])));
        assert!(same_origin(&request(&[
            ("host", "pi:5613"),
            ("origin", "http://PI:5613")
        ])));
        assert!(same_origin(&request(&[
            ("host", "pi:5613"),
            ("origin", "https://pi:5613")
        ])));
        assert!(!same_origin(&request(&[
            ("host", "pi:5613"),
            ("origin", "http://pi:5614")
        ])));
        assert!(!same_origin(&request(&[
            ("host", "pi:5613"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&request(&[
            ("host", "pi:5613"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&request(&[("origin", "http://pi:5613")])));
    }

    #[test]
    fn cookie_is_found_among_others() {
        let r = request(&[("cookie", "a=1; ocs_session_5613=tok; b=2")]);
        assert_eq!(cookie(&r, "ocs_session_5613").as_deref(), Some("tok"));
        assert_eq!(cookie(&r, "ocs_session_5614"), None);
        let long = format!("ocs_session_1={}", "x".repeat(MAX_LEN + 1));
        assert_eq!(
            cookie(&request(&[("cookie", &long)]), "ocs_session_1"),
            None
        );
    }

    #[test]
    fn cookie_attributes() {
        assert_eq!(
            cookie_header("ocs_session_1", "t", 60, false),
            "ocs_session_1=t; HttpOnly; SameSite=Strict; Path=/; Max-Age=60"
        );
        assert_eq!(
            cookie_header("ocs_session_1", "", 0, true),
            "ocs_session_1=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure"
        );
    }
}
