//! Session tokens: `session_token_create`, `token_login`, `session_token_revoke`, and the
//! browser's cookie (`POST /session`, `DELETE /session`, the cookie on the upgrade).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use async_tungstenite::tungstenite::{self, client::IntoClientRequest};
use common::{Client, Server, TIMEOUT, err, until};
use originchats_server::auth::session_token::{LIFETIME_SECONDS, hash, now_unix};
use originchats_server::config::SyncMode;
use originchats_server::store::Db;
use serde_json::{Value, json};

const INVALID: &str = "Invalid or expired session token";

fn auth_error(text: &str) -> Value {
    json!({"cmd": "auth_error", "val": text})
}

/// A WebSocket client whose upgrade request carries extra headers (Cookie, Origin).
fn client_with(addr: SocketAddr, headers: &[(&'static str, &str)]) -> Client {
    let mut request = format!("ws://{addr}/").into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let (ws, _) = tungstenite::client(request, stream).unwrap();
    let mut c = Client { ws };
    c.expect("handshake");
    c
}

/// A new token of the client's account; checks the reply's shape.
fn create_token(c: &mut Client) -> String {
    let before = now_unix();
    let reply = c.request(json!({"cmd": "session_token_create", "listener": "t"}));
    let token = reply["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 43, "{reply}");
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{token}"
    );
    let expires_at = reply["expires_at"].as_i64().unwrap();
    assert!(
        (before + LIFETIME_SECONDS..=now_unix() + LIFETIME_SECONDS).contains(&expires_at),
        "{reply}"
    );
    assert_eq!(
        reply,
        json!({"cmd": "session_token_create", "token": token, "expires_at": expires_at, "listener": "t"})
    );
    token
}

/// `token_login` on `c` and the packets of a login (not a new account).
fn token_login(c: &mut Client, token: Option<&str>) -> Value {
    let mut packet = json!({"cmd": "token_login"});
    if let Some(t) = token {
        packet["token"] = json!(t);
    }
    c.send(packet);
    assert_eq!(
        c.recv(),
        json!({"cmd": "auth_success", "val": "Authentication successful"})
    );
    c.expect("ready")
}

fn refused(c: &mut Client, packet: Value, text: &str) {
    assert_eq!(c.request(packet.clone()), auth_error(text), "{packet}");
}

/// Each token, tried on a fresh connection, logs nobody in.
fn all_dead(server: &Server, tokens: &[&String]) {
    for token in tokens {
        let mut c = server.connected();
        refused(
            &mut c,
            json!({"cmd": "token_login", "token": token}),
            INVALID,
        );
    }
}

/// One HTTP request; returns the status line, the headers (as sent) and the body.
fn http(addr: SocketAddr, request: &str) -> (String, Vec<String>, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let mut lines = head.lines().map(str::to_string);
    let status = lines.next().unwrap_or_default();
    (status, lines.collect(), body.to_string())
}

fn header<'h>(headers: &'h [String], name: &str) -> Option<&'h str> {
    headers.iter().find_map(|h| {
        let (n, v) = h.split_once(": ")?;
        n.eq_ignore_ascii_case(name).then_some(v)
    })
}

