//! The driver task: polls rumqttc's event loop, re-subscribes on every CONNACK, carries
//! pending publishes across reconnects, waits between failed attempts, and reports events.
//! See the module docs of [`crate::mqtt`] for the behaviour and why.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::{
    ConnectReturnCode, ConnectionError, Event, EventLoop, Outgoing, Packet, Publish, QoS, Request,
    StateError, Subscribe, SubscribeFilter, SubscribeReasonCode, Unsubscribe,
};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{Counters, LinkEvent, LinkOptions, MAX_INFLIGHT, STABLE_AFTER, Shared, from_qos};

/// The wait before the next connection attempt: doubles from `min` to `max` after each
/// failure; a lost connection that had lasted [`STABLE_AFTER`] is retried at once and starts
/// again from `min`.
#[derive(Debug, Clone)]
pub(super) struct Retry {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Retry {
    pub(super) fn new(min: Duration, max: Duration) -> Retry {
        Retry {
            min,
            max,
            next: min,
        }
    }

    /// The wait after a failed connection attempt.
    pub(super) fn after_failed_attempt(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    /// The wait after losing a connection that had been up for `uptime`.
    pub(super) fn after_lost(&mut self, uptime: Duration) -> Duration {
        if uptime >= STABLE_AFTER {
            self.next = self.min;
            Duration::ZERO
        } else {
            self.after_failed_attempt()
        }
    }
}

/// Marks the link closed when the driver ends, however it ends (return, abort, runtime
/// shutdown).
struct Finished {
    shared: Arc<Shared>,
    done: watch::Sender<bool>,
}

impl Drop for Finished {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.sent.notify_waiters();
        self.done.send_replace(true);
    }
}

/// The driver's state. Owned by its task.
pub(super) struct Driver {
    eventloop: EventLoop,
    broker: String,
    /// The filters of the last SUBSCRIBE sent at a connect (from [`Shared`]).
    subscriptions: Vec<(String, QoS)>,
    /// Unsubscribed from when the broker resumes a session ([`super::LinkOptions::unsubscribe_on_resume`]).
    unsubscribe_on_resume: Vec<String>,
    shared: Arc<Shared>,
    events: mpsc::Sender<LinkEvent>,
    ignore: Option<super::TopicFilter>,
    /// `true`: disconnect asked for; closed: every handle is gone.
    stop: watch::Receiver<bool>,
    retry: Retry,
    /// When the current connection was acknowledged.
    connected_at: Option<Instant>,
    ever_connected: bool,
    session_present: bool,
    /// `Some(None)`: the SUBSCRIBE is queued; `Some(Some(id))`: sent with this packet id,
    /// waiting for its SUBACK before `Connected`.
    awaiting_suback: Option<Option<u16>>,
    /// The same for the UNSUBSCRIBE of a resumed session: `Connected` waits for both.
    awaiting_unsuback: Option<Option<u16>>,
    /// [`super::Link::subscribe`]s sent, by packet id, with their filters.
    runtime_subacks: std::collections::HashMap<u16, Vec<String>>,
    /// Publishes taken from rumqttc when the connection broke, to resend after the CONNACK.
    rescued: VecDeque<Publish>,
    /// Failed attempts in a row.
    attempt: u32,
    /// Last field: dropped after the event loop, so nothing is accepted into a dead channel
    /// after the link reads as closed.
    _finished: Finished,
}

/// What the loop does next.
enum Next {
    Continue,
    Stop,
}

impl Driver {
    pub(super) fn new(
        eventloop: EventLoop,
        opts: &LinkOptions,
        broker: String,
        shared: Arc<Shared>,
        events: mpsc::Sender<LinkEvent>,
        stop: watch::Receiver<bool>,
        done: watch::Sender<bool>,
    ) -> Driver {
        Driver {
            eventloop,
            broker,
            subscriptions: Vec::new(),
            unsubscribe_on_resume: opts.unsubscribe_on_resume.clone(),
            shared: Arc::clone(&shared),
            events,
            ignore: opts.ignore.clone(),
            stop,
            retry: Retry::new(opts.backoff_min, opts.backoff_max),
            connected_at: None,
            ever_connected: false,
            session_present: false,
            awaiting_suback: None,
            awaiting_unsuback: None,
            runtime_subacks: std::collections::HashMap::new(),
            rescued: VecDeque::new(),
            attempt: 0,
            _finished: Finished { shared, done },
        }
    }

