//! Tests of the LAN codec: the third-party corpus, liberal/strict cases, a malformed-input
//! sweep and property round trips.

use super::*;
use crate::key::WriteKey;
use serde_json::{Value, json};

const CORPUS: &str = include_str!("../../../../../shared/corpus/lan.jsonl");

/// A minimal reader of Python literal dict/list reprs (`{'cmd': 'report', …}`), the form in
/// which many real messages were posted in issue threads.
mod pyrepr {
    use serde_json::{Map, Value};

    pub fn parse(s: &str) -> Option<Value> {
        let mut p = P {
            b: s.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        (p.i == p.b.len()).then_some(v)
    }

    struct P<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl P<'_> {
        fn ws(&mut self) {
            while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) -> bool {
            self.ws();
            if self.b.get(self.i) == Some(&c) {
                self.i += 1;
                true
            } else {
                false
            }
        }
        fn value(&mut self) -> Option<Value> {
            self.ws();
            match *self.b.get(self.i)? {
                b'{' => {
                    self.i += 1;
                    let mut m = Map::new();
                    if self.eat(b'}') {
                        return Some(Value::Object(m));
                    }
                    loop {
                        let Value::String(k) = self.value()? else {
                            return None;
                        };
                        if !self.eat(b':') {
                            return None;
                        }
                        let v = self.value()?;
                        m.insert(k, v);
                        if self.eat(b',') {
                            continue;
                        }
                        return self.eat(b'}').then_some(Value::Object(m));
                    }
                }
                b'[' => {
                    self.i += 1;
                    let mut l = Vec::new();
                    if self.eat(b']') {
                        return Some(Value::Array(l));
                    }
                    loop {
                        l.push(self.value()?);
                        if self.eat(b',') {
                            continue;
                        }
                        return self.eat(b']').then_some(Value::Array(l));
                    }
                }
                q @ (b'\'' | b'"') => {
                    self.i += 1;
                    let mut out = Vec::new();
                    loop {
                        let c = *self.b.get(self.i)?;
                        self.i += 1;
                        match c {
                            b'\\' => {
                                let e = *self.b.get(self.i)?;
                                self.i += 1;
                                out.push(match e {
                                    b'n' => b'\n',
                                    b't' => b'\t',
                                    other => other,
                                });
                            }
                            c if c == q => break,
                            c => out.push(c),
                        }
                    }
                    Some(Value::String(String::from_utf8(out).ok()?))
                }
                _ => {
                    let start = self.i;
                    while self.i < self.b.len()
                        && (self.b[self.i].is_ascii_alphanumeric()
                            || b"+-.".contains(&self.b[self.i]))
                    {
                        self.i += 1;
                    }
                    match std::str::from_utf8(&self.b[start..self.i]).ok()? {
                        "True" => Some(Value::Bool(true)),
                        "False" => Some(Value::Bool(false)),
                        "None" => Some(Value::Null),
                        t => serde_json::from_str(t).ok(),
                    }
                }
            }
        }
    }
}

struct Record {
    line: usize,
    form: String,
    cmd: String,
    model: Option<String>,
    /// The message as JSON text, when the record has a parseable form.
    json: Option<String>,
    /// The message exactly as printed in the source.
    raw: String,
}

fn corpus() -> Vec<Record> {
    let mut out = Vec::new();
    for (i, line) in CORPUS.lines().enumerate() {
        let r: Value = serde_json::from_str(line).expect("corpus line is JSON");
        let form = r["form"].as_str().unwrap().to_owned();
        let (raw, json) = match &r["message"] {
            Value::String(s) if form == "json-text" => (s.clone(), Some(s.clone())),
            Value::String(s) if form.starts_with("python-repr") => {
                (s.clone(), pyrepr::parse(s).map(|v| v.to_string()))
            }
            Value::String(s) => (s.clone(), None),
            v => (v.to_string(), Some(v.to_string())),
        };
        out.push(Record {
            line: i + 1,
            form,
            cmd: r["cmd"].as_str().unwrap().to_owned(),
            model: r["model"]
                .as_str()
                .filter(|m| !m.is_empty())
                .map(str::to_owned),
            json,
            raw,
        });
    }
    out
}

/// True when the message has a string `data` whose content is not JSON (checked with a plain
/// JSON parser, independently of the codec).
fn inner_data_is_broken(json: &str) -> bool {
    let v: Value = serde_json::from_str(json).unwrap();
    match &v["data"] {
        Value::String(s) => serde_json::from_str::<Value>(s).is_err(),
        _ => false,
    }
}

