//! JSON-RPC envelopes carried inside miIO packets.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::repair::repair;

/// Why a decrypted payload is not a usable JSON-RPC envelope.
///
/// Messages are lowercase; they give positions and JSON kinds, never the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// Nothing but whitespace before the first NUL.
    #[error("empty miio payload (no json text before the first nul)")]
    Empty,
    /// The text before the first NUL is not UTF-8.
    #[error("miio payload is not utf-8 (invalid byte at offset {valid_up_to})")]
    NotUtf8 {
        /// Length of the valid UTF-8 prefix.
        valid_up_to: usize,
    },
    /// Not JSON, even after the repairs for known firmware quirks.
    #[error("miio payload is not valid json (line {line}, column {column}), even after repairs")]
    InvalidJson {
        /// Line of the first error (1-based), in the unrepaired text.
        line: usize,
        /// Column of the first error (1-based), in the unrepaired text.
        column: usize,
    },
    /// The JSON value is not an object.
    #[error("miio payload is a json {found}, expected an object")]
    NotAnObject {
        /// Kind of the value found.
        found: &'static str,
    },
    /// The object has none of `method`, `result`, `error`, `id`.
    #[error(
        "json object has none of \"method\", \"result\", \"error\", \"id\": not a json-rpc envelope"
    )]
    NotAnEnvelope,
    /// A request without `id`.
    #[error("json-rpc request has no \"id\"")]
    MissingId,
    /// `id` is not a non-negative integer.
    #[error("json-rpc \"id\" is a {found}, expected a non-negative 64-bit integer")]
    InvalidId {
        /// Kind of the value found.
        found: &'static str,
    },
    /// `method` is not a string.
    #[error("json-rpc \"method\" is a {found}, expected a string")]
    InvalidMethod {
        /// Kind of the value found.
        found: &'static str,
    },
    /// `error` is not an object with an integer `code`.
    #[error("json-rpc \"error\" member is malformed: {reason}")]
    InvalidErrorObject {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A reply was given where a request was expected.
    #[error("expected a json-rpc request (with \"method\"), got a reply")]
    UnexpectedReply,
    /// A request was given where a reply was expected.
    #[error("expected a json-rpc reply, got a request (with \"method\")")]
    UnexpectedRequest,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() => "integer",
        Value::Number(n) if n.is_i64() => "negative integer",
        Value::Number(_) => "non-integer number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The JSON text of a decrypted payload: everything before the first NUL, as UTF-8.
///
/// Devices end the text with one `\0` (python-miio, most firmware) or with none (JS and Rust
/// clients); some append garbage after the NUL. JSON cannot contain a raw NUL, so cutting at
/// the first one is always safe.
pub fn json_text(payload: &[u8]) -> Result<&str, RpcError> {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    std::str::from_utf8(&payload[..end]).map_err(|e| RpcError::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })
}

/// `payload` without its trailing NUL bytes.
pub fn trim_nuls(payload: &[u8]) -> &[u8] {
    let end = payload
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    &payload[..end]
}

/// Parses a decrypted payload as JSON (any value), applying the decoding rules of the
/// reference: cut at the first NUL, strict parse, then on failure the repairs for known
/// firmware quirks (see the module docs).
pub fn decode_value(payload: &[u8]) -> Result<Value, RpcError> {
    let text = json_text(payload)?;
    if text.trim().is_empty() {
        return Err(RpcError::Empty);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(e) => repair(text)
            .and_then(|fixed| serde_json::from_str::<Value>(&fixed).ok())
            .ok_or(RpcError::InvalidJson {
                line: e.line(),
                column: e.column(),
            }),
    }
}

fn push_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Serialising strings, integers and `Value`s into a Vec has no failure path.
    serde_json::to_writer(&mut *out, v).expect("serialising json into a vec cannot fail");
}

fn push_member(out: &mut Vec<u8>, first: &mut bool, key: &str, value: &impl Serialize) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    push_json(out, key);
    out.push(b':');
    push_json(out, value);
}

