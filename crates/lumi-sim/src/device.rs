//! Simulated Zigbee sub-devices behind a gateway.
//!
//! A sub-device holds its raw state in its gateway's dialect (v1 `status`, v2
//! `window_status`, …), so what it sends is what a real device of that model sends.

use std::time::Duration;

use lumi_proto::catalogue::{self, PowerSource, TypedValue};
use lumi_proto::lan::{DeviceMessage, ErrorCode, Props, ProtoVersion, Sid};

/// How a device is powered, which decides its heartbeat period and what `read` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// Battery: heartbeat every hour; `read` answers from the gateway's cache.
    Battery,
    /// Mains: heartbeat every 10 minutes, with its full state.
    Mains,
}

/// One simulated sub-device.
#[derive(Debug, Clone, PartialEq)]
pub struct SubDevice {
    /// Its sid (`158d…`).
    pub sid: Sid,
    /// Its model as the gateway names it.
    pub model: String,
    /// Its Zigbee short id.
    pub short_id: u16,
    /// The dialect of its gateway.
    pub version: ProtoVersion,
    /// Battery or mains.
    pub power: Power,
    /// Battery voltage in mV (3600 for mains devices, which report it too).
    pub voltage: u32,
    /// Its persistent raw state (what `read` and heartbeats carry).
    pub state: Props,
    /// Raw keys that are events, not state: reported but never cached (`status` of a
    /// button, `channel_0` of a wireless switch, `rotate` of a cube).
    pub event_keys: Vec<String>,
    /// Raw keys a `write` may change.
    pub writable_keys: Vec<String>,
    /// Whether the device sends its voltage (battery devices and most mains ones).
    pub reports_voltage: bool,
}

/// The model is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown device model {0:?}: see `lumi_proto::catalogue::model_strings()` for the models lumi knows"
)]
pub struct UnknownModel(pub String);

/// Properties a gateway caches and repeats in `read` replies and heartbeats; everything else a
/// device sends (button actions, motion, cube gestures) is an event.
const STATE_PROPERTIES: &[&str] = &[
    "contact",
    "temperature",
    "humidity",
    "pressure",
    "illuminance",
    "power",
    "energy",
    "in_use",
    "level",
    "water_leak",
    "alarm",
    "density",
    "local_temperature",
];

/// The value a fresh simulated device starts with, for a property.
fn initial_value(property: &str) -> Option<TypedValue> {
    Some(match property {
        "contact" => TypedValue::Bool(true),
        "temperature" | "local_temperature" => TypedValue::Float(21.5),
        "humidity" => TypedValue::Float(45.0),
        "pressure" => TypedValue::Float(1002.0),
        "illuminance" => TypedValue::Int(300),
        "power" => TypedValue::Float(0.0),
        "energy" => TypedValue::Int(0),
        "in_use" => TypedValue::Bool(false),
        "level" => TypedValue::Int(0),
        "water_leak" => TypedValue::Bool(false),
        "alarm" => TypedValue::Bool(false),
        "density" => TypedValue::Int(0),
        "state" | "state_left" | "state_right" | "state_l1" | "state_l2" => TypedValue::text("off"),
        _ => return None,
    })
}

/// A stable Zigbee short id derived from the sid (real ones are assigned at pairing).
fn short_id_of(sid: &Sid) -> u16 {
    sid.as_str().bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    }) as u16
}

impl SubDevice {
    /// A device with an empty state.
    pub fn new(sid: Sid, model: impl Into<String>, version: ProtoVersion, power: Power) -> Self {
        SubDevice {
            sid,
            model: model.into(),
            short_id: 0,
            version,
            power,
            voltage: match power {
                Power::Battery => 3005,
                Power::Mains => 3600,
            },
            state: Props::new(),
            event_keys: Vec::new(),
            writable_keys: Vec::new(),
            reports_voltage: true,
        }
    }

