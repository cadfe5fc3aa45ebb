//! The driver task: owns the sockets, the sessions, the registry; see the
//! [parent module](super) for the picture.
//!
//! One loop waits for whichever comes first: a command from a handle, a datagram on either
//! socket, a probe result, or the earliest deadline (sessions' retries and liveness, the
//! discovery schedule, device availability). Each input is handled to completion, then every
//! session's transmits are sent and its events processed. Nothing in the loop waits on a
//! subscriber or a handle.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use lumi_proto::catalogue::{self, TypedValue};
use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::{self, DeviceMessage, Message, Props, ProtoVersion, Sid};
use lumi_proto::session::RequestId;
use lumi_proto::session::gateway::{
    GatewaySession, Op, Reply, SessionConfig, SessionEvent, TokenSource, Unmatched,
};
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::event::{DropReason, Event, Origin, TokenOrigin};
use super::registry::{DeviceInfo, GatewayInfo, Record, RegistryStatus, Source};
use super::{ClientConfig, ClientError, ClientStats, DeviceData, StaticGateway};
use crate::discovery::{self, DiscoveryError, FoundGateway, ProbedGateway};
use crate::net;

type Answer<T> = oneshot::Sender<Result<T, ClientError>>;

/// What a handle asks the driver.
pub(crate) enum Command {
    Read {
        sid: Sid,
        reply: Answer<DeviceData>,
    },
    Write {
        sid: Sid,
        props: Props,
        reply: Answer<DeviceData>,
    },
    Set {
        sid: Sid,
        values: Vec<(String, TypedValue)>,
        reply: Answer<DeviceData>,
    },
    Device {
        sid: Sid,
        reply: oneshot::Sender<Option<DeviceInfo>>,
    },
    Devices(oneshot::Sender<Vec<DeviceInfo>>),
    Gateways(oneshot::Sender<Vec<GatewayInfo>>),
    Ready(oneshot::Sender<()>),
    Stats(oneshot::Sender<ClientStats>),
    Shutdown(oneshot::Sender<()>),
}

/// The password a session gets when none is configured. Writes to such a gateway are refused
/// by the driver before they reach the session ([`ClientError::NoPassword`]), so this never
/// keys a datagram.
const NO_PASSWORD: &str = "lumi-no-password";

/// `whois` is not sent more often than this for gateways seen by their heartbeats.
const WHOIS_MIN_INTERVAL: Duration = Duration::from_secs(2);
/// `whois` tries before a gateway seen only by its heartbeats is adopted (or moved) anyway.
const WHOIS_TRIES: u32 = 3;
/// Gateways heard by their heartbeats but not yet adopted, at most (a bound against spoofed
/// heartbeats with ever new sids).
const MAX_HINTS: usize = 32;
/// Sub-devices kept per gateway, at most (real gateways pair up to about 128).
const MAX_DEVICES: usize = 1024;
/// At most one [`Event::Dropped`] per this long.
const DROP_EVENT_INTERVAL: Duration = Duration::from_secs(1);
/// At most one log line about dropped datagrams per this long.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);

enum PendingKind {
    /// A handle's read or write.
    User(Answer<DeviceData>),
    /// A read of the gateway to learn its version, then a typed write.
    SetAfterVersion {
        sid: Sid,
        values: Vec<(String, TypedValue)>,
        reply: Answer<DeviceData>,
    },
    /// The registry's id list.
    IdList,
    /// The registry's read of a device (or of the gateway itself).
    RegistryRead,
}

struct Pending {
    op: Op,
    target: Sid,
    props: Props,
    kind: PendingKind,
}

struct Loading {
    list_done: bool,
    queue: VecDeque<Sid>,
    in_flight: usize,
    unread: usize,
}

struct Gw {
    sid: Sid,
    addr: SocketAddr,
    model: Option<String>,
    origin: Origin,
    password: Option<GatewayPassword>,
    session: GatewaySession,
    /// `None` until the session says online or offline.
    online: Option<bool>,
    last_heartbeat: Option<Instant>,
    /// When the session last took a fresh token (heartbeat or `get_id_list`).
    token_at: Option<Instant>,
    /// Datagrams received from its address (or heartbeats with its sid).
    datagrams: u64,
    pending: HashMap<RequestId, Pending>,
    status: RegistryStatus,
    loading: Loading,
    /// The gateway's own properties.
    own: Record,
    devices: BTreeMap<Sid, Record>,
}

/// A gateway heard by its heartbeat that is unknown or at a new address.
struct Hint {
    sid: Sid,
    ip: IpAddr,
    whois: u32,
}

#[derive(Default)]
struct DropLog {
    total: u64,
    since_log: u64,
    last_event: Option<Instant>,
    last_log: Option<Instant>,
}

type ProbeResult = (StaticGateway, Result<ProbedGateway, DiscoveryError>);

enum Input {
    Command(Option<Command>),
    Datagram(io::Result<(usize, SocketAddr)>, bool),
    Probe(Option<Result<ProbeResult, tokio::task::JoinError>>),
    Timer,
    /// Reading was paused for the subscribers to catch up (`ClientConfig::backpressure`).
    Resume,
}

/// How often a paused driver looks whether its subscribers caught up.
const RESUME_CHECK: Duration = Duration::from_millis(1);
/// How often the multicast interface is looked at (a `getifaddrs`: cheap).
const INTERFACE_CHECK: Duration = Duration::from_secs(2);

