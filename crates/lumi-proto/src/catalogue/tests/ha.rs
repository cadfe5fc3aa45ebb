//! Home Assistant mappings are valid: components, device classes, units, state classes,
//! categories and payloads as Home Assistant accepts them.

use crate::catalogue::{
    DEVICES, EntityCategory, HaComponent, HaEntity, Property, Scalar, StateClass, ValueType,
};

/// Home Assistant sensor device classes and the units each accepts (`sensor/const.py`
/// `DEVICE_CLASS_UNITS`). An empty list means "no unit" (enum, timestamp, date …).
pub(crate) const SENSOR_CLASSES: &[(&str, &[&str])] = &[
    ("apparent_power", &["mVA", "VA", "kVA"]),
    ("aqi", &[]),
    (
        "atmospheric_pressure",
        &[
            "cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi",
        ],
    ),
    ("battery", &["%"]),
    ("carbon_dioxide", &["ppm"]),
    ("carbon_monoxide", &["ppm", "mg/m³", "µg/m³"]),
    ("current", &["A", "mA"]),
    (
        "data_rate",
        &[
            "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "B/s", "kB/s", "MB/s", "GB/s", "KiB/s", "MiB/s",
            "GiB/s",
        ],
    ),
    (
        "data_size",
        &[
            "bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB",
        ],
    ),
    ("date", &[]),
    (
        "distance",
        &["km", "m", "cm", "mm", "mi", "nmi", "yd", "in", "ft"],
    ),
    ("duration", &["d", "h", "min", "s", "ms", "µs"]),
    (
        "energy",
        &[
            "J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal",
            "Gcal",
        ],
    ),
    (
        "energy_storage",
        &[
            "J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal",
            "Gcal",
        ],
    ),
    ("enum", &[]),
    ("frequency", &["Hz", "kHz", "MHz", "GHz"]),
    ("gas", &["m³", "ft³", "CCF", "L"]),
    ("humidity", &["%"]),
    ("illuminance", &["lx"]),
    ("irradiance", &["W/m²", "BTU/(h⋅ft²)"]),
    ("moisture", &["%"]),
    ("monetary", &[]),
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
    (
        "pressure",
        &[
            "cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi",
        ],
    ),
    ("reactive_power", &["var", "kvar"]),
    ("signal_strength", &["dB", "dBm"]),
    ("sound_pressure", &["dB", "dBA"]),
    (
        "speed",
        &[
            "ft/s", "in/d", "in/h", "in/s", "km/h", "kn", "m/s", "mph", "mm/d", "mm/s",
        ],
    ),
    ("sulphur_dioxide", &["µg/m³"]),
    ("temperature", &["°C", "°F", "K"]),
    ("timestamp", &[]),
    ("volatile_organic_compounds", &["µg/m³", "mg/m³"]),
    ("volatile_organic_compounds_parts", &["ppm", "ppb"]),
    ("voltage", &["V", "mV", "µV", "kV", "MV"]),
    ("volume", &["L", "mL", "gal", "fl. oz.", "m³", "ft³", "CCF"]),
    (
        "volume_flow_rate",
        &["m³/h", "ft³/min", "L/min", "gal/min", "mL/s"],
    ),
    (
        "volume_storage",
        &["L", "mL", "gal", "fl. oz.", "m³", "ft³", "CCF"],
    ),
    ("water", &["L", "gal", "m³", "ft³", "CCF"]),
    ("weight", &["kg", "g", "mg", "µg", "oz", "lb", "st"]),
    ("wind_direction", &["°"]),
    ("wind_speed", &["ft/s", "km/h", "kn", "m/s", "mph"]),
];

/// Sensor device classes without a unit.
const UNITLESS: &[&str] = &["aqi", "date", "enum", "monetary", "ph", "timestamp"];

/// Home Assistant binary sensor device classes.
pub(crate) const BINARY_SENSOR_CLASSES: &[&str] = &[
    "battery",
    "battery_charging",
    "carbon_monoxide",
    "cold",
    "connectivity",
    "door",
    "garage_door",
    "gas",
    "heat",
    "light",
    "lock",
    "moisture",
    "motion",
    "moving",
    "occupancy",
    "opening",
    "plug",
    "power",
    "presence",
    "problem",
    "running",
    "safety",
    "smoke",
    "sound",
    "tamper",
    "update",
    "vibration",
    "window",
];

/// Home Assistant cover device classes.
pub(crate) const COVER_CLASSES: &[&str] = &[
    "awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade", "shutter", "window",
];

/// Home Assistant switch device classes.
pub(crate) const SWITCH_CLASSES: &[&str] = &["outlet", "switch"];

/// Home Assistant button device classes.
pub(crate) const BUTTON_CLASSES: &[&str] = &["identify", "restart", "update"];

