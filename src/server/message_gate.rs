//! The gate in front of tungstenite: it follows the frame headers (RFC 6455 §5.2) in the
//! bytes a client sends and decides about each data message before tungstenite buffers it.
//!
//! Tungstenite's own limit is `connections.max_large_message_bytes`, so that an image
//! (`emoji_add`, `server_update`) can arrive in one message. What keeps hundreds of clients
//! from making the server hold hundreds of MiB is decided here, from the *declared* size of
//! the data message in progress (the payload lengths of its frames so far):
//!
//! - up to `max_message_bytes`: passed on, as always;
//! - above it before authentication, or above `max_large_message_bytes`: refused — the
//!   connection closes with 1009, as it did when tungstenite's limit was the small one;
//! - otherwise its declared size is reserved from the server-wide budget ([`Admission`]).
//!   When the budget cannot hold it, the message never reaches tungstenite: its frames are
//!   swallowed up to FIN (interleaved control frames still pass) and the client is told to
//!   try again. When earlier fragments of it were already passed on, a final empty
//!   continuation frame stands in for the rest, and the truncated message tungstenite then
//!   delivers is dropped ([`Gate::delivered`]). The connection stays open and in step.
//!
//! Payloads are never copied aside: bytes that pass are moved down in the caller's buffer
//! over the bytes swallowed before them. Only an incomplete frame header at the end of a
//! read (at most 13 bytes) is kept for the next read, because a frame cannot be judged
//! before its length is known.
//!
//! A read stops right after the last byte of a large message ([`Filtered::unread`]): then
//! tungstenite holds nothing beyond it, and the reader can replace tungstenite's buffers,
//! which would otherwise keep the large message's allocation for the connection's life.
//! A read also stops before a frame that makes a message large while messages before it
//! have not been handled yet: one of them may be the login that allows it.
//!
//! Frames whose header alone breaks RFC 6455 (unmasked, a reserved opcode, a control frame
//! that is fragmented or over 125 bytes, a continuation without a message, a new message
//! inside a fragmented one) are refused at their header ([`BadFrame`], close 1002): passed
//! on, they would make tungstenite reserve their declared length (up to
//! `max_large_message_bytes`) before it finds the fault, whoever sent them. What only the
//! payload shows (invalid UTF-8, a bad close code) and reserved bits are left to
//! tungstenite.

use std::collections::VecDeque;
use std::fmt;

/// The longest frame header: 2 bytes, a 64-bit length, a 4-byte mask key.
const MAX_HEADER: usize = 14;

/// What stands in for the rest of a message cut short: FIN + continuation, masked, empty
/// (a server accepts only masked frames from a client; the key does not matter).
const CUT_FRAME: [u8; 6] = [0x80, 0x80, 0, 0, 0, 0];

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;

/// What the gate asks its connection about a large message.
pub trait Admission {
    /// Whether the connection has authenticated (only then may a message be large).
    fn authenticated(&self) -> bool;
    /// Takes `bytes` more from the server-wide budget; false when it cannot hold them
    /// (then nothing is taken).
    fn reserve(&mut self, bytes: usize) -> bool;
    /// Tells the client that its message of `declared` bytes (so far) was skipped.
    fn busy(&mut self, declared: u64);
}

/// A data message over the limit that applies to this connection: it closes with 1009.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooBig {
    /// The declared size of the message so far.
    pub size: u64,
    /// The limit it went over.
    pub max: u64,
}

impl fmt::Display for TooBig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "message of {} bytes exceeds {}", self.size, self.max)
    }
}

impl std::error::Error for TooBig {}

/// A frame whose header breaks RFC 6455: the connection closes with 1002 and this reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadFrame(pub &'static str);

impl fmt::Display for BadFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BadFrame {}

impl BadFrame {
    /// The refusal as the reader's error; [`BadFrame::of`] finds it again.
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, self)
    }

    /// The refusal inside an error of the reader, if it is one.
    pub fn of(error: &std::io::Error) -> Option<BadFrame> {
        error.get_ref()?.downcast_ref::<BadFrame>().copied()
    }
}

