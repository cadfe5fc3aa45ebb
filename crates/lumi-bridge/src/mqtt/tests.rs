//! Unit tests of the link's pure parts: options, limits, backoff, TLS files, error texts.
//! The behaviour against brokers is tested in `tests/mqtt_link.rs` (mosquitto),
//! `tests/mqtt_scripted.rs` (a scripted broker) and `tests/broker.rs` (the embedded one).

use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;

use super::driver::{Retry, describe};
use super::*;
use crate::Config;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    let mut r = Retry::new(ms(250), ms(2000));
    let waits: Vec<_> = (0..6).map(|_| r.after_failed_attempt()).collect();
    assert_eq!(
        waits,
        [ms(250), ms(500), ms(1000), ms(2000), ms(2000), ms(2000)]
    );
}

#[test]
fn a_stable_connection_resets_the_backoff_and_reconnects_at_once() {
    let mut r = Retry::new(ms(250), ms(30_000));
    for _ in 0..5 {
        r.after_failed_attempt();
    }
    assert_eq!(r.after_lost(STABLE_AFTER), Duration::ZERO);
    assert_eq!(r.after_failed_attempt(), ms(250));
}

#[test]
fn a_connection_dropped_at_once_keeps_backing_off() {
    // A broker that accepts and then kicks the client (another client with the same id)
    // must not cause a reconnect storm.
    let mut r = Retry::new(ms(250), ms(30_000));
    let waits: Vec<_> = (0..4).map(|_| r.after_lost(ms(50))).collect();
    assert_eq!(waits, [ms(250), ms(500), ms(1000), ms(2000)]);
}

#[test]
fn packet_size_matches_rumqttc() {
    for (topic_len, payload_len) in [
        (1, 0),
        (10, 100),
        (30, 16_000),
        (40, 200_000),
        (5, 3_000_000),
    ] {
        for q in [Qos::AtMostOnce, Qos::AtLeastOnce, Qos::ExactlyOnce] {
            let mut p =
                rumqttc::Publish::new("t".repeat(topic_len), qos(q), vec![0u8; payload_len]);
            if q != Qos::AtMostOnce {
                p.pkid = 1;
            }
            assert_eq!(
                publish_packet_size(topic_len, payload_len, q),
                p.size(),
                "{topic_len} {payload_len} {q:?}"
            );
        }
    }
}

#[test]
fn options_from_the_embedded_broker_config() {
    let config =
        Config::from_toml("[mqtt]\nlisten = \"0.0.0.0:1884\"\nclient_id = \"lumi-test\"\n")
            .unwrap();
    let o = LinkOptions::from_config(&config.mqtt, None).unwrap();
    assert_eq!((o.host.as_str(), o.port), ("127.0.0.1", 1884));
    assert_eq!(o.client_id, "lumi-test");
    assert!(o.tls.is_none() && o.username.is_none());
    assert_eq!(o.broker_url(), "mqtt://127.0.0.1:1884");

    // The embedded broker picked another port.
    let o =
        LinkOptions::from_config(&config.mqtt, Some("127.0.0.1:40001".parse().unwrap())).unwrap();
    assert_eq!((o.host.as_str(), o.port), ("127.0.0.1", 40001));
}

