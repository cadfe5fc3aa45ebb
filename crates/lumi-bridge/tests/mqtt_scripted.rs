//! `lumi_bridge::mqtt::Link` against a scripted broker on loopback: a TCP listener that reads
//! and writes raw MQTT packets, to check what the link sends (CONNECT with will and login, the
//! publishes resent after a reconnect, in order) and that nothing a broker sends makes it panic
//! or give up. No mosquitto needed.

use std::net::SocketAddr;
use std::time::Duration;

use lumi_bridge::config::{Qos, Secret};
use lumi_bridge::mqtt::{Link, LinkEvent, LinkEvents, LinkOptions, Will};
use lumi_bridge::testkit::scripted::{Conn, WAIT, listener};
use rumqttc::{Packet, PubAck, QoS, SubAck, SubscribeReasonCode};

fn options(addr: SocketAddr, id: &str) -> LinkOptions {
    let mut o = LinkOptions::new(addr.ip().to_string(), addr.port(), id);
    o.backoff_min = Duration::from_millis(10);
    o.backoff_max = Duration::from_millis(40);
    o
}

/// The next event that is not a connection failure.
async fn next_event(events: &mut LinkEvents) -> LinkEvent {
    loop {
        let e = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("an event")
            .expect("the driver runs");
        if !matches!(e, LinkEvent::ConnectFailed { .. }) {
            return e;
        }
    }
}

#[tokio::test]
async fn connect_carries_client_id_login_keepalive_and_will() {
    let (l, addr) = listener().await;
    let mut o = options(addr, "lumi-bridge-1");
    o.username = Some("lumi".into());
    o.password = Some(Secret::new("hunter2-mqtt"));
    o.keepalive = Duration::from_secs(42);
    o.will = Some(Will::new(
        "lumi/bridge/state",
        r#"{"state":"offline"}"#,
        Qos::AtLeastOnce,
        true,
    ));
    let (_link, _events) = Link::start(o).unwrap();
    let mut c = Conn::accept(&l).await;
    let connect = c.handshake().await;
    assert_eq!(connect.client_id, "lumi-bridge-1");
    assert_eq!(connect.keep_alive, 42);
    assert!(connect.clean_session);
    let login = connect.login.expect("login");
    assert_eq!(
        (login.username.as_str(), login.password.as_str()),
        ("lumi", "hunter2-mqtt")
    );
    let will = connect.last_will.expect("will");
    assert_eq!(will.topic, "lumi/bridge/state");
    assert_eq!(&will.message[..], br#"{"state":"offline"}"#);
    assert_eq!(will.qos, QoS::AtLeastOnce);
    assert!(will.retain);
}

#[tokio::test]
async fn subscribes_on_every_connack_and_reports_connected_after_the_suback() {
    let (l, addr) = listener().await;
    let mut o = options(addr, "resub");
    o.subscriptions = vec![
        ("lumi/+/set".into(), Qos::AtLeastOnce),
        ("homeassistant/status".into(), Qos::AtMostOnce),
    ];
    let (_link, mut events) = Link::start(o).unwrap();
    for round in 0..2 {
        let mut c = Conn::accept(&l).await;
        c.handshake().await;
        let Packet::Subscribe(s) = c.next().await else {
            panic!("round {round}: expected SUBSCRIBE")
        };
        let filters: Vec<(&str, QoS)> =
            s.filters.iter().map(|f| (f.path.as_str(), f.qos)).collect();
        assert_eq!(
            filters,
            [
                ("lumi/+/set", QoS::AtLeastOnce),
                ("homeassistant/status", QoS::AtMostOnce)
            ]
        );
        // Not connected until the subscription is in place.
        assert_eq!(events.try_recv(), None, "round {round}");
        c.send(Packet::SubAck(SubAck::new(
            s.pkid,
            vec![
                SubscribeReasonCode::Success(QoS::AtLeastOnce),
                SubscribeReasonCode::Failure,
            ],
        )))
        .await;
        assert_eq!(
            next_event(&mut events).await,
            LinkEvent::Connected {
                session_present: false
            }
        );
        // The refused filter is named (the daemon tells the user on bridge/logging).
        assert_eq!(
            next_event(&mut events).await,
            LinkEvent::SubscriptionRefused {
                filters: vec!["homeassistant/status".into()]
            }
        );
        // The broker restarts: the connection drops.
        drop(c);
        assert!(matches!(
            next_event(&mut events).await,
            LinkEvent::Disconnected { .. }
        ));
    }
}

#[tokio::test]
async fn a_refused_subscription_at_run_time_is_named_and_kept_for_the_next_connect() {
    let (l, addr) = listener().await;
    let mut o = options(addr, "runtime-sub");
    o.subscriptions = vec![("lumi/+/set".into(), Qos::AtLeastOnce)];
    let (link, mut events) = Link::start(o).unwrap();
    let mut c = Conn::accept(&l).await;
    c.handshake().await;
    let Packet::Subscribe(s) = c.next().await else {
        panic!("expected the connect's SUBSCRIBE")
    };
    c.send(Packet::SubAck(SubAck::new(
        s.pkid,
        vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)],
    )))
    .await;
    assert!(matches!(
        next_event(&mut events).await,
        LinkEvent::Connected { .. }
    ));

    // A rename made a deeper name: two more filters, one of which the broker refuses.
    link.subscribe(vec![
        ("lumi/+/+/set".into(), Qos::AtLeastOnce),
        ("lumi/+/+/get".into(), Qos::AtLeastOnce),
    ])
    .await
    .unwrap();
    let Packet::Subscribe(s) = c.next().await else {
        panic!("expected the run-time SUBSCRIBE")
    };
    let filters: Vec<&str> = s.filters.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(filters, ["lumi/+/+/set", "lumi/+/+/get"]);
    c.send(Packet::SubAck(SubAck::new(
        s.pkid,
        vec![
            SubscribeReasonCode::Success(QoS::AtLeastOnce),
            SubscribeReasonCode::Failure,
        ],
    )))
    .await;
    assert_eq!(
        next_event(&mut events).await,
        LinkEvent::SubscriptionRefused {
            filters: vec!["lumi/+/+/get".into()]
        }
    );

    // The next connection subscribes to all three at once.
    drop(c);
    assert!(matches!(
        next_event(&mut events).await,
        LinkEvent::Disconnected { .. }
    ));
    let mut c = Conn::accept(&l).await;
    c.handshake().await;
    let Packet::Subscribe(s) = c.next().await else {
        panic!("expected the connect's SUBSCRIBE")
    };
    let filters: Vec<&str> = s.filters.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(filters, ["lumi/+/set", "lumi/+/+/set", "lumi/+/+/get"]);
}

