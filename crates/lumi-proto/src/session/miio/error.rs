//! Why a call made through a [`super::MiioSession`] failed, and why a datagram was dropped.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::miio::{DeviceError, DeviceId, PacketError, RpcError};

/// Why a call (or the handshake, with `method` `"hello"`) failed.
///
/// Messages name the method, the device's address and what to check. They never contain the
/// token; a device's error message is shown escaped (it comes from the network).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// No (acceptable) reply after every attempt.
    #[error(
        "{method} to miio device at {peer}: no reply after {attempts} attempts ({}); {}",
        Secs(*.after),
        timeout_hint(*.answered_hello)
    )]
    Timeout {
        /// The method called (`"hello"` for the handshake).
        method: String,
        /// The device's address.
        peer: SocketAddr,
        /// Datagrams sent in the phase that failed: requests, or hellos when the handshake
        /// failed.
        attempts: u32,
        /// Time from the call to giving up.
        after: Duration,
        /// Whether the device answered the hello before the request went unanswered. A
        /// device that answers the hello but never the request usually has another token.
        answered_hello: bool,
    },
    /// The device answered with an error object.
    #[error(
        "{method} on miio device at {peer}: the device answered error {} {:?}; {}",
        .error.code,
        .error.message,
        device_hint(.error.code)
    )]
    Device {
        /// The method called.
        method: String,
        /// The device's address.
        peer: SocketAddr,
        /// Code and message as the device sent them.
        error: DeviceError,
    },
    /// The hello reply from the device's address carries another device id than the one
    /// configured.
    #[error(
        "{method} to miio device at {peer}: the device there has id {found}, not the \
         configured {expected}; check the address (DHCP may have given it to another device) \
         or the configured device id"
    )]
    DeviceIdMismatch {
        /// The method called (`"hello"` for the handshake).
        method: String,
        /// The device's address.
        peer: SocketAddr,
        /// The configured device id.
        expected: DeviceId,
        /// The id in the hello reply.
        found: DeviceId,
    },
    /// The request does not fit in a packet.
    #[error("{method} to miio device at {peer}: cannot build the request: {error}")]
    TooLarge {
        /// The method called.
        method: String,
        /// The device's address.
        peer: SocketAddr,
        /// Why sealing failed.
        error: PacketError,
    },
}

impl CallError {
    /// The method of the failed call.
    pub fn method(&self) -> &str {
        match self {
            CallError::Timeout { method, .. }
            | CallError::Device { method, .. }
            | CallError::DeviceIdMismatch { method, .. }
            | CallError::TooLarge { method, .. } => method,
        }
    }

    /// The device's address.
    pub fn peer(&self) -> SocketAddr {
        match self {
            CallError::Timeout { peer, .. }
            | CallError::Device { peer, .. }
            | CallError::DeviceIdMismatch { peer, .. }
            | CallError::TooLarge { peer, .. } => *peer,
        }
    }
}

/// A duration as `1.5 s` (whole milliseconds below one second).
struct Secs(Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < Duration::from_secs(1) {
            write!(f, "{} ms", self.0.as_millis())
        } else {
            write!(f, "{:.1} s", self.0.as_secs_f64())
        }
    }
}

fn timeout_hint(answered_hello: bool) -> &'static str {
    if answered_hello {
        "the device answers the hello but not the request: check the token (a device silently \
         ignores requests sealed with another token); it may also be busy or rebooting"
    } else {
        "the device does not answer the hello: check the address and port, that the device is \
         powered and on this network, and that no firewall blocks udp 54321"
    }
}

fn device_hint(code: i64) -> &'static str {
    match code {
        -10000 | -2 => "this model does not support the method",
        -5001 | -5005 => "check the parameters for this method and model",
        -9999 | -30001 => "a transient error (the device's controller did not answer); try again",
        -1 => "the request was malformed",
        -3 => "the method failed on the device",
        _ => "see the device's documentation for this code",
    }
}

/// Why a datagram from the device's address could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not a valid miIO packet, or the checksum does not match the token.
    #[error(transparent)]
    Packet(#[from] PacketError),
    /// Decrypted, but not a JSON-RPC envelope.
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

/// Why a datagram was dropped without completing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unmatched {
    /// It came from another address than the device's.
    ForeignAddress,
    /// Its header carries another device id than the device's.
    OtherDevice {
        /// The id in the header.
        found: DeviceId,
    },
    /// A reply whose id is not the one on the wire: a late or duplicated reply to an earlier
    /// attempt, or nothing is waiting.
    NotAwaited {
        /// The reply's id (`None` when it has none).
        id: Option<u64>,
    },
    /// A hello reply while no handshake is in progress (a late or duplicated one).
    NoHandshake,
    /// A request or a hello request, not something a device sends a client.
    NotAReply,
}
