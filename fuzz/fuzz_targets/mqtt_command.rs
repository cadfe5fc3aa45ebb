//! The `mqtt_command` fuzz target; what it checks is in `fuzz/checks/mqtt_command.rs`, which the crates'
//! corpus-replay tests share.
#![no_main]

#[path = "../checks/mqtt_command.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
