//! Protocol-correct closes and backpressure (issue 13 item 4): every WebSocket violation is
//! answered with the close frame RFC 6455 §7.4.1 asks for, then the end of the stream; an
//! upgrade for another WebSocket version gets `426`; a client that pipelines many requests
//! and reads is answered in full and in order; `channel_create`/`channel_update` refuse
//! fields of the wrong JSON type.
//!
//! The violations are sent by a raw TCP client that writes hand-made frames and reads the
//! server's bytes, so nothing between the test and the server fixes or hides a frame.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

use std::sync::Arc;

use common::{Server, err, until, with_role};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use serde_json::{Value, json};

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const FIN: u8 = 0x80;

/// A client frame: `first` is the first header byte (FIN, RSV bits, opcode) as sent;
/// masked unless `masked` is false.
fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut out = vec![first];
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A final, masked text frame.
fn text(payload: &str) -> Vec<u8> {
    frame(FIN | OP_TEXT, payload.as_bytes(), true)
}

/// A close frame's payload: the code, then the reason's bytes.
fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// One frame from the server: its first header byte and its payload.
struct ServerFrame {
    first: u8,
    payload: Vec<u8>,
}

/// A WebSocket client that speaks raw bytes, over TCP or TLS.
struct Raw<S = TcpStream> {
    stream: S,
    /// Bytes read and not parsed yet.
    pending: Vec<u8>,
}

/// The upgrade's headers for version 13.
const UPGRADE_13: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// A plain connection to the server.
fn tcp(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    stream
}

impl Raw {
    /// Upgrades with the given request headers (after the request line and `Host`).
    fn upgrade(server: &Server, headers: &str) -> (TcpStream, String, Vec<u8>) {
        upgrade_over(tcp(server), server, headers)
    }

    /// An upgraded plain connection whose `handshake` packet has been read.
    fn open(server: &Server) -> Raw {
        Raw::open_over(tcp(server), server)
    }
}

/// Sends the upgrade request over `stream`; returns the answer's head and what followed.
fn upgrade_over<S: Read + Write>(
    mut stream: S,
    server: &Server,
    headers: &str,
) -> (S, String, Vec<u8>) {
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {}\r\n{headers}\r\n",
        server.addr
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).expect("no answer to the upgrade");
        assert!(n > 0, "closed before the answer: {got:?}");
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(got[..end].to_vec()).unwrap();
    (stream, head, got[end..].to_vec())
}

impl<S: Read + Write> Raw<S> {
    /// An upgraded connection over `stream` whose `handshake` packet has been read.
    fn open_over(stream: S, server: &Server) -> Raw<S> {
        let (stream, head, pending) = upgrade_over(stream, server, UPGRADE_13);
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let mut raw = Raw { stream, pending };
        let first = raw.next_frame().expect("no handshake");
        assert_eq!(first.first, FIN | OP_TEXT);
        let packet: Value = serde_json::from_slice(&first.payload).unwrap();
        assert_eq!(packet["cmd"], "handshake");
        raw
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next frame; `None` at the end of the stream.
    fn next_frame(&mut self) -> Option<ServerFrame> {
        loop {
            if let Some((frame, used)) = parse(&self.pending) {
                self.pending.drain(..used);
                return Some(frame);
            }
            let mut buf = [0u8; 8192];
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    assert!(self.pending.is_empty(), "a frame cut short");
                    return None;
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) => panic!("reading from the server failed: {e}"),
            }
        }
    }

    /// The next text frame as JSON (pings skipped); panics on a close or the end.
    fn packet(&mut self) -> Value {
        loop {
            let f = self
                .next_frame()
                .expect("closed while a packet was expected");
            match f.first {
                0x81 => return serde_json::from_slice(&f.payload).unwrap(),
                0x89 => continue,
                other => panic!("expected a packet, got a frame {other:#x}: {:?}", f.payload),
            }
        }
    }

    /// Reads up to the close frame (skipping packets and pings) and returns its code and
    /// reason, after checking that the server then ends the stream (a clean end, no reset).
    fn expect_close(mut self) -> (u16, String) {
        let close = loop {
            let f = self
                .next_frame()
                .expect("the stream ended without a close frame");
            match f.first {
                0x81 | 0x89 => continue,
                0x88 => break f,
                other => panic!("unexpected frame {other:#x}"),
            }
        };
        assert!(close.payload.len() >= 2, "a close frame without a code");
        let code = u16::from_be_bytes([close.payload[0], close.payload[1]]);
        let reason = String::from_utf8(close.payload[2..].to_vec()).expect("reason not UTF-8");
        assert!(close.payload.len() <= 125);
        let mut rest = [0u8; 64];
        match self.stream.read(&mut rest) {
            Ok(0) => {}
            Ok(n) => panic!("bytes after the close frame: {:?}", &rest[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                panic!("the server did not end the stream after its close frame")
            }
            Err(e) => panic!("the stream ended with an error, not cleanly: {e}"),
        }
        (code, reason)
    }
}