pub(crate) fn spawn(
    cfg: ClientConfig,
    rx: mpsc::Receiver<Command>,
    events: broadcast::Sender<std::sync::Arc<Event>>,
) -> Result<(), ClientError> {
    let iface = cfg.net.interface;
    let cmd = net::command_socket(&cfg.net).map_err(|source| ClientError::Socket {
        what: "command socket",
        interface: iface,
        source,
    })?;
    let report = if cfg.listen {
        Some(
            net::report_socket(&cfg.net).map_err(|source| ClientError::Socket {
                what: "report socket (multicast listener)",
                interface: iface,
                source,
            })?,
        )
    } else {
        None
    };
    let iface_state = if cfg.listen {
        net::interface_state(iface).ok().flatten()
    } else {
        None
    };
    let mut probes = JoinSet::new();
    for g in &cfg.gateways {
        let (net, g, timeout) = (cfg.net, g.clone(), cfg.request_timeout);
        probes.spawn(async move {
            let r = discovery::probe(&net, g.addr, timeout).await;
            (g, r)
        });
    }
    let d = Driver {
        started: Instant::now(),
        cfg,
        cmd,
        report,
        rx,
        events,
        gws: Vec::new(),
        probes,
        whois_sent: 0,
        last_whois: None,
        hints: Vec::new(),
        deferred: Vec::new(),
        waiters: Vec::new(),
        stats: ClientStats::default(),
        drops: DropLog::default(),
        avail_due: None,
        avail_rescan: true,
        iface: Iface {
            state: iface_state,
            next_check: Instant::now() + INTERFACE_CHECK,
            down_since: None,
        },
    };
    tokio::spawn(d.run());
    Ok(())
}

struct Driver {
    cfg: ClientConfig,
    cmd: UdpSocket,
    report: Option<UdpSocket>,
    rx: mpsc::Receiver<Command>,
    events: broadcast::Sender<std::sync::Arc<Event>>,
    gws: Vec<Gw>,
    probes: JoinSet<ProbeResult>,
    started: Instant,
    whois_sent: u32,
    last_whois: Option<Instant>,
    hints: Vec<Hint>,
    deferred: Vec<Command>,
    waiters: Vec<oneshot::Sender<()>>,
    stats: ClientStats,
    drops: DropLog,
    /// No sub-device's availability deadline is before this (`None`: none is running).
    avail_due: Option<Instant>,
    /// Recompute `avail_due` from every device before the next wait.
    avail_rescan: bool,
    /// The multicast interface, as last seen.
    iface: Iface,
}

/// The multicast interface, watched so that the client joins the group again when it comes
/// back (an interface removed and created again, a Wi-Fi or VPN reconnecting, loses every
/// membership on it: without a new join nothing would ever arrive again).
struct Iface {
    /// `None`: gone or down.
    state: Option<net::InterfaceState>,
    next_check: Instant,
    /// When it went away (for the event when it is back).
    down_since: Option<Instant>,
}

/// Reports handled per wake-up of the driver, at most (see [`Driver::more_reports`]).
const REPORT_BATCH: usize = 32;

fn std_now(now: Instant) -> std::time::Instant {
    now.into_std()
}

