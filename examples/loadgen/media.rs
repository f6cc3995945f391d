//! The load tool's attachment modes (issue 11): what uploads and downloads cost the server.
//!
//! - `media`: one client; the server's VmRSS and peak (VmHWM) around a raw upload
//!   (`PUT /attachments/upload`, the file as the body) and a JSON upload (`POST`, the file
//!   as a base64 data URL, decoded by the server as it streams) of the same size, after a
//!   small warm-up upload of each form; then downloads of the raw upload (`GET
//!   /attachments/<id>`): MB/s and the RSS around them.
//! - `media-chat`: chatters at a fixed rate as in `logins`; halfway, `--uploads` threads
//!   each upload a file `--rounds` times back to back. Chat latency is reported per phase
//!   (calm, during the uploads, after) by send time, with the upload completion times.
//!
//! The HTTP client is a small blocking HTTP/1.1 client, one thread per exchange: bodies are
//! generated before anything is measured and written from memory in 64 KiB chunks, so the
//! client adds nothing to the server's side but the bytes themselves. Each exchange is one
//! connection (the server closes after every answer). The peak is reset before each
//! measurement by writing 5 to /proc/PID/clear_refs (Linux ≥ 4.0, same user), so a peak
//! figure belongs to that step alone.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use smol::Timer;
use smol::channel;

use super::{
    Args, Client, Ctx, G, Hist, PhasedChat, Relaxed, chat_json, chat_until_event, check_size,
    clk_tck, common_json, connect_all, cpu_ticks, default_size, drain, extend, frame_avg,
    join_senders, log_line, merge_stats, now_ns, r3, secs, settle, sleep_until, snap, window_json,
};

const MIB: usize = 1 << 20;
/// Bytes handed to one `write` of a request body.
const WRITE_CHUNK: usize = 64 * 1024;
/// Bytes asked for at a time when reading an answer.
const READ_CHUNK: usize = 256 * 1024;
/// The warm-up upload: several of the server's 32 KiB read and write chunks, so every
/// buffer and blocking thread of the upload path exists before the measured upload.
const WARMUP_BYTES: usize = 256 * 1024;
/// The longest a read or write of one exchange may wait.
const HTTP_TIMEOUT: Duration = Duration::from_secs(120);
/// The server's default `attachments.max_size` (25 MiB) and `max_total_bytes` (2 GiB).
const DEFAULT_MAX_SIZE: u64 = 25 * MIB as u64;
const DEFAULT_MAX_TOTAL: u64 = 2048 * MIB as u64;

/// Size of the measured file: `--file-mib`, else 20 MiB (`media`) or 5 MiB (`media-chat`).
fn file_bytes(a: &Args) -> Result<usize, String> {
    let default = if a.mode == "media-chat" { 5.0 } else { 20.0 };
    let mib = a.file_mib.unwrap_or(default);
    if !(0.01..=1024.0).contains(&mib) {
        return Err("--file-mib: between 0.01 and 1024".into());
    }
    Ok((mib * MIB as f64) as usize)
}

/// The `attachments` block of the generated config: room for the measured file (at least
/// the default 25 MiB) and for everything a run uploads.
pub fn attachments_config(a: &Args) -> Value {
    let file = file_bytes(a).unwrap_or(0) as u64;
    let total = file * (a.uploads.unwrap_or(1) * a.rounds.max(1) + 2) as u64;
    json!({
        "enabled": true,
        "max_size": DEFAULT_MAX_SIZE.max(file + MIB as u64),
        "max_total_bytes": DEFAULT_MAX_TOTAL.max(total + 64 * MIB as u64),
    })
}

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

/// A file the server takes for a PNG image (signature and IHDR chunk), the rest
/// pseudo-random bytes (xorshift32 from `seed`) that no compression would shrink.
fn png(len: usize, seed: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(len + 4);
    p.extend_from_slice(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR");
    p.extend_from_slice(&640u32.to_be_bytes());
    p.extend_from_slice(&480u32.to_be_bytes());
    p.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    let mut x = seed | 1;
    while p.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p.extend_from_slice(&x.to_le_bytes());
    }
    p.truncate(len.max(33));
    p
}

