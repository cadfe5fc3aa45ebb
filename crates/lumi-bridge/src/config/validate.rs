//! From the file as written to the effective [`Config`]: every value checked, every problem
//! collected with its key path, defaults filled in.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::{ProtoVersion, Sid};
use lumi_proto::miio::MiioToken;
use lumi_proto::sanitize;

use super::file::{DurationValue, File, FileDevice, FileGateway, FileMqtt, FileWeb};
use super::path;
use super::{
    AvailabilityTimeouts, BridgeConfig, Broker, COMMAND_PORT, Config, ConfigError, DeviceConfig,
    GatewayConfig, HomeAssistantConfig, MIN_WEB_TOKEN, MqttConfig, MqttUrl, Problem, Qos, Secret,
    TlsFiles, WebConfig,
};
use crate::name::FriendlyName;

/// Collects problems while building the configuration.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// The value of a check, or `None` after recording its problem.
    fn check<T>(&mut self, key: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(m) => {
                self.add(key, m);
                None
            }
        }
    }
}

pub(super) fn validate(file: File) -> Result<Config, ConfigError> {
    let mut p = Problems::default();
    let d = Config::default();

    let interface = file
        .interface
        .and_then(|i| p.check("interface", interface(&i)));
    let password = file
        .password
        .and_then(|s| p.check("password", gateway_password(&s)));
    let timeout = match file.timeout {
        Some(t) => p.check("timeout", positive(&t)).unwrap_or(d.timeout),
        None => d.timeout,
    };

    let mut gateways = Vec::new();
    for (i, g) in file.gateway.into_iter().enumerate() {
        if let Some(g) = gateway(i, g, &mut p) {
            gateways.push(g);
        }
    }
    duplicates(
        &gateways,
        |g| g.sid.as_ref().map(|s| s.to_string()),
        "sid",
        &mut p,
    );
    duplicates(
        &gateways,
        |g| g.addr.map(|a| a.ip().to_string()),
        "ip",
        &mut p,
    );

    let mqtt = mqtt(file.mqtt.unwrap_or_default(), d.mqtt, &mut p);

    let fb = file.bridge.unwrap_or_default();
    let base_topic = fb
        .base_topic
        .and_then(|t| p.check("bridge.base_topic", topic_prefix(&t)))
        .unwrap_or(d.bridge.base_topic);
    let legacy_base_topic = fb
        .legacy_base_topic
        .and_then(|t| p.check("bridge.legacy_base_topic", topic_prefix(&t)))
        .unwrap_or(d.bridge.legacy_base_topic);
    let legacy_topics = fb.legacy_topics.unwrap_or(d.bridge.legacy_topics);
    if legacy_topics && overlaps(&legacy_base_topic, &base_topic) {
        p.add(
            "bridge.legacy_base_topic",
            format!(
                "{legacy_base_topic:?} overlaps bridge.base_topic {base_topic:?}: give the legacy topics their own base (e.g. \"xiaomi\")"
            ),
        );
    }
    let ft = fb.availability_timeout.unwrap_or_default();
    let dt = d.bridge.availability_timeout;
    let mut timeout_of = |v: Option<DurationValue>, key: &str, default: Duration| {
        v.and_then(|v| p.check(key, positive(&v)))
            .unwrap_or(default)
    };
    let availability_timeout = AvailabilityTimeouts {
        gateway: timeout_of(
            ft.gateway,
            "bridge.availability_timeout.gateway",
            dt.gateway,
        ),
        mains: timeout_of(ft.mains, "bridge.availability_timeout.mains", dt.mains),
        battery: timeout_of(
            ft.battery,
            "bridge.availability_timeout.battery",
            dt.battery,
        ),
    };
    let motion_off_delay = fb
        .motion_off_delay
        .and_then(|v| p.check("bridge.motion_off_delay", motion_delay(&v)))
        .unwrap_or(d.bridge.motion_off_delay);
    let bridge = BridgeConfig {
        base_topic,
        legacy_topics,
        legacy_base_topic,
        availability: fb.availability.unwrap_or(d.bridge.availability),
        availability_timeout,
        motion_off_delay,
    };

    let fh = file.homeassistant.unwrap_or_default();
    let discovery_prefix = fh
        .discovery_prefix
        .and_then(|t| p.check("homeassistant.discovery_prefix", topic_prefix(&t)))
        .unwrap_or(d.homeassistant.discovery_prefix);
    let enabled = fh.enabled.unwrap_or(d.homeassistant.enabled);
    if enabled && overlaps(&discovery_prefix, &bridge.base_topic) {
        p.add(
            "homeassistant.discovery_prefix",
            format!(
                "{discovery_prefix:?} overlaps bridge.base_topic {:?}: the bridge's topics and Home Assistant's discovery topics must not share a base",
                bridge.base_topic
            ),
        );
    }
    let status_topic = fh
        .status_topic
        .and_then(|t| p.check("homeassistant.status_topic", topic_prefix(&t)))
        .unwrap_or(d.homeassistant.status_topic);
    if status_topic == bridge.base_topic
        || status_topic.starts_with(&format!("{}/", bridge.base_topic))
    {
        p.add(
            "homeassistant.status_topic",
            format!(
                "{status_topic:?} is under bridge.base_topic {:?}: use Home Assistant's own status topic (homeassistant/status)",
                bridge.base_topic
            ),
        );
    }
    let homeassistant = HomeAssistantConfig {
        enabled,
        discovery_prefix,
        status_topic,
    };

    let web = web(file.web.unwrap_or_default(), d.web, &mut p);

    let mut devices = Vec::new();
    for (i, dev) in file.device.into_iter().enumerate() {
        if let Some(dev) = device(i, dev, &mut p) {
            devices.push(dev);
        }
    }
    check_devices(&devices, &mut p);

    if !p.0.is_empty() {
        return Err(ConfigError::Invalid { problems: p.0 });
    }
    Ok(Config {
        interface,
        password,
        timeout,
        gateways,
        mqtt,
        bridge,
        homeassistant,
        web,
        devices,
    })
}

