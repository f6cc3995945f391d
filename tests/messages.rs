//! Posting, editing, deleting, typing, reactions and pins, with their exact packets and
//! error texts (§8.1–8.6), and the routing of global replies (§2).

mod common;

use common::{Client, Server, err};
use serde_json::{Value, json};

/// alice and bob, both in `general`, with the presence packets read.
fn two(server: &Server) -> (Client, Client) {
    let mut alice = server.register("alice");
    let bob = server.register("bob");
    alice.expect("user_join");
    alice.expect("user_connect");
    (alice, bob)
}

fn post(c: &mut Client, content: &str) -> Value {
    let reply = c.request(json!({"cmd": "message_new", "channel": "general", "content": content}));
    assert_eq!(reply["cmd"], "message_new", "{reply}");
    reply
}

#[test]
fn message_new_reaches_viewers_with_pings_and_listener_on_the_sender_only() {
    let server = Server::start();
    let (mut alice, mut bob) = two(&server);
    alice.send(json!({"cmd": "message_new", "channel": "general",
                      "content": "  hello @bob and @USR:local_bob @nobody @&user  ", "listener": "mn"}));
    let theirs = bob.recv();
    let mine = alice.recv();
    assert_eq!(mine["listener"], "mn");
    assert!(theirs.get("listener").is_none());
    let mut without = mine.clone();
    without.as_object_mut().unwrap().remove("listener");
    assert_eq!(without, theirs);
    let m = &mine["message"];
    assert_eq!(m["user"], "USR:local_alice");
    assert_eq!(m["content"], "hello @bob and @USR:local_bob @nobody @&user");
    assert_eq!(m["id"].as_str().unwrap().len(), 36);
    assert!(m["timestamp"].as_f64().unwrap() > 1.7e9);
    assert_eq!(
        (&m["pinned"], &m["type"], &m["interaction"]),
        (&json!(false), &json!("message"), &Value::Null)
    );
    let mut users: Vec<&str> = m["pings"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    users.sort();
    // `@USR:local_bob` yields the token `USR`; `@bob` stays `bob` (no user is named "bob").
    assert_eq!(users, ["USR", "bob", "nobody"]);
    assert_eq!(m["pings"]["roles"], json!(["user"]));
    assert_eq!(m["pings"]["replies"], json!([]));
    assert_eq!(
        (&mine["channel"], &mine["thread_id"], &mine["global"]),
        (&json!("general"), &Value::Null, &json!(true))
    );
}

#[test]
fn message_new_errors() {
    let server = Server::with(json!({"limits": {"post_content": 10}}));
    let (mut alice, _bob) = two(&server);
    let cases = [
        (
            json!({}),
            "Missing fields: channel or thread_id, content or attachments",
        ),
        (
            json!({"channel": "general"}),
            "Missing fields: content or attachments",
        ),
        (
            json!({"content": "x"}),
            "Missing fields: channel or thread_id",
        ),
        (
            json!({"channel": "general", "content": "   "}),
            "Message content or attachments cannot be empty",
        ),
        (
            json!({"channel": "general", "content": "ééééééééééé"}),
            "Message too long. Maximum length is 10 characters",
        ),
        (
            json!({"channel": "nope", "content": "hi"}),
            "Channel not found",
        ),
        (
            json!({"channel": "../x", "content": "hi"}),
            "Channel not found",
        ),
        (
            json!({"thread_id": "t1", "content": "hi"}),
            "Thread not found",
        ),
        (
            json!({"channel": "general", "content": "hi", "reply_to": "missing"}),
            "The message you're trying to reply to was not found",
        ),
        (
            json!({"channel": "general", "content": "hi", "embeds": {"a": 1}}),
            "Embeds must be an array",
        ),
        (
            json!({"channel": "general", "content": "hi", "embeds": [{"type": "weird"}]}),
            "Embed 0: type must be one of rich, poll, link, image, video, article",
        ),
        (
            json!({"channel": "general", "content": "hi", "attachments": [{"id": "x"}]}),
            "Attachment x not found or expired",
        ),
    ];
    for (mut fields, text) in cases {
        fields["cmd"] = json!("message_new");
        assert_eq!(
            alice.request(fields.clone()),
            err("message_new", text),
            "{fields}"
        );
    }
    // Exactly at the limit (code points, not bytes) is fine.
    post(&mut alice, "éééééééééé");
    assert_eq!(
        alice.request(json!({"cmd": "message_new", "channel": "general", "content": 5})),
        err(
            "message_new",
            "Invalid field 'content': invalid type: integer `5`, expected a string"
        )
    );
}

#[test]
fn replies_carry_the_author_and_ping_flag() {
    let server = Server::start();
    let (mut alice, mut bob) = two(&server);
    let original = post(&mut alice, "original")["message"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    bob.expect("message_new");
    let r = bob.request(
        json!({"cmd": "message_new", "channel": "general", "content": "re", "reply_to": original}),
    );
    assert_eq!(
        r["message"]["reply_to"],
        json!({"id": original, "user": "USR:local_alice"})
    );
    assert_eq!(r["message"]["pings"]["replies"], json!(["USR:local_alice"]));
    alice.expect("message_new");
    let r = bob.request(json!({"cmd": "message_new", "channel": "general", "content": "quiet", "reply_to": original, "ping": false}));
    assert_eq!(r["message"]["ping"], false);
    assert_eq!(r["message"]["pings"]["replies"], json!([]));
    let replies =
        bob.request(json!({"cmd": "message_replies", "channel": "general", "id": original}));
    assert_eq!(replies["message_id"], json!(original));
    let contents: Vec<&Value> = replies["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["content"])
        .collect();
    assert_eq!(contents, [&json!("re"), &json!("quiet")]);
}

#[test]
fn edit_and_delete_own_and_others() {
    let server = Server::start();
    let (mut alice, mut bob) = two(&server);
    let id = post(&mut alice, "first")["message"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    bob.expect("message_new");
    alice.send(json!({"cmd": "message_edit", "id": id, "channel": "general", "content": " edited @bob ", "listener": "e"}));
    let seen = bob.recv();
    let mine = alice.recv();
    assert_eq!(mine["listener"], "e");
    assert_eq!(seen["cmd"], "message_edit");
    assert_eq!(seen["content"], "edited @bob");
    assert_eq!(seen["message"]["edited"], true);
    assert_eq!(seen["message"]["pings"]["users"], json!(["bob"]));
    assert_eq!(seen["global"], true);
    let edit = |c: &mut Client, content: &str| {
        c.request(
            json!({"cmd": "message_edit", "id": id, "channel": "general", "content": content}),
        )
    };
    assert_eq!(
        edit(&mut bob, "hijack"),
        err(
            "message_edit",
            "You do not have permission to edit this message"
        )
    );
    assert_eq!(
        bob.request(
            json!({"cmd": "message_edit", "id": "nope", "channel": "general", "content": "x"})
        ),
        err("message_edit", "Message not found or cannot be edited")
    );
    assert_eq!(
        bob.request(json!({"cmd": "message_edit", "channel": "general", "content": "x"})),
        err("message_edit", "Invalid message edit format")
    );
    assert_eq!(
        edit(&mut alice, "   "),
        err("message_edit", "Invalid message edit format")
            .tap_val("Message content or attachments cannot be empty")
    );
    // Others' messages need the channel's `delete` (admin, moderator in general): bob can't.
    assert_eq!(
        bob.request(json!({"cmd": "message_delete", "id": id, "channel": "general"})),
        err(
            "message_delete",
            "You do not have permission to delete this message"
        )
    );
    assert_eq!(
        bob.request(json!({"cmd": "message_delete", "channel": "general"})),
        err("message_delete", "Invalid message delete format")
    );
    alice.send(json!({"cmd": "message_delete", "id": id, "channel": "general"}));
    assert_eq!(
        bob.recv(),
        json!({"cmd": "message_delete", "id": id, "channel": "general", "global": true})
    );
    assert_eq!(alice.recv()["cmd"], "message_delete");
    assert_eq!(
        alice.request(json!({"cmd": "message_delete", "id": id, "channel": "general"})),
        err("message_delete", "Message not found or cannot be deleted")
    );
    let get = alice.request(json!({"cmd": "message_get", "channel": "general", "id": id}));
    assert_eq!(get, err("message_get", "Message not found"));
}

trait TapVal {
    fn tap_val(self, val: &str) -> Value;
}

impl TapVal for Value {
    fn tap_val(mut self, val: &str) -> Value {
        self["val"] = json!(val);
        self
    }
}

#[test]
fn typing_is_broadcast_to_viewers() {
    let server = Server::start();
    let (mut alice, mut bob) = two(&server);
    alice.send(json!({"cmd": "typing", "channel": "general", "listener": "t"}));
    assert_eq!(
        bob.recv(),
        json!({"cmd": "typing", "channel": "general", "user": "USR:local_alice", "thread_id": null, "global": true})
    );
    assert_eq!(alice.recv()["listener"], "t");
    assert_eq!(
        alice.request(json!({"cmd": "typing"})),
        err("typing", "Channel name or thread_id not provided")
    );
    assert_eq!(
        alice.request(json!({"cmd": "typing", "channel": "zzz"})),
        err("typing", "Channel not found")
    );
}

#[test]
fn reactions_add_and_remove() {
    let server = Server::start();
    let (mut alice, mut bob) = two(&server);
    let id = post(&mut alice, "react to me")["message"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    bob.expect("message_new");
    bob.send(json!({"cmd": "message_react_add", "channel": "general", "id": id, "emoji": "🎉"}));
    let expected = json!({"cmd": "message_react_add", "id": id, "emoji": "🎉", "channel": "general", "from": "USR:local_bob", "global": true});
    assert_eq!(alice.recv(), expected);
    assert_eq!(bob.recv(), expected);
    assert_eq!(
        bob.request(
            json!({"cmd": "message_react_add", "channel": "general", "id": id, "emoji": "🎉"})
        ),
        err("message_react_add", "Failed to add reaction")
    );
    alice.request(
        json!({"cmd": "message_react_add", "channel": "general", "id": id, "emoji": "🎉"}),
    );
    bob.expect("message_react_add");
    let got = bob.request(json!({"cmd": "message_get", "channel": "general", "id": id}));
    assert_eq!(
        got["message"]["reactions"],
        json!({"🎉": ["USR:local_bob", "USR:local_alice"]})
    );
    bob.send(json!({"cmd": "message_react_remove", "channel": "general", "id": id, "emoji": "🎉"}));
    assert_eq!(alice.recv()["cmd"], "message_react_remove");
    bob.expect("message_react_remove");
    assert_eq!(
        bob.request(
            json!({"cmd": "message_react_remove", "channel": "general", "id": id, "emoji": "🎉"})
        ),
        err("message_react_remove", "Failed to remove reaction")
    );
    assert_eq!(
        bob.request(json!({"cmd": "message_react_add", "channel": "general", "id": id})),
        err("message_react_add", "Message ID and emoji are required")
    );
    assert_eq!(
        bob.request(json!({"cmd": "message_react_add", "channel": "general", "id": id, "emoji": "x".repeat(201)})),
        err("message_react_add", "Invalid emoji")
    );
}

#[test]
fn pins_need_the_pin_permission_and_report_the_state() {
    let server = Server::start();
    let (mut alice, mut bob) = two(&server);
    let id = post(&mut alice, "pin me")["message"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    bob.expect("message_new");
    assert_eq!(
        alice.request(json!({"cmd": "message_pin", "channel": "general", "id": id})),
        err(
            "message_pin",
            "You do not have permission to pin messages in this channel"
        )
    );
    drop(alice);
    bob.expect("user_disconnect");
    let mut alice = admin_until_roles(
        &server,
        &["grant-role", "alice", "owner"],
        "alice",
        json!(["owner", "user"]),
    );
    // Presence packets of alice's attempts.
    bob.sync();
    alice.send(json!({"cmd": "message_pin", "channel": "general", "id": id}));
    let pinned = json!({"cmd": "message_pin", "id": id, "channel": "general", "pinned": true, "global": true});
    assert_eq!(bob.recv(), pinned);
    assert_eq!(alice.recv(), pinned);
    let list = bob.request(json!({"cmd": "messages_pinned", "channel": "general"}));
    assert_eq!(list["messages"][0]["id"], json!(id));
    assert_eq!(list["messages"][0]["pinned"], true);
    // The web client unpins with message_pin + pinned:false.
    alice.send(json!({"cmd": "message_pin", "channel": "general", "id": id, "pinned": false}));
    assert_eq!(bob.recv()["pinned"], false);
    alice.expect("message_pin");
    alice.request(json!({"cmd": "message_pin", "channel": "general", "id": id}));
    bob.expect("message_pin");
    alice.send(json!({"cmd": "message_unpin", "channel": "general", "id": id}));
    assert_eq!(
        bob.recv(),
        json!({"cmd": "message_unpin", "id": id, "channel": "general", "pinned": false, "global": true})
    );
    alice.expect("message_unpin");
    assert_eq!(
        bob.request(json!({"cmd": "messages_pinned", "channel": "general"}))["messages"],
        json!([])
    );
    assert_eq!(
        alice.request(json!({"cmd": "message_pin", "channel": "general", "id": "nope"})),
        err("message_pin", "Message not found")
    );
    assert_eq!(
        alice.request(json!({"cmd": "message_pin", "id": id})),
        err("message_pin", "Channel name not provided")
    );
}

/// Runs `admin …` and logs in until the server has picked up the role change.
fn admin_until_roles(server: &Server, args: &[&str], name: &str, roles: Value) -> Client {
    let failure = format!("roles never became {roles}");
    server.admin_applied(args, &failure, || {
        let mut c = server.connected();
        let ready = c.login(name, "secret123");
        if ready["user"]["roles"] == roles {
            c.expect("user_connect");
            return Some(c);
        }
        server.close(c);
        None
    })
}

#[test]
fn embeds_are_stored_and_listed() {
    let server = Server::start();
    let (mut alice, mut bob) = two(&server);
    let embed = json!({"type": "rich", "title": "Release", "description": "v1", "fields": [{"name": "a", "value": "b"}]});
    let posted = alice.request(json!({"cmd": "message_new", "channel": "general", "content": "see embed", "embeds": [embed]}));
    assert_eq!(posted["message"]["embeds"], json!([embed]));
    let id = posted["message"]["id"].clone();
    bob.expect("message_new");
    assert_eq!(
        bob.request(json!({"cmd": "embeds_list", "channel": "general", "id": id})),
        json!({"cmd": "embeds_list", "id": id, "embeds": [embed]})
    );
    assert_eq!(
        bob.request(json!({"cmd": "embeds_list", "channel": "general"})),
        err("embeds_list", "Message ID is required")
    );
    assert_eq!(
        bob.request(json!({"cmd": "embeds_list", "channel": "general", "id": "nope"})),
        err("embeds_list", "Message not found")
    );
    let too_long = json!({"type": "rich", "title": "x".repeat(257)});
    assert_eq!(
        alice.request(json!({"cmd": "message_new", "channel": "general", "content": "x", "embeds": [too_long]})),
        err("message_new", "Embed 0: title must be at most 256 characters")
    );
}
