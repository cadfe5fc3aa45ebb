//! Network interfaces and the two socket recipes of the LAN API.
//!
//! ## Which interface
//!
//! Multicast is per interface: a report sent to 224.0.0.50 on `eth0` reaches only sockets that
//! joined the group *on `eth0`*. Joining on the wrong interface of a multi-homed host (Docker
//! bridges, VLANs, Wi-Fi beside Ethernet) is the classic cause of "no events" and then of
//! `Invalid key` (`lan-api.md` §9 quirk 1). So the interface is always configuration, given as
//! an [`InterfaceSpec`]:
//!
//! - a name (`lo`, `eth0`): its first IPv4 address;
//! - an IPv4 address (`192.168.1.5`): must be one of this host's;
//! - `auto`: the interface the kernel routes towards the gateway (or, without a gateway, towards
//!   the multicast group): a UDP socket is *connected* there and its `local_addr` read. A
//!   connected UDP socket sends nothing, so `auto` never touches the network.
//!
//! [`resolve_interface`] turns the spec into the address every socket below uses, and
//! [`interfaces`] lists what exists (for error messages and `lumi doctor`). Listing uses the
//! small `if-addrs` crate (MIT/BSD, maintained, only `libc` on Unix, which the tree already
//! has through socket2 and tokio) rather than a hand-written `getifaddrs` wrapper: it keeps
//! this crate free of `unsafe` and works the same on Linux, macOS and Windows.
//!
//! ## The sockets (`lan-api.md` §10)
//!
//! - [`report_socket`]: bound to `group:report_port` (224.0.0.50:9898) with `SO_REUSEADDR` and
//!   `SO_REUSEPORT`, so several programs on one host can all listen (Home Assistant beside
//!   lumi: each gets a copy of every multicast datagram); joined to the group on the chosen
//!   interface only; `IP_MULTICAST_ALL` off (Linux), so groups other programs joined on other
//!   interfaces are not delivered to it.
//! - [`command_socket`]: bound to `interface:0` (an ephemeral port), `IP_MULTICAST_IF` set to
//!   the interface, TTL 1 (224.0.0.0/24 never leaves the link anyway), loop on (so a simulator
//!   or another client on the same host sees our `whois`). It sends `whois` and the unicast
//!   commands and receives their unicast replies (`iam`, `*_ack`, `*_rsp`).

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::str::FromStr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// The LAN API multicast group.
pub const MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 50);
/// The port `whois` is multicast to.
pub const DISCOVERY_PORT: u16 = 4321;
/// The port reports and heartbeats are multicast to.
pub const REPORT_PORT: u16 = 9898;
/// The port gateways take commands on (announced in `iam`).
pub const COMMAND_PORT: u16 = 9898;

/// Where lumi's sockets live. There is no `Default`: the interface is always configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConfig {
    /// The address of the interface facing the gateways (see [`resolve_interface`]).
    pub interface: Ipv4Addr,
    /// The multicast group (224.0.0.50).
    pub group: Ipv4Addr,
    /// The `whois` port (4321).
    pub discovery_port: u16,
    /// The report and heartbeat port (9898).
    pub report_port: u16,
}

impl NetConfig {
    /// The standard group and ports on `interface`.
    pub fn new(interface: Ipv4Addr) -> NetConfig {
        NetConfig {
            interface,
            group: MULTICAST_GROUP,
            discovery_port: DISCOVERY_PORT,
            report_port: REPORT_PORT,
        }
    }
}

/// How the user names the interface: `auto`, a name, or one of its IPv4 addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceSpec {
    /// The interface the kernel routes towards the gateway (or the multicast group).
    Auto,
    /// An interface name (`eth0`).
    Name(String),
    /// An IPv4 address of this host.
    Addr(Ipv4Addr),
}

