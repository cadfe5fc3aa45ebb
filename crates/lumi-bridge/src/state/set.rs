//! Commands: `/set` and `/get` payloads → catalogue writes and reads.
//!
//! Accepted forms, as zigbee2mqtt and Home Assistant send them:
//!
//! ```text
//! lumi/plug/set                  {"state": "ON"}
//! lumi/wall/set/state_left       ON | OFF | TOGGLE | on | true | 1
//! lumi/gateway/set               {"state": "ON", "brightness": 128, "color": {"r": 255, "g": 0, "b": 0}}
//! lumi/gateway/set/color         #ff0000 | 255,0,0 | {"r":255,"g":0,"b":0} | {"hex":"#ff0000"} | [255,0,0]
//! lumi/gateway/set/brightness    128            (0–255, the gateway counts 0–100)
//! lumi/gateway/set               {"sound": "doorbell", "volume": 40}
//! lumi/curtain/set/level         50
//! lumi/curtain/set/motor         open | close | stop
//! ```
//!
//! Keys are catalogue property names; a light also answers to `state` (the gateway's light is
//! the property `light`) and a cover to `position` (its `level`). `TOGGLE` flips the current
//! state when it is known, else asks the device to toggle when it can (relays over v2), else
//! is refused. Writing part of the gateway light (only a colour, only a brightness, or `ON`)
//! keeps the other parts as they are when the light is on, instead of the packed value's
//! defaults (100 %, white).

use lumi_proto::catalogue::{
    Device, DeviceState, HaComponent, Property, Rgb, RgbPart, TypedValue, ValueType, Write,
    WriteError,
};
use lumi_proto::lan::{Props, ProtoVersion};
use lumi_proto::sanitize;
use serde_json::Value;

use super::{brightness_from_mqtt, is_switch_state, scaled_brightness};

/// The largest command payload read (MQTT allows 256 MB; a command is a few bytes).
pub const MAX_PAYLOAD: usize = 16 * 1024;

