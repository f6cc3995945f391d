//! The permission matrix (SECURITY.md): for every command and route, a caller whose roles
//! do not allow it is refused with the exact error, and nothing it should not see reaches
//! it — before authentication, without a server permission or the `owner` role, without
//! `view` of a channel (history, message actions, polls, attachments, voice, mentions, read
//! markers) — and no secret (password, token) ever comes back. Each test also has the
//! allowed caller succeed, so that refusing everyone cannot pass for a permission check.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{Client, Server, err, png, prepared_dir, test_config, with_role};
use originchats_server::router::table::{COMMANDS, Phase};
use serde_json::{Value, json};

/// A server with `staff` (moderators only: view, send, pin), `dropbox` (everyone sends,
/// moderators read) and `backroom` (a voice channel for moderators). Their `react`, `edit_own` and `delete_own` are left to the defaults,
/// `["user"]`: only `view` closes them.
fn server_with(overrides: Value) -> Server {
    let dir = prepared_dir(
        &[
            json!({"type": "text", "name": "staff", "permissions": {"view": ["moderator"], "send": ["moderator"], "pin": ["moderator"]}}),
            json!({"type": "text", "name": "dropbox", "permissions": {"view": ["moderator"], "send": ["user"]}}),
            json!({"type": "voice", "name": "backroom", "permissions": {"view": ["moderator"], "send": ["moderator"]}}),
        ],
        &[],
    );
    Server::in_dir(dir, test_config(overrides))
}

/// Without the per-user message limiter: these tests send many requests quickly.
fn server() -> Server {
    server_with(json!({"rate_limiting": {"enabled": false}}))
}

/// Sends `packet` with a listener and returns the answer carrying it (without the
/// listener), skipping broadcasts and presence.
fn answer(c: &mut Client, mut packet: Value) -> Value {
    packet["listener"] = json!("matrix");
    c.send(packet);
    loop {
        let mut p = c.recv();
        if p["listener"] == "matrix" {
            p.as_object_mut().unwrap().remove("listener");
            return p;
        }
    }
}

/// Checks each `(request, refusal text)`: the answer is exactly the error packet.
fn refused(c: &mut Client, cases: &[(Value, &str)]) {
    for (packet, text) in cases {
        let cmd = packet["cmd"].as_str().unwrap();
        assert_eq!(answer(c, packet.clone()), err(cmd, text), "{packet}");
    }
}

fn is_error(p: &Value) -> bool {
    p["cmd"] == "error"
}

/// A session token of `c`'s account: a bearer credential for HTTP.
fn bearer(c: &mut Client) -> String {
    let reply = answer(c, json!({"cmd": "session_token_create"}));
    reply["token"].as_str().unwrap().to_string()
}

/// One HTTP request with a binary body; returns the status and the body.
fn http(server: &Server, head: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "{head}\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let status_line = String::from_utf8_lossy(&out[..split]).to_string();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, out[split + 4..].to_vec())
}

