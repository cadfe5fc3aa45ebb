//! Canonical values → the raw properties of a `write`.

use serde_json::Value;

use crate::lan::{Props, ProtoVersion};

use super::model::{Device, Property, RgbPart, ValueType, Write};
use super::sound::{CUSTOM_SOUND_MIN, SOUND_STOP, sound_by_id, sound_by_name};
use super::value::{Rgb, TypedValue, light_to_rgb};

/// Why values cannot be written to a device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The model is not in the catalogue, so lumi does not know its raw keys.
    #[error("unknown model {model:?}: only catalogued models can be written")]
    UnknownModel {
        /// The model string given.
        model: String,
    },
    /// The model has no such property.
    #[error("model {model} has no property {property:?} (writable: {writable})")]
    UnknownProperty {
        /// The catalogue's model string.
        model: &'static str,
        /// The property asked for.
        property: String,
        /// The writable properties of the model.
        writable: String,
    },
    /// The model has no such property at all (when encoding what a device sends).
    #[error("model {model} has no property {property:?} (its properties: {known})")]
    NoSuchProperty {
        /// The catalogue's model string.
        model: &'static str,
        /// The property asked for.
        property: String,
        /// Every property of the model.
        known: String,
    },
    /// The property is read-only.
    #[error("property {property} of model {model} is read-only (writable: {writable})")]
    ReadOnly {
        /// The catalogue's model string.
        model: &'static str,
        /// The property.
        property: &'static str,
        /// The writable properties of the model.
        writable: String,
    },
    /// The property has no raw key in this protocol version.
    #[error("property {property} of model {model} cannot be written with protocol {version}")]
    UnsupportedVersion {
        /// The catalogue's model string.
        model: &'static str,
        /// The property.
        property: &'static str,
        /// The protocol version asked for.
        version: ProtoVersion,
    },
    /// The value is of the wrong type or out of range.
    #[error("{value} is not a valid value for {property} of model {model}: expected {expected}")]
    InvalidValue {
        /// The catalogue's model string.
        model: &'static str,
        /// The property.
        property: &'static str,
        /// The value given, as JSON text (sanitised for a terminal, cut to 60 characters: it
        /// may have come from the network or an MQTT client).
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// Nothing was given to write.
    #[error("nothing to write to model {model}")]
    Empty {
        /// The catalogue's model string.
        model: &'static str,
    },
}