/// Why a command cannot be carried out. Every message names the model and, where there is
/// one, the property; the ones about a property list what can be written instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// More than [`MAX_PAYLOAD`] bytes.
    #[error("the command for {model} is {len} bytes long (at most {max})")]
    TooLarge {
        /// The catalogue's model string.
        model: &'static str,
        /// The payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is not UTF-8.
    #[error("the command for {model} is not UTF-8 text: send JSON such as {example}")]
    NotText {
        /// The catalogue's model string.
        model: &'static str,
        /// A command that would work.
        example: String,
    },
    /// Nothing to do.
    #[error("the command for {model} is empty: send JSON such as {example}")]
    Empty {
        /// The catalogue's model string.
        model: &'static str,
        /// A command that would work.
        example: String,
    },
    /// `/set` without a property needs a JSON object.
    #[error(
        "a /set command for {model} must be a JSON object such as {example} (or a plain value published to /set/<property>); writable: {writable}"
    )]
    NotAnObject {
        /// The catalogue's model string.
        model: &'static str,
        /// A command that would work.
        example: String,
        /// The writable properties.
        writable: String,
    },
    /// No such property to write.
    #[error("model {model} has no property {property:?} (writable: {writable})")]
    UnknownProperty {
        /// The catalogue's model string.
        model: &'static str,
        /// The property asked for (sanitised, cut to 40 characters).
        property: String,
        /// The writable properties.
        writable: String,
    },
    /// No such property to read.
    #[error("model {model} has no property {property:?} (its properties: {known})")]
    NoSuchProperty {
        /// The catalogue's model string.
        model: &'static str,
        /// The property asked for (sanitised, cut to 40 characters).
        property: String,
        /// Every property of the model.
        known: String,
    },
    /// The property cannot be written.
    #[error("property {property} of model {model} is read-only (writable: {writable})")]
    ReadOnly {
        /// The catalogue's model string.
        model: &'static str,
        /// The property.
        property: &'static str,
        /// The writable properties.
        writable: String,
    },
    /// The value does not fit the property.
    #[error("{value} is not a valid value for {property} of model {model}: expected {expected}")]
    InvalidValue {
        /// The catalogue's model string.
        model: &'static str,
        /// The property.
        property: &'static str,
        /// The value given, as JSON text (sanitised, cut to 60 characters).
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// `TOGGLE` without a known current state, on a device that cannot toggle itself.
    #[error(
        "cannot toggle {property} of model {model}: its state is not known yet; send ON or OFF"
    )]
    ToggleUnknown {
        /// The catalogue's model string.
        model: &'static str,
        /// The property.
        property: &'static str,
    },
    /// The catalogue refused the values (see [`WriteError`]).
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// The catalogue writes a `/set` command asks for, in the order given.
///
/// `property` is the `<property>` of `/set/<property>` (`None` for `/set`, whose payload
/// must be a JSON object). `current` is the device's last known state: it resolves
/// `TOGGLE` and keeps the parts of the gateway light that the command leaves out.
///
/// ```
/// use lumi_proto::catalogue::{self, TypedValue};
/// use lumi_bridge::state::parse_set;
/// let plug = catalogue::lookup("plug").unwrap();
/// let w = parse_set(plug, Some("state"), b"ON", None)?;
/// assert_eq!(w, [("state", TypedValue::text("on"))]);
/// let gw = catalogue::lookup("gateway").unwrap();
/// let w = parse_set(gw, None, br#"{"state":"ON","brightness":255}"#, None)?;
/// assert_eq!(w, [("light", TypedValue::text("on")), ("brightness", TypedValue::Int(100))]);
/// let err = parse_set(plug, None, br#"{"power": 5}"#, None).unwrap_err();
/// assert_eq!(err.to_string(), "property power of model plug is read-only (writable: state)");
/// # Ok::<(), lumi_bridge::state::SetError>(())
/// ```
pub fn parse_set(
    device: &'static Device,
    property: Option<&str>,
    payload: &[u8],
    current: Option<&DeviceState>,
) -> Result<Vec<(&'static str, TypedValue)>, SetError> {
    let model = device.model();
    if payload.len() > MAX_PAYLOAD {
        return Err(SetError::TooLarge {
            model,
            len: payload.len(),
            max: MAX_PAYLOAD,
        });
    }
    let text = std::str::from_utf8(payload).map_err(|_| SetError::NotText {
        model,
        example: example(device),
    })?;
    let text = text.trim();
    let empty = || SetError::Empty {
        model,
        example: example(device),
    };
    if text.is_empty() {
        return Err(empty());
    }
    let pairs: Vec<(String, Value)> = match property {
        None => match serde_json::from_str::<Pairs>(text) {
            Ok(Pairs(pairs)) => pairs,
            Err(_) => {
                return Err(SetError::NotAnObject {
                    model,
                    example: example(device),
                    writable: writable_list(device),
                });
            }
        },
        // A plain value: JSON when it parses (50, true, "on", {"r":…}), else the text (ON, #ff0000).
        Some(p) => {
            let v = serde_json::from_str::<Value>(text)
                .unwrap_or_else(|_| Value::String(text.to_owned()));
            vec![(p.to_owned(), v)]
        }
    };
    let mut out: Vec<(&'static str, TypedValue)> = Vec::new();
    for (key, value) in &pairs {
        if ignored(device, key) {
            continue;
        }
        let prop = resolve(device, key).ok_or_else(|| SetError::UnknownProperty {
            model,
            property: sanitize::truncated(key, 40),
            writable: writable_list(device),
        })?;
        let Some(write) = prop.write else {
            return Err(SetError::ReadOnly {
                model,
                property: prop.name,
                writable: writable_list(device),
            });
        };
        let v = convert(device, prop, write, value, current)?;
        // A later value for the same property wins.
        out.retain(|(n, _)| *n != prop.name);
        out.push((prop.name, v));
    }
    if out.is_empty() {
        return Err(empty());
    }
    keep_light_parts(device, &mut out, current);
    Ok(out)
}

/// [`parse_set`], then the raw properties of the LAN `write` for a protocol version.
///
/// ```
/// use lumi_proto::catalogue;
/// use lumi_proto::lan::ProtoVersion;
/// use lumi_bridge::state::encode_set;
/// let curtain = catalogue::lookup("curtain").unwrap();
/// let props = encode_set(curtain, ProtoVersion::V1, Some("level"), b"50", None)?;
/// assert_eq!(serde_json::to_string(&props).unwrap(), r#"{"curtain_level":"50"}"#);
/// # Ok::<(), lumi_bridge::state::SetError>(())
/// ```
pub fn encode_set(
    device: &'static Device,
    version: ProtoVersion,
    property: Option<&str>,
    payload: &[u8],
    current: Option<&DeviceState>,
) -> Result<Props, SetError> {
    let values = parse_set(device, property, payload, current)?;
    Ok(device.encode_write(version, &values)?)
}

/// What a `/get` asks for: some properties, or all of them (empty). The LAN API reads a
/// whole device at once; the list says which values the caller wants to see.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetRequest {
    /// The properties asked for; empty means all.
    pub properties: Vec<&'static str>,
}

