//! Writing WebSocket frames (RFC 6455 §5.2) from the server side.
//!
//! Frames a server sends are not masked, so the frame of a packet is the same bytes for
//! every recipient: only a small header precedes the shared payload. The writer sends a
//! batch of queued frames with one vectored write straight from those shared bytes, with
//! no per-connection write buffer and no copy per recipient.

use std::io::{self, IoSlice};

use futures_lite::{AsyncWrite, AsyncWriteExt};

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

/// Writes a batch of queued items. Returns true when a close frame was among them (the
/// connection ends after it).
pub async fn write_batch<W: AsyncWrite + Unpin>(
    out: &mut W,
    batch: &[Outgoing],
) -> io::Result<bool> {
    let mut headers = [[0u8; 10]; BATCH];
    let mut closes: Vec<Vec<u8>> = Vec::new();
    let mut closing = false;
    for item in batch {
        if let Outgoing::Close(code, reason) = item {
            closes.push(close_payload(*code, reason));
            closing = true;
        }
    }
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(batch.len() * 2);
    let mut close_bodies = closes.iter();
    for (item, head) in batch.iter().zip(headers.iter_mut()) {
        match item {
            Outgoing::Text(text) => {
                let n = header(OP_TEXT, text.len(), head);
                slices.push(IoSlice::new(&head[..n]));
                slices.push(IoSlice::new(text.as_bytes()));
            }
            Outgoing::Ping => {
                let n = header(OP_PING, 0, head);
                slices.push(IoSlice::new(&head[..n]));
            }
            Outgoing::Raw(bytes) => slices.push(IoSlice::new(bytes)),
            Outgoing::Close(..) => {
                let body = close_bodies.next().map_or(&[][..], Vec::as_slice);
                let n = header(OP_CLOSE, body.len(), head);
                slices.push(IoSlice::new(&head[..n]));
                slices.push(IoSlice::new(body));
            }
        }
    }
    let mut rest: &mut [IoSlice<'_>] = &mut slices;
    while !rest.is_empty() {
        let written = out.write_vectored(rest).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, written);
    }
    Ok(closing)
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
