//! The bridge's configuration: `lumi.toml`, every setting with a default, validated with
//! errors that name the key and say what to do.
//!
//! The command-line tools read the same file for the keys they share (`interface`,
//! `password`, `timeout`, `[[gateway]]`); the bridge adds `[mqtt]`, `[bridge]`,
//! `[homeassistant]` and `[[device]]`. The file is found by the binary (`--config`,
//! `LUMI_CONFIG`, `~/.config/lumi/lumi.toml`); this module parses text or reads a path.
//!
//! ```toml
//! interface = "eth0"              # name, IPv4 address or "auto" (the one facing the gateway)
//! password = "0987654321qwerty"   # default LAN password of gateways without their own
//! timeout = "3s"                  # how long commands wait for a gateway
//!
//! [[gateway]]                     # any number; sid or ip (or both)
//! sid = "34ce0088db0b"
//! ip = "192.168.1.20"             # "ip" or "ip:port"
//! password = "0987654321qwerty"
//! protocol = "auto"               # auto, v1 or v2
//! miio_token = "1c1961595b889a1f42af6b16cf9a6b81"   # miIO control and push events
//!
//! [mqtt]
//! url = "mqtts://broker.lan:8883" # mqtt:// or mqtts://; leave out for the embedded broker,
//! # listen = "127.0.0.1:1883"     # which listens here (only without url)
//! client_id = "lumi"
//! username = "lumi"
//! password = "secret"
//! ca = "/etc/lumi/ca.pem"         # TLS (mqtts only): CA, client certificate and key
//! client_cert = "/etc/lumi/client.pem"
//! client_key = "/etc/lumi/client.key"
//! keepalive = "60s"
//! qos = 1
//! retain = true                   # retain device states (sleepy sensors cannot be polled)
//! persistent_session = true       # the broker keeps QoS 1 commands for us while we are away
//!
//! [bridge]
//! base_topic = "lumi"
//! legacy_topics = false           # also publish xiaomi/<model>/<sid>/<property> plain values
//! legacy_base_topic = "xiaomi"
//! availability = true             # per-device <base>/<name>/availability
//! motion_off_delay = "120s"       # motion sensors report "no motion" after this long
//!
//! [bridge.availability_timeout]   # offline after this long without a message
//! gateway = "65s"                 # gateways send a heartbeat every 10 s
//! mains = "25m"                   # plugs, wall switches: heartbeat every 10 min
//! battery = "150m"                # sensors: heartbeat about once an hour
//!
//! [homeassistant]
//! enabled = true
//! discovery_prefix = "homeassistant"
//! status_topic = "homeassistant/status"
//!
//! [web]                           # the dashboard and /metrics
//! enabled = true
//! listen = "127.0.0.1:8099"       # anything but loopback needs a token
//! token = "a-long-random-secret"  # asked for by the dashboard and /metrics when set
//!
//! [[device]]                      # per-device options, by sid
//! sid = "158d0001a2b3c4"
//! name = "kitchen/window"         # or friendly_name
//! retain = true
//! availability_timeout = "3h"
//! motion_off_delay = "60s"
//! homeassistant = true            # false: no discovery for this device
//! ```
//!
//! Errors name the key path: `mqtt.url`, `gateway[2].password` (gateways counted from 1, as
//! the command-line tools do), `device."158d0001a2b3c4".name`. Every problem of a file is
//! reported at once. Secrets (gateway passwords, miIO tokens, the MQTT password) never
//! appear in errors, in `Debug`, or in [`Config::print_config`].

mod file;
mod path;
mod print;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lumi_proto::catalogue::{Device, DeviceKind, PowerSource};
use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::{ProtoVersion, Sid};
use lumi_proto::miio::MiioToken;

use crate::name::FriendlyName;

