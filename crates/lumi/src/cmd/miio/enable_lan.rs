//! `lumi miio enable-lan`: read or set the gateway's LAN key (the LAN API password).

use clap::Args;
use lumi_proto::key::GatewayPassword;
use serde_json::json;

use super::DeviceArgs;
use crate::cli::Global;
use crate::exit::bad_input;

#[derive(Debug, Args)]
#[command(after_help = "\
The LAN API (UDP 9898, multicast 224.0.0.50) needs a 16-character key on the gateway, shown in
the Mi Home app under gateway > About > LAN communication protocol on older app versions. Newer
apps hide the switch; this command sets the key over miIO instead (set_lumi_dpf_aes_key).

Without options: prints the current key, or sets a random one when none is set.
With --key: sets that key. The key is printed because it is the password you then give to
lumi (--password, LUMI_PASSWORD or lumi.toml); keep it like a password.

Examples:
  lumi miio enable-lan 192.168.1.20 --token 1c1961595b889a1f42af6b16cf9a6b81
  lumi miio enable-lan 192.168.1.20 --token ... --key 0987654321qwerty")]
pub struct EnableLanArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Set this key (16 letters and digits) instead of keeping or generating one.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}

pub async fn run(args: EnableLanArgs, g: &Global) -> anyhow::Result<()> {
    let wanted: Option<GatewayPassword> = args
        .key
        .as_deref()
        .map(|k| {
            k.parse()
                .map_err(|e| bad_input(format!("--key: {e} (16 letters and digits)")))
        })
        .transpose()?;
    let gw = args.device.gateway(g).await?;
    let (key, state) = match wanted {
        Some(k) => {
            gw.set_lan_key(&k).await?;
            (k, "set")
        }
        None => {
            let k = gw.enable_lan_api().await?;
            (
                k.key,
                if k.generated {
                    "generated"
                } else {
                    "already set"
                },
            )
        }
    };
    if g.json {
        super::super::print_json(
            &json!({"gateway": gw.addr().to_string(), "key": key.expose(), "state": state}),
            true,
        )
    } else {
        super::super::out(&format!(
            "LAN API key of {} ({state}): {}\nuse it as the LAN password: export LUMI_PASSWORD={}",
            gw.addr(),
            key.expose(),
            key.expose()
        ));
        Ok(())
    }
}