#[tokio::test]
async fn qos1_messages_in_flight_at_a_disconnect_are_resent_first_and_in_order() {
    let (l, addr) = listener().await;
    let (link, mut events) = Link::start(options(addr, "inflight")).unwrap();

    // First connection: the broker reads three QoS 1 publishes, acknowledges none, and dies.
    let mut c = Conn::accept(&l).await;
    c.handshake().await;
    assert_eq!(
        next_event(&mut events).await,
        LinkEvent::Connected {
            session_present: false
        }
    );
    for n in 1..=3 {
        link.publish(format!("lumi/m{n}"), format!("{n}"), Qos::AtLeastOnce, true)
            .unwrap();
    }
    for n in 1..=3 {
        let Packet::Publish(p) = c.next().await else {
            panic!("expected PUBLISH")
        };
        assert_eq!(p.topic, format!("lumi/m{n}"));
    }
    drop(c);
    assert!(matches!(
        next_event(&mut events).await,
        LinkEvent::Disconnected { .. }
    ));

    // Second connection (a new session): the three come again before anything newer.
    let mut c = Conn::accept(&l).await;
    c.handshake().await;
    assert_eq!(
        next_event(&mut events).await,
        LinkEvent::Connected {
            session_present: false
        }
    );
    link.publish("lumi/m4", "4", Qos::AtLeastOnce, true)
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        let Packet::Publish(p) = c.next().await else {
            panic!("expected PUBLISH")
        };
        assert_eq!(p.qos, QoS::AtLeastOnce);
        assert!(p.retain);
        got.push((
            p.topic.clone(),
            String::from_utf8_lossy(&p.payload).into_owned(),
        ));
        c.send(Packet::PubAck(PubAck::new(p.pkid))).await;
    }
    let want: Vec<(String, String)> = (1..=4)
        .map(|n| (format!("lumi/m{n}"), n.to_string()))
        .collect();
    assert_eq!(got, want);
    let stats = link.stats();
    assert_eq!(
        (stats.connects, stats.reconnects, stats.published),
        (2, 1, 4)
    );
    assert_eq!(stats.sent, 7, "three sent twice, one once");
}

