//! Typed configuration: `config.json`, its defaults, and the errors a person can act on.
//!
//! The file uses the original server's key names where they exist (`websocket`, `server`,
//! `limits`, `auth_mode`, `cracked`, `DB.users.default.roles`, `rate_limiting`,
//! `attachments`), so a config written for it loads unchanged. Keys of our own live in
//! their own sections (`connections`, `rotur`, `storage`, `welcome`) and are documented in
//! README.md.
//!
//! The `config.json` of this repository is built in and is the only place defaults are
//! written down. The user's file is laid over it (objects key by key, at every depth; any
//! other value, a list included, replaces the built-in one) and the result is deserialized
//! once. So a new setting is a field here plus its key in `config.json` (a field without a
//! built-in key fails the `embedded_defaults_*` test), and a user's file needs only the keys
//! it changes. Keys that no field reads are found during that same deserialization and
//! reported once at startup; otherwise they are ignored.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

/// The configuration shipped with the server: every default, and what runs when no file
/// exists.
pub const DEFAULT_CONFIG: &str = include_str!("../config.json");

/// How the built-in file is named in error messages.
const EMBEDDED: &str = "<embedded config.json>";

/// Where the configuration came from, for the startup log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// The file did not exist: the embedded defaults are in use.
    Defaults(PathBuf),
}

/// The whole configuration. Every field's default is its key in the built-in `config.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub websocket: Websocket,
    /// Sent as is in the handshake, `/info` and `server_info` (any keys; the built-in
    /// `name` and `owner` fill in for those the file leaves out).
    pub server: Map<String, Value>,
    /// Sent verbatim in the handshake.
    pub limits: Limits,
    /// `cracked` (local accounts and Rotur tokens), `cracked-only` or `rotur`; read it
    /// through [`Config::auth_mode`]. The built-in default is `cracked`, both with no file
    /// and with a file that leaves the key out (the original server takes `rotur` for a
    /// missing key): a server on a LAN without internet can only log people in with local
    /// accounts.
    pub auth_mode: String,
    pub cracked: Cracked,
    #[serde(rename = "DB")]
    pub db: Db,
    pub rate_limiting: RateLimiting,
    pub attachments: Attachments,
    pub uploads: Uploads,
    pub connections: Connections,
    pub abuse: Abuse,
    pub rotur: Rotur,
    pub storage: Storage,
    pub welcome: Welcome,
    /// Native TLS on the same port (see [`crate::tls`]).
    pub tls: TlsConfig,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Websocket {
    pub host: String,
    pub port: u16,
}

