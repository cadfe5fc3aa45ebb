//! `lumi_proto::session::gateway::GatewaySession` against simulated gateways, in virtual time,
//! through seeded lossy links (5 % loss, 5 % duplication, 1–21 ms delay, so reordering).
//!
//! No sockets and no sleeps: time is a base `Instant` plus durations, advanced to the next
//! deadline of whichever peer or link needs it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::{self, Message, Props, ProtoVersion, Sid};
use lumi_proto::session::RequestId;
use lumi_proto::session::gateway::{
    GatewaySession, Reply, SessionConfig, SessionError, SessionEvent, Unmatched,
};
use lumi_sim::device::SubDevice;
use lumi_sim::gateway::{COMMAND_PORT, Destination, GatewayConfig, Inbound, SimEvent, SimGateway};
use lumi_sim::netem::{Faults, Link};

const CLIENT: &str = "127.0.0.1:40000";
const GW1_PASSWORD: &str = "0987654321qwerty";
const GW2_PASSWORD: &str = "t7ew6r4y612eml0f";

fn sid(s: &str) -> Sid {
    Sid::new(s).unwrap()
}

fn client() -> SocketAddr {
    CLIENT.parse().unwrap()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A simulated gateway, its links to the client and the session that talks to it.
struct Net {
    sim: SimGateway,
    ip: Ipv4Addr,
    /// Session → gateway (unicast commands).
    up: Link<Vec<u8>>,
    /// Gateway → client (unicast replies, from ip:9898).
    down: Link<(SocketAddr, Vec<u8>)>,
    /// Gateway → 224.0.0.50:9898 (reports and heartbeats, from ip:4321).
    mcast: Link<(SocketAddr, Vec<u8>)>,
    session: GatewaySession,
    /// Everything the session sent, in order.
    sent: Vec<String>,
    /// Everything the session reported, with the time.
    events: Vec<(Instant, SessionEvent)>,
    /// Everything the gateway multicast (before the lossy link), with the time.
    multicast: Vec<(Instant, Message)>,
    /// Everything the gateway did.
    sim_events: Vec<(Instant, SimEvent)>,
}

struct Spec {
    sid: &'static str,
    ip: [u8; 4],
    version: ProtoVersion,
    password: &'static str,
    devices: &'static [(&'static str, &'static str)],
}

const GW1: Spec = Spec {
    sid: "7811dcb06972",
    ip: [127, 0, 0, 2],
    version: ProtoVersion::V1,
    password: GW1_PASSWORD,
    devices: &[
        ("158d0001c1cdfb", "magnet"),
        ("158d000112fb5d", "motion"),
        ("158d00015879f9", "plug"),
        ("158d00022339a9", "ctrl_neutral2"),
        ("158d0001f4a3b2", "switch"),
    ],
};

const GW2: Spec = Spec {
    sid: "34ce00fb7438",
    ip: [127, 0, 0, 3],
    version: ProtoVersion::V2,
    password: GW2_PASSWORD,
    devices: &[
        ("158d0002c1cd01", "sensor_magnet.aq2"),
        ("158d0002112f02", "sensor_motion.aq2"),
        ("158d0002587903", "ctrl_86plug.aq1"),
        ("158d0002233904", "ctrl_neutral2.aq1"),
        ("158d0002a20005", "sensor_switch.aq2"),
    ],
};

/// Writable raw keys of the test models.
fn writable(model: &str) -> &'static [&'static str] {
    match model {
        "plug" => &["status"],
        "ctrl_neutral2" | "ctrl_neutral2.aq1" => &["channel_0", "channel_1"],
        "ctrl_86plug.aq1" => &["channel_0"],
        _ => &[],
    }
}