impl Driver {
    async fn run(mut self) {
        let mut cbuf = vec![0u8; lan::MAX_DATAGRAM + 1];
        let mut rbuf = vec![0u8; lan::MAX_DATAGRAM + 1];
        let done = loop {
            let deadline = self
                .next_deadline()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let backlogged = self.cfg.backpressure
                && self.events.len() >= self.cfg.event_capacity.saturating_mul(3) / 4;
            let report = self.report.as_ref().filter(|_| !backlogged);
            let input = tokio::select! {
                c = self.rx.recv() => Input::Command(c),
                r = self.cmd.recv_from(&mut cbuf) => Input::Datagram(r, false),
                r = async {
                    match report {
                        Some(s) => s.recv_from(&mut rbuf).await,
                        None => std::future::pending().await,
                    }
                } => Input::Datagram(r, true),
                p = self.probes.join_next(), if !self.probes.is_empty() => Input::Probe(p),
                _ = tokio::time::sleep_until(deadline) => Input::Timer,
                _ = tokio::time::sleep(RESUME_CHECK), if backlogged => Input::Resume,
            };
            let now = Instant::now();
            match input {
                Input::Command(None) => break None,
                Input::Command(Some(Command::Shutdown(done))) => break Some(done),
                Input::Command(Some(c)) => self.command(now, c),
                Input::Datagram(Ok((n, from)), on_report) => {
                    let buf = if on_report { &rbuf } else { &cbuf };
                    if let Some(bytes) = buf.get(..n) {
                        self.datagram(now, from, bytes).await;
                    }
                    if on_report {
                        self.more_reports(now, &mut rbuf).await;
                    }
                }
                Input::Datagram(Err(e), on_report) => {
                    // Unconnected UDP sockets only report transient errors (ICMP on some
                    // systems); never fatal.
                    tracing::debug!(report_socket = on_report, "receive error: {e}");
                }
                Input::Probe(Some(Ok((g, r)))) => self.probed(now, g, r),
                Input::Probe(Some(Err(e))) => tracing::warn!("a gateway probe task failed: {e}"),
                Input::Probe(None) => {}
                Input::Timer => self.timer(now).await,
                Input::Resume => {}
            }
            self.flush(now).await;
            if self.settle(now) {
                self.flush(now).await;
            }
        };
        tracing::debug!("LAN client driver stopped");
        // Close the sockets before saying so.
        drop(self);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    /// In a burst, the reports already waiting on the report socket (up to
    /// [`REPORT_BATCH`] in all), without going back to the `select!` for each: its timer,
    /// channel and backpressure checks cost more than a report. With backpressure, the
    /// batch stays within the quarter of the event channel kept free (see `backlogged`),
    /// at up to two events per report.
    async fn more_reports(&mut self, now: Instant, buf: &mut [u8]) {
        let batch = if self.cfg.backpressure {
            REPORT_BATCH.min(self.cfg.event_capacity.max(16) / 8)
        } else {
            REPORT_BATCH
        };
        for _ in 1..batch {
            let Some(socket) = self.report.as_ref() else {
                return;
            };
            match socket.try_recv_from(buf) {
                Ok((n, from)) => {
                    if let Some(bytes) = buf.get(..n) {
                        self.datagram(now, from, bytes).await;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!(report_socket = true, "receive error: {e}");
                    return;
                }
            }
        }
    }

    fn emit(&self, e: Event) {
        // No subscriber is fine; a slow one lags (see `Events`), never blocks us.
        let _ = self.events.send(std::sync::Arc::new(e));
    }

    // --- deadlines ----------------------------------------------------------------------

    /// The next time the driver must wake. Asked after every input, so it must not look at
    /// every device: their availability deadlines are kept as a lower bound
    /// ([`Driver::avail_due`]), rescanned only after the timer ran or devices were listed.
    fn next_deadline(&mut self) -> Option<Instant> {
        if self.avail_rescan {
            self.avail_rescan = false;
            self.avail_due = None;
            for g in &self.gws {
                for r in g.devices.values().filter(|r| r.available) {
                    let base = r.last_seen.unwrap_or(r.known_since);
                    let t = base + self.cfg.availability.silence_for(&r.sid, r.device);
                    self.avail_due = Some(self.avail_due.map_or(t, |n| n.min(t)));
                }
            }
        }
        let mut next: Option<Instant> = self.avail_due;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if self.cfg.listen {
            at(self.iface.next_check);
        }
        for g in &self.gws {
            if let Some(t) = g.session.poll_timeout() {
                at(Instant::from_std(t));
            }
        }
        if self.cfg.discover {
            if self.whois_sent < 3 {
                at(self.started + self.cfg.discovery_window * self.whois_sent / 3);
            }
            let end = self.started + self.cfg.discovery_window;
            if Instant::now() < end {
                at(end);
            }
        }
        next
    }

    async fn timer(&mut self, now: Instant) {
        if self.cfg.listen && self.iface.next_check <= now {
            self.iface.next_check = now + INTERFACE_CHECK;
            self.check_interface(now).await;
        }
        if self.cfg.discover && self.whois_sent < 3 {
            let due = self.started + self.cfg.discovery_window * self.whois_sent / 3;
            if due <= now {
                self.whois_sent += 1;
                self.send_whois(now).await;
            }
        }
        for g in &mut self.gws {
            if g.session.poll_timeout().is_some_and(|t| t <= std_now(now)) {
                g.session.handle_timeout(std_now(now));
            }
        }
        let mut changes = Vec::new();
        self.avail_rescan = true;
        for g in &mut self.gws {
            for r in g.devices.values_mut().filter(|r| r.available) {
                let silent = r.silent_for(now);
                if silent >= self.cfg.availability.silence_for(&r.sid, r.device) {
                    r.available = false;
                    tracing::info!(gateway = %g.sid, device = %r.sid, "device unavailable after {silent:?} of silence");
                    changes.push(Event::DeviceAvailability {
                        gateway: g.sid.clone(),
                        sid: r.sid.clone(),
                        available: false,
                        silent_for: silent,
                    });
                }
            }
        }
        for e in changes {
            self.emit(e);
        }
    }

    /// Notices the interface going away and coming back; joins the group again when it is.
    async fn check_interface(&mut self, now: Instant) {
        let ip = self.cfg.net.interface;
        let current = match net::interface_state(ip) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("cannot look at the network interfaces: {e}");
                return;
            }
        };
        let replaced =
            matches!((&self.iface.state, &current), (Some(a), Some(b)) if a.index != b.index);
        if self.iface.state.is_some() && (current.is_none() || replaced) {
            tracing::warn!(
                interface = %ip,
                "the multicast interface is gone or down: no heartbeat or report can arrive until it is back"
            );
            self.iface.state = None;
            self.iface.down_since = Some(now);
            self.emit(Event::InterfaceDown { interface: ip });
        }
        if self.iface.state.is_none() && current.is_some() {
            // New sockets: the old report socket's membership, and the command socket's
            // multicast interface, may have gone with the old interface (the kernel keeps
            // them by interface index). Replies still on their way to the old command socket
            // are lost; their requests time out and are retried as usual.
            match net::report_socket(&self.cfg.net)
                .and_then(|r| Ok((r, net::command_socket(&self.cfg.net)?)))
            {
                Ok((report, cmd)) => {
                    self.report = Some(report);
                    self.cmd = cmd;
                    let down_for = self
                        .iface
                        .down_since
                        .take()
                        .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
                    tracing::info!(
                        interface = %ip,
                        "the multicast interface is back after {down_for:?}: joined {} again",
                        self.cfg.net.group
                    );
                    self.iface.state = current;
                    self.emit(Event::InterfaceUp {
                        interface: ip,
                        down_for,
                    });
                    // The gateways may have moved meanwhile: ask them where they are.
                    if self.cfg.discover {
                        self.send_whois(now).await;
                    }
                }
                Err(e) => tracing::warn!(
                    interface = %ip,
                    "the interface is back but the multicast group cannot be joined yet ({e}); trying again in {INTERFACE_CHECK:?}"
                ),
            }
        }
    }

    async fn send_whois(&mut self, now: Instant) {
        self.last_whois = Some(now);
        if let Err(e) = discovery::whois(&self.cmd, &self.cfg.net).await {
            tracing::warn!(interface = %self.cfg.net.interface, "cannot send whois: {e}");
        }
    }

    // --- settling and deferred requests ---------------------------------------------------

    fn settled(&self, now: Instant) -> bool {
        (!self.cfg.discover || now >= self.started + self.cfg.discovery_window)
            && self.probes.is_empty()
            && self.gws.iter().all(|g| g.status != RegistryStatus::Loading)
    }

