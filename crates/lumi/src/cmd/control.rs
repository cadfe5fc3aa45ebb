//! What `light`, `sound`, `set`, `pair` and `unpair` share: starting a client for one command
//! and choosing the gateway it talks to.

use clap::Args;
use lumi_client::gateway::{Client, DeviceData};
use lumi_proto::lan::Sid;

use super::lan::{self, Lan, Needs, client_error};
use crate::exit::bad_input;

/// `--sid`: which gateway, when there are several.
#[derive(Debug, Args)]
pub struct GatewayChoice {
    /// The gateway's sid (`lumi discover` lists them); needed only when several answer.
    #[arg(long = "sid", value_name = "GATEWAY_SID")]
    pub sid: Option<String>,
}

/// Starts a client that knows the gateways (and, if `devices`, their devices).
pub async fn start(lan: &Lan, devices: bool) -> anyhow::Result<Client> {
    let (client, _events) = lan.start(Needs {
        listen: false,
        devices,
    })?;
    client.ready().await.map_err(client_error)?;
    Ok(client)
}

/// The gateway to talk to: `--sid`, else the only one there is.
pub async fn gateway(lan: &Lan, client: &Client, choice: &GatewayChoice) -> anyhow::Result<Sid> {
    let known = client.gateways().await.map_err(client_error)?;
    if let Some(s) = &choice.sid {
        let sid = lan::parse_sid(s)?;
        if known.iter().any(|g| g.sid == sid) {
            return Ok(sid);
        }
        let list: Vec<String> = known
            .iter()
            .map(|g| format!("{} ({})", g.sid, g.addr))
            .collect();
        return Err(anyhow::anyhow!(
            "no gateway {sid} answered (found: {}); check the sid with `lumi discover`",
            if list.is_empty() {
                "none".into()
            } else {
                list.join(", ")
            }
        ));
    }
    match known.as_slice() {
        [] => Err(lan.nobody()),
        [one] => Ok(one.sid.clone()),
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|g| format!("{} ({})", g.sid, g.addr))
                .collect();
            Err(bad_input(format!(
                "{} gateways answered: {}; choose one with --sid",
                many.len(),
                list.join(", ")
            )))
        }
    }
}

/// Prints the outcome of a write: what was asked, and the device's state before it (the new
/// state arrives as a report, which `lumi listen` shows).
pub fn done(lan: &Lan, what: &str, data: &DeviceData) -> anyhow::Result<()> {
    if lan.settings.json {
        return super::print_json(
            &serde_json::json!({"ok": true, "sid": data.sid, "gateway": data.gateway, "command": what}),
            true,
        );
    }
    super::out(&format!(
        "{what}: ok ({} via gateway {})",
        data.sid, data.gateway
    ));
    Ok(())
}