    pub(super) async fn run(mut self) {
        tracing::debug!(broker = %self.broker, "mqtt: link driver started");
        loop {
            let polled = if self.connected_at.is_some() {
                // A disconnect goes through the request channel, behind what was published
                // before it; the poll is only abandoned when every handle is gone.
                tokio::select! {
                    biased;
                    r = self.eventloop.poll() => r,
                    () = handles_gone(&mut self.stop) => {
                        tracing::debug!(broker = %self.broker, "mqtt: every link handle dropped: closing the connection");
                        return;
                    }
                }
            } else {
                if *self.stop.borrow() {
                    tracing::debug!(broker = %self.broker, "mqtt: stopping while not connected");
                    return;
                }
                tokio::select! {
                    biased;
                    () = stop_or_gone(&mut self.stop) => return,
                    r = self.eventloop.poll() => r,
                }
            };
            let next = match polled {
                Ok(event) => self.on_event(event).await,
                Err(e) if self.connected_at.is_some() => self.on_lost(&e).await,
                Err(e) => self.on_failed(&e).await,
            };
            if let Next::Stop = next {
                return;
            }
        }
    }

    async fn on_event(&mut self, event: Event) -> Next {
        let counters = &self.shared.counters;
        match event {
            Event::Incoming(Packet::ConnAck(ack)) => self.on_connack(ack.session_present).await,
            Event::Incoming(Packet::Publish(p))
                if self.ignore.as_ref().is_some_and(|f| (f.0)(&p.topic)) =>
            {
                Counters::add(&counters.received, 1);
            }
            Event::Incoming(Packet::Publish(p)) => {
                Counters::add(&counters.received, 1);
                tracing::trace!(topic = %lumi_proto::sanitize::for_terminal(&p.topic), bytes = p.payload.len(), "mqtt: message");
                emit(
                    &self.events,
                    LinkEvent::Message {
                        topic: p.topic,
                        payload: p.payload.to_vec(),
                        retain: p.retain,
                        qos: from_qos(p.qos),
                    },
                )
                .await;
            }
            Event::Incoming(Packet::SubAck(ack))
                if self.awaiting_suback == Some(Some(ack.pkid)) =>
            {
                self.awaiting_suback = None;
                tracing::debug!(broker = %self.broker, "mqtt: subscribed");
                if self.awaiting_unsuback.is_none() {
                    self.emit_connected().await;
                }
                let filters: Vec<String> =
                    self.subscriptions.iter().map(|(f, _)| f.clone()).collect();
                self.tell_refused(&filters, &ack.return_codes).await;
            }
            Event::Incoming(Packet::SubAck(ack))
                if self.runtime_subacks.contains_key(&ack.pkid) =>
            {
                let filters = self.runtime_subacks.remove(&ack.pkid).unwrap_or_default();
                self.tell_refused(&filters, &ack.return_codes).await;
            }
            Event::Incoming(Packet::UnsubAck(ack))
                if self.awaiting_unsuback == Some(Some(ack.pkid)) =>
            {
                self.awaiting_unsuback = None;
                tracing::debug!(broker = %self.broker, "mqtt: unsubscribed from the old session's filters");
                if self.awaiting_suback.is_none() {
                    self.emit_connected().await;
                }
            }
            Event::Outgoing(Outgoing::Subscribe(pkid)) if self.awaiting_suback == Some(None) => {
                self.awaiting_suback = Some(Some(pkid));
            }
            Event::Outgoing(Outgoing::Subscribe(pkid)) => {
                // Not the connect's: the oldest `Link::subscribe` not yet sent.
                let filters = self
                    .shared
                    .runtime_subscribes
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop_front();
                if let Some(filters) = filters {
                    self.runtime_subacks.insert(pkid, filters);
                }
            }
            Event::Outgoing(Outgoing::Unsubscribe(pkid))
                if self.awaiting_unsuback == Some(None) =>
            {
                self.awaiting_unsuback = Some(Some(pkid));
            }
            Event::Outgoing(Outgoing::Publish(_)) => {
                Counters::add(&counters.sent, 1);
                self.tell_progress();
            }
            Event::Incoming(Packet::PubAck(_) | Packet::PubComp(_)) => self.tell_progress(),
            Event::Outgoing(Outgoing::Disconnect) => {
                tracing::info!(broker = %self.broker, "mqtt: disconnected from {}", self.broker);
                return Next::Stop;
            }
            _ => {}
        }
        Next::Continue
    }