    /// Answers `ready()` waiters once settled, and dispatches deferred requests whose sid a
    /// gateway now lists (or, once settled, fails them). True when a request was dispatched
    /// (its datagram is then waiting to be flushed).
    fn settle(&mut self, now: Instant) -> bool {
        if self.waiters.is_empty() && self.deferred.is_empty() {
            return false;
        }
        let settled = self.settled(now);
        if settled {
            for w in self.waiters.drain(..) {
                let _ = w.send(());
            }
        }
        let mut dispatched = false;
        for c in std::mem::take(&mut self.deferred) {
            let known = match &c {
                Command::Read { sid, .. }
                | Command::Write { sid, .. }
                | Command::Set { sid, .. } => self.locate(sid).is_some(),
                _ => true,
            };
            if known || settled {
                dispatched = true;
            }
            // Not known and not settled: `command` defers it again.
            self.command(now, c);
        }
        dispatched
    }

    // --- commands -------------------------------------------------------------------------

    /// The gateway that has `sid` (as itself or a sub-device).
    fn locate(&self, sid: &Sid) -> Option<usize> {
        self.gws
            .iter()
            .position(|g| &g.sid == sid)
            .or_else(|| self.gws.iter().position(|g| g.devices.contains_key(sid)))
    }

    fn unknown(&self, sid: Sid) -> ClientError {
        ClientError::UnknownDevice {
            sid,
            gateways: self.gws.len(),
            devices: self.gws.iter().map(|g| g.devices.len()).sum(),
        }
    }

    /// `Some(i)` when the sid's gateway is known; otherwise the command is deferred (until
    /// settled) or answered with `UnknownDevice`, and `None` is returned.
    fn route(&mut self, now: Instant, sid: &Sid, c: Command) -> Option<(usize, Command)> {
        if let Some(i) = self.locate(sid) {
            return Some((i, c));
        }
        if !self.settled(now) {
            self.deferred.push(c);
            return None;
        }
        let e = self.unknown(sid.clone());
        match c {
            Command::Read { reply, .. }
            | Command::Write { reply, .. }
            | Command::Set { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            _ => {}
        }
        None
    }

    fn command(&mut self, now: Instant, c: Command) {
        match c {
            Command::Read { sid, reply } => {
                let s = sid.clone();
                if let Some((i, Command::Read { sid, reply })) =
                    self.route(now, &s, Command::Read { sid, reply })
                {
                    self.submit(
                        i,
                        now,
                        Op::Read,
                        sid,
                        Props::new(),
                        PendingKind::User(reply),
                    );
                }
            }
            Command::Write { sid, props, reply } => {
                let s = sid.clone();
                if let Some((i, Command::Write { sid, props, reply })) =
                    self.route(now, &s, Command::Write { sid, props, reply })
                {
                    if self.gws[i].password.is_none() {
                        let gateway = self.gws[i].sid.clone();
                        let _ = reply.send(Err(ClientError::NoPassword { gateway, sid }));
                        return;
                    }
                    self.submit(i, now, Op::Write, sid, props, PendingKind::User(reply));
                }
            }
            Command::Set { sid, values, reply } => {
                let s = sid.clone();
                if let Some((i, Command::Set { sid, values, reply })) =
                    self.route(now, &s, Command::Set { sid, values, reply })
                {
                    self.set(i, now, sid, values, reply);
                }
            }
            Command::Device { sid, reply } => {
                let info = self.locate(&sid).and_then(|i| {
                    let g = &self.gws[i];
                    if g.sid == sid {
                        let mut info = g.own.info(&g.sid, now);
                        info.available = g.online == Some(true);
                        Some(info)
                    } else {
                        g.devices.get(&sid).map(|r| r.info(&g.sid, now))
                    }
                });
                let _ = reply.send(info);
            }
            Command::Devices(reply) => {
                let list = self
                    .gws
                    .iter()
                    .flat_map(|g| g.devices.values().map(|r| r.info(&g.sid, now)))
                    .collect();
                let _ = reply.send(list);
            }
            Command::Gateways(reply) => {
                let list = self.gws.iter().map(|g| gateway_info(g, now)).collect();
                let _ = reply.send(list);
            }
            Command::Ready(reply) => self.waiters.push(reply),
            Command::Stats(reply) => {
                let mut s = self.stats;
                s.gateways = self.gws.len();
                s.devices = self.gws.iter().map(|g| g.devices.len()).sum();
                let _ = reply.send(s);
            }
            Command::Shutdown(_) => {}
        }
    }

    /// A typed write: the model and version decide the raw properties.
    fn set(
        &mut self,
        i: usize,
        now: Instant,
        sid: Sid,
        values: Vec<(String, TypedValue)>,
        reply: Answer<DeviceData>,
    ) {
        let g = &self.gws[i];
        let model = if g.sid == sid {
            g.own.model.clone().or_else(|| g.model.clone())
        } else {
            g.devices.get(&sid).and_then(|r| r.model.clone())
        };
        let Some(model) = model else {
            let _ = reply.send(Err(ClientError::UnknownModel { sid }));
            return;
        };
        let Some(version) = g.session.version() else {
            // Learn the version by reading the gateway, then write.
            let gw = g.sid.clone();
            self.submit(
                i,
                now,
                Op::Read,
                gw,
                Props::new(),
                PendingKind::SetAfterVersion { sid, values, reply },
            );
            return;
        };
        let refs: Vec<(&str, TypedValue)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let props = match catalogue::encode_write(&model, version, &refs) {
            Ok(p) => p,
            Err(source) => {
                let _ = reply.send(Err(ClientError::Write { sid, source }));
                return;
            }
        };
        if g.password.is_none() {
            let gateway = g.sid.clone();
            let _ = reply.send(Err(ClientError::NoPassword { gateway, sid }));
            return;
        }
        self.submit(i, now, Op::Write, sid, props, PendingKind::User(reply));
    }

    fn submit(
        &mut self,
        i: usize,
        now: Instant,
        op: Op,
        target: Sid,
        props: Props,
        kind: PendingKind,
    ) {
        let g = &mut self.gws[i];
        let t = std_now(now);
        let id = match op {
            Op::Write => g.session.write(t, target.clone(), props.clone()),
            Op::GetIdList => g.session.get_id_list(t),
            _ => g.session.read(t, target.clone()),
        };
        g.pending.insert(
            id,
            Pending {
                op,
                target,
                props,
                kind,
            },
        );
    }

    // --- datagrams --------------------------------------------------------------------------

    fn gw_index(&self, sid: &Sid) -> Option<usize> {
        self.gws.iter().position(|g| &g.sid == sid)
    }

    fn gw_by_ip(&self, ip: IpAddr) -> Option<usize> {
        self.gws.iter().position(|g| g.addr.ip() == ip)
    }

    async fn datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        self.stats.datagrams += 1;
        let decoded = lan::decode(bytes);
        if let Ok(d) = &decoded {
            match &d.message {
                Message::Iam(iam) => {
                    match discovery::gateway_from_iam(from, iam) {
                        Some(found) => self.iam(now, found),
                        None => self.dropped(now, DropReason::Unmatched, from, "iam"),
                    }
                    return;
                }
                // A gateway heartbeat goes to the session of its sid (even if another
                // gateway was seen at this IP before).
                Message::Heartbeat(m) if m.token.is_some() => match self.gw_index(&m.sid) {
                    Some(i) if self.gws[i].addr.ip() == from.ip() => {
                        self.gws[i].last_heartbeat = Some(now);
                        self.gws[i].datagrams += 1;
                        self.hints.retain(|h| h.sid != m.sid);
                        self.gws[i]
                            .session
                            .handle_datagram(std_now(now), from, bytes);
                        return;
                    }
                    _ => {
                        self.heartbeat_hint(now, m, from).await;
                        return;
                    }
                },
                Message::Whois => return,
                _ => {}
            }
        }
        match self.gw_by_ip(from.ip()) {
            Some(i) => {
                self.gws[i].datagrams += 1;
                self.gws[i]
                    .session
                    .handle_datagram(std_now(now), from, bytes)
            }
            None => {
                let (reason, cmd) = match &decoded {
                    Ok(d) => (
                        DropReason::Foreign,
                        d.message.cmd(d.version.unwrap_or(ProtoVersion::V1)),
                    ),
                    Err(e) => {
                        self.stats.decode_errors.count(e);
                        (DropReason::Undecodable, "")
                    }
                };
                self.dropped(now, reason, from, cmd);
            }
        }
    }

