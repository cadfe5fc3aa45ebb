//! miIO (UDP 54321): devices, the gateway over miIO, and the push server.
//!
//! - [`rpc`]: the [`MiioRpc`] trait, "something that makes miIO JSON-RPC calls", which the
//!   device driver implements and the gateway and push-server layers are written against.

pub mod gateway;
pub mod push;
pub mod rpc;

pub use rpc::MiioRpc;
