//! `POST /attachments/upload` (docs/protocol.md#10-http-routes), in two forms:
//!
//! - the official client's: a JSON body `{"validator_key","validator","file":"data:…",
//!   "name","mime_type","channel"[,"expires_in_days"]}`, authenticated with a Rotur
//!   validator as by the original server, or with a bearer token;
//! - for bots and the built-in web client: `PUT` (or `POST` with another content type) with
//!   the file itself as the body, `Authorization: Bearer <token>` (the `upload_token` of
//!   `ready`, or a session token) and `?channel=…&name=…[&expires_in_days=…]`.
//!
//! The body is never held whole: it is read in small chunks, the JSON form's base64 is
//! decoded as it streams ([`crate::media::upload_body`]) into a temporary file, and reading
//! stops as soon as the file is larger than `attachments.max_size`. What can be checked
//! before the body (credentials of the raw form, channel, permission, quotas, the declared
//! length) is checked first.

use std::rc::Rc;
use std::time::Duration;

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWriteExt, FutureExt};
use serde_json::json;
use smol::Timer;

use super::credentials::{self, Credential};
use super::http::{Request, Response};
use crate::app::App;
use crate::auth::rotur::{self, Verdict};
use crate::media::files::TempFile;
use crate::media::upload_body::{JsonUpload, UploadError, UploadFields, UploadLimits};
use crate::ops::attachments::{Refusal, Upload};

/// Bytes read from the socket at a time.
const CHUNK: usize = 32 * 1024;

/// Room for the JSON form's other fields and quoting beyond the base64 of the file.
const JSON_SLACK: u64 = 64 * 1024;

/// The longest name an attachment may have (the original's documented limit).
const MAX_NAME_CHARS: usize = 255;

/// Whether [`answer`] serves this request.
pub fn handles(request: &Request) -> bool {
    request.route() == "/attachments/upload" && matches!(request.method.as_str(), "POST" | "PUT")
}

/// The outcome: the response, and whether part of the body was left unread (the caller
/// then lets the peer finish sending for a moment before closing, so that it sees the
/// answer instead of a reset connection).
pub struct Answer {
    pub response: Response,
    pub unread_body: bool,
}

impl From<Refusal> for Response {
    fn from(r: Refusal) -> Response {
        Response::error(r.status, &r.text)
    }
}

fn refuse(status: &'static str, text: &str) -> Response {
    Response::error(status, text)
}

/// Answers an upload.
pub async fn answer<S: AsyncRead + Unpin>(
    app: &Rc<App>,
    stream: &mut S,
    request: &Request,
    tls: bool,
) -> Answer {
    match upload(app, stream, request, tls).await {
        Ok(response) => Answer {
            response,
            unread_body: false,
        },
        Err((response, unread_body)) => Answer {
            response,
            unread_body,
        },
    }
}

