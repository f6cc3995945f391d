//! Base64 decoding of a body that arrives in pieces, with a hard cap on the decoded size.
//!
//! An upload carries its file as base64 inside a JSON string, and the HTTP route hands the
//! characters over as they come off the socket: a piece may end anywhere, even in the middle
//! of a 4-character quad. The decoder keeps the unfinished quad, writes decoded bytes to the
//! sink in blocks of up to [`BLOCK_BYTES`] (a file or hash never sees byte-sized writes), and
//! stops with [`Base64Error::TooLarge`] at the first quad that would go past the limit, so the
//! caller can stop reading the body right there instead of after the whole of it.
//!
//! Both alphabets are accepted (standard `+/` and URL-safe `-_`, even mixed, as browsers and
//! other clients differ), `=` padding is optional but, if present, complete and only at the
//! very end, and ASCII whitespace is skipped (line-wrapped base64 from MIME tools).

use std::fmt;
use std::io::{self, Write};

/// The most decoded bytes held before they are written to the sink.
pub const BLOCK_BYTES: usize = 8 * 1024;

/// What a character means to the decoder: a 6-bit value below 64, or one of these.
const INVALID: u8 = 0xFF;
const SPACE: u8 = 0xFE;
const PAD: u8 = 0xFD;

const fn build_table() -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 26 {
        table[b'A' as usize + i] = i as u8;
        table[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        table[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    table[b'+' as usize] = 62;
    table[b'-' as usize] = 62;
    table[b'/' as usize] = 63;
    table[b'_' as usize] = 63;
    table[b'=' as usize] = PAD;
    table[b' ' as usize] = SPACE;
    table[b'\t' as usize] = SPACE;
    table[b'\n' as usize] = SPACE;
    table[b'\r' as usize] = SPACE;
    table[0x0C] = SPACE;
    table
}

static TABLE: [u8; 256] = build_table();

/// Why a base64 body was refused.
#[derive(Debug)]
pub enum Base64Error {
    /// A byte outside both alphabets, padding and whitespace (it is given).
    InvalidChar(u8),
    /// `=` where padding cannot be (after 0 or 1 characters of a quad), or too little of it.
    InvalidPadding,
    /// A character after the padding that ended the data.
    DataAfterPadding,
    /// The data ends with a single character: no byte can be made of 6 bits.
    TruncatedQuad,
    /// The decoded data would be longer than `max` bytes.
    TooLarge { max: u64 },
    /// The sink refused the bytes.
    Io(io::Error),
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Error::InvalidChar(b) if b.is_ascii_graphic() => {
                write!(f, "invalid base64 character '{}'", char::from(*b))
            }
            Base64Error::InvalidChar(b) => write!(f, "invalid base64 byte 0x{b:02x}"),
            Base64Error::InvalidPadding => f.write_str("misplaced base64 padding"),
            Base64Error::DataAfterPadding => f.write_str("base64 data after the padding"),
            Base64Error::TruncatedQuad => f.write_str("base64 data ends in the middle of a byte"),
            Base64Error::TooLarge { max } => write!(f, "the data is larger than {max} bytes"),
            Base64Error::Io(e) => write!(f, "could not write the decoded data: {e}"),
        }
    }
}

impl std::error::Error for Base64Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Base64Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Decodes base64 pushed in pieces of any size into a [`Write`] sink.
///
/// After an error the decoder is spent: the caller drops it (and what the sink got so far).
pub struct Base64Decoder {
    max: u64,
    /// Bytes decoded so far, those still in `block` included.
    decoded: u64,
    /// The characters of the unfinished quad, 6 bits each, the first in the highest bits.
    quad: u32,
    quad_len: u8,
    /// `=` seen in the current (last) quad.
    padding: u8,
    /// The padding is complete: only whitespace may follow.
    ended: bool,
    block: Vec<u8>,
}

impl Base64Decoder {
    /// A decoder that refuses to produce more than `max` bytes.
    pub fn new(max: u64) -> Self {
        Base64Decoder {
            max,
            decoded: 0,
            quad: 0,
            quad_len: 0,
            padding: 0,
            ended: false,
            block: Vec::with_capacity(BLOCK_BYTES),
        }
    }

    /// Bytes decoded so far (some may still wait in the block for the sink).
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// The bytes of memory the decoder holds for data (its block), for memory checks.
    pub fn buffer_capacity(&self) -> usize {
        self.block.capacity()
    }

    /// Decodes the next piece of base64 text.
    pub fn push<W: Write + ?Sized>(
        &mut self,
        input: &[u8],
        sink: &mut W,
    ) -> Result<(), Base64Error> {
        for &byte in input {
            let value = TABLE[usize::from(byte)];
            if value < 64 {
                if self.ended || self.padding > 0 {
                    return Err(Base64Error::DataAfterPadding);
                }
                self.quad = (self.quad << 6) | u32::from(value);
                self.quad_len += 1;
                if self.quad_len == 4 {
                    let [_, a, b, c] = self.quad.to_be_bytes();
                    self.emit(&[a, b, c], sink)?;
                    self.quad = 0;
                    self.quad_len = 0;
                }
            } else if value == SPACE {
                continue;
            } else if value == PAD {
                if self.ended || self.quad_len < 2 {
                    return Err(if self.ended {
                        Base64Error::DataAfterPadding
                    } else {
                        Base64Error::InvalidPadding
                    });
                }
                self.padding += 1;
                if self.quad_len + self.padding == 4 {
                    self.emit_tail(sink)?;
                    self.ended = true;
                }
            } else {
                return Err(Base64Error::InvalidChar(byte));
            }
        }
        Ok(())
    }