    /// A device of a catalogued model, behaving as that model does in `version`: its power
    /// source, which raw keys are writable, which are events (never cached by the gateway),
    /// and a plausible initial state (door closed, switches off, 21.5 °C, …).
    pub fn from_catalogue(
        sid: Sid,
        model: &str,
        version: ProtoVersion,
    ) -> Result<Self, UnknownModel> {
        let entry = catalogue::lookup(model).ok_or_else(|| UnknownModel(model.to_owned()))?;
        let power = match entry.power {
            PowerSource::Battery => Power::Battery,
            _ => Power::Mains,
        };
        let mut d = SubDevice::new(sid, model, version, power);
        d.short_id = short_id_of(&d.sid);
        d.reports_voltage =
            entry.property("voltage").is_some() || entry.property("battery").is_some();
        for p in entry.properties {
            let keys = p.sources(version).iter().map(|s| s.key.to_owned());
            if p.writable() {
                if let Some(first) = p.sources(version).first() {
                    d.writable_keys.push(first.key.to_owned());
                }
            } else if !STATE_PROPERTIES.contains(&p.name)
                && p.name != "battery"
                && p.name != "voltage"
            {
                d.event_keys.extend(keys);
            }
        }
        // Keys that are both (v1 `status` is a plug's state but a button's event) follow the
        // property that owns them in this model, so only keep an event key if no state
        // property uses it.
        let state_keys: Vec<String> = entry
            .properties
            .iter()
            .filter(|p| p.writable() || STATE_PROPERTIES.contains(&p.name))
            .flat_map(|p| p.sources(version).iter().map(|s| s.key.to_owned()))
            .collect();
        d.event_keys.retain(|k| !state_keys.contains(k));
        d.event_keys.dedup();
        let initial: Vec<(&str, TypedValue)> = entry
            .properties
            .iter()
            .filter_map(|p| initial_value(p.name).map(|v| (p.name, v)))
            .filter(|(name, _)| {
                entry
                    .property(name)
                    .is_some_and(|p| !p.sources(version).is_empty())
            })
            .collect();
        if let Ok(props) = catalogue::encode_report(model, version, &initial) {
            d.state = props;
        }
        Ok(d)
    }

    /// 1 hour for battery devices, 10 minutes for mains devices.
    pub fn heartbeat_period(&self) -> Duration {
        match self.power {
            Power::Battery => Duration::from_secs(3600),
            Power::Mains => Duration::from_secs(600),
        }
    }

    fn voltage_key(&self) -> &'static str {
        match self.version {
            ProtoVersion::V1 => "voltage",
            ProtoVersion::V2 => "battery_voltage",
        }
    }

    fn message(&self, props: Props) -> DeviceMessage {
        let mut m = DeviceMessage::new(self.sid.clone(), Some(self.model.clone()));
        if self.version == ProtoVersion::V1 {
            m.short_id = Some(self.short_id);
        }
        m.props = props;
        m
    }

    /// What `read` returns: the voltage and the cached state.
    pub fn read_message(&self) -> DeviceMessage {
        let mut p = Props::new();
        if self.reports_voltage {
            p.push(self.voltage_key(), self.voltage);
        }
        for (k, v) in &self.state {
            p.push(k, v.clone());
        }
        self.message(p)
    }

    /// A heartbeat: the voltage and the state, as real devices send.
    pub fn heartbeat_message(&self) -> DeviceMessage {
        self.read_message()
    }

    /// A report of `props`.
    pub fn report_message(&self, props: Props) -> DeviceMessage {
        self.message(props)
    }

    /// Takes reported properties into the state (events are not state).
    pub fn absorb(&mut self, props: &Props) {
        for (k, v) in props {
            if self.event_keys.iter().any(|e| e == k) {
                continue;
            }
            if k == self.voltage_key() {
                if let Some(mv) = v.as_u64() {
                    self.voltage = mv as u32;
                }
                continue;
            }
            self.state.remove(k);
            self.state.push(k, v.clone());
        }
    }

    /// Applies a write; returns what to report. Writable keys change the state; event keys
    /// (a `click` written to a wireless switch, the "virtual events" of protocol 1.0.7) are
    /// reported as if they happened. Other keys are refused.
    pub fn apply_write(&mut self, props: &Props) -> Result<Props, ErrorCode> {
        for (k, _) in props {
            let known = self
                .writable_keys
                .iter()
                .chain(&self.event_keys)
                .any(|w| w == k);
            if !known {
                return Err(ErrorCode::Other(format!("Invalid param {k}")));
            }
        }
        let mut report = Props::new();
        for (k, v) in props {
            if self.state.get(k) != Some(v) {
                report.push(k, v.clone());
            }
        }
        self.absorb(props);
        Ok(report)
    }
}
