//! TEMPORARY STUB (not committed): replaced by the mqtt-link branch.
#![allow(missing_docs, dead_code, unused_variables)]
use crate::config::{MqttConfig, Qos};
use std::net::SocketAddr;
use std::time::Duration;
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("x")]
    X,
}
pub struct Will {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: Qos,
    pub retain: bool,
}
pub struct LinkOptions {
    pub will: Option<Will>,
    pub subscriptions: Vec<(String, Qos)>,
    pub keepalive: Duration,
}
impl LinkOptions {
    pub fn from_config(m: &MqttConfig, o: Option<SocketAddr>) -> Result<LinkOptions, LinkError> {
        todo!()
    }
}
#[derive(Clone, Debug)]
pub struct Link;
pub enum LinkEvent {
    Connected {
        session_present: bool,
    },
    Disconnected {
        reason: String,
    },
    Message {
        topic: String,
        payload: Vec<u8>,
        retain: bool,
    },
}
pub struct LinkEvents;
impl LinkEvents {
    pub async fn recv(&mut self) -> Option<LinkEvent> {
        todo!()
    }
}
impl Link {
    pub fn start(o: LinkOptions) -> Result<(Link, LinkEvents), LinkError> {
        todo!()
    }
    pub fn publish(
        &self,
        topic: impl Into<String>,
        payload: impl Into<Vec<u8>>,
        qos: Qos,
        retain: bool,
    ) -> Result<(), LinkError> {
        todo!()
    }
    pub async fn disconnect(&self) {}
}
