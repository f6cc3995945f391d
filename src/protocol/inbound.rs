//! Decoding inbound text frames.
//!
//! Two steps, both borrowing from the frame text:
//! 1. [`decode`] reads the envelope (`cmd`, `listener`). Well-formed packets take the fast
//!    path through `serde_json_core` (no heap allocation); anything else is re-read with
//!    `serde_json` to say exactly what is wrong (docs/protocol.md#14-malformed-input).
//! 2. A command handler reads its own fields with [`fields`] into a typed struct.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

/// A packet with a string `cmd`.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<'a> {
    pub cmd: Cow<'a, str>,
    /// The `listener` to echo on the direct reply (only when it is a non-empty string: the
    /// original server treats `""` as absent).
    pub listener: Option<Cow<'a, str>>,
    /// The whole frame, for [`fields`].
    pub text: &'a str,
}

/// A frame that is not a usable packet.
#[derive(Debug, Clone, PartialEq)]
pub enum Malformed {
    /// Not valid JSON at all.
    InvalidJson,
    /// Valid JSON, but not an object; carries the Python-style type name the reference uses.
    NotAnObject(&'static str),
    /// An object without `cmd`.
    MissingCmd,
    /// An object whose `cmd` is not a string.
    NonStringCmd(Value),
}

/// The envelope as read on the fast path.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    cmd: Option<&'a str>,
    #[serde(borrow)]
    listener: Option<&'a str>,
}

/// Reads the envelope of one text frame.
pub fn decode(text: &str) -> Result<Envelope<'_>, Malformed> {
    if let Some(envelope) = decode_fast(text) {
        return Ok(envelope);
    }
    decode_slow(text)
}

fn decode_fast(text: &str) -> Option<Envelope<'_>> {
    if !fast_path_can_read(text) {
        return None;
    }
    // Strings with escapes cannot be borrowed; they make the fast path fail (the unescape
    // buffer is only there so that the parser checks them) and the slow path handles them.
    let mut scratch = [0u8; 64];
    let (head, used) = serde_json_core::from_str_escaped::<Head>(text, &mut scratch).ok()?;
    if !only_whitespace(text, used) {
        return None;
    }
    Some(Envelope {
        cmd: Cow::Borrowed(head.cmd?),
        listener: head.listener.filter(|l| !l.is_empty()).map(Cow::Borrowed),
        text,
    })
}

fn decode_slow(text: &str) -> Result<Envelope<'_>, Malformed> {
    let value: Value = serde_json::from_str(text).map_err(|_| Malformed::InvalidJson)?;
    let Value::Object(mut map) = value else {
        return Err(Malformed::NotAnObject(python_type_name(&value)));
    };
    let listener = match map.remove("listener") {
        Some(Value::String(s)) if !s.is_empty() => Some(Cow::Owned(s)),
        _ => None,
    };
    match map.remove("cmd") {
        None => Err(Malformed::MissingCmd),
        Some(Value::String(cmd)) => Ok(Envelope {
            cmd: Cow::Owned(cmd),
            listener,
            text,
        }),
        Some(other) => Err(Malformed::NonStringCmd(other)),
    }
}

/// Whether `serde_json_core` may read `text`: only when it is strict JSON
/// ([`super::strict_json`]), since that parser skips unknown values without checking them.
fn fast_path_can_read(text: &str) -> bool {
    super::strict_json::is_json(text)
}

/// Whether everything after byte `used` is JSON whitespace (never panics, whatever `used`).
fn only_whitespace(text: &str, used: usize) -> bool {
    text.as_bytes()
        .get(used..)
        .is_some_and(|rest| rest.iter().all(u8::is_ascii_whitespace))
}

/// The type names the original server prints (it is written in Python).
pub fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A request field had the wrong type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError(pub String);

/// Reads a command's fields from the frame text into `T` with `serde_json` (no allocation
/// for strings without escapes); a wrong type is an error that names the field.
pub fn fields<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, FieldError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner().to_string();
        let inner = inner.split(" at line ").next().unwrap_or_default();
        FieldError(super::errors::invalid_field(&e.path().to_string(), inner))
    })?;
    de.end()
        .map_err(|e| FieldError(format!("Invalid JSON: {e}")))?;
    Ok(value)
}

/// [`fields`] for the packets clients send all the time (`message_new`, `typing`, …):
/// tries `serde_json_core` first, which checks and borrows without any heap use, and falls
/// back to [`fields`] for anything it does not take (a string with many escapes, an odd
/// type), so the answer is the same either way. Only hot packets use it: each type it is
/// used with is compiled twice.
pub fn fields_fast<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, FieldError> {
    let mut scratch = [0u8; 512];
    if !fast_path_can_read(text) {
        return fields(text);
    }
    if let Ok((value, used)) = serde_json_core::from_str_escaped::<T>(text, &mut scratch) {
        if only_whitespace(text, used) {
            return Ok(value);
        }
    }
    fields(text)
}

