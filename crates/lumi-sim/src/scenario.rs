//! Scripted scenarios: which gateways and devices exist, and a timeline of what happens to
//! them — events, reboots, IP changes, token changes, silence — from code or from a TOML file.
//!
//! ```toml
//! [[gateway]]
//! sid = "7811dcb06972"
//! ip = "127.0.0.2"
//! version = "v1"                      # or "v2"
//! password = "0987654321qwerty"
//! random_events = "30s"               # optional: a random event every ~30 s ("0s": none)
//! devices = [
//!   { sid = "158d0001c1cdfb", model = "magnet" },
//!   { sid = "158d000112fb5d", model = "motion" },
//! ]
//!
//! [[miio_device]]                   # a Wi-Fi plug speaking miIO on UDP 54321
//! ip = "127.0.0.9"
//! model = "chuangmi.plug.m1"          # or chuangmi.plug.v3
//! token = "00112233445566778899aabbccddeeff"
//! did = 120009025
//!
//! [[step]]
//! at = "2s"
//! sid = "158d0001c1cdfb"              # a sub-device event, in lumi's vocabulary
//! set = { contact = false }
//!
//! [[step]]
//! at = "10s"
//! gateway = "7811dcb06972"
//! do = "reboot"                       # reboot | silent | online | ip | token | password
//! duration = "20s"
//! ```

use std::net::Ipv4Addr;
use std::time::Duration;

use lumi_proto::catalogue::TypedValue;
use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::{ProtoVersion, Sid};
use serde::Deserialize;

use lumi_proto::miio::{DeviceId, MiioToken};

use crate::device::{SubDevice, UnknownModel};
use crate::gateway::GatewayConfig;
use crate::miio::PlugModel;

/// A whole scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The gateways and their devices.
    pub gateways: Vec<GatewaySpec>,
    /// Stand-alone miIO devices.
    pub miio_devices: Vec<MiioDeviceSpec>,
    /// What happens, in time order.
    pub steps: Vec<Step>,
}

/// One gateway of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewaySpec {
    /// Its configuration.
    pub config: GatewayConfig,
    /// Its sub-devices.
    pub devices: Vec<SubDevice>,
    /// A random event about this often, if set.
    pub random_events: Option<Duration>,
}

/// A stand-alone miIO device (a Wi-Fi plug).
#[derive(Debug, Clone, PartialEq)]
pub struct MiioDeviceSpec {
    /// Its address.
    pub ip: Ipv4Addr,
    /// Which plug.
    pub model: PlugModel,
    /// Its token.
    pub token: MiioToken,
    /// Its device id.
    pub device_id: DeviceId,
}

/// The miIO token simulated devices and gateways use unless a scenario sets one:
/// md5("rust-miio gateway token"), the gateway token of the shared test vectors.
pub const DEFAULT_MIIO_TOKEN: &str = "1c1961595b889a1f42af6b16cf9a6b81";

/// One step of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// When, from the start.
    pub at: Duration,
    /// The gateway it concerns (for sub-device events: found by the sub-device's sid).
    pub gateway: Option<Sid>,
    /// What happens.
    pub action: Action,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// A sub-device event or state change, in lumi's vocabulary.
    Set {
        /// The sub-device.
        sid: Sid,
        /// The values.
        values: Vec<(String, TypedValue)>,
    },
    /// Reboot: silent for the duration, then back with a new token.
    Reboot(Duration),
    /// Go silent for the duration (no heartbeats, no replies), then come back.
    Silent(Duration),
    /// Come back now.
    Online,
    /// Move to another IP address (DHCP).
    IpChange(Ipv4Addr),
    /// Rotate the token now.
    TokenChange,
    /// Change the LAN password.
    Password(GatewayPassword),
}

