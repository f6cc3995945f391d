//! Accounts and the rest (issue 12 items 5 and 6): `user_delete`, `role_set`,
//! `plugins_list` / `plugins_reload`, and four small differences from the original server
//! made to match it: `rate_limit_status` about someone else, the `rate_limit` answer to
//! `message_edit`, and an empty `listener`.

mod common;

use common::{Server, err, until, with_role};
use serde_json::{Value, json};

fn auth_error(text: &str) -> Value {
    json!({"cmd": "auth_error", "val": text})
}

#[test]
fn user_delete_removes_the_account_closes_it_and_frees_the_name() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut carol = server.register("carol");
    let mut bob = server.register("bob");
    let mut bob2 = server.connected();
    bob2.login("bob", "secret123");
    let token = bob2.request(json!({"cmd": "session_token_create"}))["token"]
        .as_str()
        .unwrap()
        .to_string();
    for c in [&mut owner, &mut carol, &mut bob, &mut bob2] {
        c.sync();
    }
    assert_eq!(
        bob.request(json!({"cmd": "user_delete", "user": "USR:local_carol"})),
        err("user_delete", "Access denied: 'owner' role required")
    );
    for (fields, text) in [
        (json!({}), "User parameter is required"),
        (json!({"user": ""}), "User parameter is required"),
        (json!({"user": "nobody"}), "User not found"),
        (
            json!({"user": "USR:local_alice"}),
            "Cannot delete the last owner",
        ),
    ] {
        let mut req = fields.clone();
        req["cmd"] = json!("user_delete");
        assert_eq!(owner.request(req), err("user_delete", text), "{fields}");
    }

    owner.send(json!({"cmd": "user_delete", "user": "usr:local_bob", "listener": "del"}));
    let gone = json!({"cmd": "user_leave", "username": "USR:local_bob"});
    assert_eq!(owner.recv(), gone);
    assert_eq!(
        owner.recv(),
        json!({"cmd": "user_delete", "user": "USR:local_bob", "deleted": true, "listener": "del"})
    );
    assert_eq!(carol.recv(), gone);
    for c in [&mut bob, &mut bob2] {
        assert_eq!(c.recv(), gone);
        assert_eq!(c.expect_close(), Some(1000));
    }
    // Nobody else hears of it twice, and the list no longer has bob.
    let names: Vec<Value> = owner.request(json!({"cmd": "users_list"}))["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    assert_eq!(names, [json!("USR:local_alice"), json!("USR:local_carol")]);
    assert_eq!(
        owner.request(json!({"cmd": "user_delete", "user": "USR:local_bob"})),
        err("user_delete", "User not found")
    );

    let mut c = server.connected();
    assert_eq!(
        c.request(json!({"cmd": "login", "username": "bob", "password": "secret123"})),
        auth_error("User not found")
    );
    let mut t = server.connected();
    assert_eq!(
        t.request(json!({"cmd": "token_login", "token": token})),
        auth_error("Invalid or expired session token")
    );
    // The name is free again, for a new account with nothing of the old one.
    let ready = c.register("bob", "other123");
    assert_eq!(ready["user"]["roles"], json!(["user"]));
}

#[test]
fn an_owner_may_delete_another_owner_but_not_the_last() {
    let server = Server::start();
    let mut alice = with_role(&server, "alice", "owner");
    let mut dave = with_role(&server, "dave", "owner");
    alice.sync();
    dave.sync();
    dave.send(json!({"cmd": "user_delete", "user": "USR:local_alice"}));
    assert_eq!(
        until(&mut dave, "user_delete"),
        json!({"cmd": "user_delete", "user": "USR:local_alice", "deleted": true})
    );
    assert_eq!(alice.expect_close(), Some(1000));
    assert_eq!(
        dave.request(json!({"cmd": "user_delete", "user": "USR:local_dave"})),
        err("user_delete", "Cannot delete the last owner")
    );
}

