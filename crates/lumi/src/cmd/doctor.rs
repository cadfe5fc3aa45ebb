//! `lumi doctor`: diagnoses a setup and says what to fix.
//!
//! For each interface checked (the configured one, else every IPv4 interface that is not
//! loopback): does a `whois` get `iam` answers, does multicast from the gateways (heartbeats,
//! reports) arrive, does each gateway answer unicast (`get_id_list`), and does the password
//! work (a harmless write: the gateway's light set to the value it already has). Each check
//! is `ok`, `warn`, `fail` or `skip`, with the fix for the common failures of
//! `user-needs.md`: multicast not arriving, wrong interface, LAN protocol off, invalid
//! password. Exit 1 when any check fails.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::Args;
use lumi_client::discovery::{self, FoundGateway};
use lumi_client::gateway::{Client, ClientConfig, ClientError, Passwords, StaticGateway};
use lumi_client::net::{self, InterfaceSpec, NetConfig};
use lumi_proto::lan::{self, Message, Props, Sid};
use serde::Serialize;

use super::lan as lancmd;
use crate::cli::Global;
use crate::exit::bad_input;
use crate::settings::{self, Settings};

#[derive(Debug, Args)]
#[command(after_help = "\
Checks, per interface: whois answered (iam), multicast heartbeats/reports arriving, each
gateway answering unicast, the password accepted by a harmless write (the light set to its
current value). Without --interface every IPv4 interface except loopback is checked (this
sends a whois on each). Exit 1 when a check fails.

Examples:
  lumi doctor
  lumi doctor --interface eth0 --password 0987654321qwerty
  lumi doctor --gateway 192.168.1.20 --listen 30s --json")]
pub struct DoctorArgs {
    /// How long to listen for `iam` answers and multicast heartbeats (gateways heartbeat
    /// every 10 s).
    #[arg(long, value_name = "DURATION", default_value = "12s")]
    pub listen: String,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    status: Status,
    /// The interface or gateway it is about.
    subject: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

struct Report {
    json: bool,
    checks: Vec<Check>,
}

impl Report {
    fn add(
        &mut self,
        check: &'static str,
        status: Status,
        subject: String,
        message: String,
        fix: Option<String>,
    ) {
        let c = Check {
            check,
            status,
            subject,
            message,
            fix,
        };
        if self.json {
            super::out(&serde_json::to_string(&c).unwrap_or_default());
        } else {
            let tag = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            super::out(&format!("  {tag}  {}: {}", c.subject, c.message));
            if let Some(f) = &c.fix {
                super::out(&format!("        fix: {f}"));
            }
        }
        self.checks.push(c);
    }

    fn heading(&self, text: &str) {
        if !self.json {
            super::out(text);
        }
    }
}

use lumi_client::diagnosis::{FIX_INTERFACE, FIX_LAN_OFF, FIX_MULTICAST, FIX_PASSWORD};

pub fn run(args: DoctorArgs, g: &Global) -> anyhow::Result<()> {
    let listen =
        settings::parse_duration(&args.listen).map_err(|e| bad_input(format!("--listen: {e}")))?;
    let settings = settings::resolve(g)?;
    let mut report = Report {
        json: settings.json,
        checks: Vec::new(),
    };
    let targets = interfaces(&settings, &mut report)?;
    lancmd::runtime()?.block_on(async {
        for (name, ip) in targets {
            check_interface(&settings, &name, ip, listen, &mut report).await;
        }
    });
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    let warned = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Warn)
        .count();
    if !report.json {
        super::out(&match (failed, warned) {
            (0, 0) => "all checks passed".to_owned(),
            (0, w) => format!("no failures, {w} warning(s)"),
            (f, w) => format!("{f} check(s) failed, {w} warning(s): see the fixes above"),
        });
    }
    if failed > 0 {
        return Err(anyhow::anyhow!("{failed} doctor check(s) failed"));
    }
    Ok(())
}