impl FromStr for InterfaceSpec {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self, NetError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Ok(InterfaceSpec::Auto);
        }
        if let Ok(ip) = t.parse::<IpAddr>() {
            return match ip {
                IpAddr::V4(a) => Ok(InterfaceSpec::Addr(a)),
                IpAddr::V6(_) => Err(NetError::BadSpec {
                    spec: lumi_proto::sanitize::truncated(t, 64),
                    reason: "the LAN API is IPv4 only: give an IPv4 address or an interface name",
                }),
            };
        }
        // IFNAMSIZ is 16 with the terminating NUL on Linux.
        let valid = !t.is_empty()
            && t.len() <= 15
            && t.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
        if valid {
            Ok(InterfaceSpec::Name(t.to_owned()))
        } else {
            Err(NetError::BadSpec {
                spec: lumi_proto::sanitize::truncated(t, 64),
                reason: "expected an interface name (eth0), an IPv4 address (192.168.1.5) or auto",
            })
        }
    }
}

impl fmt::Display for InterfaceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterfaceSpec::Auto => f.write_str("auto"),
            InterfaceSpec::Name(n) => f.write_str(n),
            InterfaceSpec::Addr(a) => write!(f, "{a}"),
        }
    }
}

/// One network interface and its IPv4 addresses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Interface {
    /// Its name (`lo`, `eth0`).
    pub name: String,
    /// Its IPv4 addresses with prefix lengths, in the order the system lists them.
    pub ipv4: Vec<InterfaceAddr>,
    /// True for a loopback interface.
    pub loopback: bool,
}

/// An IPv4 address of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct InterfaceAddr {
    /// The address.
    pub ip: Ipv4Addr,
    /// The prefix length of its network (24 for 255.255.255.0).
    pub prefix_len: u8,
}

impl Interface {
    /// True when `ip` is in one of this interface's networks.
    pub fn same_subnet(&self, ip: Ipv4Addr) -> bool {
        self.ipv4.iter().any(|a| {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(a.prefix_len.min(32)))
                .unwrap_or(0);
            u32::from(a.ip) & mask == u32::from(ip) & mask
        })
    }
}

/// Why an interface cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The text is neither `auto`, an IPv4 address nor an interface name.
    #[error("interface {spec:?}: {reason}")]
    BadSpec {
        /// The text given (sanitised).
        spec: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// No interface has that name.
    #[error("no network interface named {name:?} (this host has: {available})")]
    NoSuchInterface {
        /// The name given.
        name: String,
        /// The interfaces that exist, with their IPv4 addresses.
        available: String,
    },
    /// The interface exists but has no IPv4 address.
    #[error(
        "network interface {name:?} has no IPv4 address; the LAN API needs one (this host has: {available})"
    )]
    NoIpv4 {
        /// The interface.
        name: String,
        /// The interfaces that exist, with their IPv4 addresses.
        available: String,
    },
    /// The address is not one of this host's.
    #[error("{addr} is not an address of this host (this host has: {available})")]
    NotLocal {
        /// The address given.
        addr: Ipv4Addr,
        /// The interfaces that exist, with their IPv4 addresses.
        available: String,
    },
    /// `auto` found no route towards the peer.
    #[error(
        "interface auto: no route towards {peer} ({source}); name the interface with --interface"
    )]
    NoRoute {
        /// Where the route was looked for.
        peer: Ipv4Addr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The interfaces could not be listed.
    #[error("cannot list the network interfaces: {0}")]
    List(#[source] io::Error),
}

/// This host's interfaces and their IPv4 addresses, grouped by name in the order the system
/// lists them. Interfaces without an IPv4 address are included with an empty list.
pub fn interfaces() -> Result<Vec<Interface>, NetError> {
    let mut out: Vec<Interface> = Vec::new();
    for i in if_addrs::get_if_addrs().map_err(NetError::List)? {
        let idx = match out.iter().position(|o| o.name == i.name) {
            Some(idx) => idx,
            None => {
                out.push(Interface {
                    name: i.name.clone(),
                    ipv4: Vec::new(),
                    loopback: i.is_loopback(),
                });
                out.len() - 1
            }
        };
        if let if_addrs::IfAddr::V4(v4) = &i.addr {
            out[idx].ipv4.push(InterfaceAddr {
                ip: v4.ip,
                prefix_len: v4.prefixlen,
            });
        }
    }
    Ok(out)
}

/// What the client watches of its multicast interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceState {
    /// Its name (`eth0`).
    pub name: String,
    /// Its index: a new one means the interface was removed and created again, which drops
    /// every multicast membership on it.
    pub index: Option<u32>,
}

