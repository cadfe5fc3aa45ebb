//! No secret leaks, end to end: `lumi bridge` with every kind of secret configured (gateway
//! passwords, a miIO token, the MQTT password, the dashboard's token) runs against simulated
//! gateways and a mosquitto that checks the MQTT login, logging everything (`LUMI_LOG=trace`),
//! while commands succeed and fail over MQTT and the dashboard is read. Then every log line,
//! every MQTT topic and payload, and every HTTP answer is searched for each secret, and for
//! the write keys derived from the password (AES of the gateway's tokens).

#[path = "../../lumi-client/tests/lan_support/mod.rs"]
mod lan_support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use lan_support::{PASSWORD, house_with};
use lumi_bridge::testkit::{Subscriber, free_tcp_port, http, mosquitto_with_or_skip, temp_dir};
use lumi_proto::catalogue::DeviceKind;
use lumi_proto::key::{GatewayPassword, WriteKey};
use lumi_proto::lan::Token;
use serde_json::Value;

const MQTT_PASSWORD: &str = "mqtt-Secret-7fq2";
const WEB_TOKEN: &str = "web-Secret-b41c9d0e2a";
const MIIO_TOKEN: &str = "5f0c1d2e3a4b69788796a5b4c3d2e1f0";
/// A second gateway password, configured for a gateway that does not exist.
const OTHER_PASSWORD: &str = "zq8Lw3Nv5Rt1Yp6H";

