//! The link to an MQTT broker: a cloneable [`Link`] handle and one driver task that owns
//! rumqttc's `EventLoop` (MQTT 3.1.1, clean session).
//!
//! ## How it works
//!
//! [`Link::start`] spawns the driver on the current tokio runtime and returns the handle and
//! the [`LinkEvents`] receiver. [`Link::publish`] puts a message into rumqttc's bounded request
//! channel (`LinkOptions::queue` long) and never waits: a full queue is
//! [`LinkError::QueueFull`], counted in [`LinkStats::dropped_full`]. The driver polls the event
//! loop and turns what happens into [`LinkEvent`]s:
//!
//! - **Connect, re-subscribe, then `Connected`.** With a clean session the broker forgets the
//!   subscriptions at every disconnect and rumqttc does not restore them, so on every CONNACK the
//!   driver sends one SUBSCRIBE with every [`LinkOptions::subscriptions`] filter *before*
//!   anything else, waits for its SUBACK (a refused filter is logged), and only then emits
//!   [`LinkEvent::Connected`]: when the daemon sees it, the subscriptions are in place and it
//!   republishes its state.
//! - **Backoff.** rumqttc retries a failed connection at once on the next poll; the driver waits
//!   between attempts instead, doubling from `backoff_min` to `backoff_max`. Each failed attempt
//!   is logged once at `warn` with the broker's address and the reason (never the password) and
//!   reported as [`LinkEvent::ConnectFailed`]. A lost connection that had been up for
//!   [`STABLE_AFTER`] is retried at once and the backoff starts again from `backoff_min`; one
//!   that dropped sooner (a broker that accepts and then kicks the client, e.g. another client
//!   using the same client id) keeps the growing backoff instead of a reconnect storm.
//! - **Nothing accepted is lost across a reconnect.** Messages published while disconnected
//!   wait in the request channel (up to `queue`). rumqttc itself *drops* the QoS 1/2 publishes
//!   that were in flight (sent, not acknowledged) and those still in its channel when the
//!   connection broke, as soon as the new CONNACK says `session_present = false` — which it
//!   always does with a clean session. The driver takes them out of rumqttc's pending list when
//!   the connection breaks and hands them back after the next CONNACK, after the SUBSCRIBE and
//!   before anything published later, so their order is kept. rumqttc sends its pending list
//!   without flow control and reuses packet ids past its in-flight window (see
//!   [`MAX_INFLIGHT`]), so at most `MAX_INFLIGHT - 1` QoS ≥ 1 messages are carried over; if
//!   more were pending the oldest are dropped, logged and counted in
//!   [`LinkStats::dropped_reconnect`]. QoS 1 means at least once: a message whose PUBACK was
//!   lost arrives twice.
//! - **Last will** (`LinkOptions::will`) is set in every CONNECT; [`Link::disconnect`] sends a
//!   clean DISCONNECT after everything published before it, so the broker does not publish the
//!   will (the daemon publishes its own `offline` first).
//! - **Large messages.** rumqttc's default packet limit is 10 KiB, too small for Home Assistant
//!   discovery or `bridge/devices`; outgoing packets may be `max_packet_size` (1 MiB by
//!   default; larger ones are refused by [`Link::publish`] before they reach rumqttc, which
//!   would otherwise drop the connection), incoming ones [`MAX_INCOMING_PACKET`] (16 MiB, so a
//!   big retained message from someone else does not break the link in a loop).
//! - **TLS** (`mqtts://`) uses rustls with the *ring* provider passed explicitly (no
//!   process-wide provider is installed), the CA file given (PEM) or else the system's roots,
//!   and an optional client certificate and key (PEM). Files are read in [`Link::start`], so a
//!   wrong path fails at once with an error naming the file.
//!
//! Everything the broker sends goes through rumqttc's decoder and state machine, which return
//! errors (a malformed packet, an unsolicited ack, a packet that is too large) rather than
//! panic; each such error breaks the connection, is reported as
//! [`LinkEvent::Disconnected`] and leads to a reconnect.
//!
//! The driver stops after a clean [`Link::disconnect`], or when every [`Link`] clone has been
//! dropped (then without a DISCONNECT, so the broker publishes the will).

mod driver;
mod tls;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, ClientError, MqttOptions, QoS, Request, Transport};
use tokio::sync::{mpsc, watch};

use crate::config::{Broker, MqttConfig, Qos, Secret, TlsFiles};

