//! Discovery tests: exact payloads for a few models (expected values written from the
//! conventions in `mqtt-conventions.md` §4.2, not copied from the output), and a validation
//! of every entity of every catalogue model against Home Assistant's rules, plus a check
//! that every topic and template fits the rest of the bridge (its state payloads, its topic
//! parser, its command parser).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::UNIX_EPOCH;

use lumi_proto::catalogue::{self, DeviceState, Reading, Rgb, SOUNDS};
use lumi_proto::lan::{Props, ProtoVersion};
use serde_json::{Value, json};

use super::*;
use crate::state::{Extras, parse_set, state_payload};
use crate::topics::Incoming;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const GATEWAY: &str = "34ce0088db0b";

fn sid(s: &str) -> Sid {
    Sid::new(s).unwrap()
}

fn name(s: &str) -> FriendlyName {
    FriendlyName::new(s).unwrap()
}

/// All configs of a device, by topic.
fn configs(
    config: &Config,
    model: &str,
    device_sid: &str,
    friendly: &str,
    gateway: Option<&str>,
) -> BTreeMap<String, Value> {
    let disc = Discovery::new(config);
    let s = sid(device_sid);
    let n = name(friendly);
    let g = gateway.map(sid);
    let info = DeviceInfo {
        sid: &s,
        name: &n,
        device: catalogue::lookup(model).unwrap(),
        gateway: g.as_ref(),
    };
    disc.device(&info)
        .into_iter()
        .map(|m| (m.topic, m.payload))
        .collect()
}

fn availability(friendly: &str) -> Value {
    json!([
        {"topic": "lumi/bridge/state", "value_template": "{{ value_json.state }}"},
        {"topic": format!("lumi/{friendly}/availability"), "value_template": "{{ value_json.state }}"}
    ])
}

fn origin() -> Value {
    json!({"name": "lumi", "sw_version": VERSION})
}

#[test]
fn a_temperature_sensor() {
    let all = configs(
        &Config::default(),
        "sensor_ht",
        "158d0001a2b3c4",
        "hall/climate",
        Some(GATEWAY),
    );
    let device = json!({
        "identifiers": ["lumi_158d0001a2b3c4"],
        "name": "hall/climate",
        "model": "Mi temperature and humidity sensor",
        "model_id": "WSDCGQ01LM",
        "manufacturer": "Xiaomi",
        "via_device": "lumi_34ce0088db0b"
    });
    assert_eq!(
        all["homeassistant/sensor/lumi_158d0001a2b3c4_temperature/config"],
        json!({
            "unique_id": "lumi_158d0001a2b3c4_temperature",
            "object_id": "hall_climate_temperature",
            "default_entity_id": "sensor.hall_climate_temperature",
            "name": "Temperature",
            "state_topic": "lumi/hall/climate",
            "value_template": "{{ value_json[\"temperature\"] }}",
            "device_class": "temperature",
            "unit_of_measurement": "°C",
            "state_class": "measurement",
            "enabled_by_default": true,
            "device": device,
            "availability_mode": "all",
            "availability": availability("hall/climate"),
            "origin": origin()
        })
    );
    // Battery: a diagnostic entity.
    assert_eq!(
        all["homeassistant/sensor/lumi_158d0001a2b3c4_battery/config"],
        json!({
            "unique_id": "lumi_158d0001a2b3c4_battery",
            "object_id": "hall_climate_battery",
            "default_entity_id": "sensor.hall_climate_battery",
            "name": "Battery",
            "state_topic": "lumi/hall/climate",
            "value_template": "{{ value_json[\"battery\"] }}",
            "device_class": "battery",
            "unit_of_measurement": "%",
            "state_class": "measurement",
            "entity_category": "diagnostic",
            "enabled_by_default": true,
            "device": device,
            "availability_mode": "all",
            "availability": availability("hall/climate"),
            "origin": origin()
        })
    );
    // last_seen: a timestamp, hidden until enabled.
    assert_eq!(
        all["homeassistant/sensor/lumi_158d0001a2b3c4_last_seen/config"],
        json!({
            "unique_id": "lumi_158d0001a2b3c4_last_seen",
            "object_id": "hall_climate_last_seen",
            "default_entity_id": "sensor.hall_climate_last_seen",
            "name": "Last seen",
            "state_topic": "lumi/hall/climate",
            "value_template": "{{ value_json[\"last_seen\"] }}",
            "device_class": "timestamp",
            "entity_category": "diagnostic",
            "icon": "mdi:clock",
            "enabled_by_default": false,
            "device": device,
            "availability_mode": "all",
            "availability": availability("hall/climate"),
            "origin": origin()
        })
    );
    let topics: Vec<&str> = all.keys().map(String::as_str).collect();
    assert_eq!(
        topics,
        [
            "homeassistant/sensor/lumi_158d0001a2b3c4_battery/config",
            "homeassistant/sensor/lumi_158d0001a2b3c4_humidity/config",
            "homeassistant/sensor/lumi_158d0001a2b3c4_last_seen/config",
            "homeassistant/sensor/lumi_158d0001a2b3c4_temperature/config",
            "homeassistant/sensor/lumi_158d0001a2b3c4_voltage/config",
        ]
    );
}

#[test]
fn without_device_availability_only_the_bridge_state_counts() {
    let c = Config::from_toml("[bridge]\navailability = false").unwrap();
    let all = configs(&c, "sensor_ht", "158d0001a2b3c4", "hall", Some(GATEWAY));
    let t = &all["homeassistant/sensor/lumi_158d0001a2b3c4_humidity/config"];
    assert_eq!(
        t["availability"],
        json!([{"topic": "lumi/bridge/state", "value_template": "{{ value_json.state }}"}])
    );
    assert!(t.get("availability_mode").is_none());
}

