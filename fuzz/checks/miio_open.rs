//! `miio_open`: fuzz the miIO packet layer: header, hello and hello-reply parsing, `open` (checksum, AES,
//! padding) and JSON-RPC decoding (with the quirk repairs) must never panic. Whatever opens
//! must re-seal to the same bytes, and whatever decodes as an envelope must re-encode to
//! something that decodes to the same envelope.
use lumi_proto::miio::{
    Cipher, Header, Hello, HelloReply, MiioToken, ReplyOutcome, RpcMessage, decode_value,
    json_text, trim_nuls,
};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// md5("rust-miio vector token A"), the token of most corpus records.
const TOKEN: [u8; 16] = [
    0xb5, 0xf2, 0x60, 0xc7, 0x9a, 0xd5, 0xc2, 0xe8, 0x5e, 0x7b, 0x64, 0x11, 0x81, 0x98, 0xf9, 0xbb,
];

fn cipher() -> &'static Cipher {
    static CIPHER: OnceLock<Cipher> = OnceLock::new();
    CIPHER.get_or_init(|| Cipher::new(&MiioToken::from_bytes(TOKEN)))
}

/// Equality of JSON values that allows the last-bit float differences of serde_json's default
/// (not exactly round-tripping) float parser.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => map_eq(x, y),
        _ => a == b,
    }
}

fn map_eq(x: &Map<String, Value>, y: &Map<String, Value>) -> bool {
    x.len() == y.len()
        && x.iter()
            .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
}

fn msg_eq(a: &RpcMessage, b: &RpcMessage) -> bool {
    match (a, b) {
        (RpcMessage::Request(x), RpcMessage::Request(y)) => {
            x.id == y.id
                && x.method == y.method
                && x.from == y.from
                && json_eq(&x.params, &y.params)
                && map_eq(&x.extra, &y.extra)
        }
        (RpcMessage::Reply(x), RpcMessage::Reply(y)) => {
            x.id == y.id
                && map_eq(&x.extra, &y.extra)
                && match (&x.outcome, &y.outcome) {
                    (ReplyOutcome::Result(v), ReplyOutcome::Result(w)) => json_eq(v, w),
                    (ReplyOutcome::Error(e), ReplyOutcome::Error(f)) => {
                        e.code == f.code && e.message == f.message && map_eq(&e.data, &f.data)
                    }
                    (ReplyOutcome::Missing, ReplyOutcome::Missing) => true,
                    _ => false,
                }
        }
        _ => false,
    }
}

fn check_rpc(payload: &[u8]) {
    let _ = json_text(payload);
    let _ = trim_nuls(payload);
    let _ = decode_value(payload);
    if let Ok(msg) = RpcMessage::decode(payload) {
        let again = RpcMessage::decode(&msg.encode()).expect("an encoded envelope decodes");
        assert!(msg_eq(&again, &msg), "{again:?} != {msg:?}");
    }
}

/// One input.
pub fn run(data: &[u8]) {
    let _ = Header::parse(data);
    if let Ok(hello) = Hello::parse(data) {
        assert_eq!(hello.to_bytes().as_slice(), data);
    }
    let _ = HelloReply::parse(data);

    let cipher = cipher();
    if let Ok(opened) = cipher.open(data) {
        let resealed = cipher
            .seal(opened.device_id(), opened.stamp(), &opened.payload)
            .expect("an opened payload fits in a packet");
        // `seal` always writes unknown = 0.
        if opened.header.unknown == 0 {
            assert_eq!(resealed.as_slice(), data);
        }
        check_rpc(&opened.payload);
    }
    let mut buf = data.to_vec();
    let _ = cipher.open_in_place(&mut buf);

    // Checksums stop almost every input before decryption, so also feed the raw bytes to the
    // JSON layer directly.
    check_rpc(data);
}
