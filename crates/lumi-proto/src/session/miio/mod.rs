//! One miIO device as a sans-IO session: [`MiioSession`].
//!
//! The session knows one device: its address (`ip:54321`), its token and, once configured or
//! learned from a hello reply, its device id. Calls go in with [`MiioSession::call`];
//! datagrams and time go in with [`MiioSession::handle_datagram`] and
//! [`MiioSession::handle_timeout`]; datagrams, events and the next deadline come out of
//! [`MiioSession::poll_transmit`], [`MiioSession::poll_event`] and
//! [`MiioSession::poll_timeout`]. It reads no clock and draws no random number: the first
//! message id is [`MiioConfig::first_id`], chosen by the driver.
//!
//! ## A call's life
//!
//! ```text
//!   call ──► Queued ──(head of the queue)──► [handshake if needed] ──► Sent{wire id, deadline}
//!              ▲                                                        │
//!              ├── reply error -9999 / -30001, attempts left: fresh id ─┤
//!              └── deadline, attempts left: id += 100, forget stamp ────┤ (so: hello first)
//!                                                                       ├─► Completed(Ok(result))
//!                                       reply with another error code ──┼─► Completed(Err(Device))
//!                                          deadline, no attempts left ──┴─► Completed(Err(Timeout))
//! ```
//!
//! - **One request on the wire per device**, FIFO: devices drop or refuse a second
//!   concurrent request (reference §7.8).
//! - **Handshake** (the 32-byte hello, reference §1.1) before the head of the queue is sent
//!   when there is no stamp yet, after a timeout (the device may have rebooted: its stamp
//!   went back to zero, §7.7), and when nothing was heard from the device for
//!   [`MiioConfig::idle_rehandshake`] ("some devices require a recent handshake", python-miio
//!   PR #2064). Each hello waits [`MiioConfig::attempt_timeout`]; after
//!   [`MiioConfig::max_attempts`] unanswered hellos every queued call fails with
//!   [`CallError::Timeout`] (`answered_hello: false`) and [`MiioEvent::HandshakeFailed`] is
//!   emitted.
//! - **Stamp** = the device's stamp + whole seconds elapsed since it was seen (wrapping
//!   `u32`), as aholstenson/miio and AlexxIT do (§2.3). It is taken from hello replies and
//!   from the header of every accepted reply; an unmatched reply (a late duplicate) does not
//!   touch it, since it carries an older stamp.
//! - **Ids** on the wire start at [`MiioConfig::first_id`] and strictly increase (every
//!   datagram gets a fresh one, retries included: devices ignore an id they saw recently,
//!   §7.2); after a timeout the counter jumps by [`TIMEOUT_ID_JUMP`] (python-miio,
//!   aholstenson). After [`MAX_WIRE_ID`] the counter wraps to 1.
//! - **Retries**: a timeout, and the transient error codes `-9999` ("user ack timeout") and
//!   `-30001` ("Resp invalid json"), are retried while attempts remain (each request
//!   datagram is one attempt). Any other error reply completes the call with
//!   [`CallError::Device`]; the message is taken from `message`, or from `error` as
//!   python-miio's own simulator sends it.
//!
//! ## What is accepted
//!
//! A datagram completes the call on the wire only when it
//!
//! 1. comes from exactly the device's address,
//! 2. has the device's id in its header (once known),
//! 3. passes the MD5 checksum with the configured token and decrypts,
//! 4. is a JSON-RPC reply whose `id` is the id of the request on the wire.
//!
//! Anything else becomes [`MiioEvent::Unmatched`] or [`MiioEvent::Undecodable`] and is
//! dropped: a late reply to an earlier id never completes a newer call. A hello reply is
//! accepted only while a handshake is in progress; it sets the device id and the stamp. A
//! token revealed in it (unprovisioned devices) is reported in [`MiioEvent::TokenRevealed`]
//! and never replaces the configured token.
//!
//! ## Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use lumi_proto::miio::{Cipher, DeviceId, HELLO, HelloReply, MiioToken, RpcReply, RpcRequest};
//! use lumi_proto::session::miio::{MiioConfig, MiioEvent, MiioSession};
//! use serde_json::json;
//!
//! let device = "127.0.0.3:54321".parse()?;
//! let token: MiioToken = "00112233445566778899aabbccddeeff".parse()?;
//! let t0 = Instant::now();
//! let mut s = MiioSession::new(MiioConfig::new(device, token).with_first_id(1000));
//! let id = s.call(t0, "get_prop", json!(["power"]), None);
//!
//! // No stamp yet: the hello goes first.
//! assert_eq!(s.poll_transmit().unwrap().payload, HELLO);
//! s.handle_datagram(t0, device, &HelloReply::hidden(DeviceId(42), 5000).to_bytes());
//!
//! // Then the request, with the device's id and its stamp.
//! let cipher = Cipher::new(&token);
//! let sent = cipher.open(&s.poll_transmit().unwrap().payload)?;
//! assert_eq!((sent.device_id(), sent.stamp()), (DeviceId(42), 5000));
//! assert_eq!(sent.json_text()?, r#"{"id":1000,"method":"get_prop","params":["power"]}"#);
//!
//! let reply = RpcReply::result(1000, json!(["on"]));
//! s.handle_datagram(t0 + Duration::from_millis(20), device, &cipher.seal(DeviceId(42), 5000, &reply.encode())?);
//! let done = std::iter::from_fn(|| s.poll_event())
//!     .find_map(|e| match e { MiioEvent::Completed { id: done, result } => Some((done, result)), _ => None });
//! assert_eq!(done, Some((id, Ok(json!(["on"])))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::miio::{
    Cipher, DeviceId, HEADER_LEN, HELLO, Header, Hello, MiioToken, ReplyOutcome, RpcMessage,
    RpcRequest,
};

