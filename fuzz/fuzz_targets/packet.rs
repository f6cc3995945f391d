//! One inbound frame: the envelope and the field decoders (`originchats_server::fuzzing::packet`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| originchats_server::fuzzing::packet::packet(data));
