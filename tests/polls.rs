//! Polls (docs/protocol.md §8.20): the five `poll_*` commands with their exact replies and
//! errors, the poll's message and embed as the official client renders them, the live
//! `poll_vote_update` / `poll_end` packets as it consumes them (by `message_id`, `poll_id`
//! and `results`), ending by the creator, a moderator or the end time, history with the
//! current counts, deletion with the message or channel, and the original's data imported.

mod common;

use std::time::{Duration, Instant};

use common::{Client, Server, err, import, prepared_dir, test_config, until, with_role};
use serde_json::{Value, json};

/// A server without the rate limiter (these tests send many commands in a row).
fn server() -> Server {
    Server::with(json!({"rate_limiting": {"enabled": false}}))
}

/// alice and bob, both in `general`, with the presence packets read.
fn two(server: &Server) -> (Client, Client) {
    let mut alice = server.register("alice");
    let bob = server.register("bob");
    alice.expect("user_join");
    alice.expect("user_connect");
    (alice, bob)
}

/// Sends `poll_create`; returns the sender's `message_new` and the reply.
fn create(c: &mut Client, fields: Value) -> (Value, Value) {
    let mut packet = fields;
    packet["cmd"] = json!("poll_create");
    c.send(packet);
    let new = c.expect("message_new");
    let reply = c.expect("poll_create");
    (new, reply)
}

fn id(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_string()
}

/// The three options of the lunch poll as the client gets them.
fn lunch_options() -> Value {
    json!([{"id": "0", "text": "Pizza", "emoji": "🍕"}, {"id": "1", "text": "Tacos"},
           {"id": "soup", "text": "Soup"}])
}

fn lunch(c: &mut Client) -> (Value, Value) {
    create(
        c,
        json!({"channel": "general", "question": " Lunch? ",
               "options": [{"text": "Pizza", "emoji": "🍕"}, "Tacos", {"id": "soup", "text": " Soup "}]}),
    )
}

/// The `results` of the lunch poll with these counts (`voters` as given; `voted` per
/// option when `voted` is given).
fn lunch_results(
    poll_id: &str,
    counts: [u64; 3],
    ended_at: Value,
    voters: [Value; 3],
    voted: Option<[bool; 3]>,
) -> Value {
    let texts = [
        ("0", "Pizza", json!("🍕")),
        ("1", "Tacos", Value::Null),
        ("soup", "Soup", Value::Null),
    ];
    let results: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, (id, text, emoji))| {
            let mut r = json!({"id": id, "text": text, "emoji": emoji, "votes": counts[i],
                               "voters": voters[i]});
            if let Some(v) = voted {
                r["voted"] = json!(v[i]);
            }
            r
        })
        .collect();
    json!({"poll_id": poll_id, "question": "Lunch?", "allow_multiselect": false,
           "ended": !ended_at.is_null(), "ended_at": ended_at, "expires_at": null,
           "total_votes": counts.iter().sum::<u64>(), "results": results})
}

/// The lunch poll's embed as stored in its message.
fn lunch_embed(poll_id: &str, counts: [u64; 3], ended_at: Value) -> Value {
    json!({"type": "poll", "title": "Lunch?", "poll": {
        "id": poll_id, "question": "Lunch?", "options": lunch_options(),
        "allow_multiselect": false, "expires_at": null, "ended": !ended_at.is_null(),
        "ended_at": ended_at, "total_votes": counts.iter().sum::<u64>(),
        "results": [{"id": "0", "text": "Pizza", "emoji": "🍕", "votes": counts[0]},
                    {"id": "1", "text": "Tacos", "emoji": null, "votes": counts[1]},
                    {"id": "soup", "text": "Soup", "emoji": null, "votes": counts[2]}]}})
}

fn no_voters() -> [Value; 3] {
    [json!([]), json!([]), json!([])]
}

