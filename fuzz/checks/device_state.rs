//! `device_state`: what the client, the bridge and `lumi decode` do with the properties a
//! device sends. A LAN datagram (or a bare JSON object of properties) is decoded; its
//! properties are typed by the catalogue for the message's own model and for every catalogued
//! model in both protocol versions, then turned into what the bridge publishes (the JSON
//! state, the legacy plain values) and merged into a device's accumulated state. Nothing may
//! panic, every typed value must re-encode as a report (`encode_report`, the simulator's
//! path), and that report must type again without panic.

use std::sync::OnceLock;

use lumi_bridge::Config;
use lumi_bridge::state::{self, Extras};
use lumi_bridge::topics::Topics;
use lumi_proto::catalogue::{self, DeviceState, TypedValue};
use lumi_proto::lan::{self, Message, Props, ProtoVersion, Sid};
use serde_json::Value;

fn topics() -> &'static Topics {
    static TOPICS: OnceLock<Topics> = OnceLock::new();
    TOPICS.get_or_init(|| {
        let config = Config::from_toml("[bridge]\nlegacy_topics = true\n").expect("a valid config");
        Topics::from_config(&config)
    })
}

/// What a message says about a device: the properties, and the model, sid and version when
/// the message has them.
struct Carried {
    model: Option<String>,
    sid: Option<Sid>,
    props: Props,
    version: Option<ProtoVersion>,
}

/// The properties of a message that carries device properties.
fn props_of(data: &[u8]) -> Option<Carried> {
    let carried = |model, sid, props, version| Carried {
        model,
        sid: Some(sid),
        props,
        version,
    };
    if let Ok(d) = lan::decode(data) {
        return match d.message {
            Message::ReadAck(m)
            | Message::WriteAck(m)
            | Message::Report(m)
            | Message::Heartbeat(m) => Some(carried(m.model, m.sid, m.props, d.version)),
            Message::Write(w) => Some(carried(w.model, w.sid, w.props, d.version)),
            _ => None,
        };
    }
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(m)) => Some(Carried {
            model: None,
            sid: None,
            props: m.into_iter().collect(),
            version: None,
        }),
        _ => None,
    }
}

fn publish(state: &DeviceState, model: &str, sid: &Sid) {
    let json = state::state_json(state, &Extras::default());
    serde_json::from_str::<Value>(&json).expect("a state is JSON");
    let _ = serde_json::to_string(state).expect("a device state serialises");
    let _ = state.values_json();
    for (topic, _, _) in state::legacy_messages(topics(), model, sid, state) {
        assert!(
            !topic.contains(['+', '#', '\0']),
            "a legacy topic with a wildcard: {topic:?}"
        );
    }
    let _ = state::action(state);
}

fn round_trip(state: &DeviceState, version: ProtoVersion) {
    let Some(device) = state.device else { return };
    for r in &state.readings {
        if r.value == TypedValue::Null {
            continue;
        }
        if let Ok(props) =
            catalogue::encode_report(device.model(), version, &[(r.property, r.value.clone())])
        {
            let _ = device.decode(version, &props);
        }
    }
}

/// One input.
pub fn run(data: &[u8]) {
    let Some(Carried {
        model,
        sid,
        props,
        version,
    }) = props_of(data)
    else {
        return;
    };
    let sid = sid.unwrap_or_else(|| "158d0001a2b3c4".parse().expect("a sid"));
    let own = catalogue::decode(
        model.as_deref().unwrap_or(""),
        version.unwrap_or(ProtoVersion::V1),
        &props,
    );
    publish(&own, model.as_deref().unwrap_or(""), &sid);
    for device in catalogue::devices() {
        for v in [ProtoVersion::V1, ProtoVersion::V2] {
            let typed = device.decode(v, &props);
            assert!(
                typed.readings.len() <= device.properties.len(),
                "more readings than properties"
            );
            publish(&typed, device.model(), &sid);
            round_trip(&typed, v);
            let mut acc = typed.clone();
            acc.absorb(&typed, true);
            acc.absorb(&own, false);
        }
    }
}
