//! [`MiioDevice`]: a handle to one miIO device, and the driver task behind it.
//!
//! ## How it works
//!
//! [`MiioDevice::connect`] binds one UDP socket (to [`MiioOptions::bind`], or the unspecified
//! address, port 0: the device answers to whatever port asked), spawns one driver task that
//! owns the socket and a sans-IO [`MiioSession`], and waits for the handshake. The handle is
//! cheap to clone; every clone talks to the same task over a bounded channel, each call with
//! its own oneshot reply. The task ends when the last handle is dropped.
//!
//! ```text
//!  MiioDevice ─┐  Command::Call ─► driver task ─► MiioSession ─► UdpSocket ─► device:54321
//!  MiioDevice ─┘◄── oneshot ─────┘  (poll_transmit / poll_event / poll_timeout)
//! ```
//!
//! Everything about the protocol — hello, stamp, ids, matching, retries — is the session's
//! (see [`lumi_proto::session::miio`]): calls to one device are sent one at a time, in order.
//! The driver only moves bytes, passes `tokio::time::Instant::now()` as the time (so tests
//! can pause the clock), and logs what happened with `tracing`. A caller that stops waiting
//! (drops the future) cancels its call.
//!
//! The first message id is random-ish (from the process's randomly keyed hasher and the
//! clock), so a restarted process does not repeat the ids of the previous run, which devices
//! would ignore (reference §7.2).
//!
//! ## Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use lumi_client::miio::{MiioDevice, MiioOptions};
//! use serde_json::json;
//!
//! let token = "9c3b2d1da5beceee2808a3d3653b485d".parse()?;
//! let plug = MiioDevice::connect("192.168.1.30:54321".parse()?, token, MiioOptions::default()).await?;
//! let info = plug.info().await?;
//! println!("{} firmware {:?}", info.model, info.fw_ver);
//! plug.call("set_power", json!(["on"])).await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lumi_proto::miio::{DeviceError, DeviceId, MiioToken, PacketError};
use lumi_proto::session::RequestId;
use lumi_proto::session::miio::{
    CallError, DecodeError, MAX_WIRE_ID, MiioConfig, MiioEvent, MiioSession, RetryReason,
};
use serde_json::{Map, Value};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::rpc::MiioRpc;

/// Why a miIO operation failed.
///
/// Messages name the device's address and say what to check; they never contain the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MiioError {
    /// A call (or the handshake) failed: no reply ([`CallError::Timeout`]), an error reply
    /// ([`CallError::Device`]), another device at the address, a request too large.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The UDP socket could not be opened.
    #[error(
        "cannot open a udp socket on {local} to talk to the miio device at {peer}: {source}; \
         check that {local} is an address of this machine"
    )]
    Bind {
        /// The address asked for (port 0).
        local: SocketAddr,
        /// The device.
        peer: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A datagram could not be sent.
    #[error("cannot send to the miio device at {peer}: {source}")]
    Send {
        /// The destination.
        peer: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The driver task has stopped (its runtime shut down).
    #[error("the miio driver for {peer} has stopped")]
    Closed {
        /// The device.
        peer: SocketAddr,
    },
    /// `miIO.info` answered something that is not device information.
    #[error(
        "miIO.info of the miio device at {peer}: {reason} (some devices answer miIO.info only \
         while they can reach the cloud)"
    )]
    BadInfo {
        /// The device.
        peer: SocketAddr,
        /// What was wrong.
        reason: &'static str,
    },
}

impl MiioError {
    /// Whether the device did not answer (handshake or request).
    pub fn is_timeout(&self) -> bool {
        matches!(self, MiioError::Call(CallError::Timeout { .. }))
    }

    /// The error the device answered with, if it did.
    pub fn device_error(&self) -> Option<&DeviceError> {
        match self {
            MiioError::Call(CallError::Device { error, .. }) => Some(error),
            _ => None,
        }
    }
}