impl Net {
    /// A gateway per `spec`; the session knows the version only when `known_version`.
    fn new(
        spec: &Spec,
        t0: Instant,
        seed: u64,
        faults: Faults,
        session_password: &str,
        known_version: bool,
    ) -> Net {
        let ip = Ipv4Addr::from(spec.ip);
        let mut cfg = GatewayConfig::new(sid(spec.sid), ip, spec.version, pw(spec.password));
        cfg.seed = seed;
        let mut sim = SimGateway::new(cfg, t0);
        for (s, m) in spec.devices {
            sim.add_device(
                t0,
                SubDevice::from_catalogue(sid(s), m, spec.version).unwrap(),
            );
        }
        let mut scfg = SessionConfig::new(
            SocketAddr::new(IpAddr::V4(ip), COMMAND_PORT),
            sid(spec.sid),
            pw(session_password),
        );
        if known_version {
            scfg = scfg.with_version(spec.version);
        }
        Net {
            sim,
            ip,
            up: Link::new(faults, seed * 10 + 1),
            down: Link::new(faults, seed * 10 + 2),
            mcast: Link::new(faults, seed * 10 + 3),
            session: GatewaySession::new(scfg, t0),
            sent: Vec::new(),
            events: Vec::new(),
            multicast: Vec::new(),
            sim_events: Vec::new(),
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), COMMAND_PORT)
    }

    fn completions(&self) -> HashMap<RequestId, Vec<Result<Reply, SessionError>>> {
        let mut out: HashMap<RequestId, Vec<_>> = HashMap::new();
        for (_, e) in &self.events {
            if let SessionEvent::Completed { id, result } = e {
                out.entry(*id).or_default().push(result.clone());
            }
        }
        out
    }

    fn unmatched(&self) -> Vec<Unmatched> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                SessionEvent::Unmatched { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect()
    }
}

fn pw(s: &str) -> GatewayPassword {
    s.parse().unwrap()
}

/// Several gateways and their sessions on one client socket.
struct World {
    nets: Vec<Net>,
    now: Instant,
    /// Deliver every datagram to every session (one client socket shared by all sessions,
    /// as a driver that does not route by source would): foreign ones must be dropped.
    cross: bool,
}

impl World {
    /// Runs everything that is due at `self.now` until nothing moves.
    fn settle(&mut self) {
        let now = self.now;
        for _round in 0..10_000 {
            let mut moved = false;
            let mut arrivals = Vec::new();
            for (k, n) in self.nets.iter_mut().enumerate() {
                while let Some(d) = n.up.recv(now) {
                    n.sim.handle_datagram(now, client(), Inbound::Command, &d);
                    moved = true;
                }
                n.sim.handle_timeout(now);
                while let Some(t) = n.sim.poll_transmit() {
                    moved = true;
                    match t.to {
                        Destination::Unicast { to, from_port } if to == client() => {
                            let from = SocketAddr::new(IpAddr::V4(n.ip), from_port);
                            n.down.send(now, (from, t.payload));
                        }
                        Destination::Multicast => {
                            n.multicast
                                .push((now, lan::decode(&t.payload).unwrap().message));
                            let from = SocketAddr::new(IpAddr::V4(n.ip), 4321);
                            n.mcast.send(now, (from, t.payload));
                        }
                        _ => {}
                    }
                }
                while let Some(e) = n.sim.poll_event() {
                    n.sim_events.push((now, e));
                }
                while let Some(a) = n.down.recv(now) {
                    arrivals.push((k, a));
                }
                while let Some(a) = n.mcast.recv(now) {
                    arrivals.push((k, a));
                }
            }
            for (k, (from, bytes)) in arrivals {
                moved = true;
                for (j, n) in self.nets.iter_mut().enumerate() {
                    if j == k || self.cross {
                        n.session.handle_datagram(now, from, &bytes);
                    }
                }
            }
            for n in &mut self.nets {
                if n.session.poll_timeout().is_some_and(|t| t <= now) {
                    n.session.handle_timeout(now);
                }
                let gw = n.addr();
                while let Some(t) = n.session.poll_transmit() {
                    moved = true;
                    assert_eq!(t.to, gw, "a session only sends to its gateway");
                    n.sent.push(String::from_utf8(t.payload.clone()).unwrap());
                    n.up.send(now, t.payload);
                }
                while let Some(e) = n.session.poll_event() {
                    n.events.push((now, e));
                }
            }
            if !moved {
                return;
            }
        }
        panic!("no quiescence at {:?}", now);
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.nets
            .iter()
            .flat_map(|n| {
                [
                    n.sim.poll_timeout(),
                    n.session.poll_timeout(),
                    n.up.next_arrival(),
                    n.down.next_arrival(),
                    n.mcast.next_arrival(),
                ]
            })
            .flatten()
            .min()
    }

