//! A simulated miIO device: a [`MiioServer`] plus a backend, with an outbox.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use lumi_proto::miio::{DeviceId, MiioToken};

use super::plug::{PlugModel, SimPlug};
use super::server::{MiioBackend, MiioInfo, MiioServer, mac_from};

/// A datagram a simulated miIO device sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiioTransmit {
    /// The peer.
    pub to: SocketAddr,
    /// The datagram.
    pub payload: Vec<u8>,
}

/// A sans-IO simulated miIO device: datagrams and time in, datagrams out.
#[derive(Debug)]
pub struct SimMiioDevice<B = SimPlug> {
    server: MiioServer,
    backend: B,
    out: VecDeque<MiioTransmit>,
}

impl SimMiioDevice<SimPlug> {
    /// A provisioned plug of `model` at `ip`, booted at `now`.
    pub fn plug(
        model: PlugModel,
        token: &MiioToken,
        device_id: DeviceId,
        ip: Ipv4Addr,
        now: Instant,
    ) -> Self {
        let mac = mac_from(&format!("{}-{}", model.as_str(), device_id));
        let info = MiioInfo::new(model.as_str(), mac, ip);
        SimMiioDevice::new(
            MiioServer::new(token, device_id, info, now),
            SimPlug::new(model),
        )
    }
}

impl<B: MiioBackend> SimMiioDevice<B> {
    /// A device from a server and a backend.
    pub fn new(server: MiioServer, backend: B) -> Self {
        SimMiioDevice {
            server,
            backend,
            out: VecDeque::new(),
        }
    }

    /// A datagram arrived from `from` at `now`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if let Some(payload) = self
            .server
            .handle_datagram(now, datagram, &mut self.backend)
        {
            self.out.push_back(MiioTransmit { to: from, payload });
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<MiioTransmit> {
        self.out.pop_front()
    }

    /// The server (token, stamp, provisioning).
    pub fn server(&self) -> &MiioServer {
        &self.server
    }

    /// The server, to change (provisioning, duplicate window, info).
    pub fn server_mut(&mut self) -> &mut MiioServer {
        &mut self.server
    }

    /// The backend (the device's state).
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend, to change.
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }
}
