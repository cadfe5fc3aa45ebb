//! Handshake, stamps, ids, matching and retries of the miIO session, fed by hand.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::miio::{HelloReply, Opened, PacketError, RpcReply};

const TOKEN: &str = "00112233445566778899aabbccddeeff";
const DID: DeviceId = DeviceId(0x0102_0304);

fn addr() -> SocketAddr {
    "127.0.0.3:54321".parse().unwrap()
}

fn token() -> MiioToken {
    TOKEN.parse().unwrap()
}

fn cipher() -> Cipher {
    Cipher::new(&token())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn session() -> (MiioSession, Instant) {
    let cfg = MiioConfig::new(addr(), token()).with_first_id(5000);
    (MiioSession::new(cfg), Instant::now())
}

/// Everything sent: `None` for a hello, the opened packet otherwise.
fn sent(s: &mut MiioSession) -> Vec<Option<Opened>> {
    std::iter::from_fn(|| s.poll_transmit())
        .map(|t| {
            assert_eq!(t.to, addr());
            if t.payload == HELLO {
                None
            } else {
                Some(cipher().open(&t.payload).expect("sealed with the token"))
            }
        })
        .collect()
}

fn one_request(s: &mut MiioSession) -> (Opened, RpcRequest) {
    let mut out = sent(s);
    assert_eq!(out.len(), 1, "one datagram expected");
    let o = out.pop().unwrap().expect("a request, not a hello");
    let r = RpcRequest::decode(&o.payload).unwrap();
    (o, r)
}

fn expect_hello(s: &mut MiioSession) {
    let out = sent(s);
    assert!(
        out.len() == 1 && out[0].is_none(),
        "one hello expected, got {} datagrams",
        out.len()
    );
}

fn events(s: &mut MiioSession) -> Vec<MiioEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn completed(events: &[MiioEvent]) -> Vec<(RequestId, Result<Value, CallError>)> {
    events
        .iter()
        .filter_map(|e| match e {
            MiioEvent::Completed { id, result } => Some((*id, result.clone())),
            _ => None,
        })
        .collect()
}

fn hello(stamp: u32) -> [u8; 32] {
    HelloReply::hidden(DID, stamp).to_bytes()
}

fn reply(stamp: u32, r: RpcReply) -> Vec<u8> {
    cipher().seal(DID, stamp, &r.encode()).unwrap()
}

/// A session that has handshaked at `t0` (device stamp 1000).
fn ready() -> (MiioSession, Instant) {
    let (mut s, t0) = session();
    s.handshake(t0);
    expect_hello(&mut s);
    s.handle_datagram(t0, addr(), &hello(1000));
    assert_eq!(
        events(&mut s),
        vec![MiioEvent::Handshake {
            device_id: DID,
            stamp: 1000
        }]
    );
    (s, t0)
}

#[test]
fn hello_first_then_request_with_device_id_stamp_and_first_id() {
    let (mut s, t0) = session();
    let id = s.call(t0, "miIO.info", Value::Null, None);
    expect_hello(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0 + secs(2)));
    s.handle_datagram(t0 + ms(30), addr(), &hello(77_000));
    assert_eq!(s.device_id(), Some(DID));
    let (o, _) = one_request(&mut s);
    assert_eq!((o.device_id(), o.stamp()), (DID, 77_000));
    assert_eq!(
        o.json_text().unwrap(),
        r#"{"id":5000,"method":"miIO.info","params":[]}"#,
        "null params go out as []"
    );
    assert_eq!(o.payload.last(), Some(&0), "trailing NUL");
    s.handle_datagram(
        t0 + ms(60),
        addr(),
        &reply(77_000, RpcReply::result(5000, json!({"model": "x"}))),
    );
    let ev = events(&mut s);
    assert_eq!(completed(&ev), vec![(id, Ok(json!({"model": "x"})))]);
    assert_eq!(s.poll_timeout(), None, "nothing pending");
    assert_eq!(s.pending(), 0);
}