use super::{RequestId, Transmit};

mod error;

pub use error::{CallError, DecodeError, Unmatched};

/// The largest id put on the wire; the counter wraps to 1 after it. Nine digits, as
/// AlexxIT's ids, so it also fits the 32-bit integers some firmware parses ids into.
pub const MAX_WIRE_ID: u64 = 999_999_999;

/// How far the id counter jumps after a timeout (python-miio and aholstenson/miio do the
/// same), so a retry is never mistaken for a repeat of an id the device saw.
pub const TIMEOUT_ID_JUMP: u64 = 100;

/// How a [`MiioSession`] is set up. `Debug` does not show the token.
#[derive(Debug, Clone, PartialEq)]
pub struct MiioConfig {
    /// The device's address (`ip:54321` on real devices). Replies must come from exactly
    /// this address.
    pub addr: SocketAddr,
    /// The device's token (redacted in `Debug`).
    pub token: MiioToken,
    /// The device id, when known: hello replies and packets carrying another id are refused.
    /// Otherwise it is learned from the first hello reply.
    pub device_id: Option<DeviceId>,
    /// How long one datagram (hello or request) waits for its answer.
    pub attempt_timeout: Duration,
    /// Request datagrams per call (and hellos per handshake) before giving up.
    pub max_attempts: u32,
    /// Re-handshake before a request when nothing was heard from the device for this long;
    /// `None` never re-handshakes for idleness.
    pub idle_rehandshake: Option<Duration>,
    /// The first message id (brought into `1..=MAX_WIRE_ID` modulo [`MAX_WIRE_ID`]). Drivers pass a random-ish value so
    /// a restarted process does not repeat the ids of the previous one (devices ignore ids
    /// they saw recently).
    pub first_id: u64,
}

impl MiioConfig {
    /// Defaults: device id learned, 2 s per attempt, 3 attempts, re-handshake after 60 s of
    /// silence, first id 1.
    pub fn new(addr: SocketAddr, token: MiioToken) -> MiioConfig {
        MiioConfig {
            addr,
            token,
            device_id: None,
            attempt_timeout: Duration::from_secs(2),
            max_attempts: 3,
            idle_rehandshake: Some(Duration::from_secs(60)),
            first_id: 1,
        }
    }

    /// The same with a known device id.
    pub fn with_device_id(mut self, device_id: DeviceId) -> MiioConfig {
        self.device_id = Some(device_id);
        self
    }

    /// The same with another first message id.
    pub fn with_first_id(mut self, first_id: u64) -> MiioConfig {
        self.first_id = first_id;
        self
    }
}

/// Why a call is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// No reply within the attempt timeout (a handshake comes first).
    Timeout,
    /// The device answered a transient error (`-9999`, `-30001`).
    DeviceError {
        /// The code.
        code: i64,
    },
}

