//! Exit codes, documented in `lumi --help`.

/// Success.
#[allow(dead_code)]
pub const OK: u8 = 0;
/// Something failed that is not the input's fault (I/O, network, timeout).
pub const FAILURE: u8 = 1;
/// The input was bad: a datagram or packet that does not decode, a malformed argument.
/// (clap's own usage errors use 2 as well.)
pub const BAD_INPUT: u8 = 2;

/// An error caused by bad input; maps to [`BAD_INPUT`].
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Builds an [`anyhow::Error`] that exits with [`BAD_INPUT`].
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// The exit code for an error.
pub fn code_for(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<BadInput>()) {
        BAD_INPUT
    } else {
        FAILURE
    }
}
