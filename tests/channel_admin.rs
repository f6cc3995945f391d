//! Channel management (§8.8) by holders of `manage_channels`; every client gets a fresh
//! `channels_get` after a change.

mod common;

use common::{Server, err, until, with_role};
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<String> {
    list["val"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn create_update_move_delete() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    owner.sync();
    assert_eq!(
        bob.request(json!({"cmd": "channel_create", "name": "x", "type": "text"})),
        err(
            "channel_create",
            "Access denied: 'manage_channels' permission required"
        )
    );
    owner.send(json!({"cmd": "channel_create", "name": "news", "type": "text", "permissions": {"view": ["user"], "send": ["owner"], "react": []}}));
    // Everyone gets a fresh list; the sender's reply comes after it.
    assert_eq!(names(&until(&mut bob, "channels_get")), ["general", "news"]);
    assert_eq!(names(&owner.expect("channels_get")), ["general", "news"]);
    assert_eq!(
        owner.recv(),
        json!({"cmd": "channel_create", "channel": {"name": "news", "type": "text", "permissions": {"view": ["user"], "send": ["owner"]}}, "created": true})
    );
    // Without permissions a new channel is for owners only.
    owner.request(json!({"cmd": "channel_create", "name": "hidden", "type": "voice"}));
    assert_eq!(names(&bob.expect("channels_get")), ["general", "news"]);
    let reply = owner.recv();
    assert_eq!(reply["channel"]["permissions"]["view"], json!(["owner"]));
    for (fields, text) in [
        (json!({"type": "text"}), "Channel name is required"),
        (
            json!({"name": "n"}),
            "Channel type is required (text, voice, or separator)",
        ),
        (
            json!({"name": "n", "type": "forum"}),
            "Invalid channel type, must be text, voice, or separator",
        ),
        (
            json!({"name": "news", "type": "text"}),
            "Channel already exists",
        ),
        (
            json!({"name": "../etc", "type": "text"}),
            "Invalid channel name: at most 100 characters, without /, \\, .. or control characters",
        ),
        (
            json!({"name": "a/b", "type": "text"}),
            "Invalid channel name: at most 100 characters, without /, \\, .. or control characters",
        ),
    ] {
        let mut req = fields.clone();
        req["cmd"] = json!("channel_create");
        assert_eq!(owner.request(req), err("channel_create", text), "{fields}");
    }
    // History moves along with a rename.
    owner.request(json!({"cmd": "message_new", "channel": "news", "content": "launch"}));
    assert_eq!(
        until(&mut bob, "message_new")["message"]["content"],
        "launch"
    );
    owner.send(json!({"cmd": "channel_update", "current_name": "news", "updates": {"name": "updates", "description": "Announcements"}}));
    assert_eq!(
        names(&owner.expect("channels_get")),
        ["general", "updates", "hidden"]
    );
    let updated = owner.recv();
    assert_eq!(updated["cmd"], "channel_update");
    assert_eq!(updated["channel"]["description"], "Announcements");
    assert_eq!(
        names(&until(&mut bob, "channels_get")),
        ["general", "updates"]
    );
    bob.send(json!({"cmd": "messages_get", "channel": "updates"}));
    bob.expect("unreads_update");
    let history = bob.recv();
    // A new text channel starts with a line from the server (the web client needs history).
    assert_eq!(history["messages"][0]["content"], "Welcome to #news!");
    assert_eq!(history["messages"][0]["user"], "originChats");
    assert_eq!(history["messages"][1]["content"], "launch");
    assert_eq!(
        bob.request(json!({"cmd": "messages_get", "channel": "news"})),
        err("messages_get", "Channel not found")
    );
    for (fields, text) in [
        (json!({"updates": {}}), "current_name is required"),
        (
            json!({"current_name": "updates"}),
            "updates object is required",
        ),
        (
            json!({"current_name": "nope", "updates": {}}),
            "Channel not found",
        ),
        (
            json!({"current_name": "updates", "updates": {"type": "forum"}}),
            "Invalid channel type",
        ),
        (
            json!({"current_name": "updates", "updates": {"name": "general"}}),
            "Channel with new name already exists",
        ),
    ] {
        let mut req = fields.clone();
        req["cmd"] = json!("channel_update");
        assert_eq!(owner.request(req), err("channel_update", text), "{fields}");
    }
    owner.send(json!({"cmd": "channel_move", "name": "updates", "position": 0}));
    assert_eq!(
        names(&owner.expect("channels_get")),
        ["updates", "general", "hidden"]
    );
    assert_eq!(
        owner.recv(),
        json!({"cmd": "channel_move", "name": "updates", "position": 0, "moved": true})
    );
    assert_eq!(
        owner.request(json!({"cmd": "channel_move", "name": "ghost", "position": 1})),
        json!({"cmd": "channel_move", "name": "ghost", "position": 1, "moved": false})
    );
    assert_eq!(
        owner.request(json!({"cmd": "channel_move", "name": "updates"})),
        err("channel_move", "Position is required")
    );
    assert_eq!(
        owner.request(json!({"cmd": "channel_move", "name": "updates", "position": -1})),
        err("channel_move", "Position must be a non-negative integer")
    );
    owner.send(json!({"cmd": "channel_delete", "name": "UPDATES"}));
    assert_eq!(names(&owner.expect("channels_get")), ["general", "hidden"]);
    assert_eq!(
        owner.recv(),
        json!({"cmd": "channel_delete", "name": "updates", "deleted": true})
    );
    assert_eq!(
        owner.request(json!({"cmd": "channel_delete", "name": "updates"})),
        err("channel_delete", "Channel not found")
    );
    // Recreating the name starts a new history: only the server's first line.
    owner.request(json!({"cmd": "channel_create", "name": "updates", "type": "text", "permissions": {"view": ["user"], "send": ["user"]}}));
    owner.sync();
    owner.send(json!({"cmd": "messages_get", "channel": "updates"}));
    owner.expect("unreads_update");
    let history = owner.recv()["messages"].clone();
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["content"], "Welcome to #updates!");
}

#[test]
fn deleting_a_voice_channel_takes_its_participants_out() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    owner.request(json!({"cmd": "channel_create", "name": "talk", "type": "voice", "permissions": {"view": ["user"]}}));
    owner.sync();
    let mut bob = server.register("bob");
    owner.sync();
    bob.send(json!({"cmd": "voice_join", "channel": "talk", "peer_id": "pb"}));
    until(&mut bob, "voice_join");
    owner.sync();
    owner.send(json!({"cmd": "channel_delete", "name": "talk"}));
    assert_eq!(
        bob.recv(),
        json!({"cmd": "voice_user_left", "channel": "talk", "username": "USR:local_bob"})
    );
    assert_eq!(names(&bob.recv()), ["general"]);
    assert_eq!(
        bob.request(json!({"cmd": "voice_leave"}))["val"],
        "You are not in a voice channel"
    );
}