/// `Err((response, body left unread))`.
async fn upload<S: AsyncRead + Unpin>(
    app: &Rc<App>,
    stream: &mut S,
    request: &Request,
    tls: bool,
) -> Result<Response, (Response, bool)> {
    let before_body = |r: Response| (r, true);
    let a = &app.config.attachments;
    let json_body = request
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/json"));
    let raw = request.method == "PUT" || (!json_body && request.header("authorization").is_some());
    if !json_body && !raw {
        return Err(before_body(refuse(
            "415 Unsupported Media Type",
            "Content-Type must be application/json",
        )));
    }
    if !a.enabled {
        return Err(before_body(refuse(
            "503 Service Unavailable",
            "Attachments are disabled",
        )));
    }
    if request.header("transfer-encoding").is_some() {
        return Err(before_body(refuse(
            "411 Length Required",
            "Send the upload with a Content-Length",
        )));
    }
    let Some(length) = request.header("content-length") else {
        return Err(before_body(refuse(
            "411 Length Required",
            "Content-Length required",
        )));
    };
    let Ok(length) = length.parse::<u64>() else {
        return Err(before_body(refuse(
            "400 Bad Request",
            "Invalid Content-Length",
        )));
    };
    let max_body = if raw {
        a.max_size
    } else {
        a.max_size.div_ceil(3) * 4 + JSON_SLACK
    };
    if length > max_body {
        return Err(before_body(too_large_response(a.max_size)));
    }
    // The raw form says who and where before its body.
    let mut known = None;
    let credential = credentials::of(app, request).await;
    if let Credential::Invalid = credential {
        return Err(before_body(refuse(
            "401 Unauthorized",
            "Invalid credentials",
        )));
    }
    if raw {
        let Credential::User(user) = &credential else {
            return Err(before_body(refuse(
                "401 Unauthorized",
                "Authorization required: send Authorization: Bearer <upload_token of ready>",
            )));
        };
        let Some(channel) = request.query("channel").filter(|c| !c.is_empty()) else {
            return Err(before_body(refuse(
                "400 Bad Request",
                "Missing required fields: channel",
            )));
        };
        app.may_upload(user, &channel, length)
            .await
            .map_err(|r| before_body(r.into()))?;
        known = Some((user.clone(), channel));
    }
    let wait = Duration::from_secs(app.config.connections.idle_timeout_seconds);
    let permit = async { Some(app.media.uploads.acquire().await) }
        .or(async {
            Timer::after(wait).await;
            None
        })
        .await;
    let Some(_permit) = permit else {
        return Err(before_body(refuse(
            "503 Service Unavailable",
            "Too many uploads at once; try again in a moment",
        )));
    };
    let dir = app.media.dir.clone();
    let temp = match smol::unblock(move || dir.temp()).await {
        Ok(t) => t,
        Err(e) => {
            log::error!("cannot create a temporary file for an upload: {e}");
            return Err(before_body(refuse(
                "500 Internal Server Error",
                "Failed to save attachment",
            )));
        }
    };
    let body = Body::new(stream, &request.rest, length, wait);
    let (temp, fields) = if raw {
        receive_raw(body, temp).await?
    } else {
        receive_json(body, temp, a.max_size).await?
    };
    // The whole body is read from here on.
    let done = |r: Response| (r, false);
    let (uploader_id, channel, name, expires) = match known {
        Some((user, channel)) => {
            let name = request.query("name").unwrap_or_default();
            let expires = match request.query("expires_in_days") {
                None => None,
                Some(d) => Some(d.parse::<f64>().map_err(|_| done(bad_days()))?),
            };
            (user, channel, name, expires)
        }
        None => {
            let missing = !fields.has_file
                || [&fields.name, &fields.mime_type, &fields.channel]
                    .iter()
                    .any(|f| f.as_deref().is_none_or(str::is_empty));
            if missing {
                return Err(done(refuse(
                    "400 Bad Request",
                    "Missing required fields: file, name, mime_type, channel",
                )));
            }
            let user = match &credential {
                Credential::User(user) => user.clone(),
                _ => rotur_user(app, &fields).await.map_err(done)?,
            };
            let channel = fields.channel.clone().unwrap_or_default();
            app.may_upload(&user, &channel, fields.file_bytes)
                .await
                .map_err(|r| done(r.into()))?;
            (
                user,
                channel,
                fields.name.clone().unwrap_or_default(),
                fields.expires_in_days,
            )
        }
    };
    if expires.is_some_and(|d| !(d > 0.0 && d <= 365.0)) {
        return Err(done(bad_days()));
    }
    let name = clean_name(&name).map_err(done)?;
    let permanent = rotur::permanent_uploads(app, &uploader_id).await;
    let upload = Upload {
        uploader_id,
        channel,
        name,
        expires_in_days: expires,
        permanent,
        base_url: request.base_url(tls),
    };
    let attachment = app
        .accept_upload(temp, fields.file_bytes, upload)
        .await
        .map_err(|r| done(r.into()))?;
    let body = json!({"attachment": attachment.info(), "permanent": attachment.permanent});
    Ok(Response::json("201 Created", body.to_string()).with("Cache-Control", "no-store"))
}

