//! Raw v1/v2 properties → typed values in lumi's vocabulary.

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use crate::lan::{Props, ProtoVersion};

use super::model::{Codec, Device, Property, ValueType};
use super::sound::sound_by_id;
use super::value::{TypedValue, rgb_to_light};

/// One typed property value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    /// Canonical property name.
    pub property: &'static str,
    /// Its typed value.
    pub value: TypedValue,
}

/// The typed state carried by one message: readings in lumi's vocabulary plus whatever raw
/// properties could not be typed.
///
/// Serialises as `{"model": "sensor_ht", "values": {"temperature": 21.2, …}, "raw": {…}}`
/// (`model` is the catalogue's usual model string, `null` for an unknown model).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceState {
    /// The catalogue entry, `None` for an unknown model.
    pub device: Option<&'static Device>,
    /// The typed values, one per property, in the catalogue's property order.
    pub readings: Vec<Reading>,
    /// Raw properties that are not in the catalogue for this model, or whose value did not
    /// convert (kept exactly as received, in order).
    pub raw: Props,
}

impl DeviceState {
    /// The typed value of a property.
    pub fn get(&self, property: &str) -> Option<&TypedValue> {
        self.readings
            .iter()
            .find(|r| r.property == property)
            .map(|r| &r.value)
    }

    /// True when there is neither a reading nor a raw leftover.
    pub fn is_empty(&self) -> bool {
        self.readings.is_empty() && self.raw.is_empty()
    }

    /// The readings as a JSON object `{"temperature": 21.2, …}`.
    pub fn values_json(&self) -> Value {
        Value::Object(
            self.readings
                .iter()
                .map(|r| (r.property.to_owned(), r.value.to_json()))
                .collect(),
        )
    }

    /// Merges a newer message's state into this accumulated one: each typed value replaces
    /// the older one of its property, raw leftovers likewise, and a newly learned model is
    /// taken. Two things are not merged, because they are not a state:
    ///
    /// - events (the property mapped to a device trigger: `action` of buttons and cubes);
    /// - `occupancy` from a motion sensor's *heartbeat* (`heartbeat` true): firmware repeats
    ///   a stale `status` there (`lan-api.md` §9 quirk 7).
    ///
    /// ```
    /// use lumi_proto::catalogue;
    /// use lumi_proto::lan::{Props, ProtoVersion};
    /// let mut s = catalogue::decode("sensor_switch.aq2", ProtoVersion::V1, &Props::new().with("voltage", 3005));
    /// let click = catalogue::decode("sensor_switch.aq2", ProtoVersion::V1, &Props::new().with("status", "click"));
    /// s.absorb(&click, false);
    /// assert_eq!(s.get("action"), None);
    /// assert!(s.get("voltage").is_some());
    /// ```
    pub fn absorb(&mut self, newer: &DeviceState, heartbeat: bool) {
        if newer.device.is_some() {
            self.device = newer.device;
        }
        let device = self.device;
        let skip = |property: &str| {
            let Some(d) = device else { return false };
            let event = d.property(property).is_some_and(|p| {
                p.ha.is_some_and(|h| h.component == super::HaComponent::DeviceTrigger)
            });
            event || (heartbeat && d.kind == super::DeviceKind::Motion && property == "occupancy")
        };
        if self.readings.is_empty() {
            // The first state of a device (hundreds are kept): room for what it reports, not
            // the doubling growth's spare slots.
            self.readings.reserve_exact(newer.readings.len());
        }
        for r in &newer.readings {
            if !skip(r.property) {
                self.push(r.property, r.value.clone());
            }
        }
        for (k, v) in newer.raw.iter() {
            self.raw.remove(k);
            self.raw.push(k, v.clone());
        }
    }

    fn push(&mut self, property: &'static str, value: TypedValue) {
        // One reading per property: a later raw key for the same property wins (as in
        // `Props::get`), keeping the first position.
        match self.readings.iter_mut().find(|r| r.property == property) {
            Some(r) => r.value = value,
            None => self.readings.push(Reading { property, value }),
        }
    }
}

impl Serialize for DeviceState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Values<'a>(&'a [Reading]);
        impl Serialize for Values<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for r in self.0 {
                    m.serialize_entry(r.property, &r.value)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("model", &self.device.map(Device::model))?;
        m.serialize_entry("values", &Values(&self.readings))?;
        m.serialize_entry("raw", &self.raw)?;
        m.end()
    }
}

/// Battery percentage from a voltage in mV: linear from 2800 mV (0 %) to 3300 mV (100 %),
/// rounded, clamped to 0–100 — the mapping Home Assistant's xiaomi_aqara integration uses.
/// (Lumi defines none; below 2800 mV the docs call the battery low.)
///
/// ```
/// use lumi_proto::catalogue::battery_percent;
/// assert_eq!(battery_percent(3005.0), 41);
/// assert_eq!(battery_percent(3300.0), 100);
/// assert_eq!(battery_percent(2500.0), 0);
/// ```
pub fn battery_percent(millivolts: f64) -> u8 {
    const EMPTY: f64 = 2800.0;
    const FULL: f64 = 3300.0;
    if millivolts.is_nan() {
        return 0;
    }
    let pct = ((millivolts - EMPTY) * 100.0 / (FULL - EMPTY)).round();
    pct.clamp(0.0, 100.0) as u8
}

