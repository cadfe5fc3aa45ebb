//! What the bridge publishes about devices, and how it reads the commands sent to them.
//!
//! # State payloads
//!
//! `lumi/<name>` carries one JSON object with every typed property the bridge knows for the
//! device (the catalogue's vocabulary, [`lumi_proto::catalogue`]), plus `linkquality` when
//! known and `last_seen` (ISO-8601 UTC):
//!
//! ```json
//! {"battery":41,"humidity":52.77,"last_seen":"2024-05-01T12:34:56.789Z","temperature":21.2,"voltage":3005}
//! ```
//!
//! Values are the typed values, with the two conventions zigbee2mqtt users and Home
//! Assistant expect:
//!
//! - on/off states of switches, plugs, relays, lights and air conditioners are `"ON"` /
//!   `"OFF"` (`{"state_left":"ON"}`); commands accept any case;
//! - light brightness is 0–255 (`{"brightness":255}`); the gateway's light and the RGB dimmer
//!   count 0–100, and the bridge converts both ways.
//!
//! A device with a light also gets what Home Assistant's JSON light reads from the same
//! topic: `state` (the gateway's `light` property under the name every light uses; `null`
//! until known) and `color_mode: "rgb"`. A device of an unknown model publishes what it sends under `raw`.
//!
//! # Other payloads
//!
//! Availability is `{"state":"online"}` / `{"state":"offline"}` ([`availability_payload`]);
//! `lumi/bridge/devices` is a list of [`DeviceEntry`]; `lumi/bridge/event` carries
//! [`BridgeEvent`]s; legacy topics carry plain values ([`legacy_messages`]).
//!
//! # Commands
//!
//! [`parse_set`] reads a `/set` payload into catalogue writes and [`encode_set`] goes on to
//! the raw properties of a LAN `write`; see [`set`](self::parse_set) for the accepted forms.

mod set;

use std::time::SystemTime;

use lumi_proto::catalogue::{
    Device, DeviceState, HaComponent, HaEntity, HaRole, Property, TypedValue, ValueType,
};
use lumi_proto::lan::Sid;
use serde_json::{Map, Value, json};

use crate::name::FriendlyName;
use crate::time::iso8601;
use crate::topics::Topics;

pub use set::{GetRequest, MAX_PAYLOAD, SetError, encode_set, parse_get, parse_set};

/// The brightness scale on MQTT (zigbee2mqtt and Home Assistant's default).
pub const MQTT_BRIGHTNESS_MAX: u8 = 255;

/// `{"state":"online"}`.
pub const ONLINE: &str = r#"{"state":"online"}"#;
/// `{"state":"offline"}`.
pub const OFFLINE: &str = r#"{"state":"offline"}"#;

/// What a state payload adds to a device's typed readings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extras {
    /// Link quality 0–255, when something measured it (the LAN API does not report one).
    pub linkquality: Option<u8>,
    /// When the device was last heard from.
    pub last_seen: Option<SystemTime>,
}

/// The JSON state of a device as an object (see the [module documentation](self)).
pub fn state_payload(state: &DeviceState, extras: &Extras) -> Map<String, Value> {
    state_entries(state, extras, None)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// [`state_payload`] as JSON text.
pub fn state_json(state: &DeviceState, extras: &Extras) -> String {
    state_json_with(state, extras, None)
}

/// [`state_payload`] as JSON text, with `"action"` when a click or gesture came with it: the
/// bridge's per-report path. The same text as building the object and writing it, but
/// written straight from the entries: no `String` per key and no map nodes (the keys come
/// out in the map's order, sorted).
pub fn state_json_with(state: &DeviceState, extras: &Extras, action: Option<&str>) -> String {
    let mut entries = state_entries(state, extras, action);
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut buf = Vec::with_capacity(256);
    buf.push(b'{');
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut buf, key);
        buf.push(b':');
        let _ = serde_json::to_writer(&mut buf, value);
    }
    buf.push(b'}');
    String::from_utf8(buf).unwrap_or_default()
}