#[test]
fn options_from_an_external_tls_broker_config() {
    let config = Config::from_toml(
        r#"
[mqtt]
url = "mqtts://broker.lan:8884"
username = "lumi"
password = "hunter2-mqtt"
ca = "/etc/lumi/ca.pem"
client_cert = "/etc/lumi/client.pem"
client_key = "/etc/lumi/client.key"
keepalive = "30s"
"#,
    )
    .unwrap();
    let o = LinkOptions::from_config(&config.mqtt, None).unwrap();
    assert_eq!((o.host.as_str(), o.port), ("broker.lan", 8884));
    assert_eq!(o.broker_url(), "mqtts://broker.lan:8884");
    let tls = o.tls.as_ref().expect("tls");
    assert_eq!(
        tls.ca.as_deref(),
        Some(std::path::Path::new("/etc/lumi/ca.pem"))
    );
    assert_eq!(o.username.as_deref(), Some("lumi"));
    assert_eq!(
        o.password.as_ref().map(|p| p.expose()),
        Some("hunter2-mqtt")
    );
    assert_eq!(o.keepalive, Duration::from_secs(30));
    // Never in Debug.
    let debug = format!("{o:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn ipv6_broker_url_has_brackets() {
    let o = LinkOptions::new("::1", 1883, "x");
    assert_eq!(o.broker_url(), "mqtt://[::1]:1883");
}

#[test]
fn options_that_rumqttc_would_panic_on_are_refused() {
    let base = || LinkOptions::new("127.0.0.1", 1883, "lumi");
    let cases: Vec<(LinkOptions, &str)> = vec![
        (
            {
                let mut o = base();
                o.keepalive = ms(500);
                o
            },
            "keepalive",
        ),
        (
            {
                let mut o = base();
                o.keepalive = Duration::from_secs(70_000);
                o
            },
            "keepalive",
        ),
        (
            {
                let mut o = base();
                o.backoff_min = ms(0);
                o
            },
            "backoff_min",
        ),
        (
            {
                let mut o = base();
                o.backoff_min = ms(5000);
                o.backoff_max = ms(100);
                o
            },
            "backoff_min",
        ),
        (
            {
                let mut o = base();
                o.queue = 0;
                o
            },
            "queue",
        ),
        (
            {
                let mut o = base();
                o.max_packet_size = 32 << 20;
                o
            },
            "max_packet_size",
        ),
        (
            {
                let mut o = base();
                o.password = Some(Secret::new("pw"));
                o
            },
            "password",
        ),
        (
            {
                let mut o = base();
                o.host = String::new();
                o
            },
            "host",
        ),
    ];
    for (o, option) in cases {
        match o.validate() {
            Err(LinkError::InvalidOption { option: got, .. }) => assert_eq!(got, option),
            other => panic!("{option}: {other:?}"),
        }
    }
    let mut o = base();
    o.subscriptions
        .push(("lumi/#/set".into(), Qos::AtLeastOnce));
    assert!(matches!(o.validate(), Err(LinkError::InvalidFilter { .. })));
    let mut o = base();
    o.will = Some(Will::new("lumi/+/state", "x", Qos::AtLeastOnce, true));
    assert!(matches!(o.validate(), Err(LinkError::InvalidTopic { .. })));
    // Zero keep-alive is allowed (none).
    let mut o = base();
    o.keepalive = Duration::ZERO;
    o.validate().unwrap();
}

#[test]
fn topics_one_cannot_publish_to() {
    for (topic, reason) in [
        ("", "is empty"),
        ("lumi/+/set", "wildcard"),
        ("lumi/#", "wildcard"),
        ("lumi/\0", "NUL"),
    ] {
        let e = check_topic(topic).unwrap_err();
        assert!(e.to_string().contains(reason), "{topic:?}: {e}");
    }
    check_topic("lumi/kitchen plug/set").unwrap();
    check_topic(&"a".repeat(65_536)).unwrap_err();
}

#[test]
fn link_start_needs_a_runtime() {
    let e = Link::start(LinkOptions::new("127.0.0.1", 1, "x")).unwrap_err();
    assert!(matches!(e, LinkError::NoRuntime), "{e}");
}

fn tls(ca: Option<&str>, cert: Option<&str>, key: Option<&str>) -> TlsFiles {
    TlsFiles {
        ca: ca.map(fixture),
        client_cert: cert.map(fixture),
        client_key: key.map(fixture),
    }
}

#[test]
fn tls_config_from_the_fixture_files() {
    tls::client_config(&tls(Some("ca.pem"), None, None)).unwrap();
    let config =
        tls::client_config(&tls(Some("ca.pem"), Some("client.pem"), Some("client.key"))).unwrap();
    assert!(config.client_auth_cert_resolver.has_certs());
}

#[test]
fn tls_file_errors_name_the_key_the_file_and_the_problem() {
    let cases = [
        (
            tls(Some("missing.pem"), None, None),
            "mqtt.ca",
            "missing.pem: cannot read it",
        ),
        (
            tls(Some("client.key"), None, None),
            "mqtt.ca",
            "contains no certificate",
        ),
        (
            tls(Some("gen.sh"), None, None),
            "mqtt.ca",
            "contains no certificate",
        ),
        (
            tls(Some("ca.pem"), Some("client.pem"), Some("client.pem")),
            "mqtt.client_key",
            "contains no private key",
        ),
        (
            tls(Some("ca.pem"), Some("client.key"), Some("client.key")),
            "mqtt.client_cert",
            "contains no certificate",
        ),
        (
            tls(Some("ca.pem"), Some("client.pem"), Some("server.key")),
            "mqtt.client_key",
            "cannot be used with the certificate in",
        ),
        (
            tls(Some("ca.pem"), Some("client.pem"), None),
            "mqtt.client_cert",
            "has no private key",
        ),
        (
            tls(Some("ca.pem"), None, Some("client.key")),
            "mqtt.client_key",
            "has no certificate",
        ),
    ];
    for (files, key, problem) in cases {
        let e = tls::client_config(&files).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, LinkError::TlsFile { key: k, .. } if k == key),
            "{text}"
        );
        assert!(
            text.starts_with(key) && text.contains(problem),
            "{key} {problem}: {text}"
        );
    }
}