#[test]
fn role_set_replaces_the_whole_role_with_role_update_checks() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    owner.sync();
    owner.send(json!({"cmd": "role_create", "name": "helper", "color": "#00AA00", "description": "helps", "permissions": ["manage_messages"], "hoisted": true}));
    owner.expect("roles_list");
    let id = owner.expect("role_create")["id"]
        .as_str()
        .unwrap()
        .to_string();
    bob.expect("roles_list");
    assert_eq!(
        bob.request(json!({"cmd": "role_set", "name": "helper", "data": {"color": "#FF0000"}})),
        err(
            "role_set",
            "Access denied: 'manage_roles' permission required"
        )
    );
    for (fields, text) in [
        (
            json!({"data": {"color": "#FF0000"}}),
            "Role id or name is required",
        ),
        (json!({"name": "helper"}), "Role data is required"),
        (
            json!({"name": "helper", "data": {}}),
            "Role data is required",
        ),
        (
            json!({"name": "helper", "data": "red"}),
            "Role data is required",
        ),
        (
            json!({"name": "ghost", "data": {"color": "#FF0000"}}),
            "Role not found",
        ),
        (
            json!({"name": "helper", "data": {"color": 5}}),
            "color must be a string or null",
        ),
        (
            json!({"name": "helper", "data": {"permissions": "all"}}),
            "Permissions must be an array of permission names",
        ),
        (
            json!({"name": "helper", "data": {"position": 0}}),
            "A role's position is changed with role_reorder",
        ),
        (
            json!({"name": "moderator", "data": {"self_assignable": true}}),
            "Role 'moderator' cannot be made self-assignable",
        ),
        (
            json!({"name": "helper", "data": {"name": "admin"}}),
            "Role already exists",
        ),
        (
            json!({"name": "user", "data": {"name": "member"}}),
            "Cannot rename role: it is used in channel 'general' permissions",
        ),
    ] {
        let mut req = fields.clone();
        req["cmd"] = json!("role_set");
        assert_eq!(owner.request(req), err("role_set", text), "{fields}");
    }
    owner.request(
        json!({"cmd": "user_roles_set", "user": "USR:local_bob", "roles": ["user", "helper"]}),
    );
    owner.sync();
    bob.sync();

    // By id, renamed: what `data` leaves out is gone; the id and position stay.
    owner.send(json!({"cmd": "role_set", "id": id, "data": {"name": "helpers", "permissions": ["send_messages"], "position": 4}, "listener": "rs"}));
    let expected = json!({"id": id, "description": null, "color": null, "hoisted": false,
        "permissions": ["send_messages"], "self_assignable": false, "category": null, "position": 4});
    let list = owner.expect("roles_list");
    assert_eq!(list["roles"]["helpers"], expected);
    assert!(list["roles"].get("helper").is_none(), "{list}");
    assert_eq!(
        owner.recv(),
        json!({"cmd": "role_set", "id": id, "name": "helpers", "updated": true, "listener": "rs"})
    );
    assert_eq!(bob.expect("roles_list")["roles"]["helpers"], expected);
    // Its holders hold it under the new name.
    bob.send(json!({"cmd": "user_roles_get", "user": "USR:local_bob"}));
    assert_eq!(
        until(&mut bob, "user_roles_get")["roles"],
        json!(["user", "helpers"])
    );
}

#[test]
fn role_set_keeps_the_hierarchy() {
    let server = Server::start();
    let mut admin = with_role(&server, "ada", "admin");
    admin.sync();
    let moderator = admin.request(json!({"cmd": "roles_list"}))["roles"]["moderator"]["id"].clone();
    assert!(moderator.is_string(), "{moderator}");
    assert_eq!(
        admin.request(json!({"cmd": "role_set", "name": "owner", "data": {"permissions": []}})),
        err("role_set", "Cannot manage roles at or above your position")
    );
    assert_eq!(
        admin.request(json!({"cmd": "role_set", "name": "admin", "data": {"color": "#123456"}})),
        err("role_set", "Cannot manage roles at or above your position")
    );
    admin.send(json!({"cmd": "role_set", "name": "moderator", "data": {"color": "#123456", "permissions": ["manage_messages"]}}));
    assert_eq!(
        admin.expect("roles_list")["roles"]["moderator"]["color"],
        "#123456"
    );
    assert_eq!(
        admin.recv(),
        json!({"cmd": "role_set", "id": moderator, "name": "moderator", "updated": true})
    );
}