/// The default MQTT base topic.
pub const DEFAULT_BASE_TOPIC: &str = "lumi";
/// The default base of the legacy plain-value topics.
pub const DEFAULT_LEGACY_BASE_TOPIC: &str = "xiaomi";
/// Home Assistant's default discovery prefix.
pub const DEFAULT_DISCOVERY_PREFIX: &str = "homeassistant";
/// Home Assistant's default birth/last-will topic.
pub const DEFAULT_STATUS_TOPIC: &str = "homeassistant/status";
/// Where the embedded broker listens by default.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1883));
/// The default MQTT client id.
pub const DEFAULT_CLIENT_ID: &str = "lumi";
/// The default MQTT keep-alive interval.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);
/// How long commands wait for a gateway by default (as the command-line tools).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Where the dashboard and `/metrics` listen by default.
pub const DEFAULT_WEB_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8099));
/// The shortest accepted `web.token`.
pub const MIN_WEB_TOKEN: usize = 16;
/// The gateway command port (`ip:9898`).
pub const COMMAND_PORT: u16 = 9898;

/// The effective configuration: the file's values, validated, with defaults filled in.
///
/// `Debug` shows no secret. Build one with [`Config::from_toml`], [`Config::load`] or
/// `Config::default()` (the same as an empty file).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The multicast interface as given (name, IPv4 address or `auto`); `None` = not given.
    pub interface: Option<String>,
    /// The default LAN password of gateways without their own.
    pub password: Option<GatewayPassword>,
    /// How long commands wait for a gateway.
    pub timeout: Duration,
    /// Gateways named in the file (possibly none: discovery finds them).
    pub gateways: Vec<GatewayConfig>,
    /// The MQTT connection.
    pub mqtt: MqttConfig,
    /// Topics, availability and timing of the bridge.
    pub bridge: BridgeConfig,
    /// Home Assistant discovery.
    pub homeassistant: HomeAssistantConfig,
    /// The web dashboard and `/metrics`.
    pub web: WebConfig,
    /// Per-device options.
    pub devices: Vec<DeviceConfig>,
}

/// The `[web]` table: the dashboard and the Prometheus `/metrics` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    /// Serve them at all.
    pub enabled: bool,
    /// Where (`127.0.0.1:8099`; any other than a loopback address needs `token`).
    pub listen: SocketAddr,
    /// The token the dashboard, its API and `/metrics` ask for (`Authorization: Bearer`,
    /// or once as `?token=` in the dashboard's address, which sets a cookie). Redacted in
    /// `Debug` and `--print-config`.
    pub token: Option<Secret>,
}

/// One `[[gateway]]` table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GatewayConfig {
    /// Its sid, if given.
    pub sid: Option<Sid>,
    /// Its command address, if given (port 9898 unless named).
    pub addr: Option<SocketAddr>,
    /// Its own LAN password.
    pub password: Option<GatewayPassword>,
    /// The protocol, when forced (`None` = detect).
    pub protocol: Option<ProtoVersion>,
    /// Its miIO token (miIO control, push events).
    pub miio_token: Option<MiioToken>,
}

/// The `[mqtt]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttConfig {
    /// Which broker to use.
    pub broker: Broker,
    /// The MQTT client id.
    pub client_id: String,
    /// User name, if the broker wants one.
    pub username: Option<String>,
    /// Password (redacted in `Debug`).
    pub password: Option<Secret>,
    /// TLS files (only with `mqtts://`).
    pub tls: TlsFiles,
    /// Keep-alive interval (whole seconds, 5 s to 65535 s).
    pub keepalive: Duration,
    /// QoS of the bridge's publications and subscriptions.
    pub qos: Qos,
    /// Whether device states are retained (a `[[device]]` may override it).
    pub retain: bool,
    /// Keep the MQTT session across disconnections (`clean_session = false`), so that QoS 1
    /// commands sent while the bridge is away are delivered when it is back.
    pub persistent_session: bool,
}

/// The broker the bridge talks to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Broker {
    /// No `mqtt.url`: the bridge runs its own broker, listening here.
    Embedded {
        /// The listening address (`127.0.0.1:1883` by default).
        listen: SocketAddr,
    },
    /// An external broker.
    External(MqttUrl),
}

