//! Webhooks (docs/protocol.md §8.19, §10.13): the six `webhook_*` commands with
//! `manage_server`, and `POST /webhooks?token=…` posting into the webhook's channel, seen
//! by a real WebSocket client. The token is shown only by create and regenerate, and is not
//! in the database in clear.

mod common;

use common::{Client, Server, err, until, with_role};
use serde_json::{Value, json};

/// `POST <path>` with a JSON body; the status line and the body of the answer.
fn post(server: &Server, path: &str, body: &str) -> (String, String) {
    server.http(&format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

fn error_body(text: &str) -> Value {
    json!({"error": text})
}

fn parsed(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

/// Creates a webhook in `channel`; returns its id and token.
fn create(owner: &mut Client, channel: &str, name: &str) -> (String, String) {
    let reply = owner.request(json!({"cmd": "webhook_create", "channel": channel, "name": name}));
    assert_eq!(reply["cmd"], "webhook_create", "{reply}");
    (
        reply["webhook"]["id"].as_str().unwrap().to_string(),
        reply["webhook"]["token"].as_str().unwrap().to_string(),
    )
}

#[test]
fn commands_success_and_errors() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let reply = owner.request(json!({"cmd": "webhook_create", "channel": "general", "name": " CI ", "avatar": "https://example.com/a.png"}));
    let webhook = &reply["webhook"];
    let id = webhook["id"].as_str().unwrap().to_string();
    let token = webhook["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 43);
    assert!(webhook["created_at"].as_f64().unwrap() > 1.0e9);
    let alice_id = webhook["created_by"].clone();
    assert!(alice_id.as_str().is_some_and(|s| !s.is_empty()), "{reply}");
    let shown = json!({"id": id, "channel": "general", "name": "CI",
        "avatar": "https://example.com/a.png", "created_by": alice_id,
        "created_at": webhook["created_at"]});
    let mut with_token = shown.clone();
    with_token["token"] = json!(token);
    assert_eq!(
        reply,
        json!({"cmd": "webhook_create", "webhook": with_token})
    );

    for (fields, text) in [
        (json!({"name": "x"}), "Channel is required"),
        (json!({"channel": "general"}), "Webhook name is required"),
        (
            json!({"channel": "general", "name": "  "}),
            "Webhook name is required",
        ),
        (json!({"channel": "nope", "name": "x"}), "Channel not found"),
        (
            json!({"channel": "general", "name": "x".repeat(101)}),
            "Webhook name must be at most 100 characters",
        ),
        (
            json!({"channel": "general", "name": "x", "avatar": 5}),
            "Webhook avatar must be a string or null",
        ),
    ] {
        let mut packet = fields.clone();
        packet["cmd"] = json!("webhook_create");
        assert_eq!(
            owner.request(packet),
            err("webhook_create", text),
            "{fields}"
        );
    }
    owner.request(json!({"cmd": "channel_create", "name": "talk", "type": "voice"}));
    until(&mut owner, "channel_create");
    assert_eq!(
        owner.request(json!({"cmd": "webhook_create", "channel": "talk", "name": "x"})),
        err(
            "webhook_create",
            "Webhooks can only be created for text channels"
        )
    );

    // get and list never show the token.
    assert_eq!(
        owner.request(json!({"cmd": "webhook_get", "id": id})),
        json!({"cmd": "webhook_get", "webhook": shown})
    );
    assert_eq!(
        owner.request(json!({"cmd": "webhook_list"})),
        json!({"cmd": "webhook_list", "webhooks": [shown]})
    );
    assert_eq!(
        owner.request(json!({"cmd": "webhook_list", "channel": "general"})),
        json!({"cmd": "webhook_list", "webhooks": [shown]})
    );
    owner.request(json!({"cmd": "channel_create", "name": "news", "type": "text"}));
    until(&mut owner, "channel_create");
    assert_eq!(
        owner.request(json!({"cmd": "webhook_list", "channel": "news"})),
        json!({"cmd": "webhook_list", "webhooks": []})
    );
    assert_eq!(
        owner.request(json!({"cmd": "webhook_list", "channel": "nope"})),
        err("webhook_list", "Channel not found")
    );
    for cmd in [
        "webhook_get",
        "webhook_update",
        "webhook_delete",
        "webhook_regenerate",
    ] {
        assert_eq!(
            owner.request(json!({"cmd": cmd})),
            err(cmd, "Webhook ID is required")
        );
        assert_eq!(
            owner.request(json!({"cmd": cmd, "id": "missing", "name": "x"})),
            err(cmd, "Webhook not found")
        );
    }

    // update
    assert_eq!(
        owner.request(json!({"cmd": "webhook_update", "id": id})),
        err("webhook_update", "No updates provided")
    );
    assert_eq!(
        owner.request(json!({"cmd": "webhook_update", "id": id, "name": ""})),
        err("webhook_update", "Webhook name must be a non-empty string")
    );
    let mut renamed = shown.clone();
    renamed["name"] = json!("Deploys");
    renamed["avatar"] = Value::Null;
    assert_eq!(
        owner
            .request(json!({"cmd": "webhook_update", "id": id, "name": "Deploys", "avatar": null})),
        json!({"cmd": "webhook_update", "webhook": renamed})
    );
    assert_eq!(
        owner.request(json!({"cmd": "webhook_get", "id": id})),
        json!({"cmd": "webhook_get", "webhook": renamed})
    );

    // regenerate: a new token, the old one stops working.
    assert_eq!(
        post(
            &server,
            &format!("/webhooks?token={token}"),
            r#"{"content":"a"}"#
        )
        .0,
        "HTTP/1.1 204 No Content"
    );
    until(&mut owner, "message_new");
    let reply = owner.request(json!({"cmd": "webhook_regenerate", "id": id}));
    let new_token = reply["webhook"]["token"].as_str().unwrap().to_string();
    assert_ne!(new_token, token);
    let mut regenerated = renamed.clone();
    regenerated["token"] = json!(new_token);
    assert_eq!(
        reply,
        json!({"cmd": "webhook_regenerate", "webhook": regenerated})
    );
    let (status, body) = post(
        &server,
        &format!("/webhooks?token={token}"),
        r#"{"content":"a"}"#,
    );
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    assert_eq!(parsed(&body), error_body("Invalid webhook token"));
    assert_eq!(
        post(
            &server,
            &format!("/webhooks?token={new_token}"),
            r#"{"content":"b"}"#
        )
        .0,
        "HTTP/1.1 204 No Content"
    );
    assert_eq!(until(&mut owner, "message_new")["message"]["content"], "b");

    // delete
    assert_eq!(
        owner.request(json!({"cmd": "webhook_delete", "id": id})),
        json!({"cmd": "webhook_delete", "id": id, "deleted": true})
    );
    assert_eq!(
        owner.request(json!({"cmd": "webhook_get", "id": id})),
        err("webhook_get", "Webhook not found")
    );
    assert_eq!(
        owner.request(json!({"cmd": "webhook_list"})),
        json!({"cmd": "webhook_list", "webhooks": []})
    );
    let (status, body) = post(
        &server,
        &format!("/webhooks?token={new_token}"),
        r#"{"content":"a"}"#,
    );
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    assert_eq!(parsed(&body), error_body("Invalid webhook token"));
}

#[test]
fn a_normal_user_is_denied() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let (id, _) = create(&mut owner, "general", "CI");
    let mut bob = server.register("bob");
    owner.sync();
    for cmd in [
        "webhook_create",
        "webhook_get",
        "webhook_list",
        "webhook_update",
        "webhook_delete",
        "webhook_regenerate",
    ] {
        assert_eq!(
            bob.request(json!({"cmd": cmd, "id": id, "channel": "general", "name": "x"})),
            err(cmd, "Access denied: 'manage_server' permission required")
        );
    }
    assert_eq!(
        owner.request(json!({"cmd": "webhook_get", "id": id}))["webhook"]["name"],
        "CI"
    );
}

#[test]
fn the_token_is_not_stored_in_clear() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let (id, token) = create(&mut owner, "general", "CI");
    let reply = owner.request(json!({"cmd": "webhook_regenerate", "id": id}));
    let regenerated = reply["webhook"]["token"].as_str().unwrap().to_string();
    let mut files = 0;
    for entry in std::fs::read_dir(server.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for t in [&token, &regenerated] {
            assert!(
                !bytes.windows(t.len()).any(|w| w == t.as_bytes()),
                "{} holds a token",
                path.display()
            );
        }
        files += 1;
    }
    assert!(files >= 1);
    // The webhook is there all the same (the check above looked at the right files).
    assert_eq!(
        post(
            &server,
            &format!("/webhooks?token={regenerated}"),
            r#"{"content":"x"}"#
        )
        .0,
        "HTTP/1.1 204 No Content"
    );
    // Nor in the log (the server runs with debug logging).
    let log = server.log_so_far();
    for t in [&token, &regenerated] {
        assert!(!log.contains(t.as_str()), "the log holds a token");
    }
}

#[test]
fn a_post_arrives_as_a_message() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let reply = owner.request(json!({"cmd": "webhook_create", "channel": "general", "name": "CI", "avatar": "https://example.com/ci.png"}));
    let id = reply["webhook"]["id"].as_str().unwrap().to_string();
    let token = reply["webhook"]["token"].as_str().unwrap().to_string();
    let mut bob = server.register("bob");
    owner.sync();

    let (status, body) = post(
        &server,
        &format!("/webhooks?token={token}"),
        r#"{"content": " Build passed "}"#,
    );
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 204 No Content", "")
    );
    let packet = until(&mut bob, "message_new");
    let message = &packet["message"];
    assert!(message["timestamp"].as_f64().unwrap() > 1.0e9);
    assert_eq!(message["id"].as_str().unwrap().len(), 36);
    assert_eq!(
        packet,
        json!({"cmd": "message_new", "message": {"user": "originChats", "content": "Build passed",
            "timestamp": message["timestamp"], "id": message["id"],
            "webhook": {"id": id, "name": "CI", "avatar": "https://example.com/ci.png"},
            "pinned": false, "type": "message", "interaction": null},
            "channel": "general", "global": true})
    );
    assert_eq!(until(&mut owner, "message_new"), packet);

    // `text`, a path below /webhooks, `username` / `avatar_url` and embeds.
    let body = json!({"text": "deployed", "username": "Deploy bot", "avatar_url": "https://example.com/d.png",
        "embeds": [{"title": "v1.2", "description": "ok", "color": 65280}]});
    let (status, _) = post(
        &server,
        &format!("/webhooks/github?token={token}"),
        &body.to_string(),
    );
    assert_eq!(status, "HTTP/1.1 204 No Content");
    let packet = until(&mut bob, "message_new");
    let message = &packet["message"];
    assert_eq!(
        *message,
        json!({"user": "originChats", "content": "deployed", "timestamp": message["timestamp"],
            "id": message["id"], "webhook": {"id": id, "name": "Deploy bot", "avatar": "https://example.com/d.png"},
            "embeds": [{"title": "v1.2", "description": "ok", "color": 65280}],
            "pinned": false, "type": "message", "interaction": null})
    );
    // `message`, and the history keeps what was broadcast.
    post(
        &server,
        &format!("/webhooks?token={token}"),
        r#"{"message": "third"}"#,
    );
    let third = until(&mut bob, "message_new");
    assert_eq!(third["message"]["content"], "third");
    bob.send(json!({"cmd": "messages_get", "channel": "general"}));
    let history = until(&mut bob, "messages_get");
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.last().unwrap(), &third["message"]);
}

