//! `lumi_bridge::mqtt::Link` against a real broker: mosquitto, one private instance per test
//! (`lumi_bridge::testkit`), on loopback. Skipped when mosquitto is not installed, unless
//! `LUMI_REQUIRE_MOSQUITTO=1`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lumi_bridge::config::{Qos, Secret, TlsFiles};
use lumi_bridge::mqtt::{Link, LinkEvent, LinkEvents, LinkOptions, Will};
use lumi_bridge::testkit::{Mosquitto, Subscriber, mosquitto_or_skip, mosquitto_with_or_skip};

const WAIT: Duration = Duration::from_secs(5);

fn options(m: &Mosquitto, id: &str) -> LinkOptions {
    let mut o = LinkOptions::new("127.0.0.1", m.port(), id);
    o.backoff_min = Duration::from_millis(20);
    o.backoff_max = Duration::from_millis(100);
    o
}

/// Waits for `Connected`, skipping failed attempts and disconnections.
async fn connected(events: &mut LinkEvents) {
    loop {
        match tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("Connected in time")
        {
            Some(LinkEvent::Connected { .. }) => return,
            Some(LinkEvent::Message { topic, .. }) => panic!("unexpected message on {topic}"),
            Some(_) => {}
            None => panic!("the driver stopped"),
        }
    }
}

/// The next event matching `want`, skipping others.
async fn event(events: &mut LinkEvents, want: impl Fn(&LinkEvent) -> bool) -> LinkEvent {
    loop {
        let e = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("the event in time")
            .expect("the driver runs");
        if want(&e) {
            return e;
        }
    }
}

