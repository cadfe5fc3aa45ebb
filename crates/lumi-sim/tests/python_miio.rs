//! Acceptance: python-miio (from PyPI) against the simulated miIO devices, over real UDP
//! sockets on loopback (127.0.0.2 / 127.0.0.3, OS-chosen ports).
//!
//! Needs `LUMI_PEERS_PYTHON` (a Python with python-miio 0.6.0.dev0; `scripts/test.sh` sets it
//! up). Without it each test says so and passes, unless `LUMI_REQUIRE_PEERS=1`.
//!
//! The scripts are in `tests/peers/`; they print one line per step, which the tests wait for
//! with a timeout (no sleeps).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lumi_proto::lan::{Props, ProtoVersion, Sid};
use lumi_proto::miio::{DeviceId, MiioToken};
use lumi_sim::device::SubDevice;
use lumi_sim::gateway::{Destination, GatewayConfig, SimEvent};
use lumi_sim::miio::{PlugModel, SimMiioDevice, spawn_miio_device};
use lumi_sim::rt::{NetConfig, spawn_gateway};
use lumi_sim::testkit::{free_udp_port as free_port, peers_python};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const WAIT: Duration = Duration::from_secs(20);
const GW_TOKEN: &str = "1c1961595b889a1f42af6b16cf9a6b81";
const PLUG_TOKEN: &str = "00112233445566778899aabbccddeeff";
const BUTTON: &str = "158d0001a2b3c4";
const SENSOR: &str = "158d0001a200f5";
const PASSWORD: &str = "a6c567lbkcmr47fp";

/// A running peer script: its stdout lines, and its stderr collected for failure messages.
struct Script {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<String>>,
    name: &'static str,
}

impl Script {
    fn start(python: &str, name: &'static str, args: &[String]) -> Script {
        let path = format!("{}/../../tests/peers/{name}", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(python)
            .arg(path)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the peers python runs");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut buf = String::new();
            let _ = err.read_to_string(&mut buf).await;
            sink.lock().unwrap().push_str(&buf);
        });
        Script {
            child,
            lines,
            stderr,
            name,
        }
    }

    /// The rest of the next line starting with `prefix` (earlier lines are skipped).
    async fn next(&mut self, prefix: &str) -> String {
        let found = tokio::time::timeout(WAIT, async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return Some(rest.trim().to_owned());
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(rest)) => rest,
            _ => {
                // Give stderr a moment to arrive for the message.
                let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
                panic!(
                    "{}: no {prefix} line within {WAIT:?}; stderr:\n{}",
                    self.name,
                    self.stderr.lock().unwrap()
                )
            }
        }
    }

    async fn json(&mut self, prefix: &str) -> Value {
        serde_json::from_str(&self.next(prefix).await).unwrap()
    }

    async fn succeeds(mut self) {
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("the script exits")
            .unwrap();
        // Let the stderr reader finish.
        tokio::task::yield_now().await;
        assert!(
            status.success(),
            "{} failed ({status}); stderr:\n{}",
            self.name,
            self.stderr.lock().unwrap()
        );
    }
}

fn gateway_config(push_port: u16) -> GatewayConfig {
    let mut cfg = GatewayConfig::new(
        Sid::new("7811dcb06972").unwrap(),
        Ipv4Addr::new(127, 0, 0, 2),
        ProtoVersion::V1,
        PASSWORD.parse().unwrap(),
    );
    cfg.command_port = 0;
    cfg.miio_token = GW_TOKEN.parse().unwrap();
    cfg.device_id = DeviceId(63_217_102);
    cfg.push_port = push_port;
    cfg
}

fn net() -> NetConfig {
    NetConfig {
        discovery_port: free_port(),
        report_port: free_port(),
        miio_port: 0,
        ..NetConfig::default()
    }
}

