//! Built-in slash commands (§8.13), so the web client's command box works.

mod common;

use common::{Server, until, with_role};
use serde_json::{Value, json};

fn err(val: &str) -> Value {
    json!({"cmd": "error", "src": "slash_call", "val": val})
}

fn call(command: &str, args: Value) -> Value {
    json!({"cmd": "slash_call", "channel": "general", "command": command, "args": args})
}

#[test]
fn slash_list_shows_the_builtins() {
    let server = Server::start();
    let mut c = server.register("alice");
    let list = c.request(json!({"cmd": "slash_list"}));
    let names: Vec<&str> = list["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nick", "help", "ban", "unban", "mute", "unmute"]);
    assert_eq!(
        list["commands"][0],
        json!({"name": "nick", "description": "Set or clear your display nickname",
               "options": [{"name": "nickname", "description": "Your new nickname (leave empty to clear)", "type": "str", "required": false}],
               "whitelistRoles": null, "blacklistRoles": null, "ephemeral": false, "registeredBy": "originChats"})
    );
    assert_eq!(
        list["commands"][2]["whitelistRoles"],
        json!(["admin", "owner"])
    );
}

#[test]
fn nick_posts_its_output_and_announces_the_nickname() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let mut bob = server.register("bob");
    alice.sync();
    bob.send(call("nick", json!({"nickname": "Bobby"})));
    let update = json!({"cmd": "nickname_update", "user": "USR:local_bob", "username": "USR:local_bob", "nickname": "Bobby"});
    assert_eq!(alice.recv(), update);
    let posted = alice.recv();
    assert_eq!(posted["cmd"], "message_new");
    assert_eq!(posted["message"]["user"], "originChats");
    assert_eq!(posted["message"]["content"], "Nickname set to **Bobby**");
    assert_eq!(
        posted["message"]["interaction"],
        json!({"command": "nick", "username": "USR:local_bob"})
    );
    assert_eq!(bob.recv(), update);
    assert_eq!(
        bob.recv()["message"]["content"],
        "Nickname set to **Bobby**"
    );
    bob.send(call("nick", json!({})));
    assert_eq!(
        until(&mut bob, "message_new")["message"]["content"],
        "Nickname cleared"
    );
    bob.send(call("nick", json!({})));
    assert_eq!(
        until(&mut bob, "message_new")["message"]["content"],
        "You don't have a nickname set. Use `/nick <name>` to set one."
    );
    assert_eq!(
        bob.request(call("nick", json!({"nickname": "x".repeat(21)}))),
        err("Nickname too long (max 20 characters)")
    );
    let help = bob.request(call("help", json!({})));
    assert_eq!(
        help["message"]["content"],
        "**Available Commands:**\n• `/help` - List all available slash commands\n• `/nick` - Set or clear your display nickname"
    );
    assert_eq!(
        bob.request(call("ban", json!({"username": "alice"}))),
        err("Access denied: 'admin' role required")
    );
    assert_eq!(
        bob.request(call("dance", json!({}))),
        err("Unknown slash command: /dance")
    );
    assert_eq!(
        bob.request(json!({"cmd": "slash_call", "command": "help"})),
        err("Channel parameter is required for slash commands")
    );
    assert_eq!(
        bob.request(
            json!({"cmd": "slash_call", "channel": "general", "command": "help", "args": [1]})
        ),
        err("Command args must be an object")
    );
    assert_eq!(
        bob.request(json!({"cmd": "slash_call", "channel": "general", "command": 5})),
        err("Command name must be a string")
    );
    assert_eq!(
        bob.request(json!({"cmd": "slash_call", "channel": "nope", "command": "help"})),
        err("Access denied to this channel")
    );
}

#[test]
fn moderation_commands() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    owner.sync();
    owner.send(call(
        "mute",
        json!({"username": "bob", "duration": 30, "reason": "spam"}),
    ));
    assert_eq!(
        bob.recv(),
        json!({"cmd": "rate_limit", "reason": "Muted: spam", "length": 30000})
    );
    assert_eq!(
        until(&mut owner, "message_new")["message"]["content"],
        "🔇 **USR:local_bob** has been muted for 30 seconds.\n**Reason:** spam"
    );
    assert_eq!(
        until(&mut bob, "message_new")["message"]["interaction"]["command"],
        "mute"
    );
    assert_eq!(
        bob.request(json!({"cmd": "typing", "channel": "general"}))["cmd"],
        "rate_limit"
    );
    owner.send(call("unmute", json!({"username": "bob"})));
    assert_eq!(
        until(&mut owner, "message_new")["message"]["content"],
        "🔊 **USR:local_bob** has been unmuted."
    );
    bob.sync();
    assert_eq!(
        bob.request(json!({"cmd": "typing", "channel": "general"}))["cmd"],
        "typing"
    );
    assert_eq!(owner.recv()["cmd"], "typing", "owner sees bob typing");
    assert_eq!(
        owner.request(call("mute", json!({"username": "bob"}))),
        err("Duration is required")
    );
    assert_eq!(
        owner.request(call("mute", json!({"username": "bob", "duration": -1}))),
        err("Duration must be a positive number")
    );
    assert_eq!(
        owner.request(call("ban", json!({"username": "ghost"}))),
        err("User 'ghost' not found")
    );
    assert_eq!(
        owner.request(call("ban", json!({"username": "alice"}))),
        err("Cannot ban the server owner")
    );
    bob.sync();
    owner.send(call("ban", json!({"username": "bob", "reason": "rude"})));
    assert_eq!(
        bob.recv(),
        json!({"cmd": "disconnect", "reason": "You have been banned"})
    );
    assert_eq!(
        until(&mut owner, "message_new")["message"]["content"],
        "🚫 **USR:local_bob** has been banned.\n**Reason:** rude"
    );
    owner.send(call("ban", json!({"username": "bob"})));
    assert_eq!(
        until(&mut owner, "error"),
        err("User 'USR:local_bob' is already banned")
    );
    owner.send(call("unban", json!({"username": "USR:local_bob"})));
    assert_eq!(
        until(&mut owner, "message_new")["message"]["content"],
        "✅ **USR:local_bob** has been unbanned."
    );
}
