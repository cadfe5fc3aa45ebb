//! `lumi man [--out DIR]`: manual pages generated from the clap definition.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, Global, ManArgs};

pub fn run(args: ManArgs, g: &Global) -> anyhow::Result<()> {
    match &args.out {
        None => {
            let page = render(&page(command()), None)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&page)
                .and_then(|()| out.flush())
                .context("cannot write the manual page to standard output")
        }
        Some(dir) => {
            let written = write_all(dir)?;
            if g.json {
                super::print_json(&serde_json::json!({ "written": written }), true)?;
            } else {
                for p in &written {
                    super::out(&p.display().to_string());
                }
            }
            Ok(())
        }
    }
}

/// lumi's command as the pages show it: every global option on every subcommand's page, no
/// `help` subcommand (it has no page).
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Propagates the global options and names the subcommands `lumi-bridge`, `lumi bridge`.
    cmd.build();
    cmd
}

fn page(cmd: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd)
        .source(concat!("lumi ", env!("CARGO_PKG_VERSION")))
        .manual("lumi manual")
}

/// The page as roff. clap_mangen puts the `after_help` text (examples, exit codes) under
/// the heading EXTRA; man pages call that EXAMPLES (or NOTES when it holds more). A
/// subcommand's page ends with SEE ALSO its parent.
fn render(man: &clap_mangen::Man, parent: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    man.render(&mut buf)
        .context("cannot render the manual page")?;
    let mut text = String::from_utf8(buf).context("the manual page is not UTF-8")?;
    if let Some(at) = text.find("\n.SH EXTRA\n") {
        let body = &text[at + "\n.SH EXTRA\n".len()..];
        let heading = if body.starts_with("Examples:") {
            "EXAMPLES"
        } else {
            "NOTES"
        };
        text.replace_range(
            at..at + "\n.SH EXTRA\n".len(),
            &format!("\n.SH {heading}\n"),
        );
    }
    // Non-ASCII text (…, –) as roff's Unicode escapes, for formatters that take ASCII only
    // (groff without preconv).
    if !text.is_ascii() {
        text = text
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    format!("\\[u{:04X}]", u32::from(c))
                }
            })
            .collect();
    }
    if let Some(parent) = parent {
        let parent = parent.replace('-', "\\-");
        text.push_str(&format!(".SH \"SEE ALSO\"\n\\fB{parent}\\fR(1)\n"));
    }
    Ok(text.into_bytes())
}

/// Writes lumi.1 and a page for every (nested) subcommand into `dir`; the paths written,
/// lumi.1 first.
fn write_all(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    // (command, the page of its parent command)
    let mut pending: Vec<(clap::Command, Option<String>)> = vec![(command(), None)];
    while let Some((cmd, parent)) = pending.pop() {
        let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned();
        let subs: Vec<_> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| (s.clone(), Some(name.clone())))
            .collect();
        let man = page(cmd);
        let path = dir.join(man.get_filename());
        let bytes = render(&man, parent.as_deref())?;
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
        pending.extend(subs.into_iter().rev());
    }
    Ok(written)
}