    /// Advances virtual time to `until`, stopping at every deadline on the way.
    fn run_until(&mut self, until: Instant) {
        loop {
            self.settle();
            match self.next_deadline() {
                Some(t) if t <= until => {
                    assert!(
                        t >= self.now,
                        "a deadline in the past: {t:?} < {:?}",
                        self.now
                    );
                    // A deadline equal to now was handled by settle; move on by a tick.
                    self.now = if t == self.now {
                        t + Duration::from_micros(1)
                    } else {
                        t
                    };
                }
                _ => {
                    self.now = until;
                    self.settle();
                    return;
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Asked {
    Read {
        sid: Sid,
        model: String,
    },
    Write {
        gw: usize,
        sid: Sid,
        key: &'static str,
        value: &'static str,
        at: Instant,
    },
}

/// 1. 100 concurrent reads and writes over two gateways through lossy links.
#[test]
fn concurrent_reads_and_writes_over_two_gateways() {
    let run = |seed: u64| {
        let t0 = Instant::now();
        let lossy = Faults::lossy(0.05);
        let mut w = World {
            nets: vec![
                Net::new(&GW1, t0, seed, lossy, GW1_PASSWORD, true),
                // The v2 session learns its version from the gateway.
                Net::new(&GW2, t0, seed + 100, lossy, GW2_PASSWORD, false),
            ],
            now: t0,
            cross: true,
        };
        w.run_until(t0 + ms(2500));
        let t1 = w.now;
        let specs = [&GW1, &GW2];
        let mut asked: HashMap<(usize, RequestId), Asked> = HashMap::new();
        let mut toggles: HashMap<(usize, Sid, &str), bool> = HashMap::new();
        for i in 0..100u64 {
            let g = (i % 2) as usize;
            let spec = specs[g];
            // Half writes (to the writable devices), half reads spread over every device
            // and the gateway itself.
            let write = i % 4 < 2;
            let candidates: Vec<(&str, &str)> = spec
                .devices
                .iter()
                .copied()
                .filter(|(_, m)| !write || !writable(m).is_empty())
                .chain(
                    (!write).then_some((spec.sid, if g == 0 { "gateway" } else { "acpartner.v3" })),
                )
                .collect();
            let (dsid, model) = candidates[(i * 7 + i / 3) as usize % candidates.len()];
            let keys = writable(model);
            let session = &mut w.nets[g].session;
            if write {
                let key = keys[(i as usize / 2) % keys.len()];
                let on = toggles.entry((g, sid(dsid), key)).or_insert(false);
                *on = !*on;
                let value = if *on { "on" } else { "off" };
                let id = session.write(t1, sid(dsid), Props::new().with(key, value));
                asked.insert(
                    (g, id),
                    Asked::Write {
                        gw: g,
                        sid: sid(dsid),
                        key,
                        value,
                        at: t1,
                    },
                );
            } else {
                let id = session.read(t1, sid(dsid));
                asked.insert(
                    (g, id),
                    Asked::Read {
                        sid: sid(dsid),
                        model: model.to_owned(),
                    },
                );
            }
        }
        w.run_until(t1 + secs(30));

        let (mut ok, mut timed_out, mut reads, mut writes) = (0, 0, 0, 0);
        let (mut reports_expected, mut reports_seen) = (0, 0);
        let mut last_write: HashMap<(usize, Sid, &str), &str> = HashMap::new();
        // Completion order per gateway (the lane is FIFO, so the last one completed wins).
        let mut order: Vec<(usize, Instant, RequestId)> = Vec::new();
        for (g, n) in w.nets.iter().enumerate() {
            let done = n.completions();
            for (id, results) in &done {
                assert_eq!(
                    results.len(),
                    1,
                    "request {id} completed {} times",
                    results.len()
                );
                assert!(asked.contains_key(&(g, *id)), "unknown id {id}");
            }
            for (at, e) in &n.events {
                if let SessionEvent::Completed { id, .. } = e {
                    order.push((g, *at, *id));
                }
            }
        }
        for (&(g, id), a) in &asked {
            let results = w.nets[g].completions().remove(&id);
            let result =
                &results.unwrap_or_else(|| panic!("request {id} on gw {g} never completed"))[0];
            match (a, result) {
                (_, Err(SessionError::Timeout { .. })) => timed_out += 1,
                (_, Err(e)) => panic!("{a:?}: unexpected error {e}"),
                (Asked::Read { sid: s, model, .. }, Ok(Reply::Read(m))) => {
                    assert_eq!(&m.sid, s, "read answered with another device's reply");
                    assert_eq!(m.model.as_deref(), Some(model.as_str()));
                    ok += 1;
                    reads += 1;
                }
                (
                    Asked::Write {
                        gw,
                        sid: s,
                        key,
                        value,
                        at,
                    },
                    Ok(Reply::Write(m)),
                ) => {
                    assert_eq!(&m.sid, s, "write answered with another device's reply");
                    ok += 1;
                    writes += 1;
                    let n = &w.nets[*gw];
                    // The gateway applied exactly this write.
                    assert!(
                        n.sim_events.iter().any(|(t, e)| t >= at
                            && matches!(e, SimEvent::WriteApplied { sid: x, props }
                                if x == s && props.get_str(key).as_deref() == Some(*value))),
                        "{a:?} not applied"
                    );
                    // The ack shows the state before; if that differs, a report with the
                    // written value follows (the gateway multicast it; the session sees it
                    // unless the lossy link drops it).
                    if m.props.get_str(key).as_deref() != Some(*value) {
                        reports_expected += 1;
                        let is_report = |msg: &Message| {
                            matches!(msg, Message::Report(r)
                                if &r.sid == s && r.props.get_str(key).as_deref() == Some(*value))
                        };
                        assert!(
                            n.multicast.iter().any(|(t, msg)| t >= at && is_report(msg)),
                            "{a:?}: no report multicast"
                        );
                        if n.events.iter().any(|(t, e)| {
                            t >= at
                                && matches!(e, SessionEvent::Report { sid: x, props, .. }
                                if x == s && props.get_str(key).as_deref() == Some(*value))
                        }) {
                            reports_seen += 1;
                        }
                    }
                }
                (a, Ok(r)) => panic!("{a:?} completed with the wrong kind of reply {r:?}"),
            }
        }
        // The final state of every written channel is the value of its last successful
        // write (FIFO within a lane).
        order.sort_by_key(|(g, at, id)| (*at, *g, *id));
        for (g, _, id) in &order {
            if let Some(Asked::Write {
                sid: s, key, value, ..
            }) = asked.get(&(*g, *id))
                && w.nets[*g].completions()[id][0].is_ok()
            {
                last_write.insert((*g, s.clone(), key), value);
            }
        }
        for ((g, s, key), value) in &last_write {
            let state = w.nets[*g].sim.device(s).unwrap().read_message().props;
            assert_eq!(state.get_str(key).as_deref(), Some(*value), "{s} {key}");
        }
        let foreign = w
            .nets
            .iter()
            .flat_map(|n| n.unmatched())
            .filter(|r| *r == Unmatched::ForeignAddress)
            .count();
        let dup_or_late = w
            .nets
            .iter()
            .flat_map(|n| n.unmatched())
            .filter(|r| *r == Unmatched::NoRequest)
            .count();
        let stats: Vec<_> = w.nets.iter().map(|n| n.session.stats()).collect();
        let links: Vec<_> = w
            .nets
            .iter()
            .map(|n| (n.up.stats(), n.down.stats(), n.mcast.stats()))
            .collect();
        eprintln!(
            "seed {seed}: {ok} completed ({reads} reads, {writes} writes), {timed_out} timed out; \
             reports {reports_seen}/{reports_expected} seen; unmatched: {foreign} foreign, \
             {dup_or_late} duplicate/late; sessions {stats:?}; links {links:?}"
        );
        assert_eq!(ok + timed_out, 100);
        assert!(timed_out <= 5, "{timed_out} timeouts");
        assert!(reads > 40 && writes > 40, "{reads} reads, {writes} writes");
        assert!(
            foreign > 0,
            "cross-delivered datagrams were seen and dropped"
        );
        // Multicast loss is 5 %: nearly every expected report must reach the session.
        assert!(
            reports_seen * 10 >= reports_expected * 8,
            "{reports_seen}/{reports_expected}"
        );
        assert_eq!(
            w.nets[1].session.version(),
            Some(ProtoVersion::V2),
            "learned"
        );
        (ok, timed_out, stats)
    };
    let first = run(7);
    assert_eq!(run(7), first, "same seed, same run");
    for seed in [11, 23, 42] {
        run(seed);
    }
}

/// 2. Token rotation during writes: heartbeats every 10 s rotate the token, writes are spread
///    over a minute; no write may surface `Invalid key`.
#[test]
fn token_rotation_during_writes_never_surfaces_invalid_key() {
    for (seed, heartbeat) in [(3u64, secs(10)), (5, secs(10)), (9, secs(2))] {
        let t0 = Instant::now();
        let mut net = Net::new(&GW1, t0, seed, Faults::lossy(0.05), GW1_PASSWORD, true);
        // The gateway heartbeats (and rotates) every `heartbeat`.
        let mut cfg = net.sim.config().clone();
        cfg.heartbeat = heartbeat;
        cfg.seed = seed;
        net.sim = SimGateway::new(cfg, t0);
        for (s, m) in GW1.devices {
            net.sim.add_device(
                t0,
                SubDevice::from_catalogue(sid(s), m, ProtoVersion::V1).unwrap(),
            );
        }
        let mut w = World {
            nets: vec![net],
            now: t0,
            cross: false,
        };
        w.run_until(t0 + ms(500));
        let targets = [
            ("158d00015879f9", "status"),
            ("158d00022339a9", "channel_0"),
            ("158d00022339a9", "channel_1"),
        ];
        let mut ids = Vec::new();
        // A write every 250 ms for a minute: many are in flight while the token rotates
        // (every heartbeat lands within a few milliseconds of one).
        for i in 0..240u64 {
            let at = t0 + secs(1) + ms(250 * i) - ms(3);
            w.run_until(at);
            let (s, key) = targets[(i % 3) as usize];
            let value = if (i / 3) % 2 == 0 { "on" } else { "off" };
            ids.push(
                w.nets[0]
                    .session
                    .write(at, sid(s), Props::new().with(key, value)),
            );
        }
        w.run_until(w.now + secs(20));
        let n = &w.nets[0];
        let done = n.completions();
        let (mut ok, mut timed_out) = (0, 0);
        for id in &ids {
            match &done[id][..] {
                [Ok(Reply::Write(_))] => ok += 1,
                [Err(SessionError::Timeout { .. })] => timed_out += 1,
                other => panic!("write {id}: {other:?}"),
            }
        }
        let refused = n
            .sim_events
            .iter()
            .filter(|(_, e)| matches!(e, SimEvent::WriteRefused { .. }))
            .count();
        let rotations = n
            .sim_events
            .iter()
            .filter(|(_, e)| matches!(e, SimEvent::TokenRotated))
            .count();
        eprintln!(
            "seed {seed}, heartbeat {heartbeat:?}: {ok} written, {timed_out} timed out; \
             {rotations} rotations, {refused} Invalid key replies absorbed, {:?}",
            n.session.stats()
        );
        assert_eq!(ok + timed_out, 240);
        assert!(timed_out <= 240 / 20, "{timed_out} timeouts");
        assert!(rotations >= 6, "the token rotated during the run");
    }
}

/// 3. A wrong password: one write, one refresh, one retry, then a clear error.
#[test]
fn wrong_password_fails_after_exactly_one_refresh_and_retry() {
    let t0 = Instant::now();
    let net = Net::new(&GW1, t0, 1, Faults::NONE, "aaaaaaaaaaaaaaaa", true);
    let mut w = World {
        nets: vec![net],
        now: t0,
        cross: false,
    };
    // The first heartbeat (t0) brings a token.
    w.run_until(t0 + secs(1));
    assert!(w.nets[0].session.token().is_some());
    assert!(w.nets[0].sent.is_empty());
    let id = w.nets[0].session.write(
        w.now,
        sid("158d00015879f9"),
        Props::new().with("status", "on"),
    );
    w.run_until(t0 + secs(8));
    let n = &w.nets[0];
    let cmds: Vec<String> = n
        .sent
        .iter()
        .map(|s| serde_json::from_str::<serde_json::Value>(s).unwrap()["cmd"].to_string())
        .collect();
    assert_eq!(
        cmds,
        [r#""write""#, r#""get_id_list""#, r#""write""#],
        "{:?}",
        n.sent
    );
    let results = &n.completions()[&id];
    let [Err(e @ SessionError::InvalidKey { .. })] = &results[..] else {
        panic!("{results:?}")
    };
    let text = e.to_string();
    eprintln!("{text}");
    for hint in [
        "password",
        "interface",
        "multicast",
        "158d00015879f9",
        "7811dcb06972",
    ] {
        assert!(text.contains(hint), "{text}");
    }
    assert!(!text.contains("aaaaaaaaaaaaaaaa") && !format!("{e:?}").contains("aaaaaaaaaaaaaaaa"));
    let refused = n
        .sim_events
        .iter()
        .filter(|(_, e)| matches!(e, SimEvent::WriteRefused { .. }))
        .count();
    assert_eq!(refused, 2);
    assert_eq!(n.session.stats().token_refreshes, 1);
}

/// 4. Offline after 65 s without a heartbeat, online again with the next one.
#[test]
fn offline_after_65_s_of_silence_and_back() {
    let t0 = Instant::now();
    let net = Net::new(&GW1, t0, 4, Faults::lossy(0.05), GW1_PASSWORD, true);
    let mut w = World {
        nets: vec![net],
        now: t0,
        cross: false,
    };
    w.run_until(t0 + secs(30));
    assert!(w.nets[0].session.is_online());
    let last_hb = |n: &Net, before: Instant| {
        n.events
            .iter()
            .filter(|(t, e)| *t <= before && matches!(e, SessionEvent::TokenRefreshed { .. }))
            .map(|(t, _)| *t)
            .next_back()
            .unwrap()
    };
    let silent_at = t0 + secs(31);
    w.run_until(silent_at);
    w.nets[0].sim.set_online(silent_at, false);
    w.run_until(t0 + secs(200));
    let n = &w.nets[0];
    let heard = last_hb(n, silent_at);
    let offline: Vec<Instant> = n
        .events
        .iter()
        .filter(|(_, e)| matches!(e, SessionEvent::Offline { .. }))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        offline,
        [heard + secs(65)],
        "offline exactly 65 s after the last heartbeat"
    );
    assert!(!n.session.is_online());
    let back = t0 + secs(200);
    w.nets[0].sim.set_online(back, true);
    w.run_until(back + secs(25));
    let n = &w.nets[0];
    let online: Vec<Instant> = n
        .events
        .iter()
        .filter(|(t, e)| *t >= back && matches!(e, SessionEvent::Online))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(online.len(), 1, "{online:?}");
    // The heartbeat sent on coming back (or, if the link lost it, the next one 10 s later).
    assert!(online[0] - back <= secs(11), "{:?}", online[0] - back);
    assert!(n.session.is_online());
    eprintln!(
        "offline {:?} after the last heartbeat, online {:?} after the gateway came back",
        offline[0] - heard,
        online[0] - back
    );
}

/// 5. A reply from another address and a reply for a sid nobody asked are dropped with an
///    event; the outstanding request still gets its own reply.
#[test]
fn unmatched_replies_are_dropped_with_an_event() {
    let t0 = Instant::now();
    let mut w = World {
        nets: vec![
            Net::new(&GW1, t0, 5, Faults::NONE, GW1_PASSWORD, true),
            Net::new(&GW2, t0, 6, Faults::NONE, GW2_PASSWORD, true),
        ],
        now: t0,
        cross: false,
    };
    w.run_until(t0 + secs(1));
    let now = w.now;
    let magnet = sid("158d0001c1cdfb");
    let id = w.nets[0].session.read(now, magnet.clone());
    // The session's read is on the up link; before it is delivered, two strays reach the
    // session: gateway 2's reply to a read of one of its devices, and gateway 1's reply to a
    // read of another of its devices that this session never asked for (another program on
    // the same socket).
    w.nets[1].sim.handle_datagram(
        now,
        client(),
        Inbound::Command,
        br#"{"cmd":"read","sid":"158d0001c1cdfb"}"#,
    );
    w.nets[1].sim.handle_datagram(
        now,
        client(),
        Inbound::Command,
        br#"{"cmd":"read","sid":"158d0002c1cd01"}"#,
    );
    w.nets[0].sim.handle_datagram(
        now,
        client(),
        Inbound::Command,
        br#"{"cmd":"read","sid":"158d000112fb5d"}"#,
    );
    let strays: Vec<(SocketAddr, Vec<u8>)> = w
        .nets
        .iter_mut()
        .flat_map(|n| {
            let ip = n.ip;
            std::iter::from_fn(|| n.sim.poll_transmit())
                .filter(|t| matches!(t.to, Destination::Unicast { .. }))
                .map(move |t| (SocketAddr::new(IpAddr::V4(ip), COMMAND_PORT), t.payload))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(strays.len(), 3);
    for (from, bytes) in &strays {
        w.nets[0].session.handle_datagram(now, *from, bytes);
    }
    let evs: Vec<SessionEvent> = std::iter::from_fn(|| w.nets[0].session.poll_event()).collect();
    let unmatched: Vec<(SocketAddr, &str, Unmatched)> = evs
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Unmatched { from, cmd, reason } => Some((*from, *cmd, *reason)),
            _ => None,
        })
        .collect();
    let gw1: SocketAddr = "127.0.0.2:9898".parse().unwrap();
    let gw2: SocketAddr = "127.0.0.3:9898".parse().unwrap();
    assert_eq!(
        unmatched,
        [
            // Nobody asked this session for the motion sensor.
            (gw1, "read_ack", Unmatched::NoRequest),
            // Gateway 2 does not know the magnet (an error reply) and knows its own magnet:
            // both from the wrong address.
            (gw2, "read_rsp", Unmatched::ForeignAddress),
            (gw2, "read_rsp", Unmatched::ForeignAddress),
        ]
    );
    assert!(
        !evs.iter()
            .any(|e| matches!(e, SessionEvent::Completed { .. }))
    );
    w.nets[0].events.extend(evs.into_iter().map(|e| (now, e)));
    w.run_until(now + secs(2));
    let done = w.nets[0].completions();
    let [Ok(Reply::Read(m))] = &done[&id][..] else {
        panic!("{done:?}")
    };
    assert_eq!(m.sid, magnet);
    assert_eq!(w.nets[0].session.stats().unmatched, 3);
}
