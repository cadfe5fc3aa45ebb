//! The bridge's decisions, without I/O: what happened (a client event, an MQTT message, a
//! finished command, a timer) goes in; MQTT publications and commands for the gateways come
//! out. The driver in [`super`] owns the sockets, the clock and the tasks.
//!
//! What it keeps per device: the merged typed state (events excluded), when it was last
//! heard from, its own availability and its friendly name. A sub-device is online when it
//! has not been silent for too long *and* its gateway is online: a gateway that goes silent
//! takes its devices with it, and they come back with it.
//!
//! While MQTT is down nothing retained is queued (states, availability, discovery, the device
//! list): everything is published again, from this cache, on the next connection. Events,
//! actions and responses are handed on, and wait in the link's queue.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

#[path = "dashboard.rs"]
mod dashboard;
pub use dashboard::{DashboardCommand, LOG_CAPACITY, controls};

use lumi_client::gateway::{DeviceData, DeviceInfo, Event, GatewayInfo, RegistryStatus};
use lumi_proto::catalogue::{self, Device, DeviceKind, DeviceState, Reading, TypedValue};
use lumi_proto::lan::{Props, ProtoVersion, Sid};
use lumi_proto::sanitize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::config::{Config, Qos};
use crate::discovery::{DeviceInfo as HaDevice, Discovery};
use crate::metrics::{COMMAND_KINDS, CoreMetrics, Histogram};
use crate::name::FriendlyName;
use crate::request::{self, BridgeRequest, Request, response_error, response_ok};
use crate::state::{self, BridgeEvent, DeviceEntry, Extras};
use crate::topics::{Incoming, Topics};

/// How long a gateway keeps pairing open once asked (its firmware's fixed window).
const PAIRING_WINDOW: Duration = Duration::from_secs(30);

/// One MQTT publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// The topic.
    pub topic: String,
    /// The payload (empty: clears a retained message).
    pub payload: String,
    /// Its QoS.
    pub qos: Qos,
    /// Retained or not.
    pub retain: bool,
}

/// Who asked for a command, so its result can be answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// `<name>/set`.
    Set {
        /// The device's friendly name, for the log.
        name: String,
    },
    /// `<name>/get`.
    Get {
        /// The properties asked for (empty: all).
        properties: Vec<&'static str>,
    },
    /// `bridge/request/<name>`.
    Request {
        /// The request name as received (the response goes to the same name).
        name: String,
        /// The transaction to echo.
        transaction: Option<Value>,
    },
    /// The web dashboard: the answer goes back to the HTTP request waiting as `id`
    /// ([`Output::replies`]).
    Dashboard {
        /// The waiting request.
        id: u64,
    },
}

/// A command for the gateways.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// A LAN `write`.
    Write {
        /// The device.
        sid: Sid,
        /// The raw properties.
        props: Props,
        /// Who asked.
        origin: Origin,
    },
    /// A LAN `read`.
    Read {
        /// The device.
        sid: Sid,
        /// Who asked.
        origin: Origin,
    },
    /// Open or close pairing on gateways.
    Pairing {
        /// The gateways.
        gateways: Vec<Sid>,
        /// Open or close.
        open: bool,
        /// For how long (reported back).
        time: Duration,
        /// Who asked.
        origin: Origin,
    },
    /// Collect the LAN client's and the MQTT link's counters for a `health` request.
    Health {
        /// Who asked.
        origin: Origin,
    },
    /// Unpair a sub-device.
    Remove {
        /// Its gateway.
        gateway: Sid,
        /// The device.
        sid: Sid,
        /// Forget it even if the gateway does not confirm.
        force: bool,
        /// Who asked.
        origin: Origin,
    },
}

/// What a finished job returned.
#[derive(Debug)]
pub enum JobResult {
    /// A write or pairing was accepted.
    Done,
    /// A read answered.
    Data(DeviceData),
    /// It failed; the message says why and what to do.
    Failed(String),
    /// A write was refused with "Invalid key": the gateway's password is wrong.
    InvalidKey {
        /// The gateway that refused it.
        gateway: Sid,
        /// The message, with what to do.
        message: String,
    },
    /// The counters a [`Job::Health`] collected.
    Health(Box<RuntimeStats>),
}

/// The counters of the parts around the core, for `health` (and `lumi bench`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// The LAN client's.
    pub client: lumi_client::gateway::ClientStats,
    /// The MQTT link's.
    pub link: crate::mqtt::LinkStats,
}

/// Counters for `health` and the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreStats {
    /// Reports handled.
    pub reports: u64,
    /// Commands received (`/set`, `/get`, requests).
    pub commands: u64,
    /// Commands that failed.
    pub failed: u64,
    /// MQTT messages that were not understood.
    pub invalid: u64,
    /// MQTT (re)connections.
    pub connections: u64,
}

#[derive(Debug)]
struct Dev {
    name: FriendlyName,
    /// `None` for a gateway itself.
    gateway: Option<Sid>,
    model: String,
    state: DeviceState,
    last_seen: Option<SystemTime>,
    /// Its own availability (from its silence); a gateway's is its heartbeat.
    available: bool,
    /// What was last published (or would have been) to its availability topic.
    published_online: Option<bool>,
    /// When a motion sensor's occupancy goes back to false.
    motion_off: Option<Instant>,
    /// Its discovery configs were published on this connection.
    discovered: bool,
}

#[derive(Debug)]
struct Gw {
    version: Option<ProtoVersion>,
    addr: std::net::SocketAddr,
    online: bool,
    loaded: bool,
    /// Its last heartbeat (the dashboard's health).
    heartbeat_at: Option<SystemTime>,
    /// When its token was last renewed.
    token_at: Option<SystemTime>,
    /// Its last write was refused with "Invalid key" (cleared by a write that succeeds).
    invalid_key: bool,
    /// When the bridge first heard of it (`None`: from a test without a clock).
    found_at: Option<SystemTime>,
}

impl Gw {
    fn new(version: Option<ProtoVersion>, addr: std::net::SocketAddr) -> Gw {
        Gw {
            version,
            addr,
            online: true,
            loaded: false,
            heartbeat_at: None,
            token_at: None,
            invalid_key: false,
            found_at: None,
        }
    }
}

