//! `sim_servers`: the simulator's servers fed datagrams from a client, as `lumi sim` gets
//! them on its sockets: the demo house's v1 and v2 gateways on their discovery, command and
//! miIO ports, and a simulated miIO plug. Checksums and write keys stop almost every raw
//! input early, so the input also arrives the way a client that knows the secrets sends it:
//! a LAN `write` with the right key for the gateway's current token, and the input as the
//! payload of a miIO packet sealed with the device's token. Nothing may panic.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lumi_proto::key::{GatewayPassword, WriteKey};
use lumi_proto::lan::{self, Message, ProtoVersion};
use lumi_proto::miio::{Cipher, DeviceId, MiioToken};
use lumi_sim::gateway::{Inbound, SimGateway};
use lumi_sim::miio::{PlugModel, SimMiioDevice};
use lumi_sim::scenario::Scenario;

const PASSWORD: &str = "0987654321qwerty";

fn house() -> &'static Scenario {
    static HOUSE: OnceLock<Scenario> = OnceLock::new();
    HOUSE.get_or_init(|| {
        let password: GatewayPassword = PASSWORD.parse().expect("a password");
        Scenario::demo(
            Ipv4Addr::new(127, 0, 0, 2),
            password,
            Duration::from_secs(30),
        )
    })
}

fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

fn drain_gateway(gw: &mut SimGateway) {
    while gw.poll_transmit().is_some() || gw.poll_event().is_some() {}
}

/// The input as a write with the right key, when it decodes as a write.
fn keyed_write(data: &[u8], gw: &SimGateway) -> Option<Vec<u8>> {
    let decoded = lan::decode(data).ok()?;
    let Message::Write(mut w) = decoded.message else {
        return None;
    };
    let password: GatewayPassword = PASSWORD.parse().ok()?;
    w.key = Some(WriteKey::derive(&password, gw.token()).ok()?);
    let version = decoded.version.unwrap_or(ProtoVersion::V1);
    Some(lan::encode(&Message::Write(w), version))
}

/// One input.
pub fn run(data: &[u8]) {
    let now = t0() + Duration::from_secs(1);
    let client: SocketAddr = "127.0.0.1:40000".parse().expect("an address");
    for spec in &house().gateways {
        let mut gw = SimGateway::new(spec.config.clone(), t0());
        for d in &spec.devices {
            gw.add_device(t0(), d.clone());
        }
        drain_gateway(&mut gw);
        for port in [Inbound::Discovery, Inbound::Command, Inbound::Miio] {
            gw.handle_datagram(now, client, port, data);
            drain_gateway(&mut gw);
        }
        if let Some(write) = keyed_write(data, &gw) {
            gw.handle_datagram(now, client, Inbound::Command, &write);
            drain_gateway(&mut gw);
        }
        let cfg = gw.config().clone();
        let stamp = gw.miio_stamp(now);
        if let Ok(sealed) = Cipher::new(&cfg.miio_token).seal(cfg.device_id, stamp, data) {
            gw.handle_datagram(now, client, Inbound::Miio, &sealed);
            drain_gateway(&mut gw);
        }
        gw.handle_timeout(now + Duration::from_secs(60));
        drain_gateway(&mut gw);
    }

    let token = MiioToken::from_bytes([0x5a; 16]);
    let did = DeviceId::from(4242u32);
    for model in [PlugModel::M1, PlugModel::V3] {
        let mut plug = SimMiioDevice::plug(model, &token, did, Ipv4Addr::new(127, 0, 0, 9), t0());
        plug.handle_datagram(now, client, data);
        while plug.poll_transmit().is_some() {}
        if let Ok(sealed) = Cipher::new(&token).seal(did, 1, data) {
            plug.handle_datagram(now, client, &sealed);
            while plug.poll_transmit().is_some() {}
        }
    }
}