#[test]
fn a_door_sensor() {
    let all = configs(
        &Config::default(),
        "sensor_magnet.aq2",
        "158d0001d84e77",
        "front door",
        Some(GATEWAY),
    );
    // `contact` is true when closed, so Home Assistant's "on" (open) is false.
    assert_eq!(
        all["homeassistant/binary_sensor/lumi_158d0001d84e77_contact/config"],
        json!({
            "unique_id": "lumi_158d0001d84e77_contact",
            "object_id": "front_door_contact",
            "default_entity_id": "binary_sensor.front_door_contact",
            "name": "Contact",
            "state_topic": "lumi/front door",
            "value_template": "{{ value_json[\"contact\"] }}",
            "payload_on": false,
            "payload_off": true,
            "device_class": "door",
            "enabled_by_default": true,
            "device": {
                "identifiers": ["lumi_158d0001d84e77"],
                "name": "front door",
                "model": "Aqara door and window sensor",
                "model_id": "MCCGQ11LM",
                "manufacturer": "Aqara",
                "via_device": "lumi_34ce0088db0b"
            },
            "availability_mode": "all",
            "availability": availability("front door"),
            "origin": origin()
        })
    );
}

#[test]
fn a_double_wall_switch() {
    let all = configs(
        &Config::default(),
        "ctrl_neutral2",
        "158d00014a1bcd",
        "wall_switch_double",
        Some(GATEWAY),
    );
    assert_eq!(
        all["homeassistant/switch/lumi_158d00014a1bcd_state_left/config"],
        json!({
            "unique_id": "lumi_158d00014a1bcd_state_left",
            "object_id": "wall_switch_double_state_left",
            "default_entity_id": "switch.wall_switch_double_state_left",
            "name": "Left",
            "state_topic": "lumi/wall_switch_double",
            "value_template": "{{ value_json[\"state_left\"] }}",
            "command_topic": "lumi/wall_switch_double/set/state_left",
            "payload_on": "ON",
            "payload_off": "OFF",
            "device_class": "switch",
            "enabled_by_default": true,
            "device": {
                "identifiers": ["lumi_158d00014a1bcd"],
                "name": "wall_switch_double",
                "model": "Aqara wall switch (no neutral, double rocker)",
                "model_id": "QBKG03LM",
                "manufacturer": "Aqara",
                "via_device": "lumi_34ce0088db0b"
            },
            "availability_mode": "all",
            "availability": availability("wall_switch_double"),
            "origin": origin()
        })
    );
    assert!(all.contains_key("homeassistant/switch/lumi_158d00014a1bcd_state_right/config"));
    // A mains switch reports a fixed voltage: no entity for it.
    assert!(!all.keys().any(|t| t.contains("voltage")));
}

#[test]
fn the_gateway() {
    let all = configs(&Config::default(), "gateway", GATEWAY, "gateway", None);
    let device = json!({
        "identifiers": ["lumi_34ce0088db0b"],
        "name": "gateway",
        "model": "Mi multifunction gateway",
        "model_id": "DGNWG02LM",
        "manufacturer": "Xiaomi",
        "via_device": "lumi_bridge_lumi"
    });
    assert_eq!(
        all["homeassistant/light/lumi_34ce0088db0b_light/config"],
        json!({
            "unique_id": "lumi_34ce0088db0b_light",
            "object_id": "gateway_light",
            "default_entity_id": "light.gateway_light",
            "name": null,
            "schema": "json",
            "state_topic": "lumi/gateway",
            "command_topic": "lumi/gateway/set",
            "supported_color_modes": ["rgb"],
            "brightness": true,
            "brightness_scale": 255,
            "enabled_by_default": true,
            "device": device,
            "availability_mode": "all",
            "availability": availability("gateway"),
            "origin": origin()
        })
    );
    let tones: Vec<&str> = SOUNDS.iter().map(|s| s.slug).collect();
    let mut options = tones.clone();
    options.push("stop");
    assert_eq!(
        all["homeassistant/siren/lumi_34ce0088db0b_sound/config"],
        json!({
            "unique_id": "lumi_34ce0088db0b_sound",
            "object_id": "gateway_sound",
            "default_entity_id": "siren.gateway_sound",
            "name": "Siren",
            "state_topic": "lumi/gateway",
            "state_value_template": "{{ 'OFF' if value_json.get('sound') in (none, 'stop') else 'ON' }}",
            "command_topic": "lumi/gateway/set",
            "command_template": "{\"sound\": \"{{ tone | default('doorbell') }}\"{% if volume_level is defined %}, \"volume\": {{ (volume_level * 100) | round(0) | int }}{% endif %}}",
            "command_off_template": "{\"sound\": \"stop\"}",
            "available_tones": tones,
            "support_duration": false,
            "support_volume_set": true,
            "enabled_by_default": true,
            "device": device,
            "availability_mode": "all",
            "availability": availability("gateway"),
            "origin": origin()
        })
    );
    assert_eq!(
        all["homeassistant/select/lumi_34ce0088db0b_ringtone/config"],
        json!({
            "unique_id": "lumi_34ce0088db0b_ringtone",
            "object_id": "gateway_ringtone",
            "default_entity_id": "select.gateway_ringtone",
            "name": "Ringtone",
            "icon": "mdi:music-note",
            "state_topic": "lumi/gateway",
            "value_template": "{{ value_json[\"sound\"] }}",
            "command_topic": "lumi/gateway/set/sound",
            "options": options,
            "enabled_by_default": true,
            "device": device,
            "availability_mode": "all",
            "availability": availability("gateway"),
            "origin": origin()
        })
    );
    assert_eq!(
        all["homeassistant/button/lumi_34ce0088db0b_pairing/config"],
        json!({
            "unique_id": "lumi_34ce0088db0b_pairing",
            "object_id": "gateway_pairing",
            "default_entity_id": "button.gateway_pairing",
            "name": "Permit join",
            "command_topic": "lumi/gateway/set/pairing",
            "payload_press": "ON",
            "entity_category": "config",
            "icon": "mdi:zigbee",
            "enabled_by_default": true,
            "device": device,
            "availability_mode": "all",
            "availability": availability("gateway"),
            "origin": origin()
        })
    );
}

