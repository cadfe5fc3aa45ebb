//! Typed → raw for writes, the packed light value, and write errors.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::catalogue::{
    Light, Rgb, TypedValue, WriteError, decode, encode_write, encode_write_one, light_to_rgb,
    rgb_to_light,
};
use crate::lan::ProtoVersion::{self, V1, V2};

fn w(model: &str, version: ProtoVersion, values: &[(&str, TypedValue)]) -> Value {
    let props = encode_write(model, version, values)
        .unwrap_or_else(|e| panic!("{model} {version} {values:?}: {e}"));
    serde_json::to_value(&props).unwrap()
}

fn t(s: &str) -> TypedValue {
    TypedValue::text(s)
}

#[test]
fn switches_and_plugs() {
    for (model, prop, v1, v2) in [
        (
            "plug",
            "state",
            json!({"status": "on"}),
            json!({"channel_0": "on"}),
        ),
        (
            "86plug",
            "state",
            json!({"status": "on"}),
            json!({"channel_0": "on"}),
        ),
        (
            "ctrl_neutral1",
            "state",
            json!({"channel_0": "on"}),
            json!({"channel_0": "on"}),
        ),
        (
            "ctrl_neutral2",
            "state_left",
            json!({"channel_0": "on"}),
            json!({"channel_0": "on"}),
        ),
        (
            "ctrl_neutral2",
            "state_right",
            json!({"channel_1": "on"}),
            json!({"channel_1": "on"}),
        ),
        (
            "switch.b2nacn02",
            "state_right",
            json!({"channel_1": "on"}),
            json!({"channel_1": "on"}),
        ),
        (
            "relay.c2acn01",
            "state_l2",
            json!({"channel_1": "on"}),
            json!({"channel_1": "on"}),
        ),
    ] {
        assert_eq!(w(model, V1, &[(prop, t("on"))]), v1, "{model} {prop}");
        assert_eq!(w(model, V2, &[(prop, t("on"))]), v2, "{model} {prop}");
        // Booleans and any case work too.
        assert_eq!(w(model, V2, &[(prop, TypedValue::Bool(true))]), v2);
        assert_eq!(w(model, V2, &[(prop, t(" ON "))]), v2);
    }
    assert_eq!(
        w("plug", V1, &[("state", TypedValue::Bool(false))]),
        json!({"status": "off"})
    );
    assert_eq!(
        w(
            "ctrl_ln2",
            V2,
            &[("state_left", t("off")), ("state_right", t("on"))]
        ),
        json!({"channel_0": "off", "channel_1": "on"})
    );
    assert_eq!(
        w("lumi.ctrl_dualchn", V2, &[("state_l1", t("toggle"))]),
        json!({"channel_0": "toggle"})
    );
    // Exactly the real write of rongyan6/mi-aqara-sdk#3 (without the key).
    let p = encode_write_one("ctrl_neutral2", V1, "state_right", t("off")).unwrap();
    assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"channel_1":"off"}"#);
}

#[test]
fn curtain_level_is_a_string_in_v1_only() {
    assert_eq!(
        w("curtain", V1, &[("level", TypedValue::Int(50))]),
        json!({"curtain_level": "50"})
    );
    assert_eq!(
        w("curtain", V2, &[("level", TypedValue::Int(50))]),
        json!({"curtain_level": 50})
    );
    assert_eq!(
        w("curtain.hagl04", V1, &[("level", t("0"))]),
        json!({"curtain_level": "0"})
    );
    assert_eq!(
        w("curtain.aq2", V2, &[("level", TypedValue::Float(100.0))]),
        json!({"curtain_level": 100})
    );
    assert_eq!(
        w("curtain", V1, &[("motor", t("open"))]),
        json!({"status": "open"})
    );
    assert_eq!(
        w("curtain", V2, &[("motor", t("stop"))]),
        json!({"curtain_status": "stop"})
    );
}