fn post_session(addr: SocketAddr, body: &str, extra: &str) -> (String, Vec<String>, String) {
    http(
        addr,
        &format!(
            "POST /session HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn a_token_logs_a_fresh_connection_in() {
    let server = Server::start();
    let mut bob = server.register("bob");
    let mut alice = server.register("alice");
    bob.expect("user_join");
    bob.expect("user_connect");
    let token = create_token(&mut alice);
    drop(alice);
    bob.expect("user_disconnect");

    let mut c = server.client();
    let handshake = c.expect("handshake");
    let caps = handshake["val"]["capabilities"].as_array().unwrap();
    assert!(caps.contains(&json!("token_login")), "{caps:?}");
    assert!(caps.contains(&json!("session_token_create")), "{caps:?}");
    assert!(caps.contains(&json!("session_token_revoke")), "{caps:?}");
    let ready = token_login(&mut c, Some(&token));
    assert_eq!(
        ready["user"],
        json!({"username": "USR:local_alice", "nickname": "alice", "roles": ["user"],
               "status": {"status": "online", "text": ""}, "pfp_url": null, "cracked": true})
    );
    let connect = json!({"cmd": "user_connect", "user": {"username": "USR:local_alice", "roles": ["user"], "color": null, "nickname": "alice"}});
    assert_eq!(c.recv(), connect);
    assert_eq!(bob.recv(), connect);
    // The token is reusable until it expires or is revoked: a second tab.
    let mut tab = server.connected();
    token_login(&mut tab, Some(&token));
    // Once logged in, token_login is an ordinary (unknown) command.
    assert_eq!(
        tab.request(json!({"cmd": "token_login", "token": token})),
        err("token_login", "Unknown command: token_login")
    );
    assert!(
        !server.log_so_far().contains(&token),
        "the token was logged"
    );
}

#[test]
fn bad_tokens_are_refused_and_count_as_failed_attempts() {
    let server = Server::with(json!({"connections": {"max_failed_auth": 2}}));
    let mut alice = server.register("alice");
    let revoked = create_token(&mut alice);
    assert_eq!(
        alice.request(json!({"cmd": "session_token_revoke", "token": revoked})),
        json!({"cmd": "session_token_revoke", "val": "Session token revoked"})
    );
    // An expired token, written straight into the store.
    let expired = "expired-token-expired-token-expired-token-x";
    let db = Db::open(&server.data_dir(), SyncMode::Normal).unwrap();
    db.begin().unwrap();
    let now = now_unix();
    db.insert_session_token(
        &hash(expired),
        "USR:local_alice",
        now - LIFETIME_SECONDS - 60,
        now - 60,
        32,
    )
    .unwrap();
    db.commit().unwrap();
    assert_eq!(db.session_token_count("USR:local_alice").unwrap(), 1);

    let cases = [
        json!({"cmd": "token_login", "token": "no-such-token"}),
        json!({"cmd": "token_login", "token": ""}),
        json!({"cmd": "token_login", "token": 42}),
        json!({"cmd": "token_login", "token": "x".repeat(10_000)}),
        json!({"cmd": "token_login"}),
        json!({"cmd": "token_login", "token": revoked}),
        json!({"cmd": "token_login", "token": expired}),
    ];
    for packet in cases {
        let mut c = server.connected();
        refused(&mut c, packet, INVALID);
    }
    // Checking the expired token deleted it.
    assert_eq!(db.session_token_count("USR:local_alice").unwrap(), 0);
    // A failure counts like a wrong password: the second one closes the connection.
    let mut c = server.connected();
    refused(&mut c, json!({"cmd": "token_login", "token": "a"}), INVALID);
    refused(&mut c, json!({"cmd": "token_login", "token": "b"}), INVALID);
    assert_eq!(c.expect_close(), Some(1008));
}

#[test]
fn revoking_tokens() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let first = create_token(&mut alice);
    let second = create_token(&mut alice);
    let not_found = err("session_token_revoke", "Session token not found");
    let revoked = json!({"cmd": "session_token_revoke", "val": "Session token revoked"});
    // A connection that logged in with a password holds no token.
    assert_eq!(
        alice.request(json!({"cmd": "session_token_revoke"})),
        not_found
    );
    // Without a token: the one this connection logged in with.
    let mut tab = server.connected();
    token_login(&mut tab, Some(&first));
    assert_eq!(tab.request(json!({"cmd": "session_token_revoke"})), revoked);
    assert_eq!(
        tab.request(json!({"cmd": "session_token_revoke"})),
        not_found
    );
    // Someone else's token is not found, and stays valid.
    let mut bob = server.register("bob");
    until(&mut alice, "user_connect");
    assert_eq!(
        bob.request(json!({"cmd": "session_token_revoke", "token": second})),
        not_found
    );
    assert_eq!(
        bob.request(json!({"cmd": "session_token_revoke", "token": 7})),
        not_found
    );
    let mut check = server.connected();
    token_login(&mut check, Some(&second));
    assert_eq!(
        alice.request(json!({"cmd": "session_token_revoke", "token": second})),
        revoked
    );
    all_dead(&server, &[&first, &second]);
}

#[test]
fn the_browser_cookie() {
    let server = Server::start();
    let addr = server.addr;
    let port = addr.port();
    let mut alice = server.register("alice");
    let token = create_token(&mut alice);

    // POST /session: the token becomes an HttpOnly cookie.
    let (status, headers, body) = post_session(addr, &token, &format!("Origin: http://{addr}\r\n"));
    assert_eq!(status, "HTTP/1.1 204 No Content", "{headers:?}");
    assert_eq!(body, "");
    assert_eq!(header(&headers, "Cache-Control"), Some("no-store"));
    let set_cookie = header(&headers, "Set-Cookie").unwrap();
    let prefix = format!("ocs_session_{port}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=");
    let max_age: i64 = set_cookie
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{set_cookie}"))
        .parse()
        .unwrap();
    assert!(
        (LIFETIME_SECONDS - 60..=LIFETIME_SECONDS).contains(&max_age),
        "{max_age}"
    );
    let cookie = format!("ocs_session_{port}={token}");

    // Refusals.
    let (status, headers, body) = post_session(addr, "not-a-token", "");
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    assert_eq!(body, json!({"error": INVALID}).to_string());
    assert_eq!(header(&headers, "Cache-Control"), Some("no-store"));
    assert_eq!(header(&headers, "Set-Cookie"), None);
    let (status, _, body) = http(
        addr,
        &format!("POST /session HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 129\r\n\r\n"),
    );
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(body, r#"{"error":"Body too large"}"#);
    let (status, headers, _) = post_session(addr, &token, "Origin: http://evil.example\r\n");
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    assert_eq!(header(&headers, "Set-Cookie"), None);

    // The cookie on a same-origin upgrade logs in with {"cmd":"token_login"}.
    let origin = format!("http://{addr}");
    for headers in [
        vec![("Cookie", cookie.as_str())],
        vec![("Cookie", cookie.as_str()), ("Origin", origin.as_str())],
    ] {
        let mut c = client_with(addr, &headers);
        let ready = token_login(&mut c, None);
        assert_eq!(ready["user"]["username"], "USR:local_alice");
    }
    // A token named in the packet is used instead of the cookie's, which stays for a retry.
    let mut c = client_with(addr, &[("Cookie", cookie.as_str())]);
    refused(
        &mut c,
        json!({"cmd": "token_login", "token": "wrong"}),
        INVALID,
    );
    token_login(&mut c, None);
    // Another site's page cannot use it (cross-site WebSocket hijacking).
    let mut c = client_with(
        addr,
        &[
            ("Cookie", cookie.as_str()),
            ("Origin", "http://evil.example"),
        ],
    );
    refused(&mut c, json!({"cmd": "token_login"}), INVALID);
    // Another server's cookie (another port) is not ours.
    let other = format!("ocs_session_{}={token}", port.wrapping_add(1));
    let mut c = client_with(addr, &[("Cookie", other.as_str())]);
    refused(&mut c, json!({"cmd": "token_login"}), INVALID);

    // DELETE /session revokes the token and clears the cookie.
    let (status, headers, _) = http(
        addr,
        &format!(
            "DELETE /session HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nOrigin: http://{addr}\r\n\r\n"
        ),
    );
    assert_eq!(status, "HTTP/1.1 204 No Content");
    assert_eq!(
        header(&headers, "Set-Cookie"),
        Some(format!("ocs_session_{port}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0").as_str())
    );
    assert_eq!(header(&headers, "Cache-Control"), Some("no-store"));
    let mut c = client_with(addr, &[("Cookie", cookie.as_str())]);
    refused(&mut c, json!({"cmd": "token_login"}), INVALID);
    let mut c = server.connected();
    refused(
        &mut c,
        json!({"cmd": "token_login", "token": token}),
        INVALID,
    );

    assert!(
        !server.log_so_far().contains(&token),
        "the token was logged"
    );
}

#[test]
fn banned_accounts_and_the_auth_mode() {
    let server = Server::start();
    let mut carol = server.register("carol");
    let carol_token = create_token(&mut carol);
    let mut dave = server.register("dave");
    let dave_token = create_token(&mut dave);
    drop((carol, dave));
    let out = server.admin(&["ban", "dave"]);
    assert!(out.status.success(), "{out:?}");
    server.wait_log("the database was changed by another process");
    let mut c = server.connected();
    refused(
        &mut c,
        json!({"cmd": "token_login", "token": dave_token}),
        "Access denied: You are banned from this server",
    );
    // In Rotur mode a local account cannot log in, with a token or a password.
    let mut config = server.config.clone();
    config["auth_mode"] = json!("rotur");
    let server = Server::in_dir(server.kill(), config);
    let mut c = server.connected();
    refused(
        &mut c,
        json!({"cmd": "login", "username": "carol", "password": "secret123"}),
        "Authentication required",
    );
    refused(
        &mut c,
        json!({"cmd": "token_login", "token": carol_token}),
        "Authentication required",
    );
}

#[test]
fn a_new_password_revokes_every_token() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let tokens = [create_token(&mut alice), create_token(&mut alice)];
    let out = server.admin_with_input(&["set-password", "alice"], "another secret\n");
    assert!(out.status.success(), "{out:?}");
    all_dead(&server, &[&tokens[0], &tokens[1]]);
}

#[test]
fn a_deleted_account_takes_its_tokens_along() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let token = create_token(&mut alice);
    alice.send(json!({"cmd": "user_leave"}));
    until(&mut alice, "user_leave");
    // A new account of the same name must not be reachable with the old token.
    let _again = server.register("alice");
    let mut c = server.connected();
    refused(
        &mut c,
        json!({"cmd": "token_login", "token": token}),
        INVALID,
    );
}

