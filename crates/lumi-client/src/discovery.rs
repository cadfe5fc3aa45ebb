//! Finding gateways: multicast `whois`, and static gateways probed by address.
//!
//! ## whois / iam
//!
//! ```text
//! client :ephemeral ──{"cmd":"whois"}──► 224.0.0.50:4321           (multicast, every gateway)
//! client :ephemeral ◄─{"cmd":"iam","sid":"7811dcb06972","ip":"192.168.1.20","port":"9898",
//!                      "model":"gateway","proto_version":"1.1.2"}──  (unicast, each gateway)
//! ```
//!
//! [`discover`] sends `whois` three times over the window (UDP is lossy; gateways answer every
//! time) and collects `iam` replies until the deadline, keeping one entry per sid (the last).
//! The command address is the `ip` and `port` the gateway announces; the source address is
//! the fallback when they are missing. `proto_version` is optional in v1 firmware, so the
//! version may be unknown (a session learns it from the first datagram).
//!
//! ## Static gateways
//!
//! Some gateways do not answer `whois` (the AC partner) and some networks drop multicast
//! (Docker without host networking, VPNs). [`probe`] asks a gateway by address for its device
//! list, unicast: `{"cmd":"get_id_list"}` (v1). A v1 gateway answers `get_id_list_ack` with its
//! sid and token; a v2 gateway answers `get_id_list_rsp` with `No sid`, and then gets
//! `{"cmd":"discovery"}` (v2) which it answers with `discovery_rsp`. If nothing answers, the
//! next attempt tries the other shape. Then the gateway reads itself (`read` with its sid) for
//! its model and `proto_version`. Only replies from exactly the probed address count.

use std::net::SocketAddr;
use std::time::Duration;

use lumi_proto::lan::{
    self, GetIdList, Iam, IdListEntry, Message, ProtoVersion, Read, ReplyTo, Sid, Token,
};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use crate::net::{self, NetConfig};

/// A gateway that answered `whois` (or a probe).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoundGateway {
    /// Its sid.
    pub sid: Sid,
    /// Where its commands go (`ip:port` from `iam`).
    pub addr: SocketAddr,
    /// Its model (`gateway`, `acpartner.v3`, …), when it said.
    pub model: Option<String>,
    /// Its `proto_version` string, when it said.
    pub proto_version: Option<String>,
    /// The protocol version, when known.
    pub version: Option<ProtoVersion>,
}

/// What a [`probe`] learned about a gateway.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProbedGateway {
    /// The gateway (model and `proto_version` from its own `read`, when it answered that).
    pub gateway: FoundGateway,
    /// The token from its id list (not a secret: gateways multicast it).
    pub token: Option<Token>,
    /// Its sub-devices (v2 lists models too).
    pub devices: Vec<IdListEntry>,
}

/// Why discovery or a probe failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// A socket could not be opened or used.
    #[error("{what} on interface {interface}: {source}")]
    Socket {
        /// Which socket, doing what.
        what: &'static str,
        /// The interface address.
        interface: std::net::Ipv4Addr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A probed gateway did not answer.
    #[error(
        "gateway at {addr} did not answer get_id_list/discovery within {}; check the \
         address, that the gateway's LAN protocol (developer mode) is enabled in the Mi Home \
         app, and that UDP port {port} is not blocked",
        crate::seconds(*.after),
        port = addr.port()
    )]
    NoAnswer {
        /// The address probed.
        addr: SocketAddr,
        /// How long it was given.
        after: Duration,
    },
}

/// The gateway an `iam` from `from` announces; `None` without a sid.
pub fn gateway_from_iam(from: SocketAddr, iam: &Iam) -> Option<FoundGateway> {
    let sid = iam.sid.clone()?;
    let ip = match iam.ip {
        Some(ip) if !ip.is_unspecified() => ip,
        _ => from.ip(),
    };
    Some(FoundGateway {
        sid,
        addr: SocketAddr::new(ip, iam.port.unwrap_or(net::COMMAND_PORT)),
        model: iam.model.clone(),
        proto_version: iam.proto_version.clone(),
        version: iam
            .proto_version
            .as_deref()
            .and_then(ProtoVersion::from_proto_version),
    })
}