/// Something that happened in a session.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MiioEvent {
    /// A call finished: the reply's `result`, or why it failed. A reply with neither
    /// `result` nor `error` gives its other members as an object (as python-miio does: its
    /// simulator answers `miIO.info` so), or `null` when it has only an `id`.
    Completed {
        /// The call.
        id: RequestId,
        /// Its result.
        result: Result<Value, CallError>,
    },
    /// A call is sent again.
    Retry {
        /// The call.
        id: RequestId,
        /// Its method.
        method: String,
        /// Request datagrams sent so far.
        attempts: u32,
        /// Why.
        reason: RetryReason,
    },
    /// A hello reply was accepted.
    Handshake {
        /// The device id it carries.
        device_id: DeviceId,
        /// The device's stamp.
        stamp: u32,
    },
    /// A handshake failed; every queued call failed with the same error.
    HandshakeFailed {
        /// Why ([`CallError::Timeout`] or [`CallError::DeviceIdMismatch`], method `"hello"`).
        error: CallError,
    },
    /// The hello reply revealed a token (an unprovisioned device). The session keeps using
    /// the configured token.
    TokenRevealed {
        /// The device.
        device_id: DeviceId,
        /// The token it revealed (redacted in `Debug`).
        token: MiioToken,
        /// Whether it is the configured token.
        matches_configured: bool,
    },
    /// A datagram matched nothing and was dropped.
    Unmatched {
        /// Its source.
        from: SocketAddr,
        /// Why.
        reason: Unmatched,
    },
    /// A datagram from the device's address could not be read and was dropped (a checksum
    /// mismatch here usually means a wrong token).
    Undecodable {
        /// Its source.
        from: SocketAddr,
        /// Why.
        error: DecodeError,
    },
}

/// Counters of what a session did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MiioStats {
    /// Request datagrams sent.
    pub requests_sent: u64,
    /// Hellos sent.
    pub hellos_sent: u64,
    /// Hello replies accepted.
    pub handshakes: u64,
    /// Calls sent again (after a timeout or a transient error).
    pub retries: u64,
    /// Calls completed with a result.
    pub completed: u64,
    /// Calls that timed out (in the handshake or the request).
    pub timed_out: u64,
    /// Calls that failed otherwise.
    pub failed: u64,
    /// Datagrams dropped as unmatched.
    pub unmatched: u64,
    /// Datagrams dropped as undecodable.
    pub undecodable: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    Queued,
    Sent { wire_id: u64, deadline: Instant },
}

#[derive(Debug)]
struct Call {
    id: RequestId,
    method: String,
    params: Value,
    extra: Map<String, Value>,
    created: Instant,
    attempts: u32,
    state: CallState,
}

#[derive(Debug, Clone, Copy)]
struct Handshake {
    attempts: u32,
    started: Instant,
    deadline: Instant,
}

/// The device's stamp and when it was seen.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    device: u32,
    at: Instant,
}

impl Stamp {
    fn at(&self, now: Instant) -> u32 {
        let elapsed = now.saturating_duration_since(self.at).as_secs();
        // Wrapping: the field is 32 bits on the wire and the device's counter wraps too.
        self.device.wrapping_add(elapsed as u32)
    }
}

/// The state machine for one miIO device; see the [module documentation](self).
#[derive(Debug)]
pub struct MiioSession {
    cfg: MiioConfig,
    cipher: Cipher,
    device_id: Option<DeviceId>,
    stamp: Option<Stamp>,
    last_heard: Option<Instant>,
    handshake: Option<Handshake>,
    next_wire_id: u64,
    next_request: u64,
    queue: VecDeque<Call>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<MiioEvent>,
    stats: MiioStats,
}