/// A JSON object as text, written in one go into a buffer sized for a typical state (the
/// `Display` of a `Value` goes through `fmt` and grows its `String` several times).
pub fn to_json_string(map: &Map<String, Value>) -> String {
    let mut buf = Vec::with_capacity(256);
    match serde_json::to_writer(&mut buf, map) {
        Ok(()) => String::from_utf8(buf).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// A typed value as it appears on MQTT: on/off states as `"ON"`/`"OFF"`, light brightness
/// on 0–255, everything else as its JSON.
pub fn mqtt_value(device: &Device, property: &Property, value: &TypedValue) -> Value {
    if is_switch_state(device, property)
        && let TypedValue::Text(s) = value
    {
        if s.eq_ignore_ascii_case("on") {
            return Value::from("ON");
        }
        if s.eq_ignore_ascii_case("off") {
            return Value::from("OFF");
        }
    }
    if scaled_brightness(device, property)
        && let Some(v) = value.as_i64()
    {
        return Value::from(brightness_to_mqtt(v));
    }
    value.to_json()
}

/// True for the on/off state of a switch, plug, relay, light or air conditioner: published
/// as `"ON"`/`"OFF"`.
pub(crate) fn is_switch_state(device: &Device, property: &Property) -> bool {
    let on_off = matches!(property.value, ValueType::Enum(v) if v.contains(&"on") && v.contains(&"off") && v.len() == 2);
    if !on_off {
        return false;
    }
    let own = matches!(
        property.ha,
        Some(HaEntity {
            component: HaComponent::Switch | HaComponent::Light,
            ..
        })
    );
    own || has_part(device, property, HaRole::Power)
}

/// True for the brightness of a light that counts 0–100: 0–255 on MQTT.
pub(crate) fn scaled_brightness(device: &Device, property: &Property) -> bool {
    matches!(property.value, ValueType::Integer { max: Some(100), .. })
        && has_part(device, property, HaRole::Brightness)
}

/// True when `property` is a part with `role` of one of the device's entities.
fn has_part(device: &Device, property: &Property, role: HaRole) -> bool {
    device.properties.iter().filter_map(|p| p.ha).any(|ha| {
        ha.parts
            .iter()
            .any(|part| part.role == role && part.property == property.name)
    })
}

/// 0–100 → 0–255, rounded.
pub(crate) fn brightness_to_mqtt(v: i64) -> i64 {
    (v.clamp(0, 100) * 255 + 50) / 100
}

/// 0–255 → 0–100, rounded, never 0 for a value above 0 (a dim light stays on).
pub(crate) fn brightness_from_mqtt(v: i64) -> i64 {
    let v = v.clamp(0, 255);
    if v == 0 {
        0
    } else {
        ((v * 100 + 127) / 255).max(1)
    }
}

/// The keys Home Assistant's JSON light reads: `state` for a light whose property has
/// another name (the gateway's `light`), `color_mode` when it has a colour. `state` is always
/// there, `null` while unknown: older Home Assistant versions fail on a JSON light state
/// without it.
/// The state's keys and values, each key once (a later value replaces an earlier one, as in a
/// map), in no particular order: what [`state_payload`] collects into an object and
/// [`state_json_with`] sorts and writes.
fn state_entries<'a>(
    state: &'a DeviceState,
    extras: &Extras,
    action: Option<&'a str>,
) -> Vec<(&'a str, Value)> {
    let mut entries: Vec<(&str, Value)> = Vec::with_capacity(state.readings.len() + 5);
    match state.device {
        Some(device) => {
            for r in &state.readings {
                let value = match device.property(r.property) {
                    Some(p) => mqtt_value(device, p, &r.value),
                    None => r.value.to_json(),
                };
                put(&mut entries, r.property, value);
            }
            add_light_view(device, &mut entries);
        }
        None => {
            if !state.raw.is_empty() {
                let raw: Map<String, Value> = state
                    .raw
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.clone()))
                    .collect();
                put(&mut entries, "raw", Value::Object(raw));
            }
        }
    }
    if let Some(lq) = extras.linkquality {
        put(&mut entries, "linkquality", Value::from(lq));
    }
    if let Some(t) = extras.last_seen {
        put(&mut entries, "last_seen", Value::String(iso8601(t)));
    }
    if let Some(a) = action {
        put(&mut entries, "action", Value::from(a));
    }
    entries
}

/// As `Map::insert`: a later value for the same key replaces the earlier one in place.
fn put<'a>(entries: &mut Vec<(&'a str, Value)>, key: &'a str, value: Value) {
    match entries.iter_mut().find(|(k, _)| *k == key) {
        Some(e) => e.1 = value,
        None => entries.push((key, value)),
    }
}

fn get<'e>(entries: &'e [(&str, Value)], key: &str) -> Option<&'e Value> {
    entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// What Home Assistant's JSON light reads: `state` and `color_mode` (module docs).