#[test]
fn stamp_is_device_stamp_plus_whole_seconds_and_refreshed_from_replies() {
    let (mut s, t0) = ready();
    // 2.9 s later: +2 (whole seconds, truncated).
    let t1 = t0 + ms(2900);
    s.call(t1, "a", json!([]), None);
    let (o, r) = one_request(&mut s);
    assert_eq!((o.stamp(), r.id), (1002, 5000));
    // The reply says the device is at 5000 now (its clock jumped): later requests follow it.
    s.handle_datagram(t1, addr(), &reply(5000, RpcReply::result(r.id, json!(0))));
    let t2 = t1 + secs(10);
    s.call(t2, "b", json!([]), None);
    let (o, r2) = one_request(&mut s);
    assert_eq!(o.stamp(), 5010);
    assert_eq!(r2.id, r.id + 1, "ids strictly increase by one");
    // Wrapping at 2^32.
    s.handle_datagram(
        t2,
        addr(),
        &reply(u32::MAX - 1, RpcReply::result(r2.id, json!(0))),
    );
    assert_eq!(s.stamp_at(t2 + secs(3)), Some(1));
}

#[test]
fn idle_device_gets_a_fresh_handshake_busy_one_does_not() {
    let (mut s, t0) = ready();
    let mut now = t0;
    // A call every 30 s keeps the handshake fresh (idle limit 60 s).
    for _ in 0..4 {
        now += secs(30);
        s.call(now, "get_prop", json!(["power"]), None);
        let (_, r) = one_request(&mut s);
        s.handle_datagram(
            now,
            addr(),
            &reply(2000, RpcReply::result(r.id, json!(["on"]))),
        );
    }
    assert_eq!(s.stats().hellos_sent, 1);
    // 60 s of silence: hello first.
    now += secs(60);
    s.call(now, "get_prop", json!(["power"]), None);
    expect_hello(&mut s);
    s.handle_datagram(now, addr(), &hello(3000));
    let (o, _) = one_request(&mut s);
    assert_eq!(o.stamp(), 3000);

    // Never re-handshake for idleness when disabled.
    let mut cfg = MiioConfig::new(addr(), token());
    cfg.idle_rehandshake = None;
    let mut s = MiioSession::new(cfg);
    s.handshake(t0);
    s.handle_datagram(t0, addr(), &hello(1));
    sent(&mut s);
    s.call(t0 + secs(3600), "x", json!([]), None);
    let (o, _) = one_request(&mut s);
    assert_eq!(o.stamp(), 3601);
}

#[test]
fn timeout_jumps_ids_rehandshakes_and_gives_up_with_a_token_hint() {
    let (mut s, t0) = ready();
    let id = s.call(t0, "set_power", json!(["on"]), None);
    let (_, r1) = one_request(&mut s);
    assert_eq!(r1.id, 5000);
    let mut now;
    let mut ids = vec![r1.id];
    for attempt in 2..=3 {
        now = s.poll_timeout().unwrap();
        s.handle_timeout(now);
        let ev = events(&mut s);
        assert!(
            matches!(ev.as_slice(), [MiioEvent::Retry { id: i, attempts, reason: RetryReason::Timeout, .. }] if *i == id && *attempts == attempt - 1),
            "{ev:?}"
        );
        // Hello before the retry.
        expect_hello(&mut s);
        s.handle_datagram(now + ms(5), addr(), &hello(1000 + attempt));
        events(&mut s);
        let (o, r) = one_request(&mut s);
        assert_eq!(o.stamp(), 1000 + attempt);
        ids.push(r.id);
    }
    assert_eq!(
        ids,
        vec![5000, 5101, 5202],
        "+1 per datagram, +100 per timeout"
    );
    now = s.poll_timeout().unwrap();
    s.handle_timeout(now);
    let ev = events(&mut s);
    let done = completed(&ev);
    assert_eq!(done.len(), 1);
    let Err(
        e @ CallError::Timeout {
            attempts: 3,
            answered_hello: true,
            ..
        },
    ) = &done[0].1
    else {
        panic!("{done:?}")
    };
    let msg = e.to_string();
    assert!(
        msg.starts_with("set_power to miio device at 127.0.0.3:54321: no reply after 3 attempts"),
        "{msg}"
    );
    assert!(msg.contains("check the token"), "{msg}");
    assert!(!msg.contains(TOKEN), "{msg}");
    assert_eq!(s.stats().timed_out, 1);
    // The next call starts with a hello and a jumped id.
    s.call(now, "x", json!([]), None);
    expect_hello(&mut s);
    s.handle_datagram(now, addr(), &hello(9));
    let (_, r) = one_request(&mut s);
    assert_eq!(r.id, 5303);
}

