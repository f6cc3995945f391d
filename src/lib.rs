//! originchats-server: an OriginChats chat server for small boards.
//!
//! # Layers
//!
//! Modules point one way: each may use only modules of layers below its own (a higher
//! number). `tests/layers.rs` reads this table and every `crate::…` path under `src/`, and
//! fails on a path that points up or sideways, or on a module missing from the table.
//!
//! | layer | modules | what they do |
//! |---|---|---|
//! | 1 | `cli`, `fuzzing` | the command line: which of the tools below runs; the fuzz targets' entry points (`fuzz/`) |
//! | 2 | `admin`, `import` | the admin command line and the importer (they work on the store directly) |
//! | 3 | `server` | transport: listener, HTTP, WebSocket frames, heartbeat, watching the store for other processes' commits |
//! | 4 | `router` | one text frame: decoding, malformed input, the command table (dispatch and `capabilities`), routing the reply, the handshake |
//! | 5 | `auth` | authentication: `auth`, `login`, `register`, session tokens (their commands use the command context below) |
//! | 6 | `commands` | the handlers of every other command of an authenticated client |
//! | 7 | `ops` | what several handlers do to shared state: write-through saves, posting messages, bans, voice, channel lists |
//! | 8 | `app` | the shared state of the executor thread: configuration, directory, hub, store, limiter, voice |
//! | 9 | `hub`, `store` | sessions and their outboxes, recipients of a broadcast; the SQLite threads |
//! | 10 | `model`, `voice`, `ratelimit`, `protocol`, `tls`, `media` | users, roles, channels, messages; voice rooms; the rate limiter; the wire format; certificates and the TLS acceptor; user files (formats, upload decoding, files on disk) |
//! | 11 | `config`, `logger`, `memory`, `random` | configuration, logging, allocator tuning, ids and tokens |
//!
//! A packet's way through them, threads, and where a new command, HTTP route or store
//! table goes: `docs/architecture.md`. The wire protocol: `docs/protocol.md`.

// Unsafe code only where a C function must be called (`memory`), nowhere else.
#![deny(unsafe_code)]

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
// The fuzz targets (`fuzz/`) and their regression tests call these; not an API.
#[doc(hidden)]
pub mod fuzzing;
pub mod hub;
pub mod import;
pub mod logger;
pub mod media;
pub mod memory;
pub mod model;
pub mod ops;
pub mod protocol;
pub mod random;
pub mod ratelimit;
pub mod router;
pub mod server;
pub mod store;
pub mod tls;
pub mod voice;
