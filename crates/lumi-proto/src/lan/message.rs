//! The typed message model shared by both protocol versions.

use std::net::IpAddr;

use super::{Props, Sid, Token};
use crate::key::WriteKey;

/// One LAN API message, independent of the protocol version it travelled in.
///
/// | variant | v1 `cmd` | v2 `cmd` |
/// |---|---|---|
/// | [`Message::Whois`] | `whois` | `whois` |
/// | [`Message::Iam`] | `iam` | `iam` |
/// | [`Message::GetIdList`] | `get_id_list` | `discovery` |
/// | [`Message::IdList`] | `get_id_list_ack` | `discovery_rsp` |
/// | [`Message::Read`] | `read` | `read` |
/// | [`Message::ReadAck`] | `read_ack` | `read_rsp` |
/// | [`Message::Write`] | `write` | `write` |
/// | [`Message::WriteAck`] | `write_ack` | `write_rsp` |
/// | [`Message::Report`] | `report` | `report` |
/// | [`Message::Heartbeat`] | `heartbeat` | `heartbeat` |
/// | [`Message::Error`] | a reply whose `data` is `{"error":…}` | a reply with a `{"error":…}` element in `params` |
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Message {
    /// Discovery request, multicast to 224.0.0.50:4321.
    Whois,
    /// Discovery reply, unicast from the gateway.
    Iam(Iam),
    /// Request for the sub-device list and a fresh token (v1 `get_id_list`, v2 `discovery`).
    GetIdList(GetIdList),
    /// The sub-device list and the current token.
    IdList(IdList),
    /// Read a device's state.
    Read(Read),
    /// Answer to a read: the device's state (battery devices: the gateway's cached values).
    ReadAck(DeviceMessage),
    /// Change a device's state; needs a [`WriteKey`].
    Write(Write),
    /// Answer to a write: the device's state *before* the write. The result follows as a report.
    WriteAck(DeviceMessage),
    /// A state change, multicast to 224.0.0.50:9898.
    Report(DeviceMessage),
    /// A keep-alive, multicast: gateways every 10 s with a fresh token, sub-devices every
    /// 10 min (mains) or hour (battery), often with their state.
    Heartbeat(DeviceMessage),
    /// An error reply (`Invalid key`, `No sid`, …).
    Error(ErrorReply),
}

impl Message {
    /// The `cmd` this message has on the wire in `version`.
    pub fn cmd(&self, version: super::ProtoVersion) -> &'static str {
        use super::ProtoVersion::{V1, V2};
        match (self, version) {
            (Message::Whois, _) => "whois",
            (Message::Iam(_), _) => "iam",
            (Message::GetIdList(_), V1) => "get_id_list",
            (Message::GetIdList(_), V2) => "discovery",
            (Message::IdList(_), V1) => "get_id_list_ack",
            (Message::IdList(_), V2) => "discovery_rsp",
            (Message::Read(_), _) => "read",
            (Message::ReadAck(_), V1) => "read_ack",
            (Message::ReadAck(_), V2) => "read_rsp",
            (Message::Write(_), _) => "write",
            (Message::WriteAck(_), V1) => "write_ack",
            (Message::WriteAck(_), V2) => "write_rsp",
            (Message::Report(_), _) => "report",
            (Message::Heartbeat(_), _) => "heartbeat",
            (Message::Error(e), v) => e.reply_to.cmd(v),
        }
    }

    /// The sid the message is about, if it names one.
    pub fn sid(&self) -> Option<&Sid> {
        match self {
            Message::Whois => None,
            Message::GetIdList(m) => m.sid.as_ref(),
            Message::Iam(m) => m.sid.as_ref(),
            Message::IdList(m) => Some(&m.sid),
            Message::Read(m) => Some(&m.sid),
            Message::Write(m) => Some(&m.sid),
            Message::ReadAck(m)
            | Message::WriteAck(m)
            | Message::Report(m)
            | Message::Heartbeat(m) => Some(&m.sid),
            Message::Error(m) => m.sid.as_ref(),
        }
    }

    /// The device model the message names, if any.
    pub fn model(&self) -> Option<&str> {
        match self {
            Message::Iam(m) => m.model.as_deref(),
            Message::Write(m) => m.model.as_deref(),
            Message::ReadAck(m)
            | Message::WriteAck(m)
            | Message::Report(m)
            | Message::Heartbeat(m) => m.model.as_deref(),
            Message::Error(m) => m.model.as_deref(),
            _ => None,
        }
    }
}

