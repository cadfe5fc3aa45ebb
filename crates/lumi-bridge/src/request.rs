//! Bridge requests: `lumi/bridge/request/<name>` in, `lumi/bridge/response/<name>` out, as
//! zigbee2mqtt does them.
//!
//! ```text
//! lumi/bridge/request/permit_join   {"value": true, "time": 60, "gateway": "34ce0088db0b", "transaction": "a1"}
//! lumi/bridge/request/remove        {"id": "kitchen/plug"}            or "kitchen/plug"
//! lumi/bridge/request/rename        {"from": "158d0001a2b3c4", "to": "kitchen/plug"}
//! lumi/bridge/request/read          {"id": "kitchen/plug"}            or "kitchen/plug"
//! lumi/bridge/request/health        {}  (or nothing)
//!
//! lumi/bridge/response/<name>       {"data": {…}, "status": "ok", "transaction": "a1"}
//!                                   {"data": {}, "error": "…", "status": "error", "transaction": "a1"}
//! ```
//!
//! zigbee2mqtt's names are accepted too (`device/remove`, `device/rename`, `health_check`);
//! the response goes to the name the request came on. A `transaction` (any JSON value) is
//! echoed in the response, also when the request is refused, so a client can match them.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::name::FriendlyName;
use crate::state::MAX_PAYLOAD;

/// The requests the bridge answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// Let new sub-devices join a gateway.
    PermitJoin,
    /// Remove a sub-device from its gateway.
    Remove,
    /// Give a device a new friendly name.
    Rename,
    /// Read a device's state now.
    Read,
    /// The bridge's health: gateways, MQTT, multicast.
    Health,
}

impl RequestKind {
    /// Every request, in the order the documentation lists them.
    pub const ALL: [RequestKind; 5] = [
        RequestKind::PermitJoin,
        RequestKind::Remove,
        RequestKind::Rename,
        RequestKind::Read,
        RequestKind::Health,
    ];

    /// The request of a topic name (lumi's, or zigbee2mqtt's).
    pub fn from_name(name: &str) -> Option<RequestKind> {
        Some(match name {
            "permit_join" => RequestKind::PermitJoin,
            "remove" | "device/remove" => RequestKind::Remove,
            "rename" | "device/rename" => RequestKind::Rename,
            "read" | "device/read" => RequestKind::Read,
            "health" | "health_check" => RequestKind::Health,
            _ => return None,
        })
    }

    /// lumi's name of the request.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::PermitJoin => "permit_join",
            RequestKind::Remove => "remove",
            RequestKind::Rename => "rename",
            RequestKind::Read => "read",
            RequestKind::Health => "health",
        }
    }
}

/// A request, read and checked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// `permit_join`.
    PermitJoin {
        /// Open (true) or close (false) joining.
        enable: bool,
        /// For how long (the gateway itself opens for 30 s at a time).
        time: Option<Duration>,
        /// Which gateway (sid or friendly name); `None` = all.
        gateway: Option<String>,
    },
    /// `remove`.
    Remove {
        /// The device (friendly name or sid).
        device: String,
        /// Forget it even if its gateway does not confirm.
        force: bool,
    },
    /// `rename`.
    Rename {
        /// The device (friendly name or sid).
        from: String,
        /// Its new name.
        to: FriendlyName,
    },
    /// `read`.
    Read {
        /// The device (friendly name or sid).
        device: String,
    },
    /// `health`.
    Health,
}

/// A request with the transaction to echo.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeRequest {
    /// What is asked.
    pub request: Request,
    /// The client's `transaction`, to put in the response.
    pub transaction: Option<Value>,
}

/// A request that cannot be carried out; [`RequestError::response`] is the answer to publish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    /// What is wrong and what to send instead.
    pub message: String,
    /// The client's `transaction`, when it could be read.
    pub transaction: Option<Value>,
}

impl RequestError {
    /// The error response.
    pub fn response(&self) -> String {
        response_error(&self.message, self.transaction.as_ref())
    }
}

/// The longest time permit_join accepts.
pub const MAX_PERMIT_JOIN: Duration = Duration::from_secs(3600);

