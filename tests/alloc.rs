//! Decoding the hot packets allocates nothing (a counting global allocator proves it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use originchats_server::protocol::{Text, decode, fields_fast};
use serde::Deserialize;

struct Counting;

thread_local! {
    /// This thread's allocations only: the test harness's own threads allocate now and then
    /// (seen under qemu), and must not count. Const-initialised, so reading it allocates
    /// nothing.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Fields<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    content: Option<Text<'a>>,
    #[serde(borrow)]
    reply_to: Option<Text<'a>>,
    ping: Option<bool>,
}

fn allocations(f: impl Fn()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn hot_packets_decode_without_allocating() {
    for text in [
        r#"{"cmd":"message_new","channel":"general","content":"hello there, how is everyone?","listener":"msg_17"}"#,
        r#"{"cmd":"message_new","channel":"general","content":"ok","reply_to":"656e5a5d-d7e1-47dd-b6a2-59adea1bc5dd","ping":false}"#,
        r#"{"cmd":"typing","channel":"general"}"#,
        r#"{"cmd": "typing", "channel": "general", "listener": "t1"}"#,
    ] {
        let n = allocations(|| {
            let envelope = decode(text).unwrap();
            let f: Fields = fields_fast(text).unwrap();
            assert!(!envelope.cmd.is_empty() && f.channel.is_some());
        });
        assert_eq!(n, 0, "{text}");
    }
    // A string with escapes needs its unescaped copy: exactly one allocation.
    let escaped = r#"{"cmd":"message_new","channel":"general","content":"line\nbreak"}"#;
    assert_eq!(
        allocations(|| {
            let f: Fields = fields_fast(escaped).unwrap();
            assert_eq!(f.content.as_deref(), Some("line\nbreak"));
        }),
        1
    );
}
