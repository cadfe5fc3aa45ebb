//! What the web dashboard shows, kept by the [`Core`]: the same devices, states and
//! availability that go to MQTT, the gateways' health, the setup problems with their fixes
//! (from [`lumi_client::diagnosis`]), a log of recent events, and the commands the page
//! sends, answered through [`Output::replies`](super::Output::replies).
//!
//! Messages to the page are JSON texts with a `type`:
//!
//! ```text
//! {"type":"snapshot","now":"…","bridge":{…},"gateways":[…],"devices":[…],"problems":[…],"log":[…]}
//! {"type":"device","device":{"sid":"158d0001c1cdfb","name":"kitchen/door","online":true,
//!   "state":{"contact":false,"battery":100},"controls":[],…}}
//! {"type":"gateways","now":"…","gateways":[…],"problems":[…]}
//! {"type":"log","entry":{"seq":12,"time":"…","level":"info","sid":"…","text":"contact: false"}}
//! {"type":"bridge","bridge":{"mqtt":{"connected":false},…}}
//! ```
//!
//! Live messages are made only while someone watches ([`Core::set_watching`]): a bridge
//! nobody looks at spends nothing on them. The log is kept regardless (the last
//! [`LOG_CAPACITY`] entries), so a page opened later shows what happened before it.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, SystemTime};

use lumi_client::diagnosis::{self, GatewaySeen, Problem};
use lumi_proto::catalogue::{Device, DeviceState, TypedValue, ValueType};
use lumi_proto::lan::Sid;
use lumi_proto::sanitize;
use serde_json::{Map, Value, json};

use super::{CommandError, Core, Dev, Origin};
use crate::name::FriendlyName;
use crate::state::{self, Extras};
use crate::time::iso8601;

/// Log entries kept for a page opened later.
pub const LOG_CAPACITY: usize = 200;

/// How long after start an empty gateway list is still "searching" rather than a problem.
const SEARCH_GRACE: Duration = Duration::from_secs(10);
/// How long after a gateway is found its first heartbeat may take before "multicast does not
/// arrive" is a problem: gateways send one every 10 s; two missed are no accident.
pub const HEARTBEAT_GRACE: Duration = Duration::from_secs(25);

/// A command from the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DashboardCommand {
    /// As `<name>/set[/<property>]`: `payload` is the same text.
    Set {
        /// The device's name or sid.
        device: String,
        /// The property, for a plain value.
        property: Option<String>,
        /// The command.
        payload: Vec<u8>,
    },
    /// As `<name>/get`: read the device now.
    Get {
        /// The device's name or sid.
        device: String,
    },
    /// As `bridge/request/<name>`: `permit_join`, `remove`, `rename`, `read`, `health`.
    Request {
        /// The request.
        name: String,
        /// Its JSON payload.
        payload: Vec<u8>,
    },
}

/// The dashboard's part of the core's state.
#[derive(Debug, Default)]
pub(super) struct Ui {
    /// Someone watches: make live messages.
    watching: bool,
    /// Devices changed since the last [`Core::take`].
    dirty: BTreeSet<Sid>,
    /// Gateways (and so the problems) changed since the last take.
    gateways_dirty: bool,
    /// The bridge's own status changed (MQTT connection).
    bridge_dirty: bool,
    log: VecDeque<Entry>,
    /// Entries added since the last take (the newest ones of `log`).
    fresh: usize,
    seq: u64,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    at: SystemTime,
    level: &'static str,
    sid: Option<Sid>,
    text: String,
}

impl Ui {
    pub(super) fn touch(&mut self, sid: &Sid) {
        if self.watching && !self.dirty.contains(sid) {
            self.dirty.insert(sid.clone());
        }
    }

    pub(super) fn gateways_changed(&mut self) {
        self.gateways_dirty = true;
    }

    pub(super) fn bridge_changed(&mut self) {
        self.bridge_dirty = true;
    }

    pub(super) fn log(
        &mut self,
        at: SystemTime,
        level: &'static str,
        sid: Option<&Sid>,
        text: String,
    ) {
        self.seq += 1;
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(Entry {
            seq: self.seq,
            at,
            level,
            sid: sid.cloned(),
            text,
        });
        self.fresh = (self.fresh + 1).min(LOG_CAPACITY);
    }
}

