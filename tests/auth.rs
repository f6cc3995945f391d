//! Local accounts: `register` and `login` (§4.3, §4.4), bans, the failed-attempt limit.

mod common;

use common::Server;
use serde_json::{Value, json};

fn auth_error(text: &str) -> Value {
    json!({"cmd": "auth_error", "val": text})
}

#[test]
fn register_sends_the_success_sequence() {
    let server = Server::start();
    let mut bob = server.register("bob");
    let mut c = server.connected();
    c.send(
        json!({"cmd": "register", "username": " Alice ", "password": "secret123", "listener": "r"}),
    );
    assert_eq!(
        c.recv(),
        json!({"cmd": "auth_success", "val": "Authentication successful"})
    );
    let ready = c.expect("ready");
    assert_eq!(
        ready["user"],
        json!({"username": "USR:local_alice", "nickname": "alice", "roles": ["user"],
               "status": {"status": "online", "text": ""}, "pfp_url": null, "cracked": true})
    );
    assert_eq!(ready["validator"].as_str().unwrap().len(), 43);
    assert!(ready.get("listener").is_none());
    let join = json!({"cmd": "user_join", "user": {"username": "USR:local_alice", "roles": ["user"], "color": null, "nickname": "alice"}});
    let connect = json!({"cmd": "user_connect", "user": {"username": "USR:local_alice", "roles": ["user"], "color": null, "nickname": "alice"}});
    assert_eq!(c.recv(), join);
    assert_eq!(c.recv(), connect);
    assert_eq!(bob.recv(), join);
    assert_eq!(bob.recv(), connect);
}

#[test]
fn register_errors_in_order() {
    let server = Server::with(json!({"connections": {"max_failed_auth": 100}}));
    let _taken = server.register("taken");
    let mut c = server.connected();
    let cases = [
        (
            json!({"username": "", "password": "secret"}),
            "Username and password required",
        ),
        (
            json!({"username": "   ", "password": "secret"}),
            "Username and password required",
        ),
        (json!({"username": "bob"}), "Username and password required"),
        (
            json!({"username": 12, "password": "secret"}),
            "Username and password required",
        ),
        (
            json!({"username": "bob", "password": ["x"]}),
            "Username and password required",
        ),
        (
            json!({"username": "b", "password": "secret"}),
            "Username must be 2-32 characters",
        ),
        (
            json!({"username": "b".repeat(33), "password": "secret"}),
            "Username must be 2-32 characters",
        ),
        (
            json!({"username": "bob", "password": "abc"}),
            "Password must be 4-72 characters",
        ),
        (
            json!({"username": "bob", "password": "a".repeat(73)}),
            "Password must be 4-72 characters",
        ),
        (
            json!({"username": "b o", "password": "secret"}),
            "Username can only contain letters, numbers, hyphens, and underscores",
        ),
        (
            json!({"username": "__", "password": "secret"}),
            "Username can only contain letters, numbers, hyphens, and underscores",
        ),
        (
            json!({"username": "../x", "password": "secret"}),
            "Username can only contain letters, numbers, hyphens, and underscores",
        ),
        (
            json!({"username": "TAKEN", "password": "secret"}),
            "Username already taken",
        ),
        // Look-alikes of `taken` and `admin`: Cyrillic а, full-width letters, a Latin
        // letter with a diacritic.
        (
            json!({"username": "tаken", "password": "secret"}),
            NOT_ASCII,
        ),
        (
            json!({"username": "ａｄｍｉｎ", "password": "secret"}),
            NOT_ASCII,
        ),
        (json!({"username": "Zoë", "password": "secret"}), NOT_ASCII),
    ];
    for (mut fields, text) in cases {
        fields["cmd"] = json!("register");
        assert_eq!(c.request(fields.clone()), auth_error(text), "{fields}");
    }
    // ASCII letters, digits, hyphens and underscores are fine; the password may be any text.
    let ready = c.register("Zoe_2-x", "pässwörd");
    assert_eq!(ready["user"]["username"], "USR:local_zoe_2-x");
}

const NOT_ASCII: &str = "Username can only contain the letters a-z, numbers, hyphens, and \
                         underscores (letters of other alphabets can look like these)";

#[test]
fn every_character_of_a_password_counts() {
    let server = Server::start();
    // 72 two-byte characters: 144 bytes, of which plain bcrypt would read 72.
    let password = "é".repeat(72);
    let mut owner = server.connected();
    owner.register("long", &password);
    let mut c = server.connected();
    let same_first_72_bytes = format!("{}{}", "é".repeat(36), "x".repeat(36));
    assert_eq!(
        c.request(json!({"cmd": "login", "username": "long", "password": same_first_72_bytes})),
        auth_error("Invalid password")
    );
    let ready = c.login("long", &password);
    assert_eq!(ready["user"]["username"], "USR:local_long");
}

