//! [`MiioRpc`]: a miIO JSON-RPC caller.
//!
//! The layers above a single device (the gateway over miIO, scene registration for push
//! events) need only "call this method with these params and give me the result". They are
//! written against this trait so they can be tested with any caller and used with the real
//! device driver.

use std::future::Future;

use serde_json::Value;

/// Makes miIO JSON-RPC calls on one device.
pub trait MiioRpc: Send + Sync {
    /// Why a call failed (timeout, device error reply, ...).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Calls `method` with `params` and returns the reply's `result`. `extra` adds top-level
    /// fields to the request (e.g. `{"sid": "lumi.158d0001a2b3c4"}` for gateway
    /// sub-devices); `None` for none.
    fn call(
        &self,
        method: &str,
        params: Value,
        extra: Option<serde_json::Map<String, Value>>,
    ) -> impl Future<Output = Result<Value, Self::Error>> + Send;
}
