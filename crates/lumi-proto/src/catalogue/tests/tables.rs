//! The tables: every model string resolves, entries are complete and self-consistent.

use std::collections::HashSet;

use crate::catalogue::{
    Codec, DEVICES, DeviceKind, HaComponent, PowerSource, ValueType, Write, lookup, model_strings,
};

/// Every model string of lan-api.md §7 and §8 (aliases included).
const LISTED: &[&str] = &[
    "gateway",
    "gateway.v3",
    "gateway.aq1",
    "acpartner.v3",
    "magnet",
    "sensor_magnet",
    "sensor_magnet.aq2",
    "motion",
    "sensor_motion",
    "sensor_motion.aq2",
    "switch",
    "sensor_switch",
    "sensor_switch.aq2",
    "remote.b1acn01",
    "sensor_switch.aq3",
    "86sw1",
    "sensor_86sw1",
    "sensor_86sw1.aq1",
    "remote.b186acn01",
    "remote.b186acn02",
    "86sw2",
    "sensor_86sw2",
    "sensor_86sw2.aq1",
    "remote.b286acn01",
    "remote.b286acn02",
    "ctrl_neutral1",
    "ctrl_neutral1.aq1",
    "switch_b1lacn02",
    "switch.b1lacn02",
    "ctrl_neutral2",
    "ctrl_neutral2.aq1",
    "switch_b2lacn02",
    "switch.b2lacn02",
    "ctrl_ln1",
    "ctrl_ln1.aq1",
    "switch_b1nacn02",
    "switch.b1nacn02",
    "ctrl_ln2",
    "ctrl_ln2.aq1",
    "switch_b2nacn02",
    "switch.b2nacn02",
    "plug",
    "86plug",
    "ctrl_86plug",
    "ctrl_86plug.aq1",
    "sensor_ht",
    "weather",
    "weather.v1",
    "cube",
    "sensor_cube",
    "sensor_cube.aqgl01",
    "natgas",
    "sensor_natgas",
    "smoke",
    "sensor_smoke",
    "sensor_wleak.aq1",
    "vibration",
    "vibration.aq1",
    "curtain",
    "curtain.aq2",
    "curtain.hagl04",
    "lock.aq1",
    "lock.acn02",
    "relay.c2acn01",
    "lumi.ctrl_dualchn",
    "dimmer.rgbegl01",
    "ctrl_hvac.aq1",
    "airrtc.tcpecn01",
    "rgbw_light",
];

#[test]
fn every_listed_model_string_resolves() {
    let distinct: HashSet<&str> = LISTED.iter().copied().collect();
    assert_eq!(distinct.len(), LISTED.len(), "LISTED has duplicates");
    assert!(
        distinct.len() >= 55,
        "only {} model strings",
        distinct.len()
    );
    for m in LISTED {
        let d = lookup(m).unwrap_or_else(|| panic!("{m} does not resolve"));
        assert!(d.models.contains(m), "{m} resolves to {:?}", d.models);
    }
}

#[test]
fn catalogue_has_at_least_55_distinct_model_strings_each_in_one_entry() {
    let all: Vec<&str> = model_strings().collect();
    let distinct: HashSet<&str> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        distinct.len(),
        "a model string is in two entries"
    );
    assert!(distinct.len() >= 55, "{}", distinct.len());
    for m in &all {
        assert_eq!(
            *m,
            m.trim().to_ascii_lowercase(),
            "model strings are lowercase, trimmed"
        );
    }
    // Nothing catalogued that the reference does not list.
    for m in &all {
        assert!(
            LISTED.contains(m),
            "{m} is catalogued but not listed in this test"
        );
    }
}

#[test]
fn lookup_is_lenient_about_case_space_and_lumi_prefix() {
    let magnet = lookup("sensor_magnet.aq2").unwrap();
    assert_eq!(lookup(" sensor_magnet.aq2 "), Some(magnet));
    assert_eq!(lookup("SENSOR_MAGNET.AQ2"), Some(magnet));
    assert_eq!(lookup("lumi.sensor_magnet.aq2"), Some(magnet));
    assert_eq!(lookup(" ctrl_neutral1").unwrap().product_code, "QBKG04LM");
    assert_eq!(
        lookup("lumi.ctrl_dualchn").unwrap().product_code,
        "LLKZMK11LM"
    );
    assert_eq!(
        lookup("ctrl_dualchn"),
        None,
        "the lumi. is part of that model string"
    );
    for bad in [
        "",
        " ",
        "lumi.",
        "lumi",
        "sensor",
        "gateway.v9",
        "é",
        "lumi.é",
    ] {
        assert_eq!(lookup(bad), None, "{bad:?}");
    }
}