#[test]
fn a_poll_is_a_message_and_votes_reach_every_viewer() {
    let server = server();
    let (mut alice, mut bob) = two(&server);
    let (new, reply) = lunch(&mut alice);
    let (poll_id, message_id) = (id(&reply, "poll_id"), id(&reply, "message_id"));
    assert_eq!(
        reply,
        json!({"cmd": "poll_create", "poll_id": poll_id, "message_id": message_id,
               "channel": "general", "thread_id": null, "question": "Lunch?",
               "options": lunch_options(), "allow_multiselect": false, "expires_at": null})
    );
    let timestamp = new["message"]["timestamp"].clone();
    assert!(timestamp.as_f64().unwrap() > 1.7e9);
    let message = json!({"user": "USR:local_alice", "content": "", "timestamp": timestamp,
        "id": message_id, "embeds": [lunch_embed(&poll_id, [0, 0, 0], Value::Null)],
        "pinned": false, "type": "message", "interaction": null});
    let mut with_pings = message.clone();
    with_pings["pings"] = json!({"users": [], "roles": [], "replies": []});
    let expected_new = json!({"cmd": "message_new", "message": with_pings, "channel": "general",
                              "thread_id": null, "global": true});
    assert_eq!(new, expected_new);
    assert_eq!(bob.recv(), expected_new);

    // bob votes (by message id, as the client does): both get the update, bob his reply.
    bob.send(json!({"cmd": "poll_vote", "message_id": message_id, "option_ids": ["1"]}));
    let update = json!({"cmd": "poll_vote_update", "poll_id": poll_id, "message_id": message_id,
        "channel": "general", "thread_id": null, "user": "USR:local_bob", "option_ids": ["1"],
        "results": lunch_results(&poll_id, [0, 1, 0], Value::Null, no_voters(), None)});
    assert_eq!(bob.recv(), update);
    assert_eq!(
        bob.recv(),
        json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["1"],
               "results": lunch_results(&poll_id, [0, 1, 0], Value::Null, no_voters(),
                                        Some([false, true, false]))})
    );
    assert_eq!(alice.recv(), update);

    // A vote changes: bob's choice moves, the count follows.
    bob.send(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_id": "soup"}));
    let moved = until(&mut alice, "poll_vote_update");
    assert_eq!(moved["option_ids"], json!(["soup"]));
    assert_eq!(
        moved["results"],
        lunch_results(&poll_id, [0, 0, 1], Value::Null, no_voters(), None)
    );
    until(&mut bob, "poll_vote");
    alice.send(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["soup"]}));
    until(&mut alice, "poll_vote");
    assert_eq!(
        until(&mut bob, "poll_vote_update")["results"]["total_votes"],
        2
    );

    // History has the embed with the current counts, and each reader's own choice.
    bob.send(json!({"cmd": "messages_get", "channel": "general"}));
    let page = until(&mut bob, "messages_get");
    let last = page["messages"].as_array().unwrap().last().unwrap().clone();
    let mut embed = lunch_embed(&poll_id, [0, 0, 2], Value::Null);
    embed["poll"]["user_votes"] = json!(["soup"]);
    for (i, voted) in [false, false, true].into_iter().enumerate() {
        embed["poll"]["results"][i]["voted"] = json!(voted);
    }
    let mut shown = message.clone();
    shown["embeds"] = json!([embed]);
    assert_eq!(last, shown);
    let got = alice.request(json!({"cmd": "message_get", "channel": "general", "id": message_id}));
    assert_eq!(
        got["message"]["embeds"][0]["poll"]["user_votes"],
        json!(["soup"])
    );
    let mut carol = server.register("carol");
    bob.sync();
    let around = carol
        .request(json!({"cmd": "messages_around", "channel": "general", "around": message_id}));
    let poll = &around["messages"].as_array().unwrap().last().unwrap()["embeds"][0]["poll"];
    assert_eq!(poll["user_votes"], json!([]));
    assert_eq!(poll["results"][2]["votes"], 2);
    assert_eq!(poll["results"][2]["voted"], false);

    // poll_results and poll_get for the reader.
    assert_eq!(
        bob.request(json!({"cmd": "poll_results", "message_id": message_id})),
        json!({"cmd": "poll_results", "poll_id": poll_id, "message_id": message_id,
               "results": lunch_results(&poll_id, [0, 0, 2], Value::Null, no_voters(),
                                        Some([false, false, true]))})
    );
    let created_at = timestamp.clone();
    assert_eq!(
        bob.request(json!({"cmd": "poll_get", "poll_id": poll_id})),
        json!({"cmd": "poll_get", "poll": {"id": poll_id, "message_id": message_id,
            "channel": "general", "thread_id": null, "question": "Lunch?",
            "options": lunch_options(), "allow_multiselect": false, "expires_at": null,
            "created_by": "USR:local_alice", "created_at": created_at, "ended": false,
            "ended_at": null, "user_votes": ["soup"]}})
    );
}

