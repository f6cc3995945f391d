//! Faults, against the real server binary: a full disk, a damaged database, SIGTERM and
//! SIGINT (graceful shutdown), and SIGKILL during heavy sending, round after round.
//!
//! The full disk is a real one: a small tmpfs mounted as the data directory (that needs
//! root; without it the test says so and does nothing). The rounds of SIGKILL are
//! `FAULTS_KILL_ROUNDS` (5 unless set); the figures in the README come from
//! `FAULTS_KILL_ROUNDS=20 cargo test --test faults sigkill -- --nocapture`.

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use common::{Client, Server, TIMEOUT, until};
use serde_json::{Value, json};

const DB_FILE: &str = "originchats.sqlite3";

/// Sends `signal` (`TERM`, `INT`) to the server and waits for it to exit; returns how it
/// exited, its data directory and its log.
fn stop(mut server: Server, signal: &str) -> (ExitStatus, tempfile::TempDir, String) {
    let pid = server.child.id().to_string();
    let sent = Command::new("kill")
        .args([format!("-{signal}"), pid])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} failed");
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit within {TIMEOUT:?} of SIG{signal}; log:\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(10));
    };
    let log = server.log();
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    (status, dir, log)
}

/// Posts `content` in `general` and returns the acknowledgement (or the error) for it.
fn post(c: &mut Client, content: &str) -> Value {
    c.send(
        json!({"cmd": "message_new", "channel": "general", "content": content, "listener": "post"}),
    );
    loop {
        let p = c.recv();
        if p["listener"] == "post" {
            return p;
        }
    }
}

