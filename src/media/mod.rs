//! User files: attachments, custom emojis and server assets (docs/protocol.md#10-http-routes).
//!
//! What the bytes are (sniffed from their magic numbers, never taken from the uploader),
//! how an upload body is decoded while it streams in, and where files live on disk. Nothing
//! here touches the network or the executor: the server layer feeds bytes in, and file work
//! runs off the executor thread.

pub mod base64_stream;
pub mod data_url;
pub mod files;
pub mod sniff;
pub mod upload_body;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod test_rng;