/// The interfaces to check, each reported.
fn interfaces(settings: &Settings, report: &mut Report) -> anyhow::Result<Vec<(String, Ipv4Addr)>> {
    let all = net::interfaces()?;
    report.heading("interfaces");
    let chosen: Vec<(String, Ipv4Addr)> = match settings.interface.as_deref() {
        Some(spec) => {
            let spec: InterfaceSpec = spec
                .parse()
                .map_err(|e| bad_input(format!("--interface: {e}")))?;
            let toward = settings
                .gateways
                .iter()
                .find_map(|e| match e.addr.map(|a| a.ip()) {
                    Some(IpAddr::V4(ip)) => Some(ip),
                    _ => None,
                });
            match net::resolve_interface(&spec, toward) {
                Ok(ip) => {
                    let name = all
                        .iter()
                        .find(|i| i.ipv4.iter().any(|a| a.ip == ip))
                        .map_or_else(|| ip.to_string(), |i| i.name.clone());
                    vec![(name, ip)]
                }
                Err(e) => {
                    report.add(
                        "interface",
                        Status::Fail,
                        spec.to_string(),
                        e.to_string(),
                        Some("name an interface this host has (`ip addr` lists them), or one of its IPv4 addresses".into()),
                    );
                    return Ok(Vec::new());
                }
            }
        }
        None => all
            .iter()
            .filter(|i| !i.loopback)
            .filter_map(|i| i.ipv4.first().map(|a| (i.name.clone(), a.ip)))
            .collect(),
    };
    for i in &all {
        let addrs: Vec<String> = i
            .ipv4
            .iter()
            .map(|a| format!("{}/{}", a.ip, a.prefix_len))
            .collect();
        let checked = chosen.iter().any(|(n, _)| *n == i.name);
        let status = if checked { Status::Ok } else { Status::Skip };
        let msg = if addrs.is_empty() {
            "no IPv4 address".to_owned()
        } else if checked {
            format!("{} (checked)", addrs.join(" "))
        } else {
            format!("{} (not checked)", addrs.join(" "))
        };
        report.add("interface", status, i.name.clone(), msg, None);
    }
    // Gateways configured by address on another subnet than the checked interfaces.
    for e in &settings.gateways {
        if let Some(SocketAddr::V4(a)) = e.addr
            && !all
                .iter()
                .any(|i| chosen.iter().any(|(n, _)| *n == i.name) && i.same_subnet(*a.ip()))
            && !a.ip().is_loopback()
        {
            report.add(
                "interface",
                Status::Warn,
                a.ip().to_string(),
                "this gateway is not on the subnet of any checked interface".into(),
                Some(
                    "choose the interface facing it with --interface (or --interface auto)".into(),
                ),
            );
        }
    }
    if chosen.is_empty() && settings.interface.is_none() {
        report.add(
            "interface",
            Status::Fail,
            "this host".into(),
            "no IPv4 interface other than loopback".into(),
            Some(
                "connect this host to the gateway's network, or name an interface with --interface"
                    .into(),
            ),
        );
    }
    Ok(chosen)
}

/// What arrived on the report socket during the listen window: datagrams per source IP.
async fn listen_multicast(
    net: &NetConfig,
    window: Duration,
) -> Result<BTreeMap<IpAddr, (u32, u32)>, std::io::Error> {
    let sock = net::report_socket(net)?;
    let deadline = tokio::time::Instant::now() + window;
    let mut seen: BTreeMap<IpAddr, (u32, u32)> = BTreeMap::new();
    let mut buf = vec![0u8; lan::MAX_DATAGRAM + 1];
    while let Ok(r) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await {
        let Ok((n, from)) = r else { continue };
        let Some(Ok(d)) = buf.get(..n).map(lan::decode) else {
            continue;
        };
        let e = seen.entry(from.ip()).or_default();
        match d.message {
            Message::Heartbeat(_) => e.0 += 1,
            Message::Report(_) => e.1 += 1,
            _ => {}
        }
    }
    Ok(seen)
}

