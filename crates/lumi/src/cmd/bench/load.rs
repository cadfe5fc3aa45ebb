//! The load: report datagrams from the simulated gateways' addresses, each carrying a
//! sequence number, sent paced or unpaced from one thread; and the loopback limit, the same
//! datagrams between a bare sender and receiver.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// Energy values (Wh) carrying sequence numbers start here, far above any simulated plug's
/// own value, so a delivered state names the report it came from.
pub const SEQ_BASE: u64 = 1_000_000_000;

/// Who sends what: one entry per simulated gateway.
#[derive(Debug, Clone)]
pub struct Source {
    /// The gateway's address (the reports' source).
    pub ip: Ipv4Addr,
    /// Its plugs' sids.
    pub devices: Vec<String>,
}

/// How to pace.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// `rate` reports per second for `count` reports.
    Rate { rate: u32, count: u64 },
    /// `count` reports as fast as possible.
    Burst { count: u64 },
}

impl Pace {
    pub fn count(&self) -> u64 {
        match *self {
            Pace::Rate { count, .. } | Pace::Burst { count } => count,
        }
    }
}

/// What the sender did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    pub sent: u64,
    pub errors: u64,
    /// Nanoseconds since the clock base of the first and last send.
    pub first_ns: u64,
    pub last_ns: u64,
}

/// The report of plug `sid` with energy `SEQ_BASE + seq` (protocol v1, as a real plug sends).
pub fn report(sid: &str, seq: u64, buf: &mut Vec<u8>) {
    use std::io::Write;
    buf.clear();
    let _ = write!(
        buf,
        r#"{{"cmd":"report","model":"plug","sid":"{sid}","short_id":4343,"data":"{{\"power_consumed\":\"{}\"}}"}}"#,
        SEQ_BASE + seq
    );
}

/// A UDP socket bound to `ip:0` that multicasts on `interface` only (TTL 1, loop on).
pub fn sender(ip: Ipv4Addr, interface: Ipv4Addr) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_multicast_if_v4(&interface)?;
    s.set_multicast_ttl_v4(1)?;
    s.set_multicast_loop_v4(true)?;
    s.bind(&SocketAddr::V4(SocketAddrV4::new(ip, 0)).into())?;
    Ok(s.into())
}

/// Sends the load to `to` (the group and report port). Report `i` goes from gateway
/// `i % gateways`, device `(i / gateways) % devices`, and `stamps[i]` gets its send time (ns
/// since `base`) just before it is sent. Paced sending sleeps until each report is due (the
/// kernel's timer slack makes reports due within ~60 µs leave together).
pub fn send(
    sources: &[Source],
    interface: Ipv4Addr,
    to: SocketAddr,
    pace: Pace,
    base: Instant,
    stamps: &Arc<Vec<AtomicU64>>,
) -> io::Result<Sent> {
    let socks: Vec<UdpSocket> = sources
        .iter()
        .map(|s| sender(s.ip, interface))
        .collect::<io::Result<_>>()?;
    let gateways = sources.len() as u64;
    let mut buf = Vec::with_capacity(192);
    let mut out = Sent::default();
    let count = pace.count();
    let start = Instant::now();
    for i in 0..count {
        if let Pace::Rate { rate, .. } = pace {
            sleep_until_due(start, i, rate);
        }
        let g = (i % gateways) as usize;
        let src = &sources[g];
        let d = ((i / gateways) % src.devices.len() as u64) as usize;
        report(&src.devices[d], i, &mut buf);
        let t = base.elapsed().as_nanos() as u64;
        if let Some(s) = stamps.get(i as usize) {
            s.store(t, Ordering::Relaxed);
        }
        if i == 0 {
            out.first_ns = t;
        }
        match socks[g].send_to(&buf, to) {
            Ok(_) => out.sent += 1,
            Err(_) => out.errors += 1,
        }
        out.last_ns = t;
    }
    Ok(out)
}

/// What the bare loopback pair moved.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Baseline {
    pub datagrams: u64,
    pub bytes_each: usize,
    pub received: u64,
    pub dropped: u64,
    /// Datagrams per second the sender sent.
    pub send_rate: f64,
    /// Datagrams per second the receiver received (first send to last receive).
    pub receive_rate: f64,
    /// The receive buffer the kernel gave (bytes).
    pub recv_buffer: usize,
}

/// Paced sending: sleeps until datagram `i` of a run at `rate` per second from `start` is due.
fn sleep_until_due(start: Instant, i: u64, rate: u32) {
    let due = start + Duration::from_nanos(i * 1_000_000_000 / u64::from(rate.max(1)));
    let now = Instant::now();
    if due > now {
        std::thread::sleep(due - now);
    }
}

