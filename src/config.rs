//! Typed configuration: `config.json`, its defaults, and the errors a person can act on.
//!
//! The file uses the original server's key names where they exist (`websocket`, `server`,
//! `limits`, `auth_mode`, `cracked`, `DB.users.default.roles`, `rate_limiting`,
//! `attachments`), so a config written for it loads unchanged. Keys of our own live in
//! their own sections (`connections`, `rotur`, `storage`) and are documented in README.md.
//! Keys we do not use are reported once at startup and otherwise ignored.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

/// The configuration shipped with the server, also used when no file exists.
pub const DEFAULT_CONFIG: &str = include_str!("../config.json");

/// Where the configuration came from, for the startup log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// The file did not exist: the embedded defaults are in use.
    Defaults(PathBuf),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    pub websocket: Websocket,
    /// Sent verbatim in the handshake, `/info` and `server_info` (any keys).
    pub server: Map<String, Value>,
    /// Sent verbatim in the handshake.
    pub limits: Limits,
    pub auth_mode: String,
    pub cracked: Cracked,
    #[serde(rename = "DB")]
    pub db: Db,
    pub rate_limiting: RateLimiting,
    pub attachments: Attachments,
    pub connections: Connections,
    pub rotur: Rotur,
    pub storage: Storage,
    pub welcome: Welcome,
    /// Native TLS on the same port (see [`crate::tls`]).
    pub tls: crate::tls::TlsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
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
#[serde(default)]
pub struct Cracked {
    pub allow_registration: bool,
    /// bcrypt cost for new password hashes (the original server uses 12).
    pub bcrypt_cost: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Db {
    pub users: DbUsers,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DbUsers {
    pub default: DefaultUser,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DefaultUser {
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RateLimiting {
    pub enabled: bool,
    pub messages_per_minute: u32,
    pub burst_limit: u32,
    pub cooldown_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Attachments {
    pub enabled: bool,
    pub max_size: u64,
    pub allowed_types: Vec<String>,
    pub max_attachments_per_user: i64,
    pub permanent_tiers: Vec<String>,
}

/// Our own section: everything that bounds what one client can cost.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Connections {
    /// Open connections at most; the next one is refused (HTTP 503) and logged.
    pub max: usize,
    /// Largest inbound WebSocket message; a bigger one closes the connection with 1009.
    pub max_message_bytes: usize,
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

/// Our own section: the Rotur token validation call.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Rotur {
    pub validate_url: String,
    pub timeout_seconds: u64,
}

/// Our own section: the message posted for each new account, as the original server's
/// bundled welcome plugin does. It also gives a fresh server a first message: the web
/// client does not show live messages in a channel whose history is empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Welcome {
    pub enabled: bool,
    pub channel: String,
    /// `{username}` is replaced by the new user's username.
    pub message: String,
}

impl Default for Welcome {
    fn default() -> Self {
        Welcome {
            enabled: true,
            channel: "general".into(),
            message: "Welcome {username}! Thanks for joining the server.".into(),
        }
    }
}

/// Our own section: the SQLite store.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Storage {
    pub sync: SyncMode,
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
    /// The embedded defaults.
    pub fn defaults() -> Config {
        // The embedded file is tested to parse (see the tests below).
        parse(DEFAULT_CONFIG, Path::new("<embedded config.json>"))
            .map(|(c, _)| c)
            .unwrap_or_else(|e| panic!("embedded config.json is invalid: {e}"))
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

/// Loads the configuration from `path`; a missing file means the embedded defaults.
/// Returns the config, where it came from, and the keys it does not use.
pub fn load(path: &Path) -> Result<(Config, Source, Vec<String>), ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let (config, unused) = parse(&text, path)?;
            Ok((config, Source::File(path.to_path_buf()), unused))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((
            Config::defaults(),
            Source::Defaults(path.to_path_buf()),
            Vec::new(),
        )),
        Err(error) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Parses configuration text. `path` is only used in error messages.
pub fn parse(text: &str, path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
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
    let config: Config =
        serde_path_to_error::deserialize(&value).map_err(|e| ConfigError::Type {
            path: path.to_path_buf(),
            key: e.path().to_string(),
            error: strip_position(&e.inner().to_string()),
        })?;
    config.validate(path)?;
    let mut unused = Vec::new();
    collect_unused(&value, &known_keys(), "", &mut unused);
    Ok((config, unused))
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

/// A tree of the keys this server reads. `None` children = any keys below are fine.
struct Known(&'static [(&'static str, Option<Known>)]);

fn known_keys() -> Known {
    Known(&[
        ("websocket", Some(Known(&[("host", None), ("port", None)]))),
        ("server", None),
        ("limits", None),
        ("auth_mode", None),
        (
            "cracked",
            Some(Known(&[
                ("allow_registration", None),
                ("bcrypt_cost", None),
            ])),
        ),
        (
            "DB",
            Some(Known(&[(
                "users",
                Some(Known(&[("default", Some(Known(&[("roles", None)])))])),
            )])),
        ),
        (
            "rate_limiting",
            Some(Known(&[
                ("enabled", None),
                ("messages_per_minute", None),
                ("burst_limit", None),
                ("cooldown_seconds", None),
            ])),
        ),
        ("attachments", None),
        (
            "connections",
            Some(Known(&[
                ("max", None),
                ("max_message_bytes", None),
                ("send_queue_packets", None),
                ("send_queue_bytes", None),
                ("socket_send_buffer_bytes", None),
                ("handshake_timeout_seconds", None),
                ("ping_interval_seconds", None),
                ("idle_timeout_seconds", None),
                ("max_failed_auth", None),
            ])),
        ),
        (
            "rotur",
            Some(Known(&[("validate_url", None), ("timeout_seconds", None)])),
        ),
        ("storage", Some(Known(&[("sync", None)]))),
        (
            "welcome",
            Some(Known(&[
                ("enabled", None),
                ("channel", None),
                ("message", None),
            ])),
        ),
        (
            "tls",
            Some(Known(&[("mode", None), ("cert", None), ("key", None)])),
        ),
    ])
}

fn collect_unused(value: &Value, known: &Known, prefix: &str, out: &mut Vec<String>) {
    let Some(map) = value.as_object() else { return };
    for (key, child) in map {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match known.0.iter().find(|(k, _)| k == key) {
            None => out.push(path),
            Some((_, Some(sub))) => collect_unused(child, sub, &path, out),
            Some((_, None)) => {}
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            websocket: Websocket::default(),
            server: default_server(),
            limits: Limits::default(),
            auth_mode: "rotur".into(),
            cracked: Cracked::default(),
            db: Db::default(),
            rate_limiting: RateLimiting::default(),
            attachments: Attachments::default(),
            connections: Connections::default(),
            rotur: Rotur::default(),
            storage: Storage::default(),
            welcome: Welcome::default(),
            tls: crate::tls::TlsConfig::default(),
        }
    }
}

fn default_server() -> Map<String, Value> {
    let mut owner = Map::new();
    owner.insert("name".into(), Value::from("Admin"));
    let mut server = Map::new();
    server.insert("name".into(), Value::from("My OriginChats Server"));
    server.insert("owner".into(), Value::Object(owner));
    server
}

impl Default for Websocket {
    fn default() -> Self {
        Websocket {
            host: "127.0.0.1".into(),
            port: 5613,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from_raw(Map::new()).unwrap_or_else(|_| unreachable!("empty limits are valid"))
    }
}

impl Limits {
    fn from_raw(mut raw: Map<String, Value>) -> Result<Limits, String> {
        let mut number = |key: &str, default: usize| -> Result<usize, String> {
            match raw.get(key) {
                None => {
                    raw.insert(key.into(), Value::from(default));
                    Ok(default)
                }
                Some(v) => v
                    .as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| format!("`{key}` must be a non-negative integer")),
            }
        };
        let post_content = number("post_content", 2000)?;
        let search_results = number("search_results", 30)?.max(1);
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

impl Default for Cracked {
    fn default() -> Self {
        Cracked {
            allow_registration: true,
            bcrypt_cost: 12,
        }
    }
}

impl Default for DefaultUser {
    fn default() -> Self {
        DefaultUser {
            roles: vec!["user".into()],
        }
    }
}

impl Default for RateLimiting {
    fn default() -> Self {
        RateLimiting {
            enabled: true,
            messages_per_minute: 60,
            burst_limit: 10,
            cooldown_seconds: 30,
        }
    }
}

impl Default for Attachments {
    fn default() -> Self {
        Attachments {
            enabled: false,
            max_size: 104_857_600,
            allowed_types: ["image/*", "video/*", "audio/*", "application/pdf"]
                .map(String::from)
                .to_vec(),
            max_attachments_per_user: -1,
            permanent_tiers: vec!["pro".into(), "max".into()],
        }
    }
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            max: 512,
            max_message_bytes: 64 * 1024,
            send_queue_packets: 256,
            send_queue_bytes: 1024 * 1024,
            socket_send_buffer_bytes: 64 * 1024,
            handshake_timeout_seconds: 10,
            ping_interval_seconds: 30,
            idle_timeout_seconds: 90,
            max_failed_auth: 10,
        }
    }
}

impl Default for Rotur {
    fn default() -> Self {
        Rotur {
            validate_url: "https://api.rotur.dev/validate".into(),
            timeout_seconds: 5,
        }
    }
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            sync: SyncMode::Normal,
        }
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
    fn unknown_auth_mode_behaves_like_rotur() {
        let (c, _) = p(r#"{"auth_mode":"weird"}"#).unwrap();
        assert_eq!(c.auth_mode(), AuthMode::Rotur);
    }
}