fn with_mqtt_login(dir: &Path) -> std::io::Result<String> {
    let file = dir.join("passwords");
    let status = Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&file)
        .args(["lumi", MQTT_PASSWORD])
        .status()?;
    assert!(status.success(), "mosquitto_passwd failed");
    // The test's own subscriber is anonymous; the bridge's login is checked.
    Ok(format!(
        "allow_anonymous true\npassword_file {}\n",
        file.display()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line_a_topic_a_payload_or_the_dashboard() {
    let Some(m) = mosquitto_with_or_skip(with_mqtt_login) else {
        return;
    };
    let h = house_with(2, |_, _| {}).await;
    let dir = temp_dir("secrets").unwrap();
    let config = dir.join("lumi.toml");
    let web_port = free_tcp_port();
    std::fs::write(
        &config,
        format!(
            r#"
password = "{PASSWORD}"
timeout = "1500ms"
[[gateway]]
sid = "{gw}"
miio_token = "{MIIO_TOKEN}"
[[gateway]]
ip = "127.0.0.99"
password = "{OTHER_PASSWORD}"
[mqtt]
url = "{url}"
username = "lumi"
password = "{MQTT_PASSWORD}"
[web]
listen = "127.0.0.1:{web_port}"
token = "{WEB_TOKEN}"
"#,
            gw = h.specs[0].config.sid,
            url = m.url(),
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let log = dir.join("bridge.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lumi"))
        .env_remove("LUMI_CONFIG")
        .env_remove("LUMI_PASSWORD")
        .env_remove("LUMI_MQTT_URL")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("LUMI_LOG", "trace")
        .arg("--config")
        .arg(&config)
        .args(["bridge", "--interface", "127.0.0.1"])
        .args(["--discovery-port", &h.net.discovery_port.to_string()])
        .args(["--report-port", &h.net.report_port.to_string()])
        .args(["--duration", "120s"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();

    let sub = Subscriber::connect(m.addr(), &["#"]).await;
    let expected = h.device_count() + h.specs.len();
    let listed = sub
        .wait_until(Duration::from_secs(30), |msgs| {
            msgs.iter()
                .rev()
                .find(|m| m.topic == "lumi/bridge/devices")
                .and_then(|m| serde_json::from_slice::<Value>(&m.payload).ok())
                .and_then(|v| v.as_array().map(Vec::len))
                .is_some_and(|n| n == expected)
        })
        .await
        .is_ok();
    if !listed {
        let _ = child.kill();
        panic!(
            "the bridge did not list the house; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    // The tokens the gateways hand out now: the write below is keyed with one of them.
    let mut tokens: Vec<Token> = Vec::new();
    for g in &h.gateways {
        tokens.push(g.inspect(|gw| gw.token().clone()).await.unwrap());
    }
    // A write that works, one that is refused, a request, a read.
    let (_, plug, _) = h.find(DeviceKind::Plug);
    sub.publish(
        &format!("lumi/{plug}/set"),
        br#"{"state":"ON"}"#.to_vec(),
        false,
    )
    .await;
    let on = sub
        .wait_until(Duration::from_secs(10), |msgs| {
            msgs.iter().any(|m| {
                m.topic == format!("lumi/{plug}")
                    && serde_json::from_slice::<Value>(&m.payload).is_ok_and(|v| v["state"] == "ON")
            })
        })
        .await
        .is_ok();
    assert!(on, "the plug was switched");
    sub.publish("lumi/nosuch/set", br#"{"state":"ON"}"#.to_vec(), false)
        .await;
    sub.publish("lumi/bridge/request/health", b"{}".to_vec(), false)
        .await;
    sub.publish(&format!("lumi/{plug}/get"), b"".to_vec(), false)
        .await;
    sub.wait_for("lumi/bridge/response/health", Duration::from_secs(10))
        .await
        .unwrap();
    sub.wait_for("lumi/bridge/logging", Duration::from_secs(10))
        .await
        .unwrap();
    for g in &h.gateways {
        tokens.push(g.inspect(|gw| gw.token().clone()).await.unwrap());
    }

    // The dashboard, with and without its token.
    let web = SocketAddr::from((Ipv4Addr::LOCALHOST, web_port));
    let bearer = format!("Authorization: Bearer {WEB_TOKEN}");
    let mut answers = Vec::new();
    for (path, auth) in [
        ("/api/state", true),
        ("/metrics", true),
        ("/api/state", false),
        ("/?token=wrong-token-000000", false),
    ] {
        let headers: &[&str] = if auth { &[bearer.as_str()] } else { &[] };
        answers.push(http::request(web, "GET", path, headers, "").await);
    }
    assert_eq!(answers[0].status, 200, "{:?}", answers[0]);
    assert_eq!(answers[2].status, 401, "{:?}", answers[2]);
    // Searched whole: headers (a cookie, a redirect) and body.
    let http: Vec<String> = answers
        .iter()
        .map(|r| format!("{} {:?}\n{}", r.status, r.headers, r.body))
        .collect();

    // Stop (SIGTERM), then search everything.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.lines().count() > 20,
        "trace logging produced too little to mean anything:\n{logs}"
    );
    let password: GatewayPassword = PASSWORD.parse().unwrap();
    let keys: Vec<String> = tokens
        .iter()
        .filter_map(|t| WriteKey::derive(&password, t).ok())
        .map(|k| k.to_hex().to_ascii_lowercase())
        .collect();
    assert!(!keys.is_empty());
    let mut secrets: Vec<String> = [
        PASSWORD,
        OTHER_PASSWORD,
        MQTT_PASSWORD,
        WEB_TOKEN,
        MIIO_TOKEN,
    ]
    .iter()
    .map(|s| s.to_ascii_lowercase())
    .collect();
    secrets.extend(keys);
    let mqtt: Vec<String> = sub
        .messages()
        .iter()
        .map(|m| format!("{} {}", m.topic, String::from_utf8_lossy(&m.payload)))
        .collect();
    assert!(mqtt.len() > 50, "{} messages", mqtt.len());
    for (place, text) in std::iter::once(("the log", logs.clone()))
        .chain(mqtt.into_iter().map(|t| ("an MQTT message", t)))
        .chain(http.into_iter().map(|t| ("an HTTP answer", t)))
    {
        let lower = text.to_ascii_lowercase();
        for s in &secrets {
            assert!(
                !lower.contains(s.as_str()),
                "{place} contains a secret ({}…):\n{}",
                &s[..4],
                text.lines()
                    .filter(|l| l.to_ascii_lowercase().contains(s.as_str()))
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    h.stop().await;
}