    /// Decodes the last 2 or 3 characters (if any), writes out what is left and returns the
    /// number of bytes decoded in all.
    pub fn finish<W: Write + ?Sized>(mut self, sink: &mut W) -> Result<u64, Base64Error> {
        if !self.ended {
            if self.padding > 0 {
                // "xx=" without its second `=`.
                return Err(Base64Error::InvalidPadding);
            }
            match self.quad_len {
                0 => {}
                1 => return Err(Base64Error::TruncatedQuad),
                _ => self.emit_tail(sink)?,
            }
        }
        self.flush(sink)?;
        Ok(self.decoded)
    }

    /// The 1 or 2 bytes of a quad of 2 or 3 characters; the bits left over are ignored.
    fn emit_tail<W: Write + ?Sized>(&mut self, sink: &mut W) -> Result<(), Base64Error> {
        let bits = self.quad << (6 * u32::from(4 - self.quad_len));
        let [_, a, b, _] = bits.to_be_bytes();
        if self.quad_len == 2 {
            self.emit(&[a], sink)?;
        } else {
            self.emit(&[a, b], sink)?;
        }
        self.quad = 0;
        self.quad_len = 0;
        Ok(())
    }

    fn emit<W: Write + ?Sized>(&mut self, bytes: &[u8], sink: &mut W) -> Result<(), Base64Error> {
        let total = self.decoded + bytes.len() as u64;
        if total > self.max {
            return Err(Base64Error::TooLarge { max: self.max });
        }
        self.decoded = total;
        if self.block.len() + bytes.len() > BLOCK_BYTES {
            self.flush(sink)?;
        }
        self.block.extend_from_slice(bytes);
        Ok(())
    }

    fn flush<W: Write + ?Sized>(&mut self, sink: &mut W) -> Result<(), Base64Error> {
        if !self.block.is_empty() {
            sink.write_all(&self.block).map_err(Base64Error::Io)?;
            self.block.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

    use crate::media::test_rng::XorShift;

    /// A sink that records every write, to check the block sizes.
    #[derive(Default)]
    struct RecordingSink {
        data: Vec<u8>,
        writes: Vec<usize>,
    }
    impl Write for RecordingSink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.data.extend_from_slice(buf);
            self.writes.push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn decode_in_chunks(text: &[u8], chunk: usize, max: u64) -> Result<Vec<u8>, Base64Error> {
        let mut sink = RecordingSink::default();
        let mut decoder = Base64Decoder::new(max);
        for piece in text.chunks(chunk) {
            decoder.push(piece, &mut sink)?;
        }
        let n = decoder.finish(&mut sink)?;
        assert_eq!(n, sink.data.len() as u64);
        Ok(sink.data)
    }

    fn decode(text: &[u8], max: u64) -> Result<Vec<u8>, Base64Error> {
        decode_in_chunks(text, text.len().max(1), max)
    }

    #[test]
    fn round_trips_every_engine_and_chunk_size() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for len in (0..40).chain([1000, 8191, 8192, 8193, 20_000]) {
            let data = rng.bytes(len);
            for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                let text = engine.encode(&data);
                for chunk in 1..=7 {
                    let got = decode_in_chunks(text.as_bytes(), chunk, u64::MAX).unwrap();
                    assert_eq!(got, data, "len {len} chunk {chunk}");
                }
            }
        }
    }

    #[test]
    fn round_trips_random_splits() {
        let mut rng = XorShift(42);
        for _ in 0..300 {
            let len = rng.below(3000);
            let data = rng.bytes(len);
            let text = if rng.below(2) == 0 {
                STANDARD.encode(&data)
            } else {
                URL_SAFE_NO_PAD.encode(&data)
            };
            let text = text.as_bytes();
            let mut sink = RecordingSink::default();
            let mut decoder = Base64Decoder::new(len as u64);
            let mut at = 0;
            while at < text.len() {
                let end = (at + 1 + rng.below(600)).min(text.len());
                decoder.push(&text[at..end], &mut sink).unwrap();
                at = end;
            }
            assert_eq!(decoder.finish(&mut sink).unwrap(), len as u64);
            assert_eq!(sink.data, data);
        }
    }

    #[test]
    fn writes_to_the_sink_in_blocks() {
        let mut rng = XorShift(7);
        let data = rng.bytes(100_000);
        let text = STANDARD.encode(&data);
        let mut sink = RecordingSink::default();
        let mut decoder = Base64Decoder::new(u64::MAX);
        for piece in text.as_bytes().chunks(1) {
            decoder.push(piece, &mut sink).unwrap();
        }
        assert_eq!(decoder.buffer_capacity(), BLOCK_BYTES);
        decoder.finish(&mut sink).unwrap();
        assert_eq!(sink.data, data);
        let (last, full) = sink.writes.split_last().unwrap();
        assert!(
            full.iter()
                .all(|&n| n > BLOCK_BYTES - 3 && n <= BLOCK_BYTES),
            "{:?}",
            sink.writes
        );
        assert!(*last > 0 && *last <= BLOCK_BYTES);
    }

