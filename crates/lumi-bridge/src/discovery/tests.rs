//! Discovery tests: exact payloads for a few models (expected values written from the
//! conventions in `mqtt-conventions.md` §4.2, not copied from the output), and a validation
//! of every entity of every catalogue model against Home Assistant's rules, plus a check
//! that every topic and template fits the rest of the bridge (its state payloads, its topic
//! parser, its command parser).

use std::collections::{BTreeMap, BTreeSet};
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
        if let Some(o) = m.payload["default_entity_id"].as_str() {
            let object = o.split_once('.').map_or("", |(_, o)| o);
            assert!(object.starts_with("158d000222_"), "{o}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Home Assistant's rules, for every entity of every catalogue model: `tests/ha_rules.rs`.

mod ha_rules;

/// `[a-zA-Z0-9_-]+`: what Home Assistant takes as a discovery topic's object id (and lumi as
/// its unique ids).
fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn text<'a>(p: &'a Value, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str)
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
