//! The shape of a catalogue entry: a device model, its properties, where each property comes
//! from on the wire (v1 and v2 keys and the conversion), how it is written, and how Home
//! Assistant should show it. Everything here is `&'static` data; the tables are in
//! [`super::devices`].

use serde::Serialize;

use crate::lan::{Props, ProtoVersion};

use super::decode::{self, DeviceState};
use super::value::TypedValue;
use super::write::{self, WriteError};

/// One catalogue entry: a device model (with every model string it is known by) and its
/// properties.
#[derive(Debug, Serialize)]
pub struct Device {
    /// Every model string gateways use for this device, the usual v1 one first (`magnet`,
    /// `sensor_magnet`). Lookups also accept these with a `lumi.` prefix.
    pub models: &'static [&'static str],
    /// Human name, e.g. `"Aqara door and window sensor"`.
    pub name: &'static str,
    /// Vendor product code, e.g. `"MCCGQ11LM"` (`"unknown"` when no source gives one).
    pub product_code: &'static str,
    /// Who sells it.
    pub manufacturer: Manufacturer,
    /// What sort of device it is.
    pub kind: DeviceKind,
    /// Battery or mains.
    pub power: PowerSource,
    /// Its properties in lumi's vocabulary.
    pub properties: &'static [Property],
    /// Quirks and doubts worth knowing (empty when none).
    pub note: &'static str,
}

impl PartialEq for Device {
    /// Entries are equal when they are the same entry (model strings are unique).
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other) || self.models == other.models
    }
}

impl Eq for Device {}

impl Device {
    /// The first (usual) model string.
    pub fn model(&self) -> &'static str {
        self.models.first().copied().unwrap_or("")
    }

    /// The property with this canonical name.
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// The events (action values) this device can emit, for Home Assistant device triggers:
    /// the allowed values of its property mapped to [`HaComponent::DeviceTrigger`]
    /// (`action`). Empty for devices without events.
    pub fn events(&self) -> &'static [&'static str] {
        self.properties
            .iter()
            .find(|p| {
                matches!(
                    p.ha,
                    Some(HaEntity {
                        component: HaComponent::DeviceTrigger,
                        ..
                    })
                )
            })
            .and_then(|p| match p.value {
                ValueType::Enum(values) => Some(values),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// The properties that can be written.
    pub fn writable(&self) -> impl Iterator<Item = &'static Property> {
        self.properties.iter().filter(|p| p.write.is_some())
    }

    /// Typed values of raw properties reported by this device; see [`decode`](fn@super::decode).
    pub fn decode(&'static self, version: ProtoVersion, props: &Props) -> DeviceState {
        decode::decode_device(self, version, props)
    }

    /// The raw properties to send for canonical values; see [`super::encode_write`].
    pub fn encode_write(
        &'static self,
        version: ProtoVersion,
        values: &[(&str, TypedValue)],
    ) -> Result<Props, WriteError> {
        write::encode_device(self, version, values)
    }
}

/// Who makes or sells a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Manufacturer {
    /// Xiaomi (Mi / Mijia branded).
    Xiaomi,
    /// Aqara (Lumi's own brand).
    Aqara,
    /// Honeywell (gas and smoke detectors sold with Xiaomi).
    Honeywell,
}

/// Battery or mains powered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerSource {
    /// A coin cell or other battery: reports `voltage` (mV), mapped to `battery` (%).
    Battery,
    /// Mains powered (a `voltage` it reports, 3300 or 3600, is not a battery).
    Mains,
}

