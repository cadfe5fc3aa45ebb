//! Tests of the miIO module: the 38 corpus vectors, a malformed-input sweep, property tests.

use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::*;

const CORPUS: &str = include_str!("../../../../../shared/corpus/miio.jsonl");

#[derive(Debug, Deserialize)]
struct Record {
    source: String,
    token: Option<String>,
    device_id: u32,
    stamp: u32,
    payload: Option<String>,
    packet_hex: String,
    #[allow(dead_code)]
    note: String,
    kind: String,
    python_miio_parse: Value,
}

impl Record {
    fn packet(&self) -> Vec<u8> {
        hex::decode(&self.packet_hex).expect("corpus packet_hex is hex")
    }

    fn token(&self) -> Option<MiioToken> {
        self.token
            .as_deref()
            .map(|t| t.parse().expect("corpus token parses"))
    }
}

fn corpus() -> Vec<Record> {
    CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("corpus line is a record"))
        .collect()
}

#[test]
fn corpus_has_38_records() {
    let records = corpus();
    assert_eq!(records.len(), 38);
    let with_token = records.iter().filter(|r| r.token.is_some()).count();
    let hellos = records.iter().filter(|r| r.payload.is_none()).count();
    assert_eq!(with_token + hellos, 38);
    assert_eq!(hellos, 7);
}

#[test]
fn corpus_open_gives_payload_did_stamp() {
    for (n, r) in corpus().iter().enumerate() {
        let Some(token) = r.token() else { continue };
        let payload = r.payload.as_deref().expect("token records have a payload");
        let packet = r.packet();
        let opened = open(&token, &packet).unwrap_or_else(|e| panic!("record {}: {e}", n + 1));
        assert_eq!(opened.payload, payload.as_bytes(), "record {}", n + 1);
        assert_eq!(
            opened.device_id(),
            DeviceId(r.device_id),
            "record {}",
            n + 1
        );
        assert_eq!(opened.stamp(), r.stamp, "record {}", n + 1);
        assert_eq!(opened.header.unknown, 0, "record {}", n + 1);
        assert_eq!(usize::from(opened.header.length), packet.len());

        // The in-place variant agrees.
        let mut buf = packet.clone();
        let (h, plain) = Cipher::new(&token)
            .open_in_place(&mut buf)
            .expect("open_in_place");
        assert_eq!(h, opened.header);
        assert_eq!(plain, payload.as_bytes());
    }
}

#[test]
fn corpus_seal_reproduces_packet() {
    for (n, r) in corpus().iter().enumerate() {
        let Some(token) = r.token() else { continue };
        let payload = r.payload.as_deref().expect("payload");
        let sealed = seal(&token, DeviceId(r.device_id), r.stamp, payload.as_bytes())
            .expect("corpus payloads fit");
        assert_eq!(
            hex::encode(&sealed),
            r.packet_hex,
            "record {} ({})",
            n + 1,
            r.source
        );

        let mut reused = vec![1, 2, 3];
        Cipher::new(&token)
            .seal_into(
                DeviceId(r.device_id),
                r.stamp,
                payload.as_bytes(),
                &mut reused,
            )
            .expect("seal_into");
        assert_eq!(reused, sealed);
    }
}

#[test]
fn corpus_hello_records() {
    let mut revealed = Vec::new();
    for (n, r) in corpus().iter().enumerate() {
        if r.payload.is_some() {
            continue;
        }
        assert!(r.kind.contains("hello"), "record {}: {}", n + 1, r.kind);
        let packet = r.packet();
        let header = Header::parse(&packet).expect("hello header");
        assert_eq!(header.device_id, DeviceId(r.device_id));
        assert_eq!(header.stamp, r.stamp);
        // A hello-sized packet has nothing to open.
        assert_eq!(
            open(&MiioToken::ZERO, &packet).unwrap_err(),
            PacketError::NoPayload
        );
        match Hello::parse(&packet).expect("hello parses") {
            Hello::Request => {
                assert_eq!(r.kind, "gen-hello");
                assert!(is_hello(&packet));
                assert_eq!(packet, HELLO);
                assert_eq!(
                    HelloReply::parse(&packet),
                    Err(PacketError::UnexpectedHelloRequest)
                );
            }
            Hello::Reply(reply) => {
                assert!(r.kind.ends_with("hello-reply"), "record {}", n + 1);
                assert_eq!(reply.device_id, DeviceId(r.device_id));
                assert_eq!(reply.stamp, r.stamp);
                assert_eq!(reply.unknown, 0);
                assert_eq!(reply.to_bytes().as_slice(), packet.as_slice());
                assert_eq!(HelloReply::parse(&packet), Ok(reply));
                let field = &packet[16..32];
                let hidden = field.iter().all(|&b| b == 0) || field.iter().all(|&b| b == 0xff);
                assert_eq!(reply.token_revealed(), !hidden);
                if let Some(t) = reply.revealed_token() {
                    assert_eq!(t.as_bytes().as_slice(), field);
                    revealed.push(n + 1);
                }
            }
        }
    }
    // The unprovisioned vacuum (record 8) and the 2017 chuangmi plug (record 14).
    assert_eq!(revealed, [8, 14]);
    let r8 = &corpus()[7];
    let HelloToken::Revealed(t) = HelloReply::parse(&r8.packet()).unwrap().token else {
        panic!("record 8 reveals its token")
    };
    assert_eq!(t.as_bytes(), b"3VAx73HL6aZxVYBc");
}