fn json_body(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

#[test]
fn every_command_needs_authentication() {
    let server = server();
    let mut c = server.connected();
    let after_auth: Vec<&str> = COMMANDS
        .iter()
        .filter(|c| c.phase == Phase::AfterAuth)
        .map(|c| c.name)
        .collect();
    assert!(after_auth.len() > 90, "{after_auth:?}");
    for cmd in after_auth {
        let p = c.request(json!({"cmd": cmd, "channel": "general", "id": "x", "user": "x"}));
        assert_eq!(
            p,
            json!({"cmd": "auth_error", "val": "Authentication required"}),
            "{cmd}"
        );
    }
    // The same connection may still log in, and then the commands are answered.
    c.register("late", "secret123");
    assert_eq!(answer(&mut c, json!({"cmd": "ping"}))["cmd"], "pong");
}

/// Every command that needs a server permission, the `owner` role or the audit log's
/// permission, sent by a plain user with fields that would otherwise be accepted; then
/// nothing has changed, and the owner is answered.
#[test]
fn management_commands_refuse_a_plain_user() {
    let server = server();
    let mut owner = with_role(&server, "olga", "owner");
    let mut bob = server.register("bob");
    let before = |c: &mut Client| {
        (
            answer(c, json!({"cmd": "channels_get"})),
            answer(c, json!({"cmd": "roles_list"})),
            answer(c, json!({"cmd": "server_info"})),
            answer(c, json!({"cmd": "users_list"})),
            answer(c, json!({"cmd": "emoji_get_all"})),
        )
    };
    let seen = before(&mut owner);
    let channels = "Access denied: 'manage_channels' permission required";
    let roles = "Access denied: 'manage_roles' permission required";
    let users = "Access denied: 'manage_users' permission required";
    let server_p = "Access denied: 'manage_server' permission required";
    let owner_r = "Access denied: 'owner' role required";
    let audit = "Access denied: 'view_audit_log' or 'manage_users' permission required";
    let gif = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///ywAAAAAAQABAAACAUwAOw==";
    refused(
        &mut bob,
        &[
            (
                json!({"cmd": "channel_create", "name": "leak", "type": "text"}),
                channels,
            ),
            (
                json!({"cmd": "channel_update", "current_name": "general", "updates": {"name": "mine"}}),
                channels,
            ),
            (
                json!({"cmd": "channel_move", "name": "general", "position": 1}),
                channels,
            ),
            (
                json!({"cmd": "channel_delete", "name": "general"}),
                channels,
            ),
            (json!({"cmd": "role_create", "name": "helper"}), roles),
            (
                json!({"cmd": "role_update", "name": "user", "permissions": ["administrator"]}),
                roles,
            ),
            (
                json!({"cmd": "role_set", "name": "user", "data": {"permissions": ["administrator"]}}),
                roles,
            ),
            (json!({"cmd": "role_delete", "name": "moderator"}), roles),
            (
                json!({"cmd": "role_reorder", "roles": ["user", "moderator", "admin", "owner"]}),
                roles,
            ),
            (
                json!({"cmd": "role_permissions_set", "name": "user", "permissions": ["administrator"]}),
                roles,
            ),
            (
                json!({"cmd": "user_roles_set", "user": "bob", "roles": ["user", "owner"]}),
                users,
            ),
            (
                json!({"cmd": "user_update", "user": "olga", "updates": {"nickname": "x"}}),
                users,
            ),
            (json!({"cmd": "server_update", "name": "pwned"}), server_p),
            (json!({"cmd": "rate_limit_reset", "user": "bob"}), server_p),
            (
                json!({"cmd": "emoji_add", "name": "wave", "image": gif}),
                server_p,
            ),
            (
                json!({"cmd": "emoji_update", "emoji_id": 1, "name": "x"}),
                server_p,
            ),
            (json!({"cmd": "emoji_delete", "emoji_id": 1}), server_p),
            (
                json!({"cmd": "webhook_create", "channel": "general", "name": "hook"}),
                server_p,
            ),
            (json!({"cmd": "webhook_get", "id": "x"}), server_p),
            (json!({"cmd": "webhook_list"}), server_p),
            (
                json!({"cmd": "webhook_update", "id": "x", "name": "y"}),
                server_p,
            ),
            (json!({"cmd": "webhook_delete", "id": "x"}), server_p),
            (json!({"cmd": "webhook_regenerate", "id": "x"}), server_p),
            (
                json!({"cmd": "slash_register", "commands": [{"name": "deploy", "description": "d"}]}),
                server_p,
            ),
            (
                json!({"cmd": "slash_response", "call_id": "x", "response": "hi"}),
                server_p,
            ),
            (json!({"cmd": "user_ban", "user": "olga"}), owner_r),
            (json!({"cmd": "user_unban", "user": "olga"}), owner_r),
            (json!({"cmd": "users_banned_list"}), owner_r),
            (
                json!({"cmd": "user_timeout", "user": "olga", "timeout": 3}),
                owner_r,
            ),
            (json!({"cmd": "user_delete", "user": "olga"}), owner_r),
            (json!({"cmd": "plugins_list"}), owner_r),
            (json!({"cmd": "plugins_reload"}), owner_r),
            (json!({"cmd": "modlog_get"}), audit),
            (json!({"cmd": "modlog_summary"}), audit),
        ],
    );
    assert_eq!(
        before(&mut owner),
        seen,
        "a refused command changed something"
    );
    let mine = answer(
        &mut bob,
        json!({"cmd": "user_roles_get", "user": "USR:local_bob"}),
    );
    assert_eq!(mine["roles"], json!(["user"]));
    // The same requests from the owner get past the check.
    for packet in [
        json!({"cmd": "users_banned_list"}),
        json!({"cmd": "webhook_list"}),
        json!({"cmd": "modlog_summary"}),
        json!({"cmd": "plugins_list"}),
        json!({"cmd": "role_create", "name": "helper"}),
        json!({"cmd": "channel_move", "name": "general", "position": 0}),
    ] {
        let p = answer(&mut owner, packet.clone());
        assert!(!is_error(&p), "{packet} → {p}");
    }
}

/// Commands anyone may send, but only about themselves: another user's rate limit, a
/// role that is not self-assignable, another account's session token.
#[test]
fn self_service_commands_stay_with_oneself() {
    let server = server_with(json!({}));
    let mut owner = with_role(&server, "olga", "owner");
    let mut bob = server.register("bob");
    let own_only = "Access denied: can only check your own rate limit status";
    let token = bearer(&mut owner);
    refused(
        &mut bob,
        &[
            (
                json!({"cmd": "rate_limit_status", "user": "USR:local_olga"}),
                own_only,
            ),
            // Nor whether someone exists.
            (
                json!({"cmd": "rate_limit_status", "user": "nobody"}),
                own_only,
            ),
            (
                json!({"cmd": "self_role_add", "role": "moderator"}),
                "This role is not self-assignable",
            ),
            (
                json!({"cmd": "session_token_revoke", "token": token}),
                "Session token not found",
            ),
        ],
    );
    let mine = answer(&mut bob, json!({"cmd": "rate_limit_status"}));
    assert_eq!(mine["user"], "USR:local_bob", "{mine}");
    let theirs = answer(
        &mut owner,
        json!({"cmd": "rate_limit_status", "user": "USR:local_bob"}),
    );
    assert_eq!(theirs["user"], "USR:local_bob", "{theirs}");
    // olga's token survived bob's attempt.
    let mut c = server.connected();
    c.send(json!({"cmd": "token_login", "token": token}));
    assert_eq!(
        c.recv(),
        json!({"cmd": "auth_success", "val": "Authentication successful"})
    );
}

/// Without `view` of `staff`, bob reads none of its history, acts on none of its messages
/// or polls, hears none of its traffic, and his mentions and read markers leave it out.
#[test]
fn channel_view_gates_history_message_actions_and_polls() {
    let server = server();
    let mut mia = with_role(&server, "mia", "moderator");
    let mut bob = server.register("bob");
    let posted = answer(
        &mut mia,
        json!({"cmd": "message_new", "channel": "staff", "content": "secret plan @USR:local_bob"}),
    );
    let id = posted["message"]["id"].as_str().unwrap().to_string();
    answer(
        &mut mia,
        json!({"cmd": "message_new", "channel": "general", "content": "hello @USR:local_bob"}),
    );
    let poll = answer(
        &mut mia,
        json!({"cmd": "poll_create", "channel": "staff", "question": "when?", "options": ["now", "later"]}),
    );
    let poll_id = poll["poll_id"].as_str().unwrap().to_string();
    let no_poll = "You do not have permission to view this poll";
    let no_send = "You do not have permission to send messages in this channel";
    refused(
        &mut bob,
        &[
            (json!({"cmd": "messages_get", "channel": "staff"}), ""),
            (
                json!({"cmd": "message_get", "channel": "staff", "id": id}),
                "",
            ),
            (
                json!({"cmd": "message_replies", "channel": "staff", "id": id}),
                "",
            ),
            (
                json!({"cmd": "messages_search", "channel": "staff", "query": "secret"}),
                "",
            ),
            (
                json!({"cmd": "messages_around", "channel": "staff", "around": id}),
                "",
            ),
            (
                json!({"cmd": "embeds_list", "channel": "staff", "id": id}),
                "",
            ),
            (json!({"cmd": "messages_pinned", "channel": "staff"}), ""),
            (json!({"cmd": "unreads_ack", "channel": "staff"}), ""),
            (json!({"cmd": "unreads_count", "channel": "staff"}), ""),
            (json!({"cmd": "typing", "channel": "staff"}), ""),
            (
                json!({"cmd": "message_react_add", "channel": "staff", "id": id, "emoji": "👍"}),
                "",
            ),
            (
                json!({"cmd": "message_react_remove", "channel": "staff", "id": id, "emoji": "👍"}),
                "",
            ),
            (
                json!({"cmd": "message_pin", "channel": "staff", "id": id}),
                "",
            ),
            (
                json!({"cmd": "message_unpin", "channel": "staff", "id": id}),
                "",
            ),
            (
                json!({"cmd": "message_edit", "channel": "staff", "id": id, "content": "mine now"}),
                "",
            ),
            // No oracle: an id that does not exist gets the same answer.
            (
                json!({"cmd": "message_edit", "channel": "staff", "id": "nope", "content": "x"}),
                "",
            ),
            (
                json!({"cmd": "message_delete", "channel": "staff", "id": id}),
                "",
            ),
            (
                json!({"cmd": "slash_call", "channel": "staff", "command": "help"}),
                "",
            ),
        ]
        .map(|(p, _)| (p, "Access denied to this channel")),
    );
    refused(
        &mut bob,
        &[
            (
                json!({"cmd": "message_new", "channel": "staff", "content": "let me in"}),
                no_send,
            ),
            (
                json!({"cmd": "poll_create", "channel": "staff", "question": "q", "options": ["a", "b"]}),
                no_send,
            ),
            (
                json!({"cmd": "poll_vote", "poll_id": poll_id, "option_id": "0"}),
                no_poll,
            ),
            (json!({"cmd": "poll_results", "poll_id": poll_id}), no_poll),
            (json!({"cmd": "poll_get", "poll_id": poll_id}), no_poll),
            (json!({"cmd": "poll_end", "poll_id": poll_id}), no_poll),
        ],
    );
    // Mentions and read markers cover only the channels he can view.
    let pings = answer(&mut bob, json!({"cmd": "pings_get"}));
    assert_eq!(pings["total"], 1, "{pings}");
    assert_eq!(pings["messages"][0]["channel"], "general", "{pings}");
    let unreads = answer(&mut bob, json!({"cmd": "unreads_get"}));
    let keys: Vec<&String> = unreads["unreads"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["general"], "{unreads}");
    let list = answer(&mut bob, json!({"cmd": "channels_get"}));
    let names: Vec<&str> = list["val"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["general"], "{list}");
    // The moderator does all of it; bob hears none of it.
    bob.sync();
    for packet in [
        json!({"cmd": "message_react_add", "channel": "staff", "id": id, "emoji": "👍"}),
        json!({"cmd": "message_pin", "channel": "staff", "id": id}),
        json!({"cmd": "message_edit", "channel": "staff", "id": id, "content": "revised plan"}),
        json!({"cmd": "typing", "channel": "staff"}),
        json!({"cmd": "poll_vote", "poll_id": poll_id, "option_id": "0"}),
        json!({"cmd": "messages_get", "channel": "staff"}),
        json!({"cmd": "message_delete", "channel": "staff", "id": id}),
    ] {
        let p = answer(&mut mia, packet.clone());
        assert!(!is_error(&p), "{packet} → {p}");
    }
    bob.expect_quiet();
}

#[test]
fn voice_channels_need_view() {
    let server = server();
    let mut mia = with_role(&server, "mia", "moderator");
    let mut bob = server.register("bob");
    let no_voice = "You do not have permission to access this voice channel";
    refused(
        &mut bob,
        &[
            (
                json!({"cmd": "voice_join", "channel": "backroom", "peer_id": "p1"}),
                no_voice,
            ),
            (
                json!({"cmd": "voice_state", "channel": "backroom"}),
                no_voice,
            ),
        ],
    );
    bob.sync();
    let joined = answer(
        &mut mia,
        json!({"cmd": "voice_join", "channel": "backroom", "peer_id": "p1"}),
    );
    assert_eq!(joined["cmd"], "voice_join", "{joined}");
    let state = answer(
        &mut mia,
        json!({"cmd": "voice_state", "channel": "backroom"}),
    );
    assert_eq!(state["cmd"], "voice_state", "{state}");
    // Who is in a channel bob cannot view is not his business either.
    bob.expect_quiet();
}

/// An attachment uploaded for `staff` is invisible to bob on every path: the command, the
/// download with his credentials, deletion; and he cannot upload for a channel he cannot
/// send in.
#[test]
fn attachments_follow_their_channel() {
    let server = server_with(json!({"attachments": {"public_links": false}}));
    let mut mia = with_role(&server, "mia", "moderator");
    let mut bob = server.register("bob");
    let (mia_token, bob_token) = (bearer(&mut mia), bearer(&mut bob));
    let upload = |token: &str, channel: &str| {
        http(
            &server,
            &format!(
                "PUT /attachments/upload?channel={channel}&name=a.png HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream"
            ),
            &png(1, 1, 200),
        )
    };
    let (status, body) = upload(&mia_token, "staff");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let id = json_body(&body)["attachment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = upload(&bob_token, "staff");
    assert_eq!(
        (status, json_body(&body)),
        (
            403,
            json!({"error": "You don't have permission to send in this channel"})
        )
    );
    refused(
        &mut bob,
        &[
            (
                json!({"cmd": "attachment_get", "attachment_id": id}),
                "Attachment not found or expired",
            ),
            (
                json!({"cmd": "attachment_delete", "attachment_id": id}),
                "Attachment not found",
            ),
        ],
    );
    let download = |token: &str| {
        http(
            &server,
            &format!("GET /attachments/{id} HTTP/1.1\r\nAuthorization: Bearer {token}"),
            b"",
        )
    };
    let (status, body) = download(&bob_token);
    assert_eq!(
        (status, json_body(&body)),
        (404, json!({"error": "Attachment not found or expired"}))
    );
    assert_eq!(download(&mia_token).0, 200);
    let info = answer(
        &mut mia,
        json!({"cmd": "attachment_get", "attachment_id": id}),
    );
    assert_eq!(info["cmd"], "attachment_info", "{info}");
    // bob's own upload in general is his to delete; mia's is not.
    let (status, body) = upload(&bob_token, "general");
    assert_eq!(status, 201);
    let own = json_body(&body)["attachment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = upload(&mia_token, "general");
    assert_eq!(status, 201);
    let hers = json_body(&body)["attachment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    refused(
        &mut bob,
        &[(
            json!({"cmd": "attachment_delete", "attachment_id": hers}),
            "You can only delete your own attachments",
        )],
    );
    let deleted = answer(
        &mut bob,
        json!({"cmd": "attachment_delete", "attachment_id": own}),
    );
    assert_eq!(deleted["cmd"], "attachment_deleted", "{deleted}");
}

/// Passwords, session tokens, upload tokens and webhook tokens: shown once to their owner
/// (a token at creation), never in another answer, never in the log, never stored in clear.
#[test]
fn secrets_never_come_back() {
    let server = server();
    let mut owner = with_role(&server, "olga", "owner");
    let mut bob = server.connected();
    let ready = bob.register("bob", "hunter2-long-password");
    let upload_token = ready["upload_token"].as_str().unwrap().to_string();
    let session_token = bearer(&mut bob);
    let created = answer(
        &mut owner,
        json!({"cmd": "webhook_create", "channel": "general", "name": "hook"}),
    );
    let hook_token = created["webhook"]["token"].as_str().unwrap().to_string();
    let hook_id = created["webhook"]["id"].as_str().unwrap().to_string();
    let secrets = [
        "hunter2-long-password",
        upload_token.as_str(),
        session_token.as_str(),
        hook_token.as_str(),
    ];
    let mut answers = Vec::new();
    for packet in [
        json!({"cmd": "users_list"}),
        json!({"cmd": "users_online"}),
        json!({"cmd": "user_roles_get", "user": "USR:local_bob"}),
        json!({"cmd": "webhook_get", "id": hook_id}),
        json!({"cmd": "webhook_list"}),
        json!({"cmd": "webhook_update", "id": hook_id, "name": "renamed"}),
        json!({"cmd": "modlog_get"}),
        json!({"cmd": "rate_limit_status", "user": "USR:local_bob"}),
    ] {
        answers.push(answer(&mut owner, packet));
    }
    let hook = &answers[3]["webhook"];
    assert_eq!(hook["id"], hook_id.as_str(), "{hook}");
    assert!(hook.get("token").is_none(), "{hook}");
    let listed = &answers[0]["users"].as_array().unwrap()[0];
    let mut keys: Vec<&String> = listed.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "color", "cracked", "nickname", "pfp", "roles", "status", "username"
        ]
    );
    let text: String = answers.iter().map(Value::to_string).collect();
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(!text.contains("$2"), "a bcrypt hash in {text}");
    // The log and every file of the data directory (the database and its WAL).
    let log = server.log();
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    let mut files = vec![server.data_dir()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for secret in secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret} in {}", path.display());
        }
    }
    // The token still works: it is kept as a hash, not lost.
    let (status, _) = http(
        &server,
        &format!("POST /webhooks?token={hook_token} HTTP/1.1\r\nContent-Type: application/json"),
        br#"{"content":"hi"}"#,
    );
    assert_eq!(status, 204);
}

