//! Typed values → the raw properties a real device would *send* (reports, heartbeats, read
//! replies): the inverse of [`super::decode`], for every property, writable or not.
//!
//! The simulator uses it to speak exactly like real devices. Wire details it reproduces:
//! v1 sends most values as strings (`"temperature":"2120"`, `"load_power":"24.76"`,
//! `"no_motion":"120"`) but a few as numbers (`voltage`, `rgb`, `illumination`, the lock's
//! `*_verified`); v2 sends every analog value as a number. A cube rotation is one v1 key
//! (`"rotate":"25,500"`) but two v2 keys (`rotate_degree`, `detect_time`).

use serde_json::Value;

use crate::lan::{Props, ProtoVersion};

use super::WriteError;
use super::model::{Codec, Device, Property};
use super::sound::sound_by_name;
use super::value::{Rgb, TypedValue, light_to_rgb};

/// v1 keys real devices send as JSON numbers; every other v1 value is a string.
const V1_NUMERIC: &[&str] = &[
    "voltage",
    "rgb",
    "illumination",
    "fing_verified",
    "psw_verified",
    "card_verified",
    "mid",
    "vol",
];

/// The raw properties a device of `model` sends for `values` (canonical name, typed value),
/// in protocol `version`. Values that combine into one raw key (cube `action` + `angle` +
/// `duration` → v1 `rotate`; `light` + `brightness` + `color` → `rgb`; the three axes →
/// `coordination`) are combined.
///
/// ```
/// use lumi_proto::catalogue::{encode_report, TypedValue};
/// use lumi_proto::lan::ProtoVersion;
///
/// let p = encode_report("sensor_ht", ProtoVersion::V1, &[("temperature", TypedValue::Float(21.2))])?;
/// assert_eq!(serde_json::to_string(&p)?, r#"{"temperature":"2120"}"#);
/// let p = encode_report("cube", ProtoVersion::V1, &[("angle", TypedValue::Float(90.0)), ("duration", TypedValue::Int(500))])?;
/// assert_eq!(serde_json::to_string(&p)?, r#"{"rotate":"25,500"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_report(
    model: &str,
    version: ProtoVersion,
    values: &[(&str, TypedValue)],
) -> Result<Props, WriteError> {
    encode_device(super::device_for(model)?, version, values)
}

fn encode_device(
    device: &'static Device,
    version: ProtoVersion,
    values: &[(&str, TypedValue)],
) -> Result<Props, WriteError> {
    let model = device.model();
    let mut out = Props::new();
    let mut combos = Combos::default();
    for (name, value) in values {
        let prop = device
            .property(name.trim())
            .ok_or_else(|| WriteError::NoSuchProperty {
                model,
                property: (*name).to_owned(),
                known: all_properties(device),
            })?;
        let sources = prop.sources(version);
        if sources.is_empty() {
            return Err(WriteError::UnsupportedVersion {
                model,
                property: prop.name,
                version,
            });
        }
        let invalid = |expected: &str| WriteError::InvalidValue {
            model,
            property: prop.name,
            value: super::write::shown_value(value),
            expected: expected.to_owned(),
        };
        let mut done = false;
        for s in sources {
            let raw = match s.codec {
                Codec::Present(_) => continue,
                Codec::RotateAction | Codec::RotateAngle | Codec::RotateTime => {
                    combos
                        .rotate(s.key, s.codec, value)
                        .ok_or_else(|| invalid("a rotation"))?;
                    done = true;
                    break;
                }
                Codec::Axis(n) => {
                    let i = value.as_i64().ok_or_else(|| invalid("a whole number"))?;
                    combos.axis(s.key, n, i);
                    done = true;
                    break;
                }
                Codec::RgbState | Codec::RgbBrightness | Codec::RgbColor => {
                    combos
                        .rgb(s.key, s.codec, value)
                        .ok_or_else(|| invalid("on/off, 0-100 or a colour"))?;
                    done = true;
                    break;
                }
                codec => match encode_one(codec, s.key, version, value, prop) {
                    Some(v) => v,
                    None => continue,
                },
            };
            out.remove(s.key);
            out.push(s.key, raw);
            done = true;
            break;
        }
        if !done {
            return Err(invalid(&expected(prop)));
        }
    }
    combos.finish(version, &mut out);
    Ok(out)
}

