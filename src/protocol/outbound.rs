//! Encoding outbound packets, once, into bytes that many connections can share.

pub use async_tungstenite::tungstenite::Utf8Bytes;
use serde::Serialize;
use serde_json::{Value, json};

/// An encoded packet: one JSON object as UTF-8 text. Cloning shares the bytes.
pub type Encoded = Utf8Bytes;

/// Encodes a packet. Our packet types always serialize; should one ever fail, the client
/// gets an error packet instead of nothing.
pub fn encode<T: Serialize + ?Sized>(packet: &T) -> Encoded {
    // Most packets fit: one allocation, no regrowth.
    let mut buf = Vec::with_capacity(512);
    match serde_json::to_writer(&mut buf, packet).map(|()| String::from_utf8(buf)) {
        Ok(Ok(text)) => Utf8Bytes::from(text),
        Ok(Err(e)) => {
            log::error!("an encoded packet is not UTF-8: {e}");
            Utf8Bytes::from_static(r#"{"cmd":"error","val":"Internal error"}"#)
        }
        Err(e) => {
            log::error!("could not encode a packet: {e}");
            Utf8Bytes::from_static(r#"{"cmd":"error","val":"Internal error"}"#)
        }
    }
}

/// The same packet with `"listener": <listener>` added as its last key.
///
/// Splices the key into the encoded text instead of encoding the packet again.
pub fn with_listener(encoded: &str, listener: &str) -> Encoded {
    let body = encoded.trim_end();
    let Some(open) = body.strip_suffix('}') else {
        return Utf8Bytes::from(encoded);
    };
    let quoted = serde_json::to_string(listener).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::with_capacity(open.len() + quoted.len() + 14);
    out.push_str(open);
    if !open.trim_end().ends_with('{') {
        out.push(',');
    }
    out.push_str("\"listener\":");
    out.push_str(&quoted);
    out.push('}');
    Utf8Bytes::from(out)
}

/// `{"cmd":"error","src":<src>,"val":<val>}`.
pub fn error(src: &str, val: &str) -> Value {
    json!({"cmd": "error", "src": src, "val": val})
}

/// `{"cmd":"auth_error","val":<val>}`.
pub fn auth_error(val: &str) -> Encoded {
    encode(&json!({"cmd": "auth_error", "val": val}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_is_appended_as_last_key() {
        let e = encode(&json!({"cmd": "pong", "val": "pong"}));
        let l = with_listener(&e, "L\"2");
        let v: Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v, json!({"cmd": "pong", "val": "pong", "listener": "L\"2"}));
        assert!(l.ends_with(r#""listener":"L\"2"}"#));
        assert_eq!(&*with_listener("{}", "x"), r#"{"listener":"x"}"#);
    }
}
