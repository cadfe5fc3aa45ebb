//! Hot paths of the MQTT bridge, one criterion group each (time per element):
//!
//! - `topics`: formatting a device's state, availability and `/set` topics, and a legacy
//!   `xiaomi/<model>/<sid>/<property>` topic.
//! - `state`: a device's JSON state as the daemon publishes it (`state_json_with`, written
//!   straight from the readings) for a plug and a temperature/humidity sensor, the same text
//!   through the object (`*_via_object`: `state_payload`, then written) for comparison, and
//!   the `bridge/devices` payload for 500 devices (500 elements per iteration).
//! - `discovery`: every Home Assistant discovery config of a device (`Discovery::device` and
//!   `payload_string` of each message) for a plug, a sensor_ht, a two-gang wall switch and a
//!   gateway.
//! - `core`: one whole sans-IO daemon step for one report (`Core::client_event` then
//!   `Core::take`) in a connected core that knows 10 gateways × 50 plugs (and one door
//!   sensor), with the default configuration (Home Assistant discovery and availability on,
//!   legacy topics off): a plug whose `power_consumed` changes, and a v1 door sensor
//!   alternating open/close.
//!
//! `cargo bench -p lumi-bridge --bench bridge` (add `-- --warm-up-time 1 --measurement-time 3`
//! for a quick run, or a group name such as `-- core` to run one group).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use lumi_bridge::Config;
use lumi_bridge::FriendlyName;
use lumi_bridge::daemon::Core;
use lumi_bridge::discovery::{DeviceInfo as HaDevice, Discovery};
use lumi_bridge::state::{self, DeviceEntry, Extras};
use lumi_bridge::topics::Topics;
use lumi_client::gateway::{DeviceInfo, Event, Origin};
use lumi_proto::catalogue::{self, DeviceState};
use lumi_proto::lan::{Props, ProtoVersion, Sid};

const GATEWAY: &str = "34ce0088db0b";
const PLUG: &str = "158d0001100000";
const SENSOR_HT: &str = "158d0001a2b3c4";
const SWITCH: &str = "158d0001c0ffee";
const DOOR: &str = "158d0001c1cdfb";

fn sid(s: &str) -> Sid {
    s.parse().expect("a valid sid")
}

fn name(s: &str) -> FriendlyName {
    FriendlyName::new(s).expect("a valid friendly name")
}

fn wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_714_566_896)
}

/// A plug's merged state as the daemon keeps it (every property it reports).
fn plug_state() -> DeviceState {
    let props = Props::new()
        .with("status", "on")
        .with("inuse", "1")
        .with("load_power", "24.76")
        .with("power_consumed", "123456")
        .with("voltage", 230);
    catalogue::decode("plug", ProtoVersion::V1, &props)
}

fn sensor_ht_state() -> DeviceState {
    let props = Props::new()
        .with("temperature", "2120")
        .with("humidity", "5277")
        .with("voltage", 3005);
    catalogue::decode("sensor_ht", ProtoVersion::V1, &props)
}

fn topics(c: &mut Criterion) {
    let config = Config::from_toml("[bridge]\nlegacy_topics = true").expect("a valid config");
    let t = Topics::from_config(&config);
    let n = name("kitchen/plug");
    let plug = sid(PLUG);
    let mut g = c.benchmark_group("topics");
    g.throughput(Throughput::Elements(1));
    g.bench_function("state", |b| b.iter(|| t.state(black_box(&n))));
    g.bench_function("availability", |b| b.iter(|| t.availability(black_box(&n))));
    g.bench_function("set", |b| b.iter(|| t.set(black_box(&n))));
    g.bench_function("legacy", |b| {
        b.iter(|| t.legacy(black_box("plug"), black_box(&plug), black_box("status")))
    });
    g.finish();
}

