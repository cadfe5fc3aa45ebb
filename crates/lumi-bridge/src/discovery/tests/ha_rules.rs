//! Home Assistant's rules for MQTT discovery configs ([`check_config`]), and a test that runs
//! them over every entity of every catalogue model.
//!
//! Every list below names the `home-assistant/core` file it was checked against. The files
//! were read through the code index, which keeps several versions of a file and names the
//! commit only for some of them; where it did, the commit (or the release the file states)
//! is given. The newest authoritative snapshots found were:
//!
//! - `homeassistant/components/sensor/const.py` at 3fd1a330 (2025 series: it has
//!   `SensorStateClass.MEASUREMENT_ANGLE` and `STATE_CLASS_UNITS`),
//! - `homeassistant/const.py` of release 2025.5.0b6 (the `UnitOf*` enums),
//! - the 2025 `mqtt/sensor.py` validator `validate_sensor_state_and_device_class_config`
//!   (it maps the micro sign through `AMBIGUOUS_UNITS` and checks `STATE_CLASS_UNITS`),
//! - `mqtt/schemas.py` of the 2024.8–2025.9 series (`model_id`, `object_id`; before
//!   `default_entity_id`), `mqtt/light/schema_json.py` of 2025.3 or later (legacy colour
//!   flags removed), `light/__init__.py` `valid_supported_color_modes`,
//!   `binary_sensor/__init__.py` at 027590d9, `mqtt/cover.py` `validate_options`,
//!   `mqtt/climate.py`, `mqtt/select.py`, `mqtt/siren.py`, `mqtt/device_trigger.py`.
//!
//! And three changes read from the pull requests themselves:
//!
//! - core#144853 (2025.6): the micro prefix is U+03BC (μ, Greek small letter mu), no longer
//!   U+00B5 (µ, micro sign), in `UnitOfTime.MICROSECONDS`, `UnitOfMass.MICROGRAMS`,
//!   `UnitOfElectricPotential.MICROVOLT`, `UnitOfConductivity.MICROSIEMENS_PER_CM` and
//!   `CONCENTRATION_MICROGRAMS_PER_CUBIC_METER` (MQTT still maps the old sign over).
//! - core#151775 (2025.10): `object_id` deprecated for `default_entity_id` (a warning for
//!   every entity that sends it); core#164460 (2026.4): `object_id` removed (ignored).
//!
//! Home Assistant releases after these snapshots add sensor device classes and units (e.g.
//! `absolute_humidity`, `pm4`, `reactive_energy`, more units for some gases); none is used by
//! the catalogue, and a class missing here makes the test fail rather than pass wrongly.
//!
//! How strict: Home Assistant's discovery schemas drop keys they do not know
//! (`extra=vol.REMOVE_EXTRA`) rather than refuse the config, and some sensor rules only log a
//! warning (a unit or state class that does not fit the device class). The checker refuses
//! both: an unknown key is a lumi typo that silently does nothing, and a warned-about sensor
//! has no statistics. Rules that are lumi's own conventions (bridge availability first,
//! `origin.name` "lumi", …) say so in their message.

use std::collections::{BTreeMap, HashMap, HashSet};

use lumi_proto::catalogue;
use serde_json::{Value, json};

use super::super::{DeviceInfo, Discovery};
use super::{GATEWAY, configs, name, sid, text, valid_id};
use crate::config::Config;

// ---------------------------------------------------------------------------------------------
// Sensors: `homeassistant/components/sensor/const.py` @ 3fd1a330 (`SensorDeviceClass`,
// `DEVICE_CLASS_UNITS`, `DEVICE_CLASS_STATE_CLASSES`, `SensorStateClass`, `STATE_CLASS_UNITS`),
// units from `homeassistant/const.py` 2025.5.0b6, micro prefix per core#144853.

/// The units a sensor device class takes (`DEVICE_CLASS_UNITS`).
#[derive(Debug, Clone, Copy)]
enum Units {
    /// One of these.
    Of(&'static [&'static str]),
    /// One of these, or none (`power_factor`: `{PERCENTAGE, None}`).
    OfOrNone(&'static [&'static str]),
    /// None: `{None}` (`aqi`, `ph`), and the non-numeric classes `date`, `enum`,
    /// `timestamp` (`NON_NUMERIC_DEVICE_CLASSES`), for which a unit makes the sensor raise.
    NoUnit,
    /// An ISO 4217 currency code: `monetary`, which `DEVICE_CLASS_UNITS` leaves open.
    Currency,
}

/// A sensor device class, its units and the state classes it allows.
#[derive(Debug, Clone, Copy)]
struct SensorClass {
    class: &'static str,
    units: Units,
    /// `DEVICE_CLASS_STATE_CLASSES` (empty: no state class).
    state_classes: &'static [&'static str],
}

/// `SensorStateClass`.
const STATE_CLASSES: &[&str] = &[
    "measurement",
    "measurement_angle",
    "total",
    "total_increasing",
];
/// `STATE_CLASS_UNITS`: a state class that fixes the unit.
const STATE_CLASS_UNITS: &[(&str, &[&str])] = &[("measurement_angle", &["°"])];

const MEASUREMENT: &[&str] = &["measurement"];
/// `set(SensorStateClass)`.
const ANY_STATE: &[&str] = STATE_CLASSES;
const TOTALS: &[&str] = &["total", "total_increasing"];
const NO_STATE: &[&str] = &[];

/// `CONCENTRATION_MICROGRAMS_PER_CUBIC_METER`.
const UG_M3: &str = "\u{3bc}g/m³";
#[rustfmt::skip]
mod unit {
    pub const APPARENT_POWER: &[&str] = &["VA"];
    pub const AREA: &[&str] = &["m²", "cm²", "km²", "mm²", "in²", "ft²", "yd²", "mi²", "ac", "ha"];
    pub const BLOOD_GLUCOSE: &[&str] = &["mg/dL", "mmol/L"];
    pub const CONDUCTIVITY: &[&str] = &["S/cm", "\u{3bc}S/cm", "mS/cm"];
    pub const CURRENT: &[&str] = &["mA", "A"];
    pub const DATA_RATE: &[&str] = &[
        "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "B/s", "kB/s", "MB/s", "GB/s", "KiB/s", "MiB/s",
        "GiB/s",
    ];
    pub const INFORMATION: &[&str] = &[
        "bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB", "KiB",
        "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB",
    ];
    pub const LENGTH: &[&str] = &["mm", "cm", "m", "km", "in", "ft", "yd", "mi", "nmi"];
    /// `DURATION`: d, h, min, s, ms, μs (not all of `UnitOfTime`).
    pub const DURATION: &[&str] = &["d", "h", "min", "s", "ms", "\u{3bc}s"];
    pub const ENERGY: &[&str] = &[
        "J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal",
        "Gcal",
    ];
    pub const ENERGY_DISTANCE: &[&str] = &["kWh/100km", "mi/kWh", "km/kWh"];
    pub const FREQUENCY: &[&str] = &["Hz", "kHz", "MHz", "GHz"];
    pub const GAS: &[&str] = &["CCF", "ft³", "m³", "L"];
    pub const IRRADIANCE: &[&str] = &["W/m²", "BTU/(h⋅ft²)"];
    /// `POWER`: the watts only (`BTU/h` is a `UnitOfPower` but not a `power` unit).
    pub const POWER: &[&str] = &["mW", "W", "kW", "MW", "GW", "TW"];
    pub const PRECIPITATION_DEPTH: &[&str] = &["in", "mm", "cm"];
    pub const PRESSURE: &[&str] = &["Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "psi"];
    pub const REACTIVE_POWER: &[&str] = &["var", "kvar"];
    pub const SIGNAL_STRENGTH: &[&str] = &["dB", "dBm"];
    pub const SOUND_PRESSURE: &[&str] = &["dB", "dBA"];
    pub const SPEED: &[&str] = &["Beaufort", "ft/s", "in/s", "m/s", "km/h", "kn", "mph", "mm/s"];
    /// `{*UnitOfSpeed, *UnitOfVolumetricFlux}`.
    pub const SPEED_OR_FLUX: &[&str] = &[
        "Beaufort", "ft/s", "in/s", "m/s", "km/h", "kn", "mph", "mm/s", "in/d", "in/h", "mm/d",
        "mm/h",
    ];
    pub const VOLUMETRIC_FLUX: &[&str] = &["in/d", "in/h", "mm/d", "mm/h"];
    pub const TEMPERATURE: &[&str] = &["°C", "°F", "K"];
    pub const VOC_PARTS: &[&str] = &["ppb", "ppm"];
    pub const VOLTAGE: &[&str] = &["\u{3bc}V", "mV", "V", "kV", "MV"];
    pub const VOLUME: &[&str] = &["ft³", "CCF", "m³", "L", "mL", "gal", "fl. oz."];
    pub const VOLUME_FLOW_RATE: &[&str] = &[
        "m³/h", "m³/s", "ft³/min", "L/h", "L/min", "L/s", "gal/min", "mL/s",
    ];
    pub const WATER: &[&str] = &["CCF", "ft³", "m³", "gal", "L"];
    pub const MASS: &[&str] = &["g", "kg", "mg", "\u{3bc}g", "oz", "lb", "st"];
}

const fn class(
    class: &'static str,
    units: Units,
    state_classes: &'static [&'static str],
) -> SensorClass {
    SensorClass {
        class,
        units,
        state_classes,
    }
}