/// A parsed `mqtt://` or `mqtts://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttUrl {
    /// `mqtts://`: TLS.
    pub tls: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port (1883 for mqtt, 8883 for mqtts unless given).
    pub port: u16,
}

impl fmt::Display for MqttUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

impl std::str::FromStr for MqttUrl {
    type Err = String;

    /// Parses `mqtt://host[:port]` or `mqtts://host[:port]` (the rules of `mqtt.url`).
    fn from_str(s: &str) -> Result<MqttUrl, String> {
        validate::mqtt_url(s)
    }
}

/// TLS files for `mqtts://`: a CA to trust (else the system's roots) and a client
/// certificate with its key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsFiles {
    /// CA certificate(s), PEM.
    pub ca: Option<PathBuf>,
    /// Client certificate, PEM (always with `client_key`).
    pub client_cert: Option<PathBuf>,
    /// Client private key, PEM.
    pub client_key: Option<PathBuf>,
}

/// MQTT quality of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Qos {
    /// 0: at most once.
    AtMostOnce,
    /// 1: at least once.
    AtLeastOnce,
    /// 2: exactly once.
    ExactlyOnce,
}

impl Qos {
    /// The QoS number.
    pub fn as_u8(self) -> u8 {
        match self {
            Qos::AtMostOnce => 0,
            Qos::AtLeastOnce => 1,
            Qos::ExactlyOnce => 2,
        }
    }

    /// The QoS of a number 0–2.
    pub fn from_u8(n: u8) -> Option<Qos> {
        match n {
            0 => Some(Qos::AtMostOnce),
            1 => Some(Qos::AtLeastOnce),
            2 => Some(Qos::ExactlyOnce),
            _ => None,
        }
    }
}

/// A secret text (the MQTT password): `Debug` and `Display` show `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret text, for the one place that must hand it on (the MQTT connect). Never
    /// log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The `[bridge]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeConfig {
    /// The base of every topic (`lumi`).
    pub base_topic: String,
    /// Also publish `<legacy_base_topic>/<model>/<sid>/<property>` plain values.
    pub legacy_topics: bool,
    /// The base of the legacy topics (`xiaomi`).
    pub legacy_base_topic: String,
    /// Publish per-device availability (`<base>/<name>/availability`).
    pub availability: bool,
    /// Default availability timeouts.
    pub availability_timeout: AvailabilityTimeouts,
    /// How long after the last motion a motion sensor reads "no motion" (v2 sensors never
    /// say so themselves; v1 ones say so after 120 s).
    pub motion_off_delay: Duration,
}

/// How long a device may stay silent before it is marked offline, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvailabilityTimeouts {
    /// Gateways (heartbeat every 10 s; the v2 documentation says offline after 65 s).
    pub gateway: Duration,
    /// Mains-powered sub-devices (heartbeat every 10 min).
    pub mains: Duration,
    /// Battery sub-devices (heartbeat about once an hour; Home Assistant waits 150 min).
    pub battery: Duration,
}

impl Default for AvailabilityTimeouts {
    fn default() -> Self {
        AvailabilityTimeouts {
            gateway: Duration::from_secs(65),
            mains: Duration::from_secs(25 * 60),
            battery: Duration::from_secs(150 * 60),
        }
    }
}

/// The `[homeassistant]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeAssistantConfig {
    /// Publish discovery configs.
    pub enabled: bool,
    /// The discovery prefix (`homeassistant`).
    pub discovery_prefix: String,
    /// Home Assistant's birth/last-will topic (`homeassistant/status`): on `online` the
    /// bridge publishes its state again.
    pub status_topic: String,
}

/// One `[[device]]` table: options for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// The device.
    pub sid: Sid,
    /// Its friendly name (else its sid).
    pub name: Option<FriendlyName>,
    /// Retain its state (else `mqtt.retain`).
    pub retain: Option<bool>,
    /// Offline after this long without a message (else by kind).
    pub availability_timeout: Option<Duration>,
    /// Motion off-delay (else `bridge.motion_off_delay`).
    pub motion_off_delay: Option<Duration>,
    /// Publish Home Assistant discovery for it (else `homeassistant.enabled`).
    pub homeassistant: Option<bool>,
}