/// How [`MiioDevice::connect`] talks to a device.
#[derive(Debug, Clone, PartialEq)]
pub struct MiioOptions {
    /// Local address to bind (the address of the interface facing the device). `None`: the
    /// unspecified address of the device's family (`0.0.0.0`), port 0 either way.
    pub bind: Option<IpAddr>,
    /// The device id, when known: another device answering at the address is an error.
    pub device_id: Option<DeviceId>,
    /// How long one datagram waits for its answer (2 s).
    pub attempt_timeout: Duration,
    /// Requests per call and hellos per handshake (3).
    pub max_attempts: u32,
    /// Re-handshake after this long without hearing from the device (60 s); `None`: never.
    pub idle_rehandshake: Option<Duration>,
    /// The first message id; `None` picks a random-ish one.
    pub first_id: Option<u64>,
    /// Calls that may wait for the driver before `call` itself waits (64).
    pub queue: usize,
}

impl Default for MiioOptions {
    fn default() -> Self {
        MiioOptions {
            bind: None,
            device_id: None,
            attempt_timeout: Duration::from_secs(2),
            max_attempts: 3,
            idle_rehandshake: Some(Duration::from_secs(60)),
            first_id: None,
            queue: 64,
        }
    }
}

impl MiioOptions {
    /// Options whose attempts fit `total`: the per-attempt timeout is `total` divided by the
    /// attempts (at least 50 ms), so an unreachable device fails after about `total`.
    pub fn with_total_timeout(mut self, total: Duration) -> Self {
        let attempts = self.max_attempts.max(1);
        self.attempt_timeout = (total / attempts).max(Duration::from_millis(50));
        self
    }
}

/// What a hello reply said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// The device id.
    pub device_id: DeviceId,
    /// The device's stamp (uptime or unix seconds).
    pub stamp: u32,
    /// The token, if the device revealed it (unprovisioned). Redacted in `Debug`.
    pub revealed_token: Option<MiioToken>,
}

/// The typed answer to `miIO.info`.
///
/// Strings are as the device sent them: sanitise them
/// ([`lumi_proto::sanitize::for_terminal`]) before printing. A `token` member is taken out
/// of [`DeviceInfo::raw`] and kept, redacted, in [`DeviceInfo::token`].
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    /// `model`, e.g. `chuangmi.plug.m1`, `lumi.gateway.v3`.
    pub model: String,
    /// `fw_ver`.
    pub fw_ver: Option<String>,
    /// `hw_ver`.
    pub hw_ver: Option<String>,
    /// `mac`.
    pub mac: Option<String>,
    /// `netif.localIp`.
    pub ip: Option<String>,
    /// `ap.ssid`.
    pub ssid: Option<String>,
    /// `ap.rssi`.
    pub rssi: Option<i64>,
    /// `life`: uptime in seconds.
    pub life: Option<u64>,
    /// `wifi_fw_ver`.
    pub wifi_fw_ver: Option<String>,
    /// `token`, when present and not all zeros (some firmware includes it). Redacted in
    /// `Debug`.
    pub token: Option<MiioToken>,
    /// The whole result without `token`.
    pub raw: Value,
}

impl DeviceInfo {
    /// Reads a `miIO.info` result.
    pub fn from_value(mut v: Value) -> Result<DeviceInfo, &'static str> {
        let Some(m) = v.as_object_mut() else {
            return Err(if v.is_null() {
                "empty answer"
            } else {
                "the answer is not a json object"
            });
        };
        let token = m
            .remove("token")
            .and_then(|t| t.as_str().and_then(|s| s.parse::<MiioToken>().ok()))
            .filter(|t| !t.is_placeholder());
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let model = s(m.get("model")).ok_or("no \"model\" string in the answer")?;
        let ap = m.get("ap");
        Ok(DeviceInfo {
            model,
            fw_ver: s(m.get("fw_ver")),
            hw_ver: s(m.get("hw_ver")),
            mac: s(m.get("mac")),
            ip: s(m.get("netif").and_then(|n| n.get("localIp"))),
            ssid: s(ap.and_then(|a| a.get("ssid"))),
            rssi: ap.and_then(|a| a.get("rssi")).and_then(Value::as_i64),
            life: m.get("life").and_then(Value::as_u64),
            wifi_fw_ver: s(m.get("wifi_fw_ver")),
            token,
            raw: v,
        })
    }
}

