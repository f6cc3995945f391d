//! A small logger for the `log` facade: one line per event on standard error, level from
//! `RUST_LOG` (`error`, `warn`, `info` (default), `debug`, `trace`, `off`).
//!
//! Lines are written by a thread of their own. Standard error is a pipe to journald or to
//! whoever started the server, and a write to a full pipe blocks: done on the executor
//! thread, a slow reader of the log would stall every client (a reconnect storm logs ~1 000
//! lines in a second). The executor only queues the formatted line; when the queue is full
//! the line is dropped and counted, and the count is logged once there is room again.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use log::{LevelFilter, Log, Metadata, Record};

/// Lines waiting for the writer at most; more are dropped (and counted) until it catches up.
const QUEUED_LINES: usize = 512;

/// How long [`Log::flush`] waits for the writer (at exit) before giving up.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Queue {
    lines: VecDeque<String>,
    dropped: u64,
    /// Lines the writer has taken and not yet written.
    writing: bool,
}

struct Stderr {
    queue: Mutex<Queue>,
    /// Signalled when lines are queued (the writer waits) and when the writer is done with
    /// what it took (flush waits).
    changed: Condvar,
    /// Whether the writer thread runs; without it lines are written directly.
    threaded: OnceLock<bool>,
}

static LOGGER: Stderr = Stderr {
    queue: Mutex::new(Queue {
        lines: VecDeque::new(),
        dropped: 0,
        writing: false,
    }),
    changed: Condvar::new(),
    threaded: OnceLock::new(),
};

impl Log for Stderr {
    fn enabled(&self, _: &Metadata) -> bool {
        true
    }

    fn log(&self, record: &Record) {
        // Dependencies log at debug/trace about their internals; keep ours only, unless
        // asked for trace.
        if record.level() > log::Level::Info
            && log::max_level() < LevelFilter::Trace
            && !record.target().starts_with("originchats_server")
        {
            return;
        }
        let mut line = String::new();
        let _ = writeln!(line, "{:<5} {}", record.level(), record.args());
        if self.threaded.get() != Some(&true) {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            return;
        }
        let Ok(mut queue) = self.queue.lock() else {
            return;
        };
        if queue.lines.len() < QUEUED_LINES {
            queue.lines.push_back(line);
            self.changed.notify_all();
        } else {
            queue.dropped += 1;
        }
    }

    fn flush(&self) {
        let Ok(mut queue) = self.queue.lock() else {
            return;
        };
        while !queue.lines.is_empty() || queue.writing {
            match self.changed.wait_timeout(queue, FLUSH_WAIT) {
                Ok((q, timeout)) if !timeout.timed_out() => queue = q,
                _ => return,
            }
        }
    }
}

/// The writer thread: takes every queued line at once and writes them in one go.
fn write_lines(logger: &'static Stderr) {
    let mut out = std::io::BufWriter::with_capacity(8 * 1024, std::io::stderr());
    loop {
        let (lines, dropped) = {
            let Ok(mut queue) = logger.queue.lock() else {
                return;
            };
            while queue.lines.is_empty() && queue.dropped == 0 {
                queue = match logger.changed.wait(queue) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
            queue.writing = true;
            let dropped = std::mem::take(&mut queue.dropped);
            (std::mem::take(&mut queue.lines), dropped)
        };
        for line in &lines {
            let _ = out.write_all(line.as_bytes());
        }
        if dropped > 0 {
            let _ = writeln!(
                out,
                "WARN  {dropped} log line(s) dropped: standard error was not read fast enough"
            );
        }
        let _ = out.flush();
        if let Ok(mut queue) = logger.queue.lock() {
            queue.writing = false;
        }
        logger.changed.notify_all();
    }
}

/// Installs the logger and starts its writer thread. Calling it twice is harmless.
pub fn init() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::Info);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
        let started = std::thread::Builder::new()
            .name("log".into())
            .stack_size(64 * 1024)
            .spawn(|| write_lines(&LOGGER))
            .is_ok();
        let _ = LOGGER.threaded.set(started);
    }
}

/// Writes out what is queued (call before the process exits).
pub fn flush() {
    log::logger().flush();
}
