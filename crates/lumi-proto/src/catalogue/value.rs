//! Typed values, colours and the gateway's packed `rgb` light value.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// A typed property value in lumi's vocabulary. Serialises as plain JSON: `null`, `true`,
/// `42`, `21.2`, `"single"`, `{"r":255,"g":0,"b":0}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TypedValue {
    /// No value: the device said "unknown" or sent its "invalid" sentinel (weather
    /// temperature 10000, curtain level −1/255, `window_status` `unknown`).
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A decimal number (always finite).
    Float(f64),
    /// A text (enum values, versions, addresses).
    Text(String),
    /// A colour.
    Color(Rgb),
}

impl TypedValue {
    /// A text value.
    pub fn text(s: impl Into<String>) -> TypedValue {
        TypedValue::Text(s.into())
    }

    /// The value from JSON, for writes: numbers become [`TypedValue::Int`] when whole,
    /// objects `{"r","g","b"}` and arrays `[r, g, b]` of 0–255 become [`TypedValue::Color`];
    /// anything else that has no typed form becomes its JSON text.
    pub fn from_json(v: &Value) -> TypedValue {
        match v {
            Value::Null => TypedValue::Null,
            Value::Bool(b) => TypedValue::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => TypedValue::Int(i),
                (None, Some(f)) if f.is_finite() => TypedValue::Float(f),
                _ => TypedValue::Text(n.to_string()),
            },
            Value::String(s) => TypedValue::Text(s.clone()),
            Value::Object(m) => {
                let c = |k: &str| {
                    m.get(k)
                        .and_then(Value::as_u64)
                        .and_then(|x| u8::try_from(x).ok())
                };
                match (c("r"), c("g"), c("b")) {
                    (Some(r), Some(g), Some(b)) if m.len() == 3 => {
                        TypedValue::Color(Rgb { r, g, b })
                    }
                    _ => TypedValue::Text(v.to_string()),
                }
            }
            Value::Array(a) => {
                let parts: Vec<Option<u8>> = a
                    .iter()
                    .map(|x| x.as_u64().and_then(|x| u8::try_from(x).ok()))
                    .collect();
                match parts.as_slice() {
                    [Some(r), Some(g), Some(b)] => TypedValue::Color(Rgb {
                        r: *r,
                        g: *g,
                        b: *b,
                    }),
                    _ => TypedValue::Text(v.to_string()),
                }
            }
        }
    }

    /// The value as JSON (non-finite floats, which lumi never produces, become `null`).
    pub fn to_json(&self) -> Value {
        match self {
            TypedValue::Null => Value::Null,
            TypedValue::Bool(b) => Value::Bool(*b),
            TypedValue::Int(i) => Value::from(*i),
            TypedValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            TypedValue::Text(s) => Value::String(s.clone()),
            TypedValue::Color(c) => serde_json::json!({"r": c.r, "g": c.g, "b": c.b}),
        }
    }

    /// The text, for text values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            TypedValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, for boolean values.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            TypedValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, for numeric values.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            TypedValue::Int(i) => Some(*i as f64),
            TypedValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The whole number, for integers and for floats without a fraction.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            TypedValue::Int(i) => Some(*i),
            TypedValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }
}

impl fmt::Display for TypedValue {
    /// JSON text, so error messages quote texts: `"dim"`, `150`, `{"r":1,"g":2,"b":3}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl From<bool> for TypedValue {
    fn from(b: bool) -> Self {
        TypedValue::Bool(b)
    }
}

impl From<i64> for TypedValue {
    fn from(i: i64) -> Self {
        TypedValue::Int(i)
    }
}

impl From<&str> for TypedValue {
    fn from(s: &str) -> Self {
        TypedValue::Text(s.to_owned())
    }
}

impl From<Rgb> for TypedValue {
    fn from(c: Rgb) -> Self {
        TypedValue::Color(c)
    }
}

/// A colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Rgb {
    /// Red 0–255.
    pub r: u8,
    /// Green 0–255.
    pub g: u8,
    /// Blue 0–255.
    pub b: u8,
}

impl Rgb {
    /// White.
    pub const WHITE: Rgb = Rgb {
        r: 255,
        g: 255,
        b: 255,
    };

    /// Parses `"#rrggbb"`, `"rrggbb"` or `"r,g,b"` (decimal 0–255).
    pub fn parse(s: &str) -> Option<Rgb> {
        let s = s.trim();
        if let Some((r, rest)) = s.split_once(',') {
            let (g, b) = rest.split_once(',')?;
            let p = |x: &str| x.trim().parse::<u8>().ok();
            return Some(Rgb {
                r: p(r)?,
                g: p(g)?,
                b: p(b)?,
            });
        }
        let hex = s.strip_prefix('#').unwrap_or(s);
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        Some(Rgb::from_u24(v))
    }

    /// The colour of the low 24 bits of `v`.
    pub fn from_u24(v: u32) -> Rgb {
        let [_, r, g, b] = v.to_be_bytes();
        Rgb { r, g, b }
    }

    /// The colour as `r << 16 | g << 8 | b`.
    pub fn to_u24(self) -> u32 {
        u32::from_be_bytes([0, self.r, self.g, self.b])
    }
}

/// The state of the gateway light (or an LED controller) as packed in its `rgb` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Light {
    /// On when the brightness byte is not 0.
    pub on: bool,
    /// Brightness 0–100 (the top byte; values above 100, which some clients send, count as 100).
    pub brightness: u8,
    /// The colour (the low three bytes).
    pub color: Rgb,
}

/// The most the brightness byte of a packed `rgb` value means (0x64 = 100 %).
pub const MAX_BRIGHTNESS: u8 = 100;

/// Unpacks a gateway `rgb` value: `brightness << 24 | r << 16 | g << 8 | b`, `0` = off.
///
/// The brightness byte is a percentage (0–100, lan-api §7); larger bytes (the doc's example
/// `0xFF00FF00`) are read as 100. A zero brightness byte is "off" whatever the colour bytes say.
///
/// ```
/// use lumi_proto::catalogue::{rgb_to_light, Rgb};
/// let l = rgb_to_light(1694433280); // 0x64FF0000: red at 100 %
/// assert!(l.on);
/// assert_eq!(l.brightness, 100);
/// assert_eq!(l.color, Rgb { r: 255, g: 0, b: 0 });
/// assert!(!rgb_to_light(0).on);
/// ```
pub fn rgb_to_light(rgb: u32) -> Light {
    let top = (rgb >> 24) as u8;
    let brightness = top.min(MAX_BRIGHTNESS);
    Light {
        on: brightness > 0,
        brightness,
        color: Rgb::from_u24(rgb),
    }
}

/// Packs brightness (0–100, larger values clamped to 100) and a colour into a gateway `rgb`
/// value. Brightness 0 gives `0`, the "off" value, whatever the colour.
///
/// ```
/// use lumi_proto::catalogue::light_to_rgb;
/// assert_eq!(light_to_rgb(100, 255, 0, 0), 0x64FF0000);
/// assert_eq!(light_to_rgb(0, 255, 0, 0), 0);
/// ```
pub fn light_to_rgb(brightness: u8, r: u8, g: u8, b: u8) -> u32 {
    let brightness = brightness.min(MAX_BRIGHTNESS);
    if brightness == 0 {
        return 0;
    }
    u32::from_be_bytes([brightness, r, g, b])
}