#[test]
fn multiple_choice_replaces_the_whole_selection() {
    let server = server();
    let (mut alice, mut bob) = two(&server);
    let (_, reply) = create(
        &mut alice,
        json!({"channel": "general", "question": "Which days?", "allow_multiselect": true,
               "options": [{"id": "mon", "text": "Monday"}, {"id": "tue", "text": "Tuesday"},
                           {"id": "wed", "text": "Wednesday"}]}),
    );
    assert_eq!(reply["allow_multiselect"], true);
    let poll_id = id(&reply, "poll_id");
    bob.sync();
    let vote = |c: &mut Client, ids: Value| {
        c.send(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ids}));
        until(c, "poll_vote")
    };
    let counts = |r: &Value| -> Vec<u64> {
        r["results"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["votes"].as_u64().unwrap())
            .collect()
    };
    let r = vote(&mut bob, json!(["wed", "mon"]));
    assert_eq!(r["option_ids"], json!(["mon", "wed"]));
    assert_eq!(counts(&r), [1, 0, 1]);
    assert_eq!(r["results"]["total_votes"], 2);
    let voted: Vec<&Value> = r["results"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["voted"])
        .collect();
    assert_eq!(voted, [&json!(true), &json!(false), &json!(true)]);
    let update = until(&mut alice, "poll_vote_update");
    assert_eq!(update["option_ids"], json!(["mon", "wed"]));
    assert_eq!(counts(&update), [1, 0, 1]);
    // The client sends the whole selection: one left out is taken back.
    let r = vote(&mut bob, json!(["tue"]));
    assert_eq!(counts(&r), [0, 1, 0]);
    let r = vote(&mut alice, json!(["tue", "wed"]));
    assert_eq!(counts(&r), [0, 2, 1]);
    assert_eq!(r["results"]["total_votes"], 3);
    bob.sync();
    assert_eq!(
        bob.request(json!({"cmd": "poll_get", "poll_id": poll_id}))["poll"]["user_votes"],
        json!(["tue"])
    );
}