fn web(f: FileWeb, d: WebConfig, p: &mut Problems) -> WebConfig {
    let listen = f
        .listen
        .as_deref()
        .and_then(|l| p.check("web.listen", listen_addr(l)))
        .unwrap_or(d.listen);
    let token = f.token.and_then(|t| p.check("web.token", web_token(&t)));
    let enabled = f.enabled.unwrap_or(d.enabled);
    if enabled && token.is_none() && !listen.ip().is_loopback() {
        p.add(
            "web.listen",
            format!(
                "{listen} makes the dashboard (which can switch devices) reachable from other hosts: \
                 set web.token to a long random secret (e.g. the output of `openssl rand -hex 16`), \
                 or listen on 127.0.0.1"
            ),
        );
    }
    WebConfig {
        enabled,
        listen,
        token,
    }
}

fn web_token(s: &str) -> Result<Secret, String> {
    // The value is a secret: the message never repeats it.
    if s.chars().count() < MIN_WEB_TOKEN {
        return Err(format!(
            "is too short: use at least {MIN_WEB_TOKEN} characters (e.g. the output of `openssl rand -hex 16`)"
        ));
    }
    // It travels in an address (`?token=`), a header and a cookie: characters that need no
    // escaping in any of them.
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        return Err(
            "may hold only letters, digits and - . _ ~ (it travels in the dashboard's address, \
             a header and a cookie); `openssl rand -hex 16` makes a good one"
                .into(),
        );
    }
    Ok(Secret::new(s))
}

fn gateway(i: usize, g: FileGateway, p: &mut Problems) -> Option<GatewayConfig> {
    let at = |k: &str| path::key(&path::gateway(i), k);
    if g.sid.is_none() && g.ip.is_none() {
        p.add(
            path::gateway(i),
            "needs a sid or an ip (`lumi discover` shows both)",
        );
        return None;
    }
    let mut ok = true;
    let sid = take(g.sid.as_deref().map(sid), at("sid"), p, &mut ok);
    let addr = take(g.ip.as_deref().map(gateway_addr), at("ip"), p, &mut ok);
    let password = take(
        g.password.as_deref().map(gateway_password),
        at("password"),
        p,
        &mut ok,
    );
    let protocol = take(
        g.protocol.as_deref().map(protocol),
        at("protocol"),
        p,
        &mut ok,
    )
    .flatten();
    let miio_token = take(
        g.miio_token.as_deref().map(miio_token),
        at("miio_token"),
        p,
        &mut ok,
    );
    ok.then_some(GatewayConfig {
        sid,
        addr,
        password,
        protocol,
        miio_token,
    })
}

