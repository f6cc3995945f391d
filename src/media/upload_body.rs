//! The JSON body of `POST /attachments/upload`, scanned while it streams in.
//!
//! The body is one JSON object whose `file` member is the whole file as a base64 string
//! (often a `data:` URL), 25 MiB and more. Parsing it with a DOM would hold the body, the
//! string and the decoded file in memory at once; a Raspberry Pi serving a few uploads would
//! run out. [`JsonUpload`] instead reads the body a chunk at a time, keeps the few short
//! fields the route needs, checks and throws away every other member, and decodes `file` on
//! the fly into the caller's sink (a temporary file, a hash). What it holds is bounded: the
//! kept fields (`max_field_bytes` each), a 256-byte `data:` header, a 64-byte number and the
//! decoder's 8 KiB block, whatever the body looks like.
//!
//! Keys may come in any order, with any JSON escapes (`\/` is common in the base64 of
//! encoders that escape slashes). Skipped members are checked for JSON syntax (nesting up to
//! [`MAX_DEPTH`]), but their text is not checked for UTF-8: nobody reads it.

use std::fmt;
use std::io::{self, Write};

use super::base64_stream::{Base64Decoder, Base64Error};

/// The most members the top-level object may have.
pub const MAX_KEYS: usize = 64;
/// The deepest nesting of arrays and objects inside the top-level object.
pub const MAX_DEPTH: usize = 32;
/// The longest `data:…,` header of the file (`data:` and the `,` included).
pub const MAX_DATA_URL_HEADER: usize = 256;
/// The longest number text kept for `expires_in_days`.
const MAX_NUMBER_TEXT: usize = 64;
/// Keys longer than this are none of ours; only their first bytes are kept.
const KEY_BYTES: usize = 16;

/// How much of a body is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// The largest decoded file.
    pub max_file_bytes: u64,
    /// The longest kept string field, in bytes of UTF-8 after unescaping.
    pub max_field_bytes: usize,
}

/// What the body said, the file aside (its bytes went to the sink).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadFields {
    pub validator_key: Option<String>,
    pub validator: Option<String>,
    pub name: Option<String>,
    pub mime_type: Option<String>,
    pub channel: Option<String>,
    /// A number, or `None` when absent or `null`.
    pub expires_in_days: Option<f64>,
    /// The MIME type of a `data:` URL's header, lower-cased (`None` without one).
    pub data_url_mime: Option<String>,
    /// Decoded bytes written to the sink.
    pub file_bytes: u64,
    /// `file` was a string (a `file` of `null` or none at all leaves this false).
    pub has_file: bool,
}

/// Why a body was refused.
#[derive(Debug)]
pub enum UploadError {
    /// The decoded file would be larger than `max` bytes.
    TooLarge { max: u64 },
    /// The body is not the JSON object expected (the reason is short and readable).
    InvalidJson(&'static str),
    /// The `file` string is not a base64 file or `data:` URL.
    InvalidFile(&'static str),
    /// The string field of this key is longer than `max_field_bytes`.
    FieldTooLong(&'static str),
    /// The sink refused the decoded bytes.
    Io(io::Error),
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadError::TooLarge { max } => {
                write!(f, "the file is larger than the limit of {max} bytes")
            }
            UploadError::InvalidJson(reason) => write!(f, "the upload is not valid JSON: {reason}"),
            UploadError::InvalidFile(reason) => write!(f, "the file is invalid: {reason}"),
            UploadError::FieldTooLong(key) => write!(f, "the field '{key}' is too long"),
            UploadError::Io(e) => write!(f, "the file could not be stored: {e}"),
        }
    }
}

impl std::error::Error for UploadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UploadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Base64Error> for UploadError {
    fn from(e: Base64Error) -> Self {
        match e {
            Base64Error::TooLarge { max } => UploadError::TooLarge { max },
            Base64Error::Io(e) => UploadError::Io(e),
            Base64Error::InvalidChar(_) => {
                UploadError::InvalidFile("it contains a character that is not base64")
            }
            Base64Error::InvalidPadding => {
                UploadError::InvalidFile("its base64 padding is misplaced")
            }
            Base64Error::DataAfterPadding => {
                UploadError::InvalidFile("it has data after its base64 padding")
            }
            Base64Error::TruncatedQuad => UploadError::InvalidFile("its base64 data is cut short"),
        }
    }
}

fn json(reason: &'static str) -> UploadError {
    UploadError::InvalidJson(reason)
}

/// The top-level keys the scanner knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    ValidatorKey,
    Validator,
    Name,
    MimeType,
    Channel,
    ExpiresInDays,
    File,
    Other,
}

impl Member {
    fn from_name(name: &[u8]) -> Member {
        match name {
            b"validator_key" => Member::ValidatorKey,
            b"validator" => Member::Validator,
            b"name" => Member::Name,
            b"mime_type" => Member::MimeType,
            b"channel" => Member::Channel,
            b"expires_in_days" => Member::ExpiresInDays,
            b"file" => Member::File,
            _ => Member::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Member::ValidatorKey => "validator_key",
            Member::Validator => "validator",
            Member::Name => "name",
            Member::MimeType => "mime_type",
            Member::Channel => "channel",
            Member::ExpiresInDays => "expires_in_days",
            Member::File => "file",
            Member::Other => "other",
        }
    }

    /// The bit of this key in the set of keys seen (`Other` may repeat: 0).
    fn bit(self) -> u8 {
        match self {
            Member::Other => 0,
            known => 1 << (known as u8),
        }
    }

    fn wrong_type(self) -> UploadError {
        json(match self {
            Member::ValidatorKey => "'validator_key' must be a string",
            Member::Validator => "'validator' must be a string",
            Member::Name => "'name' must be a string",
            Member::MimeType => "'mime_type' must be a string",
            Member::Channel => "'channel' must be a string",
            Member::ExpiresInDays => "'expires_in_days' must be a number or null",
            Member::File => "'file' must be a string",
            Member::Other => "unexpected value",
        })
    }

    fn duplicate(self) -> UploadError {
        json(match self {
            Member::ValidatorKey => "'validator_key' appears twice",
            Member::Validator => "'validator' appears twice",
            Member::Name => "'name' appears twice",
            Member::MimeType => "'mime_type' appears twice",
            Member::Channel => "'channel' appears twice",
            Member::ExpiresInDays => "'expires_in_days' appears twice",
            Member::File => "'file' appears twice",
            Member::Other => "a key appears twice",
        })
    }

    fn not_utf8(self) -> UploadError {
        json(match self {
            Member::ValidatorKey => "'validator_key' is not valid UTF-8",
            Member::Validator => "'validator' is not valid UTF-8",
            Member::Name => "'name' is not valid UTF-8",
            Member::MimeType => "'mime_type' is not valid UTF-8",
            Member::Channel => "'channel' is not valid UTF-8",
            _ => "a string is not valid UTF-8",
        })
    }
}