impl MiioSession {
    /// A session with nothing sent yet.
    pub fn new(cfg: MiioConfig) -> MiioSession {
        let next_wire_id = clamp_id(cfg.first_id);
        MiioSession {
            cipher: Cipher::new(&cfg.token),
            device_id: cfg.device_id,
            cfg,
            stamp: None,
            last_heard: None,
            handshake: None,
            next_wire_id,
            next_request: 0,
            queue: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: MiioStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MiioConfig {
        &self.cfg
    }

    /// The device id: configured, or learned from a hello reply.
    pub fn device_id(&self) -> Option<DeviceId> {
        self.device_id
    }

    /// The stamp a request sent at `now` would carry, if a stamp is known.
    pub fn stamp_at(&self, now: Instant) -> Option<u32> {
        self.stamp.map(|s| s.at(now))
    }

    /// The id the next request datagram will carry.
    pub fn next_wire_id(&self) -> u64 {
        self.next_wire_id
    }

    /// Calls not yet completed (queued or on the wire).
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// What the session did so far.
    pub fn stats(&self) -> MiioStats {
        self.stats
    }

    /// Queues a call of `method` with `params` (`[]` is what devices expect when there are
    /// none; `null` is sent as `[]`) and optional extra top-level members (e.g. `"sid"` for
    /// gateway sub-devices). Its [`MiioEvent::Completed`] carries the returned id.
    pub fn call(
        &mut self,
        now: Instant,
        method: impl Into<String>,
        params: Value,
        extra: Option<Map<String, Value>>,
    ) -> RequestId {
        self.next_request += 1;
        let id = RequestId(self.next_request);
        let params = match params {
            // python-miio PR #408: some devices fail without a params list.
            Value::Null => Value::Array(Vec::new()),
            p => p,
        };
        self.queue.push_back(Call {
            id,
            method: method.into(),
            params,
            extra: extra.unwrap_or_default(),
            created: now,
            attempts: 0,
            state: CallState::Queued,
        });
        self.pump(now);
        id
    }

    /// Starts a handshake now, even if the stamp is fresh (unless one is in progress). It
    /// ends with [`MiioEvent::Handshake`] or [`MiioEvent::HandshakeFailed`]. A call on the
    /// wire is not disturbed: its reply is still accepted.
    pub fn handshake(&mut self, now: Instant) {
        if self.handshake.is_none() {
            self.start_handshake(now);
        }
    }

    /// Forgets a call: no event will be emitted for it. If it is on the wire, a reply to it
    /// will be dropped. Returns whether the call was pending.
    pub fn cancel(&mut self, now: Instant, id: RequestId) -> bool {
        let Some(i) = self.queue.iter().position(|c| c.id == id) else {
            return false;
        };
        self.queue.remove(i);
        self.pump(now);
        true
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing that happened.
    pub fn poll_event(&mut self) -> Option<MiioEvent> {
        self.events.pop_front()
    }

    /// When [`MiioSession::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let hello = self.handshake.map(|h| h.deadline);
        let call = match self.queue.front().map(|c| c.state) {
            Some(CallState::Sent { deadline, .. }) => Some(deadline),
            _ => None,
        };
        match (hello, call) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time passed: re-sends hellos and requests, or gives up.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(h) = self.handshake
            && h.deadline <= now
        {
            if h.attempts < self.cfg.max_attempts {
                self.send_hello(now);
            } else {
                self.handshake = None;
                self.stamp = None;
                let error = CallError::Timeout {
                    method: "hello".to_owned(),
                    peer: self.cfg.addr,
                    attempts: h.attempts,
                    after: now.saturating_duration_since(h.started),
                    answered_hello: false,
                };
                self.fail_handshake(now, error);
            }
        }
        if let Some(head) = self.queue.front_mut()
            && let CallState::Sent { deadline, .. } = head.state
            && deadline <= now
        {
            // The device may have rebooted (stamp back to zero) or forgotten us: hello first.
            self.stamp = None;
            self.next_wire_id = jump_id(self.next_wire_id);
            if head.attempts < self.cfg.max_attempts {
                head.state = CallState::Queued;
                self.stats.retries += 1;
                let event = MiioEvent::Retry {
                    id: head.id,
                    method: head.method.clone(),
                    attempts: head.attempts,
                    reason: RetryReason::Timeout,
                };
                self.events.push_back(event);
            } else {
                let error = CallError::Timeout {
                    method: head.method.clone(),
                    peer: self.cfg.addr,
                    attempts: head.attempts,
                    after: now.saturating_duration_since(head.created),
                    answered_hello: true,
                };
                self.complete_head(Err(error));
            }
        }
        self.pump(now);
    }

    /// A datagram arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        if from != self.cfg.addr {
            self.unmatched(from, Unmatched::ForeignAddress);
            return;
        }
        if bytes.len() == HEADER_LEN {
            self.hello_reply(now, from, bytes);
        } else {
            self.packet(now, from, bytes);
        }
        self.pump(now);
    }

    // --- internals ----------------------------------------------------------------------