#[test]
fn rotur_accounts_use_tokens_while_rotur_logins_are_allowed() {
    let mock = common::MockRotur::start();
    let server = Server::with(
        json!({"auth_mode": "rotur", "rotur": {"validate_url": mock.url, "timeout_seconds": 1}}),
    );
    let mut rudy = server.connected();
    rudy.send(json!({"cmd": "auth", "validator": "ok:rid1:rudy"}));
    until(&mut rudy, "user_connect");
    let token = create_token(&mut rudy);
    let mut c = server.connected();
    let ready = token_login(&mut c, Some(&token));
    assert_eq!(ready["user"]["username"], "rudy");
    assert_eq!(ready["user"]["cracked"], false);
    // With Rotur logins switched off, its token is refused the way `auth` is.
    let mut config = server.config.clone();
    config["auth_mode"] = json!("cracked-only");
    let server = Server::in_dir(server.kill(), config);
    let mut c = server.connected();
    let disabled = "Rotur authentication is disabled. Use login or register commands.";
    refused(
        &mut c,
        json!({"cmd": "auth", "validator": "ok:rid1:rudy"}),
        disabled,
    );
    refused(
        &mut c,
        json!({"cmd": "token_login", "token": token}),
        disabled,
    );
}

#[test]
fn a_slow_body_is_bounded_in_time() {
    let server = Server::with(json!({"connections": {"handshake_timeout_seconds": 1}}));
    let mut alice = server.register("alice");
    let token = create_token(&mut alice);
    // The body may come after the head.
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let head = format!(
        "POST /session HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        token.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.flush().unwrap();
    s.write_all(token.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 204 No Content\r\n"), "{out}");
    // A body that never completes gets an answer at the timeout.
    let started = std::time::Instant::now();
    let (status, _, body) = http(
        server.addr,
        &format!(
            "POST /session HTTP/1.1\r\nHost: {}\r\nContent-Length: 43\r\n\r\nonly-a-part",
            server.addr
        ),
    );
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");
    assert_eq!(body, r#"{"error":"The body did not arrive in time"}"#);
    assert!(started.elapsed() < TIMEOUT);
}