#[test]
fn registration_can_be_switched_off() {
    let server = Server::with(json!({"cracked": {"allow_registration": false}}));
    let mut c = server.connected();
    assert_eq!(
        c.request(json!({"cmd": "register", "username": "bob", "password": "secret"})),
        auth_error("Registration is disabled")
    );
}

#[test]
fn login_checks_and_second_tab() {
    let server = Server::start();
    let mut first = server.register("alice");
    let mut c = server.connected();
    let login = |name: &str, pw: Value| json!({"cmd": "login", "username": name, "password": pw});
    assert_eq!(
        c.request(login("", json!("x"))),
        auth_error("Username and password required")
    );
    assert_eq!(
        c.request(login("nobody", json!("x"))),
        auth_error("User not found")
    );
    assert_eq!(
        c.request(login("alice", json!("wrong"))),
        auth_error("Invalid password")
    );
    assert_eq!(
        c.request(login("alice", json!(5))),
        auth_error("Username and password required")
    );
    // A second tab gets only auth_success + ready; nobody hears of it.
    let ready = c.login(" ALICE ", "secret123");
    assert_eq!(ready["user"]["username"], "USR:local_alice");
    assert_eq!(ready["user"]["cracked"], true);
    first.expect_quiet();
    c.expect_quiet();
}

#[test]
fn banned_users_cannot_log_in_and_are_disconnected() {
    let server = Server::start();
    let mut bob = server.register("bob");
    let mut alice = server.register("alice");
    bob.expect("user_join");
    bob.expect("user_connect");
    let out = server.admin(&["ban", "bob"]);
    assert!(out.status.success(), "{out:?}");
    // The running server notices and closes bob's connection with a reason.
    assert_eq!(
        bob.recv(),
        json!({"cmd": "disconnect", "reason": "You have been banned"})
    );
    assert_eq!(bob.expect_close(), Some(1008));
    assert_eq!(
        alice.recv(),
        json!({"cmd": "user_disconnect", "username": "USR:local_bob"})
    );
    let mut again = server.connected();
    assert_eq!(
        again.request(json!({"cmd": "login", "username": "bob", "password": "secret123"})),
        auth_error("Access denied: You are banned from this server")
    );
    // The server picks the change up within seconds.
    server.admin_applied(&["unban", "bob"], "unban never took effect", || {
        let mut c = server.connected();
        c.send(json!({"cmd": "login", "username": "bob", "password": "secret123"}));
        (c.recv()["cmd"] == "auth_success").then_some(())
    });
}

#[test]
fn too_many_failures_close_the_connection() {
    let server = Server::with(json!({"connections": {"max_failed_auth": 3}}));
    let mut c = server.connected();
    for _ in 0..3 {
        assert_eq!(
            c.request(json!({"cmd": "login", "username": "ghost", "password": "x"})),
            auth_error("User not found")
        );
    }
    assert_eq!(c.expect_close(), Some(1008));
}

#[test]
fn login_and_register_follow_the_auth_mode() {
    let server = Server::with(json!({"auth_mode": "rotur"}));
    let mut c = server.connected();
    assert_eq!(
        c.request(json!({"cmd": "register", "username": "bob", "password": "secret"})),
        auth_error("Authentication required")
    );
    assert_eq!(
        c.request(json!({"cmd": "login", "username": "bob", "password": "secret"})),
        auth_error("Authentication required")
    );
    let server = Server::with(json!({"auth_mode": "cracked-only"}));
    let mut c = server.connected();
    assert_eq!(
        c.request(json!({"cmd": "auth", "validator": "x"})),
        auth_error("Rotur authentication is disabled. Use login or register commands.")
    );
}

#[test]
fn passwords_are_hashed_and_never_logged() {
    let server = Server::start();
    let mut c = server.connected();
    c.register("alice", "hunter2-very-secret");
    let mut d = server.connected();
    d.request(json!({"cmd": "login", "username": "alice", "password": "wrong-but-secret"}));
    let log = server.log_so_far();
    assert!(!log.contains("hunter2"));
    assert!(!log.contains("wrong-but-secret"));
    let mut db = std::fs::read(server.data_dir().join("originchats.sqlite3")).unwrap();
    db.extend(std::fs::read(server.data_dir().join("originchats.sqlite3-wal")).unwrap_or_default());
    let text = String::from_utf8_lossy(&db);
    assert!(!text.contains("hunter2"));
    assert!(text.contains("$2b$04$"), "bcrypt hash stored");
}
