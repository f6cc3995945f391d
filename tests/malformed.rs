//! Bad input gets a clear answer and the connection stays up (§1.2, §3.2, §6); routing of
//! replies and the `listener` echo (§1.1, §2).

mod common;

use async_tungstenite::tungstenite::Message;
use common::Server;
use serde_json::json;

#[test]
fn before_auth_only_auth_commands_work() {
    let server = Server::start();
    let mut c = server.connected();
    let auth_required = json!({"cmd": "auth_error", "val": "Authentication required"});
    assert_eq!(
        c.request(json!({"cmd": "ping", "listener": "x"})),
        auth_required
    );
    assert_eq!(
        c.request(json!({"cmd": "messages_get", "channel": "general"})),
        auth_required
    );
    assert_eq!(c.request(json!({"nocmd": 1})), auth_required);
    assert_eq!(c.request(json!({"cmd": 5})), auth_required);
    assert_eq!(c.request(json!({"cmd": "pong"})), auth_required);
    assert_eq!(
        c.request(json!([1, 2])),
        json!({"cmd": "error", "val": "Invalid message format: expected a dictionary, got list"})
    );
    c.send_text("{not json");
    assert_eq!(c.recv(), json!({"cmd": "error", "val": "Invalid JSON"}));
    // Still usable.
    c.register("alice", "secret123");
}

#[test]
fn after_auth_errors_are_specific() {
    let server = Server::start();
    let mut c = server.register("alice");
    c.send_text("{not json");
    assert_eq!(c.recv(), json!({"cmd": "error", "val": "Invalid JSON"}));
    for (input, kind) in [
        ("[1,2]", "list"),
        ("\"hi\"", "str"),
        ("5", "int"),
        ("1.5", "float"),
        ("null", "NoneType"),
        ("true", "bool"),
    ] {
        c.send_text(input);
        assert_eq!(
            c.recv(),
            json!({"cmd": "error", "val": format!("Invalid message format: expected a dictionary, got {kind}")})
        );
    }
    assert_eq!(
        c.request(json!({"x": 1})),
        json!({"cmd": "error", "val": "Unknown command: None"})
    );
    assert_eq!(
        c.request(json!({"cmd": "nope"})),
        json!({"cmd": "error", "src": "nope", "val": "Unknown command: nope"})
    );
    assert_eq!(
        c.request(json!({"cmd": 5})),
        json!({"cmd": "error", "src": 5, "val": "Unknown command: 5"})
    );
    assert_eq!(
        c.request(json!({"cmd": "login", "username": "a", "password": "b"})),
        json!({"cmd": "error", "src": "login", "val": "Unknown command: login"})
    );
    assert_eq!(
        c.request(json!({"cmd": "nope", "listener": "L1"})),
        json!({"cmd": "error", "src": "nope", "val": "Unknown command: nope", "listener": "L1"})
    );
    c.ws.send(Message::binary(vec![1, 2, 3])).unwrap();
    assert_eq!(
        c.recv(),
        json!({"cmd": "error", "val": "Binary frames are not supported: send JSON text frames"})
    );
    // An inbound pong (answer to the heartbeat) is accepted silently.
    c.send(json!({"cmd": "pong"}));
    c.expect_quiet();
    assert_eq!(
        c.request(json!({"cmd": "ping"})),
        json!({"cmd": "pong", "val": "pong"})
    );
}

#[test]
fn listener_is_echoed_only_when_a_string() {
    let server = Server::start();
    let mut c = server.register("alice");
    assert_eq!(
        c.request(json!({"cmd": "ping", "listener": "L2"})),
        json!({"cmd": "pong", "val": "pong", "listener": "L2"})
    );
    assert_eq!(
        c.request(json!({"cmd": "ping", "listener": 7})),
        json!({"cmd": "pong", "val": "pong"})
    );
    let odd = "quote\" back\\slash é 🎉";
    assert_eq!(
        c.request(json!({"cmd": "ping", "listener": odd})),
        json!({"cmd": "pong", "val": "pong", "listener": odd})
    );
}

#[test]
fn garbage_never_takes_the_server_down() {
    let server = Server::start();
    let mut c = server.register("alice");
    let long_key = format!("{{\"{}\":1}}", "k".repeat(5000));
    let inputs = [
        "",
        " ",
        "{",
        "}",
        "[[[[[[[[[[",
        "{\"cmd\":",
        "{\"cmd\":\"ping\"",
        "\u{0}",
        "{\"cmd\":\"ping\",\"listener\":\"\\ud800\"}",
        "{\"cmd\":[\"ping\"]}",
        "{\"cmd\":{\"a\":1}}",
        "{\"cmd\":null}",
        long_key.as_str(),
        "1e999",
    ];
    for input in inputs {
        c.send_text(input);
        let reply = c.recv();
        assert_eq!(reply["cmd"], "error", "{input:?} → {reply}");
    }
    assert_eq!(
        c.request(json!({"cmd": "ping"})),
        json!({"cmd": "pong", "val": "pong"})
    );
}