/// Every `SensorDeviceClass`, with `DEVICE_CLASS_UNITS` and `DEVICE_CLASS_STATE_CLASSES`.
#[rustfmt::skip]
const SENSOR_CLASSES: &[SensorClass] = &[
    class("date", Units::NoUnit, NO_STATE),
    class("enum", Units::NoUnit, NO_STATE),
    class("timestamp", Units::NoUnit, NO_STATE),
    class("apparent_power", Units::Of(unit::APPARENT_POWER), MEASUREMENT),
    class("aqi", Units::NoUnit, MEASUREMENT),
    class("area", Units::Of(unit::AREA), ANY_STATE),
    class("atmospheric_pressure", Units::Of(unit::PRESSURE), MEASUREMENT),
    class("battery", Units::Of(&["%"]), MEASUREMENT),
    class("blood_glucose_concentration", Units::Of(unit::BLOOD_GLUCOSE), MEASUREMENT),
    class("carbon_monoxide", Units::Of(&["ppm"]), MEASUREMENT),
    class("carbon_dioxide", Units::Of(&["ppm"]), MEASUREMENT),
    class("conductivity", Units::Of(unit::CONDUCTIVITY), MEASUREMENT),
    class("current", Units::Of(unit::CURRENT), MEASUREMENT),
    class("data_rate", Units::Of(unit::DATA_RATE), MEASUREMENT),
    class("data_size", Units::Of(unit::INFORMATION), ANY_STATE),
    class("distance", Units::Of(unit::LENGTH), ANY_STATE),
    class("duration", Units::Of(unit::DURATION), ANY_STATE),
    class("energy", Units::Of(unit::ENERGY), TOTALS),
    class("energy_distance", Units::Of(unit::ENERGY_DISTANCE), MEASUREMENT),
    class("energy_storage", Units::Of(unit::ENERGY), MEASUREMENT),
    class("frequency", Units::Of(unit::FREQUENCY), MEASUREMENT),
    class("gas", Units::Of(unit::GAS), TOTALS),
    class("humidity", Units::Of(&["%"]), MEASUREMENT),
    class("illuminance", Units::Of(&["lx"]), MEASUREMENT),
    class("irradiance", Units::Of(unit::IRRADIANCE), MEASUREMENT),
    class("moisture", Units::Of(&["%"]), MEASUREMENT),
    class("monetary", Units::Currency, &["total"]),
    class("nitrogen_dioxide", Units::Of(&[UG_M3]), MEASUREMENT),
    class("nitrogen_monoxide", Units::Of(&[UG_M3]), MEASUREMENT),
    class("nitrous_oxide", Units::Of(&[UG_M3]), MEASUREMENT),
    class("ozone", Units::Of(&[UG_M3]), MEASUREMENT),
    class("ph", Units::NoUnit, MEASUREMENT),
    class("pm1", Units::Of(&[UG_M3]), MEASUREMENT),
    class("pm10", Units::Of(&[UG_M3]), MEASUREMENT),
    class("pm25", Units::Of(&[UG_M3]), MEASUREMENT),
    class("power_factor", Units::OfOrNone(&["%"]), MEASUREMENT),
    class("power", Units::Of(unit::POWER), MEASUREMENT),
    class("precipitation", Units::Of(unit::PRECIPITATION_DEPTH), ANY_STATE),
    class("precipitation_intensity", Units::Of(unit::VOLUMETRIC_FLUX), MEASUREMENT),
    class("pressure", Units::Of(unit::PRESSURE), MEASUREMENT),
    class("reactive_power", Units::Of(unit::REACTIVE_POWER), MEASUREMENT),
    class("signal_strength", Units::Of(unit::SIGNAL_STRENGTH), MEASUREMENT),
    class("sound_pressure", Units::Of(unit::SOUND_PRESSURE), MEASUREMENT),
    class("speed", Units::Of(unit::SPEED_OR_FLUX), MEASUREMENT),
    class("sulphur_dioxide", Units::Of(&[UG_M3]), MEASUREMENT),
    class("temperature", Units::Of(unit::TEMPERATURE), MEASUREMENT),
    class("volatile_organic_compounds", Units::Of(&[UG_M3]), MEASUREMENT),
    class("volatile_organic_compounds_parts", Units::Of(unit::VOC_PARTS), MEASUREMENT),
    class("voltage", Units::Of(unit::VOLTAGE), MEASUREMENT),
    class("volume", Units::Of(unit::VOLUME), TOTALS),
    class("volume_storage", Units::Of(unit::VOLUME), MEASUREMENT),
    class("volume_flow_rate", Units::Of(unit::VOLUME_FLOW_RATE), MEASUREMENT),
    class("water", Units::Of(unit::WATER), TOTALS),
    class("weight", Units::Of(unit::MASS), &["measurement", "total", "total_increasing"]),
    class("wind_direction", Units::Of(&["°"]), &["measurement_angle"]),
    class("wind_speed", Units::Of(unit::SPEED), MEASUREMENT),
];

// ---------------------------------------------------------------------------------------------
// Other device classes and enums.

/// `homeassistant/components/binary_sensor/__init__.py` @ 027590d9 `BinarySensorDeviceClass`.
#[rustfmt::skip]
const BINARY_SENSOR_CLASSES: &[&str] = &[
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
    "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy",
    "opening", "plug", "power", "presence", "problem", "running", "safety", "smoke", "sound",
    "tamper", "update", "vibration", "window",
];
/// `homeassistant/components/cover/__init__.py` `CoverDeviceClass` (unchanged in the 2023–2025
/// copies read).
#[rustfmt::skip]
const COVER_CLASSES: &[&str] = &[
    "awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade", "shutter", "window",
];
/// `homeassistant/components/switch/__init__.py` `SwitchDeviceClass`.
const SWITCH_CLASSES: &[&str] = &["outlet", "switch"];
/// `homeassistant/components/button/__init__.py` `ButtonDeviceClass`.
const BUTTON_CLASSES: &[&str] = &["identify", "restart", "update"];
/// `homeassistant/const.py` 2025.5.0b6 `EntityCategory` (`ENTITY_CATEGORIES_SCHEMA`).
const ENTITY_CATEGORIES: &[&str] = &["config", "diagnostic"];
/// `homeassistant/components/climate/const.py` `HVACMode`.
#[rustfmt::skip]
const HVAC_MODES: &[&str] = &["off", "heat", "cool", "heat_cool", "auto", "dry", "fan_only"];
/// `homeassistant/components/climate` `PRECISION_TENTHS`, `_HALVES`, `_WHOLE` (`mqtt/climate.py`:
/// `vol.In([...])`).
const PRECISIONS: &[f64] = &[0.1, 0.5, 1.0];
/// `homeassistant/components/light/__init__.py` `VALID_COLOR_MODES` (`ColorMode` without
/// `unknown`).
#[rustfmt::skip]
const COLOR_MODES: &[&str] = &[
    "onoff", "brightness", "color_temp", "hs", "xy", "rgb", "rgbw", "rgbww", "white",
];
/// `light/__init__.py` `COLOR_MODES_COLOR`: what `white` needs beside it.
const COLOR_MODES_COLOR: &[&str] = &["hs", "rgb", "rgbw", "rgbww", "xy"];
/// `homeassistant/components/mqtt/const.py` `AVAILABILITY_MODES`.
const AVAILABILITY_MODES: &[&str] = &["all", "any", "latest"];
/// `homeassistant/components/number/const.py` `NumberMode`.
const NUMBER_MODES: &[&str] = &["auto", "box", "slider"];

