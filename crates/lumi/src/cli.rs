//! Command-line arguments.

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  failure (network, I/O, timeout)
  2  bad input or usage: a datagram or packet that does not decode, a malformed argument

Examples:
  lumi decode '{\"cmd\":\"report\",\"model\":\"magnet\",\"sid\":\"158d0001c1cdfb\",\"data\":\"{\\\"status\\\":\\\"open\\\"}\"}'
  echo '{\"cmd\":\"whois\"}' | lumi decode
  lumi decode --token 9c3b2d1da5beceee2808a3d3653b485d 21310050000000000...
  lumi key --password 0987654321qwerty --token 1234567890abcdef";

/// Cloudless, local control of Xiaomi / Aqara (Lumi) gateways and devices.
#[derive(Debug, Parser)]
#[command(name = "lumi", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode a LAN API datagram or a miIO packet and print it as typed JSON.
    ///
    /// A LAN datagram is JSON text (v1 or v2; the version is detected). A miIO packet is hex
    /// (spaces and colons allowed) and needs the device token to decrypt, except hello
    /// packets, which are not encrypted.
    Decode(DecodeArgs),
    /// Compute the LAN API write key for a gateway password and token.
    ///
    /// key = hex(AES-128-CBC(password, IV 17996d093d28ddb3ba695a2e6f58562e, token)).
    Key(KeyArgs),
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The datagram (JSON text) or the miIO packet (hex). Read from standard input when
    /// absent or `-`.
    pub input: Option<String>,
    /// miIO device token (32 hex digits): decode the input as a miIO packet.
    #[arg(long, env = "LUMI_MIIO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Treat the input as a miIO packet even without a token (hello packets only).
    #[arg(long)]
    pub miio: bool,
    /// Print one compact JSON line instead of indented JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The gateway's 16-character LAN password (Mi Home app: gateway > About > LAN
    /// communication protocol).
    #[arg(long, env = "LUMI_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// The current 16-character token, from a gateway heartbeat or `get_id_list` reply.
    #[arg(long)]
    pub token: String,
    /// Print a JSON object instead of the bare key.
    #[arg(long)]
    pub json: bool,
}