/// Where a string's content goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    TopKey,
    NestedKey,
    Field(Member),
    File,
    Skip,
}

/// What the value being read belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Field(Member),
    Expires,
    File,
    Skip,
}

/// A JSON number's grammar, one byte at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ExpSign,
    Exp,
}

impl Number {
    fn start(b: u8) -> Option<Number> {
        match b {
            b'-' => Some(Number::Minus),
            b'0' => Some(Number::Zero),
            b'1'..=b'9' => Some(Number::Int),
            _ => None,
        }
    }

    fn step(self, b: u8) -> Option<Number> {
        use Number::*;
        match (self, b) {
            (Minus, b'0') => Some(Zero),
            (Minus, b'1'..=b'9') => Some(Int),
            (Int, b'0'..=b'9') => Some(Int),
            (Zero | Int, b'.') => Some(Dot),
            (Dot | Frac, b'0'..=b'9') => Some(Frac),
            (Zero | Int | Frac, b'e' | b'E') => Some(E),
            (E, b'+' | b'-') => Some(ExpSign),
            (E | ExpSign | Exp, b'0'..=b'9') => Some(Exp),
            _ => None,
        }
    }

    fn complete(self) -> bool {
        matches!(
            self,
            Number::Zero | Number::Int | Number::Frac | Number::Exp
        )
    }
}

/// Where the string lexer is inside an escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Backslash,
    /// `\u` and `digits` hex digits of `value`; `high` is a high surrogate waiting for its pair.
    Hex {
        value: u16,
        digits: u8,
        high: Option<u16>,
    },
    /// After a high surrogate: its low half must follow as `\uXXXX`.
    LowBackslash {
        high: u16,
    },
    LowU {
        high: u16,
    },
}

/// A piece of a string's content.
enum Piece<'a> {
    /// Bytes as they are in the body.
    Text(&'a [u8]),
    /// One unescaped character, UTF-8 encoded (the length is the second field).
    Char([u8; 4], usize),
    /// The closing quote.
    End,
}

/// Unescapes JSON strings that may end anywhere in a chunk.
struct StringLexer {
    escape: Escape,
}

impl StringLexer {
    /// The next piece of the string at `input[*pos..]`, or `None` when the input runs out.
    fn next<'a>(
        &mut self,
        input: &'a [u8],
        pos: &mut usize,
    ) -> Result<Option<Piece<'a>>, UploadError> {
        while let Some(&b) = input.get(*pos) {
            match self.escape {
                Escape::None => {
                    if b == b'"' {
                        *pos += 1;
                        return Ok(Some(Piece::End));
                    }
                    if b == b'\\' {
                        *pos += 1;
                        self.escape = Escape::Backslash;
                        continue;
                    }
                    if b < 0x20 {
                        return Err(json("a control character in a string"));
                    }
                    let start = *pos;
                    let rest = input.get(start..).unwrap_or_default();
                    let len = rest
                        .iter()
                        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                        .unwrap_or(rest.len());
                    *pos = start + len;
                    return Ok(Some(Piece::Text(&rest[..len])));
                }
                Escape::Backslash => {
                    *pos += 1;
                    let c = match b {
                        b'"' | b'\\' | b'/' => b,
                        b'b' => 0x08,
                        b'f' => 0x0C,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            self.escape = Escape::Hex {
                                value: 0,
                                digits: 0,
                                high: None,
                            };
                            continue;
                        }
                        _ => return Err(json("an invalid escape in a string")),
                    };
                    self.escape = Escape::None;
                    return Ok(Some(Piece::Char([c, 0, 0, 0], 1)));
                }
                Escape::Hex {
                    value,
                    digits,
                    high,
                } => {
                    *pos += 1;
                    let digit = char::from(b)
                        .to_digit(16)
                        .ok_or(json("an invalid \\u escape"))?;
                    // 4 digits of 4 bits: fits in u16.
                    let value = (value << 4) | digit as u16;
                    if digits < 3 {
                        self.escape = Escape::Hex {
                            value,
                            digits: digits + 1,
                            high,
                        };
                        continue;
                    }
                    let code = match (high, value) {
                        (None, 0xD800..=0xDBFF) => {
                            self.escape = Escape::LowBackslash { high: value };
                            continue;
                        }
                        (Some(high), 0xDC00..=0xDFFF) => {
                            0x10000
                                + ((u32::from(high) - 0xD800) << 10)
                                + (u32::from(value) - 0xDC00)
                        }
                        (None, 0xDC00..=0xDFFF) | (Some(_), _) => {
                            return Err(json("an unpaired surrogate in a \\u escape"));
                        }
                        (None, _) => u32::from(value),
                    };
                    let ch = char::from_u32(code).ok_or(json("an invalid \\u escape"))?;
                    self.escape = Escape::None;
                    let mut buf = [0u8; 4];
                    let len = ch.encode_utf8(&mut buf).len();
                    return Ok(Some(Piece::Char(buf, len)));
                }
                Escape::LowBackslash { high } => {
                    if b != b'\\' {
                        return Err(json("an unpaired surrogate in a \\u escape"));
                    }
                    *pos += 1;
                    self.escape = Escape::LowU { high };
                }
                Escape::LowU { high } => {
                    if b != b'u' {
                        return Err(json("an unpaired surrogate in a \\u escape"));
                    }
                    *pos += 1;
                    self.escape = Escape::Hex {
                        value: 0,
                        digits: 0,
                        high: Some(high),
                    };
                }
            }
        }
        Ok(None)
    }
}

/// The scanner's place in the body's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the top-level `{`.
    Start,
    /// After `{`: a key or `}`.
    KeyOrEnd,
    /// After `,` in an object: a key.
    NextKey,
    Colon,
    Value,
    /// After `[`: a value or `]`.
    ValueOrEnd,
    Str(Target),
    Number(Number, Slot),
    Literal {
        word: &'static [u8],
        matched: usize,
        slot: Slot,
    },
    /// After a value: `,` or the container's closing bracket.
    AfterValue,
    /// After the top-level `}`: only whitespace.
    Done,
    /// An error was returned; nothing more is accepted.
    Failed,
}

/// How far into the `file` string the scanner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilePhase {
    /// The first 5 bytes: `data:` or base64.
    Prefix,
    /// Inside `data:…` up to the `,`.
    Header,
    /// Base64.
    Body,
}

