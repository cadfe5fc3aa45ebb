//! TEMPORARY STUB
#![allow(missing_docs, dead_code, unused_variables)]
use std::net::SocketAddr;
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("x")]
    X,
}
#[derive(Debug)]
pub struct EmbeddedBroker;
impl EmbeddedBroker {
    pub fn start(l: SocketAddr) -> Result<EmbeddedBroker, BrokerError> {
        todo!()
    }
    pub fn local_addr(&self) -> SocketAddr {
        todo!()
    }
}
