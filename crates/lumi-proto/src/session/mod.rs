//! Sans-IO session state machines: bytes and time in; datagrams, events and deadlines out.
//!
//! A session owns the protocol logic that sits above a codec and below a socket: which
//! request a reply answers, when to retry, which token keys a write, whether the peer is
//! alive. It never opens a socket and never reads a clock; every method that depends on time
//! takes `now`. A driver (in `lumi-client`) or a test in virtual time (in `lumi-sim`) feeds it
//! with:
//!
//! - `handle_datagram(now, from, bytes)` for every datagram that arrives,
//! - `handle_timeout(now)` when the deadline from `poll_timeout()` passes,
//! - command methods (`read`, `write`, …) that return a [`RequestId`],
//!
//! and drains `poll_transmit()` (datagrams to send) and `poll_event()` (what happened,
//! including every request's completion).
//!
//! - [`gateway`]: one gateway of the LAN API (v1/v2): correlation by source address, sid and
//!   reply kind, bounded retries, token freshness with one refresh-and-retry on
//!   `Invalid key`, heartbeat liveness.
//! - [`miio`]: one miIO device: handshake and stamp, one request on the wire at a time,
//!   strictly increasing message ids matched against replies, retries with re-handshake.

use std::fmt;
use std::net::SocketAddr;

pub mod gateway;
pub mod miio;

/// Identifies one request made through a session; its completion event carries the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(u64);

impl RequestId {
    /// The id as a number (unique within one session, increasing).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A datagram a session wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub to: SocketAddr,
    /// The datagram.
    pub payload: Vec<u8>,
}