    fn dropped(&mut self, now: Instant, reason: DropReason, from: SocketAddr, cmd: &'static str) {
        match reason {
            DropReason::Foreign => self.stats.dropped_foreign += 1,
            DropReason::Unmatched => self.stats.dropped_unmatched += 1,
            DropReason::Undecodable => self.stats.dropped_undecodable += 1,
        }
        let d = &mut self.drops;
        d.total += 1;
        d.since_log += 1;
        if d.last_log
            .is_none_or(|t| now.saturating_duration_since(t) >= DROP_LOG_INTERVAL)
        {
            tracing::info!(
                "dropped {} datagram(s) (latest: {cmd:?} from {from}, {reason:?}; {} in total)",
                d.since_log,
                d.total
            );
            d.last_log = Some(now);
            d.since_log = 0;
        }
        if d.last_event
            .is_none_or(|t| now.saturating_duration_since(t) >= DROP_EVENT_INTERVAL)
        {
            d.last_event = Some(now);
            let total = d.total;
            self.emit(Event::Dropped {
                reason,
                from,
                cmd,
                total,
            });
        }
    }

    /// A gateway heartbeat from a gateway that is unknown or at a new address.
    async fn heartbeat_hint(&mut self, now: Instant, m: &DeviceMessage, from: SocketAddr) {
        let sid = m.sid.clone();
        let known = self.gw_index(&sid);
        // A gateway configured by this address is adopted at once.
        if known.is_none()
            && let Some(s) = self
                .cfg
                .gateways
                .iter()
                .find(|g| g.addr.ip() == from.ip())
                .cloned()
        {
            let found = FoundGateway {
                sid,
                addr: s.addr,
                model: m.model.clone(),
                proto_version: None,
                version: s.version,
            };
            self.adopt(now, found, Origin::Static);
            return;
        }
        if known.is_none() && !self.cfg.discover {
            self.dropped(now, DropReason::Foreign, from, "heartbeat");
            return;
        }
        let idx = match self.hints.iter().position(|h| h.sid == sid) {
            Some(i) => i,
            None if self.hints.len() >= MAX_HINTS => {
                // Heartbeats with ever new sids are not gateways coming and going.
                self.dropped(now, DropReason::Foreign, from, "heartbeat");
                return;
            }
            None => {
                tracing::info!(gateway = %sid, %from, "heartbeat from a gateway that is unknown or moved; asking whois");
                self.hints.push(Hint {
                    sid: sid.clone(),
                    ip: from.ip(),
                    whois: 0,
                });
                self.hints.len() - 1
            }
        };
        if self.hints[idx].ip != from.ip() {
            self.hints[idx].ip = from.ip();
            self.hints[idx].whois = 0;
        }
        let tries_done = self.hints[idx].whois >= WHOIS_TRIES || !self.cfg.discover;
        if tries_done {
            // It does not answer whois: take the address its heartbeats come from.
            self.hints.remove(idx);
            match known {
                Some(i) => {
                    let to = SocketAddr::new(from.ip(), self.gws[i].addr.port());
                    self.move_gw(now, i, to);
                }
                None => {
                    let found = FoundGateway {
                        sid,
                        addr: SocketAddr::new(from.ip(), net::COMMAND_PORT),
                        model: m.model.clone(),
                        proto_version: None,
                        version: None,
                    };
                    self.adopt(now, found, Origin::Heartbeat);
                }
            }
            return;
        }
        if self
            .last_whois
            .is_none_or(|t| now.saturating_duration_since(t) >= WHOIS_MIN_INTERVAL)
        {
            self.hints[idx].whois += 1;
            self.send_whois(now).await;
        }
    }