/// What python-miio would see for a typed envelope, compared member by member.
fn assert_matches_python(n: usize, msg: &RpcMessage, py: &Map<String, Value>) {
    let id = py.get("id").and_then(Value::as_u64);
    match msg {
        RpcMessage::Request(r) => {
            assert_eq!(Some(r.id), id, "record {n}");
            assert_eq!(Some(r.method.as_str()), py["method"].as_str(), "record {n}");
            assert_eq!(
                &r.params,
                py.get("params").unwrap_or(&json!([])),
                "record {n}"
            );
            assert_eq!(
                r.from.as_deref(),
                py.get("from").and_then(Value::as_str),
                "record {n}"
            );
            let others: Map<String, Value> = py
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "id" | "method" | "params" | "from"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(r.extra, others, "record {n}");
        }
        RpcMessage::Reply(r) => {
            assert!(!py.contains_key("method"), "record {n}");
            assert_eq!(r.id, id, "record {n}");
            match (&r.outcome, py.get("error"), py.get("result")) {
                (ReplyOutcome::Error(e), Some(pe), _) => {
                    assert_eq!(Some(e.code), pe["code"].as_i64(), "record {n}");
                    let msg = pe
                        .get("message")
                        .or_else(|| pe.get("error"))
                        .and_then(Value::as_str);
                    assert_eq!(Some(e.message.as_str()), msg, "record {n}");
                }
                (ReplyOutcome::Result(v), None, Some(pr)) => assert_eq!(v, pr, "record {n}"),
                (ReplyOutcome::Missing, None, None) => {}
                (o, _, _) => panic!("record {n}: outcome {o:?} vs python {py:?}"),
            }
            let others: Map<String, Value> = py
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "id" | "result" | "error"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(r.extra, others, "record {n}");
        }
    }
}

#[test]
fn corpus_rpc_agrees_with_python_miio() {
    let mut checked = 0;
    for (i, r) in corpus().iter().enumerate() {
        let n = i + 1;
        let Some(payload) = r.payload.as_deref() else {
            continue;
        };
        let payload = payload.as_bytes();
        match &r.python_miio_parse {
            Value::Object(py) => {
                let v = decode_value(payload).unwrap_or_else(|e| panic!("record {n}: {e}"));
                assert_eq!(&v, &r.python_miio_parse, "record {n}");
                let msg = RpcMessage::decode(payload).unwrap_or_else(|e| panic!("record {n}: {e}"));
                assert_matches_python(n, &msg, py);
                // Re-encoding (compact + NUL) decodes to the same envelope.
                let again = RpcMessage::decode(&msg.encode()).expect("re-encoded decodes");
                assert_eq!(again, msg, "record {n}");
                checked += 1;
            }
            other => {
                // Record 12: 19 bytes of non-JSON; python-miio raised.
                assert!(other.is_string(), "record {n}");
                assert!(matches!(
                    RpcMessage::decode(payload),
                    Err(RpcError::InvalidJson { .. })
                ));
            }
        }
    }
    assert_eq!(checked, 30);
}

#[test]
fn corpus_quirk_records_decode() {
    let records = corpus();
    let r28 = RpcReply::decode(records[27].payload.as_deref().unwrap().as_bytes()).unwrap();
    assert_eq!(r28.id, Some(123456));
    assert_eq!(r28.outcome, ReplyOutcome::Missing);
    let r29 = RpcReply::decode(records[28].payload.as_deref().unwrap().as_bytes()).unwrap();
    assert_eq!(r29.id, Some(123456));
    assert_eq!(r29.extra.get("otu_stat"), Some(&json!(0)));
    // The gateway push (record 37) keeps `from`.
    let r37 = RpcRequest::decode(records[36].payload.as_deref().unwrap().as_bytes()).unwrap();
    assert_eq!(r37.method, "click_ch0:lumi_158d0001a2b3c4");
    assert_eq!(r37.from.as_deref(), Some("nbl.134550490"));
    assert_eq!(r37.id, 619969141);
    // python-miio's fake-device error puts the text under "error" (record 22).
    let r22 = RpcReply::decode(records[21].payload.as_deref().unwrap().as_bytes()).unwrap();
    assert_eq!(
        r22.into_result(),
        Err(DeviceError::new(-2, "unsupported method"))
    );
}

