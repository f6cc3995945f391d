//! The first packet of a connection (§3.1) and the plain-HTTP routes of the same port (§10).

mod common;

use common::Server;
use serde_json::json;

#[test]
fn handshake_has_every_field() {
    let server = Server::start();
    let mut c = server.client();
    let h = c.expect("handshake");
    let v = &h["val"];
    assert_eq!(
        v["server"],
        json!({"name": "My OriginChats Server", "owner": {"name": "Admin"}})
    );
    assert_eq!(
        v["limits"],
        json!({"post_content": 2000, "search_results": 30})
    );
    assert_eq!(
        v["attachments"],
        json!({"enabled": true, "max_size": 26214400,
               "allowed_types": ["image/*", "video/*", "audio/*", "application/pdf"],
               "max_attachments_per_user": -1, "permanent_tiers": ["pro", "max"]})
    );
    assert_eq!(v["version"], "1.1.0");
    let key = v["validator_key"].as_str().unwrap();
    assert_eq!(key.len(), 44);
    assert!(key.starts_with("originChats-"));
    assert!(
        key[12..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert_eq!(v["permissions"].as_array().unwrap().len(), 20);
    assert_eq!(v["permissions"][0], "administrator");
    assert_eq!(v["permissions"][19], "use_slash_commands");
    assert_eq!(v["auth_mode"], "cracked");
    let caps: Vec<&str> = v["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let mut sorted = caps.clone();
    sorted.sort();
    assert_eq!(caps, sorted, "capabilities are sorted");
    for name in ["auth", "login", "register", "ping"] {
        assert!(caps.contains(&name), "{name} missing from {caps:?}");
    }
    // A fresh key per connection.
    let mut c2 = server.client();
    let h2 = c2.expect("handshake");
    assert_ne!(h2["val"]["validator_key"], v["validator_key"]);
}

#[test]
fn capabilities_follow_the_auth_mode() {
    let server = Server::with(json!({"auth_mode": "cracked-only"}));
    let caps = server.connected_caps();
    assert!(caps.contains(&"login".to_string()) && !caps.contains(&"auth".to_string()));
    let server = Server::with(json!({"auth_mode": "rotur"}));
    let caps = server.connected_caps();
    assert!(caps.contains(&"auth".to_string()) && !caps.contains(&"login".to_string()));
}

trait Caps {
    fn connected_caps(&self) -> Vec<String>;
}

impl Caps for Server {
    fn connected_caps(&self) -> Vec<String> {
        let h = self.client().expect("handshake");
        h["val"]["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    }
}

#[test]
fn info_reports_server_and_stats() {
    let server = Server::start();
    let _alice = server.register("alice");
    let _anon = server.connected();
    let (status, body) = server.http("GET /info HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        info,
        json!({"server": {"name": "My OriginChats Server", "icon": "", "banner": "", "owner": {"name": "Admin"}},
               "stats": {"total_users": 1, "connected_users": 2, "online_users": 1, "total_channels": 1, "total_roles": 4}})
    );
    assert!(body.contains("\n  \"server\""), "2-space indented");
}

#[test]
fn other_http_routes() {
    let server = Server::start();
    // Unknown paths below the API are JSON 404s; every other path is the web client.
    let (status, body) = server.http("GET /info/nothing HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert_eq!(body, r#"{"error": "Not found"}"#);
    let (status, body) = server.http("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.starts_with("<!doctype html>"), "{body}");
    let (status, _) = server.http("OPTIONS /info HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 204 No Content");
    let mut raw = std::net::TcpStream::connect(server.addr).unwrap();
    std::io::Write::write_all(&mut raw, b"GET /info HTTP/1.1\r\n\r\n").unwrap();
    let mut all = String::new();
    std::io::Read::read_to_string(&mut raw, &mut all).unwrap();
    assert!(all.contains("Access-Control-Allow-Origin: *"), "{all}");
}
