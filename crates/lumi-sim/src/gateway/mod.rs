//! A simulated gateway speaking the LAN API (v1 or v2), sans-IO.
//!
//! Drive it with [`SimGateway::handle_datagram`] and [`SimGateway::handle_timeout`]; take what
//! it sends with [`SimGateway::poll_transmit`] and what it did with [`SimGateway::poll_event`];
//! ask [`SimGateway::poll_timeout`] when to call again. Time is always an argument.
//!
//! Behaviour, as real gateways (`lan-api.md`):
//! - `whois` (multicast, port 4321) → unicast `iam` from port 4321;
//! - `get_id_list` (v1) / `discovery` (v2) → the sid list and the current token; a v1 command
//!   on a v2 gateway → `{"params":[{"error":"No sid"}],"cmd":"get_id_list_rsp"}`;
//! - `read` → the device's state (battery devices: the gateway's cached values only);
//! - `write` → key checked against the current **or the previous** token; wrong key →
//!   `{"cmd":"write_ack","sid":…,"data":"{\"error\":\"Invalid key\"}"}` (no model, no
//!   short_id, exactly as captured); otherwise the reply carries the **pre-write** state and the
//!   result follows as a multicast `report`;
//! - heartbeats: the gateway every 10 s with a fresh token; mains sub-devices every 10 min,
//!   battery ones every hour, with their state.

use std::collections::{BinaryHeap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use lumi_proto::key::{GatewayPassword, WriteKey};
use lumi_proto::lan::{
    self, DeviceMessage, ErrorCode, ErrorReply, Iam, IdList, IdListEntry, Message, Props,
    ProtoVersion, ReplyTo, Sid, Token,
};
use lumi_proto::miio::{DeviceId, MiioToken};

use lumi_proto::catalogue::{self, DeviceKind, TypedValue, WriteError};

use crate::device::SubDevice;
use crate::rng::Rng;

pub mod miio;

/// The LAN API port for commands, reports and heartbeats.
pub const COMMAND_PORT: u16 = 9898;
/// The discovery port (`whois` is multicast to it; reports are sent from it).
pub const DISCOVERY_PORT: u16 = 4321;

/// How a simulated gateway is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    /// Its sid (12 hex digits, its MAC).
    pub sid: Sid,
    /// Its IP address (a loopback address such as 127.0.0.2 in tests).
    pub ip: Ipv4Addr,
    /// The dialect it speaks.
    pub version: ProtoVersion,
    /// Its model string (`gateway` for v1, `acpartner.v3` or `gateway.v3` for v2).
    pub model: String,
    /// Its LAN password.
    pub password: GatewayPassword,
    /// Seed for tokens and random behaviour.
    pub seed: u64,
    /// Gateway heartbeat interval (10 s on real gateways).
    pub heartbeat: Duration,
    /// The command port announced in `iam` (9898 on real gateways; tests use a free one).
    pub command_port: u16,
    /// The gateway's miIO token (for miIO control and push events).
    pub miio_token: MiioToken,
    /// The gateway's miIO device id.
    pub device_id: DeviceId,
    /// The port the gateway sends miIO push events to (54321 on real gateways).
    pub push_port: u16,
}

impl GatewayConfig {
    /// A v1 gateway (`gateway`, proto 1.1.2) or a v2 one (`acpartner.v3`, proto 2.0.1).
    pub fn new(sid: Sid, ip: Ipv4Addr, version: ProtoVersion, password: GatewayPassword) -> Self {
        GatewayConfig {
            sid,
            ip,
            version,
            model: match version {
                ProtoVersion::V1 => "gateway".into(),
                ProtoVersion::V2 => "acpartner.v3".into(),
            },
            password,
            seed: 1,
            heartbeat: Duration::from_secs(10),
            command_port: COMMAND_PORT,
            miio_token: MiioToken::from_bytes([0x1c; 16]),
            device_id: DeviceId::from(63_217_102u32),
            push_port: lumi_proto::miio::PORT,
        }
    }

    /// The `proto_version` string the gateway reports.
    pub fn proto_version(&self) -> &'static str {
        match self.version {
            ProtoVersion::V1 => "1.1.2",
            ProtoVersion::V2 => "2.0.1",
        }
    }
}

