//! The gateway over miIO (UDP 54321): sub-device list and properties, light, sound, the LAN
//! key, and push events to fake devices registered with `send_data_frame` scenes.
//!
//! (Being written: the hooks below are called by the LAN side of [`SimGateway`].)

use std::net::SocketAddr;
use std::time::Instant;

use lumi_proto::lan::{Props, Sid};

use super::{GatewayConfig, SimGateway};

/// The miIO state of a simulated gateway.
#[derive(Debug, Default)]
pub struct GatewayMiio {}

impl GatewayMiio {
    /// The miIO state of a new gateway.
    pub fn new(_cfg: &GatewayConfig, _now: Instant) -> GatewayMiio {
        GatewayMiio {}
    }
}

impl SimGateway {
    /// A datagram arrived on the gateway's miIO port.
    pub(super) fn handle_miio(&mut self, _now: Instant, _from: SocketAddr, _bytes: &[u8]) {}

    /// A sub-device reported `props`: call the scenes subscribed to it.
    pub(super) fn miio_subdevice_event(&mut self, _now: Instant, _sid: &Sid, _props: &Props) {}

    /// Time passed: re-send unacknowledged pushes.
    pub(super) fn miio_timeout(&mut self, _now: Instant) {}

    /// When [`SimGateway::miio_timeout`] needs to run next.
    pub(super) fn miio_next_timeout(&self) -> Option<Instant> {
        None
    }
}