/// Default [`LinkOptions::backoff_min`].
pub const DEFAULT_BACKOFF_MIN: Duration = Duration::from_millis(250);
/// Default [`LinkOptions::backoff_max`].
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Default [`LinkOptions::queue`]: room for a full republish of a large installation
/// (10 gateways × 50 devices × state, availability and discovery) while the broker is away.
pub const DEFAULT_QUEUE: usize = 10_000;
/// Default [`LinkOptions::events`].
pub const DEFAULT_EVENTS: usize = 1024;
/// Default [`LinkOptions::max_packet_size`]: 1 MiB.
pub const DEFAULT_MAX_PACKET: usize = 1 << 20;
/// The largest packet accepted from the broker: 16 MiB.
pub const MAX_INCOMING_PACKET: usize = 16 << 20;
/// rumqttc's in-flight window (QoS ≥ 1 publishes sent and not yet acknowledged), which is also
/// its packet-id space; bounds how many QoS ≥ 1 messages are carried across a reconnect.
pub const MAX_INFLIGHT: u16 = 1000;
/// A connection that lasted this long counts as established: when it is lost the driver
/// reconnects at once and the backoff starts again from `backoff_min`.
pub const STABLE_AFTER: Duration = Duration::from_secs(10);
/// How long [`Link::disconnect`] waits for the DISCONNECT to be sent.
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How to reach the broker and what to do once connected.
///
/// Build it with [`LinkOptions::new`] or [`LinkOptions::from_config`], then set the fields.
/// `Debug` shows no password.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LinkOptions {
    /// Host name or IP address of the broker (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `Some`: TLS (`mqtts://`) with these files; `None` files in it mean the system's roots
    /// and no client certificate.
    pub tls: Option<TlsFiles>,
    /// The MQTT client id (empty: the broker assigns one).
    pub client_id: String,
    /// User name, if the broker wants one.
    pub username: Option<String>,
    /// Password (sent only with a user name; never logged).
    pub password: Option<Secret>,
    /// Keep-alive interval: 1 s to 65535 s, or zero for none.
    pub keepalive: Duration,
    /// Ask the broker to keep the session (subscriptions and QoS ≥ 1 messages for us) while
    /// disconnected (`clean_session = false`): commands sent during an outage are delivered
    /// when the link is back instead of being dropped by the broker.
    pub persistent_session: bool,
    /// The last will, set at every connect.
    pub will: Option<Will>,
    /// Filters subscribed to at every connect, with their QoS.
    pub subscriptions: Vec<(String, Qos)>,
    /// Filters unsubscribed from when the broker resumes a session (a persistent session of
    /// an older version may hold filters this one no longer wants).
    pub unsubscribe_on_resume: Vec<String>,
    /// First wait after a failed connection attempt (doubles up to `backoff_max`).
    pub backoff_min: Duration,
    /// Longest wait between connection attempts.
    pub backoff_max: Duration,
    /// How many publishes may wait for the broker (while disconnected or slow).
    pub queue: usize,
    /// Capacity of the [`LinkEvents`] channel. When it is full the driver waits for the
    /// receiver (messages are never dropped); keep receiving.
    pub events: usize,
    /// The largest outgoing packet, in bytes (topic, payload and about 7 bytes of header).
    pub max_packet_size: usize,
    /// Incoming messages on the topics this says yes to are counted and dropped instead of
    /// becoming [`LinkEvent::Message`]s: a client subscribed to a filter that matches its
    /// own publications (the bridge's `lumi/#` before it narrowed its subscriptions, still
    /// held by a resumed session until [`LinkOptions::unsubscribe_on_resume`] is done) hears
    /// them back, and those echoes must neither cost the receiver nor fill the events channel
    /// (which would stop the driver, and with it the publish queue).
    pub ignore: Option<TopicFilter>,
}

/// A predicate on topics, for [`LinkOptions::ignore`].
#[derive(Clone)]
pub struct TopicFilter(pub Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl std::fmt::Debug for TopicFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TopicFilter")
    }
}

impl LinkOptions {
    /// Options for a plain TCP broker at `host:port`, with the defaults: no TLS, no login, 60 s
    /// keep-alive, no will, no subscriptions, backoff 250 ms to 30 s, a queue of
    /// [`DEFAULT_QUEUE`] and 1 MiB packets.
    pub fn new(host: impl Into<String>, port: u16, client_id: impl Into<String>) -> LinkOptions {
        LinkOptions {
            host: host.into(),
            port,
            tls: None,
            client_id: client_id.into(),
            username: None,
            password: None,
            keepalive: Duration::from_secs(60),
            persistent_session: false,
            will: None,
            subscriptions: Vec::new(),
            unsubscribe_on_resume: Vec::new(),
            backoff_min: DEFAULT_BACKOFF_MIN,
            backoff_max: DEFAULT_BACKOFF_MAX,
            queue: DEFAULT_QUEUE,
            events: DEFAULT_EVENTS,
            max_packet_size: DEFAULT_MAX_PACKET,
            ignore: None,
        }
    }

