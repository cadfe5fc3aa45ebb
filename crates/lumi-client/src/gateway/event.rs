//! What a [`super::Client`] tells its subscribers, and how a slow subscriber finds out it
//! missed something.
//!
//! Events go through a `tokio::sync::broadcast` channel of [`super::ClientConfig::event_capacity`]
//! entries. The driver never waits for a subscriber: a subscriber that falls more than the
//! capacity behind loses the oldest events *it* has not read (the others are unaffected), and
//! its next [`Events::recv`] returns [`EventsError::Lagged`] with the number it missed (also
//! logged as a warning) before continuing with the oldest event still kept. Lagging is
//! therefore always visible, never silent; the registry ([`super::Client::devices`]) still
//! has the latest state of every device.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lumi_proto::catalogue::DeviceState;
use lumi_proto::lan::{Props, ProtoVersion, Sid};
use serde::Serialize;
use tokio::sync::broadcast;

/// How the client came to know a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Origin {
    /// It answered `whois`.
    Discovery,
    /// It was configured by address and answered a probe.
    Static,
    /// Its heartbeat was seen (a gateway that does not answer `whois`, adopted at port 9898).
    Heartbeat,
}

/// Where a gateway token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenOrigin {
    /// A gateway heartbeat (multicast, every 10 s).
    Heartbeat,
    /// A `get_id_list_ack` / `discovery_rsp` (asked for after `Invalid key` or before a
    /// first write).
    IdList,
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DropReason {
    /// It came from an address that is no gateway the client knows.
    Foreign,
    /// It came from a gateway but answers nothing outstanding (late, duplicated, or a reply
    /// to someone else).
    Unmatched,
    /// It is not a LAN API message.
    Undecodable,
}

/// Something that happened. Serialises as one JSON object with an `"event"` tag, e.g.
/// `{"event":"report","gateway":"7811dcb06972","sid":"158d0001c1cdfb","model":"magnet",
/// "state":{"model":"magnet","values":{"contact":false},"raw":{}},"props":{"status":"open"}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A gateway was adopted.
    GatewayAppeared {
        /// Its sid.
        gateway: Sid,
        /// Its command address.
        addr: SocketAddr,
        /// Its model, when known.
        model: Option<String>,
        /// Its protocol version, when known.
        version: Option<ProtoVersion>,
        /// How it was found.
        origin: Origin,
    },
    /// A gateway now answers at another address (DHCP gave it a new IP); its session and
    /// outstanding requests moved with it.
    GatewayMoved {
        /// Its sid.
        gateway: Sid,
        /// The old command address.
        from: SocketAddr,
        /// The new command address.
        to: SocketAddr,
    },
    /// A gateway could not be reached: a configured address did not answer its probe, or the
    /// device list could not be read.
    GatewayLost {
        /// Its sid, when known.
        gateway: Option<Sid>,
        /// Its address.
        addr: SocketAddr,
        /// What went wrong and what to check.
        reason: String,
    },
    /// Heartbeats arrive from the gateway (the first one, or again after silence).
    GatewayOnline {
        /// Its sid.
        gateway: Sid,
    },
    /// No heartbeat from the gateway for 65 s: it is off, or its multicast does not reach
    /// this host (check the interface, IGMP snooping, Docker networking).
    GatewayOffline {
        /// Its sid.
        gateway: Sid,
        /// How long it has been silent.
        #[serde(serialize_with = "secs")]
        silent_for: Duration,
    },
    /// The device list of a gateway was read, and every device on it.
    DevicesLoaded {
        /// The gateway.
        gateway: Sid,
        /// How many sub-devices it has.
        devices: usize,
        /// How many of them did not answer their `read` (their state is unknown until they
        /// report).
        unread: usize,
    },
    /// A device (or a gateway itself) reported a change.
    Report {
        /// The gateway it came through.
        gateway: Sid,
        /// The device.
        sid: Sid,
        /// Its model, when the gateway named one.
        model: Option<String>,
        /// The typed values of this report (and what could not be typed).
        state: DeviceState,
        /// The raw properties as received.
        props: Props,
    },
    /// A sub-device heartbeat (battery devices about hourly, mains devices every 10 min).
    Heartbeat {
        /// The gateway it came through.
        gateway: Sid,
        /// The device.
        sid: Sid,
        /// Its model, when the gateway named one.
        model: Option<String>,
        /// The typed values it carried.
        state: DeviceState,
        /// The raw properties as received.
        props: Props,
    },
    /// A sub-device became available (it spoke) or unavailable (silent for longer than its
    /// kind allows, see [`super::Availability`]).
    DeviceAvailability {
        /// The gateway it belongs to.
        gateway: Sid,
        /// The device.
        sid: Sid,
        /// Available or not.
        available: bool,
        /// How long it had been silent.
        #[serde(serialize_with = "secs")]
        silent_for: Duration,
    },
    /// A gateway's token changed (the token itself is not included).
    TokenRefreshed {
        /// The gateway.
        gateway: Sid,
        /// Where the token came from.
        origin: TokenOrigin,
    },
    /// A gateway's protocol version was learned.
    VersionLearned {
        /// The gateway.
        gateway: Sid,
        /// Its version.
        version: ProtoVersion,
    },
    /// The multicast interface went away or down (checked every few seconds): no heartbeat
    /// or report can arrive until it is back.
    InterfaceDown {
        /// Its address (the configured interface).
        interface: std::net::Ipv4Addr,
    },
    /// The interface is back (or was replaced by one with the same address); the client
    /// joined the multicast group on it again and asked the gateways `whois`.
    InterfaceUp {
        /// Its address.
        interface: std::net::Ipv4Addr,
        /// For how long it was away.
        #[serde(serialize_with = "secs")]
        down_for: Duration,
    },
    /// Datagrams were dropped (rate-limited: at most one such event per second, with the
    /// running total).
    Dropped {
        /// Why the latest one was dropped.
        reason: DropReason,
        /// Its source.
        from: SocketAddr,
        /// Its `cmd`, when it had one.
        cmd: &'static str,
        /// Datagrams dropped since the client started.
        total: u64,
    },
}

