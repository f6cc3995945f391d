//! Abuse limits before authentication (docs/protocol.md#451-abuse-limits): attempts per
//! address, registrations per address, wrong passwords per account and address, the
//! authentication deadline, connections per address. The test configuration exempts
//! 127.0.0.1; these tests turn that off, and play a second device from 127.0.0.2.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{Client, Server, TIMEOUT, tcp_from, until};
use serde_json::{Value, json};

const OTHER_DEVICE: &str = "127.0.0.2";

/// A server with the abuse limits on for every address, `abuse` merged in.
fn server(abuse: Value) -> Server {
    let mut limits = json!({"exempt_addresses": []});
    common::merge(&mut limits, abuse);
    Server::with(json!({"abuse": limits, "connections": {"max_failed_auth": 1000}}))
}

fn login(name: &str, password: &str) -> Value {
    json!({"cmd": "login", "username": name, "password": password})
}

/// The seconds in a refusal `"<prefix><N> s"`.
fn retry_after(reply: &Value, prefix: &str) -> u64 {
    let text = reply["val"].as_str().unwrap_or_default();
    assert_eq!(reply["cmd"], "auth_error", "{reply}");
    text.strip_prefix(prefix)
        .and_then(|t| t.strip_suffix(" s"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{reply}"))
}

const WRONG_PASSWORDS: &str = "Too many wrong passwords for this account: try again in ";
const ATTEMPTS: &str = "Too many authentication attempts: try again in ";
const REGISTRATIONS: &str = "Too many accounts registered from your address: try again in ";

#[test]
fn wrong_passwords_slow_down_their_address_but_not_the_owners_device() {
    let server = server(json!({"failed_logins_before_delay": 3}));
    let mut owner = Client::connect_from(server.addr, OTHER_DEVICE);
    owner.expect("handshake");
    owner.register("alice", "secret123");

    let mut guesser = server.connected();
    for _ in 0..3 {
        assert_eq!(
            guesser.request(login("alice", "guess")),
            json!({"cmd": "auth_error", "val": "Invalid password"})
        );
    }
    // Now each try waits 1 s, 2 s, 4 s … after the last failure: a slow run may let one
    // more through before the refusal.
    let mut refusal = guesser.request(login("alice", "guess"));
    if refusal["val"] == "Invalid password" {
        refusal = guesser.request(login("alice", "guess"));
    }
    let wait = retry_after(&refusal, WRONG_PASSWORDS);
    assert!((1..=2).contains(&wait), "{refusal}");
    // Refused before the password is checked, even the right one.
    assert_eq!(
        retry_after(
            &guesser.request(login("alice", "secret123")),
            WRONG_PASSWORDS
        ),
        wait
    );
    server.wait_log("Too many wrong passwords for this account");

    // The owner's other device is not slowed down.
    let mut phone = Client::connect_from(server.addr, OTHER_DEVICE);
    phone.expect("handshake");
    let ready = phone.login("alice", "secret123");
    assert_eq!(ready["user"]["username"], "USR:local_alice");
}

#[test]
fn attempts_per_address_are_limited() {
    let server = server(json!({"auth_attempts_per_minute": 5}));
    let mut c = server.connected();
    for _ in 0..5 {
        assert_eq!(
            c.request(login("nobody", "x")),
            json!({"cmd": "auth_error", "val": "User not found"})
        );
    }
    // Refilled one every 12 s.
    let wait = retry_after(&c.request(login("nobody", "x")), ATTEMPTS);
    assert!((1..=12).contains(&wait), "{wait}");
    // Every kind of attempt counts.
    for attempt in [
        json!({"cmd": "register", "username": "bob", "password": "secret123"}),
        json!({"cmd": "token_login", "token": "x"}),
        json!({"cmd": "auth", "validator": "x"}),
    ] {
        retry_after(&c.request(attempt), ATTEMPTS);
    }
    // Another address has its own bucket.
    let mut other = Client::connect_from(server.addr, OTHER_DEVICE);
    other.expect("handshake");
    assert_eq!(
        other.request(login("nobody", "x")),
        json!({"cmd": "auth_error", "val": "User not found"})
    );
}

#[test]
fn registrations_per_address_are_limited() {
    let server = server(json!({"registrations_per_hour": 2}));
    server.register("one");
    server.register("two");
    let mut third = server.connected();
    let refusal =
        third.request(json!({"cmd": "register", "username": "three", "password": "secret123"}));
    // Refilled one every 30 minutes.
    let wait = retry_after(&refusal, REGISTRATIONS);
    assert!((1790..=1800).contains(&wait), "{refusal}");
    // Nothing was registered.
    assert_eq!(
        third.request(login("three", "secret123")),
        json!({"cmd": "auth_error", "val": "User not found"})
    );
    let mut elsewhere = Client::connect_from(server.addr, OTHER_DEVICE);
    elsewhere.expect("handshake");
    elsewhere.register("three", "secret123");
}

#[test]
fn a_connection_that_does_not_authenticate_is_closed() {
    let server = server(json!({"auth_timeout_seconds": 1}));
    let mut idle = server.connected();
    let mut member = server.register("alice");
    // The WebSocket pings the server sends are answered, and still the deadline holds.
    let closed = idle.try_recv(TIMEOUT).unwrap_err();
    assert!(
        closed.contains("Policy") && closed.contains("authentication timeout"),
        "{closed}"
    );
    server.wait_log("not authenticated within 1s");
    // One that authenticated in time stays.
    member.send(json!({"cmd": "ping"}));
    member.expect("pong");
}

#[test]
fn a_login_still_waiting_for_its_password_check_outlives_the_deadlines() {
    // Logins from one address take turns at bcrypt, so the last of six waits for five
    // hashes first: past the 1 s authentication deadline and the 2 s idle timeout (its
    // reader waits for the login meanwhile), though its client sent everything in time.
    // (Six tabs of one account: the limits per account do not come into it.)
    const COST: u32 = 12;
    let server = Server::with(json!({
        "abuse": {"exempt_addresses": [], "auth_timeout_seconds": 1},
        "connections": {"ping_interval_seconds": 1, "idle_timeout_seconds": 2},
        "cracked": {"bcrypt_cost": COST},
    }));
    let mut first = Client::connect_from(server.addr, "127.0.0.10");
    first.expect("handshake");
    first.send(json!({"cmd": "register", "username": "alice", "password": "secret123"}));
    until(&mut first, "ready");
    let mut waiting: Vec<Client> = (0..6)
        .map(|_| {
            let mut c = Client::connect_from(server.addr, "127.0.0.2");
            c.expect("handshake");
            c
        })
        .collect();
    let sent = Instant::now();
    for c in &mut waiting {
        c.send(login("alice", "secret123"));
    }
    // Each read at once when it logs in (the logins end in any order), and answering the
    // server's pings from then on.
    let logged_in: Vec<std::thread::JoinHandle<Duration>> = waiting
        .into_iter()
        .map(|mut c| {
            std::thread::spawn(move || {
                until(&mut c, "auth_success");
                until(&mut c, "ready");
                let took = sent.elapsed();
                c.send(json!({"cmd": "ping"}));
                until(&mut c, "pong");
                took
            })
        })
        .collect();
    let last = logged_in
        .into_iter()
        .map(|t| t.join().unwrap())
        .max()
        .unwrap();
    assert!(
        // A heartbeat (every 1 s) came after the 2 s of silence.
        last > Duration::from_secs(3),
        "the six logins took only {last:?}: too fast to outlast both deadlines, so this \
         proves nothing; raise COST"
    );
    let log = server.log_so_far();
    assert!(!log.contains("not authenticated within"), "{log}");
}

/// An HTTP request on a new connection from `source`; the status line of the answer.
fn status_from(server: &Server, source: &str) -> String {
    let mut s = tcp_from(server.addr, source);
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.write_all(b"GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.lines().next().unwrap_or_default().to_string()
}

#[test]
fn connections_per_address_are_limited() {
    let server = server(json!({"connections_per_address": 3}));
    let open: Vec<Client> = (0..3).map(|_| server.connected()).collect();
    let mut s = tcp_from(server.addr, "127.0.0.1");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 429 Too Many Requests\r\n")
            && answer.ends_with(r#"{"error": "Too many connections from your address"}"#),
        "{answer}"
    );
    assert_eq!(status_from(&server, OTHER_DEVICE), "HTTP/1.1 200 OK");
    server.wait_log("refused a connection from 127.0.0.1: 3 are open from that address");
    // A closed connection frees its slot (once the server has seen it close).
    drop(open);
    let deadline = Instant::now() + TIMEOUT;
    while status_from(&server, "127.0.0.1") != "HTTP/1.1 200 OK" {
        assert!(Instant::now() < deadline, "the slots were never freed");
        std::thread::yield_now();
    }
}

/// The owner logs in from their own device while 32 connections (as many as one address
/// may open) guess their password from another. It asserts only that the owner gets in; to
/// time it at the original server's bcrypt cost with a release build (BENCHMARKS.md):
/// `cargo build --release && ORIGINCHATS_SERVER_BIN=target/release/originchats-server
/// ABUSE_BCRYPT_COST=12 cargo test --test abuse -- --nocapture during_a_flood`.
#[test]
fn the_owner_gets_in_during_a_flood() {
    let cost: u32 = std::env::var("ABUSE_BCRYPT_COST")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4);
    let server = Server::with(json!({
        "abuse": {"exempt_addresses": []},
        "cracked": {"bcrypt_cost": cost},
        "connections": {"max_failed_auth": 1_000_000},
    }));
    let mut owner = Client::connect_from(server.addr, OTHER_DEVICE);
    owner.expect("handshake");
    owner.register("alice", "secret123");
    // The same login without a flood, to compare.
    let mut laptop = Client::connect_from(server.addr, OTHER_DEVICE);
    laptop.expect("handshake");
    let started = Instant::now();
    laptop.login("alice", "secret123");
    let alone = started.elapsed();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let flood: Vec<_> = (0..32)
        .map(|_| {
            let mut c = server.connected();
            let (stop, answered) = (stop.clone(), answered.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let reply = c.request(login("alice", "guess"));
                    assert_eq!(reply["cmd"], "auth_error", "{reply}");
                    answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Once the flood is answered at full speed, log in from the owner's phone.
    while answered.load(std::sync::atomic::Ordering::Relaxed) < 400 {
        std::thread::yield_now();
    }
    let mut phone = Client::connect_from(server.addr, OTHER_DEVICE);
    phone.expect("handshake");
    let started = Instant::now();
    let ready = phone.login("alice", "secret123");
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(ready["user"]["username"], "USR:local_alice");
    for t in flood {
        t.join().unwrap();
    }
    println!(
        "bcrypt cost {cost}: the owner's login took {took:?} during a flood of {} guesses \
         ({alone:?} without one)",
        answered.load(std::sync::atomic::Ordering::Relaxed)
    );
}
