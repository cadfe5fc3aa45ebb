//! The simulated gateway over miIO, sans-IO in virtual time: every method, the LAN key
//! switch, scenes and push events, and the gateway vectors of the miIO corpus (records 30–38).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use lumi_proto::key::{GatewayPassword, WriteKey};
use lumi_proto::lan::{Props, ProtoVersion, Sid};
use lumi_proto::miio::gateway::type_id;
use lumi_proto::miio::{
    Cipher, DeviceId, HELLO, HelloReply, HelloToken, MiioToken, RpcMessage, RpcReply, RpcRequest,
};
use lumi_sim::device::SubDevice;
use lumi_sim::gateway::miio::{MAX_SCENES, PUSH_ATTEMPTS, PUSH_RESEND, push_events};
use lumi_sim::gateway::{Destination, GatewayConfig, Inbound, SimGateway};
use serde_json::{Value, json};

const CORPUS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/miio.jsonl"
));

/// TOK_GW of the corpus: md5("rust-miio gateway token").
const TOK_GW: &str = "1c1961595b889a1f42af6b16cf9a6b81";
const GW_DID: u32 = 63_217_102;
const PASSWORD: &str = "0987654321qwerty";
const GW_SID: &str = "7811dcb06972";
const BUTTON: &str = "158d0001a2b3c4";

fn sid(s: &str) -> Sid {
    Sid::new(s).unwrap()
}

fn token() -> MiioToken {
    TOK_GW.parse().unwrap()
}

fn client() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn record(n: usize) -> Value {
    let line = CORPUS.lines().nth(n - 1).expect("corpus record");
    serde_json::from_str(line).unwrap()
}

/// A V1 gateway with the corpus token and did, booted at t0, with `devices` (sid, model).
fn gateway(devices: &[(&str, &str)]) -> (SimGateway, Instant) {
    let t0 = Instant::now();
    let mut cfg = GatewayConfig::new(
        sid(GW_SID),
        Ipv4Addr::new(127, 0, 0, 2),
        ProtoVersion::V1,
        PASSWORD.parse().unwrap(),
    );
    cfg.seed = 7;
    cfg.miio_token = token();
    cfg.device_id = DeviceId(GW_DID);
    let mut gw = SimGateway::new(cfg, t0);
    for (s, m) in devices {
        gw.add_device(
            t0,
            SubDevice::from_catalogue(sid(s), m, ProtoVersion::V1).unwrap(),
        );
    }
    gw.handle_timeout(t0);
    drain(&mut gw);
    (gw, t0)
}

fn drain(gw: &mut SimGateway) -> Vec<(Destination, Vec<u8>)> {
    std::iter::from_fn(|| gw.poll_transmit())
        .map(|t| (t.to, t.payload))
        .collect()
}

/// Sends a raw datagram to the miIO port; returns the miIO answers (to the client) and the
/// LAN multicasts that followed.
fn send_raw(gw: &mut SimGateway, now: Instant, bytes: &[u8]) -> (Vec<Vec<u8>>, Vec<Value>) {
    gw.handle_datagram(now, client(), Inbound::Miio, bytes);
    let mut answers = Vec::new();
    let mut lan = Vec::new();
    for (to, payload) in drain(gw) {
        match to {
            Destination::Miio { to } => {
                assert_eq!(to, client());
                answers.push(payload);
            }
            Destination::Multicast => lan.push(serde_json::from_slice(&payload).unwrap()),
            other => panic!("unexpected {other:?}"),
        }
    }
    (answers, lan)
}

fn seal(id: u64, method: &str, params: Value) -> Vec<u8> {
    Cipher::new(&token())
        .seal(
            DeviceId(GW_DID),
            1,
            &RpcRequest::new(id, method, params).encode(),
        )
        .unwrap()
}

fn open_reply(packet: &[u8]) -> (RpcReply, u32) {
    let opened = Cipher::new(&token()).open(packet).unwrap();
    assert_eq!(opened.device_id(), DeviceId(GW_DID));
    (RpcReply::decode(&opened.payload).unwrap(), opened.stamp())
}

/// Calls a method; returns the result or the error (code, message).
fn call(
    gw: &mut SimGateway,
    now: Instant,
    id: u64,
    method: &str,
    params: Value,
) -> Result<Value, (i64, String)> {
    let (answers, _) = send_raw(gw, now, &seal(id, method, params));
    assert_eq!(answers.len(), 1, "{method}: one answer");
    let (reply, _) = open_reply(&answers[0]);
    assert_eq!(reply.id, Some(id));
    reply.into_result().map_err(|e| (e.code, e.message))
}

fn ok(gw: &mut SimGateway, now: Instant, id: u64, method: &str, params: Value) -> Value {
    call(gw, now, id, method, params).unwrap_or_else(|e| panic!("{method}: {e:?}"))
}

/// `send_data_frame` params for one scene, as python-miio's PushServer builds them.
fn scene_frame(scene_id: &str, trigger_sid: &str, extra: &str, action: &str, ip: &str) -> Value {
    let source = format!("lumi.{trigger_sid}");
    let data = json!([[
        scene_id,
        [
            "1.0",
            1_600_000_000,
            [
                "0",
                {"did": source, "extra": extra, "key": format!("event.lumi.sensor_switch.aq2.{action}"),
                 "model": "lumi.sensor_switch.aq2", "src": "device",
                 "timespan": ["0 0 * * 0,1,2,3,4,5,6", "0 0 * * 0,1,2,3,4,5,6"], "token": ""}
            ],
            [{"command": format!("chuangmi.plug.v3.{action}:{}", source.replace('.', "_")),
              "did": "120009025", "extra": "", "id": 0, "ip": ip, "model": "chuangmi.plug.v3",
              "token": "2c067a62020105543efa1b41708b0f4d", "value": ""}]
        ]
    ]]);
    json!({"cur": 0, "data": data.to_string(), "data_tkn": 29576, "total": 1, "type": "scene"})
}

