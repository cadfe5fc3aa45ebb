use std::time::{Duration, UNIX_EPOCH};

use lumi_proto::catalogue::{self, DeviceState, Rgb, TypedValue};
use lumi_proto::lan::{Props, ProtoVersion, Sid};
use serde_json::{Value, json};

use super::*;
use crate::config::Config;

fn decode(model: &str, version: ProtoVersion, props: Props) -> DeviceState {
    catalogue::decode(model, version, &props)
}

fn device(model: &str) -> &'static lumi_proto::catalogue::Device {
    catalogue::lookup(model).unwrap()
}

fn payload(state: &DeviceState, extras: &Extras) -> Value {
    serde_json::from_str(&state_json(state, extras)).unwrap()
}

const NOON: Duration = Duration::from_millis(1_714_566_896_789);

#[test]
fn a_sensor_state_has_every_reading_and_last_seen() {
    let s = decode(
        "sensor_ht",
        ProtoVersion::V1,
        Props::new()
            .with("voltage", 3005)
            .with("temperature", "2120")
            .with("humidity", "5277"),
    );
    let extras = Extras {
        linkquality: None,
        last_seen: Some(UNIX_EPOCH + NOON),
    };
    assert_eq!(
        payload(&s, &extras),
        json!({
            "temperature": 21.2,
            "humidity": 52.77,
            "battery": 41,
            "voltage": 3005,
            "last_seen": "2024-05-01T12:34:56.789Z"
        })
    );
    // linkquality only when known; nothing added when nothing is known.
    let with_lq = Extras {
        linkquality: Some(87),
        last_seen: None,
    };
    assert_eq!(payload(&s, &with_lq)["linkquality"], json!(87));
    assert!(payload(&s, &Extras::default()).get("last_seen").is_none());
    assert!(payload(&s, &Extras::default()).get("linkquality").is_none());
}

#[test]
fn switch_states_are_on_off_in_capitals_as_zigbee2mqtt() {
    let s = decode(
        "ctrl_neutral2",
        ProtoVersion::V1,
        Props::new()
            .with("channel_0", "on")
            .with("channel_1", "off"),
    );
    assert_eq!(
        payload(&s, &Extras::default()),
        json!({"state_left": "ON", "state_right": "OFF"})
    );
    let plug = decode(
        "plug",
        ProtoVersion::V1,
        Props::new()
            .with("status", "on")
            .with("inuse", "1")
            .with("load_power", "24.76")
            .with("power_consumed", "6667"),
    );
    assert_eq!(
        payload(&plug, &Extras::default()),
        json!({"state": "ON", "in_use": true, "power": 24.76, "energy": 6667})
    );
    // The air conditioner's power is ON/OFF; its swing mode is a mode, and stays as it is.
    let ac = decode(
        "acpartner.v3",
        ProtoVersion::V2,
        Props::new()
            .with("on_off_cfg", "on")
            .with("swing_cfg", "swing")
            .with("mode_cfg", "cool"),
    );
    let p = payload(&ac, &Extras::default());
    assert_eq!(p["state"], json!("ON"));
    assert_eq!(p["swing_mode"], json!("on"));
    assert_eq!(p["system_mode"], json!("cool"));
}

#[test]
fn the_gateway_light_is_what_a_json_light_reads() {
    // 0x64FF0000: red at 100 %.
    let s = decode(
        "gateway",
        ProtoVersion::V1,
        Props::new()
            .with("rgb", 1_694_433_280u32)
            .with("illumination", 1292),
    );
    assert_eq!(
        payload(&s, &Extras::default()),
        json!({
            "light": "ON",
            "state": "ON",
            "brightness": 255,
            "color": {"r": 255, "g": 0, "b": 0},
            "color_mode": "rgb",
            "illuminance": 1292
        })
    );
    // Half brightness is 128 of 255; off is OFF with brightness 0.
    let half = decode(
        "gateway",
        ProtoVersion::V1,
        Props::new().with("rgb", 0x3200_FF00u32),
    );
    assert_eq!(payload(&half, &Extras::default())["brightness"], json!(128));
    // Before the light is known, its state is there, as null.
    let lux = decode(
        "gateway",
        ProtoVersion::V1,
        Props::new().with("illumination", 900),
    );
    assert_eq!(
        payload(&lux, &Extras::default()),
        json!({"illuminance": 900, "state": null})
    );
    let dimmer = decode(
        "dimmer.rgbegl01",
        ProtoVersion::V2,
        Props::new().with("light_level", 50),
    );
    assert_eq!(
        payload(&dimmer, &Extras::default()),
        json!({"brightness": 128, "state": null})
    );
    let off = decode("gateway", ProtoVersion::V1, Props::new().with("rgb", 0));
    let p = payload(&off, &Extras::default());
    assert_eq!(
        (p["state"].clone(), p["brightness"].clone()),
        (json!("OFF"), json!(0))
    );
}