#[test]
fn every_bad_input_gets_a_clear_error() {
    let server = server();
    let (mut alice, mut bob) = two(&server);
    let two_options = json!(["a", "b"]);
    let eleven: Vec<String> = (0..11).map(|i| format!("o{i}")).collect();
    let cases = [
        (
            json!({"question": "q", "options": two_options}),
            "Channel or thread_id is required",
        ),
        (
            json!({"channel": 5, "question": "q", "options": two_options}),
            "Invalid field 'channel': expected a string",
        ),
        (
            json!({"channel": "general", "options": two_options}),
            "Question is required",
        ),
        (
            json!({"channel": "general", "question": "   ", "options": two_options}),
            "Question is required",
        ),
        (
            json!({"channel": "general", "question": ["q"], "options": two_options}),
            "Invalid field 'question': expected a string",
        ),
        (
            json!({"channel": "general", "question": "q".repeat(301), "options": two_options}),
            "Question must be at most 300 characters",
        ),
        (
            json!({"channel": "general", "question": "q"}),
            "At least 2 options are required",
        ),
        (
            json!({"channel": "general", "question": "q", "options": ["a"]}),
            "At least 2 options are required",
        ),
        (
            json!({"channel": "general", "question": "q", "options": "a,b"}),
            "Invalid field 'options': expected an array",
        ),
        (
            json!({"channel": "general", "question": "q", "options": eleven}),
            "Cannot have more than 10 options",
        ),
        (
            json!({"channel": "general", "question": "q", "options": ["a", 7]}),
            "Option 1 must be a string or an object",
        ),
        (
            json!({"channel": "general", "question": "q", "options": ["a", {"id": "x"}]}),
            "Option 1 must have 'text'",
        ),
        (
            json!({"channel": "general", "question": "q", "options": ["a", {"text": " "}]}),
            "Option 1: text must be a non-empty string",
        ),
        (
            json!({"channel": "general", "question": "q", "options": ["a", "b".repeat(101)]}),
            "Option 1: text must be at most 100 characters",
        ),
        (
            json!({"channel": "general", "question": "q", "options": ["a", {"text": "b", "id": 3}]}),
            "Option 1: id must be a non-empty string",
        ),
        (
            json!({"channel": "general", "question": "q",
                "options": ["a", {"text": "b", "id": "i".repeat(51)}]}),
            "Option 1: id must be at most 50 characters",
        ),
        (
            json!({"channel": "general", "question": "q", "options": ["a", {"text": "b", "emoji": 1}]}),
            "Option 1: emoji must be a string",
        ),
        (
            json!({"channel": "general", "question": "q",
                "options": [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}]}),
            "Duplicate option id: x",
        ),
        // An option without an id gets its index, which may be taken.
        (
            json!({"channel": "general", "question": "q", "options": [{"id": "1", "text": "a"}, "b"]}),
            "Duplicate option id: 1",
        ),
        (
            json!({"channel": "general", "question": "q", "options": two_options,
                "allow_multiselect": "yes"}),
            "Invalid field 'allow_multiselect': expected true or false",
        ),
        (
            json!({"channel": "general", "question": "q", "options": two_options, "duration_hours": "1"}),
            "Invalid field 'duration_hours': expected a number",
        ),
        (
            json!({"channel": "general", "question": "q", "options": two_options, "duration_hours": -1}),
            "duration_hours must be positive",
        ),
        (
            json!({"channel": "general", "question": "q", "options": two_options, "expires_at": 1000}),
            "Poll end time must be in the future",
        ),
        (
            json!({"channel": "general", "question": "q", "options": two_options,
                "duration_hours": 24 * 367}),
            "Poll end time must be at most 366 days away",
        ),
        (
            json!({"channel": "nope", "question": "q", "options": two_options}),
            "Channel not found",
        ),
        (
            json!({"thread_id": "t1", "question": "q", "options": two_options}),
            "Thread not found",
        ),
    ];
    for (mut fields, text) in cases {
        fields["cmd"] = json!("poll_create");
        assert_eq!(
            alice.request(fields.clone()),
            err("poll_create", text),
            "{fields}"
        );
    }

    let (_, reply) = lunch(&mut alice);
    let poll_id = id(&reply, "poll_id");
    bob.sync();
    let cases = [
        (
            json!({"option_ids": ["0"]}),
            "poll_id or message_id is required",
        ),
        (
            json!({"poll_id": 5, "option_ids": ["0"]}),
            "Invalid field 'poll_id': expected a string",
        ),
        (
            json!({"poll_id": poll_id}),
            "option_id or option_ids is required",
        ),
        (
            json!({"poll_id": poll_id, "option_ids": []}),
            "option_id or option_ids is required",
        ),
        (
            json!({"poll_id": poll_id, "option_ids": [0]}),
            "Invalid field 'option_ids': expected an array of strings",
        ),
        (
            json!({"poll_id": poll_id, "option_ids": {"0": true}}),
            "Invalid field 'option_ids': expected an array of strings",
        ),
        (
            json!({"poll_id": poll_id, "option_id": 0}),
            "Invalid field 'option_id': expected a string",
        ),
        (
            json!({"poll_id": poll_id, "option_ids": ["0", "0"]}),
            "Duplicate option id: 0",
        ),
        (
            json!({"poll_id": "nope", "option_ids": ["0"]}),
            "Poll not found",
        ),
        (
            json!({"message_id": "nope", "option_ids": ["0"]}),
            "Poll not found",
        ),
        (
            json!({"poll_id": poll_id, "option_ids": ["9"]}),
            "Invalid option: 9",
        ),
        (
            json!({"poll_id": poll_id, "option_ids": ["0", "1"]}),
            "This poll allows only one choice",
        ),
    ];
    for (mut fields, text) in cases {
        fields["cmd"] = json!("poll_vote");
        assert_eq!(
            bob.request(fields.clone()),
            err("poll_vote", text),
            "{fields}"
        );
    }
    for cmd in ["poll_end", "poll_results", "poll_get"] {
        assert_eq!(
            bob.request(json!({"cmd": cmd})),
            err(cmd, "poll_id or message_id is required")
        );
        assert_eq!(
            bob.request(json!({"cmd": cmd, "message_id": ["x"]})),
            err(cmd, "Invalid field 'message_id': expected a string")
        );
        assert_eq!(
            bob.request(json!({"cmd": cmd, "poll_id": "nope"})),
            err(cmd, "Poll not found")
        );
    }
    // Nothing was counted, nobody was told.
    alice.expect_quiet();
    assert_eq!(
        bob.request(json!({"cmd": "poll_results", "poll_id": poll_id}))["results"]["total_votes"],
        0
    );
}

