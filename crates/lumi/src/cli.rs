//! Command-line arguments.

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Logging: to standard error; set LUMI_LOG (e.g. LUMI_LOG=debug) for more.

Exit codes:
  0  success
  1  failure (network, I/O, timeout)
  2  bad input or usage: a datagram or packet that does not decode, a malformed argument

Examples:
  lumi decode '{\"cmd\":\"report\",\"model\":\"magnet\",\"sid\":\"158d0001c1cdfb\",\"data\":\"{\\\"status\\\":\\\"open\\\"}\"}'
  echo '{\"cmd\":\"whois\"}' | lumi decode
  lumi decode --token 9c3b2d1da5beceee2808a3d3653b485d 21310050000000000...
  lumi key --password 0987654321qwerty --token 1234567890abcdef";

/// Cloudless, local control of Xiaomi / Aqara (Lumi) gateways and devices.
#[derive(Debug, Parser)]
#[command(name = "lumi", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands; they may come before or after the subcommand.
///
/// Precedence: command line, then environment (`LUMI_*`), then the config file, then the
/// defaults.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Network interface for multicast: a name (`eth0`), one of its IPv4 addresses
    /// (`192.168.1.5`), or `auto` (the one facing --gateway, else the one the system routes
    /// multicast through). Default: lumi.toml's `interface`, else `auto`. Nothing is joined or
    /// sent on any other interface.
    #[arg(long, global = true, env = "LUMI_INTERFACE", value_name = "NAME|IP")]
    pub interface: Option<String>,
    /// A gateway by address (`192.168.1.20` or `192.168.1.20:9898`), when multicast discovery
    /// does not reach it. May be given several times.
    #[arg(long, global = true, value_name = "IP[:PORT]")]
    pub gateway: Vec<String>,
    /// The gateway's 16-character LAN password (Mi Home app: gateway > About > LAN
    /// communication protocol). Needed for writes only. It replaces the config file's default
    /// `password`; a `[[gateway]]` with its own `password` keeps that one.
    #[arg(long, global = true, env = "LUMI_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Config file (TOML) with gateways, passwords and the interface. Default:
    /// `$XDG_CONFIG_HOME/lumi/lumi.toml` (or `~/.config/lumi/lumi.toml`) when it exists.
    #[arg(long, global = true, env = "LUMI_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// How long to wait for answers (e.g. 500ms, 3s, 1m).
    #[arg(long, global = true, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Machine-readable output: one compact JSON value per line.
    #[arg(long, global = true)]
    pub json: bool,
    /// Discovery port (`whois`/`iam`); change only for tests and simulators.
    #[arg(long, global = true, value_name = "PORT", help_heading = "Advanced")]
    pub discovery_port: Option<u16>,
    /// Report and heartbeat multicast port; change only for tests and simulators.
    #[arg(long, global = true, value_name = "PORT", help_heading = "Advanced")]
    pub report_port: Option<u16>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode a LAN API datagram or a miIO packet and print it as typed JSON.
    ///
    /// A LAN datagram is JSON text (v1 or v2; the version is detected). A miIO packet is hex
    /// (spaces and colons allowed) and needs the device token to decrypt, except hello
    /// packets, which are not encrypted.
    Decode(DecodeArgs),
    /// Run simulated gateways and devices on loopback, for trying lumi without hardware.
    ///
    /// Without --scenario: a house with one device of every kind the catalogue knows, spread
    /// over --gateways gateways on consecutive addresses from --bind (v1 and v2 alternating,
    /// or --protocol), and a miIO Wi-Fi plug on the next address. Gateways and the plug use
    /// the miIO token 1c1961595b889a1f42af6b16cf9a6b81 unless a scenario sets one.
    /// Everything happens on --interface (127.0.0.1 by default): nothing is sent on your real
    /// network unless you name its interface.
    Sim(SimArgs),
    /// Run the MQTT bridge: every device on MQTT, with Home Assistant discovery.
    ///
    /// Publishes `lumi/<name>` JSON states, `…/availability`, `lumi/bridge/state` (with a last
    /// will), `lumi/bridge/devices` and `lumi/bridge/event`; takes commands on `lumi/<name>/set`,
    /// `…/get` and `lumi/bridge/request/<name>` (permit_join, remove, rename, read, health).
    /// Settings come from lumi.toml (every key: docs/configuration.md, or `lumi bridge --print-config`). Without
    /// mqtt.url (or --mqtt) it runs its own broker on 127.0.0.1:1883. Runs until Ctrl-C or
    /// SIGTERM.
    ///
    /// Under systemd (`Type=notify`, NOTIFY_SOCKET set) it reports READY=1 once it runs, a
    /// STATUS line, STOPPING=1, and with WatchdogSec= pings the watchdog while its LAN client
    /// answers (packaging/lumi.service).
    #[command(after_help = "Examples:
  lumi bridge --print-config                        # the effective configuration, secrets redacted
  lumi bridge --interface eth0 --mqtt mqtt://192.168.1.2:1883
  lumi bridge --config /etc/lumi/lumi.toml
  mosquitto_sub -h 127.0.0.1 -t 'lumi/#' -v        # watch what it publishes")]
    Bridge(BridgeArgs),
    /// Try lumi without hardware: simulated gateways, the bridge and an embedded MQTT broker.
    ///
    /// Starts two simulated gateways (protocol v1 and v2) on loopback with one device of every
    /// kind lumi knows, the bridge, and an MQTT broker on 127.0.0.1:1883 (or --mqtt-listen),
    /// then prints where to look and streams the events until Ctrl-C. Nothing leaves this
    /// machine.
    #[command(after_help = "Examples:
  lumi demo
  lumi demo --mqtt-listen 127.0.0.1:11883 --random-every 2s
  mosquitto_sub -h 127.0.0.1 -t 'lumi/#' -v        # in another terminal")]
    Demo(DemoArgs),
    /// Measure the bridge end to end on loopback: throughput, drops, latency, CPU, memory.
    ///
    /// Starts --gateways simulated gateways with --devices Mi plugs each (on 127.0.1.1 and
    /// up), a `lumi bridge` process publishing to a broker (the bridge's embedded one, a
    /// mosquitto it starts, or --mqtt), and a subscriber. Then the gateways send reports at
    /// --rate for --duration (or an unpaced --burst), each carrying a sequence number, and
    /// every report is followed to its MQTT delivery. Prints what was sent, received by the
    /// bridge, published and delivered (drops at each stage), throughput, latency from
    /// datagram sent to MQTT message delivered (p50/p99/p99.9/max), the bridge's CPU time and
    /// peak RSS, and the loopback limit (a bare sender/receiver pair sending the same
    /// datagrams). Everything stays on loopback. See BENCHMARKS.md.
    #[command(after_help = "Examples:
  lumi bench                                             # 2 000 reports/s for 10 s, embedded broker
  lumi bench --broker mosquitto --rate 20000 --duration 60s
  lumi bench --broker mosquitto --burst 50000 --json
  lumi bench --mqtt mqtt://127.0.0.1:1883                # a broker already running on loopback")]
    Bench(BenchArgs),
    /// Find gateways: multicast `whois` on the interface, and every --gateway address probed.
    ///
    /// Lists each gateway's sid, command address, model and protocol version. Waits --timeout
    /// (3 s) for answers. Exit 1 when none answers.
    #[command(after_help = "Examples:
  lumi discover --interface eth0
  lumi discover --interface 192.168.1.5 --timeout 5s --json
  lumi discover --gateway 192.168.1.20        # a gateway multicast does not reach")]
    Discover,
    /// List every device of every gateway: model, kind, typed state, battery, last seen.
    ///
    /// Finds the gateways (as `discover`), reads each one's device list and every device.
    #[command(after_help = "Examples:
  lumi devices --interface eth0
  lumi devices --json | jq 'select(.battery != null and .battery < 20) | .sid'")]
    Devices,
    /// Print live events (reports, heartbeats, gateways online/offline) until Ctrl-C.
    ///
    /// Human output: one aligned line per event (token refreshes and dropped datagrams only
    /// with --all). --json: every event as one JSON object per line, with a `time` field
    /// (seconds since 1970).
    #[command(after_help = "Examples:
  lumi listen --interface eth0
  lumi listen --json --duration 1m > events.jsonl")]
    Listen(ListenArgs),
    /// Read a device (or a gateway, by its own sid) and print its typed state.
    #[command(after_help = "Examples:
  lumi read 158d0001c1cdfb
  lumi read 7811dcb06972 --json        # the gateway itself: light, illuminance, protocol")]
    Read(ReadArgs),
    /// Write raw properties to a device: key=value pairs in the gateway's own keys.
    ///
    /// Values that look like numbers are sent as JSON numbers, anything else as strings; a
    /// value in double quotes is a JSON string (`curtain_level='"50"'` sends "50", as v1
    /// curtains want). Needs the gateway's password. Prints the state before the write (what
    /// the gateway answers) and the device's report of the change when it comes.
    #[command(after_help = "Examples:
  lumi write 158d00015879f9 status=on --password 0987654321qwerty   # v1 plug
  lumi write 158d00015879f9 channel_0=off                         # v2 plug
  lumi write 7811dcb06972 rgb=1694433280                          # gateway light: red, 100 %")]
    Write(WriteArgs),
    /// Set a device in lumi's vocabulary: plug and switch channels (on, off, toggle),
    /// curtains (open, close, stop, level=N), or any writable property (PROPERTY=VALUE).
    Set(crate::cmd::set::SetArgs),
    /// The gateway's light ring: a colour and brightness, or off.
    Light(crate::cmd::light::LightArgs),
    /// Play a gateway ringtone or alarm sound, or stop it; --list shows them.
    Sound(crate::cmd::sound::SoundArgs),
    /// Open (or close) pairing of new sub-devices on a gateway.
    Pair(crate::cmd::pair::PairArgs),
    /// Remove a sub-device from its gateway.
    Unpair(crate::cmd::pair::UnpairArgs),
    /// Diagnose the setup: interfaces, whether `iam` and multicast heartbeats arrive on each,
    /// whether gateways answer unicast, whether the password works, and what to fix.
    Doctor(crate::cmd::doctor::DoctorArgs),
    /// Compute the LAN API write key for a gateway password and token.
    ///
    /// key = hex(AES-128-CBC(password, IV 17996d093d28ddb3ba695a2e6f58562e, token)).
    Key(KeyArgs),
    /// Talk to miIO devices (Wi-Fi devices, and the gateways themselves) on UDP 54321:
    /// discover, info, call, token, gateway-devices, enable-lan, events (push events).
    Miio(crate::cmd::miio::MiioArgs),
    /// Print a shell completion script for lumi (bash, zsh, fish, elvish or powershell).
    ///
    /// The script completes subcommands, options and their fixed values; it is printed to
    /// standard output: save it where your shell looks for completions (examples below), or
    /// load it from your shell's startup file.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print lumi's manual page (roff), or write one page per subcommand with --out.
    ///
    /// Without --out: the main page, lumi(1), on standard output. With --out DIR: lumi.1 and
    /// a page for every subcommand (lumi-bridge.1, lumi-miio-discover.1, …) in DIR, created
    /// if missing; prints the files it wrote.
    #[command(after_help = MAN_HELP)]
    Man(ManArgs),
}

