//! Every command the handshake announces is answered by the server: none gets "Unknown
//! command" (after authentication) or "Authentication required" (before it). The list and
//! the dispatch come from one table (`src/router/table.rs`); this checks it from outside, in
//! each auth mode, with every command sent with no fields.

mod common;

use common::{MockRotur, Server};
use serde_json::{Value, json};

/// The handshake's `capabilities`, read from a fresh connection.
fn capabilities(server: &Server) -> Vec<String> {
    let mut c = server.client();
    let handshake = c.expect("handshake");
    handshake["val"]["capabilities"]
        .as_array()
        .expect("capabilities is a list")
        .iter()
        .map(|v| v.as_str().expect("a command name").to_string())
        .collect()
}

/// Sends `{"cmd": cmd, "listener": cmd}` and returns the packet that answers it (the one
/// carrying the listener), skipping broadcasts and presence.
fn answer(c: &mut common::Client, cmd: &str) -> Value {
    c.send(json!({"cmd": cmd, "listener": cmd}));
    loop {
        let p = c.recv();
        if p["listener"] == cmd {
            return p;
        }
    }
}

fn is_unknown(p: &Value) -> bool {
    p["cmd"] == "error"
        && p["val"]
            .as_str()
            .is_some_and(|v| v.starts_with("Unknown command"))
}

const AUTH_COMMANDS: [&str; 4] = ["auth", "login", "register", "token_login"];

/// Checks one server: the authentication commands it announces on fresh connections, then
/// every other announced command on a logged-in one (`user_leave` last: it deletes the
/// account). Returns the announced authentication commands.
fn check_all_announced(server: &Server, can_register: bool) -> Vec<String> {
    let caps = capabilities(server);
    assert!(caps.iter().any(|c| c == "message_new"), "{caps:?}");
    let announced_auth: Vec<String> = caps
        .iter()
        .filter(|c| AUTH_COMMANDS.contains(&c.as_str()))
        .cloned()
        .collect();
    for cmd in &announced_auth {
        // A fresh connection each: failed attempts count toward a limit.
        let mut c = server.connected();
        c.send(json!({"cmd": cmd}));
        let p = c.recv();
        assert_eq!(p["cmd"], "auth_error", "{cmd}: {p}");
        assert_ne!(
            p["val"], "Authentication required",
            "{cmd} is announced but not answered"
        );
    }
    if !can_register {
        return announced_auth;
    }
    let mut c = server.register("tabletester");
    let mut others: Vec<&String> = caps
        .iter()
        .filter(|c| !AUTH_COMMANDS.contains(&c.as_str()))
        .collect();
    others.sort_by_key(|c| *c == "user_leave");
    for cmd in others {
        let p = answer(&mut c, cmd);
        assert!(!is_unknown(&p), "{cmd} is announced but answered {p}");
    }
    announced_auth
}

#[test]
fn every_announced_command_is_answered_in_every_auth_mode() {
    let rotur = json!({"rotur": {"validate_url": MockRotur::down_url(), "timeout_seconds": 2}});
    let mut config = rotur.clone();
    config["auth_mode"] = json!("cracked");
    let server = Server::with(config);
    assert_eq!(check_all_announced(&server, true), AUTH_COMMANDS);

    let mut config = rotur.clone();
    config["auth_mode"] = json!("cracked-only");
    let server = Server::with(config);
    assert_eq!(
        check_all_announced(&server, true),
        ["login", "register", "token_login"]
    );

    let mut config = rotur;
    config["auth_mode"] = json!("rotur");
    let server = Server::with(config);
    assert_eq!(check_all_announced(&server, false), ["auth", "token_login"]);
}

/// The check above can fail: a command that is not in the table is answered "Unknown
/// command", and one that is not announced before authentication "Authentication required".
#[test]
fn commands_outside_the_table_are_unknown() {
    let server = Server::start();
    let mut c = server.connected();
    c.send(json!({"cmd": "message_new"}));
    assert_eq!(
        c.recv(),
        json!({"cmd": "auth_error", "val": "Authentication required"})
    );
    let mut c = server.register("outsider");
    let p = answer(&mut c, "no_such_command");
    assert!(is_unknown(&p), "{p}");
    assert_eq!(p["val"], "Unknown command: no_such_command");
    // After authentication the authentication commands are not commands any more.
    assert!(is_unknown(&answer(&mut c, "login")));
}
