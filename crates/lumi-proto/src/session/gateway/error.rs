//! Why a request made through a [`super::GatewaySession`] failed.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::key::KeyError;
use crate::lan::{ErrorCode, Sid};

/// The operation a request performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Op {
    /// `read`.
    Read,
    /// `write`.
    Write,
    /// `get_id_list` (v1) / `discovery` (v2).
    GetIdList,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::GetIdList => "get_id_list",
        })
    }
}

/// Why a request failed. Messages name the operation, the device, the gateway and what to
/// check; they never contain the password or a write key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// No reply after every attempt.
    #[error(
        "{op} of {sid} on gateway {gateway} at {addr}: no reply after {attempts} attempts \
         ({after:?}); check that the gateway is powered, reachable at that address and has \
         the LAN protocol (developer mode) enabled"
    )]
    Timeout {
        /// The operation.
        op: Op,
        /// The gateway's sid.
        gateway: Sid,
        /// Where the requests were sent.
        addr: SocketAddr,
        /// The device asked about (the gateway itself for `get_id_list`).
        sid: Sid,
        /// Datagrams sent for this request in its last phase.
        attempts: u32,
        /// Time from the request to giving up.
        after: Duration,
    },
    /// The gateway refused the write key twice: once, then again after a token refresh.
    #[error(
        "write of {sid} on gateway {gateway}: \"Invalid key\" again after refreshing the token; \
         check the gateway password (Mi Home app > gateway > About > LAN communication \
         protocol), that lumi listens on the network interface facing the gateway, and that \
         multicast heartbeats from the gateway (224.0.0.50:9898) arrive"
    )]
    InvalidKey {
        /// The gateway's sid.
        gateway: Sid,
        /// The device written.
        sid: Sid,
    },
    /// A write needed a fresh token and the refresh (`get_id_list`/`discovery`) got no reply.
    #[error(
        "write of {sid} on gateway {gateway} at {addr}: no fresh token (get_id_list/discovery \
         got no reply, no heartbeat arrived) after {after:?}; check that the gateway is \
         reachable and that multicast heartbeats from it (224.0.0.50:9898) arrive"
    )]
    NoToken {
        /// The gateway's sid.
        gateway: Sid,
        /// Where the requests were sent.
        addr: SocketAddr,
        /// The device to write.
        sid: Sid,
        /// Time from the request to giving up.
        after: Duration,
    },
    /// The protocol version (needed to encode a write or a `get_id_list`) could not be
    /// learned: the probing `read` of the gateway got no reply.
    #[error(
        "{op} of {sid} on gateway {gateway} at {addr}: protocol version unknown (reading the \
         gateway got no reply after {after:?}); set the version (v1 or v2) in the \
         configuration or check that the gateway is reachable"
    )]
    VersionUnknown {
        /// The operation.
        op: Op,
        /// The gateway's sid.
        gateway: Sid,
        /// Where the requests were sent.
        addr: SocketAddr,
        /// The device asked about.
        sid: Sid,
        /// Time from the request to giving up.
        after: Duration,
    },
    /// The gateway answered with an error.
    #[error("{op} of {sid} on gateway {gateway}: the gateway answered \"{error}\"; {}", hint(*.op, .error))]
    Rejected {
        /// The operation.
        op: Op,
        /// The gateway's sid.
        gateway: Sid,
        /// The device asked about.
        sid: Sid,
        /// The error the gateway sent (shown sanitised).
        error: ErrorCode,
    },
    /// The token the gateway sent cannot key a write.
    #[error("write of {sid} on gateway {gateway}: cannot derive the write key: {source}")]
    Key {
        /// The gateway's sid.
        gateway: Sid,
        /// The device to write.
        sid: Sid,
        /// Why.
        #[source]
        source: KeyError,
    },
}

fn hint(op: Op, error: &ErrorCode) -> &'static str {
    match (op, error) {
        (Op::GetIdList, ErrorCode::NoSid) => {
            "the gateway probably speaks the other protocol version (v1 get_id_list, v2 \
             discovery): check the configured version"
        }
        (_, ErrorCode::NoSid) => {
            "the gateway does not know this sid: list its devices with get_id_list"
        }
        (_, ErrorCode::InvalidKey) => "check the gateway password",
        _ => "check the property names and values for this device model",
    }
}
