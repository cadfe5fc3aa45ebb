//! Every device message of the shared corpus (`../shared/corpus/lan.jsonl`, beside the
//! repository) decodes without panicking; known models leave only the expected raw keys.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::catalogue::{decode, lookup};
use crate::lan::{Props, ProtoVersion};

/// The shared corpus, beside the repository (CI always has it there).
const CORPUS: &str = include_str!("../../../../../../shared/corpus/lan.jsonl");

/// The device properties of a message: v1 `data` (string or object) or v2 `params`.
fn device_props(msg: &Value) -> Option<(ProtoVersion, Props)> {
    if let Some(params) = msg.get("params").and_then(Value::as_array) {
        let mut props = Props::new();
        for p in params {
            for (k, v) in p.as_object()? {
                props.push(k.clone(), v.clone());
            }
        }
        return Some((ProtoVersion::V2, props));
    }
    let data = match msg.get("data")? {
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
        other => other.clone(),
    };
    let obj = data.as_object()?;
    Some((
        ProtoVersion::V1,
        obj.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    ))
}

#[test]
fn corpus_messages_decode() {
    let text = CORPUS;
    let mut decoded = 0;
    let mut unknown_models = BTreeSet::new();
    let mut leftovers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let rec: Value = serde_json::from_str(line).expect("corpus line is JSON");
        let msg = match &rec["message"] {
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(m) => m,
                Err(_) => continue, // python reprs and broken doc examples
            },
            other => other.clone(),
        };
        let Some(model) = msg.get("model").and_then(Value::as_str) else {
            continue;
        };
        let Some((version, props)) = device_props(&msg) else {
            continue;
        };
        let state = decode(model, version, &props);
        serde_json::to_string(&state).unwrap();
        decoded += 1;
        if lookup(model).is_none() {
            unknown_models.insert(model.to_owned());
            continue;
        }
        for (k, _) in state.raw.iter() {
            leftovers
                .entry(model.trim().to_owned())
                .or_default()
                .insert(k.to_owned());
        }
    }
    eprintln!(
        "decoded {decoded} messages; unknown models {unknown_models:?}; raw leftovers {leftovers:?}"
    );
    assert!(decoded > 100, "{decoded}");
    assert_eq!(unknown_models, BTreeSet::from([String::new()]));
    // What stays raw: the write key inside v1 client writes, custom sound ids (≥ 10001, no
    // name), and the 2016 doc's wired switch reporting "click" on " channel_0".
    let expected: BTreeMap<String, BTreeSet<String>> = [
        ("86sw1", &["key"][..]),
        ("acpartner.v3", &["mid"]),
        ("ctrl_neutral1", &[" channel_0", "key"]),
        ("ctrl_neutral2", &["key"]),
        ("gateway", &["mid"]),
        ("gateway.v3", &["mid"]),
    ]
    .into_iter()
    .map(|(m, keys)| (m.to_owned(), keys.iter().map(|k| (*k).to_owned()).collect()))
    .collect();
    assert_eq!(leftovers, expected);
}