/// `limits`: kept as the original object (it is sent verbatim) plus the two values we use.
#[derive(Debug, Clone)]
pub struct Limits {
    pub raw: Map<String, Value>,
    pub post_content: usize,
    pub search_results: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cracked {
    pub allow_registration: bool,
    /// bcrypt cost for new password hashes (the original server uses 12).
    pub bcrypt_cost: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Db {
    pub users: DbUsers,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DbUsers {
    pub default: DefaultUser,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DefaultUser {
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimiting {
    pub enabled: bool,
    pub messages_per_minute: u32,
    pub burst_limit: u32,
    pub cooldown_seconds: u32,
}

/// `attachments` (docs/protocol.md#10-http-routes). The first five keys are the original
/// server's and are announced in the handshake.
#[derive(Debug, Clone, Deserialize)]
pub struct Attachments {
    pub enabled: bool,
    /// Largest file, in bytes (decoded: a JSON upload's base64 body may be a third larger).
    pub max_size: u64,
    /// Types (sniffed from the bytes) that may be uploaded: `image/*`, `application/pdf`, `*`.
    pub allowed_types: Vec<String>,
    /// Unexpired attachments one user may have; -1: any number, 0: no uploads.
    pub max_attachments_per_user: i64,
    /// Rotur subscription tiers whose uploads are permanent.
    pub permanent_tiers: Vec<String>,
    /// Ours: roles whose holders' uploads are permanent (local accounts have no Rotur tier).
    pub permanent_roles: Vec<String>,
    /// How long a permanent attachment is kept.
    pub permanent_expiration_days: f64,
    /// The longest any other attachment is kept (the original's size curve, capped by this).
    pub free_tier_max_expiration_days: f64,
    /// How long a user's Rotur tier is remembered, in seconds.
    pub subscription_cache_ttl: u64,
    /// Ours: the disk all attachments may take together; an upload beyond it is refused.
    pub max_total_bytes: u64,
    /// Ours: whether a download without credentials is served (the attachment's random id
    /// is then the key). The official client loads attachments with plain `<img>` tags and
    /// cannot send credentials; with `false` only the built-in web client and bots can.
    pub public_links: bool,
}

/// `uploads`: custom emojis.
#[derive(Debug, Clone, Deserialize)]
pub struct Uploads {
    /// Extensions of the image types an emoji may have (checked against the sniffed type).
    pub emoji_allowed_file_types: Vec<String>,
    /// Ours: the largest emoji image, in bytes.
    pub emoji_max_bytes: usize,
}

/// Our own section: everything that bounds what one client can cost.
#[derive(Debug, Clone, Deserialize)]
pub struct Connections {
    /// Open connections at most; the next one is refused (HTTP 503) and logged.
    pub max: usize,
    /// Largest inbound WebSocket message before authentication (a bigger one closes the
    /// connection with 1009) and for every command but `router::table::LARGE_COMMANDS`
    /// after it (a bigger one is answered with an error packet).
    pub max_message_bytes: usize,
    /// Largest inbound message of an authenticated connection for the commands that carry
    /// images (`router::table::LARGE_COMMANDS`); a bigger one closes with 1009.
    pub max_large_message_bytes: usize,
    /// The total size of the large messages (above `max_message_bytes`) being received at
    /// once, over all connections: what hundreds of clients together can make the server
    /// hold. A large message that does not fit is skipped and its sender told to retry.
    pub large_messages_budget_bytes: usize,
    /// Packets waiting to be written to one client; a client that lets more pile up is
    /// a slow consumer and is disconnected.
    pub send_queue_packets: usize,
    /// Bytes waiting to be written to one client, same rule.
    pub send_queue_bytes: usize,
    /// The kernel's send buffer per connection (SO_SNDBUF). Small, so that what a slow
    /// reader leaves unread piles up in the outbox, where it is counted.
    pub socket_send_buffer_bytes: usize,
    /// Time allowed for the HTTP request / WebSocket upgrade.
    pub handshake_timeout_seconds: u64,
    /// Interval of the `{"cmd":"ping"}` heartbeat (and a WebSocket ping).
    pub ping_interval_seconds: u64,
    /// A peer that sends nothing (not even a WebSocket pong) for this long is dropped.
    pub idle_timeout_seconds: u64,
    /// Failed login/register/auth attempts before the connection is closed.
    pub max_failed_auth: u32,
}

/// Our own section: what one address or one account may try before it is authenticated
/// (see `ratelimit::auth_attempts`).
#[derive(Debug, Clone, Deserialize)]
pub struct Abuse {
    /// Authentication attempts (`auth`, `login`, `register`, `token_login`) from one
    /// address per minute (as a burst, then refilled evenly).
    pub auth_attempts_per_minute: u32,
    /// Accounts registered from one address per hour.
    pub registrations_per_hour: u32,
    /// Wrong passwords for one account from one address before each further try waits
    /// 1 s, 2 s, 4 s, … after the last one.
    pub failed_logins_before_delay: u32,
    /// The longest such wait.
    pub max_login_delay_seconds: u64,
    /// Wrong passwords for one account from all addresses per hour; beyond them only an
    /// address that has not failed on the account may try.
    pub account_failures_per_hour: u32,
    /// Open connections from one address at most (HTTP ones included).
    pub connections_per_address: usize,
    /// A WebSocket connection that has not authenticated this long after it opened is
    /// closed (1008).
    pub auth_timeout_seconds: u64,
    /// Addresses none of these limits apply to (a load test on the server itself).
    pub exempt_addresses: Vec<std::net::IpAddr>,
}

/// Our own section: the Rotur token validation call.
#[derive(Debug, Clone, Deserialize)]
pub struct Rotur {
    pub validate_url: String,
    /// Where a user's subscription tier is asked (permanent uploads).
    pub profile_url: String,
    pub timeout_seconds: u64,
}

/// Our own section: the message posted for each new account, as the original server's
/// bundled welcome plugin does. It also gives a fresh server a first message: the web
/// client does not show live messages in a channel whose history is empty.
#[derive(Debug, Clone, Deserialize)]
pub struct Welcome {
    pub enabled: bool,
    pub channel: String,
    /// `{username}` is replaced by the new user's username.
    pub message: String,
}

/// Our own section: the SQLite store.
#[derive(Debug, Clone, Deserialize)]
pub struct Storage {
    pub sync: SyncMode,
    /// How often the server looks for commits by another process (the admin command line)
    /// and reloads accounts, roles and channels. The check is one cheap query; the tests
    /// make it short so that they do not wait for it.
    pub watch_interval_ms: u64,
}

/// How hard a commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Survives a crash of the process (SQLite `synchronous=NORMAL` in WAL mode).
    Normal,
    /// Survives a power loss (`synchronous=FULL`).
    Full,
}

/// How clients may log in (`auth_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Rotur tokens only (`"rotur"`, and any unknown value, as the original server does).
    Rotur,
    /// Rotur tokens and local accounts.
    Cracked,
    /// Local accounts only.
    CrackedOnly,
}

impl Config {
    /// The built-in configuration alone, as a server with no file runs.
    ///
    /// # Panics
    /// If the embedded `config.json` is invalid, which its unit tests rule out.
    pub fn defaults() -> Config {
        parse(DEFAULT_CONFIG, Path::new(EMBEDDED))
            .map(|(c, _)| c)
            .unwrap_or_else(|e| panic!("the embedded config.json is invalid: {e}"))
    }

    pub fn auth_mode(&self) -> AuthMode {
        match self.auth_mode.as_str() {
            "cracked" => AuthMode::Cracked,
            "cracked-only" => AuthMode::CrackedOnly,
            _ => AuthMode::Rotur,
        }
    }

    /// `host:port` to listen on.
    pub fn listen_addr(&self) -> String {
        if self.websocket.host.contains(':') {
            format!("[{}]:{}", self.websocket.host, self.websocket.port)
        } else {
            format!("{}:{}", self.websocket.host, self.websocket.port)
        }
    }
}

/// Why a configuration file cannot be used. The message names the file and what to fix.
#[derive(Debug)]
pub enum ConfigError {
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        error: String,
    },
    Type {
        path: PathBuf,
        key: String,
        error: String,
    },
    Value {
        path: PathBuf,
        key: String,
        error: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, error } => {
                write!(f, "cannot read config file {}: {error}", path.display())
            }
            ConfigError::Syntax {
                path,
                line,
                column,
                error,
            } => write!(
                f,
                "config file {} is not valid JSON at line {line}, column {column}: {error}",
                path.display()
            ),
            ConfigError::Type { path, key, error } => write!(
                f,
                "config file {}: key `{key}` has the wrong type: {error}",
                path.display()
            ),
            ConfigError::Value { path, key, error } => {
                write!(f, "config file {}: key `{key}`: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Loads the configuration from `path`; a missing file means the built-in one alone.
/// Returns the config, where it came from, and the keys it does not use.
pub fn load(path: &Path) -> Result<(Config, Source, Vec<String>), ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let (config, unused) = parse(&text, path)?;
            Ok((config, Source::File(path.to_path_buf()), unused))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (config, unused) = parse(DEFAULT_CONFIG, Path::new(EMBEDDED))?;
            Ok((config, Source::Defaults(path.to_path_buf()), unused))
        }
        Err(error) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Parses the user's configuration text, laid over the built-in one. Returns the config
/// and the keys no setting reads (dotted paths, in the order of the user's file). `path` is
/// only used in error messages.
pub fn parse(text: &str, path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let mut value = json_object(text, path)?;
    fill_in(
        &mut value,
        json_object(DEFAULT_CONFIG, Path::new(EMBEDDED))?,
    );
    let mut unused = Vec::new();
    let mut note_unused = |key: serde_ignored::Path<'_>| unused.push(key.to_string());
    let config: Config = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        &value,
        &mut note_unused,
    ))
    .map_err(|e| ConfigError::Type {
        path: path.to_path_buf(),
        key: e.path().to_string(),
        error: strip_position(&e.inner().to_string()),
    })?;
    config.validate(path)?;
    Ok((config, unused))
}

/// Parses `text` as JSON, which must be an object.
fn json_object(text: &str, path: &Path) -> Result<Value, ConfigError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        error: strip_position(&e.to_string()),
    })?;
    if !value.is_object() {
        return Err(ConfigError::Type {
            path: path.to_path_buf(),
            key: "(top level)".into(),
            error: "expected a JSON object".into(),
        });
    }
    Ok(value)
}

