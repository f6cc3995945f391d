//! Rotur token authentication against a mock validate service on loopback (§4.2).

mod common;

use std::time::{Duration, Instant};

use common::{MockRotur, Server};
use serde_json::json;

fn rotur_server(url: &str) -> Server {
    Server::with(
        json!({"auth_mode": "rotur", "rotur": {"validate_url": url, "timeout_seconds": 1}}),
    )
}

#[test]
fn valid_token_logs_in_and_creates_the_account() {
    let mock = MockRotur::start();
    let server = rotur_server(&mock.url);
    let mut c = server.client();
    let key = c.expect("handshake")["val"]["validator_key"]
        .as_str()
        .unwrap()
        .to_string();
    c.send(json!({"cmd": "auth", "validator": "ok:rid1:rudy", "listener": "a"}));
    assert_eq!(
        c.recv(),
        json!({"cmd": "auth_success", "val": "Authentication successful"})
    );
    let ready = c.expect("ready");
    assert_eq!(
        ready["user"],
        json!({"roles": ["user"], "username": "rudy", "status": {"status": "online", "text": ""}, "cracked": false})
    );
    assert_eq!(
        c.expect("user_join")["user"],
        json!({"username": "rudy", "roles": ["user"], "color": null, "nickname": null})
    );
    c.expect("user_connect");
    // The service was asked with this connection's key and the token.
    let q = mock.queries.lock().unwrap().clone();
    assert_eq!(q.len(), 1);
    assert!(q[0].contains(&format!("key={key}")), "{q:?}");
    assert!(q[0].contains("v=ok%3Arid1%3Arudy"), "{q:?}");

    // Next time: same account (no user_join); a new Rotur name replaces the stored one.
    drop(c);
    let mut c = server.connected();
    c.send(json!({"cmd": "auth", "validator": "ok:rid1:rudy2"}));
    c.expect("auth_success");
    assert_eq!(c.expect("ready")["user"]["username"], "rudy2");
    assert_eq!(c.expect("user_connect")["user"]["username"], "rudy2");
}

#[test]
fn invalid_unreadable_and_unreachable() {
    let mock = MockRotur::start();
    let server = rotur_server(&mock.url);
    let mut c = server.connected();
    assert_eq!(
        c.request(json!({"cmd": "auth", "validator": "bad"})),
        json!({"cmd": "auth_error", "val": "Invalid authentication"})
    );
    assert_eq!(
        c.request(json!({"cmd": "auth"})),
        json!({"cmd": "auth_error", "val": "Invalid authentication"})
    );
    assert_eq!(
        c.request(json!({"cmd": "auth", "validator": "junk"})),
        json!({"cmd": "auth_error", "val": "Authentication service unavailable"})
    );
    let down = rotur_server(&MockRotur::down_url());
    let mut c = down.connected();
    assert_eq!(
        c.request(json!({"cmd": "auth", "validator": "ok:a:b"})),
        json!({"cmd": "auth_error", "val": "Authentication service unavailable"})
    );
}

#[test]
fn a_slow_validation_times_out_without_stalling_others() {
    let mock = MockRotur::start();
    let server = Server::with(
        json!({"auth_mode": "cracked", "rotur": {"validate_url": mock.url, "timeout_seconds": 2}}),
    );
    let mut alice = server.register("alice");
    let mut slow = server.connected();
    let started = Instant::now();
    slow.send(json!({"cmd": "auth", "validator": "slow"}));
    // While the validation hangs, another client logs in and chats with the server.
    let mut bob = server.register("bob");
    for i in 0..20 {
        let t = Instant::now();
        assert_eq!(
            bob.request(json!({"cmd": "ping", "listener": i.to_string()}))["cmd"],
            "pong"
        );
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "ping took {:?}",
            t.elapsed()
        );
    }
    assert_eq!(
        alice.expect("user_join")["user"]["username"],
        "USR:local_bob"
    );
    assert_eq!(
        slow.recv(),
        json!({"cmd": "auth_error", "val": "Authentication service unavailable"})
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[test]
fn banned_rotur_user_is_refused() {
    let mock = MockRotur::start();
    let server = rotur_server(&mock.url);
    let mut c = server.connected();
    c.send(json!({"cmd": "auth", "validator": "ok:rid9:carol"}));
    c.expect("auth_success");
    drop(c);
    server.admin_applied(&["ban", "carol"], "ban never took effect", || {
        let mut c = server.connected();
        let reply = c.request(json!({"cmd": "auth", "validator": "ok:rid9:carol"}));
        (reply
            == json!({"cmd": "auth_error", "val": "Access denied: You are banned from this server"}))
        .then_some(())
    });
}
