//! The gateway LAN API ("developer mode", "LAN communication protocol"), v1 and v2.
//!
//! JSON over UDP. Discovery: `{"cmd":"whois"}` multicast to 224.0.0.50:4321, answered by a
//! unicast `iam`. Reports and heartbeats: multicast from the gateway to 224.0.0.50:9898.
//! Commands (`get_id_list`/`discovery`, `read`, `write`): unicast to the gateway's port 9898,
//! answered unicast.
//!
//! ```text
//! v1: {"cmd":"report","model":"magnet","sid":"158d0001c1cdfb","short_id":56258,
//!      "data":"{\"status\":\"open\"}"}
//! v2: {"cmd":"report","model":"sensor_magnet.aq2","sid":"158d0000123456",
//!      "params":[{"window_status":"open"}]}
//! ```
//!
//! [`decode`] detects the version from the message's shape; [`encode`] writes the version you
//! choose. Both share one typed [`Message`] model.
//!
//! ## Liberal where gateways are inconsistent
//!
//! - `data` as a JSON string (as documented) or as an object (as many clients send it);
//! - numbers as strings (`"short_id":"0"`, `"port":"9898"`, `"temperature":"2120"`): property
//!   values stay raw JSON in [`Props`] for the catalogue to interpret;
//! - gateway sids missing their leading zero are padded back ([`Sid`]);
//! - an empty `model` (firmware that does not know the device yet) is `None`, not an error;
//! - unknown extra fields are ignored; the write key is found inside `data` or at the top
//!   level whatever the version.
//!
//! Everything else is strict, with a [`LanError`] naming the command and field: a `cmd` that
//! is not a string or not a command of this API, a `sid` that is not printable ASCII, `data`
//! that is not an object, `params` that is not an array of objects, both `data` and `params`,
//! duplicate fields, trailing garbage after the object, a `short_id` outside 0..=65535.

mod decode;
mod encode;
mod error;
mod fast;
mod message;
mod props;
mod types;

pub use decode::{Decoded, MAX_DATAGRAM, decode, decode_str};
pub use encode::{encode, encode_into};
pub use error::LanError;
#[doc(hidden)]
pub use fast::agrees_with_serde;
pub use message::{
    DeviceMessage, ErrorCode, ErrorReply, GetIdList, Iam, IdList, IdListEntry, Message, Read,
    ReplyTo, Write,
};
pub use props::Props;
pub use types::{ProtoVersion, Sid, SidError, Token};

#[cfg(test)]
mod tests;