/// What sort of device a model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeviceKind {
    /// A gateway (hub) with light ring, light sensor and speaker.
    Gateway,
    /// An air-conditioning companion that is also a gateway.
    AcPartner,
    /// Door and window contact sensor.
    DoorWindow,
    /// Motion sensor.
    Motion,
    /// Wireless push button.
    Button,
    /// Wireless (battery) wall switch.
    WallSwitchWireless,
    /// Wired wall switch with relays.
    WallSwitchWired,
    /// Smart plug or wall outlet.
    Plug,
    /// Temperature / humidity (/ pressure) sensor.
    Climate,
    /// Magic cube.
    Cube,
    /// Natural gas detector.
    GasDetector,
    /// Smoke detector.
    SmokeDetector,
    /// Water leak sensor.
    WaterLeak,
    /// Vibration / tilt sensor.
    Vibration,
    /// Curtain or roller-shade motor.
    Curtain,
    /// Door lock.
    Lock,
    /// Relay module.
    Relay,
    /// Light dimmer / LED controller.
    Dimmer,
    /// Air-conditioning thermostat.
    Thermostat,
    /// Light bulb.
    Light,
}

/// One property of a device, in lumi's vocabulary.
#[derive(Debug, Serialize)]
pub struct Property {
    /// Canonical name, snake_case (`temperature`, `contact`, `state_left`, `action`).
    pub name: &'static str,
    /// What it means, in a sentence.
    pub description: &'static str,
    /// The type of its typed value.
    pub value: ValueType,
    /// Unit of the typed value (`"°C"`, `"%"`, `"hPa"`, `"W"`), if any.
    pub unit: Option<&'static str>,
    /// How it is written; `None` when read-only.
    pub write: Option<Write>,
    /// Where it comes from in protocol v1 (`data` keys), in priority order; the first one is
    /// the key written.
    pub v1: &'static [Source],
    /// Where it comes from in protocol v2 (`params` keys); the first one is the key written.
    pub v2: &'static [Source],
    /// How Home Assistant shows it; `None` when it is not an entity of its own (a part of
    /// another entity, or not worth one).
    pub ha: Option<HaEntity>,
}

impl Property {
    /// True when the property can be written.
    pub fn writable(&self) -> bool {
        self.write.is_some()
    }

    /// The raw sources for a protocol version.
    pub fn sources(&self, version: ProtoVersion) -> &'static [Source] {
        match version {
            ProtoVersion::V1 => self.v1,
            ProtoVersion::V2 => self.v2,
        }
    }
}

/// A raw key a property is read from, and how its value is converted.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Source {
    /// The raw key (`"status"`, `"window_status"`, `"battery_voltage"`).
    pub key: &'static str,
    /// The conversion from the raw value.
    pub codec: Codec,
}

/// The type of a typed value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", content = "values", rename_all = "snake_case")]
pub enum ValueType {
    /// `true` / `false`.
    Bool,
    /// A whole number, optionally bounded (inclusive).
    Integer {
        /// Lowest value.
        min: Option<i64>,
        /// Highest value.
        max: Option<i64>,
    },
    /// A decimal number, optionally bounded (inclusive).
    Number {
        /// Lowest value.
        min: Option<f64>,
        /// Highest value.
        max: Option<f64>,
    },
    /// One of a fixed set of texts.
    Enum(&'static [&'static str]),
    /// Free text.
    Text,
    /// A colour `{ "r": 0..255, "g": …, "b": … }`.
    Color,
}