type Reply<T> = oneshot::Sender<Result<T, MiioError>>;

enum Command {
    Call {
        method: String,
        params: Value,
        extra: Option<Map<String, Value>>,
        reply: Reply<Value>,
    },
    Handshake {
        reply: Reply<Hello>,
    },
}

/// A handle to one miIO device; see the [module documentation](self). Cheap to clone; the
/// driver task stops when the last clone is dropped.
#[derive(Clone)]
pub struct MiioDevice {
    tx: mpsc::Sender<Command>,
    peer: SocketAddr,
    local: SocketAddr,
    device_id: Arc<AtomicU32>,
}

impl std::fmt::Debug for MiioDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiioDevice")
            .field("peer", &self.peer)
            .field("local", &self.local)
            .field("device_id", &self.device_id())
            .finish_non_exhaustive()
    }
}

impl MiioDevice {
    /// Opens a socket, starts the driver and handshakes with the device at `addr` (port
    /// 54321 on real devices). Fails when the device does not answer the hello, or another
    /// device id than [`MiioOptions::device_id`] answers.
    pub async fn connect(
        addr: SocketAddr,
        token: MiioToken,
        opts: MiioOptions,
    ) -> Result<MiioDevice, MiioError> {
        let local = SocketAddr::new(opts.bind.unwrap_or(unspecified(addr.ip())), 0);
        let socket = UdpSocket::bind(local)
            .await
            .map_err(|source| MiioError::Bind {
                local,
                peer: addr,
                source,
            })?;
        let local = socket.local_addr().map_err(|source| MiioError::Bind {
            local,
            peer: addr,
            source,
        })?;
        let mut cfg = MiioConfig::new(addr, token);
        cfg.device_id = opts.device_id;
        cfg.attempt_timeout = opts.attempt_timeout;
        cfg.max_attempts = opts.max_attempts.max(1);
        cfg.idle_rehandshake = opts.idle_rehandshake;
        cfg.first_id = opts.first_id.unwrap_or_else(random_first_id);
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let device_id = Arc::new(AtomicU32::new(opts.device_id.map_or(0, |d| d.get())));
        tracing::debug!(peer = %addr, %local, first_id = cfg.first_id, "miio: driver starting");
        let driver = Driver {
            session: MiioSession::new(cfg),
            socket,
            peer: addr,
            device_id: device_id.clone(),
            calls: HashMap::new(),
            hello_waiters: Vec::new(),
            hello: None,
        };
        tokio::spawn(driver.run(rx));
        let device = MiioDevice {
            tx,
            peer: addr,
            local,
            device_id,
        };
        device.handshake().await?;
        Ok(device)
    }

    /// Sends a hello now and waits for the reply (the driver also does this by itself
    /// whenever it is needed).
    pub async fn handshake(&self) -> Result<Hello, MiioError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Handshake { reply }, rx).await
    }

    /// Calls `method` with `params` (`null` is sent as `[]`) and returns the `result`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, MiioError> {
        self.call_with(method, params, None).await
    }

    /// Like [`MiioDevice::call`], with extra top-level members in the request (e.g.
    /// `{"sid": "lumi.158d0001a2b3c4"}` for a gateway sub-device).
    pub async fn call_with(
        &self,
        method: &str,
        params: Value,
        extra: Option<Map<String, Value>>,
    ) -> Result<Value, MiioError> {
        let (reply, rx) = oneshot::channel();
        let command = Command::Call {
            method: method.to_owned(),
            params,
            extra,
            reply,
        };
        self.send(command, rx).await
    }

    /// `miIO.info`, typed.
    pub async fn info(&self) -> Result<DeviceInfo, MiioError> {
        let v = self.call("miIO.info", Value::Array(Vec::new())).await?;
        DeviceInfo::from_value(v).map_err(|reason| MiioError::BadInfo {
            peer: self.peer,
            reason,
        })
    }

    /// The device id (from the last hello reply, or the configured one).
    pub fn device_id(&self) -> DeviceId {
        DeviceId(self.device_id.load(Ordering::Relaxed))
    }

    /// The device's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The local address of the driver's socket.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn send<T>(
        &self,
        command: Command,
        rx: oneshot::Receiver<Result<T, MiioError>>,
    ) -> Result<T, MiioError> {
        let closed = || MiioError::Closed { peer: self.peer };
        self.tx.send(command).await.map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }
}

