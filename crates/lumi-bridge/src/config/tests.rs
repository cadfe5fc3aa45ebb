use std::time::Duration;

use lumi_proto::catalogue;
use lumi_proto::lan::{ProtoVersion, Sid};

use super::*;

const PASSWORD: &str = "0987654321qwerty";
const OTHER_PASSWORD: &str = "aaaaaaaaaaaaaaaa";
const TOKEN: &str = "1c1961595b889a1f42af6b16cf9a6b81";
const MQTT_PASSWORD: &str = "hunter2-mqtt";
const WEB_TOKEN: &str = "dashboard-secret-0123456789";

fn sid(s: &str) -> Sid {
    s.parse().unwrap()
}

/// A file using every key.
fn full() -> String {
    format!(
        r#"
interface = "eth0"
password = "{PASSWORD}"
timeout = "5s"

[[gateway]]
sid = "34ce0088db0b"
ip = "192.168.1.20"
password = "{OTHER_PASSWORD}"
protocol = "v2"
miio_token = "{TOKEN}"

[[gateway]]
ip = "192.168.1.21:9999"

[mqtt]
url = "mqtts://broker.lan"
client_id = "lumi-test"
username = "lumi"
password = "{MQTT_PASSWORD}"
ca = "/etc/lumi/ca.pem"
client_cert = "/etc/lumi/client.pem"
client_key = "/etc/lumi/client.key"
keepalive = 30
qos = 2
retain = false

[bridge]
base_topic = "home/lumi"
legacy_topics = true
legacy_base_topic = "xiaomi"
availability = false
motion_off_delay = "90s"

[bridge.availability_timeout]
gateway = "2m"
mains = "30m"
battery = "3h"

[homeassistant]
enabled = true
discovery_prefix = "ha"
status_topic = "ha/status"

[web]
enabled = true
listen = "127.0.0.1:8100"
token = "{WEB_TOKEN}"

[[device]]
sid = "158d0001a2b3c4"
name = "kitchen/window"
retain = true
availability_timeout = "4h"
motion_off_delay = "60s"
homeassistant = false

[[device]]
sid = "158d0001a2b3c5"
friendly_name = "Hall motion"
"#
    )
}

#[test]
fn an_empty_file_is_the_default() {
    let c = Config::from_toml("").unwrap();
    assert_eq!(c, Config::default());
    assert_eq!(
        c.mqtt.broker,
        Broker::Embedded {
            listen: "127.0.0.1:1883".parse().unwrap()
        }
    );
    assert_eq!(c.mqtt.client_id, "lumi");
    assert_eq!(c.mqtt.keepalive, Duration::from_secs(60));
    assert_eq!(c.mqtt.qos, Qos::AtLeastOnce);
    assert!(c.mqtt.retain);
    assert_eq!(c.bridge.base_topic, "lumi");
    assert!(!c.bridge.legacy_topics);
    assert_eq!(c.bridge.legacy_base_topic, "xiaomi");
    assert!(c.bridge.availability);
    assert_eq!(c.bridge.motion_off_delay, Duration::from_secs(120));
    assert_eq!(
        c.bridge.availability_timeout,
        AvailabilityTimeouts {
            gateway: Duration::from_secs(65),
            mains: Duration::from_secs(1500),
            battery: Duration::from_secs(9000),
        }
    );
    assert!(c.homeassistant.enabled);
    assert_eq!(c.homeassistant.discovery_prefix, "homeassistant");
    assert_eq!(c.homeassistant.status_topic, "homeassistant/status");
    assert_eq!(c.timeout, Duration::from_secs(3));
}