    #[test]
    fn skips_whitespace_and_mixes_alphabets() {
        assert_eq!(
            decode(b" aGVs\r\nbG8g\td29y bGQ= \n", 100).unwrap(),
            b"hello world"
        );
        // 0xFB 0xFF: "+/8" standard, "-_8" URL-safe; mixed in one body.
        assert_eq!(decode(b"+/8=", 10).unwrap(), [0xFB, 0xFF]);
        assert_eq!(decode(b"-_8", 10).unwrap(), [0xFB, 0xFF]);
        assert_eq!(decode(b"+_-/", 10).unwrap(), [0xFB, 0xFF, 0xBF]);
        assert_eq!(decode(b"", 0).unwrap(), b"");
        assert_eq!(decode(b"  \n", 0).unwrap(), b"");
    }

    #[test]
    fn tails_of_two_and_three_characters() {
        assert_eq!(decode(b"YQ", 10).unwrap(), b"a");
        assert_eq!(decode(b"YQ==", 10).unwrap(), b"a");
        assert_eq!(decode(b"YQ= =", 10).unwrap(), b"a");
        assert_eq!(decode(b"YWI", 10).unwrap(), b"ab");
        assert_eq!(decode(b"YWI=", 10).unwrap(), b"ab");
        assert_eq!(decode(b"YWJj", 10).unwrap(), b"abc");
    }

    #[test]
    fn limit_holds_exactly_at_max() {
        let mut rng = XorShift(99);
        for len in 0..20u64 {
            let data = rng.bytes(len as usize);
            for engine in [&STANDARD, &URL_SAFE_NO_PAD] {
                let text = engine.encode(&data);
                for chunk in 1..=5 {
                    assert_eq!(decode_in_chunks(text.as_bytes(), chunk, len).unwrap(), data);
                    if len > 0 {
                        let err = decode_in_chunks(text.as_bytes(), chunk, len - 1).unwrap_err();
                        assert!(
                            matches!(err, Base64Error::TooLarge { max } if max == len - 1),
                            "{err}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn stops_at_the_first_quad_past_the_limit() {
        // 3 bytes per quad: with max 6, the third quad fails, the later garbage is never seen.
        let mut sink = RecordingSink::default();
        let mut decoder = Base64Decoder::new(6);
        decoder.push(b"AAAABBBB", &mut sink).unwrap();
        assert_eq!(decoder.decoded(), 6);
        let err = decoder.push(b"CCCC!!!!", &mut sink).unwrap_err();
        assert!(matches!(err, Base64Error::TooLarge { max: 6 }));
    }

    #[test]
    fn every_error() {
        type Case = (&'static [u8], fn(&Base64Error) -> bool);
        let cases: &[Case] = &[
            (b"YW!j", |e| matches!(e, Base64Error::InvalidChar(b'!'))),
            (b"YW\xC3\xA9", |e| {
                matches!(e, Base64Error::InvalidChar(0xC3))
            }),
            (b"YW\0j", |e| matches!(e, Base64Error::InvalidChar(0))),
            (b"=", |e| matches!(e, Base64Error::InvalidPadding)),
            (b"Y=", |e| matches!(e, Base64Error::InvalidPadding)),
            (b"YWJj=", |e| matches!(e, Base64Error::InvalidPadding)),
            (b"YQ=", |e| matches!(e, Base64Error::InvalidPadding)),
            (b"YQ==YQ==", |e| matches!(e, Base64Error::DataAfterPadding)),
            (b"YQ===", |e| matches!(e, Base64Error::DataAfterPadding)),
            (b"YWI=a", |e| matches!(e, Base64Error::DataAfterPadding)),
            (b"YQ=a", |e| matches!(e, Base64Error::DataAfterPadding)),
            (b"Y", |e| matches!(e, Base64Error::TruncatedQuad)),
            (b"YWJjZ", |e| matches!(e, Base64Error::TruncatedQuad)),
        ];
        for (text, is_expected) in cases {
            for chunk in 1..=3 {
                let err = decode_in_chunks(text, chunk, 100).unwrap_err();
                assert!(
                    is_expected(&err),
                    "{:?}: {err}",
                    String::from_utf8_lossy(text)
                );
                assert!(!err.to_string().is_empty());
            }
        }
    }

    #[test]
    fn sink_errors_are_io_errors() {
        struct Refuses;
        impl Write for Refuses {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let decoder = {
            let mut d = Base64Decoder::new(100);
            d.push(b"YWJj", &mut Refuses).unwrap();
            d
        };
        let err = decoder.finish(&mut Refuses).unwrap_err();
        assert!(matches!(err, Base64Error::Io(_)));
        assert!(err.to_string().contains("disk full"));
    }
}