/// A whole server frame at the start of `bytes` (server frames are never masked).
fn parse(bytes: &[u8]) -> Option<(ServerFrame, usize)> {
    let (&first, &second) = (bytes.first()?, bytes.get(1)?);
    assert_eq!(second & 0x80, 0, "the server masked a frame");
    let (len, header) = match second & 0x7F {
        126 => (
            u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize,
            4,
        ),
        127 => {
            let mut be = [0u8; 8];
            be.copy_from_slice(bytes.get(2..10)?);
            (u64::from_be_bytes(be) as usize, 10)
        }
        short => (short as usize, 2),
    };
    let payload = bytes.get(header..header + len)?.to_vec();
    Some((ServerFrame { first, payload }, header + len))
}

/// Sends `bytes` on a fresh connection and returns the close frame's code and reason.
fn close_after(server: &Server, bytes: &[u8]) -> (u16, String) {
    let mut raw = Raw::open(server);
    raw.send(bytes);
    raw.expect_close()
}

#[test]
fn invalid_utf8_closes_with_1007() {
    let server = Server::start();
    let cases: [(&str, Vec<u8>); 3] = [
        (
            "text frame",
            frame(FIN | OP_TEXT, b"{\"cmd\":\"\xff\xfe\"}", true),
        ),
        (
            "fragmented text message",
            [
                frame(OP_TEXT, b"{\"cmd\":\"\xe2", true),
                frame(FIN | OP_CONTINUATION, b"\x28\"}", true),
            ]
            .concat(),
        ),
        (
            "close reason",
            frame(FIN | OP_CLOSE, &close_payload(1000, b"bye \xc3"), true),
        ),
    ];
    for (what, bytes) in cases {
        let (code, reason) = close_after(&server, &bytes);
        assert_eq!((code, reason.as_str()), (1007, "invalid UTF-8"), "{what}");
    }
}

#[test]
fn protocol_violations_close_with_1002() {
    let server = Server::start();
    let ping_126 = [0xABu8; 126];
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "continuation without a start",
            frame(FIN | OP_CONTINUATION, b"x", true),
            "continuation frame without a message",
        ),
        (
            "a new data frame inside a fragmented message",
            [
                frame(OP_TEXT, b"{\"cmd\":", true),
                text("{\"cmd\":\"ping\"}"),
            ]
            .concat(),
            "new data frame inside a fragmented message",
        ),
        (
            "unmasked client frame",
            frame(FIN | OP_TEXT, b"{\"cmd\":\"ping\"}", false),
            "unmasked client frame",
        ),
        (
            "RSV1 without an extension",
            frame(FIN | 0x40 | OP_TEXT, b"{\"cmd\":\"ping\"}", true),
            "reserved bits set",
        ),
        (
            "RSV2 and RSV3",
            frame(FIN | 0x30 | OP_PING, b"", true),
            "reserved bits set",
        ),
        (
            "reserved data opcode",
            frame(FIN | 0x3, b"x", true),
            "reserved opcode",
        ),
        (
            "reserved control opcode",
            frame(FIN | 0xB, b"x", true),
            "reserved opcode",
        ),
        (
            "control frame over 125 bytes",
            frame(FIN | OP_PING, &ping_126, true),
            "control frame over 125 bytes",
        ),
        (
            "fragmented control frame",
            frame(OP_PING, b"p", true),
            "fragmented control frame",
        ),
        (
            "close code below 1000",
            frame(FIN | OP_CLOSE, &close_payload(999, b""), true),
            "invalid close code",
        ),
        (
            "close code 1005 (never sent)",
            frame(FIN | OP_CLOSE, &close_payload(1005, b""), true),
            "invalid close code",
        ),
        (
            "unassigned close code",
            frame(FIN | OP_CLOSE, &close_payload(2000, b""), true),
            "invalid close code",
        ),
        (
            "a close payload of one byte",
            frame(FIN | OP_CLOSE, &[3], true),
            "invalid close frame",
        ),
    ];
    for (what, bytes, expected) in cases {
        let (code, reason) = close_after(&server, &bytes);
        assert_eq!((code, reason.as_str()), (1002, expected), "{what}");
    }
    // Nothing of it harmed the server.
    let mut c = server.register("alice");
    assert_eq!(c.request(json!({"cmd": "ping"}))["cmd"], "pong");
}

