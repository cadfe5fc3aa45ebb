//! Tokio drivers for Xiaomi / Aqara gateways and miIO devices.
//!
//! The protocol logic lives in `lumi-proto` (sans-IO sessions); this crate owns the sockets,
//! the clock and the tasks around it. Each driver is a cloneable handle plus one task that
//! owns the socket and the session state; handles talk to it over bounded channels with
//! oneshot replies.
//!
//! ## Layout
//!
//! - [`net`]: interface selection (by name, address or `auto`) and the two socket recipes
//!   (multicast report listener, command socket).
//! - [`discovery`]: `whois` / `iam`, and static gateways probed by address.
//! - [`gateway`]: LAN API gateways: the [`gateway::Client`] handle and its driver task (one
//!   sans-IO session per gateway), the device registry, the event stream.
//! - [`miio`]: miIO devices (handshake, calls), the gateway over miIO, the push server.

pub mod diagnosis;
pub mod discovery;
pub mod gateway;
pub mod miio;
pub mod net;

/// A duration for messages: `1.5 s`, `65 s`, `250 ms`.
pub(crate) fn seconds(d: std::time::Duration) -> String {
    if d < std::time::Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        let s = (d.as_secs_f64() * 10.0).round() / 10.0;
        format!("{s} s")
    }
}