// ---------------------------------------------------------------------------------------------
// MQTT schemas: `homeassistant/components/mqtt/schemas.py` (`MQTT_ENTITY_COMMON_SCHEMA`,
// `MQTT_ENTITY_DEVICE_INFO_SCHEMA`, `MQTT_ORIGIN_INFO_SCHEMA`, `MQTT_AVAILABILITY_SCHEMA`),
// `mqtt/config.py` (`MQTT_BASE_SCHEMA`: qos, encoding; `MQTT_RO_SCHEMA`: + state_topic
// required, value_template; `MQTT_RW_SCHEMA`: + command_topic required, retain, state_topic),
// and each platform's `_PLATFORM_SCHEMA_BASE`.

/// Keys every entity config may have (`MQTT_ENTITY_COMMON_SCHEMA`, `MQTT_BASE_SCHEMA`, `name`,
/// and `default_entity_id` (core#151775). Not `object_id`: deprecated in 2025.10, ignored
/// from 2026.4 (core#164460).
#[rustfmt::skip]
const COMMON_KEYS: &[&str] = &[
    "availability", "availability_mode", "availability_template", "availability_topic",
    "default_entity_id", "device", "enabled_by_default", "encoding", "entity_category",
    "entity_picture", "icon", "json_attributes_template", "json_attributes_topic", "name",
    "origin", "payload_available", "payload_not_available", "qos", "unique_id",
];
/// `MQTT_ENTITY_DEVICE_INFO_SCHEMA`: a plain `vol.Schema`, so any other key is refused.
#[rustfmt::skip]
const DEVICE_KEYS: &[&str] = &[
    "identifiers", "connections", "manufacturer", "model", "model_id", "name", "hw_version",
    "serial_number", "sw_version", "via_device", "suggested_area", "configuration_url",
];
/// `MQTT_ORIGIN_INFO_SCHEMA`: `name` required; `sw` and `url` are only abbreviations
/// (`abbreviations.py` `ORIGIN_ABBREVIATIONS`) of `sw_version` and `support_url`.
const ORIGIN_KEYS: &[&str] = &["name", "sw_version", "support_url"];
/// One entry of `availability` (`MQTT_AVAILABILITY_LIST_SCHEMA`): `topic` required.
const AVAILABILITY_KEYS: &[&str] = &[
    "topic",
    "payload_available",
    "payload_not_available",
    "value_template",
];