#[test]
fn handshake_failure_fails_every_queued_call_with_an_address_hint() {
    let (mut s, t0) = session();
    let a = s.call(t0, "a", json!([]), None);
    let b = s.call(t0 + ms(500), "b", json!([]), None);
    for _ in 0..3 {
        expect_hello(&mut s);
        let t = s.poll_timeout().unwrap();
        s.handle_timeout(t);
    }
    assert!(s.poll_transmit().is_none());
    let ev = events(&mut s);
    let done = completed(&ev);
    assert_eq!(done.iter().map(|d| d.0).collect::<Vec<_>>(), vec![a, b]);
    for (_, r) in &done {
        let Err(CallError::Timeout {
            attempts: 3,
            answered_hello: false,
            ..
        }) = r
        else {
            panic!("{r:?}")
        };
    }
    let msg = done[1].1.clone().unwrap_err().to_string();
    assert!(
        msg.starts_with("b to miio device at 127.0.0.3:54321: no reply after 3 attempts (5.5 s)"),
        "{msg}"
    );
    assert!(msg.contains("check the address"), "{msg}");
    assert!(matches!(
        ev.last(),
        Some(MiioEvent::HandshakeFailed {
            error: CallError::Timeout { .. }
        })
    ));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn recoverable_errors_retry_with_a_fresh_id_others_complete_typed() {
    let (mut s, t0) = ready();
    let id = s.call(t0, "get_prop", json!(["power"]), None);
    let (_, r) = one_request(&mut s);
    s.handle_datagram(
        t0,
        addr(),
        &reply(1000, RpcReply::error(r.id, -9999, "user ack timeout")),
    );
    let (_, r2) = one_request(&mut s);
    assert_eq!(r2.id, r.id + 1, "retried at once with a fresh id, no hello");
    s.handle_datagram(
        t0,
        addr(),
        &reply(1000, RpcReply::error(r2.id, -30001, "Resp invalid json.")),
    );
    let (_, r3) = one_request(&mut s);
    // The last attempt's transient error completes the call with it.
    s.handle_datagram(
        t0,
        addr(),
        &reply(1000, RpcReply::error(r3.id, -9999, "user ack timeout")),
    );
    let done = completed(&events(&mut s));
    let Err(CallError::Device { error, .. }) = &done[0].1 else {
        panic!("{done:?}")
    };
    assert_eq!((done[0].0, error.code), (id, -9999));
    assert!(sent(&mut s).is_empty());

    // Neither result nor error: the other members (python-miio's simulator), or null.
    let id = s.call(t0, "miIO.info", json!([]), None);
    let (_, r) = one_request(&mut s);
    let text = format!(
        r#"{{"model": "chuangmi.plug.m1", "id": {}, "life": 24}}"#,
        r.id
    );
    s.handle_datagram(
        t0,
        addr(),
        &cipher().seal(DID, 1000, text.as_bytes()).unwrap(),
    );
    let id2 = s.call(t0, "x", json!([]), None);
    let (_, r) = one_request(&mut s);
    let text = format!(r#"{{"id": {}}}"#, r.id);
    s.handle_datagram(
        t0,
        addr(),
        &cipher().seal(DID, 1000, text.as_bytes()).unwrap(),
    );
    assert_eq!(
        completed(&events(&mut s)),
        vec![
            (id, Ok(json!({"model": "chuangmi.plug.m1", "life": 24}))),
            (id2, Ok(Value::Null))
        ]
    );

    // Not recoverable: completes at once. Messages under "error" (python-miio's simulator).
    let id = s.call(t0, "nope", json!([]), None);
    let (_, r) = one_request(&mut s);
    let text = format!(
        r#"{{"error":{{"code":-2,"error":"unsupported method"}},"id":{}}}"#,
        r.id
    );
    s.handle_datagram(
        t0,
        addr(),
        &cipher().seal(DID, 1000, text.as_bytes()).unwrap(),
    );
    let done = completed(&events(&mut s));
    let Err(e @ CallError::Device { error, .. }) = &done[0].1 else {
        panic!("{done:?}")
    };
    assert_eq!(
        (done[0].0, error.code, error.message.as_str()),
        (id, -2, "unsupported method")
    );
    assert!(e.to_string().contains("does not support the method"), "{e}");
    assert!(sent(&mut s).is_empty());
}

#[test]
fn a_late_reply_to_an_earlier_id_never_completes_a_newer_call() {
    let (mut s, t0) = ready();
    let a = s.call(t0, "get", json!(["a"]), None);
    let b = s.call(t0, "get", json!(["b"]), None);
    let (_, ra) = one_request(&mut s);
    assert!(sent(&mut s).is_empty(), "one request on the wire at a time");
    let ok_a = reply(1000, RpcReply::result(ra.id, json!(["A"])));
    s.handle_datagram(t0 + ms(10), addr(), &ok_a);
    let (_, rb) = one_request(&mut s);
    // The duplicate of a's reply arrives while b is on the wire.
    s.handle_datagram(t0 + ms(20), addr(), &ok_a);
    let ev = events(&mut s);
    assert_eq!(completed(&ev), vec![(a, Ok(json!(["A"])))]);
    assert!(ev.contains(&MiioEvent::Unmatched {
        from: addr(),
        reason: Unmatched::NotAwaited { id: Some(ra.id) }
    }));
    s.handle_datagram(
        t0 + ms(30),
        addr(),
        &reply(1000, RpcReply::result(rb.id, json!(["B"]))),
    );
    assert_eq!(completed(&events(&mut s)), vec![(b, Ok(json!(["B"])))]);

    // A reply to a timed-out attempt, arriving during the retry, is dropped too.
    let c = s.call(t0, "get", json!(["c"]), None);
    let (_, rc1) = one_request(&mut s);
    let t = s.poll_timeout().unwrap();
    s.handle_timeout(t);
    expect_hello(&mut s);
    s.handle_datagram(t, addr(), &hello(1100));
    let (_, rc2) = one_request(&mut s);
    s.handle_datagram(
        t,
        addr(),
        &reply(1100, RpcReply::result(rc1.id, json!(["old"]))),
    );
    assert!(completed(&events(&mut s)).is_empty());
    s.handle_datagram(
        t,
        addr(),
        &reply(1100, RpcReply::result(rc2.id, json!(["new"]))),
    );
    assert_eq!(completed(&events(&mut s)), vec![(c, Ok(json!(["new"])))]);
}

#[test]
fn foreign_address_other_device_wrong_token_and_garbage_are_dropped() {
    let (mut s, t0) = ready();
    let id = s.call(t0, "get", json!([]), None);
    let (_, r) = one_request(&mut s);
    let good = reply(1000, RpcReply::result(r.id, json!(1)));
    // Same bytes, another port.
    s.handle_datagram(t0, "127.0.0.3:54322".parse().unwrap(), &good);
    // Another device id (sealed correctly).
    let other = cipher()
        .seal(
            DeviceId(9),
            1000,
            &RpcReply::result(r.id, json!(2)).encode(),
        )
        .unwrap();
    s.handle_datagram(t0, addr(), &other);
    // Another token.
    let wrong = Cipher::new(&MiioToken::from_bytes([7; 16]))
        .seal(DID, 1000, &RpcReply::result(r.id, json!(3)).encode())
        .unwrap();
    s.handle_datagram(t0, addr(), &wrong);
    // Garbage, a hello request, a request, a reply without id, text that is not JSON.
    s.handle_datagram(t0, addr(), b"hello");
    s.handle_datagram(t0, addr(), &HELLO);
    let req = RpcRequest::new(r.id, "click:lumi_1", json!([])).encode();
    s.handle_datagram(t0, addr(), &cipher().seal(DID, 1000, &req).unwrap());
    s.handle_datagram(
        t0,
        addr(),
        &cipher().seal(DID, 1000, br#"{"result":1}"#).unwrap(),
    );
    s.handle_datagram(t0, addr(), &cipher().seal(DID, 1000, b"\xff\xfe").unwrap());
    // A hello reply while no handshake is in progress.
    s.handle_datagram(t0, addr(), &hello(1));
    let ev = events(&mut s);
    assert!(completed(&ev).is_empty(), "{ev:?}");
    let reasons: Vec<String> = ev
        .iter()
        .map(|e| match e {
            MiioEvent::Unmatched { reason, .. } => format!("{reason:?}"),
            MiioEvent::Undecodable { error, .. } => format!("{error}"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(reasons.len(), 9, "{reasons:#?}");
    assert_eq!(reasons[0], "ForeignAddress");
    assert_eq!(reasons[1], "OtherDevice { found: DeviceId(9) }");
    assert!(reasons[2].contains("checksum mismatch"), "{}", reasons[2]);
    assert!(reasons[3].contains("too short"), "{}", reasons[3]);
    assert_eq!(reasons[4], "NotAReply");
    assert_eq!(reasons[5], "NotAReply");
    assert_eq!(reasons[6], "NotAwaited { id: None }");
    assert!(reasons[7].contains("not utf-8"), "{}", reasons[7]);
    assert_eq!(reasons[8], "NoHandshake");
    assert_eq!(
        s.stamp_at(t0),
        Some(1000),
        "nothing dropped touched the stamp"
    );
    s.handle_datagram(t0, addr(), &good);
    assert_eq!(completed(&events(&mut s)), vec![(id, Ok(json!(1)))]);
}

#[test]
fn a_revealed_token_is_reported_but_never_used() {
    let (mut s, t0) = session();
    s.call(t0, "miIO.info", json!([]), None);
    expect_hello(&mut s);
    let other = MiioToken::from_bytes(*b"3VAx73HL6aZxVYBc");
    s.handle_datagram(
        t0,
        addr(),
        &HelloReply::revealing(DID, 553, other).to_bytes(),
    );
    let ev = events(&mut s);
    assert!(ev.contains(&MiioEvent::TokenRevealed {
        device_id: DID,
        token: other,
        matches_configured: false
    }));
    assert!(
        !format!("{ev:?}").contains("3VAx"),
        "the token is redacted in Debug"
    );
    // Still sealed with the configured token.
    let (o, _) = one_request(&mut s);
    assert_eq!(o.stamp(), 553);
}

#[test]
fn a_configured_device_id_is_enforced() {
    let t0 = Instant::now();
    let cfg = MiioConfig::new(addr(), token()).with_device_id(DeviceId(77));
    let mut s = MiioSession::new(cfg);
    let id = s.call(t0, "x", json!([]), None);
    expect_hello(&mut s);
    s.handle_datagram(t0, addr(), &hello(5));
    let ev = events(&mut s);
    let done = completed(&ev);
    let Err(
        e @ CallError::DeviceIdMismatch {
            expected: DeviceId(77),
            found,
            ..
        },
    ) = &done[0].1
    else {
        panic!("{ev:?}")
    };
    assert_eq!((done[0].0, *found), (id, DID));
    assert!(
        e.to_string()
            .contains("has id 16909060, not the configured 77"),
        "{e}"
    );
    assert!(matches!(ev.last(), Some(MiioEvent::HandshakeFailed { .. })));
    assert!(sent(&mut s).is_empty());
}

#[test]
fn cancel_forgets_a_call_and_lets_the_next_go() {
    let (mut s, t0) = ready();
    let a = s.call(t0, "a", json!([]), None);
    let b = s.call(t0, "b", json!([]), None);
    let (_, ra) = one_request(&mut s);
    assert!(s.cancel(t0, a));
    assert!(!s.cancel(t0, a));
    let (_, rb) = one_request(&mut s);
    s.handle_datagram(
        t0,
        addr(),
        &reply(1000, RpcReply::result(ra.id, json!("a"))),
    );
    s.handle_datagram(
        t0,
        addr(),
        &reply(1000, RpcReply::result(rb.id, json!("b"))),
    );
    assert_eq!(completed(&events(&mut s)), vec![(b, Ok(json!("b")))]);
}

#[test]
fn extra_members_and_object_params_go_on_the_wire() {
    let (mut s, t0) = ready();
    let mut extra = Map::new();
    extra.insert("sid".into(), json!("lumi.158d0001a2b3c4"));
    s.call(t0, "toggle_plug", json!({"channel_0": "on"}), Some(extra));
    let (o, _) = one_request(&mut s);
    assert_eq!(
        o.json_text().unwrap(),
        r#"{"id":5000,"method":"toggle_plug","params":{"channel_0":"on"},"sid":"lumi.158d0001a2b3c4"}"#
    );
}

#[test]
fn too_large_requests_fail_without_blocking_the_queue() {
    let (mut s, t0) = ready();
    let big = s.call(t0, "x", json!(["a".repeat(70_000)]), None);
    let next = s.call(t0, "y", json!([]), None);
    let (_, r) = one_request(&mut s);
    assert_eq!(r.method, "y");
    s.handle_datagram(t0, addr(), &reply(1000, RpcReply::result(r.id, json!(0))));
    let done = completed(&events(&mut s));
    assert!(
        matches!(done[0], (i, Err(CallError::TooLarge { error: PacketError::PayloadTooLarge { .. }, .. })) if i == big)
    );
    assert_eq!(done[1], (next, Ok(json!(0))));
}

#[test]
fn ids_start_in_range_and_wrap() {
    assert_eq!(clamp_id(0), 1);
    assert_eq!(clamp_id(7), 7);
    assert_eq!(clamp_id(MAX_WIRE_ID), MAX_WIRE_ID);
    assert_eq!(clamp_id(MAX_WIRE_ID + 5), 5);
    assert_eq!(clamp_id(u64::MAX), (u64::MAX % MAX_WIRE_ID).max(1));
    assert_eq!(next_id(MAX_WIRE_ID), 1);
    assert_eq!(jump_id(MAX_WIRE_ID - 10), 90);
    let t0 = Instant::now();
    let mut s = MiioSession::new(MiioConfig::new(addr(), token()).with_first_id(MAX_WIRE_ID));
    s.handshake(t0);
    s.handle_datagram(t0, addr(), &hello(1));
    sent(&mut s);
    s.call(t0, "a", json!([]), None);
    let (_, r) = one_request(&mut s);
    assert_eq!(r.id, MAX_WIRE_ID);
    assert_eq!(s.next_wire_id(), 1);
}

/// Truncations and single-byte corruptions of valid replies, and random bytes, never panic
/// and never complete the call.
#[test]
fn hostile_datagrams_never_panic_or_complete() {
    let (mut s, t0) = ready();
    s.call(t0, "get", json!([]), None);
    let (_, r) = one_request(&mut s);
    let good = reply(1000, RpcReply::result(r.id, json!(["ok"])));
    let mut inputs: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
    for i in 0..good.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = good.clone();
            b[i] ^= bit;
            inputs.push(b);
        }
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in [0usize, 1, 31, 32, 33, 48, 64, 200] {
        let mut b = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.push(x as u8);
        }
        inputs.push(b);
    }
    for b in &inputs {
        s.handle_datagram(t0, addr(), b);
    }
    let ev = events(&mut s);
    // Every header byte is covered by the checksum, so no flip gets through.
    assert!(completed(&ev).is_empty(), "{:?}", completed(&ev));
    assert_eq!(ev.len(), inputs.len());
    s.handle_datagram(t0, addr(), &good);
    assert_eq!(completed(&events(&mut s)).len(), 1);
}