/// Reads a request that came on `lumi/bridge/request/<name>`.
pub fn parse_request(name: &str, payload: &[u8]) -> Result<BridgeRequest, RequestError> {
    let fail = |message: String, transaction: Option<Value>| RequestError {
        message,
        transaction,
    };
    if payload.len() > MAX_PAYLOAD {
        return Err(fail(
            format!(
                "the request is {} bytes long (at most {MAX_PAYLOAD})",
                payload.len()
            ),
            None,
        ));
    }
    let text = std::str::from_utf8(payload)
        .map_err(|_| fail("the request is not UTF-8 text: send JSON".into(), None))?
        .trim();
    // Nothing, JSON, or a bare word ("kitchen/plug", ON).
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_owned()))
    };
    let (mut fields, bare) = match body {
        Value::Object(m) => (m, Value::Null),
        other => (Map::new(), other),
    };
    let transaction = fields.remove("transaction");
    let Some(kind) = RequestKind::from_name(name) else {
        let known: Vec<&str> = RequestKind::ALL.iter().map(|k| k.as_str()).collect();
        return Err(fail(
            format!(
                "unknown request {:?}: use {}",
                lumi_proto::sanitize::truncated(name, 40),
                known.join(", ")
            ),
            transaction,
        ));
    };
    let request = read(kind, &fields, &bare).map_err(|m| fail(m, transaction.clone()))?;
    Ok(BridgeRequest {
        request,
        transaction,
    })
}

fn read(kind: RequestKind, f: &Map<String, Value>, bare: &Value) -> Result<Request, String> {
    let device = |key: &str, usage: &str| -> Result<String, String> {
        let v = f.get(key).unwrap_or(bare);
        match v.as_str().map(str::trim) {
            Some(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(usage.to_owned()),
        }
    };
    Ok(match kind {
        RequestKind::PermitJoin => {
            let usage = "permit_join needs {\"value\": true} or {\"value\": false} (optionally \"time\": seconds and \"gateway\": a sid or name)";
            let value = f.get("value").unwrap_or(bare);
            let (enable, implied_time) = match value {
                Value::Bool(b) => (*b, None),
                Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "true" | "on" => (true, None),
                    "false" | "off" => (false, None),
                    _ => return Err(usage.into()),
                },
                // A bare number: open for that many seconds (0 closes).
                Value::Number(n) => {
                    let t = seconds(n.as_u64())?;
                    (!t.is_zero(), Some(t).filter(|t| !t.is_zero()))
                }
                _ => return Err(usage.into()),
            };
            let time = match f.get("time") {
                None | Some(Value::Null) => implied_time,
                Some(Value::Number(n)) => Some(seconds(n.as_u64())?).filter(|t| !t.is_zero()),
                Some(_) => return Err(seconds(None).unwrap_err()),
            };
            let gateway = match f.get("gateway") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                Some(_) => {
                    return Err("permit_join: \"gateway\" must be a sid or a friendly name".into());
                }
            };
            Request::PermitJoin {
                enable,
                time,
                gateway,
            }
        }
        RequestKind::Remove => Request::Remove {
            device: device("id", "remove needs {\"id\": \"<friendly name or sid>\"}")?,
            force: match f.get("force") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err("remove: \"force\" must be true or false".into()),
            },
        },
        RequestKind::Rename => {
            let usage =
                "rename needs {\"from\": \"<friendly name or sid>\", \"to\": \"<new name>\"}";
            let from = match f.get("from").and_then(Value::as_str).map(str::trim) {
                Some(s) if !s.is_empty() => s.to_owned(),
                _ => return Err(usage.into()),
            };
            let to = f.get("to").and_then(Value::as_str).ok_or(usage)?;
            let to = FriendlyName::new(to).map_err(|e| format!("rename: \"to\": {e}"))?;
            Request::Rename { from, to }
        }
        RequestKind::Read => Request::Read {
            device: device("id", "read needs {\"id\": \"<friendly name or sid>\"}")?,
        },
        RequestKind::Health => Request::Health,
    })
}

