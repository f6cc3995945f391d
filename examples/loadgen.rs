//! Load generator for originchats-server: real WebSocket clients over loopback.
//!
//! ```text
//! cargo run --release --example loadgen -- <mode> [options]
//!
//! modes:
//!   connect --clients N [--rate R/s] [--steps 0,100,500,1000] [--existing]
//!           (--existing: the accounts are made first and the server restarted, so the
//!           steps measure logins of existing accounts: connection cost alone)
//!   fanout  --clients N --senders S (--rate MSGS_PER_S | --outstanding K) --duration SECS [--size BYTES]
//!   slow    --clients N --rate R --duration SECS [--senders S] [--slow-rcvbuf BYTES]
//!   logins  --chatters C --rate R --logins L --duration SECS [--senders S]
//!   handshakes --clients N --duration SECS [--resume]
//!           (N loops of: TCP connect, TLS handshake, a short HTTPS request; full
//!           handshakes unless --resume; implies --tls)
//!   media   [--file-mib M] [--downloads D]
//!           (attachments, one client: server RSS and peak RSS around a raw and a JSON
//!           (base64) upload of M MiB (default 20) after a small warm-up upload, then D
//!           downloads of it (default 10): MB/s and RSS; see examples/loadgen/media.rs)
//!   media-chat --chatters C --rate R --uploads U [--file-mib M] [--rounds K]
//!              [--upload-mbps MB] --duration SECS
//!           (C clients chat at R msg/s; halfway, U threads upload M MiB (default 5) each,
//!           K times back to back (default 1), each sending at most MB MB/s if given:
//!           chat latency calm vs during the uploads)
//!   storm   --chatters C --rate R --logins L --duration SECS [--history N] [--store DIR]
//!           [--addresses K]
//!           (the reconnect storm after a restart: the server restarts on a store of N
//!           messages (default 1 000 000) with accounts for everyone, made once in DIR;
//!           C clients chat at R msg/s; halfway, L clients reconnect at once and fetch what
//!           the official client fetches on connect: the time until all have their history,
//!           the chatters' latency calm vs during it; see examples/loadgen/storm.rs)
//!   diskio  --senders S (--rate MSGS_PER_S | --outstanding K) --duration SECS [--clients N]
//!           [--size BYTES] [--page-size N]
//!           (bytes the server writes to the device per acknowledged message_new, from
//!           /proc/PID/io, up to its exit after SIGTERM (last checkpoint included), and the
//!           stored size per message; --page-size: the database is made with that page
//!           size first; see examples/loadgen/diskio.rs)
//!
//! transport:
//!   --tls               wss:// instead of ws:// (not in `slow`), trusting the certificate
//!                       the server made in its data directory (tls-ca.pem)
//!   --ca PATH           with --addr: the PEM certificate to trust
//!
//! server (default: start target/release/originchats-server on 127.0.0.1 port 0):
//!   --server-bin PATH   binary to start (nothing is built)
//!   --addr HOST:PORT    attach to a running server instead (loopback only)
//!   --pid PID           with --addr: server process for CPU / RSS figures
//!   --rate-limit        keep rate limiting on (default: off)
//!   --bcrypt-cost N     cracked.bcrypt_cost (default 4; 12 in `logins`)
//!   --sync normal|full  storage.sync (default normal)
//!   --server-config JSON  merged into the generated config last
//!   --keep-log PATH     write the server's log there at the end
//!
//! tool:
//!   --threads N         executor threads of the tool (default 2)
//!   --concurrency N     registrations in flight at once (default 32)
//!   --settle SECS       pause after connecting / before reading RSS (default 1)
//!   --timeout SECS      hard limit for the whole run (default depends on the mode)
//! ```
//!
//! Progress goes to stderr, one JSON summary line to stdout. Every receiving client measures
//! the latency of every `message_new` it gets (its content carries sender, sequence number and
//! send time); the sender's own copy is its ack.

use std::io::{BufRead, BufReader, Write as _};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::{WebSocketReceiver, WebSocketSender, WebSocketStream};
use futures_lite::{StreamExt, future};
use serde_json::{Value, json};
use smol::channel;
use smol::net::TcpStream;
use smol::{Executor, Task, Timer};

// Examples/ subdirectories without a main.rs are not examples of their own.
#[path = "loadgen/diskio.rs"]
mod diskio;
#[path = "loadgen/media.rs"]
mod media;
#[path = "loadgen/storm.rs"]
mod storm;

const PASSWORD: &str = "loadgen-pass";
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
const AUTH_TIMEOUT: Duration = Duration::from_secs(180);
/// Target size of a `message_new` broadcast frame when `--size` is not given.
const DEFAULT_FRAME_BYTES: usize = 384;

// ---------------------------------------------------------------------------------------
// Clock and global counters
// ---------------------------------------------------------------------------------------

static START: OnceLock<Instant> = OnceLock::new();
static SERVER_PID: AtomicU32 = AtomicU32::new(0);

fn now_ns() -> u64 {
    START.get().unwrap().elapsed().as_nanos() as u64
}