#[test]
fn gateway_light() {
    assert_eq!(w("gateway", V1, &[("light", t("off"))]), json!({"rgb": 0}));
    assert_eq!(
        w("gateway", V1, &[("light", t("on"))]),
        json!({"rgb": 0x64FF_FFFF_u32})
    );
    assert_eq!(
        w("gateway", V2, &[("brightness", TypedValue::Int(0))]),
        json!({"rgb": 0})
    );
    assert_eq!(
        w(
            "gateway",
            V1,
            &[
                ("brightness", TypedValue::Int(100)),
                ("color", Rgb { r: 255, g: 0, b: 0 }.into())
            ]
        ),
        json!({"rgb": 1694433280})
    );
    assert_eq!(
        w(
            "gateway.v3",
            V2,
            &[
                ("light", t("on")),
                ("color", t("#00ff00")),
                ("brightness", TypedValue::Int(50))
            ]
        ),
        json!({"rgb": 0x3200_FF00_u32})
    );
    assert_eq!(
        w("gateway", V1, &[("color", t("1, 2, 3"))]),
        json!({"rgb": 0x6401_0203_u32})
    );
    assert_eq!(
        w(
            "gateway",
            V1,
            &[(
                "color",
                TypedValue::from_json(&json!({"r": 1, "g": 2, "b": 3}))
            )]
        ),
        json!({"rgb": 0x6401_0203_u32})
    );
    // "off" wins over a colour in the same write.
    assert_eq!(
        w(
            "gateway",
            V1,
            &[("color", t("#ff0000")), ("light", t("off"))]
        ),
        json!({"rgb": 0})
    );
    // Other keys keep their order around the packed value.
    assert_eq!(
        serde_json::to_string(
            &encode_write(
                "gateway",
                V1,
                &[
                    ("volume", TypedValue::Int(5)),
                    ("brightness", TypedValue::Int(10)),
                    ("sound", t("bark"))
                ]
            )
            .unwrap()
        )
        .unwrap(),
        r#"{"vol":5,"rgb":184549375,"mid":8}"#
    );
    // Written then read back: the same light.
    let raw = encode_write(
        "gateway",
        V1,
        &[
            ("brightness", TypedValue::Int(37)),
            ("color", Rgb { r: 9, g: 8, b: 7 }.into()),
        ],
    )
    .unwrap();
    let back = decode("gateway", V1, &raw);
    assert_eq!(
        back.values_json(),
        json!({"light": "on", "brightness": 37, "color": {"r": 9, "g": 8, "b": 7}})
    );
    // The dimmer packs its colour into light_rgb at brightness 100; brightness is light_level.
    assert_eq!(
        w(
            "dimmer.rgbegl01",
            V2,
            &[("color", t("#102030")), ("brightness", TypedValue::Int(40))]
        ),
        json!({"light_rgb": 0x6410_2030_u32, "light_level": 40})
    );
}

#[test]
fn gateway_sound_and_controls() {
    assert_eq!(
        w(
            "gateway",
            V1,
            &[("sound", t("doorbell")), ("volume", TypedValue::Int(30))]
        ),
        json!({"mid": 10, "vol": 30})
    );
    assert_eq!(
        w("gateway", V1, &[("sound", t("Police car 1"))]),
        json!({"mid": 0})
    );
    assert_eq!(
        w("gateway", V1, &[("sound", t("stop"))]),
        json!({"mid": 10000})
    );
    assert_eq!(
        w("gateway", V2, &[("sound", TypedValue::Int(10005))]),
        json!({"mid": 10005})
    );
    assert_eq!(
        w("gateway", V2, &[("sound", t("10001"))]),
        json!({"mid": 10001})
    );
    assert_eq!(
        w("acpartner.v3", V2, &[("sound", TypedValue::Int(10000))]),
        json!({"mid": 10000})
    );
    assert_eq!(
        w("gateway", V1, &[("pairing", TypedValue::Bool(true))]),
        json!({"join_permission": "yes"})
    );
    assert_eq!(
        w("gateway.v3", V2, &[("pairing", t("no"))]),
        json!({"join_permission": "no"})
    );
    assert_eq!(
        w("gateway.v3", V2, &[("remove_device", t("158D0000FC1234"))]),
        json!({"remove_device": "158d0000fc1234"})
    );
}

#[test]
fn air_conditioning() {
    assert_eq!(
        w("acpartner.v3", V2, &[("state", t("on"))]),
        json!({"on_off_cfg": "on"})
    );
    assert_eq!(
        w("acpartner.v3", V2, &[("system_mode", t("fan_only"))]),
        json!({"mode_cfg": "wind"})
    );
    assert_eq!(
        w("acpartner.v3", V2, &[("fan_mode", t("medium"))]),
        json!({"ws_cfg": "middle"})
    );
    assert_eq!(
        w("acpartner.v3", V2, &[("swing_mode", t("off"))]),
        json!({"swing_cfg": "unswing"})
    );
    assert_eq!(
        w("acpartner.v3", V2, &[("relay", t("toggle"))]),
        json!({"relay_status": "toggle"})
    );
    assert_eq!(
        w(
            "airrtc.tcpecn01",
            V2,
            &[("target_temperature", TypedValue::Int(20))]
        ),
        json!({"temp_cfg": 20})
    );
    assert_eq!(
        w("ctrl_hvac.aq1", V2, &[("state", t("toggle"))]),
        json!({"on_off_cfg": "toggle"})
    );
}

#[test]
fn a_later_value_for_the_same_key_wins() {
    assert_eq!(
        w("plug", V1, &[("state", t("on")), ("state", t("off"))]),
        json!({"status": "off"})
    );
}

