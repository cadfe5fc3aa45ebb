//! End-to-end: `lumi light`, `sound`, `set`, `pair`, `unpair` and `doctor` against simulated
//! gateways in this test process (a v1 gateway on 127.0.0.60, a v2 one on 127.0.0.61),
//! multicast on 127.0.0.1 only, free ports. Results are checked in the simulators' state.

use std::net::Ipv4Addr;
use std::process::{Command, Output};
use std::time::Duration;

use lumi_proto::catalogue::{self, DeviceKind};
use lumi_proto::lan::Sid;
use lumi_sim::rt::{self, GatewayHandle};
use lumi_sim::scenario::{GatewaySpec, Scenario};
use lumi_sim::testkit::free_udp_port;
use serde_json::Value;

const PASSWORD: &str = "0987654321qwerty";

struct House {
    gateways: Vec<GatewayHandle>,
    specs: Vec<GatewaySpec>,
    ports: (u16, u16),
}

/// Two gateways; with `events`, each sends a random report every 100 ms.
async fn house(events: bool) -> House {
    let ports = (free_udp_port(), free_udp_port());
    let net = rt::NetConfig {
        discovery_port: ports.0,
        report_port: ports.1,
        miio_port: 0,
        ..rt::NetConfig::default()
    };
    let every = events.then_some(Duration::from_millis(100));
    let scenario = Scenario::house(
        Ipv4Addr::new(127, 0, 0, 60),
        2,
        None,
        PASSWORD.parse().unwrap(),
        every,
    );
    let mut h = House {
        gateways: Vec::new(),
        specs: Vec::new(),
        ports,
    };
    let running = {
        let mut s = scenario;
        for g in &mut s.gateways {
            g.config.command_port = 0;
        }
        rt::run_scenario(s.clone(), net).await.unwrap()
    };
    h.specs = Scenario::house(
        Ipv4Addr::new(127, 0, 0, 60),
        2,
        None,
        PASSWORD.parse().unwrap(),
        every,
    )
    .gateways;
    h.gateways = running.gateways;
    h
}

impl House {
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

    fn gateway_sid(&self, i: usize) -> String {
        self.specs[i].config.sid.to_string()
    }