impl TooBig {
    /// The refusal as the reader's error; [`TooBig::of`] finds it again.
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, self)
    }

    /// The refusal inside an error of the reader, if it is one.
    pub fn of(error: &std::io::Error) -> Option<TooBig> {
        error.get_ref()?.downcast_ref::<TooBig>().copied()
    }
}

/// One parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub fin: bool,
    pub opcode: u8,
    pub masked: bool,
    /// The declared payload length.
    pub len: u64,
    /// Bytes of the header itself (2 to 14).
    pub size: usize,
}

impl Header {
    /// The header at the start of `bytes`; `None` while it is incomplete.
    pub fn parse(bytes: &[u8]) -> Option<Header> {
        let (&first, &second) = (bytes.first()?, bytes.get(1)?);
        let masked = second & 0x80 != 0;
        let (len, mut size) = match second & 0x7F {
            126 => (
                u64::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])),
                4,
            ),
            127 => {
                let mut be = [0u8; 8];
                be.copy_from_slice(bytes.get(2..10)?);
                (u64::from_be_bytes(be), 10)
            }
            short => (u64::from(short), 2),
        };
        if masked {
            size += 4;
        }
        if bytes.len() < size {
            return None;
        }
        Some(Header {
            fin: first & 0x80 != 0,
            opcode: first & 0x0F,
            masked,
            len,
            size,
        })
    }
}

/// What happens to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Swallow,
    /// Swallow, and end the message tungstenite holds with [`CUT_FRAME`].
    Cut,
    Refuse(TooBig),
    /// The header breaks the protocol.
    Bad(BadFrame),
}

/// The data message whose frames are coming.
#[derive(Debug, Clone, Copy)]
struct InProgress {
    declared: u64,
    /// Bytes of the budget taken for it (0 while it is small).
    reserved: u64,
    /// False once it is being swallowed.
    passing: bool,
}

/// The result of [`Gate::filter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filtered {
    /// The bytes to hand on, at the start of the buffer.
    pub kept: usize,
    /// A refusal that comes after those bytes; the connection must close.
    pub refused: Option<TooBig>,
    /// Bytes at the end of the buffer not looked at yet, because a large message ended
    /// before them: the caller feeds them again first.
    pub unread: usize,
}

/// See the module docs. One per connection.
#[derive(Debug)]
pub struct Gate {
    max_message: u64,
    max_large: u64,
    /// A header from the end of the last read: incomplete, or not judged yet.
    carry: [u8; MAX_HEADER],
    carry_len: usize,
    /// Payload bytes of the current frame still to come, and whether they pass.
    payload_left: u64,
    payload_passes: bool,
    /// The current frame ends a large message: the read stops after its payload.
    stop_after_payload: bool,
    message: Option<InProgress>,
    /// Data messages completed towards tungstenite so far (passed up to FIN, or cut).
    completed: u64,
    /// Data messages tungstenite delivered so far.
    delivered: u64,
    /// Which completed messages were cut short (tungstenite delivers only their start).
    cut: VecDeque<u64>,
    refused: Option<TooBig>,
    bad: Option<BadFrame>,
}

impl Gate {
    pub fn new(max_message_bytes: usize, max_large_message_bytes: usize) -> Gate {
        Gate {
            max_message: max_message_bytes as u64,
            max_large: max_large_message_bytes as u64,
            carry: [0; MAX_HEADER],
            carry_len: 0,
            payload_left: 0,
            payload_passes: true,
            stop_after_payload: false,
            message: None,
            completed: 0,
            delivered: 0,
            cut: VecDeque::new(),
            refused: None,
            bad: None,
        }
    }

    /// Bytes kept from the last read: the caller leaves this much room at the start of the
    /// buffer it reads into (the buffer must be longer, [`MAX_HEADER`] is enough).
    pub fn carried(&self) -> usize {
        self.carry_len
    }

    /// Whether the carried bytes are a whole header (one waiting to be judged): then the
    /// next [`Gate::filter`] needs no new bytes.
    pub fn holds_header(&self) -> bool {
        Header::parse(&self.carry[..self.carry_len]).is_some()
    }

