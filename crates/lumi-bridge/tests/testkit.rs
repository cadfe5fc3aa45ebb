//! The testkit itself, against mosquitto: a private instance per test, retained messages, a
//! restart on the same port, a subscriber that carries on across it.

use std::time::Duration;

use lumi_bridge::testkit::{Subscriber, mosquitto_or_skip};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn mosquitto_starts_on_its_own_loopback_port() {
    let Some(m) = mosquitto_or_skip() else { return };
    assert_ne!(m.port(), 0);
    assert_eq!(m.addr().to_string(), format!("127.0.0.1:{}", m.port()));
    assert_eq!(m.url(), format!("mqtt://127.0.0.1:{}", m.port()));
    let sub = Subscriber::connect(m.addr(), &["hello/#"]).await;
    sub.publish("hello/world", "hi", false).await;
    let got = sub.wait_for("hello/world", WAIT).await.unwrap();
    assert_eq!((got.text().as_str(), got.retain), ("hi", false));
    assert!(m.log().contains("running"), "{}", m.log());
}

#[tokio::test]
async fn retained_messages_reach_later_subscribers() {
    let Some(m) = mosquitto_or_skip() else { return };
    let publisher = Subscriber::connect(m.addr(), &["sync"]).await;
    publisher.publish("lumi/a", "1", true).await;
    publisher.publish("lumi/b", r#"{"x":2}"#, true).await;
    publisher.publish("lumi/c", "live only", false).await;
    publisher.publish("sync", "", false).await;
    publisher.wait_for("sync", WAIT).await.unwrap();

    let retained = Subscriber::retained(m.addr(), "lumi/#", Duration::from_millis(100)).await;
    let got: Vec<(&str, String)> = retained
        .iter()
        .map(|m| (m.topic.as_str(), m.text()))
        .collect();
    assert_eq!(
        got,
        [
            ("lumi/a", "1".to_owned()),
            ("lumi/b", r#"{"x":2}"#.to_owned())
        ]
    );
    assert_eq!(retained[1].json()["x"], 2);
}

#[tokio::test]
async fn restart_keeps_the_port_and_the_subscriber_carries_on() {
    let Some(mut m) = mosquitto_or_skip() else {
        return;
    };
    let port = m.port();
    let sub = Subscriber::connect(m.addr(), &["after/#"]).await;

    m.kill();
    assert!(!m.is_running());
    assert!(
        std::net::TcpStream::connect(m.addr()).is_err(),
        "nothing listens while it is down"
    );
    m.restart().unwrap();
    assert_eq!(m.port(), port);
    assert!(m.is_running());

    // The subscriber reconnects and subscribes again by itself; retained, the message reaches
    // it whether that happens before or after the publish.
    let publisher = Subscriber::connect(m.addr(), &["unused"]).await;
    publisher.publish("after/restart", "1", true).await;
    let got = sub.wait_for("after/restart", WAIT).await.unwrap();
    assert_eq!(got.text(), "1");
}

#[tokio::test]
async fn waits_that_run_out_say_what_was_seen() {
    let Some(m) = mosquitto_or_skip() else { return };
    let sub = Subscriber::connect(m.addr(), &["seen/#"]).await;
    sub.publish("seen/one", "a", false).await;
    sub.wait_for("seen/one", WAIT).await.unwrap();
    let e = sub
        .wait_for("seen/two", Duration::from_millis(50))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("no message on seen/two within 50ms"),
        "{text}"
    );
    assert!(
        text.contains("1 messages were received, on: seen/one"),
        "{text}"
    );
    assert_eq!(sub.latest("seen/one").unwrap().text(), "a");
    sub.clear();
    assert!(sub.messages().is_empty());
}

#[test]
fn dropping_mosquitto_stops_it_and_removes_its_directory() {
    let Some(m) = mosquitto_or_skip() else { return };
    let dir = m.dir().to_owned();
    let addr = m.addr();
    assert!(dir.join("mosquitto.conf").is_file());
    drop(m);
    assert!(!dir.exists());
    assert!(std::net::TcpStream::connect(addr).is_err());
}