#[test]
fn a_broken_pem_file_is_described_without_its_content() {
    let dir = std::env::temp_dir().join(format!("lumi-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.pem");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nnot base64 SECRETSTUFF!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = tls::client_config(&TlsFiles {
        ca: Some(bad),
        ..TlsFiles::default()
    })
    .unwrap_err();
    let text = e.to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(text.contains("is not valid PEM"), "{text}");
    assert!(!text.contains("SECRETSTUFF"), "{text}");
}

#[test]
fn system_roots_load_or_fail_clearly() {
    // Without mqtt.ca: the system's roots (this machine may have none).
    match tls::client_config(&TlsFiles::default()) {
        Ok(_) => {}
        Err(e @ LinkError::NoSystemRoots { .. }) => assert!(e.to_string().contains("set mqtt.ca")),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn connection_errors_in_words() {
    use rumqttc::{ConnectReturnCode, ConnectionError, StateError};
    let refused = describe(&ConnectionError::ConnectionRefused(
        ConnectReturnCode::BadUserNamePassword,
    ));
    assert!(refused.contains("bad user name or password") && refused.contains("mqtt.password"));
    let io = describe(&ConnectionError::Io(
        std::io::ErrorKind::ConnectionRefused.into(),
    ));
    assert!(io.starts_with("connection refused"), "{io}");
    let aborted = describe(&ConnectionError::MqttState(StateError::ConnectionAborted));
    assert_eq!(aborted, "the broker closed the connection");
    let not_connack = describe(&ConnectionError::NotConnAck(rumqttc::Packet::PingResp));
    assert!(
        not_connack.contains("PINGRESP instead of a CONNACK"),
        "{not_connack}"
    );
}

#[test]
fn error_messages_say_what_to_do() {
    let e = LinkError::QueueFull {
        topic: "lumi/plug".into(),
        queue: 10,
    };
    assert_eq!(
        e.to_string(),
        "mqtt publish queue is full (10 messages wait for the broker): dropped the message to lumi/plug"
    );
    let e = LinkError::TooLarge {
        topic: "lumi/bridge/devices".into(),
        size: 2_000_000,
        max: 1 << 20,
    };
    assert!(e.to_string().contains("2000000 bytes") && e.to_string().contains("1048576"));
}

proptest! {
    /// Whatever bytes a broker sends, rumqttc's decoder (which the link reads everything
    /// through) returns a packet or an error, never panics.
    #[test]
    fn decoding_arbitrary_broker_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut buf = bytes::BytesMut::from(&bytes[..]);
        while !buf.is_empty() {
            match rumqttc::Packet::read(&mut buf, 1 << 16) {
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }

    /// Packets that start with a plausible header (type, flags, a small length) reach the
    /// per-type parsers.
    #[test]
    fn decoding_framed_garbage_never_panics(kind in 0u8..16, flags in 0u8..16, body in proptest::collection::vec(any::<u8>(), 0..120)) {
        let mut bytes = vec![(kind << 4) | flags, body.len() as u8];
        bytes.extend_from_slice(&body);
        let mut buf = bytes::BytesMut::from(&bytes[..]);
        let _ = rumqttc::Packet::read(&mut buf, 1 << 16);
    }
}
