//! `lumi decode`: a LAN datagram or a miIO packet, printed as typed JSON.

use std::io::Read as _;

use lumi_proto::lan;
use serde_json::{Value, json};

use crate::cli::{DecodeArgs, Global};
use crate::exit::bad_input;

pub fn run(args: DecodeArgs, g: &Global) -> anyhow::Result<()> {
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
    if args.token.is_some() || args.miio || looks_like_miio_hex(&input) {
        super::print_json(&miio(&input, args.token.as_deref())?, g.json)
    } else {
        lan_datagram(&input, g.json)
    }
}

/// The typed form of a LAN datagram, in the order a reader wants it.
#[derive(serde::Serialize)]
struct LanOutput<'a> {
    protocol: &'static str,
    version: Option<lan::ProtoVersion>,
    cmd: &'static str,
    message: &'a lan::Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<lumi_proto::catalogue::DeviceState>,
}

/// A LAN datagram: the typed message, and the typed device state when it carries one.
fn lan_datagram(input: &[u8], compact: bool) -> anyhow::Result<()> {
    // A trailing newline from `echo` or a file is not part of the datagram.
    let trimmed = trim_ascii_end(input);
    let decoded = lan::decode(trimmed).map_err(|e| {
        bad_input(format!(
            "not a LAN API message: {e}\n  (a miIO packet is given as hex, with --token)"
        ))
    })?;
    let version = decoded.version;
    let out = LanOutput {
        protocol: "lan",
        version,
        cmd: decoded
            .message
            .cmd(version.unwrap_or(lan::ProtoVersion::V1)),
        message: &decoded.message,
        state: typed_state(&decoded),
    };
    super::print_json(&out, compact)
}

/// The typed state of a message that carries device properties, from the catalogue.
/// Unknown models and properties stay raw.
fn typed_state(decoded: &lan::Decoded) -> Option<lumi_proto::catalogue::DeviceState> {
    use lan::Message;
    let (model, props) = match &decoded.message {
        Message::ReadAck(m) | Message::WriteAck(m) | Message::Report(m) | Message::Heartbeat(m) => {
            (m.model.as_deref(), &m.props)
        }
        Message::Write(w) => (w.model.as_deref(), &w.props),
        _ => return None,
    };
    let version = decoded.version.unwrap_or(lan::ProtoVersion::V1);
    Some(lumi_proto::catalogue::decode(
        model.unwrap_or(""),
        version,
        props,
    ))
}

/// A miIO packet given as hex: hello packets need no token; others are checked (checksum)
/// and decrypted with `--token`.
fn miio(input: &[u8], token: Option<&str>) -> anyhow::Result<Value> {
    use lumi_proto::miio::{Cipher, Hello, HelloToken, MiioToken, decode_value};

    let text = String::from_utf8_lossy(input);
    let hex_digits: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && *c != ':')
        .collect();
    let bytes = hex::decode(&hex_digits).map_err(|e| {
        bad_input(format!(
            "a miIO packet is given as hex digits ({e}); LAN datagrams are JSON text and need no --token"
        ))
    })?;
    if bytes.len() == lumi_proto::miio::HEADER_LEN {
        let hello =
            Hello::parse(&bytes).map_err(|e| bad_input(format!("not a miIO hello: {e}")))?;
        return Ok(match hello {
            Hello::Request => json!({ "protocol": "miio", "type": "hello" }),
            Hello::Reply(r) => {
                let (revealed, token) = match &r.token {
                    HelloToken::Revealed(t) => (true, Some(t.expose_hex())),
                    _ => (false, None),
                };
                json!({
                    "protocol": "miio",
                    "type": "hello_reply",
                    "device_id": r.device_id.get(),
                    "stamp": r.stamp,
                    "token_revealed": revealed,
                    "token": token,
                })
            }
        });
    }
    let Some(token) = token else {
        return Err(bad_input(
            "this miIO packet is encrypted: give the device token with --token (32 hex digits) or LUMI_MIIO_TOKEN",
        ));
    };
    let token: MiioToken = token
        .trim()
        .parse()
        .map_err(|e| bad_input(format!("--token: {e}")))?;
    let opened = Cipher::new(&token)
        .open(&bytes)
        .map_err(|e| bad_input(format!("cannot open the miIO packet: {e}")))?;
    let payload = match decode_value(&opened.payload) {
        Ok(v) => v,
        Err(_) => Value::String(
            lumi_proto::sanitize::for_terminal(&String::from_utf8_lossy(
                lumi_proto::miio::trim_nuls(&opened.payload),
            ))
            .into_owned(),
        ),
    };
    let kind = match opened.rpc() {
        Ok(lumi_proto::miio::RpcMessage::Request(_)) => "request",
        Ok(lumi_proto::miio::RpcMessage::Reply(_)) => "reply",
        Err(_) => "raw",
    };
    Ok(json!({
        "protocol": "miio",
        "type": kind,
        "device_id": opened.device_id().get(),
        "stamp": opened.stamp(),
        "payload": payload,
    }))
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