#[test]
fn brightness_survives_the_round_trip_through_the_mqtt_scale() {
    for v in 0..=100 {
        assert_eq!(brightness_from_mqtt(brightness_to_mqtt(v)), v, "{v}");
    }
    let mut last = 0;
    for v in 0..=255 {
        let b = brightness_from_mqtt(v);
        assert!(b >= last && b <= 100, "{v} → {b}");
        assert_eq!(b == 0, v == 0, "{v} → {b}: a dim light stays on");
        last = b;
    }
    assert_eq!(brightness_from_mqtt(255), 100);
    assert_eq!(brightness_from_mqtt(1000), 100);
    assert_eq!(brightness_from_mqtt(-5), 0);
}

#[test]
fn an_unknown_model_publishes_what_it_sends() {
    let s = decode(
        "sensor_mystery.v9",
        ProtoVersion::V1,
        Props::new().with("status", "weird").with("voltage", 3000),
    );
    assert_eq!(
        payload(&s, &Extras::default()),
        json!({"raw": {"status": "weird", "voltage": 3000}})
    );
}

#[test]
fn nulls_stay_null() {
    let s = decode(
        "weather.v1",
        ProtoVersion::V1,
        Props::new()
            .with("temperature", "10000")
            .with("pressure", "100790"),
    );
    assert_eq!(
        payload(&s, &Extras::default()),
        json!({"temperature": null, "pressure": 1007.9})
    );
}

#[test]
fn events_go_to_the_action_topic() {
    let s = decode(
        "86sw2",
        ProtoVersion::V1,
        Props::new().with("dual_channel", "both_click"),
    );
    assert_eq!(action(&s), Some("single_both"));
    let cube = decode(
        "sensor_cube.aqgl01",
        ProtoVersion::V2,
        Props::new()
            .with("cube_status", "rotate")
            .with("rotate_degree", -90),
    );
    assert_eq!(action(&cube), Some("rotate_left"));
    let ht = decode(
        "sensor_ht",
        ProtoVersion::V1,
        Props::new().with("voltage", 3000),
    );
    assert_eq!(action(&ht), None);
    let d = device("86sw2");
    assert!(is_event(d.property("action").unwrap()));
    assert!(!is_event(d.property("battery").unwrap()));
}

