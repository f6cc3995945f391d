//! Large inbound messages (docs/protocol.md#15-limits): above `connections.max_message_bytes`
//! only after authentication, only up to `connections.max_large_message_bytes`, only for the
//! commands that carry images, and only while the server-wide budget
//! (`connections.large_messages_budget_bytes`) holds them; otherwise the sender is told to
//! retry and its connection goes on. Frames are written by hand where a test needs to stop
//! in the middle of a message or to fragment it.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use std::io::Write;

use async_tungstenite::tungstenite::Message;
use common::{Client, Server, png, with_role};
use serde_json::{Value, json};

const BUSY: &str = "The server is busy receiving other large messages: try again in a moment";
const MAX: usize = 65536;
const KIB: usize = 1024;

/// The heartbeat would make the test client answer pings in the middle of a hand-written
/// message; these tests finish long before it.
fn quiet(connections: Value) -> Value {
    let mut c = json!({"ping_interval_seconds": 600, "idle_timeout_seconds": 1200});
    for (k, v) in connections.as_object().unwrap() {
        c[k] = v.clone();
    }
    json!({ "connections": c })
}

/// A server whose large messages are at most 300 000 bytes, 300 000 of them at once.
fn small_budget() -> Server {
    Server::with(quiet(json!({
        "max_large_message_bytes": 300_000, "large_messages_budget_bytes": 300_000
    })))
}

/// A `message_new` of exactly `size` bytes.
fn message_new(size: usize, listener: &str) -> String {
    let head = format!(
        "{{\"cmd\":\"message_new\",\"channel\":\"general\",\"listener\":\"{listener}\",\
         \"content\":\""
    );
    let tail = "\"}";
    let pad = size - head.len() - tail.len();
    format!("{head}{}{tail}", "x".repeat(pad))
}

/// The answer to a large `message_new`: it is read, and refused for its size.
fn too_large(listener: &str) -> Value {
    json!({"cmd": "error", "src": "message_new", "listener": listener,
           "val": format!("Message too large for message_new: at most {MAX} bytes")})
}

/// A masked client frame header for `len` payload bytes, with a fixed mask key.
fn header(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&KEY);
    out
}

const KEY: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// `payload` masked as the part of a frame's payload that starts at byte `at`.
fn masked(payload: &[u8], at: usize) -> Vec<u8> {
    payload
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ KEY[(at + i) % 4])
        .collect()
}

/// A whole masked frame.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = header(fin, opcode, payload.len());
    out.extend(masked(payload, 0));
    out
}

fn raw(c: &mut Client, bytes: &[u8]) {
    c.ws.get_mut().write_all(bytes).unwrap();
}

/// Sends a WebSocket ping by hand and waits for its pong: everything sent before it has
/// been read by the server.
fn ping_pong(c: &mut Client, tag: &[u8]) {
    raw(c, &frame(true, 0x9, tag));
    loop {
        match c.ws.read().unwrap() {
            Message::Pong(p) if p.as_ref() == tag => return,
            Message::Text(t) => panic!("expected the pong, got {t}"),
            _ => {}
        }
    }
}

fn peer(c: &Client) -> String {
    c.ws.get_ref().local_addr().unwrap().to_string()
}

/// Waits until the server holds `held` budget bytes for this client's connection.
fn wait_held(server: &Server, c: &Client, held: usize) {
    server.wait_log(&format!(
        "({}): receiving a large message: {held} bytes held",
        peer(c)
    ));
}

#[test]
fn before_authentication_a_large_message_still_closes_with_1009() {
    let server = Server::with(quiet(json!({})));
    let mut c = server.connected();
    let _ =
        c.ws.get_mut()
            .write_all(&frame(true, 0x1, &[b'x'; 100 * KIB]));
    assert_eq!(c.expect_close(), Some(1009));
    server.wait_log(&format!(
        "({}): message of {} bytes exceeds {MAX}",
        peer(&c),
        100 * KIB
    ));
}

