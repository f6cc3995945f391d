//! Every parser of this module over a few hundred thousand pseudo-random inputs: none may
//! panic, hold more than its bounds, or answer differently when the same body comes in other
//! pieces. Inputs are made of pieces that matter to each parser (magic numbers, JSON tokens,
//! base64 characters) mixed with random bytes, so they get past the first checks.

use std::io::Write;

use super::base64_stream::{BLOCK_BYTES, Base64Decoder, Base64Error};
use super::sniff::{dimensions, sniff};
use super::upload_body::{JsonUpload, UploadLimits};

const CASES_PER_PARSER: usize = 70_000;

use super::test_rng::XorShift;

/// What the seeded cases are made of.
trait Cases {
    fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8];
    fn soup(&mut self, tokens: &[&[u8]], pieces: usize) -> Vec<u8>;
    fn split<'a>(&mut self, input: &'a [u8]) -> Vec<&'a [u8]>;
}

impl Cases for XorShift {
    fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        items[self.below(items.len())]
    }

    /// `pieces` tokens, each a random byte one time in eight.
    fn soup(&mut self, tokens: &[&[u8]], pieces: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..pieces {
            if self.below(8) == 0 {
                out.push(self.next() as u8);
            } else {
                out.extend_from_slice(self.pick(tokens));
            }
        }
        out
    }

    /// Splits `input` at random points.
    fn split<'a>(&mut self, input: &'a [u8]) -> Vec<&'a [u8]> {
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let end = (at + 1 + self.below(8)).min(input.len());
            pieces.push(&input[at..end]);
            at = end;
        }
        pieces
    }
}

/// Counts bytes and checks that no write is larger than a block.
#[derive(Default)]
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        assert!(buf.len() <= BLOCK_BYTES);
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn base64_decoder_survives_random_input_and_agrees_with_the_base64_crate() {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const TOKENS: &[&[u8]] = &[
        b"A", b"Zz", b"09", b"+", b"/", b"-", b"_", b"=", b"==", b" ", b"\n", b"QUJD", b"YQ",
    ];
    // The same leniency as ours: padding optional, the unused bits of the last character free.
    let reference = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let mut rng = XorShift(0x5EED_0001);
    for _ in 0..CASES_PER_PARSER {
        let pieces = rng.below(24);
        let input = rng.soup(TOKENS, pieces);
        let max = rng.below(40) as u64;
        let mut sink = Vec::new();
        let mut decoder = Base64Decoder::new(max);
        let mut result = Ok(());
        for piece in rng.split(&input) {
            result = decoder.push(piece, &mut sink);
            if result.is_err() {
                break;
            }
        }
        let ours = result.and_then(|()| decoder.finish(&mut sink));
        // The reference decodes the standard alphabet without whitespace.
        let standard: Vec<u8> = input
            .iter()
            .filter(|c| !c.is_ascii_whitespace())
            .map(|&c| match c {
                b'-' => b'+',
                b'_' => b'/',
                other => other,
            })
            .collect();
        let expected = reference.decode(&standard);
        let shown = String::from_utf8_lossy(&input);
        match (&ours, &expected) {
            (Ok(n), Ok(bytes)) => assert!(*n == bytes.len() as u64 && sink == *bytes, "{shown:?}"),
            (Err(Base64Error::TooLarge { .. }), Ok(bytes)) => {
                assert!(bytes.len() as u64 > max, "{shown:?}")
            }
            (Err(_), Err(_)) => {}
            // "xx=": the crate takes a half padding; ours wants both `=` or none.
            (Err(Base64Error::InvalidPadding), Ok(_))
                if standard.len() % 4 == 3 && standard.ends_with(b"=") => {}
            _ => panic!("{shown:?}: ours {ours:?}, the base64 crate's {expected:?}"),
        }
        if let Ok(n) = ours {
            assert!(n <= max);
        }
    }
}

/// Pieces of string content: plain text, escapes, base64 and `data:` headers.
const STRING_TOKENS: &[&[u8]] = &[
    b"a",
    b"YQ==",
    b"QUJD",
    b"aGk",
    b"data:",
    b"image/png",
    b";base64,",
    b",",
    b"\\/",
    b"\\n",
    b"\\\"",
    b"\\\\",
    b"\\u0041",
    b"\\ud83d\\ude00",
    b"\\u00e9",
    b"\xC3\xA9",
    b"=",
];
const KEYS: &[&[u8]] = &[
    b"file",
    b"name",
    b"validator",
    b"validator_key",
    b"mime_type",
    b"channel",
    b"expires_in_days",
    b"x",
    b"fi\\u006ce",
];
const JSON_TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"\"",
    b"\\",
    b"\\u",
    b"d83d",
    b" ",
    b"\"file\":\"",
    b"null",
    b"1",
    b"-",
    b"e",
    b".",
    b"\xFF",
    b"\"\"",
];

/// A JSON value, mostly well formed, nested at most `depth` more levels.
fn json_value(rng: &mut XorShift, out: &mut Vec<u8>, depth: usize) {
    match rng.below(if depth == 0 { 4 } else { 6 }) {
        0 => {
            out.push(b'"');
            let pieces = rng.below(6);
            for _ in 0..pieces {
                out.extend_from_slice(rng.pick(STRING_TOKENS));
            }
            out.push(b'"');
        }
        1 => out.extend_from_slice(rng.pick(&[
            b"0",
            b"-1.5",
            b"7",
            b"1e3",
            b"2E-2",
            b"12345678901234567890",
        ])),
        2 => out.extend_from_slice(rng.pick(&[b"null", b"true", b"false"])),
        3 => out.extend_from_slice(b"\"data:text/plain;base64,aGk=\""),
        4 => {
            out.push(b'[');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push(b',');
                }
                json_value(rng, out, depth - 1);
            }
            out.push(b']');
        }
        _ => json_object(rng, out, depth - 1),
    }
}

