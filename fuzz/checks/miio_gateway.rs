//! `miio_gateway`: fuzz what the gateway over miIO and the push server read from the network: pushed method
//! names, scene data, device lists and property results. Nothing may panic; whatever parses
//! as scene data must re-render to data that parses to the same scenes.
use lumi_proto::miio::gateway::{parse_device_list, parse_lan_key, parse_prop_values};
use lumi_proto::miio::push::{parse_push_method, parse_scene_data};
use serde_json::Value;

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_push_method(text);
    if let Ok(scenes) = parse_scene_data(text) {
        for s in &scenes {
            let again = parse_scene_data(&s.to_data()).expect("rendered scene data parses");
            assert_eq!(again.len(), 1);
        }
    }
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let _ = parse_device_list(&v);
        let _ = parse_lan_key(&v);
        let _ = parse_prop_values(&v, 3);
    }
}
