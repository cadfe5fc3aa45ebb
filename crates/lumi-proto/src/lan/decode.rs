//! Decoding: one datagram in, one typed [`Message`] and the detected [`ProtoVersion`] out.
//!
//! The envelope is parsed into borrowed raw fields first, then each field is converted on its
//! own, so every error names the field it is about. Liberal where real gateways are
//! inconsistent (see the module docs of [`crate::lan`]), strict about everything else.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::message::*;
use super::{LanError, Props, ProtoVersion, Sid, Token};
use crate::key::WriteKey;
use crate::sanitize;

/// The largest datagram accepted: the largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;

/// A decoded message and the protocol version its shape revealed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decoded {
    /// The message.
    pub message: Message,
    /// `Some` when the message showed its version (`data` or `params`, an `_ack` or `_rsp`
    /// reply, `get_id_list` or `discovery`, a top-level `key`, a `short_id`); `None` for
    /// messages that look the same in both (`whois`, `iam`, `read`).
    pub version: Option<ProtoVersion>,
}

/// The envelope with every field left raw, as serde_json finds it.
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    cmd: Option<&'a RawValue>,
    #[serde(borrow)]
    sid: Option<&'a RawValue>,
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    short_id: Option<&'a RawValue>,
    #[serde(borrow)]
    token: Option<&'a RawValue>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(borrow)]
    key: Option<&'a RawValue>,
    #[serde(borrow)]
    dev_list: Option<&'a RawValue>,
    #[serde(borrow)]
    ip: Option<&'a RawValue>,
    #[serde(borrow)]
    port: Option<&'a RawValue>,
    #[serde(borrow)]
    proto_version: Option<&'a RawValue>,
}

/// The envelope's known fields, each the text of one valid JSON value (as `RawValue::get`
/// gives it), from serde_json or from the flat-object scanner in [`super::fast`].
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Envelope<'a> {
    pub(super) cmd: Option<&'a str>,
    pub(super) sid: Option<&'a str>,
    pub(super) model: Option<&'a str>,
    pub(super) short_id: Option<&'a str>,
    pub(super) token: Option<&'a str>,
    pub(super) data: Option<&'a str>,
    pub(super) params: Option<&'a str>,
    pub(super) key: Option<&'a str>,
    pub(super) dev_list: Option<&'a str>,
    pub(super) ip: Option<&'a str>,
    pub(super) port: Option<&'a str>,
    pub(super) proto_version: Option<&'a str>,
}

impl<'a> From<RawEnvelope<'a>> for Envelope<'a> {
    fn from(r: RawEnvelope<'a>) -> Self {
        let g = |v: Option<&'a RawValue>| v.map(RawValue::get);
        Envelope {
            cmd: g(r.cmd),
            sid: g(r.sid),
            model: g(r.model),
            short_id: g(r.short_id),
            token: g(r.token),
            data: g(r.data),
            params: g(r.params),
            key: g(r.key),
            dev_list: g(r.dev_list),
            ip: g(r.ip),
            port: g(r.port),
            proto_version: g(r.proto_version),
        }
    }
}

/// A JSON object's members as [`Props`] by serde_json (the general path).
pub(super) fn props_serde(text: &str) -> Result<Props, serde_json::Error> {
    serde_json::from_str::<PropsDe>(text).map(|p| p.0)
}

/// The envelope by serde_json (the general path, with its error messages).
pub(super) fn envelope_serde(text: &str) -> Result<Envelope<'_>, LanError> {
    serde_json::from_str::<RawEnvelope<'_>>(text)
        .map(Envelope::from)
        .map_err(|e| LanError::NotJson {
            reason: e.to_string(),
        })
}

