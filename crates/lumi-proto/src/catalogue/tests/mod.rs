//! Tests of the catalogue: the tables themselves, Home Assistant validity, conversions both
//! ways, sounds, hostile values and the corpus.

mod corpus;
mod decode;
mod ha;
mod hostile;
mod report;
mod sounds;
mod tables;
mod write;

use serde_json::Value;

use crate::lan::{Props, ProtoVersion};

use super::{DeviceState, decode as decode_props};

/// Props from a JSON array of `[key, value]` pairs (keeps the order and repeated keys).
pub(super) fn props(pairs: Value) -> Props {
    match pairs {
        Value::Array(a) => a
            .into_iter()
            .map(|p| match p {
                Value::Array(kv) if kv.len() == 2 => {
                    let mut kv = kv.into_iter();
                    let k = kv.next().and_then(|k| k.as_str().map(str::to_owned));
                    (
                        k.expect("key is a string"),
                        kv.next().unwrap_or(Value::Null),
                    )
                }
                other => panic!("not a [key, value] pair: {other}"),
            })
            .collect(),
        Value::Object(m) => m.into_iter().collect(),
        other => panic!("not props: {other}"),
    }
}

/// Decodes and returns (values, raw) as JSON.
pub(super) fn dec(model: &str, version: ProtoVersion, pairs: Value) -> (Value, Value) {
    let state: DeviceState = decode_props(model, version, &props(pairs));
    (
        state.values_json(),
        serde_json::to_value(&state.raw).expect("raw serialises"),
    )
}