    /// Options from the `[mqtt]` table: the external broker of `mqtt.url` (with TLS, user and
    /// password), or the embedded broker's listening address (`0.0.0.0`/`::` become the
    /// loopback address). `broker_addr_override` replaces the address, e.g. with
    /// `EmbeddedBroker::local_addr` (feature `embedded-broker`) when the embedded broker picked
    /// its port.
    ///
    /// The will and the subscriptions depend on the topics: the daemon sets them.
    pub fn from_config(
        mqtt: &MqttConfig,
        broker_addr_override: Option<SocketAddr>,
    ) -> Result<LinkOptions, LinkError> {
        let (host, port, tls) = match &mqtt.broker {
            Broker::Embedded { listen } => {
                let ip = match listen.ip() {
                    std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
                        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
                    }
                    std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
                        std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
                    }
                    ip => ip,
                };
                (ip.to_string(), listen.port(), None)
            }
            Broker::External(url) => (
                url.host.clone(),
                url.port,
                url.tls.then(|| mqtt.tls.clone()),
            ),
        };
        let mut opts = LinkOptions::new(host, port, mqtt.client_id.clone());
        if let Some(addr) = broker_addr_override {
            opts.host = addr.ip().to_string();
            opts.port = addr.port();
        }
        opts.tls = tls;
        opts.username = mqtt.username.clone();
        opts.password = mqtt.password.clone();
        opts.keepalive = mqtt.keepalive;
        opts.persistent_session = mqtt.persistent_session;
        opts.validate()?;
        Ok(opts)
    }

    /// The broker as a URL, for logs and errors (`mqtt://127.0.0.1:1883`).
    pub fn broker_url(&self) -> String {
        let scheme = if self.tls.is_some() { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }

    /// Checks what rumqttc would otherwise panic on or silently mangle.
    fn validate(&self) -> Result<(), LinkError> {
        let bad =
            |option: &'static str, reason: String| Err(LinkError::InvalidOption { option, reason });
        if self.host.is_empty() {
            return bad(
                "host",
                "is empty: give the broker's host name or address".into(),
            );
        }
        if !self.keepalive.is_zero()
            && (self.keepalive < Duration::from_secs(1) || self.keepalive.as_secs() > 65535)
        {
            return bad(
                "keepalive",
                format!(
                    "{:?} is outside 1 s to 65535 s (or zero for none)",
                    self.keepalive
                ),
            );
        }
        if self.backoff_min.is_zero() || self.backoff_min > self.backoff_max {
            return bad(
                "backoff_min",
                format!(
                    "{:?} must be above zero and at most backoff_max ({:?})",
                    self.backoff_min, self.backoff_max
                ),
            );
        }
        if self.queue == 0 {
            return bad(
                "queue",
                "is zero: give room for at least one message".into(),
            );
        }
        if self.events == 0 {
            return bad("events", "is zero: give room for at least one event".into());
        }
        if self.max_packet_size < 64 || self.max_packet_size > MAX_INCOMING_PACKET {
            return bad(
                "max_packet_size",
                format!(
                    "{} is outside 64 to {MAX_INCOMING_PACKET} bytes",
                    self.max_packet_size
                ),
            );
        }
        if self.password.is_some() && self.username.is_none() {
            return bad(
                "password",
                "needs a user name (MQTT sends a password only with a user name)".into(),
            );
        }
        for (filter, _) in &self.subscriptions {
            check_filter(filter)?;
        }
        for filter in &self.unsubscribe_on_resume {
            check_filter(filter)?;
        }
        if let Some(will) = &self.will {
            check_topic(&will.topic)?;
        }
        Ok(())
    }

    /// rumqttc's options for these.
    fn mqtt_options(&self) -> Result<MqttOptions, LinkError> {
        let mut o = MqttOptions::new(self.client_id.clone(), self.host.clone(), self.port);
        o.set_keep_alive(self.keepalive);
        o.set_clean_session(!self.persistent_session);
        o.set_max_packet_size(MAX_INCOMING_PACKET, self.max_packet_size);
        o.set_inflight(MAX_INFLIGHT);
        o.set_request_channel_capacity(self.queue);
        if let Some(user) = &self.username {
            let password = self.password.as_ref().map(|p| p.expose()).unwrap_or("");
            o.set_credentials(user.clone(), password);
        }
        if let Some(will) = &self.will {
            o.set_last_will(rumqttc::LastWill::new(
                will.topic.clone(),
                will.payload.clone(),
                qos(will.qos),
                will.retain,
            ));
        }
        if let Some(files) = &self.tls {
            let config = tls::client_config(files)?;
            o.set_transport(Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(config),
            ));
        }
        Ok(o)
    }
}