/// The bridge's state and decisions. See the [module docs](self).
#[derive(Debug)]
pub struct Core {
    config: Config,
    topics: Topics,
    discovery: Discovery,
    devices: BTreeMap<Sid, Dev>,
    gateways: BTreeMap<Sid, Gw>,
    /// Friendly names (and sids) → sid.
    names: HashMap<String, Sid>,
    /// Names given by `rename` requests (until the next start).
    renamed: HashMap<Sid, FriendlyName>,
    /// The deepest name (in levels) the subscriptions cover.
    depth: usize,
    /// Command filters for names deeper than before, until taken.
    subscribe: Vec<String>,
    /// Devices whose discovery, availability and state are still to be published after a
    /// (re)connection or a registry load, in order; [`Core::take`] publishes them
    /// [`ANNOUNCE_BATCH`] at a time. A sid not in `announcing` is stale and skipped.
    announce: std::collections::VecDeque<Sid>,
    announcing: HashSet<Sid>,
    connected: bool,
    devices_dirty: bool,
    started: SystemTime,
    dropped: u64,
    stats: CoreStats,
    out: Vec<Publish>,
    jobs: Vec<Job>,
    /// Motion sensors with an off-delay running.
    motion_pending: std::collections::BTreeSet<Sid>,
    /// The latest time an input carried.
    clock: Option<Instant>,
    /// When `bridge/devices` was last published (by `clock`).
    devices_sent: Option<Instant>,
    /// The latest wall-clock time an input carried (log entries, the dashboard).
    wall: SystemTime,
    /// The dashboard's view.
    ui: dashboard::Ui,
    /// Answers to dashboard commands, until taken.
    replies: Vec<(u64, Reply)>,
    /// Command latencies, by [`COMMAND_KINDS`].
    latency: [Histogram; COMMAND_KINDS.len()],
    /// The multicast interface and the broker, as the dashboard shows them.
    interface: String,
    broker: String,
    /// The multicast interface is gone or down (since then).
    lan_down: Option<SystemTime>,
    /// The setup problems already logged (id, gateway), so each is logged once.
    logged_problems: std::collections::BTreeSet<(&'static str, Option<String>)>,
}

/// `bridge/devices` is published at most this often: it lists every device (about 1 KB
/// each), and a house of 500 devices loading would otherwise queue hundreds of copies of a
/// half-megabyte list (measured with `lumi bench`: 5 MB of the bridge's peak memory).
pub const DEVICES_INTERVAL: Duration = Duration::from_secs(1);

/// Devices announced per [`Core::take`] after a (re)connection or a registry load: about
/// 10 KB of discovery configs each, so a batch is some 250 KB where a house of 500 devices
/// in one output took 3.5 MB of the bridge's peak memory (heaptrack, `lumi bench`).
pub const ANNOUNCE_BATCH: usize = 25;

/// What one input produced.
#[derive(Debug, Default)]
pub struct Output {
    /// To publish, in order.
    pub publish: Vec<Publish>,
    /// To run.
    pub jobs: Vec<Job>,
    /// Answers to dashboard commands ([`Origin::Dashboard`]), by request id.
    pub replies: Vec<(u64, Reply)>,
    /// Live updates for the dashboard (JSON texts), only while
    /// [`Core::set_watching`] says someone watches.
    pub ui: Vec<String>,
    /// Filters to subscribe to from now on, besides [`Core::subscriptions`]: a rename gave a
    /// name more levels than any before.
    pub subscribe: Vec<String>,
}

/// The answer to a dashboard command.
pub type Reply = Result<Value, CommandError>;

/// Why a dashboard command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// The bridge refused it (unknown device, bad value): the caller's mistake, HTTP 400.
    /// Otherwise the gateway failed or did not answer: HTTP 502.
    pub rejected: bool,
    /// What was wrong and what to do.
    pub message: String,
}

impl Core {
    /// A bridge with nothing known yet, not connected.
    pub fn new(config: Config, now: SystemTime) -> Core {
        let depth = config
            .devices
            .iter()
            .filter_map(|d| d.name.as_ref())
            .map(FriendlyName::levels)
            .fold(1, usize::max);
        Core {
            topics: Topics::from_config(&config),
            discovery: Discovery::new(&config),
            config,
            devices: BTreeMap::new(),
            gateways: BTreeMap::new(),
            names: HashMap::new(),
            renamed: HashMap::new(),
            depth,
            subscribe: Vec::new(),
            announce: std::collections::VecDeque::new(),
            announcing: HashSet::new(),
            connected: false,
            devices_dirty: false,
            started: now,
            dropped: 0,
            stats: CoreStats::default(),
            out: Vec::new(),
            jobs: Vec::new(),
            motion_pending: std::collections::BTreeSet::new(),
            clock: None,
            devices_sent: None,
            wall: now,
            ui: dashboard::Ui::default(),
            replies: Vec::new(),
            latency: Default::default(),
            interface: String::new(),
            broker: String::new(),
            lan_down: None,
            logged_problems: std::collections::BTreeSet::new(),
        }
    }

    /// `bridge/state`: `{"state":"online"}`, with `"lan":"down"` and the interface while the
    /// multicast interface is away (Home Assistant keeps reading `state`; people and
    /// automations can read why nothing arrives).
    fn bridge_state_payload(&self) -> String {
        match self.lan_down {
            None => state::ONLINE.to_owned(),
            Some(since) => json!({
                "state": "online",
                "lan": "down",
                "interface": self.interface,
                "since": crate::time::iso8601(since),
            })
            .to_string(),
        }
    }

    fn publish_bridge_state(&mut self) {
        if self.connected {
            let payload = self.bridge_state_payload();
            self.publish(self.topics.bridge_state(), payload, Qos::AtLeastOnce, true);
        }
    }

    /// The wall-clock time, for inputs that do not carry one (MQTT messages, timers,
    /// dashboard commands): log entries are stamped with it.
    pub fn set_wall(&mut self, wall: SystemTime) {
        self.wall = self.wall.max(wall);
    }

    /// How long a job took, for the command latency histogram (`/metrics`).
    pub fn command_latency(&mut self, job: &Job, took: Duration) {
        let kind = match job {
            Job::Write { .. } => 0,
            Job::Read { .. } => 1,
            Job::Pairing { .. } => 2,
            Job::Remove { .. } => 3,
            Job::Health { .. } => return,
        };
        if let Some(h) = self.latency.get_mut(kind) {
            h.observe(took);
        }
    }

    /// What the core contributes to `/metrics`.
    pub fn metrics(&self) -> CoreMetrics {
        let (mut online, mut offline) = (0, 0);
        for d in self.devices.values().filter(|d| d.gateway.is_some()) {
            if self.effective_online(d) {
                online += 1;
            } else {
                offline += 1;
            }
        }
        CoreMetrics {
            stats: self.stats,
            mqtt_connected: self.connected,
            devices_online: online,
            devices_offline: offline,
            uptime: self.wall.duration_since(self.started).unwrap_or_default(),
            gateways: self
                .gateways
                .iter()
                .map(|(sid, g)| (sid.to_string(), g.online))
                .collect(),
            commands: self.latency,
        }
    }

    /// The topics.
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// The QoS of the bridge's subscriptions and publications.
    pub fn mqtt_qos(&self) -> Qos {
        self.config.mqtt.qos
    }

    /// Counters.
    pub fn stats(&self) -> CoreStats {
        self.stats
    }

    /// What the MQTT connection must subscribe to: the command topics of names as deep as
    /// the deepest configured name. A rename to a deeper name adds filters
    /// ([`Output::subscribe`]).
    pub fn subscriptions(&self) -> Vec<String> {
        self.topics.subscriptions(self.depth)
    }

