//! Native TLS on the WebSocket port: `wss://` and `https://` next to `ws://` and `http://`,
//! the certificate files picked up again without a restart, and the bounds (handshake
//! timeout, connection cap) holding for TLS connections.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::{self, Message, WebSocket};
use common::{Server, TIMEOUT};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use serde_json::{Value, json};

type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// A rustls client configuration trusting exactly `roots`.
fn client_config(roots: &[CertificateDer<'static>]) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// The certificate the server asks devices to trust, read from its data directory.
fn generated_ca(server: &Server) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(server.data_dir().join("tls-ca.pem")).unwrap()
}

/// A TLS connection to the server, checked against `config`, for the name `name`.
fn tls_connect(server: &Server, config: &Arc<ClientConfig>, name: &str) -> TlsStream {
    let name = ServerName::try_from(name.to_string()).unwrap();
    let connection = ClientConnection::new(config.clone(), name).unwrap();
    let tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut stream = StreamOwned::new(connection, tcp);
    // Completes the handshake (and fails here if the certificate is not trusted).
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .expect("TLS handshake");
    }
    stream
}

/// One HTTP request over `stream`; returns the whole answer.
fn http_over(mut stream: impl Read + Write, request: &str) -> String {
    stream.write_all(request.as_bytes()).unwrap();
    stream.flush().unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn body(answer: &str) -> &str {
    answer.split("\r\n\r\n").nth(1).unwrap_or_default()
}

/// The next text packet of a WebSocket, skipping control frames.
fn recv<S: Read + Write>(ws: &mut WebSocket<S>) -> Value {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(f) => panic!("closed: {f:?}"),
            _ => continue,
        }
    }
}

/// The handshake packet without the per-connection key.
fn handshake_without_key(mut packet: Value) -> Value {
    assert_eq!(packet["cmd"], "handshake", "{packet}");
    let key = packet["val"]
        .as_object_mut()
        .unwrap()
        .remove("validator_key");
    assert!(key.is_some_and(|k| k.as_str().unwrap().starts_with("originChats-")));
    packet
}