fn json_object(rng: &mut XorShift, out: &mut Vec<u8>, depth: usize) {
    out.push(b'{');
    for i in 0..rng.below(6) {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(rng.pick(KEYS));
        out.extend_from_slice(b"\":");
        json_value(rng, out, depth);
    }
    out.push(b'}');
}

/// A body: a generated object with a few random edits, or a soup of JSON tokens.
fn upload_body(rng: &mut XorShift) -> Vec<u8> {
    if rng.below(4) == 0 {
        let mut input = b"{".to_vec();
        let pieces = rng.below(30);
        input.extend(rng.soup(JSON_TOKENS, pieces));
        return input;
    }
    let mut body = Vec::new();
    json_object(rng, &mut body, 3);
    for _ in 0..rng.below(3) {
        if body.is_empty() {
            break;
        }
        let at = rng.below(body.len());
        match rng.below(3) {
            0 => body[at] = rng.next() as u8,
            1 => {
                body.remove(at);
            }
            _ => {
                let token = rng.pick(JSON_TOKENS);
                body.splice(at..at, token.iter().copied());
            }
        }
    }
    body
}

#[test]
fn upload_scanner_survives_random_input_in_any_pieces() {
    let limits = UploadLimits {
        max_file_bytes: 16,
        max_field_bytes: 8,
    };
    let mut rng = XorShift(0x5EED_0002);
    for _ in 0..CASES_PER_PARSER {
        let input = upload_body(&mut rng);
        let whole = run_upload(&[&input], limits);
        let pieces = rng.split(&input);
        let split = run_upload(&pieces, limits);
        let shown = String::from_utf8_lossy(&input);
        assert_eq!(whole, split, "{shown:?}");
        // serde_json as the reference for the grammar (it also checks the UTF-8 of skipped
        // strings, which the scanner does not).
        let reference = serde_json::from_slice::<serde_json::Value>(&input);
        // serde_json refuses numbers beyond f64 that the JSON grammar allows (and the scanner
        // skips).
        let out_of_range = reference
            .as_ref()
            .is_err_and(|e| e.to_string().contains("number out of range"));
        if !whole.starts_with("error") && std::str::from_utf8(&input).is_ok() && !out_of_range {
            assert!(reference.is_ok(), "accepted, but not JSON: {shown:?}");
        }
        if reference.is_ok_and(|value| value.is_object()) {
            assert!(
                !SYNTAX_ERRORS.iter().any(|e| whole.contains(e)),
                "valid JSON, but {whole}: {shown:?}"
            );
        }
    }
}

/// The scanner's reasons for refusing a body that is not JSON.
const SYNTAX_ERRORS: &[&str] = &[
    "expected",
    "an invalid number",
    "an invalid literal",
    "an invalid escape",
    "an invalid \\u escape",
    "a control character",
    "an unpaired surrogate",
    "data after the end",
    "the body ends before",
    "the body is empty",
    "the body must be",
];

/// The outcome of a body, as text to compare runs.
fn run_upload(pieces: &[&[u8]], limits: UploadLimits) -> String {
    let mut sink = CountingSink::default();
    let mut upload = JsonUpload::new(limits);
    for piece in pieces {
        if let Err(e) = upload.feed(piece, &mut sink) {
            return format!("error: {e}");
        }
        assert!(upload.heap_bytes() <= BLOCK_BYTES + 6 * 2 * limits.max_field_bytes + 256);
    }
    match upload.finish(&mut sink) {
        Ok(fields) => {
            assert!(fields.file_bytes <= limits.max_file_bytes && fields.file_bytes == sink.0);
            format!("{fields:?}")
        }
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn sniffing_survives_random_input() {
    const MAGIC: &[&[u8]] = &[
        b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
        b"\xFF\xD8\xFF",
        b"\xFF\xC0\0\x11\x08",
        b"\xFF\xE1",
        b"GIF89a",
        b"RIFF\0\0\0\0WEBPVP8 ",
        b"RIFF\0\0\0\0WEBPVP8L",
        b"RIFF\0\0\0\0WEBPVP8X",
        b"\x9D\x01\x2A",
        b"BM",
        b"\x28\0\0\0",
        b"\0\0\0\x18ftyp",
        b"avif",
        b"isom",
        b"\x1A\x45\xDF\xA3",
        b"\x42\x82",
        b"\x84webm",
        b"OggS",
        b"\xEF\xBB\xBF",
        b"<?xml ?>",
        b"<!--",
        b"-->",
        b"<!DOCTYPE [",
        b"]>",
        b"<svg ",
        b"\0",
        b"\xFF",
        b"text ",
    ];
    let mut rng = XorShift(0x5EED_0003);
    for _ in 0..CASES_PER_PARSER {
        let pieces = rng.below(16);
        let input = rng.soup(MAGIC, pieces);
        let mime = sniff(&input);
        assert!(!mime.is_empty());
        if let Some((w, h)) = dimensions(&input) {
            assert!(w >= 1 && h >= 1 && w <= super::sniff::MAX_SIDE && h <= super::sniff::MAX_SIDE);
        }
    }
}