#[test]
fn availability_payloads() {
    assert_eq!(availability_payload(true), r#"{"state":"online"}"#);
    assert_eq!(availability_payload(false), r#"{"state":"offline"}"#);
    for (p, want) in [
        (&br#"{"state":"online"}"#[..], Some(true)),
        (br#"{"state":"offline"}"#, Some(false)),
        (b"online", Some(true)),
        (b" OFFLINE\n", Some(false)),
        (br#""online""#, Some(true)),
        (br#"{"state":1}"#, None),
        (b"", None),
        (b"\xff\xfe", None),
        (b"maybe", None),
    ] {
        assert_eq!(
            parse_availability(p),
            want,
            "{:?}",
            String::from_utf8_lossy(p)
        );
    }
}

#[test]
fn a_bridge_devices_entry_describes_the_catalogue_entry() {
    let sid = Sid::new("158d0001a2b3c4").unwrap();
    let gw = Sid::new("34ce0088db0b").unwrap();
    let name = FriendlyName::new("kitchen/plug").unwrap();
    let entry = DeviceEntry {
        sid: &sid,
        name: &name,
        model: "plug",
        device: catalogue::lookup("plug"),
        gateway: Some(&gw),
        online: Some(true),
        last_seen: Some(UNIX_EPOCH + NOON),
    };
    assert_eq!(
        entry.to_json(),
        json!({
            "sid": "158d0001a2b3c4",
            "friendly_name": "kitchen/plug",
            "model": "plug",
            "type": "device",
            "gateway": "34ce0088db0b",
            "supported": true,
            "availability": "online",
            "last_seen": "2024-05-01T12:34:56.789Z",
            "definition": {
                "model": "ZNCZ02LM",
                "vendor": "Xiaomi",
                "description": "Mi smart plug",
                "kind": "plug",
                "power_source": "mains",
                "models": ["plug"],
                "properties": [
                    {"name": "state", "type": "enum", "values": ["on", "off"], "writable": true},
                    {"name": "power", "type": "number", "unit": "W", "writable": false},
                    {"name": "energy", "type": "number", "unit": "Wh", "writable": false},
                    {"name": "in_use", "type": "bool", "writable": false},
                    {"name": "voltage", "type": "integer", "unit": "mV", "writable": false}
                ],
                "events": []
            }
        })
    );
    let stranger = DeviceEntry {
        model: "lumi.unknown",
        device: None,
        online: None,
        last_seen: None,
        gateway: None,
        ..entry.clone()
    };
    // Written entry by entry, the text is the whole array's, byte for byte.
    let both = [entry.clone(), stranger.clone()];
    assert_eq!(
        devices_payload(&both),
        Value::Array(both.iter().map(DeviceEntry::to_json).collect()).to_string()
    );
    assert_eq!(devices_payload(&[]), "[]");
    let list: Value = serde_json::from_str(&devices_payload(&[entry, stranger])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["supported"], json!(false));
    assert_eq!(list[1]["definition"], Value::Null);
    assert_eq!(list[1]["availability"], Value::Null);
    assert_eq!(list[1]["type"], json!("gateway"));
}

#[test]
fn bridge_events() {
    let sid = Sid::new("158d0001a2b3c4").unwrap();
    let a = FriendlyName::new("a").unwrap();
    let b = FriendlyName::new("b").unwrap();
    let parse = |e: BridgeEvent<'_>| serde_json::from_str::<Value>(&e.to_json()).unwrap();
    assert_eq!(
        parse(BridgeEvent::DeviceJoined {
            sid: &sid,
            name: &a,
            model: "plug"
        }),
        json!({"type": "device_joined", "data": {"sid": "158d0001a2b3c4", "friendly_name": "a", "model": "plug"}})
    );
    assert_eq!(
        parse(BridgeEvent::DeviceRemoved {
            sid: &sid,
            name: &a
        }),
        json!({"type": "device_removed", "data": {"sid": "158d0001a2b3c4", "friendly_name": "a"}})
    );
    assert_eq!(
        parse(BridgeEvent::DeviceRenamed {
            sid: &sid,
            from: &a,
            to: &b
        }),
        json!({"type": "device_renamed", "data": {"sid": "158d0001a2b3c4", "from": "a", "to": "b"}})
    );
}

#[test]
fn legacy_plain_values() {
    let c = Config::from_toml("[bridge]\nlegacy_topics = true").unwrap();
    let topics = Topics::from_config(&c);
    let sid = Sid::new("158d0001a2b3c4").unwrap();
    let s = decode(
        "weather.v1",
        ProtoVersion::V1,
        Props::new()
            .with("temperature", "2120")
            .with("humidity", "0")
            .with("voltage", 3005),
    );
    assert_eq!(
        legacy_messages(&topics, "weather.v1", &sid, &s),
        [
            (
                "xiaomi/weather.v1/158d0001a2b3c4/temperature".to_owned(),
                "21.2".to_owned(),
                false
            ),
            (
                "xiaomi/weather.v1/158d0001a2b3c4/battery".to_owned(),
                "41".to_owned(),
                false
            ),
            (
                "xiaomi/weather.v1/158d0001a2b3c4/voltage".to_owned(),
                "3005".to_owned(),
                false
            ),
        ],
        "humidity 0 is the invalid sentinel: null, not published"
    );
    let plug = decode(
        "plug",
        ProtoVersion::V1,
        Props::new().with("status", "on").with("inuse", "0"),
    );
    assert_eq!(
        legacy_messages(&topics, "plug", &sid, &plug),
        [
            (
                "xiaomi/plug/158d0001a2b3c4/state".to_owned(),
                "ON".to_owned(),
                false
            ),
            (
                "xiaomi/plug/158d0001a2b3c4/in_use".to_owned(),
                "false".to_owned(),
                false
            ),
        ]
    );
    let off = Topics::from_config(&Config::default());
    assert!(legacy_messages(&off, "plug", &sid, &plug).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Commands

fn set(
    model: &str,
    property: Option<&str>,
    payload: &str,
) -> Result<Vec<(&'static str, TypedValue)>, SetError> {
    parse_set(device(model), property, payload.as_bytes(), None)
}

fn text(s: &str) -> TypedValue {
    TypedValue::text(s)
}

#[test]
fn set_payloads_in_every_form() {
    let red = TypedValue::Color(Rgb { r: 255, g: 0, b: 0 });
    for (model, property, payload, want) in [
        (
            "plug",
            None,
            r#"{"state":"ON"}"#,
            vec![("state", text("on"))],
        ),
        (
            "plug",
            None,
            r#"{"state":"off"}"#,
            vec![("state", text("off"))],
        ),
        (
            "plug",
            None,
            r#"{"state":true}"#,
            vec![("state", text("on"))],
        ),
        ("plug", Some("state"), "ON", vec![("state", text("on"))]),
        (
            "plug",
            Some("state"),
            " off\n",
            vec![("state", text("off"))],
        ),
        ("plug", Some("state"), "\"On\"", vec![("state", text("on"))]),
        ("plug", Some("state"), "1", vec![("state", text("on"))]),
        ("plug", Some("state"), "false", vec![("state", text("off"))]),
        (
            "ctrl_neutral2",
            Some("state_left"),
            "ON",
            vec![("state_left", text("on"))],
        ),
        (
            "ctrl_neutral2",
            None,
            r#"{"state_left":"ON","state_right":"OFF"}"#,
            vec![("state_left", text("on")), ("state_right", text("off"))],
        ),
        // Relays over v2 toggle themselves when lumi does not know their state.
        (
            "relay.c2acn01",
            Some("state_l1"),
            "TOGGLE",
            vec![("state_l1", text("toggle"))],
        ),
        // The gateway light: state, brightness 0–255 → 0–100, colour in every spelling.
        (
            "gateway",
            None,
            r#"{"state":"ON","brightness":255,"color":{"r":255,"g":0,"b":0}}"#,
            vec![
                ("light", text("on")),
                ("brightness", TypedValue::Int(100)),
                ("color", red.clone()),
            ],
        ),
        (
            "gateway",
            None,
            r#"{"light":"OFF"}"#,
            vec![("light", text("off"))],
        ),
        (
            "gateway",
            None,
            r#"{"state":"ON","transition":2}"#,
            vec![("light", text("on"))],
        ),
        (
            "gateway",
            Some("brightness"),
            "128",
            vec![("brightness", TypedValue::Int(50))],
        ),
        (
            "gateway",
            Some("brightness"),
            "1",
            vec![("brightness", TypedValue::Int(1))],
        ),
        (
            "gateway",
            Some("brightness"),
            "0",
            vec![("brightness", TypedValue::Int(0))],
        ),
        (
            "gateway",
            Some("brightness"),
            "127.6",
            vec![("brightness", TypedValue::Int(50))],
        ),
        (
            "gateway",
            Some("color"),
            "#ff0000",
            vec![("color", red.clone())],
        ),
        (
            "gateway",
            Some("color"),
            "ff0000",
            vec![("color", red.clone())],
        ),
        (
            "gateway",
            Some("color"),
            "255,0,0",
            vec![("color", red.clone())],
        ),
        (
            "gateway",
            Some("color"),
            r#"{"r":255,"g":0,"b":0}"#,
            vec![("color", red.clone())],
        ),
        (
            "gateway",
            Some("color"),
            r##"{"hex":"#FF0000"}"##,
            vec![("color", red.clone())],
        ),
        (
            "gateway",
            Some("color"),
            "[255,0,0]",
            vec![("color", red.clone())],
        ),
        (
            "gateway",
            None,
            r#"{"sound":"doorbell","volume":40}"#,
            vec![("sound", text("doorbell")), ("volume", TypedValue::Int(40))],
        ),
        (
            "gateway",
            Some("sound"),
            "stop",
            vec![("sound", text("stop"))],
        ),
        (
            "gateway",
            Some("sound"),
            "10001",
            vec![("sound", TypedValue::Int(10001))],
        ),
        (
            "gateway",
            Some("pairing"),
            "ON",
            vec![("pairing", text("ON"))],
        ),
        (
            "gateway",
            Some("remove_device"),
            "158d0001a2b3c4",
            vec![("remove_device", text("158d0001a2b3c4"))],
        ),
        (
            "curtain",
            Some("level"),
            "50",
            vec![("level", TypedValue::Int(50))],
        ),
        (
            "curtain",
            None,
            r#"{"position":30}"#,
            vec![("level", TypedValue::Int(30))],
        ),
        (
            "curtain",
            Some("motor"),
            "open",
            vec![("motor", text("open"))],
        ),
        (
            "acpartner.v3",
            None,
            r#"{"state":"ON","system_mode":"cool","target_temperature":24}"#,
            vec![
                ("state", text("on")),
                ("system_mode", text("cool")),
                ("target_temperature", TypedValue::Int(24)),
            ],
        ),
        (
            "dimmer.rgbegl01",
            None,
            r#"{"state":"ON","brightness":255}"#,
            vec![("state", text("on")), ("brightness", TypedValue::Int(100))],
        ),
        // A later value for the same property wins.
        (
            "plug",
            None,
            r#"{"state":"ON","state":"OFF"}"#,
            vec![("state", text("off"))],
        ),
    ] {
        let got = set(model, property, payload)
            .unwrap_or_else(|e| panic!("{model} {property:?} {payload}: {e}"));
        assert_eq!(got, want, "{model} {property:?} {payload}");
        // Everything accepted here is accepted by the catalogue in both protocol versions
        // where the property has a raw key.
        for version in [ProtoVersion::V1, ProtoVersion::V2] {
            let r = device(model).encode_write(version, &got);
            if let Err(e) = &r {
                assert!(
                    matches!(
                        e,
                        lumi_proto::catalogue::WriteError::UnsupportedVersion { .. }
                    ),
                    "{model} {payload} {version}: {e}"
                );
            }
        }
    }
}

#[test]
fn bad_commands_name_the_property_and_what_can_be_written() {
    for (model, property, payload, want) in [
        (
            "plug",
            None,
            r#"{"colour":"red"}"#,
            "model plug has no property \"colour\" (writable: state)",
        ),
        (
            "plug",
            Some("colour"),
            "red",
            "model plug has no property \"colour\" (writable: state)",
        ),
        (
            "plug",
            None,
            r#"{"power":5}"#,
            "property power of model plug is read-only (writable: state)",
        ),
        (
            "sensor_ht",
            None,
            r#"{"temperature":20}"#,
            "property temperature of model sensor_ht is read-only (writable: none)",
        ),
        (
            "plug",
            None,
            "ON",
            "a /set command for plug must be a JSON object such as {\"state\":\"ON\"} (or a plain value published to /set/<property>); writable: state",
        ),
        ("plug", None, "[1,2]", "must be a JSON object"),
        (
            "plug",
            None,
            "",
            "the command for plug is empty: send JSON such as {\"state\":\"ON\"}",
        ),
        ("plug", None, "{}", "is empty"),
        ("gateway", None, r#"{"transition":1}"#, "is empty"),
        (
            "plug",
            Some("state"),
            "dim",
            "\"dim\" is not a valid value for state of model plug: expected ON, OFF or TOGGLE",
        ),
        (
            "plug",
            Some("state"),
            "2",
            "2 is not a valid value for state of model plug: expected ON, OFF or TOGGLE",
        ),
        (
            "plug",
            Some("state"),
            "TOGGLE",
            "cannot toggle state of model plug: its state is not known yet; send ON or OFF",
        ),
        (
            "gateway",
            Some("brightness"),
            "256",
            "256 is not a valid value for brightness of model gateway: expected a brightness from 0 to 255",
        ),
        (
            "gateway",
            Some("brightness"),
            "-1",
            "expected a brightness from 0 to 255",
        ),
        (
            "gateway",
            Some("brightness"),
            "bright",
            "expected a brightness from 0 to 255",
        ),
        (
            "gateway",
            Some("color"),
            "#ff00",
            "is not a valid value for color of model gateway: expected a colour",
        ),
        (
            "gateway",
            Some("color"),
            r#"{"r":300,"g":0,"b":0}"#,
            "expected a colour",
        ),
        ("gateway", Some("color"), "[1,2]", "expected a colour"),
    ] {
        let err = set(model, property, payload).unwrap_err().to_string();
        assert!(
            err.contains(want),
            "{model} {property:?} {payload:?}:\n  got  {err}\n  want {want}"
        );
    }
    // Errors the catalogue finds name the property too.
    for (model, property, payload, want) in [
        (
            "curtain",
            Some("level"),
            "150",
            "150 is not a valid value for level of model curtain: expected a whole number from 0 to 100",
        ),
        (
            "curtain",
            Some("motor"),
            "up",
            "\"up\" is not a valid value for motor of model curtain: expected one of open, close, stop, auto",
        ),
        (
            "gateway",
            Some("sound"),
            "trumpet",
            "is not a valid value for sound of model gateway: expected a sound name",
        ),
        (
            "acpartner.v3",
            Some("target_temperature"),
            "40",
            "expected a whole number from 17 to 30",
        ),
    ] {
        let err = encode_set(
            device(model),
            ProtoVersion::V2,
            property,
            payload.as_bytes(),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(want), "{model} {payload}: {err}");
    }
}

#[test]
fn hostile_payloads_are_refused_cleanly() {
    let plug = device("plug");
    assert!(matches!(
        parse_set(plug, None, b"\xff\xfe\xfd", None),
        Err(SetError::NotText { .. })
    ));
    let big = vec![b' '; MAX_PAYLOAD + 1];
    assert!(matches!(
        parse_set(plug, None, &big, None),
        Err(SetError::TooLarge { .. })
    ));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse_set(plug, None, deep.as_bytes(), None).is_err());
    let deep_obj = format!("{{\"state\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse_set(plug, None, deep_obj.as_bytes(), None).is_err());
    // Control characters in a property name are escaped in the error.
    let err = parse_set(plug, None, br#"{"\u001b[31mred":1}"#, None)
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\u{1b}'), "{err:?}");
    // Every truncation of valid commands gives an answer, never a panic.
    for cmd in [
        &br#"{"state":"ON","brightness":128,"color":{"r":1,"g":2,"b":3}}"#[..],
        br#"{"sound":"doorbell","volume":40}"#,
    ] {
        for i in 0..=cmd.len() {
            let _ = parse_set(device("gateway"), None, &cmd[..i], None);
            let _ = parse_set(device("gateway"), Some("color"), &cmd[..i], None);
        }
    }
}

#[test]
fn toggle_uses_the_current_state() {
    let plug = device("plug");
    let on = decode("plug", ProtoVersion::V1, Props::new().with("status", "on"));
    let off = decode("plug", ProtoVersion::V1, Props::new().with("status", "off"));
    assert_eq!(
        parse_set(plug, Some("state"), b"TOGGLE", Some(&on)).unwrap(),
        [("state", text("off"))]
    );
    assert_eq!(
        parse_set(plug, None, br#"{"state":"toggle"}"#, Some(&off)).unwrap(),
        [("state", text("on"))]
    );
    // A relay whose state is known is switched explicitly (v1 gateways have no toggle).
    let relay = decode(
        "relay.c2acn01",
        ProtoVersion::V1,
        Props::new().with("channel_1", "on"),
    );
    assert_eq!(
        parse_set(
            device("relay.c2acn01"),
            Some("state_l2"),
            b"TOGGLE",
            Some(&relay)
        )
        .unwrap(),
        [("state_l2", text("off"))]
    );
}

#[test]
fn partial_light_commands_keep_the_other_parts() {
    let gw = device("gateway");
    // Blue at 40 %.
    let blue = decode(
        "gateway",
        ProtoVersion::V1,
        Props::new().with("rgb", 0x2800_00FFu32),
    );
    let blue_c = TypedValue::Color(Rgb { r: 0, g: 0, b: 255 });
    let red = TypedValue::Color(Rgb { r: 255, g: 0, b: 0 });
    let write = |payload: &str, current: Option<&DeviceState>| {
        let values = parse_set(gw, None, payload.as_bytes(), current).unwrap();
        let props = gw.encode_write(ProtoVersion::V1, &values).unwrap();
        (values, serde_json::to_value(&props).unwrap()["rgb"].clone())
    };
    // A new colour keeps 40 %.
    let (v, rgb) = write(r#"{"color":{"r":255,"g":0,"b":0}}"#, Some(&blue));
    assert_eq!(
        v,
        [("color", red.clone()), ("brightness", TypedValue::Int(40))]
    );
    assert_eq!(rgb, json!(0x28FF_0000u32));
    // A new brightness keeps blue.
    let (v, rgb) = write(r#"{"brightness":255}"#, Some(&blue));
    assert_eq!(v, [("brightness", TypedValue::Int(100)), ("color", blue_c)]);
    assert_eq!(rgb, json!(0x6400_00FFu32));
    // ON while on keeps both.
    let (_, rgb) = write(r#"{"state":"ON"}"#, Some(&blue));
    assert_eq!(rgb, json!(0x2800_00FFu32));
    // OFF is off whatever else is said.
    let (_, rgb) = write(r#"{"state":"OFF","brightness":200}"#, Some(&blue));
    assert_eq!(rgb, json!(0));
    // With the light off (or unknown) the packed defaults apply: white at 100 %.
    // Before the light is known, its state is there, as null.
    let lux = decode(
        "gateway",
        ProtoVersion::V1,
        Props::new().with("illumination", 900),
    );
    assert_eq!(
        payload(&lux, &Extras::default()),
        json!({"illuminance": 900, "state": null})
    );
    let dimmer = decode(
        "dimmer.rgbegl01",
        ProtoVersion::V2,
        Props::new().with("light_level", 50),
    );
    assert_eq!(
        payload(&dimmer, &Extras::default()),
        json!({"brightness": 128, "state": null})
    );
    let off = decode("gateway", ProtoVersion::V1, Props::new().with("rgb", 0));
    let (_, rgb) = write(r#"{"state":"ON"}"#, Some(&off));
    assert_eq!(rgb, json!(0x64FF_FFFFu32));
    let (_, rgb) = write(r#"{"state":"ON"}"#, None);
    assert_eq!(rgb, json!(0x64FF_FFFFu32));
    // Other properties are not touched by light filling.
    let (v, _) = write(r#"{"sound":"doorbell"}"#, Some(&blue));
    assert_eq!(v, [("sound", text("doorbell"))]);
}

#[test]
fn encode_set_gives_the_raw_write_of_each_version() {
    let cases = [
        (
            "plug",
            Some("state"),
            "ON",
            ProtoVersion::V1,
            json!({"status": "on"}),
        ),
        (
            "plug",
            Some("state"),
            "ON",
            ProtoVersion::V2,
            json!({"channel_0": "on"}),
        ),
        (
            "curtain",
            Some("level"),
            "50",
            ProtoVersion::V1,
            json!({"curtain_level": "50"}),
        ),
        (
            "curtain",
            Some("level"),
            "50",
            ProtoVersion::V2,
            json!({"curtain_level": 50}),
        ),
        (
            "gateway",
            None,
            r##"{"state":"ON","brightness":255,"color":"#ff0000"}"##,
            ProtoVersion::V1,
            json!({"rgb": 1_694_433_280u32}),
        ),
        (
            "gateway",
            None,
            r#"{"sound":"doorbell","volume":40}"#,
            ProtoVersion::V2,
            json!({"mid": 10, "vol": 40}),
        ),
        (
            "gateway",
            Some("pairing"),
            "ON",
            ProtoVersion::V1,
            json!({"join_permission": "yes"}),
        ),
    ];
    for (model, property, payload, version, want) in cases {
        let props = encode_set(device(model), version, property, payload.as_bytes(), None).unwrap();
        assert_eq!(
            serde_json::to_value(&props).unwrap(),
            want,
            "{model} {payload} {version}"
        );
    }
}

#[test]
fn get_requests() {
    let plug = device("plug");
    assert_eq!(
        parse_get(plug, None, b"").unwrap().properties,
        Vec::<&str>::new()
    );
    assert_eq!(
        parse_get(plug, None, b"{}").unwrap().properties,
        Vec::<&str>::new()
    );
    assert_eq!(
        parse_get(plug, None, b"whatever").unwrap().properties,
        Vec::<&str>::new()
    );
    assert_eq!(
        parse_get(plug, None, br#"{"state":"","power":""}"#)
            .unwrap()
            .properties,
        ["state", "power"]
    );
    assert_eq!(
        parse_get(plug, Some("energy"), b"").unwrap().properties,
        ["energy"]
    );
    assert_eq!(
        parse_get(device("gateway"), None, br#"{"state":""}"#)
            .unwrap()
            .properties,
        ["light"]
    );
    let err = parse_get(plug, Some("colour"), b"")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "model plug has no property \"colour\" (its properties: state, power, energy, in_use, voltage)"
    );
}

#[test]
fn every_catalogue_model_has_a_working_example_command() {
    // The example in NotAnObject / Empty errors is itself a valid command.
    for d in catalogue::devices() {
        let Some(err) = parse_set(d, None, b"", None).err() else {
            continue;
        };
        let SetError::Empty { example, .. } = err else {
            panic!("{}: {err}", d.model())
        };
        if d.writable().next().is_none() {
            assert_eq!(example, "{}");
            continue;
        }
        let values = parse_set(d, None, example.as_bytes(), None)
            .unwrap_or_else(|e| panic!("{}: example {example} fails: {e}", d.model()));
        let ok = [ProtoVersion::V1, ProtoVersion::V2]
            .iter()
            .any(|v| d.encode_write(*v, &values).is_ok());
        assert!(
            ok,
            "{}: example {example} is refused by the catalogue",
            d.model()
        );
    }
}

/// `state_json_with` writes the readings straight to text; it must give exactly the text of
/// building the object (`state_payload`, plus `action`) and writing it, for every device of
/// the catalogue, whole or one reading at a time, with and without the extras.
#[test]
fn the_direct_state_text_is_the_objects_text_for_every_device() {
    use lumi_proto::catalogue::{Reading, ValueType};
    let sample = |v: &ValueType, alt: bool| match v {
        ValueType::Bool => TypedValue::Bool(alt),
        ValueType::Integer { min, max } => TypedValue::Int(if alt {
            min.unwrap_or(0)
        } else {
            max.or(*min).unwrap_or(1)
        }),
        ValueType::Number { .. } => TypedValue::Float(if alt { -0.5 } else { 21.25 }),
        ValueType::Enum(v) => TypedValue::text(
            if alt { v.last() } else { v.first() }
                .copied()
                .unwrap_or(""),
        ),
        ValueType::Text => TypedValue::text(if alt { "off" } else { "on" }),
        ValueType::Color => TypedValue::Color(Rgb { r: 1, g: 2, b: 3 }),
    };
    let extras = [
        Extras::default(),
        Extras {
            linkquality: Some(77),
            last_seen: Some(UNIX_EPOCH + NOON),
        },
    ];
    let mut compared = 0;
    for d in catalogue::devices() {
        let mut states = Vec::new();
        for alt in [false, true] {
            let all: Vec<Reading> = d
                .properties
                .iter()
                .map(|p| Reading {
                    property: p.name,
                    value: sample(&p.value, alt),
                })
                .collect();
            for r in &all {
                states.push(vec![Reading {
                    property: r.property,
                    value: r.value.clone(),
                }]);
            }
            states.push(all);
        }
        states.push(Vec::new());
        for readings in states {
            let state = DeviceState {
                device: Some(d),
                readings,
                raw: Props::new(),
            };
            for e in &extras {
                for action in [None, Some("single")] {
                    let mut object = state_payload(&state, e);
                    if let Some(a) = action {
                        object.insert("action".to_owned(), Value::from(a));
                    }
                    assert_eq!(
                        state_json_with(&state, e, action),
                        to_json_string(&object),
                        "{} {:?}",
                        d.model(),
                        state.readings
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 1000, "{compared}");
    // An unknown model: its raw properties.
    let raw = decode("lumi.unknown", ProtoVersion::V1, Props::new().with("x", 1));
    assert_eq!(
        state_json_with(&raw, &extras[1], Some("single")),
        r#"{"action":"single","last_seen":"2024-05-01T12:34:56.789Z","linkquality":77,"raw":{"x":1}}"#
    );
}