/// One problem in a configuration: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path (`mqtt.url`, `gateway[2].password`, `device."158d…".name`).
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The text is not TOML (the message has the line and column).
    #[error("config is not valid TOML: {message}")]
    Syntax {
        /// toml's description, with a snippet of the line.
        message: String,
    },
    /// Keys with wrong or missing values: every problem found, each naming its key.
    #[error("{}", show_problems(problems))]
    Invalid {
        /// The problems, in file order.
        problems: Vec<Problem>,
    },
}

fn show_problems(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let mut s = format!("{} problems in the configuration:", many.len());
            for p in many {
                s.push_str("\n  ");
                s.push_str(&p.to_string());
            }
            s
        }
    }
}

impl ConfigError {
    /// A toml error about `text`, as lumi reports one: the key and line of a wrong value, or
    /// toml's message with its snippet for a syntax error — never the value of a secret key.
    /// For the other readers of `lumi.toml` (the command-line tools' settings).
    pub fn from_toml_error(text: &str, e: &toml::de::Error) -> ConfigError {
        serde_error(text, e)
    }

    /// The problems of an [`ConfigError::Invalid`] error (empty for the others).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems } => problems,
            _ => &[],
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            interface: None,
            password: None,
            timeout: DEFAULT_TIMEOUT,
            gateways: Vec::new(),
            mqtt: MqttConfig {
                broker: Broker::Embedded {
                    listen: DEFAULT_LISTEN,
                },
                client_id: DEFAULT_CLIENT_ID.to_owned(),
                username: None,
                password: None,
                tls: TlsFiles::default(),
                keepalive: DEFAULT_KEEPALIVE,
                qos: Qos::AtLeastOnce,
                retain: true,
                persistent_session: true,
            },
            bridge: BridgeConfig {
                base_topic: DEFAULT_BASE_TOPIC.to_owned(),
                legacy_topics: false,
                legacy_base_topic: DEFAULT_LEGACY_BASE_TOPIC.to_owned(),
                availability: true,
                availability_timeout: AvailabilityTimeouts::default(),
                motion_off_delay: Duration::from_secs(120),
            },
            homeassistant: HomeAssistantConfig {
                enabled: true,
                discovery_prefix: DEFAULT_DISCOVERY_PREFIX.to_owned(),
                status_topic: DEFAULT_STATUS_TOPIC.to_owned(),
            },
            web: WebConfig {
                enabled: true,
                listen: DEFAULT_WEB_LISTEN,
                token: None,
            },
            devices: Vec::new(),
        }
    }
}

