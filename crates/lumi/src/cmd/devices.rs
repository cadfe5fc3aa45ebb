//! `lumi devices`: every device of every gateway with its typed state.

use lumi_client::gateway::RegistryStatus;

use super::lan::{self, Lan, Needs, client_error};
use crate::cli::Global;

pub fn run(g: &Global) -> anyhow::Result<()> {
    let lan = lan::resolve(g)?;
    lan::runtime()?.block_on(devices(&lan))
}

async fn devices(lan: &Lan) -> anyhow::Result<()> {
    let (client, _events) = lan.start(Needs {
        listen: false,
        devices: true,
    })?;
    client.ready().await.map_err(client_error)?;
    let gateways = client.gateways().await.map_err(client_error)?;
    let devices = client.devices().await.map_err(client_error)?;
    client.shutdown().await;
    if gateways.is_empty() {
        return Err(lan.nobody());
    }
    if lan.settings.json {
        for d in &devices {
            super::print_json(d, true)?;
        }
    } else {
        for (i, g) in gateways.iter().enumerate() {
            if i > 0 && !super::out("") {
                return Ok(());
            }
            let version = g.version.map_or_else(|| "?".to_owned(), |v| v.to_string());
            let state = lan::state_text(&g.state);
            super::out(&format!(
                "gateway {} at {}: {} ({version}), {} device(s){}{}",
                g.sid,
                g.addr,
                lan::text(g.model.as_deref()),
                g.devices,
                if state.is_empty() { "" } else { "; " },
                state
            ));
            let mut table = vec![vec![
                "SID".to_owned(),
                "MODEL".into(),
                "KIND".into(),
                "BATTERY".into(),
                "LAST SEEN".into(),
                "STATE".into(),
            ]];
            for d in devices.iter().filter(|d| d.gateway == g.sid) {
                let kind = d
                    .kind
                    .and_then(|k| serde_json::to_value(k).ok())
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "?".into());
                let mut state = lan::state_text(&d.state);
                if !d.available {
                    state = format!("(unavailable) {state}");
                }
                table.push(vec![
                    d.sid.to_string(),
                    lan::text(d.model.as_deref()),
                    kind,
                    d.battery.map_or_else(|| "-".into(), |b| format!("{b}%")),
                    lan::ago(d.last_seen),
                    state,
                ]);
            }
            if !lan::print_table(&table) {
                return Ok(());
            }
        }
    }
    let failed: Vec<String> = gateways
        .iter()
        .filter(|g| g.registry == RegistryStatus::Failed)
        .map(|g| format!("{} at {}", g.sid, g.addr))
        .collect();
    if !failed.is_empty() {
        anyhow::bail!(
            "the device list of {} could not be read (timeout); the listing is incomplete",
            failed.join(", ")
        );
    }
    Ok(())
}
