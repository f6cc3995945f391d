//! The built-in web client in a real browser: Debian's headless Chromium driven over
//! WebDriver against the real server. Two people register, see each other online, talk
//! both ways, reply, edit, react, delete, reload, and one browser reconnects by itself after
//! the server restarts on the same port and data.
//!
//! Skipped (with a printed reason) where Chromium is not installed, e.g. the aarch64 run
//! under qemu; never skipped in CI on x86_64. Screenshots of both pages are saved under
//! target/browser-screenshots/ on failure, and at phone and desktop sizes on success.

mod common;
mod webdriver;

use serde_json::{Value, json};

use common::{Server, prepared_dir, test_config, until, with_role};
use webdriver::{
    ARROW_UP, Browser, Driver, ENTER, Element, ScreenshotsOnFailure, browser_available,
};

const PASSWORD: &str = "secret123";

/// An input or textarea whose `<label>` says `label`.
fn labelled(b: &Browser, label: &str) -> Option<Element> {
    b.find_xpath(&format!(
        "//*[self::input or self::textarea][@id=//label[normalize-space(.)='{label}']/@for]"
    ))
}

/// A displayed button named `name`.
fn button(b: &Browser, name: &str) -> Option<Element> {
    b.find_xpath(&format!("//button[normalize-space(.)='{name}']"))
        .filter(|e| b.displayed(e))
}

/// The message whose text is `text`, in the message log.
fn message(b: &Browser, text: &str) -> Option<Element> {
    b.find_xpath(&format!(
        "//*[@role='log']//article[contains(concat(' ', @class, ' '), ' msg ')][div[@class='content'][normalize-space(.)='{text}']]"
    ))
}

/// What the log shows: one object per message.
fn messages(b: &Browser) -> Vec<Value> {
    let v = b.script(
        "return [...document.querySelectorAll('[role=log] .msg')].map(m => ({
            text: m.querySelector('.content')?.textContent ?? null,
            author: m.dataset.author,
            edited: !!m.querySelector('.edited'),
            reply: m.querySelector('.msg-reply .snippet')?.textContent ?? null,
            reactions: [...m.querySelectorAll('.reaction')].map(r => r.getAttribute('aria-label')),
        }));",
        json!([]),
    );
    v.as_array().cloned().unwrap_or_default()
}

fn wait_message(b: &Browser, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    b.wait(what, |b| messages(b).into_iter().find(|m| check(m)))
}

/// The chat is shown and the composer can be used.
fn wait_chat(b: &Browser) {
    b.wait("the chat with a usable composer", |b| {
        let log = b.find("[role=log]").filter(|e| b.displayed(e))?;
        let input = labelled(b, "Message").filter(|e| b.enabled(e))?;
        (b.find("#auth-view").is_some_and(|e| !b.displayed(&e))).then_some((log, input))
    });
}

/// Fills the login form and presses `action` ("Log in" or "Register").
fn authenticate(b: &Browser, name: &str, action: &str) {
    let user = b.wait("the Username input", |b| {
        labelled(b, "Username").filter(|e| b.displayed(e))
    });
    assert_eq!(b.label(&user), "Username");
    let password = labelled(b, "Password").expect("a Password input");
    assert_eq!(b.label(&password), "Password");
    b.clear(&user).unwrap();
    b.type_text(&user, name).unwrap();
    b.type_text(&password, PASSWORD).unwrap();
    assert!(button(b, "Log in").is_some(), "a Log in button");
    b.wait_click(action, |b| button(b, action));
    wait_chat(b);
}

fn send(b: &Browser, text: &str) {
    send_shown(b, text, text);
}

/// Sends `text` and waits for it to show as `shown` (after markdown).
fn send_shown(b: &Browser, text: &str, shown: &str) {
    let input = b.wait("the Message input", |b| {
        labelled(b, "Message").filter(|e| b.enabled(e))
    });
    assert_eq!(b.label(&input), "Message");
    b.type_text(&input, text).unwrap();
    b.wait_click("Send", |b| button(b, "Send"));
    wait_message(b, &format!("own message {text:?}"), |m| m["text"] == shown);
}

/// Shows a message's actions as a keyboard user would (focus), then presses `action`.
fn message_action(b: &Browser, text: &str, action: &str) {
    b.wait_click(&format!("{action} on {text:?}"), |b| {
        let msg = message(b, text)?;
        b.script("arguments[0].focus();", json!([msg.arg()]));
        b.find_in(&msg, &format!(".//button[normalize-space(.)='{action}']"))
    });
}

