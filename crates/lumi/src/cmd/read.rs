//! `lumi read SID`: a device's (or a gateway's) typed state.

use super::lan::{self, Lan, Needs, client_error};
use crate::cli::{Global, ReadArgs};

pub fn run(args: ReadArgs, g: &Global) -> anyhow::Result<()> {
    let sid = lan::parse_sid(&args.sid)?;
    let lan = lan::resolve(g)?;
    lan::runtime()?.block_on(read(&lan, sid))
}

async fn read(lan: &Lan, sid: lumi_proto::lan::Sid) -> anyhow::Result<()> {
    let (client, _events) = lan.start(Needs {
        listen: false,
        devices: true,
    })?;
    let r = client.read(&sid).await;
    let gateways = client.gateways().await.map(|g| g.len()).unwrap_or(0);
    client.shutdown().await;
    let data = match r {
        Ok(d) => d,
        Err(e) if gateways == 0 => {
            tracing::debug!("{e}");
            return Err(lan.nobody().context(format!("cannot read {sid}")));
        }
        Err(e) => return Err(client_error(e)),
    };
    if lan.settings.json {
        return super::print_json(&data, true);
    }
    let name = data.state.device.map(|d| d.name).unwrap_or("unknown model");
    super::out(&format!(
        "{} {} ({name}) via gateway {}",
        data.sid,
        lan::text(data.model.as_deref()),
        data.gateway
    ));
    let mut table = Vec::new();
    for r in &data.state.readings {
        let unit = data
            .state
            .device
            .and_then(|d| d.property(r.property))
            .and_then(|p| p.unit);
        table.push(vec![
            format!("  {}", r.property),
            lan::value_text(&r.value, unit),
        ]);
    }
    for (k, v) in data.state.raw.iter() {
        table.push(vec![
            format!("  {} (raw)", lumi_proto::sanitize::for_terminal(k)),
            lumi_proto::sanitize::truncated(&v.to_string(), 80),
        ]);
    }
    lan::print_table(&table);
    Ok(())
}
