//! End-to-end: the `lumi miio` commands (the real binary) against simulated miIO plugs and a
//! simulated gateway, started here with `lumi_sim`'s tokio adaptor on 127.0.0.x, port 0.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lumi_proto::lan::{ProtoVersion, Sid};
use lumi_proto::miio::{DeviceId, MiioToken};
use lumi_sim::device::SubDevice;
use lumi_sim::gateway::GatewayConfig;
use lumi_sim::miio::{MiioDeviceHandle, PlugModel, SimMiioDevice, SimPlug, spawn_miio_device};
use lumi_sim::rt::{NetConfig, spawn_gateway};
use lumi_sim::testkit::free_udp_port;
use serde_json::{Value, json};

const TOKEN: &str = "9c3b2d1da5beceee2808a3d3653b485d";
const FRESH_TOKEN: &str = "3356417837334a4c36615a7856594263";

/// Runs `lumi` with `args` (off the runtime thread, so the simulators keep answering).
async fn lumi(args: &[String], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lumi"));
    cmd.args(args)
        .env_remove("LUMI_MIIO_TOKEN")
        .env_remove("LUMI_INTERFACE")
        .env_remove("LUMI_CONFIG")
        .env("LUMI_LOG", "warn");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("lumi runs"))
        .await
        .unwrap()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn failed(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {} stderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr.clone()).unwrap()
}

async fn plug(ip: [u8; 4], did: u32, token: &str, provisioned: bool) -> MiioDeviceHandle<SimPlug> {
    let token: MiioToken = token.parse().unwrap();
    let now = tokio::time::Instant::now().into_std();
    let mut dev = SimMiioDevice::plug(PlugModel::M1, &token, DeviceId(did), ip.into(), now);
    dev.server_mut().set_provisioned(provisioned);
    spawn_miio_device(SocketAddr::from((ip, 0)), dev)
        .await
        .unwrap()
}

