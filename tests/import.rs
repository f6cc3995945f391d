//! `import PATH`: the original server's `db` folder, written here in its own format (§7.6),
//! is imported into a fresh data directory; then a real client sees the accounts, history
//! and read markers as they were.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Client, Server, binary, test_config};
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

fn import(data: &Path, source: &Path) -> Output {
    Command::new(binary())
        .arg("--config")
        .arg(data.join("no-such-config.json"))
        .arg("--data-dir")
        .arg(data)
        .arg("import")
        .arg(source)
        .output()
        .unwrap()
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
  threads: not imported (this server has no threads yet): 1 thread(s) in threads/, 1 history file(s) in threadMessages/
  not imported (features this server does not have): webhooks.json
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
