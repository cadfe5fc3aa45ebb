//! End-to-end: the `lumi sim` binary on loopback.

use lumi_sim::testkit::free_udp_port as free_port;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn sim_multicasts_heartbeats_and_random_reports_and_logs_json() {
    let (disco, report) = (free_port(), free_port());
    // Listen on the group before the simulator starts.
    let sock =
        lumi_sim::rt::multicast_receiver(Ipv4Addr::new(224, 0, 0, 50), report, Ipv4Addr::LOCALHOST)
            .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lumi"))
        .args([
            "sim",
            "--json",
            "--duration",
            "20s",
            "--random-every",
            "100ms",
            "--bind",
            "127.0.0.20",
        ])
        .args(["--command-port", "0", "--miio-port", "0"])
        .args([
            "--discovery-port",
            &disco.to_string(),
            "--report-port",
            &report.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(started["event"], "started");
    assert_eq!(started["protocol"], "v1");
    assert!(
        started["command"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.20:")
    );
    assert!(started["devices"].as_u64().unwrap() >= 8);

    let mut buf = [0u8; 4096];
    let (mut heartbeat_from, mut report_seen) = (None, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while heartbeat_from.is_none() || !report_seen {
        let (n, from) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf))
            .await
            .expect("heartbeats and reports within 15 s")
            .unwrap();
        let d = lumi_proto::lan::decode(&buf[..n]).unwrap();
        match d.message {
            lumi_proto::lan::Message::Heartbeat(h) if h.token.is_some() => {
                heartbeat_from = Some((from.ip(), h.sid))
            }
            lumi_proto::lan::Message::Report(_) => report_seen = true,
            _ => {}
        }
    }
    let (ip, _) = heartbeat_from.unwrap();
    assert!(ip.to_string().starts_with("127.0.0.2"), "{ip}");
    child.kill().unwrap();
    let _ = child.wait();
    // What it logged is JSON lines naming the gateway.
    let mut logged = 0;
    for line in lines.map_while(Result::ok).take(20) {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["event"] == "started" {
            // The second gateway and the miIO plug announce themselves too.
            assert!(
                v["gateway"].is_string() || v["miio_device"].is_string(),
                "{line}"
            );
            continue;
        }
        assert!(v["gateway"].is_string(), "{line}");
        logged += 1;
    }
    assert!(logged > 0);
}

#[test]
fn sim_scenario_errors_are_exit_2_and_named() {
    let dir = std::env::temp_dir().join(format!("lumi-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[[gateway]]\nsid = '7811dcb06972'\nip = '127.0.0.2'\npassword = 'short'\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lumi"))
        .args(["sim", "--scenario", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gateway 1 (7811dcb06972): password"), "{err}");
    assert!(err.contains("exactly 16 characters"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_lumi"))
        .args(["sim", "--protocol", "v9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--protocol"));
}

/// `lumi sim | head -1`: the closed pipe ends the simulator quietly, no panic.
#[test]
fn sim_stops_quietly_when_stdout_closes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lumi"))
        .args([
            "sim",
            "--duration",
            "30s",
            "--random-every",
            "50ms",
            "--bind",
            "127.0.0.30",
        ])
        .args(["--command-port", "0", "--miio-port", "0"])
        .args([
            "--discovery-port",
            &free_port().to_string(),
            "--report-port",
            &free_port().to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("gateway "), "{first}");
    // The reader is dropped here: the pipe closes.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
}