#[test]
fn refused_posts() {
    let server = Server::with(json!({"limits": {"post_content": 20}}));
    let mut owner = with_role(&server, "alice", "owner");
    let (_, token) = create(&mut owner, "general", "CI");
    let mut bob = server.register("bob");
    let path = format!("/webhooks?token={token}");
    let cases = [
        (
            "/webhooks",
            r#"{"content":"x"}"#,
            "401 Unauthorized",
            "Webhook token required",
        ),
        (
            "/webhooks?token=",
            r#"{"content":"x"}"#,
            "401 Unauthorized",
            "Webhook token required",
        ),
        (
            "/webhooks?token=nope",
            r#"{"content":"x"}"#,
            "401 Unauthorized",
            "Invalid webhook token",
        ),
        (&path, "{not json", "400 Bad Request", "Invalid JSON body"),
        (&path, "[1]", "400 Bad Request", "Invalid JSON body"),
        (
            &path,
            r#"{"content":"  "}"#,
            "400 Bad Request",
            "No content provided",
        ),
        (
            &path,
            r#"{"username":"x"}"#,
            "400 Bad Request",
            "No content provided",
        ),
        (
            &path,
            r#"{"content":"123456789012345678901"}"#,
            "400 Bad Request",
            "Message too long. Maximum length is 20 characters",
        ),
        (
            &path,
            r#"{"content":"x","embeds":{"title":"t"}}"#,
            "400 Bad Request",
            "Embeds must be an array",
        ),
        (
            &path,
            r#"{"content":"x","username":5}"#,
            "400 Bad Request",
            "username must be a string",
        ),
    ];
    for (path, body, status, text) in cases {
        let (got, answer) = post(&server, path, body);
        assert_eq!(got, format!("HTTP/1.1 {status}"), "{path} {body}");
        assert_eq!(parsed(&answer), error_body(text), "{path} {body}");
    }
    // Not JSON.
    let (status, answer) = server.http(&format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx"
    ));
    assert_eq!(status, "HTTP/1.1 415 Unsupported Media Type");
    assert_eq!(
        parsed(&answer),
        error_body("Content-Type must be application/json")
    );
    // A chunked body is refused: its size is not known before reading it.
    let (status, answer) = server.http(&format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ));
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        parsed(&answer),
        error_body("Send the body with a Content-Length")
    );
    // Too big: refused before the body is read.
    let (status, answer) = server.http(&format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 16385\r\n\r\n{{"
    ));
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(parsed(&answer), error_body("Body too large"));
    // A body of exactly the limit is read (and judged on its content).
    let padded = format!(r#"{{"content":"ok","pad":"{}"}}"#, " ".repeat(16384 - 25));
    assert_eq!(padded.len(), 16384);
    assert_eq!(post(&server, &path, &padded).0, "HTTP/1.1 204 No Content");
    // Nothing refused was posted; the one accepted was.
    bob.send(json!({"cmd": "messages_get", "channel": "general"}));
    let history = until(&mut bob, "messages_get");
    let contents: Vec<&Value> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["webhook"].is_object())
        .map(|m| &m["content"])
        .collect();
    assert_eq!(contents, [&json!("ok")]);
}