    fn iam(&mut self, now: Instant, found: FoundGateway) {
        self.hints.retain(|h| h.sid != found.sid);
        match self.gw_index(&found.sid) {
            Some(i) => {
                let g = &mut self.gws[i];
                if g.model.is_none() {
                    g.model = found.model.clone();
                }
                if g.addr != found.addr {
                    self.move_gw(now, i, found.addr);
                }
            }
            None => {
                let configured =
                    self.cfg.gateways.iter().any(|s| {
                        s.sid.as_ref() == Some(&found.sid) || s.addr.ip() == found.addr.ip()
                    });
                if self.cfg.discover || configured {
                    self.adopt(now, found, Origin::Discovery);
                }
            }
        }
    }

    fn probed(&mut self, now: Instant, g: StaticGateway, r: Result<ProbedGateway, DiscoveryError>) {
        match r {
            Ok(p) => {
                let mut found = p.gateway;
                found.addr = g.addr;
                if g.version.is_some() {
                    found.version = g.version;
                }
                self.adopt(now, found, Origin::Static);
            }
            Err(e) => {
                tracing::warn!(addr = %g.addr, "{e}");
                self.emit(Event::GatewayLost {
                    gateway: g.sid.clone(),
                    addr: g.addr,
                    reason: e.to_string(),
                });
                // With a sid it is adopted anyway: requests will retry when it is back.
                if let Some(sid) = g.sid
                    && self.gw_index(&sid).is_none()
                {
                    let found = FoundGateway {
                        sid,
                        addr: g.addr,
                        model: None,
                        proto_version: None,
                        version: g.version,
                    };
                    self.adopt(now, found, Origin::Static);
                }
            }
        }
    }

    fn session_config(
        &self,
        addr: SocketAddr,
        sid: Sid,
        password: Option<&GatewayPassword>,
        version: Option<ProtoVersion>,
    ) -> SessionConfig {
        let password = password.cloned().unwrap_or_else(|| {
            GatewayPassword::new(NO_PASSWORD)
                .unwrap_or_else(|_| unreachable!("16 printable characters"))
        });
        let mut c = SessionConfig::new(addr, sid, password);
        c.version = version;
        let attempts = self.cfg.attempts.max(1);
        c.max_attempts = attempts;
        c.attempt_timeout = (self.cfg.request_timeout / attempts).max(Duration::from_millis(20));
        c.offline_after = self.cfg.offline_after;
        c
    }

    fn adopt(&mut self, now: Instant, found: FoundGateway, origin: Origin) {
        if let Some(i) = self.gw_index(&found.sid) {
            if self.gws[i].addr != found.addr {
                self.move_gw(now, i, found.addr);
            }
            return;
        }
        let password = self
            .cfg
            .passwords
            .lookup(&found.sid, found.addr.ip())
            .cloned();
        let version = self
            .cfg
            .gateways
            .iter()
            .find(|s| s.sid.as_ref() == Some(&found.sid) || s.addr == found.addr)
            .and_then(|s| s.version)
            .or(found.version);
        let scfg = self.session_config(found.addr, found.sid.clone(), password.as_ref(), version);
        tracing::info!(gateway = %found.sid, addr = %found.addr, ?origin, "gateway adopted");
        let load = self.cfg.load_devices;
        let mut own = Record::new(found.sid.clone(), found.model.clone(), now);
        own.available = false;
        self.gws.push(Gw {
            sid: found.sid.clone(),
            addr: found.addr,
            model: found.model.clone(),
            origin,
            password,
            session: GatewaySession::new(scfg, std_now(now)),
            online: None,
            last_heartbeat: None,
            token_at: None,
            datagrams: 0,
            pending: HashMap::new(),
            status: if load {
                RegistryStatus::Loading
            } else {
                RegistryStatus::Ready
            },
            loading: Loading {
                list_done: false,
                queue: VecDeque::new(),
                in_flight: 0,
                unread: 0,
            },
            own,
            devices: BTreeMap::new(),
        });
        self.emit(Event::GatewayAppeared {
            gateway: found.sid.clone(),
            addr: found.addr,
            model: found.model,
            version,
            origin,
        });
        if load {
            let i = self.gws.len() - 1;
            self.gws[i].loading.in_flight += 1;
            self.submit(
                i,
                now,
                Op::Read,
                found.sid,
                Props::new(),
                PendingKind::RegistryRead,
            );
            let sid = self.gws[i].sid.clone();
            self.submit(
                i,
                now,
                Op::GetIdList,
                sid,
                Props::new(),
                PendingKind::IdList,
            );
        }
    }

    /// The gateway answers at `to` now: a new session there, with every outstanding request.
    fn move_gw(&mut self, now: Instant, i: usize, to: SocketAddr) {
        let from = self.gws[i].addr;
        let sid = self.gws[i].sid.clone();
        let version = self.gws[i].session.version();
        let password = self
            .cfg
            .passwords
            .lookup(&sid, to.ip())
            .cloned()
            .or_else(|| self.gws[i].password.clone());
        let scfg = self.session_config(to, sid.clone(), password.as_ref(), version);
        tracing::info!(gateway = %sid, %from, %to, "gateway moved");
        let g = &mut self.gws[i];
        g.addr = to;
        g.password = password;
        g.session = GatewaySession::new(scfg, std_now(now));
        let mut pending: Vec<(RequestId, Pending)> = g.pending.drain().collect();
        pending.sort_by_key(|(id, _)| *id);
        for (_, p) in pending {
            self.submit(i, now, p.op, p.target, p.props, p.kind);
        }
        self.emit(Event::GatewayMoved {
            gateway: sid,
            from,
            to,
        });
    }

    // --- session output ----------------------------------------------------------------------