const COMPLETIONS_HELP: &str = "\
Install:
  bash  (needs the bash-completion package; loaded on first use of `lumi`):
          mkdir -p ~/.local/share/bash-completion/completions
          lumi completions bash > ~/.local/share/bash-completion/completions/lumi
        for every user: lumi completions bash | sudo tee /usr/share/bash-completion/completions/lumi
        or just this shell: source <(lumi completions bash)
  zsh   (a directory on $fpath, before compinit in ~/.zshrc: fpath=(~/.zfunc $fpath)):
          mkdir -p ~/.zfunc && lumi completions zsh > ~/.zfunc/_lumi
  fish:   lumi completions fish > ~/.config/fish/completions/lumi.fish
  elvish: lumi completions elvish > ~/.config/elvish/lib/lumi.elv   and `use lumi` in rc.elv
  powershell: lumi completions powershell | Out-String | Invoke-Expression   (in $PROFILE)

Open a new shell afterwards. Generate the script again after upgrading lumi.";

const MAN_HELP: &str = "\
Examples:
  lumi man | man -l -                                   # read it now
  lumi man --out ~/.local/share/man/man1                # then: man lumi, man lumi-bridge
  sudo lumi man --out /usr/local/share/man/man1 && sudo mandb
  man -l ~/.local/share/man/man1/lumi-bridge.1          # one page, without installing";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write lumi.1 and one page per subcommand into this directory (created if missing)
    /// instead of printing lumi.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The datagram (JSON text) or the miIO packet (hex). Read from standard input when
    /// absent or `-`.
    pub input: Option<String>,
    /// miIO device token (32 hex digits): decode the input as a miIO packet.
    #[arg(long, env = "LUMI_MIIO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Treat the input as a miIO packet even without a token (hello packets only).
    #[arg(long)]
    pub miio: bool,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Stop after this long (e.g. 30s, 10m); run until Ctrl-C when absent.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Also show token refreshes and dropped datagrams (always in --json).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The device's sid (`lumi devices` lists them), or a gateway's.
    pub sid: String,
}

