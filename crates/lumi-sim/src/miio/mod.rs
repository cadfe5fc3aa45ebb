//! Simulated miIO devices (UDP 54321), sans-IO.
//!
//! - [`MiioServer`]: what every miIO device does the same way — the hello reply (token
//!   revealed while unprovisioned, `ff`×16 once provisioned), checksum check (a wrong token
//!   gets silence), decryption, the stamp (uptime seconds), repeated-id suppression,
//!   `miIO.info`, sealing replies. Requests go to a [`MiioBackend`].
//! - [`SimPlug`]: a Wi-Fi plug backend (`chuangmi.plug.m1` / `chuangmi.plug.v3`).
//! - [`SimMiioDevice`]: server + backend + outbox: `handle_datagram(now, from, bytes)`,
//!   `poll_transmit()`.
//! - `spawn_miio_device` (feature `tokio`): the same on a real UDP socket.
//!
//! The simulated gateway's miIO side (`crate::gateway::miio`) uses the same server.
//! Crypto and JSON-RPC framing are lumi-proto's ([`lumi_proto::miio`]).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use lumi_proto::miio::{Cipher, DeviceId, HELLO, HelloReply, MiioToken, RpcReply, RpcRequest};
//! use lumi_sim::miio::{PlugModel, SimMiioDevice};
//! use serde_json::json;
//!
//! let token: MiioToken = "00112233445566778899aabbccddeeff".parse()?;
//! let boot = Instant::now();
//! let mut plug = SimMiioDevice::plug(PlugModel::M1, &token, DeviceId(42), [127, 0, 0, 3].into(), boot);
//! let client = "127.0.0.1:40000".parse()?;
//!
//! let now = boot + Duration::from_secs(100);
//! plug.handle_datagram(now, client, &HELLO);
//! let hello = HelloReply::parse(&plug.poll_transmit().unwrap().payload)?;
//! assert_eq!((hello.device_id, hello.stamp, hello.token_revealed()), (DeviceId(42), 100, false));
//!
//! let cipher = Cipher::new(&token);
//! let request = RpcRequest::new(1, "set_power", json!(["on"]));
//! plug.handle_datagram(now, client, &cipher.seal(DeviceId(42), 101, &request.encode())?);
//! let reply = RpcReply::decode(&cipher.open(&plug.poll_transmit().unwrap().payload)?.payload)?;
//! assert_eq!(reply.into_result()?, json!(["ok"]));
//! assert!(plug.backend().power);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod device;
mod plug;
#[cfg(feature = "tokio")]
mod rt;
mod server;

pub use device::{MiioTransmit, SimMiioDevice};
pub use plug::{PlugModel, SimPlug};
#[cfg(feature = "tokio")]
pub use rt::{MiioDeviceHandle, Stopped, spawn_miio_device};
pub use server::{
    DUPLICATE_WINDOW, Dropped, INVALID_ARG, METHOD_NOT_FOUND, MethodError, MethodResult,
    MiioBackend, MiioInfo, MiioServer, RECENT_IDS, Received, mac_from,
};

pub(crate) use plug::on_off_param;

#[cfg(test)]
mod tests;
