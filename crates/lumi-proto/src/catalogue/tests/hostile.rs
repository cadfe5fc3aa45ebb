//! Nothing panics on hostile values, nothing is dropped, every typed value fits its type.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::catalogue::decode::fits;
use crate::catalogue::{DEVICES, TypedValue, WriteError, decode, encode_write};
use crate::lan::{Props, ProtoVersion};

fn hostile_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(1),
        json!(255),
        json!(65536),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e308),
        json!(-1e308),
        json!(0.5),
        json!(-0.0),
        json!(5e-324),
        json!(""),
        json!(" "),
        json!("NaN"),
        json!("nan"),
        json!("inf"),
        json!("-inf"),
        json!("Infinity"),
        json!("1e999"),
        json!("-1e999"),
        json!("abc"),
        json!("99999999999999999999999999"),
        json!("-99999999999999999999999999"),
        json!("18446744073709551616"),
        json!("4294967296"),
        json!("-"),
        json!("+"),
        json!("."),
        json!("e"),
        json!(","),
        json!(",,"),
        json!("1,2,3,4"),
        json!("25,"),
        json!(",500"),
        json!("25,500,7"),
        json!("1e308,1e308"),
        json!("-1e308,5"),
        json!("NaN,NaN,NaN"),
        json!("9223372036854775807,9223372036854775807,9223372036854775807"),
        json!("🙂"),
        json!("\u{0}"),
        json!("0x10"),
        json!("１２"),
        json!("unknown"),
        json!("INVALID"),
        json!("rotate"),
        json!("x".repeat(10_000)),
        json!([]),
        json!({}),
        json!([1, 2, 3]),
        json!({"r": 1, "g": 2, "b": 3}),
        json!({"a": {"b": [null]}}),
    ]
}

fn check_state(model: &str, version: ProtoVersion, input: &Props) {
    let state = decode(model, version, input);
    let device = state.device.expect("catalogued");
    for r in &state.readings {
        let p = device
            .property(r.property)
            .expect("reading of a catalogued property");
        assert!(
            fits(p, &r.value),
            "{model}.{} = {:?} does not fit {:?} (input {input:?})",
            r.property,
            r.value,
            p.value
        );
        if let TypedValue::Float(f) = r.value {
            assert!(f.is_finite());
        }
    }
    // Nothing is dropped: every raw pair is either kept raw or became a reading.
    for (k, v) in input.iter() {
        let kept = state.raw.iter().any(|(rk, rv)| rk == k && rv == v);
        assert!(
            kept || !state.readings.is_empty(),
            "{model}: {k}={v} vanished"
        );
    }
    // Raw leftovers are exactly some of the input pairs.
    for (k, v) in state.raw.iter() {
        assert!(input.iter().any(|(ik, iv)| ik == k && iv == v));
    }
    serde_json::to_string(&state).expect("serialises");
}

#[test]
fn every_property_survives_hostile_values() {
    let values = hostile_values();
    let mut checked = 0;
    for d in DEVICES {
        for model in d.models {
            for p in d.properties {
                for s in p.v1.iter().chain(p.v2) {
                    for v in &values {
                        for version in [ProtoVersion::V1, ProtoVersion::V2] {
                            let input = Props::new().with(s.key, v.clone());
                            check_state(model, version, &input);
                            checked += 1;
                        }
                    }
                }
            }
            // All keys of the model at once, with a hostile value each, and the cube's
            // cross-key lookup fed garbage.
            for v in &values {
                let mut all = Props::new().with("rotate_degree", v.clone());
                for p in d.properties {
                    for s in p.v1.iter().chain(p.v2) {
                        all.push(s.key, v.clone());
                    }
                }
                check_state(model, ProtoVersion::V1, &all);
                check_state(model, ProtoVersion::V2, &all);
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}

fn hostile_typed() -> Vec<TypedValue> {
    let mut v: Vec<TypedValue> = hostile_values().iter().map(TypedValue::from_json).collect();
    v.extend([
        TypedValue::Float(f64::NAN),
        TypedValue::Float(f64::INFINITY),
        TypedValue::Float(f64::NEG_INFINITY),
        TypedValue::Float(1e300),
        TypedValue::Float(-0.5),
        TypedValue::Int(i64::MIN),
        TypedValue::Int(i64::MAX),
        TypedValue::Int(u32::MAX as i64 + 1),
        TypedValue::Null,
    ]);
    v
}

#[test]
fn every_writable_property_survives_hostile_values() {
    for d in DEVICES {
        for p in d.writable() {
            for v in hostile_typed() {
                for version in [ProtoVersion::V1, ProtoVersion::V2] {
                    match encode_write(d.model(), version, &[(p.name, v.clone())]) {
                        Ok(props) => {
                            // Whatever was accepted encodes to one raw pair.
                            assert_eq!(props.len(), 1, "{}.{} {v}", d.model(), p.name);
                            serde_json::to_string(&props).unwrap();
                        }
                        Err(
                            WriteError::InvalidValue { .. } | WriteError::UnsupportedVersion { .. },
                        ) => {}
                        Err(e) => panic!("{}.{} {v}: unexpected {e}", d.model(), p.name),
                    }
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_props_never_panic(
        model_idx in 0usize..64,
        pairs in prop::collection::vec(("[a-z_ ]{0,16}", any::<i64>(), "\\PC{0,12}", any::<bool>()), 0..6),
        v2: bool,
    ) {
        let models: Vec<&str> = DEVICES.iter().flat_map(|d| d.models.iter().copied()).collect();
        let model = models[model_idx % models.len()];
        let keys: Vec<&str> = DEVICES.iter().flat_map(|d| d.properties).flat_map(|p| p.v1.iter().chain(p.v2)).map(|s| s.key).collect();
        let mut props = Props::new();
        for (i, (k, n, s, as_text)) in pairs.iter().enumerate() {
            // Mix real keys with random ones, numbers with texts.
            let key = if i % 2 == 0 { keys[(*n as usize) % keys.len()].to_owned() } else { k.clone() };
            let value = if *as_text { json!(s) } else { json!(n) };
            props.push(key, value);
        }
        let version = if v2 { ProtoVersion::V2 } else { ProtoVersion::V1 };
        check_state(model, version, &props);
    }
}