/// Reads a `/get` command: `/get/<property>`, or `/get` with `{"<property>": ""}` (any
/// value), `{}` or an empty payload for everything. Other payloads ask for everything too.
pub fn parse_get(
    device: &'static Device,
    property: Option<&str>,
    payload: &[u8],
) -> Result<GetRequest, SetError> {
    let model = device.model();
    let mut names: Vec<String> = Vec::new();
    if let Some(p) = property {
        names.push(p.to_owned());
    } else if payload.len() <= MAX_PAYLOAD
        && let Ok(Pairs(pairs)) = serde_json::from_slice::<Pairs>(payload)
    {
        names.extend(pairs.into_iter().map(|(k, _)| k));
    }
    let mut properties = Vec::new();
    for n in &names {
        let p = resolve(device, n).ok_or_else(|| SetError::NoSuchProperty {
            model,
            property: sanitize::truncated(n, 40),
            known: device
                .properties
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        if !properties.contains(&p.name) {
            properties.push(p.name);
        }
    }
    Ok(GetRequest { properties })
}

/// A JSON object's members in the order written (serde_json's map sorts them).
struct Pairs(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Keys Home Assistant may send that lumi has no use for (`transition` of a light).
fn ignored(device: &'static Device, key: &str) -> bool {
    key == "transition" && device.property("transition").is_none() && light_entity(device).is_some()
}

/// The property a key names: its own name, or `state` for a light and `position` for a cover.
fn resolve(device: &'static Device, key: &str) -> Option<&'static Property> {
    let key = key.trim();
    device.property(key).or(match key {
        "state" => light_entity(device),
        "position" => device
            .properties
            .iter()
            .find(|p| p.ha.is_some_and(|ha| ha.component == HaComponent::Cover)),
        _ => None,
    })
}

fn light_entity(device: &'static Device) -> Option<&'static Property> {
    device
        .properties
        .iter()
        .find(|p| p.ha.is_some_and(|ha| ha.component == HaComponent::Light))
}

/// True for writes of `on`/`off`: switch and relay states, the gateway light, swing.
fn is_on_off(prop: &Property, write: Write) -> bool {
    match write {
        Write::Rgb(RgbPart::State) => true,
        Write::Enum(map) => {
            map.iter().any(|(c, _)| *c == "on") && map.iter().any(|(c, _)| *c == "off")
        }
        _ => is_switch_state_value(prop),
    }
}

fn is_switch_state_value(prop: &Property) -> bool {
    matches!(prop.value, ValueType::Enum(v) if v == ["on", "off"])
}

fn convert(
    device: &'static Device,
    prop: &'static Property,
    write: Write,
    value: &Value,
    current: Option<&DeviceState>,
) -> Result<TypedValue, SetError> {
    let model = device.model();
    let invalid = |expected: &str| SetError::InvalidValue {
        model,
        property: prop.name,
        value: sanitize::truncated(&value.to_string(), 60),
        expected: expected.to_owned(),
    };
    if is_on_off(prop, write) {
        let word = match value {
            Value::Bool(true) => "on".to_owned(),
            Value::Bool(false) => "off".to_owned(),
            Value::Number(n) if n.as_u64() == Some(1) => "on".to_owned(),
            Value::Number(n) if n.as_u64() == Some(0) => "off".to_owned(),
            Value::String(s) => s.trim().to_ascii_lowercase(),
            _ => return Err(invalid("ON, OFF or TOGGLE")),
        };
        return match word.as_str() {
            "on" | "off" => Ok(TypedValue::text(word)),
            "toggle" => toggle(device, prop, write, current),
            _ => Err(invalid("ON, OFF or TOGGLE")),
        };
    }
    if scaled_brightness(device, prop) {
        let n = match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        return match n.filter(|n| n.is_finite() && (0.0..=255.0).contains(n)) {
            Some(n) => Ok(TypedValue::Int(brightness_from_mqtt(n.round() as i64))),
            None => Err(invalid("a brightness from 0 to 255")),
        };
    }
    if prop.value == ValueType::Color {
        let color = match value {
            Value::String(s) => Rgb::parse(s),
            Value::Object(m) if m.len() == 1 && m.contains_key("hex") => {
                m.get("hex").and_then(Value::as_str).and_then(Rgb::parse)
            }
            Value::Object(_) | Value::Array(_) => match TypedValue::from_json(value) {
                TypedValue::Color(c) => Some(c),
                _ => None,
            },
            _ => None,
        };
        return color.map(TypedValue::Color).ok_or_else(|| {
            invalid("a colour: {\"r\":0-255,\"g\":0-255,\"b\":0-255}, {\"hex\":\"#rrggbb\"}, \"#rrggbb\" or \"r,g,b\"")
        });
    }
    Ok(TypedValue::from_json(value))
}

/// `TOGGLE`: the opposite of the current state when it is known, else the device's own
/// toggle when it has one.
fn toggle(
    device: &'static Device,
    prop: &'static Property,
    write: Write,
    current: Option<&DeviceState>,
) -> Result<TypedValue, SetError> {
    let now = current
        .and_then(|s| s.get(prop.name))
        .and_then(TypedValue::as_str);
    match now {
        Some(s) if s.eq_ignore_ascii_case("on") => return Ok(TypedValue::text("off")),
        Some(s) if s.eq_ignore_ascii_case("off") => return Ok(TypedValue::text("on")),
        _ => {}
    }
    if let Write::Enum(map) = write
        && map.iter().any(|(c, _)| *c == "toggle")
    {
        return Ok(TypedValue::text("toggle"));
    }
    Err(SetError::ToggleUnknown {
        model: device.model(),
        property: prop.name,
    })
}

/// The gateway light packs on/off, brightness and colour in one value: a command that
/// changes one part keeps the others from the current state while the light is on.
fn keep_light_parts(
    device: &'static Device,
    out: &mut Vec<(&'static str, TypedValue)>,
    current: Option<&DeviceState>,
) {
    let Some(light) = light_entity(device) else {
        return;
    };
    if !matches!(light.write, Some(Write::Rgb(RgbPart::State))) {
        return;
    }
    let packed_part = |role_part: RgbPart| {
        device
            .properties
            .iter()
            .find(|p| matches!(p.write, Some(Write::Rgb(part)) if part == role_part))
    };
    let brightness = packed_part(RgbPart::Brightness);
    let color = packed_part(RgbPart::Color);
    let names: Vec<&str> = [Some(light), brightness, color]
        .into_iter()
        .flatten()
        .map(|p| p.name)
        .collect();
    if !out.iter().any(|(n, _)| names.contains(n)) {
        return;
    }
    let turning_off = out
        .iter()
        .any(|(n, v)| *n == light.name && v.as_str() == Some("off"));
    let Some(current) = current else { return };
    let on_now = current
        .get(light.name)
        .and_then(TypedValue::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("on"));
    if turning_off || !on_now {
        return;
    }
    for part in [brightness, color].into_iter().flatten() {
        if out.iter().any(|(n, _)| *n == part.name) {
            continue;
        }
        let keep = match current.get(part.name) {
            Some(TypedValue::Int(b)) if *b > 0 => Some(TypedValue::Int(*b)),
            Some(TypedValue::Color(c)) => Some(TypedValue::Color(*c)),
            _ => None,
        };
        if let Some(v) = keep {
            out.push((part.name, v));
        }
    }
}

fn writable_list(device: &Device) -> String {
    let names: Vec<&str> = device.writable().map(|p| p.name).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// A command that works for the device: its first writable property with a typical value.
fn example(device: &Device) -> String {
    let Some(p) = device.writable().next() else {
        return "{}".to_owned();
    };
    let value = if is_switch_state(device, p) || is_switch_state_value(p) {
        Value::from("ON")
    } else if scaled_brightness(device, p) {
        Value::from(255)
    } else {
        match p.value {
            ValueType::Bool => Value::Bool(true),
            ValueType::Integer { min, max } => {
                Value::from((min.unwrap_or(0) + max.unwrap_or(100)) / 2)
            }
            ValueType::Number { .. } => Value::from(1),
            ValueType::Enum(v) => Value::from(v.first().copied().unwrap_or("")),
            ValueType::Text => Value::from("158d0001a2b3c4"),
            ValueType::Color => serde_json::json!({"r": 255, "g": 0, "b": 0}),
        }
    };
    let mut m = serde_json::Map::new();
    m.insert(p.name.to_owned(), value);
    Value::Object(m).to_string()
}
