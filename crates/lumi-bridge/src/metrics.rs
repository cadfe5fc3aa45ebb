//! `/metrics`: the bridge's counters in Prometheus' text exposition format (version 0.0.4).
//!
//! ```text
//! # HELP lumi_lan_datagrams_total Datagrams received from each gateway.
//! # TYPE lumi_lan_datagrams_total counter
//! lumi_lan_datagrams_total{gateway="7811dcb06970"} 1234
//! lumi_gateway_online{gateway="7811dcb06970"} 1
//! lumi_command_duration_seconds_bucket{kind="write",le="0.05"} 3
//! ```
//!
//! What goes in comes from three places, each read without stopping the others: the core's
//! counters and command latencies ([`CoreMetrics`], asked of the daemon task), the LAN
//! client's counters and gateways ([`lumi_client::gateway::ClientStats`],
//! [`lumi_client::gateway::GatewayInfo`]), and the MQTT link's ([`crate::mqtt::LinkStats`]).
//! Rendering is a pure function of those, so it is tested without a socket.

use std::fmt::Write as _;
use std::time::Duration;

use lumi_client::gateway::{ClientStats, GatewayInfo};

use crate::daemon::CoreStats;
use crate::mqtt::LinkStats;

/// Upper bounds of the command latency buckets, in seconds. A LAN command takes a few
/// milliseconds on a healthy network; the request timeout (3 s by default) ends the scale.
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram with the fixed [`BUCKETS`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Histogram {
    /// Observations at or below each bound (not cumulative; [`render`] sums them).
    counts: [u64; BUCKETS.len()],
    /// All observations, including those above the last bound.
    count: u64,
    /// Their sum, in seconds.
    sum: f64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| s <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += s;
    }

    /// How many observations.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// The kinds of command whose latency is measured, as the `kind` label says them.
pub const COMMAND_KINDS: [&str; 4] = ["write", "read", "pairing", "remove"];

/// What the core contributes to `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoreMetrics {
    /// Its counters.
    pub stats: CoreStats,
    /// Connected to the broker now.
    pub mqtt_connected: bool,
    /// Sub-devices online and offline.
    pub devices_online: u64,
    /// Sub-devices offline.
    pub devices_offline: u64,
    /// Seconds since the bridge started.
    pub uptime: Duration,
    /// Every gateway (sid) and whether it is online, as the bridge publishes it: online from
    /// its discovery until its heartbeats stop.
    pub gateways: Vec<(String, bool)>,
    /// Command latency (job started to gateway's answer), by [`COMMAND_KINDS`].
    pub commands: [Histogram; COMMAND_KINDS.len()],
}

/// Everything `/metrics` shows.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The core's part.
    pub core: CoreMetrics,
    /// The LAN client's counters (`None`: it did not answer).
    pub client: Option<ClientStats>,
    /// The gateways as the LAN client knows them.
    pub gateways: Vec<GatewayInfo>,
    /// The MQTT link's counters.
    pub link: LinkStats,
    /// The process: tasks alive in its runtime, open file descriptors, resident memory.
    pub process: Option<Process>,
}

/// What the process uses (for leaks: these must stay flat while the bridge runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Process {
    /// Tasks alive in the tokio runtime.
    pub tasks: usize,
    /// Open file descriptors (Linux; `None` elsewhere).
    pub open_fds: Option<usize>,
    /// Resident memory in bytes (Linux; `None` elsewhere).
    pub resident_bytes: Option<u64>,
}

impl Process {
    /// This process now; `tasks` from the caller's runtime.
    pub fn current(tasks: usize) -> Process {
        let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(Iterator::count);
        // statm: size resident shared … in pages; lumi's targets have 4 KiB pages.
        let resident_bytes = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map(|pages| pages * 4096);
        Process {
            tasks,
            open_fds,
            resident_bytes,
        }
    }
}

