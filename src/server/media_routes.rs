//! Downloads of user files (docs/protocol.md#10-http-routes): `GET /attachments/<id>`,
//! `GET /emojis/<file name or id>`, `GET /server-assets/<icon|banner>`.
//!
//! Files are streamed from disk in small chunks (a download costs the same memory whatever
//! the file's size), with `Range` support for video and audio. Every response says the
//! type sniffed from the file's bytes and forbids the browser to guess another
//! (`nosniff`), and carries a policy under which even an SVG or HTML file cannot run a
//! script in this server's origin, where the built-in web client lives.
//!
//! Attachments: a request with credentials (the web client's cookie, a bearer token) is
//! answered only if that user can view the attachment's channel. The official client
//! loads attachments with plain `<img>`/`<video>` tags and `fetch` without credentials, so
//! a request without any is answered when `attachments.public_links` is on (the default):
//! the random id is then the key, as with the original server.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt, FutureExt};
use smol::Timer;

use super::credentials::{self, Credential};
use super::http::{self, Request, Response};
use crate::app::App;
use crate::media::files::{FileName, Kind};
use crate::media::sniff;
use crate::model::Action;

/// Bytes read from disk and written to the socket at a time.
const CHUNK: usize = 32 * 1024;

/// The policy of every user file: nothing may run, load or be framed.
pub const USER_CONTENT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// Whether [`answer`] serves this request.
pub fn handles(request: &Request) -> bool {
    let route = request.route();
    matches!(request.method.as_str(), "GET" | "HEAD")
        && (route.starts_with("/attachments/")
            || route.starts_with("/emojis/")
            || route.starts_with("/server-assets/"))
}

/// A stored file to send.
struct StoredFile {
    path: PathBuf,
    mime: String,
    /// Shown as the download's name (`Content-Disposition`), attachments only.
    name: Option<String>,
    cache: &'static str,
    etag: String,
}

/// Answers a download and closes. `idle`: the longest a write may wait for the peer.
pub async fn answer<S: AsyncWrite + Unpin>(
    app: &App,
    stream: &mut S,
    request: &Request,
    idle: Duration,
) {
    let route = request.route();
    let found = if let Some(id) = route.strip_prefix("/attachments/") {
        attachment(app, request, id).await
    } else if let Some(key) = route.strip_prefix("/emojis/") {
        emoji(app, key).await
    } else if let Some(name) = route.strip_prefix("/server-assets/") {
        server_asset(app, name).await
    } else {
        Err(Response::not_found())
    };
    let head_only = request.method == "HEAD";
    let sent = match found {
        Ok(file) => send_file(stream, request, file, head_only, idle).await,
        Err(response) => {
            let response = response.with("Cache-Control", "no-store");
            with_deadline(http::write_response(stream, &response, head_only), idle).await
        }
    };
    if let Err(e) = sent {
        log::debug!("download of {route} ended early: {e}");
    }
}

async fn attachment(app: &App, request: &Request, id: &str) -> Result<StoredFile, Response> {
    if id.is_empty() {
        return Err(Response::error("400 Bad Request", "Attachment ID required"));
    }
    if !app.config.attachments.enabled {
        return Err(Response::error(
            "503 Service Unavailable",
            "Attachments are disabled",
        ));
    }
    let gone = || Response::error("404 Not Found", "Attachment not found or expired");
    let found = match app.live_attachment(id).await {
        Ok(Some(a)) => a,
        Ok(None) => return Err(gone()),
        Err(e) => {
            log::error!("cannot read attachment {id}: {e}");
            return Err(Response::error(
                "503 Service Unavailable",
                "Storage error; try again",
            ));
        }
    };
    match credentials::of(app, request).await {
        Credential::User(user) if app.dir().can(&user, &found.channel, Action::View) => {}
        // Whoever cannot view the channel is not told that the attachment exists.
        Credential::User(_) => return Err(gone()),
        Credential::Invalid => {
            return Err(Response::error("401 Unauthorized", "Invalid credentials"));
        }
        Credential::Absent if app.config.attachments.public_links => {}
        Credential::Absent => {
            return Err(Response::error(
                "401 Unauthorized",
                "Log in to download attachments",
            ));
        }
    }
    let Some(file) = FileName::new(found.file.clone()) else {
        return Err(Response::error(
            "404 Not Found",
            "Attachment file not found",
        ));
    };
    Ok(StoredFile {
        path: app.media.dir.path(Kind::Attachment, &file),
        mime: found.mime_type,
        name: Some(found.name),
        cache: "private, max-age=3600",
        etag: format!("\"{}\"", found.id),
    })
}

