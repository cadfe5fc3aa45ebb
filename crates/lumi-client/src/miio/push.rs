//! [`PushServer`]: receives gateway events by posing as a miIO device.
//!
//! ## How it works
//!
//! The gateway can run local scenes "IF sub-device event THEN call a method on a Wi-Fi
//! device". [`PushServer::subscribe`] registers such a scene on a gateway (through its
//! [`MiioGateway`]) whose target is this server: a fake miIO device (python-miio's did
//! `120009025`, model `chuangmi.plug.v3` by default) at the IP the gateway reaches us on. When
//! the event fires, the gateway sends us a miIO request sealed with the **gateway's** token:
//!
//! ```text
//! gateway:54321 → us:54321   {"method":"click_ch0:lumi_158d0001a2b3c4","params":[],"from":"nbl.…","id":619969141}
//! us → gateway               {"result":0,"id":619969141}   sealed with the gateway token, did = our did
//! ```
//!
//! The server
//!
//! - answers the exact 32-byte hello (the gateway pings its targets) with a hello reply
//!   carrying our did and uptime stamp and no token — to registered gateways only; nobody
//!   else has any business with the fake device;
//! - opens datagrams from a registered gateway IP with that gateway's token and acks every
//!   request (the ack stops the gateway re-sending, so it is sent for duplicates too);
//! - delivers each event once: a re-send (same gateway, same message id within
//!   [`PushConfig::dedup_window`]) is acked but not delivered again;
//! - counts and logs (rate-limited) what it drops — datagrams from unknown addresses, bad
//!   checksums, undecodable payloads, methods it cannot parse — and never answers those.
//!
//! Scene ids are deterministic (`lumi_proto::miio::push::scene_id`): subscribing deletes the
//! scene id first (`miIO.xdel`) and then adds it, so a process that crashed and restarts
//! replaces its predecessor's scenes instead of piling up new ones. Scenes live in the
//! gateway until deleted: **await [`PushServer::unsubscribe_all`] on shutdown** (dropping the
//! handles stops the server but leaves the scenes on the gateways).
//!
//! One handle ([`PushServer`], cheap to clone) plus one driver task that owns the socket and
//! the state; events arrive on a bounded channel ([`PushEvents`]). If the consumer falls
//! behind and the channel is full, new events are dropped (counted in
//! [`PushStats::dropped_full`]) rather than delaying acks.
//!
//! Requirements on a real network: the host's UDP 54321 must be free (one push server per
//! host), and the gateway must reach the advertised IP (same network, no NAT).
//!
//! ```no_run
//! # async fn demo<R: lumi_client::miio::MiioRpc + 'static>(gateway: lumi_client::miio::gateway::MiioGateway<R>) -> Result<(), Box<dyn std::error::Error>> {
//! use lumi_client::miio::push::{PushConfig, PushServer};
//! use lumi_proto::lan::Sid;
//!
//! let (server, mut events) = PushServer::bind(PushConfig::default()).await?;
//! let cube = Sid::new("158d0001a2b3c4")?;
//! server.subscribe(&gateway, &cube, "lumi.sensor_cube.v1", "rotate").await?;
//! while let Some(e) = events.recv().await {
//!     println!("{} {} {}", e.sid, e.action, e.params);
//! #   break;
//! }
//! server.unsubscribe_all().await?;
//! # Ok(()) }
//! ```

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::error::Error as StdError;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lumi_proto::lan::Sid;
use lumi_proto::miio::gateway::node_id;
use lumi_proto::miio::push::{
    self, FAKE_DEVICE_ID, FAKE_MODEL, PushError, Scene, SceneId, TokenEnc,
};
use lumi_proto::miio::{Cipher, DeviceId, HELLO, HelloReply, MiioToken, PORT, RpcMessage};
use serde_json::Value;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::MiioRpc;
use super::gateway::MiioGateway;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// How a push server is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushConfig {
    /// Where to listen: `0.0.0.0:54321` (gateways send to port 54321 only); tests bind
    /// `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// The IP put into scenes. `None`: the bind IP if it is a specific one, otherwise the
    /// local IP the OS routes to each gateway from.
    pub advertise_ip: Option<IpAddr>,
    /// The fake device's did.
    pub device_id: DeviceId,
    /// The fake device's model (with the action and sid, at most 49 characters of command).
    pub model: String,
    /// How long a gateway message id is remembered to recognise re-sends.
    pub dedup_window: Duration,
    /// Capacity of the event channel.
    pub event_capacity: usize,
    /// At most one log line per this interval per kind of dropped datagram.
    pub log_interval: Duration,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, PORT)),
            advertise_ip: None,
            device_id: FAKE_DEVICE_ID,
            model: FAKE_MODEL.to_owned(),
            dedup_window: Duration::from_secs(60),
            event_capacity: 256,
            log_interval: Duration::from_secs(10),
        }
    }
}