    /// The refusal, once there has been one (every later read fails with it).
    pub fn refused(&self) -> Option<TooBig> {
        self.refused
    }

    /// The frame that broke the protocol, once there has been one (every later read fails
    /// with it; nothing from it on is handed on).
    pub fn bad_frame(&self) -> Option<BadFrame> {
        self.bad
    }

    /// Filters one read in place. `data` is the buffer: its first [`Gate::carried`] bytes
    /// are free (the gate puts the carried bytes there), the rest was just read.
    pub fn filter(&mut self, data: &mut [u8], admission: &mut impl Admission) -> Filtered {
        if let Some(big) = self.refused {
            return Filtered {
                kept: 0,
                refused: Some(big),
                unread: 0,
            };
        }
        if self.bad.is_some() {
            return Filtered {
                kept: 0,
                refused: None,
                unread: 0,
            };
        }
        let carried = self.carry_len;
        data[..carried].copy_from_slice(&self.carry[..carried]);
        self.carry_len = 0;
        // Invariant: kept <= read, so moving passed bytes down never overwrites unread ones.
        let (mut read, mut kept) = (0usize, 0usize);
        while read < data.len() {
            if self.payload_left > 0 {
                let take = usize::try_from(self.payload_left)
                    .unwrap_or(usize::MAX)
                    .min(data.len() - read);
                if self.payload_passes {
                    data.copy_within(read..read + take, kept);
                    kept += take;
                }
                read += take;
                self.payload_left -= take as u64;
                if self.payload_left == 0 && self.stop_after_payload {
                    break;
                }
                continue;
            }
            let Some(header) = Header::parse(&data[read..]) else {
                let rest = data.len() - read;
                self.carry[..rest].copy_from_slice(&data[read..]);
                self.carry_len = rest;
                read = data.len();
                break;
            };
            if kept > 0 && self.completed > self.delivered && self.declares_large(&header) {
                // Judged once the messages passed before it have been handled.
                self.carry[..header.size].copy_from_slice(&data[read..read + header.size]);
                self.carry_len = header.size;
                return Filtered {
                    kept,
                    refused: None,
                    unread: data.len() - read - header.size,
                };
            }
            let verdict = self.judge(&header, admission);
            match verdict {
                Verdict::Pass => {
                    data.copy_within(read..read + header.size, kept);
                    kept += header.size;
                    self.payload_passes = true;
                }
                Verdict::Swallow => self.payload_passes = false,
                Verdict::Cut => {
                    // A masked header is at least 6 bytes: the stand-in fits in its place.
                    data[kept..kept + CUT_FRAME.len()].copy_from_slice(&CUT_FRAME);
                    kept += CUT_FRAME.len();
                    self.payload_passes = false;
                }
                Verdict::Refuse(big) => {
                    self.refused = Some(big);
                    return Filtered {
                        kept,
                        refused: Some(big),
                        unread: 0,
                    };
                }
                Verdict::Bad(bad) => {
                    // The bytes before it are handed on; the next read fails.
                    self.bad = Some(bad);
                    return Filtered {
                        kept,
                        refused: None,
                        unread: 0,
                    };
                }
            }
            read += header.size;
            self.payload_left = header.len;
            // A cut message ends with the stand-in, before the payload it replaces.
            if verdict == Verdict::Cut && self.stop_after_payload {
                self.stop_after_payload = false;
                break;
            }
            if self.payload_left == 0 && self.stop_after_payload {
                break;
            }
        }
        if self.payload_left == 0 {
            self.stop_after_payload = false;
        }
        Filtered {
            kept,
            refused: None,
            unread: data.len() - read,
        }
    }

    /// Counts a data message tungstenite delivered; true when it is the start of a message
    /// that was cut short, which must be dropped (its sender has been told).
    pub fn delivered(&mut self) -> bool {
        let index = self.delivered;
        self.delivered += 1;
        if self.cut.front() == Some(&index) {
            self.cut.pop_front();
            return true;
        }
        false
    }

