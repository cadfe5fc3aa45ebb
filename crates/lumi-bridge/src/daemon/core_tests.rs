//! The core's decisions, input by input (no network, no clock but the one given).

use std::net::SocketAddr;
use std::time::{Duration, UNIX_EPOCH};

use lumi_client::gateway::{DeviceInfo, Event, Origin as Found};
use lumi_proto::catalogue;
use lumi_proto::lan::{Props, ProtoVersion, Sid};
use serde_json::Value;
use tokio::time::Instant;

use super::*;

const GW: &str = "7811dcb06970";
const PLUG: &str = "158d0001100000";
const BUTTON: &str = "158d0001100001";
const MOTION: &str = "158d0001100002";

fn sid(s: &str) -> Sid {
    s.parse().unwrap()
}

fn config() -> Config {
    Config::from_toml(&format!(
        r#"
        [bridge]
        motion_off_delay = "90s"
        [[device]]
        sid = "{PLUG}"
        name = "kitchen/plug"
        [[device]]
        sid = "{BUTTON}"
        name = "hall/button"
        retain = false
        [[device]]
        sid = "{MOTION}"
        name = "hall/motion"
        "#
    ))
    .unwrap()
}

fn wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_714_566_896)
}

fn report(sid_: &str, model: &str, version: ProtoVersion, props: Props) -> Event {
    Event::Report {
        gateway: sid(GW),
        sid: sid(sid_),
        model: Some(model.to_owned()),
        state: catalogue::decode(model, version, &props),
        props,
    }
}

fn info(sid_: &str, model: &str, props: Props) -> DeviceInfo {
    DeviceInfo {
        sid: sid(sid_),
        gateway: sid(GW),
        model: Some(model.to_owned()),
        name: None,
        kind: None,
        state: catalogue::decode(model, ProtoVersion::V1, &props),
        battery: None,
        voltage: None,
        last_seen: Some(Duration::from_secs(5)),
        available: true,
    }
}

/// The test gateway, found by discovery.
fn appeared() -> Event {
    Event::GatewayAppeared {
        gateway: sid(GW),
        addr: SocketAddr::from(([127, 0, 0, 2], 9898)),
        model: Some("gateway".into()),
        version: Some(ProtoVersion::V1),
        origin: Found::Discovery,
    }
}

/// A connected core with a v1 gateway and a plug, a button and a motion sensor loaded.
fn house() -> (Core, Instant) {
    house_with(config())
}

/// [`house`] with another configuration.
fn house_with(config: Config) -> (Core, Instant) {
    let now = Instant::now();
    let mut core = Core::new(config, wall());
    core.connected();
    core.client_event(&appeared(), now, wall());
    core.loaded(
        &[],
        &[
            info(PLUG, "plug", Props::new().with("status", "off")),
            info(BUTTON, "switch", Props::new().with("voltage", 3005)),
            info(MOTION, "motion", Props::new().with("voltage", 3100)),
        ],
        wall(),
    );
    (core, now)
}

fn topics(out: &Output) -> Vec<&str> {
    out.publish.iter().map(|p| p.topic.as_str()).collect()
}

fn find<'a>(out: &'a Output, topic: &str) -> &'a Publish {
    out.publish
        .iter()
        .rev()
        .find(|p| p.topic == topic)
        .unwrap_or_else(|| panic!("nothing on {topic}; published: {:?}", topics(out)))
}

fn json(p: &Publish) -> Value {
    serde_json::from_str(&p.payload).unwrap_or_else(|e| panic!("{}: {e}", p.payload))
}

#[test]
fn connecting_publishes_the_bridge_state_then_everything_known() {
    let (mut core, _) = house();
    let _ = core.take();
    core.disconnected();
    core.connected();
    let out = core.take();
    let first = &out.publish[0];
    assert_eq!(
        (first.topic.as_str(), first.payload.as_str(), first.retain),
        ("lumi/bridge/state", r#"{"state":"online"}"#, true)
    );
    let plug = find(&out, "lumi/kitchen/plug");
    assert!(plug.retain, "states are retained by default");
    assert_eq!(json(plug)["state"], "OFF");
    assert_eq!(json(plug)["last_seen"], "2024-05-01T12:34:51.000Z");
    assert_eq!(
        find(&out, "lumi/kitchen/plug/availability").payload,
        r#"{"state":"online"}"#
    );
    assert!(
        topics(&out).contains(&"homeassistant/switch/lumi_158d0001100000_state/config"),
        "{:?}",
        topics(&out)
    );
    let devices = json(find(&out, "lumi/bridge/devices"));
    let names: Vec<&str> = devices
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["friendly_name"].as_str().unwrap())
        .collect();
    // Sorted by sid.
    assert_eq!(names, ["kitchen/plug", "hall/button", "hall/motion", GW]);
}