const CLICK: &str = "[1,13,1,85,[0,1],0,0]";

/// The pushes among the transmits, decrypted with the gateway token: (to, request, stamp).
fn pushes(out: &[(Destination, Vec<u8>)]) -> Vec<(SocketAddr, RpcRequest, u32)> {
    out.iter()
        .filter_map(|(to, payload)| match to {
            Destination::Miio { to } => {
                let opened = Cipher::new(&token()).open(payload).unwrap();
                assert_eq!(opened.device_id(), DeviceId(GW_DID), "header did = gateway");
                match opened.rpc().unwrap() {
                    RpcMessage::Request(r) => Some((*to, r, opened.stamp())),
                    RpcMessage::Reply(_) => None,
                }
            }
            _ => None,
        })
        .collect()
}

fn ack(id: u64) -> Vec<u8> {
    // As python-miio's PushServer answers: gateway token, fake device did, result 0.
    Cipher::new(&token())
        .seal(
            DeviceId(120_009_025),
            1_234_667,
            &RpcReply::result(id, json!(0)).encode(),
        )
        .unwrap()
}

fn click(gw: &mut SimGateway, now: Instant, button: &str) -> Vec<(Destination, Vec<u8>)> {
    assert!(gw.report(now, &sid(button), Props::new().with("status", "click")));
    drain(gw)
}

// --- corpus -----------------------------------------------------------------------------------

#[test]
fn corpus_device_list_request_gets_the_record_31_reply() {
    let (mut gw, t0) = gateway(&[
        ("158d0001a2b3c4", "cube"),
        ("158d0002d4e5f6", "sensor_motion.aq2"),
    ]);
    gw.set_miio_firmware(&sid("158d0001a2b3c4"), 25);
    gw.set_miio_firmware(&sid("158d0002d4e5f6"), 10);
    let request = record(30);
    assert_eq!(request["token"], TOK_GW);
    let now = t0 + Duration::from_secs(2_000_001);
    let (answers, _) = send_raw(
        &mut gw,
        now,
        &unhex(request["packet_hex"].as_str().unwrap()),
    );
    let (reply, stamp) = open_reply(&answers[0]);
    assert_eq!(stamp, record(31)["stamp"].as_u64().unwrap() as u32);
    let ours = serde_json::to_value(json!({"result": reply.into_result().unwrap(), "id": 101}));
    assert_eq!(ours.unwrap(), record(31)["python_miio_parse"]);
}

