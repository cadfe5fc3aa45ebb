//! `lumi sound`: the gateway's ringtones and alarms.

use clap::Args;
use lumi_proto::catalogue::{SOUNDS, STOP_NAME};

use super::control::{self, GatewayChoice};
use super::lan::{self, client_error};
use crate::cli::Global;
use crate::exit::bad_input;

#[derive(Debug, Args)]
#[command(after_help = "\
Sounds by name (see --list) or number (custom sounds uploaded in the app are 10001 and up);
`stop` stops. Writes need the gateway's LAN password.

Examples:
  lumi sound doorbell --volume 30
  lumi sound 10001
  lumi sound stop
  lumi sound --list")]
pub struct SoundArgs {
    /// A sound name or id, or `stop`.
    #[arg(value_name = "SOUND|stop", required_unless_present = "list")]
    pub sound: Option<String>,
    /// Volume in percent (0–100); the gateway's own volume when absent.
    #[arg(long, short, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub volume: Option<u8>,
    /// List the sounds the catalogue knows, without talking to a gateway.
    #[arg(long)]
    pub list: bool,
    #[command(flatten)]
    pub gateway: GatewayChoice,
}

pub fn run(args: SoundArgs, g: &Global) -> anyhow::Result<()> {
    if args.list {
        for s in SOUNDS {
            let line = if g.json {
                serde_json::json!({"id": s.id, "sound": s.slug, "name": s.name}).to_string()
            } else {
                format!("{:>6}  {:<24} {}", s.id, s.slug, s.name)
            };
            if !super::out(&line) {
                break;
            }
        }
        return Ok(());
    }
    let sound = args.sound.clone().unwrap_or_default();
    let stop = sound.eq_ignore_ascii_case(STOP_NAME);
    let known = stop
        || sound.parse::<u32>().is_ok()
        || SOUNDS.iter().any(|s| s.slug.eq_ignore_ascii_case(&sound));
    if !known {
        return Err(bad_input(format!(
            "sound {:?}: not a sound name or number; `lumi sound --list` shows them",
            lumi_proto::sanitize::truncated(&sound, 40)
        )));
    }
    let lan = lan::resolve(g)?;
    lan::runtime()?.block_on(async {
        let client = control::start(&lan, false).await?;
        let result = async {
            let gw = control::gateway(&lan, &client, &args.gateway).await?;
            let data = if stop {
                client.stop_sound(&gw).await
            } else {
                client.play_sound(&gw, &sound, args.volume).await
            }
            .map_err(client_error)?;
            anyhow::Ok((gw, data))
        }
        .await;
        client.shutdown().await;
        let (gw, data) = result?;
        let what = if stop {
            format!("sound stopped on {gw}")
        } else {
            format!("sound {sound} on {gw}")
        };
        control::done(&lan, &what, &data)
    })
}