    /// Takes what the last inputs produced. After a (re)connection or a registry load the
    /// devices are announced `ANNOUNCE_BATCH` at a time: call again while
    /// [`Core::announcing`] says more are waiting (publishing each batch before asking for the
    /// next keeps only one batch of messages in memory).
    pub fn take(&mut self) -> Output {
        self.announce_batch();
        let devices_due = self.devices_sent.map(|t| t + DEVICES_INTERVAL);
        let devices_now = match (devices_due, self.clock) {
            (Some(due), Some(now)) => now >= due,
            _ => true,
        };
        if self.devices_dirty && self.connected && devices_now {
            self.devices_dirty = false;
            self.devices_sent = self.clock;
            let payload = self.devices_payload();
            self.publish(
                self.topics.bridge_devices(),
                payload,
                Qos::AtLeastOnce,
                true,
            );
        }
        let ui = self.ui_take();
        Output {
            publish: std::mem::take(&mut self.out),
            jobs: std::mem::take(&mut self.jobs),
            replies: std::mem::take(&mut self.replies),
            ui,
            subscribe: std::mem::take(&mut self.subscribe),
        }
    }

    // --- MQTT connection -------------------------------------------------------------------

    /// The broker accepted the connection (first time or again): publish everything.
    pub fn connected(&mut self) {
        self.connected = true;
        self.stats.connections += 1;
        self.ui.bridge_changed();
        self.log("info", None, "connected to the MQTT broker".to_owned());
        // A new connection gets the device list at once.
        self.devices_sent = None;
        self.republish_all();
    }

    /// The connection is gone.
    pub fn disconnected(&mut self) {
        if self.connected {
            self.log(
                "warn",
                None,
                "lost the MQTT connection; reconnecting (states are published again on connection)"
                    .to_owned(),
            );
        }
        self.connected = false;
        self.ui.bridge_changed();
        for d in self.devices.values_mut() {
            d.discovered = false;
        }
        // Everything is announced again on the next connection.
        self.announce.clear();
        self.announcing.clear();
    }

    /// Devices are still waiting to be announced ([`Core::take`]).
    pub fn announcing(&self) -> bool {
        self.connected && !self.announcing.is_empty()
    }

    /// Queues a device's announcement (discovery when not yet sent, availability, state).
    fn queue_announce(&mut self, sid: &Sid) {
        if self.connected && self.announcing.insert(sid.clone()) {
            self.announce.push_back(sid.clone());
        }
    }

    /// Announces the next [`ANNOUNCE_BATCH`] queued devices.
    fn announce_batch(&mut self) {
        if !self.connected {
            return;
        }
        let mut done = 0;
        while done < ANNOUNCE_BATCH {
            let Some(sid) = self.announce.pop_front() else {
                break;
            };
            if self.announce_now(&sid) {
                done += 1;
            }
        }
    }

    /// Announces a queued device now (before anything else is published for it). False when
    /// it was not queued.
    fn announce_now(&mut self, sid: &Sid) -> bool {
        if !self.announcing.remove(sid) {
            return false;
        }
        if self.devices.get(sid).is_some_and(|d| !d.discovered) {
            self.publish_discovery(sid);
        }
        if let Some(d) = self.devices.get_mut(sid) {
            d.published_online = None;
        }
        self.publish_availability(sid);
        self.publish_state(sid, None);
        true
    }

    /// What to publish before a clean stop.
    pub fn stopping(&mut self) {
        if self.connected {
            self.publish(
                self.topics.bridge_state(),
                state::OFFLINE.to_owned(),
                Qos::AtLeastOnce,
                true,
            );
        }
    }

    /// `bridge/state` online, then everything known, from the cache.
    fn republish_all(&mut self) {
        if !self.connected {
            return;
        }
        self.publish(
            self.topics.bridge_state(),
            self.bridge_state_payload(),
            Qos::AtLeastOnce,
            true,
        );
        if self.config.homeassistant.enabled {
            for m in self.discovery.bridge() {
                let payload = m.payload_string();
                self.publish(m.topic, payload, Qos::AtLeastOnce, true);
            }
        }
        let sids: Vec<Sid> = self.devices.keys().cloned().collect();
        for sid in &sids {
            if let Some(d) = self.devices.get_mut(sid) {
                d.discovered = false;
            }
            self.queue_announce(sid);
        }
        self.devices_dirty = true;
    }

    // --- client events ---------------------------------------------------------------------

    /// A client event. `loaded` is the registry snapshot the driver fetched for
    /// `DevicesLoaded` and `GatewayAppeared` (else empty).
    pub fn client_event(&mut self, event: &Event, now: Instant, wall: SystemTime) {
        self.tick(now);
        self.set_wall(wall);
        match event {
            Event::GatewayAppeared {
                gateway,
                addr,
                model,
                version,
                ..
            } => {
                let gw = self
                    .gateways
                    .entry(gateway.clone())
                    .or_insert_with(|| Gw::new(*version, *addr));
                gw.addr = *addr;
                gw.found_at.get_or_insert(wall);
                if version.is_some() {
                    gw.version = *version;
                }
                let model = model.clone().unwrap_or_else(|| "gateway".to_owned());
                self.ensure_device(gateway, None, &model, false);
                self.ui.gateways_changed();
                self.log(
                    "info",
                    Some(gateway),
                    format!(
                        "gateway found at {addr} ({})",
                        version.map_or("protocol not known yet".to_owned(), |v| format!(
                            "protocol {v}"
                        ))
                    ),
                );
            }
            Event::GatewayMoved { gateway, to, .. } => {
                if let Some(g) = self.gateways.get_mut(gateway) {
                    g.addr = *to;
                }
                self.ui.gateways_changed();
                self.log("warn", Some(gateway), format!("gateway moved to {to}"));
            }
            Event::VersionLearned { gateway, version } => {
                if let Some(g) = self.gateways.get_mut(gateway) {
                    g.version = Some(*version);
                }
                self.ui.gateways_changed();
            }
            Event::TokenRefreshed { gateway, .. } => {
                if let Some(g) = self.gateways.get_mut(gateway) {
                    g.token_at = Some(wall);
                }
            }
            Event::GatewayOnline { gateway } => self.gateway_online(gateway, true),
            Event::GatewayOffline {
                gateway,
                silent_for,
            } => {
                tracing::warn!(%gateway, "gateway offline: no heartbeat for {silent_for:?}; its devices are offline too");
                self.gateway_online(gateway, false);
            }
            Event::GatewayLost {
                gateway, reason, ..
            } => {
                tracing::warn!(gateway = ?gateway.as_ref().map(Sid::as_str), "{reason}");
            }
            Event::DevicesLoaded { .. } => {}
            Event::Report {
                gateway,
                sid,
                model,
                state,
                ..
            } => {
                self.stats.reports += 1;
                self.message(gateway, sid, model.as_deref(), state, false, now, wall);
            }
            Event::Heartbeat {
                gateway,
                sid,
                model,
                state,
                ..
            } => {
                self.message(gateway, sid, model.as_deref(), state, true, now, wall);
            }
            Event::DeviceAvailability { sid, available, .. } => {
                if let Some(d) = self.devices.get_mut(sid) {
                    d.available = *available;
                }
                self.log(
                    if *available { "info" } else { "warn" },
                    Some(sid),
                    if *available {
                        "back online".to_owned()
                    } else {
                        "offline: silent for longer than its availability timeout".to_owned()
                    },
                );
                self.publish_availability(sid);
            }
            Event::Dropped { total, .. } => self.dropped = *total,
            Event::InterfaceDown { interface } => {
                self.lan_down = Some(wall);
                self.log(
                    "error",
                    None,
                    format!("the network interface {interface} is gone or down: nothing can arrive from the gateways until it is back"),
                );
                self.publish_bridge_state();
                let event =
                    json!({"type": "interface_down", "data": {"interface": interface.to_string()}})
                        .to_string();
                self.publish(self.topics.bridge_event(), event, Qos::AtLeastOnce, false);
                self.ui.bridge_changed();
                self.ui.gateways_changed();
            }
            Event::InterfaceUp {
                interface,
                down_for,
            } => {
                self.lan_down = None;
                self.log(
                    "info",
                    None,
                    format!(
                        "the network interface {interface} is back after {} s; listening again",
                        down_for.as_secs()
                    ),
                );
                self.publish_bridge_state();
                let event = json!({"type": "interface_up", "data": {"interface": interface.to_string(), "down_for_s": down_for.as_secs()}}).to_string();
                self.publish(self.topics.bridge_event(), event, Qos::AtLeastOnce, false);
                self.ui.bridge_changed();
                self.ui.gateways_changed();
            }
            _ => {}
        }
    }

