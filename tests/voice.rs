//! Voice signalling (§8.9): events reach exactly the viewers of the channel, with the peer
//! id only for participants; two tabs; cleanup order at disconnect (§3.4).

mod common;

use common::{Client, Server, err, prepared_dir, test_config};
use serde_json::{Value, json};

fn server() -> Server {
    let dir = prepared_dir(
        &[
            json!({"type": "voice", "name": "lounge", "permissions": {"view": ["user"]}}),
            json!({"type": "voice", "name": "studio", "permissions": {"view": ["user"]}}),
            json!({"type": "voice", "name": "vip", "permissions": {"view": ["owner"]}}),
        ],
        &[],
    );
    Server::in_dir(dir, test_config(json!({})))
}

fn user(name: &str, peer: Option<&str>) -> Value {
    let mut u = json!({"id": format!("USR:local_{name}"), "username": format!("USR:local_{name}"), "muted": false});
    if let Some(p) = peer {
        u["peer_id"] = json!(p);
    }
    u
}

fn three(server: &Server) -> (Client, Client, Client) {
    let mut a = server.register("alice");
    let mut b = server.register("bob");
    let c = server.register("carol");
    a.sync();
    b.sync();
    (a, b, c)
}

#[test]
fn join_mute_state_leave_with_and_without_peer_ids() {
    let server = server();
    let (mut alice, mut bob, mut carol) = three(&server);
    alice.send(json!({"cmd": "voice_join", "channel": "lounge", "peer_id": "peer-alice"}));
    assert_eq!(
        alice.recv(),
        json!({"cmd": "voice_user_joined", "channel": "lounge", "user": user("alice", Some("peer-alice"))})
    );
    assert_eq!(
        alice.recv(),
        json!({"cmd": "voice_join", "channel": "lounge", "participants": []})
    );
    // bob only watches: no peer id for him.
    assert_eq!(
        bob.recv(),
        json!({"cmd": "voice_user_joined", "channel": "lounge", "user": user("alice", None)})
    );
    carol.expect("voice_user_joined");
    bob.send(json!({"cmd": "voice_join", "channel": "lounge", "peer_id": "peer-bob"}));
    let joined = json!({"cmd": "voice_user_joined", "channel": "lounge", "user": user("bob", Some("peer-bob"))});
    assert_eq!(alice.recv(), joined, "fellow participants get the peer id");
    assert_eq!(bob.recv(), joined);
    assert_eq!(
        bob.recv(),
        json!({"cmd": "voice_join", "channel": "lounge", "participants": [{"username": "USR:local_alice", "peer_id": "peer-alice", "muted": false}]})
    );
    assert_eq!(
        carol.recv(),
        json!({"cmd": "voice_user_joined", "channel": "lounge", "user": user("bob", None)})
    );
    assert_eq!(
        carol.request(json!({"cmd": "voice_state", "channel": "lounge"})),
        json!({"cmd": "voice_state", "channel": "lounge", "participants": [user("alice", None), user("bob", None)]})
    );
    assert_eq!(
        alice.request(json!({"cmd": "voice_state", "channel": "lounge"}))["participants"],
        json!([
            user("alice", Some("peer-alice")),
            user("bob", Some("peer-bob"))
        ])
    );
    let channels = carol.request(json!({"cmd": "channels_get"}));
    let lounge = channels["val"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "lounge")
        .unwrap()
        .clone();
    assert_eq!(
        lounge["voice_state"],
        json!([{"username": "USR:local_alice", "muted": false}, {"username": "USR:local_bob", "muted": false}])
    );

    alice.send(json!({"cmd": "voice_mute", "listener": "m"}));
    let mut muted = user("alice", Some("peer-alice"));
    muted["muted"] = json!(true);
    assert_eq!(
        alice.recv(),
        json!({"cmd": "voice_user_updated", "channel": "lounge", "user": muted})
    );
    assert_eq!(
        alice.recv(),
        json!({"cmd": "voice_mute", "channel": "lounge", "muted": true, "listener": "m"})
    );
    assert_eq!(bob.recv()["user"]["muted"], true);
    assert!(carol.recv()["user"].get("peer_id").is_none());
    assert_eq!(
        alice.request(json!({"cmd": "voice_unmute"}))["cmd"],
        "voice_user_updated"
    );
    assert_eq!(
        alice.recv(),
        json!({"cmd": "voice_unmute", "channel": "lounge", "muted": false})
    );
    bob.sync();
    carol.sync();

    bob.send(json!({"cmd": "voice_leave"}));
    let left = json!({"cmd": "voice_user_left", "channel": "lounge", "username": "USR:local_bob"});
    assert_eq!(bob.recv(), left);
    assert_eq!(
        bob.recv(),
        json!({"cmd": "voice_leave", "channel": "lounge"})
    );
    assert_eq!(alice.recv(), left);
    assert_eq!(carol.recv(), left);
    assert_eq!(
        bob.request(json!({"cmd": "voice_leave"})),
        err("voice_leave", "You are not in a voice channel")
    );
    assert_eq!(
        bob.request(json!({"cmd": "voice_mute"})),
        err("voice_mute", "You are not in a voice channel")
    );
}