/// A last will: published by the broker when the link breaks without a DISCONNECT.
#[derive(Clone, PartialEq, Eq)]
pub struct Will {
    /// Its topic (`<base>/bridge/state`).
    pub topic: String,
    /// Its payload (`{"state":"offline"}`).
    pub payload: Vec<u8>,
    /// Its QoS.
    pub qos: Qos,
    /// Whether it is retained.
    pub retain: bool,
}

impl Will {
    /// A will.
    pub fn new(
        topic: impl Into<String>,
        payload: impl Into<Vec<u8>>,
        qos: Qos,
        retain: bool,
    ) -> Will {
        Will {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain,
        }
    }
}

impl fmt::Debug for Will {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Will")
            .field("topic", &self.topic)
            .field("payload", &String::from_utf8_lossy(&self.payload))
            .field("qos", &self.qos)
            .field("retain", &self.retain)
            .finish()
    }
}

/// What went wrong with the link.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The publish queue is full (the broker is away or slower than the publisher).
    #[error(
        "mqtt publish queue is full ({queue} messages wait for the broker): dropped the message to {topic}"
    )]
    QueueFull {
        /// The topic of the dropped message.
        topic: String,
        /// The queue's capacity.
        queue: usize,
    },
    /// [`Link::disconnect`] was called, or the driver stopped.
    #[error("the mqtt link is closed (disconnected): nothing more can be published")]
    Closed,
    /// The message does not fit in `max_packet_size`.
    #[error(
        "mqtt message to {topic} is too large: {size} bytes with its header, the limit is {max} bytes"
    )]
    TooLarge {
        /// Its topic.
        topic: String,
        /// Its packet size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not a topic one can publish to.
    #[error("invalid mqtt topic {topic:?}: {reason}")]
    InvalidTopic {
        /// The topic.
        topic: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Not a valid subscription filter.
    #[error("invalid mqtt subscription filter {filter:?}: {reason}")]
    InvalidFilter {
        /// The filter.
        filter: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A [`LinkOptions`] field is out of range.
    #[error("invalid mqtt link option {option}: {reason}")]
    InvalidOption {
        /// The field.
        option: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A TLS file cannot be used.
    #[error("{key} {}: {problem}", path.display())]
    TlsFile {
        /// The configuration key (`mqtt.ca`, `mqtt.client_cert`, `mqtt.client_key`).
        key: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// `mqtts://` without `mqtt.ca`, and the system's root certificates cannot be loaded.
    #[error(
        "mqtts:// without mqtt.ca needs the system's root certificates, but {problem}: set mqtt.ca to the PEM file of the CA that signed the broker's certificate"
    )]
    NoSystemRoots {
        /// Why none were loaded.
        problem: String,
    },
    /// rustls refused the configuration.
    #[error("cannot set up tls: {0}")]
    TlsSetup(String),
    /// [`Link::start`] was called outside a tokio runtime.
    #[error("Link::start needs a tokio runtime: call it from inside one")]
    NoRuntime,
}

/// Something that happened on the link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkEvent {
    /// Connected and subscribed (every subscription acknowledged): publish the state now.
    Connected {
        /// The broker kept a session (never with the clean sessions used here).
        session_present: bool,
    },
    /// The connection was lost; the driver reconnects by itself.
    Disconnected {
        /// Why, in words.
        reason: String,
    },
    /// A connection attempt failed; the next one follows after `retry_in`.
    ConnectFailed {
        /// Why, in words (never the password).
        reason: String,
        /// Failed attempts in a row, from 1.
        attempt: u32,
        /// The wait before the next attempt.
        retry_in: Duration,
    },
    /// The broker refused these filters (its access rules): messages on them will not
    /// arrive. After the SUBACK of a connect (right after its `Connected`) or of
    /// [`Link::subscribe`].
    SubscriptionRefused {
        /// The refused filters.
        filters: Vec<String>,
    },
    /// A message on a subscribed topic.
    Message {
        /// The topic (valid UTF-8, as MQTT requires; not sanitised).
        topic: String,
        /// The payload.
        payload: Vec<u8>,
        /// Whether the broker sent it as a retained message (it was stored before we
        /// subscribed).
        retain: bool,
        /// The QoS it was delivered with.
        qos: Qos,
    },
}

/// Receives the [`LinkEvent`]s of one [`Link`]. Keep receiving: when the channel is full the
/// driver waits (nothing is dropped), which also holds up publishing.
#[derive(Debug)]
pub struct LinkEvents {
    rx: mpsc::Receiver<LinkEvent>,
}

impl LinkEvents {
    /// The next event; `None` once the driver has stopped and every event was received.
    pub async fn recv(&mut self) -> Option<LinkEvent> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<LinkEvent> {
        self.rx.try_recv().ok()
    }
}

/// Counters of one link since [`Link::start`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkStats {
    /// Successful connections (CONNACKs).
    pub connects: u64,
    /// Successful connections after the first.
    pub reconnects: u64,
    /// Failed connection attempts.
    pub failed_attempts: u64,
    /// Messages accepted by [`Link::publish`] / [`Link::publish_wait`].
    pub published: u64,
    /// PUBLISH packets written to the broker (a message resent after a reconnect counts again).
    pub sent: u64,
    /// Messages received on subscribed topics.
    pub received: u64,
    /// Messages refused because the queue was full ([`LinkError::QueueFull`]).
    pub dropped_full: u64,
    /// Messages that found the queue full and waited for room ([`Link::publish_within`]).
    pub waited_full: u64,
    /// Messages pending at a disconnect that could not be carried over (see [`MAX_INFLIGHT`]).
    pub dropped_reconnect: u64,
    /// Now: messages queued and not yet written to the broker (approximate after a
    /// reconnect, see [`LinkStats::sent`]).
    pub queued: u64,
    /// Now: QoS 1/2 messages written to the broker and not yet acknowledged, as of the last
    /// one written or acknowledged.
    pub in_flight: u64,
}