fn seconds(n: Option<u64>) -> Result<Duration, String> {
    n.filter(|n| *n <= MAX_PERMIT_JOIN.as_secs())
        .map(Duration::from_secs)
        .ok_or_else(|| {
            format!(
                "permit_join: \"time\" must be a whole number of seconds from 0 to {}",
                MAX_PERMIT_JOIN.as_secs()
            )
        })
}

/// `{"data": <data>, "status": "ok", "transaction": …}`.
pub fn response_ok(data: Value, transaction: Option<&Value>) -> String {
    let mut m = Map::new();
    m.insert("data".into(), data);
    m.insert("status".into(), "ok".into());
    if let Some(t) = transaction {
        m.insert("transaction".into(), t.clone());
    }
    Value::Object(m).to_string()
}

/// `{"data": {}, "error": <error>, "status": "error", "transaction": …}`.
pub fn response_error(error: &str, transaction: Option<&Value>) -> String {
    let mut m = Map::new();
    m.insert("data".into(), json!({}));
    m.insert("error".into(), error.into());
    m.insert("status".into(), "error".into());
    if let Some(t) = transaction {
        m.insert("transaction".into(), t.clone());
    }
    Value::Object(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str, payload: &str) -> BridgeRequest {
        parse_request(name, payload.as_bytes()).unwrap_or_else(|e| panic!("{name} {payload}: {e}"))
    }

    #[test]
    fn every_request_in_every_form() {
        for (name, payload, want) in [
            (
                "permit_join",
                r#"{"value":true}"#,
                Request::PermitJoin {
                    enable: true,
                    time: None,
                    gateway: None,
                },
            ),
            (
                "permit_join",
                r#"{"value":false,"time":null}"#,
                Request::PermitJoin {
                    enable: false,
                    time: None,
                    gateway: None,
                },
            ),
            (
                "permit_join",
                r#"{"value":true,"time":60,"gateway":"34ce0088db0b"}"#,
                Request::PermitJoin {
                    enable: true,
                    time: Some(Duration::from_secs(60)),
                    gateway: Some("34ce0088db0b".into()),
                },
            ),
            (
                "permit_join",
                "true",
                Request::PermitJoin {
                    enable: true,
                    time: None,
                    gateway: None,
                },
            ),
            (
                "permit_join",
                "OFF",
                Request::PermitJoin {
                    enable: false,
                    time: None,
                    gateway: None,
                },
            ),
            (
                "permit_join",
                "120",
                Request::PermitJoin {
                    enable: true,
                    time: Some(Duration::from_secs(120)),
                    gateway: None,
                },
            ),
            (
                "permit_join",
                "0",
                Request::PermitJoin {
                    enable: false,
                    time: None,
                    gateway: None,
                },
            ),
            (
                "remove",
                r#"{"id":"kitchen/plug"}"#,
                Request::Remove {
                    device: "kitchen/plug".into(),
                    force: false,
                },
            ),
            (
                "device/remove",
                r#"{"id":"kitchen/plug","force":true}"#,
                Request::Remove {
                    device: "kitchen/plug".into(),
                    force: true,
                },
            ),
            (
                "remove",
                "kitchen/plug",
                Request::Remove {
                    device: "kitchen/plug".into(),
                    force: false,
                },
            ),
            (
                "remove",
                "\"158d0001a2b3c4\"",
                Request::Remove {
                    device: "158d0001a2b3c4".into(),
                    force: false,
                },
            ),
            (
                "rename",
                r#"{"from":"158d0001a2b3c4","to":"kitchen/plug"}"#,
                Request::Rename {
                    from: "158d0001a2b3c4".into(),
                    to: FriendlyName::new("kitchen/plug").unwrap(),
                },
            ),
            (
                "device/rename",
                r#"{"from":"a","to":"b"}"#,
                Request::Rename {
                    from: "a".into(),
                    to: FriendlyName::new("b").unwrap(),
                },
            ),
            (
                "read",
                r#"{"id":"hall"}"#,
                Request::Read {
                    device: "hall".into(),
                },
            ),
            (
                "read",
                "hall",
                Request::Read {
                    device: "hall".into(),
                },
            ),
            ("health", "", Request::Health),
            ("health_check", "{}", Request::Health),
            ("health", "anything", Request::Health),
        ] {
            assert_eq!(ok(name, payload).request, want, "{name} {payload}");
        }
    }

    #[test]
    fn transactions_are_echoed_in_answers_and_errors() {
        let r = ok("read", r#"{"id":"hall","transaction":"a1"}"#);
        assert_eq!(r.transaction, Some(json!("a1")));
        let answer: Value =
            serde_json::from_str(&response_ok(json!({"id": "hall"}), r.transaction.as_ref()))
                .unwrap();
        assert_eq!(
            answer,
            json!({"data": {"id": "hall"}, "status": "ok", "transaction": "a1"})
        );
        let no_tx: Value = serde_json::from_str(&response_ok(json!({}), None)).unwrap();
        assert_eq!(no_tx, json!({"data": {}, "status": "ok"}));

        let e =
            parse_request("rename", br#"{"from":"a","to":"b/set","transaction":7}"#).unwrap_err();
        assert_eq!(e.transaction, Some(json!(7)));
        let answer: Value = serde_json::from_str(&e.response()).unwrap();
        assert_eq!(answer["status"], json!("error"));
        assert_eq!(answer["transaction"], json!(7));
        assert_eq!(answer["data"], json!({}));
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .starts_with("rename: \"to\": the name must not end in /set"),
            "{answer}"
        );
        let e = parse_request("reboot", br#"{"transaction":"x"}"#).unwrap_err();
        assert_eq!(
            e.message,
            "unknown request \"reboot\": use permit_join, remove, rename, read, health"
        );
        assert_eq!(e.transaction, Some(json!("x")));
    }

    #[test]
    fn bad_requests_say_what_to_send() {
        for (name, payload, want) in [
            ("permit_join", "", "permit_join needs {\"value\": true}"),
            ("permit_join", r#"{"value":"maybe"}"#, "permit_join needs"),
            (
                "permit_join",
                r#"{"value":true,"time":-5}"#,
                "\"time\" must be a whole number of seconds from 0 to 3600",
            ),
            (
                "permit_join",
                r#"{"value":true,"time":99999}"#,
                "from 0 to 3600",
            ),
            (
                "permit_join",
                r#"{"value":true,"time":"1m"}"#,
                "from 0 to 3600",
            ),
            (
                "permit_join",
                r#"{"value":true,"gateway":5}"#,
                "\"gateway\" must be a sid",
            ),
            ("remove", "", "remove needs {\"id\""),
            ("remove", r#"{"id":""}"#, "remove needs"),
            (
                "remove",
                r#"{"id":"a","force":"yes"}"#,
                "\"force\" must be true or false",
            ),
            ("rename", r#"{"to":"b"}"#, "rename needs {\"from\""),
            ("rename", r#"{"from":"a"}"#, "rename needs"),
            (
                "rename",
                r#"{"from":"a","to":"bridge"}"#,
                "rename: \"to\": the name must not start with bridge",
            ),
            ("read", "{}", "read needs {\"id\""),
        ] {
            let e = parse_request(name, payload.as_bytes()).unwrap_err();
            assert!(e.message.contains(want), "{name} {payload}: {e}");
        }
        assert!(
            parse_request("read", b"\xff")
                .unwrap_err()
                .message
                .contains("UTF-8")
        );
        let big = vec![b'x'; MAX_PAYLOAD + 1];
        assert!(
            parse_request("read", &big)
                .unwrap_err()
                .message
                .contains("bytes long")
        );
        let e = parse_request("\u{1b}[2J", b"").unwrap_err();
        assert!(!e.message.contains('\u{1b}'), "{e:?}");
    }

    #[test]
    fn names() {
        for k in RequestKind::ALL {
            assert_eq!(RequestKind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(
            RequestKind::from_name("health_check"),
            Some(RequestKind::Health)
        );
        assert_eq!(RequestKind::from_name("restart"), None);
    }
}