/// Standard base64 with padding.
fn base64_into(data: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = ((c[0] as u32) << 16)
            | ((c.get(1).copied().unwrap_or(0) as u32) << 8)
            | (c.get(2).copied().unwrap_or(0) as u32);
        let at = |shift: u32| ALPHABET[(n >> shift) as usize & 63];
        out.push(at(18));
        out.push(at(12));
        out.push(if c.len() > 1 { at(6) } else { b'=' });
        out.push(if c.len() > 2 { at(0) } else { b'=' });
    }
}

/// How a file goes up.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// `PUT`, the file itself as the body.
    Raw,
    /// `POST`, a JSON document with the file as a base64 data URL.
    Json,
}

/// A prepared upload: the request body, built before anything is measured.
struct Payload {
    form: Form,
    name: String,
    /// The file (what a download must give back).
    file: Arc<Vec<u8>>,
    /// The request body: the file itself, or the JSON document.
    body: Vec<u8>,
}

impl Payload {
    fn new(form: Form, name: &str, file: Arc<Vec<u8>>) -> Payload {
        let body = match form {
            Form::Raw => file.to_vec(),
            Form::Json => {
                let head = json!({"name": name, "mime_type": "image/png", "channel": "general"})
                    .to_string();
                // `{…,"file":"data:…"}`: the known fields, then the file at the end.
                let mut b = Vec::with_capacity(head.len() + file.len() / 3 * 4 + 64);
                b.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
                b.extend_from_slice(br#","file":"data:image/png;base64,"#);
                base64_into(&file, &mut b);
                b.extend_from_slice(b"\"}");
                b
            }
        };
        Payload {
            form,
            name: name.to_string(),
            file,
            body,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Blocking HTTP/1.1 client
// ---------------------------------------------------------------------------------------

/// What one exchange gave.
struct Reply {
    status: u16,
    /// The answer's body when it is kept (everything but downloads).
    body: Vec<u8>,
    body_bytes: u64,
    /// Whether a download differed from the expected bytes.
    mismatch: bool,
    /// Run-clock nanoseconds: request started, answer complete.
    start: u64,
    done: u64,
}

/// Takes an answer's body: kept, or compared with what it must be and dropped.
struct BodySink<'a> {
    expect: Option<&'a [u8]>,
    kept: Vec<u8>,
    bytes: u64,
    mismatch: bool,
}

impl BodySink<'_> {
    fn take(&mut self, data: &[u8]) {
        match self.expect {
            Some(e) => {
                let from = self.bytes as usize;
                if e.get(from..from + data.len()) != Some(data) {
                    self.mismatch = true;
                }
            }
            None if self.kept.len() < 1 << 20 => self.kept.extend_from_slice(data),
            None => {}
        }
        self.bytes += data.len() as u64;
    }
}

/// Status code and `Content-Length` of an answer's head.
fn parse_head(head: &[u8]) -> Result<(u16, Option<u64>), String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad answer head {text:?}"))?;
    let length = lines.find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())?
    });
    Ok((status, length))
}

