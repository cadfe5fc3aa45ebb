//! `lumi decode`: a LAN datagram or a miIO packet, printed as typed JSON.

use std::io::Read as _;

use lumi_proto::lan;
use serde_json::{Value, json};

use crate::cli::DecodeArgs;
use crate::exit::bad_input;

pub fn run(args: DecodeArgs) -> anyhow::Result<()> {
    let input = match args.input.as_deref() {
        Some("-") | None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| anyhow::anyhow!("cannot read standard input: {e}"))?;
            buf
        }
        Some(s) => s.as_bytes().to_vec(),
    };
    let value = if args.token.is_some() || args.miio || looks_like_miio_hex(&input) {
        miio(&input, args.token.as_deref())?
    } else {
        lan_datagram(&input)?
    };
    super::print_json(&value, args.json)
}

/// A LAN datagram: the typed message, and the typed device state when it carries one.
fn lan_datagram(input: &[u8]) -> anyhow::Result<Value> {
    // A trailing newline from `echo` or a file is not part of the datagram.
    let trimmed = trim_ascii_end(input);
    let decoded = lan::decode(trimmed).map_err(|e| {
        bad_input(format!(
            "not a LAN API message: {e}\n  (a miIO packet is given as hex, with --token)"
        ))
    })?;
    let version = decoded.version;
    let mut out = json!({
        "protocol": "lan",
        "version": version,
        "cmd": decoded.message.cmd(version.unwrap_or(lan::ProtoVersion::V1)),
        "message": decoded.message,
    });
    if let Some(state) = crate::cmd::decode::typed_state(&decoded) {
        out["state"] = state;
    }
    Ok(out)
}

/// The typed state of a message that carries device properties (catalogue conversion).
fn typed_state(decoded: &lan::Decoded) -> Option<Value> {
    let _ = decoded;
    None
}

fn miio(input: &[u8], token: Option<&str>) -> anyhow::Result<Value> {
    let _ = (input, token);
    Err(bad_input("miio decoding is not available yet"))
}

fn looks_like_miio_hex(input: &[u8]) -> bool {
    let t = trim_ascii_end(input);
    let t = t.strip_prefix(b"0x").unwrap_or(t);
    t.len() >= 8 && t[..4].eq_ignore_ascii_case(b"2131")
}

fn trim_ascii_end(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(end);
    &b[start..end]
}
