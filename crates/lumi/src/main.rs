//! `lumi`: cloudless, local control of Xiaomi / Aqara devices.
//!
//! `main` only parses arguments and maps results to exit codes; each subcommand lives in its
//! own file under `cmd/`.

mod cli;
mod cmd;
mod exit;
mod settings;
mod systemd;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    // The daemons say what they do; one-shot commands only warn.
    let daemon = matches!(cli.command, cli::Command::Bridge(_) | cli::Command::Demo(_));
    init_logging(if daemon { "info" } else { "warn" });
    match cmd::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            let code = exit::code_for(&err);
            eprintln!("lumi: error: {err:#}");
            std::process::ExitCode::from(code)
        }
    }
}

/// Logs go to standard error, filtered by `LUMI_LOG` (e.g. `LUMI_LOG=debug`,
/// `LUMI_LOG=lumi_sim=trace`); `default` when it is not set. The embedded broker's targets
/// that report every harmless disconnect as an ERROR are left out
/// (`lumi_bridge::broker::NOISY_LOG_TARGETS`); its other warnings stay.
fn init_logging(default: &str) {
    use tracing_subscriber::EnvFilter;
    let quiet = "rumqttd=warn,rumqttd::router::routing=off,rumqttd::server::broker=off";
    let filter = EnvFilter::try_from_env("LUMI_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},{quiet}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
