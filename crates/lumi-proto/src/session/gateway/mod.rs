//! One gateway of the LAN API as a sans-IO session: [`GatewaySession`].
//!
//! The session knows one gateway: its command address (`ip:9898`), its sid, its password and,
//! when configured or once learned, its protocol version. Everything arrives through
//! [`GatewaySession::handle_datagram`] (unicast replies *and* the multicast reports and
//! heartbeats) and [`GatewaySession::handle_timeout`]; everything leaves through
//! [`GatewaySession::poll_transmit`] and [`GatewaySession::poll_event`].
//!
//! ## Correlation
//!
//! The LAN API has no message ids: `{"cmd":"read","sid":"158d…"}` is answered by
//! `{"cmd":"read_ack","sid":"158d…",…}`, and with two gateways and concurrent reads a reply
//! can answer another request than the one sent last (`lan-api.md` §9 quirk 5). So a reply is
//! accepted only when
//!
//! 1. it comes from the gateway's command address (exactly `ip:port`),
//! 2. its reply kind (`read_ack`/`read_rsp`, `write_ack`/`write_rsp`,
//!    `get_id_list_ack`/`discovery_rsp`, or an error naming one of them) and its sid select a
//!    *lane* `(kind, sid)`, and
//! 3. the head of that lane has a datagram on the wire.
//!
//! Requests of one lane are sent one at a time, in FIFO order; requests of different lanes
//! run concurrently. After a lane accepts a reply it stays closed for
//! [`SessionConfig::duplicate_guard`] (50 ms), so a duplicated reply arrives while nothing of
//! that lane is on the wire and is dropped instead of completing the next request. Anything
//! that does not match becomes a [`SessionEvent::Unmatched`] and is dropped. An error reply
//! without a sid (v2 `get_id_list_rsp` `No sid`) is matched only when exactly one lane of its
//! kind has a request on the wire.
//!
//! ## A request's states
//!
//! ```text
//!              (lane head, guard passed)
//!   Queued ──────────────────────────────► Sent{deadline} ──reply──► Completed(Ok | Rejected)
//!     │ write/get_id_list, version unknown   │   ▲   │
//!     ├──► NeedsVersion ──version learned──►─┤   │   └─deadline, attempts < max──► resend
//!     │ write, no token yet                  │   │     deadline, attempts = max ──► Timeout
//!     └──► NeedsToken ───fresh token──────►──┘   │
//!                ▲                               │
//!                └──── first "Invalid key" ──────┘ (second one ──► InvalidKey)
//! ```
//!
//! - **Version**: `read` looks the same in v1 and v2; a write or a `get_id_list` needs the
//!   version. When it is unknown the session reads the gateway itself (an internal request)
//!   and learns the version from the shape of any datagram the gateway sends, or from
//!   `proto_version`.
//! - **Token**: the newest token comes from gateway heartbeats (multicast, from the gateway's
//!   IP, with the gateway's sid) and from id-list replies. Every write datagram, retries
//!   included, is keyed with the newest token; the gateway also accepts the previous one, so
//!   a rotation while a write is in flight is harmless. On `Invalid key` the session asks for
//!   a fresh token (an internal `get_id_list`/`discovery`), then re-sends the write once; a
//!   second `Invalid key` completes the write with [`SessionError::InvalidKey`], which says
//!   to check the password, the interface and multicast.
//! - **Retries**: each datagram waits [`SessionConfig::attempt_timeout`] (1 s); after
//!   [`SessionConfig::max_attempts`] (3) the request completes with
//!   [`SessionError::Timeout`]. The refresh-and-retry after `Invalid key` gets a fresh
//!   budget.
//!
//! ## Liveness
//!
//! A gateway heartbeats every 10 s. After [`SessionConfig::offline_after`] (65 s, the
//! documented limit) without hearing from it the session emits [`SessionEvent::Offline`]; the
//! next datagram from it emits [`SessionEvent::Online`] (the first one ever does too).
//! Anything the gateway sends counts, not only its own heartbeats: its reports, its
//! sub-devices' heartbeats and its replies prove it alive just as well, and a gateway whose
//! heartbeats are lost (or filtered) while its reports arrive must not take every device
//! offline with it.
//!
//! ## Limits
//!
//! Without message ids, correlation is as good as the protocol allows: a reply delayed by
//! more than the duplicate guard *and* answering an earlier request of the same lane would
//! still be taken for the answer to the next one. For reads that is the same device's state;
//! for writes the ack only shows the pre-write state (the result comes as a report).

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::key::{GatewayPassword, WriteKey};
use crate::lan::{
    self, DeviceMessage, ErrorCode, GetIdList, IdList, LanError, Message, Props, ProtoVersion,
    Read, ReplyTo, Sid, Token, Write,
};

