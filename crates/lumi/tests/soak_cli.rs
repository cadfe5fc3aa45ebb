//! Soak: `lumi bridge` (the real binary) runs against simulated gateways while button clicks,
//! door events, commands over MQTT and from the dashboard, and garbage datagrams keep coming.
//! At the end every click the simulator made has arrived on MQTT exactly once, and the
//! bridge's tasks, file descriptors and memory (from its own `/metrics`) are where they were
//! after the warm-up.
//!
//! 60 s by default (CI); `LUMI_SOAK=4h cargo test -p lumi --test soak_cli --release` for a
//! long run.

#[path = "../../lumi-client/tests/lan_support/mod.rs"]
mod lan_support;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lan_support::{PASSWORD, house_with};
use lumi_bridge::testkit::{Subscriber, free_tcp_port, http, temp_dir};
use lumi_proto::catalogue::{DeviceKind, TypedValue};
use serde_json::Value;

fn soak_duration() -> Duration {
    let text = std::env::var("LUMI_SOAK").unwrap_or_else(|_| "60s".into());
    let (n, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = n
        .parse()
        .unwrap_or_else(|_| panic!("LUMI_SOAK={text}: say e.g. 90s, 10m or 4h"));
    Duration::from_secs(match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => panic!("LUMI_SOAK={text}: say e.g. 90s, 10m or 4h"),
    })
}

#[derive(Debug, Clone, Copy)]
struct Usage {
    tasks: f64,
    fds: f64,
    rss: f64,
}

async fn usage(web: SocketAddr) -> Usage {
    let text = http::request(web, "GET", "/metrics", &[], "").await.body;
    let v = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
    };
    Usage {
        tasks: v("lumi_runtime_alive_tasks"),
        fds: v("process_open_fds"),
        rss: v("process_resident_memory_bytes"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_stays_flat_and_loses_nothing_under_a_steady_load() {
    let total = soak_duration();
    let h = house_with(2, |_, _| {}).await;
    let dir = temp_dir("soak").unwrap();
    let (mqtt_port, web_port) = (free_tcp_port(), free_tcp_port());
    let log = dir.join("bridge.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lumi"))
        .env_remove("LUMI_CONFIG")
        .env_remove("LUMI_PASSWORD")
        .env_remove("LUMI_MQTT_URL")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("LUMI_LOG", "warn")
        .args(["--password", PASSWORD, "--interface", "127.0.0.1"])
        .args(["--discovery-port", &h.net.discovery_port.to_string()])
        .args(["--report-port", &h.net.report_port.to_string()])
        .args(["bridge", "--mqtt-listen", &format!("127.0.0.1:{mqtt_port}")])
        .args(["--web-listen", &format!("127.0.0.1:{web_port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let web = SocketAddr::from((Ipv4Addr::LOCALHOST, web_port));
    let broker = SocketAddr::from((Ipv4Addr::LOCALHOST, mqtt_port));
    let (_, button, _) = h.find(DeviceKind::Button);
    let (_, door, _) = h.find(DeviceKind::DoorWindow);
    let (_, plug, _) = h.find(DeviceKind::Plug);

    // Connected once the broker accepts and the house is listed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(broker).is_err() {
        assert!(
            Instant::now() < deadline,
            "the bridge's broker never listened"
        );
        tokio::task::yield_now().await;
    }
    let sub = Subscriber::connect(
        broker,
        &["lumi/bridge/devices", &format!("lumi/{button}/action")],
    )
    .await;
    let expected = h.device_count() + h.specs.len();
    sub.wait_until(Duration::from_secs(30), |msgs| {
        msgs.iter()
            .rev()
            .find(|m| m.topic == "lumi/bridge/devices")
            .and_then(|m| serde_json::from_slice::<Value>(&m.payload).ok())
            .and_then(|v| v.as_array().map(Vec::len))
            .is_some_and(|n| n == expected)
    })
    .await
    .expect("the house is listed");
    let commander = Subscriber::connect(broker, &["lumi/bridge/response/#"]).await;
    let garbage = lumi_sim::rt::multicast_sender(
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
        Ipv4Addr::LOCALHOST,
    )
    .unwrap();
    let group = SocketAddrV4::new(h.net.group, h.net.report_port);

    // The load: 25 rounds a second of a click and a door event; every tenth round a command
    // over MQTT, one from the dashboard, a health request and garbage datagrams.
    let warm_up = (total / 6).max(Duration::from_secs(5));
    let start = Instant::now();
    let mut pace = tokio::time::interval(Duration::from_millis(40));
    let mut clicks = 0u64;
    let mut round = 0u64;
    let mut baseline: Option<Usage> = None;
    while start.elapsed() < total {
        pace.tick().await;
        round += 1;
        h.happen(&button, "action", TypedValue::Text("single".into()))
            .await;
        clicks += 1;
        h.happen(&door, "contact", TypedValue::Bool(round.is_multiple_of(2)))
            .await;
        if round.is_multiple_of(10) {
            commander
                .publish(
                    &format!("lumi/{plug}/set"),
                    br#"{"state":"TOGGLE"}"#.to_vec(),
                    false,
                )
                .await;
            commander
                .publish("lumi/bridge/request/health", b"{}".to_vec(), false)
                .await;
            let r = http::request(
                web,
                "POST",
                &format!("/api/devices/{plug}/get"),
                &[http::JSON],
                "{}",
            )
            .await;
            assert_eq!(r.status, 200, "{r:?}");
            for bytes in [
                &b"\xff\xfe not json"[..],
                b"{\"cmd\":\"report\"}",
                &[b'{'; 4000][..],
            ] {
                garbage.send_to(bytes, group).await.unwrap();
            }
        }
        if baseline.is_none() && start.elapsed() >= warm_up {
            baseline = Some(usage(web).await);
        }
    }

    // Every click arrives, once.
    let delivered = |msgs: &[lumi_bridge::testkit::Message]| {
        msgs.iter().filter(|m| m.topic.ends_with("/action")).count() as u64
    };
    let all = sub
        .wait_until(Duration::from_secs(30), |msgs| delivered(msgs) >= clicks)
        .await
        .is_ok();
    let got = delivered(&sub.messages());
    assert!(all, "{got} of {clicks} clicks arrived");
    assert_eq!(got, clicks, "clicks delivered more than once");
    let base = baseline.expect("a baseline after the warm-up");
    let end = usage(web).await;
    eprintln!(
        "soak {total:?}: {clicks} clicks, {round} rounds; tasks {} → {}, fds {} → {}, RSS {:.1} → {:.1} MB",
        base.tasks,
        end.tasks,
        base.fds,
        end.fds,
        base.rss / 1e6,
        end.rss / 1e6
    );
    // A few commands may be in flight at either moment; a leak grows with every round.
    assert!(
        end.tasks <= base.tasks + 4.0,
        "tasks grew: {base:?} → {end:?}"
    );
    assert!(
        end.fds <= base.fds + 2.0,
        "file descriptors grew: {base:?} → {end:?}"
    );
    assert!(
        end.rss <= base.rss * 1.25 + 4e6,
        "memory grew: {base:?} → {end:?}"
    );

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{status}; log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    h.stop().await;
}
