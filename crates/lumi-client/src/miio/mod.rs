//! miIO (UDP 54321): devices, the gateway over miIO, and the push server.
//!
//! - [`rpc`]: the [`MiioRpc`] trait, "something that makes miIO JSON-RPC calls", which the
//!   device driver implements and the gateway and push-server layers are written against.
//! - [`device`]: [`MiioDevice`], a cloneable handle to one device and the driver task that
//!   owns its socket and its sans-IO [`lumi_proto::session::miio::MiioSession`]: handshake,
//!   calls, `miIO.info` ([`DeviceInfo`]), errors ([`MiioError`]).
//! - [`discover`](mod@discover): the hello sent to addresses (or a broadcast address), replies
//!   collected: device ids, stamps, and the token of unprovisioned devices.
//! - [`gateway`]: [`gateway::MiioGateway`], the gateway over miIO (sub-devices, light, sound,
//!   the LAN key, pairing, scenes), generic over [`MiioRpc`].
//! - [`push`]: [`push::PushServer`], posing as a miIO device so the gateway's scenes push
//!   button, cube and sensor events to us.

pub mod device;
pub mod discover;
pub mod gateway;
pub mod push;
pub mod rpc;

pub use device::{DeviceInfo, Hello, MiioDevice, MiioError, MiioOptions};
pub use discover::{DiscoverOptions, Discovered, broadcast_address, discover};
pub use rpc::MiioRpc;