/// Decodes one datagram.
pub fn decode(bytes: &[u8]) -> Result<Decoded, LanError> {
    if bytes.len() > MAX_DATAGRAM {
        return Err(LanError::TooLarge {
            len: bytes.len(),
            max: MAX_DATAGRAM,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| LanError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    decode_str(text)
}

/// Decodes one message given as text.
pub fn decode_str(text: &str) -> Result<Decoded, LanError> {
    // Flat envelopes (every real v1 report, heartbeat and reply) are scanned without the
    // general parser; anything else, and every error, goes through serde_json.
    // A `[` anywhere means v2 `params`/`dev_list` (or an id list in `data`): not flat, so
    // skip the scan that would give up there.
    let flat = if text.as_bytes().contains(&b'[') {
        None
    } else {
        super::fast::scan_envelope(text)
    };
    let env = match flat {
        Some(env) => env,
        None => envelope_serde(text)?,
    };
    let cmd_raw = env.cmd.ok_or(LanError::MissingCmd)?;
    let cmd_text: Cow<'_, str> =
        serde_json::from_str(cmd_raw).map_err(|_| LanError::InvalidField {
            cmd: "message".into(),
            field: "cmd",
            problem: format!("must be a string, got {}", shorten(cmd_raw)),
        })?;
    let cx = Cx {
        cmd: &cmd_text,
        env: &env,
        version: detect_version(&cmd_text, &env),
    };
    cx.decode()
}

/// Decoding context: the command (for error messages) and the raw envelope.
struct Cx<'a, 'b> {
    cmd: &'b str,
    env: &'b Envelope<'a>,
    /// The version the message's shape shows (see [`detect_version`]).
    version: Option<ProtoVersion>,
}

/// The version a message's shape shows: the field the body is taken from decides (`params`
/// v2; for id-list replies `dev_list` v2 before `data`; otherwise `data` v1), then the
/// command (`_ack`, `get_id_list` v1; `_rsp`, `discovery` v2), then telltale fields (a
/// top-level `key` v2, a `short_id` v1).
fn detect_version(cmd: &str, env: &Envelope<'_>) -> Option<ProtoVersion> {
    let id_list = matches!(cmd, "get_id_list_ack" | "get_id_list_rsp" | "discovery_rsp");
    if env.params.is_some() || (id_list && env.dev_list.is_some()) {
        Some(ProtoVersion::V2)
    } else if env.data.is_some() {
        Some(ProtoVersion::V1)
    } else if env.dev_list.is_some() {
        Some(ProtoVersion::V2)
    } else if cmd.ends_with("_ack") || cmd == "get_id_list" {
        Some(ProtoVersion::V1)
    } else if cmd.ends_with("_rsp") || cmd == "discovery" || env.key.is_some() {
        Some(ProtoVersion::V2)
    } else if env.short_id.is_some() {
        Some(ProtoVersion::V1)
    } else {
        None
    }
}

/// The body of a device message, as found.
enum Body {
    None,
    V1(Props),
    V2(Props),
}

impl Cx<'_, '_> {
    fn decode(&self) -> Result<Decoded, LanError> {
        let env = self.env;
        if env.data.is_some() && env.params.is_some() {
            return Err(LanError::BothBodies { cmd: self.cmd_s() });
        }
        let version = self.version;
        let message = match self.cmd {
            "whois" => Message::Whois,
            "iam" => Message::Iam(self.iam()?),
            "get_id_list" | "discovery" => Message::GetIdList(GetIdList { sid: self.sid()? }),
            "get_id_list_ack" | "get_id_list_rsp" | "discovery_rsp" => self.id_list()?,
            "read" => Message::Read(Read {
                sid: self.req_sid()?,
            }),
            "read_ack" | "read_rsp" => self.device(ReplyTo::Read, Message::ReadAck)?,
            "write" => Message::Write(self.write()?),
            "write_ack" | "write_rsp" => self.device(ReplyTo::Write, Message::WriteAck)?,
            "report" => self.device_no_error(Message::Report)?,
            "heartbeat" => self.device_no_error(Message::Heartbeat)?,
            _ => {
                return Err(LanError::UnknownCommand {
                    cmd: sanitize::truncated(self.cmd, 40),
                });
            }
        };
        Ok(Decoded { message, version })
    }

    fn cmd_s(&self) -> String {
        sanitize::truncated(self.cmd, 40)
    }

    fn invalid(&self, field: &'static str, problem: impl Into<String>) -> LanError {
        LanError::InvalidField {
            cmd: self.cmd_s(),
            field,
            problem: problem.into(),
        }
    }

    fn missing(&self, field: &'static str) -> LanError {
        LanError::MissingField {
            cmd: self.cmd_s(),
            field,
        }
    }

    /// A string field.
    fn string(&self, field: &'static str, raw: Option<&str>) -> Result<Option<String>, LanError> {
        let Some(raw) = raw else { return Ok(None) };
        if let Some(s) = plain_str(raw) {
            return Ok(Some(s.to_owned()));
        }
        match serde_json::from_str::<Cow<'_, str>>(raw) {
            Ok(s) => Ok(Some(s.into_owned())),
            Err(_) => Err(self.invalid(field, format!("must be a string, got {}", shorten(raw)))),
        }
    }

    /// A string field, or a number printed as a string (`proto_version`, tokens in examples).
    fn string_or_number(
        &self,
        field: &'static str,
        raw: Option<&str>,
    ) -> Result<Option<String>, LanError> {
        let Some(raw) = raw else { return Ok(None) };
        if let Some(s) = plain_str(raw) {
            return Ok(Some(s.to_owned()));
        }
        match serde_json::from_str::<StrOrNum<'_>>(raw) {
            Ok(StrOrNum::Str(s)) => Ok(Some(s.into_owned())),
            Ok(StrOrNum::Num(n)) => Ok(Some(n.to_string())),
            Err(_) => Err(self.invalid(
                field,
                format!("must be a string or a number, got {}", shorten(raw)),
            )),
        }
    }

    fn sid(&self) -> Result<Option<Sid>, LanError> {
        let Some(raw) = self.env.sid else {
            return Ok(None);
        };
        // Borrow a plain sid straight from the datagram; Sid::new makes the one copy.
        let owned;
        let s = match plain_str(raw) {
            Some(s) => s,
            None => {
                owned = self.string("sid", Some(raw))?.unwrap_or_default();
                &owned
            }
        };
        Sid::new(s)
            .map(Some)
            .map_err(|e| self.invalid("sid", format!("is not a device id ({e})")))
    }

    fn req_sid(&self) -> Result<Sid, LanError> {
        self.sid()?.ok_or_else(|| self.missing("sid"))
    }

    /// `model`, with `""` (a device the firmware does not know yet) as `None`.
    fn model(&self) -> Result<Option<String>, LanError> {
        Ok(self
            .string("model", self.env.model)?
            .filter(|m| !m.is_empty()))
    }

    fn token(&self) -> Result<Option<Token>, LanError> {
        Ok(self
            .string_or_number("token", self.env.token)?
            .map(Token::new))
    }

    /// `short_id`: `"0"` in gateway heartbeats, `0` elsewhere. v2 has none, so in a v2-shaped
    /// message it is an unknown extra field and ignored.
    fn short_id(&self) -> Result<Option<u16>, LanError> {
        let Some(raw) = self
            .env
            .short_id
            .filter(|_| self.version != Some(ProtoVersion::V2))
        else {
            return Ok(None);
        };
        parse_u16(raw).map(Some).ok_or_else(|| {
            self.invalid(
                "short_id",
                format!("must be a number from 0 to 65535, got {}", shorten(raw)),
            )
        })
    }

    /// The properties: v1 `data` (a JSON object, or a string holding one) or v2 `params`.
    fn body(&self) -> Result<Body, LanError> {
        if let Some(raw) = self.env.data {
            if raw.starts_with('"')
                && let Some(props) = super::fast::scan_props_escaped(raw)
            {
                return Ok(Body::V1(props));
            }
            let text = self.data_text(raw)?;
            if let Some(props) = super::fast::scan_props(&text) {
                return Ok(Body::V1(props));
            }
            let props = props_serde(&text)
                .map_err(|e| self.invalid("data", format!("must be a JSON object ({e})")))?;
            Ok(Body::V1(props))
        } else if let Some(raw) = self.env.params {
            let list: Vec<ParamDe> = serde_json::from_str(raw).map_err(|e| {
                self.invalid("params", format!("must be an array of objects ({e})"))
            })?;
            let mut props = Props::new();
            for p in list {
                for (k, v) in p.0.into_vec() {
                    props.push(k, v);
                }
            }
            Ok(Body::V2(props))
        } else {
            Ok(Body::None)
        }
    }

    /// The text of v1 `data`: the string's content if it is a string, else the raw JSON.
    fn data_text<'r>(&self, raw: &'r str) -> Result<Cow<'r, str>, LanError> {
        if raw.starts_with('"') {
            if let Some(text) = unescape_quotes_only(raw) {
                return Ok(text);
            }
            serde_json::from_str::<Cow<'r, str>>(raw)
                .map_err(|e| self.invalid("data", format!("is not a valid JSON string ({e})")))
        } else {
            Ok(Cow::Borrowed(raw))
        }
    }

    fn iam(&self) -> Result<Iam, LanError> {
        let ip = match self.string("ip", self.env.ip)? {
            Some(s) => Some(s.trim().parse().map_err(|_| {
                self.invalid(
                    "ip",
                    format!("is not an IP address: {:?}", sanitize::truncated(&s, 40)),
                )
            })?),
            None => None,
        };
        let port = match self.env.port {
            Some(raw) => Some(parse_u16(raw).ok_or_else(|| {
                self.invalid(
                    "port",
                    format!("must be a port number, got {}", shorten(raw)),
                )
            })?),
            None => None,
        };
        Ok(Iam {
            sid: self.sid()?,
            model: self.model()?,
            ip,
            port,
            proto_version: self.string_or_number("proto_version", self.env.proto_version)?,
        })
    }

    fn id_list(&self) -> Result<Message, LanError> {
        if let Some(err) = self.error_in_body()? {
            return Ok(Message::Error(ErrorReply {
                reply_to: ReplyTo::IdList,
                sid: self.sid()?,
                model: self.model()?,
                error: err,
            }));
        }
        let sid = self.req_sid()?;
        let token = self.token()?;
        let mut devices = Vec::new();
        if let Some(raw) = self.env.dev_list {
            let list: Vec<DevListEntryDe> = serde_json::from_str(raw).map_err(|e| {
                self.invalid(
                    "dev_list",
                    format!("must be an array of {{\"sid\",\"model\"}} objects ({e})"),
                )
            })?;
            for e in list {
                let sid = Sid::new(&e.sid)
                    .map_err(|err| self.invalid("dev_list", format!("has a bad sid: {err}")))?;
                devices.push(IdListEntry {
                    sid,
                    model: e.model.filter(|m| !m.is_empty()),
                });
            }
        } else if let Some(raw) = self.env.data {
            let text = self.data_text(raw)?;
            let list: Vec<Cow<'_, str>> = serde_json::from_str(&text)
                .map_err(|e| self.invalid("data", format!("must be a JSON array of sids ({e})")))?;
            for s in list {
                let sid = Sid::new(&s)
                    .map_err(|err| self.invalid("data", format!("has a bad sid: {err}")))?;
                devices.push(IdListEntry { sid, model: None });
            }
        } else if let Some(raw) = self.env.params {
            // v2 `get_id_list_rsp` / `discovery_rsp` in `params` form: a list of sids.
            let list: Vec<Value> = serde_json::from_str(raw)
                .map_err(|e| self.invalid("params", format!("must be an array ({e})")))?;
            for v in list {
                let (sid, model) = match &v {
                    Value::String(s) => (s.as_str(), None),
                    Value::Object(o) => (
                        o.get("sid").and_then(Value::as_str).unwrap_or(""),
                        o.get("model")
                            .and_then(Value::as_str)
                            .filter(|m| !m.is_empty()),
                    ),
                    _ => ("", None),
                };
                let sid = Sid::new(sid)
                    .map_err(|err| self.invalid("params", format!("has a bad sid: {err}")))?;
                devices.push(IdListEntry {
                    sid,
                    model: model.map(str::to_owned),
                });
            }
        }
        Ok(Message::IdList(IdList {
            sid,
            token,
            devices,
        }))
    }

    /// An error string in the body: `data` `{"error":…}` (v1) or a `params` element (v2).
    fn error_in_body(&self) -> Result<Option<ErrorCode>, LanError> {
        let props = match self.env.data.map(|raw| self.data_text(raw)) {
            Some(Ok(text)) if text.trim_start().starts_with('{') => {
                serde_json::from_str::<PropsDe>(&text).ok().map(|p| p.0)
            }
            Some(Err(e)) => return Err(e),
            _ => match self.env.params {
                Some(raw) => serde_json::from_str::<Vec<ParamDe>>(raw).ok().map(|l| {
                    l.into_iter()
                        .flat_map(|p| p.0.into_vec())
                        .collect::<Props>()
                }),
                None => None,
            },
        };
        Ok(props.and_then(|p| match p.get("error") {
            Some(Value::String(s)) => Some(ErrorCode::from_text(s)),
            Some(other) => Some(ErrorCode::Other(other.to_string())),
            None => None,
        }))
    }

    fn device_message(&self, props: Props) -> Result<DeviceMessage, LanError> {
        Ok(DeviceMessage {
            sid: self.req_sid()?,
            model: self.model()?,
            short_id: self.short_id()?,
            token: self.token()?,
            props,
        })
    }

    /// A reply that may carry an error instead of a state.
    fn device(
        &self,
        reply_to: ReplyTo,
        wrap: fn(DeviceMessage) -> Message,
    ) -> Result<Message, LanError> {
        let props = match self.body()? {
            Body::V1(p) | Body::V2(p) => p,
            Body::None => Props::new(),
        };
        if let Some(err) = props.get("error") {
            let error = match err {
                Value::String(s) => ErrorCode::from_text(s),
                other => ErrorCode::Other(other.to_string()),
            };
            return Ok(Message::Error(ErrorReply {
                reply_to,
                sid: self.sid()?,
                model: self.model()?,
                error,
            }));
        }
        Ok(wrap(self.device_message(props)?))
    }

    fn device_no_error(&self, wrap: fn(DeviceMessage) -> Message) -> Result<Message, LanError> {
        let props = match self.body()? {
            Body::V1(p) | Body::V2(p) => p,
            Body::None => Props::new(),
        };
        Ok(wrap(self.device_message(props)?))
    }

    fn write(&self) -> Result<Write, LanError> {
        let mut props = match self.body()? {
            Body::V1(p) | Body::V2(p) => p,
            Body::None => return Err(self.missing("data")),
        };
        // v1 carries the key inside `data`; v2 at the top level (ioBroker moves it there).
        // Accept either place in either version.
        let inner = props.remove("key");
        let key = match (self.string("key", self.env.key)?, inner) {
            (Some(k), _) => Some(WriteKey::from_wire(k)),
            (None, Some(Value::String(k))) => Some(WriteKey::from_wire(k)),
            (None, Some(other)) => {
                return Err(self.invalid(
                    "key",
                    format!("must be a string, got {}", shorten(&other.to_string())),
                ));
            }
            (None, None) => None,
        };
        Ok(Write {
            sid: self.req_sid()?,
            model: self.model()?,
            short_id: self.short_id()?,
            key,
            props,
        })
    }
}