/// Per component: the keys Home Assistant requires, and the other keys it knows.
#[rustfmt::skip]
fn schema(component: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match component {
        // mqtt/sensor.py: MQTT_RO_SCHEMA + …
        "sensor" => (
            &["state_topic"],
            &[
                "device_class", "expire_after", "force_update", "last_reset_value_template",
                "options", "state_class", "suggested_display_precision", "unit_of_measurement",
                "value_template",
            ],
        ),
        // mqtt/binary_sensor.py: MQTT_RO_SCHEMA + …
        "binary_sensor" => (
            &["state_topic"],
            &[
                "device_class", "expire_after", "force_update", "off_delay", "payload_off",
                "payload_on", "value_template",
            ],
        ),
        // mqtt/switch.py: MQTT_RW_SCHEMA + …
        "switch" => (
            &["command_topic"],
            &[
                "command_template", "device_class", "optimistic", "payload_off", "payload_on",
                "retain", "state_off", "state_on", "state_topic", "value_template",
            ],
        ),
        // mqtt/light/schema_json.py: MQTT_RW_SCHEMA + … (+ `schema`, light/schema.py), for
        // lumi also `supported_color_modes` (without it brightness and colour are guessed).
        "light" => (
            &["command_topic", "schema", "supported_color_modes"],
            &[
                "brightness", "brightness_scale", "color_temp_kelvin", "effect", "effect_list",
                "flash", "flash_time_long", "flash_time_short", "max_kelvin", "max_mireds",
                "min_kelvin", "min_mireds", "optimistic", "retain", "state_topic", "transition",
                "white_scale",
            ],
        ),
        // mqtt/cover.py: MQTT_BASE_SCHEMA + …
        "cover" => (
            &[],
            &[
                "command_topic", "device_class", "optimistic", "payload_close", "payload_open",
                "payload_stop", "position_closed", "position_open", "position_template",
                "position_topic", "retain", "set_position_template", "set_position_topic",
                "state_closed", "state_closing", "state_open", "state_opening", "state_stopped",
                "state_topic", "value_template",
            ],
        ),
        // mqtt/siren.py: MQTT_RW_SCHEMA + …
        "siren" => (
            &["command_topic"],
            &[
                "available_tones", "command_off_template", "command_template", "optimistic",
                "payload_off", "payload_on", "retain", "state_off", "state_on", "state_topic",
                "state_value_template", "support_duration", "support_volume_set",
            ],
        ),
        // mqtt/select.py: MQTT_RW_SCHEMA + `options` required + …
        "select" => (
            &["command_topic", "options"],
            &["command_template", "optimistic", "retain", "state_topic", "value_template"],
        ),
        // mqtt/button.py: MQTT_BASE_SCHEMA + `command_topic` required + …
        "button" => (
            &["command_topic"],
            &["command_template", "device_class", "payload_press", "retain"],
        ),
        // mqtt/number.py: MQTT_RW_SCHEMA + …
        "number" => (
            &["command_topic"],
            &[
                "command_template", "device_class", "max", "min", "mode", "optimistic",
                "payload_reset", "retain", "state_topic", "step", "unit_of_measurement",
                "value_template",
            ],
        ),
        // mqtt/climate.py: MQTT_BASE_SCHEMA + …
        "climate" => (
            &[],
            &[
                "action_template", "action_topic", "current_humidity_template",
                "current_humidity_topic", "current_temperature_template",
                "current_temperature_topic", "fan_mode_command_template", "fan_mode_command_topic",
                "fan_mode_state_template", "fan_mode_state_topic", "fan_modes", "initial",
                "max_humidity", "max_temp", "min_humidity", "min_temp", "mode_command_template",
                "mode_command_topic", "mode_state_template", "mode_state_topic", "modes",
                "optimistic", "payload_off", "payload_on", "power_command_template",
                "power_command_topic", "precision", "preset_mode_command_template",
                "preset_mode_command_topic", "preset_mode_state_topic",
                "preset_mode_value_template", "preset_modes", "retain",
                "swing_mode_command_template", "swing_mode_command_topic",
                "swing_mode_state_template", "swing_mode_state_topic", "swing_modes",
                "target_humidity_command_template", "target_humidity_command_topic",
                "target_humidity_state_template", "target_humidity_state_topic", "temp_step",
                "temperature_command_template", "temperature_command_topic",
                "temperature_high_command_template", "temperature_high_command_topic",
                "temperature_high_state_template", "temperature_high_state_topic",
                "temperature_low_command_template", "temperature_low_command_topic",
                "temperature_low_state_template", "temperature_low_state_topic",
                "temperature_state_template", "temperature_state_topic", "temperature_unit",
                "value_template",
            ],
        ),
        // mqtt/device_trigger.py `TRIGGER_DISCOVERY_SCHEMA`: MQTT_BASE_SCHEMA + … (no entity
        // keys; `origin` is read by discovery.py for every config).
        "device_automation" => (
            &["automation_type", "device", "subtype", "topic", "type"],
            &["encoding", "origin", "payload", "qos", "value_template"],
        ),
        other => panic!("no schema for component {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The checker.

fn is_text_list(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| a.iter().all(|x| x.as_str().is_some()))
}

fn texts(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The object id of an entity id as `homeassistant/core.py` `valid_entity_id` takes it:
/// `[a-z0-9_]+`, no `_` at either end, no `__`.
fn valid_object_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
}

/// `MQTT_ENTITY_DEVICE_INFO_SCHEMA` and `validate_device_has_at_least_one_identifier`.
fn check_device(dev: &Value) -> Result<(), String> {
    let Value::Object(d) = dev else {
        return Err("device is not an object".into());
    };
    if let Some(k) = d.keys().find(|k| !DEVICE_KEYS.contains(&k.as_str())) {
        return Err(format!("device key {k} is not one Home Assistant knows"));
    }
    let ids = match d.get("identifiers") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(v) if is_text_list(v) => texts(v),
        Some(v) => return Err(format!("device.identifiers {v} is not a list of texts")),
    };
    let connections = match d.get("connections") {
        None => 0,
        Some(Value::Array(c)) => {
            if c.iter()
                .any(|pair| !(is_text_list(pair) && pair.as_array().is_some_and(|p| p.len() == 2)))
            {
                return Err("device.connections must be [type, id] pairs".into());
            }
            c.len()
        }
        Some(v) => return Err(format!("device.connections {v} is not a list")),
    };
    if ids.is_empty() && connections == 0 {
        return Err("device needs at least one of identifiers or connections".into());
    }
    for (k, v) in d {
        if !matches!(k.as_str(), "identifiers" | "connections") && !v.is_string() {
            return Err(format!("device.{k} must be a text"));
        }
    }
    // lumi: one HA device per Xiaomi device, linked to its gateway.
    if !ids.iter().all(|i| valid_id(i)) {
        return Err(format!(
            "lumi: device identifiers {ids:?} are not [a-zA-Z0-9_-]"
        ));
    }
    for k in ["name", "model", "model_id", "manufacturer", "via_device"] {
        if text(dev, k).is_none_or(str::is_empty) {
            return Err(format!("lumi: device.{k} missing"));
        }
    }
    Ok(())
}

/// `MQTT_ORIGIN_INFO_SCHEMA`.
fn check_origin(origin: &Value) -> Result<(), String> {
    let Value::Object(o) = origin else {
        return Err("origin is not an object".into());
    };
    if let Some(k) = o.keys().find(|k| !ORIGIN_KEYS.contains(&k.as_str())) {
        return Err(format!("origin key {k} is not one Home Assistant knows"));
    }
    if text(origin, "name").is_none_or(str::is_empty) {
        return Err("origin.name is required".into());
    }
    if o.values().any(|v| !v.is_string()) {
        return Err("origin values must be texts".into());
    }
    if text(origin, "name") != Some("lumi") {
        return Err("lumi: origin.name must be lumi".into());
    }
    Ok(())
}

/// `MQTT_AVAILABILITY_SCHEMA`, then lumi's convention (the bridge state first, all required).
fn check_availability(p: &Value) -> Result<(), String> {
    if p.get("availability").is_some() && p.get("availability_topic").is_some() {
        return Err("availability and availability_topic are exclusive".into());
    }
    if let Some(mode) = p.get("availability_mode")
        && !mode
            .as_str()
            .is_some_and(|m| AVAILABILITY_MODES.contains(&m))
    {
        return Err(format!("availability_mode {mode}"));
    }
    let av = p["availability"]
        .as_array()
        .ok_or("lumi: no availability list")?;
    for a in av {
        let Value::Object(entry) = a else {
            return Err("availability entries must be objects".into());
        };
        if let Some(k) = entry
            .keys()
            .find(|k| !AVAILABILITY_KEYS.contains(&k.as_str()))
        {
            return Err(format!(
                "availability key {k} is not one Home Assistant knows"
            ));
        }
        if text(a, "topic").is_none_or(str::is_empty) {
            return Err("availability entries need a topic".into());
        }
    }
    if av.is_empty() || av.iter().any(|a| text(a, "value_template").is_none()) {
        return Err("lumi: availability entries need topic and value_template".into());
    }
    if text(&av[0], "topic") != Some("lumi/bridge/state") {
        return Err("lumi: the first availability topic must be the bridge state".into());
    }
    if av.len() > 1 && text(p, "availability_mode") != Some("all") {
        return Err("lumi: availability_mode must be all".into());
    }
    Ok(())
}

/// `mqtt/sensor.py` `validate_sensor_state_and_device_class_config` (refused), and what
/// `sensor/__init__.py` `SensorEntity.state` raises or warns about.
fn check_sensor(p: &Value) -> Result<(), String> {
    let class = text(p, "device_class");
    let unit = text(p, "unit_of_measurement");
    let state_class = match p.get("state_class") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_str().filter(|s| STATE_CLASSES.contains(s)) {
            Some(s) => Some(s),
            None => return Err(format!("state_class {v} is not a SensorStateClass")),
        },
    };
    if p.get("last_reset_value_template").is_some() && state_class != Some("total") {
        return Err("last_reset_value_template needs state_class total".into());
    }
    if let Some(options) = p.get("options") {
        if options.as_array().is_none_or(Vec::is_empty) || !is_text_list(options) {
            return Err("options must be a non-empty list".into());
        }
        if state_class.is_some() || unit.is_some() {
            return Err("options are not allowed with a state_class or unit_of_measurement".into());
        }
        if class != Some("enum") {
            return Err(format!("options need device_class enum, got {class:?}"));
        }
    }
    if let Some(sc) = state_class
        && let Some((_, units)) = STATE_CLASS_UNITS.iter().find(|(s, _)| *s == sc)
        && !unit.is_some_and(|u| units.contains(&u))
    {
        return Err(format!(
            "state class {sc} needs a unit of {units:?}, got {unit:?}"
        ));
    }
    let Some(c) = class else { return Ok(()) };
    let sc_rule = SENSOR_CLASSES
        .iter()
        .find(|s| s.class == c)
        .ok_or_else(|| format!("sensor device_class {c} is not a SensorDeviceClass"))?;
    match (sc_rule.units, unit) {
        (Units::Of(units), Some(u)) | (Units::OfOrNone(units), Some(u)) if !units.contains(&u) => {
            return Err(format!(
                "unit {u} is not valid for device class {c} ({units:?})"
            ));
        }
        (Units::Of(units), None) => {
            return Err(format!("device class {c} needs a unit ({units:?})"));
        }
        (Units::NoUnit, Some(u)) => return Err(format!("device class {c} takes no unit, got {u}")),
        (Units::Currency, u)
            if !u.is_some_and(|u| u.len() == 3 && u.bytes().all(|b| b.is_ascii_uppercase())) =>
        {
            return Err(format!(
                "device class {c} needs an ISO 4217 code, got {u:?}"
            ));
        }
        _ => {}
    }
    if let Some(s) = state_class
        && !sc_rule.state_classes.contains(&s)
    {
        return Err(format!(
            "state class {s} is impossible for device class {c} (allowed: {:?})",
            sc_rule.state_classes
        ));
    }
    if c == "enum" && p.get("options").is_none() {
        return Err("lumi: an enum sensor lists its options".into());
    }
    Ok(())
}