/// A short text of what a message said: `contact: false, battery: 100`.
/// (Made for every report, watched or not: numbers and booleans are written directly, only
/// texts and whole numbers go through the MQTT mapping of `ON`/`OFF` and brightness.)
pub(super) fn summary(device: Option<&'static Device>, msg: &DeviceState) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(48);
    for r in &msg.readings {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(r.property);
        out.push_str(": ");
        match &r.value {
            TypedValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            TypedValue::Float(f) => {
                let _ = write!(out, "{f}");
            }
            TypedValue::Null => out.push_str("null"),
            value => {
                let v = match device.and_then(|d| d.property(r.property).map(|p| (d, p))) {
                    Some((d, p)) => state::mqtt_value(d, p, value),
                    None => value.to_json(),
                };
                match v {
                    Value::String(s)
                        if s.len() <= 40 && s.bytes().all(|b| (0x20..0x7f).contains(&b)) =>
                    {
                        out.push_str(&s);
                    }
                    Value::String(s) => out.push_str(&sanitize::truncated(&s, 40)),
                    v => {
                        let _ = write!(out, "{v}");
                    }
                }
            }
        }
        if out.len() > 200 {
            out.push('…');
            break;
        }
    }
    if out.is_empty() && !msg.raw.is_empty() {
        out.push_str("(untyped values)");
    }
    out
}

/// The controls the page offers for a device: one per writable property, with what it
/// needs to draw it. Values are in the MQTT vocabulary (`"ON"`/`"OFF"`, brightness 0–255).
pub fn controls(device: &'static Device) -> Vec<Value> {
    device
        .writable()
        .filter(|p| !matches!(p.name, "pairing" | "remove_device"))
        .filter_map(|p| {
            let mut c = Map::new();
            c.insert("property".into(), p.name.into());
            let control = match p.value {
                ValueType::Bool => "switch",
                ValueType::Enum(_) if state::is_switch_state(device, p) => "switch",
                ValueType::Enum(values) => {
                    c.insert("options".into(), json!(values));
                    "select"
                }
                ValueType::Integer { min, max } => {
                    let (lo, hi) = if state::scaled_brightness(device, p) {
                        (0, 255)
                    } else {
                        (min.unwrap_or(0), max.unwrap_or(100))
                    };
                    c.insert("min".into(), lo.into());
                    c.insert("max".into(), hi.into());
                    "range"
                }
                ValueType::Number { min, max } => {
                    c.insert("min".into(), json!(min.unwrap_or(0.0)));
                    c.insert("max".into(), json!(max.unwrap_or(100.0)));
                    "range"
                }
                ValueType::Color => "color",
                ValueType::Text => return None,
            };
            c.insert("control".into(), control.into());
            if let Some(u) = p.unit {
                c.insert("unit".into(), u.into());
            }
            Some(Value::Object(c))
        })
        .collect()
}

impl Core {
    /// Whether someone watches the dashboard: live messages ([`Output::ui`](super::Output::ui))
    /// are made only then.
    pub fn set_watching(&mut self, watching: bool) {
        if watching && !self.ui.watching {
            // A new watcher starts from a snapshot; older changes are in it.
            self.ui.dirty.clear();
            self.ui.fresh = 0;
        }
        self.ui.watching = watching;
    }

    /// What the dashboard shows about where the bridge listens and publishes.
    pub fn set_network(&mut self, interface: String, broker: String) {
        self.interface = interface;
        self.broker = broker;
    }

    /// Everything the dashboard shows, as one JSON text (`"type":"snapshot"`).
    pub fn snapshot(&self, wall: SystemTime) -> String {
        let devices: Vec<Value> = self
            .devices
            .iter()
            .map(|(sid, d)| self.ui_device(sid, d))
            .collect();
        let log: Vec<Value> = self.ui.log.iter().map(|e| self.ui_entry(e)).collect();
        json!({
            "type": "snapshot",
            "now": iso8601(wall),
            "bridge": self.ui_bridge(),
            "gateways": self.ui_gateways(),
            "devices": devices,
            "problems": self.problems(wall),
            "log": log,
        })
        .to_string()
    }