#[test]
fn bad_writes_say_what_is_wrong() {
    let err = |model: &str, version, values: &[(&str, TypedValue)]| {
        encode_write(model, version, values).unwrap_err()
    };
    let cases: Vec<(WriteError, &str)> = vec![
        (
            err("lumi.toaster", V1, &[("state", t("on"))]),
            r#"unknown model "lumi.toaster": only catalogued models can be written"#,
        ),
        (
            err("plug", V1, &[("brightness", TypedValue::Int(5))]),
            r#"model plug has no property "brightness" (writable: state)"#,
        ),
        (
            err("plug", V1, &[("power", TypedValue::Int(5))]),
            "property power of model plug is read-only (writable: state)",
        ),
        (
            err("magnet", V1, &[("contact", TypedValue::Bool(true))]),
            "property contact of model magnet is read-only (writable: none)",
        ),
        (
            err("acpartner.v3", V1, &[("system_mode", t("cool"))]),
            "property system_mode of model acpartner.v3 cannot be written with protocol v1",
        ),
        (
            err("plug", V1, &[("state", t("toggle"))]),
            r#""toggle" is not a valid value for state of model plug: expected one of on, off"#,
        ),
        (
            err("plug", V1, &[("state", TypedValue::Int(1))]),
            "1 is not a valid value for state of model plug: expected one of on, off",
        ),
        (
            err("curtain", V1, &[("level", TypedValue::Int(101))]),
            "101 is not a valid value for level of model curtain: expected a whole number from 0 to 100",
        ),
        (
            err("curtain", V2, &[("level", TypedValue::Int(-1))]),
            "-1 is not a valid value for level of model curtain: expected a whole number from 0 to 100",
        ),
        (
            err("curtain", V2, &[("level", TypedValue::Float(50.5))]),
            "50.5 is not a valid value for level of model curtain: expected a whole number from 0 to 100",
        ),
        (
            err("curtain", V1, &[("motor", t("dance"))]),
            r#""dance" is not a valid value for motor of model curtain: expected one of open, close, stop, auto"#,
        ),
        (
            err("gateway", V1, &[("volume", TypedValue::Int(101))]),
            "101 is not a valid value for volume of model gateway: expected a whole number from 0 to 100",
        ),
        (
            err("gateway", V1, &[("brightness", TypedValue::Int(101))]),
            "101 is not a valid value for brightness of model gateway: expected a whole number from 0 to 100",
        ),
        (
            err("gateway", V1, &[("remove_device", t("xyz"))]),
            r#""xyz" is not a valid value for remove_device of model gateway: expected a sub-device sid of 14 hex digits"#,
        ),
        (
            err("gateway", V1, &[("pairing", t("maybe"))]),
            r#""maybe" is not a valid value for pairing of model gateway: expected true or false"#,
        ),
        (
            err(
                "airrtc.tcpecn01",
                V2,
                &[("target_temperature", TypedValue::Int(31))],
            ),
            "31 is not a valid value for target_temperature of model airrtc.tcpecn01: expected a whole number from 17 to 30",
        ),
        (err("plug", V2, &[]), "nothing to write to model plug"),
    ];
    for (e, msg) in cases {
        assert_eq!(e.to_string(), msg);
    }
    for bad in [
        TypedValue::Int(9),
        TypedValue::Int(14),
        TypedValue::Int(19),
        TypedValue::Int(30),
        TypedValue::Int(9999),
        TypedValue::Int(-1),
        t("nonsense"),
        t(""),
        t("9"),
    ] {
        let e = encode_write("gateway", V1, &[("sound", bad.clone())]).unwrap_err();
        assert!(
            matches!(
                e,
                WriteError::InvalidValue {
                    property: "sound",
                    ..
                }
            ),
            "{bad}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("police_car_1") && msg.contains("10000 (stop)") && msg.contains("≥ 10001"),
            "{msg}"
        );
    }
    for bad in [
        t("red"),
        t("#12345"),
        t("#gg0000"),
        t("1,2"),
        t("1,2,300"),
        TypedValue::Int(0xFF0000),
    ] {
        let e = encode_write("gateway", V1, &[("color", bad.clone())]).unwrap_err();
        assert!(
            matches!(
                e,
                WriteError::InvalidValue {
                    property: "color",
                    ..
                }
            ),
            "{bad}"
        );
    }
    // The first bad value stops the write.
    assert!(matches!(
        encode_write("plug", V1, &[("state", t("on")), ("nope", t("x"))]),
        Err(WriteError::UnknownProperty { .. })
    ));
    // Messages are lowercase at the start, as the house style wants.
    let e = err("plug", V1, &[("state", t("toggle"))]).to_string();
    assert!(e.starts_with(|c: char| !c.is_uppercase()));
}

