//! The miIO binary protocol (UDP 54321), sans-IO.
//!
//! Xiaomi Wi-Fi devices and the Xiaomi / Aqara gateways speak this protocol; lumi also uses it
//! in the other direction, as a fake miIO device that receives the gateway's scene events.
//!
//! ## Wire format
//!
//! Every packet is a 32-byte header, all integers big-endian, followed by an optional
//! AES-128-CBC payload:
//!
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +-------------------------------+-------------------------------+
//! |        magic 0x2131           |  length (header + payload)    |  0
//! +-------------------------------+-------------------------------+
//! |          unknown: 0x00000000 (0xffffffff in the hello)        |  4
//! +---------------------------------------------------------------+
//! |                      device id ("did")                        |  8
//! +---------------------------------------------------------------+
//! |             stamp (device seconds: uptime or unix)            | 12
//! +---------------------------------------------------------------+
//! |                                                               | 16
//! |     checksum = md5(header[0..16] ‖ token ‖ ciphertext),       |
//! |     or in a hello reply: the token, ff*16 or 00*16            |
//! |                                                               |
//! +---------------------------------------------------------------+
//! |     ciphertext: n × 16 bytes (absent in hello / hello reply)  | 32
//! +---------------------------------------------------------------+
//!
//! key = md5(token)      iv = md5(key ‖ token)      AES-128-CBC, PKCS#7 padding
//!
//! hello request:  21 31 00 20  ff ff ff ff  ff ff ff ff  ff ff ff ff  ff × 16
//! hello reply:    21 31 00 20  00 00 00 00  <did>        <stamp>      token | ff×16 | 00×16
//! ```
//!
//! The payload is JSON-RPC text, usually followed by one `\0`:
//! `{"id":1,"method":"miIO.info","params":[]}` → `{"id":1,"result":{...}}` or
//! `{"id":1,"error":{"code":-9999,"message":"user ack timeout"}}`.
//!
//! ## What is here
//!
//! - [`Header`]: strict parse ([`Header::parse`]: magic, `length == datagram.len()`,
//!   `length >= 32`, `(length - 32) % 16 == 0`, checked before any field is read) and write.
//! - [`HELLO`], [`Hello`], [`HelloReply`] with [`HelloToken`]: the 32-byte handshake, with
//!   whether the device revealed its token.
//! - [`Cipher`]: key and IV derived once per token; [`Cipher::seal`] and [`Cipher::open`] (which
//!   verifies the checksum before decrypting and rejects bad padding), plus the allocation-free
//!   [`Cipher::seal_into`] / [`Cipher::open_in_place`]. [`seal`] / [`open`] are one-shot
//!   wrappers.
//! - [`RpcRequest`], [`RpcReply`], [`RpcMessage`]: envelopes. Decoding cuts the text at the
//!   first NUL and, if strict parsing fails, repairs the malformed JSON known from real firmware
//!   (`,,`, `"result":,`, `[,]`, leading zeros, bare words, control characters, garbage after the
//!   document). Encoding writes compact JSON plus a trailing `\0`.
//! - [`MiioToken`] (redacted in `Debug` / `Display` / errors) and [`DeviceId`].
//! - [`gateway`]: requests to and results from a Xiaomi/Aqara gateway (sub-device list,
//!   properties, light, sound, LAN key) and the `type_id` ↔ model table.
//! - [`push`]: push events: the event table, `send_data_frame` scenes, deterministic scene
//!   ids, `miIO.xdel`, pushed methods and their ack.
//!
//! Nothing here reads a clock, a socket or a random number: stamps and ids are the caller's.
//!
//! ## Example
//!
//! ```
//! use lumi_proto::miio::{Cipher, DeviceId, MiioToken, RpcMessage, RpcRequest};
//! use serde_json::json;
//!
//! let token: MiioToken = "00112233445566778899aabbccddeeff".parse()?;
//! let cipher = Cipher::new(&token);
//! let request = RpcRequest::new(1, "get_prop", json!(["power"]));
//! let packet = cipher.seal(DeviceId(1122867), 400953, &request.encode())?;
//!
//! let opened = cipher.open(&packet)?;
//! assert_eq!(opened.device_id(), DeviceId(1122867));
//! assert_eq!(opened.json_text()?, r#"{"id":1,"method":"get_prop","params":["power"]}"#);
//! assert_eq!(opened.rpc()?, RpcMessage::Request(request));
//! assert_eq!(format!("{token:?}"), "MiioToken(****)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cipher;
mod error;
pub mod gateway;
mod header;
pub mod push;
mod repair;
mod rpc;
mod token;

pub use cipher::{Cipher, MAX_PLAINTEXT, Opened, open, seal};
pub use error::PacketError;
pub use header::{HEADER_LEN, HELLO, Header, Hello, HelloReply, HelloToken, MAGIC, is_hello};
pub use rpc::{
    DeviceError, ReplyOutcome, RpcError, RpcMessage, RpcReply, RpcRequest, decode_value, json_text,
    trim_nuls,
};
pub use token::{DeviceId, MiioToken, ParseTokenError};

/// The UDP port miIO devices listen on (and the gateway sends scene events to).
pub const PORT: u16 = 54321;

#[cfg(test)]
mod tests;