    /// Sends every session's datagrams and handles its events, until neither is left
    /// (handling an event can queue requests: registry reads, a write after a version probe).
    async fn flush(&mut self, now: Instant) {
        for i in 0..self.gws.len() {
            loop {
                while let Some(t) = self.gws[i].session.poll_transmit() {
                    if let Err(e) = self.cmd.send_to(&t.payload, t.to).await {
                        tracing::warn!(gateway = %self.gws[i].sid, to = %t.to, "send failed: {e}");
                    }
                }
                let mut handled = false;
                while let Some(e) = self.gws[i].session.poll_event() {
                    handled = true;
                    self.session_event(now, i, e);
                }
                if !handled {
                    break;
                }
            }
        }
    }

    fn session_event(&mut self, now: Instant, i: usize, e: SessionEvent) {
        let gateway = self.gws[i].sid.clone();
        match e {
            SessionEvent::Completed { id, result } => self.completed(now, i, id, result),
            SessionEvent::Report { sid, model, props } => {
                self.stats.reports += 1;
                self.device_message(now, i, sid, model, props, Source::Report);
            }
            SessionEvent::Heartbeat { sid, model, props } => {
                self.stats.heartbeats += 1;
                self.device_message(now, i, sid, model, props, Source::Heartbeat);
            }
            // Without the multicast listener no heartbeat can arrive: liveness is unknown,
            // not "offline".
            SessionEvent::Online | SessionEvent::Offline { .. } if !self.cfg.listen => {}
            SessionEvent::Online if self.gws[i].online != Some(true) => {
                self.gws[i].online = Some(true);
                tracing::info!(%gateway, "gateway online");
                self.emit(Event::GatewayOnline { gateway });
            }
            SessionEvent::Offline { silent_for } if self.gws[i].online != Some(false) => {
                self.gws[i].online = Some(false);
                tracing::warn!(
                    %gateway,
                    "gateway offline: no heartbeat for {silent_for:?}; it is off, or its \
                     multicast does not reach this host (check --interface, IGMP snooping, \
                     Docker host networking)"
                );
                self.emit(Event::GatewayOffline {
                    gateway,
                    silent_for,
                });
            }
            SessionEvent::TokenRefreshed { source } => {
                self.gws[i].token_at = Some(now);
                let origin = match source {
                    TokenSource::Heartbeat => TokenOrigin::Heartbeat,
                    _ => TokenOrigin::IdList,
                };
                self.emit(Event::TokenRefreshed { gateway, origin });
            }
            SessionEvent::VersionLearned { version } => {
                tracing::debug!(%gateway, %version, "protocol version learned");
                self.emit(Event::VersionLearned { gateway, version });
            }
            SessionEvent::Unmatched { from, cmd, reason } => {
                let why = match reason {
                    Unmatched::ForeignAddress => DropReason::Foreign,
                    _ => DropReason::Unmatched,
                };
                tracing::debug!(%gateway, %from, cmd, ?reason, "unmatched datagram");
                self.dropped(now, why, from, cmd);
            }
            SessionEvent::Undecodable { from, error } => {
                tracing::debug!(%gateway, %from, "undecodable datagram: {error}");
                self.stats.decode_errors.count(&error);
                self.dropped(now, DropReason::Undecodable, from, "");
            }
            _ => {}
        }
    }

    fn device_message(
        &mut self,
        now: Instant,
        i: usize,
        sid: Sid,
        model: Option<String>,
        props: Props,
        source: Source,
    ) {
        let g = &self.gws[i];
        if sid != g.sid && g.devices.len() >= MAX_DEVICES && !g.devices.contains_key(&sid) {
            // Real gateways pair a few dozen devices; a flood of new sids is not news.
            let from = g.addr;
            self.dropped(now, DropReason::Unmatched, from, "report");
            return;
        }
        let g = &mut self.gws[i];
        let version = g.session.version().unwrap_or(ProtoVersion::V1);
        let gateway = g.sid.clone();
        let is_gateway = sid == g.sid;
        let record = if is_gateway {
            &mut g.own
        } else {
            g.devices
                .entry(sid.clone())
                .or_insert_with(|| Record::new(sid.clone(), None, now))
        };
        let silent_for = record.silent_for(now);
        let state = record.absorb(version, model.as_deref(), &props, source);
        record.last_seen = Some(now);
        if !is_gateway {
            // Its deadline moved later, unless it is new, came back or changed model: keep
            // the lower bound a lower bound.
            let due = now
                + self
                    .cfg
                    .availability
                    .silence_for(&record.sid, record.device);
            self.avail_due = Some(self.avail_due.map_or(due, |n| n.min(due)));
        }
        let came_back = !is_gateway && !record.available;
        record.available = true;
        if is_gateway && g.model.is_none() {
            g.model = model.clone();
        }
        if came_back {
            tracing::info!(%gateway, device = %sid, "device available again");
            self.emit(Event::DeviceAvailability {
                gateway: gateway.clone(),
                sid: sid.clone(),
                available: true,
                silent_for,
            });
        }
        let e = match source {
            Source::Heartbeat => Event::Heartbeat {
                gateway,
                sid,
                model,
                state,
                props,
            },
            _ => Event::Report {
                gateway,
                sid,
                model,
                state,
                props,
            },
        };
        self.emit(e);
    }

    /// The typed answer to a read or write, and (for reads) the registry updated with it.
    fn device_data(&mut self, i: usize, m: DeviceMessage, absorb: bool) -> DeviceData {
        let g = &mut self.gws[i];
        let version = g.session.version().unwrap_or(ProtoVersion::V1);
        let record = if m.sid == g.sid {
            Some(&mut g.own)
        } else {
            g.devices.get_mut(&m.sid)
        };
        let model = m
            .model
            .clone()
            .or_else(|| record.as_ref().and_then(|r| r.model.clone()));
        if absorb && let Some(r) = record {
            r.absorb(version, m.model.as_deref(), &m.props, Source::Read);
        }
        let state = catalogue::decode(model.as_deref().unwrap_or(""), version, &m.props);
        DeviceData {
            gateway: g.sid.clone(),
            sid: m.sid,
            model,
            state,
            props: m.props,
        }
    }