#[test]
fn rgb_examples() {
    assert_eq!(
        rgb_to_light(0),
        Light {
            on: false,
            brightness: 0,
            color: Rgb { r: 0, g: 0, b: 0 }
        }
    );
    assert_eq!(
        rgb_to_light(1694433280),
        Light {
            on: true,
            brightness: 100,
            color: Rgb { r: 255, g: 0, b: 0 }
        }
    );
    assert_eq!(
        rgb_to_light(1694301956),
        Light {
            on: true,
            brightness: 100,
            color: Rgb {
                r: 0xFC,
                g: 0xFF,
                b: 0x04
            }
        }
    );
    assert_eq!(rgb_to_light(4278255360).brightness, 100);
    assert_eq!(rgb_to_light(3036676095).brightness, 100);
    assert_eq!(
        rgb_to_light(0x00FF_0000),
        Light {
            on: false,
            brightness: 0,
            color: Rgb { r: 255, g: 0, b: 0 }
        }
    );
    assert_eq!(light_to_rgb(100, 255, 0, 0), 1694433280);
    assert_eq!(light_to_rgb(200, 255, 0, 0), 1694433280);
    assert_eq!(light_to_rgb(0, 255, 255, 255), 0);
    assert_eq!(
        Rgb::parse("#FFa500"),
        Some(Rgb {
            r: 255,
            g: 165,
            b: 0
        })
    );
    assert_eq!(
        Rgb::parse("255,165,0"),
        Some(Rgb {
            r: 255,
            g: 165,
            b: 0
        })
    );
    assert_eq!(Rgb::parse("+ffff"), None);
}

proptest! {
    #[test]
    fn light_round_trips(brightness in 1u8..=100, r: u8, g: u8, b: u8) {
        let packed = light_to_rgb(brightness, r, g, b);
        prop_assert_eq!(rgb_to_light(packed), Light { on: true, brightness, color: Rgb { r, g, b } });
    }

    #[test]
    fn rgb_round_trips(rgb in (1u32..=100).prop_flat_map(|top| (Just(top), 0u32..=0xFF_FFFF)).prop_map(|(t, c)| t << 24 | c)) {
        let l = rgb_to_light(rgb);
        prop_assert_eq!(light_to_rgb(l.brightness, l.color.r, l.color.g, l.color.b), rgb);
    }

    #[test]
    fn any_rgb_decodes_to_a_valid_light(rgb: u32) {
        let l = rgb_to_light(rgb);
        prop_assert!(l.brightness <= 100);
        prop_assert_eq!(l.on, rgb >> 24 != 0);
        let again = rgb_to_light(light_to_rgb(l.brightness, l.color.r, l.color.g, l.color.b));
        prop_assert_eq!(again.on, l.on);
        prop_assert_eq!(again.brightness, l.brightness);
    }

    #[test]
    fn gateway_write_then_read_is_the_same_light(brightness in 1i64..=100, r: u8, g: u8, b: u8, v2: bool) {
        let version = if v2 { V2 } else { V1 };
        let raw = encode_write("gateway", version, &[("brightness", TypedValue::Int(brightness)), ("color", Rgb { r, g, b }.into())]).unwrap();
        let back = decode("gateway", version, &raw);
        prop_assert!(back.raw.is_empty());
        prop_assert_eq!(back.get("brightness"), Some(&TypedValue::Int(brightness)));
        prop_assert_eq!(back.get("color"), Some(&TypedValue::Color(Rgb { r, g, b })));
        prop_assert_eq!(back.get("light"), Some(&TypedValue::text("on")));
    }

    #[test]
    fn curtain_write_then_read_is_the_same_level(level in 0i64..=100, v2: bool) {
        let version = if v2 { V2 } else { V1 };
        let raw = encode_write("curtain", version, &[("level", TypedValue::Int(level))]).unwrap();
        let expected = if v2 { json!(level) } else { json!(level.to_string()) };
        prop_assert_eq!(raw.get("curtain_level"), Some(&expected));
        let back = decode("curtain", version, &raw);
        prop_assert_eq!(back.get("level"), Some(&TypedValue::Int(level)));
    }
}

/// Found by the `mqtt_command` fuzz target: a value with control characters (here DEL and an
/// escape sequence, from an MQTT payload) was quoted raw in the error that goes to
/// `bridge/logging` and the log.
#[test]
fn fuzz_regression_invalid_values_are_sanitised() {
    let err = |model: &str, version, value: TypedValue, property: &str| {
        encode_write(model, version, &[(property, value)])
            .unwrap_err()
            .to_string()
    };
    let msg = err("acpartner.v3", V2, t("\u{7f}\u{1b}[2Jcool"), "system_mode");
    assert!(
        msg.starts_with(r#""\u{7f}\u001b[2Jcool" is not a valid value for system_mode"#),
        "{msg}"
    );
    let long = err("plug", V1, t(&"x".repeat(500)), "state");
    assert!(long.chars().count() < 200, "{long}");
}