/// Where a datagram arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound {
    /// On the discovery port 4321 (multicast `whois`).
    Discovery,
    /// On the command port 9898 (unicast commands).
    Command,
    /// On the miIO port 54321.
    Miio,
}

/// Where a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Multicast to 224.0.0.50:9898, from port 4321 (reports and heartbeats).
    Multicast,
    /// From the gateway's miIO socket (port 54321) to a peer: replies and push events.
    Miio {
        /// The peer.
        to: SocketAddr,
    },
    /// Unicast to a peer.
    Unicast {
        /// The peer.
        to: SocketAddr,
        /// The gateway port it is sent from (4321 for `iam`, 9898 for command replies).
        from_port: u16,
    },
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where.
    pub to: Destination,
    /// The datagram.
    pub payload: Vec<u8>,
}

/// Something the simulated gateway did, for logs and test assertions.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SimEvent {
    /// A datagram arrived and was understood.
    Received {
        /// From whom.
        from: SocketAddr,
        /// Its `cmd`.
        cmd: &'static str,
    },
    /// A datagram arrived that does not decode.
    Undecodable {
        /// From whom.
        from: SocketAddr,
        /// Why.
        error: lan::LanError,
    },
    /// A write was refused.
    WriteRefused {
        /// From whom.
        from: SocketAddr,
        /// The target sid.
        sid: Sid,
        /// Why.
        error: ErrorCode,
    },
    /// A write was applied.
    WriteApplied {
        /// The target sid.
        sid: Sid,
        /// The raw properties written.
        props: Props,
    },
    /// The token rotated.
    TokenRotated,
    /// The gateway went silent or came back.
    Online(bool),
    /// A miIO request arrived (and was answered).
    MiioRequest {
        /// From whom.
        from: SocketAddr,
        /// Its method.
        method: String,
    },
    /// A miIO datagram was dropped without an answer, as real devices do.
    MiioDropped {
        /// From whom.
        from: SocketAddr,
        /// Why (checksum/wrong token, not JSON-RPC, repeated id, …).
        reason: String,
    },
    /// A datagram was sent (reported by the socket adaptor, not the sans-IO core).
    Sent {
        /// Where.
        to: Destination,
        /// The datagram.
        payload: Vec<u8>,
    },
}

#[derive(Debug, PartialEq, Eq)]
struct Timer {
    at: Instant,
    seq: u64,
    what: TimerKind,
}

/// Why a stimulus could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StimulusError {
    /// The gateway has no such sub-device.
    #[error("gateway has no sub-device {0}")]
    NoDevice(Sid),
    /// The values do not fit the device's model.
    #[error(transparent)]
    Values(#[from] WriteError),
}

/// The `no_motion` reports a v1 motion sensor sends after the last motion (seconds).
const NO_MOTION_STEPS: [u64; 6] = [120, 180, 300, 600, 1200, 1800];

#[derive(Debug, PartialEq, Eq, Clone)]
enum TimerKind {
    GatewayHeartbeat,
    DeviceHeartbeat(Sid),
    /// A report of raw properties, scheduled (e.g. `no_motion` 120 s after motion).
    Report(Sid, Vec<(String, String)>),
    ComeBack,
    /// The `step`-th `no_motion` report of a motion episode (`episode` must still be current).
    NoMotion {
        sid: Sid,
        episode: u64,
        step: usize,
    },
    /// A random event (demo mode).
    Random(Duration),
}

impl Ord for Timer {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}
impl PartialOrd for Timer {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// The gateway's own light and sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GatewayOwnState {
    /// `rgb`: brightness<<24 | r<<16 | g<<8 | b; 0 = off.
    pub rgb: u32,
    /// `illumination` (raw, 300–1300 typical).
    pub illumination: u32,
    /// The ringtone playing (`mid`), if any.
    pub playing: Option<u32>,
    /// Ringtone volume (`vol`, 0–100).
    pub volume: u32,
    /// Pairing open.
    pub join_permission: bool,
}

