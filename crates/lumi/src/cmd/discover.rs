//! `lumi discover`: gateways that answer `whois`, and every --gateway address probed.

use std::net::SocketAddr;

use lumi_client::discovery::{self, FoundGateway};
use serde_json::json;

use super::lan::{self, Lan};
use crate::cli::Global;

pub fn run(g: &Global) -> anyhow::Result<()> {
    let lan = lan::resolve(g)?;
    lan::runtime()?.block_on(discover(&lan))
}

struct Row {
    gateway: FoundGateway,
    found_by: &'static str,
}

async fn discover(lan: &Lan) -> anyhow::Result<()> {
    let timeout = lan.settings.timeout;
    let statics: Vec<SocketAddr> = lan
        .settings
        .gateways
        .iter()
        .filter_map(|e| e.addr)
        .collect();
    let mut probes = tokio::task::JoinSet::new();
    for addr in statics {
        let net = lan.net;
        probes.spawn(async move { (addr, discovery::probe(&net, addr, timeout).await) });
    }
    let found = discovery::discover(&lan.net, timeout).await?;
    let mut rows: Vec<Row> = found
        .into_iter()
        .map(|gateway| Row {
            gateway,
            found_by: "whois",
        })
        .collect();
    let mut failed = 0usize;
    while let Some(r) = probes.join_next().await {
        match r {
            Ok((_, Ok(p))) => match rows.iter_mut().find(|r| r.gateway.sid == p.gateway.sid) {
                Some(r) => r.found_by = "whois+address",
                None => rows.push(Row {
                    gateway: p.gateway,
                    found_by: "address",
                }),
            },
            Ok((addr, Err(e))) => {
                failed += 1;
                tracing::debug!(%addr, "probe failed");
                eprintln!("lumi: warning: {e}");
            }
            Err(e) => {
                failed += 1;
                eprintln!("lumi: warning: a probe failed: {e}");
            }
        }
    }
    if rows.is_empty() {
        return Err(lan.nobody());
    }
    rows.sort_by(|a, b| a.gateway.sid.cmp(&b.gateway.sid));
    if lan.settings.json {
        for r in &rows {
            let g = &r.gateway;
            super::print_json(
                &json!({
                    "sid": g.sid,
                    "addr": g.addr.to_string(),
                    "model": g.model,
                    "protocol": g.version,
                    "proto_version": g.proto_version,
                    "found_by": r.found_by,
                }),
                true,
            )?;
        }
    } else {
        let mut table = vec![vec![
            "SID".to_owned(),
            "ADDRESS".into(),
            "MODEL".into(),
            "PROTOCOL".into(),
            "FOUND BY".into(),
        ]];
        for r in &rows {
            let g = &r.gateway;
            let protocol = match (g.version, &g.proto_version) {
                (Some(v), Some(p)) => format!("{v} ({})", lan::text(Some(p))),
                (Some(v), None) => v.to_string(),
                (None, _) => "?".into(),
            };
            table.push(vec![
                g.sid.to_string(),
                g.addr.to_string(),
                lan::text(g.model.as_deref()),
                protocol,
                r.found_by.into(),
            ]);
        }
        lan::print_table(&table);
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} configured gateway address(es) did not answer (see the warnings above)"
        );
    }
    Ok(())
}
