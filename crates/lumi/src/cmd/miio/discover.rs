//! `lumi miio discover`: who answers the miIO hello.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use clap::Args;
use lumi_client::miio::{DiscoverOptions, Discovered, broadcast_address, discover};
use lumi_proto::miio::HelloToken;
use serde_json::json;

use super::{bind_address, device_addr, timeout};
use crate::cli::Global;
use crate::exit::bad_input;

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// A device to ask (IP or IP:PORT); may be given several times.
    #[arg(long = "target", value_name = "IP")]
    pub targets: Vec<String>,
    /// Also ask every device on the network of --interface: the hello goes to that network's
    /// broadcast address (from the routing table), or to the address given here.
    #[arg(long, value_name = "ADDR", num_args = 0..=1)]
    pub broadcast: Option<Option<Ipv4Addr>>,
    /// The miIO port of targets given without one, and of the broadcast; change only for
    /// simulators.
    #[arg(long, default_value_t = lumi_proto::miio::PORT)]
    pub port: u16,
}

pub async fn run(args: DiscoverArgs, g: &Global) -> anyhow::Result<()> {
    let targets = args
        .targets
        .iter()
        .map(|t| device_addr(t, args.port).map_err(|e| bad_input(format!("--target: {e}"))))
        .collect::<anyhow::Result<Vec<SocketAddr>>>()?;
    let bind = bind_address(g)?;
    let broadcast = match args.broadcast {
        None => None,
        Some(given) => Some(broadcast_target(given, bind, args.port)?),
    };
    if targets.is_empty() && broadcast.is_none() {
        return Err(bad_input(
            "nothing to ask: give --target IP (once per device), or --broadcast with \
             --interface IP",
        ));
    }
    let wait = timeout(g, Duration::from_secs(3))?;
    let opts = DiscoverOptions {
        targets: targets.clone(),
        broadcast,
        bind,
        timeout: wait,
    };
    let found = discover(&opts).await?;
    if found.is_empty() {
        let mut asked: Vec<String> = targets.iter().map(ToString::to_string).collect();
        asked.extend(broadcast.map(|b| format!("broadcast {b}")));
        anyhow::bail!(
            "no miio device answered the hello within {wait:?} (asked {}); check the \
             addresses and --port, that the devices are powered and on this network, and that \
             no firewall blocks udp 54321",
            asked.join(", ")
        );
    }
    if g.json {
        for d in &found {
            super::super::out(&line(d).to_string());
        }
    } else {
        super::super::out(&format!(
            "{:<24} {:>10} {:>10}  TOKEN",
            "ADDRESS", "DEVICE ID", "STAMP"
        ));
        for d in &found {
            let token = match d.token {
                HelloToken::Revealed(t) => t.expose_hex(),
                HelloToken::HiddenOnes => "hidden (provisioned)".into(),
                HelloToken::HiddenZeros => "hidden (provisioned, 00)".into(),
            };
            super::super::out(&format!(
                "{:<24} {:>10} {:>10}  {token}",
                d.addr.to_string(),
                d.device_id,
                d.stamp
            ));
        }
    }
    Ok(())
}

/// One JSON line per device; the token only when the device revealed it.
fn line(d: &Discovered) -> serde_json::Value {
    json!({
        "addr": d.addr.to_string(),
        "ip": d.addr.ip().to_string(),
        "port": d.addr.port(),
        "device_id": d.device_id.get(),
        "stamp": d.stamp,
        "provisioned": d.revealed_token().is_none(),
        "token": d.revealed_token().map(|t| t.expose_hex()),
    })
}

fn broadcast_target(
    given: Option<Ipv4Addr>,
    bind: Option<IpAddr>,
    port: u16,
) -> anyhow::Result<SocketAddrV4> {
    let Some(IpAddr::V4(interface)) = bind else {
        return Err(bad_input(
            "--broadcast needs --interface with the IPv4 address of the interface facing the \
             devices (e.g. --interface 192.168.1.5): lumi broadcasts only where you say",
        ));
    };
    let addr = match given {
        Some(a) => a,
        None => broadcast_address(interface).ok_or_else(|| {
            bad_input(format!(
                "--broadcast: no directly connected network of {interface} in the routing \
                 table; give the broadcast address: --broadcast 192.168.1.255"
            ))
        })?,
    };
    Ok(SocketAddrV4::new(addr, port))
}
