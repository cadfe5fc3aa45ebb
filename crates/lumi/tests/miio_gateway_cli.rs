//! End-to-end: `lumi miio gateway-devices | enable-lan | events` against a simulated gateway
//! on loopback (miIO on a free port, the push server on 127.0.0.1 and a free port that the
//! simulated gateway is told to push to). Waits are on output lines and events, never sleeps.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lumi_proto::catalogue::TypedValue;
use lumi_proto::lan::{ProtoVersion, Sid};
use lumi_proto::miio::DeviceId;
use lumi_sim::device::SubDevice;
use lumi_sim::gateway::GatewayConfig;
use lumi_sim::rt::{GatewayHandle, NetConfig, spawn_gateway};
use lumi_sim::testkit::free_udp_port;
use serde_json::{Value, json};

const TOKEN: &str = "1c1961595b889a1f42af6b16cf9a6b81";
const CUBE: &str = "158d000cccccc1";
const BUTTON: &str = "158d0001a2b3c4";
const WAIT: Duration = Duration::from_secs(10);

fn sid(s: &str) -> Sid {
    s.parse().unwrap()
}

async fn gateway(ip: Ipv4Addr, push_port: u16) -> GatewayHandle {
    let mut cfg = GatewayConfig::new(
        sid("7811dcb06972"),
        ip,
        ProtoVersion::V1,
        "0987654321qwerty".parse().unwrap(),
    );
    cfg.command_port = 0;
    cfg.miio_token = TOKEN.parse().unwrap();
    cfg.device_id = DeviceId(63_217_102);
    cfg.push_port = push_port;
    let net = NetConfig {
        discovery_port: free_udp_port(),
        report_port: free_udp_port(),
        miio_port: 0,
        ..NetConfig::default()
    };
    let devices = vec![
        SubDevice::from_catalogue(sid(CUBE), "cube", ProtoVersion::V1).unwrap(),
        SubDevice::from_catalogue(sid(BUTTON), "sensor_switch.aq2", ProtoVersion::V1).unwrap(),
    ];
    spawn_gateway(cfg, devices, net).await.unwrap()
}