    /// Whether this data frame takes its message above `max_message_bytes`.
    fn declares_large(&self, header: &Header) -> bool {
        let before = match (header.opcode, self.message) {
            (OP_TEXT | OP_BINARY, _) => 0,
            (OP_CONTINUATION, Some(m)) => m.declared,
            _ => return false,
        };
        header.masked && before.saturating_add(header.len) > self.max_message
    }

    fn judge(&mut self, header: &Header, admission: &mut impl Admission) -> Verdict {
        if let Some(bad) = header_fault(header) {
            return Verdict::Bad(bad);
        }
        // A control frame: at most 125 bytes, checked above.
        if !matches!(header.opcode, OP_CONTINUATION | OP_TEXT | OP_BINARY) {
            return Verdict::Pass;
        }
        let first = header.opcode != OP_CONTINUATION;
        let message = match (first, self.message) {
            // A new message in the middle of one tungstenite holds.
            (true, Some(m)) if m.passing => {
                return Verdict::Bad(BadFrame("new data frame inside a fragmented message"));
            }
            // A new message after a swallowed one that never ended: start afresh.
            (true, _) => InProgress {
                declared: 0,
                reserved: 0,
                passing: true,
            },
            (false, Some(m)) => m,
            (false, None) => return Verdict::Bad(BadFrame("continuation frame without a message")),
        };
        let declared = message.declared.saturating_add(header.len);
        let (verdict, message) = self.judge_data(first, declared, message, admission);
        if let Verdict::Refuse(_) = verdict {
            return verdict;
        }
        self.message = (!header.fin).then_some(message);
        match verdict {
            Verdict::Pass if header.fin => self.completed += 1,
            Verdict::Cut => {
                self.cut.push_back(self.completed);
                self.completed += 1;
            }
            _ => {}
        }
        // What tungstenite gets of the message ends here, and it was large.
        let ends = (verdict == Verdict::Pass && header.fin) || verdict == Verdict::Cut;
        self.stop_after_payload = ends && message.reserved > 0;
        verdict
    }

    /// The verdict on a frame of a data message that will have declared `declared` bytes,
    /// and the message's state after it.
    fn judge_data(
        &self,
        first: bool,
        declared: u64,
        message: InProgress,
        admission: &mut impl Admission,
    ) -> (Verdict, InProgress) {
        let mut message = InProgress {
            declared,
            ..message
        };
        if declared <= self.max_message {
            let verdict = if message.passing {
                Verdict::Pass
            } else {
                Verdict::Swallow
            };
            return (verdict, message);
        }
        if !admission.authenticated() {
            let big = TooBig {
                size: declared,
                max: self.max_message,
            };
            return (Verdict::Refuse(big), message);
        }
        if declared > self.max_large {
            let big = TooBig {
                size: declared,
                max: self.max_large,
            };
            return (Verdict::Refuse(big), message);
        }
        if !message.passing {
            return (Verdict::Swallow, message);
        }
        // At most max_large here, so it fits a usize.
        let more = usize::try_from(declared - message.reserved).unwrap_or(usize::MAX);
        if admission.reserve(more) {
            message.reserved = declared;
            return (Verdict::Pass, message);
        }
        admission.busy(declared);
        message.passing = false;
        // Whatever was reserved for its passed start is given back when tungstenite
        // delivers that start (the reader releases what a delivered message holds).
        let verdict = if first {
            Verdict::Swallow
        } else {
            Verdict::Cut
        };
        (verdict, message)
    }
}

