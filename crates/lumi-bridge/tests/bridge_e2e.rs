//! End to end: simulated gateways on loopback → the bridge → a real MQTT broker (mosquitto
//! started by the test on a free port, or the embedded one) → a subscriber.
//!
//! What a user of Home Assistant would see: the discovery configs, states, availability and
//! bridge topics with their exact payloads; a `/set` that switches a simulated plug; a
//! gateway that goes silent taking its devices offline and back; a broker restart that
//! loses nothing.

#[path = "../../lumi-client/tests/lan_support/mod.rs"]
mod lan_support;

use std::net::SocketAddr;
use std::time::Duration;

use lan_support::{House, PASSWORD, house_of_plugs, house_with};
use lumi_bridge::Config;
use lumi_bridge::config::Broker;
use lumi_bridge::daemon::{Bridge, BridgeSetup};
use lumi_bridge::testkit::{Message, Mosquitto, Subscriber, mosquitto_or_skip};
use lumi_proto::catalogue::{DeviceKind, TypedValue};
use lumi_proto::lan::Sid;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn config(extra: &str) -> Config {
    Config::from_toml(&format!(
        r#"
password = "{PASSWORD}"
timeout = "1500ms"
{extra}
"#
    ))
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn bridge(house: &House, config: Config, broker: Option<&Mosquitto>) -> Bridge {
    let broker = match broker {
        Some(m) => Broker::External(m.url().parse().unwrap()),
        None => Broker::Embedded {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        },
    };
    bridge_to(house, config, broker).await
}

async fn bridge_to(house: &House, mut config: Config, broker: Broker) -> Bridge {
    config.mqtt.broker = broker;
    // A free port for the dashboard: tests run side by side.
    config.web.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut net = house.net;
    net.interface = std::net::Ipv4Addr::LOCALHOST;
    Bridge::start(BridgeSetup { config, net })
        .await
        .unwrap_or_else(|e| panic!("the bridge starts: {e}"))
}

fn json(m: &Message) -> Value {
    serde_json::from_slice(&m.payload).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {}",
            m.topic,
            String::from_utf8_lossy(&m.payload)
        )
    })
}

/// Waits for a message on `topic` whose payload satisfies `f`.
async fn wait_json(sub: &Subscriber, topic: &str, f: impl Fn(&Value) -> bool) -> Value {
    let found: bool = sub
        .wait_until(WAIT, |msgs| {
            msgs.iter()
                .rev()
                .find(|m| m.topic == topic)
                .and_then(|m| serde_json::from_slice::<Value>(&m.payload).ok())
                .is_some_and(|v| f(&v))
        })
        .await
        .is_ok();
    assert!(
        found,
        "no matching message on {topic} within {WAIT:?}; last: {:?}",
        sub.latest(topic)
            .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
    );
    json(&sub.latest(topic).unwrap())
}

