//! Correlation, retries, token handling and liveness of the gateway session, fed by hand.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::lan::{ErrorReply, IdListEntry};

const PASSWORD: &str = "0987654321qwerty";
const GW: &str = "7811dcb06972";
const A: &str = "158d0001c1cdfb";
const B: &str = "158d000112fb5d";
const TOKEN: &str = "dcw5vsmC3GK5KEoH";

fn sid(s: &str) -> Sid {
    Sid::new(s).unwrap()
}

fn addr() -> SocketAddr {
    "127.0.0.2:9898".parse().unwrap()
}

fn session(version: Option<ProtoVersion>) -> (GatewaySession, Instant) {
    let t0 = Instant::now();
    let mut cfg = SessionConfig::new(addr(), sid(GW), PASSWORD.parse().unwrap());
    cfg.version = version;
    (GatewaySession::new(cfg, t0), t0)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sent(s: &mut GatewaySession) -> Vec<String> {
    std::iter::from_fn(|| s.poll_transmit())
        .map(|t| {
            assert_eq!(t.to, addr());
            String::from_utf8(t.payload).unwrap()
        })
        .collect()
}

fn events(s: &mut GatewaySession) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn completed(events: &[SessionEvent]) -> Vec<(RequestId, Result<Reply, SessionError>)> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Completed { id, result } => Some((*id, result.clone())),
            _ => None,
        })
        .collect()
}

fn read_ack(s: &str, status: &str) -> Vec<u8> {
    let mut m = DeviceMessage::new(sid(s), Some("magnet".into()));
    m.props.push("status", status);
    lan::encode(&Message::ReadAck(m), ProtoVersion::V1)
}

fn heartbeat(token: &str) -> Vec<u8> {
    let mut m = DeviceMessage::new(sid(GW), Some("gateway".into()));
    m.short_id = Some(0);
    m.token = Some(Token::new(token));
    m.props.push("ip", "127.0.0.2");
    lan::encode(&Message::Heartbeat(m), ProtoVersion::V1)
}

fn invalid_key(s: &str) -> Vec<u8> {
    lan::encode(
        &Message::Error(ErrorReply {
            reply_to: ReplyTo::Write,
            sid: Some(sid(s)),
            model: None,
            error: ErrorCode::InvalidKey,
        }),
        ProtoVersion::V1,
    )
}

fn id_list(token: &str) -> Vec<u8> {
    lan::encode(
        &Message::IdList(IdList {
            sid: sid(GW),
            token: Some(Token::new(token)),
            devices: vec![IdListEntry {
                sid: sid(A),
                model: None,
            }],
        }),
        ProtoVersion::V1,
    )
}

fn mcast_from() -> SocketAddr {
    "127.0.0.2:4321".parse().unwrap()
}

#[test]
fn replies_are_matched_by_sid_not_by_order() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    let ra = s.read(t0, sid(A));
    let rb = s.read(t0, sid(B));
    assert_eq!(sent(&mut s).len(), 2, "different lanes run concurrently");
    // B answers first.
    s.handle_datagram(t0 + ms(3), addr(), &read_ack(B, "open"));
    s.handle_datagram(t0 + ms(4), addr(), &read_ack(A, "close"));
    let done = completed(&events(&mut s));
    assert_eq!(done.len(), 2);
    assert_eq!(done[0].0, rb);
    assert_eq!(done[0].1.as_ref().unwrap().sid(), &sid(B));
    assert_eq!(done[1].0, ra);
    assert_eq!(done[1].1.as_ref().unwrap().sid(), &sid(A));
}

#[test]
fn same_lane_is_fifo_and_duplicates_are_dropped() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    let first = s.read(t0, sid(A));
    let second = s.read(t0, sid(A));
    assert_eq!(sent(&mut s).len(), 1, "one request of a lane on the wire");
    s.handle_datagram(t0 + ms(5), addr(), &read_ack(A, "close"));
    // The duplicate arrives within the guard: nothing of the lane is on the wire.
    s.handle_datagram(t0 + ms(15), addr(), &read_ack(A, "close"));
    let ev = events(&mut s);
    let done = completed(&ev);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, first);
    assert!(ev.iter().any(|e| matches!(
        e,
        SessionEvent::Unmatched {
            reason: Unmatched::NoRequest,
            cmd: "read_ack",
            ..
        }
    )));
    assert!(sent(&mut s).is_empty(), "second held back by the guard");
    assert_eq!(s.poll_timeout(), Some(t0 + ms(55)));
    s.handle_timeout(t0 + ms(55));
    assert_eq!(sent(&mut s), [r#"{"cmd":"read","sid":"158d0001c1cdfb"}"#]);
    s.handle_datagram(t0 + ms(60), addr(), &read_ack(A, "open"));
    let done = completed(&events(&mut s));
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, second);
    assert_eq!(s.stats().unmatched, 1);
}