#[test]
fn creating_needs_send_and_seeing_needs_view() {
    let dir = prepared_dir(
        &[
            json!({"type": "text", "name": "news",
                   "permissions": {"view": ["user"], "send": ["owner"]}}),
            json!({"type": "text", "name": "staff",
                   "permissions": {"view": ["owner"], "send": ["owner"]}}),
            json!({"type": "voice", "name": "call",
                   "permissions": {"view": ["user"], "send": ["user"]}}),
        ],
        &[],
    );
    let server = Server::in_dir(
        dir,
        test_config(json!({"rate_limiting": {"enabled": false}})),
    );
    let mut owner = with_role(&server, "alice", "owner");
    let mut bob = server.register("bob");
    owner.sync();
    let poll = |channel: &str| {
        json!({"cmd": "poll_create", "channel": channel, "question": "q",
                                      "options": ["a", "b"]})
    };
    assert_eq!(
        bob.request(poll("news")),
        err(
            "poll_create",
            "You do not have permission to send messages in this channel"
        )
    );
    assert_eq!(
        bob.request(poll("staff")),
        err(
            "poll_create",
            "You do not have permission to send messages in this channel"
        )
    );
    assert_eq!(
        bob.request(poll("call")),
        err("poll_create", "Cannot send messages in this channel type")
    );
    let (_, staff) = create(
        &mut owner,
        json!({"channel": "staff", "question": "q", "options": ["a", "b"]}),
    );
    let staff_id = id(&staff, "poll_id");
    for (cmd, extra) in [
        ("poll_vote", json!({"option_ids": ["0"]})),
        ("poll_results", json!({})),
        ("poll_get", json!({})),
        ("poll_end", json!({})),
    ] {
        let mut packet = extra;
        packet["cmd"] = json!(cmd);
        packet["poll_id"] = json!(staff_id);
        assert_eq!(
            bob.request(packet),
            err(cmd, "You do not have permission to view this poll")
        );
    }
    // bob saw nothing of it.
    bob.expect_quiet();
    // In `news` bob may not post but may vote.
    let (_, news) = create(
        &mut owner,
        json!({"channel": "news", "question": "q", "options": ["a", "b"]}),
    );
    bob.send(json!({"cmd": "poll_vote", "poll_id": news["poll_id"], "option_ids": ["1"]}));
    assert_eq!(until(&mut bob, "poll_vote")["results"]["total_votes"], 1);
}

#[test]
fn the_creator_or_a_moderator_ends_a_poll() {
    let server = server();
    let mut moderator = with_role(&server, "mod", "moderator");
    let (mut alice, mut bob) = two(&server);
    moderator.sync();
    let (_, reply) = lunch(&mut alice);
    let (poll_id, message_id) = (id(&reply, "poll_id"), id(&reply, "message_id"));
    bob.send(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["0"]}));
    until(&mut bob, "poll_vote");
    moderator.sync();
    alice.sync();

    // Someone else without manage_messages may not.
    assert_eq!(
        bob.request(json!({"cmd": "poll_end", "message_id": message_id})),
        err(
            "poll_end",
            "Access denied: 'manage_messages' permission required"
        )
    );
    // A moderator may; every viewer gets the same poll_end, voters now shown.
    let packet = moderator.request(json!({"cmd": "poll_end", "message_id": message_id}));
    let ended_at = packet["results"]["ended_at"].clone();
    assert!(ended_at.as_f64().unwrap() > 1.7e9);
    let expected = json!({"cmd": "poll_end", "poll_id": poll_id, "message_id": message_id,
        "channel": "general", "thread_id": null,
        "results": lunch_results(&poll_id, [1, 0, 0], ended_at.clone(),
                                 [json!(["USR:local_bob"]), json!([]), json!([])], None)});
    assert_eq!(packet, expected);
    assert_eq!(until(&mut alice, "poll_end"), expected);
    assert_eq!(until(&mut bob, "poll_end"), expected);
    assert_eq!(
        bob.request(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["1"]})),
        err("poll_vote", "Poll has ended")
    );
    assert_eq!(
        alice.request(json!({"cmd": "poll_end", "poll_id": poll_id})),
        err("poll_end", "Poll has already ended")
    );
    // The message shows the end; poll_get says so.
    let got = bob.request(json!({"cmd": "message_get", "channel": "general", "id": message_id}));
    let mut embed = lunch_embed(&poll_id, [1, 0, 0], ended_at.clone());
    embed["poll"]["user_votes"] = json!(["0"]);
    for (i, voted) in [true, false, false].into_iter().enumerate() {
        embed["poll"]["results"][i]["voted"] = json!(voted);
    }
    assert_eq!(got["message"]["embeds"], json!([embed]));
    let details = bob.request(json!({"cmd": "poll_get", "poll_id": poll_id}));
    assert_eq!(
        (&details["poll"]["ended"], &details["poll"]["ended_at"]),
        (&json!(true), &ended_at)
    );

    // The creator ends their own poll without any permission.
    let (_, reply) = lunch(&mut alice);
    let poll_id = id(&reply, "poll_id");
    bob.sync();
    let packet = alice.request(json!({"cmd": "poll_end", "poll_id": poll_id}));
    assert_eq!(packet["cmd"], "poll_end", "{packet}");
    assert_eq!(packet["results"]["ended"], true);
    assert_eq!(until(&mut bob, "poll_end")["poll_id"], json!(poll_id));
}