/// A streaming scanner of an upload body; see the module documentation.
pub struct JsonUpload {
    limits: UploadLimits,
    state: State,
    lexer: StringLexer,
    /// Open containers, the top-level object included (so 1 while in its members).
    depth: usize,
    /// Bit `i` set: the container at depth `i + 1` is an array.
    arrays: u64,
    keys: usize,
    seen: u8,
    key: [u8; KEY_BYTES],
    key_len: usize,
    key_too_long: bool,
    current: Member,
    field: Vec<u8>,
    number: [u8; MAX_NUMBER_TEXT],
    number_len: usize,
    phase: FilePhase,
    head: [u8; MAX_DATA_URL_HEADER],
    head_len: usize,
    decoder: Option<Base64Decoder>,
    fields: UploadFields,
}

impl JsonUpload {
    pub fn new(limits: UploadLimits) -> Self {
        JsonUpload {
            limits,
            state: State::Start,
            lexer: StringLexer {
                escape: Escape::None,
            },
            depth: 0,
            arrays: 0,
            keys: 0,
            seen: 0,
            key: [0; KEY_BYTES],
            key_len: 0,
            key_too_long: false,
            current: Member::Other,
            field: Vec::new(),
            number: [0; MAX_NUMBER_TEXT],
            number_len: 0,
            phase: FilePhase::Prefix,
            head: [0; MAX_DATA_URL_HEADER],
            head_len: 0,
            decoder: None,
            fields: UploadFields::default(),
        }
    }

    /// Scans the next chunk of the body (any size); decoded file bytes go to `sink`.
    ///
    /// After an error the scanner refuses everything: the caller answers and stops reading.
    pub fn feed<W: Write + ?Sized>(
        &mut self,
        input: &[u8],
        sink: &mut W,
    ) -> Result<(), UploadError> {
        if self.state == State::Failed {
            return Err(json("the body was already refused"));
        }
        let result = self.scan(input, sink);
        if result.is_err() {
            self.state = State::Failed;
            self.decoder = None;
        }
        result
    }

    /// The end of the body: checks that the object was complete and flushes the sink.
    pub fn finish<W: Write + ?Sized>(self, sink: &mut W) -> Result<UploadFields, UploadError> {
        match self.state {
            State::Done => {
                sink.flush().map_err(UploadError::Io)?;
                Ok(self.fields)
            }
            State::Start => Err(json("the body is empty")),
            State::Failed => Err(json("the body was already refused")),
            _ => Err(json("the body ends before its JSON object does")),
        }
    }

    /// Whether the top-level object has closed: the rest of the body may only be whitespace,
    /// so a caller that knows no more is coming can stop reading here.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decoded file bytes so far (written to the sink or waiting in the decoder's block).
    pub fn file_bytes_so_far(&self) -> u64 {
        self.decoder
            .as_ref()
            .map_or(self.fields.file_bytes, Base64Decoder::decoded)
    }

    /// Heap bytes the scanner holds now (its buffers and the kept fields), for memory checks.
    pub fn heap_bytes(&self) -> usize {
        let kept = [
            &self.fields.validator_key,
            &self.fields.validator,
            &self.fields.name,
            &self.fields.mime_type,
            &self.fields.channel,
            &self.fields.data_url_mime,
        ];
        self.field.capacity()
            + self
                .decoder
                .as_ref()
                .map_or(0, Base64Decoder::buffer_capacity)
            + kept
                .iter()
                .map(|s| s.as_ref().map_or(0, String::capacity))
                .sum::<usize>()
    }

