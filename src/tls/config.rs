//! The `tls` section of the configuration: whether the port also speaks TLS, and with which
//! certificate. Self-contained (its own serde defaults), so it can sit in any config scheme.

use serde::Deserialize;

/// `tls` in config.json.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TlsConfig {
    pub mode: TlsMode,
    /// PEM certificate chain (leaf first) for `files` mode.
    pub cert: String,
    /// PEM private key for `files` mode.
    pub key: String,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            mode: TlsMode::SelfSigned,
            cert: String::new(),
            key: String::new(),
        }
    }
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

    #[test]
    fn modes_parse_and_default() {
        let c: TlsConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, TlsConfig::default());
        let c: TlsConfig =
            serde_json::from_str(r#"{"mode": "files", "cert": "a.pem", "key": "k.pem"}"#).unwrap();
        assert_eq!(c.mode, TlsMode::Files);
        assert!(c.problem().is_none());
        let c: TlsConfig = serde_json::from_str(r#"{"mode": "off"}"#).unwrap();
        assert_eq!(c.mode, TlsMode::Off);
        assert!(serde_json::from_str::<TlsConfig>(r#"{"mode": "on"}"#).is_err());
        let c: TlsConfig = serde_json::from_str(r#"{"mode": "files"}"#).unwrap();
        assert_eq!(c.problem().map(|p| p.0), Some("tls.cert"));
    }
}