/// Sent right behind the login, in the same write: judged once the login has been handled.
#[test]
fn a_large_message_right_behind_the_login_counts_as_authenticated() {
    let server = Server::with(quiet(json!({})));
    let mut c = server.connected();
    let register = json!({"cmd": "register", "username": "alice", "password": "secret123"});
    let mut bytes = frame(true, 0x1, register.to_string().as_bytes());
    bytes.extend(frame(true, 0x1, message_new(100 * KIB, "eager").as_bytes()));
    raw(&mut c, &bytes);
    c.expect("auth_success");
    assert_eq!(common::until(&mut c, "error"), too_large("eager"));
}

#[test]
fn an_image_of_1_5_mib_in_server_update_is_read_and_answered() {
    let server = Server::with(quiet(json!({})));
    let mut owner = with_role(&server, "alice", "owner");
    // A PNG of 1.1 MiB: about 1.5 MiB as a data URL.
    let icon = format!(
        "data:image/png;base64,{}",
        STANDARD.encode(png(16, 16, 1100 * KIB))
    );
    assert!(icon.len() > 1400 * KIB);
    owner.send(json!({"cmd": "server_update", "icon": icon, "listener": "big"}));
    // Stored as a server asset: everyone gets its URL, not the image (the sender twice:
    // the broadcast and the reply).
    let update = json!({"cmd": "server_update", "name": "My OriginChats Server",
        "icon": format!("http://{}/server-assets/icon", server.addr), "banner": ""});
    assert_eq!(owner.recv(), update);
    let mut reply = update;
    reply["listener"] = json!("big");
    assert_eq!(owner.recv(), reply);
    owner.expect_quiet();
}

#[test]
fn another_command_in_a_large_message_is_refused_and_the_connection_goes_on() {
    let server = Server::with(quiet(json!({})));
    let mut c = server.register("alice");
    c.send_text(&message_new(1536 * KIB, "m"));
    assert_eq!(c.recv(), too_large("m"));
    // At the limit itself it is an ordinary message.
    let at_limit = message_new(MAX, "ok");
    c.send_text(&at_limit);
    assert_eq!(
        c.recv(),
        json!({"cmd": "error", "src": "message_new", "listener": "ok",
               "val": "Message too long. Maximum length is 2000 characters"})
    );
    assert_eq!(c.request(json!({"cmd": "ping"}))["cmd"], "pong");
}

#[test]
fn a_message_above_the_large_limit_closes_with_1009() {
    let server = small_budget();
    let mut c = server.register("alice");
    let _ =
        c.ws.get_mut()
            .write_all(&frame(true, 0x1, &[b'x'; 300_001]));
    assert_eq!(c.expect_close(), Some(1009));
    server.wait_log(&format!(
        "({}): message of 300001 bytes exceeds 300000",
        peer(&c)
    ));
}

#[test]
fn a_full_budget_skips_a_large_message_until_it_is_free_again() {
    let server = small_budget();
    let mut a = server.register("alice");
    let mut b = server.register("bob");
    a.sync();
    // A declares 200 000 bytes and sends half of them, then holds.
    let a_text = message_new(200_000, "a");
    let mut bytes = header(true, 0x1, a_text.len());
    bytes.extend(masked(&a_text.as_bytes()[..100_000], 0));
    raw(&mut a, &bytes);
    wait_held(&server, &a, 200_000);
    // B's 150 000 do not fit next to them: skipped, and B goes on.
    b.send_text(&message_new(150_000, "b1"));
    assert_eq!(b.recv(), json!({"cmd": "error", "val": BUSY}));
    assert_eq!(b.sync(), Vec::<Value>::new());
    // A finishes: its message is handled.
    raw(&mut a, &masked(&a_text.as_bytes()[100_000..], 100_000));
    assert_eq!(a.recv(), too_large("a"));
    // Handled, its bytes are free: B's fits now.
    b.send_text(&message_new(150_000, "b2"));
    assert_eq!(b.recv(), too_large("b2"));
    a.expect_quiet();
    b.expect_quiet();
}