/// In a channel bob may send to but not view, his message goes in, but a reply to a
/// message there finds nothing: the reply would tell who wrote it.
#[test]
fn sending_without_view_reveals_nothing() {
    let server = server();
    let mut mia = with_role(&server, "mia", "moderator");
    let mut bob = server.register("bob");
    let posted = answer(
        &mut mia,
        json!({"cmd": "message_new", "channel": "dropbox", "content": "read only by us"}),
    );
    let id = posted["message"]["id"].as_str().unwrap().to_string();
    let not_found = "The message you're trying to reply to was not found";
    refused(
        &mut bob,
        &[
            (
                json!({"cmd": "message_new", "channel": "dropbox", "content": "re", "reply_to": id}),
                not_found,
            ),
            (
                json!({"cmd": "message_new", "channel": "dropbox", "content": "re", "reply_to": "nope"}),
                not_found,
            ),
            (
                json!({"cmd": "messages_get", "channel": "dropbox"}),
                "Access denied to this channel",
            ),
        ],
    );
    let sent = answer(
        &mut bob,
        json!({"cmd": "message_new", "channel": "dropbox", "content": "a suggestion"}),
    );
    assert_eq!(sent["message"]["content"], "a suggestion", "{sent}");
    assert_eq!(
        until_message(&mut mia)["message"]["content"],
        "a suggestion"
    );
    let reply = answer(
        &mut mia,
        json!({"cmd": "message_new", "channel": "dropbox", "content": "thanks", "reply_to": id}),
    );
    assert_eq!(reply["message"]["reply_to"]["id"], id.as_str(), "{reply}");
}