/// Adds to `user` every key of `defaults` it lacks, recursing where both sides hold an
/// object; anything the user wrote is kept as written. The user's keys come first, so the
/// unused keys are reported in the order of the user's file.
fn fill_in(user: &mut Value, defaults: Value) {
    let (Value::Object(user), Value::Object(defaults)) = (user, defaults) else {
        return;
    };
    for (key, default) in defaults {
        match user.get_mut(&key) {
            Some(value) => fill_in(value, default),
            None => {
                user.insert(key, default);
            }
        }
    }
}

impl Config {
    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |key: &str, error: &str| ConfigError::Value {
            path: path.to_path_buf(),
            key: key.into(),
            error: error.into(),
        };
        let c = &self.connections;
        if c.max == 0 {
            return Err(bad("connections.max", "must be at least 1"));
        }
        if c.max_message_bytes < 1024 {
            return Err(bad(
                "connections.max_message_bytes",
                "must be at least 1024",
            ));
        }
        if c.max_large_message_bytes < c.max_message_bytes {
            return Err(bad(
                "connections.max_large_message_bytes",
                "must be at least connections.max_message_bytes",
            ));
        }
        if c.large_messages_budget_bytes < c.max_large_message_bytes {
            return Err(bad(
                "connections.large_messages_budget_bytes",
                "must be at least connections.max_large_message_bytes (or no large message \
                 could ever be received)",
            ));
        }
        if c.send_queue_packets == 0 || c.send_queue_bytes < c.max_message_bytes {
            return Err(bad(
                "connections.send_queue_bytes",
                "must be at least connections.max_message_bytes, with send_queue_packets ≥ 1",
            ));
        }
        if c.ping_interval_seconds == 0 || c.idle_timeout_seconds <= c.ping_interval_seconds {
            return Err(bad(
                "connections.idle_timeout_seconds",
                "must be greater than ping_interval_seconds (and the interval at least 1)",
            ));
        }
        if !(4..=31).contains(&self.cracked.bcrypt_cost) {
            return Err(bad(
                "cracked.bcrypt_cost",
                "must be between 4 and 31 (12 is usual)",
            ));
        }
        if self.limits.post_content == 0 {
            return Err(bad("limits.post_content", "must be at least 1"));
        }
        if self.rotur.timeout_seconds == 0 {
            return Err(bad("rotur.timeout_seconds", "must be at least 1"));
        }
        if self.storage.watch_interval_ms < 10 {
            return Err(bad("storage.watch_interval_ms", "must be at least 10"));
        }
        if let Some((key, error)) = self.tls.problem() {
            return Err(bad(key, error));
        }
        Ok(())
    }
}

