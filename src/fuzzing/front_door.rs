//! What a client sends before any packet exists. The first byte picks the part and how the
//! rest arrives (in reads of 1 to 64 bytes, as a slow or pipelining client's would):
//!
//! - 0: the HTTP request head (`server::http::read_request`) and what routes read of it;
//! - 1: the WebSocket frame gate (`server::message_gate::Gate`), fed like `read_side` does;
//! - 2: the JSON upload body (`media::upload_body::JsonUpload`), whole and in pieces.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::AsyncRead;

use crate::media::base64_stream::BLOCK_BYTES;
use crate::media::upload_body::{JsonUpload, UploadLimits};
use crate::server::http::{percent_decode, read_request, speaks_websocket_13};
use crate::server::message_gate::{Admission, Gate};

/// Runs one input; panics when a bound or an invariant is broken.
pub fn front_door(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let piece = usize::from(selector >> 2) + 1;
    match selector & 3 {
        0 => http_head(rest, piece),
        1 => websocket_gate(rest, piece),
        _ => upload_body(rest, piece),
    }
}

/// A stream that returns at most `piece` bytes per read.
struct Pieces<'a> {
    data: &'a [u8],
    piece: usize,
}

impl AsyncRead for Pieces<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = self.piece.min(buf.len()).min(self.data.len());
        let (now, later) = self.data.split_at(n);
        buf[..n].copy_from_slice(now);
        self.data = later;
        Poll::Ready(Ok(n))
    }
}

fn http_head(data: &[u8], piece: usize) {
    let mut stream = Pieces { data, piece };
    let Ok(Some(request)) = smol::block_on(read_request(&mut stream)) else {
        return;
    };
    assert!(request.rest.len() <= data.len(), "more rest than input");
    let _ = request.route();
    let _ = request.base_url(false);
    let _ = request.base_url(true);
    let _ = request.query("token");
    let _ = request.header("host");
    let _ = speaks_websocket_13(&request);
    let _ = percent_decode(&request.path);
}

/// A budget as small as the gate's limits, so refusals and "busy" both happen.
struct Budget {
    authenticated: bool,
    left: usize,
}

impl Admission for Budget {
    fn authenticated(&self) -> bool {
        self.authenticated
    }
    fn reserve(&mut self, bytes: usize) -> bool {
        if bytes > self.left {
            return false;
        }
        self.left -= bytes;
        true
    }
    fn busy(&mut self, _declared: u64) {}
}

/// The gate's limits here: small, so that short inputs reach every branch.
const MAX_MESSAGE: usize = 32;
const MAX_LARGE: usize = 200;

fn websocket_gate(data: &[u8], piece: usize) {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let mut gate = Gate::new(MAX_MESSAGE, MAX_LARGE);
    let mut budget = Budget {
        authenticated: flags & 1 == 1,
        left: usize::from(flags >> 1) * 4,
    };
    let mut at = 0;
    let mut passed = 0usize;
    // Every round consumes input or judges a carried header; more rounds than this is a
    // gate that stopped making progress (the reader would spin).
    let mut rounds_left = 2 * data.len() + 16;
    while gate.refused().is_none() && gate.bad_frame().is_none() {
        rounds_left = rounds_left
            .checked_sub(1)
            .unwrap_or_else(|| panic!("the gate makes no progress at byte {at}"));
        let carried = gate.carried();
        let whole_header = gate.holds_header();
        let mut buf = vec![0u8; carried + piece.max(14)];
        let read = if whole_header {
            0
        } else {
            let n = piece.min(data.len() - at);
            buf[carried..carried + n].copy_from_slice(&data[at..at + n]);
            n
        };
        if read == 0 && !whole_header {
            break;
        }
        at += read;
        let end = carried + read;
        let filtered = gate.filter(&mut buf[..end], &mut budget);
        assert!(filtered.kept <= end, "kept more than the buffer");
        assert!(filtered.unread <= read, "unread bytes that were not read");
        at -= filtered.unread;
        passed += filtered.kept;
        assert!(
            passed <= data.len() + 6 * (data.len() / 2 + 1),
            "the gate hands on more than came in"
        );
    }
}

fn upload_body(data: &[u8], piece: usize) {
    let limits = UploadLimits {
        max_file_bytes: 64,
        max_field_bytes: 16,
    };
    let whole = scan_upload(&[data], limits);
    let pieces: Vec<&[u8]> = data.chunks(piece).collect();
    let split = scan_upload(&pieces, limits);
    assert_eq!(whole, split, "the body read whole and in pieces of {piece}");
}

/// The outcome of one body, as text to compare.
fn scan_upload(pieces: &[&[u8]], limits: UploadLimits) -> String {
    let mut sink = Vec::new();
    let mut upload = JsonUpload::new(limits);
    for piece in pieces {
        if let Err(e) = upload.feed(piece, &mut sink) {
            return format!("error: {e}");
        }
        assert!(
            upload.heap_bytes() <= BLOCK_BYTES + 6 * 2 * limits.max_field_bytes + 256,
            "the scanner holds {} bytes",
            upload.heap_bytes()
        );
    }
    match upload.finish(&mut sink) {
        Ok(fields) => {
            assert!(fields.file_bytes <= limits.max_file_bytes);
            assert_eq!(fields.file_bytes, sink.len() as u64);
            format!("{fields:?}")
        }
        Err(e) => format!("error: {e}"),
    }
}
