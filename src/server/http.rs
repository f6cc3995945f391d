//! The plain-HTTP side of the port (§10): reading a request head, answering `/info`,
//! CORS preflights and 404s, and accepting a WebSocket upgrade on `GET /`.

use std::io;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use smol::net::TcpStream;

/// The largest request head we read; browsers send far less.
const MAX_HEAD: usize = 8 * 1024;

const CORS: &str = "Access-Control-Allow-Origin: *\r\n\
Access-Control-Allow-Methods: GET, HEAD, OPTIONS, POST\r\n\
Access-Control-Allow-Headers: Content-Type, Authorization, Range\r\n\
Access-Control-Expose-Headers: Content-Length, Content-Type, Cache-Control\r\n";

/// What we need of an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// `Sec-WebSocket-Key`, when the request asks for a WebSocket upgrade.
    pub websocket_key: Option<String>,
    /// Bytes that arrived after the head (a client may pipeline its first frame).
    pub rest: Vec<u8>,
}

/// Reads one request head. `Ok(None)` = the peer closed or sent garbage.
pub async fn read_request(stream: &mut TcpStream) -> io::Result<Option<Request>> {
    let mut buf = Vec::new();
    loop {
        let filled = buf.len();
        buf.resize(filled + 1024, 0);
        let n = stream.read(&mut buf[filled..]).await?;
        buf.truncate(filled + n);
        if n == 0 {
            return Ok(None);
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let header = |name: &str| {
                    req.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .and_then(|h| std::str::from_utf8(h.value).ok())
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
                    rest: buf[len..].to_vec(),
                }));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            _ => return Ok(None),
        }
    }
}

/// Writes a complete response and lets the connection close.
pub async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{CORS}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await
}

/// `204` for CORS preflights.
pub async fn no_content(stream: &mut TcpStream) -> io::Result<()> {
    let head =
        format!("HTTP/1.1 204 No Content\r\n{CORS}Content-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await
}

pub async fn not_found(stream: &mut TcpStream) -> io::Result<()> {
    respond(
        stream,
        "404 Not Found",
        "application/json",
        r#"{"error": "Not found"}"#,
    )
    .await
}

/// Answers the upgrade; the connection speaks WebSocket from here on.
pub async fn accept_websocket(stream: &mut TcpStream, key: &str) -> io::Result<()> {
    let accept = async_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await
}