fn parse_id(v: &Value) -> Result<u64, RpcError> {
    v.as_u64().ok_or(RpcError::InvalidId { found: kind(v) })
}

/// A request: `{"id":N,"method":"...","params":...}`, plus optional members.
///
/// Also the form in which a gateway pushes scene events to a fake device:
/// `{"method":"click_ch0:lumi_158d0001a2b3c4","params":[],"from":"nbl.134550490","id":619969141}`.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcRequest {
    /// Message id, echoed by the reply.
    pub id: u64,
    /// Method name.
    pub method: String,
    /// Parameters: usually an array, sometimes an object; `[]` when absent on decode.
    pub params: Value,
    /// The `from` member of gateway pushes (`"nbl.<number>"`, also `"4"` in app captures).
    pub from: Option<String>,
    /// Any other top-level members (e.g. `"sid"` for gateway sub-devices). Members named `id`,
    /// `method`, `params` (and `from` when [`RpcRequest::from`] is set) are ignored on encode.
    pub extra: Map<String, Value>,
}

impl RpcRequest {
    /// A request with the given params and no other members.
    pub fn new(id: u64, method: impl Into<String>, params: Value) -> RpcRequest {
        RpcRequest {
            id,
            method: method.into(),
            params,
            from: None,
            extra: Map::new(),
        }
    }

    /// A request with `params: []`.
    pub fn without_params(id: u64, method: impl Into<String>) -> RpcRequest {
        RpcRequest::new(id, method, Value::Array(Vec::new()))
    }

    /// Decodes a payload that must be a request.
    pub fn decode(payload: &[u8]) -> Result<RpcRequest, RpcError> {
        match RpcMessage::decode(payload)? {
            RpcMessage::Request(r) => Ok(r),
            RpcMessage::Reply(_) => Err(RpcError::UnexpectedReply),
        }
    }

    /// Appends compact JSON (no NUL) to `out`; member order `id`, `method`, `params`, `from`,
    /// then the extra members.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        push_member(out, &mut first, "id", &self.id);
        push_member(out, &mut first, "method", &self.method);
        push_member(out, &mut first, "params", &self.params);
        if let Some(from) = &self.from {
            push_member(out, &mut first, "from", from);
        }
        for (k, v) in &self.extra {
            let reserved = matches!(k.as_str(), "id" | "method" | "params")
                || (k == "from" && self.from.is_some());
            if !reserved {
                push_member(out, &mut first, k, v);
            }
        }
        out.push(b'}');
    }

    /// The payload to seal: compact JSON followed by one `\0`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write_json(&mut out);
        out.push(0);
        out
    }

    /// Compact JSON text without the NUL.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(64);
        self.write_json(&mut out);
        String::from_utf8(out).expect("serde_json writes utf-8")
    }

    fn from_map(mut m: Map<String, Value>) -> Result<RpcRequest, RpcError> {
        let method = match m.remove("method") {
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(RpcError::InvalidMethod {
                    found: kind(&other),
                });
            }
            None => return Err(RpcError::NotAnEnvelope),
        };
        let id = match m.remove("id") {
            Some(v) => parse_id(&v)?,
            None => return Err(RpcError::MissingId),
        };
        let params = m
            .remove("params")
            .unwrap_or_else(|| Value::Array(Vec::new()));
        let from = match m.remove("from") {
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                m.insert("from".to_owned(), other);
                None
            }
            None => None,
        };
        Ok(RpcRequest {
            id,
            method,
            params,
            from,
            extra: m,
        })
    }
}

/// An error reported by the device: `{"code": C, "message": "..."}`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceError {
    /// Error code, e.g. `-9999` (user ack timeout), `-30001` (invalid json), `-5001`
    /// (invalid argument), `-10000` (method not supported).
    pub code: i64,
    /// The message: `message` (its JSON text if it is not a string), or, when there is no
    /// `message`, `error` as python-miio's fake device sends it; empty if there is neither.
    pub message: String,
    /// Other members of the error object.
    pub data: Map<String, Value>,
}