use super::{RequestId, Transmit};

mod error;

pub use error::{Op, SessionError};

/// How a [`GatewaySession`] is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// The gateway's command address (its IP and the `port` from `iam`, 9898 on real
    /// gateways). Replies must come from exactly this address; heartbeats and reports from
    /// its IP.
    pub addr: SocketAddr,
    /// The gateway's sid.
    pub sid: Sid,
    /// The gateway's LAN password (redacted in `Debug`).
    pub password: GatewayPassword,
    /// The protocol version, when known; otherwise learned from the gateway.
    pub version: Option<ProtoVersion>,
    /// How long one datagram waits for its reply.
    pub attempt_timeout: Duration,
    /// Datagrams per request (per phase) before giving up.
    pub max_attempts: u32,
    /// Silence after which the gateway is offline (65 s, as documented).
    pub offline_after: Duration,
    /// How long a lane stays closed after accepting a reply, so duplicates are dropped.
    pub duplicate_guard: Duration,
}

impl SessionConfig {
    /// Defaults: version learned, 1 s per attempt, 3 attempts, offline after 65 s, 50 ms
    /// duplicate guard.
    pub fn new(addr: SocketAddr, sid: Sid, password: GatewayPassword) -> SessionConfig {
        SessionConfig {
            addr,
            sid,
            password,
            version: None,
            attempt_timeout: Duration::from_secs(1),
            max_attempts: 3,
            offline_after: Duration::from_secs(65),
            duplicate_guard: Duration::from_millis(50),
        }
    }

    /// The same with a known protocol version.
    pub fn with_version(mut self, version: ProtoVersion) -> SessionConfig {
        self.version = Some(version);
        self
    }
}

/// A successful request's answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// `read_ack` / `read_rsp`: the device's state (battery devices: cached values).
    Read(DeviceMessage),
    /// `write_ack` / `write_rsp`: the state *before* the write; the result follows as a
    /// [`SessionEvent::Report`].
    Write(DeviceMessage),
    /// `get_id_list_ack` / `discovery_rsp`: the sub-devices (and the token, already taken).
    IdList(IdList),
}

impl Reply {
    /// The sid the reply is about (the gateway's for an id list).
    pub fn sid(&self) -> &Sid {
        match self {
            Reply::Read(m) | Reply::Write(m) => &m.sid,
            Reply::IdList(l) => &l.sid,
        }
    }
}

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// A gateway heartbeat (multicast).
    Heartbeat,
    /// A `get_id_list_ack` / `discovery_rsp`.
    IdList,
}

/// Why a datagram was dropped as unmatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unmatched {
    /// It came from another address than the gateway's.
    ForeignAddress,
    /// No request of its lane (reply kind and sid) is on the wire: nobody asked, it was
    /// already answered (a duplicate), or it came too late.
    NoRequest,
    /// A heartbeat or id list from the gateway's address naming another gateway sid.
    OtherGateway,
    /// An error reply without a sid while several requests of its kind are on the wire.
    Ambiguous,
    /// A request (`whois`, `read`, …), not something a gateway sends a client.
    NotAReply,
}

/// Something that happened in a session.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A request finished.
    Completed {
        /// The request.
        id: RequestId,
        /// Its answer or why it failed.
        result: Result<Reply, SessionError>,
    },
    /// A device (or the gateway itself) reported a state change.
    Report {
        /// The device.
        sid: Sid,
        /// Its model, if the gateway named one.
        model: Option<String>,
        /// The raw properties.
        props: Props,
    },
    /// A sub-device heartbeat (often with its state).
    Heartbeat {
        /// The device.
        sid: Sid,
        /// Its model, if the gateway named one.
        model: Option<String>,
        /// The raw properties.
        props: Props,
    },
    /// The gateway heartbeats again (or for the first time).
    Online,
    /// No gateway heartbeat for [`SessionConfig::offline_after`].
    Offline {
        /// Time since the last heartbeat (or since the session started).
        silent_for: Duration,
    },
    /// The gateway's token changed (the token itself is not in the event).
    TokenRefreshed {
        /// Where the new token came from.
        source: TokenSource,
    },
    /// The gateway's protocol version was learned or changed.
    VersionLearned {
        /// The version.
        version: ProtoVersion,
    },
    /// A datagram matched nothing and was dropped.
    Unmatched {
        /// Its source.
        from: SocketAddr,
        /// Its `cmd` (as it would be written in the gateway's version).
        cmd: &'static str,
        /// Why it did not match.
        reason: Unmatched,
    },
    /// A datagram from the gateway's IP could not be decoded and was dropped.
    Undecodable {
        /// Its source.
        from: SocketAddr,
        /// Why.
        error: LanError,
    },
}

