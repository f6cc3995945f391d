//! Whether a frame is JSON at all (RFC 8259), checked in one pass without allocating.
//!
//! The fast decoders (`serde_json_core`, in [`super::inbound`]) are not validators: a value
//! they skip (a field no struct asks for) that is not a string, array or object is eaten up
//! to the next `,`, `}` or `]` whatever it holds, and strings may hold raw control
//! characters. `{"cmd":"ping","x":nonsense}` would be a ping. Frames go to them only after
//! this check, so every frame they take is one `serde_json` (and the original server) takes
//! too; anything else goes to `serde_json`, which says what is wrong. Some valid numbers
//! go there as well, where the two parsers disagree: the integer `-0` (`serde_json` reads
//! a float, so an integer field refuses it; `serde_json_core` reads 0), and numbers with an
//! exponent or more than 20 integer digits (`serde_json` refuses those out of the range of
//! an `f64`, `serde_json_core` skips them). Clients send neither. All were found by fuzzing
//! (`fuzz/regressions/packet/`).

/// Deeper nesting is refused here (the frame then goes to `serde_json`, whose limit is 128).
const MAX_DEPTH: u32 = 128;

/// Longer integer parts go to `serde_json` (beyond `u64`, it reads them as an `f64`).
const MAX_INTEGER_DIGITS: usize = 20;

/// Whether `text` is one JSON value with nothing but whitespace around it (and no integer
/// `-0`, no exponent, no more than 20 integer digits: see the module docs).
pub fn is_json(text: &str) -> bool {
    let mut p = Parser {
        bytes: text.as_bytes(),
        at: 0,
    };
    p.value(0) && {
        p.whitespace();
        p.at == p.bytes.len()
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: u32) -> bool {
        self.whitespace();
        match self.peek() {
            Some(b'{') => depth < MAX_DEPTH && self.object(depth + 1),
            Some(b'[') => depth < MAX_DEPTH && self.array(depth + 1),
            Some(b'"') => self.string(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn object(&mut self, depth: u32) -> bool {
        self.at += 1;
        self.whitespace();
        if self.eat(b'}') {
            return true;
        }
        loop {
            self.whitespace();
            if !(self.string()
                && {
                    self.whitespace();
                    self.eat(b':')
                }
                && self.value(depth))
            {
                return false;
            }
            self.whitespace();
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: u32) -> bool {
        self.at += 1;
        self.whitespace();
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            self.whitespace();
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn digits(&mut self) -> bool {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at > start
    }

    fn number(&mut self) -> bool {
        let negative = self.eat(b'-');
        let zero = self.eat(b'0');
        let start = self.at;
        if !zero && (!self.digits() || self.at - start > MAX_INTEGER_DIGITS) {
            return false;
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            if !self.digits() {
                return false;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            return false;
        }
        !(negative && zero && integer)
    }

    /// A string; the text is already UTF-8, so only escapes and control bytes are checked.
    fn string(&mut self) -> bool {
        if !self.eat(b'"') {
            return false;
        }
        loop {
            match self.peek() {
                None => return false,
                Some(b'"') => {
                    self.at += 1;
                    return true;
                }
                Some(0..0x20) => return false,
                Some(b'\\') => {
                    self.at += 1;
                    if !self.escape() {
                        return false;
                    }
                }
                Some(_) => self.at += 1,
            }
        }
    }

    /// After a backslash. A `\u` escape of a UTF-16 surrogate must be a whole pair.
    fn escape(&mut self) -> bool {
        let Some(b) = self.peek() else {
            return false;
        };
        self.at += 1;
        match b {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => true,
            b'u' => match self.hex4() {
                Some(0xD800..=0xDBFF) => {
                    self.eat(b'\\')
                        && self.eat(b'u')
                        && matches!(self.hex4(), Some(0xDC00..=0xDFFF))
                }
                Some(0xDC00..=0xDFFF) | None => false,
                Some(_) => true,
            },
            _ => false,
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + 4)?;
        let mut n = 0;
        for &d in digits {
            n = n * 16 + char::from(d).to_digit(16)?;
        }
        self.at += 4;
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn takes_what_serde_json_takes() {
        for text in [
            r#"{"cmd":"ping","listener":"L2","x":[1,{"a":"b"}],"n":-0.5}"#,
            " { \"a\" : [ true , false , null , 0 , 12 ] } \n",
            r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#,
            "[]",
            "{}",
            "-0.0",
            "0",
        ] {
            assert!(is_json(text), "{text}");
            assert!(serde_json::from_str::<serde_json::Value>(text).is_ok());
        }
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for text in [
            r#"{"cmd":stener":5}"#,
            r#"{"cmd":"ping","x":nonsense}"#,
            r#"{"cmd":"ping","x":1 "y":2}"#,
            "{\"cmd\":\"pi\u{0}ng\"}",
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1e}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\udc00"}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":1,}"#,
            r#"{"limit":-0}"#,
            r#"{"a":2999E999}"#,
            r#"[1,]"#,
            r#"{"a":1} x"#,
            "",
            "{",
        ] {
            assert!(!is_json(text), "{text}");
            assert!(
                serde_json::from_str::<serde_json::Value>(text).is_err()
                    || serde_json::from_str::<std::collections::HashMap<String, i64>>(text)
                        .is_err(),
                "{text}"
            );
        }
        assert!(!is_json(&"[".repeat(200)));
    }
}