    async fn lumi(&self, args: &[&str], password: Option<&str>) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lumi"));
        c.args(args)
            .args(["--interface", "127.0.0.1", "--timeout", "2s"])
            .args(["--discovery-port", &self.ports.0.to_string()])
            .args(["--report-port", &self.ports.1.to_string()])
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .env_remove("LUMI_CONFIG")
            .env_remove("LUMI_PASSWORD");
        if let Some(p) = password {
            c.args(["--password", p]);
        }
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    /// The raw state of a simulated sub-device, as JSON.
    async fn raw(&self, g: usize, sid: &Sid) -> Value {
        let sid = sid.clone();
        self.gateways[g]
            .inspect(move |gw| {
                gw.device(&sid)
                    .map(|d| serde_json::to_value(&d.state).unwrap())
            })
            .await
            .unwrap()
            .unwrap_or(Value::Null)
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn light_sound_and_pairing_change_the_gateway() {
    let h = house(false).await;
    let gw0 = h.gateway_sid(0);

    // Two gateways answer: the command asks which one, naming both.
    let out = h.lumi(&["light", "red"], Some(PASSWORD)).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--sid") && stderr(&out).contains(&gw0),
        "{}",
        stderr(&out)
    );

    ok(&h
        .lumi(
            &["light", "ff0000", "--brightness", "30", "--sid", &gw0],
            Some(PASSWORD),
        )
        .await);
    let rgb = h.gateways[0].inspect(|g| g.own_state().rgb).await.unwrap();
    assert_eq!(rgb, 30 << 24 | 0xff0000, "brightness 30 %, red");
    ok(&h
        .lumi(&["light", "off", "--sid", &gw0], Some(PASSWORD))
        .await);
    assert_eq!(
        h.gateways[0].inspect(|g| g.own_state().rgb).await.unwrap(),
        0
    );

    ok(&h
        .lumi(
            &["sound", "doorbell", "--volume", "20", "--sid", &gw0],
            Some(PASSWORD),
        )
        .await);
    let s = h.gateways[0].inspect(|g| g.own_state()).await.unwrap();
    assert!(s.playing.is_some() && s.volume == 20, "{s:?}");
    ok(&h
        .lumi(&["sound", "stop", "--sid", &gw0], Some(PASSWORD))
        .await);
    assert_eq!(
        h.gateways[0]
            .inspect(|g| g.own_state().playing)
            .await
            .unwrap(),
        None
    );

    let list = ok(&h.lumi(&["sound", "--list"], None).await);
    assert!(list.contains("doorbell"), "{list}");
    let out = h
        .lumi(&["sound", "nosuchsound", "--sid", &gw0], Some(PASSWORD))
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--list"));

    ok(&h
        .lumi(&["pair", "--sid", &gw0, "--json"], Some(PASSWORD))
        .await);
    assert!(
        h.gateways[0]
            .inspect(|g| g.own_state().join_permission)
            .await
            .unwrap()
    );
    ok(&h
        .lumi(&["pair", "--stop", "--sid", &gw0], Some(PASSWORD))
        .await);
    assert!(
        !h.gateways[0]
            .inspect(|g| g.own_state().join_permission)
            .await
            .unwrap()
    );

    // A write without a password says how to give one (a missing argument: exit 2).
    let out = h.lumi(&["light", "red", "--sid", &gw0], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("password"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_switches_plugs_and_moves_curtains_and_unpair_removes() {
    let h = house(false).await;
    let (g, plug) = h.find(DeviceKind::Plug);
    let on = |v: &Value| {
        ["status", "channel_0"]
            .iter()
            .find_map(|k| v.get(k).and_then(|x| x.as_str()).map(str::to_owned))
    };
    ok(&h.lumi(&["set", plug.as_str(), "on"], Some(PASSWORD)).await);
    assert_eq!(on(&h.raw(g, &plug).await).as_deref(), Some("on"));
    ok(&h
        .lumi(&["set", plug.as_str(), "toggle"], Some(PASSWORD))
        .await);
    assert_eq!(on(&h.raw(g, &plug).await).as_deref(), Some("off"));
    ok(&h
        .lumi(&["set", plug.as_str(), "state=on"], Some(PASSWORD))
        .await);
    assert_eq!(on(&h.raw(g, &plug).await).as_deref(), Some("on"));

    let (gc, curtain) = h.find(DeviceKind::Curtain);
    ok(&h
        .lumi(&["set", curtain.as_str(), "level=40"], Some(PASSWORD))
        .await);
    let raw = h.raw(gc, &curtain).await;
    let level = raw.get("curtain_level").cloned().unwrap_or(Value::Null);
    assert!(level == "40" || level == 40, "{raw}");

    // Mistakes name the value.
    let out = h
        .lumi(&["set", plug.as_str(), "nonsense"], Some(PASSWORD))
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nonsense"));
    let out = h
        .lumi(&["set", plug.as_str(), "nosuchprop=1"], Some(PASSWORD))
        .await;
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("nosuchprop"), "{}", stderr(&out));

    // Unpair: the gateway forgets the device.
    ok(&h.lumi(&["unpair", plug.as_str()], Some(PASSWORD)).await);
    assert_eq!(
        h.raw(g, &plug).await,
        Value::Null,
        "removed from the gateway"
    );
    let out = h.lumi(&["unpair", plug.as_str()], Some(PASSWORD)).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("lumi devices"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_a_good_setup_and_names_a_wrong_password() {
    let h = house(true).await;
    let out = h
        .lumi(&["doctor", "--listen", "1500ms", "--json"], Some(PASSWORD))
        .await;
    let text = ok(&out);
    let checks: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for kind in ["whois", "multicast", "unicast", "password"] {
        let n = checks
            .iter()
            .filter(|c| c["check"] == kind && c["status"] == "ok" && c["subject"] != "lo")
            .count();
        let want = if kind == "whois" { 1 } else { 2 };
        assert_eq!(n, want, "{kind}: {text}");
    }

    let out = h
        .lumi(&["doctor", "--listen", "1500ms"], Some("aaaaaaaaaaaaaaaa"))
        .await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL") && text.contains("Invalid key"),
        "{text}"
    );
    assert!(text.contains("16-character LAN key"), "the fix: {text}");
    assert!(
        !text.contains("aaaaaaaaaaaaaaaa"),
        "no password in the output"
    );

    // Without a password, writes are not checked (skip), and nothing fails.
    let out = h.lumi(&["doctor", "--listen", "1500ms"], None).await;
    let text = ok(&out);
    assert!(
        text.contains("skip") && text.contains("no password"),
        "{text}"
    );
}
