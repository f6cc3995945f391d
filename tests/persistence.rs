//! Accounts and roles survive restarts; the admin command line works on a stopped server.

mod common;

use common::{Server, binary};
use serde_json::json;

#[test]
fn accounts_survive_a_restart() {
    let server = Server::start();
    let mut a = server.register("alice");
    a.send(json!({"cmd": "ping"}));
    a.expect("pong");
    let server = server.restart();
    let mut c = server.connected();
    let ready = c.login("alice", "secret123");
    assert_eq!(ready["user"]["username"], "USR:local_alice");
    c.expect("user_connect");
    assert_eq!(
        c.request(json!({"cmd": "register", "username": "alice", "password": "other1"})),
        json!({"cmd": "error", "src": "register", "val": "Unknown command: register"})
    );
    let mut d = server.connected();
    assert_eq!(
        d.request(json!({"cmd": "register", "username": "Alice", "password": "other1"})),
        json!({"cmd": "auth_error", "val": "Username already taken"})
    );
}

#[test]
fn owner_bootstrap_on_a_stopped_server() {
    let server = Server::start();
    drop(server.register("alice"));
    let dir = server.kill();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        std::process::Command::new(binary())
            .arg("--data-dir")
            .arg(&data)
            .arg("admin")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["grant-role", "alice", "owner"]);
    assert!(out.status.success(), "{out:?}");
    let out = run(&["users"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "USR:local_alice\tlocal\towner,user\n"
    );
    let out = run(&["grant-role", "nobody", "owner"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account named `nobody`"));
    let out = run(&["grant-role", "alice", "wizard"]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no role named `wizard`; roles are: owner, admin, moderator, user")
    );
    let out = run(&["frobnicate"]);
    assert!(!out.status.success());
    let out = run(&["--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("grant-role USER ROLE"));

    let server = Server::in_dir(dir, common::test_config(json!({})));
    let mut c = server.connected();
    assert_eq!(
        c.login("alice", "secret123")["user"]["roles"],
        json!(["owner", "user"])
    );
    assert_eq!(c.expect("user_connect")["user"]["color"], "#9400D3");
}