fn member_status(b: &Browser, username: &str) -> String {
    b.script(
        "const el = [...document.querySelectorAll('#member-list .member')]
            .find(e => e.dataset.user === arguments[0]);
         return el ? el.dataset.status : '';",
        json!([username]),
    )
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// Whether the server keeps browsers logged in (the `token_login` command exists).
fn server_has_sessions(server: &Server) -> bool {
    let mut c = server.client();
    let handshake = c.expect("handshake");
    handshake["val"]["capabilities"]
        .as_array()
        .is_some_and(|caps| caps.iter().any(|c| c == "token_login"))
}

/// Problems the page reported in its console that must never happen.
fn assert_clean_console(b: &Browser) {
    let bad: Vec<String> = b
        .console()
        .into_iter()
        .filter(|l| l.contains("Content Security Policy") || l.contains("Uncaught"))
        .collect();
    assert!(
        bad.is_empty(),
        "{}: console errors:\n{}",
        b.name,
        bad.join("\n")
    );
}

/// The whole flow against `scheme://127.0.0.1:<port>/`; `chromium_args` are added to both
/// browsers' command lines (the https run adds what makes them trust the test certificate).
fn chat_flow(test: &'static str, scheme: &str, chromium_args: &[&str]) {
    if !browser_available(test) {
        return;
    }
    // A fixed port, so that the restarted server is found where the page expects it.
    let port = webdriver::free_port();
    let mut server = Server::with(json!({
        "websocket": {"port": port},
        "rate_limiting": {"enabled": false},
    }));
    let url = format!("{scheme}://127.0.0.1:{port}/");
    let driver = Driver::start();
    let alice = driver.browser("alice", chromium_args);
    let bob = driver.browser("bob", chromium_args);
    let _guard = ScreenshotsOnFailure {
        test,
        browsers: vec![&alice, &bob],
    };
    // Alice on a desktop, Bob on a phone.
    alice.viewport(1280, 800, false);
    bob.viewport(390, 844, true);

    alice.goto(&url);
    bob.goto(&url);
    bob.wait_visible("the login form", "#auth-form");
    bob.screenshot(&format!("{test}-phone-login.png"));
    assert_eq!(
        alice.wait_script(
            "the server name as the title",
            "return document.title;",
            json!([])
        ),
        "My OriginChats Server"
    );
    authenticate(&alice, "alice", "Register");
    let log = alice.wait("the message log", |b| b.find("[role=log]"));
    assert_eq!(alice.role(&log), "log");
    authenticate(&bob, "bob", "Register");

    // Each sees the other online.
    alice.wait("bob online", |b| {
        (member_status(b, "USR:local_bob") == "online").then_some(())
    });
    bob.wait("alice online", |b| {
        (member_status(b, "USR:local_alice") == "online").then_some(())
    });

    // Live messages both ways.
    send(&alice, "hello from alice");
    wait_message(&bob, "alice's message", |m| {
        m["text"] == "hello from alice" && m["author"] == "USR:local_alice"
    });
    // Typing shows on the other side.
    let input = labelled(&bob, "Message").unwrap();
    bob.type_text(&input, "hi").unwrap();
    alice.wait_script(
        "bob is typing",
        "return document.getElementById('typing').textContent.includes('bob is typing');",
        json!([]),
    );
    // From the keyboard: Enter sends.
    bob.type_text(&input, " alice").unwrap();
    bob.type_text(&input, ENTER).unwrap();
    wait_message(&alice, "bob's message", |m| {
        m["text"] == "hi alice" && m["author"] == "USR:local_bob"
    });

    // Bob replies to Alice's message.
    message_action(&bob, "hello from alice", "Reply");
    send(&bob, "a reply");
    wait_message(&alice, "the reply", |m| {
        m["text"] == "a reply" && m["reply"] == "hello from alice"
    });

    // Alice edits hers.
    message_action(&alice, "hello from alice", "Edit");
    let edit = alice.wait("the edit box", |b| {
        b.find("textarea[aria-label='Edit message']")
    });
    alice.clear(&edit).unwrap();
    alice.type_text(&edit, "hello, edited").unwrap();
    alice.type_text(&edit, ENTER).unwrap();
    wait_message(&bob, "the edit", |m| {
        m["text"] == "hello, edited" && m["edited"] == true
    });

    // Bob reacts; Alice sees it; Bob takes it back.
    message_action(&bob, "hello, edited", "React");
    bob.wait_click("the thumbs up", |b| {
        b.find("#emoji-picker button[aria-label='👍 thumbs up']")
    });
    wait_message(&alice, "bob's reaction", |m| {
        m["text"] == "hello, edited" && m["reactions"] == json!(["👍 1"])
    });
    bob.wait_click("bob's reaction chip", |b| {
        let msg = message(b, "hello, edited")?;
        b.find_in(&msg, ".//button[contains(@class, 'reaction')]")
    });
    wait_message(&alice, "the reaction removed", |m| {
        m["text"] == "hello, edited" && m["reactions"] == json!([])
    });
    message_action(&bob, "hello, edited", "React");
    bob.wait_click("the party emoji", |b| {
        b.find("#emoji-picker button[aria-label='🎉 party']")
    });
    wait_message(&alice, "bob's second reaction", |m| {
        m["text"] == "hello, edited" && m["reactions"] == json!(["🎉 1"])
    });

    // Alice deletes a message of hers (two presses: the first asks to confirm).
    send(&alice, "a mistake");
    wait_message(&bob, "the mistake", |m| m["text"] == "a mistake");
    message_action(&alice, "a mistake", "Delete");
    message_action(&alice, "a mistake", "Confirm delete");
    bob.wait("the mistake deleted", |b| {
        (!messages(b).iter().any(|m| m["text"] == "a mistake")).then_some(())
    });
    // Bob may not delete Alice's messages (only admins and moderators may in general).
    bob.script(
        "arguments[0].focus();",
        json!([message(&bob, "hello, edited").unwrap().arg()]),
    );
    assert!(
        bob.find_in(
            &message(&bob, "hello, edited").unwrap(),
            ".//button[normalize-space(.)='Delete']"
        )
        .is_none()
    );

    // Markup stays text.
    send_shown(
        &alice,
        "**bold** and <b>not html</b>",
        "bold and <b>not html</b>",
    );
    let html = bob.wait_script(
        "the markdown message",
        "const m = [...document.querySelectorAll('[role=log] .msg .content')]
            .find(c => c.textContent === 'bold and <b>not html</b>');
         return m ? m.innerHTML : null;",
        json!([]),
    );
    assert_eq!(
        html, "<strong>bold</strong> and &lt;b&gt;not html&lt;/b&gt;",
        "only the markdown subset becomes markup"
    );

    alice.screenshot(&format!("{test}-desktop-chat.png"));
    bob.screenshot(&format!("{test}-phone-chat.png"));
    bob.wait_click("Channels", |b| button(b, "Channels"));
    bob.wait_script(
        "the channel drawer fully open",
        "const r = document.getElementById('sidebar').getBoundingClientRect();
         return r.left === 0 && r.width > 200;",
        json!([]),
    );
    bob.screenshot(&format!("{test}-phone-channels.png"));
    bob.script(
        "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}));",
        json!([]),
    );

    // A reload shows the history; with session tokens Alice is still logged in.
    let sessions = server_has_sessions(&server);
    alice.refresh();
    if sessions {
        wait_chat(&alice);
    } else {
        authenticate(&alice, "alice", "Log in");
    }
    for text in ["hello, edited", "hi alice", "a reply"] {
        wait_message(&alice, &format!("{text:?} after the reload"), |m| {
            m["text"] == text
        });
    }
    assert!(!messages(&alice).iter().any(|m| m["text"] == "a mistake"));

    // The server stops; the pages notice and retry with a growing delay. Once Bob's next
    // try is seconds away, the server starts again (same port, same data) and Carol posts:
    // Bob was away, so his page must fetch it when it reconnects by itself.
    let config = server.config.clone();
    let data = server.kill();
    bob.wait_script(
        "bob's page to retry with a delay of 6 s or more",
        "const b = document.getElementById('status-banner');
         const m = !b.hidden && /Reconnecting in (\\d+) s/.exec(b.textContent);
         return !!m && Number(m[1]) >= 6 && document.getElementById('message-input').disabled;",
        json!([]),
    );
    server = Server::in_dir(data, config);
    let mut carol = server.connected();
    carol.register("carol", PASSWORD);
    carol.send(
        json!({"cmd": "message_new", "channel": "general", "content": "while you were away"}),
    );
    until(&mut carol, "message_new");
    let online = carol.request(json!({"cmd": "users_online"}));
    assert!(
        !online.to_string().contains("USR:local_bob"),
        "bob reconnected too early for this test: {online}"
    );
    wait_chat(&bob);
    wait_message(&bob, "the message posted while bob was away", |m| {
        m["text"] == "while you were away"
    });
    bob.wait("the banner to go", |b| {
        b.find("#status-banner")
            .is_some_and(|e| !b.displayed(&e))
            .then_some(())
    });
    wait_chat(&alice);
    send(&bob, "back after the restart");
    wait_message(&alice, "bob's message after the restart", |m| {
        m["text"] == "back after the restart"
    });
    // What was there before is still shown, and nothing twice.
    let texts: Vec<Value> = messages(&bob)
        .into_iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(
        texts,
        json!([
            "hello, edited",
            "hi alice",
            "a reply",
            "bold and <b>not html</b>",
            "while you were away",
            "back after the restart"
        ])
        .as_array()
        .unwrap()
        .clone()
    );

    assert_clean_console(&alice);
    assert_clean_console(&bob);
    drop(server);
}

#[test]
fn chat_in_two_browsers_over_http() {
    chat_flow("http", "http", &[]);
}

/// The same over `https://` and `wss://` with the server's self-signed certificate (the
/// browsers are told to accept it: trusting it is what the `/tls` page explains to people).
#[test]
fn chat_in_two_browsers_over_https() {
    chat_flow("https", "https", &["--ignore-certificate-errors"]);
}

/// The number badge of a channel in the list ("" when there is none).
fn channel_badge(b: &Browser, channel: &str) -> String {
    b.script(
        "const el = [...document.querySelectorAll('#channel-list .channel')]
            .find(e => e.dataset.channel === arguments[0]);
         const badge = el && el.querySelector('.badge');
         return badge ? badge.getAttribute('aria-label') : '';",
        json!([channel]),
    )
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// One person in a browser, the rest of the server through WebSocket clients: scroll-back
/// paging through a long history, unread and mention badges, voice participants, search,
/// the own nickname and status as the others receive them.
#[test]
fn history_unreads_voice_search_and_profile() {
    let test = "features";
    if !browser_available(test) {
        return;
    }
    let dir = prepared_dir(
        &[
            json!({"type": "text", "name": "random", "permissions": {"view": ["user"], "send": ["user"]}}),
            json!({"type": "voice", "name": "lounge", "permissions": {"view": ["user"]}}),
        ],
        &[],
    );
    let server = Server::in_dir(
        dir,
        test_config(json!({"rate_limiting": {"enabled": false}})),
    );
    let mut carol = with_role(&server, "carol", "owner");
    for i in 1..=120 {
        carol.send(json!({"cmd": "message_new", "channel": "general", "content": format!("m{i}")}));
        until(&mut carol, "message_new");
    }
    let url = format!("http://{}/", server.addr);
    let driver = Driver::start();
    let dave = driver.browser("dave", &[]);
    let _guard = ScreenshotsOnFailure {
        test,
        browsers: vec![&dave],
    };
    dave.viewport(1280, 800, false);
    dave.goto(&url);
    authenticate(&dave, "dave", "Register");

    // The newest page first, at the bottom; scrolling up loads the rest, in order, once.
    wait_message(&dave, "the newest message", |m| m["text"] == "m120");
    let all: Vec<Value> = (1..=120).map(|i| json!(format!("m{i}"))).collect();
    dave.wait("the whole history after scrolling up", |b| {
        b.script(
            "const log = document.querySelector('[role=log]');
             log.scrollTop = 0; log.dispatchEvent(new Event('scroll'));",
            json!([]),
        );
        let texts: Vec<Value> = messages(b).into_iter().map(|m| m["text"].clone()).collect();
        (texts == all).then_some(())
    });
    dave.wait_visible("the start of the channel", "#log-start");

    // Unread and mention badges on another channel; opening it clears them.
    carol.send(json!({"cmd": "message_new", "channel": "random", "content": "psst"}));
    let psst = until(&mut carol, "message_new")["message"]["id"].clone();
    dave.wait("an unread badge", |b| {
        (channel_badge(b, "random") == "1 unread").then_some(())
    });
    carol.send(json!({"cmd": "message_new", "channel": "random", "content": "hey @dave look"}));
    until(&mut carol, "message_new");
    dave.wait("a mention badge", |b| {
        (channel_badge(b, "random") == "1 mentions").then_some(())
    });
    dave.wait_click("the random channel", |b| {
        b.find("#channel-list .channel[data-channel='random']")
    });
    let mention = wait_message(&dave, "the mention", |m| m["text"] == "hey @dave look");
    assert_eq!(mention["author"], "USR:local_carol");
    assert!(
        dave.script(
            "return [...document.querySelectorAll('[role=log] .msg.mentioned')].length;",
            json!([])
        ) == json!(1),
        "the mention is highlighted"
    );
    dave.wait("the badge cleared", |b| {
        channel_badge(b, "random").is_empty().then_some(())
    });

    // Pins: Carol (an owner) pins; Dave sees the mark live and in the pins panel.
    carol.send(json!({"cmd": "message_pin", "channel": "random", "id": psst}));
    until(&mut carol, "message_pin");
    dave.wait_script(
        "the pin mark",
        "const m = [...document.querySelectorAll('[role=log] .msg')]
            .find(e => e.querySelector('.content').textContent === 'psst');
         return m && !!m.querySelector('.pinned');",
        json!([]),
    );
    dave.wait_click("Pins", |b| button(b, "Pins"));
    dave.wait_script(
        "the pins panel",
        "const p = document.getElementById('panel');
         return !p.hidden && p.textContent.includes('Pinned messages') && p.textContent.includes('psst');",
        json!([]),
    );
    dave.wait_click("Close panel", |b| b.find("#panel-close"));
    // Role colours: owners are purple (#9400D3) in the member list.
    let color = dave.script(
        "const el = [...document.querySelectorAll('#member-list .member')]
            .find(e => e.dataset.user === 'USR:local_carol');
         return el && getComputedStyle(el.querySelector('.member-name')).color;",
        json!([]),
    );
    assert_eq!(color, "rgb(148, 0, 211)");

    // The markdown subset: links open in a new tab, code stays literal, no other markup.
    carol.send(json!({"cmd": "message_new", "channel": "random",
        "content": "see https://example.com/a?b=1 and `<i>x</i>` *it* [t](javascript:alert(1))"}));
    until(&mut carol, "message_new");
    let html = dave.wait_script(
        "the markdown message",
        "const m = [...document.querySelectorAll('[role=log] .msg .content')]
            .find(c => c.textContent.startsWith('see '));
         return m ? m.innerHTML : null;",
        json!([]),
    );
    assert_eq!(
        html,
        "see <a href=\"https://example.com/a?b=1\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">https://example.com/a?b=1</a> \
         and <code>&lt;i&gt;x&lt;/i&gt;</code> <em>it</em> [t](javascript:alert(1))"
    );

    // Voice channels show who is in them.
    carol.send(json!({"cmd": "voice_join", "channel": "lounge", "peer_id": "peer-carol"}));
    until(&mut carol, "voice_join");
    dave.wait_script(
        "carol in the lounge",
        "const v = document.querySelector('#channel-list .voice[data-channel=lounge]');
         return v && v.textContent.includes('carol');",
        json!([]),
    );

    // Search in the channel.
    let search = dave.find("#search-input").expect("a search box");
    assert_eq!(dave.label(&search), "Search messages");
    dave.type_text(&search, "look").unwrap();
    dave.type_text(&search, ENTER).unwrap();
    dave.wait_script(
        "the search result",
        "const p = document.getElementById('panel');
         return !p.hidden && p.textContent.includes('hey @dave look');",
        json!([]),
    );
    dave.wait_click("Close panel", |b| b.find("#panel-close"));

    // Own nickname and status, as the others receive them.
    dave.wait_click("Profile and status", |b| {
        b.find_xpath("//summary[normalize-space(.)='Profile and status']")
    });
    let nick = dave.wait("the Nickname input", |b| {
        labelled(b, "Nickname").filter(|e| b.displayed(e))
    });
    dave.clear(&nick).unwrap();
    dave.type_text(&nick, "Dave D").unwrap();
    dave.wait_click("Save nickname", |b| button(b, "Save nickname"));
    let update = until(&mut carol, "nickname_update");
    assert_eq!(update["username"], "USR:local_dave");
    assert_eq!(update["nickname"], "Dave D");
    let text = labelled(&dave, "Status text").expect("a Status text input");
    dave.type_text(&text, "at lunch").unwrap();
    dave.script(
        "const s = document.getElementById('status-select'); s.value = 'idle';
         s.dispatchEvent(new Event('change'));",
        json!([]),
    );
    dave.wait_click("Save status", |b| button(b, "Save status"));
    let status = until(&mut carol, "status_get");
    assert_eq!(status["username"], "USR:local_dave");
    assert_eq!(
        status["status"],
        json!({"status": "idle", "text": "at lunch"})
    );
    dave.wait_script(
        "the own name shown as the nickname",
        "return document.getElementById('me-name').textContent === 'Dave D';",
        json!([]),
    );
    // From the keyboard only: Enter sends, Up in the empty composer edits the last own
    // message, Enter saves; the others get the edit.
    let input = labelled(&dave, "Message").unwrap();
    dave.type_text(&input, "mine").unwrap();
    dave.type_text(&input, ENTER).unwrap();
    until(&mut carol, "message_new");
    dave.type_text(&input, ARROW_UP).unwrap();
    let focused = dave.wait_script(
        "the edit box focused",
        "const a = document.activeElement;
         return a && a.getAttribute('aria-label') === 'Edit message' ? a.value : null;",
        json!([]),
    );
    assert_eq!(focused, "mine");
    let edit = dave.find("textarea[aria-label='Edit message']").unwrap();
    dave.type_text(&edit, " too").unwrap();
    dave.type_text(&edit, ENTER).unwrap();
    let edited = until(&mut carol, "message_edit");
    assert_eq!(edited["content"], "mine too");
    assert_eq!(edited["message"]["user"], "USR:local_dave");
    wait_message(&dave, "the edit shown", |m| {
        m["text"] == "mine too" && m["edited"] == true
    });

    // Others' messages: deletable with the channel's `delete` permission (moderators in
    // general). Dave is made a moderator; after a reload his page offers Delete on Carol's.
    let out = server.admin(&["grant-role", "dave", "moderator"]);
    assert!(out.status.success(), "{out:?}");
    let deadline = std::time::Instant::now() + webdriver::WAIT;
    loop {
        carol.send(json!({"cmd": "user_roles_get", "user": "USR:local_dave"}));
        let roles = until(&mut carol, "user_roles_get");
        if roles["roles"].to_string().contains("moderator") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the role never reached the server"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let sessions = server_has_sessions(&server);
    dave.refresh();
    if sessions {
        wait_chat(&dave);
    } else {
        authenticate(&dave, "dave", "Log in");
    }
    dave.wait_click("the general channel", |b| {
        b.find("#channel-list .channel[data-channel='general']")
    });
    wait_message(&dave, "carol's m120", |m| m["text"] == "m120");
    message_action(&dave, "m120", "Delete");
    message_action(&dave, "m120", "Confirm delete");
    let deleted = until(&mut carol, "message_delete");
    assert_eq!(deleted["channel"], "general");
    dave.wait("m120 gone", |b| {
        (!messages(b).iter().any(|m| m["text"] == "m120")).then_some(())
    });
    dave.wait_click("the random channel", |b| {
        b.find("#channel-list .channel[data-channel='random']")
    });
    wait_message(&dave, "the random channel again", |m| {
        m["text"] == "mine too"
    });

    dave.screenshot(&format!("{test}-desktop.png"));
    dave.dark();
    dave.screenshot(&format!("{test}-desktop-dark.png"));
    dave.viewport(390, 844, true);
    dave.screenshot(&format!("{test}-phone-dark.png"));
    assert_clean_console(&dave);
}

/// A server that accepts only Rotur accounts says so instead of offering a login form.
#[test]
fn rotur_only_server_says_so() {
    let test = "rotur";
    if !browser_available(test) {
        return;
    }
    let server = Server::with(json!({"auth_mode": "rotur"}));
    let driver = Driver::start();
    let page = driver.browser("visitor", &[]);
    let _guard = ScreenshotsOnFailure {
        test,
        browsers: vec![&page],
    };
    page.viewport(390, 844, true);
    page.goto(&format!("http://{}/", server.addr));
    page.wait_script(
        "the Rotur note",
        "const n = document.getElementById('auth-note');
         return !n.hidden && n.textContent.includes('only accepts Rotur accounts');",
        json!([]),
    );
    assert!(labelled(&page, "Username").is_some_and(|e| !page.displayed(&e)));
    assert!(button(&page, "Log in").is_none() && button(&page, "Register").is_none());
    page.screenshot(&format!("{test}-phone.png"));
    assert_clean_console(&page);
}

/// A stand-in for the server's side of staying logged in, put in front of the page's
/// WebSocket and `fetch` before the page's own scripts run: it adds `session_token_create`
/// and `token_login` to the handshake, answers `session_token_create` with a token, accepts
/// `POST /session` (remembering only that a session exists), and turns `token_login` into
/// a real login. So the page's side of the session wire is exercised whatever the server
/// offers.
const SESSION_STAND_IN: &str = r#"
(() => {
  const CREDENTIALS = { username: 'erin', password: 'secret123' };
  const TOKEN = 'stand-in-token-0123456789';
  const RealWebSocket = window.WebSocket;
  const realFetch = window.fetch.bind(window);
  const seen = { sent: [], posted: [], deleted: 0 };
  window.__standIn = seen;
  const hasSession = () => localStorage.getItem('standIn.session') === 'yes';
  class StandInWebSocket {
    static OPEN = 1;
    constructor(url) {
      this.real = new RealWebSocket(url);
      this.real.onopen = (e) => this.onopen && this.onopen(e);
      this.real.onclose = (e) => this.onclose && this.onclose(e);
      this.real.onmessage = (e) => {
        const p = JSON.parse(e.data);
        if (p.cmd === 'handshake') p.val.capabilities.push('session_token_create', 'token_login');
        this.deliver(p);
      };
    }
    get readyState() { return this.real.readyState; }
    deliver(p) { if (this.onmessage) this.onmessage({ data: JSON.stringify(p) }); }
    send(text) {
      const p = JSON.parse(text);
      seen.sent.push(p.cmd);
      if (p.cmd === 'session_token_create') {
        setTimeout(() => this.deliver({ cmd: 'session_token_create', token: TOKEN, expires_at: 0 }), 0);
      } else if (p.cmd === 'token_login') {
        if (hasSession()) this.real.send(JSON.stringify({ cmd: 'login', ...CREDENTIALS }));
        else setTimeout(() => this.deliver({ cmd: 'auth_error', val: 'Invalid or expired session' }), 0);
      } else {
        this.real.send(text);
      }
    }
    close(code) { this.real.close(code); }
  }
  window.WebSocket = StandInWebSocket;
  window.fetch = async (url, options = {}) => {
    if (url === '/session') {
      if (options.method === 'POST') {
        seen.posted.push(String(options.body));
        localStorage.setItem('standIn.session', 'yes');
      } else if (options.method === 'DELETE') {
        seen.deleted += 1;
        localStorage.removeItem('standIn.session');
      }
      return new Response(null, { status: 204 });
    }
    return realFetch(url, options);
  };
})();
"#;

/// Everything the page keeps in storage it can read (the stand-in's own flag removed).
fn readable_storage(b: &Browser) -> String {
    b.script(
        "const all = [];
         for (const s of [localStorage, sessionStorage])
           for (let i = 0; i < s.length; i++)
             if (s.key(i) !== 'standIn.session') all.push(s.key(i) + '=' + s.getItem(s.key(i)));
         all.push(document.cookie);
         return all.join(' ');",
        json!([]),
    )
    .as_str()
    .unwrap_or_default()
    .to_string()
}

fn stand_in_sent(b: &Browser) -> Vec<Value> {
    b.script("return window.__standIn.sent;", json!([]))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The page's side of staying logged in: after a password login it asks for a session
/// token and hands it to `POST /session` at once; a reload logs in with `token_login` and
/// no password; "Log out" deletes the session. Neither the password nor the token is ever
/// kept where a script could read it.
#[test]
fn stays_logged_in_with_a_session_and_never_stores_secrets() {
    let test = "session";
    if !browser_available(test) {
        return;
    }
    let server = Server::start();
    let driver = Driver::start();
    let page = driver.browser("erin", &[]);
    let _guard = ScreenshotsOnFailure {
        test,
        browsers: vec![&page],
    };
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": SESSION_STAND_IN }),
    );
    let url = format!("http://{}/", server.addr);
    page.goto(&url);
    authenticate(&page, "erin", "Register");
    page.wait_script(
        "the token handed to POST /session",
        "return window.__standIn.posted.length === 1
            && window.__standIn.posted[0] === 'stand-in-token-0123456789';",
        json!([]),
    );
    let sent = stand_in_sent(&page);
    // The first visit tries the (missing) session quietly, then registers.
    assert_eq!(
        sent[..2],
        [json!("token_login"), json!("register")],
        "{sent:?}"
    );
    assert!(sent.contains(&json!("session_token_create")), "{sent:?}");
    let stored = readable_storage(&page);
    assert!(
        !stored.contains("secret123") && !stored.contains("stand-in-token"),
        "{stored}"
    );

    // A reload: logged in again with the session, no password typed or sent by the page.
    page.refresh();
    wait_chat(&page);
    let sent = stand_in_sent(&page);
    assert_eq!(sent[0], "token_login", "{sent:?}");
    assert!(
        !sent.contains(&json!("login")) && !sent.contains(&json!("register")),
        "{sent:?}"
    );
    let stored = readable_storage(&page);
    assert!(
        !stored.contains("secret123") && !stored.contains("stand-in-token"),
        "{stored}"
    );

    // Log out: the session is deleted and the login form comes back, also after a reload.
    page.wait_click("Log out", |b| button(b, "Log out"));
    page.wait("the login form", |b| {
        labelled(b, "Username").filter(|e| b.displayed(e))
    });
    assert_eq!(
        page.script("return window.__standIn.deleted;", json!([])),
        1
    );
    page.refresh();
    page.wait("the login form after a reload", |b| {
        labelled(b, "Username").filter(|e| b.displayed(e))
    });
    assert_clean_console(&page);
}

/// The texts of the first and last message in the log, and how many there are.
fn log_extent(b: &Browser) -> Value {
    b.script(
        "const all = document.querySelectorAll('[role=log] .msg .content');
         return { count: all.length,
                  first: all.length ? all[0].textContent : null,
                  last: all.length ? all[all.length - 1].textContent : null };",
        json!([]),
    )
}

/// A busy channel keeps a bounded number of messages in the page: live messages trim the
/// oldest while the reader is at the bottom (scrolling up fetches them again); a scroll-back
/// beyond the bound drops the newest, and coming back down to the bottom fetches them again.
#[test]
fn a_busy_channel_keeps_a_bounded_history() {
    let test = "bounded";
    if !browser_available(test) {
        return;
    }
    let server = Server::with(json!({"rate_limiting": {"enabled": false}}));
    // The page's bounds (web/client/kept.js): 500 kept at the bottom, trimmed every 50
    // more; 2000 at most. 1500 messages are history before the page opens, 600 come live.
    let mut carol = server.connected();
    carol.register("carol", PASSWORD);
    let post = |carol: &mut common::Client, range: std::ops::RangeInclusive<u32>| {
        for i in range {
            carol.send(
                json!({"cmd": "message_new", "channel": "general", "content": format!("m{i}")}),
            );
            until(carol, "message_new");
        }
    };
    post(&mut carol, 1..=1500);
    let driver = Driver::start();
    let frank = driver.browser("frank", &[]);
    let _guard = ScreenshotsOnFailure {
        test,
        browsers: vec![&frank],
    };
    frank.viewport(1280, 800, false);
    frank.goto(&format!("http://{}/", server.addr));
    authenticate(&frank, "frank", "Register");
    frank.wait("the newest page", |b| {
        (log_extent(b) == json!({"count": 50, "first": "m1451", "last": "m1500"})).then_some(())
    });

    post(&mut carol, 1501..=2100);
    let extent = frank.wait("m2100 at the bottom", |b| {
        let e = log_extent(b);
        (e["last"] == "m2100").then_some(e)
    });
    let count = extent["count"].as_u64().unwrap();
    assert!((500..=550).contains(&count), "{extent}");

    // Scrolling back to the very start: the newest are dropped beyond 2000.
    // 40 pages of history, one round trip each: slow when the machine is busy.
    let paging = std::time::Duration::from_secs(120);
    frank.wait_up_to(paging, "the start of the channel after scrolling up", |b| {
        b.script(
            "const log = document.querySelector('[role=log]');
             log.scrollTop = 0; log.dispatchEvent(new Event('scroll'));",
            json!([]),
        );
        b.find("#log-start").filter(|e| b.displayed(e)).map(|_| ())
    });
    assert_eq!(
        log_extent(&frank),
        json!({"count": 2000, "first": "m1", "last": "m2000"})
    );
    let newer_hidden = "return document.getElementById('log-newer').hidden;";
    assert_eq!(frank.script(newer_hidden, json!([])), false);
    // Coming down to the bottom fetches the newest page again.
    frank.script(
        "const log = document.querySelector('[role=log]');
         log.scrollTop = log.scrollHeight; log.dispatchEvent(new Event('scroll'));",
        json!([]),
    );
    let extent = frank.wait("the newest page again", |b| {
        let e = log_extent(b);
        (e["last"] == "m2100").then_some(e)
    });
    assert_eq!(extent["count"], 50, "{extent}");
    assert_eq!(frank.script(newer_hidden, json!([])), true);
    // Live messages show again.
    post(&mut carol, 2101..=2101);
    frank.wait("a live message after coming back", |b| {
        (log_extent(b)["last"] == "m2101").then_some(())
    });
    assert_clean_console(&frank);
}

/// After "Log out", nothing of that account stays on the page for the next person to log in
/// there: no mention badge, no unsent draft.
#[test]
fn logging_out_leaves_nothing_for_the_next_account() {
    let test = "logout";
    if !browser_available(test) {
        return;
    }
    let dir = prepared_dir(
        &[
            json!({"type": "text", "name": "random", "permissions": {"view": ["user"], "send": ["user"]}}),
        ],
        &[],
    );
    let server = Server::in_dir(
        dir,
        test_config(json!({"rate_limiting": {"enabled": false}})),
    );
    let driver = Driver::start();
    let page = driver.browser("gina", &[]);
    let _guard = ScreenshotsOnFailure {
        test,
        browsers: vec![&page],
    };
    page.viewport(1280, 800, false);
    page.goto(&format!("http://{}/", server.addr));
    authenticate(&page, "gina", "Register");
    let mut carol = server.connected();
    carol.register("carol", PASSWORD);
    carol.send(json!({"cmd": "message_new", "channel": "random", "content": "hey @gina"}));
    until(&mut carol, "message_new");
    page.wait("a mention badge", |b| {
        (channel_badge(b, "random") == "1 mentions").then_some(())
    });
    let input = labelled(&page, "Message").unwrap();
    page.type_text(&input, "an unsent draft").unwrap();

    page.wait_click("Log out", |b| button(b, "Log out"));
    authenticate(&page, "hank", "Register");
    page.wait("the channel list of the new account", |b| {
        b.find("#channel-list .channel[data-channel='random']")
    });
    // Hank has not read the message either, but it does not mention him.
    assert_eq!(channel_badge(&page, "random"), "1 unread");
    let draft = page.script(
        "return document.getElementById('message-input').value;",
        json!([]),
    );
    assert_eq!(draft, "");
    let title = page.script("return document.title;", json!([]));
    assert_eq!(title, "My OriginChats Server");
    assert_clean_console(&page);
}

/// WebDriver's key codes not in the shared helper.
const ESCAPE: &str = "\u{E00C}";
const SHIFT_TAB: &str = "\u{E008}\u{E004}";

fn active_id(b: &Browser) -> Value {
    b.script(
        "return document.activeElement && document.activeElement.id;",
        json!([]),
    )
}

/// From the keyboard: Escape closes the panel and gives the focus back to the button that
/// opened it; Escape in the composer cancels a reply without closing the panel too; Tabbing
/// out of the reaction picker closes it; a phone drawer takes the focus and gives it back.
/// And the accessible state the page announces is true.
#[test]
fn keyboard_focus_goes_where_it_should() {
    let test = "keyboard";
    if !browser_available(test) {
        return;
    }
    let server = Server::with(json!({"rate_limiting": {"enabled": false}}));
    let driver = Driver::start();
    let page = driver.browser("ivy", &[]);
    let _guard = ScreenshotsOnFailure {
        test,
        browsers: vec![&page],
    };
    page.viewport(1280, 800, false);
    page.goto(&format!("http://{}/", server.addr));
    authenticate(&page, "ivy", "Register");
    send(&page, "first");

    // The Members button says whether the member column is shown; the own status is said
    // in words, not only by the dot's colour.
    let members_expanded =
        "return document.getElementById('toggle-members').getAttribute('aria-expanded');";
    assert_eq!(page.script(members_expanded, json!([])), "true");
    page.wait_click("Members", |b| button(b, "Members"));
    assert_eq!(page.script(members_expanded, json!([])), "false");
    page.wait_click("Members", |b| button(b, "Members"));
    assert_eq!(page.script(members_expanded, json!([])), "true");
    page.script(
        "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}));",
        json!([]),
    );
    assert_eq!(page.script(members_expanded, json!([])), "true");
    let me = page.script(
        "return document.querySelector('.me-line').textContent.trim();",
        json!([]),
    );
    assert_eq!(me, "ivy, online");

    let panel_open = "return !document.getElementById('panel').hidden;";
    page.wait_click("Pins", |b| button(b, "Pins"));
    page.wait_script("the pins panel", panel_open, json!([]));
    let close = page.wait("the Close panel button focused", |b| {
        (active_id(b) == "panel-close")
            .then(|| b.find("#panel-close"))
            .flatten()
    });
    page.type_text(&close, ESCAPE).unwrap();
    page.wait_script(
        "the panel closed and the focus back on Pins",
        "return document.getElementById('panel').hidden
            && document.activeElement === document.getElementById('pins-button');",
        json!([]),
    );

    message_action(&page, "first", "Reply");
    page.script("document.getElementById('pins-button').click();", json!([]));
    page.wait_script("the pins panel again", panel_open, json!([]));
    let input = labelled(&page, "Message").unwrap();
    page.type_text(&input, ESCAPE).unwrap();
    page.wait_script(
        "the reply cancelled",
        "return document.getElementById('reply-bar').hidden;",
        json!([]),
    );
    assert_eq!(
        page.script(panel_open, json!([])),
        true,
        "one Escape, one thing closed"
    );
    page.wait_click("Close panel", |b| b.find("#panel-close"));

    message_action(&page, "first", "React");
    let first_emoji = page.wait("the picker's first emoji focused", |b| {
        b.find("#emoji-picker button").filter(|_| {
            b.script(
                "return document.activeElement === document.querySelector('#emoji-picker button');",
                json!([]),
            ) == true
        })
    });
    page.type_text(&first_emoji, SHIFT_TAB).unwrap();
    page.wait_script(
        "the picker closed when the focus left it",
        "return document.getElementById('emoji-picker').hidden;",
        json!([]),
    );

    page.viewport(390, 844, true);
    page.wait_click("Channels", |b| button(b, "Channels"));
    let current = page.wait("the open channel focused in the drawer", |b| {
        b.find("#channel-list .channel[aria-current='page']")
            .filter(|_| {
                b.script(
                    "return document.getElementById('sidebar').contains(document.activeElement);",
                    json!([]),
                ) == true
            })
    });
    page.type_text(&current, ESCAPE).unwrap();
    page.wait_script(
        "the drawer closed and the focus back on its button",
        "return !document.body.classList.contains('show-channels')
            && document.activeElement === document.getElementById('toggle-channels');",
        json!([]),
    );
    assert_clean_console(&page);
}

/// Put in front of the page's scripts: the page's first WebSocket never opens and never
/// closes, as a connection into a dropped network can hang; later ones are real.
const FIRST_SOCKET_HANGS: &str = r#"
(() => {
  const RealWebSocket = window.WebSocket;
  let dialled = 0;
  window.WebSocket = function (url) {
    dialled += 1;
    window.__dialled = dialled;
    if (dialled > 1) return new RealWebSocket(url);
    return { readyState: 0, send() {}, close() {} };
  };
  window.WebSocket.OPEN = 1;
})();
"#;

/// A connection attempt that hangs is given up, and the page dials again by itself.
#[test]
fn a_hanging_connection_attempt_is_given_up() {
    let test = "hanging";
    if !browser_available(test) {
        return;
    }
    let server = Server::start();
    let driver = Driver::start();
    let page = driver.browser("jo", &[]);
    let _guard = ScreenshotsOnFailure {
        test,
        browsers: vec![&page],
    };
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": FIRST_SOCKET_HANGS }),
    );
    page.goto(&format!("http://{}/", server.addr));
    // Given up after 15 s (checked every 5 s), then dialled again after a short delay:
    // within the helper's 30 s.
    page.wait("the login form over the second connection", |b| {
        labelled(b, "Username").filter(|e| b.displayed(e))
    });
    assert_eq!(page.script("return window.__dialled;", json!([])), 2);
    assert_clean_console(&page);
}

/// The WebDriver "Tab" key.
const TAB: &str = "\u{E004}";

/// A 1×1 PNG, for uploads and custom emojis.
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// Whether the images matching `css` inside the message whose text is `text` have all
/// loaded (and there is at least one).
fn images_loaded(b: &Browser, text: &str, css: &str) -> bool {
    b.script(
        "const m = [...document.querySelectorAll('[role=log] .msg')]
            .find(m => m.querySelector('.content')?.textContent.trim() === arguments[0]);
         const imgs = m ? [...m.querySelectorAll(arguments[1])] : [];
         return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);",
        json!([text, css]),
    ) == true
}

/// Files and custom emojis: a PNG chosen with the Attach control is uploaded, sent, and
/// shown (loaded) to its sender while a WebSocket client gets it in the message; the
/// sender deletes it again. An emoji token from a WebSocket client shows as the emoji's
/// image, and `:name:` typed in the composer goes out as the token.
#[test]
fn files_and_custom_emojis() {
    use base64::Engine;
    let test = "media";
    if !browser_available(test) {
        return;
    }
    let server = Server::with(json!({"rate_limiting": {"enabled": false}}));
    let mut carol = with_role(&server, "carol", "owner");
    let driver = Driver::start();
    let dave = driver.browser("dave", &[]);
    let _guard = ScreenshotsOnFailure {
        test,
        browsers: vec![&dave],
    };
    dave.viewport(1280, 800, false);
    dave.goto(&format!("http://{}/", server.addr));
    authenticate(&dave, "dave", "Register");
    // Managing emojis is for those who manage the server.
    assert!(
        dave.find("#emojis-button")
            .is_some_and(|e| !dave.displayed(&e))
    );

    // Upload through the file input, then send with text.
    let files = tempfile::tempdir().unwrap();
    let png = files.path().join("dot.png");
    let png_bytes = base64::engine::general_purpose::STANDARD
        .decode(PNG_BASE64)
        .unwrap();
    std::fs::write(&png, &png_bytes).unwrap();
    let attach = dave.wait("the Attach files input", |b| {
        b.find("input[type=file]#attach-input")
            .filter(|e| b.enabled(e))
    });
    assert_eq!(dave.label(&attach), "Attach files");
    dave.type_text(&attach, &png.display().to_string()).unwrap();
    dave.wait_visible("the uploaded file, ready", "#uploads .upload.ready");
    dave.screenshot("media-chip.png");
    let input = labelled(&dave, "Message").unwrap();
    dave.type_text(&input, "a picture").unwrap();
    dave.wait_click("Send", |b| button(b, "Send"));
    wait_message(&dave, "own message with the file", |m| {
        m["text"] == "a picture"
    });
    dave.wait("the sent image, loaded", |b| {
        images_loaded(b, "a picture", ".attachment img").then_some(())
    });
    assert!(dave.find("#uploads .upload").is_none(), "the chip is gone");

    let sent = until(&mut carol, "message_new");
    assert_eq!(sent["message"]["content"], "a picture");
    assert_eq!(sent["message"]["user"], "USR:local_dave");
    let file = &sent["message"]["attachments"][0];
    assert_eq!(file["name"], "dot.png");
    assert_eq!(file["mime_type"], "image/png");
    assert_eq!(file["size"], png_bytes.len());
    let file_id = file["id"].as_str().unwrap().to_string();
    // (HEAD: the body is not text.)
    let (status, _) = server.http(&format!(
        "HEAD /attachments/{file_id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ));
    assert!(status.contains(" 200 "), "{status}");

    // The uploader deletes the file: it goes from the message everywhere.
    message_action(&dave, "a picture", "Delete attachment");
    let deleted = until(&mut carol, "attachment_deleted");
    assert_eq!(deleted["attachment_id"], file_id.as_str());
    dave.wait("the file gone from the message", |b| {
        let left = b.script(
            "return document.querySelectorAll('[role=log] .attachment').length;",
            json!([]),
        );
        (left == 0).then_some(())
    });

    // Files dropped on the chat: one of a type the server does not take is refused before
    // any upload; the image goes, and Send right away waits for its upload.
    dave.script(
        "const drop = (file) => {
             const data = new DataTransfer();
             data.items.add(file);
             document.getElementById('log').dispatchEvent(
                 new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
         };
         drop(new File(['just text'], 'notes.txt', {type: 'text/plain'}));
         const png = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
         drop(new File([png], 'dropped.png', {type: 'image/png'}));",
        json!([PNG_BASE64]),
    );
    let toast = dave.script(
        "return document.getElementById('toast').textContent;",
        json!([]),
    );
    assert_eq!(
        toast,
        "notes.txt: files of type text/plain are not allowed here."
    );
    assert_eq!(
        dave.script(
            "return [...document.querySelectorAll('#uploads .upload-name')].map(e => e.textContent);",
            json!([])
        ),
        json!(["dropped.png"])
    );
    dave.wait_click("Send", |b| button(b, "Send"));
    let dropped = until(&mut carol, "message_new");
    assert_eq!(dropped["message"]["content"], "");
    assert_eq!(dropped["message"]["attachments"][0]["name"], "dropped.png");
    dave.wait("the dropped image, loaded", |b| {
        images_loaded(b, "", ".attachment img").then_some(())
    });

    // A pasted file becomes a chip too, and its Remove button takes it away unsent.
    dave.script(
        "const data = new DataTransfer();
         data.items.add(new File(['%PDF-1.4'], 'pasted.pdf', {type: 'application/pdf'}));
         document.getElementById('message-input').dispatchEvent(
             new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));",
        json!([]),
    );
    dave.wait_visible("the pasted file", "#uploads .upload");
    let remove = dave
        .find_xpath("//button[@aria-label='Remove pasted.pdf']")
        .expect("a Remove button named after the file");
    dave.click(&remove).unwrap();
    dave.wait("no chips left", |b| {
        b.find("#uploads").filter(|e| !b.displayed(e)).map(|_| ())
    });

    // A custom emoji added by the owner reaches the page; a token from a WebSocket
    // client shows as its image.
    carol.send(json!({"cmd": "emoji_add", "name": "dot",
        "image": format!("data:image/png;base64,{PNG_BASE64}")}));
    let added = until(&mut carol, "emoji_add");
    let id = added["id"].as_str().unwrap().to_string();
    let host = server.addr.to_string();
    let token = format!("originChats:<emoji>//{host}/{id}");
    carol.send(json!({"cmd": "message_new", "channel": "general",
        "content": format!("look {token}")}));
    until(&mut carol, "message_new");
    dave.wait("the emoji's image in carol's message", |b| {
        let alt = b.script(
            "const img = document.querySelector('[role=log] .msg:last-child .content img.emoji');
             return img && img.complete && img.naturalWidth > 0 ? img.alt : null;",
            json!([]),
        );
        (alt == ":dot:").then_some(())
    });

    // Typing the start of its name offers it; Tab takes it.
    let input = labelled(&dave, "Message").unwrap();
    dave.type_text(&input, "so :d").unwrap();
    dave.wait_visible(
        "the emoji offered",
        "#emoji-complete li[aria-selected=true] img.emoji",
    );
    dave.type_text(&input, TAB).unwrap();
    assert_eq!(
        dave.script(
            "const input = document.getElementById('message-input');
             return [input.value, document.activeElement === input,
                     document.getElementById('emoji-complete').hidden];",
            json!([])
        ),
        json!(["so :dot: ", true, true])
    );
    dave.clear(&input).unwrap();

    // `:dot:` typed in the composer goes out as the token.
    let input = labelled(&dave, "Message").unwrap();
    dave.type_text(&input, "hi :dot: there").unwrap();
    dave.wait_click("Send", |b| button(b, "Send"));
    let typed = until(&mut carol, "message_new");
    assert_eq!(
        typed["message"]["content"],
        format!("hi {token} there").as_str()
    );
    dave.wait("the own emoji as an image", |b| {
        images_loaded(
            b,
            &format!("hi {token} there").replace(&token, ""),
            "img.emoji",
        )
        .then_some(())
    });
    dave.screenshot(&format!("{test}-desktop.png"));
    dave.type_text(&labelled(&dave, "Message").unwrap(), "so :d")
        .unwrap();
    dave.viewport(390, 844, true);
    dave.wait_visible("the emoji offered on a phone", "#emoji-complete li");
    dave.screenshot(&format!("{test}-phone.png"));
    assert_clean_console(&dave);
}

/// The custom emoji manager, for an owner: add an emoji from an image file, rename it and
/// delete it, each reaching a WebSocket client as the broadcast.
#[test]
fn owner_manages_custom_emojis() {
    use base64::Engine;
    let test = "emojis";
    if !browser_available(test) {
        return;
    }
    let server = Server::with(json!({"rate_limiting": {"enabled": false}}));
    // Only the account with its role is needed: the page logs in to it.
    server.close(with_role(&server, "carol", "owner"));
    let mut erin = server.register("erin");
    let driver = Driver::start();
    let page = driver.browser("carol", &[]);
    let _guard = ScreenshotsOnFailure {
        test,
        browsers: vec![&page],
    };
    page.viewport(1280, 800, false);
    page.goto(&format!("http://{}/", server.addr));
    authenticate(&page, "carol", "Log in");

    page.wait_click("Emojis", |b| button(b, "Emojis"));
    let files = tempfile::tempdir().unwrap();
    let png = files.path().join("wave.png");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(PNG_BASE64)
        .unwrap();
    std::fs::write(&png, bytes).unwrap();
    let name = page.wait("the Emoji name input", |b| {
        labelled(b, "Emoji name").filter(|e| b.displayed(e))
    });
    page.type_text(&name, "wave").unwrap();
    let image = labelled(&page, "Emoji image").expect("an Emoji image input");
    page.type_text(&image, &png.display().to_string()).unwrap();
    page.wait_click("Add emoji", |b| button(b, "Add emoji"));
    let added = until(&mut erin, "emoji_add");
    assert_eq!(added["name"], "wave");
    let id = added["id"].as_str().unwrap().to_string();
    page.wait("the new emoji listed with its image", |b| {
        let shown = b.script(
            "const img = document.querySelector('#emoji-list img.emoji');
             return img && img.complete && img.naturalWidth > 0 ? img.alt : null;",
            json!([]),
        );
        (shown == ":wave:").then_some(())
    });

    let rename = page.wait("the rename input", |b| {
        b.find_xpath("//input[@aria-label='New name for :wave:']")
    });
    page.clear(&rename).unwrap();
    page.type_text(&rename, "hello").unwrap();
    page.wait_click("Rename", |b| button(b, "Rename"));
    let updated = until(&mut erin, "emoji_update");
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["name"], "hello");
    page.wait("the renamed emoji listed", |b| {
        b.find_xpath("//input[@aria-label='New name for :hello:']")
    });

    page.wait_click("Delete :hello:", |b| {
        b.find_xpath("//button[@aria-label='Delete :hello:']")
    });
    let deleted = until(&mut erin, "emoji_delete");
    assert_eq!(deleted["id"], id.as_str());
    page.wait_visible("the empty list", "#emoji-list .note");
    assert_clean_console(&page);
}