/// A conversion from one raw value to a typed value. Every codec accepts numbers given as
/// JSON numbers or as strings; a value it cannot convert stays raw.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "codec", content = "args", rename_all = "snake_case")]
pub enum Codec {
    /// The text as it is (numbers and booleans printed).
    Text,
    /// A whole number; raw values listed in `invalid` mean "no value" (null).
    Integer {
        /// Sentinels meaning "unknown" (curtain `-1`/`255`).
        invalid: &'static [i64],
    },
    /// A number divided by `divisor` (`2120` / 100 = 21.2); raw values listed in `invalid`
    /// mean "no value" (null).
    Scaled {
        /// The divisor (100 for hundredths).
        divisor: u32,
        /// Raw sentinels meaning "unknown" (weather: temperature 10000, humidity 0, pressure 0).
        invalid: &'static [i64],
    },
    /// A decimal number as it is (`"24.76"` W).
    Decimal,
    /// Raw text → canonical text (`click` → `single`). `unknown`/`invalid` give null; any
    /// other unlisted text stays raw.
    Enum(&'static [(&'static str, &'static str)]),
    /// Raw text → boolean. `unknown`/`invalid` give null; any other text stays raw.
    Bool {
        /// Texts meaning `true`.
        on: &'static [&'static str],
        /// Texts meaning `false`.
        off: &'static [&'static str],
    },
    /// The key's presence alone means this value (`no_motion` → occupancy `false`).
    Present(bool),
    /// Battery voltage in mV → battery percentage (see [`super::battery_percent`]).
    Battery,
    /// v1 cube `rotate` `"<delta>,<ms>"` → `rotate_right` / `rotate_left`.
    RotateAction,
    /// v1 cube `rotate` `"<delta>,<ms>"` → degrees (delta × 3.6, negative = counter-clockwise).
    RotateAngle,
    /// v1 cube `rotate` `"<delta>,<ms>"` → milliseconds.
    RotateTime,
    /// Like [`Codec::Enum`], but `rotate` becomes `rotate_right` / `rotate_left` from the sign
    /// of the `rotate_degree` key of the same message (v2 cube).
    CubeStatus(&'static [(&'static str, &'static str)]),
    /// Component `n` (0, 1, 2) of an `"x,y,z"` triple (vibration `coordination`).
    Axis(u8),
    /// Alarm code (`"0"`, `"1"`, `"2"`, `"64"`, `"32768"`) → alarm boolean (null for faults).
    AlarmState(&'static [AlarmCode]),
    /// Alarm code → fault text (`none`, `sensitivity_fault`, …).
    AlarmFault(&'static [AlarmCode]),
    /// Lock `*_verified` value (method << 16 | user) → method (`finger`/`password`/`card`).
    UnlockMethod(&'static [(u32, &'static str)]),
    /// Lock `*_verified` value → user id (the low 16 bits).
    UnlockUser,
    /// Packed `rgb` (brightness << 24 | r << 16 | g << 8 | b) → `on`/`off`.
    RgbState,
    /// Packed `rgb` → brightness 0–100.
    RgbBrightness,
    /// Packed `rgb` → colour.
    RgbColor,
    /// Gateway sound id (`mid`) → sound name or `stop`; custom sounds (≥ 10001) have no name
    /// and stay raw.
    Sound,
}

/// One alarm code of the gas and smoke detectors (v1 `alarm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AlarmCode {
    /// The raw code.
    pub code: i64,
    /// Alarm on or off; `None` for fault codes (the alarm state is unknown).
    pub alarm: Option<bool>,
    /// Fault text (`none` when the code reports no fault).
    pub fault: &'static str,
}

/// How a property is written: the raw key is the first [`Source`] of the protocol version.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "write", content = "args", rename_all = "snake_case")]
pub enum Write {
    /// A text from a fixed set: `(canonical, raw)` pairs. Booleans are accepted for the
    /// canonical values `on`/`off`.
    Enum(&'static [(&'static str, &'static str)]),
    /// A whole number in `min..=max`, sent as a JSON number, or as a string in v1 when
    /// `v1_string` (the curtain quirk: v1 gateways only accept `"50"`).
    Integer {
        /// Lowest value.
        min: i64,
        /// Highest value.
        max: i64,
        /// Send as a string in protocol v1.
        v1_string: bool,
    },
    /// A boolean sent as one of two texts (`join_permission` `yes`/`no`).
    BoolText {
        /// Raw text for `true`.
        on: &'static str,
        /// Raw text for `false`.
        off: &'static str,
    },
    /// A sub-device sid (14 hex digits).
    Sid,
    /// One part of a packed brightness+colour value; all parts written together make one raw
    /// value (missing parts: brightness 100, colour white).
    Rgb(RgbPart),
    /// A gateway sound, by name or id.
    Sound,
}

/// The parts of a packed brightness+colour value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RgbPart {
    /// `on` / `off` (off = 0).
    State,
    /// Brightness 0–100 (0 = off).
    Brightness,
    /// The colour.
    Color,
}