/// `mqtt/light/schema_json.py` and `light/__init__.py` `valid_supported_color_modes`.
fn check_light(p: &Value) -> Result<(), String> {
    if text(p, "schema") != Some("json") {
        return Err("lumi: light schema must be json".into());
    }
    let modes = p["supported_color_modes"]
        .as_array()
        .ok_or("supported_color_modes must be a list")?;
    let names = texts(&p["supported_color_modes"]);
    if names.len() != modes.len() || names.iter().any(|m| !COLOR_MODES.contains(m)) {
        return Err(format!(
            "supported_color_modes {modes:?} are not all ColorMode values"
        ));
    }
    let unique: HashSet<&str> = names.iter().copied().collect();
    if unique.len() != names.len() {
        return Err("supported_color_modes must be unique".into());
    }
    if names.is_empty()
        || (names.len() > 1 && names.iter().any(|m| matches!(*m, "onoff" | "brightness")))
        || (names.contains(&"white") && !names.iter().any(|m| COLOR_MODES_COLOR.contains(m)))
    {
        return Err(format!("invalid supported_color_modes {names:?}"));
    }
    if let Some(b) = p.get("brightness")
        && !b.is_boolean()
    {
        return Err("brightness must be a boolean".into());
    }
    match p.get("brightness_scale") {
        Some(s) if s.as_u64().is_none_or(|s| s < 1) => {
            return Err(format!("brightness_scale {s} must be an integer ≥ 1"));
        }
        None if names.iter().any(|m| *m != "onoff") => {
            return Err("lumi: a dimmable light states its brightness_scale".into());
        }
        _ => {}
    }
    Ok(())
}

/// `mqtt/cover.py` `validate_options`, `CoverDeviceClass`, payloads `vol.Any(cv.string, None)`.
fn check_cover(p: &Value) -> Result<(), String> {
    if let Some(c) = text(p, "device_class")
        && !COVER_CLASSES.contains(&c)
    {
        return Err(format!("cover device_class {c}"));
    }
    for (key, needs) in [
        ("set_position_topic", "position_topic"),
        ("value_template", "state_topic"),
        ("position_template", "position_topic"),
        ("set_position_template", "set_position_topic"),
    ] {
        if p.get(key).is_some() && p.get(needs).is_none() {
            return Err(format!("{key} must be set together with {needs}"));
        }
    }
    for k in ["payload_open", "payload_close", "payload_stop"] {
        if let Some(v) = p.get(k)
            && !(v.is_string() || v.is_null())
        {
            return Err(format!("{k} must be a text or null"));
        }
    }
    Ok(())
}

/// `mqtt/climate.py`.
fn check_climate(p: &Value) -> Result<(), String> {
    let modes = texts(&p["modes"]);
    if modes.is_empty()
        || !is_text_list(&p["modes"])
        || !modes.iter().all(|m| HVAC_MODES.contains(m))
    {
        return Err(format!("modes {} must be HVACMode values", p["modes"]));
    }
    if modes.iter().collect::<HashSet<_>>().len() != modes.len() {
        return Err("lumi: modes must be unique".into());
    }
    for k in ["fan_modes", "swing_modes", "preset_modes"] {
        if let Some(v) = p.get(k)
            && !is_text_list(v)
        {
            return Err(format!("{k} must be a list of texts"));
        }
    }
    if texts(&p["preset_modes"]).contains(&"none") {
        return Err("preset_modes must not include none".into());
    }
    if let Some(pr) = p.get("precision")
        && !pr
            .as_f64()
            .is_some_and(|x| PRECISIONS.iter().any(|v| (v - x).abs() < 1e-9))
    {
        return Err(format!("precision {pr} is not 0.1, 0.5 or 1.0"));
    }
    if let Some(u) = p.get("temperature_unit")
        && !u.as_str().is_some_and(|u| matches!(u, "C" | "F"))
    {
        return Err(format!("temperature_unit {u} is not C or F"));
    }
    if let (Some(lo), Some(hi)) = (p["min_temp"].as_f64(), p["max_temp"].as_f64())
        && lo >= hi
    {
        return Err(format!("min_temp {lo} ≥ max_temp {hi}"));
    }
    Ok(())
}

/// `mqtt/siren.py`: tones are offered only when `available_tones` is a non-empty list (there is
/// no `support_tones` key); `support_*` flags are booleans.
fn check_siren(p: &Value) -> Result<(), String> {
    if let Some(t) = p.get("available_tones")
        && !(is_text_list(t) && t.as_array().is_some_and(|t| !t.is_empty()))
    {
        return Err("available_tones must be a non-empty list of texts".into());
    }
    for k in ["support_duration", "support_volume_set"] {
        if let Some(v) = p.get(k)
            && !v.is_boolean()
        {
            return Err(format!("{k} must be a boolean"));
        }
    }
    let template = text(p, "command_template").unwrap_or("");
    if template.contains("tone") && p.get("available_tones").is_none() {
        return Err("lumi: command_template reads tone, but no available_tones".into());
    }
    // `support_volume_set` defaults to true in Home Assistant.
    if p.get("support_volume_set") != Some(&json!(false)) && !template.contains("volume_level") {
        return Err("lumi: volume can be set, but command_template ignores volume_level".into());
    }
    Ok(())
}

/// `mqtt/number.py` `validate_config` and schema.
fn check_number(p: &Value) -> Result<(), String> {
    if let (Some(lo), Some(hi)) = (p["min"].as_f64(), p["max"].as_f64())
        && lo >= hi
    {
        return Err(format!("number max {hi} must be greater than min {lo}"));
    }
    if let Some(step) = p.get("step")
        && !step.as_f64().is_some_and(|s| s >= 1e-3)
    {
        return Err(format!("number step {step} must be ≥ 0.001"));
    }
    if let Some(m) = p.get("mode")
        && !m.as_str().is_some_and(|m| NUMBER_MODES.contains(&m))
    {
        return Err(format!("number mode {m}"));
    }
    Ok(())
}

/// `mqtt/device_trigger.py` `TRIGGER_DISCOVERY_SCHEMA` (and discovery.py, which sets up only
/// `automation_type: trigger`).
fn check_trigger(p: &Value) -> Result<(), String> {
    if text(p, "automation_type") != Some("trigger") {
        return Err("automation_type must be trigger".into());
    }
    for k in ["type", "subtype", "topic"] {
        if text(p, k).is_none_or(str::is_empty) {
            return Err(format!("{k} must be a non-empty text"));
        }
    }
    if let Some(v) = p.get("payload")
        && !(v.is_string() || v.is_null())
    {
        return Err("payload must be a text".into());
    }
    Ok(())
}

