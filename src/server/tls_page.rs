//! `GET /tls`: a page that says, in plain words, how to trust this server's certificate on
//! a phone or a laptop, and the certificate itself to download (`/tls/cert.crt`, also as
//! `/tls/cert.pem`). Served over HTTPS and plain HTTP alike (the page holds nothing secret,
//! and on plain HTTP it is how a device gets the certificate before it trusts it).
//!
//! Own text, no external resources, no script; the one stylesheet comes from the same
//! origin, so the strict Content-Security-Policy holds.

use super::http::{Request, Response};
use crate::tls::{Tls, TlsMode};

const CSP: &str = "default-src 'self'";

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:1rem}\
code,.fp{font-family:ui-monospace,monospace;word-break:break-all}\
.fp{background:#8882;padding:.5rem;border-radius:.3rem}\
a.button{display:inline-block;padding:.6rem 1rem;border-radius:.4rem;background:#2a62d6;color:#fff;text-decoration:none}\
h2{margin-top:2rem}li{margin:.3rem 0}\
@media (prefers-color-scheme:dark){body{background:#15171a;color:#e6e6e6}a{color:#8ab4ff}a.button{color:#fff}}";

/// Answers the `/tls` routes; `None` for any other path (or when TLS is off).
pub fn route(tls: Option<&Tls>, request: &Request) -> Option<Response> {
    let tls = tls?;
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        return None;
    }
    let response = match request.route() {
        "/tls" | "/tls/" => {
            let host = host_of(request);
            Response::new(
                "200 OK",
                "text/html; charset=utf-8",
                page(&host, &tls.fingerprint(), tls.mode == TlsMode::Files).into_bytes(),
            )
        }
        "/tls/cert.crt" | "/tls/cert.pem" => Response::new(
            "200 OK",
            "application/x-x509-ca-cert",
            tls.trust_pem().into_bytes(),
        )
        .with(
            "Content-Disposition",
            "attachment; filename=\"originchats-server.crt\"",
        ),
        "/tls/page.css" => Response::new("200 OK", "text/css; charset=utf-8", STYLE.as_bytes()),
        _ => return None,
    };
    Some(
        response
            .with("Content-Security-Policy", CSP)
            .with("X-Content-Type-Options", "nosniff")
            .with("Cache-Control", "no-cache"),
    )
}

/// The host (and port) the browser used, to write the addresses it should use; anything
/// odd in the header falls back to a placeholder.
fn host_of(request: &Request) -> String {
    request
        .header("host")
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("this-server:5613")
        .to_string()
}

/// Escapes text for HTML (the host header is already restricted; this is the second wall).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The opening paragraphs: what certificate this is and whether it needs trusting at all.
fn intro(host: &str, files: bool) -> String {
    if files {
        format!(
            r#"<p>This chat server uses a certificate its owner installed (<code>tls.cert</code>).
If it comes from a public authority (Let's Encrypt, <code>tailscale cert</code>) your devices
trust it already and there is nothing to do: connect to <code>wss://{host}</code>. If it was made
with a local tool such as mkcert, trust that tool's root certificate on each device instead
(the steps below are the same); the download here is the top certificate of the installed
chain.</p>"#
        )
    } else {
        format!(
            r#"<p>This chat server encrypts its connections with a certificate it made for itself.
Your devices do not know it yet, so browsers warn about it and the official OriginChats
client cannot connect to <code>wss://{host}</code>. Trust the certificate once on each device
and the warning goes away for good.</p>
<p>The file is a certificate authority made only for this one server: its signing key was
thrown away right after use, so it cannot vouch for any other website.</p>"#
        )
    }
}

fn page(host: &str, fingerprint: &str, files: bool) -> String {
    let host = escape(host);
    let fingerprint = escape(fingerprint);
    let intro = intro(&host, files);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trust this server's certificate</title>
<link rel="stylesheet" href="/tls/page.css">
</head>
<body>
<h1>Trust this server's certificate</h1>
{intro}
<p>Before you trust it, make sure it is really this server's certificate: the server prints
the same fingerprint when it starts, and <code>originchats-server admin tls-info</code>
shows it on the server's own machine.</p>
<p>SHA-256 fingerprint:</p>
<p class="fp">{fingerprint}</p>
<p><a class="button" href="/tls/cert.crt" download>Download the certificate</a></p>

<h2>iPhone and iPad</h2>
<ol>
<li>Open this page in Safari and tap <b>Download the certificate</b>, then <b>Allow</b>.</li>
<li>Open <b>Settings</b>: tap <b>Profile Downloaded</b> near the top (or go to <b>General →
VPN &amp; Device Management</b>), pick the profile and tap <b>Install</b>.</li>
<li>Go to <b>Settings → General → About → Certificate Trust Settings</b> and switch on full
trust for <b>OriginChats server</b>.</li>
</ol>

<h2>Android</h2>
<ol>
<li>Tap <b>Download the certificate</b>.</li>
<li>Open <b>Settings → Security</b> (on some phones <b>Security &amp; privacy → More security
settings</b>) <b>→ Encryption &amp; credentials → Install a certificate → CA certificate</b>,
confirm with <b>Install anyway</b> and pick the downloaded file.</li>
<li>Chrome uses it at once. Firefox for Android needs <b>Use third party CA certificates</b>
switched on (Settings → About Firefox, tap the logo five times, then Secret Settings).</li>
</ol>

<h2>Windows</h2>
<ol>
<li>Download the certificate and open the file.</li>
<li>Click <b>Install Certificate…</b>, choose <b>Current User</b>, then <b>Place all
certificates in the following store → Browse → Trusted Root Certification Authorities</b>,
and finish.</li>
<li>Restart the browser. Edge and Chrome use it; for Firefox see below.</li>
</ol>

<h2>macOS</h2>
<ol>
<li>Download the certificate and open the file: Keychain Access adds it to the login
keychain.</li>
<li>In Keychain Access, double-click <b>OriginChats server</b>, open <b>Trust</b> and set
<b>When using this certificate</b> to <b>Always Trust</b>. Close the window and confirm with
your password.</li>
</ol>

<h2>Linux (Chromium, Chrome)</h2>
<ol>
<li>Download the certificate.</li>
<li>Open <b>Settings → Privacy and security → Security → Manage certificates</b>, go to
<b>Authorities</b> (or <b>Custom → Installed by you</b>) and <b>Import</b> the file, ticking
<b>Trust this certificate for identifying websites</b>.</li>
</ol>

<h2>Firefox (Windows, macOS, Linux)</h2>
<ol>
<li>Download the certificate.</li>
<li>Open <b>Settings → Privacy &amp; Security → Certificates → View Certificates…</b>, tab
<b>Authorities</b>, <b>Import…</b> the file and tick <b>Trust this CA to identify
websites</b>.</li>
</ol>

<h2>Then</h2>
<p>Open <a href="/">the chat</a> over <code>https://{host}/</code>, or add <code>{host}</code>
as a server in the official OriginChats client: it connects with
<code>wss://{host}</code>.</p>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_is_filtered_and_escaped() {
        let request = |host: &str| Request {
            method: "GET".into(),
            path: "/tls".into(),
            headers: vec![("host".into(), host.into())],
            websocket_key: None,
            rest: Vec::new(),
        };
        assert_eq!(host_of(&request("pi.local:5613")), "pi.local:5613");
        assert_eq!(host_of(&request("[::1]:5613")), "[::1]:5613");
        assert_eq!(host_of(&request("<script>")), "this-server:5613");
        let html = page("a<b", "AB:CD", false);
        assert!(html.contains("a&lt;b") && !html.contains("a<b"));
        assert!(html.contains("made for itself"));
        assert!(page("pi", "AB:CD", true).contains("tls.cert"));
        assert!(!html.contains("<script") && !html.contains("style="));
    }
}