/// How Home Assistant shows a property (MQTT discovery).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HaEntity {
    /// The entity platform.
    pub component: HaComponent,
    /// `device_class`, valid for the component.
    pub device_class: Option<&'static str>,
    /// `unit_of_measurement`.
    pub unit: Option<&'static str>,
    /// `state_class` (sensors).
    pub state_class: Option<StateClass>,
    /// `entity_category` (diagnostics such as battery and voltage).
    pub entity_category: Option<EntityCategory>,
    /// `icon` (`mdi:…`).
    pub icon: Option<&'static str>,
    /// `enabled_by_default`.
    pub enabled_by_default: bool,
    /// The typed values meaning "on" and "off" (binary sensors, switches, lights, buttons).
    pub payload: Option<HaPayload>,
    /// Other properties that belong to this entity (a light's brightness and colour, a
    /// cover's motor command, a siren's volume, a climate's modes).
    pub parts: &'static [HaPart],
}

/// Home Assistant entity platforms used by the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HaComponent {
    /// `binary_sensor`.
    BinarySensor,
    /// `button`.
    Button,
    /// `climate`.
    Climate,
    /// `cover`.
    Cover,
    /// A device trigger: published as `device_automation` (`automation_type: trigger`), one
    /// per event of [`Device::events`].
    #[serde(rename = "device_automation")]
    DeviceTrigger,
    /// `light`.
    Light,
    /// `lock`.
    Lock,
    /// `number`.
    Number,
    /// `select`.
    Select,
    /// `sensor`.
    Sensor,
    /// `siren`.
    Siren,
    /// `switch`.
    Switch,
}

impl HaComponent {
    /// The component as it appears in a discovery topic.
    pub fn as_str(self) -> &'static str {
        match self {
            HaComponent::BinarySensor => "binary_sensor",
            HaComponent::Button => "button",
            HaComponent::Climate => "climate",
            HaComponent::Cover => "cover",
            HaComponent::DeviceTrigger => "device_automation",
            HaComponent::Light => "light",
            HaComponent::Lock => "lock",
            HaComponent::Number => "number",
            HaComponent::Select => "select",
            HaComponent::Sensor => "sensor",
            HaComponent::Siren => "siren",
            HaComponent::Switch => "switch",
        }
    }
}

/// Home Assistant `state_class`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateClass {
    /// `measurement`.
    Measurement,
    /// `total`.
    Total,
    /// `total_increasing`.
    TotalIncreasing,
}

/// Home Assistant `entity_category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityCategory {
    /// `config`.
    Config,
    /// `diagnostic`.
    Diagnostic,
}

/// The typed values meaning "on" and "off" for an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HaPayload {
    /// The value meaning on (door open, motion, switch on).
    pub on: Scalar,
    /// The value meaning off.
    pub off: Scalar,
}

/// A constant typed value in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A boolean.
    Bool(bool),
    /// A text.
    Text(&'static str),
}

/// A property that belongs to another property's entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HaPart {
    /// What it is for the entity.
    pub role: HaRole,
    /// The canonical property name (of the same device).
    pub property: &'static str,
}

/// The role of a [`HaPart`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HaRole {
    /// A light's brightness (scale: the property's maximum).
    Brightness,
    /// A light's colour (RGB).
    Color,
    /// A cover's open/close/stop command.
    Command,
    /// A siren's volume (0–100).
    Volume,
    /// A climate's on/off.
    Power,
    /// A climate's fan mode.
    FanMode,
    /// A climate's swing mode.
    SwingMode,
    /// A climate's target temperature.
    TargetTemperature,
    /// A climate's current temperature.
    CurrentTemperature,
}
