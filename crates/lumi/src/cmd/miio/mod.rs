//! `lumi miio`: talk to miIO devices (Wi-Fi devices and the gateways themselves) on UDP 54321.
//!
//! One file per command; each defines its `Args` and `run`. To add a command: a file here,
//! a variant in [`MiioCommand`] and its arm in [`run`]. Shared here: the device arguments
//! ([`DeviceArgs`]), the timeout, the local address, and printing network values safely.

mod call;
mod discover;
mod enable_lan;
mod events;
mod gateway_devices;
mod info;
mod token;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::{Args, Subcommand};
use lumi_client::miio::gateway::{GatewayIdentity, MiioGateway};
use lumi_client::miio::{MiioDevice, MiioOptions};
use lumi_proto::miio::MiioToken;
use lumi_proto::sanitize;
use serde_json::Value;

use crate::cli::Global;
use crate::exit::bad_input;

/// `lumi miio ...`.
#[derive(Debug, Args)]
#[command(after_help = "\
Tokens: provisioned devices hide theirs. Get it from the Xiaomi cloud (`miiocli cloud list` \
from python-miio, or Xiaomi-cloud-tokens-extractor); a device reset to factory state \
reveals a new one to `lumi miio token IP` until it is set up again.

Examples:
  lumi miio discover --target 192.168.1.30 --target 192.168.1.31
  lumi miio discover --interface 192.168.1.5 --broadcast
  lumi miio info 192.168.1.30 --token 9c3b2d1da5beceee2808a3d3653b485d
  LUMI_MIIO_TOKEN=9c3b... lumi miio call 192.168.1.30 set_power '[\"on\"]'
  lumi miio call 192.168.1.20 get_device_prop '[\"lumi.0\",\"device_list\"]' --token ...")]
pub struct MiioArgs {
    #[command(subcommand)]
    pub command: MiioCommand,
}

#[derive(Debug, Subcommand)]
pub enum MiioCommand {
    /// Send the miIO hello to addresses (or the interface's broadcast address) and list the
    /// devices that answer: device id, stamp, and the token of unprovisioned devices.
    Discover(discover::DiscoverArgs),
    /// Print a device's `miIO.info`: model, firmware, MAC, network.
    Info(info::InfoArgs),
    /// Call a method on a device and print its result as JSON.
    Call(call::CallArgs),
    /// Print the token of an unprovisioned device (from its hello reply).
    Token(token::TokenArgs),
    /// List a gateway's sub-devices over miIO: sid, model, type id, firmware.
    GatewayDevices(gateway_devices::GatewayDevicesArgs),
    /// Enable the gateway's LAN API without the Mi Home app: read its LAN key (the password
    /// of `lumi write`/`set`), or set one (a random one when none is set, or --key).
    EnableLan(enable_lan::EnableLanArgs),
    /// Receive button, cube and sensor events pushed by the gateway: lumi poses as a miIO
    /// device on UDP 54321, registers scenes on the gateway, prints each event, and removes
    /// the scenes when it stops.
    Events(events::EventsArgs),
}

/// Runs `lumi miio <command>`.
pub fn run(args: MiioArgs, g: &Global) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match args.command {
        MiioCommand::Discover(a) => rt.block_on(discover::run(a, g)),
        MiioCommand::Info(a) => rt.block_on(info::run(a, g)),
        MiioCommand::Call(a) => rt.block_on(call::run(a, g)),
        MiioCommand::Token(a) => rt.block_on(token::run(a, g)),
        MiioCommand::GatewayDevices(a) => rt.block_on(gateway_devices::run(a, g)),
        MiioCommand::EnableLan(a) => rt.block_on(enable_lan::run(a, g)),
        MiioCommand::Events(a) => rt.block_on(events::run(a, g)),
    }
}

/// Arguments of the commands that talk to one device with its token.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// The device's IP address (or IP:PORT).
    #[arg(value_name = "IP")]
    pub ip: String,
    /// The device's miIO token (32 hex digits).
    #[arg(long, env = "LUMI_MIIO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The device's miIO port; change only for simulators.
    #[arg(long, default_value_t = lumi_proto::miio::PORT)]
    pub port: u16,
}

impl DeviceArgs {
    fn addr(&self) -> anyhow::Result<SocketAddr> {
        device_addr(&self.ip, self.port)
    }