fn bad_days() -> Response {
    refuse(
        "400 Bad Request",
        "expires_in_days must be a number of days above 0 and at most 365",
    )
}

/// The name shown for an attachment: trimmed, without control characters, at most
/// [`MAX_NAME_CHARS`]; `file` when none is given.
fn clean_name(name: &str) -> Result<String, Response> {
    let cleaned: String = name.trim().chars().filter(|c| !c.is_control()).collect();
    if cleaned.chars().count() > MAX_NAME_CHARS {
        return Err(refuse(
            "400 Bad Request",
            &format!("File name too long (max {MAX_NAME_CHARS} characters)"),
        ));
    }
    Ok(if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    })
}

/// The JSON form's Rotur credentials: the `validator_key` must be one this server gave to
/// a connection that is still open (the original took any key Rotur knows), and Rotur must
/// accept the validator for it.
async fn rotur_user(app: &App, fields: &UploadFields) -> Result<String, Response> {
    let (Some(key), Some(validator)) = (
        fields.validator_key.clone().filter(|k| !k.is_empty()),
        fields.validator.clone().filter(|v| !v.is_empty()),
    ) else {
        return Err(refuse(
            "401 Unauthorized",
            "validator_key and validator are required for authentication",
        ));
    };
    if app.hub.by_validator_key(&key).is_none() {
        return Err(refuse("401 Unauthorized", "Invalid credentials"));
    }
    let url = app.config.rotur.validate_url.clone();
    let timeout = Duration::from_secs(app.config.rotur.timeout_seconds);
    let verdict = {
        let _permit = app.auth.rotur.acquire().await;
        smol::unblock(move || rotur::validate(&url, timeout, &key, Some(&validator))).await
    };
    match verdict {
        Verdict::Valid { id, .. } if app.dir().user(&id).is_some_and(|u| !u.is_banned()) => Ok(id),
        Verdict::Valid { .. } => Err(refuse("401 Unauthorized", "User not found")),
        Verdict::Invalid => Err(refuse("401 Unauthorized", "Invalid credentials")),
        Verdict::Unavailable(why) => {
            log::warn!("Rotur validation of an upload failed: {why}");
            Err(refuse("502 Bad Gateway", "Failed to validate credentials"))
        }
    }
}

/// The request body: what came with the head, then the rest from the stream.
struct Body<'a, S> {
    stream: &'a mut S,
    first: &'a [u8],
    /// Bytes not yet handed out.
    left: u64,
    /// The longest wait for the next bytes.
    idle: Duration,
    buf: Vec<u8>,
}

impl<'a, S: AsyncRead + Unpin> Body<'a, S> {
    fn new(stream: &'a mut S, first: &'a [u8], length: u64, idle: Duration) -> Self {
        let first = &first[..first
            .len()
            .min(usize::try_from(length).unwrap_or(usize::MAX))];
        Body {
            stream,
            first,
            left: length,
            idle,
            buf: vec![0u8; CHUNK],
        }
    }

    /// The next piece of the body; `None` at its end.
    async fn next(&mut self) -> Result<Option<&[u8]>, (Response, bool)> {
        if !self.first.is_empty() {
            let first = std::mem::take(&mut self.first);
            self.left -= first.len() as u64;
            return Ok(Some(first));
        }
        if self.left == 0 {
            return Ok(None);
        }
        // A socket with data waiting is read without ever waiting, so an upload arriving
        // fast would keep the executor to itself: let the chat go first between chunks.
        futures_lite::future::yield_now().await;
        let want = usize::try_from(self.left).unwrap_or(CHUNK).min(CHUNK);
        let idle = self.idle;
        let read = self.stream.read(&mut self.buf[..want]).or(async {
            Timer::after(idle).await;
            Err(std::io::ErrorKind::TimedOut.into())
        });
        match read.await {
            Ok(0) => Err((
                refuse("400 Bad Request", "Failed to read request body"),
                false,
            )),
            Ok(n) => {
                self.left -= n as u64;
                Ok(Some(&self.buf[..n]))
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err((
                refuse("408 Request Timeout", "The body stopped arriving"),
                true,
            )),
            Err(_) => Err((
                refuse("400 Bad Request", "Failed to read request body"),
                false,
            )),
        }
    }

    fn unread(&self) -> bool {
        self.left > 0
    }
}

/// Writes decoded bytes to the temporary file off the executor thread, a batch at a time.
struct Spool {
    file: smol::Unblock<TempFile>,
    pending: Vec<u8>,
}

impl Spool {
    fn new(temp: TempFile) -> Spool {
        Spool {
            file: smol::Unblock::with_capacity(2 * CHUNK, temp),
            pending: Vec::with_capacity(CHUNK),
        }
    }