    /// A gateway's registry was read: every device with its state.
    pub fn loaded(&mut self, gateways: &[GatewayInfo], devices: &[DeviceInfo], wall: SystemTime) {
        self.set_wall(wall);
        self.ui.gateways_changed();
        for g in gateways {
            let gw = self
                .gateways
                .entry(g.sid.clone())
                .or_insert_with(|| Gw::new(g.version, g.addr));
            gw.found_at.get_or_insert(wall);
            if gw.heartbeat_at.is_none() {
                gw.heartbeat_at = g.last_heartbeat.and_then(|ago| wall.checked_sub(ago));
            }
            if gw.token_at.is_none() {
                gw.token_at = g.token_age.and_then(|ago| wall.checked_sub(ago));
            }
            if g.version.is_some() {
                gw.version = g.version;
            }
            gw.addr = g.addr;
            let model = g.model.clone().unwrap_or_else(|| "gateway".to_owned());
            self.ensure_device(&g.sid, None, &model, false);
            if let Some(d) = self.devices.get_mut(&g.sid) {
                d.state.absorb(&g.state, false);
                if let Some(ago) = g.last_heartbeat {
                    d.last_seen = wall.checked_sub(ago);
                }
            }
            self.publish_state(&g.sid, None);
        }
        for info in devices {
            let known = self.devices.contains_key(&info.sid);
            let model = info.model.clone().unwrap_or_default();
            if !known || self.connected {
                // Discovery, availability and state in take()'s batches.
                self.queue_announce(&info.sid);
            }
            self.ensure_device(&info.sid, Some(&info.gateway), &model, false);
            if let Some(d) = self.devices.get_mut(&info.sid) {
                d.state.absorb(&info.state, false);
                d.available = info.available;
                if let Some(ago) = info.last_seen {
                    d.last_seen = wall.checked_sub(ago);
                }
            }
            if !known && !self.connected {
                // Not connected: nothing is published; the dashboard still learns of it.
                self.publish_availability(&info.sid);
                self.publish_state(&info.sid, None);
            }
        }
        // From now on, a sid these gateways did not list is a device that just joined.
        for d in devices {
            if let Some(gw) = self.gateways.get_mut(&d.gateway) {
                gw.loaded = true;
            }
        }
        for g in gateways {
            if let Some(gw) = self.gateways.get_mut(&g.sid)
                && g.registry == RegistryStatus::Ready
            {
                gw.loaded = true;
            }
        }
        self.devices_dirty = true;
    }

    #[allow(clippy::too_many_arguments)]
    fn message(
        &mut self,
        gateway: &Sid,
        sid: &Sid,
        model: Option<&str>,
        msg: &DeviceState,
        heartbeat: bool,
        now: Instant,
        wall: SystemTime,
    ) {
        // Still waiting for its announcement: announce it first, so its discovery config
        // goes before this state.
        if !self.announcing.is_empty() && self.announcing.contains(sid) {
            self.announce_now(sid);
        }
        let is_gateway = sid == gateway;
        let parent = (!is_gateway).then_some(gateway);
        let model = model.filter(|m| !m.trim().is_empty());
        let joined =
            !self.devices.contains_key(sid) && self.gateways.get(gateway).is_some_and(|g| g.loaded);
        self.ensure_device(sid, parent, model.unwrap_or(""), joined);
        let motion_delay = self.config.motion_off_delay(sid);
        let Some(d) = self.devices.get_mut(sid) else {
            return;
        };
        if let Some(m) = model
            && d.model != m
        {
            d.model = m.to_owned();
        }
        d.state.absorb(msg, heartbeat);
        d.last_seen = Some(wall);
        if is_gateway {
            // Its own reports (light, illuminance): the gateway is clearly alive.
        } else if !d.available {
            d.available = true;
        }
        let device = d.state.device;
        if is_gateway && heartbeat {
            if let Some(g) = self.gateways.get_mut(gateway) {
                g.heartbeat_at = Some(wall);
            }
            self.ui.gateways_changed();
        }
        if !heartbeat {
            let text = dashboard::summary(device, msg);
            self.ui.log(wall, "info", Some(sid), text);
        }
        let Some(d) = self.devices.get_mut(sid) else {
            return;
        };
        let is_motion = d.state.device.is_some_and(|x| x.kind == DeviceKind::Motion);
        if is_motion && !heartbeat {
            match msg.get("occupancy") {
                Some(TypedValue::Bool(true)) => {
                    d.motion_off = Some(now + motion_delay);
                    self.motion_pending.insert(sid.clone());
                }
                Some(TypedValue::Bool(false)) => {
                    d.motion_off = None;
                    self.motion_pending.remove(sid);
                }
                _ => {}
            }
        }
        if d.state.device.is_some() && !d.discovered {
            self.publish_discovery(sid);
        }
        self.publish_availability(sid);
        let action = state::action(msg).map(str::to_owned);
        self.publish_state(sid, action.as_deref());
        if let Some(action) = action {
            self.publish_action(sid, &action);
        }
        if !heartbeat {
            self.publish_legacy(sid, msg);
        }
    }

    fn gateway_online(&mut self, gateway: &Sid, online: bool) {
        let Some(g) = self.gateways.get_mut(gateway) else {
            return;
        };
        if g.online == online {
            return;
        }
        g.online = online;
        if let Some(d) = self.devices.get_mut(gateway) {
            d.available = online;
        }
        self.ui.gateways_changed();
        self.log(
            if online { "info" } else { "warn" },
            Some(gateway),
            if online {
                "gateway online: heartbeats arrive".to_owned()
            } else {
                "gateway offline: no heartbeat; its devices are offline too".to_owned()
            },
        );
        let sids: Vec<Sid> = self
            .devices
            .iter()
            .filter(|(s, d)| *s == gateway || d.gateway.as_ref() == Some(gateway))
            .map(|(s, _)| s.clone())
            .collect();
        for s in &sids {
            self.publish_availability(s);
        }
    }