/// Everything Home Assistant checks in one config; returns what is wrong.
fn check_config(topic: &str, component: &str, p: &Value) -> Result<(), String> {
    let parts: Vec<&str> = topic.split('/').collect();
    let ["homeassistant", comp, object, "config"] = parts.as_slice() else {
        return Err(format!(
            "topic {topic} is not <prefix>/<component>/<object_id>/config"
        ));
    };
    if *comp != component {
        return Err(format!("topic component {comp} ≠ {component}"));
    }
    // mqtt/discovery.py TOPIC_MATCHER: [a-zA-Z0-9_-]+.
    if !valid_id(object) {
        return Err(format!("object id {object} is not [a-zA-Z0-9_-]"));
    }
    let Value::Object(m) = p else {
        return Err("payload is not an object".into());
    };
    let (required, specific) = schema(component);
    for k in required {
        if !m.contains_key(*k) {
            return Err(format!("required key {k} missing"));
        }
    }
    if m.contains_key("object_id") {
        return Err(
            "object_id is deprecated since 2025.10 and ignored since 2026.4: default_entity_id"
                .into(),
        );
    }
    for k in m.keys() {
        let known = specific.contains(&k.as_str())
            || (component != "device_automation" && COMMON_KEYS.contains(&k.as_str()))
            || required.contains(&k.as_str());
        if !known {
            return Err(format!("unknown key {k} for {component}"));
        }
    }
    if let Some(d) = m.get("device") {
        check_device(d)?;
    } else {
        return Err("lumi: no device block".into());
    }
    check_origin(m.get("origin").ok_or("lumi: no origin")?)?;
    if component == "device_automation" {
        return check_trigger(p);
    }
    // Entity ids.
    let uid = text(p, "unique_id").ok_or("lumi: no unique_id")?;
    if uid != *object {
        return Err(format!("lumi: unique_id {uid} ≠ topic object id {object}"));
    }
    let entity_id = text(p, "default_entity_id").ok_or("lumi: no default_entity_id")?;
    match entity_id.split_once('.') {
        Some((domain, oid)) if domain == component && valid_object_id(oid) => {}
        _ => {
            return Err(format!(
                "default_entity_id {entity_id} is not {component}.<object id>"
            ));
        }
    }
    if !(p["name"].is_string() || p["name"].is_null()) {
        return Err("name must be a text or null".into());
    }
    if let Some(e) = p.get("enabled_by_default")
        && !e.is_boolean()
    {
        return Err("enabled_by_default must be a boolean".into());
    }
    if let Some(q) = p.get("qos")
        && q.as_u64().is_none_or(|q| q > 2)
    {
        return Err(format!("qos {q}"));
    }
    check_availability(p)?;
    if let Some(cat) = p.get("entity_category") {
        let cat = cat.as_str().unwrap_or("");
        if !ENTITY_CATEGORIES.contains(&cat) {
            return Err(format!("entity_category {cat}"));
        }
        // sensor/__init__.py, binary_sensor/__init__.py: HomeAssistantError.
        if cat == "config" && matches!(component, "sensor" | "binary_sensor") {
            return Err("a sensor cannot be a config entity".into());
        }
    }
    // cv.icon: `prefix:name`; lumi uses Material Design Icons.
    if let Some(icon) = p.get("icon")
        && !icon
            .as_str()
            .is_some_and(|i| i.starts_with("mdi:") && i.len() > 4)
    {
        return Err(format!("icon {icon}"));
    }
    let class = text(p, "device_class");
    match component {
        "sensor" => check_sensor(p)?,
        "binary_sensor" => {
            if let Some(c) = class
                && !BINARY_SENSOR_CLASSES.contains(&c)
            {
                return Err(format!("binary_sensor device_class {c}"));
            }
            if p["payload_on"] == p["payload_off"] {
                return Err("lumi: payload_on == payload_off".into());
            }
        }
        "switch" => {
            if let Some(c) = class
                && !SWITCH_CLASSES.contains(&c)
            {
                return Err(format!("switch device_class {c}"));
            }
        }
        "button" => {
            if let Some(c) = class
                && !BUTTON_CLASSES.contains(&c)
            {
                return Err(format!("button device_class {c}"));
            }
            if let Some(v) = p.get("payload_press")
                && !v.is_string()
            {
                return Err("payload_press must be a text".into());
            }
        }
        "cover" => check_cover(p)?,
        "light" => check_light(p)?,
        "climate" => check_climate(p)?,
        "select" => {
            let opts = &p["options"];
            if !is_text_list(opts) || texts(opts).is_empty() {
                return Err("select options must be a non-empty list of texts".into());
            }
            if texts(opts).iter().collect::<HashSet<_>>().len() != texts(opts).len() {
                return Err("lumi: select options must be unique".into());
            }
        }
        "siren" => check_siren(p)?,
        "number" => check_number(p)?,
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn every_entity_of_every_model_follows_home_assistants_rules() {
    let gateway = sid(GATEWAY);
    let mut topics = HashSet::new();
    let mut count_by_component: BTreeMap<&str, usize> = BTreeMap::new();
    let mut sensor_classes = HashSet::new();
    for (i, d) in catalogue::devices().iter().enumerate() {
        let s = sid(&format!("158d0001{i:06x}"));
        let n = name(&format!("room {i}/{}", d.model()));
        let disc = Discovery::new(&Config::default());
        let info = DeviceInfo {
            sid: &s,
            name: &n,
            device: d,
            gateway: Some(&gateway),
        };
        let messages = disc.device(&info);
        assert!(
            messages.len() >= 2,
            "{}: only {} configs",
            d.model(),
            messages.len()
        );
        // mqtt/device_trigger.py: a second trigger with the same type and subtype on a device
        // "conflicts with existing device trigger" and is not set up.
        let mut triggers: HashMap<(String, String), String> = HashMap::new();
        for m in messages {
            if let Err(e) = check_config(&m.topic, m.component, &m.payload) {
                panic!("{} {}: {e}\n{}", d.model(), m.topic, m.payload);
            }
            assert!(topics.insert(m.topic.clone()), "duplicate {}", m.topic);
            *count_by_component.entry(m.component).or_default() += 1;
            if m.component == "device_automation" {
                let key = (
                    text(&m.payload, "type").unwrap_or("").to_owned(),
                    text(&m.payload, "subtype").unwrap_or("").to_owned(),
                );
                if let Some(other) = triggers.insert(key.clone(), m.topic.clone()) {
                    panic!("{}: {} and {other} are both {key:?}", d.model(), m.topic);
                }
            }
            if m.component == "sensor"
                && let Some(c) = text(&m.payload, "device_class")
            {
                sensor_classes.insert(c.to_owned());
            }
        }
    }
    for m in Discovery::new(&Config::default()).bridge() {
        // The bridge's own entity has no device availability (it is the availability).
        let mut p = m.payload.clone();
        p["availability"] =
            json!([{"topic": "lumi/bridge/state", "value_template": "{{ value_json.state }}"}]);
        p["device"]["model_id"] = json!("bridge");
        p["device"]["via_device"] = json!("none");
        check_config(&m.topic, m.component, &p).unwrap();
    }
    // Every kind of entity the issue asks for is there.
    for c in [
        "sensor",
        "binary_sensor",
        "switch",
        "light",
        "siren",
        "select",
        "cover",
        "device_automation",
        "climate",
        "button",
    ] {
        assert!(
            count_by_component.get(c).is_some_and(|n| *n > 0),
            "no {c}: {count_by_component:?}"
        );
    }
    // The sensor rules were exercised on numeric, total, enum and timestamp sensors.
    for c in ["temperature", "energy", "enum", "timestamp"] {
        assert!(
            sensor_classes.contains(c),
            "no {c} sensor: {sensor_classes:?}"
        );
    }
}

/// A change to a config, and what the checker must say about the changed config.
type Case<'a> = (&'a str, &'a dyn Fn(&mut Value));

/// The generated config of `model` on `topic` (the checker accepts it), and for each case a
/// copy changed by it that the checker must refuse with an error containing its text.
fn refused(model: &str, topic: &str, cases: &[Case<'_>]) {
    let all = configs(
        &Config::default(),
        model,
        "158d0001a2b3c4",
        "hall",
        Some(GATEWAY),
    );
    let good = all
        .get(topic)
        .unwrap_or_else(|| panic!("{model}: no {topic} in {:?}", all.keys()));
    let component = topic.split('/').nth(1).unwrap();
    check_config(topic, component, good).unwrap_or_else(|e| panic!("{topic}: {e}"));
    for (why, change) in cases {
        let mut bad = good.clone();
        change(&mut bad);
        match check_config(topic, component, &bad) {
            Ok(()) => panic!("{topic}: passed although {why:?} should refuse it: {bad}"),
            Err(e) => assert!(e.contains(why), "{topic}: refused for {e:?}, not {why:?}"),
        }
    }
}

fn set(key: &'static str, v: Value) -> impl Fn(&mut Value) {
    move |p: &mut Value| p[key] = v.clone()
}

fn remove(key: &'static str) -> impl Fn(&mut Value) {
    move |p: &mut Value| {
        p.as_object_mut().unwrap().remove(key);
    }
}

#[test]
fn the_checker_catches_what_home_assistant_refuses() {
    const T: &str = "homeassistant/sensor/lumi_158d0001a2b3c4_temperature/config";
    refused(
        "sensor_ht",
        T,
        &[
            // Sensor: device class, unit, state class.
            (
                "not a SensorDeviceClass",
                &set("device_class", json!("temp")),
            ),
            (
                "not valid for device class temperature",
                &set("unit_of_measurement", json!("lx")),
            ),
            ("needs a unit", &remove("unit_of_measurement")),
            (
                "not a SensorStateClass",
                &set("state_class", json!("sometimes")),
            ),
            (
                "impossible for device class temperature",
                &set("state_class", json!("total_increasing")),
            ),
            (
                "needs a unit of",
                &set("state_class", json!("measurement_angle")),
            ),
            (
                "needs state_class total",
                &set("last_reset_value_template", json!("{{ 0 }}")),
            ),
            (
                "options are not allowed",
                &set("options", json!(["a", "b"])),
            ),
            // Common keys.
            (
                "a sensor cannot be a config entity",
                &set("entity_category", json!("config")),
            ),
            ("entity_category", &set("entity_category", json!("system"))),
            (
                "unknown key value_templat",
                &set("value_templat", json!("x")),
            ),
            (
                "object_id is deprecated",
                &set("object_id", json!("hall_temperature")),
            ),
            (
                "default_entity_id",
                &set("default_entity_id", json!("sensor.Hall Temperature")),
            ),
            (
                "default_entity_id",
                &set("default_entity_id", json!("binary_sensor.hall_temperature")),
            ),
            (
                "default_entity_id",
                &set("default_entity_id", json!("sensor.hall__temperature")),
            ),
            ("unique_id", &set("unique_id", json!("other"))),
            ("required key state_topic", &remove("state_topic")),
            ("name must be", &set("name", json!(3))),
            ("icon", &set("icon", json!("thermometer"))),
            ("qos", &set("qos", json!(3))),
            // Availability.
            (
                "availability_mode",
                &set("availability_mode", json!("most")),
            ),
            (
                "exclusive",
                &set("availability_topic", json!("lumi/bridge/state")),
            ),
            ("need a topic", &|p| {
                p["availability"][1] = json!({"value_template": "{{ 1 }}"})
            }),
            ("availability key", &|p| {
                p["availability"][0]["payload"] = json!("x")
            }),
            // Device and origin.
            ("at least one of identifiers or connections", &|p| {
                p["device"].as_object_mut().unwrap().remove("identifiers");
            }),
            ("at least one of identifiers or connections", &|p| {
                p["device"]["identifiers"] = json!([])
            }),
            ("[type, id] pairs", &|p| {
                p["device"]["connections"] = json!([["mac"]])
            }),
            ("device key sw", &|p| p["device"]["sw"] = json!("1.0")),
            ("device.model must be a text", &|p| {
                p["device"]["model"] = json!(1)
            }),
            ("origin.name is required", &|p| {
                p["origin"].as_object_mut().unwrap().remove("name");
            }),
            ("origin key sw", &|p| p["origin"]["sw"] = json!("1.0")),
        ],
    );
    // The topic itself.
    let good = configs(
        &Config::default(),
        "sensor_ht",
        "158d0001a2b3c4",
        "hall",
        Some(GATEWAY),
    )[T]
        .clone();
    assert!(check_config("homeassistant/sensor/a b/config", "sensor", &good).is_err());
    assert!(check_config(T, "binary_sensor", &good).is_err());

    // Enum sensor: options, no unit, no state class.
    refused(
        "smoke",
        "homeassistant/sensor/lumi_158d0001a2b3c4_fault/config",
        &[
            ("lumi: an enum sensor lists its options", &remove("options")),
            (
                "options must be a non-empty list",
                &set("options", json!([])),
            ),
            (
                "options are not allowed",
                &set("unit_of_measurement", json!("%")),
            ),
            (
                "options are not allowed",
                &set("state_class", json!("measurement")),
            ),
            ("options need device_class enum", &remove("device_class")),
            ("takes no unit", &|p| {
                p.as_object_mut().unwrap().remove("options");
                p["unit_of_measurement"] = json!("%");
            }),
            ("impossible for device class enum", &|p| {
                p.as_object_mut().unwrap().remove("options");
                p["state_class"] = json!("measurement");
            }),
        ],
    );
    // Timestamp: no unit, no state class.
    refused(
        "sensor_ht",
        "homeassistant/sensor/lumi_158d0001a2b3c4_last_seen/config",
        &[
            ("takes no unit", &set("unit_of_measurement", json!("s"))),
            (
                "impossible for device class timestamp",
                &set("state_class", json!("measurement")),
            ),
        ],
    );
    // Energy: a total, in an energy unit; the micro sign is Greek mu since 2025.6.
    refused(
        "plug",
        "homeassistant/sensor/lumi_158d0001a2b3c4_energy/config",
        &[
            (
                "impossible for device class energy",
                &set("state_class", json!("measurement")),
            ),
            (
                "not valid for device class energy",
                &set("unit_of_measurement", json!("W")),
            ),
        ],
    );
    refused(
        "sensor_ht",
        "homeassistant/sensor/lumi_158d0001a2b3c4_voltage/config",
        &[(
            "not valid for device class voltage",
            &set("unit_of_measurement", json!("\u{b5}V")),
        )],
    );
    refused(
        "plug",
        "homeassistant/sensor/lumi_158d0001a2b3c4_power/config",
        &[(
            "not valid for device class power",
            &set("unit_of_measurement", json!("BTU/h")),
        )],
    );
    // Binary sensor.
    refused(
        "sensor_magnet.aq2",
        "homeassistant/binary_sensor/lumi_158d0001a2b3c4_contact/config",
        &[
            (
                "binary_sensor device_class",
                &set("device_class", json!("contact")),
            ),
            (
                "a sensor cannot be a config entity",
                &set("entity_category", json!("config")),
            ),
            ("required key state_topic", &remove("state_topic")),
        ],
    );
    // Switch.
    refused(
        "ctrl_neutral2",
        "homeassistant/switch/lumi_158d0001a2b3c4_state_left/config",
        &[
            ("switch device_class", &set("device_class", json!("light"))),
            ("required key command_topic", &remove("command_topic")),
        ],
    );
    // Light (JSON schema).
    refused(
        "gateway",
        "homeassistant/light/lumi_158d0001a2b3c4_light/config",
        &[
            ("light schema must be json", &set("schema", json!("basic"))),
            ("required key schema", &remove("schema")),
            (
                "required key supported_color_modes",
                &remove("supported_color_modes"),
            ),
            ("required key command_topic", &remove("command_topic")),
            (
                "not all ColorMode values",
                &set("supported_color_modes", json!(["rgb", "unknown"])),
            ),
            (
                "invalid supported_color_modes",
                &set("supported_color_modes", json!([])),
            ),
            (
                "invalid supported_color_modes",
                &set("supported_color_modes", json!(["brightness", "rgb"])),
            ),
            (
                "invalid supported_color_modes",
                &set("supported_color_modes", json!(["onoff", "rgb"])),
            ),
            (
                "invalid supported_color_modes",
                &set("supported_color_modes", json!(["white", "color_temp"])),
            ),
            (
                "must be unique",
                &set("supported_color_modes", json!(["rgb", "rgb"])),
            ),
            ("brightness_scale", &set("brightness_scale", json!(0))),
            ("brightness_scale", &remove("brightness_scale")),
            (
                "brightness must be a boolean",
                &set("brightness", json!("yes")),
            ),
            ("unknown key color_mode", &set("color_mode", json!(true))),
        ],
    );
    // Siren and its ringtone select.
    refused(
        "gateway",
        "homeassistant/siren/lumi_158d0001a2b3c4_sound/config",
        &[
            (
                "available_tones must be a non-empty list",
                &set("available_tones", json!([])),
            ),
            (
                "available_tones must be a non-empty list",
                &set("available_tones", json!("bark")),
            ),
            (
                "reads tone, but no available_tones",
                &remove("available_tones"),
            ),
            (
                "ignores volume_level",
                &set("command_template", json!("{\"sound\": \"{{ tone }}\"}")),
            ),
            (
                "support_duration must be a boolean",
                &set("support_duration", json!("no")),
            ),
            (
                "unknown key support_tones",
                &set("support_tones", json!(true)),
            ),
            ("required key command_topic", &remove("command_topic")),
        ],
    );
    refused(
        "gateway",
        "homeassistant/select/lumi_158d0001a2b3c4_ringtone/config",
        &[
            ("required key options", &remove("options")),
            ("required key command_topic", &remove("command_topic")),
            ("non-empty list of texts", &set("options", json!([]))),
            ("non-empty list of texts", &set("options", json!([1, 2]))),
        ],
    );
    // Button.
    refused(
        "gateway",
        "homeassistant/button/lumi_158d0001a2b3c4_pairing/config",
        &[
            ("button device_class", &set("device_class", json!("pair"))),
            ("required key command_topic", &remove("command_topic")),
        ],
    );
    // Cover.
    refused(
        "curtain",
        "homeassistant/cover/lumi_158d0001a2b3c4_level/config",
        &[
            ("cover device_class", &set("device_class", json!("roller"))),
            (
                "set_position_topic must be set together with position_topic",
                &remove("position_topic"),
            ),
            (
                "value_template must be set together with state_topic",
                &set("value_template", json!("{{ 1 }}")),
            ),
            (
                "payload_open must be a text or null",
                &set("payload_open", json!(1)),
            ),
        ],
    );
    // Climate.
    refused(
        "acpartner.v3",
        "homeassistant/climate/lumi_158d0001a2b3c4_system_mode/config",
        &[
            (
                "must be HVACMode values",
                &set("modes", json!(["off", "cycle"])),
            ),
            ("must be HVACMode values", &set("modes", json!([]))),
            ("precision", &set("precision", json!(2.0))),
            ("temperature_unit", &set("temperature_unit", json!("°C"))),
            ("min_temp", &set("min_temp", json!(40))),
            (
                "fan_modes must be a list of texts",
                &set("fan_modes", json!("low")),
            ),
        ],
    );
    // Device trigger.
    refused(
        "86sw2",
        "homeassistant/device_automation/lumi_158d0001a2b3c4_action_single_left/config",
        &[
            ("required key type", &remove("type")),
            ("required key subtype", &remove("subtype")),
            ("required key topic", &remove("topic")),
            ("required key automation_type", &remove("automation_type")),
            ("required key device", &remove("device")),
            (
                "automation_type must be trigger",
                &set("automation_type", json!("action")),
            ),
            (
                "subtype must be a non-empty text",
                &set("subtype", json!("")),
            ),
            ("unknown key unique_id", &set("unique_id", json!("x"))),
            ("at least one of identifiers or connections", &|p| {
                p["device"]["identifiers"] = json!([])
            }),
        ],
    );
    // Number (no catalogue model has one yet; a config shaped as lumi would write it).
    let number_topic = "homeassistant/number/lumi_158d0001a2b3c4_volume/config";
    let number = {
        let mut p = configs(
            &Config::default(),
            "ctrl_neutral2",
            "158d0001a2b3c4",
            "hall",
            Some(GATEWAY),
        )["homeassistant/switch/lumi_158d0001a2b3c4_state_left/config"]
            .clone();
        let o = p.as_object_mut().unwrap();
        for k in ["payload_on", "payload_off", "device_class"] {
            o.remove(k);
        }
        o.insert("unique_id".into(), json!("lumi_158d0001a2b3c4_volume"));
        o.insert("default_entity_id".into(), json!("number.hall_volume"));
        o.insert("min".into(), json!(0));
        o.insert("max".into(), json!(100));
        o.insert("step".into(), json!(1));
        p
    };
    check_config(number_topic, "number", &number).unwrap();
    for (why, change) in [
        (
            "must be greater than min",
            &set("max", json!(0)) as &dyn Fn(&mut Value),
        ),
        ("step", &set("step", json!(0))),
        ("number mode", &set("mode", json!("knob"))),
        ("required key command_topic", &remove("command_topic")),
    ] {
        let mut bad = number.clone();
        change(&mut bad);
        let e = check_config(number_topic, "number", &bad).expect_err(why);
        assert!(e.contains(why), "{e}");
    }
}

#[test]
fn the_unit_table_follows_home_assistant() {
    // Spot checks against the sources, so an edit of the table that breaks them is noticed.
    let units = |c: &str| {
        SENSOR_CLASSES
            .iter()
            .find(|s| s.class == c)
            .map(|s| s.units)
            .unwrap()
    };
    assert!(matches!(units("enum"), Units::NoUnit));
    assert!(matches!(units("aqi"), Units::NoUnit));
    assert!(matches!(units("power_factor"), Units::OfOrNone(&["%"])));
    assert!(matches!(units("monetary"), Units::Currency));
    let Units::Of(duration) = units("duration") else {
        panic!()
    };
    assert_eq!(
        duration.last().map(|u| u.chars().next()),
        Some(Some('\u{3bc}'))
    );
    // Every unit is written with Greek mu, never the micro sign.
    for s in SENSOR_CLASSES {
        if let Units::Of(u) | Units::OfOrNone(u) = s.units {
            assert!(u.iter().all(|u| !u.contains('\u{b5}')), "{}", s.class);
        }
        assert!(
            s.state_classes.iter().all(|c| STATE_CLASSES.contains(c)),
            "{}",
            s.class
        );
    }
    let names: HashSet<&str> = SENSOR_CLASSES.iter().map(|s| s.class).collect();
    assert_eq!(names.len(), SENSOR_CLASSES.len(), "a class twice");
    assert_eq!(SENSOR_CLASSES.len(), 56);
}

#[test]
fn read_only_controls_are_never_config_sensors() {
    use lumi_proto::catalogue::{
        Device, EntityCategory, HaComponent, HaEntity, Property, ValueType,
    };
    // A switch and a number the gateway only reports, both in the `config` category: shown
    // as a binary sensor and a sensor, which Home Assistant refuses in that category.
    let control = |component| HaEntity {
        component,
        device_class: None,
        unit: None,
        state_class: None,
        entity_category: Some(EntityCategory::Config),
        icon: None,
        enabled_by_default: true,
        payload: None,
        parts: &[],
    };
    let property = |name, value, component| Property {
        name,
        description: "",
        value,
        unit: None,
        write: None,
        v1: &[],
        v2: &[],
        ha: Some(control(component)),
    };
    let plug = catalogue::lookup("plug").unwrap();
    let properties: &'static [Property] = Box::leak(Box::new([
        property("child_lock", ValueType::Bool, HaComponent::Switch),
        property(
            "sensitivity",
            ValueType::Integer {
                min: Some(1),
                max: Some(3),
            },
            HaComponent::Number,
        ),
    ]));
    let device: &'static Device = Box::leak(Box::new(Device {
        models: &["test.readonly"],
        name: "Read-only controls",
        product_code: "unknown",
        manufacturer: plug.manufacturer,
        kind: plug.kind,
        power: plug.power,
        properties,
        note: "",
    }));
    let s = sid("158d0001a2b3c4");
    let n = name("hall");
    let gateway = sid(GATEWAY);
    let messages = Discovery::new(&Config::default()).device(&DeviceInfo {
        sid: &s,
        name: &n,
        device,
        gateway: Some(&gateway),
    });
    let components: Vec<(&str, Option<&str>)> = messages
        .iter()
        .filter(|m| !m.topic.contains("last_seen"))
        .map(|m| (m.component, text(&m.payload, "entity_category")))
        .collect();
    assert_eq!(
        components,
        [
            ("binary_sensor", Some("diagnostic")),
            ("sensor", Some("diagnostic"))
        ]
    );
    for m in &messages {
        check_config(&m.topic, m.component, &m.payload)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", m.topic, m.payload));
    }
}
