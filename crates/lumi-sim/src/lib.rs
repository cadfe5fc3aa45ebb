//! # lumi-sim
//!
//! A faithful simulator of Xiaomi / Aqara gateways (LAN API v1 and v2), their Zigbee
//! sub-devices and miIO devices, so every test, demo and benchmark of lumi runs without
//! hardware.
//!
//! ## Layout
//!
//! - [`gateway`]: the sans-IO gateway: datagrams and time in, datagrams and events out.
//! - [`device`]: sub-devices and their raw state.
//! - [`netem`]: seeded loss, delay, duplication and reordering between peers.
//! - [`rng`]: the seeded generator behind tokens and faults.
//! - `rt` (feature `tokio`): the same gateway on real sockets, on loopback by default.
//!
//! The simulator shares lumi-proto's codecs with lumi-client, so the third-party captures in
//! the corpus and third-party clients (PyXiaomiGateway, python-miio) are what keep both
//! honest.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod device;
pub mod gateway;
pub mod miio;
pub mod netem;
pub mod rng;
#[cfg(feature = "tokio")]
pub mod rt;
pub mod scenario;
pub mod testkit;
