//! `lan_decode`: any bytes decode or fail cleanly, whatever decodes re-encodes (in both
//! versions) to something that decodes again, and the flat-envelope fast path agrees with
//! serde_json on every input.

use lumi_proto::lan::{self, ProtoVersion};

/// One input.
pub fn run(data: &[u8]) {
    // The flat-envelope fast path must agree with serde_json on everything.
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(lan::agrees_with_serde(text), "fast path differs");
    }
    if let Ok(d) = lan::decode(data) {
        for v in [ProtoVersion::V1, ProtoVersion::V2] {
            let bytes = lan::encode(&d.message, v);
            let again = lan::decode(&bytes).expect("an encoded message decodes");
            if Some(v) == d.version {
                assert_eq!(again.message, d.message);
            }
        }
    }
}
