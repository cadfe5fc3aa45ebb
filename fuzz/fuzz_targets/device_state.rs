//! The `device_state` fuzz target; what it checks is in `fuzz/checks/device_state.rs`, which the crates'
//! corpus-replay tests share.
#![no_main]

#[path = "../checks/device_state.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
