//! A recording MQTT subscriber, independent of [`crate::mqtt::Link`] (plain rumqttc), so tests
//! of the link do not check it against itself.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeFilter};
use tokio::sync::watch;

use crate::config::Qos;

/// How long [`Subscriber::connect`] waits for the subscription to be acknowledged.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A message as a subscriber received it.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// Its topic.
    pub topic: String,
    /// Its payload.
    pub payload: Vec<u8>,
    /// Whether it came as a retained message (stored before the subscription).
    pub retain: bool,
    /// The QoS it was delivered with.
    pub qos: Qos,
}

impl Message {
    /// The payload as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    /// The payload as JSON.
    ///
    /// # Panics
    ///
    /// When it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or_else(|e| {
            panic!(
                "payload on {} is not JSON ({e}): {}",
                self.topic,
                self.text()
            )
        })
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        let shown: String = text.chars().take(200).collect();
        write!(
            f,
            "{} ← {shown}{} (qos {}{})",
            self.topic,
            if shown.len() < text.len() { "…" } else { "" },
            self.qos.as_u8(),
            if self.retain { ", retained" } else { "" }
        )
    }
}

/// A wait that ran out; its message lists what was received.
pub struct TimedOut {
    what: String,
    after: Duration,
    seen: Vec<Message>,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no {} within {:?}; ", self.what, self.after)?;
        if self.seen.is_empty() {
            return write!(f, "no message was received");
        }
        let mut topics: Vec<&str> = self.seen.iter().map(|m| m.topic.as_str()).collect();
        topics.dedup();
        writeln!(
            f,
            "{} messages were received, on: {}",
            self.seen.len(),
            topics.join(", ")
        )?;
        for m in self.seen.iter().rev().take(10).rev() {
            writeln!(f, "  {m:?}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for TimedOut {}

/// What the subscriber's thread shares with the handle.
struct Recorded {
    messages: Mutex<Vec<Message>>,
    /// Bumped on every message; waits watch it.
    count: watch::Sender<usize>,
}

/// An MQTT client subscribed to some filters, recording every message in order. It runs in a
/// thread of its own (usable from any test, async or not), reconnects and re-subscribes if the
/// broker restarts (retained messages then arrive again). Dropping it closes the connection.
pub struct Subscriber {
    client: AsyncClient,
    recorded: Arc<Recorded>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("messages", &self.messages().len())
            .finish()
    }
}

impl Subscriber {
    /// Connects to the broker at `addr`, subscribes to `filters` at QoS 1 and returns once the
    /// subscription is acknowledged: every message published afterwards is recorded.
    ///
    /// # Panics
    ///
    /// When the broker cannot be reached or does not acknowledge within 5 s.
    pub async fn connect(addr: SocketAddr, filters: &[&str]) -> Subscriber {
        Subscriber::connect_with_qos(addr, filters, Qos::AtLeastOnce).await
    }

    /// Like [`Subscriber::connect`], subscribing at `qos`. (rumqttd delivers at most 100
    /// retained messages to a new QoS 1 subscription: use QoS 0 to see them all.)
    pub async fn connect_with_qos(addr: SocketAddr, filters: &[&str], qos: Qos) -> Subscriber {
        static N: AtomicU64 = AtomicU64::new(0);
        let id = format!(
            "lumi-testkit-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut opts = MqttOptions::new(id, addr.ip().to_string(), addr.port());
        opts.set_keep_alive(Duration::from_secs(30));
        opts.set_max_packet_size(64 << 20, 64 << 20);
        let (client, mut eventloop) = AsyncClient::new(opts, 1000);
        let recorded = Arc::new(Recorded {
            messages: Mutex::new(Vec::new()),
            count: watch::channel(0).0,
        });
        let (subscribed_tx, subscribed_rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let filters: Vec<SubscribeFilter> = filters
            .iter()
            .map(|f| SubscribeFilter::new((*f).to_owned(), super_qos(qos)))
            .collect();
        assert!(
            !filters.is_empty(),
            "Subscriber::connect needs at least one filter"
        );
        let sub_client = client.clone();
        let rec = Arc::clone(&recorded);
        std::thread::Builder::new()
            .name("lumi-testkit-subscriber".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = subscribed_tx.send(Err(format!("no runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut first = Some(subscribed_tx);
                    loop {
                        let event = tokio::select! {
                            _ = &mut stop_rx => return,
                            e = eventloop.poll() => e,
                        };
                        match event {
                            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                                let _ = sub_client.try_subscribe_many(filters.clone());
                            }
                            Ok(Event::Incoming(Packet::SubAck(_))) => {
                                if let Some(tx) = first.take() {
                                    let _ = tx.send(Ok(()));
                                }
                            }
                            Ok(Event::Incoming(Packet::Publish(p))) => {
                                let m = Message {
                                    topic: p.topic,
                                    payload: p.payload.to_vec(),
                                    retain: p.retain,
                                    qos: from_rumqttc(p.qos),
                                };
                                let n = {
                                    let mut all =
                                        rec.messages.lock().unwrap_or_else(|e| e.into_inner());
                                    all.push(m);
                                    all.len()
                                };
                                rec.count.send_replace(n);
                            }
                            Ok(_) => {}
                            Err(e) => {
                                if let Some(tx) = first.take() {
                                    let _ = tx.send(Err(e.to_string()));
                                    return;
                                }
                                // The broker went away (a restart in the test): try again
                                // shortly, until it is back or the subscriber is dropped.
                                tokio::select! {
                                    _ = &mut stop_rx => return,
                                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                                }
                            }
                        }
                    }
                });
            })
            .unwrap_or_else(|e| panic!("cannot start the subscriber thread: {e}"));
        match tokio::time::timeout(CONNECT_TIMEOUT, subscribed_rx).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("the test subscriber cannot connect to {addr}: {e}"),
            Ok(Err(_)) => panic!("the test subscriber's thread ended before it subscribed"),
            Err(_) => {
                panic!("the test subscriber got no SUBACK from {addr} within {CONNECT_TIMEOUT:?}")
            }
        }
        Subscriber {
            client,
            recorded,
            stop: Some(stop_tx),
        }
    }

    /// The retained messages a fresh subscriber to `filter` gets: subscribes at QoS 0 and
    /// collects messages until none arrives for `settle`. Sorted by topic.
    pub async fn retained(addr: SocketAddr, filter: &str, settle: Duration) -> Vec<Message> {
        let sub = Subscriber::connect_with_qos(addr, &[filter], Qos::AtMostOnce).await;
        let mut count = sub.recorded.count.subscribe();
        loop {
            count.mark_unchanged();
            if tokio::time::timeout(settle, count.changed()).await.is_err() {
                break;
            }
        }
        let mut retained: Vec<Message> = sub.messages().into_iter().filter(|m| m.retain).collect();
        retained.sort_by(|a, b| a.topic.cmp(&b.topic));
        retained
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.recorded
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The last message received on `topic`.
    pub fn latest(&self, topic: &str) -> Option<Message> {
        self.messages().into_iter().rev().find(|m| m.topic == topic)
    }

    /// Forgets the messages received so far (later waits see only newer ones).
    pub fn clear(&self) {
        self.recorded
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The first message received on `topic` (since the subscription or the last
    /// [`Subscriber::clear`]), waiting up to `timeout` for it.
    pub async fn wait_for(&self, topic: &str, timeout: Duration) -> Result<Message, TimedOut> {
        let all = self
            .wait_until_described(&format!("message on {topic}"), timeout, |msgs| {
                msgs.iter().any(|m| m.topic == topic)
            })
            .await?;
        Ok(all
            .into_iter()
            .find(|m| m.topic == topic)
            .expect("the condition held"))
    }

    /// Waits up to `timeout` until `done` holds for the messages received so far; returns
    /// them.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[Message]) -> bool,
    ) -> Result<Vec<Message>, TimedOut> {
        self.wait_until_described("matching messages", timeout, done)
            .await
    }

    async fn wait_until_described(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[Message]) -> bool,
    ) -> Result<Vec<Message>, TimedOut> {
        let mut count = self.recorded.count.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            count.mark_unchanged();
            let now = self.messages();
            if done(&now) {
                return Ok(now);
            }
            if tokio::time::timeout_at(deadline, count.changed())
                .await
                .is_err()
            {
                let seen = self.messages();
                if done(&seen) {
                    return Ok(seen);
                }
                return Err(TimedOut {
                    what: what.to_owned(),
                    after: timeout,
                    seen,
                });
            }
        }
    }

    /// Publishes (QoS 1) from this client.
    ///
    /// # Panics
    ///
    /// When the subscriber's connection is gone for good.
    pub async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>, retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await
            .unwrap_or_else(|e| panic!("the test subscriber cannot publish to {topic}: {e}"));
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn super_qos(q: Qos) -> QoS {
    match q {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
        Qos::ExactlyOnce => QoS::ExactlyOnce,
    }
}

fn from_rumqttc(q: QoS) -> Qos {
    match q {
        QoS::AtMostOnce => Qos::AtMostOnce,
        QoS::AtLeastOnce => Qos::AtLeastOnce,
        QoS::ExactlyOnce => Qos::ExactlyOnce,
    }
}
