//! The embedded broker (rumqttd): starts on loopback, refuses a taken port with advice,
//! keeps retained messages, carries a large installation's retained state and a 50 000-message
//! burst. Each test starts its own broker on port 0 (rumqttd cannot be stopped: they live until
//! the test process exits).
#![cfg(feature = "embedded-broker")]

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use lumi_bridge::broker::{BrokerError, EmbeddedBroker};
use lumi_bridge::config::Qos;
use lumi_bridge::mqtt::{Link, LinkEvent, LinkEvents, LinkOptions};
use lumi_bridge::testkit::Subscriber;

const WAIT: Duration = Duration::from_secs(5);

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn connected(events: &mut LinkEvents) {
    loop {
        match tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("Connected in time")
        {
            Some(LinkEvent::Connected { .. }) => return,
            Some(_) => {}
            None => panic!("the driver stopped"),
        }
    }
}

async fn link(broker: &EmbeddedBroker, id: &str, subscriptions: &[&str]) -> (Link, LinkEvents) {
    let mut o = LinkOptions::new("127.0.0.1", broker.local_addr().port(), id);
    o.subscriptions = subscriptions
        .iter()
        .map(|f| ((*f).to_owned(), Qos::AtLeastOnce))
        .collect();
    let (link, mut events) = Link::start(o).unwrap();
    connected(&mut events).await;
    (link, events)
}

#[test]
fn port_zero_picks_a_free_port() {
    let a = EmbeddedBroker::start(any_port()).unwrap();
    let b = EmbeddedBroker::start(any_port()).unwrap();
    assert_ne!(a.local_addr().port(), 0);
    assert_ne!(a.local_addr(), b.local_addr());
    assert_eq!(a.url(), format!("mqtt://{}", a.local_addr()));
}

#[test]
fn a_taken_port_is_refused_with_advice_instead_of_talking_to_the_other_broker() {
    let other = TcpListener::bind(any_port()).unwrap();
    let addr = other.local_addr().unwrap();
    let e = EmbeddedBroker::start(addr).unwrap_err();
    assert!(
        matches!(e, BrokerError::AddrInUse { addr: a } if a == addr),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{addr} is already in use, probably by another MQTT broker: to use that broker set mqtt.url = \"mqtt://{addr}\" in lumi.toml, or move the embedded one with mqtt.listen"
        )
    );
}

#[test]
fn an_address_of_another_machine_is_refused() {
    // TEST-NET-2: not an address of this machine; binding fails locally, nothing is sent.
    let addr: SocketAddr = "198.51.100.7:0".parse().unwrap();
    let e = EmbeddedBroker::start(addr).unwrap_err();
    assert!(matches!(e, BrokerError::Bind { .. }), "{e:?}");
    assert!(e.to_string().contains("check mqtt.listen"), "{e}");
}

#[tokio::test]
async fn a_retained_message_reaches_a_later_subscriber() {
    let broker = EmbeddedBroker::start(any_port()).unwrap();
    let (link, _events) = link(&broker, "retainer", &[]).await;
    let config = r#"{"name":"temperature","state_topic":"lumi/hall"}"#;
    link.publish(
        "homeassistant/sensor/lumi_1_temperature/config",
        config,
        Qos::AtLeastOnce,
        true,
    )
    .unwrap();
    link.publish("lumi/hall", "not retained", Qos::AtLeastOnce, false)
        .unwrap();
    // Both reached the broker once a later message from the same client has.
    let sync = Subscriber::connect(broker.local_addr(), &["sync"]).await;
    link.publish("sync", "", Qos::AtLeastOnce, false).unwrap();
    sync.wait_for("sync", WAIT).await.unwrap();

    let retained = Subscriber::retained(broker.local_addr(), "#", Duration::from_millis(100)).await;
    assert_eq!(retained.len(), 1, "{retained:?}");
    assert_eq!(
        retained[0].topic,
        "homeassistant/sensor/lumi_1_temperature/config"
    );
    assert_eq!(retained[0].text(), config);
}