#[test]
fn nothing_retained_is_queued_while_disconnected() {
    let (mut core, now) = house();
    let _ = core.take();
    core.disconnected();
    core.client_event(
        &report(
            PLUG,
            "plug",
            ProtoVersion::V1,
            Props::new().with("status", "on"),
        ),
        now,
        wall(),
    );
    assert!(core.take().publish.is_empty());
    core.connected();
    let out = core.take();
    assert_eq!(json(find(&out, "lumi/kitchen/plug"))["state"], "ON");
}

#[test]
fn a_click_is_published_once_as_action_and_not_kept() {
    let (mut core, now) = house();
    let _ = core.take();
    core.client_event(
        &report(
            BUTTON,
            "switch",
            ProtoVersion::V1,
            Props::new().with("status", "double_click"),
        ),
        now,
        wall(),
    );
    let out = core.take();
    let action = find(&out, "lumi/hall/button/action");
    assert_eq!((action.payload.as_str(), action.retain), ("double", false));
    let state = find(&out, "lumi/hall/button");
    assert_eq!(json(state)["action"], "double");
    assert!(!state.retain);
    // The next state no longer carries it.
    core.client_event(
        &report(
            BUTTON,
            "switch",
            ProtoVersion::V1,
            Props::new().with("voltage", 2900),
        ),
        now,
        wall(),
    );
    let out = core.take();
    assert_eq!(json(find(&out, "lumi/hall/button")).get("action"), None);
}

#[test]
fn a_silent_gateway_takes_its_devices_offline_and_back() {
    let (mut core, now) = house();
    let _ = core.take();
    core.client_event(
        &Event::GatewayOffline {
            gateway: sid(GW),
            silent_for: Duration::from_secs(65),
        },
        now,
        wall(),
    );
    let out = core.take();
    for name in [GW, "kitchen/plug", "hall/button", "hall/motion"] {
        let p = find(&out, &format!("lumi/{name}/availability"));
        assert_eq!(
            (p.payload.as_str(), p.retain),
            (r#"{"state":"offline"}"#, true)
        );
    }
    // The device list was published a moment ago (on connection): the new one waits for
    // its interval, then goes out once.
    assert!(!topics(&out).contains(&"lumi/bridge/devices"));
    let due = core.next_deadline().expect("the device list is due");
    assert_eq!(due, now + DEVICES_INTERVAL);
    core.timer(due);
    let out = core.take();
    let devices = json(find(&out, "lumi/bridge/devices"));
    assert!(
        devices
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["availability"] == "offline")
    );
    core.client_event(&Event::GatewayOnline { gateway: sid(GW) }, now, wall());
    let out = core.take();
    for name in [GW, "kitchen/plug", "hall/button", "hall/motion"] {
        assert_eq!(
            find(&out, &format!("lumi/{name}/availability")).payload,
            r#"{"state":"online"}"#
        );
    }
    // A device that is silent on its own stays offline when its gateway comes back.
    core.client_event(
        &Event::DeviceAvailability {
            gateway: sid(GW),
            sid: sid(PLUG),
            available: false,
            silent_for: Duration::from_secs(1500),
        },
        now,
        wall(),
    );
    core.client_event(
        &Event::GatewayOffline {
            gateway: sid(GW),
            silent_for: Duration::from_secs(65),
        },
        now,
        wall(),
    );
    core.client_event(&Event::GatewayOnline { gateway: sid(GW) }, now, wall());
    let out = core.take();
    assert_eq!(
        find(&out, "lumi/kitchen/plug/availability").payload,
        r#"{"state":"offline"}"#
    );
}