/// What is wrong with a frame's header alone, whatever came before it.
fn header_fault(header: &Header) -> Option<BadFrame> {
    let fault = match header.opcode {
        _ if !header.masked => "unmasked client frame",
        0x3..=0x7 | 0xB..=0xF => "reserved opcode",
        0x8..=0xA if !header.fin => "fragmented control frame",
        0x8..=0xA if header.len > 125 => "control frame over 125 bytes",
        _ => return None,
    };
    Some(BadFrame(fault))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A budget of `room` bytes; records what the gate asked.
    struct Fake {
        authenticated: bool,
        room: usize,
        reserved: usize,
        busy: Vec<u64>,
    }

    impl Admission for Fake {
        fn authenticated(&self) -> bool {
            self.authenticated
        }
        fn reserve(&mut self, bytes: usize) -> bool {
            if self.reserved + bytes > self.room {
                return false;
            }
            self.reserved += bytes;
            true
        }
        fn busy(&mut self, declared: u64) {
            self.busy.push(declared);
        }
    }

    fn fake(room: usize) -> Fake {
        Fake {
            authenticated: true,
            room,
            reserved: 0,
            busy: Vec::new(),
        }
    }

    /// A masked client frame (the key is fixed; the gate never looks at payloads).
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(u8::from(fin) << 7) | opcode];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&[1, 2, 3, 4]);
        out.extend_from_slice(payload);
        out
    }

    /// Feeds `stream` through the gate in pieces cut at `cuts` as the reader does (carry
    /// included; what a read left unread is read again first); returns what each read
    /// passed and the refusal, if any.
    fn reads(
        gate: &mut Gate,
        admission: &mut Fake,
        stream: &[u8],
        cuts: &[usize],
    ) -> (Vec<Vec<u8>>, Option<TooBig>) {
        let mut out = Vec::new();
        let mut at = 0;
        for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
            let mut piece = stream[at..end].to_vec();
            at = end;
            while !piece.is_empty() {
                let carried = gate.carried();
                // As the reader does: a header that waited is judged on its own.
                let fresh = if gate.holds_header() { 0 } else { piece.len() };
                let mut buf = vec![0u8; carried + fresh];
                buf[carried..].copy_from_slice(&piece[..fresh]);
                let f = gate.filter(&mut buf, admission);
                if f.kept > 0 {
                    out.push(buf[..f.kept].to_vec());
                }
                if f.refused.is_some() {
                    return (out, f.refused);
                }
                piece = piece[fresh - f.unread..].to_vec();
            }
        }
        (out, None)
    }

    /// [`reads`], all passed bytes together.
    fn run(
        gate: &mut Gate,
        admission: &mut Fake,
        stream: &[u8],
        cuts: &[usize],
    ) -> (Vec<u8>, Option<TooBig>) {
        let (out, refused) = reads(gate, admission, stream, cuts);
        (out.concat(), refused)
    }

    /// Every way of cutting `stream` in two or three pieces, plus byte by byte, gives the
    /// same result as one read.
    fn every_split(
        make: impl Fn() -> (Gate, Fake),
        stream: &[u8],
        check: impl Fn(&[u8], Option<TooBig>, &Fake),
    ) {
        let (mut gate, mut admission) = make();
        let (out, refused) = run(&mut gate, &mut admission, stream, &[]);
        check(&out, refused, &admission);
        let step = (stream.len() / 97).max(1);
        for a in 0..=stream.len() {
            let (mut gate, mut admission) = make();
            let (o, r) = run(&mut gate, &mut admission, stream, &[a]);
            assert_eq!((o.as_slice(), r), (out.as_slice(), refused), "cut at {a}");
            check(&o, r, &admission);
            for b in (a..=stream.len()).step_by(step) {
                let (mut gate, mut admission) = make();
                let (o, r) = run(&mut gate, &mut admission, stream, &[a, b]);
                assert_eq!(
                    (o.as_slice(), r),
                    (out.as_slice(), refused),
                    "cuts {a}, {b}"
                );
            }
        }
        let (mut gate, mut admission) = make();
        let bytes: Vec<usize> = (1..stream.len()).collect();
        let (o, r) = run(&mut gate, &mut admission, stream, &bytes);
        assert_eq!((o.as_slice(), r), (out.as_slice(), refused), "byte by byte");
    }

    fn small_gate() -> Gate {
        Gate::new(100, 1000)
    }

    #[test]
    fn headers_of_every_length_form() {
        for len in [0usize, 125, 126, 65535, 65536] {
            let f = frame(true, OP_TEXT, &vec![b'x'; len]);
            let h = Header::parse(&f).unwrap();
            assert_eq!(
                (h.fin, h.opcode, h.masked, h.len),
                (true, 1, true, len as u64)
            );
            assert_eq!(h.size, f.len() - len);
            for short in 0..h.size {
                assert_eq!(Header::parse(&f[..short]), None, "{len}: {short} bytes");
            }
        }
        let unmasked = [0x89, 3];
        let h = Header::parse(&unmasked).unwrap();
        assert_eq!((h.opcode, h.masked, h.len, h.size), (9, false, 3, 2));
    }

    #[test]
    fn small_messages_and_control_frames_pass_unchanged() {
        let mut stream = frame(true, OP_TEXT, b"{\"cmd\":\"ping\"}");
        stream.extend(frame(false, OP_TEXT, &[b'a'; 60]));
        stream.extend(frame(true, 0x9, b"hi"));
        stream.extend(frame(true, OP_CONTINUATION, &[b'b'; 40]));
        stream.extend(frame(true, 0x8, &[3, 232]));
        let expected = stream.clone();
        every_split(
            || (small_gate(), fake(0)),
            &stream,
            |out, refused, admission| {
                assert_eq!((out, refused), (expected.as_slice(), None));
                assert_eq!(admission.reserved, 0);
            },
        );
    }

    #[test]
    fn a_large_message_before_authentication_is_refused() {
        let mut stream = frame(true, OP_TEXT, b"small");
        let small = stream.len();
        stream.extend(frame(true, OP_TEXT, &[b'x'; 101]));
        stream.extend(frame(true, OP_TEXT, b"after"));
        let expected = stream[..small].to_vec();
        every_split(
            || {
                let mut f = fake(10_000);
                f.authenticated = false;
                (small_gate(), f)
            },
            &stream,
            |out, refused, _| {
                assert_eq!(out, expected.as_slice());
                assert_eq!(
                    refused,
                    Some(TooBig {
                        size: 101,
                        max: 100
                    })
                );
            },
        );
    }

    #[test]
    fn a_message_above_the_large_limit_is_refused_even_in_fragments() {
        let mut stream = frame(false, OP_TEXT, &[b'x'; 600]);
        let first = stream.len();
        stream.extend(frame(true, OP_CONTINUATION, &[b'x'; 401]));
        let expected = stream[..first].to_vec();
        every_split(
            || (small_gate(), fake(10_000)),
            &stream,
            |out, refused, admission| {
                assert_eq!(out, expected.as_slice());
                assert_eq!(
                    refused,
                    Some(TooBig {
                        size: 1001,
                        max: 1000
                    })
                );
                assert_eq!(admission.reserved, 600);
            },
        );
    }

    #[test]
    fn a_large_message_within_the_budget_passes_and_reserves_its_declared_size() {
        // Small at first, large with its second fragment, a ping in between.
        let mut stream = frame(false, OP_TEXT, &[b'a'; 50]);
        stream.extend(frame(true, 0x9, b"p"));
        stream.extend(frame(false, OP_CONTINUATION, &[b'b'; 200]));
        stream.extend(frame(true, OP_CONTINUATION, &[b'c'; 300]));
        stream.extend(frame(true, OP_TEXT, b"next"));
        let expected = stream.clone();
        every_split(
            || (small_gate(), fake(550)),
            &stream,
            |out, refused, admission| {
                assert_eq!((out, refused), (expected.as_slice(), None));
                assert_eq!(admission.reserved, 550);
                assert!(admission.busy.is_empty());
            },
        );
    }

    #[test]
    fn a_large_message_over_the_budget_is_swallowed_whole_and_control_frames_pass() {
        let before = frame(true, OP_TEXT, b"before");
        let ping = frame(true, 0x9, b"p");
        let after = frame(true, OP_TEXT, b"after");
        let mut stream = before.clone();
        stream.extend(frame(false, OP_TEXT, &[b'a'; 300]));
        stream.extend(&ping);
        stream.extend(frame(true, OP_CONTINUATION, &[b'b'; 300]));
        stream.extend(&after);
        let expected = [before, ping, after].concat();
        every_split(
            || (small_gate(), fake(299)),
            &stream,
            |out, refused, admission| {
                assert_eq!((out, refused), (expected.as_slice(), None));
                assert_eq!(
                    (admission.reserved, admission.busy.as_slice()),
                    (0, &[300][..])
                );
            },
        );
        let (mut gate, mut admission) = (small_gate(), fake(299));
        run(&mut gate, &mut admission, &stream, &[]);
        assert!(!gate.delivered() && !gate.delivered(), "nothing was cut");
    }

    #[test]
    fn a_message_that_outgrows_the_budget_is_cut_and_its_start_dropped() {
        let start = frame(false, OP_TEXT, &[b'a'; 150]);
        let mut stream = frame(true, OP_TEXT, b"before");
        stream.extend(&start);
        stream.extend(frame(false, OP_CONTINUATION, &[b'b'; 100]));
        stream.extend(frame(true, OP_CONTINUATION, &[b'c'; 100]));
        stream.extend(frame(true, OP_TEXT, b"after"));
        let expected = [
            frame(true, OP_TEXT, b"before"),
            start,
            CUT_FRAME.to_vec(),
            frame(true, OP_TEXT, b"after"),
        ]
        .concat();
        every_split(
            || (small_gate(), fake(200)),
            &stream,
            |out, refused, admission| {
                assert_eq!((out, refused), (expected.as_slice(), None));
                // The start stays reserved until the reader has dropped it.
                assert_eq!(
                    (admission.reserved, admission.busy.as_slice()),
                    (150, &[250][..])
                );
            },
        );
        let (mut gate, mut admission) = (small_gate(), fake(200));
        run(&mut gate, &mut admission, &stream, &[]);
        assert_eq!(
            [gate.delivered(), gate.delivered(), gate.delivered()],
            [false, true, false]
        );
    }

    /// Whatever the reads, the bytes handed on end right after the last byte of each large
    /// message (a passed one, and a cut one's stand-in), never further.
    #[test]
    fn reads_stop_at_the_end_of_a_large_message() {
        let small = frame(true, OP_TEXT, b"small");
        let large = [
            frame(false, OP_TEXT, &[b'a'; 80]),
            frame(true, 0x9, b"p"),
            frame(true, OP_CONTINUATION, &[b'b'; 80]),
        ]
        .concat();
        let start = frame(false, OP_TEXT, &[b'c'; 150]);
        let mut stream = small.clone();
        stream.extend(&large);
        stream.extend(&start);
        stream.extend(frame(true, OP_CONTINUATION, &[b'd'; 100]));
        stream.extend(&small);
        let ends = [
            small.len() + large.len(),
            small.len() + large.len() + start.len() + CUT_FRAME.len(),
        ];
        let total = ends[1] + small.len();
        for a in 0..=stream.len() {
            for b in [a, (a + 37).min(stream.len()), stream.len()] {
                // Room for the first large message and the start of the second only.
                let (mut gate, mut admission) = (small_gate(), fake(350));
                let (out, refused) = reads(&mut gate, &mut admission, &stream, &[a, b]);
                assert_eq!((refused, admission.busy.as_slice()), (None, &[250][..]));
                let mut at = 0;
                let boundaries: Vec<usize> = out
                    .iter()
                    .map(|chunk| {
                        at += chunk.len();
                        at
                    })
                    .collect();
                assert_eq!(at, total, "cuts {a}, {b}");
                for end in ends {
                    assert!(boundaries.contains(&end), "cuts {a}, {b}: {boundaries:?}");
                }
            }
        }
    }

    /// A login and a large message right after it, in one read: the large one is judged
    /// once the login has been handled.
    #[test]
    fn a_large_message_right_after_a_small_one_waits_for_it_to_be_handled() {
        let login = frame(true, OP_TEXT, b"login");
        let large = frame(true, OP_TEXT, &[b'x'; 150]);
        let stream = [login.clone(), large.clone()].concat();
        let (mut gate, mut admission) = (small_gate(), fake(1000));
        admission.authenticated = false;
        let mut buf = stream.clone();
        let f = gate.filter(&mut buf, &mut admission);
        assert_eq!((&buf[..f.kept], f.refused), (login.as_slice(), None));
        assert_eq!(f.unread, 150);
        assert_eq!(gate.carried(), large.len() - 150);
        // Tungstenite delivers the login; the router authenticates.
        assert!(!gate.delivered());
        admission.authenticated = true;
        let mut buf = vec![0u8; gate.carried()];
        buf.extend_from_slice(&large[large.len() - 150..]);
        let f = gate.filter(&mut buf, &mut admission);
        assert_eq!((&buf[..f.kept], f.refused), (large.as_slice(), None));
        assert_eq!(admission.reserved, 150);
        // Not handled yet when the next read comes (cannot happen): judged at once.
        let (mut gate, mut admission) = (small_gate(), fake(1000));
        admission.authenticated = false;
        let (out, refused) = run(&mut gate, &mut admission, &stream, &[]);
        assert_eq!(
            (out, refused),
            (
                login,
                Some(TooBig {
                    size: 150,
                    max: 100
                })
            )
        );
    }

    #[test]
    fn a_refusal_sticks() {
        let (mut gate, mut admission) = (small_gate(), fake(0));
        admission.authenticated = false;
        let stream = frame(true, OP_TEXT, &[b'x'; 200]);
        let (out, refused) = run(&mut gate, &mut admission, &stream, &[]);
        assert!(out.is_empty() && refused.is_some());
        let mut more = frame(true, OP_TEXT, b"x");
        assert_eq!(gate.filter(&mut more, &mut admission).refused, refused);
        assert_eq!(gate.refused(), refused);
    }

    /// A frame whose header breaks the protocol is refused at its header (before
    /// tungstenite would reserve its declared length): what came before it is handed on,
    /// nothing from it on. Whatever the declared length, even before authentication.
    #[test]
    fn frames_that_break_the_protocol_are_refused_at_their_header() {
        let ok = frame(true, OP_TEXT, b"ok");
        let mut unmasked = vec![0x81, 126, 1, 0];
        unmasked.extend([b'y'; 256]);
        let start = frame(false, OP_TEXT, b"start");
        let cases: [(Vec<u8>, Vec<u8>, &str); 7] = [
            (
                vec![],
                frame(true, OP_CONTINUATION, &[b'x'; 300]),
                "continuation frame without a message",
            ),
            (vec![], unmasked, "unmasked client frame"),
            (
                start.clone(),
                frame(true, OP_TEXT, &[b'n'; 50]),
                "new data frame inside a fragmented message",
            ),
            (vec![], frame(true, 0x3, b"x"), "reserved opcode"),
            (vec![], frame(true, 0xB, b""), "reserved opcode"),
            (vec![], frame(false, 0x9, b"p"), "fragmented control frame"),
            (
                vec![],
                // A ping that declares 2^40 bytes: judged by its 14 header bytes.
                [0x89, 0xFF, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4].to_vec(),
                "control frame over 125 bytes",
            ),
        ];
        for (prefix, bad, reason) in cases {
            let stream = [ok.clone(), prefix.clone(), bad, ok.clone()].concat();
            let expected = [ok.clone(), prefix].concat();
            let make = || {
                let mut f = fake(10_000);
                f.authenticated = false;
                (small_gate(), f)
            };
            every_split(make, &stream, |out, refused, admission| {
                assert_eq!((out, refused), (expected.as_slice(), None), "{reason}");
                assert_eq!(admission.reserved, 0);
            });
            let (mut gate, mut admission) = make();
            run(&mut gate, &mut admission, &stream, &[]);
            assert_eq!(gate.bad_frame(), Some(BadFrame(reason)));
            let mut more = ok.clone();
            assert_eq!(gate.filter(&mut more, &mut admission).kept, 0, "it sticks");
        }
    }

    #[test]
    fn a_refusal_survives_the_reader_error() {
        let big = TooBig { size: 5, max: 4 };
        assert_eq!(TooBig::of(&big.into_io()), Some(big));
        assert_eq!(TooBig::of(&std::io::Error::other("x")), None);
    }
}