#[tokio::test]
async fn a_link_connects_subscribes_and_round_trips() {
    let broker = EmbeddedBroker::start(any_port()).unwrap();
    let (link, mut events) = link(&broker, "bridge", &["lumi/+/set"]).await;
    let sub = Subscriber::connect(broker.local_addr(), &["lumi/#"]).await;

    sub.publish("lumi/plug/set", r#"{"state":"ON"}"#, false)
        .await;
    let e = loop {
        let e = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap();
        if matches!(e, LinkEvent::Message { .. }) {
            break e;
        }
    };
    assert_eq!(
        e,
        LinkEvent::Message {
            topic: "lumi/plug/set".into(),
            payload: br#"{"state":"ON"}"#.to_vec(),
            retain: false,
            qos: Qos::AtLeastOnce,
        }
    );
    link.publish("lumi/plug", r#"{"state":"ON"}"#, Qos::AtLeastOnce, true)
        .unwrap();
    assert_eq!(
        sub.wait_for("lumi/plug", WAIT).await.unwrap().text(),
        r#"{"state":"ON"}"#
    );
}

/// 10 gateways × 50 devices: a retained state and availability per device, 9 discovery configs
/// per device, and a `bridge/devices` list of 600 KB. A fresh QoS 0 subscriber to `#` (as Home
/// Assistant subscribes to discovery) gets every one of them.
#[tokio::test]
async fn a_large_installation_s_retained_state_reaches_a_new_subscriber_complete() {
    let broker = EmbeddedBroker::start(any_port()).unwrap();
    let (link, _events) = link(&broker, "big-bridge", &[]).await;
    let state = format!(
        r#"{{"temperature":21.2,"humidity":52.7,"pad":"{}"}}"#,
        "x".repeat(250)
    );
    let config = format!(
        r#"{{"device":{{"identifiers":["lumi"]}},"pad":"{}"}}"#,
        "y".repeat(850)
    );
    let mut expected = 0;
    for d in 0..500 {
        link.publish_wait(
            format!("lumi/device_{d}"),
            state.clone(),
            Qos::AtLeastOnce,
            true,
        )
        .await
        .unwrap();
        link.publish_wait(
            format!("lumi/device_{d}/availability"),
            r#"{"state":"online"}"#,
            Qos::AtLeastOnce,
            true,
        )
        .await
        .unwrap();
        for e in 0..9 {
            link.publish_wait(
                format!("homeassistant/sensor/lumi_{d}_{e}/config"),
                config.clone(),
                Qos::AtLeastOnce,
                true,
            )
            .await
            .unwrap();
        }
        expected += 11;
    }
    let devices = vec![b'd'; 600_000];
    link.publish_wait(
        "lumi/bridge/devices",
        devices.clone(),
        Qos::AtLeastOnce,
        true,
    )
    .await
    .unwrap();
    expected += 1;
    let sync = Subscriber::connect(broker.local_addr(), &["sync"]).await;
    link.publish_wait("sync", "", Qos::AtLeastOnce, false)
        .await
        .unwrap();
    sync.wait_for("sync", WAIT).await.unwrap();

    let started = Instant::now();
    let retained = Subscriber::retained(broker.local_addr(), "#", Duration::from_millis(300)).await;
    eprintln!(
        "{} retained messages delivered to a new subscriber in {:?}",
        retained.len(),
        started.elapsed()
    );
    assert_eq!(retained.len(), expected);
    let list = retained
        .iter()
        .find(|m| m.topic == "lumi/bridge/devices")
        .unwrap();
    assert!(list.payload == devices);
    assert!(retained.iter().all(|m| m.retain));
}

/// rumqttd keeps each subscription's messages in a log of `ROUTER.max_segment_size ×
/// max_segment_count` bytes (2 MiB) besides what it has already handed to the connection.
/// Here the subscriber reads *nothing* while 8 000 QoS 0 messages (about 1 MB) are published
/// as fast as the link can, then reads: every one arrives, in order. (Measured with this test
/// at 120 000 messages: the subscriber got the first 33 468, then skipped to the last 15 812,
/// the log's 2 MiB.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_a_burst_behind_still_gets_every_message() {
    const N: usize = 8_000;
    let broker = EmbeddedBroker::start(any_port()).unwrap();
    let port = broker.local_addr().port();
    // A plain rumqttc client whose event loop is not polled during the burst: it reads
    // nothing, so everything waits in the broker's log (and the socket buffers).
    let mut o = rumqttc::MqttOptions::new("stalled", "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(60));
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(o, 16);
    client
        .subscribe("burst/#", rumqttc::QoS::AtMostOnce)
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(WAIT, eventloop.poll()).await {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)))) => break,
            Ok(Ok(_)) => {}
            other => panic!("subscribing: {other:?}"),
        }
    }
    let (link, _events) = link(&broker, "burster", &[]).await;
    let filler = "x".repeat(92);
    for i in 0..N {
        // 100 bytes: the sequence number, then filler.
        link.publish_wait(
            format!("burst/{}", i % 500),
            format!("{i:08}{filler}"),
            Qos::AtMostOnce,
            false,
        )
        .await
        .unwrap();
    }
    // The publisher's last message is on the broker once this one, behind it, is delivered.
    let sync = Subscriber::connect(broker.local_addr(), &["sync"]).await;
    link.publish_wait("sync", "", Qos::AtMostOnce, false)
        .await
        .unwrap();
    sync.wait_for("sync", WAIT).await.unwrap();

    // Now the stalled subscriber reads.
    let mut next = 0usize;
    while next < N {
        match tokio::time::timeout(WAIT, eventloop.poll()).await {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)))) => {
                let seq: usize = std::str::from_utf8(&p.payload[..8])
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(seq, next, "skipped or reordered");
                next += 1;
            }
            Ok(Ok(_)) => {}
            other => panic!("after {next} of {N} messages: {other:?}"),
        }
    }
}

