//! Bounded by configuration: the connection cap, the message size cap, the handshake
//! timeout, the heartbeat and dead-peer detection (§1, §3.3; issue item 9).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use common::{Client, Server};
use serde_json::json;

#[test]
fn connections_over_the_cap_are_refused() {
    let server = Server::with(json!({"connections": {"max": 3}}));
    let mut open: Vec<Client> = (0..3).map(|_| server.connected()).collect();
    let mut extra = TcpStream::connect(server.addr).unwrap();
    extra.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let mut answer = String::new();
    let _ = extra.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    server.wait_log("connections are open (connections.max in the config file)");
    // The open ones still work, and a place frees up when one leaves.
    open[0].register("alice", "secret123");
    server.close(open.pop().unwrap());
    server.connected();
}

#[test]
fn oversize_messages_close_with_1009() {
    // Large messages of authenticated connections off: the one cap is 4096 for everyone
    // (large messages: tests/large_messages.rs).
    let server = Server::with(json!({"connections": {
        "max_message_bytes": 4096, "max_large_message_bytes": 4096
    }}));
    let mut c = server.register("alice");
    let mut watcher = server.register("bob");
    c.expect("user_join");
    c.expect("user_connect");
    c.send_text(&format!(
        "{{\"cmd\":\"ping\",\"pad\":\"{}\"}}",
        "x".repeat(3000)
    ));
    assert_eq!(c.recv()["cmd"], "pong");
    c.ws.send(Message::text("x".repeat(5000))).unwrap();
    assert_eq!(c.expect_close(), Some(1009));
    assert_eq!(
        watcher.recv(),
        json!({"cmd": "user_disconnect", "username": "USR:local_alice"})
    );
    assert_eq!(watcher.request(json!({"cmd": "ping"}))["cmd"], "pong");
}

#[test]
fn a_handshake_that_never_completes_times_out() {
    let server = Server::with(json!({"connections": {"handshake_timeout_seconds": 1}}));
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn heartbeat_pings_and_dead_peers_are_dropped() {
    let server = Server::with(
        json!({"connections": {"ping_interval_seconds": 1, "idle_timeout_seconds": 3}}),
    );
    let mut live = server.register("alice");
    let started = Instant::now();
    assert_eq!(live.recv(), json!({"cmd": "ping"}));
    assert!(started.elapsed() >= Duration::from_millis(500));
    // A peer that never reads nor answers WebSocket pings: its socket stays open but silent.
    let dead = TcpStream::connect(server.addr).unwrap();
    let mut dead_ws = Client {
        ws: async_tungstenite::tungstenite::client(format!("ws://{}/", server.addr), dead)
            .unwrap()
            .0,
    };
    dead_ws.expect("handshake");
    // `live` keeps answering (tungstenite answers pings while reading).
    let deadline = Instant::now() + Duration::from_secs(8);
    while Instant::now() < deadline {
        let _ = live.try_recv(Duration::from_millis(200));
        if server.log().contains("no sign of life") {
            break;
        }
    }
    assert!(
        server.log().contains("no sign of life for 3s"),
        "{}",
        server.log()
    );
    // Heartbeat pings keep arriving every second: wait for the pong itself.
    live.send(json!({"cmd": "ping", "listener": "still"}));
    assert_eq!(common::until(&mut live, "pong")["listener"], "still");
}