/// The atomic counters behind [`LinkStats`], shared by the handles and the driver.
#[derive(Debug, Default)]
struct Counters {
    connects: AtomicU64,
    reconnects: AtomicU64,
    failed_attempts: AtomicU64,
    published: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    dropped_full: AtomicU64,
    waited_full: AtomicU64,
    dropped_reconnect: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> LinkStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        LinkStats {
            connects: get(&self.connects),
            reconnects: get(&self.reconnects),
            failed_attempts: get(&self.failed_attempts),
            published: get(&self.published),
            sent: get(&self.sent),
            received: get(&self.received),
            dropped_full: get(&self.dropped_full),
            waited_full: get(&self.waited_full),
            dropped_reconnect: get(&self.dropped_reconnect),
            queued: 0,
            in_flight: 0,
        }
    }
}

/// State shared by the handles and the driver.
#[derive(Debug, Default)]
struct Shared {
    counters: Counters,
    /// Every filter to subscribe to at each connect: [`LinkOptions::subscriptions`] and what
    /// [`Link::subscribe`] added since.
    subscriptions: std::sync::Mutex<Vec<(String, QoS)>>,
    /// The filters of each [`Link::subscribe`] not yet sent, in order: the driver pairs them
    /// with their SUBSCRIBE's packet id to name the refused ones.
    runtime_subscribes: std::sync::Mutex<std::collections::VecDeque<Vec<String>>>,
    /// The driver has stopped.
    closed: AtomicBool,
    /// A QueueFull was logged and no publish succeeded since (one warning per episode).
    full_warned: AtomicBool,
    /// How many wait in [`Link::wait_sent`] (the handles are shared between tasks): while
    /// any do, the driver wakes them at each message written or acknowledged.
    sent_watched: AtomicUsize,
    /// Woken when a message is written to the broker or acknowledged, and when the driver
    /// stops.
    sent: tokio::sync::Notify,
    /// QoS 1 and 2 messages written and not yet acknowledged, as of the last message written
    /// or acknowledged.
    inflight: AtomicU64,
}

impl Shared {
    /// Messages queued by [`Link::publish`] and its kin that were neither written to the broker
    /// nor dropped at a disconnect. Approximate after a reconnect (a resent message counts as
    /// written twice), never below zero.
    fn unsent(&self) -> u64 {
        let c = &self.counters;
        let done = c.sent.load(Ordering::Relaxed) + c.dropped_reconnect.load(Ordering::Relaxed);
        c.published.load(Ordering::Relaxed).saturating_sub(done)
    }
}

/// The handle to a link: cheap to clone, usable from any task.
#[derive(Clone)]
pub struct Link {
    inner: Arc<Inner>,
}