/// One value through one codec, backwards; `None` if this codec cannot carry it.
fn encode_one(
    codec: Codec,
    key: &str,
    version: ProtoVersion,
    value: &TypedValue,
    _prop: &Property,
) -> Option<Value> {
    let v1_string = version == ProtoVersion::V1 && !V1_NUMERIC.contains(&key);
    let number = |i: i64| {
        if v1_string {
            Value::String(i.to_string())
        } else {
            Value::from(i)
        }
    };
    Some(match codec {
        Codec::Text => Value::String(
            value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string()),
        ),
        Codec::Integer { .. } => number(value.as_i64()?),
        Codec::Scaled { divisor, .. } => {
            number((value.as_f64()? * f64::from(divisor)).round() as i64)
        }
        Codec::Decimal => {
            let f = value.as_f64()?;
            if v1_string {
                Value::String(format!("{f:.2}"))
            } else {
                serde_json::Number::from_f64(f).map(Value::Number)?
            }
        }
        Codec::Enum(map) | Codec::CubeStatus(map) => {
            let want = value.as_str()?;
            let want = match (codec, want) {
                (Codec::CubeStatus(_), "rotate_left" | "rotate_right") => "rotate",
                (_, w) => w,
            };
            Value::String(map.iter().find(|(_, c)| *c == want)?.0.to_owned())
        }
        Codec::Bool { on, off } => {
            let list = if value.as_bool()? { on } else { off };
            Value::String((*list.first()?).to_owned())
        }
        Codec::Battery => {
            let pct = value.as_i64()?.clamp(0, 100);
            Value::from(2800 + pct * 5)
        }
        Codec::AlarmState(codes) => {
            let b = value.as_bool()?;
            let c = codes.iter().find(|c| c.alarm == Some(b))?;
            number(c.code)
        }
        Codec::AlarmFault(codes) => {
            let f = value.as_str()?;
            number(codes.iter().find(|c| c.fault == f)?.code)
        }
        Codec::Sound => {
            let s = value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            Value::from(sound_by_name(&s)?.mid())
        }
        // Lock events carry method and user in one key chosen by the method: not produced.
        Codec::UnlockMethod(_) | Codec::UnlockUser => return None,
        Codec::Present(_)
        | Codec::RotateAction
        | Codec::RotateAngle
        | Codec::RotateTime
        | Codec::Axis(_)
        | Codec::RgbState
        | Codec::RgbBrightness
        | Codec::RgbColor => return None,
    })
}

/// Values that several typed properties make together.
#[derive(Default)]
struct Combos {
    rotate: Option<Rotation>,
    axes: Option<(&'static str, [i64; 3])>,
    rgb: Option<LightParts>,
}

/// v1 `rotate`: raw key, direction sign, angle (°), duration (ms).
type Rotation = (&'static str, Option<f64>, Option<f64>, Option<i64>);
/// `rgb`: raw key, on/off, brightness, colour.
type LightParts = (&'static str, Option<bool>, Option<u8>, Option<Rgb>);

impl Combos {
    fn rotate(&mut self, key: &'static str, codec: Codec, v: &TypedValue) -> Option<()> {
        let r = self.rotate.get_or_insert((key, None, None, None));
        match codec {
            Codec::RotateAction => {
                r.1 = Some(match v.as_str()? {
                    "rotate_right" => 1.0,
                    "rotate_left" => -1.0,
                    _ => return None,
                })
            }
            Codec::RotateAngle => r.2 = Some(v.as_f64()?),
            _ => r.3 = Some(v.as_i64()?),
        }
        Some(())
    }

    fn axis(&mut self, key: &'static str, n: u8, i: i64) {
        let a = self.axes.get_or_insert((key, [0; 3]));
        if let Some(slot) = a.1.get_mut(usize::from(n)) {
            *slot = i;
        }
    }

    fn rgb(&mut self, key: &'static str, codec: Codec, v: &TypedValue) -> Option<()> {
        let r = self.rgb.get_or_insert((key, None, None, None));
        match codec {
            Codec::RgbState => r.1 = Some(v.as_bool().or_else(|| Some(v.as_str()? == "on"))?),
            Codec::RgbBrightness => r.2 = Some(u8::try_from(v.as_i64()?.clamp(0, 100)).ok()?),
            _ => match v {
                TypedValue::Color(c) => r.3 = Some(*c),
                other => r.3 = Some(Rgb::parse(other.as_str()?)?),
            },
        }
        Some(())
    }

    fn finish(self, version: ProtoVersion, out: &mut Props) {
        if let Some((key, sign, angle, ms)) = self.rotate {
            let magnitude = angle.unwrap_or(90.0);
            let angle = sign.map_or(magnitude, |s| magnitude.abs() * s);
            let delta = (angle / 3.6).round() as i64;
            let ms = ms.unwrap_or(500);
            match version {
                ProtoVersion::V1 => out.push(key, format!("{delta},{ms}")),
                ProtoVersion::V2 => {}
            }
        }
        if let Some((key, [x, y, z])) = self.axes {
            out.push(key, format!("{x},{y},{z}"));
        }
        if let Some((key, on, brightness, color)) = self.rgb {
            let raw = if on == Some(false) {
                0
            } else {
                let c = color.unwrap_or(Rgb::WHITE);
                light_to_rgb(brightness.unwrap_or(100), c.r, c.g, c.b)
            };
            out.push(key, raw);
        }
    }
}

fn expected(p: &Property) -> String {
    format!("a value of type {:?}", p.value)
}

fn all_properties(d: &Device) -> String {
    d.properties
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}
