//! One file per subcommand.

mod bench;
mod bridge;
mod completions;
pub mod control;
mod decode;
mod demo;
mod devices;
mod discover;
pub mod doctor;
mod key;
mod lan;
pub mod light;
mod listen;
mod man;
pub mod miio;
pub mod pair;
mod read;
pub mod set;
mod sim;
pub mod sound;
mod write;

use crate::cli::{Cli, Command};

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Decode(args) => decode::run(args, g),
        Command::Key(args) => key::run(args, g),
        Command::Sim(args) => sim::run(args, g),
        Command::Bridge(args) => bridge::run(args, g),
        Command::Demo(args) => demo::run(args, g),
        Command::Bench(args) => bench::run(args, g),
        Command::Miio(args) => miio::run(args, g),
        Command::Discover => discover::run(g),
        Command::Devices => devices::run(g),
        Command::Listen(args) => listen::run(args, g),
        Command::Read(args) => read::run(args, g),
        Command::Write(args) => write::run(args, g),
        Command::Light(args) => light::run(args, g),
        Command::Sound(args) => sound::run(args, g),
        Command::Set(args) => set::run(args, g),
        Command::Pair(args) => pair::pair(args, g),
        Command::Unpair(args) => pair::unpair(args, g),
        Command::Doctor(args) => doctor::run(args, g),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args, g),
    }
}

/// Completes on Ctrl-C, or after `after` when given: how long-running commands (`listen`,
/// `sim`, `miio events`) stop.
pub async fn stopped(after: Option<std::time::Duration>) {
    let deadline = async {
        match after {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    // SIGTERM too: how systemd and Docker stop a daemon.
    let term = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
        () = deadline => {}
    }
}

/// Writes one line to standard output. Returns false when the reader has gone away (a
/// closed pipe, as in `lumi sim | head`), so callers stop instead of panicking.
pub fn out(line: &str) -> bool {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    writeln!(o, "{line}").and_then(|()| o.flush()).is_ok()
}

/// Prints a JSON value, indented or as one line.
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T, compact: bool) -> anyhow::Result<()> {
    let text = if compact {
        serde_json::to_string(value)?
    } else {
        serde_json::to_string_pretty(value)?
    };
    out(&text);
    Ok(())
}