#[test]
fn foreign_address_and_unrequested_sid_are_unmatched() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    let id = s.read(t0, sid(A));
    sent(&mut s);
    let other: SocketAddr = "127.0.0.3:9898".parse().unwrap();
    s.handle_datagram(t0 + ms(1), other, &read_ack(A, "open"));
    // From the gateway's IP but not its command port.
    s.handle_datagram(t0 + ms(1), mcast_from(), &read_ack(A, "open"));
    s.handle_datagram(t0 + ms(2), addr(), &read_ack(B, "open"));
    let ev = events(&mut s);
    assert!(completed(&ev).is_empty());
    let reasons: Vec<Unmatched> = ev
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Unmatched { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            Unmatched::ForeignAddress,
            Unmatched::ForeignAddress,
            Unmatched::NoRequest
        ]
    );
    s.handle_datagram(t0 + ms(3), addr(), &read_ack(A, "open"));
    assert_eq!(completed(&events(&mut s))[0].0, id);
}

#[test]
fn sidless_error_only_when_unambiguous() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    let e = |s_: Option<&str>| {
        lan::encode(
            &Message::Error(ErrorReply {
                reply_to: ReplyTo::Read,
                sid: s_.map(sid),
                model: None,
                error: ErrorCode::NoSid,
            }),
            ProtoVersion::V1,
        )
    };
    s.read(t0, sid(A));
    s.read(t0, sid(B));
    s.handle_datagram(t0 + ms(1), addr(), &e(None));
    let ev = events(&mut s);
    assert!(ev.iter().any(|e| matches!(
        e,
        SessionEvent::Unmatched {
            reason: Unmatched::Ambiguous,
            ..
        }
    )));
    s.handle_datagram(t0 + ms(2), addr(), &read_ack(A, "open"));
    s.handle_datagram(t0 + ms(3), addr(), &e(None));
    let done = completed(&events(&mut s));
    assert_eq!(done.len(), 2);
    let Err(err) = &done[1].1 else { panic!() };
    assert!(
        matches!(err, SessionError::Rejected { sid: s_, error: ErrorCode::NoSid, .. } if *s_ == sid(B))
    );
    assert!(err.to_string().contains("get_id_list"), "{err}");
}

#[test]
fn retries_then_times_out() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    let id = s.read(t0, sid(A));
    let mut now = t0;
    let mut datagrams = sent(&mut s).len();
    while let Some(t) = s
        .poll_timeout()
        .filter(|t| *t < t0 + Duration::from_secs(10))
    {
        now = t;
        s.handle_timeout(now);
        datagrams += sent(&mut s).len();
        if s.outstanding() == 0 {
            break;
        }
    }
    assert_eq!(datagrams, 3);
    assert_eq!(now, t0 + Duration::from_secs(3));
    let done = completed(&events(&mut s));
    let Err(SessionError::Timeout {
        op: Op::Read,
        attempts: 3,
        after,
        ..
    }) = &done[0].1
    else {
        panic!("{done:?}")
    };
    assert_eq!((done[0].0, *after), (id, Duration::from_secs(3)));
    // A late reply is dropped.
    s.handle_datagram(now + ms(1), addr(), &read_ack(A, "open"));
    assert!(completed(&events(&mut s)).is_empty());
    assert_eq!(s.stats().timed_out, 1);
    assert_eq!(s.stats().retransmits, 2);
}

#[test]
fn write_keys_with_newest_token() {
    let (mut s, t0) = session(Some(ProtoVersion::V2));
    s.handle_datagram(t0, mcast_from(), &heartbeat(TOKEN));
    let ev = events(&mut s);
    assert_eq!(
        ev,
        [
            SessionEvent::VersionLearned {
                version: ProtoVersion::V1
            },
            SessionEvent::Online,
            SessionEvent::TokenRefreshed {
                source: TokenSource::Heartbeat
            }
        ]
    );
    // The heartbeat was v1-shaped: the gateway's dialect wins.
    assert_eq!(s.version(), Some(ProtoVersion::V1));
    s.write(t0, sid(A), Props::new().with("status", "on"));
    let out = sent(&mut s);
    let key = WriteKey::derive(&PASSWORD.parse().unwrap(), &Token::new(TOKEN)).unwrap();
    assert!(out[0].contains(key.to_hex()), "{out:?}");
}