impl MiioRpc for MiioDevice {
    type Error = MiioError;

    async fn call(
        &self,
        method: &str,
        params: Value,
        extra: Option<Map<String, Value>>,
    ) -> Result<Value, MiioError> {
        self.call_with(method, params, extra).await
    }
}

fn unspecified(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// A first message id that differs between processes: the standard library keys its
/// hasher randomly per process; the clock is mixed in for good measure.
fn random_first_id() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.write_u32(std::process::id());
    // Leave room below MAX_WIRE_ID so ids rarely wrap during a run.
    1 + h.finish() % (MAX_WIRE_ID / 2)
}

struct Driver {
    session: MiioSession,
    socket: UdpSocket,
    peer: SocketAddr,
    device_id: Arc<AtomicU32>,
    calls: HashMap<RequestId, (String, Reply<Value>)>,
    hello_waiters: Vec<Reply<Hello>>,
    /// A hello reply accepted in this round of events (a token event may follow it).
    hello: Option<Hello>,
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut buf = vec![0u8; 65_536];
        loop {
            self.cancel_abandoned();
            self.flush().await;
            let deadline = self.session.poll_timeout();
            let sleep = tokio::time::sleep_until(
                deadline.map_or_else(far_future, tokio::time::Instant::from_std),
            );
            tokio::select! {
                command = rx.recv() => match command {
                    None => break,
                    Some(c) => self.command(c),
                },
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => {
                        let bytes = buf.get(..n).unwrap_or_default();
                        self.session.handle_datagram(now(), from, bytes);
                    }
                    // ICMP errors and the like: the session's timeout handles the silence.
                    Err(e) => tracing::debug!(peer = %self.peer, "miio: receive failed: {e}"),
                },
                () = sleep, if deadline.is_some() => self.session.handle_timeout(now()),
            }
        }
        tracing::debug!(peer = %self.peer, "miio: last handle dropped, driver stops");
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Call {
                method,
                params,
                extra,
                reply,
            } => {
                tracing::debug!(peer = %self.peer, %method, "miio: call");
                let id = self.session.call(now(), method.clone(), params, extra);
                self.calls.insert(id, (method, reply));
            }
            Command::Handshake { reply } => {
                self.hello_waiters.push(reply);
                self.session.handshake(now());
            }
        }
    }

    /// Forgets calls whose caller stopped waiting, so they do not hold up the queue.
    fn cancel_abandoned(&mut self) {
        let abandoned: Vec<RequestId> = self
            .calls
            .iter()
            .filter(|(_, (_, reply))| reply.is_closed())
            .map(|(id, _)| *id)
            .collect();
        for id in abandoned {
            if let Some((method, _)) = self.calls.remove(&id) {
                tracing::debug!(peer = %self.peer, %method, "miio: caller gave up, call cancelled");
            }
            self.session.cancel(now(), id);
        }
    }

    /// Sends what the session wants sent and delivers what happened.
    async fn flush(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            if let Err(e) = self.socket.send_to(&t.payload, t.to).await {
                // The session times the request out; the log says why.
                tracing::warn!(peer = %t.to, "miio: send failed: {e}");
            }
        }
        while let Some(e) = self.session.poll_event() {
            self.event(e);
        }
        if let Some(hello) = self.hello.take() {
            for w in self.hello_waiters.drain(..) {
                let _ = w.send(Ok(hello));
            }
        }
    }

    fn event(&mut self, e: MiioEvent) {
        let peer = self.peer;
        match e {
            MiioEvent::Completed { id, result } => {
                let Some((method, reply)) = self.calls.remove(&id) else {
                    return;
                };
                match &result {
                    Ok(_) => tracing::debug!(%peer, %method, "miio: call completed"),
                    Err(e) => tracing::info!(%peer, %method, "miio: call failed: {e}"),
                }
                let _ = reply.send(result.map_err(MiioError::from));
            }
            MiioEvent::Retry {
                method,
                attempts,
                reason,
                ..
            } => match reason {
                RetryReason::Timeout => tracing::debug!(
                    %peer, %method, attempts,
                    "miio: no reply, handshaking again before the retry"
                ),
                RetryReason::DeviceError { code } => tracing::debug!(
                    %peer, %method, attempts, code,
                    "miio: transient device error, retrying"
                ),
                _ => tracing::debug!(%peer, %method, attempts, "miio: retrying"),
            },
            MiioEvent::Handshake { device_id, stamp } => {
                tracing::debug!(%peer, %device_id, stamp, "miio: handshake");
                self.device_id.store(device_id.get(), Ordering::Relaxed);
                self.hello = Some(Hello {
                    device_id,
                    stamp,
                    revealed_token: None,
                });
            }
            MiioEvent::TokenRevealed {
                device_id,
                token,
                matches_configured,
            } => {
                tracing::info!(
                    %peer, %device_id, matches_configured,
                    "miio: the device revealed its token in the hello reply (it is not provisioned)"
                );
                if let Some(h) = self.hello.as_mut() {
                    h.revealed_token = Some(token);
                }
            }
            MiioEvent::HandshakeFailed { error } => {
                tracing::info!(%peer, "miio: handshake failed: {error}");
                for w in self.hello_waiters.drain(..) {
                    let _ = w.send(Err(MiioError::Call(error.clone())));
                }
            }
            MiioEvent::Unmatched { from, reason } => {
                tracing::debug!(%peer, %from, ?reason, "miio: datagram dropped");
            }
            MiioEvent::Undecodable { from, error } => match error {
                DecodeError::Packet(PacketError::ChecksumMismatch { .. }) => tracing::warn!(
                    %peer, %from,
                    "miio: reply with a bad checksum dropped: the token is probably wrong"
                ),
                _ => tracing::debug!(%peer, %from, "miio: undecodable datagram dropped: {error}"),
            },
            _ => {}
        }
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn info_is_typed_and_keeps_the_token_out_of_raw() {
        let v = json!({
            "life": 24, "token": "00112233445566778899aabbccddeeff", "mac": "AA:BB:CC:DD:EE:FF",
            "fw_ver": "1.2.4_16", "hw_ver": "MW300", "model": "chuangmi.plug.m1",
            "ap": {"rssi": -48, "ssid": "home"}, "netif": {"localIp": "192.168.1.30"}
        });
        let info = DeviceInfo::from_value(v).unwrap();
        assert_eq!(info.model, "chuangmi.plug.m1");
        assert_eq!(info.fw_ver.as_deref(), Some("1.2.4_16"));
        assert_eq!(info.ip.as_deref(), Some("192.168.1.30"));
        assert_eq!((info.rssi, info.life), (Some(-48), Some(24)));
        assert!(info.token.is_some());
        assert!(info.raw.get("token").is_none());
        assert!(!format!("{info:?}").contains("00112233"));
        // 32 zeros (python-miio's simulator, lumi-sim) is no token.
        let info = DeviceInfo::from_value(json!({"model": "m", "token": "0".repeat(32)})).unwrap();
        assert_eq!(info.token, None);
        assert_eq!(DeviceInfo::from_value(Value::Null), Err("empty answer"));
        assert!(DeviceInfo::from_value(json!(["x"])).is_err());
        assert!(DeviceInfo::from_value(json!({"model": 1})).is_err());
    }

    #[test]
    fn first_ids_differ_and_stay_in_range() {
        let a = random_first_id();
        let b = random_first_id();
        assert_ne!(a, b);
        for id in [a, b] {
            assert!((1..=MAX_WIRE_ID / 2).contains(&id), "{id}");
        }
    }

    #[test]
    fn total_timeout_is_split_over_the_attempts() {
        let o = MiioOptions::default().with_total_timeout(Duration::from_secs(3));
        assert_eq!(o.attempt_timeout, Duration::from_secs(1));
        let o = MiioOptions::default().with_total_timeout(Duration::from_millis(30));
        assert_eq!(o.attempt_timeout, Duration::from_millis(50));
    }
}