#[test]
fn every_key_is_read() {
    let c = Config::from_toml(&full()).unwrap();
    assert_eq!(c.interface.as_deref(), Some("eth0"));
    assert_eq!(c.password.as_ref().unwrap().expose(), PASSWORD);
    assert_eq!(c.timeout, Duration::from_secs(5));
    assert_eq!(c.gateways.len(), 2);
    let g = &c.gateways[0];
    assert_eq!(g.sid, Some(sid("34ce0088db0b")));
    assert_eq!(g.addr, Some("192.168.1.20:9898".parse().unwrap()));
    assert_eq!(g.password.as_ref().unwrap().expose(), OTHER_PASSWORD);
    assert_eq!(g.protocol, Some(ProtoVersion::V2));
    assert_eq!(g.miio_token.unwrap().expose_hex(), TOKEN);
    assert_eq!(
        c.gateways[1].addr,
        Some("192.168.1.21:9999".parse().unwrap())
    );
    assert_eq!(c.gateways[1].protocol, None);

    assert_eq!(
        c.mqtt.broker,
        Broker::External(MqttUrl {
            tls: true,
            host: "broker.lan".into(),
            port: 8883
        })
    );
    assert_eq!(c.mqtt.client_id, "lumi-test");
    assert_eq!(c.mqtt.username.as_deref(), Some("lumi"));
    assert_eq!(c.mqtt.password.as_ref().unwrap().expose(), MQTT_PASSWORD);
    assert_eq!(
        c.mqtt.tls.ca.as_deref(),
        Some(std::path::Path::new("/etc/lumi/ca.pem"))
    );
    assert!(c.mqtt.tls.client_cert.is_some() && c.mqtt.tls.client_key.is_some());
    assert_eq!(c.mqtt.keepalive, Duration::from_secs(30));
    assert_eq!(c.mqtt.qos, Qos::ExactlyOnce);
    assert!(!c.mqtt.retain);

    assert_eq!(c.bridge.base_topic, "home/lumi");
    assert!(c.bridge.legacy_topics);
    assert!(!c.bridge.availability);
    assert_eq!(c.bridge.motion_off_delay, Duration::from_secs(90));
    assert_eq!(
        c.bridge.availability_timeout.gateway,
        Duration::from_secs(120)
    );
    assert_eq!(
        c.bridge.availability_timeout.battery,
        Duration::from_secs(3 * 3600)
    );
    assert_eq!(c.homeassistant.discovery_prefix, "ha");
    assert_eq!(c.homeassistant.status_topic, "ha/status");

    assert_eq!(c.devices.len(), 2);
    let window = sid("158d0001a2b3c4");
    let hall = sid("158d0001a2b3c5");
    let stranger = sid("158d0001ffffff");
    assert_eq!(c.friendly_name(&window).as_str(), "kitchen/window");
    assert_eq!(c.friendly_name(&hall).as_str(), "Hall motion");
    assert_eq!(c.friendly_name(&stranger).as_str(), "158d0001ffffff");
    assert_eq!(c.sid_for_name("Hall motion"), Some(&hall));
    assert_eq!(c.sid_for_name("nobody"), None);
    assert!(c.retain(&window));
    assert!(!c.retain(&hall), "mqtt.retain = false is the default");
    assert!(!c.homeassistant(&window));
    assert!(c.homeassistant(&hall));
    assert_eq!(c.motion_off_delay(&window), Duration::from_secs(60));
    assert_eq!(c.motion_off_delay(&hall), Duration::from_secs(90));
    let motion = catalogue::lookup("sensor_motion.aq2");
    let plug = catalogue::lookup("plug");
    let gateway = catalogue::lookup("gateway");
    assert_eq!(
        c.availability_timeout(&window, motion),
        Duration::from_secs(4 * 3600)
    );
    assert_eq!(
        c.availability_timeout(&hall, motion),
        Duration::from_secs(3 * 3600)
    );
    assert_eq!(
        c.availability_timeout(&hall, plug),
        Duration::from_secs(30 * 60)
    );
    assert_eq!(
        c.availability_timeout(&hall, gateway),
        Duration::from_secs(120)
    );
    assert_eq!(
        c.availability_timeout(&hall, None),
        Duration::from_secs(3 * 3600)
    );

    let gw = sid("34ce0088db0b");
    assert_eq!(
        c.password_for(Some(&gw), None).unwrap().expose(),
        OTHER_PASSWORD
    );
    assert_eq!(
        c.password_for(None, Some("192.168.1.21".parse().unwrap()))
            .unwrap()
            .expose(),
        PASSWORD
    );
}

