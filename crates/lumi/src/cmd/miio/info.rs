//! `lumi miio info`: a device's `miIO.info`.

use clap::Args;
use serde_json::json;

use super::{DeviceArgs, safe, sanitized};
use crate::cli::Global;

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
}

pub async fn run(args: InfoArgs, g: &Global) -> anyhow::Result<()> {
    let dev = args.device.connect(g).await?;
    let info = dev.info().await?;
    if g.json {
        let v = json!({
            "addr": dev.peer().to_string(),
            "device_id": dev.device_id().get(),
            "model": info.model,
            "fw_ver": info.fw_ver,
            "hw_ver": info.hw_ver,
            "mac": info.mac,
            "ip": info.ip,
            "ssid": info.ssid,
            "rssi": info.rssi,
            "life": info.life,
            "wifi_fw_ver": info.wifi_fw_ver,
            "raw": info.raw,
        });
        return super::super::print_json(&sanitized(v), true);
    }
    let opt = |v: &Option<String>| v.as_deref().map_or("?".into(), |s| safe(s).into_owned());
    let out = |label: &str, value: String| super::super::out(&format!("{label:<12}{value}"));
    out("model", safe(&info.model).into_owned());
    out("device id", dev.device_id().to_string());
    out("address", dev.peer().to_string());
    out("firmware", opt(&info.fw_ver));
    out("hardware", opt(&info.hw_ver));
    if let Some(w) = &info.wifi_fw_ver {
        out("wifi fw", safe(w).into_owned());
    }
    out("mac", opt(&info.mac));
    out("ip", opt(&info.ip));
    if info.ssid.is_some() || info.rssi.is_some() {
        let rssi = info.rssi.map_or(String::new(), |r| format!(" (rssi {r})"));
        out("wifi", format!("{}{rssi}", opt(&info.ssid)));
    }
    if let Some(life) = info.life {
        out("uptime", format!("{life} s"));
    }
    if info.token.is_some() {
        out(
            "token",
            "included in miIO.info by this firmware (not shown)".into(),
        );
    }
    Ok(())
}