fn devices() -> Vec<SubDevice> {
    vec![
        SubDevice::from_catalogue(
            Sid::new(BUTTON).unwrap(),
            "sensor_switch.aq2",
            ProtoVersion::V1,
        )
        .unwrap(),
        SubDevice::from_catalogue(Sid::new(SENSOR).unwrap(), "sensor_ht", ProtoVersion::V1)
            .unwrap(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_miio_reads_info_and_switches_a_simulated_plug() {
    let Some(python) = peers_python() else { return };
    let token: MiioToken = PLUG_TOKEN.parse().unwrap();
    let ip = Ipv4Addr::new(127, 0, 0, 3);
    let now = tokio::time::Instant::now().into_std();
    let device = SimMiioDevice::plug(PlugModel::M1, &token, DeviceId(0x4242), ip, now);
    let plug = spawn_miio_device(SocketAddr::from((ip, 0)), device)
        .await
        .unwrap();
    assert_ne!(plug.addr.port(), 0);

    let mut script = Script::start(
        &python,
        "miio_plug_interop.py",
        &[
            ip.to_string(),
            plug.addr.port().to_string(),
            PLUG_TOKEN.into(),
        ],
    );
    let info = script.json("INFO").await;
    assert_eq!(info["model"], "chuangmi.plug.m1", "{info}");
    assert_eq!(info["fw_ver"], "1.2.4_16");
    assert_eq!(info["hw_ver"], "MW300");
    assert_eq!(info["ip"], "127.0.0.3");
    assert_eq!(info["token"], "0".repeat(32));
    assert_eq!(info["device_id"], 0x4242);
    let mac = plug
        .inspect(|d| d.server().info().mac.clone())
        .await
        .unwrap();
    assert_eq!(info["mac"], mac);

    let status = script.json("STATUS").await;
    assert_eq!(
        status,
        json!({"before": {"power": false, "temperature": 38}, "after": {"power": true, "temperature": 38}})
    );
    assert!(plug.inspect(|d| d.backend().power).await.unwrap());

    // id 1 again (dev.info() used it): dropped; python-miio's retry (id 1 + 100 + 1) works.
    assert_eq!(script.next("DUPLICATE").await, "102");

    let wrong = script.next("WRONG_TOKEN").await;
    assert!(
        wrong.contains("No response from the device"),
        "a wrong token gets silence: {wrong}"
    );
    script.succeeds().await;
    plug.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_miio_gateway_lists_reads_and_lights() {
    let Some(python) = peers_python() else { return };
    let gw = spawn_gateway(gateway_config(free_port()), devices(), net())
        .await
        .unwrap();
    let mut script = Script::start(
        &python,
        "miio_gateway_interop.py",
        &[
            "127.0.0.2".into(),
            gw.miio_addr.port().to_string(),
            GW_TOKEN.into(),
        ],
    );
    let list = script.json("DEVICE_LIST").await;
    assert_eq!(
        list,
        json!([
            "lumi.0",
            0,
            1,
            0,
            0,
            "lumi.158d0001a2b3c4",
            51,
            1,
            0,
            1,
            "lumi.158d0001a200f5",
            10,
            1,
            0,
            1
        ])
    );
    let found = script.json("DEVICES").await;
    assert_eq!(
        found,
        json!({
            "lumi.158d0001a2b3c4": ["WXKG11LM 2015", "RemoteSwitch"],
            "lumi.158d0001a200f5": ["WSDCGQ01LM", "SensorHT"],
        })
    );
    // python-miio divides the raw hundredths by 100.
    assert_eq!(
        script.json("SENSOR").await,
        json!({"temperature": 21.5, "humidity": 45.0})
    );
    let light = script.json("LIGHT").await;
    assert_eq!(
        light,
        json!({"is_on": true, "brightness": 50, "rgb": [255, 0, 0]})
    );
    assert_eq!(
        gw.inspect(|g| g.own_state().rgb).await.unwrap(),
        (50 << 24) | 0xff0000
    );
    assert_eq!(script.next("KEY").await, PASSWORD);
    script.succeeds().await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_miio_push_server_receives_a_button_click() {
    let Some(python) = peers_python() else { return };
    let push_port = free_port();
    let mut gw = spawn_gateway(gateway_config(push_port), devices(), net())
        .await
        .unwrap();
    let mut events = gw.events().unwrap();
    let mut script = Script::start(
        &python,
        "miio_push_interop.py",
        &[
            "127.0.0.2".into(),
            gw.miio_addr.port().to_string(),
            GW_TOKEN.into(),
            push_port.to_string(),
            BUTTON.into(),
        ],
    );
    // The button's three push_properties (l_click_ch0, click_ch0, d_click_ch0).
    assert_eq!(script.next("SUBSCRIBED").await, "3");
    let scenes = gw
        .inspect(|g| {
            g.miio_scenes()
                .iter()
                .map(|s| (s.trigger_extra.clone(), s.targets[0].method().to_owned()))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
    assert_eq!(scenes.len(), 3, "{scenes:?}");
    assert!(scenes.contains(&(
        "[1,13,1,85,[0,1],0,0]".into(),
        "click_ch0:lumi_158d0001a2b3c4".into()
    )));

    gw.report(
        Sid::new(BUTTON).unwrap(),
        Props::new().with("status", "click"),
    )
    .await
    .unwrap();
    assert_eq!(
        script.next("EVENT").await,
        "click_ch0 lumi.158d0001a2b3c4 []"
    );
    assert_eq!(script.next("UNSUBSCRIBED").await, "");
    script.succeeds().await;

    // The script deleted the scenes (miIO.xdel) and the push server acked the push.
    let (scenes, pending) = gw
        .inspect(|g| (g.miio_scenes().len(), g.miio_pending_pushes()))
        .await
        .unwrap();
    assert_eq!((scenes, pending), (0, 0));
    let mut pushes = 0;
    while let Ok(e) = events.try_recv() {
        if let SimEvent::Sent {
            to: Destination::Miio { to },
            ..
        } = e
            && to.port() == push_port
        {
            pushes += 1;
        }
    }
    assert!(pushes >= 1, "the push went to the push server's port");
    gw.stop().await;
}
