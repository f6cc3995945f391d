//! The HTTP head, the WebSocket frame gate and the upload body
//! (`originchats_server::fuzzing::front_door`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    originchats_server::fuzzing::front_door::front_door(data)
});
