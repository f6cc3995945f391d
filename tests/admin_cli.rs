//! The admin command line on a live server: channels, passwords, help and errors.

mod common;

use std::time::Duration;

use common::{Server, until};
use serde_json::json;

fn names(list: &serde_json::Value) -> Vec<String> {
    list["val"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn channels_created_and_deleted_from_the_terminal_reach_clients() {
    let server = Server::start();
    let mut c = server.register("alice");
    let out = server.admin(&["create-channel", "random"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "created text channel random (everyone with the user role)\n"
    );
    assert_eq!(names(&until(&mut c, "channels_get")), ["general", "random"]);
    assert!(
        server
            .admin(&["create-channel", "room", "--type", "voice", "--private"])
            .status
            .success()
    );
    assert_eq!(
        names(&until(&mut c, "channels_get")),
        ["general", "random"],
        "private: owners only"
    );
    let out = server.admin(&["create-channel", "random"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a channel named `random` already exists")
    );
    let out = server.admin(&["create-channel", "../x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid channel name"));
    c.request(json!({"cmd": "message_new", "channel": "random", "content": "hello"}));
    let out = server.admin(&["delete-channel", "random"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --yes to confirm"));
    let out = server.admin(&["delete-channel", "random", "--yes"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "deleted channel random and its 2 message(s)\n"
    );
    assert_eq!(names(&until(&mut c, "channels_get")), ["general"]);
}

#[test]
fn set_password_help_and_errors() {
    let server = Server::start();
    drop(server.register("alice"));
    let seen = server.reloads();
    let out = server.admin_with_input(&["set-password", "alice"], "brand-new-pass\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "password of USR:local_alice changed\n",
        "{out:?}"
    );
    server.after_reloads(seen, "the new password never worked", || {
        let mut c = server.connected();
        c.send(json!({"cmd": "login", "username": "alice", "password": "brand-new-pass"}));
        // The admin command hashed at the built-in cost 12, which takes long under qemu.
        let answer = c
            .try_recv(Duration::from_secs(120))
            .expect("no answer to login");
        (answer["cmd"] == "auth_success").then_some(())
    });
    for command in [
        "users",
        "grant-role",
        "revoke-role",
        "ban",
        "unban",
        "set-password",
        "create-channel",
        "delete-channel",
    ] {
        let out = server.admin(&[command, "--help"]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!(
            "usage: originchats-server [--data-dir DIR] admin {command}"
        )));
    }
    let out = server.admin(&["grant-role", "alice"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong arguments\nusage:"));
    let out = server.admin(&["ban", "ghost"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account named `ghost`"));
    let out = server.admin(&["explode"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown admin command `explode`"));
}