impl Event {
    /// The event's tag, as in its JSON form (`report`, `gateway_online`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Event::GatewayAppeared { .. } => "gateway_appeared",
            Event::GatewayMoved { .. } => "gateway_moved",
            Event::GatewayLost { .. } => "gateway_lost",
            Event::GatewayOnline { .. } => "gateway_online",
            Event::GatewayOffline { .. } => "gateway_offline",
            Event::DevicesLoaded { .. } => "devices_loaded",
            Event::Report { .. } => "report",
            Event::Heartbeat { .. } => "heartbeat",
            Event::DeviceAvailability { .. } => "device_availability",
            Event::TokenRefreshed { .. } => "token_refreshed",
            Event::VersionLearned { .. } => "version_learned",
            Event::Dropped { .. } => "dropped",
            Event::InterfaceDown { .. } => "interface_down",
            Event::InterfaceUp { .. } => "interface_up",
        }
    }

    /// The gateway the event is about, if any.
    pub fn gateway(&self) -> Option<&Sid> {
        match self {
            Event::GatewayAppeared { gateway, .. }
            | Event::GatewayMoved { gateway, .. }
            | Event::GatewayOnline { gateway }
            | Event::GatewayOffline { gateway, .. }
            | Event::DevicesLoaded { gateway, .. }
            | Event::Report { gateway, .. }
            | Event::Heartbeat { gateway, .. }
            | Event::DeviceAvailability { gateway, .. }
            | Event::TokenRefreshed { gateway, .. }
            | Event::VersionLearned { gateway, .. } => Some(gateway),
            Event::GatewayLost { gateway, .. } => gateway.as_ref(),
            Event::Dropped { .. } | Event::InterfaceDown { .. } | Event::InterfaceUp { .. } => None,
        }
    }
}

/// Durations as seconds (a JSON number).
pub(crate) fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Why [`Events::recv`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventsError {
    /// This subscriber fell behind and missed events; the next call continues with the oldest
    /// event still kept.
    #[error(
        "this event subscriber fell behind and missed {missed} events; read events faster or \
         raise ClientConfig::event_capacity"
    )]
    Lagged {
        /// How many events were lost for this subscriber.
        missed: u64,
    },
    /// The client has shut down.
    #[error("the client has shut down; no more events")]
    Closed,
}

/// A subscription to a client's events.
///
/// Events go through a `tokio::sync::broadcast` channel of
/// [`super::ClientConfig::event_capacity`] entries and the driver never waits for a
/// subscriber. One that falls more than the capacity behind loses the oldest events *it* has
/// not read (other subscribers are unaffected), and its next [`Events::recv`] returns
/// [`EventsError::Lagged`] with the number missed (also logged as a warning) before going on
/// with the oldest event still kept: lagging is visible, never silent. The registry
/// ([`super::Client::devices`]) still has every device's latest state.
///
/// The channel carries `Arc<Event>`s: sending allocates once, and the last subscriber to read
/// an event takes it out of its `Arc` without a copy (the bridge is the only subscriber: a
/// report's properties and state are not cloned on their way to it).
#[derive(Debug)]
pub struct Events {
    rx: broadcast::Receiver<Arc<Event>>,
}