    /// Creates the record of a device seen for the first time.
    fn ensure_device(&mut self, sid: &Sid, gateway: Option<&Sid>, model: &str, joined: bool) {
        if let Some(d) = self.devices.get_mut(sid) {
            if d.model.is_empty() && !model.is_empty() {
                d.model = model.to_owned();
            }
            if d.state.device.is_none() {
                d.state.device = catalogue::lookup(&d.model);
            }
            if gateway.is_some() && d.gateway.as_ref() != gateway {
                d.gateway = gateway.cloned();
                self.devices_dirty = true;
            }
            return;
        }
        let name = self
            .renamed
            .get(sid)
            .cloned()
            .unwrap_or_else(|| self.config.friendly_name(sid));
        self.names.insert(name.as_str().to_owned(), sid.clone());
        self.names.insert(sid.as_str().to_owned(), sid.clone());
        let device = catalogue::lookup(model);
        self.devices.insert(
            sid.clone(),
            Dev {
                name: name.clone(),
                gateway: gateway.cloned(),
                model: model.to_owned(),
                state: DeviceState {
                    device,
                    readings: Vec::new(),
                    raw: Props::new(),
                },
                last_seen: None,
                available: true,
                published_online: None,
                motion_off: None,
                discovered: false,
            },
        );
        self.devices_dirty = true;
        self.ui.touch(sid);
        if joined {
            tracing::info!(device = %sid, name = %name.as_str(), model = %sanitize::for_terminal(model), "a new device joined");
            self.log(
                "info",
                Some(sid),
                format!("a new device joined: {}", sanitize::truncated(model, 40)),
            );
            let event = BridgeEvent::DeviceJoined {
                sid,
                name: &name,
                model,
            }
            .to_json();
            self.publish(self.topics.bridge_event(), event, Qos::AtLeastOnce, false);
        }
        if !self.announcing.contains(sid) {
            self.publish_discovery(sid);
        }
    }

    // --- timers ----------------------------------------------------------------------------

    /// The next motion off-delay to run out. (Asked after every input: it looks only at the
    /// motion sensors with a delay running, not at every device.)
    pub fn next_deadline(&self) -> Option<Instant> {
        let devices = self
            .devices_sent
            .filter(|_| self.devices_dirty && self.connected)
            .map(|t| t + DEVICES_INTERVAL);
        self.motion_pending
            .iter()
            .filter_map(|s| self.devices.get(s).and_then(|d| d.motion_off))
            .chain(devices)
            .min()
    }

    fn tick(&mut self, now: Instant) {
        self.clock = Some(self.clock.map_or(now, |c| c.max(now)));
    }

    /// Motion sensors whose off-delay ran out read "no motion"; a device list held back
    /// ([`DEVICES_INTERVAL`]) goes out.
    pub fn timer(&mut self, now: Instant) {
        self.tick(now);
        let due: Vec<Sid> = self
            .motion_pending
            .iter()
            .filter(|s| {
                self.devices
                    .get(*s)
                    .is_none_or(|d| d.motion_off.is_none_or(|t| t <= now))
            })
            .cloned()
            .collect();
        for sid in due {
            self.motion_pending.remove(&sid);
            let Some(d) = self.devices.get_mut(&sid) else {
                continue;
            };
            d.motion_off = None;
            let no_motion = DeviceState {
                device: d.state.device,
                readings: vec![Reading {
                    property: "occupancy",
                    value: TypedValue::Bool(false),
                }],
                raw: Props::new(),
            };
            d.state.absorb(&no_motion, false);
            self.publish_state(&sid, None);
            // The legacy topic said `true`; it must not stay so.
            self.publish_legacy(&sid, &no_motion);
        }
    }

    // --- MQTT messages ---------------------------------------------------------------------

    /// A message from the broker.
    pub fn mqtt_message(&mut self, topic: &str, payload: &[u8], retain: bool) {
        match self.topics.parse(topic) {
            Incoming::Own | Incoming::Foreign => {}
            Incoming::Invalid { reason } => {
                self.stats.invalid += 1;
                tracing::debug!(
                    "ignored a message on {}: {reason}",
                    sanitize::truncated(topic, 120)
                );
            }
            Incoming::HomeAssistantStatus => {
                if state::parse_availability(payload) == Some(true) {
                    tracing::info!(
                        "Home Assistant (re)started: publishing discovery and states again"
                    );
                    self.republish_all();
                }
            }
            _ if retain => {
                self.stats.invalid += 1;
                tracing::warn!(
                    "ignored a retained command on {}: a retained command would run again at every restart; clear it with an empty retained message",
                    sanitize::truncated(topic, 120)
                );
            }
            Incoming::Set { device, property } => {
                self.stats.commands += 1;
                let origin = Origin::Set {
                    name: device.as_str().to_owned(),
                };
                self.set(&device, property.as_deref(), payload, origin);
            }
            Incoming::Get { device, property } => {
                self.stats.commands += 1;
                self.get(
                    &device,
                    property.as_deref(),
                    payload,
                    Origin::Get {
                        properties: Vec::new(),
                    },
                );
            }
            Incoming::BridgeRequest { name } => {
                self.stats.commands += 1;
                self.request(&name, payload, None);
            }
        }
    }

    fn lookup(&self, name: &str) -> Option<Sid> {
        self.names
            .get(name)
            .filter(|s| self.devices.contains_key(*s))
            .cloned()
    }

    fn unknown_device(&self, name: &str) -> String {
        let mut known: Vec<&str> = self.devices.values().map(|d| d.name.as_str()).collect();
        known.truncate(20);
        format!(
            "no device named {:?}; known devices: {}",
            sanitize::truncated(name, 60),
            if known.is_empty() {
                "none yet".to_owned()
            } else {
                known.join(", ")
            }
        )
    }

    fn set(&mut self, name: &FriendlyName, property: Option<&str>, payload: &[u8], origin: Origin) {
        let what = format!("{}/set", name.as_str());
        let Some(sid) = self.lookup(name.as_str()) else {
            let msg = self.unknown_device(name.as_str());
            return self.refused(&origin, &what, &msg);
        };
        let (device, version, current) = match self.target(&sid) {
            Ok(t) => t,
            Err(msg) => return self.refused(&origin, &what, &msg),
        };
        match state::encode_set(device, version, property, payload, Some(&current)) {
            Ok(props) => self.jobs.push(Job::Write { sid, props, origin }),
            Err(e) => self.refused(&origin, &what, &e.to_string()),
        }
    }

    /// A command refused before it reached a gateway: on `bridge/logging` for MQTT
    /// commands, in the answer for the dashboard's.
    fn refused(&mut self, origin: &Origin, what: &str, message: &str) {
        match origin {
            Origin::Dashboard { id } => {
                tracing::info!(
                    "dashboard command {} refused: {message}",
                    sanitize::truncated(what, 120)
                );
                self.reject(*id, format!("{what}: {message}"));
            }
            Origin::Request { .. } => self.respond_error(origin, message),
            Origin::Set { .. } | Origin::Get { .. } => self.command_failed(what, message),
        }
    }