#[tokio::test]
async fn publishes_made_while_the_broker_is_down_go_out_after_the_connect() {
    let (l, addr) = listener().await;
    let (link, mut events) = Link::start(options(addr, "outage")).unwrap();
    // Nobody accepts yet... the connect is pending in the listen backlog; publish meanwhile.
    for n in 0..5 {
        link.publish(format!("lumi/q{n}"), "x", Qos::AtMostOnce, false)
            .unwrap();
    }
    let mut c = Conn::accept(&l).await;
    c.handshake().await;
    assert_eq!(
        next_event(&mut events).await,
        LinkEvent::Connected {
            session_present: false
        }
    );
    for n in 0..5 {
        let Packet::Publish(p) = c.next().await else {
            panic!("expected PUBLISH")
        };
        assert_eq!(p.topic, format!("lumi/q{n}"));
    }
}

#[tokio::test]
async fn disconnect_sends_disconnect_after_everything_published_before() {
    let (l, addr) = listener().await;
    let (link, mut events) = Link::start(options(addr, "bye")).unwrap();
    let mut c = Conn::accept(&l).await;
    c.handshake().await;
    assert_eq!(
        next_event(&mut events).await,
        LinkEvent::Connected {
            session_present: false
        }
    );
    link.publish(
        "lumi/bridge/state",
        r#"{"state":"offline"}"#,
        Qos::AtMostOnce,
        true,
    )
    .unwrap();
    let broker = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(p) = c.read().await {
            seen.push(p);
        }
        seen
    });
    link.disconnect().await;
    assert!(link.is_closed());
    let seen = broker.await.unwrap();
    assert!(
        matches!(&seen[..], [Packet::Publish(p), Packet::Disconnect] if p.topic == "lumi/bridge/state"),
        "{seen:?}"
    );
    let e = link
        .publish("lumi/x", "late", Qos::AtMostOnce, false)
        .unwrap_err();
    assert!(matches!(e, lumi_bridge::mqtt::LinkError::Closed), "{e}");
    // The driver stopped: the events end.
    while let Some(e) = tokio::time::timeout(WAIT, events.recv()).await.unwrap() {
        assert!(!matches!(e, LinkEvent::Connected { .. }), "{e:?}");
    }
}