    /// The setup problems the dashboard explains, with their fixes.
    pub fn problems(&self, wall: SystemTime) -> Vec<Problem> {
        let seen: Vec<GatewaySeen> = self
            .gateways
            .iter()
            .map(|(sid, g)| GatewaySeen {
                sid: sid.to_string(),
                addr: g.addr.to_string(),
                online: g.online,
                // Not a problem until the first heartbeat is overdue.
                heartbeat_seen: g.heartbeat_at.is_some()
                    || g.found_at
                        .is_none_or(|t| wall.duration_since(t).is_ok_and(|d| d < HEARTBEAT_GRACE)),
                has_password: self.has_password(sid, g.addr),
                invalid_key: g.invalid_key,
            })
            .collect();
        let searching = wall
            .duration_since(self.started)
            .is_ok_and(|d| d < SEARCH_GRACE);
        let mut problems = diagnosis::problems(&self.interface, searching, &seen);
        if self.lan_down.is_some() {
            problems.insert(
                0,
                Problem {
                    id: "interface_down",
                    gateway: None,
                    message: format!(
                        "the network interface {} is gone or down: nothing can arrive from the gateways; lumi joins again by itself when it is back",
                        self.interface
                    ),
                    fix: diagnosis::FIX_INTERFACE_DOWN,
                },
            );
        }
        problems
    }

    fn has_password(&self, sid: &Sid, addr: std::net::SocketAddr) -> bool {
        self.config.password.is_some()
            || self.config.gateways.iter().any(|g| {
                g.password.is_some()
                    && (g.sid.as_ref() == Some(sid) || g.addr.is_some_and(|a| a.ip() == addr.ip()))
            })
    }