/// The exposition text.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::with_capacity(4096);
    let mut m = Writer { out: &mut out };
    m.family("lumi_build_info", "gauge", "The version of lumi running.");
    m.sample(
        "lumi_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    m.single(
        "lumi_uptime_seconds",
        "gauge",
        "Seconds since the bridge started.",
        s.core.uptime.as_secs_f64(),
    );

    // Gateways.
    m.family(
        "lumi_gateway_online",
        "gauge",
        "1 while the gateway's heartbeats arrive, else 0.",
    );
    for (sid, online) in &s.core.gateways {
        m.sample(
            "lumi_gateway_online",
            &[("gateway", sid.as_str())],
            f64::from(u8::from(*online)),
        );
    }
    m.family(
        "lumi_lan_datagrams_total",
        "counter",
        "Datagrams received from each gateway.",
    );
    for g in &s.gateways {
        m.sample(
            "lumi_lan_datagrams_total",
            &[("gateway", g.sid.as_str())],
            g.datagrams as f64,
        );
    }
    m.family(
        "lumi_gateway_heartbeat_age_seconds",
        "gauge",
        "Seconds since the gateway's last heartbeat (absent before the first).",
    );
    for g in &s.gateways {
        if let Some(a) = g.last_heartbeat {
            m.sample(
                "lumi_gateway_heartbeat_age_seconds",
                &[("gateway", g.sid.as_str())],
                a.as_secs_f64(),
            );
        }
    }
    m.family(
        "lumi_gateway_token_age_seconds",
        "gauge",
        "Seconds since the gateway's write token was renewed (every 10 s when healthy).",
    );
    for g in &s.gateways {
        if let Some(a) = g.token_age {
            m.sample(
                "lumi_gateway_token_age_seconds",
                &[("gateway", g.sid.as_str())],
                a.as_secs_f64(),
            );
        }
    }
    m.family(
        "lumi_gateway_devices",
        "gauge",
        "Sub-devices paired with each gateway.",
    );
    for g in &s.gateways {
        m.sample(
            "lumi_gateway_devices",
            &[("gateway", g.sid.as_str())],
            g.devices as f64,
        );
    }
    m.family(
        "lumi_devices",
        "gauge",
        "Sub-devices by availability (a device is offline when silent too long or its gateway is).",
    );
    m.sample(
        "lumi_devices",
        &[("availability", "online")],
        s.core.devices_online as f64,
    );
    m.sample(
        "lumi_devices",
        &[("availability", "offline")],
        s.core.devices_offline as f64,
    );

    // The LAN client.
    if let Some(c) = &s.client {
        m.single(
            "lumi_lan_received_datagrams_total",
            "counter",
            "Datagrams received on the LAN sockets, from anyone.",
            c.datagrams as f64,
        );
        m.single(
            "lumi_lan_reports_total",
            "counter",
            "Reports received from known gateways.",
            c.reports as f64,
        );
        m.single(
            "lumi_lan_heartbeats_total",
            "counter",
            "Sub-device heartbeats received from known gateways.",
            c.heartbeats as f64,
        );
        m.family(
            "lumi_lan_dropped_datagrams_total",
            "counter",
            "Datagrams dropped: foreign (not from a known gateway), unmatched (a reply to nothing outstanding), undecodable.",
        );
        for (reason, n) in [
            ("foreign", c.dropped_foreign),
            ("unmatched", c.dropped_unmatched),
            ("undecodable", c.dropped_undecodable),
        ] {
            m.sample(
                "lumi_lan_dropped_datagrams_total",
                &[("reason", reason)],
                n as f64,
            );
        }
        m.single(
            "lumi_lan_spoofed_datagrams_total",
            "counter",
            "LAN API messages from an address that is no known gateway (including heartbeats claiming a known gateway's sid from another address): ignored.",
            c.dropped_foreign as f64,
        );
        m.family(
            "lumi_lan_decode_errors_total",
            "counter",
            "Datagrams that are not LAN API messages, by what was wrong.",
        );
        for (kind, n) in c.decode_errors.iter() {
            m.sample("lumi_lan_decode_errors_total", &[("kind", kind)], n as f64);
        }
    }

    // The core.
    m.single(
        "lumi_reports_published_total",
        "counter",
        "Device reports handled and published as states.",
        s.core.stats.reports as f64,
    );
    m.single(
        "lumi_commands_total",
        "counter",
        "Commands received (MQTT /set, /get, bridge requests, dashboard).",
        s.core.stats.commands as f64,
    );
    m.single(
        "lumi_commands_failed_total",
        "counter",
        "Commands that failed or were refused.",
        s.core.stats.failed as f64,
    );
    m.single(
        "lumi_mqtt_invalid_messages_total",
        "counter",
        "MQTT messages on command topics that were not understood.",
        s.core.stats.invalid as f64,
    );
    m.family(
        "lumi_command_duration_seconds",
        "histogram",
        "Time from sending a command to the gateway's answer.",
    );
    for (kind, h) in COMMAND_KINDS.iter().zip(&s.core.commands) {
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(&h.counts) {
            cumulative += n;
            let le = format!("{bound}");
            m.sample(
                "lumi_command_duration_seconds_bucket",
                &[("kind", kind), ("le", &le)],
                cumulative as f64,
            );
        }
        m.sample(
            "lumi_command_duration_seconds_bucket",
            &[("kind", kind), ("le", "+Inf")],
            h.count as f64,
        );
        m.sample(
            "lumi_command_duration_seconds_sum",
            &[("kind", kind)],
            h.sum,
        );
        m.sample(
            "lumi_command_duration_seconds_count",
            &[("kind", kind)],
            h.count as f64,
        );
    }

    if let Some(p) = &s.process {
        m.single(
            "lumi_runtime_alive_tasks",
            "gauge",
            "Tasks alive in the bridge's async runtime.",
            p.tasks as f64,
        );
        if let Some(n) = p.open_fds {
            m.single(
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
                n as f64,
            );
        }
        if let Some(n) = p.resident_bytes {
            m.single(
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
                n as f64,
            );
        }
    }

    // MQTT.
    m.single(
        "lumi_mqtt_connected",
        "gauge",
        "1 while connected to the MQTT broker.",
        f64::from(u8::from(s.core.mqtt_connected)),
    );
    m.single(
        "lumi_mqtt_reconnects_total",
        "counter",
        "Connections to the broker after the first.",
        s.link.reconnects as f64,
    );
    m.single(
        "lumi_mqtt_failed_connection_attempts_total",
        "counter",
        "Connection attempts that failed.",
        s.link.failed_attempts as f64,
    );
    m.single(
        "lumi_mqtt_published_messages_total",
        "counter",
        "Messages queued for the broker.",
        s.link.published as f64,
    );
    m.single(
        "lumi_mqtt_received_messages_total",
        "counter",
        "Messages received on subscribed topics.",
        s.link.received as f64,
    );
    m.single(
        "lumi_mqtt_queued_messages",
        "gauge",
        "Messages queued for the broker and not yet written to it.",
        s.link.queued as f64,
    );
    m.single(
        "lumi_mqtt_in_flight_messages",
        "gauge",
        "QoS 1/2 messages written to the broker and not yet acknowledged.",
        s.link.in_flight as f64,
    );
    m.single(
        "lumi_mqtt_dropped_messages_total",
        "counter",
        "Messages that could not be queued (queue full) or carried over a reconnection.",
        (s.link.dropped_full + s.link.dropped_reconnect) as f64,
    );
    out
}