/// The value of an optional check; a problem is recorded and clears `ok`.
fn take<T>(
    r: Option<Result<T, String>>,
    key: String,
    p: &mut Problems,
    ok: &mut bool,
) -> Option<T> {
    match r? {
        Ok(v) => Some(v),
        Err(m) => {
            p.add(key, m);
            *ok = false;
            None
        }
    }
}

fn mqtt(f: FileMqtt, d: MqttConfig, p: &mut Problems) -> MqttConfig {
    let url = f
        .url
        .as_deref()
        .and_then(|u| p.check("mqtt.url", mqtt_url(u)));
    let broker = match (url, f.url.is_some(), f.listen.as_deref()) {
        (Some(url), _, None) => Broker::External(url),
        (Some(url), _, Some(_)) => {
            p.add(
                "mqtt.listen",
                "only for the embedded broker: remove it, or remove mqtt.url to run the embedded broker",
            );
            Broker::External(url)
        }
        // A bad url was reported; keep the default to go on checking.
        (None, true, _) => d.broker,
        (None, false, Some(l)) => match p.check("mqtt.listen", listen_addr(l)) {
            Some(listen) => Broker::Embedded { listen },
            None => d.broker,
        },
        (None, false, None) => d.broker,
    };
    let tls_wanted = matches!(&broker, Broker::External(u) if u.tls);
    let client_id = f
        .client_id
        .and_then(|c| p.check("mqtt.client_id", client_id(&c)))
        .unwrap_or(d.client_id);
    let external = f.url.is_some();
    let username = f.username.and_then(|u| {
        if !external {
            p.add(
                "mqtt.username",
                "only used with mqtt.url (the embedded broker has no users)",
            );
            return None;
        }
        p.check("mqtt.username", text_value(&u, 256))
    });
    let password = f.password.and_then(|s| {
        if !external {
            p.add(
                "mqtt.password",
                "only used with mqtt.url (the embedded broker has no users)",
            );
            None
        } else if s.is_empty() {
            p.add("mqtt.password", "is empty: remove it or give the password");
            None
        } else {
            Some(Secret::new(s))
        }
    });
    if password.is_some() && username.is_none() && external {
        p.add(
            "mqtt.password",
            "needs mqtt.username (MQTT sends a password only with a user name)",
        );
    }
    let mut file_path = |v: Option<String>, key: &str| -> Option<PathBuf> {
        let v = v?;
        if !tls_wanted {
            p.add(
                key,
                "TLS files need an mqtts:// url (mqtt.url = \"mqtts://host:8883\")",
            );
            return None;
        }
        if v.trim().is_empty() {
            p.add(key, "is empty: give the path of a PEM file");
            return None;
        }
        Some(PathBuf::from(v))
    };
    let tls = TlsFiles {
        ca: file_path(f.ca, "mqtt.ca"),
        client_cert: file_path(f.client_cert, "mqtt.client_cert"),
        client_key: file_path(f.client_key, "mqtt.client_key"),
    };
    match (&tls.client_cert, &tls.client_key) {
        (Some(_), None) => p.add(
            "mqtt.client_key",
            "missing: a client certificate (mqtt.client_cert) needs its private key",
        ),
        (None, Some(_)) => p.add(
            "mqtt.client_cert",
            "missing: a client key (mqtt.client_key) needs its certificate",
        ),
        _ => {}
    }
    let keepalive = f
        .keepalive
        .and_then(|k| p.check("mqtt.keepalive", keepalive(&k)))
        .unwrap_or(d.keepalive);
    let qos = f
        .qos
        .and_then(|q| {
            let r = u8::try_from(q).ok().and_then(Qos::from_u8).ok_or_else(|| {
                format!(
                    "{q} is not a QoS: use 0 (at most once), 1 (at least once) or 2 (exactly once)"
                )
            });
            p.check("mqtt.qos", r)
        })
        .unwrap_or(d.qos);
    MqttConfig {
        broker,
        client_id,
        username,
        password,
        tls,
        keepalive,
        qos,
        retain: f.retain.unwrap_or(d.retain),
        persistent_session: f.persistent_session.unwrap_or(d.persistent_session),
    }
}