struct Inner {
    client: AsyncClient,
    shared: Arc<Shared>,
    /// `true`: a disconnect was asked for. Dropped with the last handle, which stops the driver.
    stop: watch::Sender<bool>,
    /// Becomes `true` when the driver has stopped.
    done: watch::Receiver<bool>,
    driver: tokio::task::AbortHandle,
    broker: String,
    queue: usize,
    max_packet_size: usize,
    /// Held by [`Link::subscribe`].
    subscribing: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("broker", &self.inner.broker)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Validates the options, reads the TLS files and spawns the driver on the current tokio
    /// runtime. Connecting happens in the background: watch [`LinkEvents`] for
    /// [`LinkEvent::Connected`].
    pub fn start(opts: LinkOptions) -> Result<(Link, LinkEvents), LinkError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| LinkError::NoRuntime)?;
        opts.validate()?;
        let mqtt = opts.mqtt_options()?;
        let (client, mut eventloop) = AsyncClient::new(mqtt, opts.queue);
        // Every state is a small message that should leave at once: without TCP_NODELAY,
        // Nagle's algorithm holds a publish back until the previous one is acknowledged,
        // and with the broker's delayed ACKs that costs up to 40 ms (measured by
        // `lumi bench`; BENCHMARKS.md).
        let mut net = eventloop.network_options();
        net.set_tcp_nodelay(true);
        eventloop.set_network_options(net);
        let shared = Arc::new(Shared {
            subscriptions: std::sync::Mutex::new(
                opts.subscriptions
                    .iter()
                    .map(|(f, q)| (f.clone(), qos(*q)))
                    .collect(),
            ),
            ..Shared::default()
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, done_rx) = watch::channel(false);
        let (events_tx, events_rx) = mpsc::channel(opts.events);
        let broker = opts.broker_url();
        let driver = driver::Driver::new(
            eventloop,
            &opts,
            broker.clone(),
            Arc::clone(&shared),
            events_tx,
            stop_rx,
            done_tx,
        );
        let handle = runtime.spawn(driver.run());
        let link = Link {
            inner: Arc::new(Inner {
                client,
                shared,
                stop: stop_tx,
                done: done_rx,
                driver: handle.abort_handle(),
                broker,
                queue: opts.queue,
                max_packet_size: opts.max_packet_size,
                subscribing: tokio::sync::Mutex::new(()),
            }),
        };
        Ok((link, LinkEvents { rx: events_rx }))
    }

    /// Queues a message for the broker without waiting. It is sent as soon as the link is
    /// connected, in order, and survives reconnects (see the module docs).
    ///
    /// Errors: [`LinkError::QueueFull`] when `queue` messages already wait (the message is
    /// dropped and counted), [`LinkError::Closed`] after [`Link::disconnect`],
    /// [`LinkError::TooLarge`] and [`LinkError::InvalidTopic`] for messages no broker takes.
    pub fn publish(
        &self,
        topic: impl Into<String>,
        payload: impl Into<Vec<u8>>,
        qos: Qos,
        retain: bool,
    ) -> Result<(), LinkError> {
        let topic = topic.into();
        let payload = payload.into();
        self.check(&topic, payload.len(), qos)?;
        let shared = &self.inner.shared;
        match self
            .inner
            .client
            .try_publish(topic, self::qos(qos), retain, payload)
        {
            Ok(()) => {
                Counters::add(&shared.counters.published, 1);
                shared.full_warned.store(false, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                let topic = request_topic(e);
                if self.is_closed() {
                    return Err(LinkError::Closed);
                }
                Counters::add(&shared.counters.dropped_full, 1);
                if !shared.full_warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        broker = %self.inner.broker,
                        queue = self.inner.queue,
                        "mqtt: the publish queue is full (the broker is away or too slow): dropping messages until it drains"
                    );
                }
                Err(LinkError::QueueFull {
                    topic,
                    queue: self.inner.queue,
                })
            }
        }
    }

    /// Like [`Link::publish`], but when the queue is full waits up to `wait` for room before
    /// giving up with [`LinkError::QueueFull`]: the daemon's backpressure, so a burst larger
    /// than the broker takes waits (in the LAN socket's buffer) instead of being dropped, and
    /// a broker that stopped reading still cannot hold the bridge for longer than `wait`.
    pub async fn publish_within(
        &self,
        topic: String,
        payload: Vec<u8>,
        qos: Qos,
        retain: bool,
        wait: Duration,
    ) -> Result<(), LinkError> {
        self.check(&topic, payload.len(), qos)?;
        let shared = &self.inner.shared;
        let full = match self
            .inner
            .client
            .try_publish(topic, self::qos(qos), retain, payload)
        {
            Ok(()) => {
                Counters::add(&shared.counters.published, 1);
                return Ok(());
            }
            Err(ClientError::TryRequest(Request::Publish(p))) if !self.is_closed() => p,
            Err(e) => {
                let topic = request_topic(e);
                if self.is_closed() {
                    return Err(LinkError::Closed);
                }
                return Err(LinkError::QueueFull {
                    topic,
                    queue: self.inner.queue,
                });
            }
        };
        let topic = full.topic.clone();
        let send =
            self.inner
                .client
                .publish(full.topic, full.qos, full.retain, full.payload.to_vec());
        match tokio::time::timeout(wait, send).await {
            Ok(Ok(())) => {
                Counters::add(&shared.counters.published, 1);
                Counters::add(&shared.counters.waited_full, 1);
                Ok(())
            }
            Ok(Err(_)) => Err(LinkError::Closed),
            Err(_) => {
                Counters::add(&shared.counters.dropped_full, 1);
                if !shared.full_warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        broker = %self.inner.broker,
                        queue = self.inner.queue,
                        "mqtt: the publish queue stayed full for {wait:?} (the broker is away or too slow): dropping messages until it drains"
                    );
                }
                Err(LinkError::QueueFull {
                    topic,
                    queue: self.inner.queue,
                })
            }
        }
    }

    /// Like [`Link::publish`], but waits for room in the queue instead of failing: for bulk
    /// publishing (a full republish) that must not lose messages. While the broker is away
    /// the queue does not drain, so this can wait for as long as the outage lasts.
    pub async fn publish_wait(
        &self,
        topic: impl Into<String>,
        payload: impl Into<Vec<u8>>,
        qos: Qos,
        retain: bool,
    ) -> Result<(), LinkError> {
        let topic = topic.into();
        let payload = payload.into();
        self.check(&topic, payload.len(), qos)?;
        if self.is_closed() {
            return Err(LinkError::Closed);
        }
        match self
            .inner
            .client
            .publish(topic, self::qos(qos), retain, payload)
            .await
        {
            Ok(()) => {
                Counters::add(&self.inner.shared.counters.published, 1);
                Ok(())
            }
            Err(_) => Err(LinkError::Closed),
        }
    }

    /// Sends a clean MQTT DISCONNECT after every message published before (publish the
    /// `offline` state first), waits until it is written or [`DISCONNECT_TIMEOUT`] has passed
    /// (then the connection is dropped without it), and stops the driver. Further publishes
    /// fail with [`LinkError::Closed`]. When not connected it stops at once.
    pub async fn disconnect(&self) {
        let deadline = tokio::time::Instant::now() + DISCONNECT_TIMEOUT;
        self.inner.stop.send_replace(true);
        if self.is_closed() {
            return;
        }
        // Behind everything already queued; waits for room if the queue is full.
        let queued = tokio::time::timeout_at(deadline, self.inner.client.disconnect()).await;
        let mut done = self.inner.done.clone();
        let stopped = tokio::time::timeout_at(deadline, done.wait_for(|d| *d))
            .await
            .is_ok();
        if queued.is_err() || !stopped {
            tracing::warn!(
                broker = %self.inner.broker,
                "mqtt: the DISCONNECT was not sent within {DISCONNECT_TIMEOUT:?}: dropping the connection (the broker will publish the last will)"
            );
            self.inner.driver.abort();
            let _ = tokio::time::timeout(Duration::from_millis(100), done.wait_for(|d| *d)).await;
        }
        self.inner.shared.closed.store(true, Ordering::Relaxed);
    }

    /// Subscribes to more filters, now (behind what is already queued) and at every later
    /// connect. Waits for room in the queue.
    pub async fn subscribe(&self, filters: Vec<(String, Qos)>) -> Result<(), LinkError> {
        for (filter, _) in &filters {
            check_filter(filter)?;
        }
        if filters.is_empty() {
            return Ok(());
        }
        let filters: Vec<(String, QoS)> = filters
            .into_iter()
            .map(|(f, q)| (f, self::qos(q)))
            .collect();
        // One at a time, so the filters queued for the driver are in the order of the SUBSCRIBEs.
        let _one = self.inner.subscribing.lock().await;
        let shared = &self.inner.shared;
        shared
            .subscriptions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(filters.iter().cloned());
        if self.is_closed() {
            return Err(LinkError::Closed);
        }
        shared
            .runtime_subscribes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push_back(filters.iter().map(|(f, _)| f.clone()).collect());
        let many = filters
            .into_iter()
            .map(|(f, q)| rumqttc::SubscribeFilter::new(f, q));
        self.inner
            .client
            .subscribe_many(many)
            .await
            .map_err(|_| LinkError::Closed)
    }

    /// The link's counters.
    pub fn stats(&self) -> LinkStats {
        let shared = &self.inner.shared;
        LinkStats {
            queued: shared.unsent(),
            in_flight: shared.inflight.load(Ordering::Relaxed),
            ..shared.counters.snapshot()
        }
    }

    /// Waits until every message published so far has been written to the broker's
    /// connection (or dropped at a disconnect) and every QoS 1/2 one acknowledged, for at most
    /// `within`. `true` if they were (or the link is closed: nothing more will be written),
    /// `false` if the time ran out, for instance while disconnected.
    ///
    /// For a producer of many messages (the announcement of every device after a connect) to
    /// make the next batch only once the last one has left, so that only one batch is held in
    /// memory rather than the whole queue and the in-flight window ([`MAX_INFLIGHT`]).
    pub async fn wait_sent(&self, within: Duration) -> bool {
        let shared = &self.inner.shared;
        let deadline = tokio::time::Instant::now() + within;
        /// Counts this caller among the waiters until it returns or is cancelled.
        struct Watching<'a>(&'a AtomicUsize);
        impl Drop for Watching<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        shared.sent_watched.fetch_add(1, Ordering::Relaxed);
        let _watching = Watching(&shared.sent_watched);
        loop {
            let woken = shared.sent.notified();
            tokio::pin!(woken);
            // Registered before the check, so a message written in between still wakes us.
            woken.as_mut().enable();
            let done = || shared.unsent() == 0 && shared.inflight.load(Ordering::Relaxed) == 0;
            if done() || self.is_closed() {
                break true;
            }
            if tokio::time::timeout_at(deadline, woken).await.is_err() {
                break done();
            }
        }
    }

    /// Whether the link is closed (disconnected for good).
    pub fn is_closed(&self) -> bool {
        self.inner.shared.closed.load(Ordering::Relaxed)
    }

    /// The broker, as a URL (`mqtt://127.0.0.1:1883`).
    pub fn broker(&self) -> &str {
        &self.inner.broker
    }

    fn check(&self, topic: &str, payload_len: usize, qos: Qos) -> Result<(), LinkError> {
        check_topic(topic)?;
        let size = publish_packet_size(topic.len(), payload_len, qos);
        if size > self.inner.max_packet_size {
            return Err(LinkError::TooLarge {
                topic: topic.to_owned(),
                size,
                max: self.inner.max_packet_size,
            });
        }
        Ok(())
    }
}