fn until_message(c: &mut Client) -> Value {
    loop {
        let p = c.recv();
        if p["cmd"] == "message_new" {
            return p;
        }
    }
}

/// `manage_roles` is not `administrator`: a role manager gives roles (and users) only
/// permissions they hold themselves (else a self-assignable role listing `administrator`,
/// `user` given `manage_server`, or a lower role with it given to oneself, would make
/// anyone an administrator). Keeping a permission is no grant.
#[test]
fn role_managers_grant_only_what_they_hold() {
    let dir = prepared_dir(
        &[],
        &[(
            "keeper",
            json!({"id": "k", "description": null, "color": null, "hoisted": false, "permissions": ["manage_roles", "manage_users"], "self_assignable": false, "category": null, "position": 2}),
        )],
    );
    let server = Server::in_dir(dir, test_config(json!({})));
    let mut kim = with_role(&server, "kim", "keeper");
    let lacks = |p: &str| format!("Cannot grant the '{p}' permission: you do not have it");
    let (admin, server_p, channels) = (
        lacks("administrator"),
        lacks("manage_server"),
        lacks("manage_channels"),
    );
    let mut owner = with_role(&server, "olga", "owner");
    let made = answer(
        &mut owner,
        json!({"cmd": "role_create", "name": "ops", "permissions": ["manage_server"]}),
    );
    assert_eq!(made["cmd"], "role_create", "{made}");
    let roles_before = answer(&mut kim, json!({"cmd": "roles_list"}));
    refused(
        &mut kim,
        &[
            (
                json!({"cmd": "role_create", "name": "boss", "permissions": ["administrator"], "self_assignable": true}),
                admin.as_str(),
            ),
            (
                json!({"cmd": "role_permissions_set", "name": "user", "permissions": ["manage_server"]}),
                server_p.as_str(),
            ),
            (
                json!({"cmd": "role_update", "name": "user", "permissions": ["administrator"]}),
                admin.as_str(),
            ),
            (
                json!({"cmd": "role_set", "name": "user", "data": {"permissions": ["manage_channels"]}}),
                channels.as_str(),
            ),
            // Giving a role to someone (herself too) gives its permissions.
            (
                json!({"cmd": "user_roles_set", "user": "USR:local_kim", "roles": ["user", "keeper", "ops"]}),
                server_p.as_str(),
            ),
            // Making a role self-assignable hands out all it has.
            (
                json!({"cmd": "role_update", "name": "ops", "self_assignable": true}),
                server_p.as_str(),
            ),
            (
                json!({"cmd": "role_set", "name": "ops", "data": {"permissions": ["manage_server"], "self_assignable": true}}),
                server_p.as_str(),
            ),
        ],
    );
    assert_eq!(answer(&mut kim, json!({"cmd": "roles_list"})), roles_before);
    assert!(
        answer(&mut kim, json!({"cmd": "self_role_add", "role": "boss"}))["cmd"] == "error",
        "no such role was made"
    );
    // What she holds she may give, and a role's other permissions may stay.
    let made = answer(
        &mut kim,
        json!({"cmd": "role_create", "name": "helpers", "permissions": ["manage_roles"]}),
    );
    assert_eq!(made["cmd"], "role_create", "{made}");
    let recolored = answer(
        &mut kim,
        json!({"cmd": "role_update", "name": "user", "color": "#123456"}),
    );
    assert_eq!(recolored["cmd"], "role_update", "{recolored}");
    let given = answer(
        &mut kim,
        json!({"cmd": "user_roles_set", "user": "USR:local_olga", "roles": ["owner", "user", "helpers"]}),
    );
    assert_eq!(given["cmd"], "user_roles_get", "{given}");
}