#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The device's sid (`lumi devices` lists them), or a gateway's.
    pub sid: String,
    /// Properties as key=value (raw keys of the gateway's protocol: status, channel_0, rgb…).
    #[arg(required = true, value_name = "KEY=VALUE")]
    pub props: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The current 16-character token, from a gateway heartbeat or `get_id_list` reply.
    #[arg(long)]
    pub token: String,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// A scenario file (TOML): gateways, devices and a timeline of events. See
    /// `lumi_sim::scenario` for the format.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<std::path::PathBuf>,
    /// Address of the first simulated gateway; more gateways take the next addresses.
    #[arg(long, default_value = "127.0.0.2")]
    pub bind: std::net::Ipv4Addr,
    /// How many gateways to simulate (without --scenario).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=50))]
    pub gateways: u8,
    /// Protocol of the gateways: v1, v2, or both (alternating).
    #[arg(long, default_value = "both")]
    pub protocol: String,
    /// A random event (door, motion, button, cube, temperature, plug) about this often;
    /// `0` for none.
    #[arg(long, default_value = "10s")]
    pub random_every: String,
    /// Command port of each gateway (0: any free port, announced in `iam`).
    #[arg(long, default_value_t = 9898)]
    pub command_port: u16,
    /// miIO port of each gateway (0: any free port).
    #[arg(long, default_value_t = 54321)]
    pub miio_port: u16,
    /// Stop after this long (e.g. 30s); run until Ctrl-C when absent.
    #[arg(long)]
    pub duration: Option<String>,
}