#[test]
fn a_curtain() {
    let all = configs(
        &Config::default(),
        "curtain",
        "158d0001c0ffee",
        "living/curtain",
        Some(GATEWAY),
    );
    assert_eq!(
        all["homeassistant/cover/lumi_158d0001c0ffee_level/config"],
        json!({
            "unique_id": "lumi_158d0001c0ffee_level",
            "object_id": "living_curtain_level",
            "default_entity_id": "cover.living_curtain_level",
            "name": null,
            "position_topic": "lumi/living/curtain",
            "position_template": "{{ value_json[\"level\"] }}",
            "set_position_topic": "lumi/living/curtain/set/level",
            "command_topic": "lumi/living/curtain/set/motor",
            "payload_open": "open",
            "payload_close": "close",
            "payload_stop": "stop",
            "device_class": "curtain",
            "enabled_by_default": true,
            "device": {
                "identifiers": ["lumi_158d0001c0ffee"],
                "name": "living/curtain",
                "model": "Aqara curtain motor",
                "model_id": "ZNCLDJ11LM",
                "manufacturer": "Aqara",
                "via_device": "lumi_34ce0088db0b"
            },
            "availability_mode": "all",
            "availability": availability("living/curtain"),
            "origin": origin()
        })
    );
}

#[test]
fn button_events_are_device_triggers() {
    let all = configs(
        &Config::default(),
        "86sw2",
        "158d0001a2b3c5",
        "bedroom/switch",
        Some(GATEWAY),
    );
    assert_eq!(
        all["homeassistant/device_automation/lumi_158d0001a2b3c5_action_single_left/config"],
        json!({
            "automation_type": "trigger",
            "type": "action",
            "subtype": "single_left",
            "payload": "single_left",
            "topic": "lumi/bedroom/switch/action",
            "device": {
                "identifiers": ["lumi_158d0001a2b3c5"],
                "name": "bedroom/switch",
                "model": "Aqara wireless wall switch (double rocker)",
                "model_id": "WXKG02LM",
                "manufacturer": "Aqara",
                "via_device": "lumi_34ce0088db0b"
            },
            "origin": origin()
        })
    );
    let triggers: BTreeSet<&str> = all
        .values()
        .filter(|p| p["automation_type"] == "trigger")
        .filter_map(|p| p["subtype"].as_str())
        .collect();
    let want: BTreeSet<&str> = [
        "single_left",
        "double_left",
        "long_left",
        "single_right",
        "double_right",
        "long_right",
        "single_both",
        "double_both",
        "long_both",
    ]
    .into();
    assert_eq!(triggers, want);
    // The cube: every gesture.
    let cube = configs(
        &Config::default(),
        "cube",
        "158d0001cbcbcb",
        "cube",
        Some(GATEWAY),
    );
    let gestures: BTreeSet<&str> = cube
        .values()
        .filter_map(|p| p["subtype"].as_str())
        .collect();
    for g in [
        "flip90",
        "flip180",
        "slide",
        "tap",
        "shake",
        "throw",
        "wakeup",
        "fall",
        "rotate_right",
        "rotate_left",
        "rotate",
    ] {
        assert!(gestures.contains(g), "{g}");
    }
}

#[test]
fn an_air_conditioner() {
    let all = configs(
        &Config::default(),
        "acpartner.v3",
        "7811dcb2a7d9",
        "ac",
        None,
    );
    let c = &all["homeassistant/climate/lumi_7811dcb2a7d9_system_mode/config"];
    // `cycle` is no Home Assistant mode; `off` is the power.
    assert_eq!(
        c["modes"],
        json!(["off", "heat", "cool", "auto", "dry", "fan_only"])
    );
    assert_eq!(c["mode_command_topic"], json!("lumi/ac/set"));
    assert_eq!(
        c["mode_command_template"],
        json!(
            "{% if value == 'off' %}{\"state\": \"OFF\"}{% else %}{\"state\": \"ON\", \"system_mode\": \"{{ value }}\"}{% endif %}"
        )
    );
    assert_eq!(
        c["mode_state_template"],
        json!(
            "{% if value_json.get('state') == 'OFF' %}off{% else %}{{ value_json.get('system_mode') }}{% endif %}"
        )
    );
    assert_eq!(c["power_command_topic"], json!("lumi/ac/set/state"));
    assert_eq!(
        c["temperature_command_topic"],
        json!("lumi/ac/set/target_temperature")
    );
    assert_eq!(
        (c["min_temp"].clone(), c["max_temp"].clone()),
        (json!(17), json!(30))
    );
    assert_eq!(
        c["fan_modes"],
        json!(["low", "medium", "high", "auto", "cycle"])
    );
    assert_eq!(c["swing_modes"], json!(["on", "off"]));
    assert_eq!(c["temperature_unit"], json!("C"));
}

#[test]
fn the_bridge_device() {
    let disc = Discovery::new(&Config::default());
    let b = disc.bridge();
    assert_eq!(b.len(), 1);
    assert_eq!(
        b[0].topic,
        "homeassistant/binary_sensor/lumi_bridge_lumi_connection_state/config"
    );
    assert_eq!(
        b[0].payload,
        json!({
            "unique_id": "lumi_bridge_lumi_connection_state",
            "object_id": "lumi_connection_state",
            "default_entity_id": "binary_sensor.lumi_connection_state",
            "name": "Connection state",
            "state_topic": "lumi/bridge/state",
            "value_template": "{{ value_json.state }}",
            "payload_on": "online",
            "payload_off": "offline",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
            "enabled_by_default": true,
            "device": {
                "identifiers": ["lumi_bridge_lumi"],
                "name": "lumi bridge (lumi)",
                "model": "lumi bridge",
                "manufacturer": "lumi",
                "sw_version": VERSION
            },
            "origin": origin()
        })
    );
    assert_eq!(disc.bridge_identifier(), "lumi_bridge_lumi");
}

#[test]
fn removal_clears_every_topic_whatever_the_name() {
    let disc = Discovery::new(&Config::default());
    let s = sid("158d0001a2b3c4");
    let d = catalogue::lookup("sensor_ht").unwrap();
    assert_eq!(
        disc.removal(&s, d),
        [
            "homeassistant/sensor/lumi_158d0001a2b3c4_temperature/config",
            "homeassistant/sensor/lumi_158d0001a2b3c4_humidity/config",
            "homeassistant/sensor/lumi_158d0001a2b3c4_battery/config",
            "homeassistant/sensor/lumi_158d0001a2b3c4_voltage/config",
            "homeassistant/sensor/lumi_158d0001a2b3c4_last_seen/config",
        ]
    );
    for d in catalogue::devices() {
        let published: BTreeSet<String> = configs(
            &Config::default(),
            d.model(),
            "158d0001a2b3c4",
            "some/name",
            Some(GATEWAY),
        )
        .into_keys()
        .collect();
        let cleared: BTreeSet<String> = disc.removal(&s, d).into_iter().collect();
        assert_eq!(published, cleared, "{}", d.model());
    }
}

