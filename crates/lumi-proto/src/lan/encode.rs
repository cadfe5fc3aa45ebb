//! Encoding: a typed [`Message`] out as the bytes of one protocol version.
//!
//! The two versions are thin adaptors over the same model:
//!
//! | | v1 | v2 |
//! |---|---|---|
//! | properties | `"data":"{\"k\":v,…}"` (an object encoded as a string) | `"params":[{"k":v},…]` |
//! | replies | `read_ack`, `write_ack`, `get_id_list_ack` | `read_rsp`, `write_rsp`, `discovery_rsp` |
//! | id list | `"data":"[\"sid\",…]"` | `"dev_list":[{"sid":…,"model":…}]` |
//! | write key | inside `data` | top level |
//! | `short_id` | sent (as `"0"` in heartbeats, as real gateways do) | never sent |
//!
//! Encoding cannot fail: every typed value has a wire form.

use serde::Serialize;

use super::message::*;
use super::{Props, ProtoVersion};

/// Encodes `message` in `version`.
pub fn encode(message: &Message, version: ProtoVersion) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    encode_into(message, version, &mut out);
    out
}

/// Encodes `message` in `version`, appending to `out` (reuse the buffer on hot paths).
pub fn encode_into(message: &Message, version: ProtoVersion, out: &mut Vec<u8>) {
    let mut w = Obj::new(out);
    w.str("cmd", message.cmd(version));
    match message {
        Message::Whois => {}
        Message::GetIdList(m) => {
            if let Some(sid) = &m.sid {
                w.str("sid", sid.as_str());
            }
        }
        Message::Iam(m) => {
            if let Some(ip) = &m.ip {
                w.str("ip", &ip.to_string());
            }
            if version == ProtoVersion::V2 {
                // Sic: the v2 documentation spells it this way.
                w.str("protocal", "UDP");
            }
            if let Some(port) = m.port {
                w.str("port", &port.to_string());
            }
            w.opt_str("model", m.model.as_deref());
            if let Some(sid) = &m.sid {
                w.str("sid", sid.as_str());
            }
            w.opt_str("proto_version", m.proto_version.as_deref());
        }
        Message::IdList(m) => {
            w.str("sid", m.sid.as_str());
            w.opt_str("token", m.token.as_ref().map(|t| t.as_str()));
            match version {
                ProtoVersion::V1 => {
                    let sids: Vec<&str> = m.devices.iter().map(|d| d.sid.as_str()).collect();
                    w.str("data", &to_json(&sids));
                }
                ProtoVersion::V2 => {
                    w.key("dev_list");
                    w.out.push(b'[');
                    for (i, d) in m.devices.iter().enumerate() {
                        if i > 0 {
                            w.out.push(b',');
                        }
                        let mut e = Obj::new(w.out);
                        e.str("sid", d.sid.as_str());
                        e.str("model", d.model.as_deref().unwrap_or(""));
                        e.end();
                    }
                    w.out.push(b']');
                }
            }
        }
        Message::Read(m) => w.str("sid", m.sid.as_str()),
        Message::ReadAck(m) | Message::WriteAck(m) | Message::Report(m) | Message::Heartbeat(m) => {
            w.opt_str("model", m.model.as_deref());
            w.str("sid", m.sid.as_str());
            if let (ProtoVersion::V1, Some(short_id)) = (version, m.short_id) {
                // Real gateways quote the short id in heartbeats only.
                if matches!(message, Message::Heartbeat(_)) {
                    w.str("short_id", &short_id.to_string());
                } else {
                    w.num("short_id", short_id);
                }
            }
            w.opt_str("token", m.token.as_ref().map(|t| t.as_str()));
            w.body(version, &m.props, None);
        }
        Message::Write(m) => {
            w.opt_str("model", m.model.as_deref());
            w.str("sid", m.sid.as_str());
            let key = m.key.as_ref().map(|k| k.to_hex());
            match version {
                ProtoVersion::V1 => {
                    if let Some(short_id) = m.short_id {
                        w.num("short_id", short_id);
                    }
                    w.body(version, &m.props, key);
                }
                ProtoVersion::V2 => {
                    w.opt_str("key", key);
                    w.body(version, &m.props, None);
                }
            }
        }
        Message::Error(m) => {
            w.opt_str("model", m.model.as_deref());
            if let Some(sid) = &m.sid {
                w.str("sid", sid.as_str());
            }
            let props = Props::new().with("error", m.error.as_text());
            w.body(version, &props, None);
        }
    }
    w.end();
}

/// A minimal writer of one JSON object into a byte buffer; values go through serde_json so
/// escaping is always right.
struct Obj<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Obj<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_json(self.out, k);
        self.out.push(b':');
    }

    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        write_json(self.out, v);
    }

    fn opt_str(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }

    fn num(&mut self, k: &str, v: u16) {
        self.key(k);
        write_json(self.out, &v);
    }

    /// v1 `data` string (with the key last, as in Lumi's examples) or v2 `params`.
    fn body(&mut self, version: ProtoVersion, props: &Props, key: Option<&str>) {
        match version {
            ProtoVersion::V1 => {
                let mut inner = Vec::with_capacity(64);
                let mut o = Obj::new(&mut inner);
                for (k, v) in props {
                    o.key(k);
                    write_json(o.out, v);
                }
                if let Some(key) = key {
                    o.str("key", key);
                }
                o.end();
                // serde_json only ever writes UTF-8.
                let inner = String::from_utf8(inner).unwrap_or_default();
                self.str("data", &inner);
            }
            ProtoVersion::V2 => {
                self.key("params");
                self.out.push(b'[');
                for (i, (k, v)) in props.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    let mut o = Obj::new(self.out);
                    o.key(k);
                    write_json(o.out, v);
                    o.end();
                }
                self.out.push(b']');
            }
        }
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Writing strings, numbers and `Value`s to a Vec cannot fail.
    let _ = serde_json::to_writer(out, v);
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
