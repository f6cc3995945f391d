//! Presence: `user_connect` on a user's first connection, `user_disconnect` on the last,
//! counted per user, with the color rule (§4.4, §3.4, §7.2).

mod common;

use common::Server;
use serde_json::json;

#[test]
fn connections_are_counted_per_user() {
    let server = Server::start();
    let mut watcher = server.register("watcher");
    let tab1 = server.register("alice");
    assert_eq!(
        watcher.expect("user_join")["user"]["username"],
        "USR:local_alice"
    );
    assert_eq!(
        watcher.recv(),
        json!({"cmd": "user_connect", "user": {"username": "USR:local_alice", "roles": ["user"], "color": null, "nickname": "alice"}})
    );
    let mut tab2 = server.connected();
    tab2.login("alice", "secret123");
    watcher.expect_quiet();
    server.close(tab1);
    watcher.expect_quiet();
    drop(tab2);
    assert_eq!(
        watcher.recv(),
        json!({"cmd": "user_disconnect", "username": "USR:local_alice"})
    );
    // Back again: a fresh user_connect, no user_join.
    let mut tab3 = server.connected();
    tab3.login("alice", "secret123");
    assert_eq!(
        watcher.expect("user_connect")["user"]["username"],
        "USR:local_alice"
    );
    tab3.expect("user_connect");
}

#[test]
fn abrupt_disconnect_is_noticed() {
    let server = Server::start();
    let mut watcher = server.register("watcher");
    let alice = server.register("alice");
    watcher.expect("user_join");
    watcher.expect("user_connect");
    // Drop the TCP connection without a close frame.
    let stream = alice.ws.get_ref().try_clone().unwrap();
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    assert_eq!(
        watcher.recv(),
        json!({"cmd": "user_disconnect", "username": "USR:local_alice"})
    );
}

#[test]
fn color_comes_from_the_first_role_and_roles_change_live() {
    let server = Server::start();
    let alice = server.register("alice");
    drop(alice);
    let seen = server.reloads();
    let out = server.admin(&["grant-role", "alice", "owner"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("USR:local_alice now has the role owner")
    );
    let _watcher = server.register("watcher");
    // After each reload of the running server, log in until the new roles show.
    server.after_reloads(seen, "grant never took effect", || {
        let mut c = server.connected();
        let ready = c.login("alice", "secret123");
        if ready["user"]["roles"] == json!(["owner", "user"]) {
            let connect = c.expect("user_connect");
            assert_eq!(
                connect["user"],
                json!({"username": "USR:local_alice", "roles": ["owner", "user"], "color": "#9400D3", "nickname": "alice"})
            );
            return Some(());
        }
        server.close(c);
        None
    });
}
