//! The daemon: `lumi bridge` (and `lumi demo`) as a library.
//!
//! [`Bridge::start`] starts, on the current tokio runtime:
//!
//! - the embedded MQTT broker when `lumi.toml` names no `mqtt.url` ([`crate::broker`]; it
//!   refuses to start when its port is taken, rather than talking to whatever listens there);
//! - a LAN client ([`lumi_client::gateway::Client`]): discovery, reports, heartbeats,
//!   availability timers, commands;
//! - the MQTT link ([`crate::mqtt`]): reconnects with backoff, subscribes again on every
//!   connection, last will `<base>/bridge/state` ← `{"state":"offline"}`;
//! - one task that joins them: it feeds every client event, MQTT message, finished command
//!   and timer into the sans-IO [`Core`], publishes what comes out and runs the commands
//!   it asks for (each in its own task, so a slow gateway never holds up the others).
//!
//! - the web dashboard and `/metrics` ([`crate::web`]) when `[web]` is enabled: they ask the
//!   daemon task for snapshots and metrics, send it commands, and follow its live updates.
//!
//! On every (re)connection the core publishes everything again from its cache: the bridge
//! state, discovery, availability, states and the device list; so a broker restarted
//! without persistence loses nothing. [`Bridge::stop`] publishes `offline`, disconnects
//! cleanly and closes the client.

mod core;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lumi_client::gateway::{
    Availability, Client, ClientConfig, ClientError, Event, Events, EventsError, Passwords,
};
use lumi_client::net::NetConfig;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use self::core::{
    ANNOUNCE_BATCH, CommandError, Core, CoreStats, DashboardCommand, Job, JobResult, LOG_CAPACITY,
    Origin, Output, Publish, Reply, RuntimeStats, controls,
};
use crate::config::{Broker, Config};
use crate::metrics::CoreMetrics;
use crate::mqtt::{Link, LinkError, LinkEvent, LinkEvents, LinkOptions};
use crate::state;

