//! The built-in web client: the files of `web/` embedded in the binary and served at `/`
//! and at every path that is not an API route, so that a browser on the LAN can chat with
//! no other software.
//!
//! Every file is answered with a strict Content-Security-Policy (the page runs only its own
//! scripts and styles and connects only to this server), `nosniff`, and an ETag computed once
//! per file, so that `Cache-Control: no-cache` costs a 304 and no body on reloads.

use std::sync::LazyLock;

use super::http::{Request, Response};

/// What the page may load: only this origin, images also from `data:`/`blob:` URLs; no
/// inline script or style, no framing. `connect-src` is added per request by
/// [`content_security_policy`].
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: blob:; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; \
object-src 'none'";

/// The policy with `connect-src` naming this server's own WebSocket addresses: `'self'` covers
/// `ws:`/`wss:` only in browsers that follow CSP level 3, and a bare `ws: wss:` would let the
/// page talk to any host. A `Host` that is not a plain host[:port] leaves `'self'` alone.
fn content_security_policy(host: Option<&str>) -> String {
    let plain = |h: &str| {
        !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    };
    match host.filter(|h| plain(h)) {
        Some(h) => format!("{CONTENT_SECURITY_POLICY}; connect-src 'self' ws://{h} wss://{h}"),
        None => format!("{CONTENT_SECURITY_POLICY}; connect-src 'self'"),
    }
}

/// Where the page's own files live; a path below it that names no file is a 404, never the
/// page (a stylesheet answered with HTML would only confuse the browser).
const ASSET_PREFIX: &str = "/client/";

/// One embedded file.
struct File {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const PAGE: File = File {
    path: "/",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("../../web/index.html"),
};

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// One file of `web/client/`, served below [`ASSET_PREFIX`] under its own name.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        File {
            path: concat!("/client/", $name),
            content_type: $content_type,
            body: include_bytes!(concat!("../../web/client/", $name)),
        }
    };
}

/// The files below [`ASSET_PREFIX`]: the stylesheet, the icon, and the ES modules of the
/// page's script (`main.js` imports the others).
const ASSETS: &[File] = &[
    asset!("style.css", CSS),
    asset!("icon.svg", SVG),
    asset!("main.js", JAVASCRIPT),
    asset!("abilities.js", JAVASCRIPT),
    asset!("actions.js", JAVASCRIPT),
    asset!("attachments.js", JAVASCRIPT),
    asset!("auth.js", JAVASCRIPT),
    asset!("channels.js", JAVASCRIPT),
    asset!("composer.js", JAVASCRIPT),
    asset!("dom.js", JAVASCRIPT),
    asset!("editing.js", JAVASCRIPT),
    asset!("emoji-admin.js", JAVASCRIPT),
    asset!("emoji-complete.js", JAVASCRIPT),
    asset!("emojis.js", JAVASCRIPT),
    asset!("identity.js", JAVASCRIPT),
    asset!("kept.js", JAVASCRIPT),
    asset!("layout.js", JAVASCRIPT),
    asset!("live.js", JAVASCRIPT),
    asset!("log.js", JAVASCRIPT),
    asset!("markdown.js", JAVASCRIPT),
    asset!("members.js", JAVASCRIPT),
    asset!("notices.js", JAVASCRIPT),
    asset!("packets.js", JAVASCRIPT),
    asset!("paging.js", JAVASCRIPT),
    asset!("panels.js", JAVASCRIPT),
    asset!("people.js", JAVASCRIPT),
    asset!("permissions.js", JAVASCRIPT),
    asset!("profile.js", JAVASCRIPT),
    asset!("reactions.js", JAVASCRIPT),
    asset!("render.js", JAVASCRIPT),
    asset!("socket.js", JAVASCRIPT),
    asset!("state.js", JAVASCRIPT),
    asset!("storage.js", JAVASCRIPT),
    asset!("typing.js", JAVASCRIPT),
    asset!("uploads.js", JAVASCRIPT),
];

/// The first path segments of the HTTP API (served elsewhere, or not at all): below them an
/// unknown path is a JSON 404, as API clients expect, not the page.
const API_ROOTS: &[&str] = &[
    "info",
    "session",
    "tls",
    "attachments",
    "emojis",
    "server-assets",
    "webhooks",
];

/// Whether `route` (a path without its query) belongs to the HTTP API.
pub fn is_api_path(route: &str) -> bool {
    let first = route
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    API_ROOTS.contains(&first)
}

/// The answer to a `GET`/`HEAD` of a path that is not an API route: one of the page's
/// files, or the page itself.
pub fn serve(request: &Request) -> Response {
    let route = request.route();
    let (index, file) = if route.starts_with(ASSET_PREFIX) {
        match ASSETS.iter().position(|f| f.path == route) {
            Some(i) => (i + 1, &ASSETS[i]),
            None => return Response::not_found(),
        }
    } else {
        (0, &PAGE)
    };
    let etag = &ETAGS[index];
    let response = if matches_etag(request.header("if-none-match"), etag) {
        Response::new("304 Not Modified", "", Vec::new())
    } else {
        Response::new("200 OK", file.content_type, file.body)
    };
    response
        .with("ETag", etag.clone())
        .with("Cache-Control", "no-cache")
        .with(
            "Content-Security-Policy",
            content_security_policy(request.header("host")),
        )
        .with("X-Content-Type-Options", "nosniff")
        .with("Referrer-Policy", "no-referrer")
        .with("X-Frame-Options", "DENY")
}