fn state(c: &mut Criterion) {
    let extras = Extras {
        linkquality: None,
        last_seen: Some(wall()),
    };
    let plug = plug_state();
    let ht = sensor_ht_state();
    let mut g = c.benchmark_group("state");
    g.throughput(Throughput::Elements(1));
    // As the daemon publishes a state (core.rs `publish_state`): written straight from the
    // readings.
    g.bench_function("plug", |b| {
        b.iter(|| state::state_json_with(black_box(&plug), &extras, None))
    });
    g.bench_function("sensor_ht", |b| {
        b.iter(|| state::state_json_with(black_box(&ht), &extras, None))
    });
    // The same text through the object (`state_payload`, then written): the path before.
    g.bench_function("plug_via_object", |b| {
        b.iter(|| state::to_json_string(&state::state_payload(black_box(&plug), &extras)))
    });
    g.bench_function("sensor_ht_via_object", |b| {
        b.iter(|| state::to_json_string(&state::state_payload(black_box(&ht), &extras)))
    });

    // `bridge/devices` for 500 sub-devices of mixed models on 10 gateways.
    const MODELS: &[&str] = &["plug", "sensor_ht", "magnet", "ctrl_neutral2", "motion"];
    let gateways: Vec<Sid> = (0..10)
        .map(|i| sid(&format!("34ce0088db{i:02x}")))
        .collect();
    let sids: Vec<Sid> = (0..500)
        .map(|i| sid(&format!("158d00011{i:05x}")))
        .collect();
    let names: Vec<FriendlyName> = (0..500)
        .map(|i| name(&format!("room{}/dev{i}", i % 20)))
        .collect();
    let entries: Vec<DeviceEntry<'_>> = (0..500)
        .map(|i| {
            let model = MODELS[i % MODELS.len()];
            DeviceEntry {
                sid: &sids[i],
                name: &names[i],
                model,
                device: catalogue::lookup(model),
                gateway: Some(&gateways[i / 50]),
                online: Some(true),
                last_seen: Some(wall()),
            }
        })
        .collect();
    g.throughput(Throughput::Elements(entries.len() as u64));
    g.bench_function("devices_500", |b| {
        b.iter(|| state::devices_payload(black_box(&entries)))
    });
    g.finish();
}

fn discovery(c: &mut Criterion) {
    let config = Config::default();
    let discovery = Discovery::new(&config);
    let gateway = sid(GATEWAY);
    let cases = [
        ("plug", PLUG, "plug", "kitchen/plug"),
        ("sensor_ht", SENSOR_HT, "sensor_ht", "hall/climate"),
        ("wall_switch", SWITCH, "ctrl_neutral2", "hall/lights"),
        ("gateway", GATEWAY, "gateway", "gateway"),
    ];
    let mut g = c.benchmark_group("discovery");
    g.throughput(Throughput::Elements(1));
    for (label, s, model, n) in cases {
        let s = sid(s);
        let n = name(n);
        let device = catalogue::lookup(model).expect("a catalogued model");
        let info = HaDevice {
            sid: &s,
            name: &n,
            device,
            gateway: (model != "gateway").then_some(&gateway),
        };
        // As core.rs `publish_discovery`: every message, its payload as text.
        g.bench_function(label, |b| {
            b.iter(|| {
                discovery
                    .device(black_box(&info))
                    .into_iter()
                    .map(|m| {
                        let payload = m.payload_string();
                        (m.topic, payload)
                    })
                    .collect::<Vec<_>>()
            })
        });
    }
    g.finish();
}

fn report(gateway: &Sid, sid_: &Sid, model: &str, props: Props) -> Event {
    Event::Report {
        gateway: gateway.clone(),
        sid: sid_.clone(),
        model: Some(model.to_owned()),
        state: catalogue::decode(model, ProtoVersion::V1, &props),
        props,
    }
}

