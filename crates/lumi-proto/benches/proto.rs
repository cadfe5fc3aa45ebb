//! Hot paths of the protocol core: LAN decode/encode, key derivation, catalogue conversion,
//! miIO seal/open.
//!
//! `cargo bench -p lumi-proto --bench proto` (figures in the README's performance section).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use lumi_proto::key::{GatewayPassword, WriteKey};
use lumi_proto::lan::{self, ProtoVersion, Token};

const REPORT_V1: &[u8] = br#"{"cmd":"report","model":"sensor_ht","sid":"158d0001a200f5","short_id":60049,"data":"{\"voltage\":3005,\"temperature\":\"2120\",\"humidity\":\"5277\"}"}"#;
const REPORT_DOOR_V1: &[u8] = br#"{"cmd":"report","model":"magnet","sid":"158d0001c1cdfb","short_id":56258,"data":"{\"status\":\"open\"}"}"#;
const REPORT_V2: &[u8] = br#"{"cmd":"report","model":"sensor_magnet.aq2","sid":"158d0000123456","params":[{"window_status":"open"}]}"#;
const HEARTBEAT: &[u8] = br#"{"cmd":"heartbeat","model":"gateway","sid":"34ce00fb7438","short_id":"0","token":"dcw5vsmC3GK5KEoH","data":"{\"ip\":\"172.16.15.100\"}"}"#;

fn lan(c: &mut Criterion) {
    let mut g = c.benchmark_group("lan");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_report_v1", |b| {
        b.iter(|| lan::decode(black_box(REPORT_V1)).unwrap())
    });
    g.bench_function("decode_report_door_v1", |b| {
        b.iter(|| lan::decode(black_box(REPORT_DOOR_V1)).unwrap())
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

fn catalogue(c: &mut Criterion) {
    use lumi_proto::catalogue;
    let mut g = c.benchmark_group("catalogue");
    g.throughput(Throughput::Elements(1));
    let lan::Message::Report(m) = lan::decode(REPORT_V1).unwrap().message else {
        unreachable!()
    };
    g.bench_function("typed_sensor_ht_v1", |b| {
        b.iter(|| {
            catalogue::decode(
                black_box("sensor_ht"),
                ProtoVersion::V1,
                black_box(&m.props),
            )
        })
    });
    g.bench_function("decode_and_type_report_v1", |b| {
        b.iter(|| {
            let d = lan::decode(black_box(REPORT_V1)).unwrap();
            let lan::Message::Report(m) = d.message else {
                unreachable!()
            };
            catalogue::decode(m.model.as_deref().unwrap_or(""), ProtoVersion::V1, &m.props)
        })
    });
    g.finish();
}

fn miio(c: &mut Criterion) {
    use lumi_proto::miio::{Cipher, DeviceId, MiioToken};
    let mut g = c.benchmark_group("miio");
    g.throughput(Throughput::Elements(1));
    // The 100-byte payload python-miio was measured with (miio.md §8).
    let payload = br#"{"id": 123456, "method": "get_prop", "params": ["power", "temperature", "humidity", "aqi", "mode"]}"#;
    let mut payload = payload.to_vec();
    payload.push(0);
    assert_eq!(payload.len(), 100);
    let token: MiioToken = "b5f260c79ad5c2e85e7b64118198f9bb".parse().unwrap();
    let cipher = Cipher::new(&token);
    let did = DeviceId::from(180_097_588u32);
    let packet = cipher.seal(did, 1_234_568, &payload).unwrap();
    g.bench_function("seal_100B", |b| {
        b.iter(|| {
            cipher
                .seal(did, black_box(1_234_568), black_box(&payload))
                .unwrap()
        })
    });
    let mut out = Vec::with_capacity(256);
    g.bench_function("seal_into_100B", |b| {
        b.iter(|| {
            out.clear();
            cipher
                .seal_into(did, black_box(1_234_568), black_box(&payload), &mut out)
                .unwrap()
        })
    });
    g.bench_function("open_100B", |b| {
        b.iter(|| cipher.open(black_box(&packet)).unwrap())
    });
    let mut buf = packet.clone();
    g.bench_function("open_in_place_100B", |b| {
        b.iter(|| {
            buf.copy_from_slice(&packet);
            cipher
                .open_in_place(black_box(&mut buf))
                .map(|(h, p)| (h, p.len()))
                .unwrap()
        })
    });
    g.bench_function("cipher_new", |b| b.iter(|| Cipher::new(black_box(&token))));
    g.finish();
}

criterion_group!(benches, lan, key, catalogue, miio);
criterion_main!(benches);
