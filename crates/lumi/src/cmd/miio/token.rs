//! `lumi miio token`: the token an unprovisioned device reveals in its hello reply.

use std::time::Duration;

use clap::Args;
use lumi_client::miio::{DiscoverOptions, discover};
use lumi_proto::session::miio::CallError;
use serde_json::json;

use super::{bind_address, device_addr, timeout};
use crate::cli::Global;

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The device's IP address (or IP:PORT). A device in factory state is usually at
    /// 192.168.8.1 or similar on its own Wi-Fi access point.
    #[arg(value_name = "IP")]
    pub ip: String,
    /// The device's miIO port; change only for simulators.
    #[arg(long, default_value_t = lumi_proto::miio::PORT)]
    pub port: u16,
}

pub async fn run(args: TokenArgs, g: &Global) -> anyhow::Result<()> {
    let addr = device_addr(&args.ip, args.port)?;
    let wait = timeout(g, Duration::from_secs(3))?;
    let opts = DiscoverOptions {
        bind: bind_address(g)?,
        ..DiscoverOptions::unicast(vec![addr], wait)
    };
    let found = discover(&opts).await?;
    let Some(d) = found.into_iter().find(|d| d.addr.ip() == addr.ip()) else {
        return Err(CallError::Timeout {
            method: "hello".into(),
            peer: addr,
            attempts: 3,
            after: wait,
            answered_hello: false,
        }
        .into());
    };
    let token = d.revealed_token();
    if g.json {
        super::super::print_json(
            &json!({
                "addr": d.addr.to_string(),
                "device_id": d.device_id.get(),
                "provisioned": token.is_none(),
                "token": token.map(|t| t.expose_hex()),
            }),
            true,
        )?;
    }
    match token {
        Some(t) => {
            if !g.json {
                super::super::out(&t.expose_hex());
            }
            Ok(())
        }
        None => anyhow::bail!(
            "miio device {} at {} hides its token (its hello reply has ff..ff or 00..00 \
             there): it is provisioned. Get the token from the Xiaomi cloud (`miiocli cloud \
             list` from python-miio, or Xiaomi-cloud-tokens-extractor with your Xiaomi \
             account); or reset the device, which then reveals a new token here until it is \
             set up again",
            d.device_id,
            d.addr
        ),
    }
}
