//! The dashboard in a real browser: Debian's headless Chromium, driven by playwright-core
//! (`tests/browser/dashboard.mjs`), against the bridge and simulated gateways on loopback.
//! The page loads and shows the simulated devices, updates when a simulated door opens, and
//! a click switches a simulated plug.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium` or `$LUMI_CHROMIUM`) and
//! `npm ci --prefix tests/browser`; `scripts/test.sh` installs them. Without them the test
//! says what is missing and passes, unless `LUMI_REQUIRE_BROWSER=1` (as in CI).
//! `LUMI_SCREENSHOTS=DIR` also saves the page at desktop and phone widths (`docs/`).

#[path = "../../lumi-client/tests/lan_support/mod.rs"]
mod lan_support;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lan_support::{PASSWORD, house_with};
use lumi_bridge::Config;
use lumi_bridge::config::Broker;
use lumi_bridge::daemon::{Bridge, BridgeSetup};
use lumi_proto::catalogue::{DeviceKind, TypedValue};

fn script_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

/// What is missing to run the browser test, if anything.
fn missing() -> Option<String> {
    let chromium = std::env::var("LUMI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("Chromium at {chromium} (apt-get install chromium)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node (apt-get install nodejs)".into());
    }
    if !script_dir().join("node_modules/playwright-core").is_dir() {
        return Some("playwright-core (npm ci --prefix tests/browser)".into());
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_chromium_shows_the_house_follows_a_door_and_switches_a_plug() {
    if let Some(what) = missing() {
        assert!(
            std::env::var("LUMI_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "LUMI_REQUIRE_BROWSER=1 but this machine lacks {what}"
        );
        eprintln!("skipped: the browser test needs {what}");
        return;
    }
    let h = house_with(2, |_, _| {}).await;
    let mut config = Config::from_toml(&format!("password = \"{PASSWORD}\"")).unwrap();
    config.mqtt.broker = Broker::Embedded {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    config.web.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut net = h.net;
    net.interface = Ipv4Addr::LOCALHOST;
    let b = Bridge::start(BridgeSetup { config, net }).await.unwrap();
    let web = b.web_addr().unwrap();
    let (_, door, _) = h.find(DeviceKind::DoorWindow);
    let (_, plug, _) = h.find(DeviceKind::Plug);

    let mut cmd = Command::new("node");
    cmd.current_dir(script_dir())
        .arg("dashboard.mjs")
        .arg(format!("http://{web}/"))
        .arg(door.as_str())
        .arg(plug.as_str())
        .arg(h.device_count().to_string());
    if let Ok(dir) = std::env::var("LUMI_SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        cmd.arg(std::fs::canonicalize(&dir).unwrap());
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut said = Vec::new();
    let mut expect = |prefix: &str| -> String {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.starts_with(prefix) => {
                said.push(line.clone());
                line
            }
            other => {
                let _ = child.kill();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!(
                    "expected {prefix} from the browser, got {other:?} after {said:?}; its stderr:\n{err}"
                );
            }
        }
    };

    let ready = expect("READY");
    let shown: usize = ready["READY ".len()..].parse().unwrap();
    assert!(shown >= h.device_count(), "{ready}");
    h.happen(&door, "contact", TypedValue::Bool(false)).await;
    writeln!(stdin, "OPENED").unwrap();
    expect("DOOR false");
    expect("CLICKED");
    // The click reached the simulated plug.
    let state = h.sim_value(&plug, "state").await;
    assert_eq!(state, Some(TypedValue::Text("on".into())));
    let _ = expect("");
    expect("DONE");
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "the browser script failed: {status}");
    b.stop().await.unwrap();
    h.stop().await;
}
