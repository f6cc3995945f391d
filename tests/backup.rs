//! Backups (README "Backups"): `admin backup` of a running server under write load,
//! `admin restore` of a stopped one, automatic backups kept to a number, and one server
//! per data directory.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{Server, binary, until};
use serde_json::{Value, json};

/// The ids of the messages in the database file at `path`, after checking it is whole.
fn stored_ids(path: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut stmt = conn.prepare("SELECT id FROM messages").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn history_contents(server: &Server) -> Vec<Value> {
    let mut c = server.connected();
    c.login("alice", "secret123");
    c.send(json!({"cmd": "messages_get", "channel": "general", "limit": 100}));
    let history = until(&mut c, "messages_get");
    history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].clone())
        .collect()
}

#[test]
fn a_backup_under_write_load_has_every_acknowledged_message_and_restores() {
    let server = Server::with(json!({"rate_limiting": {"enabled": false}}));
    let mut writer = server.register("alice");
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sending = {
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 90 {
                writer.send(json!({"cmd": "message_new", "channel": "general",
                                   "content": format!("m{n}")}));
                let posted = until(&mut writer, "message_new");
                acknowledged
                    .lock()
                    .unwrap()
                    .push(posted["message"]["id"].as_str().unwrap().to_string());
                n += 1;
            }
        })
    };
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    while acknowledged.lock().unwrap().len() < 30 {
        assert!(
            std::time::Instant::now() < deadline && !sending.is_finished(),
            "the writer stopped"
        );
        std::thread::yield_now();
    }
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.sqlite3");
    let out = server.admin(&["backup", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with(&format!("backup written to {} (", path.display()))
    );
    stop.store(true, Ordering::Relaxed);
    sending.join().unwrap();
    let in_backup = stored_ids(&path);
    for id in &before {
        assert!(
            in_backup.contains(id),
            "{id} acknowledged but not in the backup"
        );
    }
    // Never overwritten.
    let again = server.admin(&["backup", path.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists; choose a new file name"));

    // A restore needs the server stopped.
    let refused = server.admin(&["restore", path.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("a server is running on"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let all = acknowledged.lock().unwrap().len();
    let config = server.config.clone();
    let data = server.kill();
    let restore = Command::new(binary())
        .arg("--data-dir")
        .arg(data.path().join("data"))
        .args(["admin", "restore", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        restore.status.success(),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );
    assert!(String::from_utf8_lossy(&restore.stdout).contains("the replaced database is "));
    let server = Server::in_dir(data, config);
    // Exactly the backup's messages: those sent after it are not there.
    let contents = history_contents(&server);
    assert_eq!(contents.len(), in_backup.len());
    assert!(contents.len() >= before.len() && contents.len() <= all);
    let expected: Vec<Value> = (0..contents.len())
        .map(|n| json!(format!("m{n}")))
        .collect();
    assert_eq!(contents, expected);
}

#[test]
fn a_restore_refuses_what_is_not_a_backup() {
    let server = Server::start();
    let junk = server.dir.path().join("junk.sqlite3");
    std::fs::write(&junk, "hello").unwrap();
    let data = server.kill();
    let out = Command::new(binary())
        .arg("--data-dir")
        .arg(data.path().join("data"))
        .args(["admin", "restore", junk.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a backup of this server"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn automatic_backups_are_made_and_the_newest_kept() {
    // About every 1.1 s, keeping 2.
    let server = Server::with(json!({"storage": {"backup":
        {"directory": "backups", "interval_hours": 0.0003, "keep": 2}}}));
    let _alice = server.register("alice");
    server.wait_log("automatic backups every 1s into");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    server.wait_log_count("backup written: ", 3, deadline);
    let dir = server.data_dir().join("backups");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // A fourth may be under way (its temporary name) or just written (and the oldest not
    // deleted yet): only whole backups count, and at most 2 + 1.
    let whole: Vec<&String> = names.iter().filter(|n| !n.ends_with(".partial")).collect();
    assert!((2..=3).contains(&whole.len()), "{names:?}");
    for name in &whole {
        assert!(
            name.starts_with("originchats-") && name.ends_with(".sqlite3"),
            "{name}"
        );
        let ids = stored_ids(&dir.join(name));
        assert!(ids.is_empty(), "no messages were sent");
    }
    assert!(server.log_count("old one(s) deleted") >= 3);
    assert!(server.log().contains("; 1 old one(s) deleted)"));
}

#[test]
fn one_server_per_data_directory() {
    let server = Server::start();
    let out = Command::new(binary())
        .arg("--config")
        .arg(server.dir.path().join("config.json"))
        .arg("--data-dir")
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a server is running on"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first one goes on.
    server.register("alice");
}
