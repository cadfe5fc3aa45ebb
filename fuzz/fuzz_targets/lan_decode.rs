//! The `lan_decode` fuzz target; what it checks is in `fuzz/checks/lan_decode.rs`, which the crates'
//! corpus-replay tests share.
#![no_main]

#[path = "../checks/lan_decode.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
