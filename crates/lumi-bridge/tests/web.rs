//! The dashboard's HTTP API and `/metrics`, end to end: simulated gateways on loopback → the
//! bridge (embedded broker on a free port, web server on a free port) → a plain HTTP client
//! speaking HTTP/1.1 over a TCP socket (no HTTP library: the bytes on the wire are what is
//! tested, including the server-sent event stream).

#[path = "../../lumi-client/tests/lan_support/mod.rs"]
mod lan_support;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use lan_support::{House, PASSWORD, house_with};
use lumi_bridge::Config;
use lumi_bridge::config::Broker;
use lumi_bridge::daemon::{Bridge, BridgeSetup};
use lumi_bridge::testkit::http::{Events, JSON, WAIT, request as http};
use lumi_proto::catalogue::{DeviceKind, TypedValue};
use lumi_proto::lan::Sid;
use serde_json::{Value, json};
use tokio::net::TcpStream;

async fn bridge(house: &House, extra: &str) -> Bridge {
    let mut config = Config::from_toml(&format!(
        "password = \"{PASSWORD}\"\ntimeout = \"1500ms\"\n{extra}"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    config.mqtt.broker = Broker::Embedded {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    if !extra.contains("listen") {
        config.web.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    }
    let mut net = house.net;
    net.interface = Ipv4Addr::LOCALHOST;
    Bridge::start(BridgeSetup { config, net })
        .await
        .unwrap_or_else(|e| panic!("the bridge starts: {e}"))
}

fn device_in<'a>(snapshot: &'a Value, sid: &Sid) -> Option<&'a Value> {
    snapshot["devices"]
        .as_array()?
        .iter()
        .find(|d| d["sid"] == sid.as_str())
}

/// Waits (on the event stream) until every device of the house is known with its model;
/// `first` is the stream's first message when the caller already read it.
async fn complete_snapshot(ev: &mut Events, h: &House, first: Option<Value>) -> Value {
    let expected = h.device_count() + h.specs.len();
    let mut known = std::collections::BTreeMap::<String, bool>::new();
    let mut snapshot = Value::Null;
    let mut seen = |m: &Value| {
        match m["type"].as_str() {
            Some("snapshot") => {
                snapshot = m.clone();
                known = m["devices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| {
                        (
                            d["sid"].as_str().unwrap().to_owned(),
                            d["supported"] == true,
                        )
                    })
                    .collect();
            }
            Some("device") => {
                let d = &m["device"];
                known.insert(
                    d["sid"].as_str().unwrap().to_owned(),
                    d["supported"] == true,
                );
            }
            _ => {}
        }
        known.len() == expected && known.values().all(|s| *s)
    };
    if !first.as_ref().is_some_and(&mut seen) {
        ev.until(&mut seen).await;
    }
    snapshot
}