/// The `iam` discovery reply.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Iam {
    /// The gateway's sid.
    pub sid: Option<Sid>,
    /// Its model (`gateway`, `gateway.v3`, `acpartner.v3`, …).
    pub model: Option<String>,
    /// The address to send commands to.
    pub ip: Option<IpAddr>,
    /// The port to send commands to (9898; sent as the string `"9898"`).
    pub port: Option<u16>,
    /// The protocol version string (`"1.1.2"`, `"2.0.1"`), when the firmware sends it.
    pub proto_version: Option<String>,
}

/// A `get_id_list` / `discovery` request.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct GetIdList {
    /// The gateway's sid; optional (PyXiaomiGateway sends it, the documentation does not).
    pub sid: Option<Sid>,
}

/// A `get_id_list_ack` / `discovery_rsp`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IdList {
    /// The gateway's sid.
    pub sid: Sid,
    /// The current token (the AIOT17 doc omits it; real gateways send it).
    pub token: Option<Token>,
    /// The sub-devices. v1 lists sids only; v2 (`dev_list`) adds each model.
    pub devices: Vec<IdListEntry>,
}

/// One sub-device of an [`IdList`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IdListEntry {
    /// The sub-device sid.
    pub sid: Sid,
    /// Its model (v2 only; `None` when absent or empty).
    pub model: Option<String>,
}

/// A `read` request.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Read {
    /// The device to read (the gateway reads itself with its own sid).
    pub sid: Sid,
}

/// A `write` request.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Write {
    /// The device to write.
    pub sid: Sid,
    /// Its model; optional (PyXiaomiGateway sends only `cmd`, `sid`, `data`).
    pub model: Option<String>,
    /// Its Zigbee short id (v1 only; optional).
    pub short_id: Option<u16>,
    /// The write key (v1: inside `data`; v2: top-level). `None` when absent.
    pub key: Option<WriteKey>,
    /// The properties to set.
    pub props: Props,
}

/// The body shared by `read_ack`/`read_rsp`, `write_ack`/`write_rsp`, `report` and
/// `heartbeat`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeviceMessage {
    /// The device.
    pub sid: Sid,
    /// Its model; `None` when absent or empty (firmware that does not know the device yet).
    pub model: Option<String>,
    /// Its Zigbee short id (v1 only; `"0"` or `0` for the gateway).
    pub short_id: Option<u16>,
    /// The gateway token (gateway heartbeats; counters in early documentation examples).
    pub token: Option<Token>,
    /// The raw properties.
    pub props: Props,
}

impl DeviceMessage {
    /// A message with no short id, token or properties.
    pub fn new(sid: Sid, model: Option<String>) -> DeviceMessage {
        DeviceMessage {
            sid,
            model,
            short_id: None,
            token: None,
            props: Props::new(),
        }
    }
}

/// An error reply.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ErrorReply {
    /// The request this answers.
    pub reply_to: ReplyTo,
    /// The sid, when the gateway names one.
    pub sid: Option<Sid>,
    /// The model, when the gateway names one (real `Invalid key` replies have none).
    pub model: Option<String>,
    /// What went wrong.
    pub error: ErrorCode,
}

/// The request an [`ErrorReply`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReplyTo {
    /// `get_id_list_ack` / `get_id_list_rsp` / `discovery_rsp`.
    IdList,
    /// `read_ack` / `read_rsp`.
    Read,
    /// `write_ack` / `write_rsp`.
    Write,
}

impl ReplyTo {
    /// The reply `cmd` in `version`. A v2 gateway answers a v1 `get_id_list` with
    /// `get_id_list_rsp`, so that is the v2 id-list error.
    pub fn cmd(self, version: super::ProtoVersion) -> &'static str {
        use super::ProtoVersion::{V1, V2};
        match (self, version) {
            (ReplyTo::IdList, V1) => "get_id_list_ack",
            (ReplyTo::IdList, V2) => "get_id_list_rsp",
            (ReplyTo::Read, V1) => "read_ack",
            (ReplyTo::Read, V2) => "read_rsp",
            (ReplyTo::Write, V1) => "write_ack",
            (ReplyTo::Write, V2) => "write_rsp",
        }
    }
}

/// The error string of an [`ErrorReply`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// `Invalid key`: the write key was computed with a wrong password or a stale token.
    InvalidKey,
    /// `No sid`: the sid is unknown, or a v1 command was sent to a v2 gateway.
    NoSid,
    /// Any other error string, kept as received.
    Other(String),
}

impl ErrorCode {
    /// Classifies an error string.
    pub fn from_text(s: &str) -> ErrorCode {
        match s {
            "Invalid key" => ErrorCode::InvalidKey,
            "No sid" => ErrorCode::NoSid,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// The string as the gateway sends it.
    pub fn as_text(&self) -> &str {
        match self {
            ErrorCode::InvalidKey => "Invalid key",
            ErrorCode::NoSid => "No sid",
            ErrorCode::Other(s) => s,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::sanitize::for_terminal(self.as_text()))
    }
}
