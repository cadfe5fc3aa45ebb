//! End-to-end tests of the `lumi` binary's offline commands.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn lumi(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lumi"))
        .args(args)
        .env_remove("LUMI_PASSWORD")
        .env_remove("LUMI_MIIO_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lumi runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn stdout_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

#[test]
fn key_published_vector() {
    let out = lumi(
        &[
            "key",
            "--password",
            "0987654321qwerty",
            "--token",
            "1234567890abcdef",
        ],
        None,
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "3eb43e37c20aff4c5872cc0d04d81314"
    );
    let out = lumi(
        &[
            "key",
            "--json",
            "--password",
            "t7ew6r4y612eml0f",
            "--token",
            "dcw5vsmC3GK5KEoH",
        ],
        None,
    );
    let v = stdout_json(&out);
    assert_eq!(v["key"], "5ca39498aeba9eec3a183ff707d9c1b7");
}

#[test]
fn key_password_from_env_and_bad_password() {
    let out = Command::new(env!("CARGO_BIN_EXE_lumi"))
        .args(["key", "--token", "1234567890abcdef"])
        .env("LUMI_PASSWORD", "0987654321qwerty")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "3eb43e37c20aff4c5872cc0d04d81314"
    );

    let out = lumi(
        &[
            "key",
            "--password",
            "secretpw",
            "--token",
            "1234567890abcdef",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exactly 16 characters, got 8"), "{err}");
    assert!(!err.contains("secretpw"), "password leaked: {err}");

    let out = lumi(
        &["key", "--password", "0987654321qwerty", "--token", "8"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));
}

#[test]
fn decode_lan_from_argument_and_stdin() {
    let report = r#"{"cmd":"report","model":"magnet","sid":"158d0001c1cdfb","short_id":56258,"data":"{\"status\":\"open\"}"}"#;
    let v = stdout_json(&lumi(&["decode", report], None));
    assert_eq!(v["protocol"], "lan");
    assert_eq!(v["version"], "v1");
    assert_eq!(v["cmd"], "report");
    assert_eq!(v["message"]["sid"], "158d0001c1cdfb");
    assert_eq!(v["message"]["props"]["status"], "open");
    // The catalogue's typed state: a Mi door sensor reporting open.
    assert_eq!(v["state"]["values"]["contact"], false);

    // The README's quick-start datagram: temperature, humidity and battery, typed.
    let ht = r#"{"cmd":"report","model":"sensor_ht","sid":"158d0001a200f5","short_id":60049,"data":"{\"voltage\":3005,\"temperature\":\"2120\",\"humidity\":\"5277\"}"}"#;
    let v = stdout_json(&lumi(&["decode", ht], None));
    assert_eq!(v["state"]["values"]["temperature"], 21.2);
    assert_eq!(v["state"]["values"]["humidity"], 52.77);
    assert_eq!(v["state"]["values"]["battery"], 41);
    // Unknown models pass through raw.
    let odd = r#"{"cmd":"report","model":"lumi.mystery","sid":"158d0001c1cdfb","data":"{\"foo\":\"1\"}"}"#;
    let v = stdout_json(&lumi(&["decode", odd], None));
    assert_eq!(v["state"]["raw"]["foo"], "1");

    let v2 = r#"{"cmd":"read_rsp","model":"ctrl_neutral2","sid":"158d00025660ac","params":[{"battery_voltage":3300},{"channel_0":"off"}]}"#;
    let out = lumi(&["decode", "--json"], Some(&format!("{v2}\n")));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let v = stdout_json(&out);
    assert_eq!(v["version"], "v2");
    assert_eq!(v["cmd"], "read_rsp");
}

#[test]
fn decode_garbage_is_exit_2_with_a_clear_error() {
    for (input, want) in [
        ("hello", "not a LAN API message"),
        (r#"{"cmd":"frobnicate"}"#, "unknown command \"frobnicate\""),
        (r#"{"cmd":"read"}"#, "missing field \"sid\""),
    ] {
        let out = lumi(&["decode", input], None);
        assert_eq!(out.status.code(), Some(2), "{input}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{input}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn help_documents_exit_codes() {
    let out = lumi(&["--help"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Exit codes"), "{text}");
    assert!(text.contains("decode") && text.contains("key"));
}

/// Record 1 of the miIO corpus: a real `miIO.info` request captured by eip/miio2mqtt.
const MIIO_REQ: &str = "2131005000000000047bd1b55f53ee9bf0a2b109a80c902f0b55e5250e58f2cc95b21c4012d699586153e51f42d68c2ccdbb07b14326761acbe820ce8786ff4da71ff844841f7aee0c2b10c844b45245";
const MIIO_TOKEN: &str = "9c3b2d1da5beceee2808a3d3653b485d";

#[test]
fn decode_miio_with_token() {
    let v = stdout_json(&lumi(&["decode", "--token", MIIO_TOKEN, MIIO_REQ], None));
    assert_eq!(v["protocol"], "miio");
    assert_eq!(v["type"], "request");
    assert_eq!(v["device_id"], 75223477);
    assert_eq!(v["stamp"], 1599336091u64);
    assert_eq!(v["payload"]["method"], "miIO.info");
    // Spaced hex from a capture tool works too, from stdin.
    let spaced: String = MIIO_REQ
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let v = stdout_json(&lumi(&["decode", "--token", MIIO_TOKEN], Some(&spaced)));
    assert_eq!(v["payload"]["id"], 1);
}

#[test]
fn decode_miio_errors_name_the_problem() {
    // Wrong token: checksum mismatch, exit 2, and the token is not echoed.
    let wrong = "00112233445566778899aabbccddeeff";
    let out = lumi(&["decode", "--token", wrong, MIIO_REQ], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(!err.contains(wrong), "token leaked: {err}");
    // Encrypted packet without a token.
    let out = lumi(&["decode", MIIO_REQ], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));
    // A bad token.
    let out = lumi(&["decode", "--token", "xyz", MIIO_REQ], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));
    // Truncated packet.
    let out = lumi(&["decode", "--token", MIIO_TOKEN, &MIIO_REQ[..100]], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn decode_miio_hello_needs_no_token() {
    let v = stdout_json(&lumi(
        &[
            "decode",
            "21310020ffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        ],
        None,
    ));
    assert_eq!(v["type"], "hello");
    // Record 8: an unprovisioned vacuum revealing its token.
    let v = stdout_json(&lumi(
        &[
            "decode",
            "2131002000000000034f0e4500000229335641783733484c36615a7856594263",
        ],
        None,
    ));
    assert_eq!(v["type"], "hello_reply");
    assert_eq!(v["device_id"], 0x034f0e45);
    assert_eq!(v["stamp"], 553);
    assert_eq!(v["token_revealed"], true);
    assert_eq!(v["token"], "335641783733484c36615a7856594263");
}