#[test]
fn plugins_are_answered_honestly_and_only_to_the_owner() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut admin = with_role(&server, "ada", "admin");
    owner.sync();
    admin.sync();
    for cmd in ["plugins_list", "plugins_reload"] {
        assert_eq!(
            admin.request(json!({"cmd": cmd})),
            err(cmd, "Access denied: 'owner' role required")
        );
    }
    assert_eq!(
        owner.request(json!({"cmd": "plugins_list", "listener": "pl"})),
        json!({"cmd": "plugins_list", "plugins": {}, "listener": "pl"})
    );
    assert_eq!(
        owner.request(json!({"cmd": "plugins_reload"})),
        json!({"cmd": "plugins_reload", "val": "This server has no plugins: nothing was reloaded"})
    );
    assert_eq!(
        owner.request(json!({"cmd": "plugins_reload", "plugin": "welcome"})),
        err(
            "plugins_reload",
            "Failed to reload plugin 'welcome': this server has no plugins"
        )
    );
}

#[test]
fn rate_limit_status_of_others_is_for_owners_only() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    owner.sync();
    bob.sync();
    let denied = err(
        "rate_limit_status",
        "Access denied: can only check your own rate limit status",
    );
    // Whether the other user exists or not, as the original.
    for user in ["USR:local_alice", "nobody"] {
        assert_eq!(
            bob.request(json!({"cmd": "rate_limit_status", "user": user})),
            denied,
            "{user}"
        );
    }
    for user in ["usr:local_bob", "USR:local_bob"] {
        assert_eq!(
            bob.request(json!({"cmd": "rate_limit_status", "user": user}))["user"],
            "USR:local_bob",
            "{user}"
        );
    }
    assert_eq!(
        owner.request(json!({"cmd": "rate_limit_status", "user": "USR:local_bob"}))["user"],
        "USR:local_bob"
    );
    assert_eq!(
        owner.request(json!({"cmd": "rate_limit_status", "user": "nobody"})),
        err("rate_limit_status", "User not found")
    );
}

#[test]
fn an_edit_refused_by_the_rate_limiter_carries_no_reason() {
    let server = Server::with(json!({"rate_limiting": {"burst_limit": 1, "cooldown_seconds": 30}}));
    let mut a = server.register("alice");
    assert_eq!(
        a.request(json!({"cmd": "message_new", "channel": "general", "content": "one"}))["cmd"],
        "message_new"
    );
    let r = a.request(
        json!({"cmd": "message_edit", "channel": "general", "id": "x", "content": "y", "listener": "e"}),
    );
    let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["cmd", "length", "listener"], "{r}");
    assert_eq!(
        (&r["cmd"], &r["listener"]),
        (&json!("rate_limit"), &json!("e"))
    );
    assert!(r["length"].as_u64().unwrap() > 29_000, "{r}");
    // Other commands' keep theirs.
    let r = a.request(json!({"cmd": "message_new", "channel": "general", "content": "two"}));
    assert_eq!(r["cmd"], "rate_limit");
    assert!(r["reason"].is_string(), "{r}");
}

#[test]
fn an_empty_listener_is_not_echoed() {
    let server = Server::start();
    let mut a = server.register("alice");
    assert_eq!(
        a.request(json!({"cmd": "ping", "listener": ""})),
        json!({"cmd": "pong", "val": "pong"})
    );
    // Also on a frame the fast decoder leaves to the slow one (an escaped string).
    a.send_text(r#"{"cmd":"p\u0069ng","listener":""}"#);
    assert_eq!(a.recv(), json!({"cmd": "pong", "val": "pong"}));
    assert_eq!(
        a.request(json!({"cmd": "no_such_command", "listener": ""})),
        err("no_such_command", "Unknown command: no_such_command")
    );
    assert_eq!(
        a.request(json!({"cmd": "ping", "listener": "L"})),
        json!({"cmd": "pong", "val": "pong", "listener": "L"})
    );
}