/// A connected core that has loaded 10 v1 gateways with 50 plugs each, and one door sensor on
/// the first gateway; everything it published so far taken.
fn house() -> (Core, Vec<Sid>, tokio::time::Instant) {
    let now = tokio::time::Instant::now();
    let mut core = Core::new(Config::default(), wall());
    core.connected();
    let gateways: Vec<Sid> = (0..10)
        .map(|i| sid(&format!("34ce0088db{i:02x}")))
        .collect();
    for (g, gw) in gateways.iter().enumerate() {
        core.client_event(
            &Event::GatewayAppeared {
                gateway: gw.clone(),
                addr: SocketAddr::from(([127, 0, 0, 2 + g as u8], 9898)),
                model: Some("gateway".into()),
                version: Some(ProtoVersion::V1),
                origin: Origin::Discovery,
            },
            now,
            wall(),
        );
        let mut devices: Vec<DeviceInfo> = (0..50)
            .map(|i| DeviceInfo {
                sid: sid(&format!("158d0001{g:02x}{i:04x}")),
                gateway: gw.clone(),
                model: Some("plug".into()),
                name: None,
                kind: None,
                state: plug_state(),
                battery: None,
                voltage: None,
                last_seen: Some(Duration::from_secs(5)),
                available: true,
            })
            .collect();
        if g == 0 {
            let props = Props::new().with("status", "close").with("voltage", 3005);
            devices.push(DeviceInfo {
                sid: sid(DOOR),
                gateway: gw.clone(),
                model: Some("magnet".into()),
                name: None,
                kind: None,
                state: catalogue::decode("magnet", ProtoVersion::V1, &props),
                battery: None,
                voltage: None,
                last_seen: Some(Duration::from_secs(5)),
                available: true,
            });
        }
        core.loaded(&[], &devices, wall());
    }
    // Every announcement, batch by batch.
    let _ = core.take();
    while core.announcing() {
        let _ = core.take();
    }
    (core, gateways, now)
}

fn core(c: &mut Criterion) {
    let (mut core, gateways, now) = house();
    // Plug 28 of gateway 5 (see `house`).
    let plug = sid("158d000105001c");
    let door = sid(DOOR);
    let plug_reports = [
        report(
            &gateways[5],
            &plug,
            "plug",
            Props::new().with("power_consumed", "123456"),
        ),
        report(
            &gateways[5],
            &plug,
            "plug",
            Props::new().with("power_consumed", "123457"),
        ),
    ];
    let door_reports = [
        report(
            &gateways[0],
            &door,
            "magnet",
            Props::new().with("status", "open"),
        ),
        report(
            &gateways[0],
            &door,
            "magnet",
            Props::new().with("status", "close"),
        ),
    ];
    // Sanity: each step publishes the device's state (and nothing on `bridge/devices`).
    for r in [&plug_reports[0], &door_reports[0]] {
        core.client_event(r, now, wall());
        let out = core.take();
        assert_eq!(out.publish.len(), 1, "{:?}", out.publish);
    }

    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(1));
    // `client_event` borrows the event (as the driver hands it on), so the timed loop clones
    // nothing: the events are built once, above, and alternate so the value really changes.
    for (label, reports) in [
        ("report_plug", &plug_reports),
        ("report_door", &door_reports),
    ] {
        let mut i = 0usize;
        g.bench_function(label, |b| {
            b.iter(|| {
                i ^= 1;
                core.client_event(black_box(&reports[i]), now, wall());
                core.take()
            })
        });
    }
    // For scale: what building such an event costs (the LAN client's catalogue decode, done
    // before the core sees it), and what a clone of one costs.
    let props = Props::new().with("power_consumed", "123456");
    g.bench_function("decode_plug_report", |b| {
        b.iter(|| catalogue::decode(black_box("plug"), ProtoVersion::V1, black_box(&props)))
    });
    g.bench_function("clone_plug_report", |b| {
        b.iter(|| black_box(&plug_reports[0]).clone())
    });
    g.finish();
}

criterion_group!(benches, topics, state, discovery, core);
criterion_main!(benches);
