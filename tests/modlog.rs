//! The audit log (docs/protocol.md §8.20): every moderation and management action writes
//! an entry in its own transaction, `modlog_get` pages and filters them as the original's
//! docs describe, `modlog_summary` counts them, and only holders of `view_audit_log` or
//! `manage_users` read them. Seen by real WebSocket clients, with the exact packets.

mod common;

use common::{Client, Server, err, import, test_config, until, with_role};
use serde_json::{Value, json};

const ALICE: &str = "USR:local_alice";
const BOB: &str = "USR:local_bob";
const DENIED: &str = "Access denied: 'view_audit_log' or 'manage_users' permission required";

/// Sends `packet` and returns the reply to it, skipping broadcast events.
fn reply(c: &mut Client, packet: Value) -> Value {
    let cmd = packet["cmd"].as_str().unwrap().to_string();
    c.send(packet);
    loop {
        let p = c.recv();
        if p["cmd"] == cmd.as_str() || p["cmd"] == "error" {
            return p;
        }
    }
}

/// `modlog_get` with these fields.
fn get(c: &mut Client, fields: Value) -> Value {
    let mut packet = fields;
    packet["cmd"] = json!("modlog_get");
    let r = reply(c, packet);
    assert_eq!(r["cmd"], "modlog_get", "{r}");
    r
}

/// An entry without its id and timestamp, after checking them: the id is
/// `<milliseconds>-<actor id>` of the timestamp, which is now-ish.
fn checked(entry: &Value) -> Value {
    let mut e = entry.clone();
    let obj = e.as_object_mut().unwrap();
    let id = obj.remove("id").unwrap();
    let timestamp = obj.remove("timestamp").unwrap().as_f64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(timestamp <= now + 1.0 && timestamp > now - 120.0, "{entry}");
    let (ms, actor) = id.as_str().unwrap().split_once('-').unwrap();
    assert_eq!(actor, obj["actor_id"].as_str().unwrap(), "{entry}");
    assert_eq!(ms.parse::<u64>().unwrap(), (timestamp * 1000.0) as u64);
    e
}

/// The newest entry, checked and without id and timestamp.
fn newest(c: &mut Client) -> Value {
    let r = get(c, json!({"limit": 1}));
    checked(&r["entries"][0])
}

/// How many entries there are.
fn total(c: &mut Client) -> u64 {
    get(c, json!({"limit": 1}))["total"].as_u64().unwrap()
}

fn entry(action: &str, category: &str, target: (Value, Value), details: Value) -> Value {
    json!({"action": action, "category": category, "actor_id": ALICE, "actor_name": ALICE,
           "target_id": target.0, "target_name": target.1, "details": details})
}

fn bob_target() -> (Value, Value) {
    (json!(BOB), json!(BOB))
}

/// `user_roles_set` of bob (answered with a `user_roles_get` to everyone).
fn set_roles(alice: &mut Client, roles: &[&str]) {
    alice.send(json!({"cmd": "user_roles_set", "user": BOB, "roles": roles}));
    let r = until(alice, "user_roles_get");
    assert_eq!(r["roles"], json!(roles), "{r}");
}

fn post(c: &mut Client, content: &str) -> String {
    c.send(json!({"cmd": "message_new", "channel": "general", "content": content}));
    loop {
        let p = until(c, "message_new");
        if p["message"]["content"] == content {
            return p["message"]["id"].as_str().unwrap().to_string();
        }
    }
}