/// A JSON string or number.
#[derive(Deserialize)]
#[serde(untagged)]
enum StrOrNum<'a> {
    #[serde(borrow)]
    Str(Cow<'a, str>),
    Num(serde_json::Number),
}

/// The content of a JSON string literal without escapes, borrowed; `None` for anything else
/// (escaped strings and non-strings take the full parser). `raw` is a validated JSON value,
/// so a leading and trailing quote with no backslash between is exactly a plain string.
fn plain_str(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

/// The content of a JSON string literal whose only escapes are `\"`, `\\` and `\/` — the
/// string-encoded `data` of every v1 gateway — unescaped without the general parser; `None`
/// for anything else (then serde_json does it). `raw` is a validated JSON string literal.
fn unescape_quotes_only(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let escaped = rest[i + 1..].chars().next()?;
        match escaped {
            '"' | '\\' | '/' => out.push(escaped),
            _ => return None,
        }
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// A u16 sent as a number or as a string of digits.
fn parse_u16(raw: &str) -> Option<u16> {
    // The common shapes without the general parser: `60049` and `"0"`.
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse().ok();
    }
    if let Some(s) = plain_str(raw) {
        return s.trim().parse().ok();
    }
    match serde_json::from_str::<StrOrNum<'_>>(raw).ok()? {
        StrOrNum::Str(s) => s.trim().parse().ok(),
        StrOrNum::Num(n) => n.as_u64().and_then(|v| u16::try_from(v).ok()),
    }
}