/// A blocking receiver made with the bridge's own recipe (joined to `group:port` on
/// `interface`, the same receive buffer), so the baselines measure the socket the bridge reads.
fn bridge_like_receiver(interface: Ipv4Addr, group: Ipv4Addr, port: u16) -> io::Result<UdpSocket> {
    let net = lumi_client::net::NetConfig {
        interface,
        group,
        discovery_port: port,
        report_port: port,
    };
    let r = lumi_client::net::report_socket(&net)?.into_std()?;
    r.set_nonblocking(false)?;
    r.set_read_timeout(Some(Duration::from_millis(500)))?;
    Ok(r)
}

/// The loopback limit: `count` datagrams of the bench's size, unpaced, from one sender to one
/// receiver joined to `group:port` on `interface`, as the bridge's report socket is.
pub fn baseline(
    interface: Ipv4Addr,
    group: Ipv4Addr,
    port: u16,
    count: u64,
) -> io::Result<Baseline> {
    let r = bridge_like_receiver(interface, group, port)?;
    let recv_buffer = socket2::SockRef::from(&r).recv_buffer_size().unwrap_or(0);
    let base = Instant::now();
    let receiver = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0u64;
        let mut last = Duration::ZERO;
        while n < count {
            match r.recv_from(&mut buf) {
                Ok(_) => {
                    n += 1;
                    last = base.elapsed();
                }
                Err(_) => break,
            }
        }
        (n, last)
    });
    let s = sender(interface, interface)?;
    let to = SocketAddr::V4(SocketAddrV4::new(group, port));
    let mut buf = Vec::with_capacity(192);
    report("158d0000000000", 0, &mut buf);
    let bytes_each = buf.len();
    let t0 = base.elapsed();
    let mut sent = 0u64;
    for i in 0..count {
        report("158d0000000000", i, &mut buf);
        if s.send_to(&buf, to).is_ok() {
            sent += 1;
        }
    }
    let t1 = base.elapsed();
    let (received, last) = receiver
        .join()
        .map_err(|_| io::Error::other("the baseline receiver panicked"))?;
    let secs = |d: Duration| d.as_secs_f64().max(1e-9);
    Ok(Baseline {
        datagrams: sent,
        bytes_each,
        received,
        dropped: sent.saturating_sub(received),
        send_rate: sent as f64 / secs(t1 - t0),
        receive_rate: received as f64 / secs(last.saturating_sub(t0)),
        recv_buffer,
    })
}

/// What the bare pair's paced run measured ([`latency_baseline`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatencyBaseline {
    /// Datagrams per second.
    pub rate: u32,
    /// Datagrams received.
    pub received: u64,
    /// Send → receive, in ms.
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// The latency floor at the bench's rate: `count` datagrams paced at `rate` from a bare
/// sender to a bare receiver on the bridge's kind of socket, each timed from its send to its
/// receive. One hop, no work: what the machine's scheduling alone adds to every stage of the
/// pipeline (the bench's figure goes through four processes and three hops).
pub fn latency_baseline(
    interface: Ipv4Addr,
    group: Ipv4Addr,
    port: u16,
    rate: u32,
    count: u64,
) -> io::Result<LatencyBaseline> {
    let r = bridge_like_receiver(interface, group, port)?;
    let base = Instant::now();
    let receiver = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let mut latencies = Vec::with_capacity(count as usize);
        while (latencies.len() as u64) < count {
            match r.recv_from(&mut buf) {
                Ok((n, _)) if n >= 8 => {
                    let now = base.elapsed().as_nanos() as u64;
                    let mut sent = [0u8; 8];
                    sent.copy_from_slice(&buf[..8]);
                    latencies.push(now.saturating_sub(u64::from_le_bytes(sent)));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        latencies
    });
    let s = sender(interface, interface)?;
    let to = SocketAddr::V4(SocketAddrV4::new(group, port));
    let start = Instant::now();
    for i in 0..count {
        sleep_until_due(start, i, rate);
        let sent = base.elapsed().as_nanos() as u64;
        let _ = s.send_to(&sent.to_le_bytes(), to);
    }
    let mut lat = receiver
        .join()
        .map_err(|_| io::Error::other("the latency baseline's receiver panicked"))?;
    lat.sort_unstable();
    let at = |q: f64| {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1e6
    };
    Ok(LatencyBaseline {
        rate,
        received: lat.len() as u64,
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: at(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_a_plug_report_the_catalogue_types_with_the_sequence_number() {
        let mut buf = Vec::new();
        report("158d0000000042", 7, &mut buf);
        let d = lumi_proto::lan::decode(&buf).expect("valid LAN datagram");
        let lumi_proto::lan::Message::Report(m) = d.message else {
            panic!("not a report: {:?}", d.message)
        };
        assert_eq!(m.sid.as_str(), "158d0000000042");
        let state =
            lumi_proto::catalogue::decode("plug", lumi_proto::lan::ProtoVersion::V1, &m.props);
        let energy = state.get("energy").and_then(|v| v.as_f64());
        assert_eq!(energy, Some((SEQ_BASE + 7) as f64));
    }
}