#[test]
fn each_action_writes_an_entry_with_its_fields() {
    let server = Server::start();
    let mut alice = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    // The only entry so far: with_role's `admin grant-role`.
    let first = get(&mut alice, json!({}));
    assert_eq!(first["entries"][0]["actor_id"], "admin-cli", "{first}");
    assert_eq!(
        first,
        json!({"cmd": "modlog_get", "entries": [first["entries"][0]], "total": 1, "offset": 0, "limit": 100})
    );

    let r = reply(
        &mut alice,
        json!({"cmd": "role_create", "name": "helper", "color": "#00ff00"}),
    );
    let role_id = r["id"].clone();
    assert_eq!(
        newest(&mut alice),
        entry(
            "role_create",
            "role_management",
            (role_id.clone(), json!("helper")),
            json!({"color": "#00ff00", "permissions": []})
        )
    );
    set_roles(&mut alice, &["user", "helper"]);
    assert_eq!(
        newest(&mut alice),
        entry(
            "user_roles_set",
            "user_moderation",
            bob_target(),
            json!({"roles": ["user", "helper"]})
        )
    );
    reply(&mut alice, json!({"cmd": "role_delete", "name": "helper"}));
    assert_eq!(
        newest(&mut alice),
        entry(
            "role_delete",
            "role_management",
            (role_id, json!("helper")),
            json!({})
        )
    );

    reply(
        &mut alice,
        json!({"cmd": "channel_create", "name": "news", "type": "text"}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "channel_create",
            "channel_management",
            (json!("news"), json!("news")),
            json!({"type": "text"})
        )
    );
    reply(
        &mut alice,
        json!({"cmd": "channel_update", "current_name": "news", "updates": {"name": "announcements"}}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "channel_update",
            "channel_management",
            (json!("news"), json!("announcements")),
            json!({"name": "announcements"})
        )
    );
    reply(
        &mut alice,
        json!({"cmd": "channel_move", "name": "announcements", "position": 0}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "channel_move",
            "channel_management",
            (json!("announcements"), json!("announcements")),
            json!({"position": 0})
        )
    );
    reply(
        &mut alice,
        json!({"cmd": "channel_delete", "name": "announcements"}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "channel_delete",
            "channel_management",
            (json!("announcements"), json!("announcements")),
            json!({})
        )
    );

    // Bob deleting his own message is not moderation: no entry.
    let before = total(&mut alice);
    let own = post(&mut bob, "oops");
    let r = reply(
        &mut bob,
        json!({"cmd": "message_delete", "channel": "general", "id": own}),
    );
    assert_eq!(r["cmd"], "message_delete", "{r}");
    assert_eq!(total(&mut alice), before);
    // A moderator deleting it is.
    let his = post(&mut bob, "spam");
    let mut carol = with_role(&server, "carol", "moderator");
    let r = reply(
        &mut carol,
        json!({"cmd": "message_delete", "channel": "general", "id": his}),
    );
    assert_eq!(r["cmd"], "message_delete", "{r}");
    let mut by_carol = entry(
        "message_delete",
        "message_moderation",
        (json!(his), Value::Null),
        json!({"channel": "general", "author_id": BOB}),
    );
    by_carol["actor_id"] = json!("USR:local_carol");
    by_carol["actor_name"] = json!("USR:local_carol");
    assert_eq!(newest(&mut alice), by_carol);
    let kept = post(&mut bob, "pin me");
    reply(
        &mut alice,
        json!({"cmd": "message_pin", "channel": "general", "id": kept}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "message_pin",
            "message_moderation",
            (json!(kept), Value::Null),
            json!({"channel": "general"})
        )
    );

    let r = reply(
        &mut alice,
        json!({"cmd": "webhook_create", "channel": "general", "name": "CI"}),
    );
    let hook = r["webhook"]["id"].clone();
    let token = r["webhook"]["token"].as_str().unwrap().to_string();
    assert_eq!(
        newest(&mut alice),
        entry(
            "webhook_create",
            "server_management",
            (hook.clone(), json!("CI")),
            json!({"channel": "general"})
        )
    );
    reply(&mut alice, json!({"cmd": "webhook_regenerate", "id": hook}));
    assert_eq!(
        newest(&mut alice),
        entry(
            "webhook_regenerate",
            "server_management",
            (hook.clone(), json!("CI")),
            json!({})
        )
    );
    reply(
        &mut alice,
        json!({"cmd": "webhook_update", "id": hook, "name": "Deploys"}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "webhook_update",
            "server_management",
            (hook.clone(), json!("Deploys")),
            json!({"name": "Deploys"})
        )
    );
    reply(&mut alice, json!({"cmd": "webhook_delete", "id": hook}));
    assert_eq!(
        newest(&mut alice),
        entry(
            "webhook_delete",
            "server_management",
            (hook, json!("Deploys")),
            json!({})
        )
    );

    reply(&mut alice, json!({"cmd": "server_update", "name": "Club"}));
    assert_eq!(
        newest(&mut alice),
        entry(
            "server_update",
            "server_management",
            (Value::Null, Value::Null),
            json!({"name": "Club"})
        )
    );

    // Last: a timed-out bob could not post any more.
    reply(
        &mut alice,
        json!({"cmd": "user_timeout", "user": BOB, "timeout": 30}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "user_timeout",
            "user_moderation",
            bob_target(),
            json!({"timeout": 30})
        )
    );

    reply(&mut alice, json!({"cmd": "user_ban", "user": BOB}));
    assert_eq!(
        newest(&mut alice),
        entry("user_ban", "user_moderation", bob_target(), json!({}))
    );
    reply(&mut alice, json!({"cmd": "user_unban", "user": BOB}));
    assert_eq!(
        newest(&mut alice),
        entry("user_unban", "user_moderation", bob_target(), json!({}))
    );

    // Nothing secret anywhere in the log: no token, no password hash.
    let all = get(&mut alice, json!({"limit": 200})).to_string();
    assert!(!all.contains(&token), "a webhook token in the log");
    assert!(!all.contains("$2"), "a bcrypt hash in the log");
    // The 17 actions above, and with_role's two grants.
    assert_eq!(total(&mut alice), 19);
}