/// Multicasts one `whois` from `sock` (a [`net::command_socket`]).
pub async fn whois(sock: &UdpSocket, net: &NetConfig) -> std::io::Result<()> {
    let payload = lan::encode(&Message::Whois, ProtoVersion::V1);
    sock.send_to(&payload, (net.group, net.discovery_port))
        .await
        .map(|_| ())
}

fn socket(net: &NetConfig) -> Result<UdpSocket, DiscoveryError> {
    net::command_socket(net).map_err(|source| DiscoveryError::Socket {
        what: "cannot open the command socket",
        interface: net.interface,
        source,
    })
}

/// Sends `whois` and collects the gateways that answer within `window`, sorted by sid.
/// An empty list is not an error: nobody answered.
pub async fn discover(
    net: &NetConfig,
    window: Duration,
) -> Result<Vec<FoundGateway>, DiscoveryError> {
    let sock = socket(net)?;
    let start = Instant::now();
    let deadline = start + window;
    let mut found: Vec<FoundGateway> = Vec::new();
    let mut sent = 0u32;
    let mut buf = vec![0u8; lan::MAX_DATAGRAM + 1];
    loop {
        // whois at 0, 1/3 and 2/3 of the window.
        let next_whois = (sent < 3).then(|| start + window * sent / 3);
        if let Some(at) = next_whois
            && at <= Instant::now()
        {
            whois(&sock, net)
                .await
                .map_err(|source| DiscoveryError::Socket {
                    what: "cannot send whois",
                    interface: net.interface,
                    source,
                })?;
            sent += 1;
            continue;
        }
        let wake = next_whois.map_or(deadline, |t| t.min(deadline));
        match tokio::time::timeout_at(wake, sock.recv_from(&mut buf)).await {
            Err(_) if wake >= deadline => break,
            Err(_) => continue,
            Ok(Err(e)) => {
                // ICMP errors from earlier sends surface here on some systems; not fatal.
                tracing::debug!("discovery socket: {e}");
            }
            Ok(Ok((n, from))) => {
                let Some(bytes) = buf.get(..n) else { continue };
                match lan::decode(bytes) {
                    Ok(d) => match d.message {
                        Message::Iam(iam) => match gateway_from_iam(from, &iam) {
                            Some(g) => {
                                tracing::debug!(gateway = %g.sid, addr = %g.addr, "iam");
                                found.retain(|f| f.sid != g.sid);
                                found.push(g);
                            }
                            None => tracing::debug!(%from, "iam without a sid, ignored"),
                        },
                        other => tracing::debug!(
                            %from,
                            cmd = other.cmd(d.version.unwrap_or(ProtoVersion::V1)),
                            "not an iam, ignored"
                        ),
                    },
                    Err(e) => tracing::debug!(%from, "undecodable datagram during discovery: {e}"),
                }
            }
        }
    }
    found.sort_by(|a, b| a.sid.cmp(&b.sid));
    Ok(found)
}

