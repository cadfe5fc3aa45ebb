//! `lumi pair` and `lumi unpair`: adding and removing sub-devices.

use std::time::Duration;

use clap::Args;
use lumi_client::gateway::Event;

use super::control::{self, GatewayChoice};
use super::lan::{self, client_error};
use crate::cli::Global;

#[derive(Debug, Args)]
#[command(after_help = "\
Opens pairing on the gateway for 30 s: then hold the new device's button until its light
blinks. With --wait, lumi stays and prints the devices that join. Writes need the LAN password.

Examples:
  lumi pair --wait 30s
  lumi pair --stop")]
pub struct PairArgs {
    /// Close pairing instead of opening it.
    #[arg(long)]
    pub stop: bool,
    /// Stay this long and print devices that join (e.g. 30s).
    #[arg(long, value_name = "DURATION", conflicts_with = "stop")]
    pub wait: Option<String>,
    #[command(flatten)]
    pub gateway: GatewayChoice,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Removes a sub-device from its gateway (it must be paired again to come back). Writes need the
LAN password.

Example:
  lumi unpair 158d0001234567")]
pub struct UnpairArgs {
    /// The sub-device's sid (`lumi devices` lists them).
    pub sid: String,
}

pub fn pair(args: PairArgs, g: &Global) -> anyhow::Result<()> {
    let wait = args
        .wait
        .as_deref()
        .map(|w| {
            crate::settings::parse_duration(w)
                .map_err(|e| crate::exit::bad_input(format!("--wait: {e}")))
        })
        .transpose()?;
    let lan = lan::resolve(g)?;
    lan::runtime()?.block_on(async {
        let (client, mut events) = lan.start(lan::Needs {
            listen: wait.is_some(),
            devices: wait.is_some(),
        })?;
        let result = async {
            client.ready().await.map_err(client_error)?;
            let gw = control::gateway(&lan, &client, &args.gateway).await?;
            let data = client
                .pairing(&gw, !args.stop)
                .await
                .map_err(client_error)?;
            let what = if args.stop {
                format!("pairing closed on {gw}")
            } else {
                format!("pairing open on {gw} for 30 s")
            };
            control::done(&lan, &what, &data)?;
            if let Some(w) = wait {
                let known: Vec<lumi_proto::lan::Sid> = client
                    .devices()
                    .await
                    .map_err(client_error)?
                    .into_iter()
                    .map(|d| d.sid)
                    .collect();
                joined(&lan, &mut events, &gw, &known, w).await;
            }
            anyhow::Ok(())
        }
        .await;
        client.shutdown().await;
        result
    })
}

/// Prints devices that appear on `gateway` during `wait`: a sid that was not in its device
/// list and now reports or heartbeats (a new device announces itself that way).
async fn joined(
    lan: &lan::Lan,
    events: &mut lumi_client::gateway::Events,
    gateway: &lumi_proto::lan::Sid,
    known: &[lumi_proto::lan::Sid],
    wait: Duration,
) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen: Vec<lumi_proto::lan::Sid> = Vec::new();
    while let Ok(Ok(e)) = tokio::time::timeout_at(deadline, events.recv()).await {
        let (Event::Report {
            gateway: g,
            sid,
            model,
            ..
        }
        | Event::Heartbeat {
            gateway: g,
            sid,
            model,
            ..
        }) = &e
        else {
            continue;
        };
        if g == gateway && sid != gateway && !known.contains(sid) && !seen.contains(sid) {
            seen.push(sid.clone());
            let line = if lan.settings.json {
                serde_json::json!({"event": "joined", "gateway": g, "sid": sid, "model": model})
                    .to_string()
            } else {
                format!("joined: {sid} ({})", lan::text(model.as_deref()))
            };
            if !super::out(&line) {
                return;
            }
        }
    }
}

pub fn unpair(args: UnpairArgs, g: &Global) -> anyhow::Result<()> {
    let sid = lan::parse_sid(&args.sid)?;
    let lan = lan::resolve(g)?;
    lan::runtime()?.block_on(async {
        let client = control::start(&lan, true).await?;
        let result = async {
            let info = client
                .device(&sid)
                .await
                .map_err(client_error)?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "no gateway lists a device {sid}; `lumi devices` shows the known ones"
                    )
                })?;
            let data = client
                .remove_device(&info.gateway, &sid)
                .await
                .map_err(client_error)?;
            anyhow::Ok((info.gateway, data))
        }
        .await;
        client.shutdown().await;
        let (gw, data) = result?;
        control::done(&lan, &format!("{sid} removed from {gw}"), &data)
    })
}
