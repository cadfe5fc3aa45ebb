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

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed fuzz corpus of a target (`fuzz/corpus/<target>/`).
    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.iter().map(|f| std::fs::read(f).unwrap()).collect()
    }

    /// `lumi decode`'s own handling of its input, on the miIO and LAN fuzz corpora in every
    /// spelling the command accepts, cut short and with odd digits: errors, never a panic.
    #[test]
    fn malformed_input_sweep() {
        // md5("rust-miio vector token A"), the token of most records of the miIO corpus.
        let token = "b5f260c79ad5c2e85e7b64118198f9bb";
        for packet in corpus("miio_open") {
            let hex = hex::encode(&packet);
            let colons: Vec<String> = packet.iter().map(|b| format!("{b:02x}")).collect();
            for text in [
                hex.clone(),
                format!("0x{hex}\n"),
                format!("  {}  ", colons.join(":")),
                hex[..hex.len() / 2].to_owned(),
                format!("{hex}0"),
                format!("{hex}zz"),
                hex.to_uppercase(),
            ] {
                for input in [text.as_bytes(), &text.as_bytes()[..text.len() / 3]] {
                    let _ = looks_like_miio_hex(input);
                    let _ = miio(input, Some(token));
                    let _ = miio(input, None);
                    let _ = miio(input, Some("not a token"));
                }
            }
            let _ = miio(&packet, Some(token));
        }
        for datagram in corpus("lan_decode") {
            let trimmed = trim_ascii_end(&datagram);
            assert!(trimmed.len() <= datagram.len());
            if let Ok(decoded) = lan::decode(trimmed)
                && let Some(state) = typed_state(&decoded)
            {
                serde_json::to_string(&state).unwrap();
            }
            let _ = looks_like_miio_hex(&datagram);
        }
        for odd in [
            &b""[..],
            b" ",
            b"0x",
            b"2131",
            b"21310020",
            b"\xff\xfe",
            b"0x2131\n",
        ] {
            let _ = miio(odd, None);
            let _ = trim_ascii_end(odd);
            let _ = looks_like_miio_hex(odd);
        }
    }
}