#[test]
fn emojis_roles_users_slash_and_the_rest() {
    use base64::Engine;
    let server = Server::start();
    let mut alice = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    let data_url = format!(
        "data:image/gif;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(common::gif(2000))
    );
    alice.send(json!({"cmd": "emoji_add", "name": "wave", "image": data_url}));
    let emoji = until(&mut alice, "emoji_add")["id"].clone();
    assert_eq!(
        newest(&mut alice),
        entry(
            "emoji_add",
            "server_management",
            (emoji.clone(), json!("wave")),
            json!({})
        )
    );
    alice.send(json!({"cmd": "emoji_update", "emoji_id": emoji, "name": "hello"}));
    until(&mut alice, "emoji_update");
    assert_eq!(
        newest(&mut alice),
        entry(
            "emoji_update",
            "server_management",
            (emoji.clone(), json!("hello")),
            json!({"name": "hello"})
        )
    );
    alice.send(json!({"cmd": "emoji_delete", "emoji_id": emoji}));
    until(&mut alice, "emoji_delete");
    assert_eq!(
        newest(&mut alice),
        entry(
            "emoji_delete",
            "server_management",
            (emoji, json!("hello")),
            json!({})
        )
    );

    let r = reply(
        &mut alice,
        json!({"cmd": "role_create", "name": "gamer", "self_assignable": true}),
    );
    let gamer = r["id"].clone();
    reply(
        &mut alice,
        json!({"cmd": "role_update", "name": "gamer", "color": "#123456"}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "role_update",
            "role_management",
            (gamer.clone(), json!("gamer")),
            json!({"color": "#123456", "permissions": []})
        )
    );
    reply(
        &mut alice,
        json!({"cmd": "role_permissions_set", "name": "gamer", "permissions": ["react"]}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "role_permissions_set",
            "role_management",
            (gamer.clone(), json!("gamer")),
            json!({"permissions": ["react"]})
        )
    );
    reply(
        &mut alice,
        json!({"cmd": "role_set", "name": "gamer", "data": {"name": "players", "self_assignable": true}}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "role_update",
            "role_management",
            (gamer, json!("players")),
            json!({"name": "players", "self_assignable": true})
        )
    );
    let order = json!(["owner", "admin", "players", "moderator", "user"]);
    let r = reply(&mut alice, json!({"cmd": "role_reorder", "roles": order}));
    assert_eq!(r["cmd"], "role_reorder", "{r}");
    assert_eq!(
        newest(&mut alice),
        entry(
            "role_reorder",
            "role_management",
            (Value::Null, Value::Null),
            json!({"roles": order})
        )
    );
    let r = reply(&mut bob, json!({"cmd": "self_role_add", "role": "players"}));
    assert_eq!(r["cmd"], "self_role_add", "{r}");
    let mut own = entry(
        "self_role_add",
        "role_management",
        bob_target(),
        json!({"role": "players"}),
    );
    own["actor_id"] = json!(BOB);
    own["actor_name"] = json!(BOB);
    assert_eq!(newest(&mut alice), own);

    reply(
        &mut alice,
        json!({"cmd": "user_update", "user": BOB, "updates": {"nickname": "Bobby"}}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "user_update",
            "user_moderation",
            bob_target(),
            json!({"nickname": "Bobby"})
        )
    );

    // The slash commands' moderation goes into the log too.
    let slash = |c: &mut Client, command: &str, args: Value| {
        c.send(
            json!({"cmd": "slash_call", "channel": "general", "command": command, "args": args}),
        );
        let p = until(c, "message_new");
        assert_eq!(p["message"]["interaction"]["command"], command, "{p}");
    };
    slash(
        &mut alice,
        "mute",
        json!({"username": BOB, "duration": 60, "reason": "calm down"}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "user_timeout",
            "user_moderation",
            bob_target(),
            json!({"timeout": 60, "reason": "calm down"})
        )
    );
    slash(
        &mut alice,
        "ban",
        json!({"username": BOB, "reason": "spam"}),
    );
    assert_eq!(
        newest(&mut alice),
        entry(
            "user_ban",
            "user_moderation",
            bob_target(),
            json!({"reason": "spam"})
        )
    );

    let r = reply(&mut alice, json!({"cmd": "user_delete", "user": BOB}));
    assert_eq!(
        r,
        json!({"cmd": "user_delete", "user": BOB, "deleted": true})
    );
    assert_eq!(
        newest(&mut alice),
        entry("user_delete", "user_moderation", bob_target(), json!({}))
    );
    // Leaving on one's own is not moderation.
    let before = total(&mut alice);
    let mut dave = server.register("dave");
    let r = reply(&mut dave, json!({"cmd": "user_leave"}));
    assert_eq!(r["cmd"], "user_leave", "{r}");
    assert_eq!(total(&mut alice), before);

    // The command line's other actions.
    let out = server.admin_with_input(&["set-password", "alice"], "a new secret\n");
    assert!(out.status.success(), "{out:?}");
    let out = server.admin(&["delete-channel", "general", "--yes"]);
    assert!(out.status.success(), "{out:?}");
    let page = get(&mut alice, json!({"actor": "admin-cli", "limit": 2}));
    let shown: Vec<Value> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(checked)
        .collect();
    assert_eq!(
        shown,
        [
            json!({"action": "channel_delete", "category": "channel_management",
                   "actor_id": "admin-cli", "actor_name": "admin-cli", "target_id": "general",
                   "target_name": "general", "details": {}}),
            json!({"action": "user_update", "category": "user_moderation",
                   "actor_id": "admin-cli", "actor_name": "admin-cli", "target_id": ALICE,
                   "target_name": ALICE, "details": {"password": "changed"}}),
        ]
    );
}