/// Checks one mapping; returns what is wrong.
pub(crate) fn check(p: &Property, ha: &HaEntity) -> Result<(), String> {
    let class_ok = match (ha.component, ha.device_class) {
        (_, None) => true,
        (HaComponent::Sensor, Some(c)) => SENSOR_CLASSES.iter().any(|(n, _)| *n == c),
        (HaComponent::BinarySensor, Some(c)) => BINARY_SENSOR_CLASSES.contains(&c),
        (HaComponent::Cover, Some(c)) => COVER_CLASSES.contains(&c),
        (HaComponent::Switch, Some(c)) => SWITCH_CLASSES.contains(&c),
        (HaComponent::Button, Some(c)) => BUTTON_CLASSES.contains(&c),
        (_, Some(_)) => false,
    };
    if !class_ok {
        return Err(format!(
            "device_class {:?} is not valid for {}",
            ha.device_class,
            ha.component.as_str()
        ));
    }
    let is_sensor = ha.component == HaComponent::Sensor;
    if !is_sensor && (ha.unit.is_some() || ha.state_class.is_some()) {
        return Err("unit/state_class on a non-sensor".into());
    }
    if is_sensor {
        if let Some(c) = ha.device_class {
            let units = SENSOR_CLASSES
                .iter()
                .find(|(n, _)| *n == c)
                .map_or(&[][..], |(_, u)| *u);
            match ha.unit {
                Some(u) if !units.contains(&u) => {
                    return Err(format!("unit {u} not valid for {c}"));
                }
                None if !units.is_empty() => return Err(format!("{c} needs a unit")),
                Some(_) if UNITLESS.contains(&c) => return Err(format!("{c} takes no unit")),
                _ => {}
            }
            if c == "enum" {
                if !matches!(p.value, ValueType::Enum(_)) {
                    return Err("enum sensor of a non-enum property".into());
                }
                if ha.state_class.is_some() {
                    return Err("enum sensor with a state_class".into());
                }
            }
            if matches!(c, "energy" | "energy_storage" | "gas" | "water" | "volume")
                && ha.state_class == Some(StateClass::Measurement)
            {
                return Err(format!("{c} cannot be a measurement"));
            }
        }
        if ha.unit.is_some() && ha.unit != p.unit {
            return Err(format!(
                "unit {:?} differs from the property's {:?}",
                ha.unit, p.unit
            ));
        }
        if ha.state_class.is_some()
            && !matches!(
                p.value,
                ValueType::Integer { .. } | ValueType::Number { .. }
            )
        {
            return Err("state_class on a non-numeric sensor".into());
        }
    }
    if matches!(
        ha.component,
        HaComponent::Sensor | HaComponent::BinarySensor
    ) && ha.entity_category == Some(EntityCategory::Config)
    {
        return Err("sensors cannot be config entities".into());
    }
    // Payloads: required where Home Assistant compares states, and of the property's type.
    let needs_payload = matches!(
        ha.component,
        HaComponent::BinarySensor | HaComponent::Switch | HaComponent::Light | HaComponent::Button
    );
    match (ha.payload, needs_payload) {
        (None, true) => return Err("missing payload".into()),
        (Some(pl), _) => {
            for s in [pl.on, pl.off] {
                let ok = match (s, p.value) {
                    (Scalar::Bool(_), ValueType::Bool) => true,
                    (Scalar::Text(t), ValueType::Enum(v)) => v.contains(&t),
                    _ => false,
                };
                if !ok {
                    return Err(format!("payload {s:?} is not a value of {:?}", p.value));
                }
            }
            if pl.on == pl.off {
                return Err("payload on == off".into());
            }
        }
        (None, false) => {}
    }
    let enum_only = matches!(
        ha.component,
        HaComponent::DeviceTrigger | HaComponent::Select | HaComponent::Climate
    );
    if enum_only && !matches!(p.value, ValueType::Enum(_)) {
        return Err("needs an enum property".into());
    }
    if ha.component == HaComponent::Cover
        && (!matches!(
            p.value,
            ValueType::Integer {
                min: Some(0),
                max: Some(100)
            }
        ) || p.write.is_none())
    {
        return Err("a cover's position must be a writable 0–100 integer".into());
    }
    let control = matches!(
        ha.component,
        HaComponent::Switch | HaComponent::Button | HaComponent::Siren
    );
    if control && p.write.is_none() {
        return Err("a control must be writable".into());
    }
    Ok(())
}

#[test]
fn every_ha_mapping_is_valid() {
    let mut entities = 0;
    for d in DEVICES {
        for p in d.properties {
            if let Some(ha) = &p.ha {
                entities += 1;
                if let Err(e) = check(p, ha) {
                    panic!("{}.{}: {e}", d.model(), p.name);
                }
            }
        }
    }
    assert!(entities > 100, "{entities}");
}

#[test]
fn diagnostics_are_categorised() {
    for d in DEVICES {
        for name in ["battery", "voltage", "proto_version", "ip", "fault"] {
            if let Some(ha) = d.property(name).and_then(|p| p.ha) {
                assert_eq!(
                    ha.entity_category,
                    Some(EntityCategory::Diagnostic),
                    "{}.{name}",
                    d.model()
                );
            }
        }
    }
}

#[test]
fn the_checker_rejects_bad_mappings() {
    let p = crate::catalogue::lookup("sensor_ht")
        .unwrap()
        .property("temperature")
        .unwrap();
    let good = p.ha.unwrap();
    assert!(check(p, &good).is_ok());
    let bad = [
        HaEntity {
            device_class: Some("temp"),
            ..good
        },
        HaEntity {
            unit: Some("lx"),
            ..good
        },
        HaEntity {
            component: HaComponent::BinarySensor,
            unit: None,
            state_class: None,
            ..good
        },
        HaEntity {
            entity_category: Some(EntityCategory::Config),
            ..good
        },
        HaEntity {
            device_class: Some("enum"),
            unit: None,
            state_class: None,
            ..good
        },
    ];
    for b in bad {
        assert!(check(p, &b).is_err(), "{b:?}");
    }
}

#[test]
fn every_property_worth_an_entity_has_one() {
    // Properties without their own entity must be a part of another, or be write-only helpers.
    for d in DEVICES {
        for p in d.properties.iter().filter(|p| p.ha.is_none()) {
            let is_part = d
                .properties
                .iter()
                .filter_map(|o| o.ha)
                .any(|ha| ha.parts.iter().any(|part| part.property == p.name));
            let helper = matches!(p.name, "voltage" | "remove_device" | "motor");
            let doc_only = d.model() == "rgbw_light";
            assert!(
                is_part || helper || doc_only,
                "{}.{} has no entity",
                d.model(),
                p.name
            );
        }
    }
}