    fn hello_reply(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        let reply = match Hello::parse(bytes) {
            Ok(Hello::Reply(r)) => r,
            Ok(Hello::Request) => return self.unmatched(from, Unmatched::NotAReply),
            Err(e) => return self.undecodable(from, e.into()),
        };
        if self.handshake.is_none() {
            return self.unmatched(from, Unmatched::NoHandshake);
        }
        if let Some(expected) = self.cfg.device_id
            && reply.device_id != expected
        {
            self.handshake = None;
            self.stamp = None;
            let error = CallError::DeviceIdMismatch {
                method: "hello".to_owned(),
                peer: self.cfg.addr,
                expected,
                found: reply.device_id,
            };
            return self.fail_handshake(now, error);
        }
        self.handshake = None;
        self.device_id = Some(reply.device_id);
        self.stamp = Some(Stamp {
            device: reply.stamp,
            at: now,
        });
        self.last_heard = Some(now);
        self.stats.handshakes += 1;
        self.events.push_back(MiioEvent::Handshake {
            device_id: reply.device_id,
            stamp: reply.stamp,
        });
        if let Some(token) = reply.revealed_token() {
            self.events.push_back(MiioEvent::TokenRevealed {
                device_id: reply.device_id,
                token,
                matches_configured: token == self.cfg.token,
            });
        }
    }

    fn packet(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        let header = match Header::parse(bytes) {
            Ok(h) => h,
            Err(e) => return self.undecodable(from, e.into()),
        };
        if let Some(known) = self.device_id
            && header.device_id != known
        {
            return self.unmatched(
                from,
                Unmatched::OtherDevice {
                    found: header.device_id,
                },
            );
        }
        // The checksum is verified before anything is decrypted.
        let opened = match self.cipher.open(bytes) {
            Ok(o) => o,
            Err(e) => return self.undecodable(from, e.into()),
        };
        let reply = match opened.rpc() {
            Ok(RpcMessage::Reply(r)) => r,
            Ok(RpcMessage::Request(_)) => return self.unmatched(from, Unmatched::NotAReply),
            Err(e) => return self.undecodable(from, e.into()),
        };
        let on_wire = match self.queue.front().map(|c| c.state) {
            Some(CallState::Sent { wire_id, .. }) => Some(wire_id),
            _ => None,
        };
        if on_wire.is_none() || reply.id != on_wire {
            return self.unmatched(from, Unmatched::NotAwaited { id: reply.id });
        }
        self.stamp = Some(Stamp {
            device: header.stamp,
            at: now,
        });
        self.last_heard = Some(now);
        match reply.outcome {
            ReplyOutcome::Result(v) => self.complete_head(Ok(v)),
            // Neither `result` nor `error`: python-miio returns the whole reply then, and its
            // own simulator answers `miIO.info` that way (the info members beside `id`).
            ReplyOutcome::Missing if reply.extra.is_empty() => self.complete_head(Ok(Value::Null)),
            ReplyOutcome::Missing => self.complete_head(Ok(Value::Object(reply.extra))),
            ReplyOutcome::Error(error) => {
                let max = self.cfg.max_attempts;
                let Some(head) = self.queue.front_mut() else {
                    return;
                };
                if error.is_recoverable() && head.attempts < max {
                    head.state = CallState::Queued;
                    self.stats.retries += 1;
                    let event = MiioEvent::Retry {
                        id: head.id,
                        method: head.method.clone(),
                        attempts: head.attempts,
                        reason: RetryReason::DeviceError { code: error.code },
                    };
                    self.events.push_back(event);
                } else {
                    let error = CallError::Device {
                        method: head.method.clone(),
                        peer: self.cfg.addr,
                        error,
                    };
                    self.complete_head(Err(error));
                }
            }
        }
    }

    fn unmatched(&mut self, from: SocketAddr, reason: Unmatched) {
        self.stats.unmatched += 1;
        self.events.push_back(MiioEvent::Unmatched { from, reason });
    }

    fn undecodable(&mut self, from: SocketAddr, error: DecodeError) {
        self.stats.undecodable += 1;
        self.events
            .push_back(MiioEvent::Undecodable { from, error });
    }

    fn complete_head(&mut self, result: Result<Value, CallError>) {
        let Some(call) = self.queue.pop_front() else {
            return;
        };
        self.count(&result);
        self.events.push_back(MiioEvent::Completed {
            id: call.id,
            result,
        });
    }

    fn count(&mut self, result: &Result<Value, CallError>) {
        match result {
            Ok(_) => self.stats.completed += 1,
            Err(CallError::Timeout { .. }) => self.stats.timed_out += 1,
            Err(_) => self.stats.failed += 1,
        }
    }

