//! `lumi key`: the LAN write key for a password and token.

use lumi_proto::key::{GatewayPassword, WriteKey};
use lumi_proto::lan::Token;

use crate::cli::{Global, KeyArgs};
use crate::exit::bad_input;

pub fn run(args: KeyArgs, g: &Global) -> anyhow::Result<()> {
    let Some(password) = g.password.as_deref() else {
        return Err(bad_input(
            "no password: give --password or set LUMI_PASSWORD (the gateway's 16-character LAN password)",
        ));
    };
    let password: GatewayPassword = password
        .parse()
        .map_err(|e| bad_input(format!("--password: {e}")))?;
    let token = Token::new(args.token);
    let key =
        WriteKey::derive(&password, &token).map_err(|e| bad_input(format!("--token: {e}")))?;
    if g.json {
        super::print_json(
            &serde_json::json!({ "token": token.as_str(), "key": key.to_hex() }),
            true,
        )
    } else {
        super::out(key.to_hex());
        Ok(())
    }
}
