//! Which close frame a client's WebSocket violation gets (RFC 6455 §7.4.1).
//!
//! Tungstenite (through async-tungstenite) finds the violations while it reads and
//! reports each as an error; the reader maps the error to a close code and a short reason
//! here, queues that close frame and lets the peer end the connection
//! (`connection::read_loop`). The gate's own refusals, of a message over the size limits
//! ([`TooBig`]) and of a frame whose header breaks the protocol ([`BadFrame`]), arrive the
//! same way, inside an I/O error.

use async_tungstenite::tungstenite::Error as WsError;
use async_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::message_gate::{BadFrame, TooBig};

/// Invalid data: a text message or close reason that is not UTF-8.
pub const INVALID_DATA: u16 = 1007;
/// A protocol error: a frame a client must not send.
pub const PROTOCOL_ERROR: u16 = 1002;
/// A message over the size limit.
pub const TOO_BIG: u16 = 1009;

/// A violation the reader met: the close frame it calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    pub code: u16,
    pub reason: &'static str,
    /// For a message over the size limit: its declared size and the limit.
    pub size: Option<(usize, usize)>,
}

impl Violation {
    /// The close frame a read error calls for; `None` when the error is no violation of the
    /// peer's (the peer went away, or the socket failed), so that no close frame is due.
    pub fn of(error: &WsError) -> Option<Violation> {
        if let Some(size) = too_big(error) {
            return Some(Violation {
                code: TOO_BIG,
                reason: "message too big",
                size: Some(size),
            });
        }
        let (code, reason) = match error {
            WsError::Io(e) => (PROTOCOL_ERROR, BadFrame::of(e)?.0),
            WsError::Utf8(_) => (INVALID_DATA, "invalid UTF-8"),
            WsError::Protocol(p) => (PROTOCOL_ERROR, protocol_reason(p)?),
            _ => return None,
        };
        Some(Violation {
            code,
            reason,
            size: None,
        })
    }
}

/// The short reason sent for a protocol error; `None` when the peer just went away.
fn protocol_reason(error: &ProtocolError) -> Option<&'static str> {
    Some(match error {
        ProtocolError::ResetWithoutClosingHandshake => return None,
        ProtocolError::NonZeroReservedBits => "reserved bits set",
        ProtocolError::UnmaskedFrameFromClient => "unmasked client frame",
        ProtocolError::FragmentedControlFrame => "fragmented control frame",
        ProtocolError::ControlFrameTooBig => "control frame over 125 bytes",
        ProtocolError::UnknownControlFrameType(_)
        | ProtocolError::UnknownDataFrameType(_)
        | ProtocolError::InvalidOpcode(_) => "reserved opcode",
        ProtocolError::UnexpectedContinueFrame => "continuation frame without a message",
        ProtocolError::ExpectedFragment(_) => "new data frame inside a fragmented message",
        ProtocolError::InvalidCloseSequence => "invalid close frame",
        ProtocolError::ReceivedAfterClosing => "data after the close frame",
        _ => "protocol violation",
    })
}

/// The size and limit of a message refused for its size, by the gate or by tungstenite.
fn too_big(error: &WsError) -> Option<(usize, usize)> {
    let wide = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    match error {
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            Some((*size, *max_size))
        }
        WsError::Io(e) => TooBig::of(e).map(|big| (wide(big.size), wide(big.max))),
        _ => None,
    }
}

/// What tungstenite puts in place of a close frame whose code a peer may not send.
const REPLACED_CLOSE_REASON: &str = "Protocol violation";

/// The answer to the peer's close frame: `1000`, or `1002` when its code is one a peer may
/// not send (0–999, 1004–1006, 1015, 1016–2999, 5000 and above). Tungstenite hands such a
/// frame on as `1002` with a reason of its own, so that is what is looked for.
pub fn close_reply(frame: Option<&CloseFrame>) -> (u16, &'static str) {
    match frame {
        Some(f) if f.code == CloseCode::Protocol && f.reason == REPLACED_CLOSE_REASON => {
            (PROTOCOL_ERROR, "invalid close code")
        }
        _ => (1000, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_by_error() {
        let code = |e: WsError| Violation::of(&e).map(|v| (v.code, v.reason));
        assert_eq!(
            code(WsError::Utf8("x".into())),
            Some((1007, "invalid UTF-8"))
        );
        assert_eq!(
            code(WsError::Protocol(ProtocolError::NonZeroReservedBits)),
            Some((1002, "reserved bits set"))
        );
        assert_eq!(
            code(WsError::Protocol(
                ProtocolError::ResetWithoutClosingHandshake
            )),
            None
        );
        assert_eq!(code(WsError::ConnectionClosed), None);
        assert_eq!(code(WsError::Io(std::io::Error::other("reset"))), None);
        assert_eq!(
            code(WsError::Io(BadFrame("unmasked client frame").into_io())),
            Some((1002, "unmasked client frame"))
        );
        let big = TooBig { size: 9, max: 4 };
        assert_eq!(
            Violation::of(&WsError::Io(big.into_io())),
            Some(Violation {
                code: 1009,
                reason: "message too big",
                size: Some((9, 4))
            })
        );
    }
}
