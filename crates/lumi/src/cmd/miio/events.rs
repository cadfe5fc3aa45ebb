//! `lumi miio events`: the push server. lumi poses as a miIO device, registers scenes on the
//! gateway for the chosen sub-device events, prints every event the gateway pushes, and
//! removes its scenes when it stops (Ctrl-C or --duration).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::Args;
use lumi_client::miio::MiioDevice;
use lumi_client::miio::gateway::MiioGateway;
use lumi_client::miio::push::{PushConfig, PushServer};
use lumi_proto::lan::Sid;
use lumi_proto::miio::push::push_actions;
use serde_json::json;

use super::{DeviceArgs, safe, sanitized};
use crate::cli::Global;
use crate::exit::bad_input;

#[derive(Debug, Args)]
#[command(after_help = "\
Events need UDP port 54321 free on this host (no other push server) and the gateway able to
reach this host's address (same network, no NAT). Scenes have deterministic ids: a crashed run
leaves nothing behind after the next start with the same subscriptions.

Examples:
  lumi miio events 192.168.1.20 --token ... --all
  lumi miio events 192.168.1.20 --token ... --subscribe 158d0001a2b3c4:click_ch0 \\
      --subscribe 158d00012345ab:rotate --json")]
pub struct EventsArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// An event to receive, as SID:ACTION (e.g. 158d0001a2b3c4:d_click_ch0, or :rotate for a
    /// cube). May be repeated. The sub-device's model comes from the gateway's device list.
    #[arg(long, value_name = "SID:ACTION")]
    pub subscribe: Vec<String>,
    /// Receive every event of every sub-device the gateway lists.
    #[arg(long, conflicts_with = "subscribe")]
    pub all: bool,
    /// Where the push server listens (the gateway sends to port 54321).
    #[arg(long, value_name = "IP:PORT", default_value = "0.0.0.0:54321")]
    pub listen: SocketAddr,
    /// The address the gateway should send events to (default: this host's address facing
    /// the gateway).
    #[arg(long, value_name = "IP")]
    pub advertise: Option<IpAddr>,
    /// Stop after this long (e.g. 10m); run until Ctrl-C when absent.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
}

/// `SID:ACTION`.
fn parse_subscription(s: &str) -> anyhow::Result<(Sid, String)> {
    let Some((sid, action)) = s.split_once(':') else {
        return Err(bad_input(format!(
            "--subscribe {:?}: expected SID:ACTION, e.g. 158d0001a2b3c4:click_ch0",
            safe(s)
        )));
    };
    let sid =
        crate::settings::parse_sid(sid).map_err(|e| bad_input(format!("--subscribe: {e}")))?;
    if action.is_empty() {
        return Err(bad_input(format!(
            "--subscribe {:?}: the action is missing, e.g. {sid}:click_ch0",
            safe(s)
        )));
    }
    Ok((sid, action.to_owned()))
}

pub async fn run(args: EventsArgs, g: &Global) -> anyhow::Result<()> {
    let wanted: Vec<(Sid, String)> = args
        .subscribe
        .iter()
        .map(|s| parse_subscription(s))
        .collect::<anyhow::Result<_>>()?;
    if wanted.is_empty() && !args.all {
        return Err(bad_input(
            "nothing to receive: give --subscribe SID:ACTION (repeatable) or --all",
        ));
    }
    let stop_after = args
        .duration
        .as_deref()
        .map(|d| {
            crate::settings::parse_duration(d).map_err(|e| bad_input(format!("--duration: {e}")))
        })
        .transpose()?;

    let gw = args.device.gateway(g).await?;
    let listed = gw.devices().await?;
    let model_of = |sid: &Sid| listed.iter().find(|d| &d.sid == sid).and_then(|d| d.model);
    let mut plan: Vec<(Sid, &'static str, String)> = Vec::new();
    if args.all {
        for d in &listed {
            if let Some(model) = d.model {
                for a in push_actions(model) {
                    if !a.gateway_trigger {
                        plan.push((d.sid.clone(), model, a.action.to_owned()));
                    }
                }
            }
        }
    } else {
        for (sid, action) in wanted {
            let Some(model) = model_of(&sid) else {
                return Err(bad_input(format!(
                    "--subscribe {sid}:{}: the gateway at {} has no sub-device {sid} with a known \
                     model (`lumi miio gateway-devices` lists them)",
                    safe(&action),
                    gw.addr()
                )));
            };
            plan.push((sid, model, action));
        }
    }

    let (server, mut events) = PushServer::bind(PushConfig {
        bind: args.listen,
        advertise_ip: args.advertise,
        ..PushConfig::default()
    })
    .await?;
    let result = serve(&server, &gw, &plan, &mut events, stop_after, g.json).await;
    // Always try to leave the gateway clean, also after an error.
    match server.unsubscribe_all().await {
        Ok(n) => tracing::info!("removed {n} scenes from {}", gw.addr()),
        Err(e) => tracing::warn!(
            "could not remove every scene from {}: {e}; the next run with the same \
             subscriptions replaces them",
            gw.addr()
        ),
    }
    result
}

async fn serve(
    server: &PushServer,
    gw: &MiioGateway<MiioDevice>,
    plan: &[(Sid, &'static str, String)],
    events: &mut lumi_client::miio::push::PushEvents,
    stop_after: Option<Duration>,
    json_out: bool,
) -> anyhow::Result<()> {
    let mut subscribed = 0usize;
    for (sid, model, action) in plan {
        let sub = server.subscribe(gw, sid, model, action).await?;
        subscribed += 1;
        let line = if json_out {
            json!({"event": "subscribed", "sid": sub.sid, "model": sub.model, "action": sub.action,
                   "scene": sub.scene_id.to_string()})
            .to_string()
        } else {
            format!(
                "subscribed {} {} {} ({})",
                sub.sid, sub.model, sub.action, sub.scene_id
            )
        };
        super::super::out(&line);
    }
    let ready = if json_out {
        json!({"event": "listening", "addr": server.local_addr().to_string(), "subscriptions": subscribed}).to_string()
    } else {
        format!(
            "listening on {} for {subscribed} events; Ctrl-C to stop",
            server.local_addr()
        )
    };
    super::super::out(&ready);

    let stop = super::super::stopped(stop_after);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            e = events.recv() => {
                let Some(e) = e else { break };
                let line = if json_out {
                    json!({"event": "push", "gateway": e.gateway.to_string(), "sid": e.sid,
                           "action": e.action, "params": sanitized(e.params)})
                    .to_string()
                } else {
                    format!("{} {} {} {}", e.gateway, e.sid, safe(&e.action), sanitized(e.params))
                };
                if !super::super::out(&line) {
                    break;
                }
            }
        }
    }
    Ok(())
}