#[test]
fn set_becomes_a_write_in_the_gateways_protocol() {
    let (mut core, _) = house();
    let _ = core.take();
    core.mqtt_message("lumi/kitchen/plug/set", br#"{"state":"ON"}"#, false);
    let out = core.take();
    assert_eq!(out.jobs.len(), 1);
    let Job::Write { sid: s, props, .. } = &out.jobs[0] else {
        panic!("{:?}", out.jobs)
    };
    assert_eq!(s, &sid(PLUG));
    assert_eq!(serde_json::to_string(props).unwrap(), r#"{"status":"on"}"#);
    // TOGGLE uses the known state (off → on).
    core.mqtt_message("lumi/kitchen/plug/set/state", b"TOGGLE", false);
    let out = core.take();
    let Job::Write { props, .. } = &out.jobs[0] else {
        panic!()
    };
    assert_eq!(serde_json::to_string(props).unwrap(), r#"{"status":"on"}"#);
}

#[test]
fn bad_commands_are_logged_on_mqtt_never_dropped_silently() {
    let (mut core, _) = house();
    let _ = core.take();
    core.mqtt_message("lumi/garage/door/set", br#"{"state":"ON"}"#, false);
    let out = core.take();
    assert!(out.jobs.is_empty());
    let log = json(find(&out, "lumi/bridge/logging"));
    assert_eq!(log["level"], "error");
    let msg = log["message"].as_str().unwrap();
    assert!(
        msg.contains("no device named \"garage/door\"") && msg.contains("kitchen/plug"),
        "{msg}"
    );
    core.mqtt_message("lumi/kitchen/plug/set", br#"{"power": 5}"#, false);
    let log = json(find(&core.take(), "lumi/bridge/logging"));
    assert!(
        log["message"].as_str().unwrap().contains("read-only"),
        "{log}"
    );
    // A retained command is not run (it would run again at every restart).
    core.mqtt_message("lumi/kitchen/plug/set", br#"{"state":"ON"}"#, true);
    assert!(core.take().jobs.is_empty());
    assert_eq!(core.stats().failed, 2);
}

#[test]
fn a_failed_write_is_reported() {
    let (mut core, _) = house();
    let _ = core.take();
    core.mqtt_message("lumi/kitchen/plug/set/state", b"OFF", false);
    let job = core.take().jobs.remove(0);
    core.job_done(&job, JobResult::Failed("no reply after 3s".into()), wall());
    let log = json(find(&core.take(), "lumi/bridge/logging"));
    assert_eq!(log["message"], "kitchen/plug/set: no reply after 3s");
}

#[test]
fn requests_are_answered_with_their_transaction() {
    let (mut core, _) = house();
    let _ = core.take();
    core.mqtt_message("lumi/bridge/request/health", br#"{"transaction":7}"#, false);
    // Health collects the client's and the link's counters first.
    let out = core.take();
    assert!(out.publish.is_empty());
    let [job @ Job::Health { .. }] = out.jobs.as_slice() else {
        panic!("expected one health job, got {:?}", out.jobs);
    };
    let mut runtime = RuntimeStats::default();
    runtime.client.datagrams = 1234;
    runtime.client.reports = 1200;
    core.job_done(job, JobResult::Health(Box::new(runtime)), SystemTime::now());
    let r = json(find(&core.take(), "lumi/bridge/response/health"));
    assert_eq!(
        (r["status"].as_str(), r["transaction"].as_i64()),
        (Some("ok"), Some(7))
    );
    assert_eq!(r["data"]["devices"]["online"], 3);
    assert_eq!(r["data"]["gateways"][0]["protocol"], "v1");
    assert_eq!(r["data"]["lan"]["datagrams"], 1234);
    assert_eq!(r["data"]["lan"]["reports"], 1200);
    assert_eq!(r["data"]["mqtt"]["published"], 0);

    core.mqtt_message(
        "lumi/bridge/request/read",
        br#"{"id":"nobody","transaction":"x"}"#,
        false,
    );
    let r = json(find(&core.take(), "lumi/bridge/response/read"));
    assert_eq!(
        (r["status"].as_str(), r["transaction"].as_str()),
        (Some("error"), Some("x"))
    );

    core.mqtt_message(
        "lumi/bridge/request/permit_join",
        br#"{"value":true,"time":60,"transaction":1}"#,
        false,
    );
    let out = core.take();
    let Job::Pairing {
        gateways,
        open,
        time,
        ..
    } = &out.jobs[0]
    else {
        panic!("{:?}", out.jobs)
    };
    // 60 s asked; a gateway opens for 30 s, and the response says so.
    assert_eq!(
        (gateways.as_slice(), *open, *time),
        (&[sid(GW)][..], true, Duration::from_secs(30))
    );
    let job = out.jobs[0].clone();
    core.job_done(&job, JobResult::Done, wall());
    let r = json(find(&core.take(), "lumi/bridge/response/permit_join"));
    assert_eq!(r["data"]["value"], true);
    assert_eq!(r["data"]["time"], 30);
    assert_eq!(r["transaction"], 1);
}

#[test]
fn remove_clears_discovery_state_and_availability() {
    let (mut core, now) = house();
    let _ = core.take();
    core.mqtt_message(
        "lumi/bridge/request/remove",
        br#"{"id":"kitchen/plug"}"#,
        false,
    );
    let job = core.take().jobs.remove(0);
    let Job::Remove {
        gateway, sid: s, ..
    } = &job
    else {
        panic!("{job:?}")
    };
    assert_eq!((gateway, s), (&sid(GW), &sid(PLUG)));
    core.job_done(&job, JobResult::Done, wall());
    let out = core.take();
    for t in [
        "homeassistant/switch/lumi_158d0001100000_state/config",
        "lumi/kitchen/plug",
        "lumi/kitchen/plug/availability",
    ] {
        let p = find(&out, t);
        assert_eq!((p.payload.as_str(), p.retain), ("", true), "{t}");
    }
    assert_eq!(
        json(find(&out, "lumi/bridge/event"))["type"],
        "device_removed"
    );
    assert_eq!(
        json(find(&out, "lumi/bridge/response/remove"))["status"],
        "ok"
    );
    core.timer(now + DEVICES_INTERVAL);
    assert_eq!(
        json(find(&core.take(), "lumi/bridge/devices"))
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Gone: commands to it fail clearly.
    core.mqtt_message("lumi/kitchen/plug/set/state", b"ON", false);
    assert!(core.take().jobs.is_empty());
}

#[test]
fn rename_moves_the_topics() {
    let (mut core, _) = house();
    let _ = core.take();
    core.mqtt_message(
        "lumi/bridge/request/rename",
        br#"{"from":"kitchen/plug","to":"kitchen/kettle"}"#,
        false,
    );
    let out = core.take();
    assert_eq!(find(&out, "lumi/kitchen/plug").payload, "");
    assert_eq!(json(find(&out, "lumi/kitchen/kettle"))["state"], "OFF");
    assert_eq!(
        json(find(&out, "lumi/bridge/event"))["type"],
        "device_renamed"
    );
    assert_eq!(
        json(find(&out, "lumi/bridge/response/rename"))["data"]["to"],
        "kitchen/kettle"
    );
    core.mqtt_message("lumi/kitchen/kettle/set/state", b"ON", false);
    assert_eq!(core.take().jobs.len(), 1);
    // A name in use is refused.
    core.mqtt_message(
        "lumi/bridge/request/rename",
        br#"{"from":"hall/button","to":"kitchen/kettle"}"#,
        false,
    );
    assert_eq!(
        json(find(&core.take(), "lumi/bridge/response/rename"))["status"],
        "error"
    );
}

#[test]
fn motion_turns_off_after_the_delay() {
    let (mut core, now) = house();
    let _ = core.take();
    core.client_event(
        &report(
            MOTION,
            "motion",
            ProtoVersion::V2,
            Props::new().with("motion_status", "motion"),
        ),
        now,
        wall(),
    );
    assert_eq!(
        json(find(&core.take(), "lumi/hall/motion"))["occupancy"],
        true
    );
    assert_eq!(core.next_deadline(), Some(now + Duration::from_secs(90)));
    core.timer(now + Duration::from_secs(89));
    assert!(core.take().publish.is_empty());
    core.timer(now + Duration::from_secs(90));
    assert_eq!(
        json(find(&core.take(), "lumi/hall/motion"))["occupancy"],
        false
    );
    assert_eq!(core.next_deadline(), None);
}

#[test]
fn a_new_device_after_loading_is_announced() {
    let (mut core, now) = house();
    let _ = core.take();
    core.client_event(
        &report(
            "158d0001aaaaaa",
            "magnet",
            ProtoVersion::V1,
            Props::new().with("status", "open"),
        ),
        now,
        wall(),
    );
    let out = core.take();
    let e = json(find(&out, "lumi/bridge/event"));
    assert_eq!(
        (e["type"].as_str(), e["data"]["model"].as_str()),
        (Some("device_joined"), Some("magnet"))
    );
    assert!(
        topics(&out).contains(&"homeassistant/binary_sensor/lumi_158d0001aaaaaa_contact/config"),
        "{:?}",
        topics(&out)
    );
    assert_eq!(json(find(&out, "lumi/158d0001aaaaaa"))["contact"], false);
}

#[test]
fn home_assistant_coming_online_gets_everything_again() {
    let (mut core, _) = house();
    let _ = core.take();
    core.mqtt_message("homeassistant/status", b"offline", false);
    assert!(core.take().publish.is_empty());
    core.mqtt_message("homeassistant/status", b"online", false);
    let out = core.take();
    assert!(topics(&out).contains(&"homeassistant/switch/lumi_158d0001100000_state/config"));
    assert_eq!(json(find(&out, "lumi/kitchen/plug"))["state"], "OFF");
}

#[test]
fn stopping_says_offline() {
    let (mut core, _) = house();
    let _ = core.take();
    core.stopping();
    let out = core.take();
    let p = find(&out, "lumi/bridge/state");
    assert_eq!(
        (p.payload.as_str(), p.retain),
        (r#"{"state":"offline"}"#, true)
    );
}

// --- the dashboard ---------------------------------------------------------------------------

fn ui_messages(out: &Output) -> Vec<Value> {
    out.ui
        .iter()
        .map(|m| serde_json::from_str(m).unwrap_or_else(|e| panic!("{m}: {e}")))
        .collect()
}

#[test]
fn nothing_is_made_for_the_dashboard_while_nobody_watches() {
    let (mut core, now) = house();
    let _ = core.take();
    core.client_event(
        &report(
            PLUG,
            "plug",
            ProtoVersion::V1,
            Props::new().with("status", "on"),
        ),
        now,
        wall(),
    );
    let out = core.take();
    assert!(out.ui.is_empty(), "{:?}", out.ui);
    // The log is kept anyway, for a page opened later.
    let snap: Value = serde_json::from_str(&core.snapshot(wall())).unwrap();
    let log = snap["log"].as_array().unwrap();
    let last = log.last().unwrap();
    assert_eq!(last["sid"], PLUG);
    assert_eq!(last["name"], "kitchen/plug");
    assert_eq!(last["text"], "state: ON");
}

#[test]
fn a_watched_report_makes_one_device_update_and_a_log_entry() {
    let (mut core, now) = house();
    core.set_watching(true);
    let _ = core.take();
    for status in ["on", "off", "on"] {
        core.client_event(
            &report(
                PLUG,
                "plug",
                ProtoVersion::V1,
                Props::new().with("status", status),
            ),
            now,
            wall(),
        );
    }
    let m = ui_messages(&core.take());
    // Three reports in one batch: one device message with the latest state, three entries.
    let devices: Vec<&Value> = m.iter().filter(|m| m["type"] == "device").collect();
    assert_eq!(devices.len(), 1, "{m:?}");
    let d = &devices[0]["device"];
    assert_eq!(d["sid"], PLUG);
    assert_eq!(d["name"], "kitchen/plug");
    assert_eq!(d["state"]["state"], "ON");
    assert_eq!(d["online"], true);
    assert_eq!(d["kind"], "plug");
    assert!(
        d["controls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["property"] == "state" && c["control"] == "switch")
    );
    let logs: Vec<&Value> = m.iter().filter(|m| m["type"] == "log").collect();
    assert_eq!(logs.len(), 3, "{m:?}");
    let seqs: Vec<u64> = logs
        .iter()
        .map(|l| l["entry"]["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // Nothing new, nothing sent.
    assert!(core.take().ui.is_empty());
}

#[test]
fn the_dashboard_hears_of_a_state_while_mqtt_is_down() {
    let (mut core, now) = house();
    core.set_watching(true);
    core.disconnected();
    let m = ui_messages(&core.take());
    assert!(
        m.iter()
            .any(|m| m["type"] == "bridge" && m["bridge"]["mqtt"]["connected"] == false),
        "{m:?}"
    );
    core.client_event(
        &report(
            PLUG,
            "plug",
            ProtoVersion::V1,
            Props::new().with("status", "on"),
        ),
        now,
        wall(),
    );
    let out = core.take();
    assert!(out.publish.is_empty());
    assert!(
        ui_messages(&out)
            .iter()
            .any(|m| m["type"] == "device" && m["device"]["state"]["state"] == "ON")
    );
}

#[test]
fn dashboard_commands_are_answered_by_id() {
    let (mut core, _) = house();
    let _ = core.take();
    // Refused at once: an unknown device, a bad value.
    core.dashboard_command(
        7,
        DashboardCommand::Set {
            device: "nosuch".into(),
            property: None,
            payload: br#"{"state":"ON"}"#.to_vec(),
        },
    );
    core.dashboard_command(
        8,
        DashboardCommand::Set {
            device: "kitchen/plug".into(),
            property: None,
            payload: br#"{"state":"MAYBE"}"#.to_vec(),
        },
    );
    let out = core.take();
    assert!(out.jobs.is_empty());
    assert_eq!(out.replies.len(), 2);
    for (id, r) in &out.replies {
        let e = r.as_ref().unwrap_err();
        assert!(e.rejected, "{e:?}");
        match id {
            7 => assert!(e.message.contains("nosuch"), "{}", e.message),
            8 => assert!(e.message.contains("state"), "{}", e.message),
            _ => panic!("unexpected id {id}"),
        }
    }
    // Nothing went to bridge/logging for them: the page has the answer.
    assert!(!topics(&out).contains(&"lumi/bridge/logging"));

    // Accepted: a write job whose result answers the page.
    core.dashboard_command(
        9,
        DashboardCommand::Set {
            device: PLUG.into(),
            property: None,
            payload: br#"{"state":"ON"}"#.to_vec(),
        },
    );
    let out = core.take();
    assert!(out.replies.is_empty());
    let job = out.jobs.into_iter().next().expect("a write");
    assert!(matches!(
        &job,
        Job::Write {
            origin: Origin::Dashboard { id: 9 },
            ..
        }
    ));
    core.job_done(&job, JobResult::Done, wall());
    let out = core.take();
    assert_eq!(out.replies.len(), 1);
    assert_eq!(out.replies[0].0, 9);
    assert_eq!(out.replies[0].1.as_ref().unwrap()["sid"], PLUG);

    // A gateway failure is not the page's mistake.
    core.dashboard_command(
        10,
        DashboardCommand::Get {
            device: PLUG.into(),
        },
    );
    let job = core.take().jobs.into_iter().next().expect("a read");
    core.job_done(&job, JobResult::Failed("no reply after 3s".into()), wall());
    let out = core.take();
    let e = out.replies[0].1.as_ref().unwrap_err();
    assert!(!e.rejected && e.message.contains("no reply"), "{e:?}");
}

#[test]
fn an_invalid_key_is_a_problem_until_a_write_succeeds() {
    let (mut core, _) = house();
    core.set_watching(true);
    let _ = core.take();
    let snapshot = |core: &Core| -> Value { serde_json::from_str(&core.snapshot(wall())).unwrap() };
    let ids = |v: &Value| -> Vec<String> {
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // No password configured (the test config has none): said so, with the fix.
    assert!(ids(&snapshot(&core)).contains(&"no_password".to_owned()));
    let job = Job::Write {
        sid: sid(PLUG),
        props: Props::new().with("status", "on"),
        origin: Origin::Set {
            name: "kitchen/plug".into(),
        },
    };
    core.job_done(
        &job,
        JobResult::InvalidKey {
            gateway: sid(GW),
            message: "Invalid key".into(),
        },
        wall(),
    );
    let m = ui_messages(&core.take());
    let g = m
        .iter()
        .find(|m| m["type"] == "gateways")
        .expect("the gateways and problems again");
    assert!(ids(g).contains(&"invalid_key".to_owned()), "{g}");
    core.job_done(&job, JobResult::Done, wall());
    assert!(!ids(&snapshot(&core)).contains(&"invalid_key".to_owned()));
}

#[test]
fn gateway_health_comes_from_heartbeats_and_tokens() {
    let (mut core, now) = house();
    // The first heartbeat may take up to 10 s: not a problem yet.
    let soon: Value =
        serde_json::from_str(&core.snapshot(wall() + Duration::from_secs(5))).unwrap();
    assert!(
        !soon["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "no_multicast"),
        "{soon}"
    );
    let later = wall() + Duration::from_secs(30);
    let snap: Value = serde_json::from_str(&core.snapshot(later)).unwrap();
    let g = &snap["gateways"][0];
    assert_eq!(g["last_heartbeat"], Value::Null);
    // Without a heartbeat, multicast is not arriving: the problem and its fix.
    assert!(
        snap["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "no_multicast"
                && p["fix"] == lumi_client::diagnosis::FIX_MULTICAST),
        "{snap}"
    );
    core.client_event(
        &Event::Heartbeat {
            gateway: sid(GW),
            sid: sid(GW),
            model: Some("gateway".into()),
            state: catalogue::decode("gateway", ProtoVersion::V1, &Props::new()),
            props: Props::new(),
        },
        now,
        later,
    );
    core.client_event(
        &Event::TokenRefreshed {
            gateway: sid(GW),
            origin: lumi_client::gateway::TokenOrigin::Heartbeat,
        },
        now,
        later,
    );
    let snap: Value = serde_json::from_str(&core.snapshot(later)).unwrap();
    let g = &snap["gateways"][0];
    assert_eq!(g["last_heartbeat"], "2024-05-01T12:35:26.000Z");
    assert_eq!(g["token_time"], "2024-05-01T12:35:26.000Z");
    assert_eq!(g["protocol"], "v1");
    assert!(
        !snap["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "no_multicast"),
        "{snap}"
    );
}

#[test]
fn no_gateway_is_a_problem_after_the_first_seconds() {
    let core = Core::new(config(), wall());
    let ids = |t: SystemTime| -> Vec<String> {
        let v: Value = serde_json::from_str(&core.snapshot(t)).unwrap();
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids(wall() + Duration::from_secs(2)).is_empty());
    assert_eq!(
        ids(wall() + Duration::from_secs(20)),
        ["no_gateway", "wrong_interface"]
    );
}

#[test]
fn command_latency_and_gateway_availability_reach_the_metrics() {
    let (mut core, _) = house();
    let job = Job::Write {
        sid: sid(PLUG),
        props: Props::new(),
        origin: Origin::Set { name: "p".into() },
    };
    core.command_latency(&job, Duration::from_millis(12));
    let m = core.metrics();
    assert_eq!(m.commands[0].count(), 1);
    assert_eq!(m.gateways, vec![(GW.to_owned(), true)]);
    assert_eq!(m.devices_online, 3);
    assert!(m.mqtt_connected);
}

#[test]
fn an_interface_outage_is_an_event_and_shows_in_bridge_state() {
    let (mut core, now) = house();
    let _ = core.take();
    let ip = std::net::Ipv4Addr::new(10, 77, 0, 1);
    core.client_event(&Event::InterfaceDown { interface: ip }, now, wall());
    let out = core.take();
    let state = json(find(&out, "lumi/bridge/state"));
    assert_eq!(
        state["state"], "online",
        "Home Assistant keeps the entities"
    );
    assert_eq!(state["lan"], "down");
    assert!(find(&out, "lumi/bridge/state").retain);
    let event = json(find(&out, "lumi/bridge/event"));
    assert_eq!(event["type"], "interface_down");
    assert_eq!(event["data"]["interface"], "10.77.0.1");
    // The dashboard explains it.
    let snap: Value = serde_json::from_str(&core.snapshot(wall())).unwrap();
    assert_eq!(snap["problems"][0]["id"], "interface_down");
    // A reconnection to the broker meanwhile publishes the same state.
    core.disconnected();
    core.connected();
    let out = core.take();
    assert_eq!(json(find(&out, "lumi/bridge/state"))["lan"], "down");

    core.client_event(
        &Event::InterfaceUp {
            interface: ip,
            down_for: Duration::from_secs(12),
        },
        now,
        wall(),
    );
    let out = core.take();
    assert_eq!(
        find(&out, "lumi/bridge/state").payload,
        r#"{"state":"online"}"#
    );
    let event = json(find(&out, "lumi/bridge/event"));
    assert_eq!(event["type"], "interface_up");
    assert_eq!(event["data"]["down_for_s"], 12);
}

#[test]
fn legacy_topics_retain_states_not_clicks_and_follow_the_motion_off_delay() {
    let mut c = config();
    c.bridge.legacy_topics = true;
    let (mut core, now) = house_with(c);
    let _ = core.take();
    // A click: not retained on the legacy topic either.
    core.client_event(
        &report(
            BUTTON,
            "switch",
            ProtoVersion::V1,
            Props::new().with("status", "click"),
        ),
        now,
        wall(),
    );
    let out = core.take();
    let click = find(&out, &format!("xiaomi/switch/{BUTTON}/action"));
    assert_eq!(click.payload, "single");
    assert!(!click.retain, "a click is an event, not a state");
    // Motion: retained `true`, then the off-delay's `false` on the legacy topic too.
    core.client_event(
        &report(
            MOTION,
            "motion",
            ProtoVersion::V2,
            Props::new().with("motion_status", "motion"),
        ),
        now,
        wall(),
    );
    let out = core.take();
    let on = find(&out, &format!("xiaomi/motion/{MOTION}/occupancy"));
    assert_eq!((on.payload.as_str(), on.retain), ("true", true));
    core.timer(now + Duration::from_secs(90));
    let out = core.take();
    let off = find(&out, &format!("xiaomi/motion/{MOTION}/occupancy"));
    assert_eq!((off.payload.as_str(), off.retain), ("false", true));
}

#[test]
fn setup_problems_reach_the_log_once_each() {
    let mut core = Core::new(config(), wall());
    let t = |s: u64| wall() + Duration::from_secs(s);
    assert!(core.housekeeping(t(5)).is_empty(), "still searching");
    let ids: Vec<&str> = core.housekeeping(t(15)).iter().map(|p| p.id).collect();
    assert_eq!(ids, ["no_gateway", "wrong_interface"]);
    assert!(core.housekeeping(t(20)).is_empty(), "logged once");
    // A gateway appears: those are gone; its missing heartbeat is new after the grace.
    core.client_event(&appeared(), Instant::now(), t(20));
    let ids: Vec<&str> = core.housekeeping(t(21)).iter().map(|p| p.id).collect();
    assert_eq!(ids, ["no_password"]);
    let ids: Vec<&str> = core.housekeeping(t(60)).iter().map(|p| p.id).collect();
    assert_eq!(ids, ["no_multicast"]);
}

#[test]
fn subscriptions_follow_the_deepest_name() {
    let (mut core, _) = house();
    let _ = core.take();
    // The house names devices with two levels ("kitchen/plug").
    let subs = core.subscriptions();
    assert!(subs.contains(&"lumi/+/+/set".to_owned()), "{subs:?}");
    assert!(
        !subs.iter().any(|f| f.starts_with("lumi/+/+/+/")),
        "{subs:?}"
    );
    assert!(!subs.contains(&"lumi/#".to_owned()));
    core.mqtt_message(
        "lumi/bridge/request/rename",
        br#"{"from":"kitchen/plug","to":"house/ground/kitchen/kettle"}"#,
        false,
    );
    let out = core.take();
    assert_eq!(
        out.subscribe,
        [
            "lumi/+/+/+/set",
            "lumi/+/+/+/get",
            "lumi/+/+/+/set/+",
            "lumi/+/+/+/get/+",
            "lumi/+/+/+/+/set",
            "lumi/+/+/+/+/get",
            "lumi/+/+/+/+/set/+",
            "lumi/+/+/+/+/get/+",
        ]
    );
    assert_eq!(
        core.subscriptions().len(),
        subs.len() + 8,
        "kept for reconnects"
    );
    // A shallower name adds nothing.
    core.mqtt_message(
        "lumi/bridge/request/rename",
        br#"{"from":"house/ground/kitchen/kettle","to":"kettle"}"#,
        false,
    );
    assert!(core.take().subscribe.is_empty());
}

#[test]
fn a_large_house_is_announced_in_batches_and_a_report_jumps_the_queue() {
    use crate::daemon::core::ANNOUNCE_BATCH;
    let now = Instant::now();
    let mut core = Core::new(config(), wall());
    core.connected();
    core.client_event(&appeared(), now, wall());
    let _ = core.take();
    let plugs: Vec<String> = (0..60).map(|i| format!("158d00012000{i:02x}")).collect();
    let infos: Vec<DeviceInfo> = plugs
        .iter()
        .map(|s| info(s, "plug", Props::new().with("status", "off")))
        .collect();
    core.loaded(&[], &infos, wall());
    let states = |out: &Output| {
        plugs
            .iter()
            .filter(|p| out.publish.iter().any(|m| m.topic == format!("lumi/{p}")))
            .count()
    };
    let configs = |out: &Output, p: &str| {
        out.publish
            .iter()
            .filter(|m| m.topic.starts_with("homeassistant/") && m.topic.contains(p))
            .count()
    };
    // The first batch only.
    let first = core.take();
    assert_eq!(states(&first), ANNOUNCE_BATCH);
    assert!(configs(&first, &plugs[0]) > 0);
    assert_eq!(configs(&first, &plugs[59]), 0);
    assert!(core.announcing());

    // A report from a device still waiting: its discovery goes before its state.
    core.client_event(
        &report(
            &plugs[59],
            "plug",
            ProtoVersion::V1,
            Props::new().with("status", "on"),
        ),
        now,
        wall(),
    );
    let out = core.take();
    let topics = topics(&out);
    let config_at = topics
        .iter()
        .position(|t| t.starts_with("homeassistant/") && t.contains(plugs[59].as_str()))
        .expect("its discovery");
    let state_at = topics
        .iter()
        .rposition(|t| *t == format!("lumi/{}", plugs[59]))
        .expect("its state");
    assert!(config_at < state_at, "{topics:?}");
    assert_eq!(json(&out.publish[state_at])["state"], "ON");

    // The rest, batch by batch, each device once.
    let mut seen = states(&first) + states(&out);
    let mut rounds = 0;
    while core.announcing() {
        let out = core.take();
        assert!(states(&out) <= ANNOUNCE_BATCH);
        assert_eq!(configs(&out, &plugs[59]), 0, "announced once");
        seen += states(&out);
        rounds += 1;
    }
    assert_eq!(seen, 60, "every plug announced once");
    assert!(rounds >= 1);

    // A reconnection announces everything again, discovery included.
    core.disconnected();
    assert!(!core.announcing());
    core.connected();
    let mut again = 0;
    let mut discovered = 0;
    loop {
        let out = core.take();
        again += states(&out);
        discovered += plugs.iter().filter(|p| configs(&out, p) > 0).count();
        if !core.announcing() {
            break;
        }
    }
    assert_eq!((again, discovered), (60, 60));
}

#[test]
fn a_refused_subscription_is_told_on_bridge_logging_and_the_dashboard() {
    let (mut core, _) = house();
    let _ = core.take();
    core.subscription_refused(&["lumi/+/+/set".to_owned()]);
    let out = core.take();
    let log = json(find(&out, "lumi/bridge/logging"));
    assert_eq!(log["level"], "warning");
    let message = log["message"].as_str().unwrap();
    assert!(
        message.contains("lumi/+/+/set") && message.contains("access rules"),
        "{message}"
    );
    let snapshot: Value = serde_json::from_str(&core.snapshot(wall())).unwrap();
    let logged =
        snapshot["log"].as_array().unwrap().iter().any(|e| {
            e["level"] == "warn" && e["text"].as_str().unwrap_or("").contains("lumi/+/+/set")
        });
    assert!(logged, "{}", snapshot["log"]);
}
