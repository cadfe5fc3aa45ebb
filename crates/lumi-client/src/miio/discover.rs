//! miIO discovery: send the hello, collect hello replies.
//!
//! The hello (`21 31 00 20` + 28 × `ff`, reference §1.1) is answered by every miIO device
//! with its device id, its stamp and, while it is unprovisioned (factory state, its own
//! access point), its token in clear; provisioned devices send `ff`×16 or `00`×16 there.
//! [`discover`] sends the hello to each target and, when asked, to a broadcast address, and
//! collects the replies until the timeout. Unanswered targets get the hello again at one
//! and two thirds of the timeout (python-miio sends it three times, aholstenson twice).
//!
//! Broadcast is opt-in and needs the broadcast address of the chosen interface:
//! [`broadcast_address`] finds it in the kernel's routing table (Linux), and the socket is
//! bound to the interface's address so nothing leaves on another interface's address.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use lumi_proto::miio::{DeviceId, HELLO, Hello, HelloToken, MiioToken};
use tokio::net::UdpSocket;

use super::device::MiioError;

/// What to discover, and how long to listen.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverOptions {
    /// Devices to ask directly (`ip:54321`).
    pub targets: Vec<SocketAddr>,
    /// A broadcast address to send the hello to as well (e.g. `192.168.1.255:54321`).
    pub broadcast: Option<SocketAddrV4>,
    /// Local address to bind (the interface's address; needed with `broadcast`). `None`:
    /// `0.0.0.0`.
    pub bind: Option<IpAddr>,
    /// How long to collect replies.
    pub timeout: Duration,
}

impl DiscoverOptions {
    /// Ask `targets` for `timeout`, no broadcast.
    pub fn unicast(targets: Vec<SocketAddr>, timeout: Duration) -> DiscoverOptions {
        DiscoverOptions {
            targets,
            broadcast: None,
            bind: None,
            timeout,
        }
    }
}

/// A device that answered the hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discovered {
    /// Where the reply came from.
    pub addr: SocketAddr,
    /// Its device id.
    pub device_id: DeviceId,
    /// Its stamp (uptime or unix seconds).
    pub stamp: u32,
    /// The token field: revealed (redacted in `Debug`), `ff`×16 or `00`×16.
    pub token: HelloToken,
}

impl Discovered {
    /// The token, if the device revealed it (it is not provisioned).
    pub fn revealed_token(&self) -> Option<MiioToken> {
        match self.token {
            HelloToken::Revealed(t) => Some(t),
            _ => None,
        }
    }
}

/// Sends the hello to every target (and the broadcast address), and returns every device
/// that answered within the timeout, ordered by address. Replies that are not hello
/// replies are ignored; a device answering twice is listed once.
pub async fn discover(opts: &DiscoverOptions) -> Result<Vec<Discovered>, MiioError> {
    let family_v6 = opts.targets.iter().all(SocketAddr::is_ipv6) && !opts.targets.is_empty();
    let unspecified = if family_v6 {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let local = SocketAddr::new(opts.bind.unwrap_or(unspecified), 0);
    let first_peer = opts
        .targets
        .first()
        .copied()
        .or(opts.broadcast.map(SocketAddr::V4))
        .unwrap_or(local);
    let bind_err = |source| MiioError::Bind {
        local,
        peer: first_peer,
        source,
    };
    let socket = UdpSocket::bind(local).await.map_err(bind_err)?;
    if opts.broadcast.is_some() {
        socket.set_broadcast(true).map_err(bind_err)?;
    }
    let start = tokio::time::Instant::now();
    let deadline = start + opts.timeout;
    let mut found: BTreeMap<SocketAddr, Discovered> = BTreeMap::new();
    let mut buf = [0u8; 1024];
    for round in 0..3u32 {
        // Targets that did not answer yet (a device may answer from its address alone).
        let mut to: Vec<SocketAddr> = opts
            .targets
            .iter()
            .filter(|t| !found.contains_key(t))
            .copied()
            .collect();
        to.extend(opts.broadcast.map(SocketAddr::V4));
        for t in &to {
            tracing::debug!(target = %t, round, "miio discover: hello");
            if let Err(source) = socket.send_to(&HELLO, t).await {
                // One unreachable target must not spoil the others; with one target, say why.
                if opts.targets.len() + usize::from(opts.broadcast.is_some()) == 1 {
                    return Err(MiioError::Send { peer: *t, source });
                }
                tracing::warn!(target = %t, "miio discover: cannot send the hello: {source}");
            }
        }
        let round_end = start + opts.timeout * (round + 1) / 3;
        let round_end = if round == 2 { deadline } else { round_end };
        loop {
            let all_answered =
                opts.broadcast.is_none() && opts.targets.iter().all(|t| found.contains_key(t));
            if all_answered {
                return Ok(found.into_values().collect());
            }
            let r = tokio::time::timeout_at(round_end, socket.recv_from(&mut buf)).await;
            let Ok(r) = r else { break };
            let (n, from) = match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!("miio discover: receive failed: {e}");
                    continue;
                }
            };
            match Hello::parse(buf.get(..n).unwrap_or_default()) {
                Ok(Hello::Reply(r)) => {
                    tracing::debug!(%from, device_id = %r.device_id, "miio discover: hello reply");
                    found.entry(from).or_insert(Discovered {
                        addr: from,
                        device_id: r.device_id,
                        stamp: r.stamp,
                        token: r.token,
                    });
                }
                // Our own broadcast coming back, or something else: not a device.
                Ok(Hello::Request) => {}
                Err(e) => tracing::debug!(%from, "miio discover: not a hello reply: {e}"),
            }
        }
    }
    Ok(found.into_values().collect())
}