/// The raw properties to write for canonical values, in the order given. See
/// [`super::encode_write`].
pub(super) fn encode_device(
    device: &'static Device,
    version: ProtoVersion,
    values: &[(&str, TypedValue)],
) -> Result<Props, WriteError> {
    let model = device.model();
    if values.is_empty() {
        return Err(WriteError::Empty { model });
    }
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut rgb: Vec<RgbGroup> = Vec::new();
    for (name, value) in values {
        let prop = device
            .property(name.trim())
            .ok_or_else(|| WriteError::UnknownProperty {
                model,
                property: (*name).to_owned(),
                writable: writable_list(device),
            })?;
        let write = prop.write.ok_or_else(|| WriteError::ReadOnly {
            model,
            property: prop.name,
            writable: writable_list(device),
        })?;
        let key =
            prop.sources(version)
                .first()
                .map(|s| s.key)
                .ok_or(WriteError::UnsupportedVersion {
                    model,
                    property: prop.name,
                    version,
                })?;
        let invalid = |expected: String| WriteError::InvalidValue {
            model,
            property: prop.name,
            value: shown_value(value),
            expected,
        };
        let raw = match write {
            Write::Enum(map) => {
                let want = match value {
                    TypedValue::Bool(true) => Some("on"),
                    TypedValue::Bool(false) => Some("off"),
                    TypedValue::Text(s) => Some(s.trim()),
                    _ => None,
                };
                let raw = want.and_then(|w| map.iter().find(|(c, _)| c.eq_ignore_ascii_case(w)));
                match raw {
                    Some((_, raw)) => Value::from(*raw),
                    None => return Err(invalid(one_of(map.iter().map(|(c, _)| *c)))),
                }
            }
            Write::Integer {
                min,
                max,
                v1_string,
            } => {
                let n = whole(value)
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| invalid(format!("a whole number from {min} to {max}")))?;
                if v1_string && version == ProtoVersion::V1 {
                    Value::String(n.to_string())
                } else {
                    Value::from(n)
                }
            }
            Write::BoolText { on, off } => match boolean(value) {
                Some(true) => Value::from(on),
                Some(false) => Value::from(off),
                None => return Err(invalid("true or false".to_owned())),
            },
            Write::Sid => match value {
                TypedValue::Text(s)
                    if s.trim().len() == 14 && s.trim().bytes().all(|b| b.is_ascii_hexdigit()) =>
                {
                    Value::String(s.trim().to_ascii_lowercase())
                }
                _ => return Err(invalid("a sub-device sid of 14 hex digits".to_owned())),
            },
            Write::Sound => {
                let id = match value {
                    TypedValue::Text(s) => sound_by_name(s),
                    _ => whole(value)
                        .and_then(|i| u32::try_from(i).ok())
                        .and_then(sound_by_id),
                };
                match id {
                    Some(id) => Value::from(id.mid()),
                    None => {
                        return Err(invalid(format!(
                            "a sound name ({}), stop, or an id 0–8, 10–13, 20–29, {SOUND_STOP} (stop) or ≥ {CUSTOM_SOUND_MIN} (custom)",
                            sound_names(prop)
                        )));
                    }
                }
            }
            Write::Rgb(part) => {
                let i = match rgb.iter().position(|g| g.key == key) {
                    Some(i) => i,
                    None => {
                        // The packed value takes the place of the first part written.
                        out.retain(|(k, _)| k != key);
                        out.push((key.to_owned(), Value::Null));
                        rgb.push(RgbGroup {
                            key,
                            ..RgbGroup::default()
                        });
                        rgb.len() - 1
                    }
                };
                let group = &mut rgb[i];
                match part {
                    RgbPart::State => {
                        let on = match value {
                            TypedValue::Text(s) if s.trim().eq_ignore_ascii_case("on") => {
                                Some(true)
                            }
                            TypedValue::Text(s) if s.trim().eq_ignore_ascii_case("off") => {
                                Some(false)
                            }
                            TypedValue::Bool(b) => Some(*b),
                            _ => None,
                        };
                        group.state = Some(on.ok_or_else(|| invalid("on or off".to_owned()))?);
                    }
                    RgbPart::Brightness => {
                        let b = whole(value)
                            .and_then(|b| u8::try_from(b).ok())
                            .filter(|b| *b <= 100)
                            .ok_or_else(|| invalid("a whole number from 0 to 100".to_owned()))?;
                        group.brightness = Some(b);
                    }
                    RgbPart::Color => {
                        let c = match value {
                            TypedValue::Color(c) => Some(*c),
                            TypedValue::Text(s) => Rgb::parse(s),
                            _ => None,
                        };
                        group.color = Some(c.ok_or_else(|| {
                            invalid("a colour: {\"r\":0-255,\"g\":0-255,\"b\":0-255}, \"#rrggbb\" or \"r,g,b\"".to_owned())
                        })?);
                    }
                }
                continue;
            }
        };
        // A later value for the same raw key replaces the earlier one.
        out.retain(|(k, _)| k != key);
        out.push((key.to_owned(), raw));
    }
    for g in &rgb {
        let packed = g.packed();
        if let Some(slot) = out.iter_mut().find(|(k, _)| k == g.key) {
            slot.1 = Value::from(packed);
        }
    }
    Ok(Props::from(out))
}

/// The parts of one packed brightness+colour value written together.
#[derive(Default)]
struct RgbGroup {
    key: &'static str,
    state: Option<bool>,
    brightness: Option<u8>,
    color: Option<Rgb>,
}

impl RgbGroup {
    /// `off` or brightness 0 give 0; otherwise the missing parts are brightness 100 and white.
    fn packed(&self) -> u32 {
        if self.state == Some(false) {
            return 0;
        }
        let c = self.color.unwrap_or(Rgb::WHITE);
        light_to_rgb(self.brightness.unwrap_or(100), c.r, c.g, c.b)
    }
}

/// A whole number from an integer, a float without fraction, or a numeric text.
fn whole(v: &TypedValue) -> Option<i64> {
    match v {
        TypedValue::Text(s) => super::decode::integer(&Value::String(s.clone())),
        _ => v.as_i64(),
    }
}

fn boolean(v: &TypedValue) -> Option<bool> {
    match v {
        TypedValue::Bool(b) => Some(*b),
        TypedValue::Int(1) => Some(true),
        TypedValue::Int(0) => Some(false),
        TypedValue::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => Some(true),
            "false" | "off" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn one_of<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = values.collect();
    format!("one of {}", v.join(", "))
}

fn writable_list(device: &Device) -> String {
    let names: Vec<&str> = device.writable().map(|p| p.name).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn sound_names(prop: &Property) -> String {
    match prop.value {
        ValueType::Enum(v) => v
            .iter()
            .filter(|n| **n != "stop")
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

/// A value as an error message shows it: its text with control and invisible characters
/// escaped, cut to 60 characters.
pub(crate) fn shown_value(value: &TypedValue) -> String {
    crate::sanitize::truncated(&value.to_string(), 60)
}
