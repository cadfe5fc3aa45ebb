//! Push-event codecs against corpus records 34–38, the event table, and hostile input.

use super::*;
use crate::miio::{Cipher, RpcMessage, RpcReply};

const CORPUS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/miio.jsonl"
));

/// TOK_GW of the corpus: md5("rust-miio gateway token").
const TOK_GW: &str = "1c1961595b889a1f42af6b16cf9a6b81";

fn record(n: usize) -> Value {
    serde_json::from_str(CORPUS.lines().nth(n - 1).unwrap()).unwrap()
}

fn token() -> MiioToken {
    TOK_GW.parse().unwrap()
}

fn sid(s: &str) -> Sid {
    Sid::new(s).unwrap()
}

/// python's `json.dumps` with its default separators (`", "`, `": "`), as python-miio sends.
fn python_json(v: &Value) -> Vec<u8> {
    struct Py;
    impl serde_json::ser::Formatter for Py {
        fn begin_array_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            if first { Ok(()) } else { w.write_all(b", ") }
        }
        fn begin_object_key<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            if first { Ok(()) } else { w.write_all(b", ") }
        }
        fn begin_object_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
        ) -> std::io::Result<()> {
            w.write_all(b": ")
        }
    }
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Py);
    serde::Serialize::serialize(v, &mut ser).unwrap();
    out
}

fn record_34_scene() -> Scene {
    let id = SceneId::from_wire("x.scene.1000001");
    let enc = TokenEnc::of(&token());
    Scene::subscription(&Subscription {
        scene_id: &id,
        source_did: "lumi.158d0001a2b3c4",
        event: find_event("lumi.sensor_switch.aq2", "click_ch0").unwrap(),
        trigger_token: "",
        fake_did: FAKE_DEVICE_ID,
        fake_model: FAKE_MODEL,
        fake_ip: "192.168.1.10".parse().unwrap(),
        token_enc: &enc,
    })
    .unwrap()
}

#[test]
fn token_enc_is_python_miios_calculated_token_enc() {
    // Record 34's note: calculated_token_enc(TOK_GW) = 2c067a62020105543efa1b41708b0f4d.
    let enc = TokenEnc::of(&token());
    assert_eq!(enc.expose_hex(), "2c067a62020105543efa1b41708b0f4d");
    assert_eq!(format!("{enc:?}"), "TokenEnc(****)");
}

#[test]
fn corpus_record_34_send_data_frame_byte_exact() {
    let r = record(34);
    let expected = &r["python_miio_parse"];
    let params = send_data_frame_params(&record_34_scene().to_data());
    // The data string, byte for byte, and the whole params object.
    assert_eq!(params["data"], expected["params"]["data"]);
    assert_eq!(params, expected["params"]);

    // The whole packet, byte for byte: python-miio's envelope and spacing, sealed with TOK_GW.
    let request = json!({"id": 104, "method": SEND_DATA_FRAME, "params": params});
    let mut payload = python_json(&request);
    payload.push(0);
    assert_eq!(payload, r["payload"].as_str().unwrap().as_bytes());
    let packet = Cipher::new(&token())
        .seal(DeviceId(63_217_102), 2_000_004, &payload)
        .unwrap();
    assert_eq!(hex::encode(packet), r["packet_hex"].as_str().unwrap());
}

#[test]
fn scene_data_round_trips_and_parses_record_34() {
    let scene = record_34_scene();
    let data = record(34)["python_miio_parse"]["params"]["data"]
        .as_str()
        .unwrap()
        .to_owned();
    let parsed = parse_scene_data(&data).unwrap();
    assert_eq!(parsed, vec![scene.clone()]);
    assert_eq!(
        parsed[0].targets[0].method(),
        "click_ch0:lumi_158d0001a2b3c4"
    );
    // Tokens stay out of Debug.
    let dbg = format!("{parsed:?}");
    assert!(!dbg.contains("2c067a62"), "{dbg}");
    // Several scenes, a value trigger, a gateway trigger token.
    let mut other = scene.clone();
    other.id = SceneId::numbered(7);
    other.trigger.value = Some(json!({"max": 20, "min": 0}));
    other.trigger.token = TOK_GW.into();
    let both = Scene::data_of(&[scene.clone(), other.clone()]);
    assert_eq!(parse_scene_data(&both).unwrap(), vec![scene, other]);
    assert!(!format!("{:?}", parse_scene_data(&both).unwrap()).contains(TOK_GW));
}

