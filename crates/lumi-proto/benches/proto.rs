//! Hot paths of the protocol core: LAN decode/encode, key derivation, catalogue conversion,
//! miIO seal/open.
//!
//! `cargo bench -p lumi-proto --bench proto` (figures in the README's performance section).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use lumi_proto::key::{GatewayPassword, WriteKey};
use lumi_proto::lan::{self, ProtoVersion, Token};

const REPORT_V1: &[u8] = br#"{"cmd":"report","model":"sensor_ht","sid":"158d0001a200f5","short_id":60049,"data":"{\"voltage\":3005,\"temperature\":\"2120\",\"humidity\":\"5277\"}"}"#;
const REPORT_V2: &[u8] = br#"{"cmd":"report","model":"sensor_magnet.aq2","sid":"158d0000123456","params":[{"window_status":"open"}]}"#;
const HEARTBEAT: &[u8] = br#"{"cmd":"heartbeat","model":"gateway","sid":"34ce00fb7438","short_id":"0","token":"dcw5vsmC3GK5KEoH","data":"{\"ip\":\"172.16.15.100\"}"}"#;

fn lan(c: &mut Criterion) {
    let mut g = c.benchmark_group("lan");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_report_v1", |b| {
        b.iter(|| lan::decode(black_box(REPORT_V1)).unwrap())
    });
    g.bench_function("decode_report_v2", |b| {
        b.iter(|| lan::decode(black_box(REPORT_V2)).unwrap())
    });
    g.bench_function("decode_heartbeat", |b| {
        b.iter(|| lan::decode(black_box(HEARTBEAT)).unwrap())
    });
    let msg = lan::decode(REPORT_V1).unwrap().message;
    let mut buf = Vec::with_capacity(256);
    g.bench_function("encode_report_v1", |b| {
        b.iter(|| {
            buf.clear();
            lan::encode_into(black_box(&msg), ProtoVersion::V1, &mut buf);
        })
    });
    g.finish();
}

fn key(c: &mut Criterion) {
    let mut g = c.benchmark_group("key");
    g.throughput(Throughput::Elements(1));
    let pw: GatewayPassword = "0987654321qwerty".parse().unwrap();
    let token = Token::new("1234567890abcdef");
    g.bench_function("derive_raw", |b| {
        b.iter(|| lumi_proto::key::derive_raw(black_box(&pw), black_box(b"1234567890abcdef")))
    });
    g.bench_function("derive_hex", |b| {
        b.iter(|| WriteKey::derive(black_box(&pw), black_box(&token)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, lan, key);
criterion_main!(benches);