fn add_light_view(device: &Device, entries: &mut Vec<(&str, Value)>) {
    for p in device.properties {
        let Some(ha) = p.ha.filter(|ha| ha.component == HaComponent::Light) else {
            continue;
        };
        if p.name == "state" || device.property("state").is_none() {
            let v = get(entries, p.name).cloned().unwrap_or(Value::Null);
            put(entries, "state", v);
        }
        let color = ha.parts.iter().find(|part| part.role == HaRole::Color);
        if let Some(c) = color
            && get(entries, c.property).is_some_and(|v| !v.is_null())
        {
            put(entries, "color_mode", Value::from("rgb"));
        }
    }
}

/// True for properties that are events (button clicks, cube gestures): published to
/// `<name>/action` for Home Assistant's device triggers, and not worth keeping in a cached
/// state (a retained `"action":"single"` would replay the click forever).
pub fn is_event(property: &Property) -> bool {
    matches!(
        property.ha,
        Some(HaEntity {
            component: HaComponent::DeviceTrigger,
            ..
        })
    )
}

/// The event a state carries, for `<name>/action` (`"single"`, `"flip90"`).
pub fn action(state: &DeviceState) -> Option<&str> {
    let device = state.device?;
    state.readings.iter().find_map(|r| {
        let p = device.property(r.property)?;
        if is_event(p) { r.value.as_str() } else { None }
    })
}

/// The availability payload.
pub fn availability_payload(online: bool) -> &'static str {
    if online { ONLINE } else { OFFLINE }
}

/// True for `online`, false for `offline`, from an availability or bridge-state payload
/// (JSON or the bare words older bridges used); `None` for anything else.
pub fn parse_availability(payload: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    let word = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => m.get("state")?.as_str()?.to_owned(),
        Ok(Value::String(s)) => s,
        _ => text.to_owned(),
    };
    match word.to_ascii_lowercase().as_str() {
        "online" => Some(true),
        "offline" => Some(false),
        _ => None,
    }
}

/// One device in `lumi/bridge/devices`.
#[derive(Debug, Clone)]
pub struct DeviceEntry<'a> {
    /// Its sid.
    pub sid: &'a Sid,
    /// Its friendly name.
    pub name: &'a FriendlyName,
    /// The model string its gateway reports.
    pub model: &'a str,
    /// Its catalogue entry, `None` when the model is not catalogued.
    pub device: Option<&'static Device>,
    /// The gateway it is paired with (`None` for a gateway).
    pub gateway: Option<&'a Sid>,
    /// Online, offline, or not known yet.
    pub online: Option<bool>,
    /// When it was last heard from.
    pub last_seen: Option<SystemTime>,
}

impl DeviceEntry<'_> {
    /// The entry as JSON: `sid`, `friendly_name`, `model`, `type` (`gateway` or `device`),
    /// `gateway`, `supported`, `availability`, `last_seen`, and `definition` (the catalogue
    /// entry: product code, vendor, description, kind, power source, properties with type,
    /// unit and whether they are writable, events) or `null`.
    pub fn to_json(&self) -> Value {
        let gateway_kind = self
            .device
            .is_some_and(|d| d.properties.iter().any(|p| p.name == "pairing"));
        let definition = self.device.map_or(Value::Null, definition);
        let mut m = Map::new();
        m.insert("sid".into(), Value::from(self.sid.as_str()));
        m.insert("friendly_name".into(), Value::from(self.name.as_str()));
        m.insert("model".into(), Value::from(self.model));
        m.insert(
            "type".into(),
            Value::from(if gateway_kind || self.gateway.is_none() {
                "gateway"
            } else {
                "device"
            }),
        );
        m.insert(
            "gateway".into(),
            self.gateway
                .map_or(Value::Null, |g| Value::from(g.as_str())),
        );
        m.insert("supported".into(), Value::from(self.device.is_some()));
        m.insert(
            "availability".into(),
            self.online.map_or(Value::Null, |o| {
                Value::from(if o { "online" } else { "offline" })
            }),
        );
        m.insert(
            "last_seen".into(),
            self.last_seen
                .map_or(Value::Null, |t| Value::from(iso8601(t))),
        );
        m.insert("definition".into(), definition);
        Value::Object(m)
    }
}

