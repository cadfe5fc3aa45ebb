//! `lumi bench` end to end, small: every report accounted for at every stage, on loopback.

use std::process::Command;

use serde_json::Value;

fn lumi() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lumi"));
    c.env_remove("LUMI_CONFIG")
        .env_remove("LUMI_PASSWORD")
        .env_remove("LUMI_INTERFACE")
        .env_remove("LUMI_MQTT_URL");
    c
}

fn bench(args: &[&str]) -> Value {
    let out = lumi()
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "lumi bench failed: {stderr}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn u(v: &Value, path: &str) -> u64 {
    v.pointer(path)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{path} missing in {v:#}"))
}

fn f(v: &Value, path: &str) -> f64 {
    v.pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{path} missing in {v:#}"))
}

#[test]
fn a_paced_run_through_the_embedded_broker_delivers_every_report_and_measures_it() {
    let r = bench(&[
        "--gateways",
        "2",
        "--devices",
        "3",
        "--rate",
        "400",
        "--duration",
        "1s",
        "--no-baseline",
    ]);
    assert_eq!(u(&r, "/setup/reports"), 400);
    assert_eq!(r["setup"]["mode"], "paced");
    assert!(r["loopback_limit"].is_null());
    // Every stage saw every report, and every report arrived once.
    for stage in [
        "/stages/sent",
        "/stages/received_by_bridge",
        "/stages/handled_by_bridge",
        "/stages/delivered",
    ] {
        assert_eq!(u(&r, stage), 400, "{stage} in {r:#}");
    }
    assert_eq!(u(&r, "/stages/lost"), 0);
    assert_eq!(u(&r, "/stages/duplicates"), 0);
    assert_eq!(u(&r, "/stages/out_of_order"), 0);
    assert_eq!(u(&r, "/stages/dropped_by_kernel"), 0);
    // At least one state message per report was published.
    assert!(u(&r, "/stages/published") >= 400, "{r:#}");
    // Latency percentiles are ordered and plausible (a report cannot arrive before it left).
    let (p50, p99, p999, max) = (
        f(&r, "/latency_ms/p50"),
        f(&r, "/latency_ms/p99"),
        f(&r, "/latency_ms/p999"),
        f(&r, "/latency_ms/max"),
    );
    assert!(
        0.0 < p50 && p50 <= p99 && p99 <= p999 && p999 <= max,
        "{r:#}"
    );
    // The bridge process was measured.
    assert!(u(&r, "/bridge/peak_rss_kib") > 1000, "{r:#}");
    assert!(f(&r, "/bridge/cpu_total_s") > 0.0, "{r:#}");
    assert!(f(&r, "/startup/first_state_ms") > 0.0, "{r:#}");
    assert!(f(&r, "/throughput/delivered_per_s") > 100.0, "{r:#}");
    assert!(u(&r, "/binary_bytes") > 0);
}

#[test]
fn a_paced_run_measures_the_latency_floor_and_writes_every_latency() {
    let dir = lumi_bridge::testkit::temp_dir("bench-csv").unwrap();
    let csv = dir.join("latency.csv");
    let r = bench(&[
        "--gateways",
        "1",
        "--devices",
        "2",
        "--rate",
        "300",
        "--duration",
        "1s",
        "--latency-csv",
        csv.to_str().unwrap(),
    ]);
    // The bare pair ran at the bench's rate, as long as the run.
    let floor = &r["loopback_latency_ms"];
    assert_eq!(u(floor, "/rate"), 300, "{r:#}");
    assert_eq!(u(floor, "/received"), 300, "{r:#}");
    let (p50, p999, max) = (f(floor, "/p50"), f(floor, "/p999"), f(floor, "/max"));
    assert!(0.0 < p50 && p50 <= p999 && p999 <= max, "{r:#}");
    // One CSV line per delivered report, sent times in order of the load.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("sent_ms,latency_ms"));
    let rows: Vec<(f64, f64)> = lines
        .map(|l| {
            let (a, b) = l.split_once(',').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len() as u64, u(&r, "/stages/delivered"));
    assert!(rows.iter().all(|(s, l)| *s >= 0.0 && *l > 0.0));
    let max_ms = rows.iter().map(|(_, l)| *l).fold(0.0, f64::max);
    assert!((max_ms - f(&r, "/latency_ms/max")).abs() < 0.01, "{r:#}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_burst_through_mosquitto_accounts_for_every_report_and_measures_the_loopback_limit() {
    if lumi_bridge::testkit::mosquitto_or_skip().is_none() {
        return;
    }
    let r = bench(&[
        "--gateways",
        "2",
        "--devices",
        "2",
        "--burst",
        "3000",
        "--broker",
        "mosquitto",
        "--qos",
        "0",
    ]);
    assert_eq!(r["setup"]["mode"], "burst");
    assert_eq!(r["setup"]["qos"], 0);
    let base = &r["loopback_limit"];
    assert!(
        u(base, "/received") > 0 && f(base, "/receive_rate") > 0.0,
        "{r:#}"
    );
    assert_eq!(
        u(base, "/received") + u(base, "/dropped"),
        u(base, "/datagrams")
    );
    // Whatever a small receive buffer (net.core.rmem_max) drops is counted where it happened:
    // every report sent is either received by the bridge or dropped by the kernel, and every
    // report handled is delivered or counted as refused by the publish queue.
    let sent = u(&r, "/stages/sent");
    assert_eq!(sent, 3000);
    assert_eq!(
        u(&r, "/stages/received_by_bridge") + u(&r, "/stages/dropped_by_kernel"),
        sent,
        "{r:#}"
    );
    assert_eq!(
        u(&r, "/stages/handled_by_bridge"),
        u(&r, "/stages/received_by_bridge")
    );
    assert!(
        u(&r, "/stages/delivered") + u(&r, "/stages/publish_queue_full")
            >= u(&r, "/stages/handled_by_bridge"),
        "{r:#}"
    );
    assert_eq!(
        u(&r, "/stages/delivered") + u(&r, "/stages/lost"),
        sent,
        "{r:#}"
    );
    assert!(u(&r, "/stages/delivered") > 0);
    assert!(
        r["bridge"]["broker_peak_rss_kib"].as_u64().is_some(),
        "{r:#}"
    );
}

#[test]
fn anything_but_loopback_is_refused_with_the_fix() {
    for (args, needle) in [
        (&["--bind", "10.0.0.1"][..], "--bind 10.0.0.1"),
        (&["--mqtt", "mqtt://192.168.1.2:1883"][..], "loopback only"),
        (&["--interface", "eth0"][..], "loopback only"),
    ] {
        let out = lumi().arg("bench").args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}