    /// Logs each setup problem once when it appears (with its fix) and once when it is
    /// gone: the dashboard is not the only place to learn why nothing arrives (`--no-web`,
    /// journalctl). Called every few seconds by the driver; returns the problems it logged.
    pub fn housekeeping(&mut self, wall: SystemTime) -> Vec<Problem> {
        self.set_wall(wall);
        let now: Vec<Problem> = self.problems(wall);
        let keys: std::collections::BTreeSet<(&'static str, Option<String>)> =
            now.iter().map(|p| (p.id, p.gateway.clone())).collect();
        let mut logged = Vec::new();
        for p in now {
            if !self.logged_problems.contains(&(p.id, p.gateway.clone())) {
                tracing::warn!(problem = p.id, "{}; fix: {}", p.message, p.fix);
                logged.push(p);
            }
        }
        for (id, gateway) in self.logged_problems.difference(&keys) {
            tracing::info!(
                problem = *id,
                gateway = gateway.as_deref().unwrap_or("-"),
                "resolved"
            );
        }
        self.logged_problems = keys;
        logged
    }

    /// A command from the dashboard; its answer comes out in
    /// [`Output::replies`](super::Output::replies) under `id`.
    pub fn dashboard_command(&mut self, id: u64, cmd: DashboardCommand) {
        self.stats.commands += 1;
        let origin = Origin::Dashboard { id };
        match cmd {
            DashboardCommand::Set {
                device,
                property,
                payload,
            } => match FriendlyName::new(&device) {
                Ok(name) => self.set(&name, property.as_deref(), &payload, origin),
                Err(e) => self.reject(
                    id,
                    format!("device {:?}: {e}", sanitize::truncated(&device, 60)),
                ),
            },
            DashboardCommand::Get { device } => match FriendlyName::new(&device) {
                Ok(name) => self.get(&name, None, b"", origin),
                Err(e) => self.reject(
                    id,
                    format!("device {:?}: {e}", sanitize::truncated(&device, 60)),
                ),
            },
            DashboardCommand::Request { name, payload } => {
                self.request(&name, &payload, Some(id));
            }
        }
    }

    pub(super) fn reject(&mut self, id: u64, message: String) {
        self.stats.failed += 1;
        self.replies.push((
            id,
            Err(CommandError {
                rejected: true,
                message,
            }),
        ));
    }

    /// Records an event for the dashboard's log.
    pub(super) fn log(&mut self, level: &'static str, sid: Option<&Sid>, text: String) {
        let at = self.wall;
        self.ui.log(at, level, sid, text);
    }

    /// The live messages for the page since the last take.
    pub(super) fn ui_take(&mut self) -> Vec<String> {
        if !self.ui.watching {
            self.ui.dirty.clear();
            self.ui.fresh = 0;
            self.ui.gateways_dirty = false;
            self.ui.bridge_dirty = false;
            return Vec::new();
        }
        let mut out = Vec::new();
        if std::mem::take(&mut self.ui.bridge_dirty) {
            out.push(json!({"type": "bridge", "bridge": self.ui_bridge()}).to_string());
        }
        if std::mem::take(&mut self.ui.gateways_dirty) {
            let now = self.wall;
            out.push(
                json!({
                    "type": "gateways",
                    "now": iso8601(now),
                    "gateways": self.ui_gateways(),
                    "problems": self.problems(now),
                })
                .to_string(),
            );
        }
        for sid in std::mem::take(&mut self.ui.dirty) {
            if let Some(d) = self.devices.get(&sid) {
                out.push(json!({"type": "device", "device": self.ui_device(&sid, d)}).to_string());
            } else {
                out.push(json!({"type": "removed", "sid": sid.as_str()}).to_string());
            }
        }
        let fresh = std::mem::take(&mut self.ui.fresh);
        let skip = self.ui.log.len().saturating_sub(fresh);
        for e in self.ui.log.iter().skip(skip) {
            out.push(json!({"type": "log", "entry": self.ui_entry(e)}).to_string());
        }
        out
    }

    fn ui_bridge(&self) -> Value {
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "started": iso8601(self.started),
            "interface": self.interface,
            "lan_down": self.lan_down.map(iso8601),
            "mqtt": {
                "connected": self.connected,
                "broker": self.broker,
                "base_topic": self.topics.base(),
            },
            "homeassistant": self.config.homeassistant.enabled,
        })
    }

    fn ui_gateways(&self) -> Value {
        let list: Vec<Value> = self
            .gateways
            .iter()
            .map(|(sid, g)| {
                let dev = self.devices.get(sid);
                let opt = |t: Option<SystemTime>| t.map_or(Value::Null, |t| Value::from(iso8601(t)));
                json!({
                    "sid": sid.as_str(),
                    "name": dev.map(|d| d.name.as_str()),
                    "model": dev.map(|d| d.model.as_str()),
                    "address": g.addr.to_string(),
                    "protocol": g.version.map(|v| v.to_string()),
                    "online": g.online,
                    "last_heartbeat": opt(g.heartbeat_at),
                    "token_time": opt(g.token_at),
                    "interface": self.interface,
                    "has_password": self.has_password(sid, g.addr),
                    "devices": self.devices.values().filter(|d| d.gateway.as_ref() == Some(sid)).count(),
                })
            })
            .collect();
        Value::Array(list)
    }

    fn ui_device(&self, sid: &Sid, d: &Dev) -> Value {
        let mut state = state::state_payload(
            &d.state,
            &Extras {
                linkquality: None,
                last_seen: None,
            },
        );
        // The gateway light's Home Assistant view (`state`, `color_mode`) is MQTT's business.
        if d.gateway.is_none() {
            state.remove("color_mode");
        }
        let device = d.state.device;
        json!({
            "sid": sid.as_str(),
            "name": d.name.as_str(),
            "model": d.model,
            "description": device.map(|x| x.name),
            "kind": device.map(|x| x.kind),
            "power": device.map(|x| x.power),
            "gateway": d.gateway.as_ref().map(Sid::as_str),
            "supported": device.is_some(),
            "online": self.effective_online(d),
            "last_seen": d.last_seen.map(iso8601),
            "state": state,
            "controls": device.map(controls).unwrap_or_default(),
        })
    }

    fn ui_entry(&self, e: &Entry) -> Value {
        json!({
            "seq": e.seq,
            "time": iso8601(e.at),
            "level": e.level,
            "sid": e.sid.as_ref().map(Sid::as_str),
            "name": e.sid.as_ref().and_then(|s| self.devices.get(s)).map(|d| d.name.as_str()),
            "text": e.text,
        })
    }
}