/// Makes six entries: three channels, two roles, one ban of bob; returns the timestamp of
/// the third.
fn six_entries(alice: &mut Client) -> f64 {
    for name in ["c1", "c2", "c3"] {
        reply(
            alice,
            json!({"cmd": "channel_create", "name": name, "type": "text"}),
        );
    }
    let third = get(alice, json!({"limit": 1}))["entries"][0]["timestamp"]
        .as_f64()
        .unwrap();
    for name in ["r1", "r2"] {
        reply(alice, json!({"cmd": "role_create", "name": name}));
    }
    reply(alice, json!({"cmd": "user_ban", "user": BOB}));
    third
}

fn actions(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let target = e["target_name"].as_str().unwrap_or("-");
            format!("{}:{target}", e["action"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn paging_and_filters() {
    let server = Server::start();
    let mut alice = with_role(&server, "alice", "owner");
    server.close(server.register("bob"));
    let third = six_entries(&mut alice);

    let all = get(&mut alice, json!({}));
    assert_eq!(
        actions(&all),
        [
            "user_ban:USR:local_bob",
            "role_create:r2",
            "role_create:r1",
            "channel_create:c3",
            "channel_create:c2",
            "channel_create:c1",
            "user_roles_set:USR:local_alice"
        ]
    );
    let page = get(&mut alice, json!({"limit": 2, "offset": 1}));
    assert_eq!(actions(&page), ["role_create:r2", "role_create:r1"]);
    assert_eq!(
        (&page["total"], &page["offset"], &page["limit"]),
        (&json!(7), &json!(1), &json!(2))
    );
    let past = get(&mut alice, json!({"offset": 7}));
    assert_eq!(
        (past["entries"].clone(), past["total"].clone()),
        (json!([]), json!(7))
    );

    let after = get(&mut alice, json!({"after": third}));
    assert_eq!(
        actions(&after),
        ["user_ban:USR:local_bob", "role_create:r2", "role_create:r1"]
    );
    assert_eq!(after["total"], 3);
    // The original also takes the timestamp as a string.
    let after_text = get(&mut alice, json!({"after": third.to_string()}));
    assert_eq!(actions(&after_text), actions(&after));

    let by_category = get(
        &mut alice,
        json!({"category": "channel_management", "limit": 2}),
    );
    assert_eq!(
        actions(&by_category),
        ["channel_create:c3", "channel_create:c2"]
    );
    assert_eq!(by_category["total"], 3);
    let by_action = get(&mut alice, json!({"action": "role_create"}));
    assert_eq!(actions(&by_action), ["role_create:r2", "role_create:r1"]);
    let by_target = get(&mut alice, json!({"target": BOB}));
    assert_eq!(actions(&by_target), ["user_ban:USR:local_bob"]);
    let by_actor = get(&mut alice, json!({"actor": ALICE}));
    assert_eq!(by_actor["total"], 6);
    let nobody = get(&mut alice, json!({"actor": BOB}));
    assert_eq!(
        (nobody["entries"].clone(), nobody["total"].clone()),
        (json!([]), json!(0))
    );
    // Filters combine with AND; empty strings and nulls are no filter.
    let both = get(
        &mut alice,
        json!({"category": "channel_management", "action": "role_create", "target": "", "actor": null}),
    );
    assert_eq!(both["total"], 0);
    let both = get(
        &mut alice,
        json!({"category": "user_moderation", "target": BOB, "after": third}),
    );
    assert_eq!(actions(&both), ["user_ban:USR:local_bob"]);

    assert_eq!(
        reply(&mut alice, json!({"cmd": "modlog_summary"})),
        json!({"cmd": "modlog_summary",
               "action_counts": {"user_moderation.user_ban": 1, "role_management.role_create": 2,
                                 "channel_management.channel_create": 3,
                                 "user_moderation.user_roles_set": 1},
               "category_totals": {"user_moderation": 2, "role_management": 2,
                                   "channel_management": 3},
               "total": 7})
    );
}

#[test]
fn who_may_read_it_and_bad_inputs() {
    let server = Server::start();
    let mut alice = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    for cmd in ["modlog_get", "modlog_summary"] {
        assert_eq!(reply(&mut bob, json!({"cmd": cmd})), err(cmd, DENIED));
    }
    let mut carol = with_role(&server, "carol", "moderator");
    assert_eq!(
        reply(&mut carol, json!({"cmd": "modlog_get"})),
        err("modlog_get", DENIED)
    );
    // A role with view_audit_log reads it; so does one with manage_users.
    for (role, permission) in [("auditor", "view_audit_log"), ("staff", "manage_users")] {
        reply(
            &mut alice,
            json!({"cmd": "role_create", "name": role, "permissions": [permission]}),
        );
    }
    set_roles(&mut alice, &["user", "auditor"]);
    until(&mut bob, "user_roles_get");
    // Two grants (alice, carol), two roles, bob's roles.
    assert_eq!(get(&mut bob, json!({}))["total"], 5);
    assert_eq!(
        reply(&mut bob, json!({"cmd": "modlog_summary"}))["total"],
        5
    );
    set_roles(&mut alice, &["user", "staff"]);
    until(&mut bob, "user_roles_get");
    assert_eq!(get(&mut bob, json!({}))["total"], 6);

    for (fields, text) in [
        (json!({"limit": 0}), "Limit must be between 1 and 200"),
        (json!({"limit": 201}), "Limit must be between 1 and 200"),
        (json!({"limit": -1}), "Limit must be between 1 and 200"),
        (json!({"limit": 2.5}), "Limit must be between 1 and 200"),
        (json!({"limit": "10"}), "Limit must be between 1 and 200"),
        (
            json!({"offset": -1}),
            "Offset must be a non-negative integer",
        ),
        (
            json!({"offset": "x"}),
            "Offset must be a non-negative integer",
        ),
        (
            json!({"after": "yesterday"}),
            "After must be a valid Unix timestamp",
        ),
        (
            json!({"after": true}),
            "After must be a valid Unix timestamp",
        ),
        (json!({"category": 5}), "Category must be a string"),
        (json!({"actor": ["a"]}), "Actor must be a string"),
        (json!({"target": {}}), "Target must be a string"),
        (json!({"action": false}), "Action must be a string"),
    ] {
        let mut packet = fields.clone();
        packet["cmd"] = json!("modlog_get");
        assert_eq!(
            reply(&mut alice, packet),
            err("modlog_get", text),
            "{fields}"
        );
    }
    assert_eq!(get(&mut alice, json!({"limit": 200}))["limit"], 200);
    assert_eq!(
        get(&mut alice, json!({"limit": 1}))["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_refused_or_failed_action_writes_no_entry() {
    let server = Server::start();
    let mut alice = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    reply(&mut alice, json!({"cmd": "role_create", "name": "helper"}));
    // with_role's grant and the role.
    assert_eq!(total(&mut alice), 2);
    // Refused: permissions, unknown targets, wrong input.
    for packet in [
        json!({"cmd": "user_ban", "user": "alice"}),
        json!({"cmd": "role_create", "name": "x"}),
        json!({"cmd": "channel_create", "name": "x", "type": "text"}),
        json!({"cmd": "server_update", "name": "mine"}),
        json!({"cmd": "webhook_create", "channel": "general", "name": "x"}),
    ] {
        assert_eq!(reply(&mut bob, packet.clone())["cmd"], "error", "{packet}");
    }
    for packet in [
        json!({"cmd": "role_create", "name": "helper"}),
        json!({"cmd": "channel_delete", "name": "nope"}),
        json!({"cmd": "webhook_delete", "id": "nope"}),
        json!({"cmd": "user_timeout", "user": BOB, "timeout": -5}),
        json!({"cmd": "message_delete", "channel": "general", "id": "nope"}),
    ] {
        assert_eq!(
            reply(&mut alice, packet.clone())["cmd"],
            "error",
            "{packet}"
        );
    }
    // A moderator-only deletion refused by the channel's permissions.
    let mine = post(&mut alice, "mine");
    let r = reply(
        &mut bob,
        json!({"cmd": "message_delete", "channel": "general", "id": mine}),
    );
    assert_eq!(
        r,
        err(
            "message_delete",
            "You do not have permission to delete this message"
        )
    );
    assert_eq!(total(&mut alice), 2);

    // A store error while writing the entry undoes the action itself: with the table
    // gone, the ban fails and bob is not banned.
    let db = rusqlite::Connection::open(server.data_dir().join("originchats.sqlite3")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    db.execute_batch("ALTER TABLE modlog RENAME TO modlog_away")
        .unwrap();
    let r = reply(&mut alice, json!({"cmd": "user_ban", "user": BOB}));
    assert_eq!(r["cmd"], "error", "{r}");
    let r = reply(&mut alice, json!({"cmd": "users_banned_list"}));
    assert_eq!(r["users"], json!([]), "{r}");
    let r = reply(
        &mut alice,
        json!({"cmd": "channel_create", "name": "lost", "type": "text"}),
    );
    assert_eq!(r["cmd"], "error", "{r}");
    db.execute_batch("ALTER TABLE modlog_away RENAME TO modlog")
        .unwrap();
    server.wait_log("storage error");
    let r = reply(&mut alice, json!({"cmd": "channels_get"}));
    assert!(!r.to_string().contains("\"lost\""), "{r}");
    assert_eq!(total(&mut alice), 2);
    // And with it back, the same ban works and is logged.
    let r = reply(&mut alice, json!({"cmd": "user_ban", "user": BOB}));
    assert_eq!(r, json!({"cmd": "user_ban", "user": BOB, "banned": true}));
    assert_eq!(total(&mut alice), 3);
}

#[test]
fn the_admin_command_line_logs_as_itself() {
    let server = Server::start();
    let mut alice = with_role(&server, "alice", "owner");
    server.close(server.register("bob"));
    let out = server.admin(&["ban", "bob"]);
    assert!(out.status.success(), "{out:?}");
    let out = server.admin(&["create-channel", "club", "--private"]);
    assert!(out.status.success(), "{out:?}");
    let page = get(&mut alice, json!({"actor": "admin-cli"}));
    let shown: Vec<Value> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(checked)
        .collect();
    let cli = |action: &str, category: &str, target: &str, details: Value| {
        json!({"action": action, "category": category, "actor_id": "admin-cli",
               "actor_name": "admin-cli", "target_id": target, "target_name": target,
               "details": details})
    };
    assert_eq!(
        shown,
        [
            cli(
                "channel_create",
                "channel_management",
                "club",
                json!({"type": "text"})
            ),
            cli("user_ban", "user_moderation", BOB, json!({})),
            // with_role's grant-role.
            cli(
                "user_roles_set",
                "user_moderation",
                ALICE,
                json!({"roles": ["owner", "user"]})
            ),
        ]
    );
}

#[test]
fn imports_the_originals_modlog_json() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("original/db");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("channels.json"), "[]").unwrap();
    // Whole seconds plus a quarter: exact in any float parser.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64
        + 0.25;
    let ban = json!({"id": "1713648900123-u1", "action": "user_ban", "category": "user_moderation",
        "actor_id": "u1", "actor_name": "AdminUser", "target_id": "u2", "target_name": "BannedUser",
        "details": "Spamming", "timestamp": now - 3600.0});
    let role = json!({"id": "1713648900500-u1", "action": "role_create", "category": "role_management",
        "actor_id": "u1", "actor_name": "AdminUser", "target_id": "r1", "target_name": "helper",
        "details": {"color": "#fff", "permissions": null}, "timestamp": now - 60.0});
    // Past message_moderation's 90 days: the original would have dropped it.
    let old = json!({"id": "1-u1", "action": "message_delete", "category": "message_moderation",
        "actor_id": "u1", "actor_name": "AdminUser", "target_id": "m1", "target_name": null,
        "details": {"channel": "general"}, "timestamp": now - 100.0 * 86_400.0});
    let modlog = json!([ban, role, old, {"action": "user_ban"}, 7]);
    std::fs::write(source.join("modlog.json"), modlog.to_string()).unwrap();
    let data = dir.path().join("data");
    let out = import(&data, &source);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains(
            "  audit log entries: 2 imported, 3 skipped\n      past its retention (1): 1-u1\n      \
             action, actor_id or timestamp missing (1): entry 4\n      not a JSON object (1): entry 5\n"
        ),
        "{text}"
    );
    assert!(!text.contains("modlog.json"), "{text}");
    // A second run brings nothing new.
    let again = String::from_utf8_lossy(&import(&data, &source).stdout).to_string();
    assert!(
        again.contains("  audit log entries: 0 imported, 5 skipped\n"),
        "{again}"
    );
    assert!(again.contains("already there (2)"), "{again}");

    let server = Server::in_dir(dir, test_config(json!({})));
    let mut alice = with_role(&server, "alice", "owner");
    let page = get(&mut alice, json!({"actor": "u1"}));
    assert_eq!(
        page,
        json!({"cmd": "modlog_get", "entries": [role, ban], "total": 2, "offset": 0, "limit": 100})
    );
}