fn device(i: usize, f: FileDevice, p: &mut Problems) -> Option<DeviceConfig> {
    let here = path::device(i, f.sid.as_deref());
    let at = |k: &str| path::key(&here, k);
    let Some(sid_text) = f.sid.as_deref() else {
        p.add(
            here,
            "needs a sid: the device these options are for (`lumi devices` lists them)",
        );
        return None;
    };
    let mut ok = true;
    let sid = p.check(&at("sid"), sid(sid_text));
    ok &= sid.is_some();
    let name = match f.name.as_deref() {
        None => None,
        Some(n) => match FriendlyName::new(n) {
            Ok(n) => Some(n),
            Err(e) => {
                p.add(at("name"), e.to_string());
                ok = false;
                None
            }
        },
    };
    let mut duration =
        |v: Option<DurationValue>,
         key: &str,
         check: fn(&DurationValue) -> Result<Duration, String>| {
            let v = v?;
            let r = check(&v);
            if r.is_err() {
                ok = false;
            }
            p.check(&at(key), r)
        };
    let availability_timeout = duration(f.availability_timeout, "availability_timeout", positive);
    let motion_off_delay = duration(f.motion_off_delay, "motion_off_delay", motion_delay);
    let sid = sid?;
    ok.then_some(DeviceConfig {
        sid,
        name,
        retain: f.retain,
        availability_timeout,
        motion_off_delay,
        homeassistant: f.homeassistant,
    })
}

/// Device tables: one per sid, names unique (also ignoring case, since Home Assistant's
/// entity ids are lowercase), and no name that is another device's sid-shaped default.
fn check_devices(devices: &[DeviceConfig], p: &mut Problems) {
    let key = |d: &DeviceConfig, k: &str| path::key(&path::device(0, Some(d.sid.as_str())), k);
    let mut sids: HashMap<&Sid, usize> = HashMap::new();
    let mut names: HashMap<String, &DeviceConfig> = HashMap::new();
    for (i, d) in devices.iter().enumerate() {
        if let Some(&first) = sids.get(&d.sid) {
            p.add(
                key(d, "sid"),
                format!(
                    "the same sid has another [[device]] table (number {}): merge them",
                    first + 1
                ),
            );
        } else {
            sids.insert(&d.sid, i);
        }
        let Some(name) = &d.name else { continue };
        if name.looks_like_sid() && name.as_str() != d.sid.as_str() {
            p.add(
                key(d, "name"),
                format!(
                    "{:?} looks like a sid: devices without a name are called by their sid, so pick a name that is not one",
                    name.as_str()
                ),
            );
        }
        match names.get(&name.as_str().to_lowercase()) {
            Some(other) if other.name.as_ref() == Some(name) => p.add(
                key(d, "name"),
                format!(
                    "{:?} is also the name of {}: names must be unique",
                    name.as_str(),
                    other.sid
                ),
            ),
            Some(other) => p.add(
                key(d, "name"),
                format!(
                    "{:?} differs only in case from the name of {}: Home Assistant's entity ids would collide",
                    name.as_str(),
                    other.sid
                ),
            ),
            None => {
                names.insert(name.as_str().to_lowercase(), d);
            }
        }
    }
    // A configured name must not be the default name (sid) of another configured device.
    for d in devices {
        if let Some(name) = &d.name
            && let Some(other) = devices
                .iter()
                .find(|o| o.sid.as_str() == name.as_str() && o.sid != d.sid)
        {
            p.add(
                key(d, "name"),
                format!(
                    "{:?} is the sid of another device ({})",
                    name.as_str(),
                    other.sid
                ),
            );
        }
    }
}