/// An event pushed by a gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct PushEvent {
    /// The gateway (its miIO address as registered).
    pub gateway: SocketAddr,
    /// The sub-device (for gateway events: the id the scene named).
    pub sid: Sid,
    /// The action (`click_ch0`, `rotate`, …), as subscribed.
    pub action: String,
    /// The event data (`[angle, duration_ms]` for a cube rotation, else usually `[]`).
    pub params: Value,
    /// When it arrived (tokio's clock, so paused-time tests control it).
    pub at: Instant,
}

/// What the server has seen since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushStats {
    /// Datagrams received.
    pub datagrams: u64,
    /// Hellos answered.
    pub hellos: u64,
    /// Events delivered (or dropped because the channel was full).
    pub events: u64,
    /// Re-sent pushes recognised (acked, not delivered again).
    pub duplicates: u64,
    /// Datagrams from addresses that are no registered gateway (dropped, unanswered).
    pub unknown_sender: u64,
    /// Datagrams from a gateway that failed the checksum or did not decode (dropped).
    pub bad_packet: u64,
    /// Replies or other non-requests from a gateway (dropped).
    pub not_a_push: u64,
    /// Pushes whose method is not `action:lumi_<sid>` (acked, not delivered).
    pub unparsed: u64,
    /// Events dropped because the channel was full.
    pub dropped_full: u64,
}

/// A scene registered by [`PushServer::subscribe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The scene id on the gateway (the same for the same inputs, every time).
    pub scene_id: SceneId,
    /// The gateway.
    pub gateway: SocketAddr,
    /// The source sub-device.
    pub sid: Sid,
    /// Its model as the event table names it.
    pub model: &'static str,
    /// The action.
    pub action: &'static str,
}

/// Why the push server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushServerError {
    /// The socket could not be bound.
    #[error(
        "cannot bind the push server to {addr}: {source} (is another push server, e.g. \
         python-miio's, using the port?)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The IP facing a gateway could not be found.
    #[error(
        "cannot find the local ip that reaches gateway {gateway}: {source}; set \
         PushConfig::advertise_ip"
    )]
    LocalIp {
        /// The gateway.
        gateway: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The model/action is not in the event table, or the scene cannot be built.
    #[error(transparent)]
    Event(#[from] PushError),
    /// Events of the gateway itself (the alarm) need the gateway's own trigger.
    #[error(
        "event {action:?} is an event of the gateway itself; subscribe() takes sub-device \
         events"
    )]
    GatewayEvent {
        /// The action.
        action: &'static str,
    },
    /// The gateway refused or did not answer a scene operation.
    #[error("gateway {gateway}: {op} of scene {scene_id} failed: {source}")]
    Gateway {
        /// The gateway.
        gateway: SocketAddr,
        /// `add` or `delete`.
        op: &'static str,
        /// The scene.
        scene_id: SceneId,
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// Some scenes could not be removed (they are kept for another attempt).
    #[error("{failed} scene(s) could not be removed ({removed} removed); first failure: {first}")]
    Unsubscribe {
        /// How many failed.
        failed: usize,
        /// How many were removed.
        removed: usize,
        /// The first failure.
        #[source]
        first: Box<PushServerError>,
    },
    /// The driver task is gone.
    #[error("the push server has stopped")]
    Stopped,
}

