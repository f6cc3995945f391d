//! Attachments, custom emojis and server assets over HTTP and WebSocket, against the real
//! server: uploads in every form, downloads with ranges, credentials, limits, deletion,
//! expiry and the janitor, emojis as the official client sends them, path tricks.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Client, MockRotur, Server, err, gif, png, until, with_role};
use serde_json::{Value, json};

/// An HTTP answer.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

fn parse(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete head: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Sends a request (head lines and body) and reads the answer to the end.
fn http(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", server.addr);
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse(&out)
}

fn get(server: &Server, path: &str) -> Answer {
    http(server, "GET", path, &[], b"")
}

/// Registers `name` on a fresh connection; returns it and its upload token.
fn user(server: &Server, name: &str) -> (Client, String) {
    let mut c = server.connected();
    let ready = c.register(name, "secret123");
    let token = ready["upload_token"]
        .as_str()
        .expect("upload_token in ready")
        .to_string();
    assert_eq!(token.len(), 43);
    (c, token)
}

fn put(server: &Server, token: &str, query: &str, body: &[u8]) -> Answer {
    let auth = format!("Bearer {token}");
    http(
        server,
        "PUT",
        &format!("/attachments/upload?{query}"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/octet-stream"),
        ],
        body,
    )
}

/// The newest message of a `messages_get` answer.
fn last(history: &Value) -> &Value {
    assert_eq!(history["cmd"], "messages_get", "{history}");
    history["messages"].as_array().unwrap().last().unwrap()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn files(server: &Server, kind: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(server.data_dir().join(kind))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn raw_upload_download_and_post_round_trip() {
    let server = Server::start();
    let (mut alice, token) = user(&server, "alice");
    let (mut bob, _) = user(&server, "bob");
    alice.sync();
    let bytes = png(640, 480, 300_000);
    let up = put(
        &server,
        &token,
        "channel=general&name=cat%20photo.png",
        &bytes,
    );
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    let info = up.json()["attachment"].clone();
    let id = info["id"].as_str().unwrap().to_string();
    assert_eq!(up.json()["permanent"], false);
    let keys: Vec<&str> = info
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "mime_type",
            "size",
            "url",
            "expires_at",
            "permanent",
            "width",
            "height"
        ]
    );
    assert_eq!(info["name"], "cat photo.png");
    assert_eq!(info["mime_type"], "image/png");
    assert_eq!(info["size"], 300_000);
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert_eq!(
        info["url"],
        format!("http://{}/attachments/{id}", server.addr)
    );
    // Under 25 MiB: the free tier's seven days.
    let days = (info["expires_at"].as_f64().unwrap() - now()) / 86400.0;
    assert!((6.99..=7.0).contains(&days), "{days}");

    let down = get(&server, &format!("/attachments/{id}"));
    assert_eq!(down.status, 200);
    assert!(down.body == bytes, "the bytes come back identical");
    assert_eq!(down.header("Content-Type"), Some("image/png"));
    assert_eq!(down.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(
        down.header("Content-Security-Policy"),
        Some("default-src 'none'; style-src 'unsafe-inline'; sandbox")
    );
    assert_eq!(down.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(down.header("Access-Control-Allow-Origin"), Some("*"));
    assert!(
        down.header("Content-Disposition")
            .unwrap()
            .starts_with("inline;")
    );

    alice.send(
        json!({"cmd": "message_new", "channel": "general", "content": "",
                      "attachments": [{"id": id}]}),
    );
    let posted = until(&mut alice, "message_new");
    assert_eq!(posted["message"]["attachments"], json!([info]));
    let seen = until(&mut bob, "message_new");
    assert_eq!(seen["message"]["attachments"], json!([info]));
    // Once posted, it cannot be posted again.
    alice.send(
        json!({"cmd": "message_new", "channel": "general", "content": "again",
                      "attachments": [{"id": id}]}),
    );
    assert_eq!(
        until(&mut alice, "error"),
        err(
            "message_new",
            &format!("Attachment {id} not found or expired")
        )
    );
    alice.send(json!({"cmd": "messages_get", "channel": "general"}));
    let history = until(&mut alice, "messages_get");
    assert_eq!(last(&history)["attachments"], json!([info]));
    assert_eq!(files(&server, "attachments"), [format!("{id}.png")]);
}

#[test]
fn json_upload_as_the_official_client_sends_it() {
    let rotur = MockRotur::start();
    let server = Server::with(json!({"rotur": {"validate_url": rotur.url}}));
    // A Rotur account (the official client's uploads are Rotur-authenticated).
    let mut rc = Client::connect(server.addr);
    let hello = rc.expect("handshake");
    let key = hello["val"]["validator_key"].as_str().unwrap().to_string();
    let caps = hello["val"]["capabilities"].as_array().unwrap();
    for cap in [
        "attachment_upload",
        "attachment_delete",
        "emoji_add",
        "emoji_get_all",
    ] {
        assert!(caps.iter().any(|c| c == cap), "{cap} announced");
    }
    assert_eq!(hello["val"]["attachments"]["max_size"], 26_214_400);
    rc.send(json!({"cmd": "auth", "validator": "ok:r1:rosa"}));
    until(&mut rc, "ready");
    let bytes = gif(50_000);
    let body = json!({"validator_key": key, "validator": "ok:r1:rosa",
        "file": format!("data:image/gif;base64,{}", STANDARD.encode(&bytes)),
        "name": "wave.gif", "mime_type": "image/gif", "channel": "general"});
    let body = body.to_string();
    let up = http(
        &server,
        "POST",
        "/attachments/upload",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    let id = up.json()["attachment"]["id"].as_str().unwrap().to_string();
    assert!(get(&server, &format!("/attachments/{id}")).body == bytes);

    // The validator is checked with Rotur, and the key must be one this server gave out.
    for (key, validator, status, text) in [
        (key.as_str(), "bad", 401, "Invalid credentials"),
        (
            "originChats-not-ours",
            "ok:r1:rosa",
            401,
            "Invalid credentials",
        ),
        (
            key.as_str(),
            "",
            401,
            "validator_key and validator are required for authentication",
        ),
    ] {
        let body = json!({"validator_key": key, "validator": validator,
            "file": STANDARD.encode(&bytes), "name": "x.gif", "mime_type": "image/gif",
            "channel": "general"})
        .to_string();
        let a = http(
            &server,
            "POST",
            "/attachments/upload",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!((a.status, a.json()), (status, json!({"error": text})));
    }
    // The preflight the browser sends first.
    let pre = http(&server, "OPTIONS", "/attachments/upload", &[], b"");
    assert_eq!(pre.status, 204);
    assert!(
        pre.header("Access-Control-Allow-Headers")
            .unwrap()
            .contains("Content-Type")
    );
}

#[test]
fn json_upload_with_a_bearer_token_for_local_accounts() {
    let server = Server::start();
    let (_c, token) = user(&server, "carol");
    let bytes = png(2, 2, 1000);
    let body = json!({"name": "a.png", "mime_type": "image/png", "channel": "general",
        "file": format!("data:image/png;base64,{}", STANDARD.encode(&bytes))})
    .to_string();
    let auth = format!("Bearer {token}");
    let up = http(
        &server,
        "POST",
        "/attachments/upload",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        body.as_bytes(),
    );
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    assert_eq!(up.json()["attachment"]["size"], 1000);
}

#[test]
fn credentials_types_and_limits_are_checked() {
    let server = Server::with(json!({"attachments": {"allowed_types": ["image/*"],
        "max_size": 100_000, "max_total_bytes": 250_000, "max_attachments_per_user": 3}}));
    let (_c, token) = user(&server, "dave");
    let image = png(1, 1, 60_000);
    let refused = |a: Answer, status: u16, text: &str| {
        assert_eq!((a.status, a.json()), (status, json!({"error": text})));
    };
    // No, or a wrong, credential.
    let a = http(
        &server,
        "PUT",
        "/attachments/upload?channel=general",
        &[],
        &image,
    );
    refused(
        a,
        401,
        "Authorization required: send Authorization: Bearer <upload_token of ready>",
    );
    refused(
        put(&server, "nope", "channel=general", &image),
        401,
        "Invalid credentials",
    );
    let a = http(
        &server,
        "POST",
        "/attachments/upload",
        &[("Content-Type", "text/plain")],
        b"x",
    );
    refused(a, 415, "Content-Type must be application/json");
    // The type comes from the bytes, not from what the uploader says.
    let pdf = b"%PDF-1.7 pretending to be an image".to_vec();
    refused(
        put(&server, &token, "channel=general&name=x.png", &pdf),
        415,
        "File type application/pdf is not allowed on this server",
    );
    refused(
        put(&server, &token, "channel=nowhere", &image),
        404,
        "Channel does not exist",
    );
    refused(
        put(&server, &token, "name=x", &image),
        400,
        "Missing required fields: channel",
    );
    refused(
        put(&server, &token, "channel=general", &png(1, 1, 100_001)),
        413,
        "Request body too large (max 100000 bytes)",
    );
    refused(
        put(&server, &token, "channel=general&expires_in_days=0", &image),
        400,
        "expires_in_days must be a number of days above 0 and at most 365",
    );
    // The disk budget: 250 000 bytes hold four 60 000-byte files, the per-user count three.
    for _ in 0..3 {
        assert_eq!(put(&server, &token, "channel=general", &image).status, 201);
    }
    refused(
        put(&server, &token, "channel=general", &image),
        429,
        "Attachment limit reached (max 3 per user): delete one first",
    );
    let (_e, other) = user(&server, "erin");
    refused(
        put(&server, &other, "channel=general", &png(1, 1, 80_000)),
        507,
        "Attachment storage is full (max 250000 bytes in total)",
    );
    assert_eq!(files(&server, "tmp"), Vec::<String>::new());
}

#[test]
fn an_oversized_json_upload_is_refused_while_it_is_read() {
    let server = Server::with(json!({"attachments": {"max_size": 100_000}}));
    let (_c, token) = user(&server, "frank");
    // 130 000 bytes of file fit the body limit (a third more for base64) but not max_size.
    let file = STANDARD.encode(png(1, 1, 130_000));
    let body = format!(
        r#"{{"name":"big.png","mime_type":"image/png","channel":"general","file":"{file}"}}"#
    );
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /attachments/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // Send only up to a little past the limit (140 000 base64 characters = 105 000 bytes)
    // and wait: the answer must come without the rest of the body.
    let cut = body.find("\"file\":\"").unwrap() + 8 + 140_000;
    s.write_all(&body.as_bytes()[..cut]).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let a = parse(&out);
    assert_eq!(a.status, 413);
    assert_eq!(
        a.json(),
        json!({"error": "Request body too large (max 100000 bytes)"})
    );
    assert_eq!(files(&server, "tmp"), Vec::<String>::new());
    assert_eq!(files(&server, "attachments"), Vec::<String>::new());
}

#[test]
fn ranges_are_served() {
    let server = Server::start();
    let (_c, token) = user(&server, "gina");
    let bytes = png(1, 1, 10_000);
    let id = put(&server, &token, "channel=general", &bytes).json()["attachment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/attachments/{id}");
    let ranged = |range: &str| http(&server, "GET", &path, &[("Range", range)], b"");
    let a = ranged("bytes=10-19");
    assert_eq!(a.status, 206);
    assert_eq!(a.header("Content-Range"), Some("bytes 10-19/10000"));
    assert!(a.body == bytes[10..20]);
    let a = ranged("bytes=-5");
    assert_eq!((a.status, a.body.as_slice()), (206, &bytes[9995..]));
    let a = ranged("bytes=9000-");
    assert_eq!((a.status, a.body.len()), (206, 1000));
    let a = ranged("bytes=10000-");
    assert_eq!(
        (a.status, a.header("Content-Range")),
        (416, Some("bytes */10000"))
    );
    let head = http(&server, "HEAD", &path, &[], b"");
    assert_eq!(
        (head.status, head.header("Content-Length"), head.body.len()),
        (200, Some("10000"), 0)
    );
    let etag = head.header("ETag").unwrap().to_string();
    let again = http(&server, "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!((again.status, again.body.len()), (304, 0));
}

#[test]
fn deleting_attachments_and_the_messages_that_carry_them() {
    let server = Server::start();
    let (mut hana, token) = user(&server, "hana");
    let (mut ivan, _) = user(&server, "ivan");
    hana.sync();
    let upload = |n: usize| {
        put(
            &server,
            &token,
            "channel=general&name=f.png",
            &png(1, 1, 1000 + n),
        )
        .json()["attachment"]
            .clone()
    };
    let (a, b) = (upload(1), upload(2));
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    hana.send(
        json!({"cmd": "message_new", "channel": "general", "content": "two",
                     "attachments": [{"id": a_id}, {"id": b_id}]}),
    );
    let message = until(&mut hana, "message_new")["message"].clone();
    until(&mut ivan, "message_new");
    assert_eq!(
        ivan.request(json!({"cmd": "attachment_delete", "attachment_id": a_id})),
        err(
            "attachment_delete",
            "You can only delete your own attachments"
        )
    );
    assert_eq!(
        hana.request(json!({"cmd": "attachment_get", "attachment_id": a_id})),
        json!({"cmd": "attachment_info", "attachment": a})
    );
    hana.send(json!({"cmd": "attachment_delete", "attachment_id": a_id}));
    let deleted = json!({"cmd": "attachment_deleted", "attachment_id": a_id, "deleted": true,
        "channel": "general", "message_id": message["id"]});
    assert_eq!(until(&mut hana, "attachment_deleted"), deleted);
    assert_eq!(until(&mut ivan, "attachment_deleted"), deleted);
    assert_eq!(get(&server, &format!("/attachments/{a_id}")).status, 404);
    hana.send(json!({"cmd": "messages_get", "channel": "general"}));
    let history = until(&mut hana, "messages_get");
    assert_eq!(last(&history)["attachments"], json!([b]));
    // Deleting the message deletes the rest.
    hana.send(json!({"cmd": "message_delete", "channel": "general", "id": message["id"]}));
    until(&mut hana, "message_delete");
    let gone = get(&server, &format!("/attachments/{b_id}"));
    assert_eq!(
        (gone.status, gone.json()),
        (404, json!({"error": "Attachment not found or expired"}))
    );
    assert_eq!(files(&server, "attachments"), Vec::<String>::new());
}

#[test]
fn expired_and_orphaned_files_are_swept() {
    let server = Server::start();
    let (_c, token) = user(&server, "jo");
    // 0.00002 days: about 1.7 seconds.
    let up = put(
        &server,
        &token,
        "channel=general&expires_in_days=0.00002",
        &png(1, 1, 500),
    );
    let id = up.json()["attachment"]["id"].as_str().unwrap().to_string();
    let path = format!("/attachments/{id}");
    assert_eq!(get(&server, &path).status, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(&server, &path).status != 404 {
        assert!(Instant::now() < deadline, "never expired");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Leftovers of a crash: a file without a row and a temporary file, both old.
    let data = server.data_dir();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    for stray in [data.join("attachments/stray.png"), data.join("tmp/x.part")] {
        let f = std::fs::File::create(&stray).unwrap();
        f.set_modified(two_hours_ago).unwrap();
    }
    // A fresh file without a row is left alone (its row may be on its way).
    std::fs::write(data.join("attachments/fresh.png"), b"x").unwrap();
    // The janitor runs when the server starts (and every hour).
    let server = server.restart();
    server.wait_log("janitor: deleted 3 attachment file(s)");
    assert_eq!(files(&server, "attachments"), ["fresh.png"]);
    assert_eq!(files(&server, "tmp"), Vec::<String>::new());
}

#[test]
fn private_channels_and_credentials_on_download() {
    let server = Server::with(json!({"attachments": {"public_links": false}}));
    let (_c, token) = user(&server, "kim");
    let id = put(&server, &token, "channel=general", &png(1, 1, 300)).json()["attachment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/attachments/{id}");
    let a = get(&server, &path);
    assert_eq!(
        (a.status, a.json()),
        (401, json!({"error": "Log in to download attachments"}))
    );
    let auth = format!("Bearer {token}");
    assert_eq!(
        http(&server, "GET", &path, &[("Authorization", &auth)], b"").status,
        200
    );
    let a = http(
        &server,
        "GET",
        &path,
        &[("Authorization", "Bearer wrong")],
        b"",
    );
    assert_eq!(a.status, 401);
}

#[test]
fn path_tricks_go_nowhere() {
    let server = Server::start();
    let (_c, token) = user(&server, "lee");
    let up = put(
        &server,
        &token,
        "channel=general&name=..%2F..%2Fconfig.json",
        &png(1, 1, 100),
    );
    let info = up.json()["attachment"].clone();
    assert_eq!(
        info["name"], "../../config.json",
        "kept as a name, never a path"
    );
    let id = info["id"].as_str().unwrap();
    assert_eq!(files(&server, "attachments"), [format!("{id}.png")]);
    for path in [
        "/attachments/..%2Fconfig.json",
        "/attachments/../config.json",
        "/attachments/%2e%2e/originchats.sqlite3",
        "/emojis/..%2F..%2Fconfig.json",
        "/emojis/../originchats.sqlite3",
        "/server-assets/../config.json",
        "/server-assets/icon%00",
    ] {
        let a = get(&server, path);
        assert_eq!(a.status, 404, "{path}");
        assert!(!a.body.starts_with(b"{\n  \"websocket\""), "{path}");
    }
    assert_eq!(
        put(&server, &token, "channel=..%2Fgeneral", &png(1, 1, 100)).status,
        404
    );
}

#[test]
fn emojis_as_the_official_client_sends_them() {
    let server = Server::start();
    let mut owner = with_role(&server, "olga", "owner");
    let (mut pat, _) = user(&server, "pat");
    owner.sync();
    let image = gif(2000);
    let data_url = format!("data:image/gif;base64,{}", STANDARD.encode(&image));
    assert_eq!(
        pat.request(json!({"cmd": "emoji_add", "name": "wave", "image": data_url})),
        err(
            "emoji_add",
            "Access denied: 'manage_server' permission required"
        )
    );
    owner.send(json!({"cmd": "emoji_add", "name": "wave", "image": data_url}));
    let added = until(&mut owner, "emoji_add");
    let id = added["id"].as_str().unwrap().to_string();
    let file = added["fileName"].as_str().unwrap().to_string();
    assert_eq!(
        added,
        json!({"cmd": "emoji_add", "id": id, "name": "wave", "fileName": file, "added": true})
    );
    assert_ne!(file, id);
    assert_eq!(until(&mut pat, "emoji_add"), added, "everyone learns of it");
    for path in [format!("/emojis/{file}"), format!("/emojis/{id}")] {
        let a = get(&server, &path);
        assert_eq!(a.status, 200, "{path}");
        assert!(a.body == image);
        assert_eq!(a.header("Content-Type"), Some("image/gif"));
        assert_eq!(a.header("Cache-Control"), Some("public, max-age=3600"));
    }
    assert_eq!(
        pat.request(json!({"cmd": "emoji_get_all"})),
        json!({"cmd": "emoji_get_all", "emojis": {id.clone(): {"name": "wave", "fileName": file}}})
    );
    assert_eq!(
        pat.request(json!({"cmd": "emoji_get_id", "name": "WAVE"})),
        json!({"cmd": "emoji_get_id", "name": "WAVE", "id": id})
    );
    assert_eq!(
        pat.request(json!({"cmd": "emoji_get_filename", "name": "wave"})),
        json!({"cmd": "emoji_get_filename", "name": "wave", "filepath": file})
    );
    // Refused before anything is written.
    for (name, image, text) in [
        (
            "Wave",
            data_url.as_str(),
            "An emoji named Wave already exists".to_string(),
        ),
        (
            "../../x",
            data_url.as_str(),
            "Emoji names are 1 to 64 letters, digits or underscores".into(),
        ),
        (
            "text",
            "data:image/gif;base64,aGVsbG8gd29ybGQ=",
            "Emoji images must be one of: gif, jpg, jpeg, png, webp, svg (this one is text/plain)"
                .into(),
        ),
        (
            "junk",
            "data:image/gif;base64,@@@",
            "Invalid base64 image data".into(),
        ),
    ] {
        assert_eq!(
            owner.request(json!({"cmd": "emoji_add", "name": name, "image": image})),
            err("emoji_add", &text)
        );
    }
    assert_eq!(files(&server, "emojis"), std::slice::from_ref(&file));
    // Rename as the client does (a number id), then replace the image.
    let numeric: i64 = id.parse().unwrap();
    owner.send(json!({"cmd": "emoji_update", "emoji_id": numeric, "name": "hello"}));
    let updated = until(&mut owner, "emoji_update");
    assert_eq!(
        updated,
        json!({"cmd": "emoji_update", "id": id, "name": "hello", "fileName": file, "updated": true})
    );
    assert_eq!(until(&mut pat, "emoji_update"), updated);
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    owner.send(json!({"cmd": "emoji_update", "emoji_id": numeric,
        "image": format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg))}));
    let replaced = until(&mut owner, "emoji_update");
    let new_file = replaced["fileName"].as_str().unwrap().to_string();
    assert!(new_file.ends_with(".svg") && new_file != file);
    assert_eq!(
        files(&server, "emojis"),
        std::slice::from_ref(&new_file),
        "the old image is gone"
    );
    let a = get(&server, &format!("/emojis/{new_file}"));
    assert_eq!(a.header("Content-Type"), Some("image/svg+xml"));
    assert_eq!(
        a.header("Content-Security-Policy"),
        Some("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
        "an SVG cannot run its script in this origin"
    );
    owner.send(json!({"cmd": "emoji_delete", "emoji_id": numeric}));
    let deleted = json!({"cmd": "emoji_delete", "id": id, "deleted": true});
    assert_eq!(until(&mut owner, "emoji_delete"), deleted);
    assert_eq!(until(&mut pat, "emoji_delete"), deleted);
    let a = get(&server, &format!("/emojis/{id}"));
    assert_eq!(
        (a.status, a.body.as_slice()),
        (404, &b"Emoji not found"[..])
    );
    assert_eq!(files(&server, "emojis"), Vec::<String>::new());
}

#[test]
fn an_emoji_of_one_mebibyte_works() {
    let server = Server::start();
    let mut owner = with_role(&server, "quinn", "owner");
    let image = gif(1024 * 1024);
    let data_url = format!("data:image/gif;base64,{}", STANDARD.encode(&image));
    owner.send(json!({"cmd": "emoji_add", "name": "big", "image": data_url}));
    let added = until(&mut owner, "emoji_add");
    assert_eq!(added["added"], true);
    let a = get(
        &server,
        &format!("/emojis/{}", added["id"].as_str().unwrap()),
    );
    assert!(a.body == image);
    // One byte more is refused with a clear error, and the connection stays.
    let too_big = format!(
        "data:image/gif;base64,{}",
        STANDARD.encode(gif(1024 * 1024 + 1))
    );
    assert_eq!(
        owner.request(json!({"cmd": "emoji_add", "name": "bigger", "image": too_big})),
        err("emoji_add", "Emoji image too large (max 1048576 bytes)")
    );
    owner.sync();
}

#[test]
fn server_icon_as_a_data_url_becomes_a_served_asset() {
    let server = Server::start();
    let mut owner = with_role(&server, "rita", "owner");
    let icon = png(64, 64, 4000);
    owner.send(json!({"cmd": "server_update",
        "icon": format!("data:image/png;base64,{}", STANDARD.encode(&icon))}));
    let update = until(&mut owner, "server_update");
    let url = format!("http://{}/server-assets/icon", server.addr);
    assert_eq!(update["icon"], url);
    assert_eq!(owner.recv(), update, "the broadcast and the reply");
    let a = get(&server, "/server-assets/icon");
    assert_eq!(
        (a.status, a.header("Content-Type")),
        (200, Some("image/png"))
    );
    assert!(a.body == icon);
    let mut fresh = Client::connect(server.addr);
    assert_eq!(fresh.expect("handshake")["val"]["server"]["icon"], url);
    let info: Value = serde_json::from_slice(&get(&server, "/info").body).unwrap();
    assert_eq!(info["server"]["icon"], url);
    assert_eq!(get(&server, "/server-assets/banner").status, 404);
    // A URL is kept as it is.
    owner.send(json!({"cmd": "server_update", "banner": "https://example.org/b.png"}));
    assert_eq!(
        until(&mut owner, "server_update")["banner"],
        "https://example.org/b.png"
    );
}

#[test]
fn an_attachment_goes_only_into_its_own_channel_and_to_its_viewers() {
    let server = Server::start();
    let mut owner = with_role(&server, "sam", "owner");
    owner.send(
        json!({"cmd": "channel_create", "name": "staff", "type": "text",
        "permissions": {"view": ["owner"], "send": ["owner"]}}),
    );
    until(&mut owner, "channels_get");
    let ready = {
        owner.send(json!({"cmd": "session_token_create"}));
        until(&mut owner, "session_token_create")
    };
    let bearer = format!("Bearer {}", ready["token"].as_str().unwrap());
    let up = http(
        &server,
        "PUT",
        "/attachments/upload?channel=staff&name=plan.pdf",
        &[("Authorization", &bearer)],
        b"%PDF-1.7 staff only",
    );
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    let id = up.json()["attachment"]["id"].as_str().unwrap().to_string();
    owner.send(
        json!({"cmd": "message_new", "channel": "general", "content": "look",
                      "attachments": [{"id": id}]}),
    );
    assert_eq!(
        until(&mut owner, "error"),
        err(
            "message_new",
            &format!("Attachment {id} was uploaded for another channel (staff)")
        )
    );
    // A user who cannot view `staff` does not get it with a credential, and its
    // `Content-Disposition` makes a PDF a download.
    let (_u, token) = user(&server, "tom");
    let path = format!("/attachments/{id}");
    let as_tom = http(
        &server,
        "GET",
        &path,
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(as_tom.status, 404);
    let as_owner = http(&server, "GET", &path, &[("Authorization", &bearer)], b"");
    assert_eq!(as_owner.status, 200);
    assert_eq!(as_owner.header("Content-Type"), Some("application/pdf"));
    assert!(
        as_owner
            .header("Content-Disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    // tom may not upload where he cannot send.
    let a = put(&server, &token, "channel=staff", &png(1, 1, 10));
    assert_eq!(
        (a.status, a.json()),
        (
            403,
            json!({"error": "You don't have permission to send in this channel"})
        )
    );
}