fn lumi(sim: &GatewayHandle, args: &[&str]) -> std::process::Output {
    let port = sim.miio_addr.port().to_string();
    let ip = sim.miio_addr.ip().to_string();
    Command::new(env!("CARGO_BIN_EXE_lumi"))
        .args(["miio"])
        .args(args.iter().take(1))
        .args([
            ip.as_str(),
            "--port",
            &port,
            "--token",
            TOKEN,
            "--timeout",
            "3s",
        ])
        .args(args.iter().skip(1))
        .env_remove("LUMI_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_devices_and_lan_key() {
    let sim = gateway(Ipv4Addr::new(127, 0, 0, 41), free_udp_port()).await;
    let out = lumi(&sim, &["gateway-devices", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cube = lines
        .iter()
        .find(|l| l["sid"] == CUBE)
        .expect("the cube is listed");
    assert_eq!(cube["model"], "lumi.sensor_cube.v1");
    assert_eq!(cube["type_id"], 8);
    assert!(
        lines
            .iter()
            .any(|l| l["sid"] == BUTTON && l["model"] == "lumi.sensor_switch.aq2")
    );

    // Human output has a header and the count.
    let out = lumi(&sim, &["gateway-devices"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("SID") && text.contains("2 devices"),
        "{text}"
    );

    // The LAN key: set one, then read it back (already set).
    let out = lumi(&sim, &["enable-lan", "--key", "abcdefghijklmnop", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["key"].as_str(), v["state"].as_str()),
        (Some("abcdefghijklmnop"), Some("set"))
    );
    let out = lumi(&sim, &["enable-lan", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["key"].as_str(), v["state"].as_str()),
        (Some("abcdefghijklmnop"), Some("already set"))
    );
    let pw = sim
        .inspect(|g| g.config().password.expose().to_owned())
        .await
        .unwrap();
    assert_eq!(pw, "abcdefghijklmnop", "the simulated gateway took the key");

    // A bad key is refused before anything is sent, naming the option.
    let out = lumi(&sim, &["enable-lan", "--key", "short"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key"));
    sim.stop().await;
}

/// Reads stdout lines of `child` on a thread, so the async test can wait with a deadline.
fn line_reader(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_json(rx: &mpsc::Receiver<String>) -> Value {
    let line = rx.recv_timeout(WAIT).expect("a line from lumi in time");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_receive_a_cube_rotation_and_a_double_click_then_clean_up() {
    let push_port = free_udp_port();
    let sim = gateway(Ipv4Addr::new(127, 0, 0, 42), push_port).await;
    let port = sim.miio_addr.port().to_string();
    let listen = format!("127.0.0.1:{push_port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lumi"))
        .args([
            "miio",
            "events",
            "127.0.0.42",
            "--port",
            &port,
            "--token",
            TOKEN,
        ])
        .args(["--listen", &listen, "--advertise", "127.0.0.1", "--json"])
        .args(["--subscribe", &format!("{CUBE}:rotate")])
        .args(["--subscribe", &format!("{BUTTON}:d_click_ch0")])
        .args(["--duration", "60s"])
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = line_reader(&mut child);
    let a = next_json(&rx);
    let b = next_json(&rx);
    assert_eq!(
        (a["event"].as_str(), a["action"].as_str()),
        (Some("subscribed"), Some("rotate"))
    );
    assert_eq!(
        (b["event"].as_str(), b["action"].as_str()),
        (Some("subscribed"), Some("d_click_ch0"))
    );
    let ready = next_json(&rx);
    assert_eq!(ready["event"], "listening");
    assert_eq!(sim.inspect(|g| g.miio_scenes().len()).await.unwrap(), 2);

    let rotate = vec![
        ("action".to_owned(), TypedValue::Text("rotate".into())),
        ("angle".to_owned(), TypedValue::Float(90.0)),
        ("duration".to_owned(), TypedValue::Int(500)),
    ];
    sim.stimulate(sid(CUBE), rotate).await.unwrap().unwrap();
    let e = next_json(&rx);
    assert_eq!(
        (&e["event"], &e["sid"], &e["action"], &e["params"]),
        (
            &json!("push"),
            &json!(CUBE),
            &json!("rotate"),
            &json!([90, 500])
        )
    );
    let double = vec![("action".to_owned(), TypedValue::Text("double".into()))];
    sim.stimulate(sid(BUTTON), double).await.unwrap().unwrap();
    let e = next_json(&rx);
    assert_eq!(
        (&e["sid"], &e["action"]),
        (&json!(BUTTON), &json!("d_click_ch0"))
    );

    // Ctrl-C: lumi removes its scenes from the gateway and exits 0.
    let pid = child.id().to_string();
    // The shell's own `kill` (no procps needed on a fresh machine).
    assert!(
        Command::new("sh")
            .args(["-c", "kill -INT \"$1\"", "sh", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        sim.inspect(|g| g.miio_scenes().len()).await.unwrap(),
        0,
        "scenes removed"
    );
    sim.stop().await;
}

#[test]
fn events_arguments_are_checked() {
    for (args, want) in [
        (
            vec!["miio", "events", "127.0.0.1", "--token", TOKEN],
            "--subscribe",
        ),
        (
            vec![
                "miio",
                "events",
                "127.0.0.1",
                "--token",
                TOKEN,
                "--subscribe",
                "nocolon",
            ],
            "SID:ACTION",
        ),
        (
            vec![
                "miio",
                "events",
                "127.0.0.1",
                "--token",
                TOKEN,
                "--subscribe",
                "zz:rotate",
            ],
            "not a sid",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_lumi"))
            .args(&args)
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
