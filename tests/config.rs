//! Command line and configuration errors: clear words, exit code 2, nothing started.

mod common;

use std::process::Command;

use common::binary;
use originchats_server::config::{self, AuthMode, Source};
use serde_json::json;

fn run_with_config(text: Option<&str>) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    if let Some(text) = text {
        std::fs::write(&path, text).unwrap();
    }
    Command::new(binary())
        .arg("--config")
        .arg(&path)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("admin")
        .arg("users")
        .output()
        .unwrap()
}

#[test]
fn invalid_json_names_file_line_and_column() {
    let out = run_with_config(Some("{\n  \"websocket\": {\"port\": 5613,}\n}"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.json is not valid JSON at line 2, column"),
        "{err}"
    );
    assert!(err.contains("nothing was started"), "{err}");
}

#[test]
fn wrong_type_names_the_key() {
    let out = run_with_config(Some(r#"{"connections": {"max": "lots"}}"#));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("key `connections.max` has the wrong type"),
        "{err}"
    );
    let out = run_with_config(Some(r#"{"storage": {"sync": "sometimes"}}"#));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("storage.sync"));
}

#[test]
fn a_missing_config_uses_the_defaults() {
    let out = run_with_config(None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no accounts yet\n");
}

#[test]
fn a_reference_config_is_accepted_and_unused_keys_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config(serde_json::json!({}));
    config["service"] = serde_json::json!({"version": "1.0.0"});
    config["DB"]["channels"] = serde_json::json!("db/channels.json");
    let server = common::Server::in_dir(dir, config);
    server.wait_log("config keys this server does not use (ignored): DB.channels, service");
}

/// No file at all: the built-in config.json alone, whose `auth_mode` is `cracked`.
#[test]
fn no_file_means_local_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("config.json");
    let (config, source, unused) = config::load(&missing).unwrap();
    assert_eq!(source, Source::Defaults(missing));
    assert_eq!(config.auth_mode(), AuthMode::Cracked);
    assert!(unused.is_empty(), "{unused:?}");
}

/// A file that leaves `auth_mode` out (and almost everything else) gets the same as no
/// file: local accounts, every other key from the built-in config.json.
#[test]
fn a_file_without_auth_mode_means_local_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        json!({"websocket": {"host": "127.0.0.1", "port": 0}, "cracked": {"bcrypt_cost": 4}});
    let (parsed, _) = config::parse(&config.to_string(), "config.json".as_ref()).unwrap();
    assert_eq!(parsed.auth_mode(), AuthMode::Cracked);
    let server = common::Server::in_dir(dir, config);
    server.wait_log("(cracked mode,");
    let mut c = server.client();
    let handshake = c.expect("handshake");
    assert_eq!(handshake["val"]["auth_mode"], "cracked");
    assert_eq!(handshake["val"]["server"]["name"], "My OriginChats Server");
    c.register("alice", "secret123");
    // The built-in welcome section is on.
    assert_eq!(
        c.expect("message_new")["message"]["content"],
        "Welcome alice! Thanks for joining the server."
    );
}

#[test]
fn help_and_bad_arguments() {
    let out = Command::new(binary()).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--data-dir DIR"));
    let out = Command::new(binary()).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument `--bogus`"));
}
