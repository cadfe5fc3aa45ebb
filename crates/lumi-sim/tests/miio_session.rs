//! `lumi_proto::session::miio::MiioSession` against a simulated miIO device
//! (`lumi_sim::miio::SimMiioDevice`), in virtual time, through seeded links (`netem`): loss,
//! duplication, delay and reordering.
//!
//! No sockets and no sleeps: time is a base `Instant` plus durations, advanced to the next
//! deadline of the session or the links. The device answers like `MiioServer` does (uptime
//! stamp, silence on a wrong token or a repeated id); a test can also make it drop requests
//! whose stamp is far from its own (the vacuum firmware quirk, reference §7.1).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lumi_proto::miio::{DeviceId, Header, MiioToken, RpcRequest};
use lumi_proto::session::RequestId;
use lumi_proto::session::miio::{
    CallError, MiioConfig, MiioEvent, MiioSession, RetryReason, Unmatched,
};
use lumi_sim::miio::{MethodError, MethodResult, MiioBackend, MiioInfo, MiioServer, SimMiioDevice};
use lumi_sim::netem::{Faults, Link};
use serde_json::{Value, json};

const TOKEN: &str = "6fa0c1d2e3b4a5968778695a4b3c2d1e";
const DID: DeviceId = DeviceId(0x047b_d1b5);

fn device_addr() -> SocketAddr {
    "127.0.0.3:54321".parse().unwrap()
}

fn client_addr() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

