//! Members, statuses, nicknames, pictures, roles and server info (§8.10–8.12).

mod common;

use common::{Server, err};
use serde_json::{Value, json};

#[test]
fn users_list_and_online() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let bob = server.register("bob");
    alice.expect("user_join");
    alice.expect("user_connect");
    drop(bob);
    alice.expect("user_disconnect");
    let list = alice.request(json!({"cmd": "users_list"}));
    assert_eq!(
        list["users"],
        json!([
            {"username": "USR:local_alice", "nickname": "alice", "roles": ["user"], "color": null,
             "status": {"status": "online", "text": ""}, "cracked": true, "pfp": null},
            {"username": "USR:local_bob", "nickname": "bob", "roles": ["user"], "color": null,
             "status": {"status": "offline", "text": ""}, "cracked": true, "pfp": null}
        ])
    );
    let mut tab2 = server.connected();
    tab2.login("alice", "secret123");
    let online = alice.request(json!({"cmd": "users_online"}));
    assert_eq!(
        online["users"],
        json!([{"username": "USR:local_alice", "nickname": "alice", "roles": ["user"], "color": null,
                "status": {"status": "online", "text": ""}}]),
        "one row per user"
    );
    server.admin_applied(&["ban", "bob"], "banned users stay listed", || {
        let users = alice.request(json!({"cmd": "users_list"}));
        (users["users"].as_array().unwrap().len() == 1).then_some(())
    });
}

#[test]
fn roles_and_user_roles() {
    let server = Server::start();
    let mut a = server.register("alice");
    let roles = a.request(json!({"cmd": "roles_list"}))["roles"].clone();
    let names: Vec<&String> = roles.as_object().unwrap().keys().collect();
    assert_eq!(names, ["owner", "admin", "moderator", "user"]);
    assert_eq!(roles["owner"]["color"], "#9400D3");
    assert_eq!(roles["owner"]["permissions"], json!(["administrator"]));
    assert_eq!(roles["user"]["position"], 3);
    assert_eq!(roles["owner"]["id"].as_str().unwrap().len(), 36);
    assert_eq!(
        a.request(json!({"cmd": "user_roles_get", "user": "usr:local_alice"})),
        json!({"cmd": "user_roles_get", "user": "USR:local_alice", "roles": ["user"], "color": null})
    );
    assert_eq!(
        a.request(json!({"cmd": "user_roles_get"})),
        err("user_roles_get", "User parameter is required")
    );
    assert_eq!(
        a.request(json!({"cmd": "user_roles_get", "user": "ghost"})),
        err("user_roles_get", "User not found")
    );
}

#[test]
fn status_set_get_and_invisible() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let mut bob = server.register("bob");
    alice.expect("user_join");
    alice.expect("user_connect");
    bob.send(json!({"cmd": "status_set", "status": "idle", "text": "brb", "listener": "s"}));
    let expected = json!({"cmd": "status_get", "username": "USR:local_bob", "status": {"status": "idle", "text": "brb"}, "global": true});
    assert_eq!(alice.recv(), expected);
    let mut mine = expected.clone();
    mine["listener"] = json!("s");
    assert_eq!(bob.recv(), mine);
    assert_eq!(
        alice.request(json!({"cmd": "status_get", "user": "USR:local_bob"})),
        json!({"cmd": "status", "username": "USR:local_bob", "status": {"status": "idle", "text": "brb"}})
    );
    // Invisible: others see a disconnect; only bob gets the status_set reply.
    bob.send(json!({"cmd": "status_set", "status": "invisible"}));
    assert_eq!(
        alice.recv(),
        json!({"cmd": "user_disconnect", "username": "USR:local_bob"})
    );
    assert_eq!(
        bob.recv(),
        json!({"cmd": "user_disconnect", "username": "USR:local_bob"})
    );
    assert_eq!(
        bob.recv(),
        json!({"cmd": "status_set", "status": {"status": "invisible", "text": ""}, "global": true})
    );
    alice.expect_quiet();
    assert_eq!(
        alice.request(json!({"cmd": "users_online"}))["users"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        alice.request(json!({"cmd": "status_get", "user": "USR:local_bob"}))["status"]["status"],
        "offline"
    );
    // Back online.
    bob.send(json!({"cmd": "status_set", "status": "online"}));
    let connect = json!({"cmd": "user_connect", "user": {"username": "USR:local_bob", "roles": ["user"], "color": null, "nickname": "bob"}});
    assert_eq!(alice.recv(), connect);
    assert_eq!(alice.recv()["cmd"], "status_get");
    assert_eq!(bob.recv(), connect);
    assert_eq!(bob.recv()["cmd"], "status_get");
    assert_eq!(
        bob.request(json!({"cmd": "status_set", "status": "sleeping"})),
        err(
            "status_set",
            "Invalid status. Must be one of: online, idle, dnd, offline, invisible"
        )
    );
    assert_eq!(
        bob.request(json!({"cmd": "status_set"})),
        err("status_set", "Status is required")
    );
    // Persistent across restarts.
    assert_eq!(
        bob.request(json!({"cmd": "status_set", "status": "dnd", "text": "focus"}))["cmd"],
        "status_get"
    );
    drop((alice, bob));
    let server = server.restart();
    let mut c = server.connected();
    assert_eq!(
        c.login("bob", "secret123")["user"]["status"],
        json!({"status": "dnd", "text": "focus"})
    );
}