#[test]
fn hostile_sids_and_names_give_valid_ids() {
    let disc = Discovery::new(&Config::default());
    let s = sid("158d000222****");
    let n = name("客厅/灯");
    let info = DeviceInfo {
        sid: &s,
        name: &n,
        device: catalogue::lookup("plug").unwrap(),
        gateway: None,
    };
    for m in disc.device(&info) {
        assert!(valid_id(&m.unique_id), "{}", m.unique_id);
        if let Some(o) = m.payload["object_id"].as_str() {
            assert!(o.starts_with("158d000222_"), "{o}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Home Assistant's rules, for every entity of every catalogue model.

/// Sensor device classes and their units: `homeassistant/components/sensor/const.py`
/// (`SensorDeviceClass`, `DEVICE_CLASS_UNITS`). Empty = no unit (`date`, `enum`, `timestamp`,
/// `monetary` takes any ISO 4217 code and is not used here).
#[rustfmt::skip]
const SENSOR_CLASSES: &[(&str, &[&str])] = &[
    ("apparent_power", &["mVA", "VA", "kVA"]),
    ("aqi", &[]),
    ("atmospheric_pressure", &["cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"]),
    ("battery", &["%"]),
    ("carbon_dioxide", &["ppm"]),
    ("carbon_monoxide", &["ppm", "mg/m³", "µg/m³"]),
    ("current", &["A", "mA"]),
    ("data_rate", &["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "B/s", "kB/s", "MB/s", "GB/s", "KiB/s", "MiB/s", "GiB/s"]),
    ("data_size", &["bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"]),
    ("date", &[]),
    ("distance", &["km", "m", "cm", "mm", "mi", "nmi", "yd", "in", "ft"]),
    ("duration", &["d", "h", "min", "s", "ms", "µs"]),
    ("energy", &["J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"]),
    ("energy_storage", &["J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"]),
    ("enum", &[]),
    ("frequency", &["Hz", "kHz", "MHz", "GHz"]),
    ("gas", &["m³", "ft³", "CCF", "L"]),
    ("humidity", &["%"]),
    ("illuminance", &["lx"]),
    ("irradiance", &["W/m²", "BTU/(h⋅ft²)"]),
    ("moisture", &["%"]),
    ("nitrogen_dioxide", &["µg/m³"]),
    ("nitrogen_monoxide", &["µg/m³"]),
    ("nitrous_oxide", &["µg/m³"]),
    ("ozone", &["µg/m³"]),
    ("ph", &[]),
    ("pm1", &["µg/m³"]),
    ("pm10", &["µg/m³"]),
    ("pm25", &["µg/m³"]),
    ("power", &["mW", "W", "kW", "MW", "GW", "TW", "BTU/h"]),
    ("power_factor", &["%"]),
    ("precipitation", &["cm", "in", "mm"]),
    ("precipitation_intensity", &["in/d", "in/h", "mm/d", "mm/h"]),
    ("pressure", &["cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"]),
    ("reactive_power", &["var", "kvar"]),
    ("signal_strength", &["dB", "dBm"]),
    ("sound_pressure", &["dB", "dBA"]),
    ("speed", &["ft/s", "in/d", "in/h", "in/s", "km/h", "kn", "m/s", "mph", "mm/d", "mm/s"]),
    ("sulphur_dioxide", &["µg/m³"]),
    ("temperature", &["°C", "°F", "K"]),
    ("timestamp", &[]),
    ("volatile_organic_compounds", &["µg/m³", "mg/m³"]),
    ("volatile_organic_compounds_parts", &["ppm", "ppb"]),
    ("voltage", &["V", "mV", "µV", "kV", "MV"]),
    ("volume", &["L", "mL", "gal", "fl. oz.", "m³", "ft³", "CCF"]),
    ("volume_flow_rate", &["m³/h", "ft³/min", "L/min", "gal/min", "mL/s"]),
    ("volume_storage", &["L", "mL", "gal", "fl. oz.", "m³", "ft³", "CCF"]),
    ("water", &["L", "gal", "m³", "ft³", "CCF"]),
    ("weight", &["kg", "g", "mg", "µg", "oz", "lb", "st"]),
    ("wind_direction", &["°"]),
    ("wind_speed", &["ft/s", "km/h", "kn", "m/s", "mph"]),
];

/// `homeassistant/components/binary_sensor/__init__.py` `BinarySensorDeviceClass`.
#[rustfmt::skip]
const BINARY_SENSOR_CLASSES: &[&str] = &[
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
    "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy",
    "opening", "plug", "power", "presence", "problem", "running", "safety", "smoke", "sound",
    "tamper", "update", "vibration", "window",
];
/// `cover/__init__.py` `CoverDeviceClass`.
#[rustfmt::skip]
const COVER_CLASSES: &[&str] = &[
    "awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade", "shutter", "window",
];
/// `switch/__init__.py` `SwitchDeviceClass`.
const SWITCH_CLASSES: &[&str] = &["outlet", "switch"];
/// `button/__init__.py` `ButtonDeviceClass`.
const BUTTON_CLASSES: &[&str] = &["identify", "restart", "update"];
/// `sensor/const.py` `SensorStateClass`.
const STATE_CLASSES: &[&str] = &["measurement", "total", "total_increasing"];
/// `helpers/entity.py` `EntityCategory`.
const ENTITY_CATEGORIES: &[&str] = &["config", "diagnostic"];
/// `climate/const.py` `HVACMode`.
const HA_HVAC_MODES: &[&str] = &[
    "off",
    "heat",
    "cool",
    "heat_cool",
    "auto",
    "dry",
    "fan_only",
];
/// `light/__init__.py` `ColorMode` (the valid `supported_color_modes`).
#[rustfmt::skip]
const COLOR_MODES: &[&str] = &["onoff", "brightness", "color_temp", "hs", "xy", "rgb", "rgbw", "rgbww", "white"];

/// Keys every entity config may have (MQTT entity base schema).
#[rustfmt::skip]
const COMMON_KEYS: &[&str] = &[
    "availability", "availability_mode", "availability_template", "availability_topic",
    "default_entity_id", "device", "enabled_by_default", "encoding", "entity_category",
    "entity_picture", "icon", "json_attributes_template", "json_attributes_topic", "name",
    "object_id", "origin", "payload_available", "payload_not_available", "qos", "unique_id",
];

/// Per component: the keys Home Assistant requires, and the other keys it knows
/// (`homeassistant/components/mqtt/<platform>.py` schemas).
#[rustfmt::skip]
fn schema(component: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match component {
        "sensor" => (
            &["state_topic"],
            &[
                "device_class", "expire_after", "force_update", "last_reset_value_template",
                "options", "state_class", "suggested_display_precision", "unit_of_measurement",
                "value_template",
            ],
        ),
        "binary_sensor" => (
            &["state_topic"],
            &[
                "device_class", "expire_after", "force_update", "off_delay", "payload_off",
                "payload_on", "value_template",
            ],
        ),
        "switch" => (
            &["command_topic"],
            &[
                "command_template", "device_class", "optimistic", "payload_off", "payload_on",
                "retain", "state_off", "state_on", "state_topic", "value_template",
            ],
        ),
        "light" => (
            &["command_topic", "schema"],
            &[
                "brightness", "brightness_scale", "effect", "effect_list", "flash",
                "flash_time_long", "flash_time_short", "max_kelvin", "min_kelvin", "optimistic",
                "retain", "state_topic", "supported_color_modes", "transition", "white_scale",
            ],
        ),
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
        "siren" => (
            &["command_topic"],
            &[
                "available_tones", "command_off_template", "command_template", "optimistic",
                "payload_off", "payload_on", "retain", "state_off", "state_on", "state_topic",
                "state_value_template", "support_duration", "support_volume_set",
            ],
        ),
        "select" => (
            &["command_topic", "options"],
            &[
                "command_template", "optimistic", "retain", "state_topic", "value_template",
            ],
        ),
        "button" => (
            &["command_topic"],
            &[
                "command_template", "device_class", "payload_press", "retain",
            ],
        ),
        "number" => (
            &["command_topic"],
            &[
                "command_template", "device_class", "max", "min", "mode", "optimistic",
                "payload_reset", "retain", "state_topic", "step", "unit_of_measurement",
                "value_template",
            ],
        ),
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
                "power_command_topic", "precision", "retain", "swing_mode_command_template",
                "swing_mode_command_topic", "swing_mode_state_template", "swing_mode_state_topic",
                "swing_modes", "temp_step", "temperature_command_template",
                "temperature_command_topic", "temperature_state_template",
                "temperature_state_topic", "temperature_unit",
            ],
        ),
        "device_automation" => (
            &["automation_type", "topic", "type", "subtype", "device"],
            &[
                "payload", "qos", "value_template", "origin",
            ],
        ),
        other => panic!("no schema for component {other}"),
    }
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn text<'a>(p: &'a Value, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str)
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
    for k in m.keys() {
        let known = specific.contains(&k.as_str())
            || (component != "device_automation" && COMMON_KEYS.contains(&k.as_str()))
            || required.contains(&k.as_str());
        if !known {
            return Err(format!("unknown key {k} for {component}"));
        }
    }
    // The device block: one HA device per Xiaomi device, linked to its gateway.
    let dev = m.get("device").ok_or("no device block")?;
    let ids = dev["identifiers"]
        .as_array()
        .ok_or("device without identifiers")?;
    if ids.is_empty() || !ids.iter().all(|i| i.as_str().is_some_and(valid_id)) {
        return Err(format!("bad identifiers {ids:?}"));
    }
    for k in ["name", "model", "model_id", "manufacturer", "via_device"] {
        if text(dev, k).is_none_or(str::is_empty) {
            return Err(format!("device.{k} missing"));
        }
    }
    if text(&m["origin"], "name") != Some("lumi") {
        return Err("origin.name missing".into());
    }
    if component == "device_automation" {
        if text(p, "automation_type") != Some("trigger") {
            return Err("automation_type must be trigger".into());
        }
        for k in ["type", "subtype", "payload", "topic"] {
            if text(p, k).is_none_or(str::is_empty) {
                return Err(format!("{k} must be a non-empty text"));
            }
        }
        return Ok(());
    }
    // Entity ids.
    let uid = text(p, "unique_id").ok_or("no unique_id")?;
    if uid != *object {
        return Err(format!("unique_id {uid} ≠ topic object id {object}"));
    }
    let oid = text(p, "object_id").ok_or("no object_id")?;
    if oid.is_empty()
        || !oid
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!("object_id {oid} is not a slug"));
    }
    if text(p, "default_entity_id") != Some(format!("{component}.{oid}").as_str()) {
        return Err("default_entity_id ≠ <component>.<object_id>".into());
    }
    if !(p["name"].is_string() || p["name"].is_null()) {
        return Err("name must be a text or null".into());
    }
    if !p["enabled_by_default"].is_boolean() {
        return Err("enabled_by_default must be a boolean".into());
    }
    // Availability: the bridge's state, then the device's own, all required.
    let av = p["availability"].as_array().ok_or("no availability list")?;
    if av.is_empty()
        || av
            .iter()
            .any(|a| text(a, "topic").is_none() || text(a, "value_template").is_none())
    {
        return Err("availability entries need topic and value_template".into());
    }
    if text(&av[0], "topic") != Some("lumi/bridge/state") {
        return Err("the first availability topic must be the bridge state".into());
    }
    if av.len() > 1 && text(p, "availability_mode") != Some("all") {
        return Err("availability_mode must be all".into());
    }
    if let Some(cat) = p.get("entity_category") {
        let cat = cat.as_str().unwrap_or("");
        if !ENTITY_CATEGORIES.contains(&cat) {
            return Err(format!("entity_category {cat}"));
        }
        if cat == "config" && matches!(component, "sensor" | "binary_sensor") {
            return Err("a sensor cannot be a config entity".into());
        }
    }
    if let Some(icon) = p.get("icon")
        && !icon.as_str().is_some_and(|i| i.starts_with("mdi:"))
    {
        return Err(format!("icon {icon}"));
    }
    let class = text(p, "device_class");
    match component {
        "sensor" => {
            let unit = text(p, "unit_of_measurement");
            if let Some(c) = class {
                let units = SENSOR_CLASSES
                    .iter()
                    .find(|(n, _)| *n == c)
                    .map(|(_, u)| *u)
                    .ok_or_else(|| {
                        format!("sensor device_class {c} is not one of Home Assistant's")
                    })?;
                match unit {
                    Some(u) if units.is_empty() => {
                        return Err(format!("{c} takes no unit, got {u}"));
                    }
                    Some(u) if !units.contains(&u) => {
                        return Err(format!("unit {u} is not valid for {c} ({units:?})"));
                    }
                    None if !units.is_empty() => {
                        return Err(format!("{c} needs a unit ({units:?})"));
                    }
                    _ => {}
                }
                if c == "enum" {
                    let opts = p["options"]
                        .as_array()
                        .ok_or("an enum sensor needs options")?;
                    if opts.is_empty() || p.get("state_class").is_some() {
                        return Err("enum: options required, no state_class".into());
                    }
                }
                if c == "timestamp" && p.get("state_class").is_some() {
                    return Err("timestamp with a state_class".into());
                }
                if matches!(c, "energy" | "gas" | "water" | "volume")
                    && text(p, "state_class") == Some("measurement")
                {
                    return Err(format!("{c} cannot be a measurement"));
                }
            }
            if p.get("options").is_some() && class != Some("enum") {
                return Err("options only for enum sensors".into());
            }
            if let Some(sc) = p.get("state_class")
                && !sc.as_str().is_some_and(|s| STATE_CLASSES.contains(&s))
            {
                return Err(format!("state_class {sc}"));
            }
        }
        "binary_sensor" => {
            if let Some(c) = class
                && !BINARY_SENSOR_CLASSES.contains(&c)
            {
                return Err(format!("binary_sensor device_class {c}"));
            }
            if p["payload_on"] == p["payload_off"] {
                return Err("payload_on == payload_off".into());
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
        }
        "cover" => {
            if let Some(c) = class
                && !COVER_CLASSES.contains(&c)
            {
                return Err(format!("cover device_class {c}"));
            }
            if p.get("set_position_topic").is_some() && p.get("position_topic").is_none() {
                return Err("set_position_topic without position_topic".into());
            }
        }
        "light" => {
            if text(p, "schema") != Some("json") {
                return Err("light schema must be json".into());
            }
            let modes = p["supported_color_modes"]
                .as_array()
                .ok_or("supported_color_modes missing")?;
            let modes: Vec<&str> = modes.iter().filter_map(Value::as_str).collect();
            if modes.is_empty() || !modes.iter().all(|m| COLOR_MODES.contains(m)) {
                return Err(format!("supported_color_modes {modes:?}"));
            }
            if modes.len() > 1 && modes.iter().any(|m| matches!(*m, "onoff" | "brightness")) {
                return Err("onoff/brightness must be the only color mode".into());
            }
            if let Some(s) = p.get("brightness_scale")
                && !s.as_u64().is_some_and(|s| (1..=255).contains(&s))
            {
                return Err(format!("brightness_scale {s}"));
            }
        }
        "climate" => {
            let modes = p["modes"].as_array().ok_or("climate without modes")?;
            if modes.is_empty()
                || !modes
                    .iter()
                    .all(|m| m.as_str().is_some_and(|m| HA_HVAC_MODES.contains(&m)))
            {
                return Err(format!("modes {modes:?}"));
            }
        }
        "select" => {
            let opts = p["options"].as_array().ok_or("select without options")?;
            if opts.is_empty() || !opts.iter().all(Value::is_string) {
                return Err("select options must be texts".into());
            }
        }
        "siren" => {
            if let Some(t) = p.get("available_tones")
                && t.as_array().is_none_or(|t| t.is_empty())
            {
                return Err("available_tones must be a non-empty list".into());
            }
        }
        _ => {}
    }
    Ok(())
}

#[test]
fn every_entity_of_every_model_follows_home_assistants_rules() {
    let gateway = sid(GATEWAY);
    let mut unique_ids = HashSet::new();
    let mut count_by_component: BTreeMap<&str, usize> = BTreeMap::new();
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
        for m in messages {
            if let Err(e) = check_config(&m.topic, m.component, &m.payload) {
                panic!("{} {}: {e}\n{}", d.model(), m.topic, m.payload);
            }
            assert!(unique_ids.insert(m.topic.clone()), "duplicate {}", m.topic);
            *count_by_component.entry(m.component).or_default() += 1;
        }
    }
    for (_, m) in Discovery::new(&Config::default())
        .bridge()
        .iter()
        .map(|m| (0, m))
    {
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
}

#[test]
fn the_checker_catches_what_home_assistant_refuses() {
    let all = configs(
        &Config::default(),
        "sensor_ht",
        "158d0001a2b3c4",
        "hall",
        Some(GATEWAY),
    );
    let topic = "homeassistant/sensor/lumi_158d0001a2b3c4_temperature/config";
    let good = all[topic].clone();
    assert!(check_config(topic, "sensor", &good).is_ok());
    let breakages: Vec<(&str, Value)> = vec![
        ("device_class", json!("temp")),
        ("unit_of_measurement", json!("lx")),
        ("state_class", json!("sometimes")),
        ("entity_category", json!("config")),
        ("value_templat", json!("x")),
        ("object_id", json!("Hall Temperature")),
        ("unique_id", json!("other")),
        ("availability_mode", json!("any")),
    ];
    for (k, v) in breakages {
        let mut bad = good.clone();
        bad[k] = v.clone();
        assert!(
            check_config(topic, "sensor", &bad).is_err(),
            "{k} = {v} passed"
        );
    }
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("state_topic");
    assert!(check_config(topic, "sensor", &bad).is_err());
    assert!(check_config("homeassistant/sensor/a b/config", "sensor", &good).is_err());
    assert!(check_config(topic, "binary_sensor", &good).is_err());
}

// ---------------------------------------------------------------------------------------------
// The configs fit the bridge: templates read keys the state payload has, command topics parse
// to writable properties, and what Home Assistant sends is accepted.

/// A value for every property of a device, as a full cached state would have.
fn full_state(d: &'static lumi_proto::catalogue::Device) -> DeviceState {
    let readings = d
        .properties
        .iter()
        .map(|p| Reading {
            property: p.name,
            value: match p.value {
                ValueType::Bool => TypedValue::Bool(true),
                ValueType::Integer { min, max } => TypedValue::Int(max.or(min).unwrap_or(1)),
                ValueType::Number { .. } => TypedValue::Float(1.5),
                ValueType::Enum(v) => TypedValue::text(v.first().copied().unwrap_or("")),
                ValueType::Text => TypedValue::text("x"),
                ValueType::Color => TypedValue::Color(Rgb { r: 1, g: 2, b: 3 }),
            },
        })
        .collect();
    DeviceState {
        device: Some(d),
        readings,
        raw: Props::new(),
    }
}

/// The keys a template reads from `value_json`.
fn template_keys(t: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for (open, close) in [("value_json[\"", "\"]"), ("value_json.get('", "')")] {
        let mut rest = t;
        while let Some(i) = rest.find(open) {
            rest = &rest[i + open.len()..];
            let Some(j) = rest.find(close) else { break };
            keys.push(rest[..j].to_owned());
            rest = &rest[j..];
        }
    }
    keys
}

/// Just enough Jinja for lumi's own command templates; anything else fails the test, so a
/// new template shape gets a renderer here first.
fn render(template: &str, vars: &BTreeMap<&str, Value>) -> String {
    let mut out = template.to_owned();
    // {% if <cond> %}A{% else %}B{% endif %} and {% if <cond> %}A{% endif %}
    while let Some(start) = out.find("{% if ") {
        let cond_end = out[start..].find(" %}").unwrap() + start;
        let cond = out[start + 6..cond_end].to_owned();
        let endif = out[cond_end..].find("{% endif %}").unwrap() + cond_end;
        let body = out[cond_end + 3..endif].to_owned();
        let (then, otherwise) = match body.split_once("{% else %}") {
            Some((a, b)) => (a.to_owned(), b.to_owned()),
            None => (body, String::new()),
        };
        let truth = match cond.as_str() {
            "value == 'off'" => vars.get("value") == Some(&json!("off")),
            "volume_level is defined" => vars.contains_key("volume_level"),
            other => panic!("no renderer for condition {other:?}"),
        };
        out.replace_range(
            start..endif + "{% endif %}".len(),
            if truth { &then } else { &otherwise },
        );
    }
    while let Some(start) = out.find("{{ ") {
        let end = out[start..].find(" }}").unwrap() + start;
        let expr = out[start + 3..end].to_owned();
        let v = match expr.as_str() {
            "value" => vars["value"].as_str().unwrap().to_owned(),
            "(volume_level * 100) | round(0) | int" => {
                format!(
                    "{}",
                    (vars["volume_level"].as_f64().unwrap() * 100.0).round() as i64
                )
            }
            e if e.starts_with("tone | default('") => match vars.get("tone") {
                Some(t) => t.as_str().unwrap().to_owned(),
                None => e
                    .trim_start_matches("tone | default('")
                    .trim_end_matches("')")
                    .to_owned(),
            },
            other => panic!("no renderer for expression {other:?}"),
        };
        out.replace_range(start..end + 3, &v);
    }
    out
}

#[test]
fn every_config_fits_the_bridges_state_topics_and_commands() {
    let config = Config::default();
    let topics = Topics::from_config(&config);
    let gateway = sid(GATEWAY);
    for (i, d) in catalogue::devices().iter().enumerate() {
        let s = sid(&format!("158d0002{i:06x}"));
        let n = name(&format!("floor/{}", d.model()));
        let info = DeviceInfo {
            sid: &s,
            name: &n,
            device: d,
            gateway: Some(&gateway),
        };
        let state = full_state(d);
        let payload = Value::Object(state_payload(
            &state,
            &Extras {
                linkquality: None,
                last_seen: Some(UNIX_EPOCH),
            },
        ));
        let state_topic = topics.state(&n);
        let ctx = |m: &DiscoveryMessage| format!("{} {}: {}", d.model(), m.topic, m.payload);

        // Sends `body` to `topic` as Home Assistant would, and checks lumi takes it.
        let accepts = |topic: &str, body: &str, m: &DiscoveryMessage| {
            let Incoming::Set { device, property } = topics.parse(topic) else {
                panic!("{}: {topic} is not a command topic", ctx(m));
            };
            assert_eq!(device, n, "{}", ctx(m));
            if let Some(p) = &property {
                let prop = d
                    .property(p)
                    .unwrap_or_else(|| panic!("{}: no property {p}", ctx(m)));
                assert!(prop.writable(), "{}: {p} is read-only", ctx(m));
            }
            let values = parse_set(d, property.as_deref(), body.as_bytes(), Some(&state))
                .unwrap_or_else(|e| panic!("{}: {topic} ← {body}: {e}", ctx(m)));
            let ok = [ProtoVersion::V1, ProtoVersion::V2]
                .iter()
                .any(|v| d.encode_write(*v, &values).is_ok());
            assert!(
                ok,
                "{}: {topic} ← {body}: {values:?} cannot be written",
                ctx(m)
            );
        };

        for m in Discovery::new(&config).device(&info) {
            let p = &m.payload;
            if m.component == "device_automation" {
                assert_eq!(text(p, "topic"), Some(topics.action(&n).as_str()));
                let ev = text(p, "payload").unwrap();
                assert!(d.events().contains(&ev), "{}", ctx(&m));
                continue;
            }
            // Every template that reads the state reads keys the state payload has.
            for (k, v) in p.as_object().unwrap() {
                let Some(t) = v.as_str() else { continue };
                if !k.ends_with("template") || !t.contains("value_json") {
                    continue;
                }
                for key in template_keys(t) {
                    assert!(
                        payload.get(&key).is_some(),
                        "{}: {k} reads {key}, absent from {payload}",
                        ctx(&m)
                    );
                }
            }
            for (k, v) in p.as_object().unwrap() {
                if k.ends_with("state_topic")
                    || k == "position_topic"
                    || k.ends_with("temperature_topic")
                {
                    assert_eq!(v.as_str(), Some(state_topic.as_str()), "{}: {k}", ctx(&m));
                }
            }
            let prop = |key: &str| -> &Value {
                let t = text(p, key).unwrap();
                let keys = template_keys(t);
                &payload[keys[0].as_str()]
            };
            match m.component {
                "binary_sensor" => {
                    let v = prop("value_template");
                    assert!(
                        *v == p["payload_on"] || *v == p["payload_off"],
                        "{}: state {v}",
                        ctx(&m)
                    );
                }
                "switch" => {
                    let v = prop("value_template");
                    assert!(
                        *v == p["payload_on"] || *v == p["payload_off"],
                        "{}: state {v}",
                        ctx(&m)
                    );
                    let cmd = text(p, "command_topic").unwrap();
                    accepts(cmd, text(p, "payload_on").unwrap(), &m);
                    accepts(cmd, text(p, "payload_off").unwrap(), &m);
                }
                "sensor" => {
                    let v = prop("value_template");
                    if let Some(opts) = p["options"].as_array() {
                        assert!(opts.contains(v), "{}: {v} not an option", ctx(&m));
                    }
                    if p.get("state_class").is_some() {
                        assert!(v.is_number(), "{}: {v} is not a number", ctx(&m));
                    }
                }
                "select" => {
                    let v = prop("value_template");
                    let opts = p["options"].as_array().unwrap();
                    assert!(opts.contains(v), "{}: {v} not an option", ctx(&m));
                    for o in opts {
                        accepts(text(p, "command_topic").unwrap(), o.as_str().unwrap(), &m);
                    }
                }
                "button" => accepts(
                    text(p, "command_topic").unwrap(),
                    text(p, "payload_press").unwrap(),
                    &m,
                ),
                "light" => {
                    // The JSON light reads state / brightness / color from the state topic.
                    assert!(
                        matches!(payload["state"].as_str(), Some("ON" | "OFF")),
                        "{}",
                        ctx(&m)
                    );
                    let modes = p["supported_color_modes"].to_string();
                    let cmd = text(p, "command_topic").unwrap();
                    if modes.contains("rgb") {
                        assert!(
                            payload["color"].is_object() && payload["color_mode"] == "rgb",
                            "{}",
                            ctx(&m)
                        );
                        accepts(
                            cmd,
                            r#"{"state":"ON","brightness":128,"color":{"r":255,"g":0,"b":0}}"#,
                            &m,
                        );
                    }
                    if p.get("brightness").is_some() {
                        let b = payload["brightness"].as_u64().unwrap();
                        assert!(b <= p["brightness_scale"].as_u64().unwrap(), "{}", ctx(&m));
                        accepts(cmd, r#"{"state":"ON","brightness":255}"#, &m);
                    }
                    accepts(cmd, r#"{"state":"ON"}"#, &m);
                    accepts(cmd, r#"{"state":"OFF"}"#, &m);
                }
                "cover" => {
                    assert!(prop("position_template").is_number(), "{}", ctx(&m));
                    if let Some(t) = text(p, "set_position_topic") {
                        accepts(t, "50", &m);
                    }
                    if let Some(t) = text(p, "command_topic") {
                        for k in ["payload_open", "payload_close", "payload_stop"] {
                            let body = text(p, k)
                                .unwrap_or_else(|| panic!("{}: {k} is not a command", ctx(&m)));
                            accepts(t, body, &m);
                        }
                    }
                }
                "siren" => {
                    let cmd = text(p, "command_topic").unwrap();
                    let tpl = text(p, "command_template").unwrap();
                    let tones = p["available_tones"].as_array().unwrap();
                    for tone in tones {
                        let vars = BTreeMap::from([
                            ("value", json!("ON")),
                            ("tone", tone.clone()),
                            ("volume_level", json!(0.4)),
                        ]);
                        accepts(cmd, &render(tpl, &vars), &m);
                    }
                    accepts(
                        cmd,
                        &render(tpl, &BTreeMap::from([("value", json!("ON"))])),
                        &m,
                    );
                    accepts(
                        cmd,
                        &render(text(p, "command_off_template").unwrap(), &BTreeMap::new()),
                        &m,
                    );
                }
                "climate" => {
                    let modes = p["modes"].as_array().unwrap();
                    for mode in modes {
                        let body = match text(p, "mode_command_template") {
                            Some(t) => render(t, &BTreeMap::from([("value", mode.clone())])),
                            None => mode.as_str().unwrap().to_owned(),
                        };
                        accepts(text(p, "mode_command_topic").unwrap(), &body, &m);
                    }
                    if let Some(t) = text(p, "power_command_topic") {
                        accepts(t, text(p, "payload_on").unwrap(), &m);
                        accepts(t, text(p, "payload_off").unwrap(), &m);
                    }
                    for (list, topic) in [
                        ("fan_modes", "fan_mode_command_topic"),
                        ("swing_modes", "swing_mode_command_topic"),
                    ] {
                        if let (Some(values), Some(t)) = (p[list].as_array(), text(p, topic)) {
                            for v in values {
                                accepts(t, v.as_str().unwrap(), &m);
                            }
                        }
                    }
                    if let Some(t) = text(p, "temperature_command_topic") {
                        accepts(t, &p["min_temp"].to_string(), &m);
                        accepts(t, &p["max_temp"].to_string(), &m);
                    }
                }
                other => panic!("{}: no fit check for {other}", ctx(&m)),
            }
        }
    }
}

#[test]
fn the_template_renderer_renders_what_home_assistant_would() {
    let siren = "{\"sound\": \"{{ tone | default('doorbell') }}\"{% if volume_level is defined %}, \"volume\": {{ (volume_level * 100) | round(0) | int }}{% endif %}}";
    assert_eq!(
        render(
            siren,
            &BTreeMap::from([("tone", json!("bark")), ("volume_level", json!(0.4))])
        ),
        "{\"sound\": \"bark\", \"volume\": 40}"
    );
    assert_eq!(render(siren, &BTreeMap::new()), "{\"sound\": \"doorbell\"}");
    let mode = "{% if value == 'off' %}{\"state\": \"OFF\"}{% else %}{\"state\": \"ON\", \"system_mode\": \"{{ value }}\"}{% endif %}";
    assert_eq!(
        render(mode, &BTreeMap::from([("value", json!("off"))])),
        "{\"state\": \"OFF\"}"
    );
    assert_eq!(
        render(mode, &BTreeMap::from([("value", json!("cool"))])),
        "{\"state\": \"ON\", \"system_mode\": \"cool\"}"
    );
    assert_eq!(
        template_keys("{% if value_json.get('a') == 'OFF' %}{{ value_json[\"b\"] }}"),
        ["b", "a"]
    );
}