impl DeviceError {
    /// An error with no other members.
    pub fn new(code: i64, message: impl Into<String>) -> DeviceError {
        DeviceError {
            code,
            message: message.into(),
            data: Map::new(),
        }
    }

    /// Whether python-miio treats this code as transient and retries (`-9999`, `-30001`).
    pub fn is_recoverable(&self) -> bool {
        matches!(self.code, -9999 | -30001)
    }

    fn from_value(v: Value) -> Result<DeviceError, RpcError> {
        let Value::Object(mut m) = v else {
            return Err(RpcError::InvalidErrorObject {
                reason: "not an object",
            });
        };
        let code = match m.remove("code") {
            Some(c) => c.as_i64().ok_or(RpcError::InvalidErrorObject {
                reason: "\"code\" is not an integer",
            })?,
            None => {
                return Err(RpcError::InvalidErrorObject {
                    reason: "no \"code\"",
                });
            }
        };
        let message = match m.remove("message") {
            Some(Value::String(s)) => s,
            // Not seen in the wild; keep the value as its JSON text.
            Some(other) => other.to_string(),
            // python-miio's fake device: `{"code": -2, "error": "text"}`.
            None => match m.remove("error") {
                Some(Value::String(s)) => s,
                Some(other) => {
                    m.insert("error".to_owned(), other);
                    String::new()
                }
                None => String::new(),
            },
        };
        Ok(DeviceError {
            code,
            message,
            data: m,
        })
    }

    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        push_member(out, &mut first, "code", &self.code);
        push_member(out, &mut first, "message", &self.message);
        for (k, v) in &self.data {
            if !matches!(k.as_str(), "code" | "message") {
                push_member(out, &mut first, k, v);
            }
        }
        out.push(b'}');
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The message comes from the network: Debug-quote it so control characters are escaped.
        write!(f, "device error {}: {:?}", self.code, self.message)
    }
}

impl std::error::Error for DeviceError {}

/// What a reply carries.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyOutcome {
    /// `"result": ...` (any JSON value: `["ok"]`, `0`, a list of values...).
    Result(Value),
    /// `"error": {...}`.
    Error(DeviceError),
    /// Neither `result` nor `error`, only `id` (seen in firmware quirks such as
    /// `{"id": 123456,,"otu_stat":0}`).
    Missing,
}

/// A reply: `{"id":N,"result":...}` or `{"id":N,"error":{"code":C,"message":"..."}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcReply {
    /// The id of the request this answers; `None` if absent or `null`.
    pub id: Option<u64>,
    /// Result or error.
    pub outcome: ReplyOutcome,
    /// Other members (`exe_time`, `partner_id`, `code`, `message`, `otu_stat`...). On encode,
    /// members named `method`, `error`, `id` (when [`RpcReply::id`] is set) and `result`
    /// (unless the outcome is an error: a reply with both keeps `result` here) are ignored.
    pub extra: Map<String, Value>,
}

impl RpcReply {
    /// A success reply.
    pub fn result(id: u64, result: Value) -> RpcReply {
        RpcReply {
            id: Some(id),
            outcome: ReplyOutcome::Result(result),
            extra: Map::new(),
        }
    }

    /// An error reply.
    pub fn error(id: u64, code: i64, message: impl Into<String>) -> RpcReply {
        RpcReply {
            id: Some(id),
            outcome: ReplyOutcome::Error(DeviceError::new(code, message)),
            extra: Map::new(),
        }
    }

    /// Decodes a payload that must be a reply.
    pub fn decode(payload: &[u8]) -> Result<RpcReply, RpcError> {
        match RpcMessage::decode(payload)? {
            RpcMessage::Reply(r) => Ok(r),
            RpcMessage::Request(_) => Err(RpcError::UnexpectedRequest),
        }
    }

