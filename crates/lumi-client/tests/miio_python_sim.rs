//! Interop: lumi's miIO client (`MiioDevice`) against python-miio's own miIO simulator
//! (`miiocli devtools miio-simulator`, python-miio 0.6.0.dev0 from PyPI), over real sockets on
//! loopback.
//!
//! The simulator binds 0.0.0.0:54321 by itself; `tests/peers/miio_simulator.py` runs it
//! unchanged but bound to 127.0.0.1 and a free port, which it prints. The device it
//! simulates is `tests/peers/lumi_test_plug.yaml`. Its quirks meet lumi's client here: the
//! all-zero token for every client, unix-time stamps, error replies with `error` instead of
//! `message`, spaced JSON.
//!
//! Needs `LUMI_PEERS_PYTHON` (a Python with python-miio installed; `scripts/test.sh` sets it
//! up). Without it the test says so and passes, unless `LUMI_REQUIRE_PEERS=1`.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lumi_client::miio::{MiioDevice, MiioOptions};
use lumi_proto::miio::{DeviceId, MiioToken};
use lumi_sim::testkit::peers_python;
use serde_json::json;

/// The simulator process; killed (by its handle) when the test ends, however it ends.
struct Simulator(Child);

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the simulator; returns it with its address, device id and MAC.
fn start(python: &str) -> (Simulator, SocketAddr, DeviceId, String) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers");
    let mut child = Command::new(python)
        .arg(format!("{dir}/miio_simulator.py"))
        .arg(format!("{dir}/lumi_test_plug.yaml"))
        .arg("chuangmi.plug.m1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the peers python runs");
    let stdout = child.stdout.take().expect("piped stdout");
    let sim = Simulator(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("python-miio's simulator prints LISTENING within 30 s");
        if line.starts_with("LISTENING ") {
            break line;
        }
    };
    let f: Vec<&str> = line.split_whitespace().collect();
    let port: u16 = f[1].parse().unwrap();
    let did: u32 = f[2].parse().unwrap();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    (sim, addr, DeviceId(did), f[3].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lumi_client_against_python_miio_simulator() {
    let Some(python) = peers_python() else { return };
    let (_sim, addr, did, mac) = start(&python);
    let opts = MiioOptions {
        bind: Some(Ipv4Addr::LOCALHOST.into()),
        ..MiioOptions::default()
    };
    // python-miio's simulator answers every client with the all-zero token.
    let dev = MiioDevice::connect(addr, MiioToken::ZERO, opts)
        .await
        .unwrap();
    assert_eq!(
        dev.device_id(),
        did,
        "the hello reply carries its device id"
    );
    let hello = dev.handshake().await.unwrap();
    assert_eq!(hello.revealed_token, None, "00*16 is not a token");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Its stamp is unix time (computed from local time, reference §7.15: off by the UTC
    // offset at most).
    assert!(
        u64::from(hello.stamp).abs_diff(now) <= 14 * 3600,
        "{}",
        hello.stamp
    );

    let info = dev.info().await.unwrap();
    assert_eq!(info.model, "chuangmi.plug.m1");
    assert_eq!(info.fw_ver.as_deref(), Some("1.2.4_16"));
    assert_eq!(info.hw_ver.as_deref(), Some("MW300"));
    assert_eq!(info.mac.as_deref(), Some(mac.as_str()));
    assert_eq!(info.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(info.token, None, "its info token is 32 zeros");

    // A property set, then read back.
    let props = json!(["power", "temperature", "wifi_led"]);
    assert_eq!(
        dev.call("get_prop", props.clone()).await.unwrap(),
        json!(["off", 38, "on"])
    );
    assert_eq!(
        dev.call("set_power", json!(["on"])).await.unwrap(),
        json!(["ok"])
    );
    assert_eq!(
        dev.call("set_wifi_led", json!(["off"])).await.unwrap(),
        json!(["ok"])
    );
    assert_eq!(
        dev.call("get_prop", props).await.unwrap(),
        json!(["on", 38, "off"])
    );
    assert_eq!(
        dev.call("get_power", json!([])).await.unwrap(),
        json!([12.5])
    );

    // Its error replies say "error" where devices say "message".
    let err = dev.call("fly", json!([])).await.unwrap_err();
    let e = err.device_error().expect("a device error");
    assert_eq!((e.code, e.message.as_str()), (-2, "unsupported method"));

    // Concurrent calls from clones, serialised by the driver, each with its own answer.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let d = dev.clone();
        tasks.spawn(async move {
            let on = if i % 2 == 0 { "on" } else { "off" };
            let got = if i % 3 == 0 {
                d.call("get_prop", json!(["temperature"])).await.unwrap()
            } else {
                d.call("set_wifi_led", json!([on])).await.unwrap()
            };
            let want = if i % 3 == 0 {
                json!([38])
            } else {
                json!(["ok"])
            };
            assert_eq!(got, want, "call {i}");
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
}