fn token() -> MiioToken {
    TOKEN.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A device with a key-value store: `set_value [k, v]` → `["ok"]`, `get_value [k]` → `[v]`,
/// `echo [...]` → the params. It records every request it executed.
#[derive(Debug, Default)]
struct Store {
    values: HashMap<String, Value>,
    executed: Vec<(u64, String)>,
}

impl MiioBackend for Store {
    fn call(&mut self, _now: Instant, r: &RpcRequest) -> MethodResult {
        self.executed.push((r.id, r.method.clone()));
        let p = r.params.as_array().ok_or_else(MethodError::invalid_arg)?;
        match (r.method.as_str(), p.as_slice()) {
            ("set_value", [Value::String(k), v]) => {
                self.values.insert(k.clone(), v.clone());
                Ok(json!(["ok"]))
            }
            ("get_value", [Value::String(k)]) => {
                Ok(json!([self.values.get(k).cloned().unwrap_or(Value::Null)]))
            }
            ("echo", _) => Ok(r.params.clone()),
            _ => Err(MethodError::not_found()),
        }
    }
}

/// The session, the device and the two links between them.
struct World {
    now: Instant,
    session: MiioSession,
    device: SimMiioDevice<Store>,
    /// Session → device.
    up: Link<Vec<u8>>,
    /// Device → session.
    down: Link<Vec<u8>>,
    /// Drop requests whose stamp is more than this far from the device's (`None`: accept any).
    stamp_tolerance: Option<u32>,
    /// Requests dropped by the stamp check.
    stamp_drops: u32,
    /// Drop this many encrypted replies of the device (hello replies pass).
    drop_replies: u32,
    events: Vec<(Instant, MiioEvent)>,
}

impl World {
    fn new(t0: Instant, faults: Faults, seed: u64, cfg: MiioConfig) -> World {
        let info = MiioInfo::new(
            "lumi.test.store",
            "02:00:00:00:00:03",
            [127, 0, 0, 3].into(),
        );
        let server = MiioServer::new(&token(), DID, info, t0);
        World {
            now: t0,
            session: MiioSession::new(cfg),
            device: SimMiioDevice::new(server, Store::default()),
            up: Link::new(faults, seed * 10 + 1),
            down: Link::new(faults, seed * 10 + 2),
            stamp_tolerance: None,
            stamp_drops: 0,
            drop_replies: 0,
            events: Vec::new(),
        }
    }

    fn config(first_id: u64) -> MiioConfig {
        MiioConfig::new(device_addr(), token()).with_first_id(first_id)
    }

    /// Runs everything due at `self.now` until nothing moves.
    fn settle(&mut self) {
        let now = self.now;
        for _ in 0..100_000 {
            let mut moved = false;
            while let Some(d) = self.up.recv(now) {
                moved = true;
                if let (Some(tol), Ok(h)) = (self.stamp_tolerance, Header::parse(&d))
                    && d.len() > 32
                {
                    let own = self.device.server().stamp(now);
                    let diff = own.wrapping_sub(h.stamp).min(h.stamp.wrapping_sub(own));
                    if diff > tol {
                        self.stamp_drops += 1;
                        continue;
                    }
                }
                self.device.handle_datagram(now, client_addr(), &d);
            }
            while let Some(t) = self.device.poll_transmit() {
                moved = true;
                assert_eq!(t.to, client_addr());
                if t.payload.len() > 32 && self.drop_replies > 0 {
                    self.drop_replies -= 1;
                    continue;
                }
                self.down.send(now, t.payload);
            }
            while let Some(d) = self.down.recv(now) {
                moved = true;
                self.session.handle_datagram(now, device_addr(), &d);
            }
            if self.session.poll_timeout().is_some_and(|t| t <= now) {
                moved = true;
                self.session.handle_timeout(now);
            }
            while let Some(t) = self.session.poll_transmit() {
                moved = true;
                assert_eq!(t.to, device_addr(), "the session only sends to its device");
                self.up.send(now, t.payload);
            }
            while let Some(e) = self.session.poll_event() {
                moved = true;
                self.events.push((now, e));
            }
            if !moved {
                return;
            }
        }
        panic!("no quiescence at {:?}", self.now);
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.session.poll_timeout(),
            self.up.next_arrival(),
            self.down.next_arrival(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances virtual time to `until`, stopping at every deadline on the way.
    fn run_until(&mut self, until: Instant) {
        loop {
            self.settle();
            match self.next_deadline() {
                Some(t) if t <= until => {
                    assert!(t >= self.now, "a deadline in the past");
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

    /// Runs until nothing is pending (every call completed).
    fn run_idle(&mut self) {
        let limit = self.now + secs(3600);
        while self.session.pending() > 0 {
            let next = self
                .next_deadline()
                .expect("pending calls always have a deadline");
            assert!(next <= limit, "calls stuck");
            self.run_until(next);
        }
        self.settle();
    }

    fn call(&mut self, method: &str, params: Value) -> RequestId {
        let id = self.session.call(self.now, method, params, None);
        self.settle();
        id
    }

    fn completions(&self) -> HashMap<RequestId, Vec<Result<Value, CallError>>> {
        let mut out: HashMap<RequestId, Vec<_>> = HashMap::new();
        for (_, e) in &self.events {
            if let MiioEvent::Completed { id, result } = e {
                out.entry(*id).or_default().push(result.clone());
            }
        }
        out
    }

    fn result(&self, id: RequestId) -> Result<Value, CallError> {
        let mut r = self.completions().remove(&id).expect("completed");
        assert_eq!(r.len(), 1, "{id} completed {} times", r.len());
        r.remove(0)
    }

    fn count(&self, f: impl Fn(&MiioEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }
}

#[derive(Debug)]
enum Asked {
    Set {
        key: String,
        value: u64,
    },
    Get {
        key: String,
        last_set: Option<RequestId>,
    },
    Echo {
        value: u64,
    },
}

/// Many calls over a lossy, duplicating, reordering link: each completes exactly once, with
/// its own answer or a clear timeout; late and duplicated replies are dropped, never matched.
///
/// Every request's stamp must stay within `stamp_tolerance` seconds of the device's own (the
/// estimate lags by the one-way delays, plus one for the truncation to whole seconds).
fn many_calls(
    seed: u64,
    faults: Faults,
    calls: u64,
    stamp_tolerance: u32,
) -> (u64, u64, usize, World) {
    let t0 = Instant::now();
    let mut w = World::new(t0, faults, seed, World::config(1 + seed * 1_000_003));
    w.stamp_tolerance = Some(stamp_tolerance);
    let mut asked: Vec<(RequestId, Asked)> = Vec::new();
    let mut last_set: HashMap<String, RequestId> = HashMap::new();
    for i in 0..calls {
        // A burst of three calls every 700 ms: they queue, one on the wire at a time.
        if i % 3 == 0 {
            let at = w.now + ms(700);
            w.run_until(at);
        }
        let key = format!("k{}", i % 7);
        let (method, params, a) = match i % 3 {
            0 => {
                let a = Asked::Set {
                    key: key.clone(),
                    value: i,
                };
                ("set_value", json!([key, i]), a)
            }
            1 => {
                let a = Asked::Get {
                    key: key.clone(),
                    last_set: last_set.get(&key).copied(),
                };
                ("get_value", json!([key]), a)
            }
            _ => (
                "echo",
                json!([i, format!("v{i}")]),
                Asked::Echo { value: i },
            ),
        };
        let id = w.call(method, params);
        if let Asked::Set { key, .. } = &a {
            last_set.insert(key.clone(), id);
        }
        asked.push((id, a));
    }
    w.run_idle();

    let done = w.completions();
    assert_eq!(done.len(), asked.len(), "every call completes");
    let (mut ok, mut timed_out) = (0, 0);
    let value_of: HashMap<RequestId, u64> = asked
        .iter()
        .filter_map(|(id, a)| match a {
            Asked::Set { value, .. } => Some((*id, *value)),
            _ => None,
        })
        .collect();
    for (id, a) in &asked {
        let result = w.result(*id);
        let v = match result {
            Ok(v) => v,
            Err(e @ CallError::Timeout { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("no reply after 3 attempts"), "{msg}");
                timed_out += 1;
                continue;
            }
            Err(e) => panic!("{a:?}: unexpected error {e}"),
        };
        ok += 1;
        match a {
            Asked::Set { .. } => assert_eq!(v, json!(["ok"]), "{a:?}"),
            Asked::Echo { value } => assert_eq!(v, json!([value, format!("v{value}")]), "{a:?}"),
            Asked::Get { key, last_set } => {
                // Calls are serialised: a get after a completed set of the same key reads
                // exactly that value.
                if let Some(set) = last_set
                    && w.result(*set).is_ok()
                {
                    assert_eq!(v, json!([value_of[set]]), "get {key} after {set}");
                } else {
                    assert!(v[0].is_null() || v[0].is_u64(), "{a:?}: {v}");
                }
            }
        }
    }
    let late = w.count(|e| {
        matches!(
            e,
            MiioEvent::Unmatched {
                reason: Unmatched::NotAwaited { .. } | Unmatched::NoHandshake,
                ..
            }
        )
    });
    assert_eq!(w.stamp_drops, 0, "stamps always close to the device's");
    (ok, timed_out, late, w)
}

#[test]
fn many_calls_over_a_lossy_link_complete_with_their_own_answers() {
    let started = std::time::Instant::now();
    let (mut ok, mut timed_out, mut late) = (0, 0, 0);
    let (mut lost, mut duplicated) = (0, 0);
    for seed in 1..=5 {
        let (o, t, l, w) = many_calls(seed, Faults::lossy(0.05), 300, 1);
        ok += o;
        timed_out += t;
        late += l;
        for s in [w.up.stats(), w.down.stats()] {
            lost += s.lost;
            duplicated += s.duplicated;
        }
        let st = w.session.stats();
        assert!(st.retries > 0 && st.handshakes > 1, "{st:?}");
    }
    eprintln!(
        "1500 calls over 5 % loss/duplication: {ok} ok, {timed_out} timed out, {late} late or \
         duplicated replies dropped, {lost} datagrams lost, {duplicated} duplicated ({:?})",
        started.elapsed()
    );
    assert!(lost > 50 && duplicated > 50, "the links did misbehave");
    assert!(
        late > 20,
        "duplicated replies arrived and were dropped: {late}"
    );
    // Three attempts each: a call fails only when all three are lost.
    assert!(timed_out <= 3, "{timed_out} timeouts");
    assert_eq!(ok + timed_out, 1500);
}

/// Replies slower than the attempt timeout arrive during the retry: they are dropped as
/// late, and no call ever gets another call's answer.
#[test]
fn replies_later_than_the_timeout_never_answer_the_retry() {
    let faults = Faults {
        loss: 0.05,
        duplicate: 0.1,
        delay: ms(100),
        jitter: ms(1500),
    };
    let (ok, timed_out, late, w) = many_calls(42, faults, 120, 4);
    eprintln!("slow link: {ok} ok, {timed_out} timed out, {late} late replies dropped");
    assert!(ok > 60, "{ok}");
    assert!(late > 20, "{late}");
    let retries = w.count(|e| {
        matches!(
            e,
            MiioEvent::Retry {
                reason: RetryReason::Timeout,
                ..
            }
        )
    });
    assert!(retries > 20, "{retries}");
}

/// The device reboots (its stamp goes back to zero) and drops requests whose stamp is off,
/// as the vacuum firmware of reference §7.1 does: one timeout, a re-handshake, then success.
#[test]
fn device_reboot_is_recovered_by_a_rehandshake() {
    let t0 = Instant::now() + secs(100_000);
    let mut w = World::new(t0 - secs(50_000), Faults::lossy(0.0), 7, World::config(900));
    w.now = t0;
    w.stamp_tolerance = Some(2);
    let a = w.call("set_value", json!(["power", "on"]));
    w.run_idle();
    assert_eq!(w.result(a), Ok(json!(["ok"])));
    assert_eq!(w.session.stamp_at(w.now), Some(50_000));

    let at = w.now + secs(10);
    w.run_until(at);
    w.device.server_mut().reboot(w.now);
    let at = w.now + secs(5);
    w.run_until(at);
    let before = w.events.len();
    let b = w.call("get_value", json!(["power"]));
    w.run_idle();
    // The state survived (the store is the backend, not the uptime counter).
    assert_eq!(w.result(b), Ok(json!(["on"])));
    assert_eq!(w.stamp_drops, 1, "the first request carried the old stamp");
    let after: Vec<&MiioEvent> = w.events[before..].iter().map(|(_, e)| e).collect();
    assert!(
        after.iter().any(|e| matches!(
            e,
            MiioEvent::Retry {
                reason: RetryReason::Timeout,
                ..
            }
        )),
        "{after:?}"
    );
    assert!(
        after
            .iter()
            .any(|e| matches!(e, MiioEvent::Handshake { stamp, .. } if *stamp <= 8)),
        "the new handshake saw the rebooted stamp: {after:?}"
    );
    assert!(w.session.stamp_at(w.now).unwrap() < 10);
}

/// A wrong token: the device answers the hello but never a request; the call fails with a
/// timeout that says to check the token, and the device executed nothing.
#[test]
fn wrong_token_gives_a_clean_timeout() {
    let t0 = Instant::now();
    let mut cfg = World::config(1);
    cfg.token = MiioToken::from_bytes([0x42; 16]);
    let mut w = World::new(t0, Faults::lossy(0.0), 3, cfg);
    let id = w.call("set_value", json!(["power", "on"]));
    w.run_idle();
    let err = w.result(id).unwrap_err();
    let CallError::Timeout {
        attempts: 3,
        answered_hello: true,
        after,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    // Three attempts of 2 s, each after a hello answered within milliseconds.
    assert!(*after >= secs(6) && *after < secs(7), "{after:?}");
    let msg = err.to_string();
    assert!(msg.contains("check the token"), "{msg}");
    assert!(!msg.contains(TOKEN) && !msg.contains("42424242"), "{msg}");
    assert!(w.device.backend().executed.is_empty());
    assert_eq!(w.session.stats().handshakes, 3);
}

/// Ids: a lost reply is retried with a fresh id, which the device answers (the same id would
/// be ignored as a repeat); a restarted process with a new first id is answered at once,
/// while one restarting at the same first id meets the device's repeated-id silence.
#[test]
fn repeated_id_silence_is_avoided_by_fresh_ids() {
    let t0 = Instant::now();
    let mut w = World::new(t0, Faults::lossy(0.0), 5, World::config(1));
    w.drop_replies = 1;
    let id = w.call("set_value", json!(["k", 1]));
    w.run_idle();
    assert_eq!(w.result(id), Ok(json!(["ok"])));
    let executed: Vec<u64> = w.device.backend().executed.iter().map(|e| e.0).collect();
    assert_eq!(
        executed,
        vec![1, 102],
        "executed twice, the retry with id +1 +100"
    );
    for _ in 0..3 {
        let id = w.call("echo", json!([1]));
        w.run_idle();
        assert!(w.result(id).is_ok());
    }

    // A new process 1 s later. Starting over at the same id: the device remembers 103..105
    // and ignores them for 10 s.
    let restart = |w: &mut World, first_id: u64| {
        w.session = MiioSession::new(World::config(first_id));
        w.events.clear();
        let at = w.now + secs(1);
        w.run_until(at);
        let id = w.call("get_value", json!(["k"]));
        w.run_idle();
        (w.result(id), w.session.stats().retries)
    };
    let (result, retries) = restart(&mut w, 103);
    assert_eq!(result, Ok(json!([1])));
    assert_eq!(retries, 1, "a repeated id costs a timeout");
    // With a different first id, as the driver chooses: answered at once.
    let (result, retries) = restart(&mut w, 7_654_321);
    assert_eq!(result, Ok(json!([1])));
    assert_eq!(retries, 0);
}
