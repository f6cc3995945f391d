//! Moderation (§8.11) and server settings (§8.12): bans disconnect live sessions,
//! timeouts reach every connection, accounts can leave, server_update is live and persists.

mod common;

use common::{Server, err, until, with_role};
use serde_json::{Value, json};

#[test]
fn ban_disconnects_every_connection_and_unban_lets_back_in() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    let mut bob2 = server.connected();
    bob2.login("bob", "secret123");
    owner.sync();
    assert_eq!(
        bob.request(json!({"cmd": "user_ban", "user": "USR:local_alice"})),
        err("user_ban", "Access denied: 'owner' role required")
    );
    assert_eq!(
        owner.request(json!({"cmd": "user_ban"})),
        err("user_ban", "User parameter is required")
    );
    owner.send(json!({"cmd": "user_ban", "user": "usr:local_bob", "listener": "ub"}));
    for c in [&mut bob, &mut bob2] {
        assert_eq!(
            c.recv(),
            json!({"cmd": "disconnect", "reason": "You have been banned"})
        );
        assert_eq!(c.expect_close(), Some(1008));
    }
    assert_eq!(
        until(&mut owner, "user_ban"),
        json!({"cmd": "user_ban", "user": "USR:local_bob", "banned": true, "listener": "ub"})
    );
    assert_eq!(
        until(&mut owner, "user_disconnect")["username"],
        "USR:local_bob"
    );
    assert_eq!(
        owner.request(json!({"cmd": "user_ban", "user": "USR:local_bob"})),
        json!({"cmd": "user_ban", "user": "USR:local_bob", "banned": false})
    );
    assert_eq!(
        owner.request(json!({"cmd": "user_ban", "user": "nobody"})),
        json!({"cmd": "user_ban", "user": "nobody", "banned": false})
    );
    assert_eq!(
        owner.request(json!({"cmd": "users_banned_list"})),
        json!({"cmd": "users_banned_list", "users": ["USR:local_bob"]})
    );
    let names: Vec<Value> = owner.request(json!({"cmd": "users_list"}))["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    assert_eq!(names, [json!("USR:local_alice")]);
    let mut again = server.connected();
    assert_eq!(
        again.request(json!({"cmd": "login", "username": "bob", "password": "secret123"})),
        json!({"cmd": "auth_error", "val": "Access denied: You are banned from this server"})
    );
    assert_eq!(
        owner.request(json!({"cmd": "user_unban", "user": "USR:local_bob"})),
        json!({"cmd": "user_unban", "user": "USR:local_bob", "unbanned": true})
    );
    again.login("bob", "secret123");
}

#[test]
fn timeout_reaches_every_connection_and_reset_clears_it() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    let mut bob2 = server.connected();
    bob2.login("bob", "secret123");
    owner.sync();
    bob.sync();
    assert_eq!(
        owner.request(json!({"cmd": "user_timeout", "user": "USR:local_bob", "timeout": 0})),
        err("user_timeout", "Timeout must be a positive integer")
    );
    assert_eq!(
        owner.request(json!({"cmd": "user_timeout", "user": "USR:local_bob", "timeout": "5"})),
        err("user_timeout", "Timeout must be a positive integer")
    );
    assert_eq!(
        owner.request(json!({"cmd": "user_timeout", "timeout": 5})),
        err("user_timeout", "User parameter is required")
    );
    assert_eq!(
        owner.request(json!({"cmd": "user_timeout", "user": "USR:local_bob", "timeout": 60})),
        json!({"cmd": "user_timeout", "user": "USR:local_bob", "timeout": 60})
    );
    let notice = json!({"cmd": "rate_limit", "reason": "User timeout set", "length": 60000});
    assert_eq!(bob.recv(), notice);
    assert_eq!(bob2.recv(), notice);
    let r = bob.request(json!({"cmd": "message_new", "channel": "general", "content": "hi"}));
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .starts_with("You are in timeout for "),
        "{r}"
    );
    assert_eq!(
        bob.request(json!({"cmd": "rate_limit_reset", "user": "USR:local_bob"})),
        err(
            "rate_limit_reset",
            "Access denied: 'manage_server' permission required"
        )
    );
    assert_eq!(
        owner.request(json!({"cmd": "rate_limit_reset", "user": "USR:local_bob"})),
        json!({"cmd": "rate_limit_reset", "user": "USR:local_bob", "val": "Rate limit reset for user USR:local_bob"})
    );
    assert_eq!(
        bob.request(json!({"cmd": "message_new", "channel": "general", "content": "free again"}))["cmd"],
        "message_new"
    );
}

