//! The device registry: what the client knows about every device, kept by the driver and
//! handed out as snapshots ([`DeviceInfo`], [`GatewayInfo`]).
//!
//! A record merges everything a device said: each `read_ack`, report and heartbeat is decoded
//! with the catalogue (`catalogue::decode`, in the gateway's protocol version) and its typed
//! values replace the older ones property by property; raw leftovers (unknown keys, values
//! that did not convert) are kept the same way. Two things are not merged into the state:
//!
//! - events (`action` of buttons, switches and cubes): they happened, they are not a state;
//!   they travel in [`super::Event::Report`] only;
//! - `occupancy` from a motion sensor's *heartbeat*: firmware repeats a stale `status` there
//!   (`lan-api.md` §9 quirk 7; Home Assistant ignores it too).
//!
//! ## Availability
//!
//! A sub-device is available until it has been silent (no report, no heartbeat) for longer
//! than [`Availability`] allows for its kind. The clock starts when the device becomes known,
//! so a device is available at start-up and only a real silence makes it unavailable.

use std::time::Duration;

use lumi_proto::catalogue::{
    self, Device, DeviceKind, DeviceState, PowerSource, Reading, TypedValue,
};
use lumi_proto::lan::{Props, ProtoVersion, Sid};
use serde::Serialize;
use tokio::time::Instant;

use super::event::{Origin, secs};

/// How long a sub-device may be silent before it is unavailable. Data, not code: the
/// defaults follow the documented heartbeat periods with margin.
///
/// | power | heartbeat (documented) | default silence |
/// |---|---|---|
/// | battery (sensors, buttons) | about hourly | 2 h (Home Assistant uses 150 min) |
/// | mains (plugs, wired switches, relays) | every 10 min | 25 min (two missed heartbeats) |
///
/// A device of unknown model gets the battery allowance (the longer one, so a guess never
/// makes a device flap). `per_sid` overrides it for one device (the bridge's per-device
/// `availability_timeout`), else `per_kind` for a [`DeviceKind`].
#[derive(Debug, Clone, PartialEq)]
pub struct Availability {
    /// Allowed silence for battery devices.
    pub battery: Duration,
    /// Allowed silence for mains devices.
    pub mains: Duration,
    /// Overrides by kind, first match wins.
    pub per_kind: Vec<(DeviceKind, Duration)>,
    /// Overrides for single devices, first match wins (before `per_kind`).
    pub per_sid: Vec<(Sid, Duration)>,
}

impl Default for Availability {
    fn default() -> Self {
        Availability {
            battery: Duration::from_secs(2 * 3600),
            mains: Duration::from_secs(25 * 60),
            per_kind: Vec::new(),
            per_sid: Vec::new(),
        }
    }
}

impl Availability {
    /// The allowed silence for a device (of unknown model when `device` is `None`).
    pub fn silence_for(&self, sid: &Sid, device: Option<&Device>) -> Duration {
        if let Some((_, t)) = self.per_sid.iter().find(|(s, _)| s == sid) {
            return *t;
        }
        let Some(d) = device else {
            return self.battery;
        };
        if let Some((_, t)) = self.per_kind.iter().find(|(k, _)| *k == d.kind) {
            return *t;
        }
        match d.power {
            PowerSource::Battery => self.battery,
            PowerSource::Mains => self.mains,
        }
    }
}

/// What the client knows about one device (or a gateway itself).
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) sid: Sid,
    pub(crate) model: Option<String>,
    pub(crate) device: Option<&'static Device>,
    pub(crate) readings: Vec<Reading>,
    pub(crate) raw: Props,
    pub(crate) known_since: Instant,
    pub(crate) last_seen: Option<Instant>,
    pub(crate) available: bool,
    /// The read at start-up failed: the state is unknown until the device reports.
    pub(crate) unread: bool,
}

/// Where a message about a device came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Read,
    Report,
    Heartbeat,
}