/// The contents of the newest messages of `general` (up to 200), oldest first.
fn history(c: &mut Client) -> Vec<String> {
    c.send(json!({"cmd": "messages_get", "channel": "general", "limit": 200}));
    let page = until(c, "messages_get");
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sigterm_and_sigint_close_every_client_with_1001_and_keep_what_was_acknowledged() {
    for signal in ["TERM", "INT"] {
        let server = Server::start();
        let mut alice = server.register("alice");
        let bob = server.register("bob");
        // Only after bob's presence reached alice, so nothing else is in flight.
        until(&mut alice, "user_connect");
        let ack = post(&mut alice, &format!("just before SIG{signal}"));
        assert_eq!(ack["cmd"], "message_new", "{ack}");
        let guest = server.connected();
        // Each client reads (and answers the close frame) while the server shuts down.
        let readers: Vec<_> = [alice, bob, guest]
            .into_iter()
            .map(|c| thread::spawn(move || close_frame(c)))
            .collect();
        let started = Instant::now();
        let (status, dir, log) = stop(server, signal);
        let took = started.elapsed();
        for reader in readers {
            let frame = reader.join().unwrap();
            let frame = frame.unwrap_or_else(|e| panic!("no close frame: {e}; log:\n{log}"));
            assert_eq!(u16::from(frame.code), 1001, "{frame:?}");
            assert_eq!(frame.reason.as_str(), "server shutting down");
        }
        assert!(
            status.success(),
            "SIG{signal}: exit {status:?}; log:\n{log}"
        );
        assert!(
            took < Duration::from_secs(2),
            "SIG{signal}: the shutdown took {took:?}"
        );
        assert!(
            log.contains(&format!("SIG{signal}: shutting down: closing 3 WebSocket"))
                && log.contains("shut down: every write is committed"),
            "{log}"
        );
        let server = Server::in_dir(dir, common::test_config(json!({})));
        let mut c = server.connected();
        c.login("bob", "secret123");
        assert_eq!(
            history(&mut c),
            [format!("just before SIG{signal}")],
            "SIG{signal}"
        );
    }
}

/// Reads until the server's close frame, answers it, and returns it.
fn close_frame(mut c: Client) -> Result<CloseFrame, String> {
    loop {
        match c.ws.read() {
            Ok(Message::Close(Some(frame))) => {
                // Sends our answer to the close frame and sees the end of the stream.
                let _ = c.ws.read();
                return Ok(frame);
            }
            Ok(Message::Close(None)) => return Err("a close frame without a code".into()),
            Ok(_) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Overwrites the page header of every page after the first (where SQLite keeps each
/// b-tree page's type and cell count) with junk.
fn damage(db: &Path) {
    let mut bytes = std::fs::read(db).unwrap();
    let page = 4096;
    assert!(
        bytes.len() >= 3 * page,
        "a database of {} bytes",
        bytes.len()
    );
    for start in (page..bytes.len()).step_by(page) {
        for (i, b) in bytes[start..start + 64].iter_mut().enumerate() {
            *b = 0xA5 ^ i as u8;
        }
    }
    std::fs::write(db, bytes).unwrap();
}

#[test]
fn the_database_is_checked_at_start_unless_a_clean_stop_left_it_untouched() {
    const CHECKED: &str = "database checked (PRAGMA quick_check, ";
    const SKIPPED: &str = "database unchanged since the last clean stop: not checked again";
    let server = Server::start();
    server.wait_log(CHECKED);
    let mut alice = server.register("alice");
    assert_eq!(
        post(&mut alice, "before the clean stop")["cmd"],
        "message_new"
    );
    let config = server.config.clone();
    let (status, dir, _) = stop(server, "TERM");
    assert!(status.success());

    // Nothing touched the file since: not read again, and everything is there.
    let server = Server::in_dir(dir, config.clone());
    server.wait_log(SKIPPED);
    assert_eq!(server.log_count(CHECKED), 0, "{}", server.log());
    let mut alice = server.connected();
    alice.login("alice", "secret123");
    assert_eq!(history(&mut alice), ["before the clean stop"]);
    assert_eq!(post(&mut alice, "before the kill")["cmd"], "message_new");

    // After SIGKILL there is no record of a clean stop: checked again.
    let server = server.restart();
    server.wait_log(CHECKED);
    assert_eq!(server.log_count(SKIPPED), 0, "{}", server.log());
    let mut alice = server.connected();
    alice.login("alice", "secret123");
    assert_eq!(
        history(&mut alice),
        ["before the clean stop", "before the kill"]
    );
}

#[test]
fn a_damaged_database_is_refused_with_what_to_do_and_left_as_it_was() {
    let server = Server::start();
    let mut alice = server.register("alice");
    assert_eq!(post(&mut alice, "kept in the backup")["cmd"], "message_new");
    let backup = server.dir.path().join("backup.sqlite3");
    let out = server.admin(&["backup", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    // A clean stop checkpoints the WAL, so the whole database is in the one file.
    let (status, dir, log) = stop(server, "TERM");
    assert!(status.success());
    assert!(log.contains("shut down: every write is committed"), "{log}");
    let data = dir.path().join("data");
    let db = data.join(DB_FILE);
    damage(&db);
    let damaged = std::fs::read(&db).unwrap();

    let out = Command::new(common::binary())
        .arg("--config")
        .arg(dir.path().join("config.json"))
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it ran on a damaged database: {log}");
    assert!(!log.contains("listening on"), "{log}");
    let line = log
        .lines()
        .find(|l| l.contains("is damaged (PRAGMA quick_check: "))
        .unwrap_or_else(|| panic!("no line about the damage: {log}"));
    assert!(
        line.contains(&format!("the database {} is damaged", db.display()))
            && line.contains(&format!(
                "`originchats-server --data-dir {} admin restore BACKUP-FILE`",
                data.display()
            )),
        "{line}"
    );
    assert!(
        std::fs::read(&db).unwrap() == damaged,
        "the damaged file was written to"
    );

    // What the line says to do works.
    let out = Command::new(common::binary())
        .arg("--data-dir")
        .arg(&data)
        .args(["admin", "restore", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let server = Server::in_dir(dir, common::test_config(json!({})));
    let mut c = server.connected();
    c.login("alice", "secret123");
    assert_eq!(history(&mut c), ["kept in the backup"]);
}

/// A tmpfs mounted on a directory for the time of a test (unmounted when dropped).
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` when this process may not mount (not root, or no tmpfs).
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "cannot mount a tmpfs ({}): this test needs root; skipped",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the file system has no byte left; returns how much it wrote.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for chunk in [64 * 1024, 4096, 512, 1] {
        let block = vec![0x5Au8; chunk];
        while file.write_all(&block).is_ok() {
            written += chunk as u64;
        }
    }
    let _ = file.sync_all();
    written
}

#[test]
fn a_full_disk_refuses_writes_clearly_keeps_reads_and_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_tmpfs) = Tmpfs::mount(&dir.path().join("data"), "8m") else {
        return;
    };
    let server = Server::in_dir(
        dir,
        common::test_config(json!({"rate_limiting": {"enabled": false}})),
    );
    let mut alice = server.register("alice");
    let mut bob = server.register("bob");
    assert_eq!(post(&mut alice, "before")["cmd"], "message_new");
    let filler = server.data_dir().join("filler");
    let filled = fill(&filler);

    // SQLite may still have room in its files: write until the disk says no.
    let mut acked = vec!["before".to_string()];
    let (refused, refused_content) = loop {
        assert!(acked.len() < 5000, "5000 messages fitted on a full disk");
        let content = format!("{} {}", acked.len(), "x".repeat(1500));
        let answer = post(&mut alice, &content);
        if answer["cmd"] == "error" {
            break (answer, content);
        }
        assert_eq!(answer["cmd"], "message_new", "{answer}");
        acked.push(content);
    };
    assert_eq!(
        refused,
        json!({"cmd": "error", "src": "message_new", "listener": "post",
               "val": "The server could not save it: the disk is full"})
    );
    server.wait_log("storage: the disk is full: every write is refused");
    // Refused again while full, and nothing of it was kept: reads go on meanwhile.
    let again = post(&mut alice, "still full");
    assert_eq!(
        again["val"],
        "The server could not save it: the disk is full"
    );
    let seen = history(&mut alice);
    let newest: Vec<&String> = acked.iter().rev().take(seen.len()).rev().collect();
    assert_eq!(
        seen.iter().collect::<Vec<_>>(),
        newest,
        "history while full"
    );
    // Others are not told about a message that was not saved.
    let told: Vec<Value> = bob.sync();
    let contents: Vec<&str> = told
        .iter()
        .filter_map(|p| p["message"]["content"].as_str())
        .collect();
    assert_eq!(contents.len(), acked.len(), "bob was told of {contents:?}");
    assert!(!contents.contains(&refused_content.as_str()) && !contents.contains(&"still full"));

    // A new account cannot be saved either; logging in only reads.
    let mut carol = server.connected();
    carol.send(json!({"cmd": "register", "username": "carol", "password": "secret123"}));
    assert_eq!(
        carol.recv(),
        json!({"cmd": "auth_error",
               "val": "Registration failed: the server could not save the account: the disk is full"})
    );
    let mut again_bob = server.connected();
    again_bob.login("bob", "secret123");

    std::fs::remove_file(&filler).unwrap();
    let ack = post(&mut alice, "after");
    assert_eq!(ack["cmd"], "message_new", "{ack}");
    server.wait_log("storage: writes work again");
    eprintln!(
        "disk full after a filler of {filled} bytes and {} more acknowledged messages; \
         refused until the filler was deleted, then saved again",
        acked.len() - 1
    );
    let seen = history(&mut alice);
    assert_eq!(seen.last().map(String::as_str), Some("after"));
    assert!(!seen.iter().any(|m| m == "still full"));
}

/// A small ext4 file system on a loop device, mounted on a directory with
/// `errors=remount-ro` (as a Raspberry Pi's SD card often is), that can be made to fail
/// the way a dying card does: the kernel turns it read-only under the running server.
struct FailingExt4 {
    at: PathBuf,
    device: String,
}

impl FailingExt4 {
    /// `None` when this process may not set one up (not root, no loop devices, no ext4).
    fn mount(image: &Path, at: &Path) -> Option<FailingExt4> {
        let ok = |cmd: &mut Command| cmd.output().ok().filter(|o| o.status.success());
        std::fs::File::create(image).ok()?.set_len(32 << 20).ok()?;
        let Some(_) = ok(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(image)) else {
            eprintln!("cannot make an ext4 file system (mkfs.ext4): skipped");
            return None;
        };
        let Some(out) = ok(Command::new("losetup").args(["-f", "--show"]).arg(image)) else {
            eprintln!("cannot set up a loop device (losetup; needs root): skipped");
            return None;
        };
        let device = String::from_utf8_lossy(&out.stdout).trim().to_string();
        std::fs::create_dir_all(at).unwrap();
        let mounted = ok(Command::new("mount")
            .args(["-o", "errors=remount-ro", &device])
            .arg(at));
        let fs = FailingExt4 {
            at: at.to_path_buf(),
            device,
        };
        if mounted.is_none() {
            eprintln!("cannot mount {} (needs root): skipped", fs.device);
            return None;
        }
        Some(fs)
    }

    /// Makes the kernel find an "error" in the file system: it turns read-only at once.
    fn fail(&self) {
        let name = self.device.trim_start_matches("/dev/");
        std::fs::write(format!("/sys/fs/ext4/{name}/trigger_fs_error"), "1").unwrap();
        let probe = self.at.join("probe");
        assert!(
            std::fs::write(&probe, "x").is_err(),
            "the file system is still writable"
        );
    }
}

impl Drop for FailingExt4 {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}

#[test]
fn a_data_directory_turned_read_only_refuses_writes_clearly_and_keeps_reads() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::NamedTempFile::new().unwrap();
    let Some(fs) = FailingExt4::mount(image.path(), &dir.path().join("data")) else {
        return;
    };
    let server = Server::in_dir(dir, common::test_config(json!({})));
    let mut alice = server.register("alice");
    let mut bob = server.register("bob");
    assert_eq!(post(&mut alice, "before")["cmd"], "message_new");
    bob.sync();
    fs.fail();

    let refused = post(&mut alice, "after the card failed");
    assert_eq!(
        refused,
        json!({"cmd": "error", "src": "message_new", "listener": "post",
               "val": "The server could not save it: the data directory is read-only"})
    );
    server.wait_log("storage: the data directory is read-only: every write is refused");
    // A change of the directory is refused too, and memory keeps what the store has.
    alice.send(json!({"cmd": "nickname_update", "nickname": "Ally", "listener": "nick"}));
    let nick = loop {
        let p = alice.recv();
        if p["listener"] == "nick" {
            break p;
        }
    };
    assert_eq!(
        nick["val"],
        "The server could not save it: the data directory is read-only"
    );
    // Reads go on, and nothing of the refused writes reached anyone.
    assert_eq!(history(&mut alice), ["before"]);
    assert!(bob.sync().is_empty());
    bob.send(json!({"cmd": "users_list"}));
    let users = until(&mut bob, "users_list");
    let alice_entry = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "USR:local_alice")
        .cloned()
        .unwrap();
    assert_eq!(alice_entry["nickname"], "alice", "{alice_entry}");
}

/// Messages acknowledged per round before the kill at least; the moment is random.
const KILL_AFTER_AT_LEAST: usize = 20;

#[test]
fn sigkill_during_heavy_sending_loses_no_acknowledged_message() {
    let rounds: usize = std::env::var("FAULTS_KILL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let config = common::test_config(json!({"rate_limiting": {"enabled": false}}));
    let names = ["k0", "k1", "k2", "k3"];
    let mut dir = Some(tempfile::tempdir().unwrap());
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    let mut all_acked: HashSet<String> = HashSet::new();
    let mut stored_before = 0;
    for round in 0..rounds {
        let server = Server::in_dir(dir.take().unwrap(), config.clone());
        let clients: Vec<Client> = names
            .iter()
            .map(|name| {
                let mut c = server.connected();
                if round == 0 {
                    c.register(name, "secret123");
                } else {
                    c.login(name, "secret123");
                }
                c
            })
            .collect();
        let acked = Arc::new((Mutex::new(Vec::<String>::new()), Condvar::new()));
        let workers: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(w, c)| {
                let acked = acked.clone();
                thread::spawn(move || send_until_killed(c, w, round, &acked))
            })
            .collect();
        // A random moment: after 20 to 20 + 2000 acknowledgements.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_at = KILL_AFTER_AT_LEAST + (seed % 2000) as usize;
        drop(
            acked
                .1
                .wait_timeout_while(acked.0.lock().unwrap(), TIMEOUT, |ids| ids.len() < kill_at)
                .unwrap(),
        );
        let taken = server.kill();
        for w in workers {
            w.join().unwrap();
        }
        let acked = acked.0.lock().unwrap().clone();
        assert!(
            acked.len() >= KILL_AFTER_AT_LEAST,
            "round {round}: only {} acknowledged",
            acked.len()
        );
        all_acked.extend(acked.iter().cloned());
        // What a restart opens: the file, recovered from its WAL.
        let conn = rusqlite::Connection::open(taken.path().join("data").join(DB_FILE)).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        let stored: HashSet<String> = conn
            .prepare("SELECT id FROM messages")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        drop(conn);
        let missing = all_acked.iter().filter(|id| !stored.contains(*id)).count();
        // Recovered can exceed acknowledged: a message committed while its answer was on
        // the way when the kill came.
        eprintln!(
            "round {round}: acknowledged {}, recovered {} ({} acknowledged and {} stored in \
             all rounds, {missing} acknowledged missing); integrity_check {integrity}",
            acked.len(),
            stored.len() - stored_before,
            all_acked.len(),
            stored.len()
        );
        stored_before = stored.len();
        assert_eq!(integrity, "ok", "round {round}");
        assert_eq!(missing, 0, "round {round}: acknowledged messages lost");
        dir = Some(taken);
    }
}

/// Sends as fast as the server acknowledges, until the connection dies with the server.
fn send_until_killed(
    mut c: Client,
    worker: usize,
    round: usize,
    acked: &(Mutex<Vec<String>>, Condvar),
) {
    for n in 0.. {
        let content = format!("r{round} w{worker} n{n}");
        let packet = json!({"cmd": "message_new", "channel": "general", "content": content, "listener": "ack"});
        if c.ws.send(Message::text(packet.to_string())).is_err() {
            return;
        }
        loop {
            match c.try_recv(TIMEOUT) {
                Ok(p) if p["listener"] == "ack" => {
                    let Some(id) = p["message"]["id"].as_str() else {
                        panic!("not an acknowledgement: {p}");
                    };
                    acked.0.lock().unwrap().push(id.to_string());
                    acked.1.notify_all();
                    break;
                }
                Ok(_) => continue,
                Err(_) => return,
            }
        }
    }
}