#[test]
fn a_peer_that_never_ends_the_connection_is_dropped_after_the_close_frame() {
    let server = Server::start();
    let mut raw = Raw::open(&server);
    let addr = raw.stream.local_addr().unwrap();
    raw.send(&frame(FIN | 0x40 | OP_TEXT, b"x", true));
    // The peer neither reads nor closes: the server gives up on it by itself (the log
    // line comes when the connection is gone).
    server.wait_log(&format!(" from {addr} closed: reserved bits set"));
    assert_eq!(raw.expect_close(), (1002, "reserved bits set".to_string()));
}

/// A TLS connection to the server, trusting the certificate it made.
fn tls(server: &Server) -> StreamOwned<ClientConnection, TcpStream> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(server.data_dir().join("tls-ca.pem")).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let connection = ClientConnection::new(Arc::new(config), name).unwrap();
    StreamOwned::new(connection, tcp(server))
}

#[test]
fn over_tls_a_violation_gets_its_close_frame_then_close_notify() {
    let server = Server::start();
    for (bytes, expected) in [
        (
            frame(FIN | OP_CONTINUATION, b"x", true),
            (1002, "continuation frame without a message"),
        ),
        (
            frame(FIN | OP_TEXT, b"\xc0\xaf", true),
            (1007, "invalid UTF-8"),
        ),
    ] {
        let mut raw = Raw::open_over(tls(&server), &server);
        raw.send(&bytes);
        // A clean end over TLS is a close_notify: rustls reads it as the end of the stream.
        let (code, reason) = raw.expect_close();
        assert_eq!((code, reason.as_str()), expected);
    }
}

/// Before authentication too: the header alone decides, so a frame that declares a large
/// payload never makes the server wait for (or reserve room for) it.
#[test]
fn a_frame_whose_header_breaks_the_protocol_is_refused_before_its_payload() {
    let server = Server::start();
    let header_of = |first: u8, len: usize, masked: bool| {
        let mut f = frame(first, &vec![0u8; len], masked);
        f.truncate(if masked { 14 } else { 10 });
        f
    };
    for (header, expected) in [
        (
            header_of(FIN | OP_TEXT, 2_000_000, false),
            "unmasked client frame",
        ),
        (
            header_of(FIN | OP_PING, 2_000_000, true),
            "control frame over 125 bytes",
        ),
        (header_of(FIN | 0x4, 2_000_000, true), "reserved opcode"),
        (
            header_of(FIN | OP_CONTINUATION, 2_000_000, true),
            "continuation frame without a message",
        ),
    ] {
        let (code, reason) = close_after(&server, &header);
        assert_eq!((code, reason.as_str()), (1002, expected));
    }
}