/// Sends `head` and `body` (in [`WRITE_CHUNK`] writes, at most `pace` bytes per second
/// when given) on a new connection and reads the answer. `expect`: the body the answer
/// must have (it is then compared, not kept).
fn exchange(
    addr: SocketAddr,
    head: &str,
    body: &[u8],
    pace: Option<f64>,
    expect: Option<&[u8]>,
) -> Result<Reply, String> {
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    let setup = |s: &std::net::TcpStream| {
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(HTTP_TIMEOUT))?;
        s.set_write_timeout(Some(HTTP_TIMEOUT))
    };
    setup(&s).map_err(|e| e.to_string())?;
    let start = now_ns();
    // A server that refuses early closes while we write: its answer is still to be read.
    let mut write_error = s.write_all(head.as_bytes()).err();
    if write_error.is_none() {
        for (i, chunk) in body.chunks(WRITE_CHUNK).enumerate() {
            if let Some(rate) = pace {
                let due = start + (((i * WRITE_CHUNK) as f64 / rate) * 1e9) as u64;
                if let Some(wait) = due.checked_sub(now_ns()) {
                    std::thread::sleep(Duration::from_nanos(wait));
                }
            }
            if let Err(e) = s.write_all(chunk) {
                write_error = Some(e);
                break;
            }
        }
    }
    let mut buf = vec![0u8; READ_CHUNK];
    let mut head_bytes = Vec::new();
    let mut answer: Option<(u16, Option<u64>)> = None;
    let mut sink = BodySink {
        expect,
        kept: Vec::new(),
        bytes: 0,
        mismatch: false,
    };
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if answer.is_some() => return Err(format!("reading the answer: {e}")),
            Err(e) => {
                return Err(match write_error {
                    Some(w) => format!("sending: {w}; then no answer: {e}"),
                    None => format!("no answer: {e}"),
                });
            }
        };
        match answer {
            Some(_) => sink.take(&buf[..n]),
            None => {
                head_bytes.extend_from_slice(&buf[..n]);
                let Some(end) = head_bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
                    if head_bytes.len() > 64 * 1024 {
                        return Err("answer head too long".into());
                    }
                    continue;
                };
                answer = Some(parse_head(&head_bytes[..end])?);
                sink.take(&head_bytes[end + 4..]);
            }
        }
        if let Some((_, Some(length))) = answer {
            if sink.bytes >= length {
                break;
            }
        }
    }
    let Some((status, _)) = answer else {
        return Err(match write_error {
            Some(w) => format!("sending: {w}; connection closed without an answer"),
            None => "connection closed without an answer".into(),
        });
    };
    Ok(Reply {
        status,
        body: sink.kept,
        body_bytes: sink.bytes,
        mismatch: sink.mismatch,
        start,
        done: now_ns(),
    })
}

/// A finished upload.
struct Uploaded {
    id: String,
    start: u64,
    done: u64,
}

/// `pace`: the most bytes per second to send (a LAN's speed), else as fast as loopback goes.
fn upload(
    addr: SocketAddr,
    token: &str,
    p: &Payload,
    pace: Option<f64>,
) -> Result<Uploaded, String> {
    let (method, target, ctype) = match p.form {
        Form::Raw => (
            "PUT",
            format!("/attachments/upload?channel=general&name={}", p.name),
            "application/octet-stream",
        ),
        Form::Json => (
            "POST",
            "/attachments/upload".to_string(),
            "application/json",
        ),
    };
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
        p.body.len()
    );
    let r = exchange(addr, &head, &p.body, pace, None)?;
    let text = String::from_utf8_lossy(&r.body);
    if r.status != 201 {
        return Err(format!("upload of {}: HTTP {}: {text}", p.name, r.status));
    }
    let answer: Value =
        serde_json::from_str(&text).map_err(|e| format!("upload answer {text:?}: {e}"))?;
    let info = &answer["attachment"];
    if info["size"].as_u64() != Some(p.file.len() as u64) {
        return Err(format!(
            "upload of {}: stored size {} instead of {}",
            p.name,
            info["size"],
            p.file.len()
        ));
    }
    let id = info["id"]
        .as_str()
        .ok_or_else(|| format!("upload answer without an id: {text}"))?;
    Ok(Uploaded {
        id: id.to_string(),
        start: r.start,
        done: r.done,
    })
}

/// Downloads attachment `id` without credentials (as the official client's `<img>` does,
/// `attachments.public_links` on) and checks it is `expect`; returns the seconds taken.
fn download(addr: SocketAddr, id: &str, expect: &[u8]) -> Result<f64, String> {
    let head = format!("GET /attachments/{id} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let r = exchange(addr, &head, &[], None, Some(expect))?;
    if r.status != 200 {
        return Err(format!("download of {id}: HTTP {}", r.status));
    }
    if r.body_bytes != expect.len() as u64 || r.mismatch {
        return Err(format!(
            "download of {id}: {} bytes{}, expected {}",
            r.body_bytes,
            if r.mismatch { " (different)" } else { "" },
            expect.len()
        ));
    }
    Ok(secs(r.done - r.start))
}

// ---------------------------------------------------------------------------------------
// Server memory
// ---------------------------------------------------------------------------------------

/// From /proc/PID/status, KiB.
#[derive(Clone, Copy)]
struct Mem {
    rss: u64,
    peak: u64,
    anon: u64,
}

fn mem(pid: &str) -> Result<Mem, String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("/proc/{pid}/status: no {name}"))
    };
    Ok(Mem {
        rss: field("VmRSS:")?,
        peak: field("VmHWM:")?,
        anon: field("RssAnon:")?,
    })
}