/// Asks the gateway at `addr` for its id list (v1 then v2 shapes, see the
/// [module docs](self)) and then for its own state, all within `timeout` (split into three
/// attempts).
pub async fn probe(
    net: &NetConfig,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<ProbedGateway, DiscoveryError> {
    let sock = socket(net)?;
    let start = Instant::now();
    let deadline = start + timeout;
    let attempt = (timeout / 3).max(Duration::from_millis(50));
    let send_err = |source| DiscoveryError::Socket {
        what: "cannot send to the gateway",
        interface: net.interface,
        source,
    };
    let mut buf = vec![0u8; lan::MAX_DATAGRAM + 1];
    let mut guess = ProtoVersion::V1;
    let mut answered = None;
    'attempts: while Instant::now() < deadline {
        let payload = lan::encode(&Message::GetIdList(GetIdList { sid: None }), guess);
        sock.send_to(&payload, addr).await.map_err(send_err)?;
        let until = (Instant::now() + attempt).min(deadline);
        loop {
            let Ok(r) = tokio::time::timeout_at(until, sock.recv_from(&mut buf)).await else {
                // No answer in this shape: try the other one next.
                guess = other(guess);
                continue 'attempts;
            };
            let Ok((n, from)) = r else { continue };
            if from != addr {
                continue;
            }
            let Some(Ok(d)) = buf.get(..n).map(lan::decode) else {
                continue;
            };
            match d.message {
                Message::IdList(list) => {
                    answered = Some((list, d.version.unwrap_or(guess)));
                    break 'attempts;
                }
                Message::Error(e) if e.reply_to == ReplyTo::IdList => {
                    // `get_id_list_rsp` "No sid": a v2 gateway heard a v1 request.
                    guess = match d.version {
                        Some(v) if v != guess => v,
                        _ => other(guess),
                    };
                    continue 'attempts;
                }
                _ => {}
            }
        }
    }
    let Some((list, version)) = answered else {
        return Err(DiscoveryError::NoAnswer {
            addr,
            after: start.elapsed(),
        });
    };
    let mut gateway = FoundGateway {
        sid: list.sid.clone(),
        addr,
        model: None,
        proto_version: None,
        version: Some(version),
    };
    // Its own state, for model and proto_version: a bonus, so one attempt and no error.
    let read = lan::encode(
        &Message::Read(Read {
            sid: list.sid.clone(),
        }),
        version,
    );
    if sock.send_to(&read, addr).await.is_ok() {
        let until = Instant::now() + attempt;
        while let Ok(Ok((n, from))) = tokio::time::timeout_at(until, sock.recv_from(&mut buf)).await
        {
            let Some(Ok(d)) = buf.get(..n).map(lan::decode) else {
                continue;
            };
            if from != addr {
                continue;
            }
            if let Message::ReadAck(m) = d.message
                && m.sid == list.sid
            {
                gateway.model = m.model.clone();
                gateway.proto_version = m.props.get_str("proto_version").map(|s| s.into_owned());
                if let Some(v) = gateway
                    .proto_version
                    .as_deref()
                    .and_then(ProtoVersion::from_proto_version)
                {
                    gateway.version = Some(v);
                }
                break;
            }
        }
    }
    Ok(ProbedGateway {
        gateway,
        token: list.token,
        devices: list.devices,
    })
}

fn other(v: ProtoVersion) -> ProtoVersion {
    match v {
        ProtoVersion::V1 => ProtoVersion::V2,
        ProtoVersion::V2 => ProtoVersion::V1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_gives_the_announced_address_or_the_source() {
        let from: SocketAddr = "192.168.1.20:4321".parse().unwrap();
        let d = lan::decode(
            br#"{"cmd":"iam","ip":"192.168.1.21","port":"9898","model":"gateway","sid":"286c2285aaaa","proto_version":"1.1.2"}"#,
        )
        .unwrap();
        let Message::Iam(iam) = d.message else {
            panic!()
        };
        let g = gateway_from_iam(from, &iam).unwrap();
        assert_eq!(g.addr, "192.168.1.21:9898".parse().unwrap());
        assert_eq!(g.version, Some(ProtoVersion::V1));
        assert_eq!(g.model.as_deref(), Some("gateway"));

        // No ip, no port, no version: the source and 9898.
        let d =
            lan::decode(br#"{"cmd":"iam","sid":"7811dcb2a7d9","model":"acpartner.v3"}"#).unwrap();
        let Message::Iam(iam) = d.message else {
            panic!()
        };
        let g = gateway_from_iam(from, &iam).unwrap();
        assert_eq!(g.addr, "192.168.1.20:9898".parse().unwrap());
        assert_eq!(g.version, None);

        // No sid: not usable.
        let d = lan::decode(br#"{"cmd":"iam","ip":"192.168.1.21","port":"9898"}"#).unwrap();
        let Message::Iam(iam) = d.message else {
            panic!()
        };
        assert!(gateway_from_iam(from, &iam).is_none());
    }
}
