//! The common setup failures and their fixes, in one place: `lumi doctor` prints them after
//! a failed check, the bridge's dashboard shows them next to the gateway (or the missing
//! gateway) they concern. The wording follows what users ran into
//! (`shared/reference/user-needs.md`: multicast not arriving, wrong interface, LAN protocol
//! off, invalid password).

use serde::Serialize;

/// Multicast (heartbeats, reports, `iam`) does not reach this host.
pub const FIX_MULTICAST: &str = "multicast from the gateway does not reach this host: put lumi on \
the same network and interface as the gateway (--interface), let the router/switch/Wi-Fi access \
point pass multicast (disable IGMP snooping or enable an IGMP querier; some mesh systems and \
routers drop it), run Docker with --network host, and keep the gateway on the same VLAN";

/// The gateway's LAN protocol ("developer mode") is off, or the gateway has none.
pub const FIX_LAN_OFF: &str = "enable the gateway's LAN protocol (Mi Home app: gateway > About > \
tap the version until developer options appear > LAN communication protocol), or set a LAN key \
over miIO with `lumi miio enable-lan IP --token T`; newer gateways (mgl03, aqhm01, mieu01) have \
no LAN API";

/// The gateway refused the write key.
pub const FIX_PASSWORD: &str = "the password is the 16-character LAN key shown by the Mi Home \
app (gateway > About > LAN communication protocol; copy it exactly, case matters) or set with \
`lumi miio enable-lan`; give it with --password, LUMI_PASSWORD or lumi.toml ([[gateway]] \
password for several gateways)";

/// lumi listens on another interface than the one facing the gateway.
pub const FIX_INTERFACE: &str = "lumi listens on one interface only: choose the one on the \
gateway's network with --interface NAME|IP (or `interface = \"eth0\"` in lumi.toml); on hosts \
with Docker bridges, VPNs or several networks `auto` may pick the wrong one (`lumi doctor` \
checks each)";

/// The interface lumi listens on went away (Wi-Fi reconnecting, a cable, a VPN or a Docker
/// network restarting).
pub const FIX_INTERFACE_DOWN: &str = "check the host's network connection (`ip addr`); if the \
interface now has another name or address, give the new one with --interface (or `auto`)";

/// A gateway is known (configured or discovered) but no password is configured for it.
pub const FIX_NO_PASSWORD: &str = "writes (switching, light, sound, pairing) need the gateway's \
16-character LAN password: set `password` in lumi.toml (or `[[gateway]] password` for this \
gateway), or --password / LUMI_PASSWORD";

/// One setup problem found from what the client saw, with its fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A stable identifier: `no_gateway`, `wrong_interface`, `no_multicast`,
    /// `gateway_offline`, `no_password`, `invalid_key` (and, from the bridge,
    /// `interface_down`).
    pub id: &'static str,
    /// The gateway it concerns (`None`: the setup as a whole).
    pub gateway: Option<String>,
    /// What is wrong, in a sentence.
    pub message: String,
    /// What to do.
    pub fix: &'static str,
}

/// What the client saw of one gateway, for [`problems`].
#[derive(Debug, Clone, Default)]
pub struct GatewaySeen {
    /// Its sid.
    pub sid: String,
    /// Its address.
    pub addr: String,
    /// Whether it is online (heartbeats arrive).
    pub online: bool,
    /// Whether any heartbeat was ever seen.
    pub heartbeat_seen: bool,
    /// Whether a password is configured for it.
    pub has_password: bool,
    /// Whether its last write failed with "Invalid key".
    pub invalid_key: bool,
}

/// The problems with a setup: `interface` is the multicast interface, `searching` whether
/// discovery is still in its first window (no "no gateway" verdict yet).
pub fn problems(interface: &str, searching: bool, gateways: &[GatewaySeen]) -> Vec<Problem> {
    let mut out = Vec::new();
    if gateways.is_empty() && !searching {
        out.push(Problem {
            id: "no_gateway",
            gateway: None,
            message: format!(
                "no gateway answered whois on interface {interface}: the LAN protocol may be off, \
                 lumi may listen on the wrong interface, or multicast does not reach this host"
            ),
            fix: FIX_LAN_OFF,
        });
        out.push(Problem {
            id: "wrong_interface",
            gateway: None,
            message: format!("lumi listens for gateways on {interface} only"),
            fix: FIX_INTERFACE,
        });
    }
    for g in gateways {
        if !g.heartbeat_seen {
            out.push(Problem {
                id: "no_multicast",
                gateway: Some(g.sid.clone()),
                message: format!(
                    "gateway {} ({}) answers, but none of its heartbeats arrived on {interface}: \
                     reports will not arrive either",
                    g.sid, g.addr
                ),
                fix: FIX_MULTICAST,
            });
        } else if !g.online {
            out.push(Problem {
                id: "gateway_offline",
                gateway: Some(g.sid.clone()),
                message: format!(
                    "gateway {} ({}) stopped sending heartbeats: it is off, rebooting, has a new \
                     address, or multicast stopped reaching this host",
                    g.sid, g.addr
                ),
                fix: FIX_MULTICAST,
            });
        }
        if g.invalid_key {
            out.push(Problem {
                id: "invalid_key",
                gateway: Some(g.sid.clone()),
                message: format!(
                    "gateway {} refused a write (Invalid key): its password is wrong",
                    g.sid
                ),
                fix: FIX_PASSWORD,
            });
        } else if !g.has_password {
            out.push(Problem {
                id: "no_password",
                gateway: Some(g.sid.clone()),
                message: format!("no password is configured for gateway {}", g.sid),
                fix: FIX_NO_PASSWORD,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw(
        online: bool,
        heartbeat_seen: bool,
        has_password: bool,
        invalid_key: bool,
    ) -> GatewaySeen {
        GatewaySeen {
            sid: "7811dcb06970".into(),
            addr: "192.168.1.20:9898".into(),
            online,
            heartbeat_seen,
            has_password,
            invalid_key,
        }
    }

    fn ids(p: &[Problem]) -> Vec<&'static str> {
        p.iter().map(|p| p.id).collect()
    }

    #[test]
    fn a_healthy_gateway_has_no_problem() {
        assert!(problems("eth0", false, &[gw(true, true, true, false)]).is_empty());
    }

    #[test]
    fn no_gateway_is_a_problem_only_after_the_first_search() {
        assert!(problems("eth0", true, &[]).is_empty());
        let p = problems("eth0", false, &[]);
        assert_eq!(ids(&p), ["no_gateway", "wrong_interface"]);
        assert!(p[0].message.contains("eth0"), "{}", p[0].message);
        assert_eq!(p[0].fix, FIX_LAN_OFF);
    }

    #[test]
    fn each_gateway_problem_comes_with_its_fix() {
        let p = problems("eth0", false, &[gw(false, false, false, false)]);
        assert_eq!(ids(&p), ["no_multicast", "no_password"]);
        assert_eq!(p[0].fix, FIX_MULTICAST);
        assert_eq!(p[0].gateway.as_deref(), Some("7811dcb06970"));
        let p = problems("eth0", false, &[gw(false, true, true, true)]);
        assert_eq!(ids(&p), ["gateway_offline", "invalid_key"]);
        assert_eq!(p[1].fix, FIX_PASSWORD);
    }
}
