//! Test helpers: the real server binary started on a loopback port with its own data
//! directory, and a small blocking WebSocket client that checks exact packets.
//!
//! Nothing here sleeps for a fixed time (but the mock Rotur's token that stands for a slow
//! service): a test waits for the packet it expects
//! ([`Client::recv`], [`until`]), for the answer to a marker ping ([`Client::sync`],
//! [`Client::expect_quiet`]), or for the server's log to say what it did
//! ([`Server::wait_log`], [`Server::close`], [`Server::admin_applied`]), each with a
//! generous deadline that fails the test with a clear message. So the suite is as fast as
//! the server, and a slow machine (or qemu) only makes it slower, never wrong.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::{self, Message, WebSocket};
use serde_json::{Value, json};

/// How long any wait may take before the test fails: generous, for slow machines and qemu.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long a server may take to start listening once it printed its first line: longer
/// than [`TIMEOUT`], for qemu (the aarch64 test run) on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a server may stay silent after it was started before it is started again (see
/// [`Server::in_dir`]). Its first line comes before it reads its configuration.
const SILENT_START: Duration = Duration::from_secs(15);

/// How many times [`Server::in_dir`] starts a server that stays silent.
const START_ATTEMPTS: u32 = 3;

/// How long [`Client::expect_quiet`] listens after its marker: only for a packet the server
/// would send out of step with its answers, so it can be short.
pub const QUIET: Duration = Duration::from_millis(100);

/// What the server logs when it has reloaded after another process (the admin command
/// line) changed the database; see `watch_store` in src/server.
const RELOADED: &str = "the database was changed by another process";

/// The server's log lines as they arrive, with a signal for those who wait for one.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
    grew: Condvar,
}

/// A server process. Killed when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub config: Value,
    log: Arc<Log>,
}

/// The test configuration: loopback, port 0, fast bcrypt, no welcome message (its own test
/// turns it on), admin changes noticed within 50 ms, no abuse limits for 127.0.0.1, plus
/// `overrides` merged in.
pub fn test_config(overrides: Value) -> Value {
    let mut config: Value = serde_json::from_str(include_str!("../../config.json")).unwrap();
    merge(
        &mut config,
        json!({"websocket": {"host": "127.0.0.1", "port": 0}, "cracked": {"bcrypt_cost": 4},
               "welcome": {"enabled": false}, "storage": {"watch_interval_ms": 50},
               // Tests open many connections and accounts from one address; tests/abuse.rs
               // turns this off.
               "abuse": {"exempt_addresses": ["127.0.0.1"]}}),
    );
    merge(&mut config, overrides);
    config
}

pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// The server binary under test: this build's, or `ORIGINCHATS_SERVER_BIN` (e.g. a release
/// build, to time what a test measures: see tests/abuse.rs).
pub fn binary() -> String {
    std::env::var("ORIGINCHATS_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_originchats-server").to_string())
}

/// What the reader of a starting server's log saw.
enum Started {
    /// A line that is not the listening address.
    Line,
    /// The address the server listens on.
    Listening(String),
}

/// Starts the server binary; its log lines go to the returned [`Log`], and each one is also
/// reported on the returned channel (which closes when the process closes its stderr).
fn spawn(
    config: &std::path::Path,
    data_dir: &std::path::Path,
) -> (Child, Arc<Log>, mpsc::Receiver<Started>) {
    let mut child = Command::new(binary())
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Log::default());
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let event = match line.split("listening on ").nth(1) {
                Some(rest) => Started::Listening(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                ),
                None => Started::Line,
            };
            sink.lines.lock().unwrap().push(line);
            sink.grew.notify_all();
            let _ = tx.send(event);
        }
    });
    (child, log, rx)
}

/// Waits for the listening address until `deadline`; `None` if the server never said it.
fn listening(started: &mpsc::Receiver<Started>, deadline: Instant) -> Option<String> {
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match started.recv_timeout(left) {
            Ok(Started::Listening(addr)) => return Some(addr),
            Ok(Started::Line) => {}
            Err(_) => return None,
        }
    }
}

