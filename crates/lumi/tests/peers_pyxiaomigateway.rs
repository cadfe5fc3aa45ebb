//! Acceptance: PyXiaomiGateway (Home Assistant's xiaomi_aqara library, from PyPI) against the
//! simulated gateway, over real sockets on loopback.
//!
//! Needs `LUMI_PEERS_PYTHON` (a Python with PyXiaomiGateway installed; `scripts/test.sh` and
//! `.ci/run` set it up). Without it the test says so and passes, unless `LUMI_REQUIRE_PEERS=1`.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lumi_proto::catalogue::TypedValue;
use lumi_proto::lan::{ProtoVersion, Sid};
use lumi_sim::device::SubDevice;
use lumi_sim::gateway::GatewayConfig;
use lumi_sim::rt::{NetConfig, spawn_gateway};
use lumi_sim::testkit::{free_udp_port as free_port, peers_python};

const PASSWORD: &str = "a6c567lbkcmr47fp";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyxiaomigateway_discovers_lists_receives_and_writes() {
    let Some(python) = peers_python() else { return };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/peers/pyxiaomigateway_interop.py"
    );
    let net = NetConfig {
        discovery_port: free_port(),
        report_port: free_port(),
        miio_port: 0,
        ..NetConfig::default()
    };
    let gw_sid = Sid::new("7811dcb06972").unwrap();
    let door = Sid::new("158d0001c1cdfb").unwrap();
    let mut cfg = GatewayConfig::new(
        gw_sid.clone(),
        Ipv4Addr::new(127, 0, 0, 2),
        ProtoVersion::V1,
        PASSWORD.parse().unwrap(),
    );
    cfg.command_port = 0;
    let devices = vec![
        SubDevice::from_catalogue(door.clone(), "magnet", ProtoVersion::V1).unwrap(),
        SubDevice::from_catalogue(
            Sid::new("158d00015879f9").unwrap(),
            "plug",
            ProtoVersion::V1,
        )
        .unwrap(),
        SubDevice::from_catalogue(
            Sid::new("158d0001a200f5").unwrap(),
            "sensor_ht",
            ProtoVersion::V1,
        )
        .unwrap(),
    ];
    let gw = spawn_gateway(cfg, devices, net).await.unwrap();

    let mut child = Command::new(&python)
        .arg(script)
        .args([
            &net.discovery_port.to_string(),
            &net.report_port.to_string(),
            PASSWORD,
            door.as_str(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the peers python runs");
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |prefix: &str| -> String {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no {prefix} line from PyXiaomiGateway within 30 s"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_owned();
            }
        }
    };

    // Discovery found our gateway and listed its devices by kind.
    let found: serde_json::Value = serde_json::from_str(&next("DISCOVERED")).unwrap();
    let g = &found["127.0.0.2"];
    assert_eq!(g["sid"], "7811dcb06972", "{found}");
    assert_eq!(g["proto"], "1.1.2");
    assert_eq!(g["token"], true);
    assert_eq!(
        g["devices"]["binary_sensor"],
        serde_json::json!(["158d0001c1cdfb"]),
        "{found}"
    );
    assert_eq!(
        g["devices"]["switch"],
        serde_json::json!(["158d00015879f9"])
    );
    let sensors = g["devices"]["sensor"].as_array().unwrap();
    assert!(
        sensors.contains(&"158d0001a200f5".into()) && sensors.contains(&"7811dcb06972".into()),
        "{found}"
    );
    assert_eq!(g["devices"]["light"], serde_json::json!(["7811dcb06972"]));

    // A door opens; PyXiaomiGateway's callback gets it.
    next("LISTENING");
    gw.stimulate(
        door.clone(),
        vec![("contact".into(), TypedValue::Bool(false))],
    )
    .await
    .unwrap()
    .unwrap();
    let report: serde_json::Value = serde_json::from_str(&next("REPORT")).unwrap();
    assert_eq!(report["data"]["status"], "open", "{report}");
    assert_eq!(report["raw"]["cmd"], "report");

    // It writes the gateway light with its own key computation; the gateway obeys.
    assert_eq!(next("WRITE"), "true");
    let rgb = gw.inspect(|g| g.own_state().rgb).await.unwrap();
    assert_eq!(rgb, 1694433280);
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "PyXiaomiGateway script failed: {err}");
    gw.stop().await;
}