#[test]
fn posts_are_rate_limited_per_webhook() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let (_, token) = create(&mut owner, "general", "CI");
    let (_, other) = create(&mut owner, "general", "Other");
    let path = format!("/webhooks?token={token}");
    // A burst of 30, then one every 2 s: count what passes before the first refusal, allowing
    // for the refills of a slow run.
    let started = std::time::Instant::now();
    let mut accepted = 0;
    let answer = loop {
        let answer = post(
            &server,
            &path,
            &json!({"content": format!("m{accepted}")}).to_string(),
        );
        if answer.0 != "HTTP/1.1 204 No Content" {
            break answer;
        }
        accepted += 1;
        assert!(accepted <= 200, "never rate limited");
    };
    let refills = (started.elapsed().as_secs_f64() / 2.0).ceil() as usize;
    assert!(
        (30..=30 + refills).contains(&accepted),
        "{accepted} accepted, {refills} refills"
    );
    assert_eq!(answer.0, "HTTP/1.1 429 Too Many Requests");
    let text = parsed(&answer.1)["error"].as_str().unwrap().to_string();
    let seconds: u64 = text
        .strip_prefix("Rate limited: try again in ")
        .and_then(|t| t.strip_suffix(" s"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!((1..=2).contains(&seconds), "{text}");
    // Another webhook has its own bucket.
    assert_eq!(
        post(
            &server,
            &format!("/webhooks?token={other}"),
            r#"{"content":"y"}"#
        )
        .0,
        "HTTP/1.1 204 No Content"
    );
}

#[test]
fn deleting_the_channel_deletes_its_webhooks() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    owner.request(json!({"cmd": "channel_create", "name": "ci", "type": "text"}));
    until(&mut owner, "channel_create");
    let (_, token) = create(&mut owner, "ci", "CI");
    let (kept, _) = create(&mut owner, "general", "Kept");
    owner.send(json!({"cmd": "channel_delete", "name": "ci"}));
    until(&mut owner, "channel_delete");
    let list = owner.request(json!({"cmd": "webhook_list"}));
    let ids: Vec<&Value> = list["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["id"])
        .collect();
    assert_eq!(ids, [&json!(kept)]);
    let (status, body) = post(
        &server,
        &format!("/webhooks?token={token}"),
        r#"{"content":"x"}"#,
    );
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    assert_eq!(parsed(&body), error_body("Invalid webhook token"));
}

#[test]
fn the_originals_webhooks_are_imported_with_hashed_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("db");
    std::fs::create_dir_all(source.join("channels")).unwrap();
    let users = json!({"USR:local_alice": {"username": "USR:local_alice", "nickname": "alice",
        "password_hash": bcrypt::hash("secret123", 4).unwrap(), "roles": ["owner", "user"]}});
    let channels = json!([{"type": "text", "name": "general",
        "permissions": {"view": ["user"], "send": ["user"]}}]);
    let token = "0f8e7c1a-5b2d-4e3f-9a6b-1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d";
    let webhooks = json!({
        "w1": {"id": "w1", "channel": "general", "name": "CI", "token": token,
               "created_by": "USR:local_alice", "created_at": 1700000000.5, "avatar": null},
        "w2": {"id": "w2", "channel": "gone", "name": "Old", "token": "t2"},
        "w3": {"id": "w3", "channel": "general", "name": "No token"},
        "w4": "not an object"
    });
    for (name, value) in [
        ("users.json", users),
        ("channels.json", channels),
        ("webhooks.json", webhooks),
    ] {
        std::fs::write(source.join(name), value.to_string()).unwrap();
    }
    let data = dir.path().join("data");
    let run = || common::import(&data, &source);
    let out = run();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("  webhooks: 1 imported, 3 skipped\n"),
        "{text}"
    );
    assert!(
        text.contains("unknown or not a text channel (1): w2"),
        "{text}"
    );
    assert!(
        text.contains("channel, name or token missing (1): w3"),
        "{text}"
    );
    assert!(text.contains("not a JSON object (1): w4"), "{text}");
    assert!(!text.contains(token), "{text}");
    let again = run();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.contains("  webhooks: 0 imported, 4 skipped\n"),
        "{text}"
    );
    assert!(text.contains("already there, ours kept (1): w1"), "{text}");
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{} holds the token",
                path.display()
            );
        }
    }

    // The old token posts on our server; list shows the webhook without it.
    std::fs::remove_dir_all(&source).unwrap();
    let server = Server::in_dir(dir, common::test_config(json!({})));
    let mut alice = server.connected();
    alice.login("alice", "secret123");
    alice.sync();
    assert_eq!(
        alice.request(json!({"cmd": "webhook_list"})),
        json!({"cmd": "webhook_list", "webhooks": [{"id": "w1", "channel": "general", "name": "CI",
            "avatar": null, "created_by": "USR:local_alice", "created_at": 1700000000.5}]})
    );
    let (status, _) = post(
        &server,
        &format!("/webhooks?token={token}"),
        r#"{"content":"still works"}"#,
    );
    assert_eq!(status, "HTTP/1.1 204 No Content");
    let packet = until(&mut alice, "message_new");
    assert_eq!(packet["message"]["content"], "still works");
    assert_eq!(
        packet["message"]["webhook"],
        json!({"id": "w1", "name": "CI", "avatar": null})
    );
}