/// What survives encoding in the other version: v2 has no short ids, v1 id lists no models.
fn portable(m: &Message, to: ProtoVersion) -> Message {
    let mut m = m.clone();
    match (&mut m, to) {
        (
            Message::ReadAck(d) | Message::WriteAck(d) | Message::Report(d) | Message::Heartbeat(d),
            ProtoVersion::V2,
        ) => d.short_id = None,
        (Message::Write(w), ProtoVersion::V2) => w.short_id = None,
        (Message::IdList(l), ProtoVersion::V1) => {
            for d in &mut l.devices {
                d.model = None;
            }
        }
        _ => {}
    }
    m
}

#[test]
fn corpus_every_record() {
    let records = corpus();
    assert_eq!(records.len(), 230, "corpus size changed");
    let (mut decoded, mut refused) = (0, 0);
    for r in &records {
        let Some(json) = &r.json else {
            // Unparseable as printed (doc typos, curly quotes, masked values): a clear error.
            let err = decode_str(&r.raw).expect_err(&format!("line {} should not decode", r.line));
            assert!(!err.to_string().is_empty());
            refused += 1;
            continue;
        };
        let d = match decode_str(json) {
            Ok(d) => d,
            // One masked capture: the poster replaced the sid list with "[...]".
            Err(e) if json.contains(r#""data":"[...]""#) => {
                assert!(
                    e.to_string().contains("must be a JSON array of sids"),
                    "line {}: {e}",
                    r.line
                );
                refused += 1;
                continue;
            }
            // Documentation typos inside the string-encoded `data` (curly quotes): the
            // outer JSON parses, the inner does not, and the error must say so.
            Err(e) if inner_data_is_broken(json) => {
                assert!(
                    e.to_string().contains("field \"data\""),
                    "line {}: {e}",
                    r.line
                );
                refused += 1;
                continue;
            }
            Err(e) => panic!("line {} ({}): {e}\n{json}", r.line, r.form),
        };
        decoded += 1;
        let v = d.version.unwrap_or(ProtoVersion::V1);
        // The expected cmd/model/sid, read independently from the JSON.
        let value: Value = serde_json::from_str(json).unwrap();
        assert_eq!(d.message.cmd(v), r.cmd, "line {}", r.line);
        assert_eq!(d.message.model(), r.model.as_deref(), "line {}", r.line);
        let want_sid = value["sid"].as_str().map(|s| Sid::new(s).unwrap());
        assert_eq!(d.message.sid(), want_sid.as_ref(), "line {}", r.line);
        // Same version: the typed value survives exactly.
        let again = decode(&encode(&d.message, v)).unwrap();
        assert_eq!(again.message, d.message, "line {}", r.line);
        if let Some(dv) = d.version {
            assert_eq!(again.version, Some(dv), "line {}", r.line);
        }
        // Forced to the other version: everything the other version can carry survives.
        for to in [ProtoVersion::V1, ProtoVersion::V2] {
            let other = decode(&encode(&d.message, to)).unwrap();
            assert_eq!(
                other.message,
                portable(&d.message, to),
                "line {} as {to}",
                r.line
            );
        }
    }
    // 181 json-text + 10 json-values + 22 literal python reprs, less the masked id list and
    // two documentation examples with curly quotes inside `data`.
    assert_eq!(decoded, 210);
    assert_eq!(refused, 20);
}