#[test]
fn wss_and_https_share_the_port_with_ws_and_http() {
    let server = Server::start();
    let config = client_config(&[generated_ca(&server)]);

    // The same handshake packet over wss:// as over ws://.
    let mut plain = server.client();
    let plain_handshake = handshake_without_key(plain.recv());
    let tls = tls_connect(&server, &config, "localhost");
    let (mut secure, response) =
        tungstenite::client(format!("wss://localhost:{}/", server.addr.port()), tls).unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(handshake_without_key(recv(&mut secure)), plain_handshake);
    server.wait_log("(TLS, ");

    // Packets flow between the two transports both ways.
    secure
        .send(Message::text(
            json!({"cmd": "register", "username": "alice", "password": "secret123"}).to_string(),
        ))
        .unwrap();
    assert_eq!(recv(&mut secure)["cmd"], "auth_success");
    assert_eq!(recv(&mut secure)["cmd"], "ready");
    plain.register("bob", "secret123");
    plain.send(json!({"cmd": "message_new", "channel": "general", "content": "hi over ws"}));
    let seen = loop {
        let p = recv(&mut secure);
        if p["cmd"] == "message_new" {
            break p;
        }
    };
    assert_eq!(seen["message"]["content"], "hi over ws");
    assert_eq!(seen["message"]["user"], "USR:local_bob");
    secure
        .send(Message::text(
            json!({"cmd": "message_new", "channel": "general", "content": "hi over wss"})
                .to_string(),
        ))
        .unwrap();
    let seen = loop {
        let p = plain.recv();
        if p["cmd"] == "message_new" && p["message"]["user"] == "USR:local_alice" {
            break p;
        }
    };
    assert_eq!(seen["message"]["content"], "hi over wss");

    // The same HTTP answers over https:// as over http://, on the address too (it is in
    // the certificate).
    let request = "GET /info HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let (status, plain_body) = server.http(request);
    assert_eq!(status, "HTTP/1.1 200 OK");
    let answer = http_over(tls_connect(&server, &config, "127.0.0.1"), request);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert_eq!(body(&answer), plain_body);
    let answer = http_over(
        tls_connect(&server, &config, "::1"),
        "GET /info/nowhere HTTP/1.1\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
}

#[test]
fn the_tls_page_shows_the_fingerprint_the_server_logs_and_serves_the_certificate() {
    let server = Server::start();
    let ca = generated_ca(&server);
    let config = client_config(std::slice::from_ref(&ca));
    let fingerprint: Vec<String> = ring::digest::digest(&ring::digest::SHA256, &ca)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let fingerprint = fingerprint.join(":");
    server.wait_log(&format!("SHA-256 fingerprint {fingerprint}"));
    server.wait_log("/tls once");

    let page = http_over(
        tls_connect(&server, &config, "localhost"),
        "GET /tls HTTP/1.1\r\nHost: localhost:5613\r\n\r\n",
    );
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"));
    assert!(page.contains("\r\nContent-Security-Policy: default-src 'self'\r\n"));
    assert!(page.contains("\r\nX-Content-Type-Options: nosniff\r\n"));
    assert!(body(&page).contains(&fingerprint));
    assert!(body(&page).contains("wss://localhost:5613"));
    assert!(body(&page).contains("href=\"/tls/cert.crt\""));
    for platform in ["iPhone", "Android", "Windows", "macOS", "Linux", "Firefox"] {
        assert!(body(&page).contains(platform), "{platform}");
    }
    assert!(!body(&page).contains("<script") && !body(&page).contains("http://"));

    // Plain HTTP serves it too (a device fetches the certificate before trusting it).
    let (status, cert) = server.http("GET /tls/cert.crt HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        CertificateDer::from_pem_slice(cert.as_bytes()).unwrap(),
        ca,
        "the download is the certificate to trust"
    );

    // admin tls-info says the same.
    let out = server.admin(&["tls-info"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("SHA-256 fingerprint: {fingerprint}\n")),
        "{text}"
    );
    assert!(text.contains("/tls\n"), "{text}");
}

#[test]
fn the_self_signed_certificate_is_kept_across_restarts() {
    let server = Server::start();
    let first = generated_ca(&server);
    let key_before = std::fs::read(server.data_dir().join("tls-key.pem")).unwrap();
    let server = server.restart();
    assert_eq!(generated_ca(&server), first);
    assert_eq!(
        std::fs::read(server.data_dir().join("tls-key.pem")).unwrap(),
        key_before
    );
    let config = client_config(&[first]);
    let answer = http_over(
        tls_connect(&server, &config, "localhost"),
        "GET /info HTTP/1.1\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");

    // A broken key is never replaced silently: the server refuses to start and says which
    // file is wrong.
    let dir = server.kill();
    let key_path = dir.path().join("data").join("tls-key.pem");
    std::fs::write(&key_path, "not a key").unwrap();
    let status = std::process::Command::new(common::binary())
        .arg("--config")
        .arg(dir.path().join("config.json"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(!status.status.success());
    let log = String::from_utf8_lossy(&status.stderr);
    assert!(log.contains("tls-key.pem"), "{log}");
    assert_eq!(std::fs::read(&key_path).unwrap(), b"not a key");
}

/// A certificate for localhost (self-signed) and its key, PEM.
fn make_pair() -> (CertificateDer<'static>, String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.der().clone(), cert.pem(), key.serialize_pem())
}

fn served_certificate(server: &Server, config: &Arc<ClientConfig>) -> CertificateDer<'static> {
    let stream = tls_connect(server, config, "localhost");
    stream.conn.peer_certificates().unwrap()[0].clone()
}

#[test]
fn a_changed_certificate_file_is_served_without_a_restart() {
    let files = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    let (old_der, old_cert, old_key) = make_pair();
    let (new_der, new_cert, new_key) = make_pair();
    std::fs::write(&cert_path, &old_cert).unwrap();
    std::fs::write(&key_path, &old_key).unwrap();
    let server = Server::with(json!({"tls": {
        "mode": "files",
        "cert": cert_path.to_str().unwrap(),
        "key": key_path.to_str().unwrap(),
    }}));
    assert!(!server.data_dir().join("tls-key.pem").exists());
    let config = client_config(&[old_der.clone(), new_der.clone()]);
    assert_eq!(served_certificate(&server, &config), old_der);
    // An open connection is not disturbed by the change.
    let (mut open, _) = tungstenite::client(
        format!("wss://localhost:{}/", server.addr.port()),
        tls_connect(&server, &config, "localhost"),
    )
    .unwrap();
    assert_eq!(recv(&mut open)["cmd"], "handshake");

    replace(&cert_path, &new_cert);
    replace(&key_path, &new_key);
    let deadline = Instant::now() + TIMEOUT;
    while served_certificate(&server, &config) != new_der {
        assert!(
            Instant::now() < deadline,
            "never served the new certificate"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.wait_log("now serving the new certificate");
    open.send(Message::text(
        json!({"cmd": "register", "username": "alice", "password": "secret123"}).to_string(),
    ))
    .unwrap();
    assert_eq!(recv(&mut open)["cmd"], "auth_success");

    // A broken replacement is reported, and the last good certificate stays in use.
    replace(&cert_path, "-----BEGIN CERTIFICATE-----\nbroken\n");
    server.wait_log("still serving the previous certificate");
    assert!(
        server
            .log()
            .contains("cert.pem holds no usable PEM certificate")
    );
    assert_eq!(served_certificate(&server, &config), new_der);
}

/// Replaces a file the way certificate tools do: a new file renamed over the old one.
fn replace(path: &Path, text: &str) {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// The start of a ClientHello: a TLS record header announcing more than is sent.
const PARTIAL_CLIENT_HELLO: [u8; 9] = [0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0xfc];

#[test]
fn a_stalled_tls_handshake_is_dropped_at_the_timeout() {
    let server = Server::with(json!({"connections": {"handshake_timeout_seconds": 1}}));
    let started = Instant::now();
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled.set_read_timeout(Some(TIMEOUT)).unwrap();
    stalled.write_all(&PARTIAL_CLIENT_HELLO).unwrap();
    let got = read_until_closed(&mut stalled);
    let waited = started.elapsed();
    assert!(got.is_empty(), "the server answered {got:?}");
    assert!(
        waited >= Duration::from_millis(900),
        "dropped too early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "dropped too late: {waited:?}"
    );
    server.wait_log("no complete request: timed out");
    // The server goes on.
    let config = client_config(&[generated_ca(&server)]);
    assert!(served_certificate(&server, &config).len() > 100);
}

/// Everything the server sends before it closes the connection (a reset counts as closed).
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let closed = stream.read_to_end(&mut got);
    assert!(
        closed.is_ok()
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "not closed by the server: {closed:?}"
    );
    got
}

/// A complete ClientHello, as a real client sends it first.
fn client_hello() -> Vec<u8> {
    let config = client_config(&[]);
    let mut connection =
        ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
    let mut hello = Vec::new();
    connection.write_tls(&mut hello).unwrap();
    assert_eq!(hello[0], 0x16);
    hello
}

#[test]
fn over_the_cap_a_tls_client_is_closed_without_plaintext() {
    let server = Server::with(json!({"connections": {"max": 1}}));
    let _inside = server.connected();
    let mut refused = TcpStream::connect(server.addr).unwrap();
    refused.set_read_timeout(Some(TIMEOUT)).unwrap();
    refused.write_all(&client_hello()).unwrap();
    let got = read_until_closed(&mut refused);
    assert!(
        got.is_empty(),
        "plaintext in a TLS stream: {:?}",
        String::from_utf8_lossy(&got)
    );
    server.wait_log("connections are open (connections.max in the config file)");
    // A plain client over the cap is still told why.
    let (status, body) = server.http("GET /info HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    assert_eq!(body, r#"{"error": "Server full"}"#);
}

#[test]
fn with_tls_off_the_port_is_plain_only() {
    let server = Server::with(json!({"tls": {"mode": "off"}}));
    server.wait_log("TLS is off");
    assert!(!server.data_dir().join("tls-cert.pem").exists());
    let mut hello = TcpStream::connect(server.addr).unwrap();
    hello.set_read_timeout(Some(TIMEOUT)).unwrap();
    hello.write_all(&client_hello()).unwrap();
    let mut got = Vec::new();
    let _ = hello.read_to_end(&mut got);
    assert!(got.is_empty() || !got.starts_with(&[0x16]), "{got:?}");
    let (status, _) = server.http("GET /tls HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let mut c = server.connected();
    c.register("alice", "secret123");
    assert_eq!(c.request(json!({"cmd": "ping"}))["cmd"], "pong");
}

#[test]
fn the_certificate_names_this_machine() {
    let server = Server::start();
    let pem = std::fs::read(server.data_dir().join("tls-cert.pem")).unwrap();
    let chain: Vec<CertificateDer> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(chain.len(), 2, "leaf, then the CA");
    assert_eq!(chain[1], generated_ca(&server));
    let config = client_config(&[generated_ca(&server)]);
    // Every address the server listens for on this machine is in the certificate.
    for ip in ["127.0.0.1", "::1"] {
        let ip: IpAddr = ip.parse().unwrap();
        let stream = tls_connect(&server, &config, &ip.to_string());
        assert_eq!(stream.conn.peer_certificates().unwrap()[0], chain[0]);
    }
    // A name that is not this machine's is refused by the client.
    let name = ServerName::try_from("example.org").unwrap();
    let connection = ClientConnection::new(config, name).unwrap();
    let tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut stream = StreamOwned::new(connection, tcp);
    let e = stream.conn.complete_io(&mut stream.sock).and_then(|_| {
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(())
    });
    assert!(e.is_err(), "a wrong name was accepted");
}

/// A device that does not trust the certificate refuses the handshake; the log says what
/// to do about it (the most common reason a phone "could not connect").
#[test]
fn a_client_that_does_not_trust_the_certificate_is_pointed_to_the_tls_page() {
    let server = Server::start();
    let config = client_config(&[make_pair().0]);
    let name = ServerName::try_from("localhost").unwrap();
    let connection = ClientConnection::new(config, name).unwrap();
    let tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut stream = StreamOwned::new(connection, tcp);
    let refused = (|| {
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok::<_, std::io::Error>(())
    })();
    assert!(refused.is_err(), "an unknown issuer was accepted");
    server.wait_log("does not trust this server's TLS certificate: open https://");
}

#[test]
fn a_tls_client_that_stops_reading_is_dropped_as_a_slow_consumer() {
    let server = Server::with(json!({
        "limits": {"post_content": 50000},
        "rate_limiting": {"enabled": false},
        "connections": {"send_queue_packets": 64, "send_queue_bytes": 262144}
    }));
    let config = client_config(&[generated_ca(&server)]);
    let (mut slow, _) = tungstenite::client(
        format!("wss://localhost:{}/", server.addr.port()),
        tls_connect(&server, &config, "localhost"),
    )
    .unwrap();
    slow.send(Message::text(
        json!({"cmd": "register", "username": "carol", "password": "secret123"}).to_string(),
    ))
    .unwrap();
    assert_eq!(recv(&mut slow)["cmd"], "handshake");
    assert_eq!(recv(&mut slow)["cmd"], "auth_success");
    // carol never reads again; alice posts big messages until the server gives up on her.
    let mut alice = server.register("alice");
    let big = "x".repeat(49_000);
    let deadline = Instant::now() + TIMEOUT;
    let mut i = 0;
    while !server
        .log()
        .contains("closed: slow consumer: too much unread data queued")
    {
        assert!(
            Instant::now() < deadline,
            "never dropped:\n{}",
            server.log()
        );
        alice.send(
            json!({"cmd": "message_new", "channel": "general", "content": format!("{i} {big}")}),
        );
        while alice.recv()["cmd"] != "message_new" {}
        i += 1;
    }
    // Whatever piled up beyond the outbox stayed small: far fewer messages than were sent
    // reached the TLS socket before the drop (kernel buffers plus the rustls limit).
    assert!(i < 300, "{i} messages of 49 kB were taken before the drop");
    // The others go on (carol's user_disconnect may come first).
    alice.send(json!({"cmd": "ping"}));
    assert_eq!(common::until(&mut alice, "pong")["cmd"], "pong");
}