    fn completed(
        &mut self,
        now: Instant,
        i: usize,
        id: RequestId,
        result: Result<Reply, lumi_proto::session::gateway::SessionError>,
    ) {
        let Some(p) = self.gws[i].pending.remove(&id) else {
            return;
        };
        match p.kind {
            PendingKind::User(reply) => {
                let r = match result {
                    Ok(Reply::Read(m)) => Ok(self.device_data(i, m, true)),
                    Ok(Reply::Write(m)) => Ok(self.device_data(i, m, false)),
                    // A read or write is never answered with an id list.
                    Ok(_) => Err(ClientError::Closed),
                    Err(e) => Err(ClientError::from_session(e)),
                };
                // A device the gateway was told to remove is gone from the registry.
                if p.op == Op::Write
                    && r.is_ok()
                    && let Some(removed) = p
                        .props
                        .get_str("remove_device")
                        .and_then(|s| Sid::new(&s).ok())
                {
                    self.gws[i].devices.remove(&removed);
                }
                let _ = reply.send(r);
            }
            PendingKind::SetAfterVersion { sid, values, reply } => match result {
                Ok(_) if self.gws[i].session.version().is_some() => {
                    self.set(i, now, sid, values, reply);
                }
                Ok(_) => {
                    let _ = reply.send(Err(ClientError::Session(
                        lumi_proto::session::gateway::SessionError::VersionUnknown {
                            op: Op::Write,
                            gateway: self.gws[i].sid.clone(),
                            addr: self.gws[i].addr,
                            sid,
                            after: Duration::ZERO,
                        },
                    )));
                }
                Err(e) => {
                    let _ = reply.send(Err(ClientError::from_session(e)));
                }
            },
            PendingKind::IdList => self.id_list(now, i, result),
            PendingKind::RegistryRead => {
                let g = &mut self.gws[i];
                g.loading.in_flight = g.loading.in_flight.saturating_sub(1);
                match result {
                    Ok(Reply::Read(m)) => {
                        let version = g.session.version().unwrap_or(ProtoVersion::V1);
                        if m.sid == g.sid {
                            g.own
                                .absorb(version, m.model.as_deref(), &m.props, Source::Read);
                            if g.model.is_none() {
                                g.model = m.model.clone();
                            }
                        } else if let Some(r) = g.devices.get_mut(&m.sid) {
                            r.absorb(version, m.model.as_deref(), &m.props, Source::Read);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(gateway = %g.sid, device = %p.target, "device read failed: {e}");
                        if p.target != g.sid {
                            g.loading.unread += 1;
                            if let Some(r) = g.devices.get_mut(&p.target) {
                                r.unread = true;
                            }
                        }
                    }
                }
                self.pump_registry(now, i);
            }
        }
    }

    fn id_list(
        &mut self,
        now: Instant,
        i: usize,
        result: Result<Reply, lumi_proto::session::gateway::SessionError>,
    ) {
        let g = &mut self.gws[i];
        match result {
            Ok(Reply::IdList(list)) => {
                g.loading.list_done = true;
                self.avail_rescan = true;
                for e in list.devices.into_iter().take(MAX_DEVICES) {
                    if e.sid == g.sid {
                        continue;
                    }
                    let r = g
                        .devices
                        .entry(e.sid.clone())
                        .or_insert_with(|| Record::new(e.sid.clone(), None, now));
                    r.learn_model(e.model.as_deref());
                    g.loading.queue.push_back(e.sid);
                }
                tracing::debug!(gateway = %g.sid, devices = g.devices.len(), "device list");
                self.pump_registry(now, i);
            }
            Ok(_) => {}
            Err(e) => {
                let e = ClientError::from_session(e);
                tracing::warn!(gateway = %g.sid, "cannot read the device list: {e}");
                g.status = RegistryStatus::Failed;
                let (gateway, addr) = (g.sid.clone(), g.addr);
                self.emit(Event::GatewayLost {
                    gateway: Some(gateway),
                    addr,
                    reason: e.to_string(),
                });
            }
        }
    }

    fn pump_registry(&mut self, now: Instant, i: usize) {
        let limit = self.cfg.read_concurrency.max(1);
        while self.gws[i].loading.in_flight < limit {
            let Some(sid) = self.gws[i].loading.queue.pop_front() else {
                break;
            };
            self.gws[i].loading.in_flight += 1;
            self.submit(
                i,
                now,
                Op::Read,
                sid,
                Props::new(),
                PendingKind::RegistryRead,
            );
        }
        let g = &mut self.gws[i];
        if g.status == RegistryStatus::Loading
            && g.loading.list_done
            && g.loading.queue.is_empty()
            && g.loading.in_flight == 0
        {
            g.status = RegistryStatus::Ready;
            let (gateway, devices, unread) = (g.sid.clone(), g.devices.len(), g.loading.unread);
            tracing::info!(%gateway, devices, unread, "device list loaded");
            self.emit(Event::DevicesLoaded {
                gateway,
                devices,
                unread,
            });
        }
    }
}

fn gateway_info(g: &Gw, now: Instant) -> GatewayInfo {
    GatewayInfo {
        sid: g.sid.clone(),
        addr: g.addr,
        model: g.own.model.clone().or_else(|| g.model.clone()),
        version: g.session.version(),
        origin: g.origin,
        online: g.online == Some(true),
        last_heartbeat: g.last_heartbeat.map(|t| now.saturating_duration_since(t)),
        token_age: g.token_at.map(|t| now.saturating_duration_since(t)),
        datagrams: g.datagrams,
        has_password: g.password.is_some(),
        state: g.own.state(),
        devices: g.devices.len(),
        registry: g.status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_password_is_a_valid_one() {
        assert!(GatewayPassword::new(NO_PASSWORD).is_ok());
    }
}