fn post_github(server: &Server, path: &str, event: &str, body: &str) -> (String, String) {
    server.http(&format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-GitHub-Event: {event}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

/// What GitHub sends for a push, made larger than a plain post may be (a real one with a
/// few commits is 7–30 KB: the whole repository object comes with it).
fn github_push(commits: usize) -> Value {
    let mut repository = serde_json::Map::new();
    for i in 0..400 {
        repository.insert(
            format!("key_{i}_url"),
            json!(format!("https://api.github.com/repos/o/r/thing/{i}")),
        );
    }
    repository.insert("full_name".into(), json!("octo/widgets"));
    repository.insert("html_url".into(), json!("https://github.com/octo/widgets"));
    let commits: Vec<Value> = (0..commits)
        .map(|i| {
            json!({"id": format!("{i:07}abcdef0123456789abcdef0123456789a"),
                   "message": format!("Commit {i}\n\nwith a body"),
                   "url": format!("https://github.com/octo/widgets/commit/{i}")})
        })
        .collect();
    json!({"ref": "refs/heads/main", "before": "0", "after": "1",
           "compare": "https://github.com/octo/widgets/compare/0...1",
           "repository": repository,
           "pusher": {"name": "octocat"},
           "sender": {"login": "octocat", "avatar_url": "https://avatars.githubusercontent.com/u/1"},
           "commits": commits})
}

#[test]
fn a_github_push_is_rendered_as_the_original_does() {
    let server = Server::start();
    let mut owner = with_role(&server, "alice", "owner");
    let (id, token) = create(&mut owner, "general", "CI");
    let mut bob = server.register("bob");
    let path = format!("/webhooks/github?token={token}");
    let body = github_push(2).to_string();
    assert!(
        body.len() > MAX_PLAIN_BODY,
        "a real push is larger than a plain post"
    );
    let (status, answer) = post_github(&server, &path, "push", &body);
    assert_eq!(status, "HTTP/1.1 204 No Content", "{answer}");
    let posted = until(&mut bob, "message_new");
    let message = &posted["message"];
    assert_eq!(message["user"], "originChats");
    assert_eq!(message["content"], "");
    assert_eq!(
        message["webhook"],
        json!({"id": id, "name": "GitHub",
               "avatar": "https://github.githubassets.com/images/modules/logos_page/GitHub-Mark.png"})
    );
    let embed = &message["embeds"][0];
    let stamp = embed["timestamp"].as_str().unwrap().to_string();
    assert_eq!(stamp.len(), 20, "{stamp}");
    assert_eq!(
        embed,
        &json!({"title": "main: 2 commits",
                "url": "https://github.com/octo/widgets/compare/0...1",
                "color": 0x24292e,
                "author": {"name": "octocat - octo/widgets",
                           "url": "https://github.com/octo/widgets",
                           "icon_url": "https://avatars.githubusercontent.com/u/1"},
                "timestamp": stamp,
                "description": "[`0000000`](https://github.com/octo/widgets/commit/0) Commit 0\n\
                                [`0000001`](https://github.com/octo/widgets/commit/1) Commit 1"})
    );
    // GitHub's test delivery is answered and posts nothing; other events are refused as
    // the original refuses them; a payload over the bound is refused unread.
    let ping = json!({"zen": "Keep it logically awesome.", "hook_id": 1}).to_string();
    assert_eq!(
        post_github(&server, &path, "ping", &ping).0,
        "HTTP/1.1 204 No Content"
    );
    let create_event = json!({"ref": "v1", "repository": {}}).to_string();
    let (status, answer) = post_github(&server, &path, "create", &create_event);
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(parsed(&answer), error_body("Unhandled event type: create"));
    let (status, answer) = server.http(&format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nContent-Length: 262145\r\n\r\n{{"
    ));
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(parsed(&answer), error_body("Body too large"));
    // Only the push was posted.
    bob.send(json!({"cmd": "messages_get", "channel": "general"}));
    let history = until(&mut bob, "messages_get");
    let from_webhooks = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["webhook"].is_object())
        .count();
    assert_eq!(from_webhooks, 1);
}

/// The bound of a post that is not a GitHub event (src/server/webhook_route.rs).
const MAX_PLAIN_BODY: usize = 16 * 1024;