/// Why a scenario cannot be used. Messages name the step or gateway and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file is not valid TOML of the expected shape.
    #[error("scenario file: {0}")]
    Toml(String),
    /// A value is wrong.
    #[error("scenario {place}: {problem}")]
    Invalid {
        /// Where (`gateway 1`, `step 3`).
        place: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// A device model is unknown.
    #[error("scenario {place}: {source}")]
    Model {
        /// Where.
        place: String,
        /// The model error.
        source: UnknownModel,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScenario {
    #[serde(default)]
    gateway: Vec<FileGateway>,
    #[serde(default)]
    step: Vec<FileStep>,
    #[serde(default)]
    miio_device: Vec<FileMiio>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMiio {
    ip: String,
    #[serde(default = "default_plug")]
    model: String,
    token: Option<String>,
    did: Option<u32>,
}

fn default_plug() -> String {
    PlugModel::M1.as_str().into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGateway {
    sid: String,
    ip: String,
    #[serde(default = "default_version")]
    version: String,
    password: String,
    model: Option<String>,
    seed: Option<u64>,
    random_events: Option<String>,
    miio_token: Option<String>,
    did: Option<u32>,
    #[serde(default)]
    devices: Vec<FileDevice>,
}

fn default_version() -> String {
    "v1".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDevice {
    sid: String,
    model: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStep {
    at: String,
    gateway: Option<String>,
    sid: Option<String>,
    set: Option<toml::Table>,
    #[serde(rename = "do")]
    action: Option<String>,
    duration: Option<String>,
    ip: Option<String>,
    password: Option<String>,
}

/// Parses `"500ms"`, `"10s"`, `"2m"`, `"1h"`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (use e.g. 500ms, 10s, 2m, 1h)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {s:?} (use ms, s, m or h)"
            ));
        }
    };
    if !(0.0..=1e9).contains(&secs) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl Scenario {
    /// Parses a scenario file.
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        let f: FileScenario =
            toml::from_str(text).map_err(|e| ScenarioError::Toml(e.to_string()))?;
        let mut gateways = Vec::new();
        for (i, g) in f.gateway.into_iter().enumerate() {
            let place = format!("gateway {} ({})", i + 1, g.sid);
            let bad = |problem: String| ScenarioError::Invalid {
                place: place.clone(),
                problem,
            };
            let sid = Sid::new(&g.sid).map_err(|e| bad(format!("sid: {e}")))?;
            let ip: Ipv4Addr =
                g.ip.parse()
                    .map_err(|_| bad(format!("ip {:?} is not an IPv4 address", g.ip)))?;
            let version: ProtoVersion = g.version.parse().map_err(bad)?;
            let password: GatewayPassword = g
                .password
                .parse()
                .map_err(|e| bad(format!("password: {e}")))?;
            let mut config = GatewayConfig::new(sid, ip, version, password);
            if let Some(m) = g.model {
                config.model = m;
            }
            if let Some(seed) = g.seed {
                config.seed = seed;
            }
            config.miio_token = g
                .miio_token
                .as_deref()
                .unwrap_or(DEFAULT_MIIO_TOKEN)
                .parse()
                .map_err(|e| bad(format!("miio_token: {e}")))?;
            if let Some(did) = g.did {
                config.device_id = DeviceId::from(did);
            }
            // "0s" turns them off, as `--random-every 0` does.
            let random_events = g
                .random_events
                .map(|d| parse_duration(&d).map_err(|e| bad(format!("random_events: {e}"))))
                .transpose()?
                .filter(|every| !every.is_zero());
            let mut devices = Vec::new();
            for d in g.devices {
                let dsid =
                    Sid::new(&d.sid).map_err(|e| bad(format!("device sid {:?}: {e}", d.sid)))?;
                let dev = SubDevice::from_catalogue(dsid, &d.model, version).map_err(|source| {
                    ScenarioError::Model {
                        place: place.clone(),
                        source,
                    }
                })?;
                devices.push(dev);
            }
            gateways.push(GatewaySpec {
                config,
                devices,
                random_events,
            });
        }
        let mut miio_devices = Vec::new();
        for (i, m) in f.miio_device.into_iter().enumerate() {
            let place = format!("miio_device {} ({})", i + 1, m.ip);
            let bad = |problem: String| ScenarioError::Invalid {
                place: place.clone(),
                problem,
            };
            let model = [PlugModel::M1, PlugModel::V3]
                .into_iter()
                .find(|p| p.as_str() == m.model)
                .ok_or_else(|| {
                    bad(format!(
                        "model {:?}: use chuangmi.plug.m1 or chuangmi.plug.v3",
                        m.model
                    ))
                })?;
            miio_devices.push(MiioDeviceSpec {
                ip: m
                    .ip
                    .parse()
                    .map_err(|_| bad(format!("ip {:?} is not an IPv4 address", m.ip)))?,
                model,
                token: m
                    .token
                    .as_deref()
                    .unwrap_or(DEFAULT_MIIO_TOKEN)
                    .parse()
                    .map_err(|e| bad(format!("token: {e}")))?,
                device_id: DeviceId::from(m.did.unwrap_or(120_009_025 + i as u32)),
            });
        }
        let mut steps = Vec::new();
        for (i, s) in f.step.into_iter().enumerate() {
            let place = format!("step {}", i + 1);
            let bad = |problem: String| ScenarioError::Invalid {
                place: place.clone(),
                problem,
            };
            let at = parse_duration(&s.at).map_err(|e| bad(format!("at: {e}")))?;
            let gateway = s
                .gateway
                .as_deref()
                .map(|g| Sid::new(g).map_err(|e| bad(format!("gateway: {e}"))))
                .transpose()?;
            let duration = || {
                s.duration
                    .as_deref()
                    .ok_or_else(|| bad("needs a duration (e.g. duration = \"20s\")".into()))
                    .and_then(|d| parse_duration(d).map_err(&bad))
            };
            let action = match (s.action.as_deref(), s.set) {
                (None, Some(set)) => {
                    let sid = s
                        .sid
                        .as_deref()
                        .ok_or_else(|| bad("`set` needs the sub-device `sid`".into()))?;
                    let sid = Sid::new(sid).map_err(|e| bad(format!("sid: {e}")))?;
                    let values = set
                        .into_iter()
                        .map(|(k, v)| {
                            let json = serde_json::to_value(&v).unwrap_or(serde_json::Value::Null);
                            (k, TypedValue::from_json(&json))
                        })
                        .collect();
                    Action::Set { sid, values }
                }
                (Some("reboot"), None) => Action::Reboot(duration()?),
                (Some("silent"), None) => Action::Silent(duration()?),
                (Some("online"), None) => Action::Online,
                (Some("token"), None) => Action::TokenChange,
                (Some("ip"), None) => {
                    let ip =
                        s.ip.as_deref()
                            .ok_or_else(|| bad("`do = \"ip\"` needs `ip`".into()))?;
                    Action::IpChange(
                        ip.parse()
                            .map_err(|_| bad(format!("ip {ip:?} is not an IPv4 address")))?,
                    )
                }
                (Some("password"), None) => {
                    let p = s
                        .password
                        .as_deref()
                        .ok_or_else(|| bad("`do = \"password\"` needs `password`".into()))?;
                    Action::Password(p.parse().map_err(|e| bad(format!("password: {e}")))?)
                }
                (Some(other), None) => {
                    return Err(bad(format!(
                        "unknown action {other:?} (use reboot, silent, online, ip, token or password)"
                    )));
                }
                (Some(_), Some(_)) => return Err(bad("has both `do` and `set`; use one".into())),
                (None, None) => {
                    return Err(bad(
                        "needs `set` (a device event) or `do` (a gateway action)".into(),
                    ));
                }
            };
            if !matches!(action, Action::Set { .. }) && gateway.is_none() && gateways.len() != 1 {
                return Err(bad(
                    "a gateway action needs `gateway` when there are several".into(),
                ));
            }
            steps.push(Step {
                at,
                gateway,
                action,
            });
        }
        steps.sort_by_key(|s| s.at);
        let scenario = Scenario {
            gateways,
            miio_devices,
            steps,
        };
        scenario.check()?;
        Ok(scenario)
    }

    /// Checks that every step names a gateway and sub-device that exist.
    pub fn check(&self) -> Result<(), ScenarioError> {
        for (i, s) in self.steps.iter().enumerate() {
            let place = format!("step {}", i + 1);
            if let Some(g) = &s.gateway
                && !self.gateways.iter().any(|x| &x.config.sid == g)
            {
                return Err(ScenarioError::Invalid {
                    place,
                    problem: format!("no gateway {g} in the scenario"),
                });
            }
            if let Action::Set { sid, .. } = &s.action
                && self.gateway_of(sid).is_none()
            {
                return Err(ScenarioError::Invalid {
                    place,
                    problem: format!("no sub-device {sid} in the scenario"),
                });
            }
        }
        Ok(())
    }

    /// The gateway a sub-device belongs to.
    pub fn gateway_of(&self, device: &Sid) -> Option<&Sid> {
        self.gateways
            .iter()
            .find(|g| g.devices.iter().any(|d| &d.sid == device))
            .map(|g| &g.config.sid)
    }

    /// The gateway a step acts on.
    pub fn target(&self, step: &Step) -> Option<Sid> {
        match (&step.gateway, &step.action) {
            (Some(g), _) => Some(g.clone()),
            (None, Action::Set { sid, .. }) => self.gateway_of(sid).cloned(),
            (None, _) => self.gateways.first().map(|g| g.config.sid.clone()),
        }
    }

    /// The demo house: a v1 gateway and a v2 gateway on consecutive addresses from
    /// `first_ip`, with one device of every sub-device kind in the catalogue between them,
    /// and random events about every `every`.
    pub fn demo(first_ip: Ipv4Addr, password: GatewayPassword, every: Duration) -> Scenario {
        Scenario::house(first_ip, 2, None, password, Some(every))
    }

    /// `count` gateways on consecutive addresses from `first_ip`, speaking `version` (or v1
    /// and v2 alternately when `None`), with one device of every sub-device kind in the
    /// catalogue spread over them, random events about every `every` if set, and a Wi-Fi plug
    /// (miIO) on the next address.
    pub fn house(
        first_ip: Ipv4Addr,
        count: usize,
        version: Option<ProtoVersion>,
        password: GatewayPassword,
        every: Option<Duration>,
    ) -> Scenario {
        use lumi_proto::catalogue::{DEVICES, DeviceKind};
        let base = u32::from(first_ip);
        let mut gateways: Vec<GatewaySpec> = (0..count.max(1))
            .map(|i| {
                let v = version.unwrap_or(if i % 2 == 0 {
                    ProtoVersion::V1
                } else {
                    ProtoVersion::V2
                });
                let ip = Ipv4Addr::from(base.wrapping_add(i as u32));
                let sid = Sid::new(&format!("7811dc{:06x}", 0xb0_6970 + i))
                    .unwrap_or_else(|_| unreachable!());
                let mut config = GatewayConfig::new(sid, ip, v, password.clone());
                config.seed = 1 + i as u64;
                config.device_id = lumi_proto::miio::DeviceId::from(63_217_102 + i as u32);
                GatewaySpec {
                    config,
                    devices: Vec::new(),
                    random_events: every,
                }
            })
            .collect();
        let mut seen = Vec::new();
        let mut n = 0usize;
        for entry in DEVICES {
            if matches!(entry.kind, DeviceKind::Gateway | DeviceKind::AcPartner)
                || seen.contains(&entry.kind)
            {
                continue;
            }
            seen.push(entry.kind);
            let g = n % gateways.len();
            let version = gateways[g].config.version;
            let sid = Sid::new(&format!("158d0001{:06x}", 0x10_0000 + n))
                .unwrap_or_else(|_| unreachable!());
            n += 1;
            if let Ok(dev) = SubDevice::from_catalogue(sid, entry.model(), version) {
                gateways[g].devices.push(dev);
            }
        }
        let plug_ip = Ipv4Addr::from(base.wrapping_add(gateways.len() as u32));
        Scenario {
            gateways,
            miio_devices: vec![MiioDeviceSpec {
                ip: plug_ip,
                model: PlugModel::M1,
                token: DEFAULT_MIIO_TOKEN.parse().unwrap_or(MiioToken::ZERO),
                device_id: DeviceId::from(120_009_025u32),
            }],
            steps: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[gateway]]
sid = "7811dcb06972"
ip = "127.0.0.2"
version = "v1"
password = "0987654321qwerty"
random_events = "30s"
devices = [
  { sid = "158d0001c1cdfb", model = "magnet" },
  { sid = "158d000112fb5d", model = "motion" },
]

[[gateway]]
sid = "7811dcb2a7d9"
ip = "127.0.0.3"
version = "v2"
password = "a6c567lbkcmr47fp"
devices = [{ sid = "158d00015879f9", model = "ctrl_86plug.aq1" }]

[[miio_device]]
ip = "127.0.0.9"
model = "chuangmi.plug.v3"
token = "00112233445566778899aabbccddeeff"

[[step]]
at = "10s"
gateway = "7811dcb06972"
do = "reboot"
duration = "20s"

[[step]]
at = "2s"
sid = "158d0001c1cdfb"
set = { contact = false }

[[step]]
at = "1m"
sid = "158d00015879f9"
set = { state = "on", power = 24.5 }

[[step]]
at = "90s"
gateway = "7811dcb2a7d9"
do = "ip"
ip = "127.0.0.9"
"#;

    #[test]
    fn parses_a_file() {
        let s = Scenario::from_toml(FILE).unwrap();
        assert_eq!(s.gateways.len(), 2);
        assert_eq!(s.gateways[0].devices.len(), 2);
        assert_eq!(s.gateways[1].config.version, ProtoVersion::V2);
        assert_eq!(s.gateways[0].random_events, Some(Duration::from_secs(30)));
        assert_eq!(s.miio_devices.len(), 1);
        assert_eq!(s.miio_devices[0].model, PlugModel::V3);
        assert_eq!(s.miio_devices[0].ip, Ipv4Addr::new(127, 0, 0, 9));
        assert_eq!(
            s.gateways[0].config.miio_token,
            DEFAULT_MIIO_TOKEN.parse().unwrap()
        );
        // Sorted by time.
        let ats: Vec<u64> = s.steps.iter().map(|x| x.at.as_secs()).collect();
        assert_eq!(ats, [2, 10, 60, 90]);
        assert_eq!(
            s.steps[0].action,
            Action::Set {
                sid: Sid::new("158d0001c1cdfb").unwrap(),
                values: vec![("contact".into(), TypedValue::Bool(false))]
            }
        );
        assert_eq!(s.target(&s.steps[0]).unwrap().as_str(), "7811dcb06972");
        assert_eq!(s.target(&s.steps[2]).unwrap().as_str(), "7811dcb2a7d9");
        assert_eq!(s.steps[1].action, Action::Reboot(Duration::from_secs(20)));
        assert_eq!(
            s.steps[3].action,
            Action::IpChange(Ipv4Addr::new(127, 0, 0, 9))
        );
    }

    /// Seen while writing the `scenario` fuzz target (which times out on it): `random_events = "0s"` made the simulated gateway
    /// schedule its next random event at the same instant forever (`lumi sim` hung). Zero now
    /// means none, as `--random-every 0` does.
    #[test]
    fn fuzz_regression_zero_random_events_means_none() {
        let text = "[[gateway]]\nsid='7811dcb06972'\nip='127.0.0.2'\npassword='0987654321qwerty'\nrandom_events='0s'\n";
        let s = Scenario::from_toml(text).unwrap();
        assert_eq!(s.gateways[0].random_events, None);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("[[gateway]]\nsid='1'\n", "missing field"),
            (
                "[[gateway]]\nsid='7811dcb06972'\nip='x'\npassword='0987654321qwerty'\n",
                "gateway 1 (7811dcb06972): ip \"x\" is not an IPv4 address",
            ),
            (
                "[[gateway]]\nsid='7811dcb06972'\nip='127.0.0.2'\npassword='short'\n",
                "exactly 16 characters",
            ),
            (
                "[[gateway]]\nsid='7811dcb06972'\nip='127.0.0.2'\nversion='v3'\npassword='0987654321qwerty'\n",
                "unknown protocol version",
            ),
            (
                "[[gateway]]\nsid='7811dcb06972'\nip='127.0.0.2'\npassword='0987654321qwerty'\ndevices=[{sid='158d00',model='toaster'}]\n",
                "unknown device model \"toaster\"",
            ),
            ("[[step]]\nat='5x'\ndo='token'\n", "unknown duration unit"),
            (
                "[[step]]\nat='5s'\ndo='dance'\n",
                "unknown action \"dance\"",
            ),
            (
                "[[step]]\nat='5s'\nsid='158d00'\nset={contact=false}\n",
                "no sub-device 158d00",
            ),
            ("[[step]]\nat='5s'\n", "needs `set`"),
            ("colour = 'red'\n", "unknown field"),
            (
                "[[miio_device]]\nip='127.0.0.9'\nmodel='toaster'\n",
                "miio_device 1 (127.0.0.9): model \"toaster\"",
            ),
            (
                "[[miio_device]]\nip='127.0.0.9'\ntoken='xyz'\n",
                "miio_device 1 (127.0.0.9): token",
            ),
        ];
        for (text, want) in cases {
            let err = Scenario::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn demo_has_one_device_of_every_kind() {
        let s = Scenario::demo(
            Ipv4Addr::new(127, 0, 0, 2),
            "0987654321qwerty".parse().unwrap(),
            Duration::from_secs(5),
        );
        assert_eq!(s.gateways.len(), 2);
        assert_eq!(s.gateways[0].config.version, ProtoVersion::V1);
        assert_eq!(s.gateways[1].config.ip, Ipv4Addr::new(127, 0, 0, 3));
        let kinds: std::collections::HashSet<_> = s
            .gateways
            .iter()
            .flat_map(|g| &g.devices)
            .map(|d| lumi_proto::catalogue::lookup(&d.model).unwrap().kind)
            .collect();
        let all: std::collections::HashSet<_> = lumi_proto::catalogue::DEVICES
            .iter()
            .map(|d| d.kind)
            .filter(|k| {
                !matches!(
                    k,
                    lumi_proto::catalogue::DeviceKind::Gateway
                        | lumi_proto::catalogue::DeviceKind::AcPartner
                )
            })
            .collect();
        assert_eq!(kinds, all);
    }
}