fn ip_port(addr: SocketAddr) -> (String, String) {
    (addr.ip().to_string(), addr.port().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_and_call_change_a_simulated_plug() {
    let sim = plug([127, 0, 0, 3], 42, TOKEN, true).await;
    let (ip, port) = ip_port(sim.addr);

    let out = lumi(
        &args(&["miio", "info", &ip, "--port", &port, "--token", TOKEN]),
        &[],
    )
    .await;
    let text = ok_stdout(&out);
    assert!(text.contains("model       chuangmi.plug.m1"), "{text}");
    assert!(text.contains("device id   42"), "{text}");
    assert!(text.contains("firmware    1.2.4_16"), "{text}");
    assert!(text.contains("ip          127.0.0.3"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");

    let out = lumi(
        &args(&[
            "miio",
            "info",
            &ip,
            "--port",
            &port,
            "--json",
            "--interface",
            "127.0.0.1",
        ]),
        &[("LUMI_MIIO_TOKEN", TOKEN)],
    )
    .await;
    let v: Value = serde_json::from_str(ok_stdout(&out).trim()).unwrap();
    assert_eq!(v["model"], "chuangmi.plug.m1");
    assert_eq!(v["device_id"], 42);
    assert_eq!(v["addr"], sim.addr.to_string());
    assert_eq!(v["raw"]["hw_ver"], "MW300");
    assert!(v["raw"].get("token").is_none());

    let out = lumi(
        &args(&[
            "miio",
            "call",
            &ip,
            "set_power",
            "[\"on\"]",
            "--port",
            &port,
            "--json",
        ]),
        &[("LUMI_MIIO_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(ok_stdout(&out).trim(), r#"["ok"]"#);
    assert!(sim.inspect(|d| d.backend().power).await.unwrap());
    let out = lumi(
        &args(&[
            "miio",
            "call",
            &format!("{ip}:{port}"),
            "get_prop",
            "[\"power\",\"temperature\"]",
            "--token",
            TOKEN,
        ]),
        &[],
    )
    .await;
    let v: Value = serde_json::from_str(&ok_stdout(&out)).unwrap();
    assert_eq!(v, json!(["on", 38]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_on_the_simulated_gateway_with_extra_members() {
    let mut cfg = GatewayConfig::new(
        Sid::new("7811dcb06972").unwrap(),
        Ipv4Addr::new(127, 0, 0, 4),
        ProtoVersion::V1,
        "0987654321qwerty".parse().unwrap(),
    );
    cfg.command_port = 0;
    let gw_token = cfg.miio_token.expose_hex();
    let plug_sid = Sid::new("158d00015879f9").unwrap();
    let devices = vec![SubDevice::from_catalogue(plug_sid, "plug", ProtoVersion::V1).unwrap()];
    let net = NetConfig {
        discovery_port: free_udp_port(),
        report_port: free_udp_port(),
        miio_port: 0,
        ..NetConfig::default()
    };
    let gw = spawn_gateway(cfg, devices, net).await.unwrap();
    let (ip, port) = ip_port(gw.miio_addr);
    let out = lumi(
        &args(&[
            "miio",
            "call",
            &ip,
            "get_device_prop",
            r#"["lumi.0","device_list"]"#,
            "--port",
            &port,
            "--token",
            &gw_token,
            "--json",
        ]),
        &[],
    )
    .await;
    let list: Value = serde_json::from_str(ok_stdout(&out).trim()).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .contains(&json!("lumi.158d00015879f9")),
        "{list}"
    );
    let out = lumi(
        &args(&[
            "miio",
            "call",
            &ip,
            "toggle_plug",
            r#"["channel_0","on"]"#,
            "--extra",
            r#"{"sid":"lumi.158d00015879f9"}"#,
            "--port",
            &port,
            "--token",
            &gw_token,
            "--json",
        ]),
        &[],
    )
    .await;
    assert_eq!(ok_stdout(&out).trim(), r#"["ok"]"#);
    let out = lumi(
        &args(&[
            "miio",
            "call",
            &ip,
            "get_device_prop",
            r#"["lumi.158d00015879f9","status"]"#,
            "--port",
            &port,
            "--token",
            &gw_token,
            "--json",
        ]),
        &[],
    )
    .await;
    assert_eq!(ok_stdout(&out).trim(), r#"["on"]"#);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_errors_and_timeouts_exit_1_naming_the_device() {
    let sim = plug([127, 0, 0, 5], 42, TOKEN, true).await;
    let (ip, port) = ip_port(sim.addr);
    let out = lumi(
        &args(&[
            "miio", "call", &ip, "fly", "--port", &port, "--token", TOKEN,
        ]),
        &[],
    )
    .await;
    let err = failed(&out, 1);
    assert!(
        err.contains(&format!("fly on miio device at {}", sim.addr)),
        "{err}"
    );
    assert!(
        err.contains("-10000") && err.contains("does not support the method"),
        "{err}"
    );

    // Wrong token: the hello works, the request gets silence; --timeout bounds the wait.
    let started = Instant::now();
    let out = lumi(
        &args(&[
            "miio",
            "call",
            &ip,
            "set_power",
            "[\"on\"]",
            "--port",
            &port,
            "--token",
            "00000000000000000000000000000001",
            "--timeout",
            "600ms",
        ]),
        &[],
    )
    .await;
    let elapsed = started.elapsed();
    let err = failed(&out, 1);
    assert!(
        err.contains(&format!(
            "set_power to miio device at {}: no reply after 3 attempts",
            sim.addr
        )),
        "{err}"
    );
    assert!(err.contains("check the token"), "{err}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(!sim.inspect(|d| d.backend().power).await.unwrap());

    // Nothing at the address.
    let silent = std::net::UdpSocket::bind("127.0.0.6:0").unwrap();
    let (sip, sport) = ip_port(silent.local_addr().unwrap());
    let out = lumi(
        &args(&[
            "miio",
            "info",
            &sip,
            "--port",
            &sport,
            "--token",
            TOKEN,
            "--timeout",
            "300ms",
        ]),
        &[],
    )
    .await;
    let err = failed(&out, 1);
    assert!(err.contains("hello to miio device at 127.0.0.6"), "{err}");
    assert!(err.contains("check the address"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_exit_2_naming_the_argument() {
    let cases: &[(&[&str], &str)] = &[
        (&["miio", "info", "127.0.0.9"], "--token is required"),
        (
            &["miio", "info", "127.0.0.9", "--token", "abc"],
            "--token: miio token must be 32 hex digits",
        ),
        (
            &["miio", "info", "plug.local", "--token", TOKEN],
            "IP \"plug.local\": not an IP address",
        ),
        (
            &[
                "miio",
                "call",
                "127.0.0.9",
                "set_power",
                "[on]",
                "--token",
                TOKEN,
            ],
            "PARAMS_JSON is not JSON",
        ),
        (
            &[
                "miio",
                "call",
                "127.0.0.9",
                "x",
                "[]",
                "--extra",
                "[1]",
                "--token",
                TOKEN,
            ],
            "--extra must be a JSON object",
        ),
        (
            &[
                "miio",
                "info",
                "127.0.0.9",
                "--token",
                TOKEN,
                "--timeout",
                "soon",
            ],
            "--timeout:",
        ),
        (
            &[
                "miio",
                "info",
                "127.0.0.9",
                "--token",
                TOKEN,
                "--interface",
                "eth0",
            ],
            "--interface \"eth0\": lumi miio needs the interface's IP address",
        ),
        (&["miio", "discover"], "give --target IP"),
        (
            &["miio", "discover", "--broadcast"],
            "--broadcast needs --interface",
        ),
        (
            &["miio", "discover", "--target", "x.y"],
            "--target: IP \"x.y\"",
        ),
    ];
    for (a, want) in cases {
        let out = lumi(&args(a), &[]).await;
        let err = failed(&out, 2);
        assert!(err.contains(want), "{a:?}: {err}");
        assert!(!err.contains(TOKEN), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_and_token() {
    let provisioned = plug([127, 0, 0, 7], 42, TOKEN, true).await;
    let fresh = plug([127, 0, 0, 8], 43, FRESH_TOKEN, false).await;
    let a = provisioned.addr.to_string();
    let b = fresh.addr.to_string();

    let out = lumi(
        &args(&["miio", "discover", "--target", &a, "--target", &b, "--json"]),
        &[],
    )
    .await;
    let lines: Vec<Value> = ok_stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        (lines[0]["addr"].as_str(), lines[0]["device_id"].as_u64()),
        (Some(a.as_str()), Some(42))
    );
    assert_eq!(
        (lines[0]["provisioned"].as_bool(), &lines[0]["token"]),
        (Some(true), &Value::Null)
    );
    assert_eq!(
        (lines[1]["addr"].as_str(), lines[1]["device_id"].as_u64()),
        (Some(b.as_str()), Some(43))
    );
    assert_eq!(lines[1]["token"], FRESH_TOKEN);

    let out = lumi(
        &args(&["miio", "discover", "--target", &a, "--target", &b]),
        &[],
    )
    .await;
    let text = ok_stdout(&out);
    assert!(text.starts_with("ADDRESS"), "{text}");
    assert!(
        text.contains("hidden (provisioned)") && text.contains(FRESH_TOKEN),
        "{text}"
    );

    // token: printed for the unprovisioned device...
    let (ip, port) = ip_port(fresh.addr);
    let out = lumi(&args(&["miio", "token", &ip, "--port", &port]), &[]).await;
    assert_eq!(ok_stdout(&out).trim(), FRESH_TOKEN);
    // ... and explained for the provisioned one.
    let (ip, port) = ip_port(provisioned.addr);
    let out = lumi(&args(&["miio", "token", &ip, "--port", &port]), &[]).await;
    let err = failed(&out, 1);
    assert!(
        err.contains("miio device 42 at") && err.contains("it is provisioned"),
        "{err}"
    );
    assert!(err.contains("miiocli cloud list"), "{err}");

    // Nothing answers.
    let silent = std::net::UdpSocket::bind("127.0.0.9:0").unwrap();
    let s = silent.local_addr().unwrap().to_string();
    let out = lumi(
        &args(&["miio", "discover", "--target", &s, "--timeout", "300ms"]),
        &[],
    )
    .await;
    let err = failed(&out, 1);
    assert!(
        err.contains("no miio device answered the hello within 300ms") && err.contains(&s),
        "{err}"
    );
}

/// A device that sends terminal escape sequences in its strings: they are printed escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_strings_are_sanitised() {
    let sim = plug([127, 0, 0, 10], 42, TOKEN, true).await;
    sim.inspect(|d| {
        d.server_mut().info_mut().model = "evil\u{1b}[2J\u{202e}plug".into();
        d.server_mut().info_mut().ssid = "wifi\u{9b}31m".into();
    })
    .await
    .unwrap();
    let (ip, port) = ip_port(sim.addr);
    for extra in [None, Some("--json")] {
        let mut a = args(&["miio", "info", &ip, "--port", &port, "--token", TOKEN]);
        a.extend(extra.map(str::to_owned));
        let out = lumi(&a, &[]).await;
        let text = ok_stdout(&out);
        for c in ['\u{1b}', '\u{202e}', '\u{9b}'] {
            assert!(!text.contains(c), "{c:?} in {text}");
        }
        assert!(text.contains("evil"), "{text}");
    }
    let out = lumi(
        &args(&[
            "miio",
            "call",
            &ip,
            "miIO.info",
            "--port",
            &port,
            "--token",
            TOKEN,
        ]),
        &[],
    )
    .await;
    assert!(!ok_stdout(&out).contains('\u{1b}'));
}