impl Record {
    pub(crate) fn new(sid: Sid, model: Option<String>, now: Instant) -> Record {
        let device = model.as_deref().and_then(catalogue::lookup);
        Record {
            sid,
            model,
            device,
            readings: Vec::new(),
            raw: Props::new(),
            known_since: now,
            last_seen: None,
            available: true,
            unread: false,
        }
    }

    /// Sets the model if the message names one (models can appear late: an empty model
    /// until the gateway's firmware knows the device).
    pub(crate) fn learn_model(&mut self, model: Option<&str>) {
        if let Some(m) = model.filter(|m| !m.trim().is_empty())
            && self.model.as_deref() != Some(m)
        {
            self.model = Some(m.to_owned());
            self.device = catalogue::lookup(m);
        }
    }

    /// Decodes `props` (with the record's model) and merges them; returns the typed state of
    /// this message alone.
    pub(crate) fn absorb(
        &mut self,
        version: ProtoVersion,
        model: Option<&str>,
        props: &Props,
        source: Source,
    ) -> DeviceState {
        self.learn_model(model);
        let state = catalogue::decode(self.model.as_deref().unwrap_or(""), version, props);
        let mut merged = DeviceState {
            device: self.device,
            readings: std::mem::take(&mut self.readings),
            raw: std::mem::take(&mut self.raw),
        };
        merged.absorb(&state, source == Source::Heartbeat);
        self.readings = merged.readings;
        self.raw = merged.raw;
        if source == Source::Read {
            self.unread = false;
        }
        state
    }

    /// The merged typed state.
    pub(crate) fn state(&self) -> DeviceState {
        DeviceState {
            device: self.device,
            readings: self.readings.clone(),
            raw: self.raw.clone(),
        }
    }

    pub(crate) fn value(&self, property: &str) -> Option<&TypedValue> {
        self.readings
            .iter()
            .find(|r| r.property == property)
            .map(|r| &r.value)
    }

    /// Silence so far (since the device last spoke, or since it became known).
    pub(crate) fn silent_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_seen.unwrap_or(self.known_since))
    }

    pub(crate) fn info(&self, gateway: &Sid, now: Instant) -> DeviceInfo {
        DeviceInfo {
            sid: self.sid.clone(),
            gateway: gateway.clone(),
            model: self.model.clone(),
            name: self.device.map(|d| d.name),
            kind: self.device.map(|d| d.kind),
            state: self.state(),
            battery: self
                .value("battery")
                .and_then(TypedValue::as_i64)
                .and_then(|b| u8::try_from(b).ok()),
            voltage: self.value("voltage").and_then(TypedValue::as_i64),
            last_seen: self.last_seen.map(|t| now.saturating_duration_since(t)),
            available: self.available,
        }
    }
}

/// A snapshot of one sub-device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceInfo {
    /// Its sid.
    pub sid: Sid,
    /// The gateway it is paired with.
    pub gateway: Sid,
    /// Its model as the gateway names it (`None`: not named yet).
    pub model: Option<String>,
    /// The catalogue's name for it.
    pub name: Option<&'static str>,
    /// Its kind, when the model is catalogued.
    pub kind: Option<DeviceKind>,
    /// Its typed state (every property it has reported) and raw leftovers.
    pub state: DeviceState,
    /// Battery in % (battery devices that reported a voltage).
    pub battery: Option<u8>,
    /// Supply or battery voltage in mV.
    pub voltage: Option<i64>,
    /// Time since it last reported or heartbeat (`None`: not since the client started).
    #[serde(serialize_with = "opt_secs")]
    pub last_seen: Option<Duration>,
    /// False once it has been silent for longer than its kind allows.
    pub available: bool,
}

/// The state of a gateway's device list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegistryStatus {
    /// The list or some devices are being read.
    Loading,
    /// Every device was read (or tried).
    Ready,
    /// The list could not be read.
    Failed,
}

