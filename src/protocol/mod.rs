//! The wire format only: reading inbound frames and encoding outbound packets.
//! Nothing here knows about connections, users or storage.

pub mod errors;
pub mod inbound;
pub mod outbound;
pub mod strict_json;

pub use inbound::{Envelope, FieldError, LooseStr, Malformed, Text, decode, fields, fields_fast};
pub use outbound::{Encoded, encode, with_listener};