#[test]
fn the_module_example_is_valid() {
    let doc = include_str!("mod.rs");
    let start = doc.find("//! ```toml\n").unwrap() + "//! ```toml\n".len();
    let end = start + doc[start..].find("//! ```\n").unwrap();
    let text: String = doc[start..end]
        .lines()
        .map(|l| {
            l.strip_prefix("//! ")
                .or(l.strip_prefix("//!"))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let c = Config::from_toml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c.gateways.len(), 1);
    assert_eq!(c.devices.len(), 1);
    assert_eq!(c.mqtt.username.as_deref(), Some("lumi"));
}

#[test]
fn the_command_line_tools_file_is_valid() {
    // The example and test file of crates/lumi/src/settings.rs: the shared keys mean the same.
    let text = format!(
        "interface = \"eth0\"\npassword = \"{PASSWORD}\"\ntimeout = \"5s\"\n[mqtt]\nurl = \"mqtt://localhost\"\n[[gateway]]\nsid = \"34ce0088db0b\"\nip = \"192.168.1.20\"\npassword = \"{OTHER_PASSWORD}\"\nprotocol = \"v2\"\nmiio_token = \"{TOKEN}\"\n[[gateway]]\nip = \"192.168.1.21:9999\"\n[[gateway]]\nsid = \"lumi.34CE0088DB0C\"\nprotocol = \"auto\"\n"
    );
    let c = Config::from_toml(&text).unwrap();
    assert_eq!(c.gateways.len(), 3);
    assert_eq!(c.gateways[2].sid, Some(sid("34ce0088db0c")));
    assert_eq!(
        c.mqtt.broker,
        Broker::External(MqttUrl {
            tls: false,
            host: "localhost".into(),
            port: 1883
        })
    );
}

/// One mistake per entry: the key its error must name, and a word of its message.
const MISTAKES: &[(&str, &str, &str)] = &[
    // Unknown keys, at every level.
    ("intreface = \"eth0\"", "intreface", "unknown field"),
    ("[mqtt]\nurll = \"mqtt://h\"", "mqtt.urll", "unknown field"),
    (
        "[[gateway]]\nsid = \"34ce0088db0b\"\npasword = \"x\"",
        "gateway[1].pasword",
        "unknown field",
    ),
    (
        "[bridge.availability_timeout]\nweekly = \"1d\"",
        "bridge.availability_timeout.weekly",
        "unknown field",
    ),
    (
        "[homeassistant]\nenable = true",
        "homeassistant.enable",
        "unknown field",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\ncolour = 1",
        "device.\"158d0001a2b3c4\".colour",
        "unknown field",
    ),
    // Wrong types.
    ("[mqtt]\nqos = \"one\"", "mqtt.qos", "invalid type"),
    ("[mqtt]\nretain = \"yes\"", "mqtt.retain", "invalid type"),
    ("mqtt = 5", "mqtt", "invalid type"),
    ("timeout = true", "timeout", "invalid type"),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nretain = \"yes\"",
        "device.\"158d0001a2b3c4\".retain",
        "invalid type",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"x\"\nfriendly_name = \"y\"",
        "device.\"158d0001a2b3c4\"",
        "duplicate field",
    ),
    // Shared keys.
    ("interface = \"\"", "interface", "empty"),
    ("password = \"short\"", "password", "16 characters"),
    ("timeout = \"3 weeks\"", "timeout", "duration"),
    ("timeout = \"0s\"", "timeout", "more than 0"),
    (
        "[[gateway]]\nprotocol = \"v1\"",
        "gateway[1]",
        "needs a sid or an ip",
    ),
    (
        "[[gateway]]\nip = \"192.168.1\"",
        "gateway[1].ip",
        "not an IP address",
    ),
    ("[[gateway]]\nsid = \"xyz\"", "gateway[1].sid", "not a sid"),
    (
        "[[gateway]]\nip = \"10.0.0.1\"\nprotocol = \"v3\"",
        "gateway[1].protocol",
        "auto, v1 or v2",
    ),
    (
        "[[gateway]]\nip = \"10.0.0.1\"\nmiio_token = \"zz\"",
        "gateway[1].miio_token",
        "32 hex digits",
    ),
    (
        "[[gateway]]\nip = \"10.0.0.1\"\n[[gateway]]\nip = \"10.0.0.2\"\npassword = \"aaaaaaaaaaaaaaaaX\"",
        "gateway[2].password",
        "16 characters",
    ),
    (
        "[[gateway]]\nsid = \"34ce0088db0b\"\n[[gateway]]\nsid = \"34CE0088DB0B\"",
        "gateway[2].sid",
        "gateway[1]",
    ),
    (
        "[[gateway]]\nip = \"10.0.0.1\"\n[[gateway]]\nip = \"10.0.0.1:9000\"",
        "gateway[2].ip",
        "gateway[1]",
    ),
    // MQTT.
    ("[mqtt]\nqos = 3", "mqtt.qos", "not a QoS"),
    ("[mqtt]\nqos = -1", "mqtt.qos", "not a QoS"),
    ("[mqtt]\nurl = \"http://broker\"", "mqtt.url", "mqtt://"),
    ("[mqtt]\nurl = \"broker.lan:1883\"", "mqtt.url", "not a URL"),
    ("[mqtt]\nurl = \"mqtt://broker:70000\"", "mqtt.url", "port"),
    (
        "[mqtt]\nurl = \"mqtt://u:hunter2@broker\"",
        "mqtt.url",
        "mqtt.username",
    ),
    ("[mqtt]\nca = \"/ca.pem\"", "mqtt.ca", "mqtts://"),
    (
        "[mqtt]\nurl = \"mqtt://h\"\nclient_cert = \"/c.pem\"\nclient_key = \"/k.pem\"",
        "mqtt.client_cert",
        "mqtts://",
    ),
    (
        "[mqtt]\nurl = \"mqtts://h\"\nclient_cert = \"/c.pem\"",
        "mqtt.client_key",
        "private key",
    ),
    (
        "[mqtt]\nurl = \"mqtts://h\"\nclient_key = \"/k.pem\"",
        "mqtt.client_cert",
        "certificate",
    ),
    ("[mqtt]\nurl = \"mqtts://h\"\nca = \"\"", "mqtt.ca", "empty"),
    (
        "[mqtt]\nusername = \"u\"",
        "mqtt.username",
        "embedded broker",
    ),
    (
        "[mqtt]\npassword = \"p\"",
        "mqtt.password",
        "embedded broker",
    ),
    (
        "[mqtt]\nurl = \"mqtt://h\"\npassword = \"p\"",
        "mqtt.password",
        "mqtt.username",
    ),
    (
        "[mqtt]\nurl = \"mqtt://h\"\nlisten = \"127.0.0.1:1884\"",
        "mqtt.listen",
        "embedded broker",
    ),
    ("[mqtt]\nlisten = \"localhost\"", "mqtt.listen", "IP:PORT"),
    (
        "[mqtt]\nkeepalive = \"1s\"",
        "mqtt.keepalive",
        "5s to 65535s",
    ),
    (
        "[mqtt]\nkeepalive = \"2500ms\"",
        "mqtt.keepalive",
        "whole seconds",
    ),
    (
        "[mqtt]\nkeepalive = \"a while\"",
        "mqtt.keepalive",
        "duration",
    ),
    (
        "[mqtt]\nclient_id = \"my client\"",
        "mqtt.client_id",
        "client id",
    ),
    ("[mqtt]\nclient_id = \"\"", "mqtt.client_id", "client id"),
    // Bridge.
    (
        "[bridge]\nbase_topic = \"lumi/#\"",
        "bridge.base_topic",
        "wildcards",
    ),
    ("[bridge]\nbase_topic = \"\"", "bridge.base_topic", "empty"),
    (
        "[bridge]\nbase_topic = \"/lumi\"",
        "bridge.base_topic",
        "empty level",
    ),
    (
        "[bridge]\nbase_topic = \"$SYS\"",
        "bridge.base_topic",
        "broker",
    ),
    (
        "[bridge]\nlegacy_topics = true\nlegacy_base_topic = \"lumi\"",
        "bridge.legacy_base_topic",
        "overlaps",
    ),
    (
        "[bridge]\nlegacy_base_topic = \"x+\"",
        "bridge.legacy_base_topic",
        "wildcards",
    ),
    (
        "[bridge]\nmotion_off_delay = \"0s\"",
        "bridge.motion_off_delay",
        "more than 0",
    ),
    (
        "[bridge]\nmotion_off_delay = \"2d\"",
        "bridge.motion_off_delay",
        "longer than a day",
    ),
    (
        "[bridge.availability_timeout]\nmains = \"soon\"",
        "bridge.availability_timeout.mains",
        "duration",
    ),
    (
        "[bridge.availability_timeout]\nbattery = -5",
        "bridge.availability_timeout.battery",
        "negative",
    ),
    (
        "[bridge.availability_timeout]\ngateway = 0",
        "bridge.availability_timeout.gateway",
        "more than 0",
    ),
    // Home Assistant.
    (
        "[homeassistant]\ndiscovery_prefix = \"lumi\"",
        "homeassistant.discovery_prefix",
        "overlaps",
    ),
    (
        "[homeassistant]\ndiscovery_prefix = \"lumi/ha\"",
        "homeassistant.discovery_prefix",
        "overlaps",
    ),
    (
        "[homeassistant]\ndiscovery_prefix = \"ha/\"",
        "homeassistant.discovery_prefix",
        "empty level",
    ),
    (
        "[homeassistant]\nstatus_topic = \"lumi/status\"",
        "homeassistant.status_topic",
        "under bridge.base_topic",
    ),
    (
        "[homeassistant]\nstatus_topic = \"homeassistant/+\"",
        "homeassistant.status_topic",
        "wildcards",
    ),
    // Devices.
    ("[[device]]\nname = \"x\"", "device[1]", "needs a sid"),
    (
        "[[device]]\nsid = \"zz\"\nname = \"x\"",
        "device.\"zz\".sid",
        "not a sid",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"a/set\"",
        "device.\"158d0001a2b3c4\".name",
        "/set",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"a/get\"",
        "device.\"158d0001a2b3c4\".name",
        "/get",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"a/availability\"",
        "device.\"158d0001a2b3c4\".name",
        "/availability",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"bridge\"",
        "device.\"158d0001a2b3c4\".name",
        "bridge",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"a+b\"",
        "device.\"158d0001a2b3c4\".name",
        "'+'",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"\"",
        "device.\"158d0001a2b3c4\".name",
        "empty",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"kitchen//window\"",
        "device.\"158d0001a2b3c4\".name",
        "empty level",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"158d0001a2b3c5\"",
        "device.\"158d0001a2b3c4\".name",
        "looks like a sid",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"x\"\n[[device]]\nsid = \"158d0001a2b3c5\"\nname = \"x\"",
        "device.\"158d0001a2b3c5\".name",
        "unique",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"Hall\"\n[[device]]\nsid = \"158d0001a2b3c5\"\nname = \"hall\"",
        "device.\"158d0001a2b3c5\".name",
        "case",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\n[[device]]\nsid = \"158D0001A2B3C4\"",
        "device.\"158d0001a2b3c4\".sid",
        "another [[device]]",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\navailability_timeout = \"0\"",
        "device.\"158d0001a2b3c4\".availability_timeout",
        "more than 0",
    ),
    (
        "[[device]]\nsid = \"158d0001a2b3c4\"\nmotion_off_delay = \"forever\"",
        "device.\"158d0001a2b3c4\".motion_off_delay",
        "duration",
    ),
];