/// The instant `ns` nanoseconds after the run start (saturating far in the future).
fn at(ns: u64) -> Instant {
    *START.get().unwrap() + Duration::from_nanos(ns.min(1 << 50))
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

struct Global {
    /// `message_new` of this run received by measuring clients.
    deliveries: AtomicU64,
    acks: AtomicU64,
    sent: AtomicU64,
    authed: AtomicU64,
    errors: AtomicU64,
    disconnects: AtomicU64,
    frame_bytes: AtomicU64,
    /// Time of the last packet any client received (for settling).
    last_packet: AtomicU64,
    /// Senders stop at this time (ns since start).
    send_end: AtomicU64,
    /// Latency phase boundaries by send time: phase = number of bounds <= send time.
    bounds: [AtomicU64; 3],
    shutting_down: AtomicBool,
    error_samples: Mutex<Vec<String>>,
    disconnect_samples: Mutex<Vec<String>>,
}

static G: Global = Global {
    deliveries: AtomicU64::new(0),
    acks: AtomicU64::new(0),
    sent: AtomicU64::new(0),
    authed: AtomicU64::new(0),
    errors: AtomicU64::new(0),
    disconnects: AtomicU64::new(0),
    frame_bytes: AtomicU64::new(0),
    last_packet: AtomicU64::new(0),
    send_end: AtomicU64::new(u64::MAX),
    bounds: [
        AtomicU64::new(u64::MAX),
        AtomicU64::new(u64::MAX),
        AtomicU64::new(u64::MAX),
    ],
    shutting_down: AtomicBool::new(false),
    error_samples: Mutex::new(Vec::new()),
    disconnect_samples: Mutex::new(Vec::new()),
};

fn sample(list: &Mutex<Vec<String>>, s: String) {
    let mut l = list.lock().unwrap();
    if l.len() < 8 {
        l.push(s);
    }
}

fn phase_of(ts: u64) -> usize {
    G.bounds
        .iter()
        .take_while(|b| ts >= b.load(Relaxed))
        .count()
}

// ---------------------------------------------------------------------------------------
// Histogram (log-linear, microseconds, ~1.5 % resolution)
// ---------------------------------------------------------------------------------------

const HB: usize = 128 + 34 * 64;

#[derive(Clone)]
struct Hist {
    c: Vec<u32>,
    n: u64,
    max: u64,
    sum: u64,
}

fn bucket(v: u64) -> usize {
    if v < 128 {
        v as usize
    } else {
        let e = 63 - v.leading_zeros() - 6;
        128 + (e as usize - 1) * 64 + ((v >> e) as usize - 64)
    }
}

fn bucket_mid(i: usize) -> u64 {
    if i < 128 {
        i as u64
    } else {
        let e = (i - 128) / 64 + 1;
        let m = ((i - 128) % 64 + 64) as u64;
        ((m << e) + ((m + 1) << e)) / 2
    }
}

impl Hist {
    fn new() -> Hist {
        Hist {
            c: vec![0; HB],
            n: 0,
            max: 0,
            sum: 0,
        }
    }

    fn record(&mut self, v: u64) {
        let v = v.min((1 << 40) - 1);
        self.c[bucket(v)] += 1;
        self.n += 1;
        self.sum += v;
        self.max = self.max.max(v);
    }

    fn merge(&mut self, o: &Hist) {
        for (a, b) in self.c.iter_mut().zip(&o.c) {
            *a += b;
        }
        self.n += o.n;
        self.sum += o.sum;
        self.max = self.max.max(o.max);
    }

    fn quantile(&self, q: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        let target = ((q * self.n as f64).ceil() as u64).max(1);
        let mut cum = 0u64;
        for (i, &c) in self.c.iter().enumerate() {
            cum += c as u64;
            if cum >= target {
                return bucket_mid(i).min(self.max);
            }
        }
        self.max
    }

    /// Summary in milliseconds (the histogram holds microseconds).
    fn json_ms(&self) -> Value {
        let ms = |us: u64| r3(us as f64 / 1000.0);
        if self.n == 0 {
            return json!({"n": 0});
        }
        json!({
            "n": self.n,
            "p50": ms(self.quantile(0.50)),
            "p90": ms(self.quantile(0.90)),
            "p99": ms(self.quantile(0.99)),
            "max": ms(self.max),
            "mean": r3(self.sum as f64 / self.n as f64 / 1000.0),
        })
    }
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

// ---------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Args {
    mode: String,
    clients: Option<usize>,
    senders: Option<usize>,
    rate: Option<f64>,
    outstanding: Option<usize>,
    duration: f64,
    size: Option<usize>,
    steps: Option<Vec<usize>>,
    chatters: Option<usize>,
    logins: Option<usize>,
    addr: Option<SocketAddr>,
    server_bin: PathBuf,
    pid: Option<u32>,
    rate_limit: bool,
    bcrypt_cost: Option<u32>,
    sync: String,
    server_config: Option<Value>,
    keep_log: Option<PathBuf>,
    threads: usize,
    concurrency: usize,
    settle: f64,
    timeout: Option<f64>,
    slow_rcvbuf: usize,
    existing: bool,
    tls: bool,
    ca: Option<PathBuf>,
    resume: bool,
    uploads: Option<usize>,
    file_mib: Option<f64>,
    downloads: usize,
    rounds: usize,
    upload_mbps: Option<f64>,
    /// `storm`: messages in the store's history, and where the store is kept.
    history: usize,
    store: Option<PathBuf>,
    /// `storm`: the storm's clients come from this many loopback addresses.
    addresses: usize,
    page_size: Option<u32>,
}

const USAGE: &str = "usage: loadgen <connect|fanout|slow|logins|handshakes|media|media-chat|storm|diskio> [options]  (see the top of examples/loadgen.rs)";

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mode = it.next().ok_or("missing mode")?;
    if ![
        "connect",
        "fanout",
        "slow",
        "logins",
        "handshakes",
        "media",
        "media-chat",
        "storm",
        "diskio",
    ]
    .contains(&mode.as_str())
    {
        return Err(format!("unknown mode {mode:?}"));
    }
    let mut a = Args {
        mode,
        clients: None,
        senders: None,
        rate: None,
        outstanding: None,
        duration: 10.0,
        size: None,
        steps: None,
        chatters: None,
        logins: None,
        addr: None,
        server_bin: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/release/originchats-server"),
        pid: None,
        rate_limit: false,
        bcrypt_cost: None,
        sync: "normal".into(),
        server_config: None,
        keep_log: None,
        threads: 2,
        concurrency: 32,
        settle: 1.0,
        timeout: None,
        slow_rcvbuf: 4096,
        existing: false,
        tls: false,
        ca: None,
        resume: false,
        uploads: None,
        file_mib: None,
        downloads: 10,
        rounds: 1,
        upload_mbps: None,
        history: 1_000_000,
        store: None,
        addresses: 250,
        page_size: None,
    };
    fn num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        let v = v.ok_or(format!("{flag} needs a value"))?;
        v.trim_end_matches("/s")
            .parse()
            .map_err(|_| format!("{flag}: bad value {v:?}"))
    }
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--clients" => a.clients = Some(num(&flag, it.next())?),
            "--senders" => a.senders = Some(num(&flag, it.next())?),
            "--rate" => a.rate = Some(num(&flag, it.next())?),
            "--outstanding" => a.outstanding = Some(num(&flag, it.next())?),
            "--duration" => a.duration = num(&flag, it.next())?,
            "--size" => a.size = Some(num(&flag, it.next())?),
            "--chatters" => a.chatters = Some(num(&flag, it.next())?),
            "--logins" => a.logins = Some(num(&flag, it.next())?),
            "--pid" => a.pid = Some(num(&flag, it.next())?),
            "--bcrypt-cost" => a.bcrypt_cost = Some(num(&flag, it.next())?),
            "--threads" => a.threads = num(&flag, it.next())?,
            "--concurrency" => a.concurrency = num(&flag, it.next())?,
            "--settle" => a.settle = num(&flag, it.next())?,
            "--timeout" => a.timeout = Some(num(&flag, it.next())?),
            "--slow-rcvbuf" => a.slow_rcvbuf = num(&flag, it.next())?,
            "--uploads" => a.uploads = Some(num(&flag, it.next())?),
            "--file-mib" => a.file_mib = Some(num(&flag, it.next())?),
            "--downloads" => a.downloads = num(&flag, it.next())?,
            "--rounds" => a.rounds = num(&flag, it.next())?,
            "--upload-mbps" => a.upload_mbps = Some(num(&flag, it.next())?),
            "--history" => a.history = num(&flag, it.next())?,
            "--addresses" => a.addresses = num(&flag, it.next())?,
            "--store" => a.store = Some(PathBuf::from(it.next().ok_or("--store needs a path")?)),
            "--page-size" => a.page_size = Some(num(&flag, it.next())?),
            "--rate-limit" => a.rate_limit = true,
            "--existing" => a.existing = true,
            "--tls" => a.tls = true,
            "--resume" => a.resume = true,
            "--ca" => a.ca = Some(PathBuf::from(it.next().ok_or("--ca needs a path")?)),
            "--steps" => {
                let v = it.next().ok_or("--steps needs a value")?;
                let mut s = v
                    .split(',')
                    .map(|x| x.trim().parse::<usize>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| format!("--steps: bad list {v:?}"))?;
                s.sort_unstable();
                s.dedup();
                a.steps = Some(s);
            }
            "--addr" => {
                let v = it.next().ok_or("--addr needs a value")?;
                let addr: SocketAddr = v
                    .parse()
                    .map_err(|_| format!("--addr: not an IP:PORT: {v:?}"))?;
                let ok = match addr.ip() {
                    IpAddr::V4(ip) => ip.is_loopback(),
                    IpAddr::V6(ip) => ip.is_loopback(),
                };
                if !ok {
                    return Err(format!(
                        "--addr {addr}: only loopback addresses (127.0.0.0/8, ::1) are allowed"
                    ));
                }
                a.addr = Some(addr);
            }
            "--server-bin" => {
                a.server_bin = PathBuf::from(it.next().ok_or("--server-bin needs a value")?)
            }
            "--sync" => {
                a.sync = it.next().ok_or("--sync needs a value")?;
                if a.sync != "normal" && a.sync != "full" {
                    return Err("--sync: normal or full".into());
                }
            }
            "--server-config" => {
                let v = it.next().ok_or("--server-config needs a value")?;
                a.server_config =
                    Some(serde_json::from_str(&v).map_err(|e| format!("--server-config: {e}"))?);
            }
            "--keep-log" => {
                a.keep_log = Some(PathBuf::from(it.next().ok_or("--keep-log needs a value")?))
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if a.threads == 0 || a.concurrency == 0 {
        return Err("--threads and --concurrency must be at least 1".into());
    }
    if a.duration.is_nan() || a.duration <= 0.0 || a.duration >= 86400.0 {
        return Err("--duration must be > 0".into());
    }
    if let Some(r) = a.rate {
        if r.is_nan() || r <= 0.0 {
            return Err("--rate must be > 0".into());
        }
    }
    if a.pid.is_some() && a.addr.is_none() {
        return Err("--pid only goes with --addr".into());
    }
    if a.mode == "handshakes" {
        a.tls = true;
    }
    if a.tls && a.mode == "slow" {
        return Err("--tls: the slow mode speaks plain ws:// only".into());
    }
    if a.tls && a.addr.is_some() && a.ca.is_none() {
        return Err("--tls with --addr needs --ca PATH (the server's tls-ca.pem)".into());
    }
    Ok(a)
}

// ---------------------------------------------------------------------------------------
// /proc and a few libc calls
// ---------------------------------------------------------------------------------------

mod sys {
    use std::ffi::{c_int, c_void};

    pub const AF_INET: c_int = 2;
    pub const AF_INET6: c_int = 10;
    pub const SOCK_STREAM: c_int = 1;
    pub const SOCK_CLOEXEC: c_int = 0o2000000;
    pub const SOL_SOCKET: c_int = 1;
    pub const SO_RCVBUF: c_int = 8;
    pub const IPPROTO_TCP: c_int = 6;
    pub const TCP_INFO: c_int = 11;
    pub const SIGKILL: c_int = 9;
    pub const SIGTERM: c_int = 15;
    pub const RLIMIT_NOFILE: c_int = 7;

    #[repr(C)]
    pub struct SockaddrIn {
        pub family: u16,
        pub port: u16,
        pub addr: [u8; 4],
        pub zero: [u8; 8],
    }

    #[repr(C)]
    pub struct SockaddrIn6 {
        pub family: u16,
        pub port: u16,
        pub flowinfo: u32,
        pub addr: [u8; 16],
        pub scope_id: u32,
    }

    #[repr(C)]
    pub struct Rlimit {
        pub cur: u64,
        pub max: u64,
    }

    unsafe extern "C" {
        pub fn socket(domain: c_int, ty: c_int, proto: c_int) -> c_int;
        pub fn setsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            val: *const c_void,
            len: u32,
        ) -> c_int;
        pub fn getsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            val: *mut c_void,
            len: *mut u32,
        ) -> c_int;
        pub fn connect(fd: c_int, addr: *const c_void, len: u32) -> c_int;
        pub fn close(fd: c_int) -> c_int;
        pub fn kill(pid: c_int, sig: c_int) -> c_int;
        pub fn getrlimit(res: c_int, r: *mut Rlimit) -> c_int;
        pub fn setrlimit(res: c_int, r: *const Rlimit) -> c_int;
    }
}

/// Raises the soft open-files limit to the hard one (inherited by the server we start).
fn raise_nofile() {
    unsafe {
        let mut r = sys::Rlimit { cur: 0, max: 0 };
        if sys::getrlimit(sys::RLIMIT_NOFILE, &mut r) == 0 && r.cur < r.max {
            r.cur = r.max;
            sys::setrlimit(sys::RLIMIT_NOFILE, &r);
        }
    }
}

fn kill_server_now() {
    let pid = SERVER_PID.swap(0, Relaxed);
    if pid != 0 {
        unsafe {
            sys::kill(pid as i32, sys::SIGKILL);
        }
    }
}

/// A TCP connection whose receive buffer is set to `rcvbuf` before connecting (so the
/// advertised window stays small).
fn connect_small_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> Result<std::net::TcpStream, String> {
    if rcvbuf == 0 {
        return std::net::TcpStream::connect(addr).map_err(|e| e.to_string());
    }
    unsafe {
        let domain = if addr.is_ipv4() {
            sys::AF_INET
        } else {
            sys::AF_INET6
        };
        let fd = sys::socket(domain, sys::SOCK_STREAM | sys::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(format!("socket: {}", std::io::Error::last_os_error()));
        }
        let v = rcvbuf as i32;
        sys::setsockopt(
            fd,
            sys::SOL_SOCKET,
            sys::SO_RCVBUF,
            (&v as *const i32).cast(),
            4,
        );
        let rc = match addr {
            SocketAddr::V4(a) => {
                let sa = sys::SockaddrIn {
                    family: sys::AF_INET as u16,
                    port: a.port().to_be(),
                    addr: a.ip().octets(),
                    zero: [0; 8],
                };
                sys::connect(
                    fd,
                    (&sa as *const sys::SockaddrIn).cast(),
                    size_of::<sys::SockaddrIn>() as u32,
                )
            }
            SocketAddr::V6(a) => {
                let sa = sys::SockaddrIn6 {
                    family: sys::AF_INET6 as u16,
                    port: a.port().to_be(),
                    flowinfo: 0,
                    addr: a.ip().octets(),
                    scope_id: 0,
                };
                sys::connect(
                    fd,
                    (&sa as *const sys::SockaddrIn6).cast(),
                    size_of::<sys::SockaddrIn6>() as u32,
                )
            }
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            sys::close(fd);
            return Err(format!("connect: {e}"));
        }
        Ok(std::net::TcpStream::from_raw_fd(fd))
    }
}

