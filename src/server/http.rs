//! The plain-HTTP side of the port (docs/protocol.md#10-http-routes): reading a request head, writing responses, and
//! accepting a WebSocket upgrade on `GET /`.
//!
//! Routes build a [`Response`] value and [`write_response`] sends it, so a route never
//! depends on the kind of stream (plain TCP or TLS) it is answered on.

use std::borrow::Cow;
use std::io;

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest request head we read; browsers send far less.
const MAX_HEAD: usize = 8 * 1024;

/// The most headers a request may have; more is refused like a head that is too long.
const MAX_HEADERS: usize = 32;

const CORS: &str = "Access-Control-Allow-Origin: *\r\n\
Access-Control-Allow-Methods: GET, HEAD, OPTIONS, POST, PUT\r\n\
Access-Control-Allow-Headers: Content-Type, Authorization, Range\r\n\
Access-Control-Expose-Headers: Content-Length, Content-Type, Cache-Control\r\n";

/// What we need of an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as sent, query string included.
    pub path: String,
    /// Header names (lower-cased) and values, in order; at most [`MAX_HEADERS`].
    pub headers: Vec<(String, String)>,
    /// `Sec-WebSocket-Key`, when the request asks for a WebSocket upgrade.
    pub websocket_key: Option<String>,
    /// Bytes that arrived after the head (a pipelined first frame, or the start of a body).
    pub rest: Vec<u8>,
}

impl Request {
    /// The first value of a header (`name` in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `http(s)://<Host>`: where the client reached this server, the base of the URLs it is
    /// given. Empty when the `Host` header is missing or is not a plain host[:port].
    pub fn base_url(&self, tls: bool) -> String {
        let host = self.header("host").unwrap_or_default();
        let plain = (1..=255).contains(&host.len())
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
        if !plain {
            return String::new();
        }
        let scheme = if tls { "https" } else { "http" };
        format!("{scheme}://{}", host.to_ascii_lowercase())
    }

    /// The value of a query parameter (percent-decoded; `+` is a space).
    pub fn query(&self, name: &str) -> Option<String> {
        let (_, query) = self.path.split_once('?')?;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key)? == name).then(|| percent_decode(value))?
        })
    }

    /// The path without its query string.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("/")
    }
}

/// Decodes `%XX` escapes and `+`; `None` if the result is not UTF-8 or an escape is broken.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Reads one request head. `Ok(None)` = the peer closed or sent garbage.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Option<Request>> {
    let mut buf = Vec::new();
    loop {
        let filled = buf.len();
        buf.resize(filled + 1024, 0);
        let n = stream.read(&mut buf[filled..]).await?;
        buf.truncate(filled + n);
        if n == 0 {
            return Ok(None);
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let headers: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .filter_map(|h| {
                        let value = std::str::from_utf8(h.value).ok()?;
                        Some((h.name.to_ascii_lowercase(), value.trim().to_string()))
                    })
                    .collect();
                let header = |name: &str| {
                    headers
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.as_str())
                };
                let upgrade =
                    header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
                let websocket_key = header("sec-websocket-key")
                    .filter(|_| upgrade)
                    .map(str::to_string);
                return Ok(Some(Request {
                    method: req.method.unwrap_or("").to_string(),
                    path: req.path.unwrap_or("/").to_string(),
                    websocket_key,
                    headers,
                    rest: buf[len..].to_vec(),
                }));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            _ => return Ok(None),
        }
    }
}

/// A complete response, built by a route and written by [`write_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Code and reason, e.g. `"200 OK"`.
    pub status: &'static str,
    /// Extra headers (Content-Type, Content-Length, CORS and Connection are added).
    pub headers: Vec<(&'static str, String)>,
    pub content_type: &'static str,
    pub body: Cow<'static, [u8]>,
}

impl Response {
    pub fn new(
        status: &'static str,
        content_type: &'static str,
        body: impl Into<Cow<'static, [u8]>>,
    ) -> Response {
        Response {
            status,
            headers: Vec::new(),
            content_type,
            body: body.into(),
        }
    }

    /// A JSON body, as the original server's routes answer.
    pub fn json(status: &'static str, body: impl Into<String>) -> Response {
        Response::new(status, "application/json", body.into().into_bytes())
    }

    /// `{"error": text}` with `status`.
    pub fn error(status: &'static str, text: &str) -> Response {
        Response::json(status, serde_json::json!({ "error": text }).to_string())
    }

    pub fn not_found() -> Response {
        Response::json("404 Not Found", r#"{"error": "Not found"}"#)
    }

    /// `426` for a WebSocket upgrade of a version other than 13, naming the one spoken.
    pub fn upgrade_required() -> Response {
        Response::error(
            "426 Upgrade Required",
            "Unsupported WebSocket version: this server speaks version 13",
        )
        .with("Sec-WebSocket-Version", "13")
    }

    /// `204` for CORS preflights.
    pub fn no_content() -> Response {
        Response::new("204 No Content", "", Vec::new())
    }

    /// Adds a header.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

/// Writes a response and lets the connection close. `head_only` for `HEAD` requests.
pub async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    response: &Response,
    head_only: bool,
) -> io::Result<()> {
    write_head(
        stream,
        response.status,
        response.content_type,
        response.body.len() as u64,
        &response.headers,
    )
    .await?;
    if !head_only {
        stream.write_all(&response.body).await?;
    }
    stream.flush().await
}

/// Writes a response head; the caller sends `content_length` bytes of body after it (a
/// route that streams a file). The connection closes after the response.
pub async fn write_head<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    content_type: &str,
    content_length: u64,
    headers: &[(&'static str, String)],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    if !content_type.is_empty() {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str(&format!("Content-Length: {content_length}\r\n"));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(CORS);
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await
}

/// Whether an upgrade request asks for WebSocket version 13, the only one there is
/// (RFC 6455 §4.2.1; a missing header is another version too).
pub fn speaks_websocket_13(request: &Request) -> bool {
    request.header("sec-websocket-version") == Some("13")
}

/// Answers the upgrade; the connection speaks WebSocket from here on.
pub async fn accept_websocket<S: AsyncWrite + Unpin>(stream: &mut S, key: &str) -> io::Result<()> {
    let accept = async_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await
}
