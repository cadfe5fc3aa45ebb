//! The `sim_servers` fuzz target; what it checks is in `fuzz/checks/sim_servers.rs`, which the crates'
//! corpus-replay tests share.
#![no_main]

#[path = "../checks/sim_servers.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
