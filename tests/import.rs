//! `import PATH`: the original server's `db` folder, written here in its own format (§7.6),
//! is imported into a fresh data directory; then a real client sees the accounts, history
//! and read markers as they were.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Client, Server, binary, gif, import, png, test_config};
use originchats_server::model::Roles;
use serde_json::{Value, json};

const ALICE_PASSWORD: &str = "alice-pass-1";
const BOB_PASSWORD: &str = "bob-pass-2";

/// A JSON Lines history file as the original server writes it: compact JSON, 512 spaces of
/// padding per line, `\n` between lines, no trailing newline.
fn jsonl(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("{l}{}", " ".repeat(512)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes the original server's `db` folder into `root/db` and returns its path.
fn fixture(root: &Path) -> PathBuf {
    let db = root.join("db");
    std::fs::create_dir_all(db.join("channels")).unwrap();
    std::fs::create_dir_all(db.join("threads")).unwrap();
    std::fs::create_dir_all(db.join("threadMessages")).unwrap();
    let hash = |p: &str| bcrypt::hash(p, 4).unwrap();
    let users = json!({
        "USR:local_alice": {"username": "USR:local_alice", "nickname": "alice",
            "password_hash": hash(ALICE_PASSWORD), "roles": ["owner", "user"],
            "status": {"status": "online", "text": ""}, "pfp_url": null},
        "USR:local_bob": {"username": "USR:local_bob", "nickname": "bob",
            "password_hash": hash(BOB_PASSWORD), "roles": ["user", "gamer"],
            "status": {"status": "dnd", "text": "busy"}, "pfp_url": "https://example.com/bob.png"},
        "rotur-123": {"roles": ["user"], "username": "rudy",
            "status": {"status": "online", "text": ""}}
    });
    let mut n = 0;
    let mut roles = Roles::defaults(|| {
        n += 1;
        format!("00000000-0000-4000-8000-00000000000{n}")
    })
    .0;
    roles.insert(
        "gamer".into(),
        json!({"id": "61135a04-0147-4633-8cca-63d27837e5f8", "description": "games",
               "color": "#00ff00", "hoisted": false, "permissions": [], "self_assignable": true,
               "category": null, "position": 4}),
    );
    let channels = json!([
        {"type": "text", "name": "general", "description": "Talk about anything",
         "permissions": {"view": ["user"], "send": ["user"], "delete": ["admin", "moderator"],
                         "create_thread": ["user"]}},
        {"type": "text", "name": "random", "description": "Off topic",
         "permissions": {"view": ["user"], "send": ["user"]}},
        {"type": "text", "name": "../evil", "permissions": {"view": ["user"]}}
    ]);
    let general = jsonl(&[
        json!({"user": "USR:local_alice", "content": "hello", "timestamp": 1700000000.5, "id": "m1"})
            .to_string(),
        json!({"user": "USR:local_bob", "content": "hi alice", "timestamp": 1700000001.25,
               "id": "m2", "reply_to": {"id": "m1", "user": "USR:local_alice"}, "ping": true})
        .to_string(),
        json!({"user": "rotur-123", "content": "edited text", "timestamp": 1700000002.0,
               "id": "m3", "edited": true,
               "reactions": {"👍": ["USR:local_alice", "rotur-123"]}})
        .to_string(),
        String::new(),
        r#"{"user":"USR:local_bob","content":"#.to_string(),
        json!({"user": "USR:local_bob", "content": "no id", "timestamp": 1700000003.0}).to_string(),
        json!({"user": "USR:local_alice", "content": "last one", "timestamp": 1700000004.0,
               "id": "m4", "reply_to": {"id": "m3", "user": "rotur-123"}, "pinned": true})
        .to_string(),
    ]);
    let random = serde_json::to_string_pretty(&json!([
        {"user": "USR:local_bob", "content": "old times", "timestamp": 1600000000, "id": "r1"},
        {"user": "USR:local_alice", "content": "indeed", "timestamp": 1600000001, "id": "r2"}
    ]))
    .unwrap();
    let unreads = json!({
        "USR:local_alice": {"general": "m3", "thread/t1": "x1"},
        "USR:local_bob": {"random": "r1"},
        "ghost": {"general": "m1"}
    });
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap();
    std::fs::write(db.join("users.json"), pretty(&users)).unwrap();
    std::fs::write(db.join("roles.json"), pretty(&Value::Object(roles))).unwrap();
    std::fs::write(db.join("channels.json"), pretty(&channels)).unwrap();
    std::fs::write(db.join("unreads.json"), pretty(&unreads)).unwrap();
    std::fs::write(db.join("channels/general.json"), general).unwrap();
    std::fs::write(db.join("channels/random.json"), random).unwrap();
    // What `channels/../evil.json` would name: must never be read.
    let evil = json!({"user": "USR:local_bob", "content": "evil", "timestamp": 1.0, "id": "e1"});
    std::fs::write(db.join("evil.json"), evil.to_string()).unwrap();
    std::fs::write(
        db.join("threads/t1.json"),
        r#"{"id": "t1", "name": "a thread"}"#,
    )
    .unwrap();
    std::fs::write(db.join("threadMessages/t1.jsonl"), "").unwrap();
    std::fs::write(db.join("webhooks.json"), "{}").unwrap();
    db
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(snapshot(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// The summary without its first line (which names temporary paths).
fn summary(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    let (first, rest) = text.split_once('\n').unwrap_or_default();
    assert!(first.starts_with("Imported "), "{text}");
    rest.to_string()
}

/// Sends `packet` and returns the reply to it, skipping broadcast events.
fn reply(c: &mut Client, packet: Value) -> Value {
    let cmd = packet["cmd"].as_str().unwrap().to_string();
    c.send(packet);
    loop {
        let p = c.recv();
        if p["cmd"] == cmd.as_str() || p["cmd"] == "error" {
            return p;
        }
    }
}

#[test]
fn imports_the_original_servers_data() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture(dir.path());
    let data = dir.path().join("data");
    let before = snapshot(&source);

    let out = import(&data, &source);
    assert!(out.status.success(), "{out:?}");
    let first = summary(&out);
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        first,
        "  users: 3 imported
  roles: 1 imported, 4 skipped
      already present (4): owner, admin, moderator, user
  channels: 1 imported, 1 replaced, 1 skipped
      replaced (ours were untouched defaults): general
      invalid name (1): \"../evil\" (path separator)
  messages: 6 imported, 2 skipped
      unreadable line (1):
          channels/general.json line 5, column 34: EOF while parsing a value
      no message id (1): channels/general.json line 6
  read markers: 2 imported, 2 skipped
      thread marker (threads are not imported) (1): USR:local_alice in thread/t1
      unknown user (1): ghost in general
  webhooks: 0 imported
  threads: not imported (this server has no threads yet): 1 thread(s) in threads/, 1 history file(s) in threadMessages/
Done. A server running on this data directory picks the changes up by itself.
"
    );
    // Not a terminal: one progress line per channel on stderr.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("#general: 6 messages read"), "{err}");
    assert!(err.contains("#random: 2 messages read"), "{err}");

    // Twice is the same as once; the source is never written.
    let out = import(&data, &source);
    assert!(out.status.success(), "{out:?}");
    let second = summary(&out);
    println!("{second}");
    assert!(second.contains("  users: 0 imported, 3 skipped\n      already present (3): USR:local_alice, USR:local_bob, rudy\n"), "{second}");
    assert!(
        second.contains("  roles: 0 imported, 5 skipped\n"),
        "{second}"
    );
    assert!(
        second.contains(
            "  channels: 0 imported, 3 skipped\n      already present (2): general, random\n"
        ),
        "{second}"
    );
    assert!(
        second.contains("  messages: 0 imported, 8 skipped\n"),
        "{second}"
    );
    assert!(second.contains("      already present (6)\n"), "{second}");
    assert!(second.contains("already set, ours kept (2)"), "{second}");
    assert!(
        second.ends_with("Nothing new: the data directory already had all of it.\n"),
        "{second}"
    );
    assert_eq!(snapshot(&source), before, "the source folder changed");

    // A real server on the imported data.
    std::fs::remove_dir_all(&source).unwrap();
    let server = Server::in_dir(dir, test_config(json!({})));
    let mut c = server.connected();
    let ready = c.login("alice", ALICE_PASSWORD);
    assert_eq!(ready["user"]["username"], "USR:local_alice");
    assert_eq!(ready["user"]["roles"], json!(["owner", "user"]));
    // The original's plain bcrypt hash is replaced by one over every byte of the password.
    server.wait_log("the password hash of USR:local_alice was upgraded");
    let mut again = server.connected();
    again.login("alice", ALICE_PASSWORD);
    let mut wrong = server.connected();
    assert_eq!(
        wrong.request(json!({"cmd": "login", "username": "alice", "password": "wrong"})),
        json!({"cmd": "auth_error", "val": "Invalid password"})
    );

    // Read markers as imported (before `messages_get`, which marks a channel read).
    let unreads = reply(&mut c, json!({"cmd": "unreads_get"}));
    assert_eq!(
        unreads["unreads"],
        json!({"general": {"last_read": "m3", "unread_count": 1, "total_messages": 4},
               "random": {"last_read": null, "unread_count": 2, "total_messages": 2}}),
        "{unreads}"
    );

    let history = reply(&mut c, json!({"cmd": "messages_get", "channel": "general"}));
    assert_eq!(
        history["messages"],
        json!([
            {"user": "USR:local_alice", "content": "hello", "timestamp": 1700000000.5, "id": "m1",
             "pinned": false, "type": "message", "interaction": null},
            {"user": "USR:local_bob", "content": "hi alice", "timestamp": 1700000001.25, "id": "m2",
             "reply_to": {"id": "m1", "user": "USR:local_alice"}, "ping": true,
             "pinned": false, "type": "message", "interaction": null},
            {"user": "rudy", "content": "edited text", "timestamp": 1700000002.0, "id": "m3",
             "edited": true, "reactions": {"👍": ["USR:local_alice", "rudy"]},
             "pinned": false, "type": "message", "interaction": null},
            {"user": "USR:local_alice", "content": "last one", "timestamp": 1700000004.0, "id": "m4",
             "reply_to": {"id": "m3", "user": "rudy"}, "pinned": true, "type": "message", "interaction": null}
        ]),
        "{history}"
    );
    // Other stored keys keep their order after the standard four.
    let keys: Vec<&String> = history["messages"][1].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "user",
            "content",
            "timestamp",
            "id",
            "reply_to",
            "ping",
            "pinned",
            "type",
            "interaction"
        ]
    );
    let old = reply(&mut c, json!({"cmd": "messages_get", "channel": "random"}));
    let ids: Vec<&Value> = old["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(ids, [&json!("r1"), &json!("r2")]);

    let channels = reply(&mut c, json!({"cmd": "channels_get"}));
    let names: Vec<&str> = channels["val"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ch| ch["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["general", "random"], "{channels}");
    assert_eq!(channels["val"][0]["description"], "Talk about anything");

    // Bob keeps his password and his custom role.
    let mut b = server.connected();
    let ready = b.login("bob", BOB_PASSWORD);
    assert_eq!(ready["user"]["roles"], json!(["user", "gamer"]));
    assert_eq!(
        ready["user"]["status"],
        json!({"status": "dnd", "text": "busy"})
    );
    let mut wrong = server.connected();
    wrong.send(json!({"cmd": "login", "username": "bob", "password": ALICE_PASSWORD}));
    assert_eq!(wrong.recv()["cmd"], "auth_error");
}

#[test]
fn a_missing_or_foreign_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = import(&data, &dir.path().join("nope"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope does not exist"), "{err}");
    assert!(out.stdout.is_empty());
    assert!(!data.exists(), "no data directory should be created");

    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let out = import(&data, &dir.path().join("empty"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has no users.json or channels.json"), "{err}");

    let out = Command::new(binary()).arg("import").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("import needs the PATH"));
    let out = Command::new(binary()).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("import PATH"));
}

#[test]
fn invalid_json_names_the_file_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture(dir.path());
    std::fs::write(
        source.join("channels.json"),
        "[\n  {\"name\": \"general\",}\n]",
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = import(&data, dir.path()); // the folder holding `db` works too
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("channels.json: not valid JSON at line 2, column 22"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");

    // Nothing from the valid users.json got in either.
    let out = Command::new(binary())
        .arg("--data-dir")
        .arg(&data)
        .args(["admin", "users"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no accounts yet\n");
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// One `GET` on the real server: the status line, the headers (lower-cased names) and
/// the body's bytes.
fn get(server: &Server, path: &str) -> (String, BTreeMap<String, String>, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

/// The base fixture plus the original server's media: attachments (one posted with
/// `r2`, a fresh unposted one, and ones to skip), emojis and an icon named by its config.
fn media_fixture(root: &Path) -> PathBuf {
    let db = fixture(root);
    let now = now();
    let posted = png(3, 2, 100_000);
    // r2 carries the attachment as the original server stores it (absolute old URL).
    let stored = json!({"id": "a-posted", "name": "cat.png", "mime_type": "image/png",
        "size": posted.len(), "url": "http://old.example:5613/attachments/a-posted",
        "expires_at": now + 86400.0, "permanent": false, "width": 3, "height": 2});
    let random = serde_json::to_string_pretty(&json!([
        {"user": "USR:local_bob", "content": "old times", "timestamp": 1600000000, "id": "r1"},
        {"user": "USR:local_alice", "content": "indeed", "timestamp": 1600000001, "id": "r2",
         "attachments": [stored]}
    ]))
    .unwrap();
    std::fs::write(db.join("channels/random.json"), random).unwrap();

    let files = db.join("attachments");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("a-posted.png"), &posted).unwrap();
    // The JSON claims a PNG; the bytes are text, and the bytes win.
    std::fs::write(files.join("a-fresh.png"), "just some notes\n").unwrap();
    std::fs::write(files.join("a-expired.png"), png(1, 1, 64)).unwrap();
    std::fs::write(files.join("a-stale.png"), png(1, 1, 64)).unwrap();
    // What `attachments/../outside.png` names, and a link leading out of the source.
    std::fs::write(db.join("outside.png"), png(9, 9, 64)).unwrap();
    std::fs::write(root.join("secret.png"), png(8, 8, 64)).unwrap();
    std::os::unix::fs::symlink(root.join("secret.png"), files.join("a-link.png")).unwrap();
    let entry = |id: &str, filename: &str, created: f64, expires: Option<f64>| {
        let mut e = json!({"id": id, "filename": filename, "original_name": format!("{id}.png"),
            "mime_type": "image/png", "size": 1, "hash": "h", "uploader_id": "USR:local_alice",
            "uploader_name": "alice", "channel": "random", "created_at": created,
            "permanent": true, "referenced": true});
        if let Some(x) = expires {
            e["expires_at"] = json!(x);
        }
        e
    };
    let attachments = json!({
        "a-posted": entry("a-posted", "a-posted.png", now - 3.0 * 86400.0, Some(now + 86400.0)),
        "a-fresh": entry("a-fresh", "a-fresh.png", now - 60.0, None),
        "a-expired": entry("a-expired", "a-expired.png", now - 9.0 * 86400.0, Some(now - 10.0)),
        "a-stale": entry("a-stale", "a-stale.png", now - 2.0 * 86400.0, Some(now + 86400.0)),
        "a-passwd": entry("a-passwd", "../../etc/passwd", now - 60.0, None),
        "a-up": entry("a-up", "../outside.png", now - 60.0, None),
        "a-link": entry("a-link", "a-link.png", now - 60.0, None),
        "a-gone": entry("a-gone", "gone.png", now - 60.0, None),
    });
    std::fs::write(db.join("attachments.json"), attachments.to_string()).unwrap();

    let emojis = db.join("serverEmojis");
    std::fs::create_dir_all(&emojis).unwrap();
    std::fs::write(emojis.join("0.gif"), gif(16)).unwrap();
    std::fs::write(emojis.join("5.png"), png(16, 16, 300)).unwrap();
    std::fs::write(emojis.join("6.gif"), "GIF? no, text").unwrap();
    let server_emojis = json!({
        "0": {"name": "party", "fileName": "0.gif"},
        "5": {"name": "cat", "fileName": "5.png"},
        "6": {"name": "fake", "fileName": "6.gif"},
        "7": {"name": "bad name", "fileName": "0.gif"},
        "8": {"name": "PARTY", "fileName": "0.gif"}
    });
    std::fs::write(db.join("serverEmojis.json"), server_emojis.to_string()).unwrap();

    let assets = db.join("serverAssets");
    std::fs::create_dir_all(&assets).unwrap();
    std::fs::write(assets.join("My Icon.png"), png(32, 32, 500)).unwrap();
    // The original's config names the icon by a path whose base name is in serverAssets.
    std::fs::write(
        root.join("config.json"),
        json!({"server": {"name": "old", "icon": "/home/pi/My Icon.png",
                          "banner": "https://cdn.example/banner.png"}})
        .to_string(),
    )
    .unwrap();
    db
}

#[test]
fn imports_attachments_emojis_and_the_icon() {
    let dir = tempfile::tempdir().unwrap();
    let source = media_fixture(dir.path());
    let data = dir.path().join("data");
    let before = snapshot(&source);

    let out = import(&data, &source);
    assert!(out.status.success(), "{out:?}");
    let first = summary(&out);
    println!("{first}");
    assert!(
        first.contains(
            "  attachments: 2 imported, 6 skipped
      expired (1): a-expired
      not in any imported message and uploaded over a day ago (1): a-stale
      file name is not a plain name (2): a-passwd, a-up
      file leads outside the source folder (1): a-link
      file missing (1): a-gone
      their URL here is /attachments/<id>; imported messages keep the attachment objects (and URLs) the original server gave them
  emojis: 2 imported, 3 skipped
      not a GIF, JPEG, PNG, WebP or SVG image (1): fake (6)
      invalid name (1): bad name (7)
      name taken (in any case) (1): PARTY (8)
  server icon and banner: 1 imported
      banner: the original's config gives a URL (https://cdn.example/banner.png); nothing to copy
      a running server shows them after a restart
"
        ),
        "{first}"
    );
    assert!(!first.contains("attachments.json"), "{first}");
    assert!(!first.contains("serverEmojis.json"), "{first}");

    // The copies: ours, named by id (the type sniffed), and nothing from outside.
    let mut names: Vec<String> = std::fs::read_dir(data.join("attachments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a-fresh.txt", "a-posted.png"]);
    assert_eq!(std::fs::read_dir(data.join("tmp")).unwrap().count(), 0);

    // Twice is the same as once; the source is never written.
    let copies = snapshot(&data.join("attachments"));
    let out = import(&data, &source);
    assert!(out.status.success(), "{out:?}");
    let second = summary(&out);
    assert!(
        second.contains(
            "  attachments: 0 imported, 8 skipped\n      already present (2): a-posted, a-fresh\n"
        ),
        "{second}"
    );
    assert!(
        second.contains(
            "  emojis: 0 imported, 5 skipped\n      already present (2): party (0), cat (5)\n"
        ),
        "{second}"
    );
    assert!(
        second.contains(
            "  server icon and banner: 0 imported, 1 skipped\n      already set, ours kept (1): icon (serverAssets/My Icon.png)\n"
        ),
        "{second}"
    );
    assert!(
        second.ends_with("Nothing new: the data directory already had all of it.\n"),
        "{second}"
    );
    assert_eq!(snapshot(&data.join("attachments")), copies);
    assert_eq!(std::fs::read_dir(data.join("emojis")).unwrap().count(), 2);
    assert_eq!(
        std::fs::read_dir(data.join("server-assets"))
            .unwrap()
            .count(),
        1
    );
    assert_eq!(snapshot(&source), before, "the source folder changed");

    // A real server on the imported data.
    let posted = std::fs::read(source.join("attachments/a-posted.png")).unwrap();
    let icon = std::fs::read(source.join("serverAssets/My Icon.png")).unwrap();
    let emoji_png = std::fs::read(source.join("serverEmojis/5.png")).unwrap();
    std::fs::remove_dir_all(&source).unwrap();
    let server = Server::in_dir(dir, test_config(json!({})));

    let (status, headers, body) = get(&server, "/attachments/a-posted");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(headers["content-type"], "image/png");
    assert!(body == posted, "the attachment's bytes differ");
    let (status, headers, body) = get(&server, "/attachments/a-fresh");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers["content-type"].starts_with("text/plain"),
        "{headers:?}"
    );
    assert_eq!(body, b"just some notes\n");
    let (status, _, _) = get(&server, "/attachments/a-expired");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, headers, body) = get(&server, "/emojis/5");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(headers["content-type"], "image/png");
    assert!(body == emoji_png, "the emoji's bytes differ");
    let (status, headers, body) = get(&server, "/emojis/0");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(headers["content-type"], "image/gif");
    assert_eq!(body, gif(16));
    let (status, headers, body) = get(&server, "/server-assets/icon");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(headers["content-type"], "image/png");
    assert!(body == icon, "the icon's bytes differ");
    let (status, _, _) = get(&server, "/server-assets/banner");
    assert_eq!(status, "HTTP/1.1 404 Not Found");

    let mut c = server.client();
    let handshake = c.expect("handshake");
    assert_eq!(
        handshake["val"]["server"]["icon"],
        json!(format!("http://{}/server-assets/icon", server.addr)),
        "{handshake}"
    );
    c.login("alice", ALICE_PASSWORD);
    let all = reply(&mut c, json!({"cmd": "emoji_get_all"}));
    let emojis = all["emojis"].as_object().unwrap();
    assert_eq!(emojis.keys().collect::<Vec<_>>(), ["0", "5"], "{all}");
    assert_eq!(emojis["0"]["name"], "party");
    assert_eq!(emojis["5"]["name"], "cat");
    let file = emojis["0"]["fileName"].as_str().unwrap();
    assert!(
        file.starts_with("emoji-") && file.ends_with(".gif"),
        "{all}"
    );
    let (status, _, body) = get(&server, &format!("/emojis/{file}"));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, gif(16));

    c.send(json!({"cmd": "attachment_get", "attachment_id": "a-posted"}));
    let info = common::until(&mut c, "attachment_info");
    let expires = info["attachment"]["expires_at"].clone();
    assert!(expires.as_f64().unwrap() > now(), "{info}");
    assert_eq!(
        info["attachment"],
        json!({"id": "a-posted", "name": "a-posted.png", "mime_type": "image/png",
               "size": posted.len(), "url": "/attachments/a-posted", "expires_at": expires,
               "permanent": true, "width": 3, "height": 2}),
        "{info}"
    );
    // The message keeps the attachment object the original server stored.
    let history = reply(&mut c, json!({"cmd": "messages_get", "channel": "random"}));
    assert_eq!(
        history["messages"][1]["attachments"][0]["url"],
        "http://old.example:5613/attachments/a-posted",
        "{history}"
    );
}

#[test]
fn a_failed_import_leaves_no_copied_files() {
    let dir = tempfile::tempdir().unwrap();
    let source = media_fixture(dir.path());
    // Read last, after the attachments and emojis are copied: a read error there stops it.
    std::fs::remove_file(dir.path().join("config.json")).unwrap();
    std::fs::create_dir(dir.path().join("config.json")).unwrap();
    let data = dir.path().join("data");
    let out = import(&data, &source);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.json"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    for sub in ["attachments", "emojis", "server-assets", "tmp"] {
        let left: Vec<_> = std::fs::read_dir(data.join(sub)).unwrap().collect();
        assert!(left.is_empty(), "{sub}: {left:?}");
    }
    let out = Command::new(binary())
        .arg("--data-dir")
        .arg(&data)
        .args(["admin", "users"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no accounts yet\n");
}