#[test]
fn scene_data_parse_is_total() {
    for (data, reason) in [
        ("", "not json"),
        ("{}", "not a list"),
        ("[1]", "a scene is not a list"),
        ("[[1]]", "scene id is not a string"),
        ("[[\"x\"]]", "scene body is not a list"),
        ("[[\"x\",[\"1.0\",1]]]", "trigger is not [\"0\", {…}]"),
        ("[[\"x\",[\"1.0\",1,[\"0\",{}]]]]", "targets are not a list"),
        (
            "[[\"x\",[\"1.0\",1,[\"0\",{}],[1]]]]",
            "a target is not an object",
        ),
        (
            "[[\"x\",[\"1.0\",1,[\"0\",{}],[{\"ip\":\"bad\"}]]]]",
            "target ip is not an ip address",
        ),
    ] {
        assert_eq!(
            parse_scene_data(data),
            Err(PushError::BadSceneData { reason }),
            "{data}"
        );
    }
    // Odd member types are read as text, as the gateway would.
    let odd = parse_scene_data(
        "[[\"x\",[\"1.0\",\"m\",[\"0\",{\"did\":5,\"extra\":[1,2]}],[{\"ip\":\"::1\",\"id\":\"z\"}]]]]",
    )
    .unwrap();
    assert_eq!(odd[0].trigger.did, "5");
    assert_eq!(odd[0].trigger.extra, "[1,2]");
    assert_eq!(odd[0].magic, 0);
    assert_eq!(odd[0].targets[0].command, "");
    // Every truncation and byte flip of the record-34 data: an answer, never a panic.
    let data = record_34_scene().to_data();
    for n in 0..data.len() {
        let _ = parse_scene_data(&data[..n]);
    }
    let bytes = data.as_bytes();
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] ^= 0x20;
        if let Ok(s) = std::str::from_utf8(&b) {
            let _ = parse_scene_data(s);
        }
    }
}

#[test]
fn corpus_record_35_xdel_and_36_ok() {
    let req = &record(35)["python_miio_parse"];
    assert_eq!(req["method"], XDEL);
    assert_eq!(
        xdel_params(&[SceneId::from_wire("x.scene.1000001")]),
        req["params"]
    );
    assert!(crate::miio::gateway::is_ok(
        &record(36)["python_miio_parse"]["result"]
    ));
}

#[test]
fn corpus_record_37_push_and_38_ack() {
    let push = record(37);
    let opened = Cipher::new(&token())
        .open(&hex::decode(push["packet_hex"].as_str().unwrap()).unwrap())
        .unwrap();
    let RpcMessage::Request(r) = opened.rpc().unwrap() else {
        panic!("a push is a request")
    };
    let m = parse_push_method(&r.method).unwrap();
    assert_eq!(m.action, "click_ch0");
    assert_eq!(m.sid, sid("158d0001a2b3c4"));
    assert_eq!(r.id, 619_969_141);

    // Our ack decodes to record 38's reply.
    let ack = RpcReply::decode(&ack_payload(r.id)).unwrap();
    let expected = &record(38)["python_miio_parse"];
    assert_eq!(ack.id, expected["id"].as_u64());
    assert_eq!(ack.into_result().unwrap(), expected["result"]);
    assert_eq!(ack_payload(5), b"{\"result\":0,\"id\":5}\0");
}

#[test]
fn pushed_methods_in_both_forms_and_total_over_input() {
    for (method, action, source) in [
        (
            "click_ch0:lumi_158d0001a2b3c4",
            "click_ch0",
            "158d0001a2b3c4",
        ),
        (
            "d_click_ch0:lumi_158d0001a2b3c4",
            "d_click_ch0",
            "158d0001a2b3c4",
        ),
        ("rotate:lumi_158d000cccccc1", "rotate", "158d000cccccc1"),
        (
            "both_l_click:lumi_158D000CCCCCC1",
            "both_l_click",
            "158d000cccccc1",
        ),
        ("alarm_triggering:63217102", "alarm_triggering", "63217102"),
        ("move_158d000103ec74", "move", "158d000103ec74"),
        (
            "l_click_ch0_158d000103ec74",
            "l_click_ch0",
            "158d000103ec74",
        ),
        ("move_158D000103EC74", "move", "158d000103ec74"),
    ] {
        let m = parse_push_method(method).unwrap();
        assert_eq!((m.action, m.sid.as_str()), (action, source), "{method}");
    }
    for bad in [
        "",
        ":",
        "click_ch0:",
        ":lumi_158d0001a2b3c4",
        "click_ch0:lumi_0",
        "click_ch0:lumi_",
        "click_ch0",
        "move_xyz",
        "_158d000103ec74",
        "click_ch0:lumi_158d 0001",
        "x:\u{1b}[2J",
        "\u{1b}[2J:lumi_158d0001a2b3c4",
        "click ch0:lumi_158d0001a2b3c4",
        "a\u{202e}b_158d000103ec74",
    ] {
        let e = parse_push_method(bad).unwrap_err();
        assert!(matches!(e, PushError::BadMethod { .. }), "{bad}");
        assert!(!e.to_string().contains('\u{1b}'));
    }
    // Arbitrary bytes: an answer, never a panic.
    let mut s = String::new();
    for i in 0..2000u32 {
        s.push(char::from_u32(i % 0x80 + 0x20).unwrap_or('x'));
        let _ = parse_push_method(&s);
    }
}