#[test]
fn a_connection_dropped_in_the_middle_of_a_large_message_frees_its_bytes() {
    let server = small_budget();
    let mut a = server.register("alice");
    let mut b = server.register("bob");
    let mut bytes = header(true, 0x1, 200_000);
    bytes.extend(masked(&[b'x'; 100_000], 0));
    raw(&mut a, &bytes);
    wait_held(&server, &a, 200_000);
    b.send_text(&message_new(290_000, "full"));
    assert_eq!(b.recv(), json!({"cmd": "error", "val": BUSY}));
    server.close(a);
    b.send_text(&message_new(290_000, "free"));
    assert_eq!(common::until(&mut b, "error"), too_large("free"));
}

/// Four fragments of 50 000 bytes with pings between them: a large message as well, held
/// in the budget from the fragment that makes it large.
#[test]
fn a_fragmented_large_message_works_and_counts() {
    let server = small_budget();
    let mut a = server.register("alice");
    let mut b = server.register("bob");
    a.sync();
    let text = message_new(200_000, "frag");
    let parts: Vec<&[u8]> = text.as_bytes().chunks(50_000).collect();
    raw(&mut a, &frame(false, 0x1, parts[0]));
    ping_pong(&mut a, b"1");
    raw(&mut a, &frame(false, 0x0, parts[1]));
    ping_pong(&mut a, b"2");
    // 100 000 held for A: B's 250 000 do not fit.
    b.send_text(&message_new(250_000, "b1"));
    assert_eq!(b.recv(), json!({"cmd": "error", "val": BUSY}));
    raw(&mut a, &frame(false, 0x0, parts[2]));
    ping_pong(&mut a, b"3");
    raw(&mut a, &frame(true, 0x0, parts[3]));
    assert_eq!(a.recv(), too_large("frag"));
    b.send_text(&message_new(250_000, "b2"));
    assert_eq!(b.recv(), too_large("b2"));
}

/// B's message is large from its first fragment on (70 000 bytes fit next to A's 200 000),
/// and outgrows the budget with its second:
/// what was passed on is dropped, B is told, and its bytes are freed.
#[test]
fn a_message_that_outgrows_the_budget_is_dropped_and_freed() {
    let server = small_budget();
    let mut a = server.register("alice");
    let mut b = server.register("bob");
    a.sync();
    let a_text = message_new(250_000, "a");
    raw(&mut a, &frame(false, 0x1, &a_text.as_bytes()[..200_000]));
    ping_pong(&mut a, b"held");
    let b_text = message_new(120_000, "cut");
    raw(&mut b, &frame(false, 0x1, &b_text.as_bytes()[..70_000]));
    raw(&mut b, &frame(true, 0x0, &b_text.as_bytes()[70_000..]));
    assert_eq!(b.recv(), json!({"cmd": "error", "val": BUSY}));
    // Nothing else: the start that got through is not answered.
    assert_eq!(b.sync(), Vec::<Value>::new());
    raw(&mut a, &frame(true, 0x0, &a_text.as_bytes()[200_000..]));
    assert_eq!(a.recv(), too_large("a"));
    // Everything is free again, B's dropped start included.
    b.send_text(&message_new(300_000, "all"));
    assert_eq!(b.recv(), too_large("all"));
}

/// Tungstenite's read buffer would keep each large message's allocation for as long as its
/// connection lives (1.5 MiB here on every connection, 24 MiB in all); the server replaces
/// it after each large message. Seen in the server's resident memory (Linux).
#[cfg(target_os = "linux")]
#[test]
fn large_messages_leave_no_buffer_behind() {
    let server = Server::with(quiet(json!({})));
    let resident_kib = || -> usize {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let mut clients: Vec<Client> = (0..16)
        .map(|i| server.register(&format!("user{i}")))
        .collect();
    for c in &mut clients {
        c.sync();
    }
    let before = resident_kib();
    let text = message_new(1536 * KIB, "big");
    for c in &mut clients {
        c.send_text(&text);
        assert_eq!(common::until(c, "error"), too_large("big"));
    }
    let grown = resident_kib().saturating_sub(before);
    assert!(grown < 12 * KIB, "{grown} KiB more after 16 large messages");
}
