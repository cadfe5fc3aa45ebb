//! `lumi miio gateway-devices`: a gateway's sub-devices over miIO (`device_list`).

use clap::Args;
use serde_json::json;

use super::{DeviceArgs, safe};
use crate::cli::Global;

#[derive(Debug, Args)]
#[command(after_help = "\
Works on lumi.gateway.v3 and the AC partners (`get_device_prop [\"lumi.0\",\"device_list\"]`).
The Gateway 3 (mgl03) and the EU gateway (mieu01) do not list their devices locally; lumi says
so and names the alternative.

Example:
  lumi miio gateway-devices 192.168.1.20 --token 1c1961595b889a1f42af6b16cf9a6b81")]
pub struct GatewayDevicesArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
}

pub async fn run(args: GatewayDevicesArgs, g: &Global) -> anyhow::Result<()> {
    let gw = args.device.gateway(g).await?;
    let devices = gw.devices().await?;
    if g.json {
        for d in &devices {
            let line = json!({
                "sid": d.sid,
                "model": d.model,
                "type_id": d.type_id,
                "online": d.online,
                "fw_ver": d.fw_ver,
            });
            if !super::super::out(&line.to_string()) {
                break;
            }
        }
        return Ok(());
    }
    super::super::out(&format!(
        "{:<16} {:<28} {:>7} {:>6} {:>3}",
        "SID", "MODEL", "TYPE_ID", "ONLINE", "FW"
    ));
    for d in &devices {
        let line = format!(
            "{:<16} {:<28} {:>7} {:>6} {:>3}",
            safe(d.sid.as_str()),
            d.model.unwrap_or("(unknown type)"),
            d.type_id,
            if d.online { "yes" } else { "no" },
            d.fw_ver.map_or("?".to_owned(), |f| f.to_string()),
        );
        if !super::super::out(&line) {
            break;
        }
    }
    super::super::out(&format!("{} devices", devices.len()));
    Ok(())
}
