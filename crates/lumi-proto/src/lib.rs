//! # lumi-proto
//!
//! The sans-IO protocol core of lumi: everything about the bytes that Xiaomi / Aqara (Lumi)
//! gateways and miIO devices exchange, and nothing about sockets, clocks, files or the
//! environment. Drivers in `lumi-client` feed datagrams in and take datagrams out; the
//! simulator in `lumi-sim` uses the same codecs from the other side of the wire.
//!
//! ## Layout
//!
//! - [`lan`]: the gateway LAN API ("developer mode"), protocol v1 and v2: one typed
//!   [`lan::Message`] model and two thin wire adaptors, with the version detected on decode and
//!   chosen on encode.
//! - [`key`]: the write key, `AES-128-CBC(password, fixed IV, token)`, and the redacting
//!   [`key::GatewayPassword`] / [`key::WriteKey`] newtypes.
//! - [`catalogue`]: one data entry per device model (kind, properties, units, Home Assistant
//!   mapping) and the conversion of raw v1/v2 properties to typed values.
//! - [`miio`]: the miIO binary protocol on UDP 54321: header, hello, `seal`/`open`
//!   (MD5-derived AES-128-CBC, checksum), JSON-RPC envelopes.
//! - [`session`]: the sans-IO state machines on top of the codecs: the gateway session
//!   (request correlation, retries, token freshness, heartbeat liveness) and the miIO session
//!   (handshake, stamp, retries).
//! - [`sanitize`]: making strings that came from the network safe to print.
//!
//! ## Example
//!
//! ```
//! use lumi_proto::lan::{self, Message};
//! use lumi_proto::key::{GatewayPassword, WriteKey};
//!
//! let datagram = br#"{"cmd":"heartbeat","model":"gateway","sid":"34ce00fb7438","short_id":"0","token":"dcw5vsmC3GK5KEoH","data":"{\"ip\":\"172.16.15.100\"}"}"#;
//! let decoded = lan::decode(datagram)?;
//! let Message::Heartbeat(hb) = &decoded.message else { panic!("not a heartbeat") };
//! assert_eq!(hb.sid.as_str(), "34ce00fb7438");
//!
//! let password: GatewayPassword = "t7ew6r4y612eml0f".parse()?;
//! let key = WriteKey::derive(&password, hb.token.as_ref().unwrap())?;
//! assert_eq!(key.to_hex(), "5ca39498aeba9eec3a183ff707d9c1b7");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod catalogue;
pub mod key;
pub mod lan;
pub mod miio;
pub mod sanitize;
pub mod session;