/// rumqttd leaves Nagle's algorithm on for the connections it accepts; then each small
/// message to a subscriber waits for the ACK of the one before, which the subscriber's kernel
/// delays: `lumi bench --rate 2000` measured a median of 4.8 ms, spread over 0–10 ms
/// (vendor/rumqttd/PATCH.md). Paced messages must arrive about as soon as they are sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_not_held_back_by_nagles_algorithm() {
    const N: usize = 300;
    let broker = EmbeddedBroker::start(any_port()).unwrap();
    // At QoS 0, as Home Assistant subscribes to states: the subscriber sends nothing back, so
    // nothing carries the ACKs but the kernel's delayed ACK.
    let mut o = LinkOptions::new("127.0.0.1", broker.local_addr().port(), "nagle-sub");
    o.subscriptions = vec![("paced/+".to_owned(), Qos::AtMostOnce)];
    let (_sub, mut events) = Link::start(o).unwrap();
    connected(&mut events).await;
    let (publisher, _pub_events) = link(&broker, "nagle-pub", &[]).await;
    let clock = Instant::now();
    let receiver = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(N);
        while latencies.len() < N {
            match tokio::time::timeout(WAIT, events.recv()).await {
                Ok(Some(LinkEvent::Message { payload, .. })) => {
                    let sent: u64 = String::from_utf8(payload).unwrap().parse().unwrap();
                    let now = clock.elapsed().as_micros() as u64;
                    latencies.push(now.saturating_sub(sent));
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => panic!("only {} of {N} messages arrived", latencies.len()),
            }
        }
        latencies
    });
    // Paced like a house's reports (the load, not a synchronisation).
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    for _ in 0..N {
        tick.tick().await;
        let sent = clock.elapsed().as_micros() as u64;
        publisher
            .publish("paced/x", sent.to_string(), Qos::AtLeastOnce, false)
            .unwrap();
    }
    let mut latencies = receiver.await.unwrap();
    latencies.sort_unstable();
    let median = latencies[N / 2];
    assert!(
        median < 1_500,
        "median latency {median} µs (Nagle's algorithm on the broker's side?): {:?}",
        &latencies[N / 2 - 5..N / 2 + 5]
    );
}
