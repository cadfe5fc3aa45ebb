//! End-to-end: the `lumi` binary's LAN commands (`discover`, `devices`, `listen`, `read`,
//! `write`) against simulated gateways started in this test process (`lumi_sim::rt`, a v1
//! gateway on 127.0.0.2 and a v2 one on 127.0.0.3), multicast on 127.0.0.1 only, free ports.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use lumi_proto::catalogue::{self, DeviceKind, TypedValue};
use lumi_proto::lan::Sid;
use lumi_sim::rt::{self, GatewayHandle};
use lumi_sim::scenario::{GatewaySpec, Scenario};
use lumi_sim::testkit::free_udp_port;
use serde_json::Value;

const PASSWORD: &str = "0987654321qwerty";

struct House {
    gateways: Vec<GatewayHandle>,
    specs: Vec<GatewaySpec>,
    discovery_port: u16,
    report_port: u16,
}

async fn house() -> House {
    let (discovery_port, report_port) = (free_udp_port(), free_udp_port());
    let net = rt::NetConfig {
        discovery_port,
        report_port,
        miio_port: 0,
        ..rt::NetConfig::default()
    };
    let scenario = Scenario::house(
        Ipv4Addr::new(127, 0, 0, 2),
        2,
        None,
        PASSWORD.parse().unwrap(),
        None,
    );
    let mut gateways = Vec::new();
    let mut specs = Vec::new();
    for mut spec in scenario.gateways {
        spec.config.command_port = 0;
        gateways.push(
            rt::spawn_gateway(spec.config.clone(), spec.devices.clone(), net)
                .await
                .unwrap(),
        );
        specs.push(spec);
    }
    House {
        gateways,
        specs,
        discovery_port,
        report_port,
    }
}

impl House {
    /// The network options every command gets.
    fn args(&self, rest: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
        v.extend(
            [
                "--interface",
                "127.0.0.1",
                "--discovery-port",
                &self.discovery_port.to_string(),
                "--report-port",
                &self.report_port.to_string(),
                "--timeout",
                "1s",
            ]
            .map(String::from),
        );
        v
    }

    fn find(&self, kind: DeviceKind) -> (usize, Sid) {
        for (i, s) in self.specs.iter().enumerate() {
            for d in &s.devices {
                if catalogue::lookup(&d.model).map(|c| c.kind) == Some(kind) {
                    return (i, d.sid.clone());
                }
            }
        }
        panic!("no {kind:?}")
    }

    async fn stop(self) {
        for g in self.gateways {
            g.stop().await;
        }
    }
}

fn command(args: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lumi"));
    c.args(args)
        .env_remove("LUMI_PASSWORD")
        .env_remove("LUMI_CONFIG")
        .env_remove("LUMI_INTERFACE")
        // No user config file can leak in.
        .env("XDG_CONFIG_HOME", "/nonexistent/lumi-tests")
        .stdin(Stdio::null());
    c
}

/// Runs `lumi` to completion without blocking the runtime the simulators live on.
async fn lumi(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || command(&args).output().expect("lumi runs"))
        .await
        .unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_lists_both_gateways() {
    let h = house().await;
    let lines = json_lines(&lumi(h.args(&["discover", "--json"])).await);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, (g, spec)) in lines.iter().zip(h.gateways.iter().zip(&h.specs)) {
        assert_eq!(line["sid"], g.sid.as_str());
        assert_eq!(line["addr"], g.command_addr.to_string());
        assert_eq!(line["model"], spec.config.model.as_str());
        assert_eq!(line["protocol"], spec.config.version.to_string());
    }
    // Human output: one aligned row per gateway under a header.
    let out = lumi(h.args(&["discover"])).await;
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[0].starts_with("SID") && rows[0].contains("PROTOCOL"),
        "{text}"
    );
    let col = rows[0].find("ADDRESS").unwrap();
    for (row, g) in rows[1..].iter().zip(&h.gateways) {
        assert!(row.starts_with(g.sid.as_str()), "{row}");
        assert_eq!(row.find("127.0.0."), Some(col), "aligned: {text}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_lists_every_simulated_device_with_typed_state() {
    let h = house().await;
    let lines = json_lines(&lumi(h.args(&["devices", "--json"])).await);
    let total: usize = h.specs.iter().map(|s| s.devices.len()).sum();
    assert_eq!(lines.len(), total);
    for spec in &h.specs {
        for d in &spec.devices {
            let line = lines
                .iter()
                .find(|l| l["sid"] == d.sid.as_str())
                .unwrap_or_else(|| panic!("{} missing", d.sid));
            assert_eq!(line["model"], d.model.as_str());
            assert_eq!(line["gateway"], spec.config.sid.as_str());
        }
    }
    let state = |kind| {
        let (_, sid) = h.find(kind);
        lines.iter().find(|l| l["sid"] == sid.as_str()).unwrap()["state"]["values"].clone()
    };
    assert_eq!(state(DeviceKind::DoorWindow)["contact"], true);
    assert_eq!(state(DeviceKind::Climate)["temperature"], 21.5);
    assert_eq!(state(DeviceKind::Plug)["state"], "off");
    let (_, door) = h.find(DeviceKind::DoorWindow);
    let door_line = lines.iter().find(|l| l["sid"] == door.as_str()).unwrap();
    assert_eq!(door_line["battery"], 41);
    assert_eq!(door_line["kind"], "door_window");

    let out = lumi(h.args(&["devices"])).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("contact=true"), "{text}");
    assert!(text.contains("temperature=21.5 °C"), "{text}");
    h.stop().await;
}