/// Runs every parser on `data`; must not panic.
fn poke(cipher: &Cipher, data: &[u8]) -> Result<Opened, PacketError> {
    let _ = Header::parse(data);
    let _ = Hello::parse(data);
    let _ = HelloReply::parse(data);
    let _ = is_hello(data);
    let mut copy = data.to_vec();
    let in_place = cipher
        .open_in_place(&mut copy)
        .map(|(h, p)| (h, p.to_vec()));
    let opened = cipher.open(data);
    assert_eq!(
        in_place,
        opened
            .as_ref()
            .map(|o| (o.header, o.payload.clone()))
            .map_err(|e| *e)
    );
    if let Ok(o) = &opened {
        let _ = o.rpc();
    }
    opened
}

#[test]
fn malformed_sweep_never_panics_and_detects_corruption() {
    for (i, r) in corpus().iter().enumerate() {
        let n = i + 1;
        let packet = r.packet();
        let cipher = Cipher::new(&r.token().unwrap_or(MiioToken::ZERO));
        let has_payload = r.payload.is_some();
        for cut in 0..packet.len() {
            let res = poke(&cipher, &packet[..cut]);
            assert!(res.is_err(), "record {n} truncated to {cut}");
            if let Some(p) = &r.payload {
                let _ = decode_value(&p.as_bytes()[..cut.min(p.len())]);
            }
        }
        for pos in 0..packet.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut bad = packet.clone();
                bad[pos] ^= x;
                let res = poke(&cipher, &bad);
                if let Some(p) = &r.payload {
                    let mut bp = p.as_bytes().to_vec();
                    if pos < bp.len() {
                        bp[pos] ^= x;
                        let _ = RpcMessage::decode(&bp);
                    }
                }
                if !has_payload {
                    assert!(res.is_err(), "record {n}");
                    continue;
                }
                let err = res.expect_err("a corrupted packet must not open");
                match pos {
                    0..=1 => assert!(matches!(err, PacketError::BadMagic { .. })),
                    2..=3 => assert!(matches!(err, PacketError::LengthMismatch { .. })),
                    _ => {
                        let did = Header::from_bytes(bad.first_chunk().unwrap()).device_id;
                        assert_eq!(
                            err,
                            PacketError::ChecksumMismatch { device_id: did },
                            "record {n} byte {pos} ^ {x:#x}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn wrong_token_is_checksum_mismatch() {
    for r in corpus() {
        let Some(token) = r.token() else { continue };
        let mut wrong = *token.as_bytes();
        wrong[15] ^= 1;
        let err = open(&MiioToken::from_bytes(wrong), &r.packet()).unwrap_err();
        assert_eq!(
            err,
            PacketError::ChecksumMismatch {
                device_id: DeviceId(r.device_id)
            }
        );
    }
}

fn bad_padding_packet(token: &MiioToken, last_byte: u8) -> Vec<u8> {
    use aes::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::NoPadding};
    use md5::{Digest, Md5};
    let key = Md5::digest(token.as_bytes());
    let iv = Md5::new()
        .chain_update(key)
        .chain_update(token.as_bytes())
        .finalize();
    let mut block = *b"{\"id\":1}\0\0\0\0\0\0\0\0";
    block[15] = last_byte;
    let ct = cbc::Encryptor::<aes::Aes128>::new(&key, &iv).encrypt_padded_vec::<NoPadding>(&block);
    let mut packet = Header {
        length: 48,
        unknown: 0,
        device_id: DeviceId(7),
        stamp: 9,
        checksum: *token.as_bytes(),
    }
    .to_bytes()
    .to_vec();
    packet.extend_from_slice(&ct);
    let sum = Md5::digest(&packet);
    packet[16..32].copy_from_slice(&sum);
    packet
}

#[test]
fn bad_padding_is_rejected_after_a_valid_checksum() {
    let token: MiioToken = "00112233445566778899aabbccddeeff".parse().unwrap();
    let cipher = Cipher::new(&token);
    for last in [0u8, 17, 0xff, 2] {
        let packet = bad_padding_packet(&token, last);
        assert!(cipher.verify(&packet).is_ok());
        assert_eq!(
            cipher.open(&packet).unwrap_err(),
            PacketError::BadPadding {
                device_id: DeviceId(7)
            },
            "last byte {last}"
        );
    }
    // A well-padded block (1 byte of padding 0x01) opens.
    let packet = bad_padding_packet(&token, 1);
    assert_eq!(
        cipher.open(&packet).unwrap().payload,
        b"{\"id\":1}\0\0\0\0\0\0\0"
    );
}

#[test]
fn header_errors() {
    assert_eq!(Header::parse(&[]), Err(PacketError::TooShort { len: 0 }));
    assert_eq!(
        Header::parse(&[0x21, 0x31, 0, 0x20]),
        Err(PacketError::TooShort { len: 4 })
    );
    let mut h = HELLO;
    h[0] = 0x12;
    assert_eq!(
        Header::parse(&h),
        Err(PacketError::BadMagic { found: 0x1231 })
    );
    let mut long = HELLO.to_vec();
    long.extend_from_slice(&[0; 16]);
    assert_eq!(
        Header::parse(&long),
        Err(PacketError::LengthMismatch {
            header: 32,
            datagram: 48
        })
    );
    long[3] = 48;
    assert!(Header::parse(&long).is_ok());
    assert_eq!(Hello::parse(&long), Err(PacketError::NotHello { len: 48 }));
    long.push(0);
    long[3] = 49;
    assert_eq!(
        Header::parse(&long),
        Err(PacketError::UnalignedPayload { len: 17 })
    );
    let mut huge = vec![0u8; 70_000];
    huge[0] = 0x21;
    huge[1] = 0x31;
    assert_eq!(
        Header::parse(&huge),
        Err(PacketError::TooLong { len: 70_000 })
    );
    // A length field below 32 can never equal a datagram of >= 32 bytes.
    let mut small = HELLO;
    small[3] = 16;
    assert_eq!(
        Header::parse(&small),
        Err(PacketError::LengthMismatch {
            header: 16,
            datagram: 32
        })
    );
}

#[test]
fn seal_limits() {
    let cipher = Cipher::new(&MiioToken::ZERO);
    let max = vec![b'x'; MAX_PLAINTEXT];
    let packet = cipher.seal(DeviceId(1), 2, &max).expect("max fits");
    assert_eq!(packet.len(), 65520);
    assert_eq!(cipher.open(&packet).unwrap().payload, max);
    let too_big = vec![b'x'; MAX_PLAINTEXT + 1];
    assert_eq!(
        cipher.seal(DeviceId(1), 2, &too_big),
        Err(PacketError::PayloadTooLarge {
            len: MAX_PLAINTEXT + 1,
            max: MAX_PLAINTEXT
        })
    );
    // Empty plaintext: one block of padding, a 48-byte packet.
    let empty = cipher.seal(DeviceId(1), 2, b"").unwrap();
    assert_eq!(empty.len(), 48);
    assert_eq!(cipher.open(&empty).unwrap().payload, b"");
    assert_eq!(cipher.open(&empty).unwrap().json_text(), Ok(""));
    assert_eq!(RpcMessage::decode(b""), Err(RpcError::Empty));
}

#[test]
fn hello_reply_builders() {
    let token: MiioToken = "335641783733484c36615a7856594263".parse().unwrap();
    let r = HelloReply::revealing(DeviceId(0x034f0e45), 553, token);
    assert_eq!(
        hex::encode(r.to_bytes()),
        "2131002000000000034f0e4500000229335641783733484c36615a7856594263"
    );
    assert_eq!(r.revealed_token(), Some(token));
    let fake = HelloReply::hidden(DeviceId(180097588), 1234567);
    assert_eq!(HelloReply::parse(&fake.to_bytes()), Ok(fake));
    assert!(!fake.token_revealed());
    assert_eq!(&fake.to_bytes()[16..], &[0u8; 16]);
    assert_eq!(Hello::Request.to_bytes(), HELLO);
    assert_eq!(
        hex::encode(HELLO),
        "21310020ffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    );
}

#[test]
fn token_parsing() {
    let lower: MiioToken = "9c3b2d1da5beceee2808a3d3653b485d".parse().unwrap();
    let upper: MiioToken = " 9C3B2D1DA5BECEEE2808A3D3653B485D\n".parse().unwrap();
    assert_eq!(lower, upper);
    assert_eq!(lower.expose_hex(), "9c3b2d1da5beceee2808a3d3653b485d");
    assert_eq!(
        "9c3b".parse::<MiioToken>(),
        Err(ParseTokenError::Length { len: 4 })
    );
    assert_eq!(
        "9c3b2d1da5beceee2808a3d3653b485z".parse::<MiioToken>(),
        Err(ParseTokenError::NotHex)
    );
    assert_eq!(
        "9c3b2d1da5beceee2808a3d3653b48é".parse::<MiioToken>(),
        Err(ParseTokenError::NotHex)
    );
    assert!(MiioToken::ZERO.is_placeholder());
    assert!(MiioToken::from_bytes([0xff; 16]).is_placeholder());
    assert!(!lower.is_placeholder());
    assert_eq!("75223477".parse::<DeviceId>(), Ok(DeviceId(75223477)));
    assert_eq!(DeviceId(75223477).to_string(), "75223477");
}

#[test]
fn nothing_prints_the_token() {
    let mut secrets: Vec<(MiioToken, String)> = corpus()
        .iter()
        .filter_map(|r| r.token.clone().map(|t| (r.token().unwrap(), t)))
        .collect();
    // Tokens revealed in hello replies (records 8 and 14).
    for r in corpus().iter().filter(|r| r.payload.is_none()) {
        if let Ok(reply) = HelloReply::parse(&r.packet())
            && let Some(t) = reply.revealed_token()
        {
            secrets.push((t, hex::encode(t.as_bytes())));
            let header = Header::parse(&r.packet()).unwrap();
            let shown = format!("{reply:?} {:?} {header:?}", reply.token);
            assert!(shown.contains("<token, redacted>"), "{shown}");
            assert!(!shown.contains(&hex::encode(t.as_bytes())), "{shown}");
        }
    }
    for (token, hex_lower) in &secrets {
        let hex_upper = hex_lower.to_uppercase();
        let cipher = Cipher::new(token);
        let mut shown = vec![
            format!("{token:?}"),
            format!("{token}"),
            format!("{token:#?}"),
            format!("{cipher:?}"),
            format!("{cipher:#?}"),
            format!("{:?}", HelloToken::Revealed(*token)),
        ];
        assert_eq!(shown[0], "MiioToken(****)");
        assert_eq!(shown[1], "MiioToken(****)");
        // Errors produced while using this token.
        let did = DeviceId(1);
        let errors = [
            PacketError::TooShort { len: 3 },
            PacketError::TooLong { len: 70000 },
            PacketError::BadMagic { found: 0x1234 },
            PacketError::LengthMismatch {
                header: 1,
                datagram: 2,
            },
            PacketError::UnalignedPayload { len: 5 },
            PacketError::NoPayload,
            PacketError::NotHello { len: 48 },
            PacketError::UnexpectedHelloRequest,
            PacketError::ChecksumMismatch { device_id: did },
            PacketError::BadPadding { device_id: did },
            PacketError::PayloadTooLarge { len: 1, max: 2 },
            open(
                &MiioToken::from_bytes(token.as_bytes().map(|b| !b)),
                &seal(token, did, 1, b"{}").unwrap(),
            )
            .unwrap_err(),
            cipher.open(&bad_padding_packet(token, 0)).unwrap_err(),
        ];
        for e in &errors {
            shown.push(format!("{e} {e:?}"));
        }
        for input in [
            &hex_lower[..31],
            &format!("{hex_lower}0"),
            &format!("{}g", &hex_lower[..31]),
        ] {
            let e = input.parse::<MiioToken>().unwrap_err();
            shown.push(format!("{e} {e:?}"));
        }
        for e in [
            RpcError::Empty,
            RpcError::NotUtf8 { valid_up_to: 1 },
            RpcError::InvalidJson { line: 1, column: 2 },
            RpcError::NotAnObject { found: "array" },
            RpcError::NotAnEnvelope,
            RpcError::MissingId,
            RpcError::InvalidId { found: "string" },
            RpcError::InvalidMethod { found: "null" },
            RpcError::InvalidErrorObject { reason: "x" },
            RpcError::UnexpectedReply,
            RpcError::UnexpectedRequest,
        ] {
            shown.push(format!("{e} {e:?}"));
        }
        for s in &shown {
            assert!(!s.contains(hex_lower.as_str()), "{s}");
            assert!(!s.contains(hex_upper.as_str()), "{s}");
        }
    }
}

#[test]
fn rpc_encoding_is_compact_with_nul() {
    let req = RpcRequest::without_params(1, "miIO.info");
    assert_eq!(
        req.encode(),
        b"{\"id\":1,\"method\":\"miIO.info\",\"params\":[]}\0"
    );
    let mut sub = RpcRequest::new(7, "toggle_plug", json!(["neutral_0", "on"]));
    sub.extra.insert("sid".into(), json!("lumi.158d0001a2b3c4"));
    assert_eq!(
        sub.to_json(),
        r#"{"id":7,"method":"toggle_plug","params":["neutral_0","on"],"sid":"lumi.158d0001a2b3c4"}"#
    );
    assert_eq!(
        RpcReply::result(619969141, json!(0)).encode(),
        b"{\"id\":619969141,\"result\":0}\0"
    );
    assert_eq!(
        RpcReply::error(3, -9999, "user ack timeout").to_json(),
        r#"{"id":3,"error":{"code":-9999,"message":"user ack timeout"}}"#
    );
    let mut push = RpcRequest::without_params(619969141, "click_ch0:lumi_158d0001a2b3c4");
    push.from = Some("nbl.134550490".into());
    assert_eq!(
        push.to_json(),
        r#"{"id":619969141,"method":"click_ch0:lumi_158d0001a2b3c4","params":[],"from":"nbl.134550490"}"#
    );
}

#[test]
fn rpc_decoding_tolerates_real_shapes() {
    let r = RpcReply::decode(br#"{"id":2,"result":["ok"],"exe_time":0}"#).unwrap();
    assert_eq!(r.outcome, ReplyOutcome::Result(json!(["ok"])));
    assert_eq!(r.extra.get("exe_time"), Some(&json!(0)));
    let info = RpcReply::decode(
        br#"{"result":{"model":"lumi.gateway.v3"},"id":9,"partner_id":"","code":0,"message":"ok"}"#,
    )
    .unwrap();
    assert_eq!(info.id, Some(9));
    assert_eq!(info.extra.get("message"), Some(&json!("ok")));
    assert!(matches!(info.outcome, ReplyOutcome::Result(_)));
    let e = RpcReply::decode(br#"{"error":{"code":-2,"error":"text"}}"#).unwrap();
    assert_eq!(e.id, None);
    assert_eq!(e.into_result(), Err(DeviceError::new(-2, "text")));
    let e =
        RpcReply::decode(b"{\"id\":4,\"error\":{\"code\":-9999,\"message\":\"UART timeout\"}}\0")
            .unwrap();
    let err = e.into_result().unwrap_err();
    assert!(err.is_recoverable());
    assert_eq!(err.to_string(), "device error -9999: \"UART timeout\"");
    let req = RpcRequest::decode(b"{\"id\": 1, \"method\": \"get_status\"}\0").unwrap();
    assert_eq!(req.params, json!([]));
    // Gateway quirks.
    let r = RpcReply::decode(br#"{"result":[,],"id":5}"#).unwrap();
    assert_eq!(r.outcome, ReplyOutcome::Result(json!([null, null])));
    let r = RpcReply::decode(br#"{"id":5,"result":[{"value":00},06]}"#).unwrap();
    assert_eq!(r.outcome, ReplyOutcome::Result(json!([{"value": 0}, 6])));
    let r = RpcReply::decode(br#"{"result":,"id":6}"#).unwrap();
    assert_eq!(r.outcome, ReplyOutcome::Missing);
    let r = RpcReply::decode(br#"{"result":[net],"id":6}"#).unwrap();
    assert_eq!(r.outcome, ReplyOutcome::Result(json!(["net"])));
    // `null` id.
    let r = RpcReply::decode(br#"{"id":null,"result":1}"#).unwrap();
    assert_eq!(r.id, None);
}

#[test]
fn rpc_decoding_errors() {
    assert_eq!(RpcMessage::decode(b"\0\0"), Err(RpcError::Empty));
    assert_eq!(RpcMessage::decode(b"  \0x"), Err(RpcError::Empty));
    assert_eq!(
        RpcMessage::decode(b"{\"id\":\xff}"),
        Err(RpcError::NotUtf8 { valid_up_to: 6 })
    );
    assert!(matches!(
        RpcMessage::decode(b"{\"id\":"),
        Err(RpcError::InvalidJson { line: 1, .. })
    ));
    assert_eq!(
        RpcMessage::decode(b"[1,2]"),
        Err(RpcError::NotAnObject { found: "array" })
    );
    assert_eq!(
        RpcMessage::decode(br#"{"x":1}"#),
        Err(RpcError::NotAnEnvelope)
    );
    assert_eq!(
        RpcMessage::decode(br#"{"method":"m"}"#),
        Err(RpcError::MissingId)
    );
    assert_eq!(
        RpcMessage::decode(br#"{"method":"m","id":-1}"#),
        Err(RpcError::InvalidId {
            found: "negative integer"
        })
    );
    assert_eq!(
        RpcMessage::decode(br#"{"id":"1","result":0}"#),
        Err(RpcError::InvalidId { found: "string" })
    );
    assert_eq!(
        RpcMessage::decode(br#"{"method":5,"id":1}"#),
        Err(RpcError::InvalidMethod { found: "integer" })
    );
    assert!(matches!(
        RpcMessage::decode(br#"{"id":1,"error":"boom"}"#),
        Err(RpcError::InvalidErrorObject { .. })
    ));
    assert!(matches!(
        RpcMessage::decode(br#"{"id":1,"error":{"message":"no code"}}"#),
        Err(RpcError::InvalidErrorObject { .. })
    ));
    assert_eq!(
        RpcRequest::decode(br#"{"id":1,"result":0}"#),
        Err(RpcError::UnexpectedReply)
    );
    assert_eq!(
        RpcReply::decode(br#"{"id":1,"method":"m"}"#),
        Err(RpcError::UnexpectedRequest)
    );
}

#[test]
fn payload_text_helpers() {
    assert_eq!(trim_nuls(b"{}\0\0"), b"{}");
    assert_eq!(trim_nuls(b"\0\0"), b"");
    assert_eq!(trim_nuls(b"{}\0k"), b"{}\0k");
    assert_eq!(json_text(b"{}\0k"), Ok("{}"));
    assert_eq!(json_text(b"{}"), Ok("{}"));
}

// ---------------------------------------------------------------------------------------------
// Property tests.

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        "\\PC{0,10}".prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_extra(reserved: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z_]{1,8}", arb_json(), 0..3).prop_map(move |m| {
        m.into_iter()
            .filter(|(k, _)| !reserved.contains(&k.as_str()))
            .collect()
    })
}

fn arb_request() -> impl Strategy<Value = RpcRequest> {
    (
        any::<u64>(),
        "\\PC{0,20}",
        arb_json(),
        proptest::option::of("\\PC{0,12}"),
        arb_extra(&["id", "method", "params", "from"]),
    )
        .prop_map(|(id, method, params, from, extra)| RpcRequest {
            id,
            method,
            params,
            from,
            extra,
        })
}

fn arb_reply() -> impl Strategy<Value = RpcReply> {
    let outcome = prop_oneof![
        arb_json().prop_map(ReplyOutcome::Result),
        (any::<i64>(), "\\PC{0,20}", arb_extra(&["code", "message"])).prop_map(
            |(code, message, data)| ReplyOutcome::Error(DeviceError {
                code,
                message,
                data
            })
        ),
        Just(ReplyOutcome::Missing),
    ];
    (
        proptest::option::of(any::<u64>()),
        outcome,
        arb_extra(&["id", "result", "error", "method"]),
    )
        .prop_map(|(id, outcome, extra)| {
            // A reply with neither id nor outcome is not an envelope.
            let id = if id.is_none() && outcome == ReplyOutcome::Missing {
                Some(0)
            } else {
                id
            };
            RpcReply { id, outcome, extra }
        })
}

proptest! {
    #[test]
    fn seal_open_round_trip(
        token in any::<[u8; 16]>(),
        did in any::<u32>(),
        stamp in any::<u32>(),
        payload in prop::collection::vec(any::<u8>(), 0..2000),
    ) {
        let token = MiioToken::from_bytes(token);
        let cipher = Cipher::new(&token);
        let packet = cipher.seal(DeviceId(did), stamp, &payload).unwrap();
        prop_assert_eq!(packet.len(), 32 + (payload.len() / 16 + 1) * 16);
        prop_assert_eq!(&packet, &seal(&token, DeviceId(did), stamp, &payload).unwrap());
        let opened = open(&token, &packet).unwrap();
        prop_assert_eq!(&opened.payload, &payload);
        prop_assert_eq!(opened.device_id(), DeviceId(did));
        prop_assert_eq!(opened.stamp(), stamp);
        let mut buf = packet.clone();
        let (h, plain) = cipher.open_in_place(&mut buf).unwrap();
        prop_assert_eq!(h, opened.header);
        prop_assert_eq!(plain, payload.as_slice());
    }

    #[test]
    fn header_write_parse_round_trip(
        blocks in 0usize..8,
        unknown in any::<u32>(),
        did in any::<u32>(),
        stamp in any::<u32>(),
        checksum in any::<[u8; 16]>(),
        any_length in any::<u16>(),
    ) {
        let length = u16::try_from(32 + 16 * blocks).unwrap();
        let header = Header { length, unknown, device_id: DeviceId(did), stamp, checksum };
        let mut datagram = header.to_bytes().to_vec();
        datagram.resize(usize::from(length), 0xa5);
        prop_assert_eq!(Header::parse(&datagram), Ok(header));
        prop_assert_eq!(header.payload_len(), 16 * blocks);
        // Without validation any length round-trips.
        let raw = Header { length: any_length, ..header };
        prop_assert_eq!(Header::from_bytes(&raw.to_bytes()), raw);
    }

    #[test]
    fn hello_reply_round_trip(did in any::<u32>(), stamp in any::<u32>(), field in any::<[u8; 16]>()) {
        let reply = HelloReply {
            unknown: 0,
            device_id: DeviceId(did),
            stamp,
            token: HelloToken::from_field(field),
        };
        let bytes = reply.to_bytes();
        prop_assert_eq!(&bytes[16..], &field);
        prop_assert_eq!(Hello::parse(&bytes), Ok(Hello::Reply(reply)));
    }

    #[test]
    fn rpc_request_round_trip(req in arb_request()) {
        let bytes = req.encode();
        prop_assert_eq!(bytes.last(), Some(&0));
        prop_assert_eq!(RpcRequest::decode(&bytes), Ok(req.clone()));
        prop_assert_eq!(RpcMessage::decode(req.to_json().as_bytes()), Ok(RpcMessage::Request(req)));
    }

    #[test]
    fn rpc_reply_round_trip(reply in arb_reply()) {
        let bytes = reply.encode();
        prop_assert_eq!(RpcReply::decode(&bytes), Ok(reply.clone()));
        // Sealed and opened, too.
        let cipher = Cipher::new(&MiioToken::ZERO);
        let opened = cipher.open(&cipher.seal(DeviceId(1), 2, &bytes).unwrap()).unwrap();
        prop_assert_eq!(opened.rpc(), Ok(RpcMessage::Reply(reply)));
    }

    #[test]
    fn decode_encode_decode_is_stable(
        id in proptest::option::of(prop_oneof![any::<u64>().prop_map(Value::from), arb_json()]),
        method in proptest::option::of(prop_oneof!["[a-z_.]{1,10}".prop_map(Value::from), arb_json()]),
        params in proptest::option::of(arb_json()),
        from in proptest::option::of(arb_json()),
        result in proptest::option::of(arb_json()),
        error in proptest::option::of(prop_oneof![
            (any::<i64>(), proptest::option::of(arb_json()), proptest::option::of(arb_json()))
                .prop_map(|(code, message, error)| {
                    let mut m = Map::new();
                    m.insert("code".into(), code.into());
                    if let Some(v) = message { m.insert("message".into(), v); }
                    if let Some(v) = error { m.insert("error".into(), v); }
                    Value::Object(m)
                }),
            arb_json(),
        ]),
        extra in arb_extra(&[]),
    ) {
        let mut m = extra;
        for (k, v) in [("id", id), ("method", method), ("params", params), ("from", from),
                       ("result", result), ("error", error)] {
            if let Some(v) = v { m.insert(k.into(), v); }
        }
        let text = Value::Object(m).to_string();
        if let Ok(msg) = RpcMessage::decode(text.as_bytes()) {
            prop_assert_eq!(RpcMessage::decode(&msg.encode()), Ok(msg));
        }
    }

    #[test]
    fn decode_never_panics(text in "[\\[\\]{}\",:0-9a-z \\\\\\x00\\x01-]{0,40}") {
        let _ = RpcMessage::decode(text.as_bytes());
    }

    #[test]
    fn open_never_panics(data in prop::collection::vec(any::<u8>(), 0..200)) {
        let cipher = Cipher::new(&MiioToken::ZERO);
        let mut with_header = data.clone();
        if with_header.len() >= 4 {
            with_header[0] = 0x21;
            with_header[1] = 0x31;
            let len = u16::try_from(with_header.len()).unwrap();
            with_header[2..4].copy_from_slice(&len.to_be_bytes());
        }
        let _ = poke(&cipher, &data);
        let _ = poke(&cipher, &with_header);
    }
}

/// Rough throughput check: `cargo test --release -- --ignored --nocapture miio_throughput`.
#[test]
#[ignore = "timing, run by hand in release mode"]
fn miio_throughput() {
    use std::time::Instant;
    let cipher = Cipher::new(&"00112233445566778899aabbccddeeff".parse().unwrap());
    let payload = vec![b'a'; 100];
    let n = 1_000_000u32;
    let mut buf = Vec::new();
    let t = Instant::now();
    for i in 0..n {
        buf = cipher.seal(DeviceId(1), i, &payload).unwrap();
    }
    let seal_rate = f64::from(n) / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut total = 0usize;
    for _ in 0..n {
        total += cipher
            .open(std::hint::black_box(&buf))
            .unwrap()
            .payload
            .len();
    }
    let open_rate = f64::from(n) / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..n {
        cipher
            .seal_into(DeviceId(1), i, &payload, &mut buf)
            .unwrap();
    }
    let seal_into_rate = f64::from(n) / t.elapsed().as_secs_f64();
    println!(
        "seal {seal_rate:.0}/s, seal_into {seal_into_rate:.0}/s, open {open_rate:.0}/s ({total})"
    );
}
