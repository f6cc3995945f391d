//! History survives restarts and is paged exactly as the original server does (§8.7);
//! read markers (`unreads_*`).

mod common;

use common::{Client, Server};
use serde_json::{Value, json};

fn post_n(c: &mut Client, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let r = c.request(
                json!({"cmd": "message_new", "channel": "general", "content": format!("m{i}")}),
            );
            r["message"]["id"].as_str().unwrap().to_string()
        })
        .collect()
}

fn contents(reply: &Value, key: &str) -> Vec<String> {
    reply[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn paging_counts_back_from_the_newest() {
    let server = Server::start();
    let mut a = server.register("alice");
    let ids = post_n(&mut a, 5);
    a.send(json!({"cmd": "messages_get", "channel": "general", "start": 2, "limit": 2}));
    assert_eq!(
        a.recv(),
        json!({"cmd": "unreads_update", "last_read": ids[4], "channel": "general"})
    );
    let page = a.recv();
    assert_eq!(page["cmd"], "messages_get");
    assert_eq!(contents(&page, "messages"), ["m1", "m2"]);
    assert_eq!(page["range"], json!({"start": 2, "end": 4}));
    let get = |a: &mut Client, req: Value| {
        a.send(req);
        a.expect("unreads_update");
        a.recv()
    };
    let all = get(&mut a, json!({"cmd": "messages_get", "channel": "general"}));
    assert_eq!(contents(&all, "messages"), ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(all["range"], json!({"start": 0, "end": 100}));
    let capped = get(
        &mut a,
        json!({"cmd": "messages_get", "channel": "general", "start": -5, "limit": 500}),
    );
    assert_eq!(capped["range"], json!({"start": -5, "end": 495}));
    assert_eq!(contents(&capped, "messages").len(), 5);
    let past = get(
        &mut a,
        json!({"cmd": "messages_get", "channel": "general", "start": 9}),
    );
    assert_eq!(past["messages"], json!([]));
    let before = get(
        &mut a,
        json!({"cmd": "messages_get", "channel": "general", "start": ids[3], "limit": 2}),
    );
    assert_eq!(contents(&before, "messages"), ["m1", "m2"]);
    let unknown = get(
        &mut a,
        json!({"cmd": "messages_get", "channel": "general", "start": "nope"}),
    );
    assert_eq!(unknown["messages"], json!([]));
    assert_eq!(
        a.request(json!({"cmd": "messages_get", "channel": "general", "start": {"x": 1}})),
        json!({"cmd": "error", "src": "messages_get", "val": "Invalid field 'start': expected a number"})
    );
    assert_eq!(
        a.request(json!({"cmd": "messages_get"})),
        json!({"cmd": "error", "src": "messages_get", "val": "Channel or thread_id required"})
    );
    assert_eq!(
        a.request(json!({"cmd": "messages_get", "channel": "nope"})),
        json!({"cmd": "error", "src": "messages_get", "val": "Channel not found"})
    );
}

#[test]
fn around_search_and_get() {
    let server = Server::start();
    let mut a = server.register("alice");
    let ids = post_n(&mut a, 6);
    let around = a.request(json!({"cmd": "messages_around", "channel": "general", "around": ids[2], "bounds": {"above": 1, "below": 1}}));
    assert_eq!(contents(&around, "messages"), ["m1", "m2", "m3"]);
    assert_eq!(around["range"], json!({"start": 1, "end": 4}));
    assert_eq!(around["thread_id"], Value::Null);
    // The newest message is returned too (the original server's off-by-one is fixed).
    let newest = a.request(json!({"cmd": "messages_around", "channel": "general", "around": ids[5], "bounds": {"above": 3, "below": 0}}));
    assert_eq!(contents(&newest, "messages"), ["m5"]);
    assert_eq!(
        a.request(json!({"cmd": "messages_around", "channel": "general"})),
        json!({"cmd": "error", "src": "messages_around", "val": "around (message ID) is required"})
    );
    let found = a.request(json!({"cmd": "messages_search", "channel": "general", "query": "M4"}));
    assert_eq!(contents(&found, "results"), ["m4"]);
    assert_eq!(found["query"], "M4");
    let all = a.request(json!({"cmd": "messages_search", "channel": "general", "query": "m"}));
    assert_eq!(
        contents(&all, "results"),
        ["m5", "m4", "m3", "m2", "m1", "m0"],
        "newest first"
    );
    assert_eq!(
        a.request(json!({"cmd": "messages_search", "channel": "general"})),
        json!({"cmd": "error", "src": "messages_search", "val": "Channel name and query are required"})
    );
    let one = a.request(json!({"cmd": "message_get", "channel": "general", "id": ids[1]}));
    assert_eq!(one["channel"], "general");
    assert_eq!(one["message"]["content"], "m1");
    assert_eq!(
        a.request(json!({"cmd": "message_get", "channel": "general"})),
        json!({"cmd": "error", "src": "message_get", "val": "Channel/thread and message ID are required"})
    );
}

#[test]
fn search_results_are_bounded_by_the_limit() {
    let server = Server::with(json!({"limits": {"search_results": 3}}));
    let mut a = server.register("alice");
    post_n(&mut a, 8);
    let found = a.request(json!({"cmd": "messages_search", "channel": "general", "query": "m"}));
    assert_eq!(contents(&found, "results"), ["m7", "m6", "m5"]);
}

#[test]
fn history_and_channels_survive_a_restart() {
    let server = Server::start();
    let mut a = server.register("alice");
    let ids = post_n(&mut a, 3);
    drop(a);
    let server = server.restart();
    let mut a = server.connected();
    a.login("alice", "secret123");
    a.expect("user_connect");
    let channels = a.request(json!({"cmd": "channels_get"}));
    let general = &channels["val"][0];
    assert_eq!(general["name"], "general");
    assert_eq!(general["last_message_id"], json!(ids[2]));
    assert!(general["last_message"].as_f64().unwrap() > 1.7e9);
    assert_eq!(general["permissions"]["view"], json!(["user"]));
    a.send(json!({"cmd": "messages_get", "channel": "general"}));
    a.expect("unreads_update");
    assert_eq!(contents(&a.recv(), "messages"), ["m0", "m1", "m2"]);
}

#[test]
fn read_markers() {
    let server = Server::start();
    let mut a = server.register("alice");
    let mut tab2 = server.connected();
    tab2.login("alice", "secret123");
    let ids = post_n(&mut a, 4);
    for _ in 0..4 {
        tab2.expect("message_new");
    }
    let unreads = a.request(json!({"cmd": "unreads_get"}));
    assert_eq!(
        unreads,
        json!({"cmd": "unreads_get", "unreads": {"general": {"last_read": null, "unread_count": 4, "total_messages": 4}}})
    );
    a.send(json!({"cmd": "unreads_ack", "channel": "general", "message_id": ids[1]}));
    let update = json!({"cmd": "unreads_update", "last_read": ids[1], "channel": "general"});
    assert_eq!(a.recv(), update);
    assert_eq!(
        a.recv(),
        json!({"cmd": "unreads_ack", "channel": "general", "last_read": ids[1]})
    );
    assert_eq!(
        tab2.recv(),
        update,
        "every connection of the user hears of it"
    );
    let count = a.request(json!({"cmd": "unreads_count", "channel": "general"}));
    assert_eq!(
        count,
        json!({"cmd": "unreads_count", "channel": "general", "unread_count": 2, "last_read": ids[1], "total_messages": 4})
    );
    a.send(json!({"cmd": "unreads_ack", "channel": "general"}));
    a.expect("unreads_update");
    assert_eq!(a.recv()["last_read"], json!(ids[3]));
    assert_eq!(
        a.request(json!({"cmd": "unreads_ack"})),
        json!({"cmd": "error", "src": "unreads_ack", "val": "Channel or thread_id is required"})
    );
}

#[test]
fn pings_get_finds_mentions_and_replies() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let mut bob = server.register("bob");
    alice.expect("user_join");
    alice.expect("user_connect");
    let first = alice.request(
        json!({"cmd": "message_new", "channel": "general", "content": "hi @USR:local_bob"}),
    );
    bob.expect("message_new");
    alice.request(json!({"cmd": "message_new", "channel": "general", "content": "not for bob"}));
    bob.expect("message_new");
    let id = first["message"]["id"].as_str().unwrap();
    bob.request(
        json!({"cmd": "message_new", "channel": "general", "content": "back", "reply_to": id}),
    );
    alice.expect("message_new");
    alice.request(json!({"cmd": "message_new", "channel": "general", "content": "hey @&user"}));
    bob.expect("message_new");
    let pings = bob.request(json!({"cmd": "pings_get"}));
    assert_eq!(pings["total"], 2);
    assert_eq!(
        contents(&pings, "messages"),
        ["hey @&user", "hi @USR:local_bob"]
    );
    assert_eq!(pings["messages"][0]["channel"], "general");
    let alice_pings = alice.request(json!({"cmd": "pings_get", "limit": 1, "offset": 1}));
    assert_eq!(
        (
            alice_pings["total"].as_u64(),
            alice_pings["offset"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(contents(&alice_pings, "messages"), ["back"]);
    assert_eq!(
        alice.request(json!({"cmd": "pings_get", "limit": 0})),
        json!({"cmd": "error", "src": "pings_get", "val": "Limit must be a number between 1 and 100"})
    );
}

#[test]
fn search_ignores_case_and_follows_edits_and_deletes() {
    let server = Server::start();
    let mut a = server.register("alice");
    let posted = a.request(
        json!({"cmd": "message_new", "channel": "general", "content": "Hello Wonderful Wörld"}),
    );
    let id = posted["message"]["id"].as_str().unwrap().to_string();
    a.request(json!({"cmd": "message_new", "channel": "general", "content": "another one"}));
    let search = |a: &mut Client, q: &str| {
        let r = a.request(json!({"cmd": "messages_search", "channel": "general", "query": q}));
        assert_eq!(r["cmd"], "messages_search", "{r}");
        contents(&r, "results")
    };
    assert_eq!(search(&mut a, "wONDERful"), ["Hello Wonderful Wörld"]);
    assert_eq!(search(&mut a, "WÖRLD"), ["Hello Wonderful Wörld"]);
    assert_eq!(search(&mut a, "lo W"), ["Hello Wonderful Wörld"]);
    a.send(json!({"cmd": "message_edit", "id": id, "channel": "general", "content": "plain now"}));
    a.expect("message_edit");
    assert!(search(&mut a, "wonderful").is_empty());
    assert_eq!(search(&mut a, "PLAIN"), ["plain now"]);
    assert_eq!(
        search(&mut a, "pL"),
        ["plain now"],
        "2 characters: the scan"
    );
    a.send(json!({"cmd": "message_delete", "id": id, "channel": "general"}));
    a.expect("message_delete");
    assert!(search(&mut a, "plain").is_empty());
    assert!(search(&mut a, "pl").is_empty());
    assert_eq!(search(&mut a, "ANOTHER"), ["another one"]);
}

#[test]
fn pings_follow_edits_and_deletes() {
    let server = Server::start();
    let mut alice = server.register("alice");
    let mut bob = server.register("bob");
    alice.expect("user_join");
    alice.expect("user_connect");
    let posted =
        alice.request(json!({"cmd": "message_new", "channel": "general", "content": "hi all"}));
    let id = posted["message"]["id"].as_str().unwrap().to_string();
    let total = |bob: &mut Client| {
        bob.sync();
        let p = bob.request(json!({"cmd": "pings_get"}));
        (p["total"].as_u64().unwrap(), contents(&p, "messages"))
    };
    assert_eq!(total(&mut bob), (0, vec![]));
    alice.send(json!({"cmd": "message_edit", "id": id, "channel": "general", "content": "hi @USR:local_bob!"}));
    alice.expect("message_edit");
    assert_eq!(total(&mut bob), (1, vec!["hi @USR:local_bob!".to_string()]));
    alice.send(json!({"cmd": "message_edit", "id": id, "channel": "general", "content": "hi @USR:local_bobby"}));
    alice.expect("message_edit");
    assert_eq!(total(&mut bob), (0, vec![]));
    alice.send(
        json!({"cmd": "message_edit", "id": id, "channel": "general", "content": "hi @&user"}),
    );
    alice.expect("message_edit");
    assert_eq!(total(&mut bob).0, 1);
    alice.send(json!({"cmd": "message_delete", "id": id, "channel": "general"}));
    alice.expect("message_delete");
    assert_eq!(total(&mut bob), (0, vec![]));
}