#[derive(Debug, Args)]
pub struct BridgeArgs {
    /// Print the effective configuration (lumi.toml, defaults and options, secrets redacted)
    /// and exit.
    #[arg(long)]
    pub print_config: bool,
    /// The MQTT broker (`mqtt://host:1883`, `mqtts://host:8883`), instead of lumi.toml's
    /// mqtt.url.
    #[arg(long, env = "LUMI_MQTT_URL", value_name = "URL")]
    pub mqtt: Option<String>,
    /// Where the embedded broker listens (when no broker URL is set), instead of lumi.toml's
    /// mqtt.listen (default 127.0.0.1:1883).
    #[arg(long, value_name = "IP:PORT")]
    pub mqtt_listen: Option<String>,
    /// Where the web dashboard and /metrics listen, instead of lumi.toml's web.listen
    /// (default 127.0.0.1:8099; any address but loopback needs web.token).
    #[arg(long, value_name = "IP:PORT")]
    pub web_listen: Option<String>,
    /// No web dashboard and no /metrics ([web] enabled = false).
    #[arg(long, conflicts_with = "web_listen")]
    pub no_web: bool,
    /// Stop after this long (e.g. 30s); run until Ctrl-C when absent.
    #[arg(long)]
    pub duration: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the embedded MQTT broker listens.
    #[arg(long, default_value = "127.0.0.1:1883", value_name = "IP:PORT")]
    pub mqtt_listen: String,
    /// Use this MQTT broker instead of the embedded one (`mqtt://127.0.0.1:1883`).
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    /// Where the web dashboard listens (loopback only: the demo has no token).
    #[arg(long, default_value = "127.0.0.1:8099", value_name = "IP:PORT")]
    pub web_listen: String,
    /// No web dashboard.
    #[arg(long)]
    pub no_web: bool,
    /// Address of the first simulated gateway (the second takes the next one).
    #[arg(long, default_value = "127.0.0.2")]
    pub bind: std::net::Ipv4Addr,
    /// A random event (door, motion, button, cube, temperature, plug) about this often;
    /// `0` for none.
    #[arg(long, default_value = "5s")]
    pub random_every: String,
    /// Do not stream events (only print where to look).
    #[arg(long)]
    pub quiet: bool,
    /// Command port of each simulated gateway (0: any free port, announced in `iam`).
    #[arg(long, default_value_t = 9898, help_heading = "Advanced")]
    pub command_port: u16,
    /// miIO port of each simulated gateway (0: any free port).
    #[arg(long, default_value_t = 54321, help_heading = "Advanced")]
    pub miio_port: u16,
    /// Stop after this long (e.g. 30s); run until Ctrl-C when absent.
    #[arg(long)]
    pub duration: Option<String>,
}