#[tokio::test]
async fn messages_from_the_broker_become_events_and_qos1_ones_are_acknowledged() {
    let (l, addr) = listener().await;
    let (link, mut events) = Link::start(options(addr, "incoming")).unwrap();
    let mut c = Conn::accept(&l).await;
    c.handshake().await;
    assert_eq!(
        next_event(&mut events).await,
        LinkEvent::Connected {
            session_present: false
        }
    );
    let mut p = rumqttc::Publish::new("lumi/plug/set", QoS::AtLeastOnce, r#"{"state":"ON"}"#);
    p.pkid = 7;
    p.retain = true;
    c.send(Packet::Publish(p)).await;
    assert_eq!(
        next_event(&mut events).await,
        LinkEvent::Message {
            topic: "lumi/plug/set".into(),
            payload: br#"{"state":"ON"}"#.to_vec(),
            retain: true,
            qos: Qos::AtLeastOnce,
        }
    );
    assert_eq!(c.next().await, Packet::PubAck(PubAck::new(7)));
    assert_eq!(link.stats().received, 1);
}

/// What a broker might send after accepting a TCP connection.
#[derive(Debug, Clone, Copy)]
enum Misbehaviour {
    CloseAtOnce,
    GarbageInsteadOfConnack,
    PublishInsteadOfConnack,
    RefuseBadLogin,
    InvalidConnackCode,
    GarbageAfterConnack,
    HugeLengthAfterConnack,
    InvalidUtf8TopicAfterConnack,
    UnsolicitedPubackAfterConnack,
    MalformedRemainingLength,
    SubackForNothing,
}

#[tokio::test]
async fn nothing_a_broker_sends_makes_the_link_panic_or_give_up() {
    use Misbehaviour::*;
    let (l, addr) = listener().await;
    let (link, mut events) = Link::start(options(addr, "robust")).unwrap();
    let script = [
        CloseAtOnce,
        GarbageInsteadOfConnack,
        PublishInsteadOfConnack,
        RefuseBadLogin,
        InvalidConnackCode,
        GarbageAfterConnack,
        HugeLengthAfterConnack,
        InvalidUtf8TopicAfterConnack,
        UnsolicitedPubackAfterConnack,
        MalformedRemainingLength,
        SubackForNothing,
    ];
    for m in script {
        let mut c = Conn::accept(&l).await;
        let Packet::Connect(_) = c.next().await else {
            panic!("{m:?}: expected CONNECT")
        };
        let connack = [0x20, 0x02, 0x00, 0x00];
        match m {
            CloseAtOnce => {
                c.shutdown().await;
            }
            GarbageInsteadOfConnack => c.raw(&[0xff; 32]).await,
            PublishInsteadOfConnack => c.raw(&[0x30, 0x05, 0x00, 0x01, b'a', b'h', b'i']).await,
            RefuseBadLogin => c.raw(&[0x20, 0x02, 0x00, 0x04]).await,
            InvalidConnackCode => c.raw(&[0x20, 0x02, 0x00, 0x77]).await,
            GarbageAfterConnack => {
                c.raw(&[&connack[..], &[0x00, 0x00, 0xff, 0x13, 0x37][..]].concat())
                    .await
            }
            // A PUBLISH claiming 200 MB: over the incoming limit.
            HugeLengthAfterConnack => {
                c.raw(&[&connack[..], &[0x30, 0xff, 0xff, 0xff, 0x7f][..]].concat())
                    .await
            }
            InvalidUtf8TopicAfterConnack => {
                c.raw(
                    &[
                        &connack[..],
                        &[0x30, 0x06, 0x00, 0x02, 0xc3, 0x28, b'h', b'i'][..],
                    ]
                    .concat(),
                )
                .await;
            }
            UnsolicitedPubackAfterConnack => {
                c.raw(&[&connack[..], &[0x40, 0x02, 0x03, 0xe7][..]].concat())
                    .await
            }
            MalformedRemainingLength => {
                c.raw(&[&connack[..], &[0x30, 0xff, 0xff, 0xff, 0xff, 0xff][..]].concat())
                    .await
            }
            SubackForNothing => {
                // Harmless: ignored, and the link keeps working.
                c.raw(&[&connack[..], &[0x90, 0x03, 0x00, 0x09, 0x80][..]].concat())
                    .await;
                assert_eq!(
                    next_event(&mut events).await,
                    LinkEvent::Connected {
                        session_present: false
                    }
                );
                link.publish("lumi/still", "1", Qos::AtMostOnce, false)
                    .unwrap();
                let Packet::Publish(p) = c.next().await else {
                    panic!("expected PUBLISH")
                };
                assert_eq!(p.topic, "lumi/still");
                c.shutdown().await;
            }
        }
        // The link gives up on this connection (it may see a CONNACK first) and comes back.
        loop {
            let e = tokio::time::timeout(WAIT, events.recv())
                .await
                .unwrap_or_else(|_| panic!("{m:?}: no event"))
                .expect("the driver runs");
            match e {
                LinkEvent::ConnectFailed { reason, .. } | LinkEvent::Disconnected { reason } => {
                    assert!(!reason.is_empty());
                    if let RefuseBadLogin = m {
                        assert!(reason.contains("bad user name or password"), "{reason}");
                    }
                    break;
                }
                LinkEvent::Connected { .. } => {}
                other => panic!("{m:?}: {other:?}"),
            }
        }
        drop(c);
    }
    // After all that, a well-behaved broker gets a working link.
    let mut c = Conn::accept(&l).await;
    c.handshake().await;
    assert_eq!(
        next_event(&mut events).await,
        LinkEvent::Connected {
            session_present: false
        }
    );
    link.publish("lumi/ok", "1", Qos::AtMostOnce, false)
        .unwrap();
    let Packet::Publish(p) = c.next().await else {
        panic!("expected PUBLISH")
    };
    assert_eq!(p.topic, "lumi/ok");
    assert!(link.stats().failed_attempts >= 5);
}

#[tokio::test]
async fn failed_attempts_back_off_exponentially() {
    // Nothing listens on this port.
    let (l, addr) = listener().await;
    drop(l);
    let mut o = options(addr, "backoff");
    o.backoff_min = Duration::from_millis(20);
    o.backoff_max = Duration::from_millis(80);
    let (link, mut events) = Link::start(o).unwrap();
    let started = tokio::time::Instant::now();
    let mut waits = Vec::new();
    while waits.len() < 5 {
        match tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            LinkEvent::ConnectFailed {
                reason,
                attempt,
                retry_in,
            } => {
                assert_eq!(attempt as usize, waits.len() + 1);
                assert!(reason.starts_with("connection refused"), "{reason}");
                waits.push(retry_in.as_millis());
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(waits, [20, 40, 80, 80, 80]);
    // The waits really happened (an immediate retry loop would take microseconds).
    assert!(started.elapsed() >= Duration::from_millis(20 + 40 + 80 + 80));
    assert_eq!(link.stats().failed_attempts, 5);
    // Stopping while disconnected is immediate.
    link.disconnect().await;
    assert!(link.is_closed());
}

#[tokio::test]
async fn a_full_queue_refuses_and_counts_without_blocking() {
    let (l, addr) = listener().await;
    drop(l);
    let mut o = options(addr, "full");
    o.queue = 3;
    let (link, _events) = Link::start(o).unwrap();
    for n in 0..3 {
        link.publish(format!("lumi/{n}"), "x", Qos::AtLeastOnce, false)
            .unwrap();
    }
    let e = link
        .publish("lumi/overflow", "x", Qos::AtLeastOnce, false)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "mqtt publish queue is full (3 messages wait for the broker): dropped the message to lumi/overflow"
    );
    let stats = link.stats();
    assert_eq!((stats.published, stats.dropped_full), (3, 1));
}

#[tokio::test]
async fn messages_over_the_packet_limit_are_refused_before_they_break_the_connection() {
    let (l, addr) = listener().await;
    let mut o = options(addr, "big");
    o.max_packet_size = 4096;
    let (link, mut events) = Link::start(o).unwrap();
    let mut c = Conn::accept(&l).await;
    c.handshake().await;
    assert_eq!(
        next_event(&mut events).await,
        LinkEvent::Connected {
            session_present: false
        }
    );
    let e = link
        .publish("lumi/big", vec![0u8; 4096], Qos::AtMostOnce, false)
        .unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");
    // Exactly at the limit: 1 header byte + 2 length bytes + 2 + 8 topic bytes + payload.
    link.publish("lumi/big", vec![0u8; 4096 - 13], Qos::AtMostOnce, false)
        .unwrap();
    let Packet::Publish(p) = c.next().await else {
        panic!("expected PUBLISH")
    };
    assert_eq!(p.payload.len(), 4096 - 13);
}

#[tokio::test]
async fn dropping_every_handle_stops_the_driver() {
    let (l, addr) = listener().await;
    let (link, mut events) = Link::start(options(addr, "dropped")).unwrap();
    let mut c = Conn::accept(&l).await;
    c.handshake().await;
    assert_eq!(
        next_event(&mut events).await,
        LinkEvent::Connected {
            session_present: false
        }
    );
    let clone = link.clone();
    drop(link);
    drop(clone);
    // The connection is closed without a DISCONNECT (the broker publishes the will).
    assert_eq!(c.read().await, None);
    assert_eq!(
        tokio::time::timeout(WAIT, events.recv()).await.unwrap(),
        None
    );
}
