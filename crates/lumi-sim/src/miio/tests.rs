//! The miIO server core and the simulated plug, in virtual time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lumi_proto::miio::{
    Cipher, DeviceId, HELLO, HelloReply, HelloToken, MiioToken, ReplyOutcome, RpcReply, RpcRequest,
};
use serde_json::{Value, json};

use super::*;

const TOKEN: &str = "00112233445566778899aabbccddeeff";
const DID: DeviceId = DeviceId(0x0102_0304);

fn token() -> MiioToken {
    TOKEN.parse().unwrap()
}

fn client() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

fn plug(model: PlugModel) -> (SimMiioDevice, Instant) {
    let t0 = Instant::now();
    let d = SimMiioDevice::plug(model, &token(), DID, [127, 0, 0, 3].into(), t0);
    (d, t0)
}

fn request(id: u64, method: &str, params: Value) -> Vec<u8> {
    Cipher::new(&token())
        .seal(DID, 1, &RpcRequest::new(id, method, params).encode())
        .unwrap()
}

/// Sends a request and returns the decrypted reply and its stamp (None: no answer).
fn call(
    d: &mut SimMiioDevice,
    now: Instant,
    id: u64,
    method: &str,
    params: Value,
) -> Option<(RpcReply, u32)> {
    d.handle_datagram(now, client(), &request(id, method, params));
    let t = d.poll_transmit()?;
    assert_eq!(t.to, client());
    assert!(d.poll_transmit().is_none(), "one reply per request");
    let opened = Cipher::new(&token()).open(&t.payload).unwrap();
    assert_eq!(opened.device_id(), DID);
    Some((RpcReply::decode(&opened.payload).unwrap(), opened.stamp()))
}

fn result(d: &mut SimMiioDevice, now: Instant, id: u64, method: &str, params: Value) -> Value {
    let (reply, _) = call(d, now, id, method, params).expect("a reply");
    assert_eq!(reply.id, Some(id));
    reply.into_result().unwrap()
}

#[test]
fn hello_hides_the_token_once_provisioned_and_reveals_it_before() {
    let (mut d, t0) = plug(PlugModel::M1);
    d.handle_datagram(t0, client(), &HELLO);
    let bytes = d.poll_transmit().unwrap().payload;
    assert_eq!(bytes.len(), 32);
    assert_eq!(&bytes[16..], &[0xff; 16]);
    let hidden = HelloReply::parse(&bytes).unwrap();
    assert_eq!(hidden.token, HelloToken::HiddenOnes);
    assert_eq!(hidden.device_id, DID);
    assert_eq!(hidden.unknown, 0);

    d.server_mut().set_provisioned(false);
    d.handle_datagram(t0, client(), &HELLO);
    let revealed = HelloReply::parse(&d.poll_transmit().unwrap().payload).unwrap();
    assert_eq!(revealed.revealed_token(), Some(token()));
    assert!(d.poll_transmit().is_none());
}

#[test]
fn stamp_is_uptime_in_hello_and_replies() {
    let (mut d, t0) = plug(PlugModel::M1);
    let now = t0 + Duration::from_millis(1_234_900);
    d.handle_datagram(now, client(), &HELLO);
    let hello = HelloReply::parse(&d.poll_transmit().unwrap().payload).unwrap();
    assert_eq!(hello.stamp, 1234);
    let (_, stamp) = call(
        &mut d,
        now + Duration::from_secs(66),
        1,
        "get_prop",
        json!([]),
    )
    .unwrap();
    assert_eq!(stamp, 1300);
    assert_eq!(d.server().stamp(t0), 0);
    // A reboot restarts the counter; before boot the stamp saturates at zero.
    let reboot = t0 + Duration::from_secs(5000);
    d.server_mut().reboot(reboot);
    assert_eq!(d.server().stamp(reboot + Duration::from_secs(3)), 3);
    assert_eq!(d.server().stamp(t0), 0);
}

#[test]
fn miio_info_has_python_miio_fields() {
    let (mut d, t0) = plug(PlugModel::M1);
    let info = result(
        &mut d,
        t0 + Duration::from_secs(42),
        7,
        "miIO.info",
        json!([]),
    );
    assert_eq!(info["model"], "chuangmi.plug.m1");
    assert_eq!(info["life"], 42);
    assert_eq!(
        info["token"],
        "0".repeat(32),
        "the simulator never sends its token"
    );
    assert_eq!(info["fw_ver"], "1.2.4_16");
    assert_eq!(info["hw_ver"], "MW300");
    assert_eq!(info["netif"]["localIp"], "127.0.0.3");
    assert_eq!(info["ap"]["ssid"], "lumi-sim");
    let mac = info["mac"].as_str().unwrap();
    assert_eq!(mac.len(), 17, "{mac}");
    assert_eq!(mac, d.server().info().mac);
}