    /// For [`Link::wait_sent`](super::Link::wait_sent): a message was written or acknowledged.
    fn tell_progress(&self) {
        let inflight = u64::from(self.eventloop.state.inflight());
        self.shared.inflight.store(inflight, Ordering::Relaxed);
        if self.shared.sent_watched.load(Ordering::Relaxed) > 0 {
            self.shared.sent.notify_waiters();
        }
    }

    async fn on_connack(&mut self, session_present: bool) {
        let counters = &self.shared.counters;
        Counters::add(&counters.connects, 1);
        if self.ever_connected {
            Counters::add(&counters.reconnects, 1);
            tracing::info!(broker = %self.broker, "mqtt: reconnected to {}", self.broker);
        } else {
            tracing::info!(broker = %self.broker, "mqtt: connected to {}", self.broker);
        }
        self.ever_connected = true;
        self.connected_at = Some(Instant::now());
        self.session_present = session_present;
        self.attempt = 0;
        // Nothing is in flight on a new connection (what was is rescued below).
        self.tell_progress();

        // rumqttc has emptied its pending list for the new session; ours goes first: the
        // subscriptions, then what was pending at the disconnect, in order. Later publishes
        // come from the request channel, which rumqttc reads only when this list is empty.
        let mut pending = VecDeque::with_capacity(self.rescued.len() + 2);
        self.subscriptions = self
            .shared
            .subscriptions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if !self.subscriptions.is_empty() {
            let filters = self
                .subscriptions
                .iter()
                .map(|(f, q)| SubscribeFilter::new(f.clone(), *q));
            pending.push_back(Request::Subscribe(Subscribe::new_many(filters)));
            self.awaiting_suback = Some(None);
        }
        // After the new filters, so nothing goes unheard in between.
        if session_present && !self.unsubscribe_on_resume.is_empty() {
            pending.push_back(Request::Unsubscribe(Unsubscribe {
                pkid: 0,
                topics: self.unsubscribe_on_resume.clone(),
            }));
            self.awaiting_unsuback = Some(None);
        }
        if !self.rescued.is_empty() {
            tracing::info!(
                broker = %self.broker,
                count = self.rescued.len(),
                "mqtt: resending the messages that were pending at the disconnect"
            );
        }
        for mut publish in self.rescued.drain(..) {
            if !session_present {
                // A new session: new packet ids.
                publish.pkid = 0;
                publish.dup = false;
            }
            pending.push_back(Request::Publish(publish));
        }
        pending.extend(self.eventloop.pending.drain(..));
        self.eventloop.pending = pending;

        if self.awaiting_suback.is_none() && self.awaiting_unsuback.is_none() {
            self.emit_connected().await;
        }
    }