#[test]
fn every_entry_is_complete() {
    for d in DEVICES {
        let m = d.model();
        assert!(!d.models.is_empty());
        assert!(!d.name.trim().is_empty(), "{m}: name");
        assert!(!d.product_code.trim().is_empty(), "{m}: product code");
        assert!(!d.properties.is_empty(), "{m}: no properties");
        let mut names = HashSet::new();
        for p in d.properties {
            assert!(names.insert(p.name), "{m}: {} twice", p.name);
            assert!(!p.description.is_empty(), "{m}.{}: description", p.name);
            assert!(
                p.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{m}.{}: not snake_case",
                p.name
            );
            assert!(
                !p.v1.is_empty() || !p.v2.is_empty(),
                "{m}.{}: comes from no raw key",
                p.name
            );
            for s in p.v1.iter().chain(p.v2) {
                assert_eq!(s.key, s.key.trim(), "{m}.{}: raw key with spaces", p.name);
                assert!(!s.key.is_empty());
            }
            if let ValueType::Enum(values) = p.value {
                assert!(!values.is_empty(), "{m}.{}: empty enum", p.name);
            }
        }
        // Battery devices report a battery; mains devices do not pretend to.
        let has_battery = d.property("battery").is_some();
        assert_eq!(
            has_battery,
            d.power == PowerSource::Battery,
            "{m}: battery vs power source"
        );
        // Event-emitting kinds have events.
        if matches!(
            d.kind,
            DeviceKind::Button
                | DeviceKind::WallSwitchWireless
                | DeviceKind::Cube
                | DeviceKind::Vibration
        ) {
            assert!(!d.events().is_empty(), "{m}: no events");
        } else {
            assert!(d.events().is_empty(), "{m}: events on a {:?}", d.kind);
        }
        // A writable property has a raw key to write in at least one version.
        for p in d.writable() {
            assert!(!p.v1.is_empty() || !p.v2.is_empty(), "{m}.{}", p.name);
        }
    }
}

#[test]
fn events_per_model() {
    let ev = |m: &str| lookup(m).unwrap().events();
    assert_eq!(ev("switch"), ["single", "double", "long", "long_release"]);
    assert!(ev("sensor_switch.aq3").contains(&"shake"));
    assert!(!ev("sensor_switch.aq2").contains(&"shake"));
    assert_eq!(ev("86sw1"), ["single", "double", "long"]);
    for e in ["single_left", "double_right", "long_both", "single_both"] {
        assert!(ev("86sw2").contains(&e), "{e}");
        assert!(ev("remote.b286acn02").contains(&e), "{e}");
    }
    for e in [
        "flip90",
        "flip180",
        "slide",
        "tap",
        "shake",
        "throw",
        "wakeup",
        "fall",
        "rotate_left",
        "rotate_right",
    ] {
        assert!(ev("sensor_cube.aqgl01").contains(&e), "{e}");
    }
    assert_eq!(ev("vibration"), ["vibration", "tilt", "fall"]);
    assert!(ev("plug").is_empty());
}

/// Every codec produces values of its property's type: the texts an enum codec can give are
/// allowed values, booleans come from boolean codecs, and so on.
#[test]
fn codecs_agree_with_value_types() {
    for d in DEVICES {
        for p in d.properties {
            for s in p.v1.iter().chain(p.v2) {
                let ok = match (s.codec, p.value) {
                    (Codec::Text, ValueType::Text) => true,
                    (
                        Codec::Integer { .. } | Codec::UnlockUser | Codec::RgbBrightness,
                        ValueType::Integer { .. },
                    ) => true,
                    (
                        Codec::Battery,
                        ValueType::Integer {
                            min: Some(0),
                            max: Some(100),
                        },
                    ) => true,
                    (Codec::RotateTime, ValueType::Integer { .. }) => true,
                    (Codec::Axis(n), ValueType::Integer { .. }) => n < 3,
                    (
                        Codec::Scaled { .. } | Codec::Decimal | Codec::RotateAngle,
                        ValueType::Number { .. },
                    ) => true,
                    (Codec::Enum(map) | Codec::CubeStatus(map), ValueType::Enum(values)) => {
                        map.iter().all(|(_, c)| values.contains(c))
                    }
                    (Codec::RotateAction, ValueType::Enum(values)) => {
                        ["rotate_left", "rotate_right", "rotate"]
                            .iter()
                            .all(|c| values.contains(c))
                    }
                    (Codec::Bool { on, off }, ValueType::Bool) => {
                        !on.is_empty() && on.iter().all(|x| !off.contains(x))
                    }
                    (Codec::Present(_) | Codec::AlarmState(_), ValueType::Bool) => true,
                    (Codec::AlarmFault(codes), ValueType::Enum(values)) => {
                        codes.iter().all(|c| values.contains(&c.fault))
                    }
                    (Codec::UnlockMethod(methods), ValueType::Enum(values)) => {
                        methods.iter().all(|(_, m)| values.contains(m))
                    }
                    (Codec::RgbState, ValueType::Enum(values)) => values == ["on", "off"],
                    (Codec::RgbColor, ValueType::Color) => true,
                    (Codec::Sound, ValueType::Enum(values)) => {
                        values == crate::catalogue::SOUND_NAMES
                    }
                    _ => false,
                };
                assert!(
                    ok,
                    "{}.{} ({}): codec {:?} vs type {:?}",
                    d.model(),
                    p.name,
                    s.key,
                    s.codec,
                    p.value
                );
            }
        }
    }
}

