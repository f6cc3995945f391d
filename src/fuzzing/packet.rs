//! One inbound text frame: the envelope (`protocol::decode`) and the field decoders the
//! command handlers use (`protocol::fields`, and `protocol::fields_fast`, which must give
//! the same answer as `fields` whichever of its two paths takes the frame).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use crate::protocol::{LooseStr, Malformed, Text, decode, fields, fields_fast};

/// The field types handlers read, in the shape of the hot packets (`message_new`,
/// `message_edit`, `typing`), plus the scalar types other handlers take.
#[derive(Debug, Deserialize, PartialEq)]
struct Fields<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    content: Option<Text<'a>>,
    #[serde(borrow)]
    id: Option<Text<'a>>,
    ping: Option<bool>,
    limit: Option<i64>,
    expires: Option<f64>,
    embeds: Option<Value>,
}

/// What loose handlers (login, register) read: anything, kept only when a string.
#[derive(Debug, Deserialize, PartialEq)]
struct Loose<'a> {
    #[serde(borrow, default)]
    username: LooseStr<'a>,
    #[serde(borrow, default)]
    password: LooseStr<'a>,
}

/// Runs one frame; panics when a decoder disagrees with the reference reading.
pub fn packet(data: &[u8]) {
    // Tungstenite hands the router only valid UTF-8 (anything else is closed with 1007).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_envelope(text);
    let slow = fields::<Fields>(text);
    let fast = fields_fast::<Fields>(text);
    assert_eq!(
        fast.as_ref().ok(),
        slow.as_ref().ok(),
        "fields_fast and fields read {text:?} differently"
    );
    if let (Err(fast), Err(slow)) = (&fast, &slow) {
        assert_eq!(
            fast, slow,
            "fields_fast and fields refuse {text:?} differently"
        );
    }
    let _ = fields::<Loose>(text).map(|l| (l.username.as_deref().map(str::len), l.password));
}

/// `decode` against `serde_json`: the same `cmd` and `listener` for every object, the
/// same refusal for everything else.
fn check_envelope(text: &str) {
    let decoded = decode(text);
    let reference: Result<Value, _> = serde_json::from_str(text);
    match (&decoded, reference) {
        (Ok(envelope), Ok(Value::Object(map))) => {
            assert_eq!(
                map.get("cmd").and_then(Value::as_str),
                Some(envelope.cmd.as_ref()),
                "cmd of {text:?}"
            );
            let listener = match map.get("listener") {
                Some(Value::String(s)) if !s.is_empty() => Some(Cow::Borrowed(s.as_str())),
                _ => None,
            };
            assert_eq!(envelope.listener, listener, "listener of {text:?}");
        }
        (Err(Malformed::InvalidJson), Err(_)) => {}
        (Err(Malformed::NotAnObject(_)), Ok(value)) => assert!(!value.is_object()),
        (Err(Malformed::MissingCmd), Ok(Value::Object(map))) => {
            assert!(!map.contains_key("cmd"))
        }
        (Err(Malformed::NonStringCmd(cmd)), Ok(Value::Object(map))) => {
            assert_eq!(map.get("cmd"), Some(cmd))
        }
        (decoded, reference) => {
            panic!("decode({text:?}) = {decoded:?}, serde_json reads {reference:?}")
        }
    }
}