#[test]
fn the_end_time_ends_the_poll_and_tells_the_channel() {
    let server = server();
    let (mut alice, mut bob) = two(&server);
    // Three seconds from now (rounded up to a whole second): the timer must fire.
    let started = Instant::now();
    let (_, reply) = create(
        &mut alice,
        json!({"channel": "general", "question": "Quick?", "options": ["yes", "no"],
               "duration_hours": 3.0 / 3600.0}),
    );
    let poll_id = id(&reply, "poll_id");
    let expires_at = reply["expires_at"].as_f64().unwrap();
    assert_eq!(expires_at, expires_at.trunc());
    bob.send(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["0"]}));
    until(&mut bob, "poll_vote");
    let packet = until(&mut alice, "poll_end");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(packet["poll_id"], json!(poll_id));
    assert_eq!(packet["message_id"], reply["message_id"]);
    assert_eq!(packet["results"]["ended"], true);
    assert_eq!(packet["results"]["ended_at"], json!(expires_at));
    assert_eq!(packet["results"]["expires_at"], json!(expires_at));
    assert_eq!(
        packet["results"]["results"][0]["voters"],
        json!(["USR:local_bob"])
    );
    assert_eq!(until(&mut bob, "poll_end"), packet);
    assert_eq!(
        bob.request(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["1"]})),
        err("poll_vote", "Poll has ended")
    );
    let ended = format!("poll {poll_id} in #general ended: its end time passed");
    server.wait_log(&ended);
    assert_eq!(server.log_so_far().matches(&ended).count(), 1);
}

#[test]
fn an_end_time_is_kept_across_a_restart() {
    let server = server();
    let mut alice = server.register("alice");
    let (_, reply) = create(
        &mut alice,
        json!({"channel": "general", "question": "Later?", "options": ["yes", "no"],
               "duration_hours": 2.0 / 3600.0}),
    );
    let poll_id = id(&reply, "poll_id");
    let expires_at = reply["expires_at"].clone();
    server.close(alice);
    let server = server.restart();
    // Ended by the restarted server's timer: on its first look if the time passed while
    // it was down, or when it passes.
    server.wait_log(&format!(
        "poll {poll_id} in #general ended: its end time passed"
    ));
    let mut alice = server.connected();
    alice.login("alice", "secret123");
    alice.sync();
    let details = alice.request(json!({"cmd": "poll_get", "poll_id": poll_id}));
    assert_eq!(details["poll"]["ended"], true, "{details}");
    assert_eq!(details["poll"]["ended_at"], expires_at);
}

#[test]
fn deleting_the_message_or_the_channel_deletes_the_poll() {
    let server = server();
    let mut owner = with_role(&server, "alice", "owner");
    let (_, reply) = lunch(&mut owner);
    let (poll_id, message_id) = (id(&reply, "poll_id"), id(&reply, "message_id"));
    owner.send(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["0"]}));
    until(&mut owner, "poll_vote");
    owner.send(json!({"cmd": "message_delete", "channel": "general", "id": message_id}));
    until(&mut owner, "message_delete");
    owner.sync();
    assert_eq!(
        owner.request(json!({"cmd": "poll_get", "poll_id": poll_id})),
        err("poll_get", "Poll not found")
    );
    assert_eq!(
        owner.request(json!({"cmd": "poll_results", "message_id": message_id})),
        err("poll_results", "Poll not found")
    );

    owner.send(json!({"cmd": "channel_create", "name": "votes", "type": "text"}));
    until(&mut owner, "channel_create");
    owner.sync();
    let (_, reply) = create(
        &mut owner,
        json!({"channel": "votes", "question": "q", "options": ["a", "b"], "duration_hours": 1}),
    );
    let poll_id = id(&reply, "poll_id");
    owner.send(json!({"cmd": "channel_delete", "name": "votes"}));
    until(&mut owner, "channel_delete");
    owner.sync();
    assert_eq!(
        owner.request(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["0"]})),
        err("poll_vote", "Poll not found")
    );
}

