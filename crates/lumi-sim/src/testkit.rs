//! Helpers for tests that run lumi against the simulator and third-party peers (lumi's own
//! tests, and downstream crates'): where the Python peers are, and free loopback ports.

/// The Python with the third-party peers (PyXiaomiGateway, python-miio) installed, from
/// `LUMI_PEERS_PYTHON` (`scripts/test.sh` sets it up). `None` — with a message saying the test
/// is skipped — when it is not set, unless `LUMI_REQUIRE_PEERS=1`, which makes it a failure
/// (CI sets both, so a missing peer can never pass silently there).
pub fn peers_python() -> Option<String> {
    match std::env::var("LUMI_PEERS_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                std::env::var("LUMI_REQUIRE_PEERS").as_deref() != Ok("1"),
                "LUMI_REQUIRE_PEERS=1 but LUMI_PEERS_PYTHON is not set: run scripts/test.sh"
            );
            eprintln!(
                "skipped: set LUMI_PEERS_PYTHON to a Python with the peers (scripts/test.sh does)"
            );
            None
        }
    }
}

/// A UDP port that was free on 127.0.0.1 a moment ago, for protocol ports both sides must
/// know before either binds (multicast groups, python-miio's push server). Sockets lumi binds
/// itself use port 0 instead.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot bind a UDP socket on 127.0.0.1: {e}"))
}