/// Why the bridge could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The embedded broker could not start.
    #[cfg(feature = "embedded-broker")]
    #[error("embedded MQTT broker: {0}")]
    Broker(#[from] crate::broker::BrokerError),
    /// No `mqtt.url`, and this build has no embedded broker.
    #[error(
        "no mqtt.url is set and this build of lumi has no embedded broker (cargo feature \
         embedded-broker); set mqtt.url = \"mqtt://host:1883\" in lumi.toml"
    )]
    NoEmbeddedBroker,
    /// The LAN client could not start.
    #[error("LAN client: {0}")]
    Client(#[from] ClientError),
    /// The MQTT link could not be set up (bad TLS files, …).
    #[error("MQTT: {0}")]
    Link(#[from] LinkError),
    /// The web dashboard could not start.
    #[error(transparent)]
    Web(#[from] crate::web::WebError),
    /// The client or the link stopped unexpectedly.
    #[error("the bridge stopped: {0}")]
    Stopped(String),
}

/// A request to the daemon task (from the web server, or [`Bridge::ping`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Control {
    /// The dashboard's snapshot ([`Core::snapshot`]).
    Snapshot(oneshot::Sender<String>),
    /// The core's part of `/metrics`.
    Metrics(oneshot::Sender<CoreMetrics>),
    /// A dashboard command and where its answer goes.
    Command(DashboardCommand, oneshot::Sender<Reply>),
    /// Answered at once: the daemon task is alive (systemd's watchdog, `/healthz`).
    Ping(oneshot::Sender<()>),
}

/// Checks that the bridge's tasks answer (see [`Bridge::liveness`]).
#[derive(Debug, Clone)]
pub struct Liveness {
    control: mpsc::Sender<Control>,
    client: Client,
}

impl Liveness {
    /// True when both the daemon task and the LAN client's driver answer within `within`.
    pub async fn check(&self, within: Duration) -> bool {
        let asked = async {
            let (tx, rx) = oneshot::channel();
            self.control.send(Control::Ping(tx)).await.ok()?;
            rx.await.ok()?;
            self.client.stats().await.ok()
        };
        matches!(tokio::time::timeout(within, asked).await, Ok(Some(_)))
    }
}

/// Requests waiting for the daemon task, at most (the web server waits for room).
const CONTROL_CAPACITY: usize = 64;
/// Live dashboard messages buffered per page before it counts as fallen behind (it then
/// gets a new snapshot).
const UI_CAPACITY: usize = 1024;

/// Everything the daemon needs.
#[derive(Debug, Clone)]
pub struct BridgeSetup {
    /// The effective configuration.
    pub config: Config,
    /// The network the LAN client uses (the interface resolved by the caller).
    pub net: NetConfig,
}

/// The LAN client's configuration for a bridge configuration: gateways and passwords,
/// the command timeout, and availability timeouts (per kind, and per device from
/// `[[device]] availability_timeout`).
pub fn client_config(config: &Config, net: NetConfig) -> ClientConfig {
    let mut c = ClientConfig::new(net);
    c.request_timeout = config.timeout;
    c.offline_after = config.bridge.availability_timeout.gateway;
    c.availability = Availability {
        battery: config.bridge.availability_timeout.battery,
        mains: config.bridge.availability_timeout.mains,
        per_kind: Vec::new(),
        per_sid: config
            .devices
            .iter()
            .filter_map(|d| d.availability_timeout.map(|t| (d.sid.clone(), t)))
            .collect(),
    };
    // Events are the bridge's input. The client and the bridge share one thread and take
    // turns (tokio's task budget; the bridge takes up to `EVENT_BATCH` events per turn).
    // Were the channel to overflow, the bridge would read every state from the registry
    // (states converge, events in between are lost); with `backpressure` below it does not,
    // so it can be small: each slot costs ~190 bytes, allocated up front (16 Ki slots were
    // 3 MB of the bridge's memory).
    c.event_capacity = EVENT_CAPACITY;
    // Every report must reach MQTT: when the bridge is behind (a slow broker), the client
    // stops reading and reports wait in the kernel's buffer (see `PUBLISH_WAIT`).
    c.backpressure = true;
    if let Some(p) = &config.password {
        c.passwords = Passwords::new().with_default(p.clone());
    }
    for g in &config.gateways {
        c.add_gateway(g.sid.as_ref(), g.addr, g.password.as_ref(), g.protocol);
    }
    c
}

/// A running bridge. Dropping it without [`Bridge::stop`] aborts the daemon task (the
/// broker keeps the last will).
#[derive(Debug)]
pub struct Bridge {
    task: Option<JoinHandle<Result<(), BridgeError>>>,
    stop: Option<oneshot::Sender<()>>,
    mqtt_addr: SocketAddr,
    embedded: bool,
    client: Client,
    control: mpsc::Sender<Control>,
    web: Option<crate::web::WebServer>,
    #[cfg(feature = "embedded-broker")]
    _broker: Option<crate::broker::EmbeddedBroker>,
}

impl Bridge {
    /// Starts the broker (when embedded), the LAN client, the MQTT link and the daemon task.
    pub async fn start(setup: BridgeSetup) -> Result<Bridge, BridgeError> {
        let BridgeSetup { config, net } = setup;
        #[cfg(feature = "embedded-broker")]
        let mut broker = None;
        let (mqtt_addr, embedded) = match &config.mqtt.broker {
            Broker::Embedded { listen } => {
                #[cfg(feature = "embedded-broker")]
                {
                    let b = crate::broker::EmbeddedBroker::start(*listen)?;
                    let addr = b.local_addr();
                    tracing::info!("embedded MQTT broker listening on {addr} (MQTT 3.1.1)");
                    broker = Some(b);
                    (addr, true)
                }
                #[cfg(not(feature = "embedded-broker"))]
                {
                    let _ = listen;
                    return Err(BridgeError::NoEmbeddedBroker);
                }
            }
            Broker::External(url) => {
                // Resolved by the link; shown for the operator's benefit.
                let addr = tokio::net::lookup_host((url.host.as_str(), url.port))
                    .await
                    .ok()
                    .and_then(|mut a| a.next())
                    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], url.port)));
                (addr, false)
            }
        };
        let mut core = Core::new(config.clone(), SystemTime::now());
        let mut opts = LinkOptions::from_config(&config.mqtt, embedded.then_some(mqtt_addr))?;
        opts.queue = PUBLISH_QUEUE;
        opts.will = Some(crate::mqtt::Will {
            topic: core.topics().bridge_state(),
            payload: state::OFFLINE.as_bytes().to_vec(),
            qos: crate::config::Qos::AtLeastOnce,
            retain: true,
        });
        // The subscriptions match none of the bridge's own topics, but a broker can still send
        // some back (an older lumi's `<base>/#` in a resumed session, until the UNSUBSCRIBE
        // below): drop them in the link (the core would ignore them anyway).
        let topics = core.topics().clone();
        opts.ignore = Some(crate::mqtt::TopicFilter(std::sync::Arc::new(
            move |t: &str| matches!(topics.parse(t), crate::topics::Incoming::Own),
        )));
        opts.subscriptions = core
            .subscriptions()
            .into_iter()
            .map(|t| (t, config.mqtt.qos))
            .collect();
        opts.unsubscribe_on_resume = vec![core.topics().everything()];
        let broker_text = match &config.mqtt.broker {
            Broker::External(url) => url.to_string(),
            Broker::Embedded { .. } => format!("mqtt://{mqtt_addr} (embedded)"),
        };
        core.set_network(net.interface.to_string(), broker_text);
        let (client, events) = Client::start_subscribed(client_config(&config, net))?;
        let (link, link_events) = Link::start(opts)?;
        let (control_tx, control_rx) = mpsc::channel(CONTROL_CAPACITY);
        // No dashboard, no page to receive anything: no 1 024 slots (64 KB) allocated.
        let ui_capacity = if config.web.enabled { UI_CAPACITY } else { 1 };
        let (ui_tx, _) = broadcast::channel(ui_capacity);
        let web = if config.web.enabled {
            let handles = crate::web::Handles {
                control: control_tx.clone(),
                ui: ui_tx.clone(),
                client: client.clone(),
                link: link.clone(),
            };
            match crate::web::WebServer::start(&config.web, handles) {
                Ok(w) => Some(w),
                Err(e) => {
                    client.clone().shutdown().await;
                    link.disconnect().await;
                    return Err(e.into());
                }
            }
        } else {
            None
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(drive(
            core,
            Io {
                client: client.clone(),
                events,
                link,
                link_events,
                control: control_rx,
                ui: ui_tx,
            },
            stop_rx,
        ));
        Ok(Bridge {
            task: Some(task),
            stop: Some(stop_tx),
            mqtt_addr,
            embedded,
            client,
            control: control_tx,
            web,
            #[cfg(feature = "embedded-broker")]
            _broker: broker,
        })
    }

    /// Where the MQTT broker is (the embedded one's listening address, or the external
    /// broker's first address).
    pub fn mqtt_addr(&self) -> SocketAddr {
        self.mqtt_addr
    }

    /// True when the bridge runs its own broker.
    pub fn embedded_broker(&self) -> bool {
        self.embedded
    }

    /// The LAN client (for its events, snapshots and commands).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where the dashboard and `/metrics` listen (`None`: `[web] enabled = false`).
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web.as_ref().map(crate::web::WebServer::local_addr)
    }

    /// True when the daemon task answers within `within`: it is not stuck (for systemd's
    /// watchdog).
    pub async fn ping(&self, within: Duration) -> bool {
        self.liveness().check(within).await
    }

    /// A handle that checks the daemon task is alive, usable while [`Bridge::wait`] runs.
    pub fn liveness(&self) -> Liveness {
        Liveness {
            control: self.control.clone(),
            client: self.client.clone(),
        }
    }

    /// Waits until the daemon stops by itself (it only does on an error).
    pub async fn wait(&mut self) -> Result<(), BridgeError> {
        match self.task.as_mut() {
            Some(t) => {
                let r = t.await;
                self.task = None;
                r.map_err(|e| BridgeError::Stopped(e.to_string()))?
            }
            None => Ok(()),
        }
    }

    /// Stops cleanly: publishes `offline` to `<base>/bridge/state`, disconnects from the
    /// broker and closes the LAN client. (An embedded broker cannot be stopped; it ends with
    /// the process.)
    pub async fn stop(mut self) -> Result<(), BridgeError> {
        if let Some(w) = self.web.take() {
            w.stop().await;
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.wait().await
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// What the daemon task reads from and writes to.
struct Io {
    client: Client,
    events: Events,
    link: Link,
    link_events: LinkEvents,
    control: mpsc::Receiver<Control>,
    ui: broadcast::Sender<Arc<str>>,
}

/// The daemon task. See the [module docs](self).
async fn drive(mut core: Core, io: Io, mut stop: oneshot::Receiver<()>) -> Result<(), BridgeError> {
    let Io {
        client,
        mut events,
        link,
        mut link_events,
        mut control,
        ui,
    } = io;
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(Job, JobResult, Duration)>();
    let mut publishing = Publishing {
        errors: 0,
        stalled: false,
        ui,
        waiting: HashMap::new(),
        next_id: 0,
    };
    let mut housekeeping = tokio::time::interval(HOUSEKEEPING);
    housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        let deadline = core.next_deadline();
        tokio::select! {
            _ = &mut stop => break Ok(()),
            ev = events.recv() => match ev {
                Ok(e) => {
                    client_event(&mut core, &client, e).await;
                    // Take what else is already queued before publishing: in a burst this
                    // keeps the bridge ahead of the LAN client (one wake-up and one flush per
                    // batch, not per report).
                    for _ in 0..EVENT_BATCH {
                        match events.try_recv() {
                            Ok(Some(e)) => client_event(&mut core, &client, e).await,
                            Ok(None) => break,
                            Err(EventsError::Lagged { missed }) => {
                                tracing::warn!(missed, "the bridge fell behind the LAN client; reading every device's state from its registry");
                                resync(&mut core, &client).await;
                            }
                            Err(_) => break,
                        }
                    }
                }
                Err(EventsError::Lagged { missed }) => {
                    tracing::warn!(missed, "the bridge fell behind the LAN client; reading every device's state from its registry");
                    resync(&mut core, &client).await;
                }
                Err(EventsError::Closed) => break Err(BridgeError::Stopped("the LAN client stopped".into())),
                Err(e) => break Err(BridgeError::Stopped(e.to_string())),
            },
            ev = link_events.recv() => match ev {
                Some(LinkEvent::Connected { .. }) => {
                    tracing::info!("connected to the MQTT broker; publishing every state");
                    core.connected();
                }
                Some(LinkEvent::Disconnected { reason }) => {
                    tracing::warn!("MQTT connection lost: {reason}; reconnecting");
                    core.disconnected();
                }
                Some(LinkEvent::ConnectFailed { attempt, retry_in, .. }) => {
                    // The link logs the reason; keep the cache, publish it all on connection.
                    tracing::debug!(attempt, "MQTT connection attempt failed; next in {retry_in:?}");
                }
                Some(LinkEvent::SubscriptionRefused { filters }) => {
                    core.set_wall(SystemTime::now());
                    core.subscription_refused(&filters);
                }
                Some(LinkEvent::Message { topic, payload, retain, .. }) => {
                    core.set_wall(SystemTime::now());
                    core.mqtt_message(&topic, &payload, retain);
                }
                None => break Err(BridgeError::Stopped("the MQTT link stopped".into())),
            },
            Some((job, result, took)) = done_rx.recv() => {
                core.command_latency(&job, took);
                core.job_done(&job, result, SystemTime::now());
            }
            Some(c) = control.recv() => {
                core.set_wall(SystemTime::now());
                match c {
                    Control::Snapshot(reply) => {
                        let _ = reply.send(core.snapshot(SystemTime::now()));
                    }
                    Control::Metrics(reply) => {
                        let _ = reply.send(core.metrics());
                    }
                    Control::Command(cmd, reply) => {
                        publishing.next_id += 1;
                        let id = publishing.next_id;
                        publishing.waiting.insert(id, reply);
                        core.dashboard_command(id, cmd);
                    }
                    Control::Ping(reply) => {
                        let _ = reply.send(());
                    }
                }
            }
            _ = housekeeping.tick() => {
                core.housekeeping(SystemTime::now());
            }
            _ = sleep_until(deadline), if deadline.is_some() => {
                core.set_wall(SystemTime::now());
                core.timer(Instant::now());
            }
        }
        flush(&mut core, &link, &client, &done_tx, &mut publishing).await;
    };
    core.stopping();
    flush(&mut core, &link, &client, &done_tx, &mut publishing).await;
    link.disconnect().await;
    client.shutdown().await;
    result
}

/// How often the core looks at the setup problems (to log new ones).
const HOUSEKEEPING: Duration = Duration::from_secs(5);

/// Client events handled per wake-up of the daemon task, at most.
const EVENT_BATCH: usize = 256;

/// The LAN client's event channel for the bridge (see [`client_config`]). With backpressure
/// it only bounds what waits in memory while the broker is behind; the rest waits in the
/// kernel's socket buffer. 2 048 held 0.83 MB of decoded reports at the peak of a burst through
/// mosquitto (heaptrack); 512 took the bridge's heap there from 4.1 to 3.1 MiB with the same
/// throughput (BENCHMARKS.md).
pub const EVENT_CAPACITY: usize = 512;

/// Publications waiting for the broker. The daemon waits when it is full
/// ([`PUBLISH_WAIT`]), so this only bounds memory: about 1 KB per message at most (a
/// discovery config), 1 MB in all, where the link's default of 10 000 let the start-up
/// republish of 500 devices take several MB.
pub const PUBLISH_QUEUE: usize = 1024;

async fn client_event(core: &mut Core, client: &Client, e: Event) {
    core.client_event(&e, Instant::now(), SystemTime::now());
    if matches!(e, Event::DevicesLoaded { .. }) {
        resync(core, client).await;
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Reads every gateway and device from the client's registry into the core.
async fn resync(core: &mut Core, client: &Client) {
    let (gateways, devices) = match (client.gateways().await, client.devices().await) {
        (Ok(g), Ok(d)) => (g, d),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("cannot read the LAN client's registry: {e}");
            return;
        }
    };
    core.loaded(&gateways, &devices, SystemTime::now());
}

/// How long a publication waits for room in a full MQTT queue before it is dropped. Meanwhile
/// the bridge takes no new events, the LAN client stops reading (see
/// `lumi_client::gateway::ClientConfig::event_capacity`) and reports wait in the kernel's
/// socket buffer: a burst larger than the broker takes is delivered late, not lost.
pub const PUBLISH_WAIT: Duration = Duration::from_secs(2);

/// How long the announcement after a connect waits for one batch to be written to the broker
/// and acknowledged before it makes the next (see `flush`). A broker on the LAN takes a batch
/// in about a millisecond (each batch costs one round trip); one that is slower makes the rest
/// go out unpaced.
pub const ANNOUNCE_WAIT: Duration = Duration::from_millis(250);

/// How publishing goes, across flushes.
#[derive(Debug)]
struct Publishing {
    /// Publications that could not be queued.
    errors: u64,
    /// The last one waited [`PUBLISH_WAIT`] in vain: fail fast until one goes through.
    stalled: bool,
    /// The dashboard pages' live updates.
    ui: broadcast::Sender<Arc<str>>,
    /// Dashboard commands waiting for their answer, by id.
    waiting: HashMap<u64, oneshot::Sender<Reply>>,
    next_id: u64,
}

/// Publishes what the core produced and starts the jobs it asked for; after a (re)connection
/// or a registry load, the devices' announcements batch by batch, each queued for the
/// broker before the next is made.
async fn flush(
    core: &mut Core,
    link: &Link,
    client: &Client,
    done: &mpsc::UnboundedSender<(Job, JobResult, Duration)>,
    publishing: &mut Publishing,
) {
    // Paced until a batch fails to leave within ANNOUNCE_WAIT (a broker not reading): the
    // rest then only waits for room in the queue, so the bridge does not stall for long.
    let mut paced = true;
    loop {
        flush_once(core, link, client, done, publishing).await;
        if !core.announcing() {
            break;
        }
        // The queue holds thousands of messages: without this wait every batch would be
        // queued at once and the whole announcement held in memory (1.5 MB of discovery
        // configs for 500 plugs), not one batch.
        if paced && !link.wait_sent(ANNOUNCE_WAIT).await {
            tracing::debug!(
                "mqtt: an announcement batch was not written within {ANNOUNCE_WAIT:?}: queueing the rest without waiting"
            );
            paced = false;
        }
    }
}

async fn flush_once(
    core: &mut Core,
    link: &Link,
    client: &Client,
    done: &mpsc::UnboundedSender<(Job, JobResult, Duration)>,
    publishing: &mut Publishing,
) {
    // Live dashboard messages only while a page is open.
    core.set_watching(publishing.ui.receiver_count() > 0);
    let qos = core.mqtt_qos();
    let Output {
        publish,
        jobs,
        replies,
        ui,
        subscribe,
    } = core.take();
    // Before the rename's answer is published, so a command to the new name right after it
    // is heard.
    if !subscribe.is_empty() {
        tracing::info!(
            filters = subscribe.len(),
            "a name has more levels than any before: subscribing to its command topics"
        );
        let filters = subscribe.into_iter().map(|f| (f, qos)).collect();
        if let Err(e) = link.subscribe(filters).await {
            tracing::warn!("could not subscribe to the command topics of deeper names: {e}");
        }
    }
    for m in ui {
        let _ = publishing.ui.send(Arc::from(m));
    }
    for (id, reply) in replies {
        if let Some(w) = publishing.waiting.remove(&id) {
            let _ = w.send(reply);
        }
    }
    let Publishing {
        errors, stalled, ..
    } = publishing;
    for p in publish {
        // Once a wait ran out, the broker is not taking messages: fail fast until one goes
        // through again, rather than waiting for every message.
        let wait = if *stalled {
            Duration::ZERO
        } else {
            PUBLISH_WAIT
        };
        let r = link
            .publish_within(p.topic, p.payload.into_bytes(), p.qos, p.retain, wait)
            .await;
        *stalled = matches!(r, Err(LinkError::QueueFull { .. }));
        if let Err(e) = r {
            *errors += 1;
            if errors.is_power_of_two() {
                tracing::warn!(total = *errors, "could not queue an MQTT publication: {e}");
            }
        }
    }
    for job in jobs {
        let client = client.clone();
        let link = link.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = run_job(&client, &link, &job).await;
            let _ = done.send((job, result, started.elapsed()));
        });
    }
}