async fn emoji(app: &App, key: &str) -> Result<StoredFile, Response> {
    let missing = || {
        Response::new(
            "404 Not Found",
            "text/plain; charset=utf-8",
            &b"Emoji not found"[..],
        )
    };
    let key = http::percent_decode(key).unwrap_or_default();
    let looked_up = match (key.parse::<i64>(), FileName::new(key.clone())) {
        (Ok(id), _) => app.store.read(move |db| db.emoji(id)).await,
        (Err(_), Some(file)) => {
            app.store
                .read(move |db| db.emoji_by_file(file.as_str()))
                .await
        }
        _ => return Err(missing()),
    };
    let Ok(Some(emoji)) = looked_up else {
        return Err(missing());
    };
    let Some(file) = FileName::new(emoji.file.clone()) else {
        return Err(missing());
    };
    Ok(StoredFile {
        path: app.media.dir.path(Kind::Emoji, &file),
        mime: emoji.mime_type,
        name: None,
        cache: "public, max-age=3600",
        etag: format!("\"{}\"", emoji.file),
    })
}

async fn server_asset(app: &App, name: &str) -> Result<StoredFile, Response> {
    let missing = || {
        Response::new(
            "404 Not Found",
            "text/plain; charset=utf-8",
            &b"Server asset not found"[..],
        )
    };
    let name = match name {
        "icon" => "icon",
        "banner" => "banner",
        _ => return Err(missing()),
    };
    let Ok(Some(asset)) = app.store.read(move |db| db.server_asset(name)).await else {
        return Err(missing());
    };
    let Some(file) = FileName::new(asset.file.clone()) else {
        return Err(missing());
    };
    Ok(StoredFile {
        path: app.media.dir.path(Kind::ServerAsset, &file),
        mime: asset.mime_type,
        name: None,
        // The URL stays the same when the image changes: ask every time (a 304 is cheap).
        cache: "no-cache",
        etag: format!("\"{}\"", asset.file),
    })
}