#[test]
fn a_valid_close_is_answered_with_1000_then_the_end() {
    let server = Server::start();
    for payload in [
        Vec::new(),
        close_payload(1000, b""),
        close_payload(4000, b"bye"),
    ] {
        let (code, reason) = close_after(&server, &frame(FIN | OP_CLOSE, &payload, true));
        assert_eq!((code, reason.as_str()), (1000, ""), "{payload:?}");
    }
}

#[test]
fn a_message_too_big_closes_with_1009() {
    let server = Server::with(json!({"connections": {"max_message_bytes": 4096}}));
    let big = format!("{{\"cmd\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(5000));
    let (code, reason) = close_after(&server, &text(&big));
    assert_eq!((code, reason.as_str()), (1009, "message too big"));
    // Declared in a header, the rest never sent: refused from the header alone.
    let mut header = frame(FIN | OP_TEXT, &vec![b'x'; 70_000], true);
    header.truncate(14);
    let (code, _) = close_after(&server, &header);
    assert_eq!(code, 1009);
}

#[test]
fn too_many_failed_logins_close_with_1008() {
    let server = Server::with(json!({"connections": {"max_failed_auth": 3}}));
    let mut raw = Raw::open(&server);
    for _ in 0..3 {
        raw.send(&text(
            &json!({"cmd": "login", "username": "nobody", "password": "wrong-password"})
                .to_string(),
        ));
        assert_eq!(raw.packet()["cmd"], "auth_error");
    }
    let (code, reason) = raw.expect_close();
    assert_eq!(
        (code, reason.as_str()),
        (1008, "too many failed authentication attempts")
    );
}

#[test]
fn a_binary_frame_is_refused_by_an_error_packet_and_the_connection_stays() {
    let server = Server::start();
    let mut raw = Raw::open(&server);
    raw.send(&frame(FIN | 0x2, b"\x00\x01", true));
    assert_eq!(
        raw.packet(),
        json!({"cmd": "error", "val": "Binary frames are not supported: send JSON text frames"})
    );
    raw.send(&text("{\"cmd\":\"ping\"}"));
    assert_eq!(raw.packet()["cmd"], "auth_error");
}

#[test]
fn other_websocket_versions_get_426_with_the_supported_version() {
    let server = Server::start();
    for version in [
        "Sec-WebSocket-Version: 8\r\n",
        "Sec-WebSocket-Version: 14\r\n",
        "Sec-WebSocket-Version: 13, 8\r\n",
        "",
    ] {
        let (mut stream, head, mut body) = Raw::upgrade(
            &server,
            &format!(
                "Upgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{version}"
            ),
        );
        assert!(
            head.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
            "{version:?}: {head}"
        );
        assert!(
            head.contains("\r\nSec-WebSocket-Version: 13\r\n"),
            "{version:?}: {head}"
        );
        stream.read_to_end(&mut body).expect("not closed cleanly");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            json!({"error": "Unsupported WebSocket version: this server speaks version 13"})
        );
    }
    // Version 13 still upgrades.
    Raw::open(&server);
}

/// `count` masked text frames in one buffer, written with one call.
fn pipelined(count: usize, packet: impl Fn(usize) -> Value) -> Vec<u8> {
    (0..count)
        .flat_map(|i| text(&packet(i).to_string()))
        .collect()
}

#[test]
fn three_hundred_pipelined_pings_are_all_answered_in_order() {
    let server = Server::start();
    let mut c = server.register("alice");
    let burst = pipelined(300, |i| json!({"cmd": "ping", "listener": format!("p{i}")}));
    c.ws.get_mut().write_all(&burst).unwrap();
    for i in 0..300 {
        let p = c.recv();
        assert_eq!(
            p,
            json!({"cmd": "pong", "val": "pong", "listener": format!("p{i}")})
        );
    }
    c.expect_quiet();
    let log = server.log_so_far();
    assert!(!log.contains("slow consumer"), "{log}");
}