/// Resets the process's VmHWM to its current RSS; false when the kernel refused.
fn reset_peak(pid: &str) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Memory of the server around one step: `before` (just after the peak reset), `answer`
/// (when the step's last answer came), `after` (after settling).
fn mem_json(before: Mem, answer: Mem, after: Mem, peak_reset: bool) -> Value {
    let d = |a: u64, b: u64| a as i64 - b as i64;
    json!({
        "rss_kib_before": before.rss,
        "rss_growth_kib": d(after.rss, before.rss),
        "rss_growth_at_answer_kib": d(answer.rss, before.rss),
        "anon_growth_kib": d(after.anon, before.anon),
        // With the reset, the step's own peak; without it, how much the lifetime peak rose.
        "peak_growth_kib": d(answer.peak.max(after.peak), if peak_reset { before.rss } else { before.peak }),
        "peak_reset": peak_reset,
    })
}

/// Server CPU seconds between two readings of /proc/PID/stat (10 ms resolution).
fn cpu_between(a: Option<u64>, b: Option<u64>) -> Option<f64> {
    Some(b?.checked_sub(a?)? as f64 / clk_tck())
}

fn mb_per_s(bytes: usize, s: f64) -> f64 {
    r3(bytes as f64 / 1e6 / s.max(1e-9))
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

// ---------------------------------------------------------------------------------------
// Modes
// ---------------------------------------------------------------------------------------

fn server_pid(ctx: &Ctx) -> Result<String, String> {
    ctx.pid
        .clone()
        .ok_or_else(|| "the media modes need the server's pid (with --addr: --pid)".into())
}

fn token_of(c: &Client) -> Result<String, String> {
    c.upload_token
        .clone()
        .ok_or_else(|| "`ready` carried no upload_token".into())
}

/// Uploads off the executor thread.
async fn upload_async(addr: SocketAddr, token: &str, p: &Arc<Payload>) -> Result<Uploaded, String> {
    let (token, p) = (token.to_string(), p.clone());
    smol::unblock(move || upload(addr, &token, &p, None)).await
}

/// One measured upload: memory before, at the answer and settled.
async fn measured_upload(
    ctx: &Ctx,
    pid: &str,
    settle_for: Duration,
    token: &str,
    p: &Arc<Payload>,
) -> Result<(Value, String), String> {
    let reset = reset_peak(pid);
    let before = mem(pid)?;
    let cpu0 = cpu_ticks(pid);
    let up = upload_async(ctx.addr, token, p).await?;
    let answer = mem(pid)?;
    let cpu = cpu_between(cpu0, cpu_ticks(pid));
    Timer::after(settle_for).await;
    let after = mem(pid)?;
    let took = secs(up.done - up.start);
    let mut v = json!({
        "body_bytes": p.body.len(),
        "upload_s": r3(took),
        "file_mb_per_s": mb_per_s(p.file.len(), took),
        "server_cpu_s": cpu.map(r3),
    });
    extend(&mut v, mem_json(before, answer, after, reset));
    log_line(&format!(
        "{} upload: {took:.3}s, RSS {:+} KiB, peak {:+} KiB",
        if p.form == Form::Raw { "raw" } else { "JSON" },
        v["rss_growth_kib"].as_i64().unwrap_or_default(),
        v["peak_growth_kib"].as_i64().unwrap_or_default(),
    ));
    Ok((v, up.id))
}

/// `media`: memory around a raw and a JSON upload, then download throughput.
pub async fn mode_media(ctx: Arc<Ctx>, a: &Args) -> Result<Value, String> {
    let pid = server_pid(&ctx)?;
    let bytes = file_bytes(a)?;
    if a.downloads == 0 {
        return Err("--downloads must be at least 1".into());
    }
    let settle_for = Duration::from_secs_f64(a.settle);
    let (clients, _) = connect_all(&ctx, 0..1, |_| (false, None, None)).await?;
    let token = token_of(&clients[0])?;
    log_line(&format!("generating the files ({bytes} bytes) …"));
    let (raw, json_form, warm_raw, warm_json) = smol::unblock(move || {
        let file = Arc::new(png(bytes, 0x2545_f491));
        let warm = Arc::new(png(WARMUP_BYTES, 0x9e37_79b9));
        (
            Arc::new(Payload::new(Form::Raw, "raw.png", file.clone())),
            Arc::new(Payload::new(Form::Json, "json.png", file)),
            Arc::new(Payload::new(Form::Raw, "warm-raw.png", warm.clone())),
            Arc::new(Payload::new(Form::Json, "warm-json.png", warm)),
        )
    })
    .await;

    log_line("warm-up: a small upload of each form and a download");
    let warm = upload_async(ctx.addr, &token, &warm_raw).await?;
    upload_async(ctx.addr, &token, &warm_json).await?;
    let (addr, id, file) = (ctx.addr, warm.id.clone(), warm_raw.file.clone());
    smol::unblock(move || download(addr, &id, &file)).await?;
    Timer::after(settle_for).await;
    let rss_start = mem(&pid)?;

    let (raw_v, raw_id) = measured_upload(&ctx, &pid, settle_for, &token, &raw).await?;
    let (json_v, _) = measured_upload(&ctx, &pid, settle_for, &token, &json_form).await?;

    log_line(&format!("{} downloads of the raw upload …", a.downloads));
    let reset = reset_peak(&pid);
    let before = mem(&pid)?;
    let cpu0 = cpu_ticks(&pid);
    let mut times = Vec::new();
    for _ in 0..a.downloads {
        let (addr, id, file) = (ctx.addr, raw_id.clone(), raw.file.clone());
        times.push(smol::unblock(move || download(addr, &id, &file)).await?);
    }
    let answer = mem(&pid)?;
    let cpu = cpu_between(cpu0, cpu_ticks(&pid));
    Timer::after(settle_for).await;
    let after = mem(&pid)?;
    let rates: Vec<f64> = times.iter().map(|&t| mb_per_s(bytes, t)).collect();
    log_line(&format!("downloads: {rates:?} MB/s"));
    let mut down = json!({
        "downloads": a.downloads,
        "mb_per_s": rates,
        "mb_per_s_median": r3(median(&rates)),
        "seconds": times.iter().map(|&t| r3(t)).collect::<Vec<_>>(),
        "server_cpu_s": cpu.map(r3),
        "mb_per_server_cpu_s": cpu
            .filter(|&c| c > 0.0)
            .map(|c| r3((bytes * a.downloads) as f64 / 1e6 / c)),
    });
    extend(&mut down, mem_json(before, answer, after, reset));
    G.shutting_down.store(true, Relaxed);
    drop(clients);
    let mut v = json!({
        "mode": "media",
        "file_bytes": bytes,
        "mb": "10^6 bytes",
        "server_rss_kib_after_warmup": rss_start.rss,
        "server_anon_kib_after_warmup": rss_start.anon,
        "raw_upload": raw_v,
        "json_upload": json_v,
        "download": down,
    });
    extend(&mut v, common_json(&ctx));
    Ok(v)
}

/// `media-chat`: chat latency while uploads run, against the calm phase before them.
pub async fn mode_media_chat(ctx: Arc<Ctx>, a: &Args) -> Result<Value, String> {
    let c = a.chatters.ok_or("media-chat needs --chatters C")?;
    let rate = a.rate.ok_or("media-chat needs --rate R")?;
    let u = a.uploads.ok_or("media-chat needs --uploads U")?;
    if u == 0 || u > c {
        return Err("--uploads must be 1..=chatters (uploaders use chatters' tokens)".into());
    }
    if a.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    if a.upload_mbps.is_some_and(|m| m.is_nan() || m <= 0.0) {
        return Err("--upload-mbps must be > 0".into());
    }
    let s = a.senders.unwrap_or(c);
    if s == 0 || s > c {
        return Err("--senders must be 1..=chatters".into());
    }
    let bytes = file_bytes(a)?;
    let size = check_size(a.size.unwrap_or_else(|| default_size(&ctx)))?;
    let (mut clients, _) = connect_all(&ctx, 0..c, |i| (true, (i < s).then_some(i), None)).await?;
    let tokens = clients[..u]
        .iter()
        .map(token_of)
        .collect::<Result<Vec<_>, _>>()?;
    let file = Arc::new(smol::unblock(move || png(bytes, 0x2545_f491)).await);
    let payload = Arc::new(Payload::new(Form::Raw, "chat.png", file));
    let warm = Arc::new(Payload::new(
        Form::Raw,
        "warm.png",
        Arc::new(png(WARMUP_BYTES, 0x9e37_79b9)),
    ));
    upload_async(ctx.addr, &tokens[0], &warm).await?;
    log_line("waiting for presence traffic to settle …");
    settle(Duration::from_millis(500), Duration::from_secs(60)).await;
    Timer::after(Duration::from_secs_f64(a.settle)).await;
    let rss_before = ctx.rss();

    let PhasedChat {
        senders,
        progress,
        t_end,
        t_event: t_up,
        calm_start: sa,
        calm_end: sb,
    } = chat_until_event(
        &ctx,
        &mut clients,
        s,
        (rate, size, a.duration),
        &format!("{u} uploads of {bytes} bytes ×{}", a.rounds),
    )
    .await;
    log_line(&format!("{u} uploads at once"));
    let (done_tx, done_rx) = channel::unbounded::<Result<(u64, u64), String>>();
    let mut threads = Vec::new();
    for (k, token) in tokens.into_iter().enumerate() {
        let (addr, payload, done, rounds) = (ctx.addr, payload.clone(), done_tx.clone(), a.rounds);
        let pace = a.upload_mbps.map(|m| m * 1e6);
        let spawned = std::thread::Builder::new()
            .name(format!("upload-{k}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                for _ in 0..rounds {
                    let r = upload(addr, &token, &payload, pace).map(|up| (up.start, up.done));
                    let failed = r.is_err();
                    let _ = done.send_blocking(r);
                    if failed {
                        break;
                    }
                }
            });
        threads.push(spawned.map_err(|e| format!("upload thread: {e}"))?);
    }
    drop(done_tx);
    let mut completion = Hist::new();
    let mut completion_ms = Vec::new();
    let mut failures = Vec::new();
    while let Ok(r) = done_rx.recv().await {
        match r {
            Ok((start, done)) => {
                completion.record((done - start) / 1000);
                completion_ms.push(r3((done - start) as f64 / 1e6));
            }
            Err(e) => failures.push(e),
        }
    }
    let up_end = now_ns();
    for t in threads {
        let _ = t.join();
    }
    G.bounds[2].store(up_end, Relaxed);
    let sc = snap(&ctx);
    log_line(&format!(
        "uploads over after {:.2}s ({} ok, {} failed)",
        secs(up_end - t_up),
        completion_ms.len(),
        failures.len()
    ));
    let send_end = t_end.max(up_end);
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
    let p99 = |h: &Hist| h.quantile(0.99) as f64;
    let up_s = secs(up_end - t_up);
    let mut v = json!({
        "mode": "media-chat",
        "chatters": c,
        "senders": s,
        "rate": rate,
        "uploads": u,
        "rounds": a.rounds,
        "upload_mb_per_s_cap": a.upload_mbps,
        "file_bytes": bytes,
        "duration_s": a.duration,
        "content_bytes": size,
        "server_rss_kib_before": rss_before,
        "calm": {"latency_ms": m.hists[1].json_ms(), "window": window_json(&sa, &sb)},
        "during_uploads": {"latency_ms": m.hists[2].json_ms(), "window": window_json(&sb, &sc)},
        "after": {"latency_ms": m.hists[3].json_ms(), "window": window_json(&sc, &sd)},
        "p99_ratio_uploads_to_calm": r3(p99(&m.hists[2]) / p99(&m.hists[1]).max(1.0)),
        "upload_phase": {
            "ok": completion_ms.len(),
            "failed": failures.len(),
            "failure_samples": &failures[..failures.len().min(3)],
            "phase_s": r3(up_s),
            "completion_ms": completion.json_ms(),
            "completion_each_ms": completion_ms,
            "file_mb_per_s_total": mb_per_s(bytes * completion.n as usize, up_s),
        },
    });
    extend(&mut v, chat_json(&m, &chat, c, frame_avg()));
    extend(&mut v, common_json(&ctx));
    Ok(v)
}