/// A raw JSON fragment shortened and sanitised for an error message.
fn shorten(raw: &str) -> String {
    sanitize::truncated(raw, 40)
}

/// A JSON object read into [`Props`], keeping key order and repeated keys.
struct PropsDe(Props);

impl<'de> Deserialize<'de> for PropsDe {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PropsDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PropsDe, A::Error> {
                let mut props = Props::new();
                while let Some((k, v)) = map.next_entry::<Cow<'de, str>, Value>()? {
                    props.push_key(&k, v);
                }
                Ok(PropsDe(props))
            }
        }
        d.deserialize_map(V)
    }
}

/// One element of v2 `params`: an object (normally with one key).
struct ParamDe(Props);

impl<'de> Deserialize<'de> for ParamDe {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PropsDe::deserialize(d).map(|p| ParamDe(p.0))
    }
}

/// One element of `dev_list`.
#[derive(Deserialize)]
struct DevListEntryDe {
    sid: String,
    #[serde(default)]
    model: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The fast unescaper agrees with serde_json whenever it answers, and answers for
        /// every string whose only escapes are quotes, backslashes and slashes.
        #[test]
        fn fast_unescape_agrees_with_serde_json(s in "[ -~\\u{80}-\\u{10ffff}]{0,60}") {
            let literal = serde_json::to_string(&s).unwrap();
            let slow: String = serde_json::from_str(&literal).unwrap();
            match unescape_quotes_only(&literal) {
                Some(fast) => prop_assert_eq!(fast.as_ref(), slow.as_str()),
                None => prop_assert!(literal.contains("\\u") || literal.contains("\\n") || literal.contains("\\t") || literal.contains("\\r") || literal.contains("\\b") || literal.contains("\\f")),
            }
            let slashes = literal.replace('/', "\\/");
            if let Some(fast) = unescape_quotes_only(&slashes) {
                prop_assert_eq!(fast.as_ref(), slow.as_str());
            }
        }
    }

    #[test]
    fn fast_unescape_edges() {
        assert_eq!(unescape_quotes_only(r#""""#).unwrap(), "");
        assert_eq!(
            unescape_quotes_only(r#""{\"a\":1}""#).unwrap(),
            r#"{"a":1}"#
        );
        assert_eq!(unescape_quotes_only(r#""a\\b""#).unwrap(), r"a\b");
        assert_eq!(unescape_quotes_only(r#""\u0041""#), None);
        assert_eq!(unescape_quotes_only("x"), None);
        assert!(matches!(
            unescape_quotes_only(r#""plain""#),
            Some(Cow::Borrowed("plain"))
        ));
    }
}