/// Everything the bridge publishes about a house, checked on one broker.
async fn check_house_published(h: &House, addr: SocketAddr) -> Subscriber {
    let sub = Subscriber::connect(addr, &["lumi/#", "homeassistant/#", "xiaomi/#"]).await;
    let expected = h.device_count() + h.specs.len();
    // bridge/state first (retained, from the connection), then the device list.
    let state = sub.wait_for("lumi/bridge/state", WAIT).await.unwrap();
    assert_eq!(state.payload, br#"{"state":"online"}"#);
    // The list is republished as devices become known; wait for the complete one (a device
    // first heard in a message without its model is listed unsupported until its read).
    let devices = wait_json(&sub, "lumi/bridge/devices", |v| {
        v.as_array()
            .is_some_and(|a| a.len() == expected && a.iter().all(|d| d["supported"] == true))
    })
    .await;
    for d in devices.as_array().unwrap() {
        assert_eq!(d["availability"], "online", "{d}");
        assert_eq!(d["supported"], true, "{d}");
    }

    // The plug: state, availability, and its switch for Home Assistant, exactly.
    let (_, plug, _) = h.find(DeviceKind::Plug);
    let state = wait_json(&sub, &format!("lumi/{plug}"), |v| v["state"] == "OFF").await;
    // last_seen only once the device itself spoke (a read answers from the gateway's cache).
    assert!(
        state
            .get("last_seen")
            .is_none_or(|t| t.as_str().is_some_and(|t| t.ends_with('Z'))),
        "{state}"
    );
    let avail = sub
        .wait_for(&format!("lumi/{plug}/availability"), WAIT)
        .await
        .unwrap();
    assert_eq!(avail.payload, br#"{"state":"online"}"#);
    let config = sub
        .wait_for(
            &format!("homeassistant/switch/lumi_{plug}_state/config"),
            WAIT,
        )
        .await
        .unwrap();
    let c = json(&config);
    let gateway = &h.specs[0].config.sid;
    let expected_switch = json!({
        "unique_id": format!("lumi_{plug}_state"),
        "state_topic": format!("lumi/{plug}"),
        "command_topic": format!("lumi/{plug}/set/state"),
        "payload_on": "ON",
        "payload_off": "OFF",
        "value_template": "{{ value_json[\"state\"] }}",
        "availability_mode": "all",
        "availability": [
            {"topic": "lumi/bridge/state", "value_template": "{{ value_json.state }}"},
            {"topic": format!("lumi/{plug}/availability"), "value_template": "{{ value_json.state }}"},
        ],
    });
    for (k, v) in expected_switch.as_object().unwrap() {
        assert_eq!(&c[k], v, "switch config key {k}: {c}");
    }
    assert_eq!(c["device"]["identifiers"], json!([format!("lumi_{plug}")]));
    let plug_gateway = h
        .specs
        .iter()
        .find(|s| s.devices.iter().any(|d| d.sid == plug))
        .map(|s| &s.config.sid)
        .unwrap_or(gateway);
    assert_eq!(c["device"]["via_device"], format!("lumi_{plug_gateway}"));

    // A door sensor's binary sensor and its state.
    let (_, door, _) = h.find(DeviceKind::DoorWindow);
    let d = wait_json(
        &sub,
        &format!("homeassistant/binary_sensor/lumi_{door}_contact/config"),
        |_| true,
    )
    .await;
    assert_eq!(d["device_class"], "door");
    assert_eq!(d["state_topic"], format!("lumi/{door}"));
    wait_json(&sub, &format!("lumi/{door}"), |v| v["contact"] == true).await;

    // What Home Assistant needs after its own restart is retained on the broker.
    let kept = retained(addr).await;
    for topic in [
        "lumi/bridge/state".to_owned(),
        "lumi/bridge/devices".to_owned(),
        format!("lumi/{plug}"),
        format!("lumi/{plug}/availability"),
        format!("homeassistant/switch/lumi_{plug}_state/config"),
        format!("homeassistant/binary_sensor/lumi_{door}_contact/config"),
    ] {
        assert!(
            kept.iter().any(|m| m.topic == topic && m.retain),
            "{topic} is not retained"
        );
    }
    sub
}

/// The retained messages a fresh subscriber gets.
async fn retained(addr: SocketAddr) -> Vec<Message> {
    let settle = Duration::from_millis(500);
    let mut all = Subscriber::retained(addr, "lumi/#", settle).await;
    all.extend(Subscriber::retained(addr, "homeassistant/#", settle).await);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_carries_discovery_states_and_commands() {
    let h = house_with(2, |_, _| {}).await;
    let b = bridge(&h, config(""), None).await;
    assert!(b.embedded_broker());
    let sub = check_house_published(&h, b.mqtt_addr()).await;
    // A /set switches the simulated plug, and its new state comes back.
    let (_, plug, _) = h.find(DeviceKind::Plug);
    sub.publish(&format!("lumi/{plug}/set"), br#"{"state":"ON"}"#, false)
        .await;
    wait_json(&sub, &format!("lumi/{plug}"), |v| v["state"] == "ON").await;
    assert_eq!(
        h.sim_value(&plug, "state").await,
        Some(TypedValue::text("on")),
        "the simulated plug is on"
    );
    b.stop().await.unwrap();
    let offline = sub
        .wait_until(WAIT, |msgs| {
            msgs.iter()
                .any(|m| m.topic == "lumi/bridge/state" && m.payload == br#"{"state":"offline"}"#)
        })
        .await;
    assert!(offline.is_ok(), "a clean stop says offline");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_end_to_end_with_requests_and_legacy_topics() {
    let Some(m) = mosquitto_or_skip() else { return };
    let h = house_with(2, |_, _| {}).await;
    let b = bridge(&h, config("[bridge]\nlegacy_topics = true"), Some(&m)).await;
    let sub = check_house_published(&h, m.addr()).await;

    // /set/<property> with a plain value on the v2 gateway's plug (if any), TOGGLE.
    let (_, plug, model) = h.find(DeviceKind::Plug);
    sub.publish(&format!("lumi/{plug}/set/state"), b"TOGGLE", false)
        .await;
    wait_json(&sub, &format!("lumi/{plug}"), |v| v["state"] == "ON").await;
    let legacy = sub
        .wait_for(&format!("xiaomi/{model}/{plug}/state"), WAIT)
        .await
        .unwrap();
    assert_eq!(legacy.payload, b"ON");

    // A simulated door opens: state and legacy plain value.
    let (gd, door, _) = h.find(DeviceKind::DoorWindow);
    h.gateways[gd]
        .stimulate(
            door.clone(),
            vec![("contact".into(), TypedValue::Bool(false))],
        )
        .await
        .unwrap()
        .unwrap();
    wait_json(&sub, &format!("lumi/{door}"), |v| v["contact"] == false).await;

    // Requests, with their transaction.
    sub.publish(
        "lumi/bridge/request/health",
        br#"{"transaction":"h1"}"#,
        false,
    )
    .await;
    let r = wait_json(&sub, "lumi/bridge/response/health", |_| true).await;
    assert_eq!(
        (r["status"].as_str(), r["transaction"].as_str()),
        (Some("ok"), Some("h1"))
    );
    assert_eq!(r["data"]["mqtt"]["connected"], true);
    assert_eq!(r["data"]["gateways"].as_array().unwrap().len(), 2);
    // The broker sends the bridge only what was sent to it: the set and this request, not
    // back the hundreds of states, discovery configs and availabilities it published.
    assert_eq!(r["data"]["mqtt"]["received"], 2, "{r}");

    sub.publish(
        "lumi/bridge/request/read",
        format!(r#"{{"id":"{plug}","transaction":2}}"#).as_bytes(),
        false,
    )
    .await;
    let r = wait_json(&sub, "lumi/bridge/response/read", |_| true).await;
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(r["data"]["state"]["state"], "ON");

    sub.publish(
        "lumi/bridge/request/permit_join",
        br#"{"value":true,"time":30,"transaction":3}"#,
        false,
    )
    .await;
    let r = wait_json(&sub, "lumi/bridge/response/permit_join", |_| true).await;
    assert_eq!(r["status"], "ok", "{r}");
    let gw0 = h.specs[0].config.sid.clone();
    let pairing = h.gateways[0]
        .inspect(|gw| gw.own_state().join_permission)
        .await
        .unwrap();
    assert!(pairing, "gateway {gw0} opened pairing");

    // A command for nobody is answered on bridge/logging, not dropped.
    sub.publish("lumi/nobody/set", br#"{"state":"ON"}"#, false)
        .await;
    let log = wait_json(&sub, "lumi/bridge/logging", |_| true).await;
    assert!(
        log["message"]
            .as_str()
            .unwrap()
            .contains("no device named \"nobody\""),
        "{log}"
    );
    // A name with more levels than any configured: the bridge subscribes to its command
    // topics before it answers, so a command right after the answer is heard.
    sub.publish(
        "lumi/bridge/request/rename",
        format!(r#"{{"from":"{plug}","to":"house/ground/kitchen/kettle"}}"#).as_bytes(),
        false,
    )
    .await;
    let r = wait_json(&sub, "lumi/bridge/response/rename", |_| true).await;
    assert_eq!(r["status"], "ok", "{r}");
    sub.publish(
        "lumi/house/ground/kitchen/kettle/set",
        br#"{"state":"OFF"}"#,
        false,
    )
    .await;
    wait_json(&sub, "lumi/house/ground/kitchen/kettle", |v| {
        v["state"] == "OFF"
    })
    .await;
    assert_eq!(
        h.sim_value(&plug, "state").await,
        Some(TypedValue::text("off")),
        "the simulated plug"
    );
    b.stop().await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_gateway_takes_its_devices_offline_and_back() {
    let Some(m) = mosquitto_or_skip() else { return };
    // Heartbeats every 200 ms; offline after 1 s of silence.
    let h = house_with(2, |_, c| c.heartbeat = Duration::from_millis(200)).await;
    let b = bridge(
        &h,
        config("[bridge.availability_timeout]\ngateway = \"1s\""),
        Some(&m),
    )
    .await;
    let sub = check_house_published(&h, m.addr()).await;
    let silent = &h.specs[0];
    let other = &h.specs[1];
    let device: &Sid = &silent.devices[0].sid;
    h.gateways[0].set_online(false).await.unwrap();
    let went = std::time::Instant::now();
    for sid in [&silent.config.sid, device] {
        wait_json(&sub, &format!("lumi/{sid}/availability"), |v| {
            v["state"] == "offline"
        })
        .await;
    }
    // Within the configured timeout (1 s) plus the client's timer slack.
    assert!(
        went.elapsed() < Duration::from_secs(4),
        "{:?}",
        went.elapsed()
    );
    // The other gateway's devices stay online.
    let o = sub
        .latest(&format!("lumi/{}/availability", other.devices[0].sid))
        .unwrap();
    assert_eq!(o.payload, br#"{"state":"online"}"#);
    h.gateways[0].set_online(true).await.unwrap();
    for sid in [&silent.config.sid, device] {
        wait_json(&sub, &format!("lumi/{sid}/availability"), |v| {
            v["state"] == "online"
        })
        .await;
    }
    b.stop().await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_loses_no_state() {
    let Some(mut m) = mosquitto_or_skip() else {
        return;
    };
    let h = house_with(2, |_, _| {}).await;
    let b = bridge(&h, config("[mqtt]\nkeepalive = \"5s\""), Some(&m)).await;
    drop(check_house_published(&h, m.addr()).await);
    let before = retained(m.addr()).await;
    let topics = |ms: &[Message]| {
        let mut t: Vec<String> = ms.iter().map(|m| m.topic.clone()).collect();
        t.sort();
        t
    };
    assert!(before.len() > 50, "{} retained messages", before.len());
    // mosquitto runs without persistence: a restart forgets every retained message.
    m.restart().unwrap();
    assert!(
        retained(m.addr()).await.len() < before.len(),
        "the restarted broker starts empty"
    );
    // The bridge reconnects and publishes everything again.
    let sub = Subscriber::connect(m.addr(), &["lumi/bridge/devices"]).await;
    sub.wait_for("lumi/bridge/devices", Duration::from_secs(30))
        .await
        .unwrap();
    // Everything retained before is retained again. Polled: the republish is one burst, but
    // on a loaded machine a snapshot can end inside it; a state that arrived since (a read
    // that timed out at first) may add a topic, none may be missing.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let after = loop {
        let after = retained(m.addr()).await;
        let have = topics(&after);
        let missing: Vec<String> = topics(&before)
            .into_iter()
            .filter(|t| !have.contains(t))
            .collect();
        if missing.is_empty() {
            break after;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not retained again after the broker's restart: {missing:?}"
        );
    };
    for m in &after {
        if m.topic.ends_with("/availability") || m.topic == "lumi/bridge/state" {
            assert_eq!(m.payload, br#"{"state":"online"}"#, "{}", m.topic);
        }
    }
    // And commands work on the new connection (subscriptions were renewed).
    let (_, plug, _) = h.find(DeviceKind::Plug);
    let sub = Subscriber::connect(m.addr(), &["lumi/#"]).await;
    sub.publish(&format!("lumi/{plug}/set/state"), b"ON", false)
        .await;
    wait_json(&sub, &format!("lumi/{plug}"), |v| v["state"] == "ON").await;
    b.stop().await.unwrap();
    h.stop().await;
}

/// After a connect the bridge announces its devices `ANNOUNCE_BATCH` at a time and makes the
/// next batch only once the broker has taken the last (written and acknowledged), so that one
/// batch is in memory, not the whole announcement. A broker that acknowledges nothing gets
/// one batch, and the rest only after `ANNOUNCE_WAIT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_announcement_waits_for_the_broker_to_take_each_batch() {
    use lumi_bridge::daemon::{ANNOUNCE_BATCH, ANNOUNCE_WAIT};
    use lumi_bridge::testkit::http::Events;
    use lumi_bridge::testkit::scripted::{Conn, listener};
    use rumqttc::{Packet, SubAck, SubscribeReasonCode, UnsubAck};

    const PLUGS: usize = 2 * ANNOUNCE_BATCH + 10;
    let house = house_of_plugs(PLUGS).await;
    let (l, addr) = listener().await;
    let broker = Broker::External(format!("mqtt://{addr}").parse().unwrap());
    let bridge = bridge_to(&house, config(""), broker).await;

    // Hold the CONNACK until the bridge knows every plug (its dashboard says so), so that the
    // connection's announcement is of all of them.
    let mut c = Conn::accept(&l).await;
    let mut ev = Events::open(bridge.web_addr().unwrap(), &[]).await;
    let mut known = std::collections::BTreeSet::new();
    ev.until(|m| {
        match m["type"].as_str() {
            Some("snapshot") => known.extend(
                m["devices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["model"] == "plug")
                    .map(|d| d["sid"].to_string()),
            ),
            Some("device") if m["device"]["model"] == "plug" => {
                known.insert(m["device"]["sid"].to_string());
            }
            _ => {}
        }
        known.len() == PLUGS
    })
    .await;
    c.handshake().await;
    let connected = std::time::Instant::now();

    // Acknowledge nothing; note when each plug's first discovery config arrives. (No report
    // can announce a plug early: the simulated plugs' first heartbeats, at seeded offsets,
    // are 42 s or more after the start.)
    let mut first_seen: Vec<(String, Duration)> = Vec::new();
    while first_seen.len() <= ANNOUNCE_BATCH {
        match c.next().await {
            Packet::Subscribe(s) => {
                let codes = s
                    .filters
                    .iter()
                    .map(|_| SubscribeReasonCode::Success(rumqttc::QoS::AtLeastOnce))
                    .collect();
                c.send(Packet::SubAck(SubAck::new(s.pkid, codes))).await;
            }
            Packet::Unsubscribe(u) => c.send(Packet::UnsubAck(UnsubAck::new(u.pkid))).await,
            Packet::Publish(p) if p.topic.starts_with("homeassistant/") => {
                let sid = p.topic.split("/lumi_").nth(1).unwrap_or_default();
                let sid = sid.split('_').next().unwrap_or_default().to_owned();
                // The plugs (the gateway is a device too, announced at its own time).
                if sid.starts_with("158d00aa") && !first_seen.iter().any(|(s, _)| *s == sid) {
                    first_seen.push((sid, connected.elapsed()));
                }
            }
            _ => {}
        }
    }
    let (sid, at) = &first_seen[ANNOUNCE_BATCH];
    assert!(
        *at >= ANNOUNCE_WAIT,
        "plug {sid}, of the second batch, was announced {at:?} after the connect, while the first batch was not acknowledged"
    );
    bridge.stop().await.unwrap();
}
