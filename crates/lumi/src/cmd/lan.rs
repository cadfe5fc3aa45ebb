//! What the LAN commands (`discover`, `devices`, `listen`, `read`, `write`) share: the global
//! options and lumi.toml turned into a running `lumi_client` client, error mapping to exit
//! codes, and human-readable formatting of typed values.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lumi_client::gateway::{Client, ClientConfig, ClientError, Events, Passwords};
use lumi_client::net::{self, InterfaceSpec, NetConfig, NetError};
use lumi_proto::catalogue::{DeviceState, TypedValue};
use lumi_proto::lan::Sid;
use lumi_proto::sanitize;

use crate::cli::Global;
use crate::exit::bad_input;
use crate::settings::{self, Settings};

/// What a command needs from the client.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// Listen for multicast reports and heartbeats.
    pub listen: bool,
    /// Read every gateway's device list and devices.
    pub devices: bool,
}

/// The resolved settings and the network they point at.
pub struct Lan {
    pub settings: Settings,
    pub net: NetConfig,
}

/// A single-threaded runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Reads the settings and resolves the interface: `--interface` / lumi.toml `interface`; when
/// neither names one, `auto` (the interface facing the first configured gateway, else the one
/// the system routes multicast through). Nothing is sent to find it.
pub fn resolve(g: &Global) -> anyhow::Result<Lan> {
    let settings = settings::resolve(g)?;
    let spec = match settings.interface.as_deref() {
        None => InterfaceSpec::Auto,
        Some(s) => s
            .parse::<InterfaceSpec>()
            .map_err(|e| bad_input(format!("--interface: {e}")))?,
    };
    let toward = settings
        .gateways
        .iter()
        .filter_map(|e| e.addr)
        .find_map(|a| match a.ip() {
            IpAddr::V4(ip) => Some(ip),
            IpAddr::V6(_) => None,
        });
    let interface = net::resolve_interface(&spec, toward).map_err(|e| match e {
        NetError::NoRoute { .. } | NetError::List(_) => anyhow::Error::new(e),
        other => bad_input(format!("--interface: {other}")),
    })?;
    if spec == InterfaceSpec::Auto {
        tracing::info!(%interface, "interface auto: using {interface}");
    }
    let net = NetConfig {
        interface,
        discovery_port: settings.discovery_port,
        report_port: settings.report_port,
        ..NetConfig::new(interface)
    };
    Ok(Lan { settings, net })
}

impl Lan {
    /// The client configuration: static gateways, passwords, timeouts from the settings.
    pub fn config(&self, needs: Needs) -> ClientConfig {
        let s = &self.settings;
        let mut c = ClientConfig::new(self.net);
        c.discovery_window = s.timeout;
        c.request_timeout = s.timeout;
        c.listen = needs.listen;
        c.load_devices = needs.devices;
        if let Some(p) = &s.password {
            c.passwords = Passwords::new().with_default(p.clone());
        }
        for e in &s.gateways {
            c.add_gateway(e.sid.as_ref(), e.addr, e.password.as_ref(), e.protocol);
        }
        c
    }

    /// Starts a client with a subscription from the very start.
    pub fn start(&self, needs: Needs) -> anyhow::Result<(Client, Events)> {
        Client::start_subscribed(self.config(needs)).map_err(client_error)
    }

    /// [`Lan::start`] for commands that only like to see reports: if the multicast listener
    /// cannot be opened (another program holds the port exclusively), go on without it.
    pub fn start_listening_if_possible(&self, needs: Needs) -> anyhow::Result<(Client, Events)> {
        match Client::start_subscribed(self.config(needs)) {
            Err(ClientError::Socket { what, source, .. }) if what.starts_with("report") => {
                tracing::warn!("no multicast listener ({source}); reports will not be shown");
                self.start(Needs {
                    listen: false,
                    ..needs
                })
            }
            r => r.map_err(client_error),
        }
    }

    /// "no gateway answered" with what to check.
    pub fn nobody(&self) -> anyhow::Error {
        anyhow::anyhow!(
            "no gateway answered within {:?} on interface {} (whois to {}:{}); check that the \
             gateways are on this network and have the LAN protocol enabled, that --interface \
             names the interface facing them, that routers and switches pass multicast (IGMP \
             snooping), or name a gateway with --gateway IP",
            self.settings.timeout,
            self.net.interface,
            self.net.group,
            self.net.discovery_port
        )
    }
}

