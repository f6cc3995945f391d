//! Writing WebSocket frames (RFC 6455 §5.2) from the server side.
//!
//! Frames a server sends are not masked, so the frame of a packet is the same bytes for
//! every recipient: only a small header precedes the shared payload. The writer sends a
//! batch of queued frames with one vectored write straight from those shared bytes, with
//! no per-connection write buffer and no copy per recipient.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Poll, ready};

use futures_lite::AsyncWrite;

use crate::hub::outbox::Outgoing;

const OP_TEXT: u8 = 0x1;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;

/// Frames written with one system call at most.
pub const BATCH: usize = 32;

/// The header of a final, unmasked frame: FIN + opcode, then the payload length.
pub fn header(opcode: u8, len: usize, out: &mut [u8; 10]) -> usize {
    out[0] = 0x80 | opcode;
    if len < 126 {
        out[1] = len as u8;
        2
    } else if len <= u16::MAX as usize {
        out[1] = 126;
        out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// The payload of a close frame: the status code, then the reason (cut to fit 125 bytes).
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(&reason.as_bytes()[..cut]);
    payload
}

/// Writes a batch of queued items (at most [`BATCH`]). Returns true when a close frame was
/// among them (the connection ends after it).
///
/// The headers and the slices are built on the stack at each poll (once, unless the socket
/// is full): nothing is allocated per batch, and an idle connection's task does not keep
/// room for them.
pub async fn write_batch<W: AsyncWrite + Unpin>(
    out: &mut W,
    batch: &[Outgoing],
) -> io::Result<bool> {
    let batch = &batch[..batch.len().min(BATCH)];
    let closes: Vec<Vec<u8>> = batch
        .iter()
        .filter_map(|item| match item {
            Outgoing::Close(code, reason) => Some(close_payload(*code, reason)),
            _ => None,
        })
        .collect();
    let mut written = 0;
    poll_fn(|cx| {
        loop {
            // Only as many entries as the batch needs are written (full-size arrays would
            // be cleared at every poll, which cost more than the write call's own code).
            // Each item: its header (none for a raw frame) and its payload.
            let mut frames: heapless::Vec<([u8; 10], usize, &[u8]), BATCH> = heapless::Vec::new();
            let mut close_bodies = closes.iter();
            for item in batch {
                let mut head = [0u8; 10];
                let (n, body): (usize, &[u8]) = match item {
                    Outgoing::Text(text) | Outgoing::Presence(text) => {
                        (header(OP_TEXT, text.len(), &mut head), text.as_bytes())
                    }
                    Outgoing::Ping => (header(OP_PING, 0, &mut head), &[]),
                    Outgoing::Raw(bytes) => (0, bytes),
                    Outgoing::Close(..) => {
                        let body = close_bodies.next().map_or(&[][..], Vec::as_slice);
                        (header(OP_CLOSE, body.len(), &mut head), body)
                    }
                };
                // Cannot fail: the batch was cut to BATCH items above.
                let _ = frames.push((head, n, body));
            }
            let mut slices: heapless::Vec<IoSlice<'_>, { 2 * BATCH }> = heapless::Vec::new();
            for (head, n, body) in &frames {
                if *n > 0 {
                    let _ = slices.push(IoSlice::new(&head[..*n]));
                }
                if !body.is_empty() {
                    let _ = slices.push(IoSlice::new(body));
                }
            }
            let mut rest = &mut slices[..];
            IoSlice::advance_slices(&mut rest, written);
            if rest.is_empty() {
                return Poll::Ready(Ok(!closes.is_empty()));
            }
            match ready!(Pin::new(&mut *out).poll_write_vectored(cx, rest)) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(more) => written += more,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::outbound::Utf8Bytes;

    #[test]
    fn header_lengths() {
        let mut h = [0u8; 10];
        assert_eq!((header(OP_TEXT, 5, &mut h), &h[..2]), (2, &[0x81, 5][..]));
        assert_eq!(
            (header(OP_TEXT, 300, &mut h), &h[..4]),
            (4, &[0x81, 126, 1, 44][..])
        );
        assert_eq!(header(OP_TEXT, 70_000, &mut h), 10);
        assert_eq!(&h[..10], &[0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    #[test]
    fn batch_bytes() {
        let batch = [
            Outgoing::Text(Utf8Bytes::from_static("hi")),
            Outgoing::Ping,
            Outgoing::Close(1009, "message too big"),
        ];
        let mut out = Vec::new();
        let closing = smol::block_on(write_batch(
            &mut futures_lite::io::Cursor::new(&mut out),
            &batch,
        ))
        .unwrap();
        assert!(closing);
        let mut expected = vec![0x81, 2, b'h', b'i', 0x89, 0, 0x88, 17, 0x03, 0xF1];
        expected.extend_from_slice(b"message too big");
        assert_eq!(out, expected);
    }
}
