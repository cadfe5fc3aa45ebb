//! Simulated Zigbee sub-devices behind a gateway.
//!
//! A sub-device holds its raw state in its gateway's dialect (v1 `status`, v2
//! `window_status`, …), so what it sends is what a real device of that model sends.

use std::time::Duration;

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
        }
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
        let mut p = Props::new().with(self.voltage_key(), self.voltage);
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