    /// Fails every queued call with `error` (renamed to each call's method).
    fn fail_handshake(&mut self, now: Instant, error: CallError) {
        while let Some(call) = self.queue.pop_front() {
            let e = match &error {
                CallError::Timeout {
                    peer,
                    attempts,
                    answered_hello,
                    ..
                } => CallError::Timeout {
                    method: call.method.clone(),
                    peer: *peer,
                    attempts: *attempts,
                    after: now.saturating_duration_since(call.created),
                    answered_hello: *answered_hello,
                },
                CallError::DeviceIdMismatch {
                    peer,
                    expected,
                    found,
                    ..
                } => CallError::DeviceIdMismatch {
                    method: call.method.clone(),
                    peer: *peer,
                    expected: *expected,
                    found: *found,
                },
                other => other.clone(),
            };
            let result = Err(e);
            self.count(&result);
            self.events.push_back(MiioEvent::Completed {
                id: call.id,
                result,
            });
        }
        self.events.push_back(MiioEvent::HandshakeFailed { error });
    }

    fn needs_handshake(&self, now: Instant) -> bool {
        let idle = match (self.last_heard, self.cfg.idle_rehandshake) {
            (Some(heard), Some(limit)) => now.saturating_duration_since(heard) >= limit,
            (None, _) => true,
            (Some(_), None) => false,
        };
        self.stamp.is_none() || self.device_id.is_none() || idle
    }

    fn start_handshake(&mut self, now: Instant) {
        self.handshake = Some(Handshake {
            attempts: 0,
            started: now,
            deadline: now,
        });
        self.send_hello(now);
    }

    fn send_hello(&mut self, now: Instant) {
        let Some(h) = self.handshake.as_mut() else {
            return;
        };
        h.attempts += 1;
        h.deadline = now + self.cfg.attempt_timeout;
        self.stats.hellos_sent += 1;
        self.transmits.push_back(Transmit {
            to: self.cfg.addr,
            payload: HELLO.to_vec(),
        });
    }

    /// Sends the head of the queue when nothing is on the wire, handshaking first if needed.
    fn pump(&mut self, now: Instant) {
        while let Some(head) = self.queue.front() {
            if matches!(head.state, CallState::Sent { .. }) || self.handshake.is_some() {
                return;
            }
            if self.needs_handshake(now) {
                self.start_handshake(now);
                return;
            }
            if self.send_head(now) {
                return;
            }
        }
    }

    /// Sends the head; false when it could not be built (and was completed with an error), so
    /// the next call may go.
    fn send_head(&mut self, now: Instant) -> bool {
        let (Some(device_id), Some(stamp)) = (self.device_id, self.stamp) else {
            // Not reached (pump handshakes first), but never spin: handshake now.
            self.start_handshake(now);
            return true;
        };
        let wire_id = self.next_wire_id;
        self.next_wire_id = next_id(wire_id);
        let Some(head) = self.queue.front_mut() else {
            return false;
        };
        let request = RpcRequest {
            id: wire_id,
            method: head.method.clone(),
            params: head.params.clone(),
            from: None,
            extra: head.extra.clone(),
        };
        match self
            .cipher
            .seal(device_id, stamp.at(now), &request.encode())
        {
            Ok(packet) => {
                head.attempts += 1;
                head.state = CallState::Sent {
                    wire_id,
                    deadline: now + self.cfg.attempt_timeout,
                };
                self.stats.requests_sent += 1;
                self.transmits.push_back(Transmit {
                    to: self.cfg.addr,
                    payload: packet,
                });
                true
            }
            Err(error) => {
                let error = CallError::TooLarge {
                    method: head.method.clone(),
                    peer: self.cfg.addr,
                    error,
                };
                self.complete_head(Err(error));
                false
            }
        }
    }
}

fn clamp_id(id: u64) -> u64 {
    if (1..=MAX_WIRE_ID).contains(&id) {
        id
    } else {
        (id % MAX_WIRE_ID).max(1)
    }
}

fn next_id(id: u64) -> u64 {
    if id >= MAX_WIRE_ID { 1 } else { id + 1 }
}

fn jump_id(id: u64) -> u64 {
    clamp_id(id.saturating_add(TIMEOUT_ID_JUMP))
}

#[cfg(test)]
mod tests;