    /// Logs each filter a SUBACK refused, and emits them as one
    /// [`LinkEvent::SubscriptionRefused`].
    async fn tell_refused(&mut self, filters: &[String], codes: &[SubscribeReasonCode]) {
        let refused: Vec<String> = filters
            .iter()
            .zip(codes)
            .filter(|(_, code)| **code == SubscribeReasonCode::Failure)
            .map(|(f, _)| f.clone())
            .collect();
        for filter in &refused {
            tracing::warn!(
                broker = %self.broker,
                "mqtt: the broker refused the subscription to {filter}: messages on it will not arrive (check the broker's access rules)"
            );
        }
        if !refused.is_empty() {
            emit(
                &self.events,
                LinkEvent::SubscriptionRefused { filters: refused },
            )
            .await;
        }
    }

    /// Connected, with the subscriptions in place.
    async fn emit_connected(&mut self) {
        emit(
            &self.events,
            LinkEvent::Connected {
                session_present: self.session_present,
            },
        )
        .await;
    }

    async fn on_lost(&mut self, e: &ConnectionError) -> Next {
        let uptime = self
            .connected_at
            .take()
            .map(|t| t.elapsed())
            .unwrap_or_default();
        self.awaiting_suback = None;
        self.awaiting_unsuback = None;
        // Their SUBACKs will not come; the filters are subscribed again at the next connect.
        self.runtime_subacks.clear();
        let disconnect_pending = self.rescue();
        let reason = describe(e);
        if disconnect_pending || *self.stop.borrow() {
            tracing::info!(broker = %self.broker, "mqtt: the connection closed while disconnecting: {reason}");
            return Next::Stop;
        }
        tracing::warn!(broker = %self.broker, "mqtt: lost the connection to {}: {reason}", self.broker);
        emit(&self.events, LinkEvent::Disconnected { reason }).await;
        let delay = self.retry.after_lost(uptime);
        if delay.is_zero() {
            return Next::Continue;
        }
        tracing::info!(broker = %self.broker, "mqtt: reconnecting in {delay:?}");
        self.pause(delay).await
    }

    async fn on_failed(&mut self, e: &ConnectionError) -> Next {
        self.attempt = self.attempt.saturating_add(1);
        Counters::add(&self.shared.counters.failed_attempts, 1);
        let delay = self.retry.after_failed_attempt();
        let reason = describe(e);
        tracing::warn!(
            broker = %self.broker,
            attempt = self.attempt,
            "mqtt: cannot connect to {}: {reason}; retrying in {delay:?}",
            self.broker
        );
        emit(
            &self.events,
            LinkEvent::ConnectFailed {
                reason,
                attempt: self.attempt,
                retry_in: delay,
            },
        )
        .await;
        self.pause(delay).await
    }

    /// Takes the publishes rumqttc would drop at the next CONNACK (in flight, and those it
    /// drained from the request channel) into `rescued`, keeping their order and at most
    /// `MAX_INFLIGHT - 1` QoS ≥ 1 ones. Returns whether a DISCONNECT request was among them.
    fn rescue(&mut self) -> bool {
        let mut disconnect = false;
        for request in self.eventloop.pending.drain(..) {
            match request {
                Request::Publish(p) => self.rescued.push_back(p),
                Request::Disconnect(_) => disconnect = true,
                // Acks and releases belong to the old session; subscriptions are redone.
                _ => {}
            }
        }
        let limit = usize::from(MAX_INFLIGHT - 1);
        let acked = self
            .rescued
            .iter()
            .filter(|p| p.qos != QoS::AtMostOnce)
            .count();
        if acked > limit {
            let mut excess = acked - limit;
            let dropped = excess;
            self.rescued.retain(|p| {
                if excess > 0 && p.qos != QoS::AtMostOnce {
                    excess -= 1;
                    false
                } else {
                    true
                }
            });
            Counters::add(&self.shared.counters.dropped_reconnect, dropped as u64);
            tracing::warn!(
                broker = %self.broker,
                dropped,
                "mqtt: more QoS 1/2 messages were pending at the disconnect than can be resent safely: dropped the oldest"
            );
        }
        disconnect
    }