/// Type-erased scene deletion, so the server can keep gateways of any caller type.
trait SceneRemover: Send + Sync {
    fn delete<'a>(
        &'a self,
        id: &'a SceneId,
    ) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>;
}

impl<R: MiioRpc + 'static> SceneRemover for MiioGateway<R> {
    fn delete<'a>(
        &'a self,
        id: &'a SceneId,
    ) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>> {
        Box::pin(async move {
            self.delete_scene(id)
                .await
                .map_err(|e| Box::new(e) as BoxError)
        })
    }
}

enum Command {
    Register {
        gateway: SocketAddr,
        token: MiioToken,
        remover: Arc<dyn SceneRemover>,
        done: oneshot::Sender<()>,
    },
    Remember {
        ip: IpAddr,
        scene: SceneId,
    },
    TakeScenes {
        reply: oneshot::Sender<Vec<GatewayScenes>>,
    },
    Stats {
        reply: oneshot::Sender<PushStats>,
    },
}

struct GatewayScenes {
    gateway: SocketAddr,
    remover: Arc<dyn SceneRemover>,
    scenes: BTreeSet<SceneId>,
}

/// The events of a [`PushServer`].
#[derive(Debug)]
pub struct PushEvents {
    rx: mpsc::Receiver<PushEvent>,
}

impl PushEvents {
    /// The next event; `None` once the server has stopped.
    pub async fn recv(&mut self) -> Option<PushEvent> {
        self.rx.recv().await
    }

    /// An event if one is waiting.
    pub fn try_recv(&mut self) -> Option<PushEvent> {
        self.rx.try_recv().ok()
    }
}

/// A running push server (handle). Cheap to clone; the server stops when every handle is
/// dropped.
#[derive(Clone)]
pub struct PushServer {
    tx: mpsc::Sender<Command>,
    local_addr: SocketAddr,
    config: Arc<PushConfig>,
}

impl std::fmt::Debug for PushServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// The local IP the OS would use to reach `gateway` (a UDP socket connected to it; nothing
/// is sent).
pub fn local_ip_facing(gateway: SocketAddr) -> std::io::Result<IpAddr> {
    let any: SocketAddr = if gateway.is_ipv4() {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
    };
    let s = std::net::UdpSocket::bind(any)?;
    s.connect(gateway)?;
    Ok(s.local_addr()?.ip())
}