/// The size of a PUBLISH packet, as rumqttc counts it against the limit.
fn publish_packet_size(topic_len: usize, payload_len: usize, qos: Qos) -> usize {
    let pkid = if qos == Qos::AtMostOnce { 0 } else { 2 };
    let remaining = 2 + topic_len + pkid + payload_len;
    let len_len = match remaining {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    };
    1 + len_len + remaining
}

/// The topic of a request rumqttc handed back.
fn request_topic(e: ClientError) -> String {
    match e {
        ClientError::Request(Request::Publish(p))
        | ClientError::TryRequest(Request::Publish(p)) => p.topic,
        _ => String::new(),
    }
}

/// A topic one can publish to.
fn check_topic(topic: &str) -> Result<(), LinkError> {
    let reason = if topic.is_empty() {
        "is empty"
    } else if topic.contains(['+', '#']) {
        "contains a wildcard (+ or #): publish to a concrete topic"
    } else if topic.contains('\0') {
        "contains a NUL character"
    } else if topic.len() > 65535 {
        "is longer than 65535 bytes"
    } else {
        return Ok(());
    };
    Err(LinkError::InvalidTopic {
        topic: topic.to_owned(),
        reason,
    })
}

/// A filter one can subscribe to.
fn check_filter(filter: &str) -> Result<(), LinkError> {
    let reason = if filter.is_empty() {
        "is empty"
    } else if !rumqttc::valid_filter(filter) {
        "misplaces a wildcard: # only as the last level, + only as a whole level"
    } else if filter.contains('\0') {
        "contains a NUL character"
    } else if filter.len() > 65535 {
        "is longer than 65535 bytes"
    } else {
        return Ok(());
    };
    Err(LinkError::InvalidFilter {
        filter: filter.to_owned(),
        reason,
    })
}

/// rumqttc's QoS.
fn qos(q: Qos) -> QoS {
    match q {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
        Qos::ExactlyOnce => QoS::ExactlyOnce,
    }
}

/// Ours.
fn from_qos(q: QoS) -> Qos {
    match q {
        QoS::AtMostOnce => Qos::AtMostOnce,
        QoS::AtLeastOnce => Qos::AtLeastOnce,
        QoS::ExactlyOnce => Qos::ExactlyOnce,
    }
}