#[test]
fn every_kind_of_mistake_names_its_key() {
    for (text, key, word) in MISTAKES {
        let err = match Config::from_toml(text) {
            Ok(c) => panic!("{text:?} was accepted: {c:?}"),
            Err(e) => e,
        };
        let problems = err.problems();
        assert!(
            problems.iter().any(|p| p.key == *key),
            "{text:?}: expected a problem at {key}, got {err}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&format!("{key}: ")), "{text:?}: {msg}");
        assert!(msg.contains(word), "{text:?}: expected {word:?} in {msg}");
        for secret in [PASSWORD, "aaaaaaaaaaaaaaaaX", "hunter2", "short"] {
            assert!(!msg.contains(secret), "{text:?} leaks {secret}: {msg}");
        }
    }
}

#[test]
fn a_secret_of_the_wrong_type_is_not_quoted() {
    for text in [
        "password = 1234567890123456",
        "[[gateway]]\nip = \"10.0.0.1\"\nmiio_token = 987654321",
    ] {
        let msg = Config::from_toml(text).unwrap_err().to_string();
        assert!(msg.contains("must be a string"), "{msg}");
        assert!(
            !msg.contains("1234567890123456") && !msg.contains("987654321"),
            "{msg}"
        );
    }
}

/// Found by the `config` fuzz target: a syntax error on a password line showed the password in
/// toml's snippet of the line.
#[test]
fn fuzz_regression_a_syntax_error_does_not_show_a_secret() {
    for text in [
        "[mqtt]\npassword = \"hunter2-mqtt",
        "password = \"0987654321qwerty\" junk",
        "[[gateway]]\nmiio_token = \"1c1961595b889a1f42af6b16cf9a6b81\" = 1",
        "[web]\ntoken = 'dashboard-secret-0123456789\n",
        // At the end of the text: toml shows the last line.
        "[[x\nclient_id = \"lumi\"\npassword = \"hunter2-mqtt\"\n",
    ] {
        let err = Config::from_toml(text).unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
        let msg = format!("{err} {err:?}");
        for secret in ["hunter2-mqtt", PASSWORD, TOKEN, "dashboard-secret"] {
            assert!(!msg.contains(secret), "{text:?} leaks {secret}: {msg}");
        }
        assert!(msg.contains("line "), "{msg}");
    }
    // Other lines keep toml's snippet.
    let err = Config::from_toml("[mqtt]\nurl = \"mqtt://h").unwrap_err();
    assert!(err.to_string().contains("url = \"mqtt://h"), "{err}");
}

/// Seen while writing the `config` fuzz target (whose check covers it): the dashboard's token
/// of a wrong type was quoted in the error.
#[test]
fn fuzz_regression_a_web_token_of_the_wrong_type_is_not_quoted() {
    let msg = Config::from_toml("[web]\ntoken = 12345678901234")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("must be a string"), "{msg}");
    assert!(!msg.contains("12345678901234"), "{msg}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = "timeout = \"never\"\n[mqtt]\nqos = 7\n[bridge]\nbase_topic = \"#\"\n[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"a/set\"\n";
    let err = Config::from_toml(text).unwrap_err();
    let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "timeout",
            "mqtt.qos",
            "bridge.base_topic",
            "device.\"158d0001a2b3c4\".name"
        ]
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("4 problems in the configuration:\n  timeout: "),
        "{msg}"
    );
}