#[test]
fn corpus_properties_flatten_v1_and_v2() {
    let d = decode_str(r#"{"cmd":"read_ack","model":"sensor_ht","sid":"158d0001a200f5","short_id":60049,"data":"{\"voltage\":3005,\"temperature\":\"2120\",\"humidity\":\"5277\"}"}"#).unwrap();
    assert_eq!(d.version, Some(ProtoVersion::V1));
    let Message::ReadAck(m) = d.message else {
        panic!()
    };
    assert_eq!(m.short_id, Some(60049));
    assert_eq!(m.props.get("voltage"), Some(&json!(3005)));
    assert_eq!(m.props.get("temperature"), Some(&json!("2120")));

    let d = decode_str(r#"{"cmd":"read_rsp","model":"ctrl_neutral2","sid":"158d00025660ac","params":[{"battery_voltage":3300},{"channel_0":"off"},{"channel_1":"off"}]}"#).unwrap();
    assert_eq!(d.version, Some(ProtoVersion::V2));
    let Message::ReadAck(m) = d.message else {
        panic!()
    };
    let keys: Vec<_> = m.props.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["battery_voltage", "channel_0", "channel_1"]);
}

#[test]
fn liberal_where_gateways_are_inconsistent() {
    // data as an object, short_id as a string, token present.
    let d = decode_str(r#"{"cmd":"heartbeat","model":"gateway","sid":"7811dca48025","short_id":"0","token":"4WE0dIktnNOrqrKd","data":{"ip":"192.168.178.45"}}"#).unwrap();
    let Message::Heartbeat(h) = d.message else {
        panic!()
    };
    assert_eq!(h.short_id, Some(0));
    assert_eq!(h.token, Some(Token::new("4WE0dIktnNOrqrKd")));
    assert_eq!(h.props.get_str("ip").as_deref(), Some("192.168.178.45"));
    // Gateway sid missing its leading zero; unknown fields ignored.
    let d = decode_str(r#"{"cmd":"iam","ip":"192.168.0.42","protocal":"UDP","port":"9898","model":"gateway","sid":"4cf8c123456","proto_version":"1.1.2","mystery":[1,2]}"#).unwrap();
    let Message::Iam(i) = d.message else { panic!() };
    assert_eq!(i.sid.unwrap().as_str(), "04cf8c123456");
    assert_eq!(i.port, Some(9898));
    assert_eq!(i.ip, Some("192.168.0.42".parse().unwrap()));
    assert_eq!(i.proto_version.as_deref(), Some("1.1.2"));
    assert_eq!(d.version, None);
    // Empty model.
    let d = decode_str(r#"{"cmd":"read_ack","model":"","sid":"158d0002114c98","short_id":63774,"data":"{\"voltage\":3600,\"channel_0\":\"off\"}"}"#).unwrap();
    assert_eq!(d.message.model(), None);
    // Port as a number, short_id as a number string with spaces is refused? No: trimmed.
    let d = decode_str(r#"{"cmd":"iam","port":9898,"sid":"286c2285aaaa"}"#).unwrap();
    let Message::Iam(i) = d.message else { panic!() };
    assert_eq!(i.port, Some(9898));
}

#[test]
fn write_key_in_either_place() {
    let v1 = decode_str(r#"{"cmd":"write","model":"ctrl_neutral2","sid":"158d00022339a9","short_id":54631,"data":"{\"channel_1\":\"off\",\"key\":\"7a2a043f5406d8fee66054a76efb86db\"}"}"#).unwrap();
    assert_eq!(v1.version, Some(ProtoVersion::V1));
    let Message::Write(w) = &v1.message else {
        panic!()
    };
    assert_eq!(
        w.key,
        Some(WriteKey::from_wire("7A2A043F5406D8FEE66054A76EFB86DB"))
    );
    assert!(!w.props.contains("key"));
    // v1 puts the key inside data, last.
    let text = String::from_utf8(encode(&v1.message, ProtoVersion::V1)).unwrap();
    assert_eq!(
        text,
        r#"{"cmd":"write","model":"ctrl_neutral2","sid":"158d00022339a9","short_id":54631,"data":"{\"channel_1\":\"off\",\"key\":\"7a2a043f5406d8fee66054a76efb86db\"}"}"#
    );
    // v2 at the top level.
    let text = String::from_utf8(encode(&v1.message, ProtoVersion::V2)).unwrap();
    assert_eq!(
        text,
        r#"{"cmd":"write","model":"ctrl_neutral2","sid":"158d00022339a9","key":"7a2a043f5406d8fee66054a76efb86db","params":[{"channel_1":"off"}]}"#
    );
    let v2 = decode_str(&text).unwrap();
    assert_eq!(v2.version, Some(ProtoVersion::V2));
}

#[test]
fn error_replies() {
    let cases = [
        (
            r#"{"cmd":"write_ack","sid":"34ce0088db0b","data":"{\"error\":\"Invalid key\"}"}"#,
            ReplyTo::Write,
            ErrorCode::InvalidKey,
            ProtoVersion::V1,
        ),
        (
            r#"{"params":[{"error":"No sid"}],"cmd":"get_id_list_rsp"}"#,
            ReplyTo::IdList,
            ErrorCode::NoSid,
            ProtoVersion::V2,
        ),
        (
            r#"{"cmd":"write_rsp","sid":"158d0000123456","params":[{"error":"Invalid key"}]}"#,
            ReplyTo::Write,
            ErrorCode::InvalidKey,
            ProtoVersion::V2,
        ),
        (
            r#"{"cmd":"read_ack","sid":"158d0000123456","data":"{\"error\":\"Device offline\"}"}"#,
            ReplyTo::Read,
            ErrorCode::Other("Device offline".into()),
            ProtoVersion::V1,
        ),
    ];
    for (text, reply_to, code, version) in cases {
        let d = decode_str(text).unwrap();
        assert_eq!(d.version, Some(version), "{text}");
        let Message::Error(e) = &d.message else {
            panic!("{text}")
        };
        assert_eq!(e.reply_to, reply_to);
        assert_eq!(e.error, code);
        assert_eq!(decode(&encode(&d.message, version)).unwrap(), d);
    }
    let text = String::from_utf8(encode(
        &Message::Error(ErrorReply {
            reply_to: ReplyTo::Write,
            sid: Some(Sid::new("34ce0088db0b").unwrap()),
            model: None,
            error: ErrorCode::InvalidKey,
        }),
        ProtoVersion::V1,
    ))
    .unwrap();
    // Exactly what real gateways send (PyXiaomiGateway PR#47 capture).
    assert_eq!(
        text,
        r#"{"cmd":"write_ack","sid":"34ce0088db0b","data":"{\"error\":\"Invalid key\"}"}"#
    );
}

#[test]
fn real_heartbeat_encodes_byte_exact() {
    // The 136-byte heartbeat of the GIST tcpdump, re-encoded from the typed value.
    let wire = r#"{"cmd":"heartbeat","model":"gateway","sid":"34ce00fb7438","short_id":"0","token":"dcw5vsmC3GK5KEoH","data":"{\"ip\":\"172.16.15.100\"}"}"#;
    assert_eq!(wire.len(), 136);
    let d = decode_str(wire).unwrap();
    assert_eq!(encode(&d.message, ProtoVersion::V1), wire.as_bytes());
    let report = r#"{"cmd":"report","model":"magnet","sid":"158d0001c1cdfb","short_id":56258,"data":"{\"status\":\"open\"}"}"#;
    assert_eq!(
        encode(&decode_str(report).unwrap().message, ProtoVersion::V1),
        report.as_bytes()
    );
    let idl = r#"{"cmd":"discovery_rsp","sid":"7811dc86f808","token":"FoADGjNL1yFbVAe1","dev_list":[{"sid":"158d0001b1d213","model":"sensor_motion.aq2"},{"sid":"158d00026dfec0","model":"ctrl_neutral2"}]}"#;
    assert_eq!(
        encode(&decode_str(idl).unwrap().message, ProtoVersion::V2),
        idl.as_bytes()
    );
    assert_eq!(
        encode(&Message::GetIdList(GetIdList::default()), ProtoVersion::V1),
        br#"{"cmd":"get_id_list"}"#
    );
    assert_eq!(
        encode(&Message::GetIdList(GetIdList::default()), ProtoVersion::V2),
        br#"{"cmd":"discovery"}"#
    );
    assert_eq!(
        encode(&Message::Whois, ProtoVersion::V2),
        br#"{"cmd":"whois"}"#
    );
}

#[test]
fn strict_about_everything_else() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "not a JSON object"),
        (b"[1,2]", "not a JSON object"),
        (b"\xff\xfe", "not UTF-8"),
        (br#"{"sid":"1"}"#, "no \"cmd\""),
        (br#"{"cmd":5}"#, "field \"cmd\" must be a string"),
        (br#"{"cmd":"reboot"}"#, "unknown command \"reboot\""),
        (br#"{"cmd":"read"}"#, "read: missing field \"sid\""),
        (
            br#"{"cmd":"read","sid":12}"#,
            "read: field \"sid\" must be a string",
        ),
        (
            br#"{"cmd":"read","sid":"a b"}"#,
            "field \"sid\" is not a device id",
        ),
        (
            br#"{"cmd":"report","sid":"158d00","data":"[1]"}"#,
            "report: field \"data\" must be a JSON object",
        ),
        (
            br#"{"cmd":"report","sid":"158d00","data":"{"}"#,
            "field \"data\" must be a JSON object",
        ),
        (
            br#"{"cmd":"report","sid":"158d00","params":{"a":1}}"#,
            "field \"params\" must be an array",
        ),
        (
            br#"{"cmd":"report","sid":"158d00","params":[1]}"#,
            "field \"params\" must be an array",
        ),
        (
            br#"{"cmd":"report","sid":"158d00","params":[],"data":"{}"}"#,
            "both \"data\"",
        ),
        (
            br#"{"cmd":"report","sid":"158d00","short_id":70000,"data":{}}"#,
            "short_id\" must be a number from 0 to 65535",
        ),
        (
            br#"{"cmd":"report","sid":"158d00","short_id":-1,"data":{}}"#,
            "short_id",
        ),
        (
            br#"{"cmd":"report","sid":"158d00","data":{}} x"#,
            "not a JSON object",
        ),
        (
            br#"{"cmd":"report","cmd":"heartbeat","sid":"1"}"#,
            "duplicate field",
        ),
        (
            br#"{"cmd":"iam","ip":"300.1.1.1"}"#,
            "iam: field \"ip\" is not an IP address",
        ),
        (
            br#"{"cmd":"iam","port":"http"}"#,
            "iam: field \"port\" must be a port number",
        ),
        (
            br#"{"cmd":"write","sid":"158d00"}"#,
            "write: missing field \"data\"",
        ),
        (
            br#"{"cmd":"write","sid":"158d00","data":{"key":5}}"#,
            "write: field \"key\" must be a string",
        ),
        (
            br#"{"cmd":"get_id_list_ack","sid":"1","data":"[5]"}"#,
            "must be a JSON array of sids",
        ),
        (
            br#"{"cmd":"discovery_rsp","sid":"1","dev_list":[{"model":"x"}]}"#,
            "dev_list",
        ),
    ];
    for (input, want) in cases {
        let err = decode(input).expect_err(&String::from_utf8_lossy(input));
        assert!(
            err.to_string().contains(want),
            "{:?}: {err}",
            String::from_utf8_lossy(input)
        );
    }
    // Oversized datagrams are refused before parsing.
    let big = vec![b' '; MAX_DATAGRAM + 1];
    assert!(matches!(decode(&big), Err(LanError::TooLarge { .. })));
    // Deep nesting is an error, not a stack overflow.
    let deep = format!(
        "{{\"cmd\":\"report\",\"sid\":\"1\",\"data\":{}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert!(decode_str(&deep).is_err());
    // Control characters in a bad command are escaped in the message.
    let err = decode(b"{\"cmd\":\"\\u001b[2J\"}").unwrap_err().to_string();
    assert!(!err.contains('\u{1b}'), "{err}");
}

/// Found by the `lan_decode` fuzz target: a huge integer becomes an f64, and without
/// serde_json's correctly rounded float parsing it re-read 1 ulp off after re-encoding.
#[test]
fn fuzz_regression_float_round_trip() {
    let input = br#"{"cmd":"write","model":"gateway","sid":"6409802da2af","short_id":0,"kex":"8","data":"{\"mid\":100777777000001779903843}"}"#;
    let d = decode(input).unwrap();
    for v in [ProtoVersion::V1, ProtoVersion::V2] {
        assert_eq!(
            decode(&encode(&d.message, v)).unwrap().message,
            portable(&d.message, v)
        );
    }
    for f in [
        1.0077777700000178e23,
        5e-324,
        1.7976931348623157e308,
        0.1 + 0.2,
    ] {
        let m = Message::Report(DeviceMessage {
            props: Props::new().with("x", f),
            ..DeviceMessage::new(Sid::new("158d00").unwrap(), None)
        });
        assert_eq!(
            decode(&encode(&m, ProtoVersion::V1)).unwrap().message,
            m,
            "{f}"
        );
    }
}

/// Found by the `lan_decode` fuzz target: `data` (v1) beside a stray `dev_list` was detected as
/// v2, so re-encoding in the detected version dropped the v1-only `short_id`.
#[test]
fn fuzz_regression_body_decides_the_version() {
    let input = br#"{"cmd":"report","model":"weather.v5170\"eryXG22","dev_list":"ahk1","sid":"158d0004b64a","short_id":22319,"data":"{\"humidity\":\"3914\"}"}"#;
    let d = decode(input).unwrap();
    assert_eq!(d.version, Some(ProtoVersion::V1));
    assert_eq!(
        decode(&encode(&d.message, ProtoVersion::V1))
            .unwrap()
            .message,
        d.message
    );
    // For id-list replies the decoder takes `dev_list` before `data`, so it decides.
    let input = br#"{"cmd":"discovery_rsp","sid":"0fb61a9","short_id":0,"data":"ahkC?dalbIG22","dev_list":[{"sid":"159d645","model":"sensor_swittr\nq2"}]}"#;
    let d = decode(input).unwrap();
    assert_eq!(d.version, Some(ProtoVersion::V2));
    let again = decode(&encode(&d.message, ProtoVersion::V2)).unwrap();
    assert_eq!(again.message, d.message);
    // A v1-only `short_id` in a v2-shaped message is an unknown extra field there.
    let input = br#"{"cmd":"report","model":"lertbeat","sid":"60ce00db36","short_id":"00","params":[{"wleak_status":"leak"}]}"#;
    let d = decode(input).unwrap();
    assert_eq!(d.version, Some(ProtoVersion::V2));
    let Message::Report(m) = &d.message else {
        panic!()
    };
    assert_eq!(m.short_id, None);
    let again = decode(&encode(&d.message, ProtoVersion::V2)).unwrap();
    assert_eq!(again.message, d.message);
}

/// Every truncation and every single-byte change of every corpus message decodes or fails
/// cleanly; none panics.
#[test]
fn malformed_input_sweep() {
    let mut n = 0usize;
    // Every input also checks that the flat-envelope scanner agrees with serde_json.
    let decode = |b: &[u8]| {
        if let Ok(t) = std::str::from_utf8(b) {
            assert!(agrees_with_serde(t), "fast path differs on {t:?}");
        }
        super::decode(b)
    };
    for r in corpus() {
        let msg = r.json.unwrap_or(r.raw).into_bytes();
        for cut in 0..msg.len() {
            let _ = decode(&msg[..cut]);
            n += 1;
        }
        let mut m = msg.clone();
        for i in 0..m.len() {
            let orig = m[i];
            for x in [0x01u8, 0x20, 0x80, 0xff] {
                m[i] = orig ^ x;
                let _ = decode(&m);
                n += 1;
            }
            for b in [b'"', b'\\', b'{', b'}', b'[', 0] {
                m[i] = b;
                let _ = decode(&m);
                n += 1;
            }
            m[i] = orig;
        }
    }
    assert!(n > 200_000, "{n}");
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn sid() -> impl Strategy<Value = Sid> {
        prop_oneof![
            "[0-9a-f]{12}".prop_map(|s| Sid::new(&s).unwrap()),
            "158d[0-9a-f]{10}".prop_map(|s| Sid::new(&s).unwrap()),
        ]
    }

    fn model() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[a-z0-9_.]{1,20}")
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u32>().prop_map(|n| Value::from(n.to_string())),
            "[ -~\\u{80}-\\u{10ffff}]{0,12}".prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
        ]
    }

    fn props() -> impl Strategy<Value = Props> {
        proptest::collection::vec(
            (
                "[a-z_]{1,12}".prop_filter("reserved", |k| k != "key" && k != "error"),
                value(),
            ),
            0..6,
        )
        .prop_map(Props::from)
    }

    fn device() -> impl Strategy<Value = DeviceMessage> {
        (
            sid(),
            model(),
            proptest::option::of(any::<u16>()),
            proptest::option::of("[A-Za-z0-9]{16}"),
            props(),
        )
            .prop_map(|(sid, model, short_id, token, props)| DeviceMessage {
                sid,
                model,
                short_id,
                token: token.map(Token::new),
                props,
            })
    }

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            Just(Message::Whois),
            proptest::option::of(sid()).prop_map(|sid| Message::GetIdList(GetIdList { sid })),
            (
                proptest::option::of(sid()),
                model(),
                proptest::option::of(any::<[u8; 4]>()),
                proptest::option::of(any::<u16>()),
                proptest::option::of("[0-9]\\.[0-9]\\.[0-9]")
            )
                .prop_map(|(sid, model, ip, port, pv)| Message::Iam(Iam {
                    sid,
                    model,
                    ip: ip.map(std::net::IpAddr::from),
                    port,
                    proto_version: pv,
                })),
            (
                sid(),
                proptest::option::of("[A-Za-z0-9]{16}"),
                proptest::collection::vec((sid(), model()), 0..8)
            )
                .prop_map(|(sid, token, devs)| Message::IdList(IdList {
                    sid,
                    token: token.map(Token::new),
                    devices: devs
                        .into_iter()
                        .map(|(sid, model)| IdListEntry { sid, model })
                        .collect(),
                })),
            sid().prop_map(|sid| Message::Read(Read { sid })),
            device().prop_map(Message::ReadAck),
            device().prop_map(Message::WriteAck),
            device().prop_map(Message::Report),
            device().prop_map(Message::Heartbeat),
            (
                sid(),
                model(),
                proptest::option::of(any::<u16>()),
                proptest::option::of("[0-9a-f]{32}"),
                props()
            )
                .prop_map(|(sid, model, short_id, key, props)| Message::Write(Write {
                    sid,
                    model,
                    short_id,
                    key: key.map(WriteKey::from_wire),
                    props,
                })),
            (
                proptest::option::of(sid()),
                model(),
                prop_oneof![
                    Just(ReplyTo::Read),
                    Just(ReplyTo::Write),
                    Just(ReplyTo::IdList)
                ],
                prop_oneof![
                    Just(ErrorCode::InvalidKey),
                    Just(ErrorCode::NoSid),
                    "[ -~]{1,20}".prop_map(|s| ErrorCode::from_text(&s))
                ]
            )
                .prop_map(|(sid, model, reply_to, error)| Message::Error(ErrorReply {
                    sid,
                    model,
                    reply_to,
                    error
                })),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn round_trip_both_versions(m in message()) {
            for v in [ProtoVersion::V1, ProtoVersion::V2] {
                let bytes = encode(&m, v);
                let d = decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&bytes))))?;
                prop_assert_eq!(&d.message, &portable(&m, v));
                if let Some(dv) = d.version {
                    prop_assert_eq!(dv, v);
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }

        /// A string-encoded `data` of random members read in place equals unescape-then-parse.
        #[test]
        fn data_read_in_place_agrees(
            members in proptest::collection::vec((
                "[a-z_]{1,8}|status|voltage|k\\\\x|k\"q",
                prop_oneof![
                    "[ -~\\u{e9}\\u{4e2d}]{0,8}".prop_map(Value::from),
                    any::<i64>().prop_map(Value::from),
                    any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
                    Just(Value::Null), Just(json!(true)), Just(json!([1])),
                ],
            ), 0..6),
        ) {
            let inner = format!("{{{}}}", members.iter().map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v)).collect::<Vec<_>>().join(","));
            let text = format!(r#"{{"cmd":"report","sid":"158d0001c1cdfb","data":{}}}"#, serde_json::to_string(&inner).unwrap());
            prop_assert!(agrees_with_serde(&text), "{}", text);
            let d = decode_str(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
            let Message::Report(m) = d.message else { return Err(TestCaseError::fail("not a report")) };
            let want: Props = members.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(m.props, want);
        }

        /// Flat objects of random keys and scalar values: the scanner agrees with serde_json.
        #[test]
        fn fast_path_agrees_on_flat_objects(
            fields in proptest::collection::vec((
                prop_oneof![Just("cmd".to_owned()), Just("sid".to_owned()), Just("short_id".to_owned()), Just("data".to_owned()), "[a-z_\\\\\"]{0,6}"],
                prop_oneof![
                    "\"([ -!#-\\[\\]-~]|\\\\[\"\\\\/bfnrtu]){0,8}\"",
                    "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?",
                    "-?[0-9.eE+-]{1,6}",
                    Just("true".to_owned()), Just("null".to_owned()), Just("[1]".to_owned()),
                ],
            ), 0..6),
            ws in "[ \t\n]{0,2}",
        ) {
            let body: Vec<String> = fields.iter().map(|(k, v)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}")).collect();
            let text = format!("{ws}{{{}}}{ws}", body.join(","));
            prop_assert!(agrees_with_serde(&text), "{}", text);
            let _ = decode_str(&text);
        }

        #[test]
        fn arbitrary_json_never_panics(v in proptest::arbitrary::any::<u8>().prop_flat_map(|_| message()), cut in 0usize..400) {
            let bytes = encode(&v, ProtoVersion::V1);
            let _ = decode(&bytes[..cut.min(bytes.len())]);
        }
    }
}