/// A simulated gateway.
#[derive(Debug)]
pub struct SimGateway {
    cfg: GatewayConfig,
    rng: Rng,
    token: Token,
    prev_token: Option<Token>,
    devices: Vec<SubDevice>,
    own: GatewayOwnState,
    online: bool,
    timers: BinaryHeap<Timer>,
    timer_seq: u64,
    out: VecDeque<Transmit>,
    events: VecDeque<SimEvent>,
    miio: miio::GatewayMiio,
    motion_episode: u64,
    motion_current: Vec<(Sid, u64)>,
}

impl SimGateway {
    /// A gateway with no sub-devices, started at `now` (first heartbeat at once).
    pub fn new(cfg: GatewayConfig, now: Instant) -> SimGateway {
        let mut rng = Rng::new(cfg.seed ^ 0x6c75_6d69);
        let token = Token::new(rng.alnum(16));
        let miio = miio::GatewayMiio::new(&cfg, now);
        let mut gw = SimGateway {
            cfg,
            rng,
            token,
            prev_token: None,
            devices: Vec::new(),
            own: GatewayOwnState {
                illumination: 1292,
                volume: 20,
                ..Default::default()
            },
            online: true,
            timers: BinaryHeap::new(),
            timer_seq: 0,
            out: VecDeque::new(),
            events: VecDeque::new(),
            miio,
            motion_episode: 0,
            motion_current: Vec::new(),
        };
        gw.schedule(now, TimerKind::GatewayHeartbeat);
        gw
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.cfg
    }

    /// The current token.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The gateway's own light and sound state.
    pub fn own_state(&self) -> GatewayOwnState {
        self.own
    }

    /// The sub-devices.
    pub fn devices(&self) -> &[SubDevice] {
        &self.devices
    }

    /// A sub-device by sid.
    pub fn device(&self, sid: &Sid) -> Option<&SubDevice> {
        self.devices.iter().find(|d| &d.sid == sid)
    }

    /// Adds a sub-device; its heartbeats start at a sid-dependent offset so a house full of
    /// devices does not beat at once.
    pub fn add_device(&mut self, now: Instant, device: SubDevice) {
        let period = device.heartbeat_period();
        let offset = Duration::from_millis(self.rng.below(period.as_millis() as u64));
        let sid = device.sid.clone();
        self.devices.retain(|d| d.sid != sid);
        self.devices.push(device);
        self.schedule(now + offset, TimerKind::DeviceHeartbeat(sid));
    }

    /// Changes the LAN password (what `set_lumi_dpf_aes_key` over miIO does).
    pub fn set_password(&mut self, password: GatewayPassword) {
        self.cfg.password = password;
    }

    /// Changes the gateway's IP address (DHCP renewal); the next heartbeat announces it.
    pub fn set_ip(&mut self, ip: Ipv4Addr) {
        self.cfg.ip = ip;
    }

    /// Sets the command port announced in `iam` (the adaptor binds it).
    pub fn set_command_port(&mut self, port: u16) {
        self.cfg.command_port = port;
    }

    /// Rotates the token now (as every heartbeat does).
    pub fn rotate_token(&mut self) {
        let next = Token::new(self.rng.alnum(16));
        self.prev_token = Some(std::mem::replace(&mut self.token, next));
        self.events.push_back(SimEvent::TokenRotated);
    }

    /// Goes silent (drops everything, sends nothing) or comes back (heartbeat at once).
    pub fn set_online(&mut self, now: Instant, online: bool) {
        if self.online == online {
            return;
        }
        self.online = online;
        self.events.push_back(SimEvent::Online(online));
        if online {
            self.schedule(now, TimerKind::GatewayHeartbeat);
        }
    }

    /// Reboots: silent for `downtime`, then back with a new token and the light off.
    pub fn reboot(&mut self, now: Instant, downtime: Duration) {
        self.set_online(now, false);
        self.own.rgb = 0;
        self.own.playing = None;
        self.prev_token = None;
        self.token = Token::new(self.rng.alnum(16));
        self.miio.reboot(now + downtime);
        self.schedule(now + downtime, TimerKind::ComeBack);
    }