    fn scan<W: Write + ?Sized>(&mut self, input: &[u8], sink: &mut W) -> Result<(), UploadError> {
        let mut pos = 0;
        while let Some(&b) = input.get(pos) {
            match self.state {
                State::Str(target) => {
                    match self.lexer.next(input, &mut pos)? {
                        Some(piece) => self.string_piece(target, piece, sink)?,
                        None => return Ok(()),
                    }
                    continue;
                }
                State::Number(number, slot) => {
                    match number.step(b) {
                        Some(next) => {
                            if slot == Slot::Expires {
                                self.push_number_byte(b)?;
                            }
                            self.state = State::Number(next, slot);
                            pos += 1;
                        }
                        // The byte after the number is the next token's: not consumed.
                        None if number.complete() => self.end_number(slot)?,
                        None => return Err(json("an invalid number")),
                    }
                    continue;
                }
                State::Literal {
                    word,
                    matched,
                    slot,
                } => {
                    if word.get(matched) != Some(&b) {
                        return Err(json("an invalid literal (expected true, false or null)"));
                    }
                    pos += 1;
                    if matched + 1 == word.len() {
                        self.end_literal(word, slot);
                    } else {
                        self.state = State::Literal {
                            word,
                            matched: matched + 1,
                            slot,
                        };
                    }
                    continue;
                }
                _ => {}
            }
            pos += 1;
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                continue;
            }
            match self.state {
                State::Start if b == b'{' => {
                    self.depth = 1;
                    self.state = State::KeyOrEnd;
                }
                State::Start => return Err(json("the body must be a JSON object")),
                State::KeyOrEnd | State::NextKey if b == b'"' => self.begin_key()?,
                State::KeyOrEnd if b == b'}' => self.close(),
                State::KeyOrEnd | State::NextKey => return Err(json("expected a key in quotes")),
                State::Colon if b == b':' => self.state = State::Value,
                State::Colon => return Err(json("expected ':' after a key")),
                State::ValueOrEnd if b == b']' => self.close(),
                State::Value | State::ValueOrEnd => self.begin_value(b)?,
                State::AfterValue => {
                    let in_array = self.in_array();
                    match b {
                        b',' if in_array => self.state = State::Value,
                        b',' => self.state = State::NextKey,
                        b']' if in_array => self.close(),
                        b'}' if !in_array => self.close(),
                        _ => return Err(json("expected ',' or a closing bracket")),
                    }
                }
                State::Done => return Err(json("data after the end of the JSON object")),
                State::Str(_) | State::Number(..) | State::Literal { .. } | State::Failed => {
                    return Err(json("the body was already refused"));
                }
            }
        }
        Ok(())
    }

    fn in_array(&self) -> bool {
        self.depth >= 1 && self.arrays & (1 << (self.depth - 1)) != 0
    }

    fn open(&mut self, array: bool) -> Result<(), UploadError> {
        if self.depth > MAX_DEPTH {
            return Err(json("values are nested too deeply"));
        }
        if array {
            self.arrays |= 1 << self.depth;
        } else {
            self.arrays &= !(1 << self.depth);
        }
        self.depth += 1;
        self.state = if array {
            State::ValueOrEnd
        } else {
            State::KeyOrEnd
        };
        Ok(())
    }

    /// Only called with a container open (the states that allow a closing bracket).
    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.state = if self.depth == 0 {
            State::Done
        } else {
            State::AfterValue
        };
    }

    fn begin_key(&mut self) -> Result<(), UploadError> {
        if self.depth == 1 {
            self.keys += 1;
            if self.keys > MAX_KEYS {
                return Err(json("too many keys"));
            }
            self.key_len = 0;
            self.key_too_long = false;
            self.state = State::Str(Target::TopKey);
        } else {
            self.state = State::Str(Target::NestedKey);
        }
        Ok(())
    }

    fn end_key(&mut self) -> Result<(), UploadError> {
        let key = if self.key_too_long {
            Member::Other
        } else {
            Member::from_name(&self.key[..self.key_len])
        };
        if self.seen & key.bit() != 0 {
            return Err(key.duplicate());
        }
        self.seen |= key.bit();
        self.current = key;
        self.state = State::Colon;
        Ok(())
    }

    fn slot(&self) -> Slot {
        if self.depth != 1 {
            return Slot::Skip;
        }
        match self.current {
            Member::ExpiresInDays => Slot::Expires,
            Member::File => Slot::File,
            Member::Other => Slot::Skip,
            kept => Slot::Field(kept),
        }
    }

    fn slot_key(slot: Slot) -> Member {
        match slot {
            Slot::Field(key) => key,
            Slot::Expires => Member::ExpiresInDays,
            Slot::File => Member::File,
            Slot::Skip => Member::Other,
        }
    }

    fn begin_value(&mut self, b: u8) -> Result<(), UploadError> {
        let slot = self.slot();
        match b {
            b'"' => {
                let target = match slot {
                    Slot::Field(key) => {
                        self.field.clear();
                        Target::Field(key)
                    }
                    Slot::File => {
                        self.phase = FilePhase::Prefix;
                        self.head_len = 0;
                        self.decoder = Some(Base64Decoder::new(self.limits.max_file_bytes));
                        Target::File
                    }
                    Slot::Expires => return Err(Member::ExpiresInDays.wrong_type()),
                    Slot::Skip => Target::Skip,
                };
                self.state = State::Str(target);
            }
            b'{' | b'[' if slot == Slot::Skip => self.open(b == b'[')?,
            b't' | b'f' | b'n' => {
                let word: &'static [u8] = match b {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                if slot != Slot::Skip && b != b'n' {
                    return Err(Self::slot_key(slot).wrong_type());
                }
                self.state = State::Literal {
                    word,
                    matched: 1,
                    slot,
                };
            }
            _ => match Number::start(b) {
                Some(number) if matches!(slot, Slot::Skip | Slot::Expires) => {
                    self.number_len = 0;
                    if slot == Slot::Expires {
                        self.push_number_byte(b)?;
                    }
                    self.state = State::Number(number, slot);
                }
                Some(_) => return Err(Self::slot_key(slot).wrong_type()),
                None if matches!(b, b'{' | b'[') => return Err(Self::slot_key(slot).wrong_type()),
                None => return Err(json("expected a value")),
            },
        }
        Ok(())
    }

    fn push_number_byte(&mut self, b: u8) -> Result<(), UploadError> {
        let slot = self
            .number
            .get_mut(self.number_len)
            .ok_or(json("'expires_in_days' is too long"))?;
        *slot = b;
        self.number_len += 1;
        Ok(())
    }

    fn end_number(&mut self, slot: Slot) -> Result<(), UploadError> {
        if slot == Slot::Expires {
            // The grammar was checked byte by byte, so this is ASCII and a valid float.
            let text = std::str::from_utf8(&self.number[..self.number_len])
                .map_err(|_| json("an invalid number"))?;
            let days: f64 = text.parse().map_err(|_| json("an invalid number"))?;
            if !days.is_finite() {
                return Err(json("'expires_in_days' is out of range"));
            }
            self.fields.expires_in_days = Some(days);
        }
        self.state = State::AfterValue;
        Ok(())
    }

    /// `null` leaves a field unset; `true`/`false` only reach here for skipped values.
    fn end_literal(&mut self, word: &'static [u8], slot: Slot) {
        if word == b"null" {
            match slot {
                Slot::Field(_) | Slot::Skip => {}
                Slot::Expires => self.fields.expires_in_days = None,
                Slot::File => self.fields.has_file = false,
            }
        }
        self.state = State::AfterValue;
    }

    fn string_piece<W: Write + ?Sized>(
        &mut self,
        target: Target,
        piece: Piece<'_>,
        sink: &mut W,
    ) -> Result<(), UploadError> {
        let buf;
        let bytes: &[u8] = match piece {
            Piece::Text(text) => text,
            Piece::Char(chars, len) => {
                buf = chars;
                &buf[..len]
            }
            Piece::End => return self.end_string(target, sink),
        };
        match target {
            Target::TopKey => {
                let room = KEY_BYTES - self.key_len;
                if bytes.len() > room {
                    self.key_too_long = true;
                } else {
                    self.key[self.key_len..self.key_len + bytes.len()].copy_from_slice(bytes);
                    self.key_len += bytes.len();
                }
            }
            Target::NestedKey | Target::Skip => {}
            Target::Field(key) => {
                if self.field.len() + bytes.len() > self.limits.max_field_bytes {
                    return Err(UploadError::FieldTooLong(key.name()));
                }
                self.field.extend_from_slice(bytes);
            }
            Target::File => self.file_text(bytes, sink)?,
        }
        Ok(())
    }

    fn end_string<W: Write + ?Sized>(
        &mut self,
        target: Target,
        sink: &mut W,
    ) -> Result<(), UploadError> {
        match target {
            Target::TopKey => return self.end_key(),
            Target::NestedKey => {
                self.state = State::Colon;
                return Ok(());
            }
            Target::Skip => {}
            Target::Field(key) => {
                let text = String::from_utf8(std::mem::take(&mut self.field))
                    .map_err(|_| key.not_utf8())?;
                let field = match key {
                    Member::ValidatorKey => &mut self.fields.validator_key,
                    Member::Validator => &mut self.fields.validator,
                    Member::Name => &mut self.fields.name,
                    Member::MimeType => &mut self.fields.mime_type,
                    _ => &mut self.fields.channel,
                };
                *field = Some(text);
            }
            Target::File => self.end_file(sink)?,
        }
        self.state = State::AfterValue;
        Ok(())
    }

    /// Content of the `file` string: a `data:` header, then base64.
    fn file_text<W: Write + ?Sized>(
        &mut self,
        mut text: &[u8],
        sink: &mut W,
    ) -> Result<(), UploadError> {
        const DATA: &[u8] = b"data:";
        while !text.is_empty() {
            match self.phase {
                FilePhase::Prefix => {
                    let take = (DATA.len() - self.head_len).min(text.len());
                    let (now, rest) = text.split_at(take);
                    self.head[self.head_len..self.head_len + take].copy_from_slice(now);
                    self.head_len += take;
                    text = rest;
                    if self.head_len == DATA.len() {
                        if self.head[..DATA.len()].eq_ignore_ascii_case(DATA) {
                            self.phase = FilePhase::Header;
                        } else {
                            self.phase = FilePhase::Body;
                            let (prefix, len) = (self.head, self.head_len);
                            self.push_base64(&prefix[..len], sink)?;
                        }
                    }
                }
                FilePhase::Header => {
                    let comma = text.iter().position(|&c| c == b',');
                    let part = &text[..comma.unwrap_or(text.len())];
                    // + 1: the comma counts too.
                    if self.head_len + part.len() + usize::from(comma.is_some())
                        > MAX_DATA_URL_HEADER
                    {
                        return Err(UploadError::InvalidFile(
                            "its data URL header is longer than 256 bytes",
                        ));
                    }
                    self.head[self.head_len..self.head_len + part.len()].copy_from_slice(part);
                    self.head_len += part.len();
                    match comma {
                        Some(at) => {
                            self.parse_data_url_header()?;
                            self.phase = FilePhase::Body;
                            text = &text[at + 1..];
                        }
                        None => text = &[],
                    }
                }
                FilePhase::Body => {
                    self.push_base64(text, sink)?;
                    text = &[];
                }
            }
        }
        Ok(())
    }

    fn push_base64<W: Write + ?Sized>(
        &mut self,
        text: &[u8],
        sink: &mut W,
    ) -> Result<(), UploadError> {
        let decoder = self
            .decoder
            .as_mut()
            .ok_or(json("the file string was not started"))?;
        decoder.push(text, sink)?;
        Ok(())
    }

    /// `data:<mime>[;params];base64` (the part between `data:` and the `,`).
    fn parse_data_url_header(&mut self) -> Result<(), UploadError> {
        let header = &self.head[5..self.head_len];
        if !header.is_ascii() {
            return Err(UploadError::InvalidFile("its data URL header is not ASCII"));
        }
        let mut parts = header.split(|&c| c == b';');
        let mime = parts.next().unwrap_or_default();
        let base64 = parts
            .next_back()
            .is_some_and(|last| last.eq_ignore_ascii_case(b"base64"));
        if !base64 {
            return Err(UploadError::InvalidFile(
                "its data URL is not base64 (no ';base64')",
            ));
        }
        if mime.is_empty() {
            return Ok(());
        }
        let token = |part: &[u8]| {
            !part.is_empty()
                && part
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(c))
        };
        let mut halves = mime.splitn(2, |&c| c == b'/');
        let (kind, subtype) = (
            halves.next().unwrap_or_default(),
            halves.next().unwrap_or_default(),
        );
        if !token(kind) || !token(subtype) {
            return Err(UploadError::InvalidFile(
                "its data URL has an invalid MIME type",
            ));
        }
        // Only ASCII token characters: from_utf8 cannot fail.
        let mime = String::from_utf8_lossy(mime).to_ascii_lowercase();
        self.fields.data_url_mime = Some(mime);
        Ok(())
    }

    fn end_file<W: Write + ?Sized>(&mut self, sink: &mut W) -> Result<(), UploadError> {
        match self.phase {
            FilePhase::Prefix => {
                let (prefix, len) = (self.head, self.head_len);
                self.push_base64(&prefix[..len], sink)?;
            }
            FilePhase::Header => return Err(UploadError::InvalidFile("its data URL has no ','")),
            FilePhase::Body => {}
        }
        let decoder = self
            .decoder
            .take()
            .ok_or(json("the file string was not started"))?;
        self.fields.file_bytes = decoder.finish(sink)?;
        self.fields.has_file = true;
        Ok(())
    }
}