/// The interface that has `ip`, when it exists and is not down (`None`: no interface has
/// the address, or the one that has it is down).
pub fn interface_state(ip: Ipv4Addr) -> Result<Option<InterfaceState>, NetError> {
    let all = if_addrs::get_if_addrs().map_err(NetError::List)?;
    Ok(all.into_iter().find_map(|i| match &i.addr {
        if_addrs::IfAddr::V4(v4)
            if v4.ip == ip
                && !matches!(
                    i.oper_status,
                    if_addrs::IfOperStatus::Down
                        | if_addrs::IfOperStatus::LowerLayerDown
                        | if_addrs::IfOperStatus::NotPresent
                ) =>
        {
            Some(InterfaceState {
                name: i.name.clone(),
                index: i.index,
            })
        }
        _ => None,
    }))
}

/// `eth0 192.168.1.5/24, lo 127.0.0.1/8`: for error messages.
fn describe(list: &[Interface]) -> String {
    if list.is_empty() {
        return "none".into();
    }
    list.iter()
        .map(|i| {
            if i.ipv4.is_empty() {
                format!("{} (no IPv4)", i.name)
            } else {
                let addrs: Vec<String> = i
                    .ipv4
                    .iter()
                    .map(|a| format!("{}/{}", a.ip, a.prefix_len))
                    .collect();
                format!("{} {}", i.name, addrs.join(" "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The address of this host that the kernel would use to reach `peer`: a UDP socket is
/// connected to it (which sends nothing) and its local address read.
pub fn facing(peer: Ipv4Addr) -> Result<Ipv4Addr, NetError> {
    let no_route = |source| NetError::NoRoute { peer, source };
    let s = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(no_route)?;
    s.connect((peer, COMMAND_PORT)).map_err(no_route)?;
    match s.local_addr().map_err(no_route)? {
        SocketAddr::V4(a) if !a.ip().is_unspecified() => Ok(*a.ip()),
        other => Err(no_route(io::Error::other(format!(
            "the kernel chose {other} as the local address"
        )))),
    }
}

/// The interface address for `spec`. `toward` is the gateway `auto` should face (the first
/// configured one); without it `auto` faces the multicast group (the default route).
pub fn resolve_interface(
    spec: &InterfaceSpec,
    toward: Option<Ipv4Addr>,
) -> Result<Ipv4Addr, NetError> {
    match spec {
        InterfaceSpec::Auto => facing(toward.unwrap_or(MULTICAST_GROUP)),
        InterfaceSpec::Addr(a) => {
            let list = interfaces()?;
            if list.iter().any(|i| i.ipv4.iter().any(|x| x.ip == *a)) {
                Ok(*a)
            } else {
                Err(NetError::NotLocal {
                    addr: *a,
                    available: describe(&list),
                })
            }
        }
        InterfaceSpec::Name(name) => {
            let list = interfaces()?;
            match list.iter().find(|i| &i.name == name) {
                Some(i) => i
                    .ipv4
                    .first()
                    .map(|a| a.ip)
                    .ok_or_else(|| NetError::NoIpv4 {
                        name: name.clone(),
                        available: describe(&list),
                    }),
                None => Err(NetError::NoSuchInterface {
                    name: name.clone(),
                    available: describe(&list),
                }),
            }
        }
    }
}

/// The multicast listener for reports and heartbeats; see the [module docs](self).
pub fn report_socket(net: &NetConfig) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    #[cfg(unix)]
    s.set_reuse_port(true)?;
    #[cfg(target_os = "linux")]
    s.set_multicast_all_v4(false)?;
    // Bound to the group (not 0.0.0.0): unicast datagrams to the port are not ours.
    s.bind(&SocketAddr::V4(SocketAddrV4::new(net.group, net.report_port)).into())?;
    s.join_multicast_v4(&net.group, &net.interface)?;
    // A burst of reports (a house full of devices after a gateway reboot) must not overflow
    // the default buffer. The kernel caps the request at net.core.rmem_max (208 KiB on many
    // systems): say so once, with the fix, since a small buffer is where bursts get lost.
    let _ = s.set_recv_buffer_size(REPORT_RECV_BUFFER);
    if let Ok(got) = s.recv_buffer_size() {
        // Linux reports twice the usable size (it counts its bookkeeping).
        if got < REPORT_RECV_BUFFER {
            tracing::info!(
                "the report socket's receive buffer is {} KiB (capped by net.core.rmem_max); \
                 bursts of more than a few thousand reports may be dropped by the kernel: \
                 `sysctl -w net.core.rmem_max={REPORT_RECV_BUFFER}` raises the cap",
                got / 1024
            );
        } else {
            tracing::debug!("report socket receive buffer: {} KiB", got / 1024);
        }
    }
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

/// The receive buffer the report socket asks for (32 MiB; a queued report takes about 800
/// bytes of it): a gateway reboot's burst, or a pause of the process (a Raspberry Pi
/// swapping), loses nothing. The kernel caps it at `net.core.rmem_max` (208 KiB by default on
/// many systems, room for about 500 reports) and the memory is only used while reports wait.
/// `lumi bench --burst 50000` on a 2-core machine needs the whole 32 MiB (BENCHMARKS.md).
pub const REPORT_RECV_BUFFER: usize = 32 << 20;

/// The socket for `whois` and unicast commands; see the [module docs](self).
pub fn command_socket(net: &NetConfig) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_multicast_if_v4(&net.interface)?;
    s.set_multicast_ttl_v4(1)?;
    s.set_multicast_loop_v4(true)?;
    s.bind(&SocketAddr::V4(SocketAddrV4::new(net.interface, 0)).into())?;
    let _ = s.set_recv_buffer_size(1 << 20);
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(
            "auto".parse::<InterfaceSpec>().unwrap(),
            InterfaceSpec::Auto
        );
        assert_eq!(
            "AUTO".parse::<InterfaceSpec>().unwrap(),
            InterfaceSpec::Auto
        );
        assert_eq!(
            "127.0.0.1".parse::<InterfaceSpec>().unwrap(),
            InterfaceSpec::Addr(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            " eth0 ".parse::<InterfaceSpec>().unwrap(),
            InterfaceSpec::Name("eth0".into())
        );
        let e = "::1".parse::<InterfaceSpec>().unwrap_err().to_string();
        assert!(e.contains("IPv4"), "{e}");
        let e = "a/b".parse::<InterfaceSpec>().unwrap_err().to_string();
        assert!(e.contains("\"a/b\""), "{e}");
        assert!("".parse::<InterfaceSpec>().is_err());
        assert!("averyveryverylongname".parse::<InterfaceSpec>().is_err());
        assert!("eth\u{1b}0".parse::<InterfaceSpec>().is_err());
    }

    #[test]
    fn loopback_resolves_by_name_and_address() {
        let list = interfaces().unwrap();
        let lo = list
            .iter()
            .find(|i| i.loopback && i.ipv4.iter().any(|a| a.ip == Ipv4Addr::LOCALHOST))
            .expect("a loopback interface with 127.0.0.1");
        assert!(lo.same_subnet(Ipv4Addr::new(127, 0, 0, 2)));
        assert!(!lo.same_subnet(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(
            resolve_interface(&InterfaceSpec::Name(lo.name.clone()), None).unwrap(),
            Ipv4Addr::LOCALHOST
        );
        assert_eq!(
            resolve_interface(&InterfaceSpec::Addr(Ipv4Addr::LOCALHOST), None).unwrap(),
            Ipv4Addr::LOCALHOST
        );
        // `auto` towards a loopback peer is loopback (nothing is sent).
        assert_eq!(
            resolve_interface(&InterfaceSpec::Auto, Some(Ipv4Addr::new(127, 0, 0, 2))).unwrap(),
            Ipv4Addr::LOCALHOST
        );
    }

    #[test]
    fn unknown_interfaces_name_what_exists() {
        let e = resolve_interface(&InterfaceSpec::Name("nosuch9".into()), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nosuch9") && e.contains("127.0.0.1/8"), "{e}");
        let e = resolve_interface(&InterfaceSpec::Addr(Ipv4Addr::new(192, 0, 2, 77)), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("192.0.2.77") && e.contains("127.0.0.1"), "{e}");
    }
}