    /// The catalogue entry, protocol version and current state of a device to command.
    fn target(&self, sid: &Sid) -> Result<(&'static Device, ProtoVersion, DeviceState), String> {
        let d = self
            .devices
            .get(sid)
            .ok_or_else(|| format!("device {sid} is not known"))?;
        let device = d.state.device.ok_or_else(|| {
            format!(
                "device {} has model {:?}, which lumi does not know; it cannot be commanded by name (use `lumi write`)",
                d.name.as_str(),
                sanitize::truncated(&d.model, 40)
            )
        })?;
        let gateway = d.gateway.as_ref().unwrap_or(sid);
        let version = self
            .gateways
            .get(gateway)
            .and_then(|g| g.version)
            .unwrap_or(ProtoVersion::V1);
        Ok((device, version, d.state.clone()))
    }

    fn get(&mut self, name: &FriendlyName, property: Option<&str>, payload: &[u8], origin: Origin) {
        let what = format!("{}/get", name.as_str());
        let Some(sid) = self.lookup(name.as_str()) else {
            let msg = self.unknown_device(name.as_str());
            return self.refused(&origin, &what, &msg);
        };
        let properties = match self.target(&sid) {
            Ok((device, _, _)) if !payload.is_empty() || property.is_some() => {
                match state::parse_get(device, property, payload) {
                    Ok(g) => g.properties,
                    Err(e) => return self.refused(&origin, &what, &e.to_string()),
                }
            }
            _ => Vec::new(),
        };
        let origin = match origin {
            Origin::Get { .. } => Origin::Get { properties },
            other => other,
        };
        self.jobs.push(Job::Read { sid, origin });
    }

    fn request(&mut self, name: &str, payload: &[u8], dashboard: Option<u64>) {
        let BridgeRequest {
            request,
            transaction,
        } = match request::parse_request(name, payload) {
            Ok(r) => r,
            Err(e) if dashboard.is_some() => {
                let id = dashboard.unwrap_or_default();
                return self.reject(id, e.message);
            }
            Err(e) => {
                self.stats.failed += 1;
                tracing::warn!(
                    "bridge request {}: {}",
                    sanitize::truncated(name, 60),
                    e.message
                );
                let response = e.response();
                self.publish(
                    self.topics.bridge_response(name),
                    response,
                    Qos::AtLeastOnce,
                    false,
                );
                return;
            }
        };
        let origin = match dashboard {
            Some(id) => Origin::Dashboard { id },
            None => Origin::Request {
                name: name.to_owned(),
                transaction,
            },
        };
        match request {
            Request::PermitJoin {
                enable,
                time,
                gateway,
            } => {
                let gateways: Vec<Sid> = match gateway {
                    None => self.gateways.keys().cloned().collect(),
                    Some(g) => match self.lookup(&g).filter(|s| self.gateways.contains_key(s)) {
                        Some(s) => vec![s],
                        None => {
                            let known: Vec<&str> = self.gateways.keys().map(Sid::as_str).collect();
                            return self.respond_error(
                                &origin,
                                &format!(
                                    "permit_join: no gateway {:?}; gateways: {}",
                                    sanitize::truncated(&g, 60),
                                    known.join(", ")
                                ),
                            );
                        }
                    },
                };
                if gateways.is_empty() {
                    return self.respond_error(&origin, "permit_join: no gateway is known yet");
                }
                self.jobs.push(Job::Pairing {
                    gateways,
                    open: enable,
                    // A gateway opens pairing for 30 s at a time, whatever was asked; the
                    // response says so rather than promising a longer window.
                    time: time.unwrap_or(PAIRING_WINDOW).min(PAIRING_WINDOW),
                    origin,
                });
            }
            Request::Remove { device, force } => {
                let Some(sid) = self.lookup(&device) else {
                    let msg = format!("remove: {}", self.unknown_device(&device));
                    return self.respond_error(&origin, &msg);
                };
                let Some(gateway) = self.devices.get(&sid).and_then(|d| d.gateway.clone()) else {
                    return self.respond_error(
                        &origin,
                        &format!("remove: {sid} is a gateway; only sub-devices can be removed"),
                    );
                };
                self.jobs.push(Job::Remove {
                    gateway,
                    sid,
                    force,
                    origin,
                });
            }
            Request::Rename { from, to } => match self.lookup(&from) {
                None => {
                    let msg = format!("rename: {}", self.unknown_device(&from));
                    self.respond_error(&origin, &msg);
                }
                Some(sid) => match self.lookup(to.as_str()) {
                    Some(other) if other != sid => self.respond_error(
                        &origin,
                        &format!(
                            "rename: the name {:?} is already used by {other}; choose another",
                            to.as_str()
                        ),
                    ),
                    _ => {
                        let old = self.rename(&sid, to.clone());
                        self.respond_ok(
                            &origin,
                            json!({"sid": sid.as_str(), "from": old.as_str(), "to": to.as_str(),
                                   "saved": false,
                                   "hint": format!("add [[device]] sid = \"{sid}\" name = \"{}\" to lumi.toml to keep the name after a restart", to.as_str())}),
                        );
                    }
                },
            },
            Request::Read { device } => match self.lookup(&device) {
                Some(sid) => self.jobs.push(Job::Read { sid, origin }),
                None => {
                    let msg = format!("read: {}", self.unknown_device(&device));
                    self.respond_error(&origin, &msg);
                }
            },
            Request::Health => self.jobs.push(Job::Health { origin }),
        }
    }

    /// Renames a device; returns the old name.
    fn rename(&mut self, sid: &Sid, to: FriendlyName) -> FriendlyName {
        let Some(d) = self.devices.get_mut(sid) else {
            return to;
        };
        let old = std::mem::replace(&mut d.name, to.clone());
        if to.levels() > self.depth {
            self.subscribe
                .extend(self.topics.command_filters(self.depth + 1..=to.levels()));
            self.depth = to.levels();
        }
        self.names.remove(old.as_str());
        self.names.insert(to.as_str().to_owned(), sid.clone());
        self.renamed.insert(sid.clone(), to.clone());
        tracing::info!(device = %sid, "renamed {} to {}", old.as_str(), to.as_str());
        if self.connected {
            // The old retained topics would otherwise stay on the broker forever.
            for topic in [self.topics.state(&old), self.topics.availability(&old)] {
                self.publish(topic, String::new(), Qos::AtLeastOnce, true);
            }
        }
        self.publish_discovery(sid);
        if let Some(d) = self.devices.get_mut(sid) {
            d.published_online = None;
        }
        self.ui.touch(sid);
        self.log(
            "info",
            Some(sid),
            format!("renamed {} to {}", old.as_str(), to.as_str()),
        );
        self.publish_availability(sid);
        self.publish_state(sid, None);
        let event = BridgeEvent::DeviceRenamed {
            sid,
            from: &old,
            to: &to,
        }
        .to_json();
        self.publish(self.topics.bridge_event(), event, Qos::AtLeastOnce, false);
        self.devices_dirty = true;
        old
    }