#[test]
fn nicknames_and_pictures() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let mut bob = server.register("bob");
    alice.expect("user_join");
    alice.expect("user_connect");
    bob.send(json!({"cmd": "nickname_update", "nickname": " Bobby "}));
    let update = json!({"cmd": "nickname_update", "user": "USR:local_bob", "username": "USR:local_bob", "nickname": "Bobby"});
    assert_eq!(alice.recv(), update);
    assert_eq!(bob.recv(), update);
    assert_eq!(
        bob.request(json!({"cmd": "nickname_update", "nickname": "x".repeat(21)})),
        err("nickname_update", "Nickname too long (max 20 characters)")
    );
    bob.send(json!({"cmd": "nickname_remove"}));
    assert_eq!(
        alice.recv(),
        json!({"cmd": "nickname_remove", "user": "USR:local_bob", "username": "USR:local_bob"})
    );
    bob.expect("nickname_remove");
    assert_eq!(
        bob.request(json!({"cmd": "pfp_set", "url": "https://example.org/me.png"})),
        json!({"cmd": "pfp_set", "val": "https://example.org/me.png"})
    );
    assert_eq!(
        bob.request(json!({"cmd": "pfp_set"})),
        err("pfp_set", "URL required")
    );
    assert_eq!(
        bob.request(json!({"cmd": "pfp_set", "url": "ftp://x"})),
        err("pfp_set", "Invalid URL format")
    );
    assert_eq!(
        bob.request(json!({"cmd": "pfp_set", "url": format!("https://x/{}", "a".repeat(500))})),
        err("pfp_set", "URL too long (max 500 characters)")
    );
    assert_eq!(
        alice.request(json!({"cmd": "pfp_get", "username": "usr:local_bob"})),
        json!({"cmd": "pfp_get", "val": "https://example.org/me.png", "username": "usr:local_bob"})
    );
    assert_eq!(
        alice.request(json!({"cmd": "pfp_get"})),
        err("pfp_get", "Username required")
    );
    let list = alice.request(json!({"cmd": "users_list"}));
    assert_eq!(list["users"][1]["pfp"], "https://example.org/me.png");
    assert_eq!(list["users"][1]["nickname"], Value::Null);
}

#[test]
fn server_info_and_ping() {
    let server = Server::with(json!({"server": {"name": "Club Pi", "icon": "https://x/i.png"}}));
    let mut a = server.register("alice");
    assert_eq!(
        a.request(json!({"cmd": "server_info"})),
        json!({"cmd": "server_info", "name": "Club Pi", "icon": "https://x/i.png", "banner": ""})
    );
    assert_eq!(
        a.request(json!({"cmd": "ping", "listener": "p1"})),
        json!({"cmd": "pong", "val": "pong", "listener": "p1"})
    );
}

#[test]
fn welcome_message_for_new_accounts() {
    let server = Server::with(json!({"welcome": {"enabled": true}}));
    let mut alice = server.connected();
    alice.send(json!({"cmd": "register", "username": "alice", "password": "secret123"}));
    for cmd in ["auth_success", "ready", "user_join", "user_connect"] {
        alice.expect(cmd);
    }
    let welcome = alice.expect("message_new");
    assert_eq!(welcome["channel"], "general");
    assert_eq!(welcome["message"]["user"], "originChats");
    assert_eq!(
        welcome["message"]["content"],
        "Welcome alice! Thanks for joining the server."
    );
    // It is stored: a fresh client sees it in the history (so live messages render).
    alice.send(json!({"cmd": "messages_get", "channel": "general"}));
    alice.expect("unreads_update");
    assert_eq!(
        alice.recv()["messages"][0]["content"],
        "Welcome alice! Thanks for joining the server."
    );
    // Logging in again does not welcome again.
    let mut again = server.connected();
    again.login("alice", "secret123");
    again.expect_quiet();
}