impl PushServer {
    /// Binds the socket and starts the driver task (needs a tokio runtime).
    pub async fn bind(config: PushConfig) -> Result<(PushServer, PushEvents), PushServerError> {
        let socket =
            UdpSocket::bind(config.bind)
                .await
                .map_err(|source| PushServerError::Bind {
                    addr: config.bind,
                    source,
                })?;
        let local_addr = socket
            .local_addr()
            .map_err(|source| PushServerError::Bind {
                addr: config.bind,
                source,
            })?;
        let (tx, cmds) = mpsc::channel(32);
        let (events_tx, rx) = mpsc::channel(config.event_capacity.max(1));
        let core = Core::new(&config, tokio::time::Instant::now().into_std());
        tracing::info!(addr = %local_addr, did = %config.device_id, "push server listening");
        tokio::spawn(drive(socket, core, cmds, events_tx));
        Ok((
            PushServer {
                tx,
                local_addr,
                config: Arc::new(config),
            },
            PushEvents { rx },
        ))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The IP put into scenes for `gateway`.
    pub fn advertised_ip(&self, gateway: SocketAddr) -> Result<IpAddr, PushServerError> {
        if let Some(ip) = self.config.advertise_ip {
            return Ok(ip);
        }
        if !self.local_addr.ip().is_unspecified() {
            return Ok(self.local_addr.ip());
        }
        local_ip_facing(gateway).map_err(|source| PushServerError::LocalIp { gateway, source })
    }

    async fn send(&self, c: Command) -> Result<(), PushServerError> {
        self.tx.send(c).await.map_err(|_| PushServerError::Stopped)
    }

    /// Subscribes to `action` of sub-device `sid` (model in any spelling the event table
    /// knows: `cube`, `lumi.sensor_cube.v1`): registers the gateway with this server, deletes
    /// the subscription's deterministic scene id and adds the scene. Subscribing twice gives
    /// the same scene id (the scene is replaced).
    pub async fn subscribe<R: MiioRpc + 'static>(
        &self,
        gateway: &MiioGateway<R>,
        sid: &Sid,
        model: &str,
        action: &str,
    ) -> Result<Subscription, PushServerError> {
        let event = push::find_event(model, action)?;
        if event.action.gateway_trigger {
            return Err(PushServerError::GatewayEvent {
                action: event.action.action,
            });
        }
        let id = gateway.identity().clone();
        let ip = self.advertised_ip(id.addr)?;
        let source = node_id(sid);
        let scene_id = push::scene_id(
            self.config.device_id,
            id.device_id,
            &source,
            event.action.action,
        );
        let token_enc = TokenEnc::of(&id.token);
        let scene = Scene::subscription(&push::Subscription {
            scene_id: &scene_id,
            source_did: &source,
            event,
            trigger_token: "",
            fake_did: self.config.device_id,
            fake_model: &self.config.model,
            fake_ip: ip,
            token_enc: &token_enc,
        })?;

        // Registered before the scene exists, so its first push is recognised.
        let (done, registered) = oneshot::channel();
        self.send(Command::Register {
            gateway: id.addr,
            token: id.token,
            remover: Arc::new(gateway.clone()),
            done,
        })
        .await?;
        registered.await.map_err(|_| PushServerError::Stopped)?;

        // Delete before add: a crashed predecessor may have left this very scene.
        if let Err(e) = gateway.delete_scene(&scene_id).await {
            tracing::debug!(gateway = %id.addr, scene = %scene_id, "delete before add: {e}");
        }
        gateway
            .add_scene(&scene)
            .await
            .map_err(|e| PushServerError::Gateway {
                gateway: id.addr,
                op: "add",
                scene_id: scene_id.clone(),
                source: Box::new(e),
            })?;
        self.send(Command::Remember {
            ip: id.addr.ip(),
            scene: scene_id.clone(),
        })
        .await?;
        tracing::info!(
            gateway = %id.addr,
            sid = %sid,
            action = event.action.action,
            scene = %scene_id,
            target = %ip,
            "subscribed"
        );
        Ok(Subscription {
            scene_id,
            gateway: id.addr,
            sid: sid.clone(),
            model: event.model,
            action: event.action.action,
        })
    }

    /// Deletes every scene this server registered (`miIO.xdel`), returning how many were
    /// removed. Scenes that could not be removed are kept for a later call. Call it, and
    /// await it, before shutting down: scenes otherwise stay on the gateways (a later start
    /// with the same subscriptions replaces them, as their ids are deterministic).
    pub async fn unsubscribe_all(&self) -> Result<usize, PushServerError> {
        let (reply, taken) = oneshot::channel();
        self.send(Command::TakeScenes { reply }).await?;
        let taken = taken.await.map_err(|_| PushServerError::Stopped)?;
        let mut removed = 0;
        let mut failed = Vec::new();
        for g in taken {
            for scene in g.scenes {
                match g.remover.delete(&scene).await {
                    Ok(()) => removed += 1,
                    Err(source) => {
                        tracing::warn!(gateway = %g.gateway, scene = %scene, "cannot delete scene: {source}");
                        failed.push(PushServerError::Gateway {
                            gateway: g.gateway,
                            op: "delete",
                            scene_id: scene.clone(),
                            source,
                        });
                        // Kept for another attempt.
                        let _ = self
                            .send(Command::Remember {
                                ip: g.gateway.ip(),
                                scene,
                            })
                            .await;
                    }
                }
            }
        }
        let n = failed.len();
        match failed.into_iter().next() {
            None => Ok(removed),
            Some(first) => Err(PushServerError::Unsubscribe {
                failed: n,
                removed,
                first: Box::new(first),
            }),
        }
    }