/// The ETags, the page's first then the assets' in order, computed on first use.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    std::iter::once(&PAGE)
        .chain(ASSETS)
        .map(|f| format!("\"{:016x}\"", fnv1a(f.body)))
        .collect()
});

/// `If-None-Match` holds our tag (a list of tags, `*`, or a weak `W/` form all count).
fn matches_etag(header: Option<&str>, etag: &str) -> bool {
    header.is_some_and(|h| {
        h.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*")
    })
}

/// FNV-1a, 64 bits: enough to tell two versions of a file apart, and dependency-free.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The total size of the embedded files, for the documentation and the size test.
pub fn total_size() -> usize {
    std::iter::once(&PAGE)
        .chain(ASSETS)
        .map(|f| f.body.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_src_names_only_this_server() {
        let csp = content_security_policy(Some("[fe80::1]:5613"));
        assert!(csp.ends_with("; connect-src 'self' ws://[fe80::1]:5613 wss://[fe80::1]:5613"));
        for odd in [
            None,
            Some(""),
            Some("a b"),
            Some("x;script-src *"),
            Some("*"),
        ] {
            assert!(
                content_security_policy(odd).ends_with("; connect-src 'self'"),
                "{odd:?}"
            );
        }
    }

    fn get(path: &str, if_none_match: Option<&str>) -> Response {
        let mut headers = Vec::new();
        if let Some(tag) = if_none_match {
            headers.push(("if-none-match".to_string(), tag.to_string()));
        }
        serve(&Request {
            method: "GET".into(),
            path: path.into(),
            headers,
            websocket_key: None,
            rest: Vec::new(),
        })
    }

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn page_at_root_and_at_client_side_paths() {
        for path in ["/", "/index.html", "/channels/general", "/?x=1"] {
            let r = get(path, None);
            assert_eq!(r.status, "200 OK", "{path}");
            assert_eq!(r.content_type, "text/html; charset=utf-8");
            assert!(r.body.starts_with(b"<!doctype html>"), "{path}");
        }
    }

    #[test]
    fn assets_have_their_types_and_unknown_ones_are_404() {
        assert_eq!(
            get("/client/main.js", None).content_type,
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            get("/client/style.css", None).content_type,
            "text/css; charset=utf-8"
        );
        assert_eq!(get("/client/icon.svg", None).content_type, "image/svg+xml");
        assert_eq!(get("/client/nothing.js", None).status, "404 Not Found");
    }

    #[test]
    fn security_headers_on_every_file() {
        let r = get("/", None);
        let csp = header(&r, "Content-Security-Policy").unwrap();
        assert!(csp.starts_with("default-src 'self'; script-src 'self';"));
        assert!(!csp.contains("unsafe"));
        assert_eq!(header(&r, "X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(header(&r, "Cache-Control"), Some("no-cache"));
    }

    #[test]
    fn etag_revalidation() {
        let first = get("/client/main.js", None);
        let tag = header(&first, "ETag").unwrap().to_string();
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 18);
        let again = get("/client/main.js", Some(&tag));
        assert_eq!(again.status, "304 Not Modified");
        assert!(again.body.is_empty());
        assert_eq!(header(&again, "ETag"), Some(tag.as_str()));
        let weak = format!("\"other\", W/{tag}");
        assert_eq!(
            get("/client/main.js", Some(&weak)).status,
            "304 Not Modified"
        );
        assert_eq!(get("/client/main.js", Some("\"other\"")).status, "200 OK");
        // Each file has its own tag.
        assert_ne!(header(&get("/", None), "ETag"), Some(tag.as_str()));
    }

    #[test]
    fn api_paths() {
        for p in [
            "/info",
            "/info/x",
            "/session",
            "/tls",
            "/attachments/abc",
            "/webhooks",
        ] {
            assert!(is_api_path(p), "{p}");
        }
        for p in [
            "/",
            "/index.html",
            "/client/main.js",
            "/general",
            "/information",
        ] {
            assert!(!is_api_path(p), "{p}");
        }
    }

    #[test]
    fn every_file_of_the_client_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/client");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| format!("/client/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        on_disk.sort();
        let mut served: Vec<String> = ASSETS.iter().map(|f| f.path.to_string()).collect();
        served.sort();
        assert_eq!(on_disk, served);
    }

    #[test]
    fn small_enough() {
        // The budget: under 150 KiB uncompressed.
        assert!(total_size() < 150 * 1024, "{} bytes", total_size());
    }
}
