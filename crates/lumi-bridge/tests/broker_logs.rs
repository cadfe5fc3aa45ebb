//! Which tracing targets the embedded broker (rumqttd) logs routine events under at ERROR or
//! WARN level: all of them must be in `broker::NOISY_LOG_TARGETS`, the list the binary filters.
//! A tripwire for rumqttd upgrades. (Its own test binary: it installs a global subscriber, as
//! rumqttd logs from its own threads.)
#![cfg(feature = "embedded-broker")]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lumi_bridge::broker::{EmbeddedBroker, NOISY_LOG_TARGETS};
use lumi_bridge::config::Qos;
use lumi_bridge::mqtt::{Link, LinkEvent, LinkOptions};
use lumi_bridge::testkit::Subscriber;

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

#[tokio::test]
async fn routine_connections_log_errors_only_under_the_noisy_targets() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_target(true)
        .init();

    let broker = EmbeddedBroker::start("127.0.0.1:0".parse().unwrap()).unwrap();
    // A port probe: connect and close without a CONNECT.
    drop(std::net::TcpStream::connect(broker.local_addr()).unwrap());
    // A client that subscribes, publishes and disconnects cleanly...
    let mut o = LinkOptions::new("127.0.0.1", broker.local_addr().port(), "clean");
    o.subscriptions = vec![("lumi/#".into(), Qos::AtLeastOnce)];
    let (link, mut events) = Link::start(o).unwrap();
    while !matches!(events.recv().await, Some(LinkEvent::Connected { .. })) {}
    link.publish("lumi/x", "1", Qos::AtLeastOnce, false)
        .unwrap();
    while !matches!(events.recv().await, Some(LinkEvent::Message { .. })) {}
    link.disconnect().await;
    // ... and one that just goes away.
    let sub = Subscriber::connect(broker.local_addr(), &["lumi/#"]).await;
    drop(sub);
    // One more client comes and goes: once the router has handled its disconnect (logged at
    // INFO), it has handled everything before.
    let (probe, mut events) = Link::start(LinkOptions::new(
        "127.0.0.1",
        broker.local_addr().port(),
        "last",
    ))
    .unwrap();
    while !matches!(events.recv().await, Some(LinkEvent::Connected { .. })) {}
    probe.disconnect().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
        if text.contains(r#"incoming_disconnect{client_id="last"}"#) {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the router did not log the last disconnect:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };

    let noisy: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains(" WARN"))
        .filter(|l| l.contains("rumqttd"))
        .collect();
    assert!(
        !noisy.is_empty(),
        "rumqttd logged no error for routine disconnects: update NOISY_LOG_TARGETS' docs\n{text}"
    );
    for line in noisy {
        assert!(
            NOISY_LOG_TARGETS
                .iter()
                .any(|t| line.contains(&format!(" {t}:"))),
            "an ERROR/WARN under a target the binary does not filter: {line}"
        );
    }
}