impl Events {
    pub(crate) fn new(rx: broadcast::Receiver<Arc<Event>>) -> Events {
        Events { rx }
    }

    /// The next event; [`EventsError::Lagged`] when events were missed (then call again),
    /// [`EventsError::Closed`] once the client has shut down and every event was read.
    pub async fn recv(&mut self) -> Result<Event, EventsError> {
        match self.rx.recv().await {
            // The channel dropped its own reference when this receiver was the last to read.
            Ok(e) => Ok(Arc::unwrap_or_clone(e)),
            Err(broadcast::error::RecvError::Closed) => Err(EventsError::Closed),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "an event subscriber fell behind and missed events");
                Err(EventsError::Lagged { missed })
            }
        }
    }

    /// The next event if one is waiting, without waiting; `Ok(None)` when none is.
    pub fn try_recv(&mut self) -> Result<Option<Event>, EventsError> {
        match self.rx.try_recv() {
            Ok(e) => Ok(Some(Arc::unwrap_or_clone(e))),
            Err(broadcast::error::TryRecvError::Empty) => Ok(None),
            Err(broadcast::error::TryRecvError::Closed) => Err(EventsError::Closed),
            Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                tracing::warn!(missed, "an event subscriber fell behind and missed events");
                Err(EventsError::Lagged { missed })
            }
        }
    }

    /// Waits for the first event for which `f` returns `Some`, skipping others (and lag).
    /// Returns `None` when the client shuts down first.
    pub async fn wait_for<T>(&mut self, mut f: impl FnMut(&Event) -> Option<T>) -> Option<T> {
        loop {
            match self.recv().await {
                Ok(e) => {
                    if let Some(t) = f(&e) {
                        return Some(t);
                    }
                }
                Err(EventsError::Lagged { .. }) => {}
                Err(EventsError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slow_subscriber_sees_that_it_lagged() {
        let (tx, rx) = broadcast::channel(2);
        let mut events = Events::new(rx);
        for i in 0..5u64 {
            let _ = tx.send(Arc::new(Event::Dropped {
                reason: DropReason::Foreign,
                from: "127.0.0.9:1".parse().unwrap(),
                cmd: "report",
                total: i,
            }));
        }
        assert_eq!(events.recv().await, Err(EventsError::Lagged { missed: 3 }));
        let Ok(Event::Dropped { total: 3, .. }) = events.recv().await else {
            panic!("continues with the oldest kept")
        };
        assert!(matches!(
            events.try_recv(),
            Ok(Some(Event::Dropped { total: 4, .. }))
        ));
        assert_eq!(events.try_recv(), Ok(None));
        drop(tx);
        assert_eq!(events.recv().await, Err(EventsError::Closed));
    }

    #[tokio::test]
    async fn the_last_subscriber_takes_the_event_without_a_copy() {
        let (tx, rx) = broadcast::channel(4);
        let mut first = Events::new(rx);
        let mut second = Events::new(tx.subscribe());
        let props = Props::new().with("status", "on");
        let state = lumi_proto::catalogue::decode("plug", ProtoVersion::V1, &props);
        let model = "plug".to_owned();
        // Where the model's text lives: a moved String keeps it, a clone gets another.
        let text = model.as_ptr();
        let _ = tx.send(Arc::new(Event::Report {
            gateway: Sid::new("7811dcb06972").unwrap(),
            sid: Sid::new("158d0001a2b3c4").unwrap(),
            model: Some(model),
            state,
            props,
        }));
        let model_of = |e: Result<Option<Event>, EventsError>| match e {
            Ok(Some(Event::Report { model: Some(m), .. })) => m,
            other => panic!("{other:?}"),
        };
        // The first reader gets a copy: the channel still keeps the event for the second.
        let copy = model_of(first.recv().await.map(Some));
        assert_ne!(copy.as_ptr(), text);
        // The last reader gets the event itself.
        let moved = model_of(second.try_recv());
        assert_eq!(moved.as_ptr(), text, "moved out of the channel, not cloned");
    }

    #[test]
    fn events_serialise_with_a_tag_and_seconds() {
        let e = Event::GatewayOffline {
            gateway: Sid::new("7811dcb06972").unwrap(),
            silent_for: Duration::from_millis(65_250),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"event":"gateway_offline","gateway":"7811dcb06972","silent_for":65.25}"#
        );
        assert_eq!(e.name(), "gateway_offline");
    }
}