    fn token(&self, g: &Global) -> anyhow::Result<MiioToken> {
        if self.token.is_none() {
            // A `[[gateway]]` entry of the config file with this IP and a `miio_token`.
            let settings = crate::settings::resolve(g)?;
            let ip = self.addr()?.ip();
            if let Some(t) = settings.gateway(None, Some(ip)).and_then(|e| e.miio_token) {
                return Ok(t);
            }
        }
        let Some(t) = self.token.as_deref() else {
            return Err(bad_input(
                "--token is required (or set LUMI_MIIO_TOKEN): the device's 32-hex-digit miIO \
                 token; `lumi miio token IP` reads it from an unprovisioned device, otherwise \
                 get it from the Xiaomi cloud (`miiocli cloud list`)",
            ));
        };
        t.parse().map_err(|e| bad_input(format!("--token: {e}")))
    }

    /// Connects to the device, with the global --timeout split over the attempts.
    async fn connect(&self, g: &Global) -> anyhow::Result<MiioDevice> {
        let addr = self.addr()?;
        let token = self.token(g)?;
        let opts = MiioOptions {
            bind: bind_address(g)?,
            ..MiioOptions::default()
        }
        .with_total_timeout(timeout(g, Duration::from_secs(6))?);
        Ok(MiioDevice::connect(addr, token, opts).await?)
    }

    /// Connects to a gateway over miIO.
    async fn gateway(&self, g: &Global) -> anyhow::Result<MiioGateway<MiioDevice>> {
        let token = self.token(g)?;
        let dev = self.connect(g).await?;
        let identity = GatewayIdentity {
            addr: dev.peer(),
            token,
            device_id: dev.device_id(),
        };
        Ok(MiioGateway::new(dev, identity))
    }
}

/// `IP` or `IP:PORT` (then `port` is ignored).
fn device_addr(s: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, port))
        .map_err(|_| {
            bad_input(format!(
                "IP {:?}: not an IP address (e.g. 192.168.1.30 or 192.168.1.30:54321)",
                sanitize::for_terminal(s)
            ))
        })
}

/// The global --timeout, or `default`.
fn timeout(g: &Global, default: Duration) -> anyhow::Result<Duration> {
    let Some(t) = g.timeout.as_deref() else {
        return Ok(default);
    };
    let d = crate::settings::parse_duration(t).map_err(|e| bad_input(format!("--timeout: {e}")))?;
    if d.is_zero() {
        return Err(bad_input("--timeout: must be more than 0 (e.g. 3s)"));
    }
    Ok(d)
}

/// The local address from the global --interface (an IP address), if given.
fn bind_address(g: &Global) -> anyhow::Result<Option<IpAddr>> {
    g.interface
        .as_deref()
        .map(|i| {
            i.parse::<IpAddr>().map_err(|_| {
                bad_input(format!(
                    "--interface {:?}: lumi miio needs the interface's IP address (e.g. \
                     192.168.1.5)",
                    sanitize::for_terminal(i)
                ))
            })
        })
        .transpose()
}

/// A JSON value with every string (and key) made safe for a terminal.
fn sanitized(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(sanitize::for_terminal(&s).into_owned()),
        Value::Array(a) => Value::Array(a.into_iter().map(sanitized).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (sanitize::for_terminal(&k).into_owned(), sanitized(v)))
                .collect(),
        ),
        other => other,
    }
}

/// A string from the network, safe for a terminal.
fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    sanitize::for_terminal(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn addresses_and_sanitising() {
        assert_eq!(
            device_addr("192.168.1.30", 54321).unwrap(),
            "192.168.1.30:54321".parse().unwrap()
        );
        assert_eq!(
            device_addr("127.0.0.3:4000", 54321).unwrap(),
            "127.0.0.3:4000".parse().unwrap()
        );
        let e = device_addr("plug\u{1b}[2J", 54321).unwrap_err();
        assert_eq!(crate::exit::code_for(&e), crate::exit::BAD_INPUT);
        assert!(!e.to_string().contains('\u{1b}'));
        let v = sanitized(json!({"k\u{1b}": ["a\u{9b}b", 1, {"x": "\u{202e}"}]}));
        let text = v.to_string();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{202e}'),
            "{text}"
        );
    }
}