/// The next JSON line of a running `lumi listen`, within 15 s.
async fn next_line(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("a line within 15 s")
        .expect("lumi listen ended")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_json_shows_a_door_opening() {
    let h = house().await;
    let (g, door) = h.find(DeviceKind::DoorWindow);
    let mut child = command(&h.args(&["listen", "--json", "--duration", "30s"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    // Wait until the door's gateway is loaded: from then on its reports are decoded.
    loop {
        let v = next_line(&mut rx).await;
        assert!(v["time"].is_f64(), "{v}");
        if v["event"] == "devices_loaded" && v["gateway"] == h.gateways[g].sid.as_str() {
            break;
        }
    }
    h.gateways[g]
        .stimulate(
            door.clone(),
            vec![("contact".into(), TypedValue::Bool(false))],
        )
        .await
        .unwrap()
        .unwrap();
    let report = loop {
        let v = next_line(&mut rx).await;
        if v["event"] == "report" && v["sid"] == door.as_str() {
            break v;
        }
    };
    assert_eq!(report["state"]["values"]["contact"], false, "{report}");
    assert_eq!(report["gateway"], h.gateways[g].sid.as_str());
    assert!(report["props"].is_object(), "raw props too: {report}");
    child.kill().unwrap();
    let _ = child.wait();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_returns_the_state() {
    let h = house().await;
    let (_, sensor) = h.find(DeviceKind::Climate);
    let lines = json_lines(&lumi(h.args(&["read", sensor.as_str(), "--json"])).await);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["sid"], sensor.as_str());
    assert_eq!(lines[0]["state"]["values"]["temperature"], 21.5);
    assert_eq!(lines[0]["state"]["values"]["battery"], 41);
    let out = lumi(h.args(&["read", sensor.as_str()])).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("temperature  21.5 °C"), "{text}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_to_a_plug_changes_it() {
    let h = house().await;
    let (g, plug) = h.find(DeviceKind::Plug);
    let key = match h.specs[g].config.version {
        lumi_proto::lan::ProtoVersion::V1 => "status=on",
        _ => "channel_0=on",
    };
    let lines = json_lines(
        &lumi(h.args(&[
            "write",
            plug.as_str(),
            key,
            "--json",
            "--password",
            PASSWORD,
        ]))
        .await,
    );
    // The ack (state before), then the device's report of the change.
    assert_eq!(lines[0]["sid"], plug.as_str());
    assert_eq!(lines[0]["state"]["values"]["state"], "off");
    assert_eq!(
        lines.get(1).map(|l| l["event"].clone()),
        Some("report".into())
    );
    let now = h.gateways[g]
        .inspect(move |gw| {
            let d = gw.device(&plug).unwrap();
            catalogue::decode(&d.model, d.version, &d.state)
                .get("state")
                .cloned()
        })
        .await
        .unwrap();
    assert_eq!(now, Some(TypedValue::text("on")));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_exits_1_with_the_invalid_key_message() {
    let h = house().await;
    let (g, plug) = h.find(DeviceKind::Plug);
    let key = match h.specs[g].config.version {
        lumi_proto::lan::ProtoVersion::V1 => "status=on",
        _ => "channel_0=on",
    };
    let out = lumi(h.args(&[
        "write",
        plug.as_str(),
        key,
        "--password",
        "aaaaaaaaaaaaaaaa",
    ]))
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Invalid key") && err.contains("password"),
        "{err}"
    );
    assert!(!err.contains("aaaaaaaaaaaaaaaa"), "password leaked: {err}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sid_is_named() {
    let h = house().await;
    let out = lumi(h.args(&["read", "158d00000000ff"])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("158d00000000ff") && err.contains("lumi devices"),
        "{err}"
    );
    // Not a sid at all: exit 2 naming the argument.
    let out = lumi(h.args(&["write", "zz", "status=on"])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("\"zz\""), "{err}");
    // A malformed pair: exit 2 naming the pair, before any network traffic.
    let out = lumi(h.args(&["write", "158d00000000ff", "status"])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("\"status\"") && err.contains("key=value"),
        "{err}"
    );
    h.stop().await;
}
