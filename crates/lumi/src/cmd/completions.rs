//! `lumi completions SHELL`: a completion script generated from the clap definition.

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: CompletionsArgs) -> anyhow::Result<()> {
    let script = script(args.shell);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .context("cannot write the completion script to standard output")
}

/// The script for `shell`, completing the binary `lumi`.
pub fn script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    // Into memory first: clap_complete panics on a failed write (a closed pipe).
    clap_complete::generate(shell, &mut cmd, "lumi", &mut buf);
    buf
}
