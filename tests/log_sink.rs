//! The log never holds up the clients: standard error is a pipe (to journald, or to whoever
//! started the server), and a server whose log nobody reads fast enough keeps serving. The
//! lines it could not write are dropped and counted.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::{Client, binary, test_config};
use serde_json::json;

/// Connections opened and closed while nobody reads the log: each logs its opening and its
/// end (~140 bytes), together more than the pipe's 64 KiB and the logger's queue hold.
const CONNECTIONS: usize = 1500;

#[test]
fn a_server_whose_log_is_not_read_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, test_config(json!({})).to_string()).unwrap();
    let mut child = Command::new(binary())
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read up to the listening address, then no more: the pipe fills up.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr: SocketAddr = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the server ended before it listened"
        );
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    for _ in 0..CONNECTIONS {
        let mut c = Client::connect(addr);
        c.expect("handshake");
        let _ = c.ws.close(None);
        let _ = c.ws.flush();
    }
    let mut c = Client::connect(addr);
    c.expect("handshake");
    // Anything before a login is answered with this: the server is still reading and writing.
    let reply = c.request(json!({"cmd": "ping"}));
    assert_eq!(reply["cmd"], "auth_error", "{reply}");
    // Read again: the lines that found the queue full were counted, and the count is logged.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    let counted = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("log line(s) dropped") => break true,
            Ok(_) => {}
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(counted, "no count of the dropped lines in the log");
}