#[test]
fn event_table_follows_subdevices_yaml() {
    let extra = |model: &str, action: &str| find_event(model, action).unwrap().action.extra;
    assert_eq!(extra("magnet", "open"), "[1,6,1,0,[0,1],2,0]");
    assert_eq!(
        extra("lumi.sensor_magnet.aq2", "close"),
        "[1,6,1,0,[0,0],2,0]"
    );
    assert_eq!(
        extra("sensor_motion.aq2", "motion"),
        "[1,1030,1,0,[0,1],0,0]"
    );
    assert_eq!(extra("motion", "no_motion"), no_motion_extra(120));
    assert_eq!(extra("cube", "flip90"), "[1,18,2,85,[6,64],0,0]");
    assert_eq!(
        extra("sensor_cube.aqgl01", "taptap"),
        "[1,18,2,85,[6,512],0,0]"
    );
    assert_eq!(extra("cube", "shakeair"), "[1,18,2,85,[0,0],0,0]");
    let rotate = find_event("cube", "rotate").unwrap();
    assert_eq!(rotate.model, "lumi.sensor_cube.v1");
    assert_eq!(rotate.action.extra, "[1,12,3,85,[1,0],0,0]");
    assert_eq!(rotate.action.event(), "rotate");
    assert_eq!(
        rotate.action.command_extra,
        "[1,19,7,1006,[42,[6066005667474548,12,3,85,0]],0,0]"
    );
    assert_eq!(extra("vibration", "free_fall"), "[1,257,1,85,[0,3],0,0]");
    assert_eq!(extra("86sw2", "click_ch1"), "[1,13,2,85,[0,1],0,0]");
    assert_eq!(
        extra("remote.b286acn02", "both_d_click"),
        "[1,13,3,85,[0,2],0,0]"
    );
    assert_eq!(
        extra("sensor_switch.aq3", "l_click_pres"),
        "[1,13,1,85,[0,16],0,0]"
    );
    assert_eq!(
        extra("sensor_switch.aq3", "shake"),
        "[1,13,1,85,[0,18],0,0]"
    );
    assert_eq!(extra("switch", "d_click_ch0"), "[1,13,1,85,[0,2],0,0]");
    let alarm = find_event("lumi.gateway.v3", "alarm_triggering").unwrap();
    assert!(alarm.action.gateway_trigger);
    assert_eq!(alarm.action.extra, "[1,19,1,111,[0,1],2,0]");

    // One-key switches have no second channel; an aq2 button has no shake.
    let e = find_event("86sw1", "click_ch1").unwrap_err();
    assert!(matches!(
        e,
        PushError::UnknownAction {
            model: "lumi.sensor_86sw1.v1",
            ..
        }
    ));
    assert!(e.to_string().contains("click_ch0"), "{e}");
    assert!(find_event("sensor_switch.aq2", "shake").is_err());
    let e = find_event("sensor_ht", "click").unwrap_err().to_string();
    assert!(
        e.contains("no push events are known for model \"sensor_ht\""),
        "{e}"
    );
    assert!(push_actions("sensor_ht").is_empty());
    assert_eq!(push_actions("86sw2").len(), 9);

    // Every table model is one the type table knows (or a gateway), every code is JSON,
    // and every command python-miio's fake device would send fits in 49 characters.
    for s in PUSH_SOURCES {
        for m in s.models {
            assert!(
                crate::miio::gateway::canonical_model(m) == Some(*m)
                    || m.starts_with("lumi.gateway."),
                "{m}"
            );
            for p in s.actions {
                serde_json::from_str::<Value>(p.extra).unwrap();
                // Gateway events name the gateway's did (8 or 9 digits) instead of a sid.
                let source = if p.gateway_trigger {
                    "123456789"
                } else {
                    "lumi_158d0001a2b3c4"
                };
                let command = format!("{FAKE_MODEL}.{}:{source}", p.action);
                assert!(command.len() <= COMMAND_MAX, "{command}");
            }
        }
    }
}