#[test]
fn the_originals_polls_are_imported_with_their_votes() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("db");
    std::fs::create_dir_all(source.join("channels")).unwrap();
    let hash = bcrypt::hash("secret123", 4).unwrap();
    let users = json!({
        "USR:local_alice": {"username": "USR:local_alice", "nickname": "alice",
                            "password_hash": hash, "roles": ["user"]},
        "USR:local_bob": {"username": "USR:local_bob", "nickname": "bob",
                          "password_hash": hash, "roles": ["user"]}
    });
    let channels = json!([{"type": "text", "name": "general",
        "permissions": {"view": ["user"], "send": ["user"]}}]);
    // The original's poll message: an embed without the poll's id, and no counts.
    let options = json!([{"id": "0", "text": "Red"}, {"id": "1", "text": "Blue", "emoji": "🔵"}]);
    let original_embed = json!({"type": "poll", "title": "Colour?", "poll": {
        "question": "Colour?", "options": options, "allow_multiselect": false, "expires_at": null}});
    let history = [
        json!({"id": "m1", "user": "USR:local_alice", "content": "", "timestamp": 1700000000.5,
               "embeds": [original_embed]}),
        json!({"id": "m2", "user": "USR:local_bob", "content": "hi", "timestamp": 1700000001.0}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    let polls = json!({
        "p1": {"id": "p1", "message_id": "m1", "channel": "general", "thread_id": null,
               "question": "Colour?", "options": options, "allow_multiselect": false,
               "expires_at": null, "created_by": "USR:local_alice", "created_at": 1700000000.5,
               "ended": false, "ended_at": null},
        "p2": {"id": "p2", "message_id": "gone", "channel": "general", "question": "q",
               "options": options},
        "p3": {"id": "p3", "message_id": "t", "channel": "general", "thread_id": "t1",
               "question": "q", "options": options},
        "p4": {"id": "p4", "message_id": "m2", "channel": "general", "question": "q",
               "options": [{"id": "0", "text": "only one"}]}
    });
    let votes = json!({"p1": [
        {"poll_id": "p1", "option_id": "1", "user_id": "USR:local_bob", "voted_at": 1700000002.0},
        {"poll_id": "p1", "option_id": "1", "user_id": "USR:local_alice", "voted_at": 1700000003.0},
        {"poll_id": "p1", "option_id": "7", "user_id": "USR:local_alice", "voted_at": 1700000004.0}
    ]});
    for (name, text) in [
        ("users.json", users.to_string()),
        ("channels.json", channels.to_string()),
        ("channels/general.json", history),
        ("polls.json", polls.to_string()),
        ("poll_votes.json", votes.to_string()),
    ] {
        std::fs::write(source.join(name), text).unwrap();
    }
    let data = dir.path().join("data");
    let run = || import(&data, &source);
    let out = run();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  polls: 1 imported, 3 skipped\n"), "{text}");
    assert!(
        text.contains("its message is not in the history (1): p2"),
        "{text}"
    );
    assert!(
        text.contains("in a thread (threads are not imported) (1): p3"),
        "{text}"
    );
    assert!(
        text.contains("options missing or invalid (1): p4"),
        "{text}"
    );
    assert!(
        text.contains("votes: 2 imported, 1 skipped (unknown option, no user, or twice)"),
        "{text}"
    );
    assert!(
        !text.contains("not imported (features this server does not have): polls.json"),
        "{text}"
    );
    let again = run();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("  polls: 0 imported, 4 skipped\n"), "{text}");
    assert!(text.contains("already present (1)"), "{text}");

    std::fs::remove_dir_all(&source).unwrap();
    let server = Server::in_dir(dir, test_config(json!({})));
    let mut bob = server.connected();
    bob.login("bob", "secret123");
    bob.sync();
    bob.send(json!({"cmd": "messages_get", "channel": "general"}));
    let page = until(&mut bob, "messages_get");
    assert_eq!(
        page["messages"][0]["embeds"],
        json!([{"type": "poll", "title": "Colour?", "poll": {
            "id": "p1", "question": "Colour?", "options": options, "allow_multiselect": false,
            "expires_at": null, "ended": false, "ended_at": null, "total_votes": 2,
            "results": [{"id": "0", "text": "Red", "emoji": null, "votes": 0, "voted": false},
                        {"id": "1", "text": "Blue", "emoji": "🔵", "votes": 2, "voted": true}],
            "user_votes": ["1"]}}]),
        "{page}"
    );
    assert_eq!(
        bob.request(json!({"cmd": "poll_get", "message_id": "m1"})),
        json!({"cmd": "poll_get", "poll": {"id": "p1", "message_id": "m1", "channel": "general",
            "thread_id": null, "question": "Colour?", "options": options,
            "allow_multiselect": false, "expires_at": null, "created_by": "USR:local_alice",
            "created_at": 1700000000.5, "ended": false, "ended_at": null, "user_votes": ["1"]}})
    );
    // It works on: bob changes his vote.
    bob.send(json!({"cmd": "poll_vote", "message_id": "m1", "option_ids": ["0"]}));
    let update = until(&mut bob, "poll_vote_update");
    assert_eq!(update["poll_id"], "p1");
    assert_eq!(update["results"]["results"][0]["votes"], 1);
    assert_eq!(update["results"]["results"][1]["votes"], 1);
}