async fn message(events: &mut LinkEvents) -> (String, Vec<u8>) {
    match event(events, |e| matches!(e, LinkEvent::Message { .. })).await {
        LinkEvent::Message { topic, payload, .. } => (topic, payload),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn publishes_and_receives_through_mosquitto() {
    let Some(m) = mosquitto_or_skip() else { return };
    let sub = Subscriber::connect(m.addr(), &["lumi/#"]).await;
    let mut o = options(&m, "round-trip");
    o.subscriptions = vec![("lumi/+/set".into(), Qos::AtLeastOnce)];
    let (link, mut events) = Link::start(o).unwrap();
    connected(&mut events).await;

    link.publish(
        "lumi/kitchen",
        r#"{"temperature":21.2}"#,
        Qos::AtLeastOnce,
        false,
    )
    .unwrap();
    let got = sub.wait_for("lumi/kitchen", WAIT).await.unwrap();
    assert_eq!(got.text(), r#"{"temperature":21.2}"#);
    assert_eq!(got.qos, Qos::AtLeastOnce);

    sub.publish("lumi/plug/set", r#"{"state":"ON"}"#, false)
        .await;
    assert_eq!(
        event(&mut events, |e| matches!(e, LinkEvent::Message { .. })).await,
        LinkEvent::Message {
            topic: "lumi/plug/set".into(),
            payload: br#"{"state":"ON"}"#.to_vec(),
            retain: false,
            qos: Qos::AtLeastOnce,
        }
    );
    let stats = link.stats();
    assert_eq!((stats.connects, stats.published, stats.received), (1, 1, 1));
}

#[tokio::test]
async fn subscriptions_come_back_after_a_broker_restart() {
    let Some(mut m) = mosquitto_or_skip() else {
        return;
    };
    let mut o = options(&m, "resubscribe");
    o.subscriptions = vec![("lumi/+/set".into(), Qos::AtLeastOnce)];
    let (link, mut events) = Link::start(o).unwrap();
    connected(&mut events).await;

    m.restart().unwrap();
    event(&mut events, |e| matches!(e, LinkEvent::Disconnected { .. })).await;
    connected(&mut events).await;
    // The restarted broker knows nothing of the old session: this arrives only because the
    // link subscribed again.
    let sub = Subscriber::connect(m.addr(), &["unused/#"]).await;
    sub.publish("lumi/plug/set", "ON", false).await;
    assert_eq!(
        message(&mut events).await,
        ("lumi/plug/set".into(), b"ON".to_vec())
    );
    assert_eq!(link.stats().reconnects, 1);
}

#[tokio::test]
async fn a_qos1_message_published_during_an_outage_arrives_after_the_restart() {
    let Some(mut m) = mosquitto_or_skip() else {
        return;
    };
    let (link, mut events) = Link::start(options(&m, "outage")).unwrap();
    connected(&mut events).await;

    m.kill();
    event(&mut events, |e| matches!(e, LinkEvent::Disconnected { .. })).await;
    // Retained, so it is there for a subscriber whenever it subscribes.
    link.publish(
        "lumi/bridge/state",
        r#"{"state":"online"}"#,
        Qos::AtLeastOnce,
        true,
    )
    .unwrap();
    m.restart().unwrap();
    connected(&mut events).await;

    let sub = Subscriber::connect(m.addr(), &["lumi/bridge/state"]).await;
    let got = sub.wait_for("lumi/bridge/state", WAIT).await.unwrap();
    assert_eq!(got.text(), r#"{"state":"online"}"#);
}

#[tokio::test]
async fn a_200_kb_message_goes_both_ways() {
    let Some(m) = mosquitto_or_skip() else { return };
    let sub = Subscriber::connect(m.addr(), &["lumi/bridge/devices"]).await;
    let mut o = options(&m, "big");
    o.subscriptions = vec![("lumi/big/set".into(), Qos::AtLeastOnce)];
    let (link, mut events) = Link::start(o).unwrap();
    connected(&mut events).await;

    let devices: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    link.publish(
        "lumi/bridge/devices",
        devices.clone(),
        Qos::AtLeastOnce,
        true,
    )
    .unwrap();
    let got = sub.wait_for("lumi/bridge/devices", WAIT).await.unwrap();
    assert_eq!(got.payload.len(), 200_000);
    assert!(got.payload == devices);

    sub.publish("lumi/big/set", devices.clone(), false).await;
    let (topic, payload) = message(&mut events).await;
    assert_eq!(topic, "lumi/big/set");
    assert!(payload == devices, "{} bytes", payload.len());
}

/// Waits until mosquitto's log contains `line` (polling its file with a deadline).
async fn log_contains(m: &Mosquitto, line: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !m.log().contains(line) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {line:?} in mosquitto's log:\n{}",
            m.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_will_is_published_when_the_process_dies_but_not_after_a_clean_disconnect() {
    let Some(m) = mosquitto_or_skip() else { return };
    let state = "lumi/bridge/state";
    let will = Will::new(state, r#"{"state":"offline"}"#, Qos::AtLeastOnce, true);
    let sub = Subscriber::connect(m.addr(), &[state]).await;

    // A link whose runtime goes away: the socket closes without a DISCONNECT, as when the
    // process is killed.
    let mut o = options(&m, "dies");
    o.will = Some(will.clone());
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
    let (die_tx, die_rx) = std::sync::mpsc::channel::<()>();
    let process = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let link = rt.block_on(async {
            let (link, mut events) = Link::start(o).unwrap();
            connected(&mut events).await;
            link.publish(state, r#"{"state":"online"}"#, Qos::AtLeastOnce, true)
                .unwrap();
            link
        });
        let _ = ready_tx.send(());
        let _ = die_rx.recv();
        drop(rt);
        drop(link);
    });
    ready_rx.await.unwrap();
    sub.wait_until(WAIT, |msgs| {
        msgs.iter().any(|m| m.text() == r#"{"state":"online"}"#)
    })
    .await
    .unwrap();
    die_tx.send(()).unwrap();
    let died = sub
        .wait_until(WAIT, |msgs| {
            msgs.iter().any(|m| m.text() == r#"{"state":"offline"}"#)
        })
        .await
        .unwrap();
    assert_eq!(died.last().unwrap().text(), r#"{"state":"offline"}"#);
    process.join().unwrap();

    // A clean stop: the bridge publishes its own offline, then disconnects; no will follows.
    let mut o = options(&m, "stops-cleanly");
    o.will = Some(Will::new(
        state,
        r#"{"state":"offline","by":"will"}"#,
        Qos::AtLeastOnce,
        true,
    ));
    let (link, mut events) = Link::start(o).unwrap();
    connected(&mut events).await;
    link.publish(
        state,
        r#"{"state":"offline","by":"bridge"}"#,
        Qos::AtLeastOnce,
        true,
    )
    .unwrap();
    link.disconnect().await;
    // mosquitto has handled the DISCONNECT (and would have published a will by now).
    log_contains(&m, "Client stops-cleanly disconnected.").await;
    let retained = Subscriber::retained(m.addr(), state, Duration::from_millis(100)).await;
    assert_eq!(retained.len(), 1);
    assert_eq!(retained[0].text(), r#"{"state":"offline","by":"bridge"}"#);
}

/// Collects everything logged through `tracing` on this thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn with_password_file(dir: &Path) -> std::io::Result<String> {
    let file = dir.join("passwords");
    let status = std::process::Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&file)
        .args(["lumi", "right-password-1"])
        .status()
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("mosquitto_passwd (package mosquitto): {e}"),
            )
        })?;
    assert!(status.success(), "mosquitto_passwd failed");
    Ok(format!(
        "allow_anonymous false\npassword_file {}\n",
        file.display()
    ))
}

#[tokio::test]
async fn user_and_password_and_no_password_in_logs_or_events() {
    let Some(m) = mosquitto_with_or_skip(with_password_file) else {
        return;
    };
    let logs = Logs::default();
    let writer = logs.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish(),
    );

    let mut o = options(&m, "login-ok");
    o.username = Some("lumi".into());
    o.password = Some(Secret::new("right-password-1"));
    let (link, mut events) = Link::start(o).unwrap();
    connected(&mut events).await;
    link.disconnect().await;

    let mut o = options(&m, "login-bad");
    o.username = Some("lumi".into());
    o.password = Some(Secret::new("wrong-password-2"));
    let (link, mut events) = Link::start(o).unwrap();
    let LinkEvent::ConnectFailed { reason, .. } = event(&mut events, |e| {
        matches!(e, LinkEvent::ConnectFailed { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(
        reason.contains("refused the connection") && reason.contains("mqtt.password"),
        "{reason}"
    );
    assert!(!reason.contains("wrong-password-2"));
    link.disconnect().await;

    let text = logs.text();
    assert!(
        text.contains("cannot connect to mqtt://127.0.0.1"),
        "{text}"
    );
    assert!(
        !text.contains("right-password-1") && !text.contains("wrong-password-2"),
        "{text}"
    );
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn tls_listener(_dir: &Path) -> std::io::Result<String> {
    Ok(format!(
        "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
        fixture("ca.pem").display(),
        fixture("server.pem").display(),
        fixture("server.key").display()
    ))
}

fn tls_options(m: &Mosquitto, id: &str, ca: &str, client: bool) -> LinkOptions {
    let mut o = options(m, id);
    o.tls = Some(TlsFiles {
        ca: Some(fixture(ca)),
        client_cert: client.then(|| fixture("client.pem")),
        client_key: client.then(|| fixture("client.key")),
    });
    o
}

#[tokio::test]
async fn tls_with_a_ca_file_and_a_client_certificate() {
    let Some(m) = mosquitto_with_or_skip(tls_listener) else {
        return;
    };
    let mut o = tls_options(&m, "tls-ok", "ca.pem", true);
    o.subscriptions = vec![("tls/echo".into(), Qos::AtLeastOnce)];
    let (link, mut events) = Link::start(o).unwrap();
    assert!(link.broker().starts_with("mqtts://127.0.0.1:"));
    connected(&mut events).await;
    link.publish("tls/echo", "over tls", Qos::AtLeastOnce, false)
        .unwrap();
    assert_eq!(
        message(&mut events).await,
        ("tls/echo".into(), b"over tls".to_vec())
    );
}

#[tokio::test]
async fn tls_with_the_wrong_ca_or_without_the_client_certificate_fails_and_says_why() {
    let Some(m) = mosquitto_with_or_skip(tls_listener) else {
        return;
    };
    let (link, mut events) =
        Link::start(tls_options(&m, "tls-wrong-ca", "other-ca.pem", true)).unwrap();
    let LinkEvent::ConnectFailed { reason, .. } = event(&mut events, |e| {
        matches!(e, LinkEvent::ConnectFailed { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(
        reason.starts_with("tls:") && reason.contains("certificate") && reason.contains("mqtt.ca"),
        "{reason}"
    );
    link.disconnect().await;

    let (link, mut events) =
        Link::start(tls_options(&m, "tls-no-client-cert", "ca.pem", false)).unwrap();
    let e = event(&mut events, |e| {
        matches!(
            e,
            LinkEvent::ConnectFailed { .. } | LinkEvent::Disconnected { .. }
        )
    })
    .await;
    assert!(!matches!(e, LinkEvent::Connected { .. }), "{e:?}");
    link.disconnect().await;
}

/// A queue of 4 and 2 000 messages as fast as possible: `publish` refuses most of them,
/// `publish_within` waits for room and every message arrives, in order.
#[tokio::test]
async fn a_full_queue_makes_publish_within_wait_instead_of_dropping() {
    let Some(m) = mosquitto_or_skip() else {
        return;
    };
    const N: usize = 2000;
    let sub = Subscriber::connect(m.addr(), &["bp/#"]).await;
    let mut o = options(&m, "backpressure");
    o.queue = 4;
    let (link, mut events) = Link::start(o).unwrap();
    connected(&mut events).await;
    let refused = (0..N)
        .filter(|i| {
            link.publish(
                format!("bp/try/{i}"),
                b"x".to_vec(),
                Qos::AtLeastOnce,
                false,
            )
            .is_err()
        })
        .count();
    assert!(refused > 0, "a queue of 4 took {N} messages at once");
    for i in 0..N {
        link.publish_within(
            format!("bp/wait/{i}"),
            i.to_string().into_bytes(),
            Qos::AtLeastOnce,
            false,
            WAIT,
        )
        .await
        .unwrap_or_else(|e| panic!("message {i}: {e}"));
    }
    let all = sub
        .wait_until(WAIT, |msgs| {
            msgs.iter()
                .filter(|m| m.topic.starts_with("bp/wait/"))
                .count()
                >= N
        })
        .await;
    assert!(all.is_ok(), "not every waited message arrived");
    let got: Vec<String> = sub
        .messages()
        .into_iter()
        .filter(|m| m.topic.starts_with("bp/wait/"))
        .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
        .collect();
    let want: Vec<String> = (0..N).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
    let s = link.stats();
    assert_eq!(s.dropped_full as usize, refused);
    assert!(s.waited_full > 0, "{s:?}");
}

/// Messages on ignored topics are counted but never become events; the others still do.
#[tokio::test]
async fn ignored_topics_never_reach_the_events_channel() {
    let Some(m) = mosquitto_or_skip() else {
        return;
    };
    let mut o = options(&m, "echo");
    o.subscriptions = vec![("echo/#".to_owned(), Qos::AtLeastOnce)];
    o.ignore = Some(lumi_bridge::mqtt::TopicFilter(Arc::new(|t: &str| {
        t.starts_with("echo/own/")
    })));
    o.events = 8;
    let (link, mut events) = Link::start(o).unwrap();
    connected(&mut events).await;
    // Far more echoes than the events channel holds: were they queued, the driver would stop
    // at the 9th and the command after them would never arrive.
    for i in 0..500 {
        link.publish(
            format!("echo/own/{i}"),
            b"state".to_vec(),
            Qos::AtLeastOnce,
            false,
        )
        .unwrap();
    }
    link.publish("echo/cmd/set", b"ON".to_vec(), Qos::AtLeastOnce, false)
        .unwrap();
    let (topic, payload) = message(&mut events).await;
    assert_eq!(
        (topic.as_str(), payload.as_slice()),
        ("echo/cmd/set", &b"ON"[..])
    );
    assert!(link.stats().received >= 501, "{:?}", link.stats());
}

#[tokio::test]
async fn subscribes_to_more_filters_and_drops_an_old_sessions_filter() {
    let Some(mut m) = mosquitto_or_skip() else {
        return;
    };
    // An older version of the program held `t/#` in a persistent session.
    let mut o = options(&m, "upgraded");
    o.persistent_session = true;
    o.subscriptions = vec![("t/#".into(), Qos::AtLeastOnce)];
    let (old, mut events) = Link::start(o).unwrap();
    connected(&mut events).await;
    old.disconnect().await;

    let mut o = options(&m, "upgraded");
    o.persistent_session = true;
    o.subscriptions = vec![("t/+/set".into(), Qos::AtLeastOnce)];
    o.unsubscribe_on_resume = vec!["t/#".into()];
    let (link, mut events) = Link::start(o).unwrap();
    match event(&mut events, |e| matches!(e, LinkEvent::Connected { .. })).await {
        LinkEvent::Connected { session_present } => assert!(session_present),
        _ => unreachable!(),
    }
    // One publisher, one subscriber, one QoS: the broker keeps the order. Had `t/#` stayed,
    // the state would arrive first (checked: it does without `unsubscribe_on_resume`).
    let sub = Subscriber::connect(m.addr(), &["unrelated"]).await;
    sub.publish("t/a", "state", false).await;
    sub.publish("t/a/set", "ON", false).await;
    assert_eq!(message(&mut events).await.0, "t/a/set");

    // A filter added at run time: heard now, and again after a reconnect.
    link.subscribe(vec![("t/+/+/set".into(), Qos::AtLeastOnce)])
        .await
        .unwrap();
    sub.publish("t/a/b", "state", false).await;
    sub.publish("t/a/b/set", "ON", false).await;
    assert_eq!(message(&mut events).await.0, "t/a/b/set");
    // A restarted broker (no persistence) has forgotten every subscription.
    m.restart().unwrap();
    event(&mut events, |e| matches!(e, LinkEvent::Connected { .. })).await;
    let sub = Subscriber::connect(m.addr(), &["unrelated"]).await;
    sub.publish("t/c/d/set", "OFF", false).await;
    assert_eq!(message(&mut events).await.0, "t/c/d/set");
    assert!(
        link.subscribe(vec![("t/#/x".into(), Qos::AtMostOnce)])
            .await
            .is_err(),
        "an invalid filter is refused"
    );
    link.disconnect().await;
}

/// `wait_sent` returns once everything published has been written and acknowledged: a
/// producer of many messages can make the next batch only once the last one has left.
#[tokio::test]
async fn wait_sent_returns_once_every_message_is_written_and_acknowledged() {
    let Some(m) = mosquitto_or_skip() else {
        return;
    };
    const N: u64 = 3000;
    let (link, mut events) = Link::start(options(&m, "drain")).unwrap();
    connected(&mut events).await;
    for i in 0..N {
        let qos = if i % 3 == 0 {
            Qos::AtMostOnce
        } else {
            Qos::AtLeastOnce
        };
        link.publish(format!("drain/{i}"), vec![b'x'; 200], qos, true)
            .unwrap();
    }
    // The driver runs on this (single-threaded) runtime: nothing has been written yet.
    let before = link.stats();
    assert_eq!(before.queued, N, "{before:?}");
    assert!(link.wait_sent(WAIT).await, "{:?}", link.stats());
    let after = link.stats();
    assert_eq!(after.sent, N, "{after:?}");
    assert_eq!(after.queued, 0, "{after:?}");
    assert_eq!(after.in_flight, 0, "acknowledged too: {after:?}");
    // Nothing waiting: returns at once.
    assert!(link.wait_sent(Duration::ZERO).await);
    link.disconnect().await;
    // Closed: nothing more will be written, so there is nothing to wait for.
    assert!(link.wait_sent(WAIT).await);
}

/// Without a broker nothing leaves: `wait_sent` gives up after its time, and says so.
#[tokio::test]
async fn wait_sent_gives_up_when_nothing_is_written() {
    let port = lumi_bridge::testkit::free_tcp_port();
    let mut o = LinkOptions::new("127.0.0.1", port, "nobody");
    o.backoff_min = Duration::from_millis(20);
    o.backoff_max = Duration::from_millis(50);
    let (link, _events) = Link::start(o).unwrap();
    for i in 0..5 {
        link.publish(format!("t/{i}"), b"x".to_vec(), Qos::AtLeastOnce, false)
            .unwrap();
    }
    let within = Duration::from_millis(150);
    let started = std::time::Instant::now();
    assert!(!link.wait_sent(within).await);
    let waited = started.elapsed();
    assert!(waited >= within && waited < WAIT, "{waited:?}");
    assert_eq!(link.stats().queued, 5);
}
