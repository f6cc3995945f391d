//! Every parser of this module over a few hundred thousand pseudo-random inputs: none may
//! panic, hold more than its bounds, or answer differently when the same body comes in other
//! pieces. Inputs are made of pieces that matter to each parser (magic numbers, JSON tokens,
//! base64 characters) mixed with random bytes, so they get past the first checks.

use std::io::Write;

use super::base64_stream::{BLOCK_BYTES, Base64Decoder};
use super::sniff::{dimensions, sniff};
use super::upload_body::{JsonUpload, UploadLimits};

const CASES_PER_PARSER: usize = 70_000;

/// xorshift64: the same cases on every run, so a failure can be reproduced.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

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
fn base64_decoder_survives_random_input() {
    const TOKENS: &[&[u8]] = &[
        b"A", b"Zz", b"09", b"+", b"/", b"-", b"_", b"=", b"==", b" ", b"\n", b"QUJD", b"YQ",
    ];
    let mut rng = XorShift(0x5EED_0001);
    for _ in 0..CASES_PER_PARSER {
        let pieces = rng.below(24);
        let input = rng.soup(TOKENS, pieces);
        let max = rng.below(40) as u64;
        let mut sink = CountingSink::default();
        let mut decoder = Base64Decoder::new(max);
        let mut result = Ok(());
        for piece in rng.split(&input) {
            result = decoder.push(piece, &mut sink);
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            if let Ok(n) = decoder.finish(&mut sink) {
                assert!(n <= max && n == sink.0);
            }
        }
    }
}

#[test]
fn upload_scanner_survives_random_input_in_any_pieces() {
    const TOKENS: &[&[u8]] = &[
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
        b"\\ude00",
        b"00e9",
        b" ",
        b"\"file\":\"",
        b"\"name\":\"",
        b"\"expires_in_days\":",
        b"\"x\":",
        b"data:",
        b"image/png",
        b";base64",
        b"YQ==",
        b"QUJD",
        b"1",
        b"-",
        b".5",
        b"e3",
        b"null",
        b"true",
        b"false",
        b"\\/",
        b"\\n",
        b"\xC3\xA9",
        b"\xFF",
    ];
    let limits = UploadLimits {
        max_file_bytes: 16,
        max_field_bytes: 8,
    };
    let mut rng = XorShift(0x5EED_0002);
    for _ in 0..CASES_PER_PARSER {
        let mut input = if rng.below(10) == 0 {
            Vec::new()
        } else {
            b"{".to_vec()
        };
        let pieces = rng.below(30);
        input.extend(rng.soup(TOKENS, pieces));
        let whole = run_upload(&[&input], limits);
        let pieces = rng.split(&input);
        let split = run_upload(&pieces, limits);
        assert_eq!(whole, split, "{:?}", String::from_utf8_lossy(&input));
    }
}

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