async fn check_interface(
    settings: &Settings,
    name: &str,
    ip: Ipv4Addr,
    window: Duration,
    report: &mut Report,
) {
    report.heading(&format!("on {name} ({ip})"));
    let net = NetConfig {
        discovery_port: settings.discovery_port,
        report_port: settings.report_port,
        ..NetConfig::new(ip)
    };
    let subject = format!("{name} {ip}");
    let (found, heard) = tokio::join!(
        discovery::discover(&net, window),
        listen_multicast(&net, window)
    );
    let found: Vec<FoundGateway> = match found {
        Ok(f) => f,
        Err(e) => {
            report.add("whois", Status::Fail, subject, e.to_string(), None);
            return;
        }
    };
    let heard = match heard {
        Ok(h) => h,
        Err(e) => {
            report.add(
                "multicast",
                Status::Fail,
                subject.clone(),
                format!("cannot listen on {}:{}: {e}", net.group, net.report_port),
                Some("another program may hold the port without SO_REUSEPORT; stop it or run lumi beside it".into()),
            );
            BTreeMap::new()
        }
    };
    if found.is_empty() {
        report.add(
            "whois",
            Status::Warn,
            subject.clone(),
            format!("no gateway answered whois within {}", secs(window)),
            Some(format!(
                "{FIX_LAN_OFF}; or {FIX_INTERFACE}; or {FIX_MULTICAST}"
            )),
        );
    } else {
        let list: Vec<String> = found
            .iter()
            .map(|g| {
                format!(
                    "{} at {} ({})",
                    g.sid,
                    g.addr,
                    lancmd::text(g.model.as_deref())
                )
            })
            .collect();
        report.add(
            "whois",
            Status::Ok,
            subject.clone(),
            format!("answered by {}", list.join(", ")),
            None,
        );
    }

    // Every gateway: found by whois or configured by address.
    let mut gateways: Vec<(Option<Sid>, SocketAddr)> = found
        .iter()
        .map(|g| (Some(g.sid.clone()), g.addr))
        .collect();
    for e in &settings.gateways {
        if let Some(a) = e.addr
            && !gateways.iter().any(|(_, x)| x.ip() == a.ip())
        {
            gateways.push((e.sid.clone(), a));
        }
    }
    for (sid, addr) in gateways {
        check_gateway(settings, &net, sid, addr, window, &heard, report).await;
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

async fn check_gateway(
    settings: &Settings,
    net: &NetConfig,
    sid: Option<Sid>,
    addr: SocketAddr,
    window: Duration,
    heard: &BTreeMap<IpAddr, (u32, u32)>,
    report: &mut Report,
) {
    let subject = match &sid {
        Some(s) => format!("gateway {s} ({addr})"),
        None => format!("gateway {addr}"),
    };
    // Multicast from this gateway.
    match heard.get(&addr.ip()) {
        Some((hb, rep)) if hb + rep > 0 => report.add(
            "multicast",
            Status::Ok,
            subject.clone(),
            format!("{hb} heartbeat(s) and {rep} report(s) arrived by multicast"),
            None,
        ),
        _ => report.add(
            "multicast",
            if window >= Duration::from_secs(11) { Status::Fail } else { Status::Warn },
            subject.clone(),
            format!(
                "no heartbeat or report arrived by multicast within {} (gateways heartbeat every 10 s)",
                secs(window)
            ),
            Some(FIX_MULTICAST.into()),
        ),
    }
    // Unicast.
    let probed = match discovery::probe(net, addr, settings.timeout).await {
        Ok(p) => {
            report.add(
                "unicast",
                Status::Ok,
                subject.clone(),
                format!(
                    "answers get_id_list: {} sub-device(s), protocol {}",
                    p.devices.len(),
                    p.gateway.version.map_or("?".to_owned(), |v| v.to_string())
                ),
                None,
            );
            p
        }
        Err(e) => {
            report.add(
                "unicast",
                Status::Fail,
                subject,
                e.to_string(),
                Some(FIX_LAN_OFF.into()),
            );
            return;
        }
    };
    let sid = probed.gateway.sid.clone();
    // The password, by a harmless write.
    let Some(password) = settings.password_for(Some(&sid), Some(addr.ip())).cloned() else {
        report.add(
            "password",
            Status::Skip,
            subject,
            "no password given, so writes were not checked".into(),
            Some(
                "give the LAN password with --password, LUMI_PASSWORD or lumi.toml to check it"
                    .into(),
            ),
        );
        return;
    };
    let mut cfg = ClientConfig::new(*net);
    cfg.discover = false;
    cfg.listen = false;
    cfg.load_devices = false;
    cfg.request_timeout = settings.timeout;
    cfg.gateways = vec![StaticGateway {
        addr,
        sid: Some(sid.clone()),
        version: probed.gateway.version,
    }];
    cfg.passwords = Passwords::new().with_sid(sid.clone(), password);
    let client = match Client::start(cfg) {
        Ok(c) => c,
        Err(e) => {
            report.add("password", Status::Fail, subject, e.to_string(), None);
            return;
        }
    };
    let outcome = harmless_write(&client, &sid).await;
    client.shutdown().await;
    match outcome {
        Ok(Some(what)) => report.add(
            "password",
            Status::Ok,
            subject,
            format!("accepted: a harmless write ({what}) succeeded"),
            None,
        ),
        Ok(None) => report.add(
            "password",
            Status::Skip,
            subject,
            "the gateway has no light value to re-write harmlessly; the password was not checked"
                .into(),
            None,
        ),
        Err(ClientError::InvalidKey { .. }) => report.add(
            "password",
            Status::Fail,
            subject,
            "the gateway refused the write key (Invalid key): the password is wrong".into(),
            Some(FIX_PASSWORD.into()),
        ),
        Err(e) => report.add("password", Status::Fail, subject, e.to_string(), None),
    }
}

/// Reads the gateway's light and writes the same value back; `None` when it has none.
async fn harmless_write(client: &Client, gateway: &Sid) -> Result<Option<String>, ClientError> {
    client.ready().await?;
    let data = client.read(gateway).await?;
    let Some(rgb) = data.props.get("rgb").cloned() else {
        return Ok(None);
    };
    let what = format!("rgb={rgb}");
    client.write(gateway, Props::new().with("rgb", rgb)).await?;
    Ok(Some(what))
}
