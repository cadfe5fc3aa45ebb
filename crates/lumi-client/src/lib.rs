//! Tokio drivers for Xiaomi / Aqara gateways and miIO devices.
//!
//! The protocol logic lives in `lumi-proto` (sans-IO sessions); this crate owns the sockets,
//! the clock and the tasks around it. Each driver is a cloneable handle plus one task that
//! owns the socket and the session state; handles talk to it over bounded channels with
//! oneshot replies.
//!
//! ## Layout
//!
//! - [`net`]: socket recipes (socket2) and interface selection.
//! - [`discovery`]: `whois` / `iam`.
//! - [`gateway`]: LAN API gateways: handle, driver task, device registry, events.
//! - [`miio`]: miIO devices (handshake, calls), the gateway over miIO, the push server.

pub mod discovery;
pub mod gateway;
pub mod miio;
pub mod net;