fn duplicates<T>(items: &[T], field: impl Fn(&T) -> Option<String>, what: &str, p: &mut Problems) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(v) = field(item) {
            if let Some(first) = seen.get(&v) {
                p.add(
                    path::key(&path::gateway(i), what),
                    format!(
                        "{v} is also the {what} of {}: list each gateway once",
                        path::gateway(*first)
                    ),
                );
            } else {
                seen.insert(v, i);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Value checks: each returns the message of its problem, saying what to do.

fn interface(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(
            "is empty: give an interface name (eth0), its IPv4 address, or \"auto\"".into(),
        );
    }
    text_value(t, 64)
}

fn text_value(s: &str, max: usize) -> Result<String, String> {
    if s.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    if s.chars().count() > max {
        return Err(format!("is longer than {max} characters"));
    }
    Ok(s.to_owned())
}

fn gateway_password(s: &str) -> Result<GatewayPassword, String> {
    s.parse::<GatewayPassword>().map_err(|e| e.to_string())
}

fn miio_token(s: &str) -> Result<MiioToken, String> {
    s.parse::<MiioToken>().map_err(|e| e.to_string())
}

/// A gateway or device sid as `lumi discover` / `lumi devices` show them (hex digits,
/// optionally with a `lumi.` prefix), as the command-line tools accept it.
fn sid(s: &str) -> Result<Sid, String> {
    let t = s.trim();
    let hex = t.strip_prefix("lumi.").unwrap_or(t);
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{:?} is not a sid (hex digits such as 34ce0088db0b or 158d0001a2b3c4; `lumi discover` and `lumi devices` show them)",
            sanitize::truncated(t, 40)
        ));
    }
    hex.parse::<Sid>().map_err(|e| e.to_string())
}

fn gateway_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, COMMAND_PORT))
        .map_err(|_| {
            format!(
                "{:?} is not an IP address or IP:PORT (e.g. 192.168.1.20 or 192.168.1.20:9898)",
                sanitize::truncated(s, 60)
            )
        })
}

fn protocol(s: &str) -> Result<Option<ProtoVersion>, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    s.trim().parse::<ProtoVersion>().map(Some).map_err(|_| {
        format!(
            "{:?} is not a protocol: use auto, v1 or v2",
            sanitize::truncated(s, 20)
        )
    })
}

fn positive(v: &DurationValue) -> Result<Duration, String> {
    let d = v.parse()?;
    if d.is_zero() {
        return Err("must be more than 0 (e.g. \"10m\")".into());
    }
    Ok(d)
}

fn motion_delay(v: &DurationValue) -> Result<Duration, String> {
    let d = positive(v)?;
    if d > Duration::from_secs(24 * 3600) {
        return Err("is longer than a day: use e.g. \"120s\"".into());
    }
    Ok(d)
}

fn keepalive(v: &DurationValue) -> Result<Duration, String> {
    let d = v.parse()?;
    if d.subsec_nanos() != 0 || !(5..=65535).contains(&d.as_secs()) {
        return Err(
            "must be whole seconds from 5s to 65535s (MQTT keep-alive), e.g. \"60s\"".into(),
        );
    }
    Ok(d)
}

fn client_id(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{:?} is not a usable client id: 1 to 128 printable ASCII characters without spaces (e.g. \"lumi\")",
            sanitize::truncated(s, 40)
        ));
    }
    Ok(s.to_owned())
}

fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim().parse::<SocketAddr>().map_err(|_| {
        format!(
            "{:?} is not an IP:PORT address (e.g. 127.0.0.1:1883)",
            sanitize::truncated(s, 60)
        )
    })
}

/// A topic base: levels of printable text separated by `/`, no wildcards, no empty level,
/// not a `$` system topic.
fn topic_prefix(s: &str) -> Result<String, String> {
    let shown = sanitize::truncated(s, 60);
    if s.is_empty() {
        return Err("is empty".into());
    }
    if s.len() > 200 {
        return Err("is longer than 200 bytes".into());
    }
    if let Some(c) = s.chars().find(|c| matches!(c, '+' | '#') || c.is_control()) {
        return Err(format!(
            "{shown:?} contains {c:?}: topics may not contain MQTT wildcards or control characters"
        ));
    }
    if s.starts_with('$') {
        return Err(format!(
            "{shown:?} starts with $: those topics belong to the broker"
        ));
    }
    if s.split('/').any(str::is_empty) {
        return Err(format!(
            "{shown:?} has an empty level (a leading, trailing or doubled /)"
        ));
    }
    Ok(s.to_owned())
}