#[test]
fn voice_errors_and_switching_channels() {
    let server = server();
    let (mut alice, mut bob, _carol) = three(&server);
    assert_eq!(
        alice.request(json!({"cmd": "voice_join", "channel": "lounge"})),
        err("voice_join", "Peer ID is required")
    );
    assert_eq!(
        alice.request(json!({"cmd": "voice_join", "peer_id": "p"})),
        err("voice_join", "Channel name is required")
    );
    assert_eq!(
        alice.request(json!({"cmd": "voice_join", "channel": "general", "peer_id": "p"})),
        err("voice_join", "This is not a voice channel")
    );
    assert_eq!(
        alice.request(json!({"cmd": "voice_join", "channel": "vip", "peer_id": "p"})),
        err(
            "voice_join",
            "You do not have permission to access this voice channel"
        )
    );
    assert_eq!(
        alice.request(json!({"cmd": "voice_state", "channel": "nowhere"})),
        err(
            "voice_state",
            "You do not have permission to access this voice channel"
        )
    );
    alice.send(json!({"cmd": "voice_join", "channel": "lounge", "peer_id": "p1"}));
    until_cmd(&mut alice, "voice_join");
    bob.sync();
    alice.send(json!({"cmd": "voice_join", "channel": "studio", "peer_id": "p2"}));
    assert_eq!(
        alice.recv(),
        json!({"cmd": "voice_user_left", "channel": "lounge", "username": "USR:local_alice"})
    );
    assert_eq!(alice.recv()["cmd"], "voice_user_joined");
    assert_eq!(alice.recv()["cmd"], "voice_join");
    assert_eq!(bob.recv()["cmd"], "voice_user_left");
    assert_eq!(
        bob.recv(),
        json!({"cmd": "voice_user_joined", "channel": "studio", "user": user("alice", None)})
    );
    assert_eq!(
        bob.request(json!({"cmd": "voice_state", "channel": "lounge"}))["participants"],
        json!([])
    );
}

fn until_cmd(c: &mut Client, cmd: &str) -> Value {
    common::until(c, cmd)
}

#[test]
fn two_tabs_and_disconnect_order() {
    let server = server();
    let (mut alice, mut watcher, _carol) = three(&server);
    let mut tab2 = server.connected();
    tab2.login("alice", "secret123");
    alice.send(json!({"cmd": "voice_join", "channel": "lounge", "peer_id": "tab1"}));
    until_cmd(&mut alice, "voice_join");
    watcher.sync();
    // Closing the other tab does not take alice out of voice.
    server.close(tab2);
    watcher.expect_quiet();
    assert_eq!(
        watcher.request(json!({"cmd": "voice_state", "channel": "lounge"}))["participants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Closing the tab that joined: voice_user_left first, then user_disconnect.
    drop(alice);
    assert_eq!(
        watcher.recv(),
        json!({"cmd": "voice_user_left", "channel": "lounge", "username": "USR:local_alice"})
    );
    assert_eq!(
        watcher.recv(),
        json!({"cmd": "user_disconnect", "username": "USR:local_alice"})
    );
    assert_eq!(
        watcher.request(json!({"cmd": "voice_state", "channel": "lounge"}))["participants"],
        json!([])
    );
}
