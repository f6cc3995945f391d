//! The entry points of the fuzz targets (`fuzz/`, run with cargo-fuzz): each takes the
//! fuzzer's bytes and runs them through the real code, so a crash found by the fuzzer and
//! its regression test (`tests/fuzz_regressions.rs`, which replays `fuzz/regressions/`)
//! run exactly the same path. Not part of the server's API.
//!
//! - [`packet`]: one inbound frame through the envelope decoder and the field decoders
//!   every command uses, checked against a plain `serde_json` reading;
//! - [`front_door`]: bytes a client sends before a packet exists: the HTTP request head,
//!   the WebSocket frame gate, the streamed JSON upload body;
//! - [`session`]: a sequence of frames through authentication and dispatch, against a
//!   real store in a temporary directory ([`session::Rig`]).
//!
//! The invariants they check panic on purpose (a panic is what the fuzzer reports).

pub mod front_door;
pub mod packet;
pub mod session;