#[test]
fn an_embed_that_only_claims_a_poll_is_not_one() {
    let server = server();
    let (mut alice, mut bob) = two(&server);
    let (_, reply) = lunch(&mut alice);
    let (poll_id, message_id) = (id(&reply, "poll_id"), id(&reply, "message_id"));
    bob.sync();
    bob.send(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["0"]}));
    until(&mut bob, "poll_vote");
    // bob posts a message whose embed claims the poll's id (and counts of its own).
    let forged = json!({"type": "poll", "poll": {"id": poll_id, "question": "Lunch?",
        "options": [], "total_votes": 99, "results": []}});
    bob.send(
        json!({"cmd": "message_new", "channel": "general", "content": "fake",
                    "embeds": [forged]}),
    );
    let fake = until(&mut bob, "message_new");
    // Voting by the forged message's id finds no poll; history marks only the real one.
    assert_eq!(
        bob.request(
            json!({"cmd": "poll_vote", "message_id": fake["message"]["id"],
                           "option_ids": ["1"]})
        ),
        err("poll_vote", "Poll not found")
    );
    bob.send(json!({"cmd": "messages_get", "channel": "general"}));
    let page = until(&mut bob, "messages_get");
    let messages = page["messages"].as_array().unwrap();
    let real = messages
        .iter()
        .find(|m| m["id"] == json!(message_id))
        .unwrap();
    assert_eq!(real["embeds"][0]["poll"]["user_votes"], json!(["0"]));
    assert_eq!(real["embeds"][0]["poll"]["total_votes"], 1);
    let shown = messages.iter().find(|m| m["content"] == "fake").unwrap();
    assert_eq!(shown["embeds"], json!([forged]));
}

#[test]
fn creating_and_voting_share_the_message_rate_limit() {
    let server = Server::with(json!({"rate_limiting": {"burst_limit": 2, "cooldown_seconds": 30}}));
    let mut alice = server.register("alice");
    let (_, reply) = lunch(&mut alice);
    let poll_id = id(&reply, "poll_id");
    alice.send(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["0"]}));
    until(&mut alice, "poll_vote");
    let burst = json!({"cmd": "rate_limit",
        "reason": "Burst limit exceeded. You're in cooldown for 30 seconds", "length": 30000});
    assert_eq!(
        alice.request(json!({"cmd": "poll_vote", "poll_id": poll_id, "option_ids": ["1"]})),
        burst
    );
    let r = alice.request(
        json!({"cmd": "poll_create", "channel": "general", "question": "q",
                                 "options": ["a", "b"]}),
    );
    assert_eq!(r["cmd"], "rate_limit", "{r}");
    // Refused: nothing changed.
    let results = alice.request(json!({"cmd": "poll_results", "poll_id": poll_id}));
    assert_eq!(results["results"]["results"][0]["voted"], true);
    assert_eq!(results["results"]["total_votes"], 1);
}

#[test]
fn an_imported_poll_past_its_end_time_is_ended_by_the_running_server() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("db");
    std::fs::create_dir_all(source.join("channels")).unwrap();
    let channels = json!([{"type": "text", "name": "general",
        "permissions": {"view": ["user"], "send": ["user"]}}]);
    let message = json!({"id": "old-poll", "user": "USR:local_zed", "content": "",
                         "timestamp": 1700000000.5, "embeds": []});
    let polls = json!({"p9": {"id": "p9", "message_id": "old-poll", "channel": "general",
        "question": "Long ago?", "options": ["yes", "no"], "expires_at": 1700000100.0,
        "ended": false}});
    for (name, text) in [
        ("users.json", "{}".to_string()),
        ("channels.json", channels.to_string()),
        ("channels/general.json", message.to_string()),
        ("polls.json", polls.to_string()),
    ] {
        std::fs::write(source.join(name), text).unwrap();
    }
    let out = import(&server.data_dir(), &source);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  polls: 1 imported\n"), "{text}");
    // The server sees another process's commit and its timer looks at once.
    server.wait_log("poll p9 in #general ended: its end time passed");
    let mut alice = server.register("alice");
    let details = alice.request(json!({"cmd": "poll_get", "message_id": "old-poll"}));
    assert_eq!(details["poll"]["ended"], true, "{details}");
    assert_eq!(details["poll"]["ended_at"], 1700000100.0);
    let got = alice.request(json!({"cmd": "message_get", "channel": "general", "id": "old-poll"}));
    assert_eq!(got["message"]["embeds"][0]["poll"]["ended"], true, "{got}");
    assert_eq!(got["message"]["embeds"][0]["poll"]["id"], "p9");
}
