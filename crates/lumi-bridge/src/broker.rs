//! The embedded MQTT broker (feature `embedded-broker`): rumqttd 0.20 in the bridge's own
//! process, for single-box installs and `lumi demo`.
//!
//! ## How it works, and rumqttd's limits
//!
//! [`EmbeddedBroker::start`] checks the address is free, starts rumqttd with **one MQTT 3.1.1
//! (v4) listener** and waits until it answers an MQTT CONNECT. Only v4: with a v5 listener, a v5
//! client publishing with properties makes rumqttd panic the connection of every v4 subscriber
//! of that topic.
//!
//! - **Taken port.** rumqttd only logs a bind failure and carries on, so clients would silently
//!   talk to whatever else listens there (typically another broker). The address is bound and
//!   released first: [`BrokerError::AddrInUse`] says which broker setting to change. rumqttd
//!   binds again right after, so another program could still slip in between (a window of
//!   microseconds); if rumqttd's listener then stops, start fails too.
//! - **No shutdown.** rumqttd has no way to stop (upstream issue bytebeamio/rumqtt#771): the
//!   broker's threads (a router thread, a listener thread with its own tokio runtime, and one
//!   starter thread) live until the process exits, and dropping [`EmbeddedBroker`] does not
//!   stop them. Tests start one per test on port 0.
//! - **Sizing** ([`ROUTER`]): rumqttd delivers a new subscriber's retained messages in one
//!   batch and *drops* those beyond the batch: for QoS 0 subscriptions the batch is
//!   `max_outgoing_packet_count`, set high enough for every retained state and discovery
//!   config of a large installation (10 gateways × 50 devices); for QoS 1 subscriptions it is
//!   rumqttd's fixed in-flight window of **100 messages**, which cannot be configured. Home
//!   Assistant subscribes to discovery at QoS 0.
//! - **Memory.** Each subscription filter keeps a log of the messages matching it, up to
//!   `max_segment_size × max_segment_count` bytes (2 MiB), whether or not they were delivered:
//!   that bounds how far a subscriber may fall behind in a burst before it skips messages
//!   (a subscriber that reads nothing during a burst of 120 000 100-byte messages got the
//!   first 33 000, then the last 16 000; `tests/broker.rs`), and it is also what a filter
//!   with steady traffic settles at — memory grows
//!   with the number of busy filters, up to 2 MiB each, and is not returned. With 8 MiB per
//!   filter, `lumi bench --rate 20000` (10 gateways × 50 plugs, one subscriber) took the
//!   bridge process to 68 MB; with 2 MiB, 37 MB (BENCHMARKS.md).
//! - **Logs.** rumqttd logs through `tracing`, with ERROR lines for harmless events (a client
//!   closing its TCP connection). See [`NOISY_LOG_TARGETS`].

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long [`EmbeddedBroker::start`] waits for the listener.
pub const START_TIMEOUT: Duration = Duration::from_secs(3);

/// The largest packet the embedded broker accepts: 2 MiB (a 1 MiB payload with room to spare;
/// the bridge itself sends at most [`crate::mqtt::DEFAULT_MAX_PACKET`]).
pub const MAX_PACKET: usize = 2 << 20;

/// The router's sizing; see the module docs.
pub const ROUTER: RouterSizing = RouterSizing {
    max_connections: 512,
    max_outgoing_packet_count: 20_000,
    max_segment_size: 1 << 20,
    max_segment_count: 2,
};

/// tracing targets under which rumqttd logs routine events at ERROR level:
///
/// - `rumqttd::router::routing`: `no-connection id N is already gone` when a client
///   disconnects (most clean DISCONNECTs, including the start-up probe's); its rare real
///   problem there is `no space for new connection`;
/// - `rumqttd::server::broker`: `Error while handling MQTT connect packet` for a connection
///   closed before its CONNECT (a port probe, a health check), `disconnected` with an error for
///   a connection reset or a keep-alive timeout.
///
/// Everything else rumqttd logs at INFO for each connection and subscription. A filter such as
/// `rumqttd=warn,rumqttd::router::routing=off,rumqttd::server::broker=off` keeps the remaining
/// warnings (e.g. `rumqttd::segments`: a slow subscriber skipped messages).
pub const NOISY_LOG_TARGETS: &[&str] = &["rumqttd::router::routing", "rumqttd::server::broker"];

/// The router settings used ([`ROUTER`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterSizing {
    /// Simultaneous client connections.
    pub max_connections: usize,
    /// Messages read per subscription and turn; also the most retained messages a new QoS 0
    /// subscription receives.
    pub max_outgoing_packet_count: u64,
    /// Bytes per log segment of a subscription filter (a larger message gets a segment of its
    /// own).
    pub max_segment_size: usize,
    /// Segments kept per filter, the one being written included.
    pub max_segment_count: usize,
}

/// What can go wrong starting the embedded broker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// Something already listens on the address.
    #[error(
        "{addr} is already in use, probably by another MQTT broker: to use that broker set mqtt.url = \"mqtt://{addr}\" in lumi.toml, or move the embedded one with mqtt.listen"
    )]
    AddrInUse {
        /// The address.
        addr: SocketAddr,
    },
    /// The address cannot be bound for another reason (not an address of this machine, a
    /// privileged port, …).
    #[error("the embedded mqtt broker cannot listen on {addr}: {source} (check mqtt.listen)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// rumqttd did not come up.
    #[error("the embedded mqtt broker did not start on {addr}: {reason}")]
    NotStarted {
        /// The address.
        addr: SocketAddr,
        /// What happened.
        reason: String,
    },
}

