//! The subscriber: an MQTT client on its own thread (its own runtime, so the bench's other
//! work never delays a timestamp) that takes the delivery time of every state message,
//! matches it to the report it carries, and asks the bridge for its counters.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::load::SEQ_BASE;

/// What the orchestrator can read at any time.
#[derive(Debug, Default)]
pub struct Progress {
    /// Distinct reports delivered.
    pub delivered: AtomicU64,
    /// Nanoseconds since the clock base of the latest delivery.
    pub last_delivery_ns: AtomicU64,
    /// Of the first state message of any device.
    pub first_state_ns: AtomicU64,
    /// Of `bridge/state` online.
    pub online_ns: AtomicU64,
    /// Plugs listed in `bridge/devices` with a known model.
    pub plugs_listed: AtomicU64,
    /// Connected to the broker (at least once).
    pub connected: AtomicBool,
}

/// What the subscriber collected.
#[derive(Debug, Default)]
pub struct Collected {
    /// Latency of each distinct delivery, in nanoseconds, in delivery order.
    pub latencies_ns: Vec<u64>,
    /// When each of those reports was sent (ns on the bench's clock), in the same order.
    pub sent_ns: Vec<u64>,
    /// Messages carrying a report already delivered.
    pub duplicates: u64,
    /// State messages that carried no report of this run.
    pub other: u64,
    /// Deliveries in a different order than sent, per device.
    pub out_of_order: u64,
}

enum Cmd {
    Health(oneshot::Sender<Value>),
    Finish(oneshot::Sender<Collected>),
}

/// The handle to the subscriber thread.
pub struct Subscriber {
    cmds: mpsc::UnboundedSender<Cmd>,
    pub progress: Arc<Progress>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(serde::Deserialize)]
struct Probe {
    energy: Option<f64>,
}