    fn forget(&mut self, sid: &Sid) {
        let Some(d) = self.devices.remove(sid) else {
            return;
        };
        self.names.retain(|_, s| s != sid);
        self.motion_pending.remove(sid);
        self.ui.touch(sid);
        self.log("info", Some(sid), format!("removed {}", d.name.as_str()));
        tracing::info!(device = %sid, "removed {}", d.name.as_str());
        if self.connected {
            if let Some(device) = d.state.device {
                for topic in self.discovery.removal(sid, device) {
                    self.publish(topic, String::new(), Qos::AtLeastOnce, true);
                }
            }
            for topic in [
                self.topics.state(&d.name),
                self.topics.availability(&d.name),
            ] {
                self.publish(topic, String::new(), Qos::AtLeastOnce, true);
            }
        }
        let event = BridgeEvent::DeviceRemoved { sid, name: &d.name }.to_json();
        self.publish(self.topics.bridge_event(), event, Qos::AtLeastOnce, false);
        self.devices_dirty = true;
    }

    /// The `health` response; `runtime` adds the LAN client's and the MQTT link's counters.
    fn health(&self, runtime: Option<&RuntimeStats>) -> Value {
        let uptime = SystemTime::now()
            .duration_since(self.started)
            .unwrap_or_default()
            .as_secs();
        let gateways: Vec<Value> = self
            .gateways
            .iter()
            .map(|(sid, g)| {
                json!({
                    "sid": sid.as_str(),
                    "address": g.addr.to_string(),
                    "protocol": g.version.map(|v| v.to_string()),
                    "online": g.online,
                    "devices": self.devices.values().filter(|d| d.gateway.as_ref() == Some(sid)).count(),
                })
            })
            .collect();
        let subs = self.devices.values().filter(|d| d.gateway.is_some());
        let (mut online, mut offline) = (0, 0);
        for d in subs {
            if self.effective_online(d) {
                online += 1;
            } else {
                offline += 1;
            }
        }
        let mut health = json!({
            "healthy": self.connected && self.gateways.values().all(|g| g.online),
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": uptime,
            "mqtt": {"connected": self.connected, "connections": self.stats.connections},
            "gateways": gateways,
            "devices": {"online": online, "offline": offline},
            "counters": {
                "reports": self.stats.reports,
                "commands": self.stats.commands,
                "failed_commands": self.stats.failed,
                "invalid_messages": self.stats.invalid,
                "dropped_datagrams": self.dropped,
            },
        });
        if let Some(RuntimeStats { client, link }) = runtime {
            health["lan"] = json!({
                "datagrams": client.datagrams,
                "reports": client.reports,
                "heartbeats": client.heartbeats,
                "dropped_foreign": client.dropped_foreign,
                "dropped_unmatched": client.dropped_unmatched,
                "dropped_undecodable": client.dropped_undecodable,
            });
            health["mqtt"]["reconnects"] = json!(link.reconnects);
            health["mqtt"]["published"] = json!(link.published);
            health["mqtt"]["sent"] = json!(link.sent);
            health["mqtt"]["received"] = json!(link.received);
            health["mqtt"]["dropped_queue_full"] = json!(link.dropped_full);
            health["mqtt"]["waited_queue_full"] = json!(link.waited_full);
            health["mqtt"]["dropped_at_reconnect"] = json!(link.dropped_reconnect);
        }
        health
    }

    // --- job results -----------------------------------------------------------------------

    /// A job finished.
    pub fn job_done(&mut self, job: &Job, result: JobResult, wall: SystemTime) {
        self.set_wall(wall);
        let origin = match job {
            Job::Write { origin, .. }
            | Job::Read { origin, .. }
            | Job::Pairing { origin, .. }
            | Job::Health { origin }
            | Job::Remove { origin, .. } => origin,
        };
        // A refused key says the password is wrong; an accepted write that it is right.
        let result = match result {
            JobResult::InvalidKey { gateway, message } => {
                if let Some(g) = self.gateways.get_mut(&gateway) {
                    if !g.invalid_key {
                        self.ui.gateways_changed();
                    }
                    g.invalid_key = true;
                }
                JobResult::Failed(message)
            }
            r => r,
        };
        if let (Job::Write { sid, .. }, JobResult::Done) = (job, &result) {
            let gateway = self
                .devices
                .get(sid)
                .and_then(|d| d.gateway.clone())
                .unwrap_or_else(|| sid.clone());
            if let Some(g) = self.gateways.get_mut(&gateway)
                && g.invalid_key
            {
                g.invalid_key = false;
                self.ui.gateways_changed();
            }
        }
        if let JobResult::Failed(e) = &result {
            let what = match job {
                Job::Write { sid, .. } => format!("write to {sid} failed"),
                Job::Read { sid, .. } => format!("read of {sid} failed"),
                Job::Pairing { .. } => "pairing failed".to_owned(),
                Job::Remove { sid, .. } => format!("removing {sid} failed"),
                Job::Health { .. } => "health failed".to_owned(),
            };
            self.log("error", None, format!("{what}: {e}"));
        }
        match (job, result) {
            (Job::Remove { sid, force, .. }, r) => {
                let failed = match r {
                    JobResult::Failed(e) => Some(e),
                    _ => None,
                };
                if failed.is_none() || *force {
                    let name = self
                        .devices
                        .get(sid)
                        .map(|d| d.name.as_str().to_owned())
                        .unwrap_or_default();
                    self.forget(sid);
                    self.respond_ok(
                        origin,
                        json!({"id": name, "sid": sid.as_str(), "force": force, "gateway_confirmed": failed.is_none()}),
                    );
                } else if let Some(e) = failed {
                    self.job_failed(
                        origin,
                        "remove",
                        &format!("remove: {e} (send \"force\": true to forget the device anyway)"),
                    );
                }
            }
            (Job::Health { .. }, JobResult::Health(runtime)) => {
                let data = self.health(Some(&runtime));
                self.respond_ok(origin, data);
            }
            (Job::Health { .. }, _) => {
                let data = self.health(None);
                self.respond_ok(origin, data);
            }
            (_, JobResult::Failed(e)) => {
                let what = match origin {
                    Origin::Set { name } => format!("{name}/set"),
                    _ => "get".to_owned(),
                };
                self.job_failed(origin, &what, &e);
            }
            (Job::Read { sid, .. }, JobResult::Data(data)) => {
                if let Some(d) = self.devices.get_mut(sid) {
                    d.state.absorb(&data.state, false);
                    d.last_seen = Some(wall);
                }
                self.publish_state(sid, None);
                if let Origin::Request { .. } | Origin::Dashboard { .. } = origin {
                    let payload = self
                        .devices
                        .get(sid)
                        .map(|d| {
                            Value::Object(state::state_payload(
                                &d.state,
                                &Extras {
                                    linkquality: None,
                                    last_seen: d.last_seen,
                                },
                            ))
                        })
                        .unwrap_or(Value::Null);
                    let name = self.devices.get(sid).map(|d| d.name.as_str().to_owned());
                    self.respond_ok(
                        origin,
                        json!({"id": name, "sid": sid.as_str(), "state": payload}),
                    );
                }
            }
            (
                Job::Pairing {
                    gateways,
                    open,
                    time,
                    ..
                },
                _,
            ) => {
                let list: Vec<&str> = gateways.iter().map(Sid::as_str).collect();
                self.respond_ok(
                    origin,
                    json!({"value": open, "time": time.as_secs(), "gateways": list}),
                );
            }
            (Job::Write { sid, .. }, _) => {
                tracing::debug!(device = %sid, "write accepted");
                if let Origin::Dashboard { .. } = origin {
                    let name = self.devices.get(sid).map(|d| d.name.as_str().to_owned());
                    self.respond_ok(origin, json!({"id": name, "sid": sid.as_str()}));
                }
            }
            (Job::Read { .. }, _) => {}
        }
    }