#[test]
fn corpus_property_rgb_scene_and_xdel_records() {
    // Record 32: get_device_prop_exp on a temperature/humidity sensor → [[t, h]] numbers.
    let (mut gw, t0) = gateway(&[("158d0001a2b3c4", "sensor_ht")]);
    let dev = gw.device_mut(&sid("158d0001a2b3c4")).unwrap();
    dev.state = Props::new()
        .with("temperature", "2150")
        .with("humidity", "4520");
    let (answers, _) = send_raw(
        &mut gw,
        t0,
        &unhex(record(32)["packet_hex"].as_str().unwrap()),
    );
    let (reply, _) = open_reply(&answers[0]);
    assert_eq!(reply.id, Some(102));
    assert_eq!(reply.into_result().unwrap(), json!([[2150, 4520]]));

    // Record 33: set_rgb → ["ok"], the light changes and the LAN hears of it.
    let (answers, lan) = send_raw(
        &mut gw,
        t0,
        &unhex(record(33)["packet_hex"].as_str().unwrap()),
    );
    assert_eq!(
        open_reply(&answers[0]).0.into_result().unwrap(),
        json!(["ok"])
    );
    assert_eq!(gw.own_state().rgb, 855_572_480);
    assert_eq!(lan.len(), 1);
    assert_eq!(lan[0]["cmd"], "report");
    assert_eq!(lan[0]["sid"], GW_SID);
    let data: Value = serde_json::from_str(lan[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(data, json!({"rgb": 855_572_480}));

    // Record 34: python-miio's exact send_data_frame → record 36's ["ok"]; the scene is kept.
    let (mut gw, t0) = gateway(&[(BUTTON, "sensor_switch.aq2")]);
    let (answers, _) = send_raw(
        &mut gw,
        t0,
        &unhex(record(34)["packet_hex"].as_str().unwrap()),
    );
    let (reply, _) = open_reply(&answers[0]);
    assert_eq!(reply.id, Some(104));
    assert_eq!(
        reply.into_result().unwrap(),
        record(36)["python_miio_parse"]["result"]
    );
    let scenes = gw.miio_scenes();
    assert_eq!(scenes.len(), 1);
    assert_eq!(scenes[0].id, "x.scene.1000001");
    assert_eq!(scenes[0].trigger_did, "lumi.158d0001a2b3c4");
    assert_eq!(scenes[0].trigger_extra, CLICK);
    let target = &scenes[0].targets[0];
    assert_eq!(target.ip.to_string(), "192.168.1.10");
    assert_eq!(target.method(), "click_ch0:lumi_158d0001a2b3c4");
    assert!(
        target.token_is_gateways,
        "record 34's target token is calculated_token_enc(TOK_GW)"
    );

    // A click → the push of record 37 (method, params; from/id are the gateway's own).
    let now = t0 + Duration::from_secs(2_000_007);
    let out = click(&mut gw, now, BUTTON);
    let p = pushes(&out);
    assert_eq!(p.len(), 1);
    let (to, push, stamp) = &p[0];
    assert_eq!(*to, "192.168.1.10:54321".parse().unwrap());
    assert_eq!(*stamp, 2_000_007, "stamp = gateway uptime, as record 37");
    let expected = &record(37)["python_miio_parse"];
    assert_eq!(push.method, expected["method"]);
    assert_eq!(push.params, expected["params"]);
    let from = push.from.as_deref().unwrap();
    assert!(from.starts_with("nbl.") && from.len() == 13, "{from}");
    assert!((100_000_000..1_000_000_000).contains(&push.id));

    // Record 38's ack shape stops it.
    let (answers, _) = send_raw(&mut gw, now, &ack(push.id));
    assert!(answers.is_empty(), "an ack gets no answer");
    assert_eq!(gw.miio_pending_pushes(), 0);

    // Record 35: miIO.xdel → ["ok"], the scene is gone and clicks push nothing.
    let (answers, _) = send_raw(
        &mut gw,
        now,
        &unhex(record(35)["packet_hex"].as_str().unwrap()),
    );
    assert_eq!(
        open_reply(&answers[0]).0.into_result().unwrap(),
        record(36)["python_miio_parse"]["result"]
    );
    assert!(gw.miio_scenes().is_empty());
    assert!(pushes(&click(&mut gw, now, BUTTON)).is_empty());
}

// --- hello, stamp, token, ids ----------------------------------------------------------------

#[test]
fn hello_hides_the_token_and_stamps_uptime() {
    let (mut gw, t0) = gateway(&[]);
    let (answers, _) = send_raw(&mut gw, t0 + Duration::from_millis(77_700), &HELLO);
    let hello = HelloReply::parse(&answers[0]).unwrap();
    assert_eq!(hello.device_id, DeviceId(GW_DID));
    assert_eq!(hello.stamp, 77);
    assert_eq!(hello.token, HelloToken::HiddenOnes);
    assert_eq!(gw.miio_stamp(t0 + Duration::from_secs(5)), 5);
    gw.set_miio_provisioned(false);
    let (answers, _) = send_raw(&mut gw, t0, &HELLO);
    assert_eq!(
        HelloReply::parse(&answers[0]).unwrap().revealed_token(),
        Some(token())
    );
    // A reply's stamp is the uptime too.
    let (answers, _) = send_raw(
        &mut gw,
        t0 + Duration::from_secs(31),
        &seal(1, "get_rgb", json!([])),
    );
    assert_eq!(open_reply(&answers[0]).1, 31);
}

#[test]
fn wrong_token_repeated_id_and_garbage_get_silence() {
    let (mut gw, t0) = gateway(&[]);
    let other: MiioToken = "ffeeddccbbaa99887766554433221100".parse().unwrap();
    let packet = Cipher::new(&other)
        .seal(
            DeviceId(GW_DID),
            1,
            &RpcRequest::new(1, "set_rgb", json!([5])).encode(),
        )
        .unwrap();
    assert_eq!(send_raw(&mut gw, t0, &packet), (vec![], vec![]));
    assert_eq!(gw.own_state().rgb, 0);

    // A repeated id: not executed, not answered.
    assert_eq!(ok(&mut gw, t0, 9, "set_rgb", json!([100])), json!(["ok"]));
    let (answers, lan) = send_raw(&mut gw, t0, &seal(9, "set_rgb", json!([200])));
    assert!(answers.is_empty() && lan.is_empty());
    assert_eq!(gw.own_state().rgb, 100);

    // Every truncation and bit flip of a valid request: no panic, no answer.
    let valid = seal(10, "set_lumi_dpf_aes_key", json!(["aaaaaaaaaaaaaaaa"]));
    for n in 0..valid.len() {
        assert_eq!(send_raw(&mut gw, t0, &valid[..n]).0.len(), 0, "cut at {n}");
    }
    for i in 0..valid.len() * 8 {
        let mut bad = valid.clone();
        bad[i / 8] ^= 1 << (i % 8);
        assert_eq!(send_raw(&mut gw, t0, &bad).0.len(), 0, "bit {i}");
    }
    // Valid packets with hostile params: errors, never panics.
    for (id, (method, params)) in [
        ("get_device_prop", json!([])),
        ("get_device_prop", json!([[], 5])),
        ("get_device_prop", json!(["lumi.", "x"])),
        ("get_device_prop_exp", json!([[]])),
        ("get_device_prop_exp", json!([["lumi.0", 5]])),
        ("get_device_prop_exp", json!("x")),
        ("set_device_prop", json!(["sid"])),
        ("set_device_prop", json!({"sid": "lumi.nope", "x": 1})),
        ("set_rgb", json!([-1])),
        ("set_rgb", json!([u64::MAX])),
        ("play_music_new", json!(["x"])),
        ("set_lumi_dpf_aes_key", json!(["short"])),
        ("set_lumi_dpf_aes_key", json!([5])),
        ("send_data_frame", json!({"type": "scene", "data": "[[1]]"})),
        (
            "send_data_frame",
            json!({"type": "scene", "data": "[[\"x\",[\"1.0\",1,[\"0\",{}],[{\"ip\":\"bad\"}]]]]"}),
        ),
        ("send_data_frame", json!({"type": "timer", "data": "[]"})),
        (
            "send_data_frame",
            json!({"type": "scene", "data": "x", "total": 3, "cur": 2}),
        ),
        ("miIO.xdel", json!([1])),
        ("toggle_plug", json!(["channel_0", "on"])),
        ("get_battery", json!(["lumi.0"])),
    ]
    .into_iter()
    .enumerate()
    {
        let e = call(&mut gw, t0, 100 + id as u64, method, params.clone()).unwrap_err();
        assert_eq!(e.0, -5001, "{method} {params}");
    }
    assert_eq!(gw.config().password.expose(), PASSWORD);
    assert!(gw.miio_scenes().is_empty());
}

#[test]
fn unknown_methods_get_minus_10000() {
    let (mut gw, t0) = gateway(&[]);
    assert_eq!(
        call(&mut gw, t0, 1, "get_device_list", json!([])),
        Err((-10000, "Method not found.".into()))
    );
    assert_eq!(
        call(&mut gw, t0, 2, "enable_telnet_service", json!([]))
            .unwrap_err()
            .0,
        -10000
    );
}

#[test]
fn debug_output_keeps_the_secrets() {
    let (mut gw, t0) = gateway(&[(BUTTON, "sensor_switch.aq2")]);
    ok(
        &mut gw,
        t0,
        1,
        "send_data_frame",
        scene_frame("x.scene.1", BUTTON, CLICK, "click_ch0", "127.0.0.1"),
    );
    let text = format!("{gw:?}");
    assert!(!text.contains(TOK_GW), "token in Debug");
    assert!(!text.contains("1c1961595b88"), "token in Debug");
    assert!(!text.contains(PASSWORD), "password in Debug");
    assert!(!text.contains("2c067a62"), "token_enc in Debug");
}

// --- gateway methods ---------------------------------------------------------------------------

#[test]
fn miio_info_describes_a_gateway_v3() {
    let (mut gw, t0) = gateway(&[]);
    let info = ok(
        &mut gw,
        t0 + Duration::from_secs(64),
        1,
        "miIO.info",
        json!([]),
    );
    assert_eq!(info["model"], "lumi.gateway.v3");
    assert_eq!(info["mac"], "78:11:DC:B0:69:72");
    assert_eq!(info["life"], 64);
    assert_eq!(info["fw_ver"], "1.4.1_175");
    assert_eq!(info["hw_ver"], "MW300");
    assert_eq!(info["netif"]["localIp"], "127.0.0.2");
    gw.set_ip(Ipv4Addr::new(127, 0, 0, 9));
    let info = ok(&mut gw, t0, 2, "miIO.info", json!([]));
    assert_eq!(info["netif"]["localIp"], "127.0.0.9");
}

#[test]
fn device_list_and_sub_device_properties() {
    let (mut gw, t0) = gateway(&[
        ("158d0001c1cdfb", "magnet"),
        ("158d00015879f9", "plug"),
        ("158d0001a200f5", "sensor_ht"),
        ("158d000aaaaaaa", "ctrl_hvac.aq1"),
    ]);
    let list = ok(
        &mut gw,
        t0,
        1,
        "get_device_prop",
        json!(["lumi.0", "device_list"]),
    );
    assert_eq!(
        list,
        json!([
            "lumi.0",
            0,
            1,
            0,
            0,
            "lumi.158d0001c1cdfb",
            3,
            1,
            0,
            1,
            "lumi.158d00015879f9",
            11,
            1,
            0,
            1,
            "lumi.158d0001a200f5",
            10,
            1,
            0,
            1,
            "lumi.158d000aaaaaaa",
            -1,
            1,
            0,
            1,
        ])
    );
    assert_eq!(
        ok(
            &mut gw,
            t0,
            2,
            "get_device_prop",
            json!(["lumi.158d0001a200f5", "temperature"])
        ),
        json!([2150])
    );
    assert_eq!(
        ok(
            &mut gw,
            t0,
            3,
            "get_device_prop",
            json!(["lumi.158d0001c1cdfb", "voltage"])
        ),
        json!([3005])
    );
    assert_eq!(
        ok(
            &mut gw,
            t0,
            4,
            "get_device_prop",
            json!(["lumi.158d0001c1cdfb", "fw_ver"])
        ),
        json!([1])
    );
    assert_eq!(
        ok(
            &mut gw,
            t0,
            5,
            "get_device_prop_exp",
            json!([
                ["lumi.158d00015879f9", "neutral_0", "load_power", "nope"],
                ["lumi.0", "tzone_sec"]
            ])
        ),
        json!([["off", 0.0, null], [28800]])
    );
    assert_eq!(
        ok(
            &mut gw,
            t0,
            6,
            "get_battery",
            json!(["lumi.158d0001c1cdfb"])
        ),
        json!([41])
    );
    assert_eq!(
        call(
            &mut gw,
            t0,
            7,
            "get_device_prop",
            json!(["lumi.158d0000000000", "voltage"])
        )
        .unwrap_err()
        .0,
        -5001
    );
    // The gateway's own properties, set and read back.
    ok(
        &mut gw,
        t0,
        8,
        "set_device_prop",
        json!({"sid": "lumi.0", "alarm_time_len": 45}),
    );
    assert_eq!(
        ok(
            &mut gw,
            t0,
            9,
            "get_device_prop",
            json!(["lumi.0", "alarm_time_len"])
        ),
        json!([45])
    );
    ok(
        &mut gw,
        t0,
        10,
        "remove_device",
        json!(["lumi.158d000aaaaaaa"]),
    );
    assert_eq!(gw.devices().len(), 3);
}

#[test]
fn set_device_prop_is_a_lan_write() {
    // Twin gateways: one written over the LAN, one over miIO; the LAN hears the same report.
    let devices = [
        ("158d00015879f9", "plug"),
        ("158d0000aaaaaa", "ctrl_neutral2"),
    ];
    let (mut lan_gw, t0) = gateway(&devices);
    let key = WriteKey::derive(&PASSWORD.parse().unwrap(), lan_gw.token()).unwrap();
    let write = format!(
        r#"{{"cmd":"write","sid":"158d00015879f9","data":{{"status":"on","key":"{}"}}}}"#,
        key.to_hex()
    );
    lan_gw.handle_datagram(t0, client(), Inbound::Command, write.as_bytes());
    let lan_out = drain(&mut lan_gw);
    let lan_report = lan_out
        .iter()
        .find(|(to, _)| *to == Destination::Multicast)
        .unwrap()
        .1
        .clone();

    let (mut gw, t0) = gateway(&devices);
    let (answers, lan) = send_raw(
        &mut gw,
        t0,
        &seal(
            1,
            "set_device_prop",
            json!({"sid": "lumi.158d00015879f9", "status": "on"}),
        ),
    );
    assert_eq!(
        open_reply(&answers[0]).0.into_result().unwrap(),
        json!(["ok"])
    );
    assert_eq!(lan.len(), 1);
    assert_eq!(
        lan[0],
        serde_json::from_slice::<Value>(&lan_report).unwrap()
    );
    assert_eq!(
        gw.device(&sid("158d00015879f9"))
            .unwrap()
            .state
            .get_str("status")
            .as_deref(),
        Some("on")
    );

    // python-miio's names: neutral_0 is the plug's status; a Switch's toggle with a sid
    // envelope (toggle_plug / toggle_ctrl_neutral).
    ok(
        &mut gw,
        t0,
        2,
        "set_device_prop",
        json!({"sid": "lumi.158d00015879f9", "neutral_0": "off"}),
    );
    assert_eq!(
        gw.device(&sid("158d00015879f9"))
            .unwrap()
            .state
            .get_str("status")
            .as_deref(),
        Some("off")
    );
    let toggle = |id, method: &str, sid: &str, params: Value| {
        let mut r = RpcRequest::new(id, method, params);
        r.extra.insert("sid".into(), json!(format!("lumi.{sid}")));
        Cipher::new(&token())
            .seal(DeviceId(GW_DID), 1, &r.encode())
            .unwrap()
    };
    let (answers, lan) = send_raw(
        &mut gw,
        t0,
        &toggle(
            3,
            "toggle_plug",
            "158d00015879f9",
            json!(["channel_0", "toggle"]),
        ),
    );
    assert_eq!(
        open_reply(&answers[0]).0.into_result().unwrap(),
        json!(["ok"])
    );
    assert_eq!(lan.len(), 1);
    assert_eq!(
        gw.device(&sid("158d00015879f9"))
            .unwrap()
            .state
            .get_str("status")
            .as_deref(),
        Some("on")
    );
    let (answers, _) = send_raw(
        &mut gw,
        t0,
        &toggle(
            4,
            "toggle_ctrl_neutral",
            "158d0000aaaaaa",
            json!(["channel_1", "on"]),
        ),
    );
    assert_eq!(
        open_reply(&answers[0]).0.into_result().unwrap(),
        json!(["ok"])
    );
    assert_eq!(
        gw.device(&sid("158d0000aaaaaa"))
            .unwrap()
            .state
            .get_str("channel_1")
            .as_deref(),
        Some("on")
    );
    // A key the device does not have is refused like a LAN write is.
    assert_eq!(
        call(
            &mut gw,
            t0,
            5,
            "set_device_prop",
            json!({"sid": "lumi.158d00015879f9", "bogus": 1})
        )
        .unwrap_err()
        .0,
        -5001
    );
}

#[test]
fn light_sound_alarm_and_pairing() {
    let (mut gw, t0) = gateway(&[]);
    assert_eq!(ok(&mut gw, t0, 1, "get_rgb", json!([])), json!([0]));
    ok(&mut gw, t0, 2, "set_rgb", json!([1_694_433_280u32]));
    assert_eq!(
        ok(&mut gw, t0, 3, "get_rgb", json!([])),
        json!([1_694_433_280u32])
    );
    assert_eq!(
        ok(&mut gw, t0, 4, "get_night_light_rgb", json!([])),
        json!([0])
    );
    // The night light keeps its own value and also sets the light.
    ok(&mut gw, t0, 5, "set_night_light_rgb", json!([855_572_480]));
    assert_eq!(
        ok(&mut gw, t0, 6, "get_night_light_rgb", json!([])),
        json!([855_572_480])
    );
    assert_eq!(gw.own_state().rgb, 855_572_480);
    ok(&mut gw, t0, 7, "set_rgb", json!([0]));
    assert_eq!(
        ok(&mut gw, t0, 8, "get_night_light_rgb", json!([])),
        json!([855_572_480])
    );
    assert_eq!(
        ok(
            &mut gw,
            t0,
            9,
            "get_prop",
            json!(["illumination", "rgb", "nope"])
        ),
        json!([1292, 0, null])
    );
    assert_eq!(
        ok(&mut gw, t0, 10, "get_illumination", json!([])),
        json!([1292])
    );
    // Unchanged light: no LAN report.
    let (_, lan) = send_raw(&mut gw, t0, &seal(11, "set_rgb", json!([0])));
    assert!(lan.is_empty());

    ok(&mut gw, t0, 20, "play_music_new", json!(["21", 30]));
    assert_eq!(
        (gw.own_state().playing, gw.own_state().volume),
        (Some(21), 30)
    );
    ok(&mut gw, t0, 21, "set_sound_playing", json!(["off"]));
    assert_eq!(gw.own_state().playing, None);
    ok(&mut gw, t0, 22, "play_music_new", json!([10, 40]));
    assert_eq!(gw.own_state().playing, Some(10));
    ok(&mut gw, t0, 23, "play_music_new", json!(["10000", 40]));
    assert_eq!(gw.own_state().playing, None);
    ok(&mut gw, t0, 24, "set_gateway_volume", json!([55]));
    assert_eq!(
        ok(&mut gw, t0, 25, "get_gateway_volume", json!([])),
        json!([55])
    );

    assert_eq!(ok(&mut gw, t0, 30, "get_arming", json!([])), json!(["off"]));
    ok(&mut gw, t0, 31, "set_arming", json!(["on"]));
    assert_eq!(ok(&mut gw, t0, 32, "get_arming", json!([])), json!(["on"]));
    ok(&mut gw, t0, 33, "set_arm_wait_time", json!([15]));
    assert_eq!(
        ok(&mut gw, t0, 34, "get_arm_wait_time", json!([])),
        json!([15])
    );
    ok(&mut gw, t0, 35, "set_alarming_volume", json!([90]));
    assert_eq!(
        ok(&mut gw, t0, 36, "get_alarming_volume", json!([])),
        json!([90])
    );

    ok(&mut gw, t0, 40, "start_zigbee_join", json!([30]));
    assert!(gw.own_state().join_permission);
    ok(&mut gw, t0, 41, "start_zigbee_join", json!([0]));
    assert!(!gw.own_state().join_permission);
}

#[test]
fn set_lumi_dpf_aes_key_switches_the_lan_password() {
    let (mut gw, t0) = gateway(&[("158d00015879f9", "plug")]);
    assert_eq!(
        ok(&mut gw, t0, 1, "get_lumi_dpf_aes_key", json!([])),
        json!([PASSWORD])
    );
    let new = "NewLanKey0123456";
    assert_eq!(
        ok(&mut gw, t0, 2, "set_lumi_dpf_aes_key", json!([new])),
        json!(["ok"])
    );
    assert_eq!(
        ok(&mut gw, t0, 3, "get_lumi_dpf_aes_key", json!([])),
        json!([new])
    );

    let write = |gw: &mut SimGateway, password: &str| -> Value {
        let p: GatewayPassword = password.parse().unwrap();
        let key = WriteKey::derive(&p, gw.token()).unwrap();
        let w = format!(
            r#"{{"cmd":"write","sid":"158d00015879f9","data":{{"status":"on","key":"{}"}}}}"#,
            key.to_hex()
        );
        gw.handle_datagram(t0, client(), Inbound::Command, w.as_bytes());
        let out = drain(gw);
        serde_json::from_slice(&out[0].1).unwrap()
    };
    let refused = write(&mut gw, PASSWORD);
    assert_eq!(refused["data"], r#"{"error":"Invalid key"}"#);
    let accepted = write(&mut gw, new);
    assert_eq!(accepted["cmd"], "write_ack");
    assert!(
        !accepted["data"].as_str().unwrap().contains("error"),
        "{accepted}"
    );
    assert_eq!(
        gw.device(&sid("158d00015879f9"))
            .unwrap()
            .state
            .get_str("status")
            .as_deref(),
        Some("on")
    );
}

// --- scenes and pushes --------------------------------------------------------------------------

#[test]
fn a_click_pushes_until_acked() {
    let (mut gw, t0) = gateway(&[(BUTTON, "sensor_switch.aq2")]);
    let frame = scene_frame("x.scene.7", BUTTON, CLICK, "click_ch0", "127.0.0.1");
    assert_eq!(ok(&mut gw, t0, 1, "send_data_frame", frame), json!(["ok"]));
    assert_eq!(
        gw.poll_timeout().map(|t| t > t0),
        Some(true),
        "only LAN timers"
    );

    let t1 = t0 + Duration::from_secs(100);
    let out = click(&mut gw, t1, BUTTON);
    assert!(
        out.iter().any(|(to, _)| *to == Destination::Multicast),
        "the LAN report too"
    );
    let first = pushes(&out);
    assert_eq!(first.len(), 1);
    let (to, push, stamp) = first[0].clone();
    assert_eq!(to, "127.0.0.1:54321".parse().unwrap());
    assert_eq!(push.method, "click_ch0:lumi_158d0001a2b3c4");
    assert_eq!(push.params, json!([]));
    assert_eq!(stamp, 100);
    assert_eq!(gw.miio_pending_pushes(), 1);
    assert!(gw.poll_timeout().unwrap() <= t1 + PUSH_RESEND);

    // Not acked: sent again every second, same id, the stamp moving on.
    for k in 1..3u64 {
        let now = t1 + PUSH_RESEND * k as u32;
        gw.handle_timeout(now);
        let again = pushes(&drain(&mut gw));
        assert_eq!(again.len(), 1, "resend {k}");
        assert_eq!(again[0].1, push);
        assert_eq!(again[0].2, 100 + k as u32);
    }
    // Half-way between resends nothing happens.
    gw.handle_timeout(t1 + PUSH_RESEND * 2 + Duration::from_millis(500));
    assert!(pushes(&drain(&mut gw)).is_empty());
    // The ack (from the fake device's socket) stops it for good.
    gw.handle_datagram(
        t1,
        "127.0.0.1:54321".parse().unwrap(),
        Inbound::Miio,
        &ack(push.id),
    );
    assert!(drain(&mut gw).is_empty());
    assert_eq!(gw.miio_pending_pushes(), 0);
    for k in 3..10u32 {
        gw.handle_timeout(t1 + PUSH_RESEND * k);
        assert!(pushes(&drain(&mut gw)).is_empty());
    }
    // An ack for an unknown id changes nothing.
    click(&mut gw, t1, BUTTON);
    gw.handle_datagram(t1, client(), Inbound::Miio, &ack(push.id));
    assert_eq!(gw.miio_pending_pushes(), 1);
}

#[test]
fn pushes_give_up_after_the_last_attempt() {
    let (mut gw, t0) = gateway(&[(BUTTON, "sensor_switch.aq2")]);
    ok(
        &mut gw,
        t0,
        1,
        "send_data_frame",
        scene_frame("x.scene.7", BUTTON, CLICK, "click_ch0", "127.0.0.1"),
    );
    let mut sent = pushes(&click(&mut gw, t0, BUTTON)).len();
    for k in 1..20u32 {
        gw.handle_timeout(t0 + PUSH_RESEND * k);
        sent += pushes(&drain(&mut gw)).len();
    }
    assert_eq!(sent, PUSH_ATTEMPTS as usize);
    assert_eq!(gw.miio_pending_pushes(), 0);
}

#[test]
fn scenes_fire_only_for_their_device_and_event_and_stop_after_xdel() {
    let other = "158d0009999999";
    let (mut gw, t0) = gateway(&[(BUTTON, "sensor_switch.aq2"), (other, "sensor_switch.aq2")]);
    ok(
        &mut gw,
        t0,
        1,
        "send_data_frame",
        scene_frame("x.scene.1", BUTTON, CLICK, "click_ch0", "127.0.0.1"),
    );
    ok(
        &mut gw,
        t0,
        2,
        "send_data_frame",
        scene_frame(
            "x.scene.2",
            BUTTON,
            "[1,13,1,85,[0,2],0,0]",
            "d_click_ch0",
            "127.0.0.1",
        ),
    );
    // Extra compared as JSON: spacing does not matter.
    ok(
        &mut gw,
        t0,
        3,
        "send_data_frame",
        scene_frame(
            "x.scene.3",
            BUTTON,
            "[1, 13, 1, 85, [0, 0], 0, 0]",
            "l_click_ch0",
            "127.0.0.1",
        ),
    );
    assert_eq!(gw.miio_scenes().len(), 3);

    let double = Props::new().with("status", "double_click");
    gw.report(t0, &sid(BUTTON), double);
    let p = pushes(&drain(&mut gw));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].1.method, "d_click_ch0:lumi_158d0001a2b3c4");
    gw.report(
        t0,
        &sid(BUTTON),
        Props::new().with("status", "long_click_press"),
    );
    assert_eq!(
        pushes(&drain(&mut gw))[0].1.method,
        "l_click_ch0:lumi_158d0001a2b3c4"
    );
    // The other button has no scenes; a release is no scene event; a heartbeat-like report
    // (voltage only) neither.
    assert!(pushes(&click(&mut gw, t0, other)).is_empty());
    gw.report(
        t0,
        &sid(BUTTON),
        Props::new().with("status", "long_click_release"),
    );
    gw.report(t0, &sid(BUTTON), Props::new().with("voltage", 3000));
    assert!(pushes(&drain(&mut gw)).is_empty());

    // Re-registering an id replaces the scene.
    ok(
        &mut gw,
        t0,
        4,
        "send_data_frame",
        scene_frame("x.scene.1", BUTTON, CLICK, "click_ch0", "127.0.0.5"),
    );
    assert_eq!(gw.miio_scenes().len(), 3);
    assert_eq!(
        pushes(&click(&mut gw, t0, BUTTON))[0].0,
        "127.0.0.5:54321".parse().unwrap()
    );

    assert_eq!(
        ok(
            &mut gw,
            t0,
            5,
            "miIO.xdel",
            json!(["x.scene.1", "x.scene.404"])
        ),
        json!(["ok"])
    );
    assert!(pushes(&click(&mut gw, t0, BUTTON)).is_empty());
    ok(
        &mut gw,
        t0,
        6,
        "miIO.xdel",
        json!(["x.scene.2", "x.scene.3"]),
    );
    assert!(gw.miio_scenes().is_empty());
}

#[test]
fn fragmented_frames_are_collected() {
    let (mut gw, t0) = gateway(&[(BUTTON, "sensor_switch.aq2")]);
    let whole = scene_frame("x.scene.9", BUTTON, CLICK, "click_ch0", "127.0.0.1");
    let data = whole["data"].as_str().unwrap();
    let (a, b) = data.split_at(data.len() / 2);
    let part = |cur: u64, d: &str| json!({"cur": cur, "data": d, "data_tkn": 1234, "total": 2, "type": "scene"});
    ok(&mut gw, t0, 1, "send_data_frame", part(0, a));
    assert!(gw.miio_scenes().is_empty());
    ok(&mut gw, t0, 2, "send_data_frame", part(1, b));
    assert_eq!(gw.miio_scenes().len(), 1);
    // Out of order: refused.
    assert_eq!(
        call(&mut gw, t0, 3, "send_data_frame", part(1, b))
            .unwrap_err()
            .0,
        -5001
    );
}

#[test]
fn scene_storage_is_bounded() {
    let (mut gw, t0) = gateway(&[(BUTTON, "sensor_switch.aq2")]);
    for n in 0..MAX_SCENES {
        let frame = scene_frame(
            &format!("x.scene.{n}"),
            BUTTON,
            CLICK,
            "click_ch0",
            "127.0.0.1",
        );
        ok(&mut gw, t0, 1000 + n as u64, "send_data_frame", frame);
    }
    let one_more = scene_frame("x.scene.new", BUTTON, CLICK, "click_ch0", "127.0.0.1");
    assert_eq!(
        call(&mut gw, t0, 1, "send_data_frame", one_more)
            .unwrap_err()
            .0,
        -5001
    );
    // Replacing one is still fine.
    let again = scene_frame("x.scene.0", BUTTON, CLICK, "click_ch0", "127.0.0.1");
    assert_eq!(ok(&mut gw, t0, 2, "send_data_frame", again), json!(["ok"]));
    assert_eq!(gw.miio_scenes().len(), MAX_SCENES);
    let huge = json!({"cur": 0, "data": "[", "data_tkn": 1, "total": 1000, "type": "scene"});
    assert_eq!(
        call(&mut gw, t0, 3, "send_data_frame", huge).unwrap_err().0,
        -5001
    );
    for n in 0..100 {
        let mut p = serde_json::Map::new();
        p.insert("sid".into(), json!("lumi.0"));
        p.insert(format!("p{n}"), json!(n));
        let r = call(&mut gw, t0, 5000 + n, "set_device_prop", Value::Object(p));
        assert_eq!(r.is_ok(), n < 60, "{n}: 4 defaults + 60 new = 64");
    }
}

#[test]
fn scene_events_of_each_kind() {
    let v1 = ProtoVersion::V1;
    let codes = |model: &str, props: Props| -> Vec<(Value, Value)> {
        push_events(model, v1, &props)
            .into_iter()
            .flat_map(|e| e.extras.into_iter().map(move |x| (x, e.params.clone())))
            .collect()
    };
    let one = |model: &str, k: &str, v: &str| codes(model, Props::new().with(k, v));
    let j = |s: &str| serde_json::from_str::<Value>(s).unwrap();
    assert_eq!(
        one("sensor_switch.aq2", "status", "click"),
        vec![(j(CLICK), json!([]))]
    );
    assert_eq!(
        one("sensor_switch.aq3", "status", "long_click_press"),
        vec![
            (j("[1,13,1,85,[0,0],0,0]"), json!([])),
            (j("[1,13,1,85,[0,16],0,0]"), json!([]))
        ]
    );
    assert_eq!(
        one("sensor_switch.aq3", "status", "shake")[0].0,
        j("[1,13,1,85,[0,18],0,0]")
    );
    assert_eq!(
        one("86sw2", "channel_1", "double_click")[0].0,
        j("[1,13,2,85,[0,2],0,0]")
    );
    assert_eq!(
        one("86sw2", "dual_channel", "both_click")[0].0,
        j("[1,13,3,85,[0,1],0,0]")
    );
    assert_eq!(
        one("86sw1", "channel_0", "long_click_press")[0].0,
        j("[1,13,1,85,[0,0],0,0]")
    );
    assert_eq!(
        one("cube", "status", "flip90")[0].0,
        j("[1,18,2,85,[6,64],0,0]")
    );
    assert_eq!(
        one("cube", "status", "flip180")[0].0,
        j("[1,18,2,85,[6,128],0,0]")
    );
    assert_eq!(
        one("cube", "status", "move")[0].0,
        j("[1,18,2,85,[6,256],0,0]")
    );
    assert_eq!(
        one("cube", "status", "tap_twice")[0].0,
        j("[1,18,2,85,[6,512],0,0]")
    );
    assert_eq!(
        one("cube", "status", "shake_air")[0].0,
        j("[1,18,2,85,[0,0],0,0]")
    );
    assert_eq!(
        one("cube", "rotate", "25,500"),
        vec![(j("[1,12,3,85,[1,0],0,0]"), json!([90, 500]))]
    );
    assert_eq!(
        one("magnet", "status", "open")[0].0,
        j("[1,6,1,0,[0,1],2,0]")
    );
    assert_eq!(
        one("magnet", "status", "close")[0].0,
        j("[1,6,1,0,[0,0],2,0]")
    );
    assert!(one("magnet", "no_close", "60").is_empty());
    assert_eq!(
        one("motion", "status", "motion")[0].0,
        j("[1,1030,1,0,[0,1],0,0]")
    );
    assert_eq!(
        one("motion", "no_motion", "120")[0].0,
        j("[1,1030,1,8,[4,120],2,0]")
    );
    assert_eq!(
        one("vibration", "status", "free_fall")[0].0,
        j("[1,257,1,85,[0,3],0,0]")
    );
    assert!(one("sensor_ht", "temperature", "2000").is_empty());
    assert!(one("no.such.model", "status", "click").is_empty());
}

#[test]
fn cube_rotation_pushes_angle_and_duration() {
    let cube = "158d000cccccc1";
    let (mut gw, t0) = gateway(&[(cube, "cube")]);
    ok(
        &mut gw,
        t0,
        1,
        "send_data_frame",
        scene_frame(
            "x.scene.1",
            cube,
            "[1,12,3,85,[1,0],0,0]",
            "rotate",
            "127.0.0.1",
        ),
    );
    gw.report(t0, &sid(cube), Props::new().with("rotate", "-25,400"));
    let p = pushes(&drain(&mut gw));
    assert_eq!(p[0].1.method, "rotate:lumi_158d000cccccc1");
    assert_eq!(p[0].1.params, json!([-90, 400]));
}

#[test]
fn type_ids_follow_python_miio() {
    for (model, id) in [
        ("magnet", 3),
        ("lumi.sensor_magnet.aq2", 53),
        ("sensor_switch.aq2", 51),
        ("86sw2", 12),
        ("cube", 8),
        ("sensor_cube.aqgl01", 68),
        ("sensor_motion.aq2", 52),
        ("weather.v1", 19),
        ("ctrl_86plug.aq1", 65),
        ("gateway", -1),
    ] {
        assert_eq!(type_id(model), id, "{model}");
    }
}