// --- tests ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_house_follows_it_live_and_switches_a_plug() {
    let h = house_with(2, |_, _| {}).await;
    let b = bridge(&h, "").await;
    let web = b.web_addr().expect("the dashboard is on by default");
    assert!(web.ip().is_loopback());

    // The page and its assets, from the binary, with a strict content security policy.
    let page = http(web, "GET", "/", &[], "").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<script src=\"/app.js\""),
        "{}",
        page.body
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    for (path, kind) in [
        ("/app.js", "javascript"),
        ("/style.css", "text/css"),
        ("/favicon.svg", "svg"),
    ] {
        let r = http(web, "GET", path, &[], "").await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").unwrap_or_default().contains(kind),
            "{path}"
        );
        assert!(!r.body.is_empty());
    }
    assert_eq!(http(web, "GET", "/healthz", &[], "").await.body, "ok\n");

    // The event stream: a snapshot, then updates until every device is known.
    let mut ev = Events::open(web, &[]).await;
    let first = ev.next().await;
    assert_eq!(first["type"], "snapshot", "{first}");
    assert_eq!(first["bridge"]["interface"], "127.0.0.1");
    complete_snapshot(&mut ev, &h, Some(first)).await;

    // /api/state has every device, with its controls.
    let state = http(web, "GET", "/api/state", &[], "").await.json();
    let (_, plug, _) = h.find(DeviceKind::Plug);
    let (_, door, _) = h.find(DeviceKind::DoorWindow);
    let p = device_in(&state, &plug).expect("the plug is listed");
    assert_eq!(p["online"], true);
    assert_eq!(p["kind"], "plug");
    assert!(
        p["controls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["property"] == "state" && c["control"] == "switch"),
        "{p}"
    );
    let gateways = state["gateways"].as_array().unwrap();
    assert_eq!(gateways.len(), 2);
    for g in gateways {
        assert_eq!(g["interface"], "127.0.0.1");
        assert_eq!(g["online"], true);
        assert!(g["protocol"].is_string(), "{g}");
        assert_eq!(g["has_password"], true);
    }
    // The gateway's light, ringtones and pairing are controls too.
    let gw = device_in(&state, &h.specs[0].config.sid).expect("the gateway is a device");
    let controls: Vec<&str> = gw["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["property"].as_str().unwrap())
        .collect();
    for c in ["light", "brightness", "color", "sound", "volume"] {
        assert!(controls.contains(&c), "{c} in {controls:?}");
    }

    // A door opens in the simulator: the page hears of it, and it is in the log.
    h.happen(&door, "contact", TypedValue::Bool(false)).await;
    ev.until(|m| {
        m["type"] == "device"
            && m["device"]["sid"] == door.as_str()
            && m["device"]["state"]["contact"] == false
    })
    .await;
    ev.until(|m| {
        m["type"] == "log"
            && m["entry"]["sid"] == door.as_str()
            && m["entry"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("contact: false"))
    })
    .await;

    // The plug, switched from the dashboard: the simulated plug is on, and the page hears it.
    assert_ne!(
        h.sim_value(&plug, "state").await,
        Some(TypedValue::Text("on".into()))
    );
    let (_, _, _) = h.find(DeviceKind::Plug);
    let r = http(
        web,
        "POST",
        &format!("/api/devices/{plug}/set"),
        &[JSON],
        r#"{"state":"ON"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(
        h.sim_value(&plug, "state").await,
        Some(TypedValue::Text("on".into()))
    );
    ev.until(|m| {
        m["type"] == "device"
            && m["device"]["sid"] == plug.as_str()
            && m["device"]["state"]["state"] == "ON"
    })
    .await;
    // And back, by a single property.
    let r = http(
        web,
        "POST",
        &format!("/api/devices/{plug}/set/state"),
        &[JSON],
        "\"OFF\"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        h.sim_value(&plug, "state").await,
        Some(TypedValue::Text("off".into()))
    );

    // Pairing, as a bridge request.
    let r = http(
        web,
        "POST",
        "/api/bridge/request/permit_join",
        &[JSON],
        &json!({"value": true, "gateway": h.specs[0].config.sid.as_str()}).to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"]["time"], 30);

    b.stop().await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_commands_get_clear_errors_and_foreign_pages_are_refused() {
    let h = house_with(1, |_, _| {}).await;
    let b = bridge(&h, "").await;
    let web = b.web_addr().unwrap();
    let mut ev = Events::open(web, &[]).await;
    complete_snapshot(&mut ev, &h, None).await;
    let (_, plug, _) = h.find(DeviceKind::Plug);

    // An unknown device: 400, naming it.
    let r = http(
        web,
        "POST",
        "/api/devices/nosuch/set",
        &[JSON],
        r#"{"state":"ON"}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    let e = r.json();
    assert_eq!(e["status"], "error");
    assert!(e["error"].as_str().unwrap().contains("nosuch"), "{e}");
    // A bad value: 400, saying what would do.
    let r = http(
        web,
        "POST",
        &format!("/api/devices/{plug}/set"),
        &[JSON],
        r#"{"state":"MAYBE"}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"].as_str().unwrap().contains("state"),
        "{}",
        r.body
    );
    // Not JSON at all: 400 from the same parser as MQTT's.
    let r = http(
        web,
        "POST",
        &format!("/api/devices/{plug}/set"),
        &[JSON],
        "{",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // A bad request name.
    let r = http(web, "POST", "/api/bridge/request/frobnicate", &[JSON], "{}").await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Too large.
    let big = format!("{{\"state\":\"{}\"}}", "x".repeat(40_000));
    let r = http(
        web,
        "POST",
        &format!("/api/devices/{plug}/set"),
        &[JSON],
        &big,
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.body);

    // A form post (what a foreign page can send without asking): refused.
    let r = http(
        web,
        "POST",
        &format!("/api/devices/{plug}/set"),
        &["Content-Type: application/x-www-form-urlencoded"],
        "state=ON",
    )
    .await;
    assert_eq!(r.status, 415);
    // JSON from another origin: refused.
    let r = http(
        web,
        "POST",
        &format!("/api/devices/{plug}/set"),
        &[JSON, "Origin: http://evil.example"],
        r#"{"state":"ON"}"#,
    )
    .await;
    assert_eq!(r.status, 403);
    // DNS rebinding: a request addressed to another host name is refused.
    let r = http(web, "GET", "/api/state", &["Host: evil.example:8099"], "").await;
    assert_eq!(r.status, 403);
    // None of it reached the plug.
    assert_ne!(
        h.sim_value(&plug, "state").await,
        Some(TypedValue::Text("on".into()))
    );

    // Unknown paths: 404; the bridge keeps running.
    assert_eq!(http(web, "GET", "/nope", &[], "").await.status, 404);
    assert_eq!(http(web, "GET", "/healthz", &[], "").await.status, 200);
    b.stop().await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_token_is_required_everywhere() {
    let h = house_with(1, |_, _| {}).await;
    let token = "s3cret-token-0123456789";
    let b = bridge(
        &h,
        &format!("[web]\nlisten = \"127.0.0.1:0\"\ntoken = \"{token}\""),
    )
    .await;
    let web = b.web_addr().unwrap();
    for path in ["/", "/api/state", "/api/events", "/metrics", "/app.js"] {
        let r = http(web, "GET", path, &[], "").await;
        assert_eq!(r.status, 401, "{path}");
        assert!(!r.body.contains(token));
    }
    let wrong = http(
        web,
        "GET",
        "/api/state",
        &["Authorization: Bearer wrong-token-0123456789"],
        "",
    )
    .await;
    assert_eq!(wrong.status, 401);
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(
        http(web, "GET", "/api/state", &[&bearer], "").await.status,
        200
    );
    assert_eq!(
        http(web, "GET", "/metrics", &[&bearer], "").await.status,
        200
    );
    // A browser opens /?token=…: a cookie, and the token leaves the address bar.
    let r = http(web, "GET", &format!("/?token={token}"), &[], "").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/"));
    let cookie = r.header("set-cookie").unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let r = http(web, "GET", "/", &[&format!("Cookie: {pair}")], "").await;
    assert_eq!(r.status, 200);
    let mut ev = Events::open(web, &[&format!("Cookie: {pair}")]).await;
    assert_eq!(ev.next().await["type"], "snapshot");
    assert_eq!(http(web, "GET", "/?token=nope", &[], "").await.status, 401);
    // With a token, any host name will do (the token is the protection).
    let r = http(
        web,
        "GET",
        "/api/state",
        &[&bearer, "Host: lumi.lan:8099"],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    b.stop().await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_datagrams_errors_spoofs_and_commands() {
    let h = house_with(2, |_, _| {}).await;
    let b = bridge(&h, "").await;
    let web = b.web_addr().unwrap();
    let mut ev = Events::open(web, &[]).await;
    complete_snapshot(&mut ev, &h, None).await;

    // From 127.0.0.1, which is no gateway: garbage, and a report that claims a door opened.
    let (_, door, _) = h.find(DeviceKind::DoorWindow);
    let group = SocketAddrV4::new(h.net.group, h.net.report_port);
    let tx = lumi_sim::rt::multicast_sender(
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
        Ipv4Addr::LOCALHOST,
    )
    .unwrap();
    tx.send_to(b"not json at all", group).await.unwrap();
    let spoof = json!({"cmd":"report","model":"magnet","sid": door.as_str(),
                       "data": "{\"status\":\"open\"}"})
    .to_string();
    tx.send_to(spoof.as_bytes(), group).await.unwrap();
    // A write, for the latency histogram.
    let (_, plug, _) = h.find(DeviceKind::Plug);
    let r = http(
        web,
        "POST",
        &format!("/api/devices/{plug}/set"),
        &[JSON],
        r#"{"state":"ON"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let value = |text: &str, series: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    };
    // The two datagrams are counted once the client has read them; read until they are.
    let deadline = tokio::time::Instant::now() + WAIT;
    let text = loop {
        let r = http(web, "GET", "/metrics", &[], "").await;
        assert_eq!(r.status, 200);
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let ok = value(&r.body, "lumi_lan_decode_errors_total{kind=\"not_json\"}") == Some(1.0)
            && value(&r.body, "lumi_lan_spoofed_datagrams_total") == Some(1.0);
        if ok {
            break r.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", r.body);
        // Let the LAN client's task run before asking again.
        tokio::task::yield_now().await;
    };
    for s in &h.specs {
        let sid = s.config.sid.as_str();
        assert_eq!(
            value(&text, &format!("lumi_gateway_online{{gateway=\"{sid}\"}}")),
            Some(1.0)
        );
        assert!(
            value(
                &text,
                &format!("lumi_lan_datagrams_total{{gateway=\"{sid}\"}}")
            )
            .unwrap()
                >= 1.0
        );
    }
    assert_eq!(
        value(&text, "lumi_command_duration_seconds_count{kind=\"write\"}"),
        Some(1.0)
    );
    assert_eq!(value(&text, "lumi_mqtt_connected"), Some(1.0));
    assert_eq!(value(&text, "lumi_mqtt_reconnects_total"), Some(0.0));
    assert!(value(&text, "lumi_devices{availability=\"online\"}").unwrap() >= 10.0);
    // The spoofed report changed nothing: the door is still closed.
    let state = http(web, "GET", "/api/state", &[], "").await.json();
    assert_eq!(device_in(&state, &door).unwrap()["state"]["contact"], true);
    b.stop().await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_explained_with_its_fix() {
    let h = house_with(1, |_, c| {
        c.password = "aaaaaaaaaaaaaaaa".parse().unwrap();
    })
    .await;
    let b = bridge(&h, "").await;
    let web = b.web_addr().unwrap();
    let mut ev = Events::open(web, &[]).await;
    complete_snapshot(&mut ev, &h, None).await;
    let (_, plug, _) = h.find(DeviceKind::Plug);
    let r = http(
        web,
        "POST",
        &format!("/api/devices/{plug}/set"),
        &[JSON],
        r#"{"state":"ON"}"#,
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(
        r.json()["error"].as_str().unwrap().contains("Invalid key"),
        "{}",
        r.body
    );
    // The page is told, with the fix.
    let m = ev
        .until(|m| {
            m["type"] == "gateways"
                && m["problems"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p["id"] == "invalid_key"))
        })
        .await;
    let p = m["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "invalid_key")
        .unwrap();
    assert_eq!(p["gateway"], h.specs[0].config.sid.as_str());
    assert_eq!(p["fix"], lumi_client::diagnosis::FIX_PASSWORD);
    // The password never shows.
    let state = http(web, "GET", "/api/state", &[], "").await;
    assert!(!state.body.contains(PASSWORD) && !state.body.contains("aaaaaaaaaaaaaaaa"));
    b.stop().await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_a_clear_error() {
    let h = house_with(1, |_, _| {}).await;
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let mut config = Config::from_toml(&format!("[web]\nlisten = \"127.0.0.1:{port}\"")).unwrap();
    config.mqtt.broker = Broker::Embedded {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let mut net = h.net;
    net.interface = Ipv4Addr::LOCALHOST;
    let err = Bridge::start(BridgeSetup { config, net })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("web") && err.contains("listen"),
        "{err}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_web_there_is_no_server() {
    let h = house_with(1, |_, _| {}).await;
    let b = bridge(&h, "[web]\nenabled = false").await;
    assert_eq!(b.web_addr(), None);
    assert!(b.ping(Duration::from_secs(5)).await);
    b.stop().await.unwrap();
    h.stop().await;
}

// --- an MQTT outage, with the dashboard watching -------------------------------------------

/// A TCP proxy in front of the broker that the test can cut: the bridge loses its broker
/// while the broker (and the test's subscriber on it) keeps running.
struct Proxy {
    addr: SocketAddr,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        use std::sync::atomic::Ordering;
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (c, k) = (cut.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut down, _)) = l.accept().await {
                if c.load(Ordering::SeqCst) {
                    continue; // refused: closed at once
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                k.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy { addr, cut, conns }
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtt_outage_loses_no_event_state_or_command() {
    let Some(m) = lumi_bridge::testkit::mosquitto_or_skip() else {
        return;
    };
    let proxy = Proxy::start(m.addr()).await;
    let h = house_with(2, |_, _| {}).await;
    let mut config = Config::from_toml(&format!(
        "password = \"{PASSWORD}\"\ntimeout = \"1500ms\"\n[mqtt]\nurl = \"mqtt://{}\"",
        proxy.addr
    ))
    .unwrap();
    config.web.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut net = h.net;
    net.interface = Ipv4Addr::LOCALHOST;
    let b = Bridge::start(BridgeSetup { config, net }).await.unwrap();
    let web = b.web_addr().unwrap();
    let sub = lumi_bridge::testkit::Subscriber::connect(m.addr(), &["lumi/#"]).await;
    let mut ev = Events::open(web, &[]).await;
    complete_snapshot(&mut ev, &h, None).await;
    let (_, plug, _) = h.find(DeviceKind::Plug);
    let (_, button, _) = h.find(DeviceKind::Button);
    let (_, door, _) = h.find(DeviceKind::DoorWindow);
    let (_, wall, _) = h.find(DeviceKind::WallSwitchWired);
    sub.wait_for(&format!("lumi/{plug}"), WAIT).await.unwrap();

    // The broker becomes unreachable; the page is told.
    proxy.cut();
    ev.until(|m| m["type"] == "bridge" && m["bridge"]["mqtt"]["connected"] == false)
        .await;
    // Meanwhile: a click, a door, a command from the dashboard, two commands over MQTT (which
    // the broker keeps for the bridge's session).
    h.happen(&button, "action", TypedValue::Text("single".into()))
        .await;
    h.happen(&door, "contact", TypedValue::Bool(false)).await;
    let r = http(
        web,
        "POST",
        &format!("/api/devices/{plug}/set"),
        &[JSON],
        r#"{"state":"ON"}"#,
    )
    .await;
    assert_eq!(
        r.status, 200,
        "the dashboard works without MQTT: {}",
        r.body
    );
    sub.clear();
    sub.publish(
        &format!("lumi/{wall}/set"),
        br#"{"state":"ON"}"#.to_vec(),
        false,
    )
    .await;
    sub.publish("lumi/nosuch/set", br#"{"state":"ON"}"#.to_vec(), false)
        .await;
    ev.until(|m| {
        m["type"] == "device"
            && m["device"]["sid"] == door.as_str()
            && m["device"]["state"]["contact"] == false
    })
    .await;

    // The broker is back: the click, the states, and both commands' outcomes arrive.
    proxy.restore();
    let action = sub
        .wait_for(&format!("lumi/{button}/action"), WAIT)
        .await
        .expect("the click made during the outage is delivered");
    assert_eq!(action.payload, b"single");
    let found = |topic: String, f: fn(&Value) -> bool| {
        let sub = &sub;
        async move {
            sub.wait_until(WAIT, |msgs| {
                msgs.iter().any(|m| {
                    m.topic == topic
                        && serde_json::from_slice::<Value>(&m.payload).is_ok_and(|v| f(&v))
                })
            })
            .await
            .is_ok()
        }
    };
    assert!(
        found(format!("lumi/{door}"), |v| v["contact"] == false).await,
        "the door's state"
    );
    assert!(
        found(format!("lumi/{plug}"), |v| v["state"] == "ON").await,
        "the plug's state"
    );
    assert!(
        found(format!("lumi/{wall}"), |v| v["state"] == "ON").await,
        "the queued command ran"
    );
    assert!(
        found("lumi/bridge/logging".into(), |v| v["message"]
            .as_str()
            .is_some_and(|t| t.contains("nosuch")))
        .await,
        "the queued bad command was answered"
    );
    let wall_state = h.sim_value(&wall, "state").await;
    assert_eq!(wall_state, Some(TypedValue::Text("on".into())));
    ev.until(|m| m["type"] == "bridge" && m["bridge"]["mqtt"]["connected"] == true)
        .await;
    b.stop().await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_page_does_not_hold_up_a_stop() {
    let h = house_with(1, |_, _| {}).await;
    let b = bridge(&h, "").await;
    let web = b.web_addr().unwrap();
    let mut ev = Events::open(web, &[]).await;
    assert_eq!(ev.next().await["type"], "snapshot");
    // The stream ends with the server (it used to keep the graceful shutdown waiting until
    // its 2 s limit).
    let t = std::time::Instant::now();
    b.stop().await.unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    ev.closed().await;
    h.stop().await;
}