/// Runs `originchats-server import SOURCE` into the data directory `data` (with the
/// built-in configuration).
pub fn import(data: &std::path::Path, source: &std::path::Path) -> std::process::Output {
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

impl Server {
    pub fn start() -> Server {
        Server::with(json!({}))
    }

    pub fn with(overrides: Value) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Server::in_dir(dir, test_config(overrides))
    }

    /// Starts a server on an existing directory (for restarts).
    ///
    /// A server that printed not a single line within [`SILENT_START`] never got to run its
    /// first statement (under qemu user-mode emulation a child forked from the threaded
    /// test process sometimes hangs before it is exec'd): it is killed and started again, at
    /// most [`START_ATTEMPTS`] times. A server that started but never listened fails the test.
    pub fn in_dir(dir: tempfile::TempDir, config: Value) -> Server {
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        for attempt in 1..=START_ATTEMPTS {
            let (mut child, log, started) = spawn(&config_path, &dir.path().join("data"));
            let addr = match started.recv_timeout(SILENT_START) {
                Ok(Started::Listening(addr)) => Some(addr),
                Ok(Started::Line) => listening(&started, Instant::now() + START_TIMEOUT),
                Err(mpsc::RecvTimeoutError::Disconnected) => None,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    eprintln!(
                        "the server printed nothing in {SILENT_START:?} (attempt {attempt} of \
                         {START_ATTEMPTS}): killed, starting it again"
                    );
                    continue;
                }
            };
            let Some(addr) = addr else {
                let _ = child.kill();
                panic!(
                    "server did not start; log:\n{}",
                    log.lines.lock().unwrap().join("\n")
                );
            };
            return Server {
                addr: addr.parse().unwrap(),
                child,
                dir,
                config,
                log,
            };
        }
        panic!("the server printed nothing in {START_ATTEMPTS} attempts");
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lines.lock().unwrap().join("\n")
    }

    /// How many log lines so far contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        let lines = self.log.lines.lock().unwrap();
        lines.iter().filter(|l| l.contains(needle)).count()
    }

    /// The log up to now. The server writes its log from one thread, in order, so once the
    /// line of a connection opened after everything the test did is in, every line before
    /// it is too: checks that something was *not* logged need this.
    pub fn log_so_far(&self) -> String {
        let client = Client::connect(self.addr);
        let port = client.ws.get_ref().local_addr().unwrap().port();
        self.wait_log(&format!(":{port} opened"));
        drop(client);
        self.log()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        self.wait_log_count(needle, 1, Instant::now() + TIMEOUT);
    }

    /// Waits until `count` log lines contain `needle`; fails the test at `deadline`.
    pub fn wait_log_count(&self, needle: &str, count: usize, deadline: Instant) {
        if !self.log_reaches(needle, count, deadline) {
            panic!(
                "the log never had {count} line(s) with {needle:?}:\n{}",
                self.log()
            );
        }
    }

    /// Whether `count` log lines contain `needle` by `deadline` (it returns as soon as
    /// they do).
    fn log_reaches(&self, needle: &str, count: usize, deadline: Instant) -> bool {
        let mut lines = self.log.lines.lock().unwrap();
        while lines.iter().filter(|l| l.contains(needle)).count() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            lines = self.log.grew.wait_timeout(lines, left).unwrap().0;
        }
        true
    }

    /// Closes `client` and waits until the server has finished with the connection
    /// (presence updates included), so what others are sent because of it is queued.
    pub fn close(&self, client: Client) {
        let addr = client.ws.get_ref().local_addr().unwrap();
        let needle = format!(" from {addr} closed");
        let seen = self.log_count(&needle);
        drop(client);
        self.wait_log_count(&needle, seen + 1, Instant::now() + TIMEOUT);
    }

    /// How many times so far the server reloaded after another process's commit.
    pub fn reloads(&self) -> usize {
        self.log_count(RELOADED)
    }

    /// Runs `admin …` (which must succeed) and returns once `applied` says the running
    /// server has picked the change up; fails with `failure` if it never does. `applied`
    /// is asked after each reload the server logs from then on (a reload that was already
    /// under way may come first).
    pub fn admin_applied<T>(
        &self,
        args: &[&str],
        failure: &str,
        applied: impl FnMut() -> Option<T>,
    ) -> T {
        let seen = self.reloads();
        let out = self.admin(args);
        assert!(out.status.success(), "admin {args:?} failed: {out:?}");
        self.after_reloads(seen, &format!("{failure} (admin {args:?})"), applied)
    }

    /// Asks `applied` after each reload beyond the first `seen` (count them with
    /// [`Server::reloads`] before the change) until it answers; fails with `failure` at the
    /// deadline.
    pub fn after_reloads<T>(
        &self,
        mut seen: usize,
        failure: &str,
        mut applied: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            assert!(
                self.log_reaches(RELOADED, seen + 1, deadline),
                "{failure}; log:\n{}",
                self.log()
            );
            seen = self.reloads();
            if let Some(done) = applied() {
                return done;
            }
        }
    }

    /// Stops the server the hard way and gives its directory back.
    pub fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Kills and starts again on the same data, with the same config.
    pub fn restart(self) -> Server {
        let config = self.config.clone();
        let dir = self.kill();
        Server::in_dir(dir, config)
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// A client that has read the handshake.
    pub fn connected(&self) -> Client {
        let mut c = self.client();
        c.expect("handshake");
        c
    }

    /// A new local account, logged in, with its join/connect events read.
    pub fn register(&self, name: &str) -> Client {
        let mut c = self.connected();
        c.register(name, "secret123");
        c
    }

    /// Runs `originchats-server admin …` on this server's data directory.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        Command::new(binary())
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("admin")
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs `originchats-server admin …` with `input` on its standard input (a new password).
    pub fn admin_with_input(&self, args: &[&str], input: &str) -> std::process::Output {
        let mut child = Command::new(binary())
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("admin")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// One HTTP request; returns the status line and body.
    pub fn http(&self, request: &str) -> (String, String) {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let status = out.lines().next().unwrap_or_default().to_string();
        let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
        (status, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking WebSocket client.
pub struct Client {
    pub ws: WebSocket<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        Client::over(addr, TcpStream::connect(addr).unwrap())
    }

    /// Connects from another loopback address (`127.0.0.2`, …): the server sees another
    /// device.
    pub fn connect_from(addr: SocketAddr, source: &str) -> Client {
        Client::over(addr, tcp_from(addr, source))
    }

    fn over(addr: SocketAddr, stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let (ws, _) = tungstenite::client(format!("ws://{addr}/"), stream).unwrap();
        Client { ws }
    }

    pub fn send(&mut self, packet: Value) {
        self.ws.send(Message::text(packet.to_string())).unwrap();
    }

    pub fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).unwrap();
    }

    /// The next packet (text frame), skipping WebSocket control frames.
    pub fn recv(&mut self) -> Value {
        self.try_recv(TIMEOUT)
            .unwrap_or_else(|e| panic!("no packet: {e}"))
    }

    pub fn try_recv(&mut self, wait: Duration) -> Result<Value, String> {
        self.ws.get_mut().set_read_timeout(Some(wait)).unwrap();
        let result = loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => break Ok(serde_json::from_str(t.as_str()).unwrap()),
                Ok(Message::Close(f)) => break Err(format!("closed: {f:?}")),
                Ok(_) => continue,
                Err(e) => break Err(e.to_string()),
            }
        };
        self.ws.get_mut().set_read_timeout(Some(TIMEOUT)).unwrap();
        result
    }

    /// Reads the next packet and checks its `cmd`.
    pub fn expect(&mut self, cmd: &str) -> Value {
        let p = self.recv();
        assert_eq!(p["cmd"], cmd, "expected {cmd}, got {p}");
        p
    }

    /// Sends a request and returns the next packet.
    pub fn request(&mut self, packet: Value) -> Value {
        self.send(packet);
        self.recv()
    }

    /// Checks that nothing arrives for a while.
    pub fn expect_silence(&mut self, wait: Duration) {
        if let Ok(p) = self.try_recv(wait) {
            panic!("expected nothing, got {p}");
        }
    }

    /// Sends a marker ping and reads up to its pong; returns what came before it. The
    /// server handles a connection's packets in order, so everything this client's earlier
    /// requests caused, and everything others' answered requests sent it, is in there.
    pub fn sync(&mut self) -> Vec<Value> {
        static MARKERS: AtomicU64 = AtomicU64::new(0);
        let marker = format!("sync-{}", MARKERS.fetch_add(1, Ordering::Relaxed));
        self.send(json!({"cmd": "ping", "listener": marker}));
        let mut before = Vec::new();
        loop {
            let p = self.try_recv(TIMEOUT).unwrap_or_else(|e| {
                panic!("no answer to the marker ping: {e}; before: {before:?}")
            });
            if p["listener"] == marker.as_str() {
                assert_eq!(p["cmd"], "pong", "{p}");
                return before;
            }
            before.push(p);
        }
    }

    /// Checks that nothing is waiting for this client: nothing before the answer to a
    /// marker ping, and nothing during a short quiet period after it.
    pub fn expect_quiet(&mut self) {
        let before = self.sync();
        assert!(before.is_empty(), "expected nothing, got {before:?}");
        self.expect_silence(QUIET);
    }

    /// Reads until the server closes; returns the close frame's code.
    pub fn expect_close(&mut self) -> Option<u16> {
        loop {
            match self.ws.read() {
                Ok(Message::Close(f)) => return f.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// `register` and the packets that follow for a new account.
    pub fn register(&mut self, name: &str, password: &str) -> Value {
        self.send(json!({"cmd": "register", "username": name, "password": password}));
        self.expect("auth_success");
        let ready = self.expect("ready");
        self.expect("user_join");
        self.expect("user_connect");
        ready
    }

    /// `login` for an account with no other connection.
    pub fn login(&mut self, name: &str, password: &str) -> Value {
        self.send(json!({"cmd": "login", "username": name, "password": password}));
        self.expect("auth_success");
        self.expect("ready")
    }
}

/// A TCP connection to `addr` from the IPv4 address `source` (any of 127.0.0.0/8 is this
/// machine).
pub fn tcp_from(addr: SocketAddr, source: &str) -> TcpStream {
    use rustix::net::{AddressFamily, SocketType, bind, connect, socket};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    let source: SocketAddr = format!("{source}:0").parse().unwrap();
    bind(&fd, &source).unwrap();
    connect(&fd, &addr).unwrap();
    TcpStream::from(fd)
}

/// A stand-in for Rotur's validate service on a loopback port. Tokens:
/// `ok:<id>:<username>` valid; `slow` answers after 3 s; `junk` answers non-JSON;
/// anything else is invalid. Records the query strings it was asked.
pub struct MockRotur {
    pub url: String,
    pub queries: Arc<Mutex<Vec<String>>>,
}

impl MockRotur {
    pub fn start() -> MockRotur {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/validate", listener.local_addr().unwrap());
        let queries = Arc::new(Mutex::new(Vec::new()));
        let seen = queries.clone();
        thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let seen = seen.clone();
                thread::spawn(move || mock_answer(stream, &seen));
            }
        });
        MockRotur { url, queries }
    }

    /// A URL where nothing listens.
    pub fn down_url() -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        format!("http://{addr}/validate")
    }
}

