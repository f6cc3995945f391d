//! Every message acknowledged to its sender survives a SIGKILL of the server, and the store
//! opens cleanly afterwards.

mod common;

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Client, Server};
use serde_json::json;

/// Acknowledged messages after which the server is killed (mid-load: the writers go on):
/// well past the 20 the test needs. A slow machine gets the 1.5 s deadline instead.
const ENOUGH: usize = 400;

#[test]
fn acknowledged_messages_survive_sigkill() {
    let server = Server::with(json!({"rate_limiting": {"enabled": false}}));
    let names = ["s0", "s1", "s2", "s3"];
    let mut clients: Vec<Client> = names.iter().map(|n| server.register(n)).collect();
    // Drain presence packets.
    for c in clients.iter_mut() {
        c.sync();
    }
    let acked = Arc::new((Mutex::new(Vec::<String>::new()), Condvar::new()));
    let deadline = Instant::now() + Duration::from_millis(1500);
    let workers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(w, mut c)| {
            let acked = acked.clone();
            thread::spawn(move || {
                let mut n = 0;
                loop {
                    let content = format!("w{w} n{n}");
                    if c.ws.send(async_tungstenite::tungstenite::Message::text(
                        json!({"cmd": "message_new", "channel": "general", "content": content, "listener": "ack"}).to_string(),
                    ))
                    .is_err()
                    {
                        return;
                    }
                    // Read until our own acknowledgement (others' broadcasts come too).
                    loop {
                        match c.try_recv(Duration::from_secs(5)) {
                            Ok(p) if p["listener"] == "ack" => {
                                acked.0.lock().unwrap().push(p["message"]["id"].as_str().unwrap().to_string());
                                acked.1.notify_all();
                                break;
                            }
                            Ok(_) => continue,
                            Err(_) => return,
                        }
                    }
                    n += 1;
                    if Instant::now() > deadline + Duration::from_secs(30) {
                        return;
                    }
                }
            })
        })
        .collect();
    // Kill while the writers are busy, once enough is acknowledged (or at the deadline).
    drop(
        acked
            .1
            .wait_timeout_while(
                acked.0.lock().unwrap(),
                deadline.saturating_duration_since(Instant::now()),
                |ids| ids.len() < ENOUGH,
            )
            .unwrap(),
    );
    let dir = server.kill();
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.0.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
        "only {} messages were acknowledged",
        acked.len()
    );

    let server = Server::in_dir(dir, common::test_config(json!({})));
    let mut c = server.connected();
    c.login("s0", "secret123");
    c.expect("user_connect");
    let mut stored = Vec::new();
    let mut start = 0;
    loop {
        c.send(json!({"cmd": "messages_get", "channel": "general", "start": start, "limit": 200}));
        let mut page = c.recv();
        if page["cmd"] == "unreads_update" {
            page = c.recv();
        }
        let msgs = page["messages"].as_array().unwrap().clone();
        if msgs.is_empty() {
            break;
        }
        stored.extend(msgs.iter().map(|m| m["id"].as_str().unwrap().to_string()));
        start += 200;
    }
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged messages lost",
        missing.len(),
        acked.len()
    );
}