    async fn flush_pending(&mut self) -> Result<(), (Response, bool)> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let written = self.file.write_all(&self.pending).await;
        self.pending.clear();
        written.map_err(|e| {
            log::error!("cannot write an upload to disk: {e}");
            (
                refuse("500 Internal Server Error", "Failed to save attachment"),
                true,
            )
        })
    }

    async fn finish(mut self) -> Result<TempFile, (Response, bool)> {
        self.flush_pending().await?;
        let failed = |e: std::io::Error| {
            log::error!("cannot write an upload to disk: {e}");
            (
                refuse("500 Internal Server Error", "Failed to save attachment"),
                false,
            )
        };
        self.file.flush().await.map_err(failed)?;
        Ok(self.file.into_inner().await)
    }
}

fn too_large_response(max: u64) -> Response {
    refuse(
        "413 Payload Too Large",
        &format!("Request body too large (max {max} bytes)"),
    )
}

/// The raw form: the body is the file (its length was checked against the limit).
async fn receive_raw<S: AsyncRead + Unpin>(
    mut body: Body<'_, S>,
    temp: TempFile,
) -> Result<(TempFile, UploadFields), (Response, bool)> {
    let mut spool = Spool::new(temp);
    let mut size = 0u64;
    while let Some(piece) = body.next().await? {
        size += piece.len() as u64;
        spool.pending.extend_from_slice(piece);
        spool.flush_pending().await?;
    }
    let temp = spool.finish().await?;
    Ok((
        temp,
        UploadFields {
            file_bytes: size,
            has_file: true,
            ..UploadFields::default()
        },
    ))
}

/// The JSON form: the file is decoded from the `file` string as it streams in; each
/// piece's output is written to disk before the next read.
async fn receive_json<S: AsyncRead + Unpin>(
    mut body: Body<'_, S>,
    temp: TempFile,
    max: u64,
) -> Result<(TempFile, UploadFields), (Response, bool)> {
    let mut parser = JsonUpload::new(UploadLimits {
        max_file_bytes: max,
        max_field_bytes: 4096,
    });
    let mut spool = Spool::new(temp);
    while let Some(piece) = body.next().await? {
        let fed = parser.feed(piece, &mut spool.pending);
        if let Err(e) = fed {
            return Err((json_refusal(&e, max), body.unread()));
        }
        spool.flush_pending().await?;
    }
    let fields = parser
        .finish(&mut spool.pending)
        .map_err(|e| (json_refusal(&e, max), false))?;
    let temp = spool.finish().await?;
    Ok((temp, fields))
}

/// The response to a body the parser refused.
fn json_refusal(e: &UploadError, max: u64) -> Response {
    match e {
        UploadError::TooLarge { .. } => too_large_response(max),
        UploadError::InvalidJson(_) => refuse("400 Bad Request", "Invalid JSON body"),
        UploadError::InvalidFile(why) => {
            refuse("400 Bad Request", &format!("Invalid file data: {why}"))
        }
        UploadError::FieldTooLong(field) => {
            refuse("400 Bad Request", &format!("The field {field} is too long"))
        }
        UploadError::Io(err) => {
            log::error!("cannot write an upload to disk: {err}");
            refuse("500 Internal Server Error", "Failed to save attachment")
        }
    }
}