#[test]
fn repeated_id_is_dropped_within_the_window_and_not_executed() {
    let (mut d, t0) = plug(PlugModel::M1);
    assert_eq!(
        result(&mut d, t0, 5, "set_power", json!(["on"])),
        json!(["ok"])
    );
    assert!(d.backend().power);
    d.backend_mut().power = false;
    // Same id again, 9 s later: silence, and the plug is not switched.
    let later = t0 + Duration::from_secs(9);
    assert!(call(&mut d, later, 5, "set_power", json!(["on"])).is_none());
    assert!(!d.backend().power);
    // Another id is fine.
    assert_eq!(
        result(&mut d, later, 6, "get_prop", json!(["power"])),
        json!(["off"])
    );
    // After the window the id is forgotten.
    let much_later = t0 + DUPLICATE_WINDOW + Duration::from_secs(1);
    assert_eq!(
        result(&mut d, much_later, 5, "set_power", json!(["on"])),
        json!(["ok"])
    );
    assert!(d.backend().power);
    // A zero window turns the check off.
    d.server_mut().set_duplicate_window(Duration::ZERO);
    assert!(call(&mut d, much_later, 5, "get_prop", json!([])).is_some());
    assert!(call(&mut d, much_later, 5, "get_prop", json!([])).is_some());
}

#[test]
fn only_recent_ids_are_remembered() {
    let (mut d, t0) = plug(PlugModel::M1);
    for id in 0..(RECENT_IDS as u64 + 1) {
        assert!(call(&mut d, t0, 1000 + id, "get_prop", json!([])).is_some());
    }
    // The oldest fell out of the list; the newest is still known.
    assert!(call(&mut d, t0, 1000, "get_prop", json!([])).is_some());
    assert!(call(&mut d, t0, 1000 + RECENT_IDS as u64, "get_prop", json!([])).is_none());
}

#[test]
fn wrong_token_gets_silence_and_changes_nothing() {
    let (mut d, t0) = plug(PlugModel::M1);
    let other: MiioToken = "ffeeddccbbaa99887766554433221100".parse().unwrap();
    let packet = Cipher::new(&other)
        .seal(
            DID,
            1,
            &RpcRequest::new(1, "set_power", json!(["on"])).encode(),
        )
        .unwrap();
    d.handle_datagram(t0, client(), &packet);
    assert!(d.poll_transmit().is_none());
    assert!(!d.backend().power);
    let mut server = MiioServer::new(
        &token(),
        DID,
        MiioInfo::new("x", "AA:BB:CC:DD:EE:FF", [127, 0, 0, 1].into()),
        t0,
    );
    assert!(matches!(
        server.receive(t0, &packet),
        Received::Dropped(Dropped::Packet(_))
    ));
    // A hello reply sent to a device is not a hello.
    let hello_reply = HelloReply::hidden(DID, 5).to_bytes();
    assert_eq!(
        server.receive(t0, &hello_reply),
        Received::Dropped(Dropped::HelloReply)
    );
}

#[test]
fn errors_are_the_real_devices_codes() {
    let (mut d, t0) = plug(PlugModel::M1);
    let (reply, _) = call(&mut d, t0, 1, "no_such_method", json!([])).unwrap();
    let e = reply.into_result().unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (-10000, "Method not found."));
    let (reply, _) = call(&mut d, t0, 2, "set_power", json!(["maybe"])).unwrap();
    assert_eq!(reply.into_result().unwrap_err().code, INVALID_ARG);
    let (reply, _) = call(&mut d, t0, 3, "get_prop", json!({"power": 1})).unwrap();
    assert!(matches!(reply.outcome, ReplyOutcome::Error(_)));
    // m1 has no USB port.
    let (reply, _) = call(&mut d, t0, 4, "set_usb_on", json!([])).unwrap();
    assert_eq!(reply.into_result().unwrap_err().code, METHOD_NOT_FOUND);
}

#[test]
fn plug_m1_keeps_state() {
    let (mut d, t0) = plug(PlugModel::M1);
    assert_eq!(
        result(
            &mut d,
            t0,
            1,
            "get_prop",
            json!(["power", "temperature", "wifi_led", "nope", 3])
        ),
        json!(["off", 38, "on", null, null])
    );
    assert_eq!(
        result(&mut d, t0, 2, "set_power", json!(["on"])),
        json!(["ok"])
    );
    assert_eq!(
        result(&mut d, t0, 3, "set_wifi_led", json!(["off"])),
        json!(["ok"])
    );
    assert_eq!(
        result(&mut d, t0, 4, "get_prop", json!(["power", "wifi_led"])),
        json!(["on", "off"])
    );
    assert_eq!(
        result(&mut d, t0, 5, "set_power", json!(["off"])),
        json!(["ok"])
    );
    assert!(!d.backend().power);
}

