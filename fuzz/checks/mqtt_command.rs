//! `mqtt_command`: what the bridge reads from MQTT. The input is a topic and a payload,
//! separated by the first NUL (MQTT topics cannot contain one); a second NUL, if any, ends the
//! payload and starts a JSON object of raw properties that the device reported before the
//! command (its current state, on top of the simulator's initial state).
//!
//! The topic goes through `Topics::parse`; a `/set` then runs `encode_set` against every
//! catalogued device in both protocol versions, with and without a current state, a `/get`
//! runs `parse_get`, a bridge request `parse_request`, Home Assistant's status
//! `parse_availability`. Nothing may panic; every message that goes back to the user (an
//! invalid topic's reason, a refused command's error) is free of control and invisible
//! characters; an
//! accepted `/set` gives properties that the catalogue types back without panic; a refused
//! request's response is JSON that echoes the transaction.

use std::borrow::Cow;
use std::sync::OnceLock;

use lumi_bridge::Config;
use lumi_bridge::request;
use lumi_bridge::state::{self, Extras};
use lumi_bridge::topics::{Incoming, Topics};
use lumi_proto::catalogue::{self, Device, DeviceState};
use lumi_proto::lan::{Props, ProtoVersion, Sid};
use lumi_proto::sanitize;
use lumi_sim::device::SubDevice;
use serde_json::Value;

fn topics() -> &'static Topics {
    static TOPICS: OnceLock<Topics> = OnceLock::new();
    TOPICS.get_or_init(|| {
        let config = Config::from_toml("[bridge]\nlegacy_topics = true\n").expect("a valid config");
        Topics::from_config(&config)
    })
}

/// Every catalogued device in both versions, with the state a fresh simulated device of that
/// model reports.
fn targets() -> &'static [(&'static Device, ProtoVersion, DeviceState)] {
    static TARGETS: OnceLock<Vec<(&'static Device, ProtoVersion, DeviceState)>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let sid: Sid = "158d0001a2b3c4".parse().expect("a sid");
        let mut out = Vec::new();
        for device in catalogue::devices() {
            for v in [ProtoVersion::V1, ProtoVersion::V2] {
                let sim = SubDevice::from_catalogue(sid.clone(), device.model(), v)
                    .expect("a catalogued model");
                out.push((device, v, device.decode(v, &sim.state)));
            }
        }
        out
    })
}

/// Text for a terminal or a log: nothing that `sanitize::for_terminal` would escape.
fn printable(what: &str, text: &str) {
    assert!(
        matches!(sanitize::for_terminal(text), Cow::Borrowed(_)),
        "{what} has a control or invisible character: {text:?}"
    );
}

fn set(property: Option<&str>, payload: &[u8], reported: Option<&Props>) {
    for (device, version, initial) in targets() {
        let mut current = initial.clone();
        if let Some(props) = reported {
            current.absorb(&device.decode(*version, props), false);
        }
        for current in [None, Some(&current)] {
            match state::encode_set(device, *version, property, payload, current) {
                Ok(props) => {
                    assert!(!props.is_empty(), "an accepted command writes nothing");
                    let typed = device.decode(*version, &props);
                    let _ = state::state_json(&typed, &Extras::default());
                }
                Err(e) => printable("a /set error", &e.to_string()),
            }
        }
    }
}

fn get(property: Option<&str>, payload: &[u8]) {
    for (device, _, _) in targets().iter().step_by(2) {
        match state::parse_get(device, property, payload) {
            Ok(g) => {
                for p in g.properties {
                    assert!(device.property(p).is_some(), "{p} is not a property");
                }
            }
            Err(e) => printable("a /get error", &e.to_string()),
        }
    }
}

fn bridge_request(name: &str, payload: &[u8]) {
    match request::parse_request(name, payload) {
        Ok(r) => {
            let _ = request::response_ok(Value::Null, r.transaction.as_ref());
        }
        Err(e) => {
            printable("a request error", &e.message);
            let response: Value =
                serde_json::from_str(&e.response()).expect("an error response is JSON");
            assert_eq!(response.get("transaction"), e.transaction.as_ref());
        }
    }
}

/// One input.
pub fn run(data: &[u8]) {
    let (topic, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let (payload, reported) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let reported: Option<Props> = reported.and_then(|r| match serde_json::from_slice(r) {
        Ok(Value::Object(m)) => Some(m.into_iter().collect()),
        _ => None,
    });
    let topic = String::from_utf8_lossy(topic);
    match topics().parse(&topic) {
        Incoming::Set { device, property } => {
            assert!(topic.contains(device.as_str()));
            set(property.as_deref(), payload, reported.as_ref());
        }
        Incoming::Get { property, .. } => get(property.as_deref(), payload),
        Incoming::BridgeRequest { name } => bridge_request(&name, payload),
        Incoming::HomeAssistantStatus => {
            let _ = state::parse_availability(payload);
        }
        Incoming::Invalid { reason } => printable("an invalid topic's reason", &reason),
        _ => {}
    }
}
