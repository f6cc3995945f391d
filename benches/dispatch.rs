//! Packet decode on the hot path: the envelope of every frame, and the fields of the
//! packets clients send most. Run with `cargo bench --bench dispatch`.

use std::borrow::Cow;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use originchats_server::protocol::{decode, fields};
use serde::Deserialize;

const MESSAGE_NEW: &str = r#"{"cmd":"message_new","channel":"general","content":"hello there, how is everyone doing today?","listener":"msg_1732"}"#;
const MESSAGE_NEW_ESCAPED: &str = r#"{"cmd":"message_new","channel":"general","content":"line one\nline \"two\" caf\u00e9","listener":"msg_1733"}"#;
const TYPING: &str = r#"{"cmd":"typing","channel":"general"}"#;

#[derive(Deserialize)]
#[allow(dead_code)]
struct MessageNew<'a> {
    #[serde(borrow)]
    channel: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
}

fn decode_packets(c: &mut Criterion) {
    c.bench_function("envelope/message_new", |b| {
        b.iter(|| decode(black_box(MESSAGE_NEW)).map(|e| e.cmd.len()))
    });
    c.bench_function("envelope/typing", |b| {
        b.iter(|| decode(black_box(TYPING)).map(|e| e.cmd.len()))
    });
    c.bench_function("fields/message_new", |b| {
        b.iter(|| fields::<MessageNew>(black_box(MESSAGE_NEW)).map(|m| m.content.map(|c| c.len())))
    });
    c.bench_function("fields/message_new_escaped", |b| {
        b.iter(|| {
            fields::<MessageNew>(black_box(MESSAGE_NEW_ESCAPED)).map(|m| m.content.map(|c| c.len()))
        })
    });
}

criterion_group!(benches, decode_packets);
criterion_main!(benches);
