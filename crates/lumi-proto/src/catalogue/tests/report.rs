//! `encode_report` is the inverse of `decode`, for every catalogue property in both
//! versions, and speaks each dialect's wire types.

use serde_json::json;

use crate::catalogue::{DEVICES, TypedValue, decode, encode_report};
use crate::lan::{Props, ProtoVersion};

fn json_of(p: &Props) -> serde_json::Value {
    serde_json::to_value(p).unwrap()
}

#[test]
fn wire_types_per_version() {
    type Case<'a> = (
        &'a str,
        ProtoVersion,
        &'a [(&'a str, TypedValue)],
        serde_json::Value,
    );
    let cases: &[Case<'_>] = &[
        (
            "sensor_ht",
            ProtoVersion::V1,
            &[
                ("temperature", TypedValue::Float(21.2)),
                ("humidity", TypedValue::Float(52.77)),
            ],
            json!({"temperature":"2120","humidity":"5277"}),
        ),
        (
            "weather",
            ProtoVersion::V2,
            &[
                ("temperature", TypedValue::Float(23.33)),
                ("pressure", TypedValue::Float(999.0)),
            ],
            json!({"temperature":2333,"pressure":99900}),
        ),
        (
            "magnet",
            ProtoVersion::V1,
            &[("contact", TypedValue::Bool(false))],
            json!({"status":"open"}),
        ),
        (
            "sensor_magnet.aq2",
            ProtoVersion::V2,
            &[("contact", TypedValue::Bool(true))],
            json!({"window_status":"close"}),
        ),
        (
            "motion",
            ProtoVersion::V1,
            &[("occupancy", TypedValue::Bool(true))],
            json!({"status":"motion"}),
        ),
        (
            "motion",
            ProtoVersion::V1,
            &[("no_motion_seconds", TypedValue::Int(120))],
            json!({"no_motion":"120"}),
        ),
        (
            "plug",
            ProtoVersion::V1,
            &[
                ("state", TypedValue::text("on")),
                ("power", TypedValue::Float(24.76)),
            ],
            json!({"status":"on","load_power":"24.76"}),
        ),
        (
            "plug",
            ProtoVersion::V2,
            &[("state", TypedValue::text("off"))],
            json!({"channel_0":"off"}),
        ),
        (
            "switch",
            ProtoVersion::V1,
            &[("action", TypedValue::text("double"))],
            json!({"status":"double_click"}),
        ),
        (
            "86sw2",
            ProtoVersion::V1,
            &[("action", TypedValue::text("single_both"))],
            json!({"dual_channel":"both_click"}),
        ),
        (
            "cube",
            ProtoVersion::V1,
            &[("action", TypedValue::text("flip90"))],
            json!({"status":"flip90"}),
        ),
        (
            "cube",
            ProtoVersion::V1,
            &[
                ("action", TypedValue::text("rotate_left")),
                ("angle", TypedValue::Float(-90.0)),
                ("duration", TypedValue::Int(500)),
            ],
            json!({"rotate":"-25,500"}),
        ),
        (
            "magnet",
            ProtoVersion::V1,
            &[("battery", TypedValue::Int(100))],
            json!({"voltage":3300}),
        ),
        (
            "magnet",
            ProtoVersion::V1,
            &[("voltage", TypedValue::Int(3005))],
            json!({"voltage":3005}),
        ),
        (
            "gateway",
            ProtoVersion::V1,
            &[
                ("light", TypedValue::text("on")),
                ("brightness", TypedValue::Int(100)),
                ("color", TypedValue::text("#ff0000")),
            ],
            json!({"rgb":0x64ff0000u32}),
        ),
    ];
    for (model, version, values, want) in cases {
        let got = encode_report(model, *version, values).unwrap_or_else(|e| panic!("{model}: {e}"));
        assert_eq!(json_of(&got), *want, "{model} {version}");
        // And decoding gives the values back.
        let state = decode(model, *version, &got);
        for (name, v) in values.iter() {
            let back = state
                .get(name)
                .unwrap_or_else(|| panic!("{model}.{name} missing in {state:?}"));
            match (v, back) {
                (TypedValue::Text(a), TypedValue::Color(c)) => {
                    assert_eq!(Some(*c), crate::catalogue::Rgb::parse(a))
                }
                _ => match (back.as_f64(), v.as_f64()) {
                    (Some(a), Some(b)) => {
                        assert!((a - b).abs() < 1e-9, "{model}.{name}: {a} != {b}")
                    }
                    _ => assert_eq!(back.to_json(), v.to_json(), "{model}.{name}"),
                },
            }
        }
    }
}

/// For every property of every model: decode a typical raw value, encode the reading back,
/// decode again — the reading must survive.
#[test]
fn inverse_of_decode_for_the_whole_catalogue() {
    let mut checked = 0;
    for device in DEVICES {
        for version in [ProtoVersion::V1, ProtoVersion::V2] {
            for prop in device.properties {
                // A raw sample per source the decoder accepts.
                for s in prop.sources(version) {
                    for sample in samples() {
                        // Only decimals (load power) are fractional on the wire; scaled values
                        // and cube rotation deltas are whole raw units.
                        let fractional = sample.as_str().is_some_and(|t| t.contains('.'));
                        if fractional
                            && !matches!(
                                s.codec,
                                crate::catalogue::Codec::Decimal | crate::catalogue::Codec::Text
                            )
                        {
                            continue;
                        }
                        let raw = Props::new().with(s.key, sample.clone());
                        let state = decode(device.model(), version, &raw);
                        let Some(value) = state.get(prop.name).cloned() else {
                            continue;
                        };
                        if value == TypedValue::Null {
                            continue;
                        }
                        let Ok(encoded) =
                            encode_report(device.model(), version, &[(prop.name, value.clone())])
                        else {
                            continue;
                        };
                        if encoded.is_empty() {
                            continue;
                        }
                        let again = decode(device.model(), version, &encoded);
                        assert_eq!(
                            again.get(prop.name),
                            Some(&value),
                            "{} {version} {} from {sample} -> {encoded:?}",
                            device.model(),
                            prop.name
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 300, "{checked}");
}

fn samples() -> Vec<serde_json::Value> {
    vec![
        json!("open"),
        json!("close"),
        json!("motion"),
        json!("on"),
        json!("off"),
        json!("click"),
        json!("double_click"),
        json!("long_click_press"),
        json!("both_click"),
        json!("flip90"),
        json!("rotate"),
        json!("leak"),
        json!("no_leak"),
        json!("vibrate"),
        json!("tilt"),
        json!("2120"),
        json!(2333),
        json!("24.76"),
        json!(3005),
        json!("120"),
        json!("1"),
        json!("0"),
        json!("25,500"),
        json!("-10,300"),
        json!("1,2,3"),
        json!(50),
        json!("50"),
        json!(1694433280u32),
        json!(2),
        json!(10000),
        json!("yes"),
        json!("heat"),
        json!("low"),
    ]
}

#[test]
fn unknown_property_names_every_property_not_only_writable_ones() {
    let err = encode_report(
        "sensor_ht",
        ProtoVersion::V1,
        &[("flux", TypedValue::Int(1))],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("its properties: temperature"), "{err}");
    assert!(!err.contains("writable"), "{err}");
}