    /// True when the gateway is answering.
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// A datagram arrived at `now` from `from` on `port`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, port: Inbound, bytes: &[u8]) {
        if !self.online {
            return;
        }
        if port == Inbound::Miio {
            self.handle_miio(now, from, bytes);
            return;
        }
        let decoded = match lan::decode(bytes) {
            Ok(d) => d,
            Err(error) => {
                self.events.push_back(SimEvent::Undecodable { from, error });
                return;
            }
        };
        let cmd = decoded
            .message
            .cmd(decoded.version.unwrap_or(self.cfg.version));
        self.events.push_back(SimEvent::Received { from, cmd });
        let v = self.cfg.version;
        match (port, decoded.message) {
            (Inbound::Discovery, Message::Whois) => {
                let iam = Message::Iam(Iam {
                    sid: Some(self.cfg.sid.clone()),
                    model: Some(self.cfg.model.clone()),
                    ip: Some(self.cfg.ip.into()),
                    port: Some(self.cfg.command_port),
                    proto_version: Some(self.cfg.proto_version().into()),
                });
                self.unicast(from, DISCOVERY_PORT, &iam);
            }
            (Inbound::Discovery, _) => {}
            (Inbound::Command, Message::GetIdList(_)) => {
                if decoded.version.is_some_and(|dv| dv != v) {
                    // A v1 command on a v2 gateway (captured), or the reverse (assumed).
                    self.reply_error(from, ReplyTo::IdList, None, ErrorCode::NoSid);
                    return;
                }
                let list = Message::IdList(IdList {
                    sid: self.cfg.sid.clone(),
                    token: Some(self.token.clone()),
                    devices: self
                        .devices
                        .iter()
                        .map(|d| IdListEntry {
                            sid: d.sid.clone(),
                            model: Some(d.model.clone()),
                        })
                        .collect(),
                });
                self.unicast(from, COMMAND_PORT, &list);
            }
            (Inbound::Command, Message::Read(r)) => {
                let reply = if r.sid == self.cfg.sid {
                    Message::ReadAck(self.gateway_state_message(false))
                } else if let Some(d) = self.devices.iter().find(|d| d.sid == r.sid) {
                    Message::ReadAck(d.read_message())
                } else {
                    Message::Error(ErrorReply {
                        reply_to: ReplyTo::Read,
                        sid: Some(r.sid),
                        model: None,
                        error: ErrorCode::NoSid,
                    })
                };
                self.unicast(from, COMMAND_PORT, &reply);
            }
            (Inbound::Command, Message::Write(w)) => {
                if decoded.version.is_some_and(|dv| dv != v) {
                    self.reply_error(from, ReplyTo::Write, Some(w.sid), ErrorCode::NoSid);
                    return;
                }
                self.write(now, from, w);
            }
            // Anything else on the command port (reports, replies) is not for a gateway.
            (Inbound::Command, _) => {}
            (Inbound::Miio, _) => {}
        }
    }

    fn write(&mut self, now: Instant, from: SocketAddr, w: lan::Write) {
        if !self.key_ok(w.key.as_ref()) {
            self.events.push_back(SimEvent::WriteRefused {
                from,
                sid: w.sid.clone(),
                error: ErrorCode::InvalidKey,
            });
            self.reply_error(from, ReplyTo::Write, Some(w.sid), ErrorCode::InvalidKey);
            return;
        }
        if w.sid == self.cfg.sid {
            let before = self.gateway_state_message(false);
            self.unicast(from, COMMAND_PORT, &Message::WriteAck(before));
            let changed = self.apply_gateway_write(now, &w.props);
            self.events.push_back(SimEvent::WriteApplied {
                sid: w.sid,
                props: w.props,
            });
            if !changed.is_empty() {
                let mut m = self.gateway_state_message(false);
                m.props = changed;
                self.multicast(&Message::Report(m));
            }
            return;
        }
        let Some(idx) = self.devices.iter().position(|d| d.sid == w.sid) else {
            self.reply_error(from, ReplyTo::Write, Some(w.sid), ErrorCode::NoSid);
            return;
        };
        let before = self.devices[idx].read_message();
        match self.devices[idx].apply_write(&w.props) {
            Ok(report) => {
                self.unicast(from, COMMAND_PORT, &Message::WriteAck(before));
                self.events.push_back(SimEvent::WriteApplied {
                    sid: w.sid,
                    props: w.props,
                });
                if !report.is_empty() {
                    let msg = self.devices[idx].report_message(report);
                    self.multicast(&Message::Report(msg));
                }
            }
            Err(error) => {
                self.events.push_back(SimEvent::WriteRefused {
                    from,
                    sid: w.sid.clone(),
                    error: error.clone(),
                });
                self.reply_error(from, ReplyTo::Write, Some(w.sid), error);
            }
        }
        let _ = now;
    }

    fn key_ok(&self, key: Option<&WriteKey>) -> bool {
        let Some(key) = key else { return false };
        let current = WriteKey::derive(&self.cfg.password, &self.token).ok();
        let previous = self
            .prev_token
            .as_ref()
            .and_then(|t| WriteKey::derive(&self.cfg.password, t).ok());
        current.as_ref() == Some(key) || previous.as_ref() == Some(key)
    }

    /// Applies a write to the gateway itself; returns the properties to report.
    fn apply_gateway_write(&mut self, now: Instant, props: &Props) -> Props {
        let mut changed = Props::new();
        for (k, v) in props {
            let num = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match (k, num) {
                ("rgb", Some(n)) => {
                    let n = n as u32;
                    if n != self.own.rgb {
                        self.own.rgb = n;
                        changed.push("rgb", n);
                    }
                }
                ("mid", Some(10000)) => self.own.playing = None,
                ("mid", Some(n)) => self.own.playing = Some(n as u32),
                ("vol", Some(n)) => self.own.volume = n.min(100) as u32,
                ("join_permission", _) => {
                    self.own.join_permission = v.as_str() == Some("yes");
                }
                ("remove_device", _) => {
                    if let Some(sid) = v.as_str().and_then(|s| Sid::new(s).ok()) {
                        self.devices.retain(|d| d.sid != sid);
                    }
                }
                _ => {}
            }
        }
        let _ = now;
        changed
    }

    /// A sub-device does something, given in lumi's typed vocabulary
    /// (`[("contact", false)]`, `[("action", "double")]`, `[("angle", 90.0), ("duration", 500)]`):
    /// the gateway multicasts exactly the report a real device of that model sends in its
    /// dialect. Motion starts the `no_motion` follow-ups (v1: 120, 180, 300, 600, 1200, 1800 s
    /// after the last motion).
    pub fn stimulate(
        &mut self,
        now: Instant,
        sid: &Sid,
        values: &[(&str, TypedValue)],
    ) -> Result<(), StimulusError> {
        let d = self
            .device(sid)
            .ok_or_else(|| StimulusError::NoDevice(sid.clone()))?;
        let props = catalogue::encode_report(&d.model, d.version, values)?;
        let motion = values
            .iter()
            .any(|(k, v)| *k == "occupancy" && v.as_bool() == Some(true));
        let has_no_motion_key = d.version == ProtoVersion::V1;
        self.report(now, sid, props);
        if motion && has_no_motion_key {
            self.motion_episode += 1;
            let episode = self.motion_episode;
            self.motion_current.retain(|(s, _)| s != sid);
            self.motion_current.push((sid.clone(), episode));
            let at = now + Duration::from_secs(NO_MOTION_STEPS[0]);
            self.schedule(
                at,
                TimerKind::NoMotion {
                    sid: sid.clone(),
                    episode,
                    step: 0,
                },
            );
        }
        Ok(())
    }

    /// Starts random events every `every` (on average), for demos: doors open and close,
    /// motion, button presses, cube gestures, temperature drift, plug load. A zero `every`
    /// starts none.
    pub fn start_random_events(&mut self, now: Instant, every: Duration) {
        // A zero period would schedule every next event at the same instant: none instead.
        if every.is_zero() {
            return;
        }
        let first = now + Duration::from_millis(self.rng.below(every.as_millis().max(1) as u64));
        self.schedule(first, TimerKind::Random(every));
    }

    /// One random event from a random device that has something to say; returns its sid.
    pub fn random_event(&mut self, now: Instant) -> Option<Sid> {
        let n = self.devices.len();
        let start = self.rng.below(n.max(1) as u64) as usize;
        for k in 0..n {
            let i = (start + k) % n;
            let (sid, model, version, state) = {
                let d = &self.devices[i];
                (d.sid.clone(), d.model.clone(), d.version, d.state.clone())
            };
            if let Some(values) = self.random_values(&model, version, &state)
                && self.stimulate(now, &sid, &values).is_ok()
            {
                return Some(sid);
            }
        }
        None
    }

    /// A plausible event for a device of `model` in `state`, if its kind has one.
    fn random_values(
        &mut self,
        model: &str,
        version: ProtoVersion,
        state: &Props,
    ) -> Option<Vec<(&'static str, TypedValue)>> {
        let entry = catalogue::lookup(model)?;
        let typed = catalogue::decode(model, version, state);
        let flip = |name: &str, default: bool| {
            !typed
                .get(name)
                .and_then(TypedValue::as_bool)
                .unwrap_or(default)
        };
        Some(match entry.kind {
            DeviceKind::DoorWindow => vec![("contact", TypedValue::Bool(flip("contact", true)))],
            DeviceKind::WaterLeak => {
                vec![("water_leak", TypedValue::Bool(flip("water_leak", false)))]
            }
            DeviceKind::Motion => vec![("occupancy", TypedValue::Bool(true))],
            DeviceKind::Climate => {
                let t = typed
                    .get("temperature")
                    .and_then(TypedValue::as_f64)
                    .unwrap_or(21.5);
                let drift = (self.rng.below(61) as f64 - 30.0) / 100.0;
                vec![(
                    "temperature",
                    TypedValue::Float(((t + drift) * 100.0).round() / 100.0),
                )]
            }
            DeviceKind::Plug => vec![(
                "power",
                TypedValue::Float(self.rng.below(200_000) as f64 / 100.0),
            )],
            DeviceKind::Curtain => vec![("level", TypedValue::Int(self.rng.below(101) as i64))],
            _ => {
                // Buttons, wireless switches, cubes, vibration: one of their events.
                let events = entry.events();
                if !events.is_empty() {
                    let e = events[self.rng.below(events.len() as u64) as usize];
                    return Some(match e {
                        "rotate_right" | "rotate_left" => {
                            let sign = if e == "rotate_right" { 1.0 } else { -1.0 };
                            vec![
                                ("action", TypedValue::text(e)),
                                ("angle", TypedValue::Float(sign * 90.0)),
                                ("duration", TypedValue::Int(500)),
                            ]
                        }
                        _ => vec![("action", TypedValue::text(e))],
                    });
                }
                // Wired switches and relays: flip a channel.
                let p = entry
                    .properties
                    .iter()
                    .find(|p| p.name.starts_with("state") && p.writable())?;
                let on = typed.get(p.name).and_then(TypedValue::as_str) == Some("on");
                vec![(p.name, TypedValue::text(if on { "off" } else { "on" }))]
            }
        })
    }

    /// Schedules a report of raw string properties from a sub-device at `at`.
    pub fn schedule_report(&mut self, at: Instant, sid: Sid, props: Vec<(String, String)>) {
        self.schedule(at, TimerKind::Report(sid, props));
    }

    /// Multicasts a report of raw `props` from the sub-device `sid` at `now`, updating its
    /// state and calling subscribed miIO scenes. Returns false if there is no such device.
    pub fn report(&mut self, now: Instant, sid: &Sid, props: Props) -> bool {
        let Some(d) = self.devices.iter_mut().find(|d| &d.sid == sid) else {
            return false;
        };
        d.absorb(&props);
        let msg = d.report_message(props.clone());
        self.multicast(&Message::Report(msg));
        self.miio_subdevice_event(now, sid, &props);
        true
    }

    /// Mutable access to a sub-device (scripted state changes without a report).
    pub fn device_mut(&mut self, sid: &Sid) -> Option<&mut SubDevice> {
        self.devices.iter_mut().find(|d| &d.sid == sid)
    }

    /// Time passed; fires due heartbeats and scheduled reports.
    pub fn handle_timeout(&mut self, now: Instant) {
        while self.timers.peek().is_some_and(|t| t.at <= now) {
            let Some(t) = self.timers.pop() else { break };
            match t.what {
                TimerKind::ComeBack => self.set_online(t.at, true),
                _ if !self.online => {
                    // Keep sub-device heartbeats ticking while silent; drop the rest.
                    if let TimerKind::DeviceHeartbeat(sid) = t.what
                        && let Some(d) = self.device(&sid)
                    {
                        let p = d.heartbeat_period();
                        self.schedule(t.at + p, TimerKind::DeviceHeartbeat(sid));
                    }
                }
                TimerKind::GatewayHeartbeat => {
                    self.rotate_token();
                    let mut m =
                        DeviceMessage::new(self.cfg.sid.clone(), Some(self.cfg.model.clone()));
                    m.short_id = Some(0);
                    m.token = Some(self.token.clone());
                    m.props.push("ip", self.cfg.ip.to_string());
                    self.multicast(&Message::Heartbeat(m));
                    let next = t.at + self.cfg.heartbeat;
                    self.schedule(next, TimerKind::GatewayHeartbeat);
                }
                TimerKind::DeviceHeartbeat(sid) => {
                    if let Some(d) = self.device(&sid) {
                        let msg = d.heartbeat_message();
                        let p = d.heartbeat_period();
                        self.multicast(&Message::Heartbeat(msg));
                        self.schedule(t.at + p, TimerKind::DeviceHeartbeat(sid));
                    }
                }
                TimerKind::Report(sid, props) => {
                    let props: Props = props.into_iter().collect();
                    self.report(t.at, &sid, props);
                }
                TimerKind::NoMotion { sid, episode, step } => {
                    let current = self
                        .motion_current
                        .iter()
                        .any(|(s, e)| s == &sid && *e == episode);
                    if current {
                        let secs = NO_MOTION_STEPS[step];
                        let props = Props::new().with("no_motion", secs.to_string());
                        self.report(t.at, &sid, props);
                        if let Some(next) = NO_MOTION_STEPS.get(step + 1) {
                            let at = t.at + Duration::from_secs(next - secs);
                            self.schedule(
                                at,
                                TimerKind::NoMotion {
                                    sid,
                                    episode,
                                    step: step + 1,
                                },
                            );
                        }
                    }
                }
                TimerKind::Random(every) => {
                    self.random_event(t.at);
                    let jitter = self.rng.below(every.as_millis().max(1) as u64);
                    let next = t.at + every / 2 + Duration::from_millis(jitter);
                    self.schedule(next, TimerKind::Random(every));
                }
            }
        }
        if self.online {
            self.miio_timeout(now);
        }
    }

    /// When [`SimGateway::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let lan = self.timers.peek().map(|t| t.at);
        match (lan, self.miio_next_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// The next thing that happened.
    pub fn poll_event(&mut self) -> Option<SimEvent> {
        self.events.pop_front()
    }

    fn schedule(&mut self, at: Instant, what: TimerKind) {
        self.timer_seq += 1;
        self.timers.push(Timer {
            at,
            seq: self.timer_seq,
            what,
        });
    }

    fn gateway_state_message(&self, heartbeat: bool) -> DeviceMessage {
        let mut m = DeviceMessage::new(self.cfg.sid.clone(), Some(self.cfg.model.clone()));
        m.short_id = Some(0);
        if heartbeat {
            m.token = Some(self.token.clone());
        }
        m.props.push("rgb", self.own.rgb);
        m.props.push("illumination", self.own.illumination);
        m.props.push("proto_version", self.cfg.proto_version());
        m
    }

    fn reply_error(
        &mut self,
        to: SocketAddr,
        reply_to: ReplyTo,
        sid: Option<Sid>,
        error: ErrorCode,
    ) {
        let m = Message::Error(ErrorReply {
            reply_to,
            sid,
            model: None,
            error,
        });
        self.unicast(to, COMMAND_PORT, &m);
    }

    fn unicast(&mut self, to: SocketAddr, from_port: u16, m: &Message) {
        self.out.push_back(Transmit {
            to: Destination::Unicast { to, from_port },
            payload: lan::encode(m, self.cfg.version),
        });
    }

    fn multicast(&mut self, m: &Message) {
        self.out.push_back(Transmit {
            to: Destination::Multicast,
            payload: lan::encode(m, self.cfg.version),
        });
    }
}

#[cfg(test)]
mod tests;