struct Writer<'a> {
    out: &'a mut String,
}

impl Writer<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn single(&mut self, name: &str, kind: &str, help: &str, v: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], v);
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"");
                escape_label(self.out, val);
                self.out.push('"');
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(v));
    }
}

/// Label values escape `\`, `"` and newlines (the format's only rules).
fn escape_label(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Whole numbers without a fraction; others as Rust prints them (Prometheus parses both).
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lumi_client::gateway::{Origin, RegistryStatus};
    use lumi_proto::catalogue::DeviceState;
    use lumi_proto::lan::{Props, Sid};

    fn gateway(sid: &str, online: bool, datagrams: u64) -> GatewayInfo {
        GatewayInfo {
            sid: Sid::new(sid).unwrap(),
            addr: "127.0.0.2:9898".parse().unwrap(),
            model: Some("gateway".into()),
            version: None,
            origin: Origin::Discovery,
            online,
            last_heartbeat: Some(Duration::from_millis(2500)),
            token_age: Some(Duration::from_secs(3)),
            datagrams,
            has_password: true,
            state: DeviceState {
                device: None,
                readings: Vec::new(),
                raw: Props::new(),
            },
            devices: 4,
            registry: RegistryStatus::Ready,
        }
    }

    /// The value of the one sample with exactly this name and label text.
    fn value(text: &str, series: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ').map(str::to_owned))
    }

    #[test]
    fn every_family_has_help_and_type_and_samples_parse() {
        let mut core = CoreMetrics::default();
        core.commands[0].observe(Duration::from_millis(3));
        let text = render(&Snapshot {
            core,
            client: Some(ClientStats::default()),
            gateways: vec![gateway("7811dcb06970", true, 12)],
            link: LinkStats::default(),
            process: Some(Process::current(3)),
        });
        assert!(text.contains("lumi_runtime_alive_tasks 3"), "{text}");
        let mut declared = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut w = rest.split(' ');
                let name = w.next().unwrap();
                assert!(
                    matches!(w.next(), Some("counter" | "gauge" | "histogram")),
                    "{line}"
                );
                assert!(declared.insert(name.to_owned()), "{name} declared twice");
            } else if !line.starts_with("# HELP ") {
                let (series, v) = line.rsplit_once(' ').unwrap();
                let name = series.split('{').next().unwrap();
                let family = name
                    .strip_suffix("_bucket")
                    .or_else(|| name.strip_suffix("_sum"))
                    .or_else(|| name.strip_suffix("_count"))
                    .filter(|f| declared.contains(*f))
                    .unwrap_or(name);
                assert!(declared.contains(family), "{name} has no # TYPE");
                assert!(v.parse::<f64>().is_ok(), "{line}");
                assert!(
                    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn the_links_queue_and_in_flight_window_are_gauges() {
        let link = LinkStats {
            published: 40,
            queued: 3,
            in_flight: 7,
            ..LinkStats::default()
        };
        let text = render(&Snapshot {
            core: CoreMetrics::default(),
            client: None,
            gateways: Vec::new(),
            link,
            process: None,
        });
        assert_eq!(
            value(&text, "lumi_mqtt_queued_messages").as_deref(),
            Some("3")
        );
        assert_eq!(
            value(&text, "lumi_mqtt_in_flight_messages").as_deref(),
            Some("7")
        );
        assert!(
            text.contains("# TYPE lumi_mqtt_in_flight_messages gauge"),
            "{text}"
        );
    }

    #[test]
    fn per_gateway_series_carry_the_values() {
        let core = CoreMetrics {
            gateways: vec![
                ("7811dcb06970".into(), true),
                ("7811dcb06971".into(), false),
            ],
            ..CoreMetrics::default()
        };
        let text = render(&Snapshot {
            core,
            client: None,
            gateways: vec![
                gateway("7811dcb06970", true, 12),
                gateway("7811dcb06971", false, 0),
            ],
            link: LinkStats {
                reconnects: 2,
                ..LinkStats::default()
            },
            process: None,
        });
        assert_eq!(
            value(&text, "lumi_gateway_online{gateway=\"7811dcb06970\"}").as_deref(),
            Some("1")
        );
        assert_eq!(
            value(&text, "lumi_gateway_online{gateway=\"7811dcb06971\"}").as_deref(),
            Some("0")
        );
        assert_eq!(
            value(&text, "lumi_lan_datagrams_total{gateway=\"7811dcb06970\"}").as_deref(),
            Some("12")
        );
        assert_eq!(
            value(
                &text,
                "lumi_gateway_heartbeat_age_seconds{gateway=\"7811dcb06970\"}"
            )
            .as_deref(),
            Some("2.5")
        );
        assert_eq!(
            value(&text, "lumi_mqtt_reconnects_total").as_deref(),
            Some("2")
        );
        // Without the client's counters, its families are left out rather than zero.
        assert!(!text.contains("lumi_lan_decode_errors_total"));
    }

    #[test]
    fn decode_errors_are_counted_by_kind() {
        let mut c = ClientStats::default();
        c.decode_errors
            .count(&lumi_proto::lan::LanError::MissingCmd);
        c.decode_errors
            .count(&lumi_proto::lan::LanError::MissingCmd);
        c.dropped_foreign = 5;
        let text = render(&Snapshot {
            client: Some(c),
            ..Snapshot::default()
        });
        assert_eq!(
            value(&text, "lumi_lan_decode_errors_total{kind=\"missing_cmd\"}").as_deref(),
            Some("2")
        );
        assert_eq!(
            value(&text, "lumi_lan_decode_errors_total{kind=\"not_json\"}").as_deref(),
            Some("0")
        );
        assert_eq!(
            value(&text, "lumi_lan_spoofed_datagrams_total").as_deref(),
            Some("5")
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut core = CoreMetrics::default();
        for ms in [3, 3, 40, 20_000] {
            core.commands[0].observe(Duration::from_millis(ms));
        }
        let text = render(&Snapshot {
            core,
            ..Snapshot::default()
        });
        let bucket = |le: &str| {
            value(
                &text,
                &format!("lumi_command_duration_seconds_bucket{{kind=\"write\",le=\"{le}\"}}"),
            )
        };
        assert_eq!(bucket("0.005").as_deref(), Some("2"));
        assert_eq!(bucket("0.05").as_deref(), Some("3"));
        assert_eq!(bucket("10").as_deref(), Some("3"));
        assert_eq!(bucket("+Inf").as_deref(), Some("4"));
        assert_eq!(
            value(&text, "lumi_command_duration_seconds_count{kind=\"write\"}").as_deref(),
            Some("4")
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let mut s = String::new();
        escape_label(&mut s, "a\"b\\c\nd");
        assert_eq!(s, "a\\\"b\\\\c\\nd");
    }
}