/// TCP state from TCP_INFO (1 = ESTABLISHED, 7 = CLOSE, 8 = CLOSE_WAIT, …).
fn tcp_state(fd: i32) -> Option<u8> {
    let mut buf = [0u8; 256];
    let mut len = buf.len() as u32;
    let rc = unsafe {
        sys::getsockopt(
            fd,
            sys::IPPROTO_TCP,
            sys::TCP_INFO,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    (rc == 0 && len > 0).then_some(buf[0])
}

static CLK_TCK: OnceLock<f64> = OnceLock::new();

fn clk_tck() -> f64 {
    *CLK_TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// utime + stime of a process in clock ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn rss_kib(pid: &str) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// The process's private memory (anonymous pages: heap, stacks), without mapped files.
fn rss_anon_kib(pid: &str) -> Option<u64> {
    status_kib(pid, "RssAnon:")
}

fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

// ---------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct ServerLog {
    lines: Mutex<Vec<String>>,
    warnings: AtomicU64,
    errors: AtomicU64,
    panics: AtomicU64,
    samples: Mutex<Vec<String>>,
    /// (time seen, line) of `dropped: slow consumer` lines.
    slow_drops: Mutex<Vec<(u64, String)>>,
}

struct Server {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    log: Arc<ServerLog>,
    keep_log: Option<PathBuf>,
    dir: Option<tempfile::TempDir>,
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

fn start_server(
    a: &Args,
    max_conns: usize,
    bcrypt_cost: u32,
    dir: Option<tempfile::TempDir>,
) -> Result<Server, String> {
    if !a.server_bin.is_file() {
        return Err(format!(
            "server binary {} not found: build it first (cargo build --release) or pass --server-bin",
            a.server_bin.display()
        ));
    }
    let dir = match dir {
        Some(d) => d,
        None => tempfile::tempdir().map_err(|e| e.to_string())?,
    };
    let mut config: Value =
        serde_json::from_str(include_str!("../config.json")).map_err(|e| e.to_string())?;
    merge(
        &mut config,
        json!({
            "websocket": {"host": "127.0.0.1", "port": 0},
            "auth_mode": "cracked",
            "cracked": {"allow_registration": true, "bcrypt_cost": bcrypt_cost},
            "welcome": {"enabled": false},
            "rate_limiting": {"enabled": a.rate_limit},
            "connections": {"max": max_conns},
            // Every simulated client comes from 127.0.0.1.
            "abuse": {"exempt_addresses": ["127.0.0.1"]},
            "storage": {"sync": a.sync},
            "attachments": media::attachments_config(a),
        }),
    );
    if let Some(extra) = &a.server_config {
        merge(&mut config, extra.clone());
    }
    // `storm` keeps its store between runs; every other mode starts from an empty one.
    let root = a.store.clone().unwrap_or_else(|| dir.path().to_path_buf());
    let config_path = root.join("config.json");
    std::fs::write(&config_path, serde_json::to_string_pretty(&config).unwrap())
        .map_err(|e| e.to_string())?;
    let mut child = Command::new(&a.server_bin)
        .arg("--config")
        .arg(&config_path)
        .arg("--data-dir")
        .arg(root.join("data"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", a.server_bin.display()))?;
    let pid = child.id();
    SERVER_PID.store(pid, Relaxed);
    let log = Arc::new(ServerLog::default());
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::Builder::new()
        .name("server-log".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
                let upper = line.starts_with("WARN") || line.starts_with("ERROR");
                if line.starts_with("WARN") {
                    sink.warnings.fetch_add(1, Relaxed);
                }
                if line.starts_with("ERROR") {
                    sink.errors.fetch_add(1, Relaxed);
                }
                if line.contains("panicked") {
                    sink.panics.fetch_add(1, Relaxed);
                }
                if line.contains("dropped: slow consumer") {
                    sink.slow_drops
                        .lock()
                        .unwrap()
                        .push((now_ns(), line.clone()));
                }
                if upper || line.contains("panicked") {
                    sample(&sink.samples, line.clone());
                }
                let mut l = sink.lines.lock().unwrap();
                if l.len() < 500_000 {
                    l.push(line);
                }
            }
        })
        .map_err(|e| e.to_string())?;
    let addr = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(a) => a
            .parse()
            .map_err(|_| format!("cannot parse the listening address {a:?}"))?,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            SERVER_PID.store(0, Relaxed);
            return Err(format!(
                "server did not start; log:\n{}",
                log.lines.lock().unwrap().join("\n")
            ));
        }
    };
    eprintln!(
        "loadgen: started server pid {pid} on {addr} (bcrypt cost {bcrypt_cost}, sync {})",
        a.sync
    );
    Ok(Server {
        child,
        pid,
        addr,
        log,
        keep_log: a.keep_log.clone(),
        dir: Some(dir),
    })
}

impl Server {
    /// Stops the server and starts it again on the same data with another bcrypt cost.
    fn restart(mut self, a: &Args, max_conns: usize, bcrypt_cost: u32) -> Result<Server, String> {
        let dir = self.dir.take();
        self.keep_log = None;
        drop(self);
        start_server(a, max_conns, bcrypt_cost, dir)
    }
}

impl Drop for Server {
    /// A graceful stop (SIGTERM) as an operator's restart does it, so the next start on a
    /// kept store is an ordinary one; SIGKILL if it takes longer than the server's own
    /// shutdown limit and then some.
    fn drop(&mut self) {
        SERVER_PID.store(0, Relaxed);
        unsafe { sys::kill(self.pid as i32, sys::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(p) = &self.keep_log {
            let lines = self.log.lines.lock().unwrap().join("\n");
            if let Err(e) = std::fs::write(p, lines + "\n") {
                eprintln!("loadgen: cannot write {}: {e}", p.display());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Run context, snapshots
// ---------------------------------------------------------------------------------------

struct Ctx {
    addr: SocketAddr,
    run: String,
    nsenders: usize,
    ex: &'static Executor<'static>,
    pid: Option<String>,
    log: Option<Arc<ServerLog>>,
    concurrency: usize,
    /// Clients with a smaller index already have an account: they `login`.
    existing: usize,
}

impl Ctx {
    fn name(&self, i: usize) -> String {
        format!("lg{}_{i}", self.run)
    }
    fn rss(&self) -> Option<u64> {
        self.pid.as_deref().and_then(rss_kib)
    }
}

#[derive(Clone, Copy)]
struct Snap {
    t: u64,
    deliveries: u64,
    acks: u64,
    sent: u64,
    server_ticks: Option<u64>,
    tool_ticks: Option<u64>,
}

fn snap(ctx: &Ctx) -> Snap {
    Snap {
        t: now_ns(),
        deliveries: G.deliveries.load(Relaxed),
        acks: G.acks.load(Relaxed),
        sent: G.sent.load(Relaxed),
        server_ticks: ctx.pid.as_deref().and_then(cpu_ticks),
        tool_ticks: cpu_ticks("self"),
    }
}

/// Rates and CPU between two snapshots.
fn window_json(a: &Snap, b: &Snap) -> Value {
    let dt = secs(b.t - a.t).max(1e-9);
    let tck = clk_tck();
    let scpu = match (a.server_ticks, b.server_ticks) {
        (Some(x), Some(y)) => Some((y - x) as f64 / tck),
        _ => None,
    };
    let tcpu = match (a.tool_ticks, b.tool_ticks) {
        (Some(x), Some(y)) => Some((y - x) as f64 / tck),
        _ => None,
    };
    let d = b.deliveries - a.deliveries;
    json!({
        "window_s": r3(dt),
        "sent_per_s": r3((b.sent - a.sent) as f64 / dt),
        "deliveries_per_s": r3(d as f64 / dt),
        "acks_per_s": r3((b.acks - a.acks) as f64 / dt),
        "server_cpu_s": scpu.map(r3),
        "server_cpu_util": scpu.map(|c| r3(c / dt)),
        "deliveries_per_server_cpu_s": scpu.and_then(|c| (c > 0.0).then(|| r3(d as f64 / c))),
        "tool_cpu_s": tcpu.map(r3),
        "tool_cpu_util": tcpu.map(|c| r3(c / dt)),
    })
}

async fn sleep_until(ns: u64) {
    if ns > now_ns() {
        Timer::at(at(ns)).await;
    }
}

async fn with_timeout<T>(
    d: Duration,
    what: &str,
    f: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let what = what.to_string();
    future::or(f, async move {
        Timer::after(d).await;
        Err(format!("{what}: timed out after {}s", d.as_secs_f64()))
    })
    .await
}

/// Waits until no client has received anything for `quiet`, at most `max`.
async fn settle(quiet: Duration, max: Duration) {
    let deadline = Instant::now() + max;
    loop {
        let since = now_ns().saturating_sub(G.last_packet.load(Relaxed));
        if since >= quiet.as_nanos() as u64 || Instant::now() >= deadline {
            return;
        }
        Timer::after(Duration::from_millis(50)).await;
    }
}

fn log_line(msg: &str) {
    eprintln!("[{:7.2}s] {msg}", secs(now_ns()));
}

/// Prints progress every second until the task is dropped.
fn spawn_progress(ctx: &Ctx) -> Task<()> {
    ctx.ex.spawn(async move {
        let mut last = (G.deliveries.load(Relaxed), G.acks.load(Relaxed), G.sent.load(Relaxed));
        loop {
            Timer::after(Duration::from_secs(1)).await;
            let cur = (G.deliveries.load(Relaxed), G.acks.load(Relaxed), G.sent.load(Relaxed));
            log_line(&format!(
                "authed {} | sent {} (+{}/s) | deliveries {} (+{}/s) | acks +{}/s | errors {} | disconnects {}",
                G.authed.load(Relaxed),
                cur.2,
                cur.2 - last.2,
                cur.0,
                cur.0 - last.0,
                cur.1 - last.1,
                G.errors.load(Relaxed),
                G.disconnects.load(Relaxed),
            ));
            last = cur;
        }
    })
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------
// Transport: plain TCP or TLS (rustls, trusting the server's own certificate)
// ---------------------------------------------------------------------------------------

/// Set when the run speaks TLS.
static TLS: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
static HANDSHAKES: AtomicU64 = AtomicU64::new(0);

fn tls_client_config(ca: &std::path::Path, resume: bool) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let cert = CertificateDer::from_pem_file(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    if !resume {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(config)
}

/// One client connection, plain or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<futures_rustls::client::TlsStream<TcpStream>>),
}

impl futures_lite::AsyncRead for Conn {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => std::pin::Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl futures_lite::AsyncWrite for Conn {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => std::pin::Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => std::pin::Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => std::pin::Pin::new(s).poll_close(cx),
            Conn::Tls(s) => std::pin::Pin::new(s).poll_close(cx),
        }
    }
}

/// TCP connect, and the TLS handshake when the run speaks TLS.
async fn connect_conn(addr: SocketAddr) -> Result<Conn, String> {
    connect_conn_from(addr, None).await
}

/// [`connect_conn`] from the loopback address `source` (any of 127.0.0.0/8 is this machine),
/// as if from another host on the LAN; from the default address when `None`.
async fn connect_conn_from(addr: SocketAddr, source: Option<IpAddr>) -> Result<Conn, String> {
    let stream = match source {
        None => TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?,
        Some(ip) => {
            use rustix::net::{AddressFamily, SocketFlags, SocketType, bind, connect, socket_with};
            let fd = socket_with(
                AddressFamily::INET,
                SocketType::STREAM,
                SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
                None,
            )
            .map_err(|e| format!("socket: {e}"))?;
            bind(&fd, &SocketAddr::new(ip, 0)).map_err(|e| format!("bind {ip}: {e}"))?;
            // Non-blocking: when the server's accept backlog is full the SYN is retried after
            // a second, and a blocking connect would stall one of the tool's threads (and
            // every client on it) that long.
            match connect(&fd, &addr) {
                Ok(()) | Err(rustix::io::Errno::INPROGRESS) => {}
                Err(e) => return Err(format!("connect from {ip}: {e}")),
            }
            let stream =
                smol::Async::new(std::net::TcpStream::from(fd)).map_err(|e| e.to_string())?;
            stream.writable().await.map_err(|e| e.to_string())?;
            if let Some(e) = stream.get_ref().take_error().map_err(|e| e.to_string())? {
                return Err(format!("connect from {ip}: {e}"));
            }
            TcpStream::from(stream)
        }
    };
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let Some(config) = TLS.get() else {
        return Ok(Conn::Plain(stream));
    };
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let tls = futures_rustls::TlsConnector::from(config.clone())
        .connect(name, stream)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    HANDSHAKES.fetch_add(1, Relaxed);
    Ok(Conn::Tls(Box::new(tls)))
}

type Ws = WebSocketStream<Conn>;

/// Value of the first `"key": "…"` string field (no unescaping; enough for our packets).
fn str_field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(i) = s[from..].find(key) {
        let start = from + i;
        let end = start + key.len();
        from = end;
        if start == 0 || b[start - 1] != b'"' || b.get(end) != Some(&b'"') {
            continue;
        }
        let mut j = end + 1;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if b.get(j) != Some(&b':') {
            continue;
        }
        j += 1;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if b.get(j) != Some(&b'"') {
            return None;
        }
        let v0 = j + 1;
        let mut k = v0;
        while k < b.len() {
            match b[k] {
                b'\\' => k += 2,
                b'"' => return Some(&s[v0..k]),
                _ => k += 1,
            }
        }
        return None;
    }
    None
}

/// `lg <sender> <seq> <nanos>` → (sender, seq, nanos).
fn parse_lg(c: &str) -> Option<(usize, u64, u64)> {
    let mut it = c.strip_prefix("lg ")?.split(' ');
    Some((
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    ))
}

fn make_content(s: usize, seq: u64, ts: u64, size: usize) -> String {
    let mut c = format!("lg {s} {seq} {ts} ");
    while c.len() < size {
        c.push('x');
    }
    c
}

async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                G.last_packet.store(now_ns(), Relaxed);
                return Ok(t.as_str().to_string());
            }
            Some(Ok(Message::Close(f))) => return Err(format!("closed by server: {f:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("connection ended".into()),
        }
    }
}

/// TCP + WebSocket upgrade + the server's `handshake` packet.
/// Bytes a client's WebSocket reads at a time (see [`open_from`]).
const CLIENT_READ_BUFFER: usize = 8 * 1024;

async fn open(addr: SocketAddr) -> Result<Ws, String> {
    open_from(addr, None).await
}

/// [`open`] from the loopback address `source` (see [`connect_conn_from`]).
async fn open_from(addr: SocketAddr, source: Option<IpAddr>) -> Result<Ws, String> {
    let stream = connect_conn_from(addr, source).await?;
    let scheme = if TLS.get().is_some() { "wss" } else { "ws" };
    // tungstenite's default read buffer is 128 KiB, zeroed before every read: with hundreds of
    // clients each reading small frames, that alone was a large share of the tool's CPU, taken
    // from the server it measures on the same cores. Clients on other devices cost it nothing.
    let config =
        tungstenite::protocol::WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
    let (mut ws, _) = async_tungstenite::client_async_with_config(
        format!("{scheme}://{addr}/"),
        stream,
        Some(config),
    )
    .await
    .map_err(|e| format!("upgrade: {e}"))?;
    loop {
        let t = next_text(&mut ws).await?;
        if str_field(&t, "cmd") == Some("handshake") {
            return Ok(ws);
        }
    }
}

/// `register`, then waits for `auth_success` and `ready`.
async fn register(ws: &mut Ws, name: &str) -> Result<(), String> {
    authenticate(ws, name, "register").await.map(drop)
}

/// `register` or `login`, then waits for `auth_success` and `ready`; returns the
/// `upload_token` of `ready` (the credential for HTTP uploads while the connection is open).
async fn authenticate(ws: &mut Ws, name: &str, cmd: &str) -> Result<Option<String>, String> {
    let pkt = json!({"cmd": cmd, "username": name, "password": PASSWORD}).to_string();
    ws.send(Message::text(pkt))
        .await
        .map_err(|e| format!("send {cmd}: {e}"))?;
    let mut success = false;
    loop {
        let t = next_text(ws).await?;
        match str_field(&t, "cmd") {
            Some("auth_success") => success = true,
            Some("ready") if success => {
                G.authed.fetch_add(1, Relaxed);
                return Ok(str_field(&t, "upload_token").map(str::to_string));
            }
            Some("auth_error") | Some("error") => return Err(format!("{cmd} {name}: {t}")),
            _ => {}
        }
    }
}

struct RecvStats {
    received: Vec<u64>,
    next_seq: Vec<u64>,
    reordered: u64,
    gaps: u64,
    hists: Vec<Option<Hist>>,
    ack: Option<Hist>,
}

impl RecvStats {
    fn new(nsenders: usize) -> RecvStats {
        RecvStats {
            received: vec![0; nsenders],
            next_seq: vec![0; nsenders],
            reordered: 0,
            gaps: 0,
            hists: vec![None, None, None, None],
            ack: None,
        }
    }
}

struct ReaderCtx {
    idx: usize,
    measure: bool,
    nsenders: usize,
    sender: Option<usize>,
    ack_tx: Option<channel::Sender<()>>,
}

struct Client {
    tx: Option<WebSocketSender<Conn>>,
    stats: Arc<Mutex<RecvStats>>,
    /// From `ready`: good for HTTP uploads while this connection is open.
    upload_token: Option<String>,
    _reader: Task<()>,
}

fn on_text(t: &str, me: &ReaderCtx, stats: &Mutex<RecvStats>) {
    let now = now_ns();
    G.last_packet.store(now, Relaxed);
    if !me.measure {
        return;
    }
    match str_field(t, "cmd") {
        Some("message_new") => {
            let Some((s, seq, ts)) = str_field(t, "content").and_then(parse_lg) else {
                return;
            };
            if s >= me.nsenders {
                return;
            }
            let lat_us = now.saturating_sub(ts) / 1000;
            G.deliveries.fetch_add(1, Relaxed);
            G.frame_bytes.fetch_add(t.len() as u64, Relaxed);
            let phase = phase_of(ts);
            let own = me.sender == Some(s);
            {
                let mut st = stats.lock().unwrap();
                st.received[s] += 1;
                let next = st.next_seq[s];
                if seq == next {
                    st.next_seq[s] = seq + 1;
                } else if seq > next {
                    st.gaps += 1;
                    st.next_seq[s] = seq + 1;
                } else {
                    st.reordered += 1;
                }
                st.hists[phase].get_or_insert_with(Hist::new).record(lat_us);
                if own {
                    st.ack.get_or_insert_with(Hist::new).record(lat_us);
                }
            }
            if own {
                G.acks.fetch_add(1, Relaxed);
                if let Some(tx) = &me.ack_tx {
                    let _ = tx.try_send(());
                }
            }
        }
        Some(cmd @ ("error" | "rate_limit" | "auth_error")) => {
            G.errors.fetch_add(1, Relaxed);
            sample(&G.error_samples, format!("client {}: {cmd}: {t}", me.idx));
            // The rejected message will never be acked: give a closed-loop sender its slot back.
            if let Some(tx) = &me.ack_tx {
                let _ = tx.try_send(());
            }
        }
        _ => {}
    }
}

async fn reader(mut rx: WebSocketReceiver<Conn>, me: ReaderCtx, stats: Arc<Mutex<RecvStats>>) {
    let why = loop {
        match rx.next().await {
            Some(Ok(Message::Text(t))) => on_text(t.as_str(), &me, &stats),
            Some(Ok(Message::Close(f))) => break format!("close frame {f:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => break e.to_string(),
            None => break "stream ended".into(),
        }
    };
    if !G.shutting_down.load(Relaxed) {
        G.disconnects.fetch_add(1, Relaxed);
        sample(&G.disconnect_samples, format!("client {}: {why}", me.idx));
    }
}

fn spawn_reader(
    ctx: &Ctx,
    ws: Ws,
    idx: usize,
    measure: bool,
    sender: Option<usize>,
    ack_tx: Option<channel::Sender<()>>,
) -> Client {
    let (tx, rx) = ws.split();
    let stats = Arc::new(Mutex::new(RecvStats::new(if measure {
        ctx.nsenders
    } else {
        0
    })));
    let me = ReaderCtx {
        idx,
        measure,
        nsenders: ctx.nsenders,
        sender,
        ack_tx,
    };
    let task = ctx.ex.spawn(reader(rx, me, stats.clone()));
    Client {
        tx: Some(tx),
        stats,
        upload_token: None,
        _reader: task,
    }
}

/// What a client does: measure or not; which sender it is; its closed-loop ack channel.
type Role = (bool, Option<usize>, Option<channel::Sender<()>>);

/// Registers clients `idxs` (with at most `concurrency` registrations in flight, or started at
/// a fixed rate) and starts their readers. Returns the clients (in order) and the time taken.
async fn connect_many(
    ctx: &Arc<Ctx>,
    idxs: Range<usize>,
    rate: Option<f64>,
    mut role: impl FnMut(usize) -> Role,
) -> (Vec<Result<Client, String>>, u64) {
    let sem = Arc::new(smol::lock::Semaphore::new(if rate.is_some() {
        1 << 20
    } else {
        ctx.concurrency
    }));
    let t0 = now_ns();
    let first = idxs.start;
    let mut tasks = Vec::new();
    for i in idxs {
        let (measure, sender, ack_tx) = role(i);
        let ctx2 = ctx.clone();
        let sem = sem.clone();
        let start = rate.map(|r| t0 + ((i - first) as f64 / r * 1e9) as u64);
        tasks.push(ctx.ex.spawn(async move {
            if let Some(s) = start {
                sleep_until(s).await;
            }
            let _permit = sem.acquire_arc().await;
            let mut ws = with_timeout(OPEN_TIMEOUT, "open", open(ctx2.addr)).await?;
            let name = ctx2.name(i);
            let cmd = if i < ctx2.existing {
                "login"
            } else {
                "register"
            };
            let token = with_timeout(AUTH_TIMEOUT, cmd, authenticate(&mut ws, &name, cmd)).await?;
            let mut client = spawn_reader(&ctx2, ws, i, measure, sender, ack_tx);
            client.upload_token = token;
            Ok(client)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await);
    }
    (out, now_ns() - t0)
}

/// `connect_many` that fails on the first failed client.
async fn connect_all(
    ctx: &Arc<Ctx>,
    idxs: Range<usize>,
    role: impl FnMut(usize) -> Role,
) -> Result<(Vec<Client>, u64), String> {
    let n = idxs.len();
    log_line(&format!("registering {n} clients …"));
    let (res, took) = connect_many(ctx, idxs, None, role).await;
    let mut ok = Vec::new();
    let mut errs = Vec::new();
    for r in res {
        match r {
            Ok(c) => ok.push(c),
            Err(e) => errs.push(e),
        }
    }
    if !errs.is_empty() {
        return Err(format!(
            "{} of {n} registrations failed, e.g. {:?}",
            errs.len(),
            &errs[..errs.len().min(3)]
        ));
    }
    log_line(&format!(
        "{n} clients authenticated in {:.2}s ({:.0}/s)",
        secs(took),
        n as f64 / secs(took).max(1e-9)
    ));
    Ok((ok, took))
}

// ---------------------------------------------------------------------------------------
// Senders
// ---------------------------------------------------------------------------------------

struct SenderResult {
    sent: u64,
    lag: Hist,
    error: Option<String>,
}

struct Plan {
    nsenders: usize,
    rate: Option<f64>,
    outstanding: usize,
    size: usize,
    t0: u64,
}

async fn sender_task(
    s: usize,
    mut tx: WebSocketSender<Conn>,
    plan: Arc<Plan>,
    acks: Option<channel::Receiver<()>>,
) -> SenderResult {
    let mut r = SenderResult {
        sent: 0,
        lag: Hist::new(),
        error: None,
    };
    let mut seq = 0u64;
    loop {
        let mut scheduled = None;
        if let Some(rate) = plan.rate {
            let slot = s as f64 + seq as f64 * plan.nsenders as f64;
            let d = plan.t0 + (slot * 1e9 / rate) as u64;
            if d >= G.send_end.load(Relaxed) {
                break;
            }
            // Sleep in short steps so a moved end time is noticed (slow per-sender rates).
            while now_ns() < d && d < G.send_end.load(Relaxed) {
                sleep_until(d.min(now_ns() + 100_000_000)).await;
            }
            if d >= G.send_end.load(Relaxed) {
                break;
            }
            scheduled = Some(d);
        } else {
            if seq >= plan.outstanding as u64 {
                let end = G.send_end.load(Relaxed);
                let acks = acks.as_ref().unwrap();
                let got = future::or(async { acks.recv().await.is_ok() }, async {
                    sleep_until(end).await;
                    false
                })
                .await;
                if !got {
                    break;
                }
            } else {
                sleep_until(plan.t0).await;
            }
            if now_ns() >= G.send_end.load(Relaxed) {
                break;
            }
        }
        let ts = now_ns();
        if let Some(d) = scheduled {
            r.lag.record((ts - d) / 1000);
        }
        let content = make_content(s, seq, ts, plan.size);
        let pkt = format!(r#"{{"cmd":"message_new","channel":"general","content":"{content}"}}"#);
        if let Err(e) = tx.send(Message::text(pkt)).await {
            r.error = Some(e.to_string());
            break;
        }
        r.sent += 1;
        G.sent.fetch_add(1, Relaxed);
        seq += 1;
    }
    r
}

/// Content size that makes the broadcast frame about `DEFAULT_FRAME_BYTES` long.
fn default_size(ctx: &Ctx) -> usize {
    let name = ctx.name(99);
    let overhead = format!(
        r#"{{"cmd":"message_new","message":{{"user":"USR:local_{name}","content":"","timestamp":1795567461.6082397,"id":"7f728b1b-cbd6-49dc-9424-03c6360c053d","pinned":false,"type":"message","interaction":null,"pings":{{"users":[],"roles":[],"replies":[]}}}},"channel":"general","thread_id":null,"global":true}}"#
    )
    .len();
    DEFAULT_FRAME_BYTES.saturating_sub(overhead).max(48)
}

fn check_size(size: usize) -> Result<usize, String> {
    if size > 2000 {
        return Err("--size: at most 2000 (limits.post_content)".into());
    }
    Ok(size)
}

/// Merged receiver figures.
struct Merged {
    hists: Vec<Hist>,
    all: Hist,
    ack: Hist,
    received: u64,
    lost: u64,
    duplicates: u64,
    reordered: u64,
    gaps: u64,
}

fn merge_stats(clients: &[&Client], sent: &[u64]) -> Merged {
    let mut m = Merged {
        hists: vec![Hist::new(), Hist::new(), Hist::new(), Hist::new()],
        all: Hist::new(),
        ack: Hist::new(),
        received: 0,
        lost: 0,
        duplicates: 0,
        reordered: 0,
        gaps: 0,
    };
    for c in clients {
        let st = c.stats.lock().unwrap();
        for (p, h) in st.hists.iter().enumerate() {
            if let Some(h) = h {
                m.hists[p].merge(h);
                m.all.merge(h);
            }
        }
        if let Some(h) = &st.ack {
            m.ack.merge(h);
        }
        for (s, &n) in sent.iter().enumerate() {
            let got = st.received.get(s).copied().unwrap_or(0);
            m.received += got;
            m.lost += n.saturating_sub(got);
            m.duplicates += got.saturating_sub(n);
        }
        m.reordered += st.reordered;
        m.gaps += st.gaps;
    }
    m
}

/// Waits until all expected deliveries arrived, or nothing arrived for 3 s (at most 20 s).
async fn drain(expected: u64) {
    let deadline = now_ns() + 20_000_000_000;
    let mut last = G.deliveries.load(Relaxed);
    let mut last_change = now_ns();
    loop {
        let d = G.deliveries.load(Relaxed);
        let now = now_ns();
        if d >= expected || now >= deadline {
            break;
        }
        if d != last {
            last = d;
            last_change = now;
        } else if now - last_change > 3_000_000_000 {
            log_line(&format!(
                "drain: no progress for 3 s, {} deliveries missing",
                expected - d
            ));
            break;
        }
        Timer::after(Duration::from_millis(20)).await;
    }
}

fn common_json(ctx: &Ctx) -> Value {
    let (warnings, errors, panics, samples) = match &ctx.log {
        Some(l) => (
            json!(l.warnings.load(Relaxed)),
            json!(l.errors.load(Relaxed)),
            json!(l.panics.load(Relaxed)),
            json!(*l.samples.lock().unwrap()),
        ),
        None => (Value::Null, Value::Null, Value::Null, Value::Null),
    };
    json!({
        "errors": G.errors.load(Relaxed),
        "error_samples": *G.error_samples.lock().unwrap(),
        "disconnects": G.disconnects.load(Relaxed),
        "disconnect_samples": *G.disconnect_samples.lock().unwrap(),
        "server_log_warnings": warnings,
        "server_log_errors": errors,
        "server_panics": panics,
        "server_log_samples": samples,
        "server_rss_kib_end": ctx.rss(),
        "tool_rss_kib": rss_kib("self"),
    })
}

fn extend(v: &mut Value, more: Value) {
    if let (Value::Object(a), Value::Object(b)) = (v, more) {
        for (k, x) in b {
            a.insert(k, x);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Modes
// ---------------------------------------------------------------------------------------

async fn mode_connect(ctx: Arc<Ctx>, a: &Args) -> Result<Value, String> {
    let steps = match (&a.steps, a.clients) {
        (Some(s), _) => s.clone(),
        (None, Some(n)) => vec![n],
        (None, None) => return Err("connect needs --clients N or --steps LIST".into()),
    };
    let total = *steps.last().unwrap();
    let settle_for = Duration::from_secs_f64(a.settle);
    Timer::after(settle_for).await;
    let rss0 = ctx.rss();
    let cpu0 = snap(&ctx);
    log_line(&format!("server RSS before any client: {rss0:?} KiB"));
    let progress = spawn_progress(&ctx);
    let mut clients: Vec<Client> = Vec::new();
    let mut failures = Vec::new();
    let mut nfail = 0usize;
    let mut auth_ns = 0u64;
    let mut out_steps = Vec::new();
    for &step in &steps {
        let have = clients.len() + nfail;
        if step > have {
            log_line(&format!("registering clients {have}..{step} …"));
            let (res, took) = connect_many(&ctx, have..step, a.rate, |_| (false, None, None)).await;
            auth_ns += took;
            let n = res.len();
            for r in res {
                match r {
                    Ok(c) => clients.push(c),
                    Err(e) => {
                        nfail += 1;
                        if failures.len() < 5 {
                            failures.push(e);
                        }
                    }
                }
            }
            log_line(&format!(
                "{n} registrations in {:.2}s ({:.0}/s), {} connected",
                secs(took),
                n as f64 / secs(took).max(1e-9),
                clients.len()
            ));
        }
        settle(Duration::from_millis(500), Duration::from_secs(60)).await;
        Timer::after(settle_for).await;
        let rss = ctx.rss();
        log_line(&format!(
            "step {step}: {} connected, server RSS {rss:?} KiB",
            clients.len()
        ));
        out_steps.push(json!({
            "clients": clients.len(),
            "rss_kib": rss,
            "rss_anon_kib": ctx.pid.as_deref().and_then(rss_anon_kib),
            "rss_kib_per_client": match (rss, rss0) {
                (Some(r), Some(r0)) if !clients.is_empty() => Some(r3((r as f64 - r0 as f64) / clients.len() as f64)),
                _ => None,
            },
        }));
    }
    drop(progress);
    let rss1 = ctx.rss();
    let cpu1 = snap(&ctx);
    let n = clients.len();
    let mut v = json!({
        "mode": "connect",
        "clients": n,
        "requested": total,
        "failed": nfail,
        "failure_samples": failures,
        "rate": a.rate,
        "server_rss_kib_before": rss0,
        "server_rss_kib_after": rss1,
        "server_rss_kib_per_client": match (rss1, rss0) {
            (Some(r), Some(r0)) if n > 0 => Some(r3((r as f64 - r0 as f64) / n as f64)),
            _ => None,
        },
        "auth_s": r3(secs(auth_ns)),
        "auths_per_s": r3(n as f64 / secs(auth_ns).max(1e-9)),
        "steps": out_steps,
        "server_cpu_s": match (cpu0.server_ticks, cpu1.server_ticks) {
            (Some(x), Some(y)) => Some(r3((y - x) as f64 / clk_tck())),
            _ => None,
        },
        "tool_cpu_s": match (cpu0.tool_ticks, cpu1.tool_ticks) {
            (Some(x), Some(y)) => Some(r3((y - x) as f64 / clk_tck())),
            _ => None,
        },
    });
    G.shutting_down.store(true, Relaxed);
    extend(&mut v, common_json(&ctx));
    Ok(v)
}

/// Ack channels for closed-loop senders.
type AckChannels = (
    Vec<Option<channel::Sender<()>>>,
    Vec<Option<channel::Receiver<()>>>,
);

fn ack_channels(n: usize, closed: bool) -> AckChannels {
    (0..n)
        .map(|_| {
            if closed {
                let (t, r) = channel::unbounded();
                (Some(t), Some(r))
            } else {
                (None, None)
            }
        })
        .unzip()
}

/// The chat of the `logins`, `media-chat` and `storm` modes: the first `senders` clients send
/// `message_new` at `rate` in total, and latencies are split by send time into calm, event
/// and after (`G.bounds`). Runs the calm part and returns when the event is due (halfway
/// through `duration`), with the calm window measured.
struct PhasedChat {
    senders: Vec<Task<SenderResult>>,
    progress: Task<()>,
    /// When the chat is due to end and when the event starts (ns since the run start).
    t_end: u64,
    t_event: u64,
    calm_start: Snap,
    calm_end: Snap,
}

async fn chat_until_event(
    ctx: &Arc<Ctx>,
    clients: &mut [Client],
    senders: usize,
    (rate, size, duration): (f64, usize, f64),
    event: &str,
) -> PhasedChat {
    let dur = (duration * 1e9) as u64;
    let t0 = now_ns() + 200_000_000;
    let calm_start = t0 + (dur / 10).min(1_000_000_000);
    let t_event = t0 + dur / 2;
    G.bounds[0].store(calm_start, Relaxed);
    G.bounds[1].store(t_event, Relaxed);
    G.send_end.store(u64::MAX, Relaxed);
    let plan = Arc::new(Plan {
        nsenders: senders,
        rate: Some(rate),
        outstanding: 1,
        size,
        t0,
    });
    log_line(&format!(
        "chatting: {rate} msg/s from {senders} of {} chatters; {event} at +{:.1}s",
        clients.len(),
        secs(t_event - t0)
    ));
    let progress = spawn_progress(ctx);
    let senders = spawn_senders(ctx, clients, &plan, (0..senders).map(|_| None).collect());
    sleep_until(calm_start).await;
    let calm_start = snap(ctx);
    sleep_until(t_event).await;
    PhasedChat {
        senders,
        progress,
        t_end: t0 + dur,
        t_event,
        calm_start,
        calm_end: snap(ctx),
    }
}

fn spawn_senders(
    ctx: &Ctx,
    clients: &mut [Client],
    plan: &Arc<Plan>,
    mut ack_rx: Vec<Option<channel::Receiver<()>>>,
) -> Vec<Task<SenderResult>> {
    (0..plan.nsenders)
        .map(|s| {
            let tx = clients[s].tx.take().unwrap();
            ctx.ex
                .spawn(sender_task(s, tx, plan.clone(), ack_rx[s].take()))
        })
        .collect()
}

struct ChatResult {
    sent: Vec<u64>,
    lag: Hist,
    sender_errors: Vec<String>,
}

async fn join_senders(tasks: Vec<Task<SenderResult>>) -> ChatResult {
    let mut r = ChatResult {
        sent: Vec::new(),
        lag: Hist::new(),
        sender_errors: Vec::new(),
    };
    for t in tasks {
        let s = t.await;
        r.sent.push(s.sent);
        r.lag.merge(&s.lag);
        if let Some(e) = s.error {
            r.sender_errors.push(e);
        }
    }
    r
}

fn chat_json(m: &Merged, c: &ChatResult, receivers: usize, frame_bytes_avg: f64) -> Value {
    let sent: u64 = c.sent.iter().sum();
    json!({
        "sent": sent,
        "receivers": receivers,
        "expected_deliveries": sent * receivers as u64,
        "deliveries": m.received,
        "lost": m.lost,
        "duplicates": m.duplicates,
        "out_of_order": m.reordered,
        "seq_gaps": m.gaps,
        "frame_bytes_avg": r3(frame_bytes_avg),
        "latency_ms": m.all.json_ms(),
        "ack_latency_ms": m.ack.json_ms(),
        "send_lag_ms": c.lag.json_ms(),
        "sender_errors": c.sender_errors,
    })
}

fn frame_avg() -> f64 {
    G.frame_bytes.load(Relaxed) as f64 / G.deliveries.load(Relaxed).max(1) as f64
}

async fn mode_fanout(ctx: Arc<Ctx>, a: &Args) -> Result<Value, String> {
    let n = a.clients.ok_or("fanout needs --clients N")?;
    let s = a.senders.ok_or("fanout needs --senders S")?;
    if s == 0 || s > n {
        return Err("--senders must be 1..=clients".into());
    }
    let closed = match (a.rate, a.outstanding) {
        (Some(_), None) => false,
        (None, Some(k)) if k > 0 => true,
        _ => {
            return Err(
                "fanout needs exactly one of --rate MSGS_PER_S or --outstanding K (K >= 1)".into(),
            );
        }
    };
    let size = check_size(a.size.unwrap_or_else(|| default_size(&ctx)))?;
    let (ack_tx, ack_rx) = ack_channels(s, closed);
    let (mut clients, _) = connect_all(&ctx, 0..n, |i| {
        (true, (i < s).then_some(i), ack_tx.get(i).cloned().flatten())
    })
    .await?;
    drop(ack_tx);
    log_line("waiting for presence traffic to settle …");
    settle(Duration::from_millis(500), Duration::from_secs(60)).await;
    Timer::after(Duration::from_secs_f64(a.settle)).await;
    let rss_before = ctx.rss();

    let dur = (a.duration * 1e9) as u64;
    let t0 = now_ns() + 200_000_000;
    let t_end = t0 + dur;
    let w0 = t0 + (dur / 5).min(1_000_000_000);
    G.send_end.store(t_end, Relaxed);
    let plan = Arc::new(Plan {
        nsenders: s,
        rate: a.rate,
        outstanding: a.outstanding.unwrap_or(1),
        size,
        t0,
    });
    log_line(&format!(
        "sending for {}s: {s} senders, {}, content {size} B, {n} receivers",
        a.duration,
        if closed {
            format!("{} outstanding each", plan.outstanding)
        } else {
            format!("{} msg/s in total", a.rate.unwrap())
        }
    ));
    let progress = spawn_progress(&ctx);
    let senders = spawn_senders(&ctx, &mut clients, &plan, ack_rx);
    sleep_until(w0).await;
    let sa = snap(&ctx);
    sleep_until(t_end).await;
    let sb = snap(&ctx);
    let chat = join_senders(senders).await;
    let total_sent: u64 = chat.sent.iter().sum();
    drain(total_sent * n as u64).await;
    drop(progress);
    G.shutting_down.store(true, Relaxed);
    let refs: Vec<&Client> = clients.iter().collect();
    let m = merge_stats(&refs, &chat.sent);
    let mut v = json!({
        "mode": "fanout",
        "clients": n,
        "senders": s,
        "loop": if closed { "closed" } else { "open" },
        "rate": a.rate,
        "outstanding": a.outstanding,
        "duration_s": a.duration,
        "content_bytes": size,
        "server_rss_kib_before": rss_before,
        "steady": window_json(&sa, &sb),
    });
    extend(&mut v, chat_json(&m, &chat, n, frame_avg()));
    extend(&mut v, common_json(&ctx));
    Ok(v)
}

struct SlowReady {
    local: SocketAddr,
    fd: i32,
}

struct SlowDrain {
    message_new_read: u64,
    bytes_read: u64,
    closed: Option<String>,
}

/// The client that authenticates and then stops reading (blocking, on its own thread).
fn slow_client(
    addr: SocketAddr,
    name: String,
    rcvbuf: usize,
    ready: mpsc::Sender<Result<SlowReady, String>>,
    go_drain: mpsc::Receiver<()>,
) -> SlowDrain {
    let setup = || -> Result<(tungstenite::WebSocket<std::net::TcpStream>, SlowReady), String> {
        let stream = connect_small_rcvbuf(addr, rcvbuf)?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let info = SlowReady {
            local: stream.local_addr().map_err(|e| e.to_string())?,
            fd: stream.as_raw_fd(),
        };
        let (mut ws, _) =
            tungstenite::client(format!("ws://{addr}/"), stream).map_err(|e| e.to_string())?;
        let read_cmd =
            |ws: &mut tungstenite::WebSocket<std::net::TcpStream>| -> Result<String, String> {
                loop {
                    match ws.read().map_err(|e| e.to_string())? {
                        Message::Text(t) => {
                            return Ok(str_field(t.as_str(), "cmd").unwrap_or("").to_string());
                        }
                        Message::Close(f) => return Err(format!("closed: {f:?}")),
                        _ => {}
                    }
                }
            };
        while read_cmd(&mut ws)? != "handshake" {}
        let pkt = json!({"cmd": "register", "username": name, "password": PASSWORD}).to_string();
        ws.send(Message::text(pkt)).map_err(|e| e.to_string())?;
        loop {
            match read_cmd(&mut ws)?.as_str() {
                "ready" => break,
                "auth_error" => return Err("slow client: auth_error".into()),
                _ => {}
            }
        }
        Ok((ws, info))
    };
    let mut ws = match setup() {
        Ok((ws, info)) => {
            let _ = ready.send(Ok(info));
            ws
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return SlowDrain {
                message_new_read: 0,
                bytes_read: 0,
                closed: Some("setup failed".into()),
            };
        }
    };
    // Not reading from here on, until told to drain.
    let _ = go_drain.recv();
    let _ = ws.get_mut().set_read_timeout(Some(Duration::from_secs(2)));
    let mut d = SlowDrain {
        message_new_read: 0,
        bytes_read: 0,
        closed: None,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(t)) => {
                d.bytes_read += t.len() as u64;
                if str_field(t.as_str(), "cmd") == Some("message_new") {
                    d.message_new_read += 1;
                }
            }
            Ok(Message::Close(f)) => {
                d.closed = Some(format!("close frame {f:?}"));
                break;
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(e) => {
                d.closed = Some(e.to_string());
                break;
            }
        }
    }
    d
}

async fn mode_slow(ctx: Arc<Ctx>, a: &Args) -> Result<Value, String> {
    let n = a.clients.ok_or("slow needs --clients N")?;
    let rate = a.rate.ok_or("slow needs --rate R")?;
    let s = a.senders.unwrap_or(n.min(10));
    if s == 0 || s > n {
        return Err("--senders must be 1..=clients".into());
    }
    let size = check_size(a.size.unwrap_or_else(|| default_size(&ctx)))?;
    let (mut clients, _) = connect_all(&ctx, 0..n, |i| (true, (i < s).then_some(i), None)).await?;

    log_line(&format!(
        "registering the slow client (SO_RCVBUF {}) …",
        a.slow_rcvbuf
    ));
    let (ready_tx, ready_rx) = mpsc::channel();
    let (drain_tx, drain_rx) = mpsc::channel();
    let (addr, name, rcvbuf) = (ctx.addr, ctx.name(n), a.slow_rcvbuf);
    let slow_thread = std::thread::Builder::new()
        .name("slow-client".into())
        .stack_size(256 * 1024)
        .spawn(move || slow_client(addr, name, rcvbuf, ready_tx, drain_rx))
        .map_err(|e| e.to_string())?;
    let slow = smol::unblock(move || ready_rx.recv_timeout(Duration::from_secs(60)))
        .await
        .map_err(|_| "slow client did not get ready".to_string())??;
    let slow_local = slow.local.to_string();
    log_line(&format!(
        "slow client {slow_local} authenticated; it reads no more"
    ));
    settle(Duration::from_millis(500), Duration::from_secs(60)).await;
    Timer::after(Duration::from_secs_f64(a.settle)).await;
    let rss_before = ctx.rss();

    let dur = (a.duration * 1e9) as u64;
    let t0 = now_ns() + 200_000_000;
    let t_end = t0 + dur;
    G.send_end.store(t_end, Relaxed);
    let plan = Arc::new(Plan {
        nsenders: s,
        rate: Some(rate),
        outstanding: 1,
        size,
        t0,
    });
    log_line(&format!(
        "sending {rate} msg/s from {s} senders for {}s …",
        a.duration
    ));
    let progress = spawn_progress(&ctx);
    let senders = spawn_senders(&ctx, &mut clients, &plan, (0..s).map(|_| None).collect());
    sleep_until(t0).await;
    let sa = snap(&ctx);
    // Watch for the slow client being dropped.
    let mut detected: Option<(u64, String)> = None;
    let check = |detected: &mut Option<(u64, String)>| {
        if detected.is_some() {
            return;
        }
        if let Some(log) = &ctx.log {
            if let Some((t, line)) = log
                .slow_drops
                .lock()
                .unwrap()
                .iter()
                .find(|(_, l)| l.contains(&slow_local))
            {
                *detected = Some((*t, format!("server log: {line}")));
                return;
            }
        }
        match tcp_state(slow.fd) {
            Some(1) | None => {}
            Some(st) => *detected = Some((now_ns(), format!("tcp state {st}"))),
        }
    };
    while now_ns() < t_end {
        check(&mut detected);
        Timer::after(Duration::from_millis(50)).await;
    }
    let sb = snap(&ctx);
    let chat = join_senders(senders).await;
    let total_sent: u64 = chat.sent.iter().sum();
    drain(total_sent * n as u64).await;
    check(&mut detected);
    drop(progress);
    Timer::after(Duration::from_secs_f64(a.settle)).await;
    check(&mut detected);
    let rss_after = ctx.rss();
    let _ = drain_tx.send(());
    let drained = smol::unblock(move || slow_thread.join())
        .await
        .map_err(|_| "slow client thread panicked")?;
    G.shutting_down.store(true, Relaxed);
    let refs: Vec<&Client> = clients.iter().collect();
    let m = merge_stats(&refs, &chat.sent);
    let mut v = json!({
        "mode": "slow",
        "clients": n,
        "senders": s,
        "rate": rate,
        "duration_s": a.duration,
        "content_bytes": size,
        "server_rss_kib_before": rss_before,
        "server_rss_kib_after": rss_after,
        "window": window_json(&sa, &sb),
        "slow_client": {
            "local_addr": slow_local,
            "rcvbuf": a.slow_rcvbuf,
            "disconnected": detected.is_some() || drained.closed.is_some(),
            "detected_after_s": detected.as_ref().map(|(t, _)| r3(secs(t.saturating_sub(t0)))),
            "detected_by": detected.as_ref().map(|(_, how)| how.clone()).or_else(|| {
                drained.closed.as_ref().map(|_| "drain after the run (no server log to time it)".to_string())
            }),
            "messages_sent_before_detection": detected.as_ref().map(|(t, _)| {
                let dt = secs(t.saturating_sub(t0));
                (dt * rate).floor().min(total_sent as f64) as u64
            }),
            "drain_message_new_read": drained.message_new_read,
            "drain_bytes_read": drained.bytes_read,
            "drain_end": drained.closed.clone().unwrap_or_else(|| "still open (read timed out)".into()),
        },
    });
    extend(&mut v, chat_json(&m, &chat, n, frame_avg()));
    extend(&mut v, common_json(&ctx));
    Ok(v)
}

async fn mode_logins(ctx: Arc<Ctx>, a: &Args) -> Result<Value, String> {
    let c = a.chatters.ok_or("logins needs --chatters C")?;
    let rate = a.rate.ok_or("logins needs --rate R")?;
    let l = a.logins.ok_or("logins needs --logins L")?;
    let s = a.senders.unwrap_or(c);
    if s == 0 || s > c {
        return Err("--senders must be 1..=chatters".into());
    }
    let size = check_size(a.size.unwrap_or_else(|| default_size(&ctx)))?;
    let (mut clients, chat_auth_ns) =
        connect_all(&ctx, 0..c, |i| (true, (i < s).then_some(i), None)).await?;

    log_line(&format!("opening {l} connections for the login storm …"));
    let (bar_tx, bar_rx) = channel::bounded::<()>(1);
    let (opened_tx, opened_rx) = channel::unbounded::<Result<(), String>>();
    let mut storm = Vec::new();
    for i in c..c + l {
        let ctx2 = ctx.clone();
        let bar = bar_rx.clone();
        let opened = opened_tx.clone();
        storm.push(ctx.ex.spawn(async move {
            let ws = with_timeout(OPEN_TIMEOUT, "open", open(ctx2.addr)).await;
            let mut ws = match ws {
                Ok(ws) => {
                    let _ = opened.send(Ok(())).await;
                    ws
                }
                Err(e) => {
                    let _ = opened.send(Err(e.clone())).await;
                    return Err(e);
                }
            };
            let _ = bar.recv().await; // released when the barrier sender is dropped
            let t = now_ns();
            with_timeout(AUTH_TIMEOUT, "register", register(&mut ws, &ctx2.name(i))).await?;
            let lat = now_ns() - t;
            Ok::<_, String>((lat, spawn_reader(&ctx2, ws, i, false, None, None)))
        }));
    }
    drop(bar_rx);
    drop(opened_tx);
    for _ in 0..l {
        match opened_rx.recv().await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("storm connection failed to open: {e}")),
            Err(_) => return Err("storm connections vanished".into()),
        }
    }
    settle(Duration::from_millis(500), Duration::from_secs(60)).await;
    Timer::after(Duration::from_secs_f64(a.settle)).await;
    let rss_before = ctx.rss();

    let PhasedChat {
        senders,
        progress,
        t_end,
        t_event: t_storm,
        calm_start: sa,
        calm_end: sb,
    } = chat_until_event(
        &ctx,
        &mut clients,
        s,
        (rate, size, a.duration),
        &format!("{l} registrations"),
    )
    .await;
    log_line(&format!("login storm: {l} registrations at once"));
    drop(bar_tx);
    let mut login_hist = Hist::new();
    let mut login_fail = Vec::new();
    let mut storm_clients = Vec::new();
    for t in storm {
        match t.await {
            Ok((lat, cl)) => {
                login_hist.record(lat / 1000);
                storm_clients.push(cl);
            }
            Err(e) => login_fail.push(e),
        }
    }
    let storm_end = now_ns();
    G.bounds[2].store(storm_end, Relaxed);
    let sc = snap(&ctx);
    log_line(&format!(
        "login storm over after {:.2}s ({} ok, {} failed)",
        secs(storm_end - t_storm),
        storm_clients.len(),
        login_fail.len()
    ));
    let send_end = t_end.max(storm_end);
    G.send_end.store(send_end, Relaxed);
    sleep_until(send_end).await;
    let sd = snap(&ctx);
    let chat = join_senders(senders).await;
    let total_sent: u64 = chat.sent.iter().sum();
    drain(total_sent * c as u64).await;
    drop(progress);
    G.shutting_down.store(true, Relaxed);
    let refs: Vec<&Client> = clients.iter().collect();
    let m = merge_stats(&refs, &chat.sent);
    let storm_s = secs(storm_end - t_storm);
    let mut v = json!({
        "mode": "logins",
        "chatters": c,
        "senders": s,
        "rate": rate,
        "logins": l,
        "duration_s": a.duration,
        "content_bytes": size,
        "chatters_auth": if ctx.existing > 0 { "login (accounts pre-registered at bcrypt cost 4)" } else { "register" },
        "chatter_auths_per_s": r3(c as f64 / secs(chat_auth_ns).max(1e-9)),
        "server_rss_kib_before": rss_before,
        "calm": {"latency_ms": m.hists[1].json_ms(), "window": window_json(&sa, &sb)},
        "storm": {"latency_ms": m.hists[2].json_ms(), "window": window_json(&sb, &sc)},
        "after": {"latency_ms": m.hists[3].json_ms(), "window": window_json(&sc, &sd)},
        "login_storm": {
            "ok": storm_clients.len(),
            "failed": login_fail.len(),
            "failure_samples": &login_fail[..login_fail.len().min(3)],
            "storm_s": r3(storm_s),
            "logins_per_s": r3(storm_clients.len() as f64 / storm_s.max(1e-9)),
            "login_latency_ms": login_hist.json_ms(),
        },
    });
    extend(&mut v, chat_json(&m, &chat, c, frame_avg()));
    extend(&mut v, common_json(&ctx));
    Ok(v)
}

// ---------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------

/// `handshakes`: N loops of connect + TLS handshake + a short HTTPS request, for the
/// duration; handshakes per second and per server CPU-second.
async fn mode_handshakes(ctx: Arc<Ctx>, a: &Args) -> Result<Value, String> {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let loops = a.clients.unwrap_or(8).max(1);
    let end = now_ns() + (a.duration * 1e9) as u64;
    let failures = Arc::new(AtomicU64::new(0));
    let before = snap(&ctx);
    let h0 = HANDSHAKES.load(Relaxed);
    let tasks: Vec<Task<()>> = (0..loops)
        .map(|_| {
            let addr = ctx.addr;
            let failures = failures.clone();
            ctx.ex.spawn(async move {
                while now_ns() < end {
                    let one = async {
                        let mut c = connect_conn(addr).await?;
                        c.write_all(b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n")
                            .await
                            .map_err(|e| e.to_string())?;
                        let mut answer = Vec::new();
                        let _ = c.read_to_end(&mut answer).await;
                        if !answer.starts_with(b"HTTP/1.1 404") {
                            return Err(format!("answer {:?}", String::from_utf8_lossy(&answer)));
                        }
                        Ok::<(), String>(())
                    };
                    if let Err(e) = with_timeout(OPEN_TIMEOUT, "handshake", one).await {
                        failures.fetch_add(1, Relaxed);
                        sample(&G.error_samples, e);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await;
    }
    let after = snap(&ctx);
    let n = HANDSHAKES.load(Relaxed) - h0;
    let dt = secs(after.t - before.t).max(1e-9);
    let scpu = match (before.server_ticks, after.server_ticks) {
        (Some(x), Some(y)) => Some((y - x) as f64 / clk_tck()),
        _ => None,
    };
    let mut v = common_json(&ctx);
    extend(
        &mut v,
        json!({
            "mode": "handshakes",
            "loops": loops,
            "resumption": a.resume,
            "handshakes": n,
            "failures": failures.load(Relaxed),
            "handshakes_per_s": r3(n as f64 / dt),
            "server_cpu_s": scpu.map(r3),
            "handshakes_per_server_cpu_s": scpu.and_then(|c| (c > 0.0).then(|| r3(n as f64 / c))),
        }),
    );
    Ok(v)
}

fn main() {
    START.set(Instant::now()).unwrap();
    let mut a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("loadgen: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    raise_nofile();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        kill_server_now();
        std::process::exit(101);
    }));
    let timeout = a.timeout.unwrap_or(match a.mode.as_str() {
        "connect" => 600.0,
        _ => a.duration * 2.0 + 300.0,
    });
    std::thread::Builder::new()
        .name("watchdog".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(timeout));
            eprintln!(
                "loadgen: hard timeout of {timeout}s reached; killing the server and exiting"
            );
            kill_server_now();
            std::process::exit(3);
        })
        .unwrap();

    let total_clients = a.clients.unwrap_or(0).max(
        a.steps
            .as_ref()
            .and_then(|s| s.last().copied())
            .unwrap_or(0),
    ) + a.chatters.unwrap_or(0)
        + a.logins.unwrap_or(0)
        + a.uploads.unwrap_or(0)
        + 1;
    let cost = a
        .bcrypt_cost
        .unwrap_or(if a.mode == "logins" { 12 } else { 4 });
    let fail = |e: String| -> ! {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    };
    let ex: &'static Executor<'static> = Box::leak(Box::new(Executor::new()));
    for i in 1..a.threads {
        std::thread::Builder::new()
            .name(format!("loadgen-{i}"))
            .stack_size(1 << 20)
            .spawn(move || smol::block_on(ex.run(future::pending::<()>())))
            .unwrap();
    }
    if a.mode == "storm" && a.addr.is_none() {
        a.store = Some(storm::store_dir(&a, cost));
    }
    let mut run = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            & 0xffffff
    );
    // `logins` on our own server: the chatters' accounts are made on a cost-4 server first,
    // which then restarts with the storm's cost, so only the storm pays for expensive hashes.
    let mut existing = 0;
    let mut startup = (Duration::ZERO, None, None);
    let mut server = match a.addr {
        Some(_) => None,
        None if a.mode == "storm" => {
            let accounts = a.chatters.unwrap_or(0) + a.logins.unwrap_or(0);
            storm::prepare(&a, ex, cost, accounts).unwrap_or_else(|e| fail(e));
            run = storm::RUN.into();
            existing = accounts;
            let (server, measured) =
                storm::start(&a, total_clients + 64, cost).unwrap_or_else(|e| fail(e));
            startup = measured;
            Some(server)
        }
        None if (a.mode == "logins" && cost > 4) || (a.mode == "connect" && a.existing) => {
            let chatters = if a.mode == "connect" {
                total_clients
            } else {
                a.chatters.unwrap_or(0)
            };
            let first = start_server(&a, total_clients + 64, 4, None).unwrap_or_else(|e| fail(e));
            let pre = Arc::new(Ctx {
                addr: first.addr,
                run: run.clone(),
                nsenders: 0,
                ex,
                pid: None,
                log: None,
                concurrency: a.concurrency,
                existing: 0,
            });
            let made = smol::block_on(ex.run(async {
                log_line(&format!(
                    "pre-registering {chatters} chatters at bcrypt cost 4 …"
                ));
                connect_all(&pre, 0..chatters, |_| (false, None, None))
                    .await
                    .map(|(clients, _)| drop(clients))
            }));
            made.unwrap_or_else(|e| fail(e));
            G.authed.store(0, Relaxed);
            existing = chatters;
            Some(
                first
                    .restart(&a, total_clients + 64, cost)
                    .unwrap_or_else(|e| fail(e)),
            )
        }
        None => {
            let dir = diskio::prepared_dir(&a).unwrap_or_else(|e| fail(e));
            Some(start_server(&a, total_clients + 64, cost, dir).unwrap_or_else(|e| fail(e)))
        }
    };
    let addr = server.as_ref().map(|s| s.addr).or(a.addr).unwrap();
    if a.tls {
        let ca = match (&a.ca, server.as_ref().and_then(|s| s.dir.as_ref())) {
            (Some(ca), _) => ca.clone(),
            (None, Some(dir)) => dir.path().join("data").join("tls-ca.pem"),
            (None, None) => fail("--tls needs --ca PATH".into()),
        };
        let config = tls_client_config(&ca, a.resume).unwrap_or_else(|e| fail(e));
        let _ = TLS.set(Arc::new(config));
    }
    let pid = server.as_ref().map(|s| s.pid).or(a.pid);
    if let Some(p) = a.pid {
        if cpu_ticks(&p.to_string()).is_none() {
            eprintln!("loadgen: no process {p}");
            std::process::exit(2);
        }
    }
    let ctx = Arc::new(Ctx {
        addr,
        run,
        nsenders: a.senders.unwrap_or(match a.mode.as_str() {
            "slow" => a.clients.unwrap_or(0).min(10),
            "logins" | "media-chat" | "storm" => a.chatters.unwrap_or(0),
            "diskio" => 10,
            _ => 0,
        }),
        ex,
        pid: pid.map(|p| p.to_string()),
        log: server.as_ref().map(|s| s.log.clone()),
        concurrency: a.concurrency,
        existing,
    });
    let result = smol::block_on(ex.run(async {
        match a.mode.as_str() {
            "connect" => mode_connect(ctx.clone(), &a).await,
            "fanout" => mode_fanout(ctx.clone(), &a).await,
            "slow" => mode_slow(ctx.clone(), &a).await,
            "handshakes" => mode_handshakes(ctx.clone(), &a).await,
            "media" => media::mode_media(ctx.clone(), &a).await,
            "media-chat" => media::mode_media_chat(ctx.clone(), &a).await,
            "storm" => storm::mode_storm(ctx.clone(), &a, startup).await,
            // Stops the server itself: its counters are read up to its exit.
            "diskio" => diskio::mode_diskio(ctx.clone(), &a, server.take()).await,
            _ => mode_logins(ctx.clone(), &a).await,
        }
    }));
    G.shutting_down.store(true, Relaxed);
    let code = match result {
        Ok(mut v) => {
            if let Some(p) = &server {
                if let Ok(Some(st)) = p_try_wait(p) {
                    extend(&mut v, json!({"server_exited_early": st}));
                }
            }
            extend(
                &mut v,
                json!({"server_addr": addr.to_string(), "server_pid": pid, "tls": a.tls, "elapsed_s": r3(secs(now_ns()))}),
            );
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{v}");
            let _ = out.flush();
            0
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            if let Some(s) = &server {
                let log = s.log.lines.lock().unwrap();
                let tail = &log[log.len().saturating_sub(20)..];
                eprintln!("loadgen: last server log lines:\n{}", tail.join("\n"));
            }
            1
        }
    };
    drop(server);
    std::process::exit(code);
}

/// Whether the server we started has already exited (it should not have).
fn p_try_wait(s: &Server) -> Result<Option<String>, ()> {
    // `Child::try_wait` needs `&mut`; /proc tells the same without it.
    match std::fs::read_to_string(format!("/proc/{}/stat", s.pid)) {
        Ok(st) if !st.contains(") Z ") => Ok(None),
        _ => Ok(Some("server process is gone or a zombie".into())),
    }
}