    /// The broker refused some of the bridge's subscriptions: commands on them cannot
    /// arrive. On the dashboard's log and `bridge/logging` (the link has logged each).
    pub fn subscription_refused(&mut self, filters: &[String]) {
        let list = filters
            .iter()
            .map(|f| sanitize::truncated(f, 120).to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let message = format!(
            "the MQTT broker refused the subscription to {list}: commands on these topics will not arrive; allow the bridge's user to read them in the broker's access rules"
        );
        self.log("warn", None, message.clone());
        let payload = json!({"level": "warning", "message": message}).to_string();
        self.publish(
            format!("{}/bridge/logging", self.topics.base()),
            payload,
            Qos::AtLeastOnce,
            false,
        );
    }

    fn command_failed(&mut self, what: &str, message: &str) {
        self.stats.failed += 1;
        tracing::warn!(
            "command {} failed: {message}",
            sanitize::truncated(what, 120)
        );
        let payload =
            json!({"level": "error", "message": format!("{what}: {message}")}).to_string();
        self.publish(
            format!("{}/bridge/logging", self.topics.base()),
            payload,
            Qos::AtLeastOnce,
            false,
        );
    }

    /// A job that reached the gateways failed.
    fn job_failed(&mut self, origin: &Origin, what: &str, message: &str) {
        match origin {
            Origin::Set { .. } | Origin::Get { .. } => self.command_failed(what, message),
            Origin::Request { .. } => self.respond_error(origin, message),
            Origin::Dashboard { id } => {
                self.stats.failed += 1;
                tracing::warn!("dashboard command failed: {message}");
                self.replies.push((
                    *id,
                    Err(CommandError {
                        rejected: false,
                        message: message.to_owned(),
                    }),
                ));
            }
        }
    }

    fn respond_ok(&mut self, origin: &Origin, data: Value) {
        if let Origin::Dashboard { id } = origin {
            self.replies.push((*id, Ok(data)));
            return;
        }
        if let Origin::Request { name, transaction } = origin {
            let payload = response_ok(data, transaction.as_ref());
            self.publish(
                self.topics.bridge_response(name),
                payload,
                Qos::AtLeastOnce,
                false,
            );
        }
    }

    fn respond_error(&mut self, origin: &Origin, message: &str) {
        if let Origin::Dashboard { id } = origin {
            return self.reject(*id, message.to_owned());
        }
        self.stats.failed += 1;
        if let Origin::Request { name, transaction } = origin {
            tracing::warn!(
                "bridge request {}: {message}",
                sanitize::truncated(name, 60)
            );
            let payload = response_error(message, transaction.as_ref());
            self.publish(
                self.topics.bridge_response(name),
                payload,
                Qos::AtLeastOnce,
                false,
            );
        }
    }

    // --- publishing ------------------------------------------------------------------------

    fn publish(&mut self, topic: String, payload: String, qos: Qos, retain: bool) {
        self.out.push(Publish {
            topic,
            payload,
            qos,
            retain,
        });
    }

    fn effective_online(&self, d: &Dev) -> bool {
        let gateway_online = d
            .gateway
            .as_ref()
            .is_none_or(|g| self.gateways.get(g).is_none_or(|g| g.online));
        d.available && gateway_online
    }

    fn publish_discovery(&mut self, sid: &Sid) {
        if !self.connected || !self.config.homeassistant(sid) {
            return;
        }
        let Some(d) = self.devices.get(sid) else {
            return;
        };
        let Some(device) = d.state.device else {
            return;
        };
        let messages = self.discovery.device(&HaDevice {
            sid,
            name: &d.name,
            device,
            gateway: d.gateway.as_ref(),
        });
        for m in messages {
            let payload = m.payload_string();
            self.publish(m.topic, payload, Qos::AtLeastOnce, true);
        }
        if let Some(d) = self.devices.get_mut(sid) {
            d.discovered = true;
        }
    }

    fn publish_availability(&mut self, sid: &Sid) {
        let Some(d) = self.devices.get(sid) else {
            return;
        };
        self.ui.touch(sid);
        let online = self.effective_online(d);
        if d.published_online == Some(online) {
            return;
        }
        let topic = self.topics.availability(&d.name);
        if let Some(d) = self.devices.get_mut(sid) {
            d.published_online = Some(online);
        }
        self.devices_dirty = true;
        if self.connected && self.config.bridge.availability {
            self.publish(
                topic,
                state::availability_payload(online).to_owned(),
                Qos::AtLeastOnce,
                true,
            );
        }
    }

    /// Publishes a device's state; `action` adds this message's event to it (not kept).
    fn publish_state(&mut self, sid: &Sid, action: Option<&str>) {
        // The dashboard shows the state whether or not MQTT is connected.
        self.ui.touch(sid);
        if !self.connected {
            return;
        }
        let Some(d) = self.devices.get(sid) else {
            return;
        };
        if d.state.is_empty() && d.last_seen.is_none() {
            return;
        }
        let payload = state::state_json_with(
            &d.state,
            &Extras {
                linkquality: None,
                last_seen: d.last_seen,
            },
            action,
        );
        let topic = self.topics.state(&d.name);
        let retain = self.config.retain(sid) && action.is_none();
        let qos = self.config.mqtt.qos;
        self.publish(topic, payload, qos, retain);
    }

    fn publish_action(&mut self, sid: &Sid, action: &str) {
        let Some(d) = self.devices.get(sid) else {
            return;
        };
        let topic = self.topics.action(&d.name);
        self.publish(topic, action.to_owned(), self.config.mqtt.qos, false);
    }

    fn publish_legacy(&mut self, sid: &Sid, msg: &DeviceState) {
        if !self.connected || !self.config.bridge.legacy_topics {
            return;
        }
        let Some(d) = self.devices.get(sid) else {
            return;
        };
        let model = if d.model.is_empty() {
            "unknown"
        } else {
            &d.model
        };
        let messages = state::legacy_messages(&self.topics, model, sid, msg);
        let retain = self.config.retain(sid);
        // Events (a click, a flip) are not states: retained, a later subscriber would get
        // the last click again.
        for (topic, payload, event) in messages {
            self.publish(topic, payload, self.config.mqtt.qos, retain && !event);
        }
    }

    fn devices_payload(&self) -> String {
        let entries: Vec<DeviceEntry<'_>> = self
            .devices
            .iter()
            .map(|(sid, d)| DeviceEntry {
                sid,
                name: &d.name,
                model: &d.model,
                device: d.state.device,
                gateway: d.gateway.as_ref(),
                online: Some(self.effective_online(d)),
                last_seen: d.last_seen,
            })
            .collect();
        state::devices_payload(&entries)
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