/// True when one topic base is the other or lies under it.
fn overlaps(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

/// `mqtt://host[:port]` or `mqtts://host[:port]`; IPv6 hosts in brackets.
pub(crate) fn mqtt_url(s: &str) -> Result<MqttUrl, String> {
    let shown = sanitize::truncated(s, 80);
    let t = s.trim();
    let Some((scheme, rest)) = t.split_once("://") else {
        return Err(format!(
            "{shown:?} is not a URL: use mqtt://host:1883 or mqtts://host:8883"
        ));
    };
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "mqtt" => false,
        "mqtts" => true,
        other => {
            return Err(format!(
                "scheme {:?} is not supported: use mqtt:// or mqtts:// (TLS)",
                sanitize::truncated(other, 20)
            ));
        }
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('@') {
        // Never echo it: it may hold a password.
        return Err(
            "has a user name or password in it: put them in mqtt.username and mqtt.password".into(),
        );
    }
    if authority.contains(['/', '?', '#']) {
        return Err(format!(
            "{shown:?} has a path, query or fragment: give only the host and port"
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{shown:?} has an unclosed [ in its IPv6 address"))?;
        h.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("{h:?} is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("{shown:?}: expected :port after the IPv6 address"))?,
            ),
        };
        (h.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("{shown:?} has no host"));
    }
    if !host.contains(':')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return Err(format!(
            "{:?} is not a host name or IP address",
            sanitize::truncated(&host, 60)
        ));
    }
    let port = match port {
        None => {
            if tls {
                8883
            } else {
                1883
            }
        }
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
            format!(
                "port {:?} is not a number from 1 to 65535",
                sanitize::truncated(p, 10)
            )
        })?,
    };
    Ok(MqttUrl { tls, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mqtt_urls() {
        for (text, tls, host, port) in [
            ("mqtt://broker.lan", false, "broker.lan", 1883),
            ("mqtt://192.168.1.10:1884", false, "192.168.1.10", 1884),
            ("mqtts://broker.lan", true, "broker.lan", 8883),
            ("MQTTS://broker.lan:443/", true, "broker.lan", 443),
            ("mqtt://[::1]:1883", false, "::1", 1883),
            ("mqtts://[fe80::1]", true, "fe80::1", 8883),
        ] {
            let u = mqtt_url(text).unwrap();
            assert_eq!(
                (u.tls, u.host.as_str(), u.port),
                (tls, host, port),
                "{text}"
            );
        }
        assert_eq!(
            mqtt_url("mqtt://[::1]:1883").unwrap().to_string(),
            "mqtt://[::1]:1883"
        );
        for (text, want) in [
            ("broker.lan", "not a URL"),
            ("http://broker", "not supported"),
            ("ws://broker", "not supported"),
            ("tcp://broker", "not supported"),
            ("ssl://broker", "not supported"),
            ("mqtt://", "no host"),
            ("mqtt://:1883", "no host"),
            ("mqtt://h:0", "port"),
            ("mqtt://h:99999", "port"),
            ("mqtt://h:x", "port"),
            ("mqtt://h/path", "path"),
            ("mqtt://h?x=1", "path"),
            ("mqtt://[::1", "unclosed"),
            ("mqtt://[zz]:1", "IPv6"),
            ("mqtt://h o st", "host name"),
        ] {
            let err = mqtt_url(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        let err = mqtt_url("mqtt://user:hunter2@broker").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("mqtt.username"), "{err}");
    }

    #[test]
    fn topic_prefixes() {
        for ok in ["lumi", "home/lumi", "a b", "zigbee2mqtt"] {
            assert!(topic_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/#", "+", "/lumi", "lumi/", "a//b", "$SYS", "a\nb"] {
            assert!(topic_prefix(bad).is_err(), "{bad:?}");
        }
        assert!(overlaps("lumi", "lumi"));
        assert!(overlaps("lumi", "lumi/x"));
        assert!(overlaps("a/b", "a"));
        assert!(!overlaps("lumi", "lumi2"));
    }
}
