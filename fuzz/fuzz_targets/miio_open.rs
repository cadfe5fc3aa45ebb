//! The `miio_open` fuzz target; what it checks is in `fuzz/checks/miio_open.rs`, which the crates'
//! corpus-replay tests share.
#![no_main]

#[path = "../checks/miio_open.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