#[test]
fn pipelined_history_requests_larger_than_the_send_queue_are_all_answered() {
    // 300 answers of about 12 KB: 3.6 MB in all, more than three send queues' worth.
    let server = Server::with(json!({"rate_limiting": {"enabled": false}}));
    let mut c = server.register("alice");
    for i in 0..30 {
        c.send(json!({"cmd": "message_new", "channel": "general",
                      "content": format!("{i} {}", "y".repeat(300))}));
        until(&mut c, "message_new");
    }
    let burst = pipelined(300, |i| {
        json!({"cmd": "messages_get", "channel": "general", "limit": 30,
               "listener": format!("h{i}")})
    });
    c.ws.get_mut().write_all(&burst).unwrap();
    let mut bytes = 0;
    for i in 0..300 {
        assert_eq!(c.recv()["cmd"], "unreads_update", "before answer {i}");
        let p = c.recv();
        bytes += p.to_string().len();
        assert_eq!(p["cmd"], "messages_get", "answer {i}");
        assert_eq!(p["listener"], format!("h{i}"), "answers in order");
        assert_eq!(p["messages"].as_array().unwrap().len(), 30);
    }
    assert!(bytes > 3 * 1024 * 1024, "{bytes}");
    c.expect_quiet();
    let log = server.log_so_far();
    assert!(!log.contains("slow consumer"), "{log}");
}

#[test]
fn channel_fields_of_the_wrong_type_are_refused() {
    let server = Server::start();
    let mut owner = with_role(&server, "olive", "owner");
    for (fields, text) in [
        (
            json!({"name": "n", "type": "text", "description": 5}),
            "Invalid field 'description': invalid type: integer `5`, expected a string",
        ),
        (
            json!({"name": "n", "type": "text", "description": ["a"]}),
            "Invalid field 'description': invalid type: sequence, expected a string",
        ),
        (
            json!({"name": "n", "type": "text", "display_name": true}),
            "Invalid field 'display_name': invalid type: boolean `true`, expected a string",
        ),
        (
            json!({"name": "n", "type": "separator", "size": "big"}),
            "Invalid field 'size': expected a number",
        ),
        (
            json!({"name": "n", "type": "separator", "size": {"px": 3}}),
            "Invalid field 'size': expected a number",
        ),
        (
            json!({"name": "n", "type": "text", "permissions": [1]}),
            "Permissions must be an object",
        ),
    ] {
        let mut req = fields.clone();
        req["cmd"] = json!("channel_create");
        assert_eq!(owner.request(req), err("channel_create", text), "{fields}");
    }
    // Nothing was created by the refused requests; a null or empty field is still absent.
    owner.send(
        json!({"cmd": "channel_create", "name": "n", "type": "separator",
                      "description": null, "display_name": "", "size": 12}),
    );
    until(&mut owner, "channels_get");
    assert_eq!(
        owner.recv(),
        json!({"cmd": "channel_create", "created": true,
               "channel": {"name": "n", "type": "separator", "size": 12,
                           "permissions": {"view": ["owner"], "send": ["owner"], "delete": ["owner"],
                                           "create_thread": ["owner"], "delete_own": ["user"],
                                           "edit_own": ["user"], "react": ["user"], "pin": ["owner"]}}})
    );
    for (updates, text) in [
        (
            json!({"description": 5}),
            "Invalid field 'updates.description': invalid type: integer `5`, expected a string",
        ),
        (
            json!({"display_name": {"x": 1}}),
            "Invalid field 'updates.display_name': invalid type: map, expected a string",
        ),
        (
            json!({"size": "20"}),
            "Invalid field 'updates.size': expected a number",
        ),
    ] {
        assert_eq!(
            owner
                .request(json!({"cmd": "channel_update", "current_name": "n", "updates": updates})),
            err("channel_update", text),
            "{updates}"
        );
    }
    owner.send(json!({"cmd": "channel_update", "current_name": "n",
                      "updates": {"description": "Between", "display_name": "N", "size": 20}}));
    until(&mut owner, "channels_get");
    let updated = owner.recv();
    assert_eq!(updated["cmd"], "channel_update");
    assert_eq!(
        (
            &updated["channel"]["description"],
            &updated["channel"]["display_name"],
            &updated["channel"]["size"]
        ),
        (&json!("Between"), &json!("N"), &json!(20))
    );
}