    /// Waits `delay`, or less if a disconnect is asked for.
    async fn pause(&mut self, delay: Duration) -> Next {
        tokio::select! {
            () = tokio::time::sleep(delay) => Next::Continue,
            () = stop_or_gone(&mut self.stop) => Next::Stop,
        }
    }
}

/// Sends an event; waits when the receiver is behind; drops it only if the receiver is gone
/// (nobody listens any more).
async fn emit(events: &mpsc::Sender<LinkEvent>, event: LinkEvent) {
    let _ = events.send(event).await;
}

/// Resolves when every handle is gone.
async fn handles_gone(stop: &mut watch::Receiver<bool>) {
    while stop.changed().await.is_ok() {}
}

/// Resolves when a disconnect is asked for or every handle is gone.
async fn stop_or_gone(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// A connection error in words, for logs and [`LinkEvent`]s. Never contains the password
/// (rumqttc's errors do not carry it); text from the broker is sanitised.
pub(super) fn describe(e: &ConnectionError) -> String {
    let text = match e {
        ConnectionError::ConnectionRefused(code) => match code {
            ConnectReturnCode::BadUserNamePassword => {
                "the broker refused the connection: bad user name or password (check mqtt.username and mqtt.password)".to_owned()
            }
            ConnectReturnCode::NotAuthorized => {
                "the broker refused the connection: not authorized (check mqtt.username, mqtt.password and the broker's access rules)".to_owned()
            }
            ConnectReturnCode::BadClientId => {
                "the broker refused the client id (check mqtt.client_id)".to_owned()
            }
            ConnectReturnCode::ServiceUnavailable => {
                "the broker refused the connection: service unavailable".to_owned()
            }
            ConnectReturnCode::RefusedProtocolVersion => {
                "the broker refused the connection: it does not accept MQTT 3.1.1".to_owned()
            }
            ConnectReturnCode::Success => "the broker sent an unexpected CONNACK".to_owned(),
        },
        ConnectionError::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is the broker running and listening on that port?)".to_owned()
            }
            _ => io.to_string(),
        },
        ConnectionError::NetworkTimeout => "no answer from the broker within 5 s".to_owned(),
        ConnectionError::FlushTimeout => "the broker stopped reading (write timed out)".to_owned(),
        ConnectionError::Tls(t) => {
            let text = t.to_string();
            let hint = if text.contains("NotValidForName") {
                " (the broker's certificate is not for the host name in mqtt.url)"
            } else if text.contains("certificate") {
                " (check mqtt.ca: it must hold the CA that signed the broker's certificate)"
            } else {
                ""
            };
            format!("tls: {text}{hint}")
        }
        ConnectionError::NotConnAck(p) => {
            format!("the broker answered the CONNECT with {} instead of a CONNACK", packet_name(p))
        }
        ConnectionError::MqttState(s) => match s {
            StateError::Io(io) => io.to_string(),
            StateError::ConnectionAborted => "the broker closed the connection".to_owned(),
            StateError::AwaitPingResp => {
                "the broker did not answer the keep-alive ping in time".to_owned()
            }
            StateError::Deserialization(d) => format!("the broker sent a malformed packet: {d}"),
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    lumi_proto::sanitize::truncated(&text, 300)
}

fn packet_name(p: &Packet) -> &'static str {
    match p {
        Packet::Connect(_) => "CONNECT",
        Packet::ConnAck(_) => "CONNACK",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubAck(_) => "PUBACK",
        Packet::PubRec(_) => "PUBREC",
        Packet::PubRel(_) => "PUBREL",
        Packet::PubComp(_) => "PUBCOMP",
        Packet::Subscribe(_) => "SUBSCRIBE",
        Packet::SubAck(_) => "SUBACK",
        Packet::Unsubscribe(_) => "UNSUBSCRIBE",
        Packet::UnsubAck(_) => "UNSUBACK",
        Packet::PingReq => "PINGREQ",
        Packet::PingResp => "PINGRESP",
        Packet::Disconnect => "DISCONNECT",
    }
}