    /// Counters since start.
    pub async fn stats(&self) -> Result<PushStats, PushServerError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Stats { reply }).await?;
        rx.await.map_err(|_| PushServerError::Stopped)
    }
}

async fn drive(
    socket: UdpSocket,
    mut core: Core,
    mut cmds: mpsc::Receiver<Command>,
    events: mpsc::Sender<PushEvent>,
) {
    let mut buf = vec![0u8; 65_536];
    let mut scenes: HashMap<IpAddr, GatewayScenes> = HashMap::new();
    loop {
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let now = tokio::time::Instant::now().into_std();
                let (n, from) = match r {
                    Ok(x) => x,
                    Err(e) => {
                        if core.throttles.recv_error.allow(now, core.log_interval).is_some() {
                            tracing::warn!("push server receive error: {e}");
                        }
                        continue;
                    }
                };
                let handled = core.handle(now, from, buf.get(..n).unwrap_or_default());
                // The event is queued before the ack goes out: whoever sees the ack can rely
                // on the event being in the channel already.
                if let Some(ev) = handled.event {
                    tracing::debug!(gateway = %ev.gateway, sid = %ev.sid, action = %ev.action, "push event");
                    match events.try_send(ev) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(ev)) => {
                            core.stats.dropped_full += 1;
                            if let Some(more) = core.throttles.full.allow(now, core.log_interval) {
                                tracing::warn!(
                                    gateway = %ev.gateway, sid = %ev.sid, action = %ev.action,
                                    suppressed = more,
                                    "push event dropped: the event channel is full (consumer too slow)"
                                );
                            }
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => {}
                    }
                }
                if let Some(reply) = handled.reply
                    && let Err(e) = socket.send_to(&reply, from).await
                {
                    tracing::warn!(to = %from, "push server cannot answer: {e}");
                }
            }
            c = cmds.recv() => match c {
                None => break,
                Some(Command::Register { gateway, token, remover, done }) => {
                    core.register(gateway, &token);
                    scenes
                        .entry(gateway.ip())
                        .and_modify(|g| {
                            g.gateway = gateway;
                            g.remover = Arc::clone(&remover);
                        })
                        .or_insert_with(|| GatewayScenes { gateway, remover, scenes: BTreeSet::new() });
                    let _ = done.send(());
                }
                Some(Command::Remember { ip, scene }) => {
                    if let Some(g) = scenes.get_mut(&ip) {
                        g.scenes.insert(scene);
                    }
                }
                Some(Command::TakeScenes { reply }) => {
                    let taken = scenes
                        .values_mut()
                        .filter(|g| !g.scenes.is_empty())
                        .map(|g| GatewayScenes {
                            gateway: g.gateway,
                            remover: Arc::clone(&g.remover),
                            scenes: std::mem::take(&mut g.scenes),
                        })
                        .collect();
                    let _ = reply.send(taken);
                }
                Some(Command::Stats { reply }) => {
                    let _ = reply.send(core.stats);
                }
            }
        }
    }
    tracing::debug!("push server stopped");
}

// --- the sans-IO core -------------------------------------------------------------------------

