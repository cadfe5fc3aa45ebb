//! `lumi light`: the gateway's light ring.

use clap::Args;
use lumi_proto::catalogue::Rgb;

use super::control::{self, GatewayChoice};
use super::lan::{self, client_error};
use crate::cli::Global;
use crate::exit::bad_input;

#[derive(Debug, Args)]
#[command(after_help = "\
Colours: a hex RGB value (ff8000, #ff8000), r,g,b (255,128,0) or a name: red, green, blue, white, yellow, cyan,
magenta, orange, purple, warm. Writes need the gateway's LAN password (--password,
LUMI_PASSWORD or lumi.toml).

Examples:
  lumi light red
  lumi light ff8000 --brightness 30
  lumi light off --sid 7811dcb06972")]
pub struct LightArgs {
    /// `off`, or a colour.
    #[arg(value_name = "COLOR|off")]
    pub color: String,
    /// Brightness in percent (1–100).
    #[arg(long, short, default_value_t = 50, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub brightness: u8,
    #[command(flatten)]
    pub gateway: GatewayChoice,
}

/// A colour name, or what [`Rgb::parse`] reads (`ff8000`, `#ff8000`, `255,128,0`).
pub fn parse_color(s: &str) -> Option<Rgb> {
    let named = match s.trim().to_ascii_lowercase().as_str() {
        "red" => 0xff0000,
        "green" => 0x00ff00,
        "blue" => 0x0000ff,
        "white" => 0xffffff,
        "yellow" => 0xffff00,
        "cyan" => 0x00ffff,
        "magenta" => 0xff00ff,
        "orange" => 0xff8000,
        "purple" => 0x8000ff,
        "warm" => 0xffb060,
        _ => return Rgb::parse(s),
    };
    Some(Rgb::from_u24(named))
}

pub fn run(args: LightArgs, g: &Global) -> anyhow::Result<()> {
    let off = args.color.eq_ignore_ascii_case("off");
    let color = if off {
        None
    } else {
        Some(parse_color(&args.color).ok_or_else(|| {
            bad_input(format!(
                "colour {:?}: use off, a name (red, green, blue, white, warm, ...) or hex RGB such as ff8000",
                lumi_proto::sanitize::truncated(&args.color, 40)
            ))
        })?)
    };
    let lan = lan::resolve(g)?;
    lan::runtime()?.block_on(async {
        let client = control::start(&lan, false).await?;
        let result = async {
            let gw = control::gateway(&lan, &client, &args.gateway).await?;
            let data = match color {
                None => client.light_off(&gw).await,
                Some(c) => client.light(&gw, c, args.brightness).await,
            }
            .map_err(client_error)?;
            anyhow::Ok((gw, data))
        }
        .await;
        client.shutdown().await;
        let (gw, data) = result?;
        let what = match color {
            None => format!("light off on {gw}"),
            Some(c) => format!("light {:06x} at {}% on {gw}", c.to_u24(), args.brightness),
        };
        control::done(&lan, &what, &data)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_by_name_hex_and_decimal() {
        let u = |s| parse_color(s).map(Rgb::to_u24);
        assert_eq!(u("Red"), Some(0xff0000));
        assert_eq!(u("warm"), Some(0xffb060));
        assert_eq!(u("#ff8000"), Some(0xff8000));
        assert_eq!(u("255,128,0"), Some(0xff8000));
        assert_eq!(u("chartreuse"), None);
        assert_eq!(u("ff80"), None);
    }
}
