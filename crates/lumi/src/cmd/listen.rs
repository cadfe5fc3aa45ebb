//! `lumi listen`: live events until Ctrl-C or --duration.

use std::time::SystemTime;

use crate::settings::parse_duration;
use lumi_client::gateway::{Event, EventsError};

use super::lan::{self, Lan, Needs};
use crate::cli::{Global, ListenArgs};
use crate::exit::bad_input;

pub fn run(args: ListenArgs, g: &Global) -> anyhow::Result<()> {
    let stop_after = args
        .duration
        .as_deref()
        .map(|d| parse_duration(d).map_err(|e| bad_input(format!("--duration: {e}"))))
        .transpose()?;
    let lan = lan::resolve(g)?;
    lan::runtime()?.block_on(listen(&lan, stop_after, args.all))
}

async fn listen(
    lan: &Lan,
    stop_after: Option<std::time::Duration>,
    all: bool,
) -> anyhow::Result<()> {
    let (client, mut events) = lan.start(Needs {
        listen: true,
        devices: true,
    })?;
    eprintln!(
        "lumi: listening on {} (reports {}:{}); Ctrl-C to stop",
        lan.net.interface, lan.net.group, lan.net.report_port
    );
    let stop = super::stopped(stop_after);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            e = events.recv() => match e {
                Ok(e) => {
                    if !print(&e, lan.settings.json, all) {
                        break;
                    }
                }
                Err(EventsError::Lagged { missed }) => {
                    eprintln!("lumi: warning: output too slow, {missed} events were skipped");
                }
                Err(_) => break,
            },
        }
    }
    client.shutdown().await;
    Ok(())
}

/// Prints one event; false when stdout is gone.
pub fn print(e: &Event, json: bool, all: bool) -> bool {
    let now = SystemTime::now();
    if json {
        let mut v = serde_json::to_value(e).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("time".into(), serde_json::json!(lan::unix_time(now)));
        }
        return super::out(&v.to_string());
    }
    let gw = |g: Option<&lumi_proto::lan::Sid>| g.map_or_else(|| "-".to_owned(), |s| s.to_string());
    let (sid, detail) = match e {
        Event::Report {
            sid, model, state, ..
        }
        | Event::Heartbeat {
            sid, model, state, ..
        } => (
            sid.to_string(),
            format!(
                "{:<18} {}",
                lan::text(model.as_deref()),
                lan::state_text(state)
            ),
        ),
        Event::GatewayAppeared {
            addr,
            model,
            version,
            origin,
            ..
        } => (
            "-".into(),
            format!(
                "{addr} {} {} (found by {})",
                lan::text(model.as_deref()),
                version.map_or_else(|| "?".into(), |v| v.to_string()),
                serde_json::to_value(origin)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
        ),
        Event::GatewayMoved { from, to, .. } => ("-".into(), format!("{from} -> {to}")),
        Event::GatewayLost { addr, reason, .. } => {
            ("-".into(), format!("{addr}: {}", lan::text(Some(reason))))
        }
        Event::GatewayOnline { .. } => ("-".into(), "heartbeats arrive".into()),
        Event::GatewayOffline { silent_for, .. } => (
            "-".into(),
            format!("no heartbeat for {} s", silent_for.as_secs()),
        ),
        Event::DevicesLoaded {
            devices, unread, ..
        } => ("-".into(), format!("{devices} device(s), {unread} unread")),
        Event::DeviceAvailability {
            sid,
            available,
            silent_for,
            ..
        } => (
            sid.to_string(),
            if *available {
                format!("available again after {} s", silent_for.as_secs())
            } else {
                format!("unavailable: silent for {} s", silent_for.as_secs())
            },
        ),
        Event::VersionLearned { version, .. } => ("-".into(), format!("protocol {version}")),
        Event::InterfaceDown { interface } => (
            "-".into(),
            format!("interface {interface} is gone or down: nothing can arrive until it is back"),
        ),
        Event::InterfaceUp {
            interface,
            down_for,
        } => (
            "-".into(),
            format!(
                "interface {interface} is back after {} s; multicast joined again",
                down_for.as_secs()
            ),
        ),
        Event::TokenRefreshed { origin, .. } if all => ("-".into(), format!("from {origin:?}")),
        Event::Dropped {
            reason,
            from,
            cmd,
            total,
        } if all => (
            "-".into(),
            format!("{cmd:?} from {from} ({reason:?}); {total} dropped so far"),
        ),
        _ => return true,
    };
    let line = format!(
        "{}  {:<19} {:<12}  {:<14}  {}",
        lan::clock(now),
        e.name(),
        gw(e.gateway()),
        sid,
        detail
    );
    super::out(&lumi_proto::sanitize::for_terminal(line.trim_end()))
}
