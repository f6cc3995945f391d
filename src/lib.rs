//! originchats-server: an OriginChats chat server for small boards.
//!
//! Data flows one way: [`server`] (transport) reads frames → [`protocol`] decodes them →
//! [`auth`] or [`commands`] handle them, reading the [`model`] cached in [`app::App`] and
//! writing through [`store`] → replies and broadcasts go out through [`hub`].
//! See `DESIGN.md` in the shared folder for the picture, and PROTOCOL.md for the wire.

// Unsafe code only where a C function must be called (`memory`), nowhere else.
#![deny(unsafe_code)]

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod hub;
pub mod import;
pub mod logger;
pub mod memory;
pub mod model;
pub mod protocol;
pub mod random;
pub mod ratelimit;
pub mod server;
pub mod store;
pub mod tls;
pub mod voice;
