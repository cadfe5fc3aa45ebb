//! The `miio_gateway` fuzz target; what it checks is in `fuzz/checks/miio_gateway.rs`, which the crates'
//! corpus-replay tests share.
#![no_main]

#[path = "../checks/miio_gateway.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