/// serde_json appends " at line L column C"; the key path already says where.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

impl Limits {
    /// Reads the two numbers we use; `raw` already holds the built-in values for any the
    /// user's file leaves out.
    fn from_raw(raw: Map<String, Value>) -> Result<Limits, String> {
        let number = |key: &str| -> Result<usize, String> {
            raw.get(key)
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| format!("`{key}` must be a non-negative integer"))
        };
        let post_content = number("post_content")?;
        let search_results = number("search_results")?.max(1);
        Ok(Limits {
            raw,
            post_content,
            search_results,
        })
    }
}

impl<'de> Deserialize<'de> for Limits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Map::<String, Value>::deserialize(d)?;
        Limits::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

/// `tls`: whether the port also speaks TLS, and with which certificate.
/// `tls` in config.json.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TlsConfig {
    pub mode: TlsMode,
    /// PEM certificate chain (leaf first) for `files` mode.
    pub cert: String,
    /// PEM private key for `files` mode.
    pub key: String,
}

/// `tls.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// A certificate made on first start and kept in the data directory.
    SelfSigned,
    /// `tls.cert` and `tls.key`, picked up again when they change.
    Files,
    /// Plain `ws://` and `http://` only.
    Off,
}

impl TlsConfig {
    /// A person-readable complaint about an inconsistent section, naming the key.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if self.mode == TlsMode::Files && (self.cert.is_empty() || self.key.is_empty()) {
            return Some((
                "tls.cert",
                "tls.mode \"files\" needs both tls.cert and tls.key (PEM file paths)",
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<(Config, Vec<String>), ConfigError> {
        parse(text, Path::new("test.json"))
    }

    #[test]
    fn embedded_defaults_parse_without_unused_keys() {
        let (c, unused) = p(DEFAULT_CONFIG).unwrap();
        assert!(unused.is_empty(), "{unused:?}");
        assert_eq!(c.websocket.port, 5613);
        assert_eq!(c.websocket.host, "0.0.0.0");
        assert_eq!(c.auth_mode(), AuthMode::Cracked);
    }

    #[test]
    fn reference_config_is_accepted_and_unused_keys_reported() {
        let text = r#"{"websocket":{"host":"127.0.0.1","port":5613},
            "service":{"version":"1.0.0"},"DB":{"channels":"db/channels.json",
            "users":{"file":"db/users.json","default":{"roles":["user"]}}},
            "limits":{"post_content":2000,"search_results":30},"auth_mode":"rotur"}"#;
        let (c, unused) = p(text).unwrap();
        assert_eq!(c.auth_mode(), AuthMode::Rotur);
        assert_eq!(unused, vec!["service", "DB.channels", "DB.users.file"]);
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let e = p("{\n  \"websocket\": {,}\n}").unwrap_err().to_string();
        assert!(e.contains("test.json") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn type_error_names_the_key() {
        let e = p(r#"{"websocket":{"port":"x"}}"#).unwrap_err().to_string();
        assert!(
            e.contains("`websocket.port`") && e.contains("expected u16"),
            "{e}"
        );
        let e = p(r#"{"limits":{"post_content":"x"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("post_content"), "{e}");
    }

    #[test]
    fn a_file_without_auth_mode_gets_the_built_in_cracked() {
        let (c, unused) = p("{}").unwrap();
        assert_eq!(c.auth_mode, "cracked");
        assert_eq!(c.auth_mode(), AuthMode::Cracked);
        assert!(unused.is_empty(), "{unused:?}");
    }

    #[test]
    fn a_section_is_completed_key_by_key_and_lists_are_replaced() {
        let (c, _) = p(r#"{"websocket":{"port":7000},"connections":{"max":3},
            "server":{"name":"Club"},"DB":{"users":{"default":{"roles":["member"]}}},
            "attachments":{"allowed_types":["image/png"]}}"#)
        .unwrap();
        assert_eq!(
            (c.websocket.host.as_str(), c.websocket.port),
            ("0.0.0.0", 7000)
        );
        assert_eq!(c.connections.max, 3);
        assert_eq!(c.connections.max_message_bytes, 65536);
        assert_eq!(c.server["name"], "Club");
        assert_eq!(c.server["owner"]["name"], "Admin");
        assert_eq!(c.db.users.default.roles, ["member"]);
        assert_eq!(c.attachments.allowed_types, ["image/png"]);
        assert_eq!(c.attachments.max_size, 26_214_400);
    }

    #[test]
    fn limits_keep_the_users_extra_keys_and_the_built_in_numbers() {
        let (c, unused) = p(r#"{"limits":{"post_content":500,"upload_mb":5}}"#).unwrap();
        assert_eq!((c.limits.post_content, c.limits.search_results), (500, 30));
        assert_eq!(
            Value::Object(c.limits.raw),
            serde_json::json!({"post_content": 500, "upload_mb": 5, "search_results": 30})
        );
        assert!(unused.is_empty(), "limits is sent as is: {unused:?}");
    }

    #[test]
    fn unused_keys_are_found_at_any_depth() {
        let (_, unused) =
            p(r#"{"connections":{"maxx":1},"storage":{"sync":"full","wal":true},"x":[1]}"#)
                .unwrap();
        assert_eq!(unused, ["connections.maxx", "storage.wal", "x"]);
    }

    #[test]
    fn a_null_section_is_a_type_error_not_a_default() {
        let e = p(r#"{"rotur":null}"#).unwrap_err().to_string();
        assert!(e.contains("`rotur` has the wrong type"), "{e}");
    }

    #[test]
    fn a_watch_interval_below_10_ms_is_refused() {
        let e = p(r#"{"storage":{"watch_interval_ms":0}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`storage.watch_interval_ms`: must be at least 10"),
            "{e}"
        );
        let (c, _) = p(r#"{"storage":{"watch_interval_ms":50}}"#).unwrap();
        assert_eq!(c.storage.watch_interval_ms, 50);
    }

    #[test]
    fn tls_modes_and_the_files_mode_needing_both_paths() {
        let (c, _) = p("{}").unwrap();
        assert_eq!(c.tls.mode, TlsMode::SelfSigned);
        let (c, _) = p(r#"{"tls":{"mode":"off"}}"#).unwrap();
        assert_eq!(c.tls.mode, TlsMode::Off);
        let (c, _) = p(r#"{"tls":{"mode":"files","cert":"a.pem","key":"k.pem"}}"#).unwrap();
        assert_eq!((c.tls.mode, c.tls.cert.as_str()), (TlsMode::Files, "a.pem"));
        let e = p(r#"{"tls":{"mode":"files","cert":"a.pem"}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`tls.cert`: tls.mode \"files\" needs both"),
            "{e}"
        );
        let e = p(r#"{"tls":{"mode":"on"}}"#).unwrap_err().to_string();
        assert!(e.contains("tls.mode"), "{e}");
    }

    #[test]
    fn large_message_limits_default_and_must_be_in_order() {
        let (c, _) = p("{}").unwrap();
        assert_eq!(
            (
                c.connections.max_large_message_bytes,
                c.connections.large_messages_budget_bytes
            ),
            (2_097_152, 8_388_608)
        );
        let e = p(r#"{"connections":{"max_large_message_bytes":1024}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`connections.max_large_message_bytes`: must be at least"),
            "{e}"
        );
        let e = p(r#"{"connections":{"large_messages_budget_bytes":65536}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`connections.large_messages_budget_bytes`: must be at least"),
            "{e}"
        );
    }

    #[test]
    fn unknown_auth_mode_behaves_like_rotur() {
        let (c, _) = p(r#"{"auth_mode":"weird"}"#).unwrap();
        assert_eq!(c.auth_mode(), AuthMode::Rotur);
    }
}
