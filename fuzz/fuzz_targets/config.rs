//! The `config` fuzz target; what it checks is in `fuzz/checks/config.rs`, which the crates'
//! corpus-replay tests share.
#![no_main]

#[path = "../checks/config.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
