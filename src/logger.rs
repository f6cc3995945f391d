//! A small logger for the `log` facade: one line per event on standard error, level from
//! `RUST_LOG` (`error`, `warn`, `info` (default), `debug`, `trace`, `off`).

use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

struct Stderr;

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
        let _ = writeln!(
            std::io::stderr().lock(),
            "{:<5} {}",
            record.level(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Installs the logger. Calling it twice is harmless.
pub fn init() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::Info);
    if log::set_logger(&Stderr).is_ok() {
        log::set_max_level(level);
    }
}