/// The embedded broker. It runs until the process exits (rumqttd cannot be stopped), so
/// dropping this value does not stop it.
#[derive(Debug)]
pub struct EmbeddedBroker {
    addr: SocketAddr,
}

impl EmbeddedBroker {
    /// Starts rumqttd with one MQTT 3.1.1 listener on `listen` (port 0: a free port) and waits
    /// up to [`START_TIMEOUT`] until it accepts an MQTT connection. Blocks the calling thread
    /// meanwhile (typically some milliseconds).
    pub fn start(listen: SocketAddr) -> Result<EmbeddedBroker, BrokerError> {
        let addr = free_addr(listen)?;
        let config = config(addr);
        let stopped = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stopped);
        std::thread::Builder::new()
            .name("lumi-mqtt-broker".into())
            .spawn(move || {
                // Spawns the router thread, then the listener thread, and joins the latter:
                // returns only if the listener stops (e.g. it could not bind).
                let mut broker = rumqttd::Broker::new(config);
                if let Err(e) = broker.start() {
                    tracing::error!("embedded mqtt broker on {addr}: {e}");
                }
                flag.store(true, Ordering::SeqCst);
            })
            .map_err(|e| BrokerError::NotStarted {
                addr,
                reason: format!("cannot start its thread: {e}"),
            })?;
        wait_ready(addr, &stopped)?;
        tracing::info!("embedded mqtt broker listening on {addr}");
        Ok(EmbeddedBroker { addr })
    }

    /// Where it listens (with the port it picked when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its URL (`mqtt://127.0.0.1:1883`).
    pub fn url(&self) -> String {
        format!("mqtt://{}", self.addr)
    }
}

/// `listen` if nothing listens there, with a free port if it is 0.
fn free_addr(listen: SocketAddr) -> Result<SocketAddr, BrokerError> {
    let listener = TcpListener::bind(listen).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            BrokerError::AddrInUse { addr: listen }
        } else {
            BrokerError::Bind {
                addr: listen,
                source,
            }
        }
    })?;
    let addr = listener.local_addr().map_err(|source| BrokerError::Bind {
        addr: listen,
        source,
    })?;
    drop(listener);
    Ok(addr)
}

/// rumqttd's configuration: one v4 listener on `addr`, sized per [`ROUTER`].
fn config(addr: SocketAddr) -> rumqttd::Config {
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 5000,
        max_payload_size: MAX_PACKET,
        // Incoming packets read from a connection per turn.
        max_inflight_count: 500,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let v4 = HashMap::from([(
        "lumi".to_owned(),
        rumqttd::ServerSettings {
            name: "lumi-mqtt-v4".into(),
            listen: addr,
            tls: None,
            next_connection_delay_ms: 1,
            connections,
        },
    )]);
    rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: ROUTER.max_connections,
            max_outgoing_packet_count: ROUTER.max_outgoing_packet_count,
            max_segment_size: ROUTER.max_segment_size,
            max_segment_count: ROUTER.max_segment_count,
            ..Default::default()
        },
        v4: Some(v4),
        ..Default::default()
    }
}

/// Waits until the listener answers an MQTT CONNECT with a CONNACK (so an MQTT broker, not
/// just any program, is listening), or fails if rumqttd's listener stopped or the deadline
/// passed.
fn wait_ready(addr: SocketAddr, stopped: &AtomicBool) -> Result<(), BrokerError> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if stopped.load(Ordering::SeqCst) {
            return Err(BrokerError::NotStarted {
                addr,
                reason: "its listener stopped (see the log above; was the port taken meanwhile?)"
                    .into(),
            });
        }
        let last = match probe(addr) {
            Ok(()) if !stopped.load(Ordering::SeqCst) => return Ok(()),
            Ok(()) => continue,
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(BrokerError::NotStarted {
                addr,
                reason: format!("no MQTT answer within {START_TIMEOUT:?} (last: {last})"),
            });
        }
        // Polling a condition with a deadline: the listener binds within milliseconds.
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One MQTT 3.1.1 CONNECT → CONNACK (accepted) → DISCONNECT exchange.
fn probe(addr: SocketAddr) -> std::io::Result<()> {
    const CLIENT_ID: &[u8] = b"lumi-embedded-probe";
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    s.set_write_timeout(Some(Duration::from_millis(500)))?;
    // Variable header: protocol name "MQTT", level 4, flags: clean session, keep-alive 10 s.
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0b0000_0010, 0, 10];
    body.extend_from_slice(&(CLIENT_ID.len() as u16).to_be_bytes());
    body.extend_from_slice(CLIENT_ID);
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend_from_slice(&body);
    s.write_all(&packet)?;
    let mut connack = [0u8; 4];
    s.read_exact(&mut connack)?;
    if connack != [0x20, 0x02, 0x00, 0x00] {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("unexpected answer to CONNECT: {connack:02x?}"),
        ));
    }
    s.write_all(&[0xe0, 0x00])?;
    Ok(())
}