#[test]
fn user_leave_deletes_the_account_and_closes() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let mut dave = server.register("dave");
    alice.sync();
    dave.send(json!({"cmd": "user_leave", "listener": "bye"}));
    assert_eq!(
        dave.recv(),
        json!({"cmd": "user_leave", "username": "USR:local_dave"})
    );
    assert_eq!(
        dave.recv(),
        json!({"cmd": "user_leave", "user": "USR:local_dave", "val": "User left server", "listener": "bye"})
    );
    assert_eq!(dave.expect_close(), Some(1000));
    assert_eq!(
        alice.recv(),
        json!({"cmd": "user_leave", "username": "USR:local_dave"})
    );
    let mut c = server.connected();
    assert_eq!(
        c.request(json!({"cmd": "login", "username": "dave", "password": "secret123"})),
        json!({"cmd": "auth_error", "val": "User not found"})
    );
    c.register("dave", "other123");
}

#[test]
fn server_update_is_live_and_persists() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    owner.sync();
    assert_eq!(
        bob.request(json!({"cmd": "server_update", "name": "x"})),
        err(
            "server_update",
            "Access denied: 'manage_server' permission required"
        )
    );
    assert_eq!(
        owner.request(json!({"cmd": "server_update"})),
        err("server_update", "No updates provided")
    );
    assert_eq!(
        owner.request(json!({"cmd": "server_update", "name": 5})),
        err("server_update", "Name must be a string or null")
    );
    owner.send(json!({"cmd": "server_update", "name": "Club Pi", "icon": "https://x/i.png"}));
    let update =
        json!({"cmd": "server_update", "name": "Club Pi", "icon": "https://x/i.png", "banner": ""});
    assert_eq!(owner.recv(), update);
    assert_eq!(
        owner.recv(),
        update,
        "the sender gets the broadcast and the reply"
    );
    assert_eq!(bob.recv(), update);
    assert_eq!(
        bob.request(json!({"cmd": "server_info"})),
        json!({"cmd": "server_info", "name": "Club Pi", "icon": "https://x/i.png", "banner": ""})
    );
    assert_eq!(
        server.client().expect("handshake")["val"]["server"]["name"],
        "Club Pi"
    );
    let (_, info) = server.http("GET /info HTTP/1.1\r\n\r\n");
    assert!(info.contains("\"name\": \"Club Pi\""), "{info}");
    drop((owner, bob));
    let server = server.restart();
    let h = server.client().expect("handshake");
    assert_eq!(
        h["val"]["server"],
        json!({"name": "Club Pi", "owner": {"name": "Admin"}, "icon": "https://x/i.png"})
    );
}

#[test]
fn user_update_sets_nicknames_for_staff() {
    let server = Server::start();
    let mut admin = with_role(&server, "ada", "admin");
    let mut bob = server.register("bob");
    admin.sync();
    assert_eq!(
        bob.request(
            json!({"cmd": "user_update", "user": "USR:local_ada", "updates": {"nickname": "x"}})
        ),
        err(
            "user_update",
            "Access denied: 'manage_users' permission required"
        )
    );
    admin.send(
        json!({"cmd": "user_update", "user": "usr:local_bob", "updates": {"nickname": "Robert"}}),
    );
    let event = json!({"cmd": "user_updated", "user_id": "USR:local_bob", "username": "USR:local_bob", "nickname": "Robert"});
    assert_eq!(bob.recv(), event);
    assert_eq!(admin.recv(), event);
    assert_eq!(
        admin.recv(),
        json!({"cmd": "user_update", "user": "USR:local_bob", "nickname": "Robert"})
    );
    for (updates, text) in [
        (json!({"roles": ["owner"]}), "Cannot update field: roles"),
        (json!({"nickname": 5}), "Nickname must be a string or null"),
        (
            json!({"username": "  "}),
            "Username must be a non-empty string",
        ),
        (
            json!({"username": "robert"}),
            "Local accounts keep their login name; set a nickname instead",
        ),
        (json!({}), "Updates must be an object"),
    ] {
        assert_eq!(
            admin.request(
                json!({"cmd": "user_update", "user": "USR:local_bob", "updates": updates})
            ),
            err("user_update", text)
        );
    }
    let _owner = with_role(&server, "olga", "owner");
    admin.sync();
    assert_eq!(
        admin.request(
            json!({"cmd": "user_update", "user": "USR:local_olga", "updates": {"nickname": "boss"}})
        ),
        err(
            "user_update",
            "Cannot manage users at or above your position"
        )
    );
    admin.send(
        json!({"cmd": "user_update", "user": "USR:local_bob", "updates": {"nickname": null}}),
    );
    assert_eq!(until(&mut admin, "user_update")["nickname"], Value::Null);
}