fn mock_answer(mut stream: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
    }
    let query = line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('?')
        .nth(1)
        .unwrap_or("")
        .to_string();
    seen.lock().unwrap().push(query.clone());
    let v = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("v="))
        .unwrap_or("");
    let v = v.replace("%3A", ":");
    let body = if let Some(rest) = v.strip_prefix("ok:") {
        let mut parts = rest.splitn(2, ':');
        let (id, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        json!({"valid": true, "id": id, "username": name}).to_string()
    } else if v == "slow" {
        thread::sleep(Duration::from_secs(3));
        json!({"valid": true, "id": "slow", "username": "slow"}).to_string()
    } else if v == "junk" {
        "this is not json".to_string()
    } else {
        json!({"valid": false}).to_string()
    };
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// `{"cmd":"error","src":<src>,"val":<val>}`: the error packet of a refused command.
pub fn err(src: &str, val: &str) -> Value {
    json!({"cmd": "error", "src": src, "val": val})
}

/// A data directory prepared before the server starts: extra channels and roles.
pub fn prepared_dir(channels: &[Value], roles: &[(&str, Value)]) -> tempfile::TempDir {
    use originchats_server::config::SyncMode;
    use originchats_server::model::Channel;
    use originchats_server::store::Db;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("data"), SyncMode::Normal).unwrap();
    db.begin().unwrap();
    for c in channels {
        db.insert_channel(&Channel(c.as_object().unwrap().clone()))
            .unwrap();
    }
    for (name, data) in roles {
        db.put_role(name, data).unwrap();
    }
    db.commit().unwrap();
    dir
}