/// Every value of an event or state enum can actually be produced by one of its sources.
#[test]
fn enum_values_are_all_reachable() {
    for d in DEVICES {
        for p in d.properties {
            let ValueType::Enum(values) = p.value else {
                continue;
            };
            let mut reachable: HashSet<&str> = HashSet::new();
            let mut complete = true;
            for s in p.v1.iter().chain(p.v2) {
                match s.codec {
                    Codec::Enum(map) => reachable.extend(map.iter().map(|(_, c)| *c)),
                    Codec::CubeStatus(map) => {
                        reachable.extend(map.iter().map(|(_, c)| *c));
                        reachable.extend(["rotate_left", "rotate_right"]);
                    }
                    Codec::RotateAction => {
                        reachable.extend(["rotate_left", "rotate_right", "rotate"])
                    }
                    _ => complete = false,
                }
            }
            if complete {
                for v in values {
                    assert!(
                        reachable.contains(v),
                        "{}.{}: {v} cannot be produced",
                        d.model(),
                        p.name
                    );
                }
            }
        }
    }
}

/// Write encodings agree with value types: enum writes only offer allowed values (plus
/// `toggle`), number ranges sit inside the type's bounds.
#[test]
fn writes_agree_with_value_types() {
    for d in DEVICES {
        for p in d.writable() {
            let w = p.write.unwrap();
            let ok = match (w, p.value) {
                (Write::Enum(map), ValueType::Enum(values)) => map
                    .iter()
                    .all(|(c, raw)| !raw.is_empty() && (values.contains(c) || *c == "toggle")),
                (
                    Write::Integer { min, max, .. },
                    ValueType::Integer {
                        min: tmin,
                        max: tmax,
                    },
                ) => min <= max && tmin.is_none_or(|t| t <= min) && tmax.is_none_or(|t| max <= t),
                (Write::BoolText { on, off }, ValueType::Bool) => on != off,
                (Write::Sid, ValueType::Text) => true,
                (Write::Rgb(_), _) => true,
                (Write::Sound, ValueType::Enum(_)) => true,
                _ => false,
            };
            assert!(
                ok,
                "{}.{}: write {w:?} vs type {:?}",
                d.model(),
                p.name,
                p.value
            );
        }
    }
}

#[test]
fn ha_parts_name_properties_of_the_same_device() {
    for d in DEVICES {
        for p in d.properties {
            let Some(ha) = p.ha else { continue };
            for part in ha.parts {
                let target = d.property(part.property);
                assert!(
                    target.is_some(),
                    "{}.{}: part {:?} missing",
                    d.model(),
                    p.name,
                    part
                );
                assert!(
                    target.unwrap().ha.is_none(),
                    "{}: a part is also its own entity",
                    part.property
                );
            }
            if ha.component == HaComponent::DeviceTrigger {
                assert_eq!(p.name, "action");
            }
        }
    }
}

#[test]
fn catalogue_serialises_to_json() {
    let json = serde_json::to_value(DEVICES).unwrap();
    let plug = json
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["models"][0] == "plug")
        .unwrap();
    assert_eq!(plug["product_code"], "ZNCZ02LM");
    assert_eq!(plug["power"], "mains");
    assert_eq!(plug["kind"], "plug");
    assert_eq!(plug["properties"][0]["name"], "state");
    assert_eq!(plug["properties"][0]["ha"]["component"], "switch");
    assert_eq!(plug["properties"][0]["v1"][0]["key"], "status");
    assert_eq!(plug["properties"][0]["v2"][0]["key"], "channel_0");
}
