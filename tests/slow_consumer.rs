//! A client that stops reading is dropped; nobody else waits for it or loses anything.

mod common;

use common::Server;
use serde_json::json;

#[test]
fn a_slow_reader_is_dropped_while_others_keep_chatting() {
    let server = Server::with(json!({
        "limits": {"post_content": 50000},
        "rate_limiting": {"enabled": false},
        // No heartbeat `ping` packets in the middle: under qemu this test runs past 30 s.
        "connections": {"send_queue_packets": 64, "send_queue_bytes": 262144,
                        "ping_interval_seconds": 600, "idle_timeout_seconds": 1200}
    }));
    let mut alice = server.register("alice");
    let mut bob = server.register("bob");
    alice.expect("user_join");
    alice.expect("user_connect");
    let slow = server.register("carol");
    for c in [&mut alice, &mut bob] {
        c.expect("user_join");
        c.expect("user_connect");
    }
    // carol never reads again. alice and bob exchange 300 big messages (15 MB in all).
    let big = "x".repeat(49_000);
    for i in 0..300 {
        let (sender, receiver) = if i % 2 == 0 {
            (&mut alice, &mut bob)
        } else {
            (&mut bob, &mut alice)
        };
        sender.send(
            json!({"cmd": "message_new", "channel": "general", "content": format!("{i} {big}")}),
        );
        let mut got_own = false;
        let mut got_other = false;
        while !(got_own && got_other) {
            for (c, flag) in [
                (&mut *sender, &mut got_own),
                (&mut *receiver, &mut got_other),
            ] {
                if *flag {
                    continue;
                }
                let p = c.recv();
                if p["cmd"] == "user_disconnect" {
                    assert_eq!(p["username"], "USR:local_carol");
                    continue;
                }
                assert_eq!(
                    p["cmd"],
                    "message_new",
                    "{}",
                    &p.to_string()[..100.min(p.to_string().len())]
                );
                assert!(
                    p["message"]["content"]
                        .as_str()
                        .unwrap()
                        .starts_with(&format!("{i} ")),
                    "in order, none lost"
                );
                *flag = true;
            }
        }
    }
    server.wait_log("dropped: slow consumer");
    server.wait_log("closed: slow consumer: too much unread data queued");
    // The others were told carol left (unless they read it above) and still chat.
    assert_eq!(alice.request(json!({"cmd": "ping"}))["cmd"], "pong");
    let online = bob.request(json!({"cmd": "users_online"}));
    assert_eq!(online["users"].as_array().unwrap().len(), 2);
    drop(slow);
}
