//! `sessions`: the sans-IO sessions fed datagrams from the peer's own address: the LAN
//! gateway session (with a read and a write outstanding) and the miIO session (after its
//! handshake, with a call on the wire). The miIO session gets the input twice: as a raw
//! datagram, and sealed with the device's token as the payload of a reply (checksums stop
//! almost every raw input before the reply handling). Nothing may panic, whatever arrives.
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lumi_proto::lan::Props;
use lumi_proto::miio::{Cipher, DeviceId, HelloReply, MiioToken};
use lumi_proto::session::gateway::{GatewaySession, SessionConfig};
use lumi_proto::session::miio::{MiioConfig, MiioSession};

fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

/// One input.
pub fn run(data: &[u8]) {
    let now = t0();
    let gw: SocketAddr = "127.0.0.2:9898".parse().unwrap();
    let mut s = GatewaySession::new(
        SessionConfig::new(
            gw,
            "7811dcb06972".parse().unwrap(),
            "0987654321qwerty".parse().unwrap(),
        ),
        now,
    );
    let dev = "158d0001a2b3c4".parse().unwrap();
    s.read(now, dev);
    s.write(
        now,
        "158d0001a2b3c5".parse().unwrap(),
        Props::new().with("status", "on"),
    );
    s.handle_datagram(now, gw, data);
    s.handle_timeout(now + Duration::from_secs(2));
    while s.poll_transmit().is_some() || s.poll_event().is_some() {}

    let addr: SocketAddr = "127.0.0.3:54321".parse().unwrap();
    let token = MiioToken::from_bytes([7; 16]);
    let mut m = MiioSession::new(MiioConfig::new(addr, token).with_first_id(1));
    m.call(now, "get_prop", serde_json::json!(["power"]), None);
    while m.poll_transmit().is_some() {}
    m.handle_datagram(now, addr, &HelloReply::hidden(DeviceId(42), 100).to_bytes());
    while m.poll_transmit().is_some() {}
    if let Ok(sealed) = Cipher::new(&token).seal(DeviceId(42), 101, data) {
        m.handle_datagram(now, addr, &sealed);
    }
    while m.poll_transmit().is_some() || m.poll_event().is_some() {}
    m.handle_datagram(now, addr, data);
    m.handle_timeout(now + Duration::from_secs(3));
    while m.poll_transmit().is_some() || m.poll_event().is_some() {}
}