#[test]
fn syntax_errors_show_the_line() {
    let err = Config::from_toml("[mqtt\nurl = 1").unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
    assert!(err.to_string().contains("line 1"), "{err}");
    let err = Config::from_toml("a = 1\n[mqtt]\nqos = \"x\"").unwrap_err();
    // The first problem serde meets is reported (unknown `a`), with its line.
    assert!(err.to_string().contains("(line 1)"), "{err}");
}

#[test]
fn secrets_stay_out_of_debug_and_print_config() {
    let c = Config::from_toml(&full()).unwrap();
    let debug = format!("{c:?}");
    let printed = c.print_config();
    for secret in [PASSWORD, OTHER_PASSWORD, TOKEN, MQTT_PASSWORD, WEB_TOKEN] {
        assert!(!debug.contains(secret), "Debug leaks {secret}");
        assert!(
            !printed.contains(secret),
            "print_config leaks {secret}:\n{printed}"
        );
    }
    // Five secrets, five redactions; everything else is shown.
    assert_eq!(printed.matches("\"<redacted>\"").count(), 5, "{printed}");
    for shown in [
        "interface = \"eth0\"",
        "url = \"mqtts://broker.lan:8883\"",
        "username = \"lumi\"",
        "name = \"kitchen/window\"",
        "protocol = \"v2\"",
        "base_topic = \"home/lumi\"",
        "battery = \"3h\"",
        "keepalive = \"30s\"",
    ] {
        assert!(printed.contains(shown), "{shown} missing:\n{printed}");
    }
}