impl Subscriber {
    /// Connects (retrying until the broker is there) to `broker` and subscribes to every
    /// state under `base` at `qos`, plus the bridge's own topics.
    pub fn start(
        broker: SocketAddr,
        base: &str,
        qos: QoS,
        stamps: Arc<Vec<AtomicU64>>,
        devices: usize,
        clock: Instant,
    ) -> std::io::Result<Subscriber> {
        let progress = Arc::new(Progress::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let p = progress.clone();
        let base = base.to_owned();
        let thread = std::thread::Builder::new()
            .name("bench-subscriber".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        eprintln!("lumi bench: the subscriber cannot start a runtime: {e}");
                        return;
                    }
                };
                rt.block_on(run(broker, base, qos, stamps, devices, clock, p, rx));
            })?;
        Ok(Subscriber {
            cmds: tx,
            progress,
            thread: Some(thread),
        })
    }

    /// The bridge's `health` response (`None` if it does not answer within 5 s).
    pub async fn health(&self) -> Option<Value> {
        let (tx, rx) = oneshot::channel();
        self.cmds.send(Cmd::Health(tx)).ok()?;
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .ok()?
            .ok()
    }

    /// Stops and returns everything collected.
    pub async fn finish(mut self) -> Collected {
        let (tx, rx) = oneshot::channel();
        let _ = self.cmds.send(Cmd::Finish(tx));
        let c = rx.await.unwrap_or_default();
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        c
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    broker: SocketAddr,
    base: String,
    qos: QoS,
    stamps: Arc<Vec<AtomicU64>>,
    devices: usize,
    clock: Instant,
    p: Arc<Progress>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
) {
    let mut opts = MqttOptions::new(
        format!("lumi-bench-{}", std::process::id()),
        broker.ip().to_string(),
        broker.port(),
    );
    opts.set_keep_alive(Duration::from_secs(60));
    opts.set_max_packet_size(16 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(opts, 64);
    let mut net = eventloop.network_options();
    net.set_tcp_nodelay(true);
    eventloop.set_network_options(net);
    let subs = [
        (format!("{base}/+"), qos),
        (format!("{base}/bridge/state"), QoS::AtLeastOnce),
        (format!("{base}/bridge/devices"), QoS::AtLeastOnce),
        (format!("{base}/bridge/response/health"), QoS::AtLeastOnce),
    ];
    let bridge_prefix = format!("{base}/bridge/");
    let mut seen = vec![false; stamps.len()];
    // The latest sequence number delivered per device (reports to one device are sent in
    // increasing order).
    let mut last_seq: std::collections::HashMap<String, u64> =
        std::collections::HashMap::with_capacity(devices);
    let mut out = Collected {
        latencies_ns: Vec::with_capacity(stamps.len()),
        sent_ns: Vec::with_capacity(stamps.len()),
        ..Collected::default()
    };
    let mut health: Option<oneshot::Sender<Value>> = None;
    let mut transaction = 0u64;
    let finish = loop {
        let ev = tokio::select! {
            c = cmds.recv() => match c {
                Some(Cmd::Health(tx)) => {
                    transaction += 1;
                    health = Some(tx);
                    let _ = client.try_publish(
                        format!("{base}/bridge/request/health"),
                        QoS::AtLeastOnce,
                        false,
                        format!(r#"{{"transaction":{transaction}}}"#),
                    );
                    continue;
                }
                Some(Cmd::Finish(tx)) => break Some(tx),
                None => break None,
            },
            ev = eventloop.poll() => ev,
        };
        let now = clock.elapsed().as_nanos() as u64;
        match ev {
            Ok(Event::Incoming(Packet::Publish(m))) => {
                let topic = m.topic.as_str();
                if let Some(rest) = topic.strip_prefix(&bridge_prefix) {
                    match rest {
                        "state" if m.payload.as_ref() == br#"{"state":"online"}"# => {
                            let _ = p.online_ns.compare_exchange(
                                0,
                                now,
                                Ordering::Relaxed,
                                Ordering::Relaxed,
                            );
                        }
                        "devices" => {
                            let plugs = serde_json::from_slice::<Vec<Value>>(&m.payload)
                                .map(|v| v.iter().filter(|d| d["model"] == "plug").count())
                                .unwrap_or(0);
                            p.plugs_listed.store(plugs as u64, Ordering::Relaxed);
                        }
                        "response/health" => {
                            if let (Some(tx), Ok(v)) =
                                (health.take(), serde_json::from_slice::<Value>(&m.payload))
                            {
                                let _ = tx.send(v);
                            }
                        }
                        _ => {}
                    }
                    continue;
                }
                let _ =
                    p.first_state_ns
                        .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
                let energy = serde_json::from_slice::<Probe>(&m.payload)
                    .ok()
                    .and_then(|p| p.energy);
                let seq = energy
                    .filter(|e| *e >= SEQ_BASE as f64)
                    .map(|e| e as u64 - SEQ_BASE)
                    .filter(|s| (*s as usize) < seen.len());
                let Some(seq) = seq else {
                    out.other += 1;
                    continue;
                };
                let i = seq as usize;
                if seen[i] {
                    out.duplicates += 1;
                    continue;
                }
                seen[i] = true;
                let sent = stamps[i].load(Ordering::Relaxed);
                out.latencies_ns.push(now.saturating_sub(sent));
                out.sent_ns.push(sent);
                match last_seq.get_mut(topic) {
                    Some(l) if *l > seq => out.out_of_order += 1,
                    Some(l) => *l = seq,
                    None => {
                        last_seq.insert(topic.to_owned(), seq);
                    }
                }
                p.delivered.fetch_add(1, Ordering::Relaxed);
                p.last_delivery_ns.store(now, Ordering::Relaxed);
            }
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                for (t, q) in &subs {
                    let _ = client.try_subscribe(t.clone(), *q);
                }
                p.connected.store(true, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(_) => {
                // Not up yet (the embedded broker starts with the bridge), or gone.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let _ = client.try_disconnect();
    if let Some(tx) = finish {
        let _ = tx.send(out);
    }
}