/// Registers `name`, grants it `role` with the admin command line, and returns a client
/// logged in once the running server has picked the change up (presence packets read).
pub fn with_role(server: &Server, name: &str, role: &str) -> Client {
    server.close(server.register(name));
    let failure = format!("{role} never reached the server");
    server.admin_applied(&["grant-role", name, role], &failure, || {
        let mut c = server.connected();
        let ready = c.login(name, "secret123");
        if ready["user"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == role)
        {
            c.expect("user_connect");
            Some(c)
        } else {
            server.close(c);
            None
        }
    })
}

/// Reads packets until one with this `cmd` arrives (skipping presence and other noise).
pub fn until(c: &mut Client, cmd: &str) -> Value {
    loop {
        let p = c.recv();
        if p["cmd"] == cmd {
            return p;
        }
    }
}

/// A PNG of `width`×`height` (the header is real; the rest is filler) of `len` bytes.
pub fn png(width: u32, height: u32, len: usize) -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    p.extend_from_slice(&width.to_be_bytes());
    p.extend_from_slice(&height.to_be_bytes());
    p.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    let mut x: u32 = 2463534242;
    while p.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p.push(x as u8);
    }
    p
}

/// A GIF header (16×16), padded to `len` bytes.
pub fn gif(len: usize) -> Vec<u8> {
    let mut g = b"GIF89a\x10\x00\x10\x00\x80\x00\x00".to_vec();
    g.resize(len.max(g.len()), 0x2c);
    g
}