/// The broadcast address of the directly connected IPv4 network that `interface` (an
/// address of this machine) is on, from the kernel's routing table (`/proc/net/route`,
/// Linux). `None` when it cannot be found (another OS, or an address without a connected
/// route, such as loopback).
pub fn broadcast_address(interface: Ipv4Addr) -> Option<Ipv4Addr> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    broadcast_from_routes(&table, interface)
}

/// [`broadcast_address`] from the text of `/proc/net/route`: the longest directly connected
/// route (gateway 0) containing `ip`; its address with all host bits set.
pub fn broadcast_from_routes(table: &str, ip: Ipv4Addr) -> Option<Ipv4Addr> {
    // Fields are hex numbers in host byte order of network-order bytes.
    let addr = |s: &str| u32::from_str_radix(s, 16).ok().map(|x| x.to_ne_bytes());
    let ip = u32::from_be_bytes(ip.octets());
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (dest, gateway, mask) = (f.get(1)?, f.get(2)?, f.get(7)?);
            let dest = u32::from_be_bytes(addr(dest)?);
            let gateway = u32::from_be_bytes(addr(gateway)?);
            let mask = u32::from_be_bytes(addr(mask)?);
            (gateway == 0 && mask != 0 && ip & mask == dest).then_some((mask, dest | !mask))
        })
        .max_by_key(|(mask, _)| mask.count_ones())
        .map(|(_, b)| Ipv4Addr::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_address_from_the_routing_table() {
        // As printed on a little-endian machine; written per host order below.
        let hex = |a: [u8; 4]| format!("{:08X}", u32::from_ne_bytes(a));
        let table = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             eth0\t{}\t{}\t0003\t0\t0\t100\t{}\t0\t0\t0\n\
             eth0\t{}\t{}\t0001\t0\t0\t100\t{}\t0\t0\t0\n\
             eth0\t{}\t{}\t0001\t0\t0\t100\t{}\t0\t0\t0\n\
             wlan0\t{}\t{}\t0001\t0\t0\t600\t{}\t0\t0\t0\n",
            hex([0, 0, 0, 0]),
            hex([192, 168, 1, 1]),
            hex([0, 0, 0, 0]),
            hex([192, 168, 0, 0]),
            hex([0, 0, 0, 0]),
            hex([255, 255, 0, 0]),
            hex([192, 168, 1, 0]),
            hex([0, 0, 0, 0]),
            hex([255, 255, 255, 0]),
            hex([10, 0, 0, 0]),
            hex([0, 0, 0, 0]),
            hex([255, 255, 252, 0]),
        );
        let b = |ip: [u8; 4]| broadcast_from_routes(&table, Ipv4Addr::from(ip));
        assert_eq!(b([192, 168, 1, 5]), Some(Ipv4Addr::new(192, 168, 1, 255)));
        assert_eq!(b([192, 168, 7, 5]), Some(Ipv4Addr::new(192, 168, 255, 255)));
        assert_eq!(b([10, 0, 2, 9]), Some(Ipv4Addr::new(10, 0, 3, 255)));
        assert_eq!(
            b([127, 0, 0, 1]),
            None,
            "the default route is not a network"
        );
        assert_eq!(
            broadcast_from_routes("garbage\n\t\tzz", Ipv4Addr::LOCALHOST),
            None
        );
    }
}
