//! Fuzz the LAN API decoder: any bytes decode or fail cleanly, and whatever decodes
//! re-encodes (in both versions) to something that decodes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumi_proto::lan::{self, ProtoVersion};

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = lan::decode(data) {
        for v in [ProtoVersion::V1, ProtoVersion::V2] {
            let bytes = lan::encode(&d.message, v);
            let again = lan::decode(&bytes).expect("an encoded message decodes");
            if Some(v) == d.version {
                assert_eq!(again.message, d.message);
            }
        }
    }
});