pub(super) fn decode_device(
    device: &'static Device,
    version: ProtoVersion,
    props: &Props,
) -> DeviceState {
    let mut state = DeviceState {
        device: Some(device),
        readings: Vec::new(),
        raw: Props::new(),
    };
    let other = match version {
        ProtoVersion::V1 => ProtoVersion::V2,
        ProtoVersion::V2 => ProtoVersion::V1,
    };
    for (key, value) in props.iter() {
        let k = key.trim();
        // The version's own keys first; a key only the other version knows is read with the
        // other version's meaning (gateways mixing dialects, mislabelled captures).
        let mut outcome = convert_key(device, version, k, value, props, &mut state);
        if outcome == Outcome::Unmatched {
            outcome = convert_key(device, other, k, value, props, &mut state);
        }
        if outcome != Outcome::Converted {
            state.raw.push(key, value.clone());
        }
    }
    // Catalogue order, whatever the wire order: v1 and v2 messages give identical states.
    state.readings.sort_by_key(|r| {
        device
            .properties
            .iter()
            .position(|p| p.name == r.property)
            .unwrap_or(usize::MAX)
    });
    state
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// No property reads this key.
    Unmatched,
    /// Every property that reads it converted the value.
    Converted,
    /// Some property could not convert it (the raw pair is kept too).
    Failed,
}

fn convert_key(
    device: &'static Device,
    version: ProtoVersion,
    key: &str,
    value: &Value,
    props: &Props,
    state: &mut DeviceState,
) -> Outcome {
    let mut outcome = Outcome::Unmatched;
    for prop in device.properties {
        for source in prop.sources(version).iter().filter(|s| s.key == key) {
            match convert(source.codec, value, props).filter(|v| fits(prop, v)) {
                Some(v) => {
                    state.push(prop.name, v);
                    if outcome == Outcome::Unmatched {
                        outcome = Outcome::Converted;
                    }
                }
                None => outcome = Outcome::Failed,
            }
        }
    }
    outcome
}

/// True when a typed value is of the property's type and within its bounds (null always fits).
pub(super) fn fits(prop: &Property, v: &TypedValue) -> bool {
    match (prop.value, v) {
        (_, TypedValue::Null) => true,
        (ValueType::Bool, TypedValue::Bool(_)) => true,
        (ValueType::Integer { min, max }, TypedValue::Int(i)) => {
            min.is_none_or(|m| *i >= m) && max.is_none_or(|m| *i <= m)
        }
        (ValueType::Number { min, max }, TypedValue::Int(_) | TypedValue::Float(_)) => {
            let f = v.as_f64().unwrap_or(f64::NAN);
            f.is_finite() && min.is_none_or(|m| f >= m) && max.is_none_or(|m| f <= m)
        }
        (ValueType::Enum(values), TypedValue::Text(s)) => values.contains(&s.as_str()),
        (ValueType::Text, TypedValue::Text(_)) => true,
        (ValueType::Color, TypedValue::Color(_)) => true,
        _ => false,
    }
}

/// A raw number: a JSON number or a string holding one (surrounding spaces ignored).
/// Non-finite values (`"NaN"`, `"inf"`) are refused.
pub(super) fn number(v: &Value) -> Option<f64> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let s = s.trim();
            // Rust also parses "inf", "infinity" and "nan": only digits, sign, point, exponent.
            if s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            {
                return None;
            }
            s.parse::<f64>().ok()?
        }
        _ => return None,
    };
    f.is_finite().then_some(f)
}

/// The largest magnitude kept as a whole number (exact in an f64).
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// A raw whole number (`"120"`, `120`, `120.0`).
pub(super) fn integer(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = number(v)?;
    (f.fract() == 0.0 && f.abs() <= MAX_EXACT).then_some(f as i64)
}

/// A raw text: strings as they are, numbers and booleans printed.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// "unknown" and "invalid" are how the docs spell "no value".
fn is_unknown(s: &str) -> bool {
    s.eq_ignore_ascii_case("unknown") || s.eq_ignore_ascii_case("invalid")
}

/// Looks a raw text up in a `(raw, canonical)` map: exact first, then ignoring case.
fn lookup(map: &'static [(&'static str, &'static str)], raw: &str) -> Option<&'static str> {
    let raw = raw.trim();
    map.iter()
        .find(|(r, _)| *r == raw)
        .or_else(|| map.iter().find(|(r, _)| r.eq_ignore_ascii_case(raw)))
        .map(|(_, c)| *c)
}

/// `"<delta>,<ms>"` of the v1 cube `rotate` key.
fn rotate(v: &Value) -> Option<(f64, Option<i64>)> {
    let s = text(v)?;
    let (delta, ms) = match s.split_once(',') {
        Some((d, m)) => (d, Some(m)),
        None => (s.as_str(), None),
    };
    let delta = number(&Value::String(delta.to_owned()))?;
    let ms = match ms {
        Some(m) => Some(integer(&Value::String(m.to_owned()))?),
        None => None,
    };
    Some((delta, ms))
}

fn rotate_direction(degrees: f64) -> &'static str {
    if degrees > 0.0 {
        "rotate_right"
    } else if degrees < 0.0 {
        "rotate_left"
    } else {
        "rotate"
    }
}