/// Which MQTT broker `lumi bench` measures through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchBroker {
    /// The bridge's embedded broker (in the bridge process: its memory counts).
    Embedded,
    /// A mosquitto started from PATH on a free loopback port.
    Mosquitto,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Simulated gateways (on consecutive addresses from --bind).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=250))]
    pub gateways: u16,
    /// Mi plugs per gateway.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub devices: u32,
    /// Reports per second, all gateways together, paced evenly.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub rate: u32,
    /// How long to send at --rate (e.g. 10s, 1m).
    #[arg(long, default_value = "10s")]
    pub duration: String,
    /// Send this many reports as fast as possible instead (--rate and --duration ignored).
    #[arg(long, value_name = "REPORTS", value_parser = clap::value_parser!(u32).range(1..=50_000_000))]
    pub burst: Option<u32>,
    /// The broker to measure through.
    #[arg(long, value_enum, default_value_t = BenchBroker::Embedded)]
    pub broker: BenchBroker,
    /// A broker already running on loopback instead (mqtt://127.0.0.1:1883).
    #[arg(long, value_name = "URL", conflicts_with = "broker")]
    pub mqtt: Option<String>,
    /// QoS of the bridge's state messages (its mqtt.qos).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,
    /// Address of the first simulated gateway (loopback only).
    #[arg(long, default_value = "127.0.1.1")]
    pub bind: std::net::Ipv4Addr,
    /// Do not measure the loopback limit first.
    #[arg(long)]
    pub no_baseline: bool,
    /// Also write every delivered report to this CSV file: when it was sent (ms after the
    /// first report) and its latency (ms). To find out when the slow ones happen.
    #[arg(long, value_name = "FILE", help_heading = "Advanced")]
    pub latency_csv: Option<std::path::PathBuf>,
    /// After the last report, wait this long without a new delivery before counting the
    /// rest as lost.
    #[arg(long, default_value = "3s", help_heading = "Advanced")]
    pub drain: String,
    /// The `lumi` executable to run as the bridge (default: this one).
    #[arg(long, value_name = "FILE", help_heading = "Advanced")]
    pub bridge_exe: Option<std::path::PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own consistency checks (duplicate ids between global and subcommand options,
    /// defaults that do not parse, ...), which otherwise only panic at run time.
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
