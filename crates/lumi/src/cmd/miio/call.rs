//! `lumi miio call`: one JSON-RPC call, its result printed as JSON.

use clap::Args;
use serde_json::{Map, Value};

use super::{DeviceArgs, sanitized};
use crate::cli::Global;
use crate::exit::bad_input;

#[derive(Debug, Args)]
pub struct CallArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// The method, e.g. `get_prop`, `set_power`, `miIO.info`.
    pub method: String,
    /// The params as JSON: usually an array (`'["power"]'`), sometimes an object.
    #[arg(value_name = "PARAMS_JSON", default_value = "[]")]
    pub params: String,
    /// Extra top-level members of the request as a JSON object, e.g.
    /// `'{"sid":"lumi.158d0001a2b3c4"}'` for a gateway sub-device.
    #[arg(long, value_name = "JSON")]
    pub extra: Option<String>,
}

pub async fn run(args: CallArgs, g: &Global) -> anyhow::Result<()> {
    let params: Value = serde_json::from_str(&args.params).map_err(|e| {
        bad_input(format!(
            "PARAMS_JSON is not JSON: {e} (e.g. '[\"power\"]'; quote it for the shell)"
        ))
    })?;
    let extra = match args.extra.as_deref() {
        None => None,
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Some(m),
            Ok(_) => {
                return Err(bad_input(
                    "--extra must be a JSON object, e.g. '{\"sid\":\"lumi.0\"}'",
                ));
            }
            Err(e) => return Err(bad_input(format!("--extra is not JSON: {e}"))),
        },
    };
    let extra: Option<Map<String, Value>> = extra;
    let dev = args.device.connect(g).await?;
    let result = dev.call_with(&args.method, params, extra).await?;
    super::super::print_json(&sanitized(result), g.json)
}