impl Config {
    /// Parses and validates the text of a `lumi.toml`.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let file: file::File = toml::from_str(text).map_err(|e| serde_error(text, &e))?;
        validate::validate(file)
    }

    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text)
    }

    /// The effective configuration as TOML, defaults filled in and every secret replaced by
    /// `"<redacted>"` (for `lumi bridge --print-config`). Without secrets, parsing the output
    /// gives this configuration back.
    pub fn print_config(&self) -> String {
        print::print(self)
    }

    /// The options of a device, if it has a `[[device]]` table.
    pub fn device(&self, sid: &Sid) -> Option<&DeviceConfig> {
        self.devices.iter().find(|d| &d.sid == sid)
    }

    /// The friendly name of a device: the configured one, else its sid.
    pub fn friendly_name(&self, sid: &Sid) -> FriendlyName {
        self.device(sid)
            .and_then(|d| d.name.clone())
            .unwrap_or_else(|| FriendlyName::from_sid(sid))
    }

    /// The device whose configured name this is.
    pub fn sid_for_name(&self, name: &str) -> Option<&Sid> {
        self.devices
            .iter()
            .find(|d| d.name.as_ref().is_some_and(|n| n.as_str() == name))
            .map(|d| &d.sid)
    }

    /// Whether the state of a device is retained.
    pub fn retain(&self, sid: &Sid) -> bool {
        self.device(sid)
            .and_then(|d| d.retain)
            .unwrap_or(self.mqtt.retain)
    }

    /// How long a device may stay silent before it is offline: its own setting, else the
    /// default for gateways, mains or battery devices (an unknown model counts as battery,
    /// the most patient).
    pub fn availability_timeout(&self, sid: &Sid, device: Option<&Device>) -> Duration {
        if let Some(t) = self.device(sid).and_then(|d| d.availability_timeout) {
            return t;
        }
        let t = &self.bridge.availability_timeout;
        match device {
            Some(d) if matches!(d.kind, DeviceKind::Gateway | DeviceKind::AcPartner) => t.gateway,
            Some(d) if d.power == PowerSource::Mains => t.mains,
            _ => t.battery,
        }
    }

    /// The motion off-delay of a motion sensor.
    pub fn motion_off_delay(&self, sid: &Sid) -> Duration {
        self.device(sid)
            .and_then(|d| d.motion_off_delay)
            .unwrap_or(self.bridge.motion_off_delay)
    }

    /// Whether Home Assistant discovery is published for a device.
    pub fn homeassistant(&self, sid: &Sid) -> bool {
        self.homeassistant.enabled
            && self
                .device(sid)
                .and_then(|d| d.homeassistant)
                .unwrap_or(true)
    }

    /// The `[[gateway]]` entry matching a sid or an address.
    pub fn gateway(
        &self,
        sid: Option<&Sid>,
        ip: Option<std::net::IpAddr>,
    ) -> Option<&GatewayConfig> {
        self.gateways.iter().find(|g| {
            (sid.is_some() && g.sid.as_ref() == sid)
                || (ip.is_some() && g.addr.map(|a| a.ip()) == ip)
        })
    }

    /// The LAN password for a gateway: its own, else the default.
    pub fn password_for(
        &self,
        sid: Option<&Sid>,
        ip: Option<std::net::IpAddr>,
    ) -> Option<&GatewayPassword> {
        self.gateway(sid, ip)
            .and_then(|g| g.password.as_ref())
            .or(self.password.as_ref())
    }
}

/// A serde error from the file, with the key it is about.
fn serde_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let Some(span) = e.span() else {
        return syntax_error(e);
    };
    let Some(key) = path::at(text, span.start) else {
        // Not even the document parses: a syntax error, shown with toml's snippet.
        return syntax_error(e);
    };
    let line = text
        .get(..span.start)
        .map_or(1, |before| before.matches('\n').count() + 1);
    let last = key.rsplit('.').next().unwrap_or("");
    // A wrong value under a secret key may be the secret itself: describe it, never quote it.
    let secret = is_secret_key(last);
    let message = if secret {
        "must be a string".to_owned()
    } else {
        e.message().to_owned()
    };
    ConfigError::Invalid {
        problems: vec![Problem {
            key,
            message: format!("{message} (line {line})"),
        }],
    }
}

/// The keys whose values are secrets: gateway passwords, miIO tokens, the MQTT password and
/// the dashboard's token.
fn is_secret_key(key: &str) -> bool {
    matches!(key, "password" | "miio_token" | "token")
}

/// A syntax error: toml's message with its snippet of the lines at fault, unless the snippet
/// may show a secret (it names a secret key): then toml's first line (where) and its message
/// (what) only.
fn syntax_error(e: &toml::de::Error) -> ConfigError {
    let full = e.to_string();
    let message = if ["password", "token"].iter().any(|k| full.contains(k)) {
        let place = full.lines().next().unwrap_or("TOML parse error");
        format!(
            "{place}: {} (the line is not shown: it may hold a secret)",
            e.message().trim_end()
        )
    } else {
        full
    };
    ConfigError::Syntax { message }
}