#[test]
fn long_commands_are_refused() {
    let id = scene_id(
        FAKE_DEVICE_ID,
        DeviceId(1),
        "lumi.158d0001a2b3c4",
        "l_click_pres",
    );
    let enc = TokenEnc::of(&token());
    let mut s = Subscription {
        scene_id: &id,
        source_did: "lumi.158d0001a2b3c4",
        event: find_event("sensor_switch.aq3", "l_click_pres").unwrap(),
        trigger_token: "",
        fake_did: FAKE_DEVICE_ID,
        fake_model: FAKE_MODEL,
        fake_ip: "127.0.0.1".parse().unwrap(),
        token_enc: &enc,
    };
    // Exactly 49.
    let scene = Scene::subscription(&s).unwrap();
    assert_eq!(scene.targets[0].command.len(), 49);
    s.fake_model = "chuangmi.plug.v33";
    let e = Scene::subscription(&s).unwrap_err();
    assert!(
        matches!(
            e,
            PushError::CommandTooLong {
                len: 50,
                max: 49,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("gateways keep at most 49"), "{e}");
}

#[test]
fn scene_ids_are_deterministic_and_distinct() {
    let gw = DeviceId(63_217_102);
    let a = scene_id(FAKE_DEVICE_ID, gw, "lumi.158d0001a2b3c4", "click_ch0");
    assert_eq!(
        a,
        scene_id(FAKE_DEVICE_ID, gw, "lumi.158d0001a2b3c4", "click_ch0")
    );
    let n: u64 = a
        .as_str()
        .strip_prefix("x.scene.")
        .unwrap()
        .parse()
        .unwrap();
    assert!((1_000_000_000..2_000_000_000).contains(&n), "{a}");
    // Any input changes it.
    for other in [
        scene_id(DeviceId(1), gw, "lumi.158d0001a2b3c4", "click_ch0"),
        scene_id(
            FAKE_DEVICE_ID,
            DeviceId(1),
            "lumi.158d0001a2b3c4",
            "click_ch0",
        ),
        scene_id(FAKE_DEVICE_ID, gw, "lumi.158d0001a2b3c5", "click_ch0"),
        scene_id(FAKE_DEVICE_ID, gw, "lumi.158d0001a2b3c4", "d_click_ch0"),
    ] {
        assert_ne!(a, other);
    }
    // A fixed value, so an accidental change of the derivation (which would orphan every
    // user's scenes) fails here.
    assert_eq!(a.as_str(), SCENE_ID_PINNED);
    // No collisions over a few thousand subscriptions.
    let mut seen = std::collections::HashSet::new();
    for dev in 0..500u32 {
        for action in [
            "click_ch0",
            "d_click_ch0",
            "l_click_ch0",
            "rotate",
            "open",
            "close",
            "motion",
        ] {
            let id = scene_id(FAKE_DEVICE_ID, gw, &format!("lumi.158d00{dev:08x}"), action);
            assert!(seen.insert(id));
        }
    }
}

/// md5(b"lumi-push|120009025|63217102|lumi.158d0001a2b3c4|click_ch0"), checked with Python.
const SCENE_ID_PINNED: &str = "x.scene.1612624229";

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pushed_method_parse_is_total(s in ".{0,80}") {
            if let Ok(m) = parse_push_method(&s) {
                prop_assert!(is_action(m.action));
            }
        }

        #[test]
        fn python_form_round_trips(action in "[a-z_0-9]{1,20}", sid in "[0-9a-f]{14}") {
            let method = format!("{action}:lumi_{sid}");
            let m = parse_push_method(&method).unwrap();
            prop_assert_eq!(m.action, action.as_str());
            prop_assert_eq!(m.sid.as_str(), sid.as_str());
        }

        #[test]
        fn scenes_round_trip(
            n in 0u64..u64::MAX,
            did in "[ -~]{0,30}",
            extra in "[ -~]{0,30}",
            ip in any::<[u8; 4]>(),
            command in "[ -~]{0,49}",
            magic in any::<u64>(),
        ) {
            let scene = Scene {
                id: SceneId::numbered(n),
                magic,
                trigger: SceneTrigger {
                    did,
                    extra,
                    key: "event.x.y".into(),
                    model: "x".into(),
                    token: String::new(),
                    value: None,
                },
                targets: vec![SceneTarget {
                    command,
                    did: "1".into(),
                    extra: String::new(),
                    id: 0,
                    ip: IpAddr::from(ip),
                    model: "m".into(),
                    token: String::new(),
                    value: String::new(),
                }],
            };
            prop_assert_eq!(parse_scene_data(&scene.to_data()).unwrap(), vec![scene]);
        }
    }
}