#[test]
fn print_config_shows_the_defaults_and_reads_back() {
    let c = Config::default();
    let printed = c.print_config();
    for line in [
        "# MQTT: the embedded broker on 127.0.0.1:1883 (no mqtt.url)",
        "[mqtt]",
        "listen = \"127.0.0.1:1883\"",
        "client_id = \"lumi\"",
        "keepalive = \"1m\"",
        "qos = 1",
        "retain = true",
        "[bridge]",
        "base_topic = \"lumi\"",
        "motion_off_delay = \"2m\"",
        "[bridge.availability_timeout]",
        "gateway = \"65s\"",
        "mains = \"25m\"",
        "battery = \"150m\"",
        "[homeassistant]",
        "discovery_prefix = \"homeassistant\"",
        "status_topic = \"homeassistant/status\"",
        "timeout = \"3s\"",
        "[web]",
        "enabled = true",
        "listen = \"127.0.0.1:8099\"",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "{line:?} missing:\n{printed}"
        );
    }
    assert_eq!(Config::from_toml(&printed).unwrap(), c);

    // A configuration without secrets survives the round trip whole.
    let text = full()
        .lines()
        .filter(|l| {
            !l.starts_with("password") && !l.starts_with("miio_token") && !l.starts_with("token")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replace("username = \"lumi\"\n", "");
    let c = Config::from_toml(&text).unwrap();
    assert_eq!(Config::from_toml(&c.print_config()).unwrap(), c);
}

#[test]
fn load_reads_a_file_and_names_it_when_it_cannot() {
    let dir = std::env::temp_dir().join(format!("lumi-bridge-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lumi.toml");
    std::fs::write(&file, "[bridge]\nbase_topic = \"house\"\n").unwrap();
    let c = Config::load(&file).unwrap();
    assert_eq!(c.bridge.base_topic, "house");
    let missing = dir.join("missing.toml");
    let err = Config::load(&missing).unwrap_err();
    assert!(err.to_string().contains("missing.toml"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn home_assistant_can_be_off_globally() {
    let c = Config::from_toml("[homeassistant]\nenabled = false\n[[device]]\nsid = \"158d0001a2b3c4\"\nhomeassistant = true").unwrap();
    assert!(!c.homeassistant(&sid("158d0001a2b3c4")));
    // With discovery off, the prefix may be anything, even the base topic.
    assert!(
        Config::from_toml("[homeassistant]\nenabled = false\ndiscovery_prefix = \"lumi\"").is_ok()
    );
}

#[test]
fn the_dashboard_listens_on_loopback_unless_a_token_guards_it() {
    let d = Config::default().web;
    assert!(d.enabled);
    assert_eq!(d.listen, DEFAULT_WEB_LISTEN);
    assert_eq!(d.token, None);

    let c = Config::from_toml(&full()).unwrap();
    assert_eq!(c.web.listen, "127.0.0.1:8100".parse().unwrap());
    assert_eq!(c.web.token.as_ref().map(Secret::expose), Some(WEB_TOKEN));

    // Reachable from other hosts without a token: refused, saying why and what to do.
    let e = Config::from_toml("[web]\nlisten = \"0.0.0.0:8099\"").unwrap_err();
    let p = &e.problems()[0];
    assert_eq!(p.key, "web.listen");
    assert!(
        p.message.contains("web.token") && p.message.contains("127.0.0.1"),
        "{p}"
    );
    // With one, fine; and off, the address does not matter.
    let ok = format!("[web]\nlisten = \"0.0.0.0:8099\"\ntoken = \"{WEB_TOKEN}\"");
    assert!(Config::from_toml(&ok).is_ok());
    assert!(Config::from_toml("[web]\nenabled = false\nlisten = \"0.0.0.0:8099\"").is_ok());

    // A weak token is refused without being repeated.
    for bad in [
        "abc123",
        "has spaces in it, long enough",
        "no&ampersands=0123456789",
    ] {
        let e = Config::from_toml(&format!("[web]\ntoken = \"{bad}\"")).unwrap_err();
        let p = &e.problems()[0];
        assert_eq!(p.key, "web.token");
        assert!(!e.to_string().contains(bad), "{e}");
    }
    let e = Config::from_toml("[web]\nlisten = \"localhost\"").unwrap_err();
    assert_eq!(e.problems()[0].key, "web.listen");
    let e = Config::from_toml("[web]\nport = 1").unwrap_err();
    assert!(e.to_string().contains("port"), "{e}");
}

#[test]
fn the_command_timeout_is_a_text_or_whole_seconds() {
    assert_eq!(
        Config::from_toml("timeout = 5").unwrap().timeout,
        Duration::from_secs(5)
    );
    assert_eq!(
        Config::from_toml("timeout = \"1500ms\"").unwrap().timeout,
        Duration::from_millis(1500)
    );
    let e = Config::from_toml("timeout = -1").unwrap_err();
    assert_eq!(e.problems()[0].key, "timeout");
}