/// Carries out one command with the LAN client.
async fn run_job(client: &Client, link: &Link, job: &Job) -> JobResult {
    let failed = |e: ClientError| JobResult::Failed(e.to_string());
    match job {
        Job::Write { sid, props, .. } => match client.write(sid, props.clone()).await {
            Ok(_) => JobResult::Done,
            Err(e) => match &e {
                ClientError::InvalidKey { gateway, .. } => JobResult::InvalidKey {
                    gateway: gateway.clone(),
                    message: e.to_string(),
                },
                _ => failed(e),
            },
        },
        Job::Read { sid, .. } => match client.read(sid).await {
            Ok(d) => JobResult::Data(d),
            Err(e) => failed(e),
        },
        Job::Pairing { gateways, open, .. } => {
            let mut errors = Vec::new();
            for g in gateways {
                if let Err(e) = client.pairing(g, *open).await {
                    errors.push(e.to_string());
                }
            }
            if errors.is_empty() {
                JobResult::Done
            } else {
                JobResult::Failed(errors.join("; "))
            }
        }
        Job::Health { .. } => match client.stats().await {
            Ok(c) => JobResult::Health(Box::new(RuntimeStats {
                client: c,
                link: link.stats(),
            })),
            Err(e) => failed(e),
        },
        Job::Remove { gateway, sid, .. } => match client.remove_device(gateway, sid).await {
            Ok(_) => JobResult::Done,
            Err(e) => failed(e),
        },
    }
}