/// Counters of what a session did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Datagrams queued for sending.
    pub sent: u64,
    /// Of those, re-sends after a timeout.
    pub retransmits: u64,
    /// Token refreshes requested after `Invalid key` (or for a first token).
    pub token_refreshes: u64,
    /// User requests completed successfully.
    pub completed: u64,
    /// User requests that timed out.
    pub timed_out: u64,
    /// User requests that failed otherwise.
    pub failed: u64,
    /// Datagrams dropped as unmatched.
    pub unmatched: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    User,
    TokenRefresh,
    VersionProbe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Queued,
    NeedsVersion,
    NeedsToken { token_epoch: u64, idlist_epoch: u64 },
    Sent { deadline: Instant },
}

#[derive(Debug)]
struct Request {
    id: RequestId,
    purpose: Purpose,
    op: Op,
    sid: Sid,
    props: Props,
    created: Instant,
    attempts: u32,
    key_retried: bool,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liveness {
    Unknown,
    Online,
    Offline,
}

/// The state machine for one gateway; see the [module documentation](self).
///
/// ```
/// use std::time::{Duration, Instant};
/// use lumi_proto::lan::{self, ProtoVersion, Sid};
/// use lumi_proto::session::gateway::{GatewaySession, SessionConfig, SessionEvent, Reply};
///
/// let gw = "127.0.0.2:9898".parse()?;
/// let cfg = SessionConfig::new(gw, Sid::new("7811dcb06972")?, "0987654321qwerty".parse()?)
///     .with_version(ProtoVersion::V1);
/// let t0 = Instant::now();
/// let mut s = GatewaySession::new(cfg, t0);
/// let id = s.read(t0, Sid::new("158d0001c1cdfb")?);
/// let out = s.poll_transmit().unwrap();
/// assert_eq!(out.to, gw);
/// assert_eq!(out.payload, br#"{"cmd":"read","sid":"158d0001c1cdfb"}"#);
/// let reply = br#"{"cmd":"read_ack","model":"magnet","sid":"158d0001c1cdfb","short_id":56258,"data":"{\"status\":\"close\"}"}"#;
/// s.handle_datagram(t0 + Duration::from_millis(5), gw, reply);
/// let Some(SessionEvent::Completed { id: done, result: Ok(Reply::Read(m)) }) = s.poll_event()
/// else { panic!() };
/// assert_eq!((done, m.sid.as_str()), (id, "158d0001c1cdfb"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct GatewaySession {
    cfg: SessionConfig,
    version: Option<ProtoVersion>,
    token: Option<Token>,
    prev_token: Option<Token>,
    token_epoch: u64,
    idlist_epoch: u64,
    next_id: u64,
    requests: Vec<Request>,
    /// Lanes closed until an instant after accepting a reply.
    guards: Vec<((Op, Sid), Instant)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
    last_heartbeat: Instant,
    liveness: Liveness,
    stats: SessionStats,
}