/// At most one log line per interval; counts what it held back.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// `Some(lines suppressed since the last one)` when a line may be logged now.
    fn allow(&mut self, now: Instant, every: Duration) -> Option<u64> {
        match self.last {
            Some(t) if now.saturating_duration_since(t) < every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[derive(Debug, Default)]
struct Throttles {
    unknown: Throttle,
    bad: Throttle,
    unparsed: Throttle,
    full: Throttle,
    recv_error: Throttle,
}

/// The most message ids remembered for de-duplication (bounds memory whatever the rate).
const MAX_RECENT: usize = 4096;

#[derive(Debug, Default)]
struct Handled {
    reply: Option<Vec<u8>>,
    event: Option<PushEvent>,
}

/// The push server's state and datagram handling, without sockets or clocks.
struct Core {
    device_id: DeviceId,
    started: Instant,
    window: Duration,
    log_interval: Duration,
    gateways: HashMap<IpAddr, (SocketAddr, Cipher)>,
    recent: VecDeque<(Instant, IpAddr, u64)>,
    seen: HashSet<(IpAddr, u64)>,
    stats: PushStats,
    throttles: Throttles,
}

impl Core {
    fn new(config: &PushConfig, now: Instant) -> Core {
        Core {
            device_id: config.device_id,
            started: now,
            window: config.dedup_window,
            log_interval: config.log_interval,
            gateways: HashMap::new(),
            recent: VecDeque::new(),
            seen: HashSet::new(),
            stats: PushStats::default(),
            throttles: Throttles::default(),
        }
    }

    /// Pushes from `gateway`'s IP are opened with `token` (gateways send from their miIO
    /// port, but only the IP is compared, as python-miio does).
    fn register(&mut self, gateway: SocketAddr, token: &MiioToken) {
        self.gateways
            .insert(gateway.ip(), (gateway, Cipher::new(token)));
    }

    /// Our stamp: seconds since start.
    fn stamp(&self, now: Instant) -> u32 {
        now.saturating_duration_since(self.started).as_secs() as u32
    }

    fn handle(&mut self, now: Instant, from: SocketAddr, data: &[u8]) -> Handled {
        self.stats.datagrams += 1;
        let Some((gateway, cipher)) = self.gateways.get(&from.ip()) else {
            self.stats.unknown_sender += 1;
            if let Some(more) = self.throttles.unknown.allow(now, self.log_interval) {
                tracing::warn!(
                    from = %from, len = data.len(), suppressed = more,
                    "push server: datagram from an address that is no registered gateway, dropped"
                );
            }
            return Handled::default();
        };
        let gateway = *gateway;
        if data == HELLO {
            self.stats.hellos += 1;
            tracing::trace!(from = %from, "hello from gateway");
            return Handled {
                reply: Some(
                    HelloReply::hidden(self.device_id, self.stamp(now))
                        .to_bytes()
                        .to_vec(),
                ),
                event: None,
            };
        }
        let opened = match cipher.open(data) {
            Ok(o) => o,
            Err(e) => return self.bad(now, from, &e),
        };
        let request = match opened.rpc() {
            Ok(RpcMessage::Request(r)) => r,
            Ok(RpcMessage::Reply(_)) => {
                self.stats.not_a_push += 1;
                tracing::debug!(from = %from, "push server: a reply from the gateway, ignored");
                return Handled::default();
            }
            Err(e) => return self.bad(now, from, &e),
        };
        let ack = cipher
            .seal(
                self.device_id,
                self.stamp(now),
                &push::ack_payload(request.id),
            )
            .ok();
        if self.is_duplicate(now, from.ip(), request.id) {
            self.stats.duplicates += 1;
            tracing::debug!(from = %from, id = request.id, "push re-sent, acked again");
            return Handled {
                reply: ack,
                event: None,
            };
        }
        let parsed = match push::parse_push_method(&request.method) {
            Ok(m) => m,
            Err(e) => {
                self.stats.unparsed += 1;
                if let Some(more) = self.throttles.unparsed.allow(now, self.log_interval) {
                    tracing::warn!(gateway = %gateway, suppressed = more, "push server: {e}; acked, not delivered");
                }
                return Handled {
                    reply: ack,
                    event: None,
                };
            }
        };
        self.stats.events += 1;
        let event = PushEvent {
            gateway,
            sid: parsed.sid,
            action: parsed.action.to_owned(),
            params: request.params,
            at: now,
        };
        Handled {
            reply: ack,
            event: Some(event),
        }
    }

    fn bad(&mut self, now: Instant, from: SocketAddr, e: &dyn std::fmt::Display) -> Handled {
        self.stats.bad_packet += 1;
        if let Some(more) = self.throttles.bad.allow(now, self.log_interval) {
            tracing::warn!(from = %from, suppressed = more, "push server: undecodable datagram from a gateway, dropped: {e}");
        }
        Handled::default()
    }

    /// Whether (ip, id) was seen within the window; remembers it otherwise.
    fn is_duplicate(&mut self, now: Instant, ip: IpAddr, id: u64) -> bool {
        while let Some(&(t, oip, oid)) = self.recent.front() {
            if now.saturating_duration_since(t) < self.window && self.recent.len() < MAX_RECENT {
                break;
            }
            self.recent.pop_front();
            self.seen.remove(&(oip, oid));
        }
        if self.seen.contains(&(ip, id)) {
            return true;
        }
        self.seen.insert((ip, id));
        self.recent.push_back((now, ip, id));
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lumi_proto::miio::{RpcReply, RpcRequest};
    use serde_json::json;

    const TOK: &str = "1c1961595b889a1f42af6b16cf9a6b81";
    const GW_DID: DeviceId = DeviceId(63_217_102);

    fn gw() -> SocketAddr {
        "127.0.0.2:54321".parse().unwrap()
    }

    fn core(t0: Instant) -> Core {
        let mut c = Core::new(&PushConfig::default(), t0);
        c.register(gw(), &TOK.parse().unwrap());
        c
    }

    fn push(id: u64, method: &str, params: Value) -> Vec<u8> {
        let mut r = RpcRequest::new(id, method, params);
        r.from = Some("nbl.134550490".into());
        Cipher::new(&TOK.parse().unwrap())
            .seal(GW_DID, 77, &r.encode())
            .unwrap()
    }

    fn open_ack(packet: &[u8]) -> (RpcReply, DeviceId) {
        let o = Cipher::new(&TOK.parse().unwrap()).open(packet).unwrap();
        (RpcReply::decode(&o.payload).unwrap(), o.device_id())
    }

    #[test]
    fn a_push_is_acked_and_delivered_once_within_the_window() {
        let t0 = Instant::now();
        let mut c = core(t0);
        let p = push(619_969_141, "rotate:lumi_158d000cccccc1", json!([90, 500]));
        let h = c.handle(t0 + Duration::from_secs(3), gw(), &p);
        let (ack, did) = open_ack(&h.reply.unwrap());
        assert_eq!(did, FAKE_DEVICE_ID);
        assert_eq!(ack, RpcReply::result(619_969_141, json!(0)));
        let e = h.event.unwrap();
        assert_eq!(e.sid.as_str(), "158d000cccccc1");
        assert_eq!(e.action, "rotate");
        assert_eq!(e.params, json!([90, 500]));
        assert_eq!(e.gateway, gw());
        assert_eq!(e.at, t0 + Duration::from_secs(3));

        // Re-sent from another port of the same gateway: acked again, not delivered again.
        let again = c.handle(
            t0 + Duration::from_secs(4),
            "127.0.0.2:1".parse().unwrap(),
            &p,
        );
        assert!(again.reply.is_some() && again.event.is_none());
        assert_eq!(c.stats.duplicates, 1);
        // After the window the id is new again (gateway ids are random 9-digit numbers).
        let later = c.handle(t0 + Duration::from_secs(70), gw(), &p);
        assert!(later.event.is_some());
        assert_eq!(c.stats.events, 2);
    }

    #[test]
    fn hello_is_answered_only_for_gateways() {
        let t0 = Instant::now();
        let mut c = core(t0);
        let h = c.handle(t0 + Duration::from_secs(42), gw(), &HELLO);
        let r = HelloReply::parse(&h.reply.unwrap()).unwrap();
        assert_eq!(r, HelloReply::hidden(FAKE_DEVICE_ID, 42));
        let h = c.handle(t0, "127.0.0.9:54321".parse().unwrap(), &HELLO);
        assert!(h.reply.is_none());
        assert_eq!((c.stats.hellos, c.stats.unknown_sender), (1, 1));
    }

    #[test]
    fn strangers_garbage_and_odd_methods_are_counted_never_answered() {
        let t0 = Instant::now();
        let mut c = core(t0);
        let p = push(5, "click_ch0:lumi_158d0001a2b3c4", json!([]));
        let h = c.handle(t0, "127.0.0.9:54321".parse().unwrap(), &p);
        assert!(h.reply.is_none() && h.event.is_none());
        assert_eq!(c.stats.unknown_sender, 1);

        // Every truncation and bit flip: no answer, no event, no panic.
        for n in 0..p.len() {
            let h = c.handle(t0, gw(), &p[..n]);
            assert!(h.reply.is_none() && h.event.is_none(), "cut {n}");
        }
        for i in 0..p.len() * 8 {
            let mut b = p.clone();
            b[i / 8] ^= 1 << (i % 8);
            let h = c.handle(t0, gw(), &b);
            assert!(h.event.is_none(), "bit {i}");
        }
        assert!(c.stats.bad_packet >= p.len() as u64);

        // A wrong token.
        let other = Cipher::new(&"00112233445566778899aabbccddeeff".parse().unwrap())
            .seal(
                GW_DID,
                1,
                &RpcRequest::new(6, "click_ch0:lumi_158d0001a2b3c4", json!([])).encode(),
            )
            .unwrap();
        let before = c.stats.bad_packet;
        assert!(c.handle(t0, gw(), &other).reply.is_none());
        assert_eq!(c.stats.bad_packet, before + 1);

        // A method we cannot read: acked (so it is not re-sent forever), not delivered.
        let h = c.handle(t0, gw(), &push(7, "something odd", json!([])));
        assert!(h.reply.is_some() && h.event.is_none());
        assert_eq!(c.stats.unparsed, 1);

        // A reply from the gateway is not a push.
        let reply = Cipher::new(&TOK.parse().unwrap())
            .seal(GW_DID, 1, &RpcReply::result(1, json!(["ok"])).encode())
            .unwrap();
        assert!(c.handle(t0, gw(), &reply).reply.is_none());
        assert_eq!(c.stats.not_a_push, 1);
    }

    #[test]
    fn dedup_memory_is_bounded() {
        let t0 = Instant::now();
        let mut c = core(t0);
        for id in 0..(MAX_RECENT as u64 * 2) {
            assert!(!c.is_duplicate(t0, gw().ip(), id));
        }
        assert!(c.recent.len() <= MAX_RECENT && c.seen.len() <= MAX_RECENT);
    }

    #[test]
    fn throttle_allows_one_line_per_interval() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        let s = Duration::from_secs(10);
        assert_eq!(t.allow(t0, s), Some(0));
        assert_eq!(t.allow(t0 + Duration::from_secs(1), s), None);
        assert_eq!(t.allow(t0 + Duration::from_secs(2), s), None);
        assert_eq!(t.allow(t0 + Duration::from_secs(10), s), Some(2));
    }

    #[test]
    fn local_ip_facing_a_loopback_gateway() {
        // Connecting a UDP socket sends nothing; the route to 127.0.0.2 goes out of 127.0.0.1.
        assert_eq!(
            local_ip_facing(gw()).unwrap(),
            IpAddr::from(Ipv4Addr::LOCALHOST)
        );
    }
}
