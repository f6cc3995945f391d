//! Channel permissions (§7.3): who sees a channel's broadcasts and history, `!role`
//! denials, own vs others' messages, and live role changes (current roles, not login roles).

mod common;

use common::{Client, Server, err, prepared_dir, test_config};
use serde_json::{Value, json};

fn server() -> Server {
    let dir = prepared_dir(
        &[
            json!({"type": "text", "name": "staff", "permissions": {"view": ["moderator"], "send": ["moderator"]}}),
            json!({"type": "text", "name": "quiet", "permissions": {"view": ["user", "!muted"], "send": ["user"]}}),
            json!({"type": "text", "name": "news", "permissions": {"view": ["user"], "send": ["owner"]}}),
            json!({"type": "text", "name": "strict", "permissions": {"view": ["user"], "send": ["user"], "edit_own": ["owner"], "delete_own": ["owner"], "react": ["owner"]}}),
            json!({"type": "voice", "name": "lounge", "permissions": {"view": ["user"], "send": ["user"]}}),
        ],
        &[(
            "muted",
            json!({"id": "m", "description": null, "color": "#888888", "hoisted": false, "permissions": [], "self_assignable": false, "category": null, "position": 2}),
        )],
    );
    Server::in_dir(dir, test_config(json!({})))
}

fn names(channels: &Value) -> Vec<String> {
    channels["val"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// Runs `admin …` and waits until `c` can (or cannot) view `channel`: the admin change
/// reached the server.
fn admin_until_visible(
    server: &Server,
    args: &[&str],
    c: &mut Client,
    channel: &str,
    visible: bool,
) {
    let failure = format!("{channel} visibility never became {visible}");
    server.admin_applied(args, &failure, || {
        let list = c.request(json!({"cmd": "channels_get"}));
        (names(&list).iter().any(|n| n == channel) == visible).then_some(())
    });
}

#[test]
fn restricted_channels_are_invisible_and_silent() {
    let server = server();
    let mut mod_ = server.register("mia");
    let mut bob = server.register("bob");
    mod_.expect("user_join");
    mod_.expect("user_connect");
    admin_until_visible(
        &server,
        &["grant-role", "mia", "moderator"],
        &mut mod_,
        "staff",
        true,
    );
    assert_eq!(
        names(&bob.request(json!({"cmd": "channels_get"}))),
        ["general", "quiet", "news", "strict", "lounge"]
    );
    let voice = &bob.request(json!({"cmd": "channels_get"}))["val"][4];
    assert_eq!(voice["voice_state"], json!([]));
    assert_eq!(
        bob.request(json!({"cmd": "messages_get", "channel": "staff"})),
        err("messages_get", "Access denied to this channel")
    );
    assert_eq!(
        bob.request(json!({"cmd": "message_new", "channel": "staff", "content": "let me in"})),
        err(
            "message_new",
            "You do not have permission to send messages in this channel"
        )
    );
    assert_eq!(
        bob.request(json!({"cmd": "typing", "channel": "staff"})),
        err("typing", "Access denied to this channel")
    );
    assert_eq!(
        bob.request(json!({"cmd": "messages_search", "channel": "staff", "query": "x"})),
        err("messages_search", "Access denied to this channel")
    );
    // A staff message reaches mia only; bob hears nothing.
    let r = mod_.request(json!({"cmd": "message_new", "channel": "staff", "content": "secret"}));
    assert_eq!(r["cmd"], "message_new");
    mod_.request(json!({"cmd": "typing", "channel": "staff"}));
    bob.expect_quiet();
    // Roles change while bob is connected: he sees staff traffic without reconnecting.
    admin_until_visible(
        &server,
        &["grant-role", "bob", "moderator"],
        &mut bob,
        "staff",
        true,
    );
    mod_.request(json!({"cmd": "message_new", "channel": "staff", "content": "welcome bob"}));
    assert_eq!(bob.recv()["message"]["content"], "welcome bob");
    admin_until_visible(
        &server,
        &["revoke-role", "bob", "moderator"],
        &mut bob,
        "staff",
        false,
    );
    mod_.request(json!({"cmd": "message_new", "channel": "staff", "content": "bye bob"}));
    bob.expect_quiet();
}

#[test]
fn denials_and_send_rules() {
    let server = server();
    let mut carol = server.register("carol");
    // carol's roles become ["muted", "user"]: `!muted` comes first and denies.
    admin_until_visible(
        &server,
        &["grant-role", "carol", "muted"],
        &mut carol,
        "quiet",
        false,
    );
    assert_eq!(
        carol.request(json!({"cmd": "messages_get", "channel": "quiet"})),
        err("messages_get", "Access denied to this channel")
    );
    let mut bob = server.register("bob");
    assert_eq!(
        bob.request(json!({"cmd": "message_new", "channel": "news", "content": "hi"})),
        err(
            "message_new",
            "You do not have permission to send messages in this channel"
        )
    );
    assert_eq!(
        bob.request(json!({"cmd": "message_new", "channel": "lounge", "content": "hi"})),
        err("message_new", "Cannot send messages in this channel type")
    );
    assert_eq!(
        bob.request(json!({"cmd": "messages_get", "channel": "lounge"})),
        err("messages_get", "Access denied to this channel")
    );
    let mine = bob.request(json!({"cmd": "message_new", "channel": "strict", "content": "mine"}));
    let id = mine["message"]["id"].clone();
    assert_eq!(
        bob.request(
            json!({"cmd": "message_edit", "channel": "strict", "id": id, "content": "changed"})
        ),
        err(
            "message_edit",
            "You do not have permission to edit your own message in this channel"
        )
    );
    assert_eq!(
        bob.request(json!({"cmd": "message_delete", "channel": "strict", "id": id})),
        err(
            "message_delete",
            "You do not have permission to delete your own message in this channel"
        )
    );
    assert_eq!(
        bob.request(
            json!({"cmd": "message_react_add", "channel": "strict", "id": id, "emoji": "👍"})
        ),
        err(
            "message_react_add",
            "You do not have permission to add reactions to this message"
        )
    );
}
