//! Why a [`super::Client`] call failed. Messages name the device, the gateway and what to
//! check; they never contain a password, a write key or a token.

use std::net::SocketAddr;
use std::time::Duration;

use lumi_proto::catalogue::WriteError;
use lumi_proto::lan::Sid;
use lumi_proto::session::gateway::{Op, SessionError};

use crate::net::NetError;

/// Why a [`super::Client`] request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The gateway did not answer, after every retry.
    #[error(
        "{op} of {sid} on gateway {gateway} at {peer}: no reply after {}; check that the \
         gateway is powered and reachable at that address, and that its LAN protocol \
         (developer mode) is enabled",
        crate::seconds(*.after)
    )]
    Timeout {
        /// The operation.
        op: Op,
        /// The device asked about.
        sid: Sid,
        /// The gateway's sid.
        gateway: Sid,
        /// Where the requests went.
        peer: SocketAddr,
        /// Time from the request to giving up.
        after: Duration,
    },
    /// The gateway refused the write key twice (once more after a fresh token).
    #[error(
        "write to {sid} on gateway {gateway}: the gateway answered \"Invalid key\", also with a \
         fresh token; check the gateway password (Mi Home app: gateway > About > LAN \
         communication protocol; passwords are case-sensitive), that lumi uses the network \
         interface facing the gateway (--interface), and that multicast from the gateway \
         (224.0.0.50:9898) reaches this host"
    )]
    InvalidKey {
        /// The gateway's sid.
        gateway: Sid,
        /// The device written.
        sid: Sid,
    },
    /// A write needs the gateway's password and none was configured for it.
    #[error(
        "write to {sid} on gateway {gateway}: no LAN password for this gateway; give one with \
         --password (or LUMI_PASSWORD), or as `password` in a [[gateway]] entry of lumi.toml \
         (Mi Home app: gateway > About > LAN communication protocol)"
    )]
    NoPassword {
        /// The gateway's sid.
        gateway: Sid,
        /// The device to write.
        sid: Sid,
    },
    /// No gateway lists this device.
    #[error(
        "unknown device {sid}: none of the {gateways} gateway(s) found lists it ({devices} \
         devices known); list them with `lumi devices`, and if a gateway is missing check \
         --interface or name it with --gateway"
    )]
    UnknownDevice {
        /// The sid asked for.
        sid: Sid,
        /// Gateways known.
        gateways: usize,
        /// Devices known.
        devices: usize,
    },
    /// The values cannot be written to this device (unknown model, read-only or unknown
    /// property, bad value); the source names the property and lists the writable ones.
    #[error("{sid}: {source}")]
    Write {
        /// The device.
        sid: Sid,
        /// What is wrong.
        #[source]
        source: WriteError,
    },
    /// A typed write or a toggle needs the device's model, and the gateway never named it.
    #[error(
        "{sid}: the device's model is unknown (the gateway did not name it), so typed values \
         cannot be written; write raw properties instead (`lumi write {sid} key=value`)"
    )]
    UnknownModel {
        /// The device.
        sid: Sid,
    },
    /// A toggle needs the current state, and the device has not reported it.
    #[error(
        "{sid}: the current value of {property} is unknown, so it cannot be toggled; set it to on or off"
    )]
    UnknownState {
        /// The device.
        sid: Sid,
        /// The property.
        property: String,
    },
    /// The device has no such channel.
    #[error("{sid} (model {model}) has no channel {channel} (it has {count})")]
    NoChannel {
        /// The device.
        sid: Sid,
        /// Its model.
        model: String,
        /// The channel asked for (0-based).
        channel: usize,
        /// How many it has.
        count: usize,
    },
    /// The gateway answered with an error, or a token or version could not be obtained.
    #[error(transparent)]
    Session(SessionError),
    /// The interface could not be resolved.
    #[error(transparent)]
    Interface(#[from] NetError),
    /// A socket could not be opened.
    #[error(
        "cannot open the {what} on interface {interface}: {source}; check that the interface \
         address is this host's (`ip -4 addr`); \"address in use\" means another program holds \
         the port exclusively (without SO_REUSEADDR)"
    )]
    Socket {
        /// Which socket.
        what: &'static str,
        /// The interface address.
        interface: std::net::Ipv4Addr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The client has shut down (or its driver task ended).
    #[error("the LAN client has shut down")]
    Closed,
}

impl ClientError {
    /// Turns a session's error into the client's, keeping the clearer variants.
    pub(crate) fn from_session(e: SessionError) -> ClientError {
        match e {
            SessionError::Timeout {
                op,
                gateway,
                addr,
                sid,
                after,
                ..
            } => ClientError::Timeout {
                op,
                sid,
                gateway,
                peer: addr,
                after,
            },
            SessionError::InvalidKey { gateway, sid } => ClientError::InvalidKey { gateway, sid },
            other => ClientError::Session(other),
        }
    }
}