    /// The result, or the device's error. A reply with neither gives `Ok(Value::Null)`.
    pub fn into_result(self) -> Result<Value, DeviceError> {
        match self.outcome {
            ReplyOutcome::Result(v) => Ok(v),
            ReplyOutcome::Error(e) => Err(e),
            ReplyOutcome::Missing => Ok(Value::Null),
        }
    }

    /// Appends compact JSON (no NUL) to `out`; member order `id`, `result`/`error`, extras.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        if let Some(id) = self.id {
            push_member(out, &mut first, "id", &id);
        }
        match &self.outcome {
            ReplyOutcome::Result(v) => push_member(out, &mut first, "result", v),
            ReplyOutcome::Error(e) => {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(b"\"error\":");
                e.write_json(out);
            }
            ReplyOutcome::Missing => {}
        }
        for (k, v) in &self.extra {
            let reserved = match k.as_str() {
                "method" | "error" => true,
                // A reply with both keeps `result` here when the error wins.
                "result" => !matches!(self.outcome, ReplyOutcome::Error(_)),
                "id" => self.id.is_some(),
                _ => false,
            };
            if !reserved {
                push_member(out, &mut first, k, v);
            }
        }
        out.push(b'}');
    }

    /// The payload to seal: compact JSON followed by one `\0`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        self.write_json(&mut out);
        out.push(0);
        out
    }

    /// Compact JSON text without the NUL.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(48);
        self.write_json(&mut out);
        String::from_utf8(out).expect("serde_json writes utf-8")
    }

    fn from_map(mut m: Map<String, Value>) -> Result<RpcReply, RpcError> {
        let id = match m.remove("id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_id(&v)?),
        };
        let outcome = if let Some(e) = m.remove("error") {
            ReplyOutcome::Error(DeviceError::from_value(e)?)
        } else if let Some(r) = m.remove("result") {
            ReplyOutcome::Result(r)
        } else if id.is_some() {
            ReplyOutcome::Missing
        } else {
            return Err(RpcError::NotAnEnvelope);
        };
        Ok(RpcReply {
            id,
            outcome,
            extra: m,
        })
    }
}

/// A decoded envelope: a request (has `method`) or a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcMessage {
    /// Has a `method`.
    Request(RpcRequest),
    /// Has `result`, `error`, or only an `id`.
    Reply(RpcReply),
}

impl RpcMessage {
    /// Decodes a decrypted payload (see [`decode_value`] for the text rules).
    pub fn decode(payload: &[u8]) -> Result<RpcMessage, RpcError> {
        RpcMessage::from_value(decode_value(payload)?)
    }

    /// Classifies an already parsed JSON value.
    pub fn from_value(v: Value) -> Result<RpcMessage, RpcError> {
        let Value::Object(m) = v else {
            return Err(RpcError::NotAnObject { found: kind(&v) });
        };
        if m.contains_key("method") {
            RpcRequest::from_map(m).map(RpcMessage::Request)
        } else {
            RpcReply::from_map(m).map(RpcMessage::Reply)
        }
    }

    /// The message id, if any.
    pub fn id(&self) -> Option<u64> {
        match self {
            RpcMessage::Request(r) => Some(r.id),
            RpcMessage::Reply(r) => r.id,
        }
    }

    /// Appends compact JSON (no NUL) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            RpcMessage::Request(r) => r.write_json(out),
            RpcMessage::Reply(r) => r.write_json(out),
        }
    }

    /// The payload to seal: compact JSON followed by one `\0`.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            RpcMessage::Request(r) => r.encode(),
            RpcMessage::Reply(r) => r.encode(),
        }
    }
}

impl From<RpcRequest> for RpcMessage {
    fn from(r: RpcRequest) -> Self {
        RpcMessage::Request(r)
    }
}

impl From<RpcReply> for RpcMessage {
    fn from(r: RpcReply) -> Self {
        RpcMessage::Reply(r)
    }
}