/// A string field that borrows from the frame when it has no escapes (serde's own
/// `Option<Cow<str>>` always copies). Derefs to `str`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A field that accepts any JSON value and keeps it only when it is a string.
///
/// For requests where a wrong type must give the same answer as a missing field (e.g. a
/// non-string `username` at login is "Username and password required").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LooseStr<'a>(pub Option<Cow<'a, str>>);

impl<'a> LooseStr<'a> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LooseStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LooseStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LooseStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LooseStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(LooseStr(Some(Cow::Owned(v))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(LooseStr(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(LooseStr(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(LooseStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_borrows() {
        let e = decode(r#"{"cmd":"ping","listener":"L2","x":[1,{"a":"b"}]}"#).unwrap();
        assert!(matches!(e.cmd, Cow::Borrowed("ping")));
        assert_eq!(e.listener.as_deref(), Some("L2"));
    }

    #[test]
    fn escaped_listener_is_unescaped() {
        let e = decode(r#"{"cmd":"ping","listener":"a\"b\u00e9"}"#).unwrap();
        assert_eq!(e.listener.as_deref(), Some("a\"bé"));
    }

    #[test]
    fn empty_listener_is_absent() {
        assert_eq!(
            decode(r#"{"cmd":"ping","listener":""}"#).unwrap().listener,
            None
        );
        // The slow path (an escape in the frame) too.
        assert_eq!(
            decode(r#"{"cmd":"p\u0069ng","listener":""}"#)
                .unwrap()
                .listener,
            None
        );
    }

    #[test]
    fn raw_control_characters_are_invalid_json() {
        assert_eq!(decode("{\"cmd\":\"pi\0ng\"}"), Err(Malformed::InvalidJson));
        assert_eq!(decode("{\"cmd\":\"pi\nng\"}"), Err(Malformed::InvalidJson));
        // Whitespace between tokens is fine, on the slow path.
        assert_eq!(decode("{\"cmd\":\n\"ping\"}\n").unwrap().cmd, "ping");
        let e = fields_fast::<Req>("{\"content\":\"a\tb\"}").unwrap_err();
        assert!(e.0.contains("control character"), "{e:?}");
    }

    #[test]
    fn non_string_listener_is_ignored() {
        let e = decode(r#"{"cmd":"ping","listener":5}"#).unwrap();
        assert_eq!(e.listener, None);
        assert_eq!(e.cmd, "ping");
    }

    #[test]
    fn malformed_inputs() {
        assert_eq!(decode("{nope"), Err(Malformed::InvalidJson));
        assert_eq!(decode(r#"{"cmd":"ping"} x"#), Err(Malformed::InvalidJson));
        assert_eq!(decode("[1,2]"), Err(Malformed::NotAnObject("list")));
        assert_eq!(decode("\"hi\""), Err(Malformed::NotAnObject("str")));
        assert_eq!(decode("5"), Err(Malformed::NotAnObject("int")));
        assert_eq!(decode("5.5"), Err(Malformed::NotAnObject("float")));
        assert_eq!(decode("null"), Err(Malformed::NotAnObject("NoneType")));
        assert_eq!(decode("true"), Err(Malformed::NotAnObject("bool")));
        assert_eq!(decode("{}"), Err(Malformed::MissingCmd));
        assert_eq!(
            decode(r#"{"cmd":5}"#),
            Err(Malformed::NonStringCmd(Value::from(5)))
        );
    }

    #[derive(Deserialize, Debug)]
    struct Req<'a> {
        #[serde(borrow)]
        content: Option<Text<'a>>,
        limit: Option<i64>,
    }

    #[test]
    fn fields_decode_and_name_the_bad_field() {
        let r: Req = fields_fast(r#"{"cmd":"x","content":"hi","limit":3}"#).unwrap();
        assert!(
            matches!(r.content, Some(Text(Cow::Borrowed("hi")))),
            "borrowed, not copied"
        );
        assert_eq!(r.limit, Some(3));
        let r: Req = fields(r#"{"cmd":"x","content":"line\nbreak"}"#).unwrap();
        assert_eq!(r.content.as_deref(), Some("line\nbreak"));
        let r: Req = fields(r#"{"cmd":"x","content":"hi","limit":3}"#).unwrap();
        assert!(matches!(r.content, Some(Text(Cow::Borrowed("hi")))));
        let e = fields_fast::<Req>(r#"{"cmd":"x","content":123}"#).unwrap_err();
        assert_eq!(
            e.0,
            "Invalid field 'content': invalid type: integer `123`, expected a string"
        );
    }

    #[derive(Deserialize)]
    struct Loose<'a> {
        #[serde(borrow, default)]
        username: LooseStr<'a>,
    }

    #[test]
    fn loose_str_accepts_anything() {
        let l: Loose = fields(r#"{"username":{"a":[1]}}"#).unwrap();
        assert_eq!(l.username.as_deref(), None);
        let l: Loose = fields(r#"{"username":"bob"}"#).unwrap();
        assert_eq!(l.username.as_deref(), Some("bob"));
        let l: Loose = fields(r#"{}"#).unwrap();
        assert_eq!(l.username.as_deref(), None);
    }
}