/// Maps a client error to the exit codes: bad arguments 2, everything else 1.
pub fn client_error(e: ClientError) -> anyhow::Error {
    match &e {
        ClientError::UnknownDevice { gateways, .. } if *gateways > 0 => bad_input(e.to_string()),
        ClientError::Write { .. }
        | ClientError::NoPassword { .. }
        | ClientError::NoChannel { .. }
        | ClientError::UnknownModel { .. } => bad_input(e.to_string()),
        ClientError::Interface(
            NetError::BadSpec { .. }
            | NetError::NoSuchInterface { .. }
            | NetError::NoIpv4 { .. }
            | NetError::NotLocal { .. },
        ) => bad_input(e.to_string()),
        _ => anyhow::Error::new(e),
    }
}

/// Parses a sid argument (exit 2 when it is not one).
pub fn parse_sid(s: &str) -> anyhow::Result<Sid> {
    settings::parse_sid(s).map_err(bad_input)
}

/// A typed value for people: `true`, `21.5 °C`, `#ff0000`, `unknown`.
pub fn value_text(v: &TypedValue, unit: Option<&str>) -> String {
    let text = match v {
        TypedValue::Null => return "unknown".into(),
        TypedValue::Bool(b) => b.to_string(),
        TypedValue::Int(i) => i.to_string(),
        TypedValue::Float(f) => format!("{f}"),
        TypedValue::Text(t) => sanitize::for_terminal(t).into_owned(),
        TypedValue::Color(c) => format!("#{:02x}{:02x}{:02x}", c.r, c.g, c.b),
    };
    match unit {
        Some("%") => format!("{text}%"),
        Some(u) => format!("{text} {u}"),
        None => text,
    }
}

/// `contact=true temperature=21.5 °C` (typed values), then raw leftovers as `key=json`.
pub fn state_text(state: &DeviceState) -> String {
    let mut parts: Vec<String> = state
        .readings
        .iter()
        .map(|r| {
            let unit = state
                .device
                .and_then(|d| d.property(r.property))
                .and_then(|p| p.unit);
            format!("{}={}", r.property, value_text(&r.value, unit))
        })
        .collect();
    for (k, v) in state.raw.iter() {
        parts.push(format!(
            "{}={}",
            sanitize::for_terminal(k),
            sanitize::for_terminal(&v.to_string())
        ));
    }
    parts.join(" ")
}

/// `12:34:56.789` (UTC) for a time.
pub fn clock(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let s = d.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_millis()
    )
}

/// Seconds since the epoch, for JSON lines.
pub fn unix_time(t: SystemTime) -> f64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_millis() as f64) / 1000.0
}

/// `3 s ago`, `12 min ago`, `-`.
pub fn ago(d: Option<Duration>) -> String {
    match d {
        None => "-".into(),
        Some(d) if d < Duration::from_secs(120) => format!("{} s ago", d.as_secs()),
        Some(d) if d < Duration::from_secs(7200) => format!("{} min ago", d.as_secs() / 60),
        Some(d) => format!("{} h ago", d.as_secs() / 3600),
    }
}

/// Prints rows as aligned columns (every cell already sanitised); false when stdout is gone.
pub fn print_table(rows: &[Vec<String>]) -> bool {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                let pad = widths.get(c).copied().unwrap_or(0);
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad - cell.chars().count() + 2));
            }
        }
        if !super::out(line.trim_end()) {
            return false;
        }
    }
    true
}

/// Sanitised network text (a model, an error string), or `-`.
pub fn text(s: Option<&str>) -> String {
    s.map_or_else(|| "-".into(), |s| sanitize::truncated(s, 40))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_for_people() {
        assert_eq!(value_text(&TypedValue::Float(21.5), Some("°C")), "21.5 °C");
        assert_eq!(value_text(&TypedValue::Int(41), Some("%")), "41%");
        assert_eq!(value_text(&TypedValue::Null, Some("%")), "unknown");
        assert_eq!(
            value_text(&TypedValue::text("a\u{1b}[2J"), None),
            "a\\u{1b}[2J"
        );
        assert_eq!(
            clock(UNIX_EPOCH + Duration::from_millis(3_723_004)),
            "01:02:03.004"
        );
        assert_eq!(ago(Some(Duration::from_secs(3))), "3 s ago");
        assert_eq!(ago(None), "-");
    }
}
