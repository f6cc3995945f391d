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

// Bots' slash commands (`slash_register`, `slash_response`, `slash_add`, `slash_remove`).

fn bot_err(src: &str, val: &str) -> Value {
    json!({"cmd": "error", "src": src, "val": val})
}

fn register(commands: Value) -> Value {
    json!({"cmd": "slash_register", "commands": commands})
}

/// The `echo` command as the chats.py bot library sends it (empty role lists, `choices`).
fn echo() -> Value {
    json!({"name": "echo", "description": "Say it back",
           "options": [{"name": "text", "type": "str", "description": "What to say", "required": true, "choices": []}],
           "whitelistRoles": [], "blacklistRoles": [], "ephemeral": false})
}

/// `echo` as `slash_list` and `slash_add` show it.
fn echo_listed() -> Value {
    json!({"name": "echo", "description": "Say it back",
           "options": [{"name": "text", "description": "What to say", "type": "str", "choices": [], "required": true}],
           "whitelistRoles": [], "blacklistRoles": [], "ephemeral": false,
           "registeredBy": "USR:local_robot"})
}

fn names(list: &Value) -> Vec<String> {
    list["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

const BUILTIN_NAMES: [&str; 6] = ["nick", "help", "ban", "unban", "mute", "unmute"];

#[test]
fn bots_register_with_a_permission_and_unique_names() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let mut robot = with_role(&server, "robot", "admin");
    alice.sync();
    assert_eq!(
        alice.request(register(json!([echo()]))),
        bot_err(
            "slash_register",
            "Access denied: 'manage_server' permission required"
        )
    );
    for bad in [json!("echo"), json!([]), Value::Null] {
        assert_eq!(
            robot.request(register(bad)),
            bot_err("slash_register", "Commands must be provided as a list")
        );
    }
    let cases = [
        (
            json!([{"name": "two words", "description": ""}]),
            "Invalid command schema: commands[0]: name must be 1 to 32 letters, digits, '_' or '-'",
        ),
        (
            json!([echo(), {"name": "roll", "description": "", "options": [{"name": "die", "description": "", "type": "enum", "choices": []}]}]),
            "Invalid command schema: commands[1]: options[0]: enum options must define a non-empty 'choices' list",
        ),
        (
            json!([{"name": "x", "description": "d".repeat(201)}]),
            "Invalid command schema: commands[0]: description is longer than 200 characters",
        ),
        (
            json!([echo(), echo()]),
            "Invalid command schema: duplicate command name 'echo'",
        ),
        (
            json!([{"name": "Ban", "description": "mine now"}]),
            "Command name '/Ban' is already registered by originChats (a built-in command)",
        ),
    ];
    for (commands, why) in cases {
        assert_eq!(
            robot.request(register(commands)),
            bot_err("slash_register", why)
        );
    }
    alice.sync();
    robot.send(register(json!([echo()])));
    let added = json!({"cmd": "slash_add", "commands": [echo_listed()]});
    assert_eq!(robot.recv(), added);
    assert_eq!(
        robot.recv(),
        json!({"cmd": "slash_register", "val": "1 commands registered successfully"})
    );
    assert_eq!(alice.recv(), added);
    let list = alice.request(json!({"cmd": "slash_list"}));
    let mut expected: Vec<String> = BUILTIN_NAMES.map(String::from).to_vec();
    expected.push("echo".into());
    assert_eq!(names(&list), expected);
    assert_eq!(list["commands"][6], echo_listed());

    // Another bot cannot take the name; the first can replace its own commands.
    let mut other = with_role(&server, "other", "admin");
    assert_eq!(
        other.request(register(json!([{"name": "ECHO", "description": ""}]))),
        bot_err(
            "slash_register",
            "Command name '/ECHO' is already registered by USR:local_robot"
        )
    );
    alice.sync();
    robot.send(register(json!([{"name": "ping", "description": "Pong"}])));
    assert_eq!(
        alice.recv(),
        json!({"cmd": "slash_remove", "commands": ["echo"]})
    );
    assert_eq!(alice.recv()["cmd"], "slash_add");
    other.sync();
    assert_eq!(
        other.request(register(json!([{"name": "echo", "description": ""}])))["cmd"],
        "slash_add"
    );
    // One account registers from one connection at a time.
    let mut second = server.connected();
    second.login("robot", "secret123");
    assert_eq!(
        second.request(register(json!([{"name": "more", "description": ""}]))),
        bot_err(
            "slash_register",
            "You already have slash commands registered from another session"
        )
    );
}

#[test]
fn a_call_goes_to_the_bot_and_its_answer_into_the_callers_channel() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let mut carol = server.register("carol");
    let mut robot = with_role(&server, "robot", "admin");
    robot.send(register(
        json!([echo(), {"name": "staff", "description": "", "whitelistRoles": ["admin"]}]),
    ));
    until(&mut robot, "slash_register");
    alice.sync();
    carol.sync();

    assert_eq!(
        alice.request(call("echo", json!({}))),
        err("Missing required argument: text")
    );
    assert_eq!(
        alice.request(call("echo", json!({"text": 5}))),
        err("Invalid type for argument 'text': expected str, got int")
    );
    assert_eq!(
        alice.request(call("echo", json!({"text": "hi", "loud": true}))),
        err("Unknown argument: loud")
    );
    assert_eq!(
        alice.request(call("staff", json!({}))),
        err("Access denied: 'admin' role required")
    );
    assert_eq!(
        alice.request(
            json!({"cmd": "slash_call", "channel": "nope", "command": "echo", "args": {"text": "hi"}})
        ),
        err("Access denied to this channel")
    );
    robot.expect_quiet();

    alice.send(call("echo", json!({"text": "hi"})));
    let forwarded = robot.recv();
    let call_id = forwarded["call_id"].as_str().unwrap().to_string();
    assert_eq!(
        forwarded,
        json!({"cmd": "slash_call",
               "val": {"command": "echo", "args": {"text": "hi"}, "commander": "USR:local_robot"},
               "invoker": "USR:local_alice", "invokerUsername": "USR:local_alice",
               "channel": "general", "call_id": call_id})
    );
    assert_eq!(alice.recv(), forwarded, "the caller gets the same packet");

    // The bot cannot move the answer elsewhere nor name another invoker.
    let respond = |extra: Value| {
        let mut p = json!({"cmd": "slash_response", "response": "hi back"});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };
    let no_match =
        "No pending slash call matches this response (unknown, expired or already answered)";
    assert_eq!(
        robot.request(respond(
            json!({"channel": "secret", "invoker": "USR:local_alice"})
        )),
        bot_err("slash_response", no_match)
    );
    assert_eq!(
        robot.request(respond(json!({"invoker": "USR:local_carol"}))),
        bot_err("slash_response", no_match)
    );
    assert_eq!(
        robot.request(respond(json!({"call_id": call_id, "channel": "secret"}))),
        bot_err(
            "slash_response",
            "This response does not match its slash call (channel, invoker or command)"
        )
    );
    assert_eq!(
        robot.request(respond(json!({"call_id": "made-up"}))),
        bot_err("slash_response", no_match)
    );
    assert_eq!(
        alice.request(respond(json!({"call_id": call_id}))),
        bot_err(
            "slash_response",
            "Access denied: 'manage_server' permission required"
        )
    );
    assert_eq!(
        robot.request(json!({"cmd": "slash_response", "response": 5})),
        bot_err("slash_response", "Slash response must be a string")
    );
    assert_eq!(
        robot.request(json!({"cmd": "slash_response", "response": "  "})),
        bot_err(
            "slash_response",
            "Slash response must have content or embeds"
        )
    );

    // As the chats.py library answers: invoker and channel, no command.
    robot.send(respond(
        json!({"invoker": "USR:local_alice", "channel": "general", "ephemeral": false}),
    ));
    let posted = robot.recv();
    let message = &posted["message"];
    assert_eq!(
        posted,
        json!({"cmd": "message_new",
               "message": {"user": "USR:local_robot", "content": "hi back",
                           "timestamp": message["timestamp"], "id": message["id"],
                           "interaction": {"command": "echo", "username": "USR:local_alice"},
                           "pinned": false, "type": "message"},
               "channel": "general", "global": true})
    );
    assert_eq!(alice.recv(), posted);
    assert_eq!(carol.recv(), posted);
    assert_eq!(
        robot.request(respond(json!({"call_id": call_id}))),
        bot_err("slash_response", no_match),
        "a call is answered once"
    );
    alice.send(json!({"cmd": "messages_get", "channel": "general"}));
    let history = until(&mut alice, "messages_get");
    let last = history["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(last, message);

    // Content and embeds are checked as for message_new; another connection cannot answer.
    alice.send(call("echo", json!({"text": "again"})));
    let call_id = until(&mut robot, "slash_call")["call_id"].clone();
    until(&mut alice, "slash_call");
    let mut other = with_role(&server, "other", "admin");
    robot.sync();
    assert_eq!(
        other.request(json!({"cmd": "slash_response", "call_id": call_id, "response": "mine"})),
        bot_err(
            "slash_response",
            "This slash call was not sent to this connection"
        )
    );
    assert_eq!(
        robot.request(json!({"cmd": "slash_response", "call_id": call_id, "embeds": "x"})),
        bot_err("slash_response", "Embeds must be an array")
    );
    assert_eq!(
        robot.request(
            json!({"cmd": "slash_response", "call_id": call_id, "response": "x".repeat(2001)})
        ),
        bot_err(
            "slash_response",
            "Message too long. Maximum length is 2000 characters"
        )
    );
    robot.sync();
    let embeds = json!([{"title": "Echo", "description": "again"}]);
    robot.send(
        json!({"cmd": "slash_response", "call_id": call_id, "embeds": embeds, "listener": "r"}),
    );
    let posted = until(&mut robot, "message_new");
    assert_eq!(posted["listener"], "r");
    assert_eq!(posted["message"]["content"], "");
    assert_eq!(posted["message"]["embeds"], embeds);
    assert_eq!(
        posted["message"]["interaction"],
        json!({"command": "echo", "username": "USR:local_alice"})
    );

    // `/help` lists the bot's commands the caller may use.
    alice.sync();
    assert_eq!(
        alice.request(call("help", json!({})))["message"]["content"],
        "**Available Commands:**\n• `/echo` - Say it back\n• `/help` - List all available slash commands\n• `/nick` - Set or clear your display nickname"
    );
}

#[test]
fn a_bot_that_leaves_takes_its_commands() {
    let server = Server::start();
    let mut alice = with_role(&server, "alice", "owner");
    let robot = with_role(&server, "robot", "admin");
    let register_ping = |mut bot: common::Client| {
        bot.send(register(json!([{"name": "ping", "description": "Pong"}])));
        until(&mut bot, "slash_register");
        bot
    };
    let mut robot = register_ping(robot);
    alice.sync();
    alice.send(call("ping", json!({})));
    assert_eq!(until(&mut robot, "slash_call")["val"]["command"], "ping");
    until(&mut alice, "slash_call");
    server.close(robot);
    let removed = json!({"cmd": "slash_remove", "commands": ["ping"]});
    assert_eq!(until(&mut alice, "slash_remove"), removed);
    alice.sync();
    assert_eq!(
        names(&alice.request(json!({"cmd": "slash_list"}))),
        BUILTIN_NAMES
    );
    assert_eq!(
        alice.request(call("ping", json!({}))),
        err("Unknown slash command: /ping")
    );

    // A ban ends the bot's connection, and its commands with it.
    let mut robot = server.connected();
    robot.login("robot", "secret123");
    let _robot = register_ping(robot);
    until(&mut alice, "slash_add");
    alice.send(json!({"cmd": "user_ban", "user": "USR:local_robot"}));
    assert_eq!(until(&mut alice, "slash_remove"), removed);
    alice.sync();
    assert_eq!(
        alice.request(call("ping", json!({}))),
        err("Unknown slash command: /ping")
    );
}