/// A decimal as a whole number when it has no fraction.
fn decimal(f: f64) -> TypedValue {
    if f.fract() == 0.0 && f.abs() <= MAX_EXACT {
        TypedValue::Int(f as i64)
    } else {
        TypedValue::Float(f)
    }
}

fn u32_value(v: &Value) -> Option<u32> {
    integer(v).and_then(|i| u32::try_from(i).ok())
}

/// Converts one raw value; `None` when it does not convert.
fn convert(codec: Codec, v: &Value, props: &Props) -> Option<TypedValue> {
    Some(match codec {
        Codec::Text => TypedValue::Text(text(v)?),
        Codec::Integer { invalid } => {
            let i = integer(v)?;
            if invalid.contains(&i) {
                TypedValue::Null
            } else {
                TypedValue::Int(i)
            }
        }
        Codec::Scaled { divisor, invalid } => {
            let f = number(v)?;
            if invalid.iter().any(|&x| x as f64 == f) {
                TypedValue::Null
            } else {
                TypedValue::Float(f / f64::from(divisor.max(1)))
            }
        }
        Codec::Decimal => decimal(number(v)?),
        Codec::Enum(map) => {
            let raw = text(v)?;
            match lookup(map, &raw) {
                Some(c) => TypedValue::text(c),
                None if is_unknown(raw.trim()) => TypedValue::Null,
                None => return None,
            }
        }
        Codec::Bool { on, off } => {
            let raw = text(v)?;
            let raw = raw.trim();
            if on.iter().any(|x| x.eq_ignore_ascii_case(raw)) {
                TypedValue::Bool(true)
            } else if off.iter().any(|x| x.eq_ignore_ascii_case(raw)) {
                TypedValue::Bool(false)
            } else if is_unknown(raw) {
                TypedValue::Null
            } else {
                return None;
            }
        }
        Codec::Present(b) => TypedValue::Bool(b),
        Codec::Battery => TypedValue::Int(i64::from(battery_percent(number(v)?))),
        Codec::RotateAction => TypedValue::text(rotate_direction(rotate(v)?.0)),
        // delta × 3.6, computed as delta × 36 / 10 so that whole deltas give exact tenths.
        Codec::RotateAngle => decimal(rotate(v)?.0 * 36.0 / 10.0),
        Codec::RotateTime => TypedValue::Int(rotate(v)?.1?),
        Codec::CubeStatus(map) => {
            let raw = text(v)?;
            match lookup(map, &raw) {
                Some("rotate") => {
                    let degrees = props
                        .iter()
                        .filter(|(k, _)| k.trim() == "rotate_degree")
                        .filter_map(|(_, d)| number(d))
                        .last();
                    TypedValue::text(degrees.map_or("rotate", rotate_direction))
                }
                Some(c) => TypedValue::text(c),
                None if is_unknown(raw.trim()) => TypedValue::Null,
                None => return None,
            }
        }
        Codec::Axis(n) => {
            let s = text(v)?;
            let parts: Vec<&str> = s.split(',').collect();
            if parts.len() != 3 {
                return None;
            }
            let part = parts.get(usize::from(n))?;
            TypedValue::Int(integer(&Value::String((*part).to_owned()))?)
        }
        Codec::AlarmState(codes) => {
            let code = integer(v)?;
            let c = codes.iter().find(|c| c.code == code)?;
            c.alarm.map_or(TypedValue::Null, TypedValue::Bool)
        }
        Codec::AlarmFault(codes) => {
            let code = integer(v)?;
            TypedValue::text(codes.iter().find(|c| c.code == code)?.fault)
        }
        Codec::UnlockMethod(methods) => {
            let raw = u32_value(v)?;
            let method = raw >> 16;
            TypedValue::text(methods.iter().find(|(m, _)| *m == method)?.1)
        }
        Codec::UnlockUser => TypedValue::Int(i64::from(u32_value(v)? & 0xFFFF)),
        Codec::RgbState => TypedValue::text(if rgb_to_light(u32_value(v)?).on {
            "on"
        } else {
            "off"
        }),
        Codec::RgbBrightness => TypedValue::Int(i64::from(rgb_to_light(u32_value(v)?).brightness)),
        Codec::RgbColor => TypedValue::Color(rgb_to_light(u32_value(v)?).color),
        Codec::Sound => {
            let id = u32_value(v)?;
            TypedValue::text(sound_by_id(id)?.name()?)
        }
    })
}
