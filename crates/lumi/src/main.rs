//! `lumi`: cloudless, local control of Xiaomi / Aqara devices.
//!
//! `main` only parses arguments and maps results to exit codes; each subcommand lives in its
//! own file under `cmd/`.

mod cli;
mod cmd;
mod exit;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            let code = exit::code_for(&err);
            eprintln!("lumi: error: {err:#}");
            std::process::ExitCode::from(code)
        }
    }
}
