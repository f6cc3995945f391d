//! The built-in web client's files over real HTTP: where the page is served, its headers
//! (policy, type, ETag) and revalidation. The page's behaviour is tested in a browser
//! (tests/browser.rs).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{Server, TIMEOUT};

/// One raw request; returns the status line, the headers (names lower-cased) and the body.
fn get(server: &Server, request: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect();
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

#[test]
fn page_with_a_strict_policy() {
    let server = Server::start();
    for path in ["/", "/index.html", "/channels/general?x=1"] {
        let (status, headers, body) = get(
            &server,
            &format!("GET {path} HTTP/1.1\r\nHost: pi.local:5613\r\n\r\n"),
        );
        assert_eq!(status, "HTTP/1.1 200 OK", "{path}");
        assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
        assert_eq!(
            header(&headers, "content-length"),
            body.len().to_string().as_str()
        );
        let csp = header(&headers, "content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self' ws://pi.local:5613 wss://pi.local:5613",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{directive} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "cache-control"), "no-cache");
        let html = String::from_utf8(body).unwrap();
        assert!(html.starts_with("<!doctype html>"));
        // No inline script or style, nothing from elsewhere.
        assert!(!html.contains("<script>") && !html.contains("style="));
        assert!(!html.contains("http://") && !html.contains("https://"));
    }
}

#[test]
fn assets_types_etags_and_revalidation() {
    let server = Server::start();
    let (status, headers, body) = get(&server, "GET /client/main.js HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        header(&headers, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(!body.is_empty());
    let etag = header(&headers, "etag").to_string();
    let (status, headers, body) = get(
        &server,
        &format!("GET /client/main.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n"),
    );
    assert_eq!(status, "HTTP/1.1 304 Not Modified");
    assert!(body.is_empty());
    assert_eq!(header(&headers, "etag"), etag);

    let (status, headers, _) = get(&server, "GET /client/style.css HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(header(&headers, "content-type"), "text/css; charset=utf-8");
    assert_ne!(header(&headers, "etag"), etag);

    // HEAD: the same head, no body.
    let (status, headers, body) = get(&server, "HEAD / HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.is_empty());
    assert_ne!(header(&headers, "content-length"), "0");

    // A missing file of the client is a 404, not the page.
    let (status, _, _) = get(&server, "GET /client/missing.js HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

#[test]
fn api_routes_keep_their_answers() {
    let server = Server::start();
    let (status, headers, _) = get(&server, "GET /info HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(header(&headers, "content-type"), "application/json");
    // Not the page: each API path answers its own 404 (the original server's texts).
    for (path, answer) in [
        ("/info/x", &br#"{"error": "Not found"}"#[..]),
        ("/webhooks/x", br#"{"error": "Not found"}"#),
        (
            "/attachments/abc",
            br#"{"error":"Attachment not found or expired"}"#,
        ),
        ("/emojis/x", b"Emoji not found"),
        ("/server-assets/icon", b"Server asset not found"),
    ] {
        let (status, _, body) = get(&server, &format!("GET {path} HTTP/1.1\r\n\r\n"));
        assert_eq!(status, "HTTP/1.1 404 Not Found", "{path}");
        assert_eq!(body, answer, "{path}");
    }
    // The WebSocket upgrade on `/` still works next to the page.
    let mut c = server.client();
    c.expect("handshake");
}