fn definition(d: &'static Device) -> Value {
    let properties: Vec<Value> = d
        .properties
        .iter()
        .map(|p| {
            let (kind, values) = match p.value {
                ValueType::Bool => ("bool", None),
                ValueType::Integer { .. } => ("integer", None),
                ValueType::Number { .. } => ("number", None),
                ValueType::Enum(v) => ("enum", Some(v)),
                ValueType::Text => ("text", None),
                ValueType::Color => ("color", None),
            };
            let mut o = json!({
                "name": p.name,
                "type": kind,
                "writable": p.writable(),
            });
            let unit = if scaled_brightness(d, p) {
                None
            } else {
                p.unit
            };
            if let (Some(u), Value::Object(m)) = (unit, &mut o) {
                m.insert("unit".into(), Value::from(u));
            }
            if let (Some(v), Value::Object(m)) = (values, &mut o) {
                m.insert("values".into(), json!(v));
            }
            o
        })
        .collect();
    json!({
        "model": d.product_code,
        "vendor": serde_json::to_value(d.manufacturer).unwrap_or(Value::Null),
        "description": d.name,
        "kind": serde_json::to_value(d.kind).unwrap_or(Value::Null),
        "power_source": serde_json::to_value(d.power).unwrap_or(Value::Null),
        "models": d.models,
        "properties": properties,
        "events": d.events(),
    })
}

/// The `lumi/bridge/devices` payload: a JSON array of entries.
///
/// Written entry by entry: the whole list as one `Value` tree took 2 MB of the bridge's peak
/// memory with 500 devices (heaptrack, `lumi bench`), about four times the text.
pub fn devices_payload(entries: &[DeviceEntry<'_>]) -> String {
    let mut out = Vec::with_capacity(entries.len() * 1100 + 2);
    out.push(b'[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing a `Value` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &entry.to_json());
    }
    out.push(b']');
    String::from_utf8(out).unwrap_or_default()
}

/// Something that happened to the bridge's devices, for `lumi/bridge/event`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BridgeEvent<'a> {
    /// A device was seen for the first time.
    DeviceJoined {
        /// Its sid.
        sid: &'a Sid,
        /// Its friendly name.
        name: &'a FriendlyName,
        /// Its model as reported.
        model: &'a str,
    },
    /// A device was removed from its gateway.
    DeviceRemoved {
        /// Its sid.
        sid: &'a Sid,
        /// Its friendly name.
        name: &'a FriendlyName,
    },
    /// A device got a new friendly name.
    DeviceRenamed {
        /// Its sid.
        sid: &'a Sid,
        /// The old name.
        from: &'a FriendlyName,
        /// The new name.
        to: &'a FriendlyName,
    },
}

impl BridgeEvent<'_> {
    /// The event as JSON: `{"type": "device_joined", "data": {…}}`, as zigbee2mqtt.
    pub fn to_json(&self) -> String {
        let (kind, data) = match self {
            BridgeEvent::DeviceJoined { sid, name, model } => (
                "device_joined",
                json!({"sid": sid.as_str(), "friendly_name": name.as_str(), "model": model}),
            ),
            BridgeEvent::DeviceRemoved { sid, name } => (
                "device_removed",
                json!({"sid": sid.as_str(), "friendly_name": name.as_str()}),
            ),
            BridgeEvent::DeviceRenamed { sid, from, to } => (
                "device_renamed",
                json!({"sid": sid.as_str(), "from": from.as_str(), "to": to.as_str()}),
            ),
        };
        json!({"type": kind, "data": data}).to_string()
    }
}

/// The legacy plain-value messages of a state: `(<legacy>/<model>/<sid>/<property>, value,
/// event)` for every typed property that has a value (texts bare, numbers and booleans as
/// JSON, colours as JSON objects); `event` is true for an event ([`is_event`]: a click, a
/// flip), which is never retained. Empty when legacy topics are off.
pub fn legacy_messages(
    topics: &Topics,
    model: &str,
    sid: &Sid,
    state: &DeviceState,
) -> Vec<(String, String, bool)> {
    let Some(device) = state.device else {
        return Vec::new();
    };
    state
        .readings
        .iter()
        .filter(|r| r.value != TypedValue::Null)
        .filter_map(|r| {
            let topic = topics.legacy(model, sid, r.property)?;
            let property = device.property(r.property);
            let value = match property {
                Some(p) => mqtt_value(device, p, &r.value),
                None => r.value.to_json(),
            };
            let payload = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            Some((topic, payload, property.is_some_and(is_event)))
        })
        .collect()
}

#[cfg(test)]
mod tests;