const _: () = assert!(
    MAX_DEPTH < 63,
    "the array bits of the open containers fit in a u64"
);

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    const LIMITS: UploadLimits = UploadLimits {
        max_file_bytes: 1 << 20,
        max_field_bytes: 100,
    };

    use crate::media::test_rng::XorShift;

    fn scan_chunks(
        body: &[u8],
        chunk: usize,
        limits: UploadLimits,
    ) -> Result<(UploadFields, Vec<u8>), UploadError> {
        let mut sink = Vec::new();
        let mut upload = JsonUpload::new(limits);
        for piece in body.chunks(chunk.max(1)) {
            upload.feed(piece, &mut sink)?;
        }
        let fields = upload.finish(&mut sink)?;
        assert_eq!(fields.file_bytes, sink.len() as u64);
        Ok((fields, sink))
    }

    fn scan(body: &[u8]) -> Result<(UploadFields, Vec<u8>), UploadError> {
        scan_chunks(body, body.len(), LIMITS)
    }

    /// The error of a body, checked to be the same whatever the chunk size.
    fn error_of(body: &[u8], limits: UploadLimits) -> UploadError {
        let whole = scan_chunks(body, body.len(), limits).expect_err("the body must be refused");
        for chunk in 1..=3 {
            let err = scan_chunks(body, chunk, limits).expect_err("the body must be refused");
            assert_eq!(
                err.to_string(),
                whole.to_string(),
                "chunk {chunk} of {:?}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(!whole.to_string().is_empty());
        whole
    }

    fn invalid_json(body: &str) -> &'static str {
        match error_of(body.as_bytes(), LIMITS) {
            UploadError::InvalidJson(reason) => reason,
            other => panic!("{body}: expected InvalidJson, got {other}"),
        }
    }

    fn invalid_file(body: &str) -> &'static str {
        match error_of(body.as_bytes(), LIMITS) {
            UploadError::InvalidFile(reason) => reason,
            other => panic!("{body}: expected InvalidFile, got {other}"),
        }
    }

    fn example(file: &str) -> String {
        format!(
            r#"{{"validator_key":"originChats-abc","validator":"v123","file":"{file}","name":"cat.png","mime_type":"image/png","channel":"general","expires_in_days":7}}"#
        )
    }

    #[test]
    fn the_example_body_in_every_chunk_size() {
        let mut rng = XorShift(1);
        let data = rng.bytes(5000);
        let body = example(&format!("data:image/png;base64,{}", STANDARD.encode(&data)));
        let expected = UploadFields {
            validator_key: Some("originChats-abc".into()),
            validator: Some("v123".into()),
            name: Some("cat.png".into()),
            mime_type: Some("image/png".into()),
            channel: Some("general".into()),
            expires_in_days: Some(7.0),
            data_url_mime: Some("image/png".into()),
            file_bytes: 5000,
            has_file: true,
        };
        for chunk in (1..=7).chain([64, 4096, body.len()]) {
            let (fields, file) = scan_chunks(body.as_bytes(), chunk, LIMITS).unwrap();
            assert_eq!(fields, expected, "chunk {chunk}");
            assert_eq!(file, data);
        }
    }

    #[test]
    fn random_files_in_random_splits() {
        let mut rng = XorShift(2);
        for round in 0..200 {
            let len = rng.below(2000);
            let data = rng.bytes(len);
            let text = if round % 2 == 0 {
                STANDARD.encode(&data)
            } else {
                URL_SAFE_NO_PAD.encode(&data)
            };
            let file = if round % 3 == 0 {
                text
            } else {
                format!("data:application/octet-stream;base64,{text}")
            };
            let body = example(&file);
            let body = body.as_bytes();
            let mut sink = Vec::new();
            let mut upload = JsonUpload::new(LIMITS);
            let mut at = 0;
            while at < body.len() {
                let end = (at + 1 + rng.below(300)).min(body.len());
                upload.feed(&body[at..end], &mut sink).unwrap();
                at = end;
            }
            let fields = upload.finish(&mut sink).unwrap();
            assert_eq!(sink, data);
            assert_eq!(fields.file_bytes, data.len() as u64);
            assert_eq!(fields.data_url_mime.is_some(), round % 3 != 0);
        }
    }

    #[test]
    fn keys_in_every_order() {
        let members = [
            r#""validator_key":"k""#,
            r#""validator":"v""#,
            r#""file":"data:text/plain;base64,aGk=""#,
            r#""name":"n""#,
            r#""expires_in_days":null"#,
            r#""extra":{"file":"not this one","name":[1,{"x":"y"}]}"#,
        ];
        let mut order: Vec<usize> = (0..members.len()).collect();
        let mut count = 0;
        // Heap's algorithm, iteratively: every permutation once.
        let mut c = vec![0; order.len()];
        let mut check = |order: &[usize]| {
            let body = format!(
                "{{{}}}",
                order
                    .iter()
                    .map(|&i| members[i])
                    .collect::<Vec<_>>()
                    .join(",")
            );
            for chunk in [1, 5, body.len()] {
                let (fields, file) = scan_chunks(body.as_bytes(), chunk, LIMITS).unwrap();
                assert_eq!(file, b"hi", "{body}");
                assert_eq!(fields.validator_key.as_deref(), Some("k"));
                assert_eq!(fields.validator.as_deref(), Some("v"));
                assert_eq!(fields.name.as_deref(), Some("n"));
                assert_eq!(fields.expires_in_days, None);
                assert_eq!(fields.data_url_mime.as_deref(), Some("text/plain"));
            }
            count += 1;
        };
        check(&order);
        let mut i = 0;
        while i < order.len() {
            if c[i] < i {
                if i % 2 == 0 {
                    order.swap(0, i);
                } else {
                    order.swap(c[i], i);
                }
                check(&order);
                c[i] += 1;
                i = 0;
            } else {
                c[i] = 0;
                i += 1;
            }
        }
        assert_eq!(count, 720);
    }

    #[test]
    fn escapes_everywhere() {
        // "////" is FF FF FF, "aGloaT8=" is "hihi?": escaped slashes, \u escapes and an
        // escaped newline (whitespace).
        let body = r#"{"fi\u006Ce":"data:text\/plain;base64,\/\/\/\/aG\u006Co\naT8\u003D","n\u0061me":"a\"b\\c\/d\u00e9\ud83d\ude00\t","channel":"\u0067eneral"}"#;
        for chunk in 1..=7 {
            let (fields, file) = scan_chunks(body.as_bytes(), chunk, LIMITS).unwrap();
            assert_eq!(file, b"\xFF\xFF\xFFhihi?");
            assert_eq!(fields.name.as_deref(), Some("a\"b\\c/d\u{e9}\u{1F600}\t"));
            assert_eq!(fields.channel.as_deref(), Some("general"));
            assert_eq!(fields.data_url_mime.as_deref(), Some("text/plain"));
        }
        let (fields, _) = scan(br#"{"name":"\b\f\n\r\u0000"}"#).unwrap();
        assert_eq!(fields.name.as_deref(), Some("\u{8}\u{c}\n\r\0"));
    }

    #[test]
    fn non_ascii_in_the_file_is_refused() {
        assert!(invalid_file(r#"{"file":"aGk\u00e9"}"#).contains("not base64"));
        assert!(invalid_file("{\"file\":\"aGk\u{e9}\"}").contains("not base64"));
        assert!(
            invalid_file("{\"file\":\"data:image/p\u{e9}g;base64,aGk=\"}").contains("not ASCII")
        );
    }

    #[test]
    fn skipped_values_of_every_kind() {
        let body = r#" { "a" : { "b" : [ 1 , -2.5e+3 , 0 , 0.5 , 1E9 , true , false , null , "s\"\\" , [ ] , { } ] ,
            "c": {"d": {"e": []}} }, "t": true, "f": false, "z": null, "num": -0, "s": "x",
            "name": "kept", "arr": [[[["deep"]]]], "o": {} } "#;
        for chunk in 1..=7 {
            let (fields, file) = scan_chunks(body.as_bytes(), chunk, LIMITS).unwrap();
            assert_eq!(fields.name.as_deref(), Some("kept"));
            assert!(!fields.has_file);
            assert!(file.is_empty());
        }
        let (fields, _) = scan(b"{}").unwrap();
        assert_eq!(fields, UploadFields::default());
    }

    #[test]
    fn nesting_is_bounded() {
        let nested =
            |levels: usize| format!("{{\"x\":{}1{}}}", "[".repeat(levels), "]".repeat(levels));
        scan(nested(MAX_DEPTH).as_bytes()).unwrap();
        assert_eq!(
            invalid_json(&nested(MAX_DEPTH + 1)),
            "values are nested too deeply"
        );
        let objects =
            |levels: usize| format!("{{{}}}", "\"x\":{".repeat(levels) + &"}".repeat(levels));
        scan(objects(MAX_DEPTH).as_bytes()).unwrap();
        assert_eq!(
            invalid_json(&objects(MAX_DEPTH + 1)),
            "values are nested too deeply"
        );
        // Closing brackets must match what they close.
        assert_eq!(
            invalid_json(r#"{"x":[1}}"#),
            "expected ',' or a closing bracket"
        );
        assert_eq!(
            invalid_json(r#"{"x":{"a":1]}"#),
            "expected ',' or a closing bracket"
        );
    }

    #[test]
    fn the_number_of_keys_is_bounded() {
        let body = |keys: usize| {
            format!(
                "{{{}}}",
                (0..keys)
                    .map(|i| format!("\"k{i}\":{i}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        scan(body(MAX_KEYS).as_bytes()).unwrap();
        assert_eq!(invalid_json(&body(MAX_KEYS + 1)), "too many keys");
        // Keys of nested objects do not count.
        let inner = (0..100)
            .map(|i| format!("\"k{i}\":{i}"))
            .collect::<Vec<_>>()
            .join(",");
        scan(format!("{{\"x\":{{{inner}}}}}").as_bytes()).unwrap();
    }

    #[test]
    fn fields_are_bounded_after_unescaping() {
        let limits = UploadLimits {
            max_file_bytes: 10,
            max_field_bytes: 4,
        };
        let (fields, _) =
            scan_chunks("{\"name\":\"\u{e9}\\u00e9\"}".as_bytes(), 1, limits).unwrap();
        assert_eq!(fields.name.as_deref(), Some("\u{e9}\u{e9}"));
        let (fields, _) = scan_chunks(br#"{"channel":"\u0061bcd"}"#, 2, limits).unwrap();
        assert_eq!(fields.channel.as_deref(), Some("abcd"));
        for key in ["validator_key", "validator", "name", "mime_type", "channel"] {
            let err = error_of(format!("{{\"{key}\":\"abcde\"}}").as_bytes(), limits);
            assert!(
                matches!(err, UploadError::FieldTooLong(k) if k == key),
                "{err}"
            );
        }
        let err = error_of(r#"{"name":"abc\u00e9"}"#.as_bytes(), limits);
        assert!(matches!(err, UploadError::FieldTooLong("name")));
        // A long skipped or unknown key costs nothing and is none of ours.
        let long_key = "namename".repeat(1000);
        let (fields, _) = scan_chunks(
            format!("{{\"{long_key}\":\"{long_key}\"}}").as_bytes(),
            7,
            limits,
        )
        .unwrap();
        assert_eq!(fields, UploadFields::default());
    }

    #[test]
    fn the_file_limit_holds_exactly_at_max() {
        let mut rng = XorShift(3);
        for len in [0usize, 1, 2, 3, 4, 100, 8192, 8193] {
            let data = rng.bytes(len);
            let body = example(&format!("data:image/png;base64,{}", STANDARD.encode(&data)));
            let at_max = UploadLimits {
                max_file_bytes: len as u64,
                max_field_bytes: 100,
            };
            for chunk in [1, 3, body.len()] {
                let (fields, file) = scan_chunks(body.as_bytes(), chunk, at_max).unwrap();
                assert_eq!((fields.file_bytes, file), (len as u64, data.clone()));
            }
            if len > 0 {
                let below = UploadLimits {
                    max_file_bytes: len as u64 - 1,
                    max_field_bytes: 100,
                };
                let err = error_of(body.as_bytes(), below);
                assert!(
                    matches!(err, UploadError::TooLarge { max } if max == len as u64 - 1),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn the_file_string_forms() {
        let file = |s: &str| scan(format!("{{\"file\":\"{s}\"}}").as_bytes());
        let (fields, data) = file("").unwrap();
        assert!(fields.has_file && data.is_empty() && fields.data_url_mime.is_none());
        assert_eq!(file("YQ").unwrap().1, b"a");
        assert_eq!(file("YWI=").unwrap().1, b"ab");
        assert_eq!(file("YWJjZA").unwrap().1, b"abcd");
        let (fields, data) = file("DATA:Image/PNG;name=cat.png;BASE64,YWJj").unwrap();
        assert_eq!(
            (fields.data_url_mime.as_deref(), data.as_slice()),
            (Some("image/png"), &b"abc"[..])
        );
        let (fields, data) = file("data:;base64,").unwrap();
        assert!(fields.has_file && fields.data_url_mime.is_none() && data.is_empty());
        let (fields, _) = scan(br#"{"file":null,"expires_in_days":null}"#).unwrap();
        assert!(!fields.has_file && fields.expires_in_days.is_none());
        // Exactly 256 bytes of header, the comma included.
        let mime = format!("image/{}", "x".repeat(256 - "data:image/;base64,".len()));
        let header = format!("data:{mime};base64,");
        assert_eq!(header.len(), MAX_DATA_URL_HEADER);
        assert_eq!(
            file(&format!("{header}YQ")).unwrap().0.data_url_mime,
            Some(mime)
        );
        let too_long = format!(
            "data:image/x{};base64,YQ",
            "x".repeat(256 - "data:image/;base64,".len())
        );
        assert!(invalid_file(&format!("{{\"file\":\"{too_long}\"}}")).contains("longer than 256"));
    }

    #[test]
    fn expires_in_days_numbers() {
        for (text, days) in [
            ("7", 7.0),
            ("0", 0.0),
            ("-1", -1.0),
            ("1.5", 1.5),
            ("2e1", 20.0),
            ("1E-1", 0.1),
        ] {
            let body = format!("{{\"expires_in_days\":{text}}}");
            for chunk in 1..=3 {
                let (fields, _) = scan_chunks(body.as_bytes(), chunk, LIMITS).unwrap();
                assert_eq!(fields.expires_in_days, Some(days), "{text}");
            }
        }
        let (fields, _) =
            scan(format!("{{\"expires_in_days\":{}}}", "9".repeat(64)).as_bytes()).unwrap();
        assert!(fields.expires_in_days.is_some_and(|d| d > 1e63));
        assert_eq!(
            invalid_json(&format!("{{\"expires_in_days\":{}}}", "9".repeat(65))),
            "'expires_in_days' is too long"
        );
        assert_eq!(
            invalid_json(r#"{"expires_in_days":1e999}"#),
            "'expires_in_days' is out of range"
        );
    }

    #[test]
    fn every_json_error() {
        let cases = [
            ("", "the body is empty"),
            ("   ", "the body is empty"),
            ("[]", "the body must be a JSON object"),
            ("\"x\"", "the body must be a JSON object"),
            ("{", "the body ends before its JSON object does"),
            (
                r#"{"name":"abc"#,
                "the body ends before its JSON object does",
            ),
            (r#"{"x":1"#, "the body ends before its JSON object does"),
            (r#"{"x":[1,2"#, "the body ends before its JSON object does"),
            ("{} x", "data after the end of the JSON object"),
            ("{}{}", "data after the end of the JSON object"),
            ("{,}", "expected a key in quotes"),
            (r#"{"a":1,}"#, "expected a key in quotes"),
            ("{x:1}", "expected a key in quotes"),
            (r#"{"a" 1}"#, "expected ':' after a key"),
            (r#"{"a":}"#, "expected a value"),
            (r#"{"a":[1,]}"#, "expected a value"),
            (r#"{"a":1 2}"#, "expected ',' or a closing bracket"),
            (r#"{"a":01}"#, "expected ',' or a closing bracket"),
            (r#"{"a":1.}"#, "an invalid number"),
            (r#"{"a":-}"#, "an invalid number"),
            (r#"{"a":1e}"#, "an invalid number"),
            (r#"{"a":+1}"#, "expected a value"),
            (
                r#"{"a":nul}"#,
                "an invalid literal (expected true, false or null)",
            ),
            (r#"{"a":True}"#, "expected a value"),
            (r#"{"a":"\x"}"#, "an invalid escape in a string"),
            (r#"{"a":"\u12G4"}"#, "an invalid \\u escape"),
            (r#"{"a":"\ud800"}"#, "an unpaired surrogate in a \\u escape"),
            (
                r#"{"a":"\ud800\n"}"#,
                "an unpaired surrogate in a \\u escape",
            ),
            (
                r#"{"a":"\ud800\u0041"}"#,
                "an unpaired surrogate in a \\u escape",
            ),
            (r#"{"a":"\udc00"}"#, "an unpaired surrogate in a \\u escape"),
            ("{\"a\":\"x\ny\"}", "a control character in a string"),
            (r#"{"file":"YQ==","file":"YQ=="}"#, "'file' appears twice"),
            (r#"{"file":null,"file":"YQ=="}"#, "'file' appears twice"),
            (r#"{"name":"a","n\u0061me":"b"}"#, "'name' appears twice"),
            (
                r#"{"expires_in_days":1,"expires_in_days":2}"#,
                "'expires_in_days' appears twice",
            ),
            (r#"{"file":1}"#, "'file' must be a string"),
            (r#"{"file":["YQ=="]}"#, "'file' must be a string"),
            (r#"{"name":5}"#, "'name' must be a string"),
            (r#"{"validator":true}"#, "'validator' must be a string"),
            (r#"{"channel":{}}"#, "'channel' must be a string"),
            (r#"{"mime_type":false}"#, "'mime_type' must be a string"),
            (
                r#"{"validator_key":[]}"#,
                "'validator_key' must be a string",
            ),
            (
                r#"{"expires_in_days":"7"}"#,
                "'expires_in_days' must be a number or null",
            ),
            (
                r#"{"expires_in_days":true}"#,
                "'expires_in_days' must be a number or null",
            ),
        ];
        for (body, reason) in cases {
            assert_eq!(invalid_json(body), reason, "{body}");
        }
        let err = error_of(b"{\"name\":\"\xFF\"}", LIMITS);
        assert!(
            matches!(err, UploadError::InvalidJson("'name' is not valid UTF-8")),
            "{err}"
        );
    }

    #[test]
    fn every_file_error() {
        let cases = [
            (
                "data:image/png,aGk=",
                "its data URL is not base64 (no ';base64')",
            ),
            (
                "data:image/png;charset=x,aGk=",
                "its data URL is not base64 (no ';base64')",
            ),
            ("data:image/png;base64", "its data URL has no ','"),
            ("data:", "its data URL has no ','"),
            (
                "data:image;base64,aGk=",
                "its data URL has an invalid MIME type",
            ),
            (
                "data:image/p g;base64,aGk=",
                "its data URL has an invalid MIME type",
            ),
            ("aGk!", "it contains a character that is not base64"),
            (
                "data:text/plain;base64,aGk=aGk=",
                "it has data after its base64 padding",
            ),
            ("a===", "its base64 padding is misplaced"),
            ("aGkha", "its base64 data is cut short"),
            ("a", "its base64 data is cut short"),
        ];
        for (file, reason) in cases {
            assert_eq!(
                invalid_file(&format!("{{\"file\":\"{file}\"}}")),
                reason,
                "{file}"
            );
        }
    }

    #[test]
    fn after_an_error_everything_is_refused() {
        let mut upload = JsonUpload::new(LIMITS);
        let mut sink = Vec::new();
        assert!(upload.feed(b"[", &mut sink).is_err());
        assert!(matches!(
            upload.feed(b"{}", &mut sink),
            Err(UploadError::InvalidJson(_))
        ));
        assert!(matches!(
            upload.finish(&mut sink),
            Err(UploadError::InvalidJson(_))
        ));
    }

    #[test]
    fn sink_errors_are_io_errors() {
        struct Refuses;
        impl Write for Refuses {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::Error::other("disk gone"))
            }
        }
        let mut upload = JsonUpload::new(LIMITS);
        let err = upload
            .feed(br#"{"file":"YWJj"}"#, &mut Refuses)
            .unwrap_err();
        assert!(
            matches!(err, UploadError::Io(_)) && err.to_string().contains("disk full"),
            "{err}"
        );
        let mut upload = JsonUpload::new(LIMITS);
        upload.feed(b"{}", &mut Refuses).unwrap();
        let err = upload.finish(&mut Refuses).unwrap_err();
        assert!(
            matches!(err, UploadError::Io(_)) && err.to_string().contains("disk gone"),
            "{err}"
        );
    }

    /// Counts what it is given and checks it against the expected repeating block.
    struct CountingSink {
        bytes: u64,
        expected: Vec<u8>,
        largest_write: usize,
    }
    impl Write for CountingSink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            for (i, &b) in buf.iter().enumerate() {
                let at = (self.bytes as usize + i) % self.expected.len();
                assert_eq!(b, self.expected[at], "byte {}", self.bytes as usize + i);
            }
            self.bytes += buf.len() as u64;
            self.largest_write = self.largest_write.max(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn thirty_mib_stream_through_in_bounded_memory() {
        const FILE_BYTES: u64 = 30 << 20;
        // A 3 KiB block of random bytes is 4 KiB of base64: the body repeats it.
        let block = XorShift(4).bytes(3072);
        let text = STANDARD.encode(&block);
        let repeats = FILE_BYTES / block.len() as u64;
        let mut sink = CountingSink {
            bytes: 0,
            expected: block.clone(),
            largest_write: 0,
        };
        let limits = UploadLimits {
            max_file_bytes: FILE_BYTES,
            max_field_bytes: 1024,
        };
        let mut upload = JsonUpload::new(limits);
        upload
            .feed(br#"{"name":"big.bin","validator_key":"originChats-x","file":"data:application/octet-stream;base64,"#, &mut sink)
            .unwrap();
        let mut most_heap = 0;
        for _ in 0..repeats {
            // Pieces of an odd size: they end in the middle of quads.
            for piece in text.as_bytes().chunks(1000) {
                upload.feed(piece, &mut sink).unwrap();
            }
            most_heap = most_heap.max(upload.heap_bytes());
        }
        assert_eq!(upload.file_bytes_so_far(), FILE_BYTES);
        assert!(!upload.is_done());
        upload
            .feed(br#"","channel":"general","expires_in_days":1}"#, &mut sink)
            .unwrap();
        assert!(upload.is_done());
        let fields = upload.finish(&mut sink).unwrap();
        assert_eq!(fields.file_bytes, FILE_BYTES);
        assert_eq!(sink.bytes, FILE_BYTES);
        assert_eq!(fields.channel.as_deref(), Some("general"));
        assert!(sink.largest_write <= super::super::base64_stream::BLOCK_BYTES);
        // The decoder's block and two short fields; the inline buffers are part of the struct.
        assert!(
            (super::super::base64_stream::BLOCK_BYTES..=16 * 1024).contains(&most_heap),
            "{most_heap}"
        );
        assert!(
            size_of::<JsonUpload>() <= 1024,
            "{}",
            size_of::<JsonUpload>()
        );
    }
}