#[test]
fn invalid_key_refreshes_once_then_fails_clearly() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    s.handle_datagram(t0, mcast_from(), &heartbeat(TOKEN));
    events(&mut s);
    let id = s.write(t0, sid(A), Props::new().with("status", "on"));
    let out = sent(&mut s);
    assert!(out[0].starts_with(r#"{"cmd":"write""#));
    s.handle_datagram(t0 + ms(5), addr(), &invalid_key(A));
    assert_eq!(sent(&mut s), [r#"{"cmd":"get_id_list"}"#]);
    // The token is the same (no rotation in between): the id list still releases the write,
    // once the lane's duplicate guard has passed.
    s.handle_datagram(t0 + ms(10), addr(), &id_list(TOKEN));
    assert!(sent(&mut s).is_empty());
    s.handle_timeout(t0 + ms(55));
    let out = sent(&mut s);
    assert_eq!(out.len(), 1);
    assert!(out[0].starts_with(r#"{"cmd":"write""#));
    s.handle_datagram(t0 + ms(60), addr(), &invalid_key(A));
    let done = completed(&events(&mut s));
    assert_eq!(done.len(), 1);
    let Err(e @ SessionError::InvalidKey { .. }) = &done[0].1 else {
        panic!("{done:?}")
    };
    assert_eq!(done[0].0, id);
    let text = e.to_string();
    for hint in [
        "password",
        "interface",
        "multicast",
        "write of 158d0001c1cdfb",
        GW,
    ] {
        assert!(text.contains(hint), "{text}");
    }
    assert!(!text.contains(PASSWORD) && !format!("{e:?}").contains(PASSWORD));
    assert!(sent(&mut s).is_empty(), "exactly one refresh and retry");
    assert_eq!(s.stats().token_refreshes, 1);
}

#[test]
fn invalid_key_then_fresh_token_succeeds() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    s.handle_datagram(t0, mcast_from(), &heartbeat(TOKEN));
    let id = s.write(t0, sid(A), Props::new().with("status", "on"));
    sent(&mut s);
    s.handle_datagram(t0 + ms(5), addr(), &invalid_key(A));
    sent(&mut s);
    // A new heartbeat counts as a fresh token too.
    s.handle_datagram(t0 + ms(70), mcast_from(), &heartbeat("AAAAAAAAAAAAAAAA"));
    let out = sent(&mut s);
    let key =
        WriteKey::derive(&PASSWORD.parse().unwrap(), &Token::new("AAAAAAAAAAAAAAAA")).unwrap();
    assert!(out[0].contains(key.to_hex()), "{out:?}");
    let mut ack = DeviceMessage::new(sid(A), Some("plug".into()));
    ack.props.push("status", "off");
    s.handle_datagram(
        t0 + ms(75),
        addr(),
        &lan::encode(&Message::WriteAck(ack), ProtoVersion::V1),
    );
    let done = completed(&events(&mut s));
    assert_eq!(done[0].0, id);
    assert!(matches!(done[0].1, Ok(Reply::Write(_))));
}

#[test]
fn write_without_token_and_version_probes_first() {
    let (mut s, t0) = session(None);
    let id = s.write(t0, sid(A), Props::new().with("channel_0", "on"));
    // Version unknown: read the gateway itself.
    assert_eq!(sent(&mut s), [r#"{"cmd":"read","sid":"7811dcb06972"}"#]);
    let mut gw = DeviceMessage::new(sid(GW), Some("acpartner.v3".into()));
    gw.props.push("proto_version", "2.0.1");
    s.handle_datagram(
        t0 + ms(5),
        addr(),
        &lan::encode(&Message::ReadAck(gw), ProtoVersion::V2),
    );
    assert_eq!(s.version(), Some(ProtoVersion::V2));
    // No token yet: discovery first.
    assert_eq!(sent(&mut s), [r#"{"cmd":"discovery"}"#]);
    let list = Message::IdList(IdList {
        sid: sid(GW),
        token: Some(Token::new(TOKEN)),
        devices: vec![],
    });
    s.handle_datagram(t0 + ms(9), addr(), &lan::encode(&list, ProtoVersion::V2));
    let out = sent(&mut s);
    assert_eq!(out.len(), 1);
    assert!(
        out[0].starts_with(r#"{"cmd":"write","sid":"158d0001c1cdfb","key":""#),
        "{out:?}"
    );
    let ev = events(&mut s);
    assert!(completed(&ev).is_empty());
    assert!(ev.contains(&SessionEvent::TokenRefreshed {
        source: TokenSource::IdList
    }));
    let _ = id;
}

#[test]
fn offline_after_65_s_and_back() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    s.handle_datagram(t0, mcast_from(), &heartbeat(TOKEN));
    assert!(s.is_online());
    events(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(65)));
    s.handle_timeout(t0 + Duration::from_secs(64));
    assert!(events(&mut s).is_empty());
    s.handle_timeout(t0 + Duration::from_secs(65));
    assert_eq!(
        events(&mut s),
        [SessionEvent::Offline {
            silent_for: Duration::from_secs(65)
        }]
    );
    assert_eq!(s.poll_timeout(), None);
    s.handle_datagram(
        t0 + Duration::from_secs(80),
        mcast_from(),
        &heartbeat("BBBBBBBBBBBBBBBB"),
    );
    assert_eq!(events(&mut s)[0], SessionEvent::Online);
}

#[test]
fn reports_and_subdevice_heartbeats_are_events() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    let mut m = DeviceMessage::new(sid(A), Some("magnet".into()));
    m.props.push("status", "open");
    s.handle_datagram(
        t0,
        mcast_from(),
        &lan::encode(&Message::Report(m.clone()), ProtoVersion::V1),
    );
    s.handle_datagram(
        t0,
        mcast_from(),
        &lan::encode(&Message::Heartbeat(m), ProtoVersion::V1),
    );
    s.handle_datagram(t0, mcast_from(), b"{not json");
    let ev = events(&mut s);
    // What the gateway sends proves it alive, whether or not its own heartbeat came.
    assert!(matches!(&ev[0], SessionEvent::Online), "{ev:?}");
    assert!(
        matches!(&ev[1], SessionEvent::Report { sid: x, props, .. } if *x == sid(A) && props.get_str("status").as_deref() == Some("open"))
    );
    assert!(matches!(&ev[2], SessionEvent::Heartbeat { sid: x, .. } if *x == sid(A)));
    assert!(matches!(&ev[3], SessionEvent::Undecodable { .. }));
    assert!(s.is_online());
}

#[test]
fn reports_keep_the_gateway_online_without_its_heartbeats() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    let mut m = DeviceMessage::new(sid(A), Some("magnet".into()));
    m.props.push("status", "open");
    let report = lan::encode(&Message::Report(m), ProtoVersion::V1);
    // A report every 30 s, no gateway heartbeat at all, for ten minutes: never offline.
    for i in 0..20u64 {
        let t = t0 + Duration::from_secs(30 * i);
        s.handle_timeout(t);
        s.handle_datagram(t, mcast_from(), &report);
    }
    let ev = events(&mut s);
    assert!(
        !ev.iter().any(|e| matches!(e, SessionEvent::Offline { .. })),
        "{ev:?}"
    );
    // Then silence: offline after the usual 65 s.
    s.handle_timeout(t0 + Duration::from_secs(30 * 19 + 65));
    assert!(
        events(&mut s)
            .iter()
            .any(|e| matches!(e, SessionEvent::Offline { .. }))
    );
}

#[test]
fn stale_heartbeat_duplicate_does_not_take_token_back() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    s.handle_datagram(t0, mcast_from(), &heartbeat(TOKEN));
    s.handle_datagram(t0 + ms(10), mcast_from(), &heartbeat("CCCCCCCCCCCCCCCC"));
    s.handle_datagram(t0 + ms(12), mcast_from(), &heartbeat(TOKEN));
    assert_eq!(s.token().unwrap().as_str(), "CCCCCCCCCCCCCCCC");
}

#[test]
fn nothing_secret_in_debug() {
    let (mut s, t0) = session(Some(ProtoVersion::V1));
    s.handle_datagram(t0, mcast_from(), &heartbeat(TOKEN));
    s.write(t0, sid(A), Props::new().with("status", "on"));
    let key = WriteKey::derive(&PASSWORD.parse().unwrap(), &Token::new(TOKEN)).unwrap();
    let shown = format!("{s:?} {:?}", s.config());
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!shown.contains(key.to_hex()), "{shown}");
}