#[test]
fn plug_v3_speaks_booleans_and_reports_load() {
    let (mut d, t0) = plug(PlugModel::V3);
    assert_eq!(
        result(
            &mut d,
            t0,
            1,
            "get_prop",
            json!(["on", "usb_on", "temperature", "power"])
        ),
        json!([false, false, 38, null])
    );
    assert_eq!(result(&mut d, t0, 2, "get_power", json!([])), json!([0.0]));
    result(&mut d, t0, 3, "set_power", json!(["on"]));
    result(&mut d, t0, 4, "set_usb_on", json!([]));
    assert_eq!(
        result(&mut d, t0, 5, "get_prop", json!(["on", "usb_on"])),
        json!([true, true])
    );
    assert_eq!(result(&mut d, t0, 6, "get_power", json!([])), json!([12.5]));
    result(&mut d, t0, 7, "set_usb_off", json!([]));
    assert!(!d.backend().usb);
    let info = result(&mut d, t0, 8, "miIO.info", json!([]));
    assert_eq!(info["model"], "chuangmi.plug.v3");
}

#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
    replies: Vec<u64>,
}

impl MiioBackend for Recorder {
    fn call(&mut self, _now: Instant, request: &RpcRequest) -> MethodResult {
        self.calls.push(request.method.clone());
        Ok(json!(0))
    }
    fn on_reply(&mut self, _now: Instant, reply: &RpcReply) {
        self.replies.extend(reply.id);
    }
}

#[test]
fn replies_go_to_the_backend_and_get_no_answer() {
    let t0 = Instant::now();
    let info = MiioInfo::new("test.device.v1", mac_from("x"), [127, 0, 0, 1].into());
    let mut server = MiioServer::new(&token(), DID, info, t0);
    let mut backend = Recorder::default();
    let ack = Cipher::new(&token())
        .seal(DeviceId(9), 3, &RpcReply::result(77, json!(0)).encode())
        .unwrap();
    assert!(server.handle_datagram(t0, &ack, &mut backend).is_none());
    assert_eq!(backend.replies, vec![77]);
    // miIO.info never reaches the backend.
    let r = request(1, "miIO.info", json!([]));
    assert!(server.handle_datagram(t0, &r, &mut backend).is_some());
    let r = request(2, "anything", json!([]));
    assert!(server.handle_datagram(t0, &r, &mut backend).is_some());
    assert_eq!(backend.calls, vec!["anything"]);
    // The server can seal requests of its own, readable with its token.
    let push = server
        .seal_request(
            t0 + Duration::from_secs(3),
            &RpcRequest::new(5, "m", json!([])),
        )
        .unwrap();
    let opened = Cipher::new(&token()).open(&push).unwrap();
    assert_eq!((opened.device_id(), opened.stamp()), (DID, 3));
}

#[test]
fn truncations_and_bit_flips_never_panic_nor_answer() {
    let (mut d, t0) = plug(PlugModel::M1);
    let valid = request(1, "set_power", json!(["on"]));
    for n in 0..valid.len() {
        d.handle_datagram(t0, client(), &valid[..n]);
        assert!(d.poll_transmit().is_none(), "truncated to {n}");
    }
    for i in 0..valid.len() * 8 {
        let mut bad = valid.clone();
        bad[i / 8] ^= 1 << (i % 8);
        d.handle_datagram(t0, client(), &bad);
        assert!(d.poll_transmit().is_none(), "bit {i} flipped");
    }
    for i in 0..HELLO.len() * 8 {
        let mut bad = HELLO;
        bad[i / 8] ^= 1 << (i % 8);
        d.handle_datagram(t0, client(), &bad);
        assert!(d.poll_transmit().is_none(), "hello bit {i} flipped");
    }
    assert!(!d.backend().power, "nothing executed");
    // Junk of every length up to a few blocks, and properly sealed non-requests.
    for n in 0..200 {
        let junk: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
        d.handle_datagram(t0, client(), &junk);
    }
    let cipher = Cipher::new(&token());
    for payload in [
        &b""[..],
        b"\0",
        b"not json",
        b"[1,2,3]",
        b"{\"method\":\"set_power\"}",
        b"{\"id\":-1,\"method\":\"x\"}",
        b"{\"id\":1,\"method\":5}",
        b"{}",
        "\u{ff}\u{fe}".as_bytes(),
    ] {
        let packet = cipher.seal(DID, 1, payload).unwrap();
        d.handle_datagram(t0, client(), &packet);
        assert!(d.poll_transmit().is_none(), "{payload:?}");
    }
    // Still alive and well.
    assert_eq!(
        result(&mut d, t0, 2, "set_power", json!(["on"])),
        json!(["ok"])
    );
}

#[test]
fn debug_never_shows_the_token() {
    let (d, _) = plug(PlugModel::M1);
    let text = format!("{d:?} {:?}", d.server());
    assert!(!text.contains(TOKEN), "{text}");
    assert!(!text.to_lowercase().contains("00112233"), "{text}");
    assert!(text.contains("redacted"));
}

#[test]
fn macs_look_like_macs() {
    assert_eq!(mac_from("7811dcb06972"), "78:11:DC:B0:69:72");
    let m = mac_from("chuangmi.plug.m1-42");
    assert_eq!(m.len(), 17);
    let first = u8::from_str_radix(&m[..2], 16).unwrap();
    assert_eq!(first & 0b11, 0b10, "locally administered unicast: {m}");
    assert_ne!(m, mac_from("chuangmi.plug.m1-43"));
}