/// A snapshot of one gateway.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatewayInfo {
    /// Its sid.
    pub sid: Sid,
    /// Its command address.
    pub addr: std::net::SocketAddr,
    /// Its model (`gateway`, `acpartner.v3`, …), when known.
    pub model: Option<String>,
    /// Its protocol version, when known.
    pub version: Option<ProtoVersion>,
    /// How it was found.
    pub origin: Origin,
    /// True while heartbeats arrive.
    pub online: bool,
    /// Time since its last heartbeat (`None`: none seen).
    #[serde(serialize_with = "opt_secs")]
    pub last_heartbeat: Option<Duration>,
    /// How old its token is: time since a heartbeat or `get_id_list` brought a fresh one
    /// (`None`: none yet). Writes are keyed with it; gateways rotate it every 10 s.
    #[serde(serialize_with = "opt_secs")]
    pub token_age: Option<Duration>,
    /// Datagrams received from it.
    pub datagrams: u64,
    /// Whether a password is configured for it (writes need one).
    pub has_password: bool,
    /// Its own typed state (light, illuminance, …).
    pub state: DeviceState,
    /// How many sub-devices it has.
    pub devices: usize,
    /// Whether its device list is loaded.
    pub registry: RegistryStatus,
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => secs(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(s: &str) -> Sid {
        Sid::new(s).unwrap()
    }

    #[test]
    fn merges_values_but_not_events_or_stale_motion() {
        let now = Instant::now();
        let mut r = Record::new(sid("158d0001a2b3c4"), None, now);
        // A button: the press is an event, the battery a state.
        let st = r.absorb(
            ProtoVersion::V1,
            Some("switch"),
            &Props::new().with("status", "click").with("voltage", 3005),
            Source::Report,
        );
        assert_eq!(st.get("action"), Some(&TypedValue::text("single")));
        assert_eq!(r.value("action"), None);
        assert_eq!(r.value("battery"), Some(&TypedValue::Int(41)));
        let info = r.info(&sid("7811dcb06972"), now);
        assert_eq!(info.battery, Some(41));
        assert_eq!(info.voltage, Some(3005));
        assert_eq!(info.kind, Some(DeviceKind::Button));

        let mut m = Record::new(sid("158d000112fb5d"), Some("motion".into()), now);
        m.absorb(
            ProtoVersion::V1,
            None,
            &Props::new().with("status", "motion"),
            Source::Heartbeat,
        );
        assert_eq!(m.value("occupancy"), None, "heartbeat motion is stale");
        m.absorb(
            ProtoVersion::V1,
            None,
            &Props::new().with("status", "motion"),
            Source::Report,
        );
        assert_eq!(m.value("occupancy"), Some(&TypedValue::Bool(true)));
        // Unknown keys are kept raw, newest value once.
        m.absorb(
            ProtoVersion::V1,
            None,
            &Props::new().with("x", 1),
            Source::Report,
        );
        m.absorb(
            ProtoVersion::V1,
            None,
            &Props::new().with("x", 2),
            Source::Report,
        );
        assert_eq!(serde_json::to_string(&m.raw).unwrap(), r#"{"x":2}"#);
    }

    #[test]
    fn availability_by_power_kind_and_override() {
        let a = Availability::default();
        let plug = catalogue::lookup("plug").unwrap();
        let magnet = catalogue::lookup("magnet").unwrap();
        let s: Sid = "158d0001a2b3c4".parse().unwrap();
        let other: Sid = "158d0001a2b3c5".parse().unwrap();
        assert_eq!(a.silence_for(&s, Some(plug)), Duration::from_secs(1500));
        assert_eq!(a.silence_for(&s, Some(magnet)), Duration::from_secs(7200));
        assert_eq!(a.silence_for(&s, None), Duration::from_secs(7200));
        let a = Availability {
            per_kind: vec![(DeviceKind::Plug, Duration::from_secs(60))],
            per_sid: vec![(s.clone(), Duration::from_secs(5))],
            ..a
        };
        assert_eq!(a.silence_for(&other, Some(plug)), Duration::from_secs(60));
        assert_eq!(a.silence_for(&s, Some(plug)), Duration::from_secs(5));
        assert_eq!(a.silence_for(&s, None), Duration::from_secs(5));
    }
}
