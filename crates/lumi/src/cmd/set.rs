//! `lumi set`: typed writes to a device: plug and wall-switch channels, curtains, and any
//! writable property of the catalogue.

use clap::Args;
use lumi_client::gateway::{CurtainCommand, SwitchAction};
use lumi_proto::catalogue::TypedValue;

use super::control;
use super::lan::{self, client_error};
use crate::cli::Global;
use crate::exit::bad_input;

#[derive(Debug, Args)]
#[command(after_help = "\
ACTION is one of:
  on, off, toggle        a plug or wall-switch channel (--channel N for two-key switches, 0-based)
  open, close, stop      a curtain motor
  level=N                a curtain's position, 0-100 % open
  PROPERTY=VALUE ...     any writable property in lumi's vocabulary (`lumi read SID` shows the
                         device; errors list its writable properties), e.g. state_right=on
Values are typed by the device catalogue; writes need the gateway's LAN password.

Examples:
  lumi set 158d0001234567 on
  lumi set 158d0001234568 toggle --channel 1
  lumi set 158d000abcdef0 level=40
  lumi set 158d0001234568 state_left=off state_right=on")]
pub struct SetArgs {
    /// The device's sid.
    pub sid: String,
    /// What to do (see below).
    #[arg(required = true, num_args = 1.., value_name = "ACTION")]
    pub actions: Vec<String>,
    /// The switch channel for on/off/toggle (0-based).
    #[arg(long, default_value_t = 0)]
    pub channel: usize,
}

enum Plan {
    Switch(SwitchAction),
    Curtain(CurtainCommand),
    Props(Vec<(String, TypedValue)>),
}

fn plan(args: &SetArgs) -> anyhow::Result<Plan> {
    if let [one] = args.actions.as_slice() {
        match one.to_ascii_lowercase().as_str() {
            "on" => return Ok(Plan::Switch(SwitchAction::On)),
            "off" => return Ok(Plan::Switch(SwitchAction::Off)),
            "toggle" => return Ok(Plan::Switch(SwitchAction::Toggle)),
            "open" => return Ok(Plan::Curtain(CurtainCommand::Open)),
            "close" => return Ok(Plan::Curtain(CurtainCommand::Close)),
            "stop" => return Ok(Plan::Curtain(CurtainCommand::Stop)),
            _ => {}
        }
    }
    let mut props = Vec::new();
    for a in &args.actions {
        let Some((k, v)) = a.split_once('=') else {
            return Err(bad_input(format!(
                "{:?}: expected on, off, toggle, open, close, stop or PROPERTY=VALUE",
                lumi_proto::sanitize::truncated(a, 40)
            )));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            return Err(bad_input(format!("{a:?}: the property name is missing")));
        }
        if k == "level" && props.is_empty() && args.actions.len() == 1 {
            let level: u8 = v
                .parse()
                .ok()
                .filter(|l| *l <= 100)
                .ok_or_else(|| bad_input(format!("level={v}: expected 0-100 (% open)")))?;
            return Ok(Plan::Curtain(CurtainCommand::Level(level)));
        }
        // Numbers and booleans as such, everything else as text; the catalogue checks types.
        let value = serde_json::from_str::<serde_json::Value>(v)
            .ok()
            .filter(|j| j.is_number() || j.is_boolean())
            .map_or_else(|| TypedValue::text(v), |j| TypedValue::from_json(&j));
        props.push((k.to_owned(), value));
    }
    Ok(Plan::Props(props))
}

pub fn run(args: SetArgs, g: &Global) -> anyhow::Result<()> {
    let sid = lan::parse_sid(&args.sid)?;
    let plan = plan(&args)?;
    let lan = lan::resolve(g)?;
    lan::runtime()?.block_on(async {
        let client = control::start(&lan, true).await?;
        let result = match &plan {
            Plan::Switch(a) => client.switch(&sid, args.channel, *a).await,
            Plan::Curtain(c) => client.curtain(&sid, *c).await,
            Plan::Props(p) => {
                let values: Vec<(&str, TypedValue)> =
                    p.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                client.set_many(&sid, &values).await
            }
        };
        client.shutdown().await;
        let data = result.map_err(client_error)?;
        control::done(
            &lan,
            &format!("set {} {}", sid, args.actions.join(" ")),
            &data,
        )
    })
}
