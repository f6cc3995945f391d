//! The rate limiter (§5): bursts, cooldowns, status, configuration.

mod common;

use common::Server;
use serde_json::json;

#[test]
fn a_burst_starts_a_cooldown_for_messages_edits_and_typing() {
    let server = Server::with(json!({"rate_limiting": {"burst_limit": 3, "cooldown_seconds": 30}}));
    let mut a = server.register("alice");
    for i in 0..3 {
        let r = a.request(
            json!({"cmd": "message_new", "channel": "general", "content": format!("m{i}")}),
        );
        assert_eq!(r["cmd"], "message_new");
    }
    a.send(json!({"cmd": "message_new", "channel": "general", "content": "one too many", "listener": "x"}));
    assert_eq!(
        a.recv(),
        json!({"cmd": "rate_limit", "reason": "Burst limit exceeded. You're in cooldown for 30 seconds", "length": 30000, "listener": "x"})
    );
    let r = a.request(json!({"cmd": "typing", "channel": "general"}));
    assert_eq!(r["cmd"], "rate_limit");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .starts_with("You are in cooldown for "),
        "{r}"
    );
    assert!(r["length"].as_u64().unwrap() > 29_000);
    let r =
        a.request(json!({"cmd": "message_edit", "channel": "general", "id": "x", "content": "y"}));
    assert_eq!(r["cmd"], "rate_limit");
    assert!(
        r.get("reason").is_none(),
        "edits carry no reason, as the original's"
    );
    // Other commands are not limited.
    assert_eq!(a.request(json!({"cmd": "ping"}))["cmd"], "pong");
    let status = a.request(json!({"cmd": "rate_limit_status"}));
    assert_eq!(status["user"], "USR:local_alice");
    let s = &status["status"];
    assert_eq!(
        (
            s["messages_this_minute"].as_u64(),
            s["recent_messages"].as_u64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(
        (
            s["messages_per_minute_limit"].as_u64(),
            s["burst_limit"].as_u64()
        ),
        (Some(60), Some(3))
    );
    assert!(s["cooldown_remaining"].as_f64().unwrap() > 29.0);
    let mut bob = server.register("bob");
    assert_eq!(
        bob.request(json!({"cmd": "rate_limit_status", "user": "USR:local_alice"})),
        json!({"cmd": "error", "src": "rate_limit_status", "val": "Access denied: can only check your own rate limit status"})
    );
    // Other users are not affected.
    assert_eq!(
        bob.request(json!({"cmd": "message_new", "channel": "general", "content": "free"}))["cmd"],
        "message_new"
    );
}

#[test]
fn invalid_messages_before_the_limiter_do_not_count_and_missing_channels_do() {
    let server = Server::with(json!({"rate_limiting": {"burst_limit": 2}}));
    let mut a = server.register("alice");
    for _ in 0..5 {
        assert_eq!(
            a.request(json!({"cmd": "message_new", "channel": "general", "content": "  "}))["cmd"],
            "error"
        );
    }
    assert_eq!(
        a.request(json!({"cmd": "message_new", "channel": "nope", "content": "x"}))["val"],
        "Channel not found"
    );
    assert_eq!(
        a.request(json!({"cmd": "message_new", "channel": "general", "content": "x"}))["cmd"],
        "message_new"
    );
    assert_eq!(
        a.request(json!({"cmd": "message_new", "channel": "general", "content": "x"}))["cmd"],
        "rate_limit"
    );
}

#[test]
fn the_limiter_can_be_switched_off() {
    let server = Server::with(json!({"rate_limiting": {"enabled": false}}));
    let mut a = server.register("alice");
    for i in 0..40 {
        let r = a.request(
            json!({"cmd": "message_new", "channel": "general", "content": format!("m{i}")}),
        );
        assert_eq!(r["cmd"], "message_new");
    }
    assert_eq!(
        a.request(json!({"cmd": "rate_limit_status"})),
        json!({"cmd": "error", "src": "rate_limit_status", "val": "Rate limiter not available or disabled"})
    );
}
