//! Answers to frames that are not a usable packet (docs/protocol.md#14-malformed-input); the connection
//! stays open.

use serde_json::{Value, json};

use crate::hub::Session;
use crate::protocol::errors::{AUTH_REQUIRED, INVALID_JSON, not_a_dictionary, unknown_command};
use crate::protocol::{Malformed, encode, outbound};

/// Tells the sender what is wrong with the frame, as the original server words it.
pub fn answer(session: &Session, m: Malformed) {
    let authed = session.is_authenticated();
    let packet = match m {
        Malformed::InvalidJson => json!({"cmd": "error", "val": INVALID_JSON}),
        Malformed::NotAnObject(kind) => json!({"cmd": "error", "val": not_a_dictionary(kind)}),
        Malformed::MissingCmd | Malformed::NonStringCmd(_) if !authed => {
            return session.send(outbound::auth_error(AUTH_REQUIRED));
        }
        Malformed::MissingCmd => json!({"cmd": "error", "val": unknown_command("None")}),
        Malformed::NonStringCmd(cmd) => {
            let shown = match &cmd {
                Value::Bool(true) => "True".to_string(),
                Value::Bool(false) => "False".to_string(),
                Value::Null => "None".to_string(),
                other => other.to_string(),
            };
            json!({"cmd": "error", "src": cmd, "val": unknown_command(&shown)})
        }
    };
    session.send(encode(&packet));
}