impl GatewaySession {
    /// A session started at `now` (the offline clock starts now too).
    pub fn new(cfg: SessionConfig, now: Instant) -> GatewaySession {
        GatewaySession {
            version: cfg.version,
            cfg,
            token: None,
            prev_token: None,
            token_epoch: 0,
            idlist_epoch: 0,
            next_id: 0,
            requests: Vec::new(),
            guards: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            last_heartbeat: now,
            liveness: Liveness::Unknown,
            stats: SessionStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// The protocol version, configured or learned.
    pub fn version(&self) -> Option<ProtoVersion> {
        self.version
    }

    /// The newest token (not a secret: gateways multicast it).
    pub fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    /// True after a heartbeat and until [`SessionConfig::offline_after`] of silence.
    pub fn is_online(&self) -> bool {
        self.liveness == Liveness::Online
    }

    /// Requests not yet completed (internal ones included).
    pub fn outstanding(&self) -> usize {
        self.requests.len()
    }

    /// What the session did so far.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Reads a device (the gateway itself with its own sid).
    pub fn read(&mut self, now: Instant, sid: Sid) -> RequestId {
        self.submit(now, Purpose::User, Op::Read, sid, Props::new())
    }

    /// Writes `props` to a device; the session adds the key from the newest token.
    pub fn write(&mut self, now: Instant, sid: Sid, props: Props) -> RequestId {
        self.submit(now, Purpose::User, Op::Write, sid, props)
    }

    /// Asks for the sub-device list (and a fresh token): v1 `get_id_list`, v2 `discovery`.
    pub fn get_id_list(&mut self, now: Instant) -> RequestId {
        let sid = self.cfg.sid.clone();
        self.submit(now, Purpose::User, Op::GetIdList, sid, Props::new())
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing that happened.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`GatewaySession::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut earliest = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if self.liveness != Liveness::Offline {
            earliest(self.last_heartbeat + self.cfg.offline_after);
        }
        let mut seen = HashSet::new();
        for r in &self.requests {
            if !seen.insert((r.op, &r.sid)) {
                continue;
            }
            // Heads waiting for a version or a token move when a datagram arrives; only
            // queued heads and released writes wait for the lane's duplicate guard.
            let guarded = match r.state {
                State::Sent { deadline } => {
                    earliest(deadline);
                    false
                }
                State::Queued => true,
                State::NeedsVersion => false,
                State::NeedsToken { .. } => self.token_is_fresh(r.state),
            };
            if guarded && let Some(g) = self.guard(r.op, &r.sid) {
                earliest(g);
            }
        }
        next
    }

    /// Time passed: re-sends, gives up, sends what a guard held back, checks liveness.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.liveness != Liveness::Offline
            && now.saturating_duration_since(self.last_heartbeat) >= self.cfg.offline_after
        {
            self.liveness = Liveness::Offline;
            self.events.push_back(SessionEvent::Offline {
                silent_for: now.saturating_duration_since(self.last_heartbeat),
            });
        }
        self.pump(now);
    }

    /// A datagram arrived from `from` (a unicast reply or a multicast report/heartbeat).
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        if from.ip() != self.cfg.addr.ip() {
            let cmd = lan::decode(bytes)
                .map(|d| {
                    d.message
                        .cmd(d.version.or(self.version).unwrap_or(ProtoVersion::V1))
                })
                .unwrap_or("");
            self.unmatched(from, cmd, Unmatched::ForeignAddress);
            return;
        }
        let decoded = match lan::decode(bytes) {
            Ok(d) => d,
            Err(error) => {
                self.events
                    .push_back(SessionEvent::Undecodable { from, error });
                return;
            }
        };
        if let Some(v) = decoded.version {
            self.learn_version(v);
        }
        let cmd = decoded
            .message
            .cmd(decoded.version.or(self.version).unwrap_or(ProtoVersion::V1));
        let from_command_port = from == self.cfg.addr;
        match decoded.message {
            Message::Heartbeat(m) if m.sid == self.cfg.sid => self.gateway_heartbeat(now, m),
            Message::Heartbeat(m) if m.token.is_some() => {
                self.unmatched(from, cmd, Unmatched::OtherGateway);
            }
            Message::Heartbeat(m) => {
                self.heard(now);
                self.events.push_back(SessionEvent::Heartbeat {
                    sid: m.sid,
                    model: m.model,
                    props: m.props,
                });
            }
            Message::Report(m) => {
                self.heard(now);
                self.events.push_back(SessionEvent::Report {
                    sid: m.sid,
                    model: m.model,
                    props: m.props,
                });
            }
            Message::Iam(iam) => {
                if let Some(v) = iam
                    .proto_version
                    .as_deref()
                    .and_then(ProtoVersion::from_proto_version)
                {
                    self.learn_version(v);
                }
            }
            _ if !from_command_port => self.unmatched(from, cmd, Unmatched::ForeignAddress),
            Message::ReadAck(m) => {
                if m.sid == self.cfg.sid
                    && let Some(v) = m
                        .props
                        .get_str("proto_version")
                        .and_then(|s| ProtoVersion::from_proto_version(&s))
                {
                    self.learn_version(v);
                }
                let sid = m.sid.clone();
                self.reply(now, from, cmd, Op::Read, sid, Ok(Reply::Read(m)));
            }
            Message::WriteAck(m) => {
                let sid = m.sid.clone();
                self.reply(now, from, cmd, Op::Write, sid, Ok(Reply::Write(m)));
            }
            Message::IdList(l) => {
                if l.sid != self.cfg.sid {
                    self.unmatched(from, cmd, Unmatched::OtherGateway);
                } else {
                    self.idlist_epoch += 1;
                    if let Some(t) = &l.token {
                        self.take_token(t.clone(), TokenSource::IdList);
                    }
                    let sid = l.sid.clone();
                    self.reply(now, from, cmd, Op::GetIdList, sid, Ok(Reply::IdList(l)));
                }
            }
            Message::Error(e) => {
                let op = match e.reply_to {
                    ReplyTo::Read => Op::Read,
                    ReplyTo::Write => Op::Write,
                    _ => Op::GetIdList,
                };
                let sid = match (op, e.sid) {
                    (Op::GetIdList, _) => Some(self.cfg.sid.clone()),
                    (_, Some(sid)) => Some(sid),
                    (_, None) => self.only_lane_on_wire(op),
                };
                match sid {
                    Some(sid) => self.reply(now, from, cmd, op, sid, Err(e.error)),
                    None => self.unmatched(from, cmd, Unmatched::Ambiguous),
                }
            }
            Message::Whois | Message::GetIdList(_) | Message::Read(_) | Message::Write(_) => {
                self.unmatched(from, cmd, Unmatched::NotAReply)
            }
        }
        self.pump(now);
    }

    // --- internals ----------------------------------------------------------------------

    fn submit(
        &mut self,
        now: Instant,
        purpose: Purpose,
        op: Op,
        sid: Sid,
        props: Props,
    ) -> RequestId {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.requests.push(Request {
            id,
            purpose,
            op,
            sid,
            props,
            created: now,
            attempts: 0,
            key_retried: false,
            state: State::Queued,
        });
        self.pump(now);
        id
    }

    fn guard(&self, op: Op, sid: &Sid) -> Option<Instant> {
        self.guards
            .iter()
            .find(|((o, s), _)| *o == op && s == sid)
            .map(|(_, t)| *t)
    }

    fn close_lane(&mut self, now: Instant, op: Op, sid: &Sid) {
        let until = now + self.cfg.duplicate_guard;
        self.guards.retain(|(_, t)| *t > now);
        match self
            .guards
            .iter_mut()
            .find(|((o, s), _)| *o == op && s == sid)
        {
            Some((_, t)) => *t = until,
            None => self.guards.push(((op, sid.clone()), until)),
        }
    }

    fn unmatched(&mut self, from: SocketAddr, cmd: &'static str, reason: Unmatched) {
        self.stats.unmatched += 1;
        self.events
            .push_back(SessionEvent::Unmatched { from, cmd, reason });
    }

    fn learn_version(&mut self, v: ProtoVersion) {
        if self.version != Some(v) {
            self.version = Some(v);
            self.events
                .push_back(SessionEvent::VersionLearned { version: v });
        }
    }

    /// The gateway said something (a heartbeat, a report, a sub-device's heartbeat): it is
    /// alive.
    fn heard(&mut self, now: Instant) {
        self.last_heartbeat = now;
        if self.liveness != Liveness::Online {
            self.liveness = Liveness::Online;
            self.events.push_back(SessionEvent::Online);
        }
    }

    fn gateway_heartbeat(&mut self, now: Instant, m: DeviceMessage) {
        self.heard(now);
        if let Some(t) = m.token {
            // A late duplicate of the previous heartbeat must not take the token back.
            if self.prev_token.as_ref() != Some(&t) {
                self.take_token(t, TokenSource::Heartbeat);
            }
        }
    }

    fn take_token(&mut self, t: Token, source: TokenSource) {
        if self.token.as_ref() == Some(&t) {
            return;
        }
        self.prev_token = self.token.replace(t);
        self.token_epoch += 1;
        self.events
            .push_back(SessionEvent::TokenRefreshed { source });
    }

    /// The sid of the only lane of `op` with a datagram on the wire.
    fn only_lane_on_wire(&self, op: Op) -> Option<Sid> {
        let mut lanes = self
            .heads()
            .filter(|&i| self.requests[i].op == op)
            .filter(|&i| matches!(self.requests[i].state, State::Sent { .. }));
        let first = lanes.next()?;
        if lanes.next().is_some() {
            return None;
        }
        Some(self.requests[first].sid.clone())
    }

    /// Indices of the lane heads (the oldest request of each lane).
    fn heads(&self) -> impl Iterator<Item = usize> + '_ {
        let mut seen = HashSet::new();
        self.requests
            .iter()
            .enumerate()
            .filter(move |(_, r)| seen.insert((r.op, r.sid.clone())))
            .map(|(i, _)| i)
    }

    /// A reply of lane `(op, sid)` arrived from the gateway's command address.
    fn reply(
        &mut self,
        now: Instant,
        from: SocketAddr,
        cmd: &'static str,
        op: Op,
        sid: Sid,
        answer: Result<Reply, ErrorCode>,
    ) {
        let head = self
            .requests
            .iter()
            .position(|r| r.op == op && r.sid == sid);
        let Some(i) = head.filter(|&i| matches!(self.requests[i].state, State::Sent { .. })) else {
            self.unmatched(from, cmd, Unmatched::NoRequest);
            return;
        };
        self.close_lane(now, op, &sid);
        match answer {
            Ok(reply) => self.complete(now, i, Ok(reply)),
            Err(ErrorCode::InvalidKey) if op == Op::Write && !self.requests[i].key_retried => {
                let r = &mut self.requests[i];
                r.key_retried = true;
                r.attempts = 0;
                r.state = State::NeedsToken {
                    token_epoch: self.token_epoch,
                    idlist_epoch: self.idlist_epoch,
                };
                self.ensure_internal(now, Purpose::TokenRefresh);
            }
            Err(ErrorCode::InvalidKey) if op == Op::Write => {
                let gateway = self.cfg.sid.clone();
                self.complete(now, i, Err(SessionError::InvalidKey { gateway, sid }));
            }
            Err(error) => {
                let gateway = self.cfg.sid.clone();
                self.complete(
                    now,
                    i,
                    Err(SessionError::Rejected {
                        op,
                        gateway,
                        sid,
                        error,
                    }),
                );
            }
        }
    }

    /// Starts an internal token refresh or version probe unless one is pending.
    fn ensure_internal(&mut self, now: Instant, purpose: Purpose) {
        if self.requests.iter().any(|r| r.purpose == purpose) {
            return;
        }
        let sid = self.cfg.sid.clone();
        let op = match purpose {
            Purpose::TokenRefresh => {
                self.stats.token_refreshes += 1;
                Op::GetIdList
            }
            _ => Op::Read,
        };
        self.next_id += 1;
        self.requests.push(Request {
            id: RequestId(self.next_id),
            purpose,
            op,
            sid,
            props: Props::new(),
            created: now,
            attempts: 0,
            key_retried: false,
            state: State::Queued,
        });
    }

    fn complete(&mut self, now: Instant, i: usize, result: Result<Reply, SessionError>) {
        let r = self.requests.remove(i);
        match r.purpose {
            Purpose::User => {
                match &result {
                    Ok(_) => self.stats.completed += 1,
                    Err(SessionError::Timeout { .. }) => self.stats.timed_out += 1,
                    Err(_) => self.stats.failed += 1,
                }
                self.events
                    .push_back(SessionEvent::Completed { id: r.id, result });
            }
            Purpose::TokenRefresh if result.is_err() => {
                // Nothing else will bring a token soon enough: fail the writes waiting.
                self.fail_waiting(
                    now,
                    |s| matches!(s, State::NeedsToken { .. }),
                    |me, w| SessionError::NoToken {
                        gateway: me.cfg.sid.clone(),
                        addr: me.cfg.addr,
                        sid: w.sid.clone(),
                        after: now.saturating_duration_since(w.created),
                    },
                );
            }
            Purpose::VersionProbe if result.is_err() && self.version.is_none() => {
                self.fail_waiting(
                    now,
                    |s| *s == State::NeedsVersion,
                    |me, w| SessionError::VersionUnknown {
                        op: w.op,
                        gateway: me.cfg.sid.clone(),
                        addr: me.cfg.addr,
                        sid: w.sid.clone(),
                        after: now.saturating_duration_since(w.created),
                    },
                );
            }
            _ => {}
        }
    }

    fn fail_waiting(
        &mut self,
        now: Instant,
        waiting: impl Fn(&State) -> bool,
        error: impl Fn(&Self, &Request) -> SessionError,
    ) {
        while let Some(i) = self.requests.iter().position(|r| waiting(&r.state)) {
            let e = error(self, &self.requests[i]);
            self.complete(now, i, Err(e));
        }
    }

    /// True when a write parked in `state` can go: a token arrived after it was parked (an
    /// id list counts even when the token did not change).
    fn token_is_fresh(&self, state: State) -> bool {
        match state {
            State::NeedsToken {
                token_epoch,
                idlist_epoch,
            } => {
                self.token.is_some()
                    && (self.token_epoch > token_epoch || self.idlist_epoch > idlist_epoch)
            }
            _ => self.token.is_some(),
        }
    }

    /// Moves every lane head as far as it can go at `now`.
    fn pump(&mut self, now: Instant) {
        // Each pass either sends, completes or parks a head; a request that became a head
        // or an internal request added by a pass is handled by the next one.
        for _ in 0..self.requests.len() + 4 {
            let mut changed = false;
            let heads: Vec<RequestId> = self.heads().map(|i| self.requests[i].id).collect();
            for id in heads {
                let Some(i) = self.requests.iter().position(|r| r.id == id) else {
                    continue;
                };
                changed |= self.advance(now, i);
            }
            if !changed {
                break;
            }
        }
    }

    /// Advances the lane head at index `i`; true when something changed.
    fn advance(&mut self, now: Instant, i: usize) -> bool {
        let r = &self.requests[i];
        let (op, state) = (r.op, r.state);
        match state {
            State::Sent { deadline } => {
                if now < deadline {
                    return false;
                }
                if r.attempts < self.cfg.max_attempts {
                    self.stats.retransmits += 1;
                    self.send(now, i)
                } else {
                    let e = SessionError::Timeout {
                        op,
                        gateway: self.cfg.sid.clone(),
                        addr: self.cfg.addr,
                        sid: r.sid.clone(),
                        attempts: r.attempts,
                        after: now.saturating_duration_since(r.created),
                    };
                    self.complete(now, i, Err(e));
                    true
                }
            }
            State::NeedsToken { .. } => {
                if self.token_is_fresh(state) && self.guard(op, &r.sid).is_none_or(|g| g <= now) {
                    self.send(now, i)
                } else {
                    false
                }
            }
            State::Queued | State::NeedsVersion => {
                if self.guard(op, &r.sid).is_some_and(|g| g > now) {
                    return false;
                }
                let needs_version = matches!(op, Op::Write | Op::GetIdList);
                if needs_version && self.version.is_none() {
                    if state == State::Queued {
                        self.requests[i].state = State::NeedsVersion;
                        self.ensure_internal(now, Purpose::VersionProbe);
                        return true;
                    }
                    return false;
                }
                if op == Op::Write && self.token.is_none() {
                    self.requests[i].state = State::NeedsToken {
                        token_epoch: self.token_epoch,
                        idlist_epoch: self.idlist_epoch,
                    };
                    self.ensure_internal(now, Purpose::TokenRefresh);
                    return true;
                }
                self.send(now, i)
            }
        }
    }

    /// Sends (or re-sends) request `i` with the newest token; true when it changed.
    fn send(&mut self, now: Instant, i: usize) -> bool {
        let version = self.version.unwrap_or(ProtoVersion::V1);
        let r = &self.requests[i];
        let message = match r.op {
            Op::Read => Message::Read(Read { sid: r.sid.clone() }),
            Op::GetIdList => Message::GetIdList(GetIdList { sid: None }),
            Op::Write => {
                let Some(token) = &self.token else {
                    return false;
                };
                let key = match WriteKey::derive(&self.cfg.password, token) {
                    Ok(k) => k,
                    Err(source) => {
                        let e = SessionError::Key {
                            gateway: self.cfg.sid.clone(),
                            sid: r.sid.clone(),
                            source,
                        };
                        self.complete(now, i, Err(e));
                        return true;
                    }
                };
                Message::Write(Write {
                    sid: r.sid.clone(),
                    model: None,
                    short_id: None,
                    key: Some(key),
                    props: r.props.clone(),
                })
            }
        };
        let payload = lan::encode(&message, version);
        self.transmits.push_back(Transmit {
            to: self.cfg.addr,
            payload,
        });
        self.stats.sent += 1;
        let r = &mut self.requests[i];
        r.attempts += 1;
        r.state = State::Sent {
            deadline: now + self.cfg.attempt_timeout,
        };
        true
    }
}

#[cfg(test)]
mod tests;