/// `Range: bytes=…` → the one range asked for, `Err` when it cannot be satisfied. Several
/// ranges, or a form we do not know, get the whole file (allowed by RFC 9110).
fn range(request: &Request, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = request
        .header("range")
        .and_then(|r| r.strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (start, end) = match (start.parse::<u64>(), end.parse::<u64>()) {
        (Ok(s), Ok(e)) if s <= e => (s, e.min(len.saturating_sub(1))),
        (Ok(s), Err(_)) if end.is_empty() => (s, len.saturating_sub(1)),
        (Err(_), Ok(n)) if start.is_empty() && n > 0 => {
            (len.saturating_sub(n), len.saturating_sub(1))
        }
        _ => return Ok(None),
    };
    if start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// `inline` for what a browser shows (images, audio, video), else a download; the name
/// both as plain ASCII and as UTF-8 (RFC 6266).
fn disposition(mime: &str, name: &str) -> String {
    let kind = if sniff::is_inline(mime) {
        "inline"
    } else {
        "attachment"
    };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    let encoded: String = name
        .bytes()
        .take(600)
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn send_file<S: AsyncWrite + Unpin>(
    stream: &mut S,
    request: &Request,
    file: StoredFile,
    head_only: bool,
    idle: Duration,
) -> io::Result<()> {
    let opened = smol::fs::File::open(&file.path).await;
    let mut disk = match opened {
        Ok(f) => f,
        Err(e) => {
            if e.kind() != io::ErrorKind::NotFound {
                log::warn!("cannot open {}: {e}", file.path.display());
            }
            let text = if file.name.is_some() {
                "Attachment file not found"
            } else {
                "File not found"
            };
            let response = Response::error("404 Not Found", text);
            return with_deadline(http::write_response(stream, &response, head_only), idle).await;
        }
    };
    let len = disk.metadata().await?.len();
    let content_type = if file.mime.starts_with("text/") {
        format!("{}; charset=utf-8", file.mime)
    } else {
        file.mime.clone()
    };
    let mut headers: Vec<(&'static str, String)> = vec![
        ("Cache-Control", file.cache.to_string()),
        ("ETag", file.etag.clone()),
        ("Accept-Ranges", "bytes".into()),
        ("X-Content-Type-Options", "nosniff".into()),
        ("Content-Security-Policy", USER_CONTENT_POLICY.into()),
        ("Cross-Origin-Resource-Policy", "cross-origin".into()),
    ];
    if let Some(name) = &file.name {
        headers.push(("Content-Disposition", disposition(&file.mime, name)));
    }
    if request.header("if-none-match") == Some(file.etag.as_str()) {
        return with_deadline(head_alone(stream, "304 Not Modified", &headers), idle).await;
    }
    let (status, start, count) = match range(request, len) {
        Ok(None) => ("200 OK", 0, len),
        Ok(Some((start, end))) => {
            headers.push(("Content-Range", format!("bytes {start}-{end}/{len}")));
            ("206 Partial Content", start, end - start + 1)
        }
        Err(()) => {
            headers.push(("Content-Range", format!("bytes */{len}")));
            let status = "416 Range Not Satisfiable";
            return with_deadline(head_alone(stream, status, &headers), idle).await;
        }
    };
    with_deadline(
        http::write_head(stream, status, &content_type, count, &headers),
        idle,
    )
    .await?;
    if head_only {
        return with_deadline(stream.flush(), idle).await;
    }
    if start > 0 {
        disk.seek(io::SeekFrom::Start(start)).await?;
    }
    let mut buf = vec![0u8; CHUNK];
    let mut left = count;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
        let n = disk.read(&mut buf[..want]).await?;
        if n == 0 {
            // The file shrank under us (deleted meanwhile): the peer sees a short body.
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        with_deadline(stream.write_all(&buf[..n]), idle).await?;
        left -= n as u64;
    }
    with_deadline(stream.flush(), idle).await
}

/// A response without a body.
async fn head_alone<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    headers: &[(&'static str, String)],
) -> io::Result<()> {
    http::write_head(stream, status, "", 0, headers).await?;
    stream.flush().await
}

/// Runs a write, giving up on a peer that takes nothing for `idle`.
async fn with_deadline<T>(
    write: impl std::future::Future<Output = io::Result<T>>,
    idle: Duration,
) -> io::Result<T> {
    write
        .or(async {
            Timer::after(idle).await;
            Err(io::ErrorKind::TimedOut.into())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_range(value: &str) -> Request {
        Request {
            method: "GET".into(),
            path: "/attachments/x".into(),
            headers: vec![("range".into(), value.into())],
            websocket_key: None,
            rest: Vec::new(),
        }
    }

    #[test]
    fn ranges() {
        let r = |v: &str| range(&with_range(v), 100);
        assert_eq!(r("bytes=0-9"), Ok(Some((0, 9))));
        assert_eq!(r("bytes=90-"), Ok(Some((90, 99))));
        assert_eq!(r("bytes=-10"), Ok(Some((90, 99))));
        assert_eq!(r("bytes=50-1000"), Ok(Some((50, 99))));
        assert_eq!(r("bytes=100-"), Err(()));
        assert_eq!(r("bytes=0-1,5-6"), Ok(None));
        assert_eq!(r("bytes=9-0"), Ok(None));
        assert_eq!(r("items=0-1"), Ok(None));
        assert_eq!(r("bytes=-0"), Ok(None));
    }

    #[test]
    fn dispositions() {
        assert_eq!(
            disposition("image/png", "cat.png"),
            "inline; filename=\"cat.png\"; filename*=UTF-8''cat.png"
        );
        assert_eq!(
            disposition("application/pdf", "é \"x\".pdf"),
            "attachment; filename=\"_ _x_.pdf\"; filename*=UTF-8''%C3%A9%20%22x%22.pdf"
        );
    }
}
