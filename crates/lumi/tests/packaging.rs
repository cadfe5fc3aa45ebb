//! Packaging, end to end with the `lumi` binary: shell completions and man pages generated
//! from the CLI definition, systemd's notify protocol (`lumi bridge` under `Type=notify` with
//! a watchdog, against a simulated gateway on loopback), and the files under `packaging/`:
//! the systemd unit, the Dockerfile and the example `lumi.toml` with every option documented.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use lumi_sim::rt;
use lumi_sim::scenario::Scenario;
use lumi_sim::testkit::free_udp_port;

fn lumi() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lumi"));
    // Never the user's own config or environment, never systemd's.
    c.env_remove("LUMI_CONFIG")
        .env_remove("LUMI_PASSWORD")
        .env_remove("LUMI_MQTT_URL")
        .env_remove("LUMI_INTERFACE")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    lumi().args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A file of the repository (`packaging/lumi.service`).
fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// A fresh directory of this test process.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lumi-packaging-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The subcommands a `--help` lists under "Commands:" (without `help`).
fn subcommands_in_help(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// Every subcommand, nested ones as `miio discover`, from the binary's own help.
fn all_subcommands() -> Vec<Vec<String>> {
    fn walk(path: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = stdout(&run(&args));
        for sub in subcommands_in_help(&help) {
            let mut p = path.clone();
            p.push(sub);
            out.push(p.clone());
            walk(p, out);
        }
    }
    let mut out = Vec::new();
    walk(Vec::new(), &mut out);
    assert!(
        out.iter().any(|p| p == &["bridge"]) && out.iter().any(|p| p == &["miio", "discover"]),
        "{out:?}"
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Shell completions and man pages

#[test]
fn bash_completion_knows_every_subcommand_and_completes_them() {
    let script = stdout(&run(&["completions", "bash"]));
    assert!(script.contains("complete -F _lumi"), "{script}");
    for sub in all_subcommands() {
        let last = sub.last().unwrap();
        assert!(script.contains(last.as_str()), "{sub:?} missing");
    }
    // And bash really completes with it: `lumi br<TAB>` → bridge, `lumi bridge --print<TAB>`.
    let dir = temp_dir("bash");
    let file = dir.join("lumi.bash");
    std::fs::write(&file, &script).unwrap();
    let complete = |words: &str| {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             _lumi lumi \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display()
        );
        let out = Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(complete("lumi br").trim(), "bridge");
    assert_eq!(complete("lumi bridge --print").trim(), "--print-config");
    assert_eq!(complete("lumi completions fi").trim(), "fish");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn completions_for_every_shell_and_an_unknown_shell_is_a_usage_error() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&run(&["completions", shell]));
        assert!(
            script.contains("bridge") && script.contains("print-config"),
            "{shell}: {script}"
        );
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn man_page_has_name_synopsis_and_every_subcommand() {
    let page = stdout(&run(&["man"]));
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
    assert!(page.contains(".TH lumi 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
        assert!(page.contains(section), "{section} missing:\n{page}");
    }
    assert!(page.contains("\\fBlumi\\fR"), "synopsis names the binary");
    // Every top-level subcommand points to its own page: `lumi\-bridge(1)`.
    for sub in all_subcommands().iter().filter(|s| s.len() == 1) {
        let reference = format!("lumi\\-{}(1)", sub[0].replace('-', "\\-"));
        assert!(page.contains(&reference), "{reference} missing");
    }
    // What `--help` teaches (exit codes, examples) is in the page too.
    assert!(page.contains("Exit codes"), "{page}");
}

#[test]
fn man_out_writes_a_page_per_subcommand() {
    let dir = temp_dir("man").join("man1"); // created by lumi
    let out = run(&["man", "--out", dir.to_str().unwrap()]);
    let printed: BTreeSet<PathBuf> = stdout(&out).lines().map(PathBuf::from).collect();
    let mut expected: BTreeSet<PathBuf> = all_subcommands()
        .iter()
        .map(|s| dir.join(format!("lumi-{}.1", s.join("-"))))
        .collect();
    expected.insert(dir.join("lumi.1"));
    let on_disk: BTreeSet<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(on_disk, expected);
    assert_eq!(printed, expected, "it says which files it wrote");
    for page in &on_disk {
        let bytes = std::fs::read(page).unwrap();
        assert!(bytes.starts_with(b".ie") || bytes.starts_with(b".TH"));
        // Plain ASCII, non-ASCII text as roff escapes: any formatter reads it.
        assert!(bytes.is_ascii(), "{}", page.display());
    }
    let bridge = std::fs::read_to_string(dir.join("lumi-bridge.1")).unwrap();
    assert!(bridge.contains(".TH lumi\\-bridge 1") || bridge.contains(".TH lumi-bridge 1"));
    assert!(bridge.contains(".SH SYNOPSIS") && bridge.contains("\\fBlumi bridge\\fR"));
    assert!(bridge.contains("print\\-config"), "its own options");
    assert!(bridge.contains("interface"), "and the global ones");
    assert!(bridge.contains(".SH EXAMPLES") && bridge.contains("\\fBlumi\\fR(1)"));
    let nested = std::fs::read_to_string(dir.join("lumi-miio-discover.1")).unwrap();
    assert!(
        nested.contains("\\fBlumi\\-miio\\fR(1)"),
        "SEE ALSO its parent"
    );

    // Writing again overwrites (and --json says what it wrote as JSON); a path that is a
    // file is an error naming it.
    let again: serde_json::Value = serde_json::from_str(&stdout(&run(&[
        "--json",
        "man",
        "--out",
        dir.to_str().unwrap(),
    ])))
    .unwrap();
    assert_eq!(again["written"].as_array().unwrap().len(), expected.len());
    let file = dir.join("lumi.1");
    let out = run(&["man", "--out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(file.to_str().unwrap()), "{err}");
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

// ---------------------------------------------------------------------------------------------
// systemd: READY, WATCHDOG, STOPPING, STATUS

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The next notification, within `within`.
async fn next(sock: &tokio::net::UnixDatagram, within: Duration) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(within, sock.recv(&mut buf))
        .await
        .ok()?
        .unwrap();
    Some(String::from_utf8(buf[..n].to_vec()).unwrap())
}

/// What a child that went wrong printed: it is killed first.
fn kill_and_output(child: std::process::Child) -> String {
    let _ = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    format!("{:?}: {}", out.status, String::from_utf8_lossy(&out.stderr))
}

/// A child's output, or None (and the child killed) when it does not exit within `within`.
async fn exit_within(child: std::process::Child, within: Duration) -> Option<Output> {
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    match tokio::time::timeout(within, waiting).await {
        Ok(out) => Some(out.unwrap()),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_tells_systemd_ready_watchdog_and_stopping() {
    // A simulated gateway on 127.0.0.70 with a random event every 100 ms, multicast on
    // 127.0.0.1, free ports: the bridge has real work while the watchdog runs.
    let (discovery_port, report_port) = (free_udp_port(), free_udp_port());
    let net = rt::NetConfig {
        discovery_port,
        report_port,
        miio_port: 0,
        ..rt::NetConfig::default()
    };
    let mut scenario = Scenario::house(
        Ipv4Addr::new(127, 0, 0, 70),
        1,
        None,
        "0987654321qwerty".parse().unwrap(),
        Some(Duration::from_millis(100)),
    );
    for g in &mut scenario.gateways {
        g.config.command_port = 0;
    }
    let _house = rt::run_scenario(scenario, net).await.unwrap();

    let dir = temp_dir("notify");
    let socket_path = dir.join("notify");
    let manager = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
    let mqtt_port = free_tcp_port();
    let child = lumi()
        .args(["bridge", "--interface", "127.0.0.1"])
        .args(["--web-listen", "127.0.0.1:0"])
        .args(["--mqtt-listen", &format!("127.0.0.1:{mqtt_port}")])
        .args(["--discovery-port", &discovery_port.to_string()])
        .args(["--report-port", &report_port.to_string()])
        .args(["--duration", "60s"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000") // a ping every 100 ms
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();

    // READY=1 first, with what runs where.
    let Some(ready) = next(&manager, Duration::from_secs(20)).await else {
        panic!("no READY=1 within 20 s: {}", kill_and_output(child));
    };
    let lines: Vec<&str> = ready.lines().collect();
    assert_eq!(lines.first(), Some(&"READY=1"), "{ready:?}");
    let status = lines
        .iter()
        .find_map(|l| l.strip_prefix("STATUS="))
        .unwrap_or_else(|| panic!("no STATUS in {ready:?}"));
    assert!(
        status.contains("127.0.0.1") && status.contains(&format!("mqtt://127.0.0.1:{mqtt_port}")),
        "{status}"
    );

    // Then the watchdog, every WATCHDOG_USEC/2 while the LAN client answers.
    let mut pings = 0;
    while pings < 2 {
        match next(&manager, Duration::from_secs(10)).await {
            Some(m) if m == "WATCHDOG=1" => pings += 1,
            Some(m) => panic!("unexpected notification {m:?}"),
            None => {
                panic!(
                    "only {pings} WATCHDOG=1 within 10 s: {}",
                    kill_and_output(child)
                );
            }
        }
    }

    // SIGTERM (systemctl stop): STOPPING=1, then a clean exit.
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let stopping = loop {
        match next(&manager, Duration::from_secs(10)).await {
            Some(m) if m == "WATCHDOG=1" => continue,
            other => break other,
        }
    };
    let stopping = stopping.expect("a notification after SIGTERM");
    assert!(
        stopping.lines().next() == Some("STOPPING=1") && stopping.contains("STATUS=stopping"),
        "{stopping:?}"
    );
    let out = exit_within(child, Duration::from_secs(20))
        .await
        .expect("the bridge exits after SIGTERM");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_bridge_that_cannot_start_says_why_and_is_never_ready() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let dir = temp_dir("notify-fail");
    let socket_path = dir.join("notify");
    let manager = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
    let out = lumi()
        .args(["bridge", "--interface", "127.0.0.1"])
        .args(["--web-listen", "127.0.0.1:0"])
        .args(["--mqtt-listen", &format!("127.0.0.1:{port}")])
        .args(["--discovery-port", &free_udp_port().to_string()])
        .args(["--report-port", &free_udp_port().to_string()])
        .args(["--duration", "10s"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Everything it sent is queued on the socket by now.
    let mut sent = Vec::new();
    while let Some(m) = next(&manager, Duration::from_millis(1)).await {
        sent.push(m);
    }
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].starts_with("STATUS=failed: ")
            && sent[0].contains("already in use")
            && !sent[0].contains('\n'),
        "{sent:?}"
    );
    drop(held);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_notify_socket_that_is_no_address_is_only_a_warning() {
    // A relative NOTIFY_SOCKET is no address systemd gives: warned about, not fatal.
    let dir = temp_dir("notify-bad");
    let out = lumi()
        .args(["bridge", "--interface", "127.0.0.1"])
        .args(["--web-listen", "127.0.0.1:0"])
        .args(["--mqtt-listen", &format!("127.0.0.1:{}", free_tcp_port())])
        .args(["--discovery-port", &free_udp_port().to_string()])
        .args(["--report-port", &free_udp_port().to_string()])
        .args(["--duration", "1s"])
        .env("NOTIFY_SOCKET", "relative/notify")
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("not notifying systemd") && err.contains("NOTIFY_SOCKET"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------------
// packaging/lumi.service

/// `Key=value` lines of a unit file (comments and section headers left out), in order.
fn unit_entries(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        let t = line.trim();
        if logical.is_empty() && (t.is_empty() || t.starts_with('#') || t.starts_with(';')) {
            continue;
        }
        // A trailing backslash continues the line.
        if let Some(head) = t.strip_suffix('\\') {
            logical.push_str(head);
            logical.push(' ');
            continue;
        }
        logical.push_str(t);
        if !logical.starts_with('[')
            && let Some((k, v)) = logical.split_once('=')
        {
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        logical.clear();
    }
    out
}

fn unit_value<'a>(entries: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    entries
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn systemd_unit_is_a_notify_service_with_a_watchdog_whose_command_line_lumi_accepts() {
    let text = std::fs::read_to_string(repo("packaging/lumi.service")).unwrap();
    let e = unit_entries(&text);
    assert_eq!(unit_value(&e, "Type"), ["notify"]);
    let watchdog = unit_value(&e, "WatchdogSec");
    assert_eq!(watchdog.len(), 1, "{watchdog:?}");
    let secs: u64 = watchdog[0].trim_end_matches('s').parse().unwrap();
    assert!((10..=300).contains(&secs), "WatchdogSec={secs}");
    assert_eq!(unit_value(&e, "Restart"), ["on-failure"]);
    assert_eq!(unit_value(&e, "DynamicUser"), ["yes"]);
    // Multicast must get through: no private network, no IP filter; the address families
    // lumi needs: UDP/TCP over IPv4, the notify socket, netlink to list interfaces.
    for key in ["PrivateNetwork", "IPAddressDeny", "IPAddressAllow"] {
        assert!(
            unit_value(&e, key).is_empty(),
            "{key} blocks the gateway's multicast"
        );
    }
    let families = unit_value(&e, "RestrictAddressFamilies").join(" ");
    for family in ["AF_INET", "AF_UNIX", "AF_NETLINK"] {
        assert!(
            families.split_whitespace().any(|f| f == family),
            "{family} missing in {families}"
        );
    }
    assert!(!families.starts_with('~'), "an allow list: {families}");

    // ExecStart: the binary's own arguments, as the binary parses them. The config path is
    // swapped for the example config; --print-config makes it a dry run.
    let exec = unit_value(&e, "ExecStart");
    assert_eq!(exec.len(), 1, "{exec:?}");
    let mut words = exec[0].split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/lumi"));
    let args: Vec<&str> = words.collect();
    let at = args
        .iter()
        .position(|a| *a == "--config")
        .expect("--config");
    assert_eq!(args[at + 1], "/etc/lumi/lumi.toml");
    let example = repo("packaging/lumi.toml");
    let mut dry: Vec<&str> = args.clone();
    dry[at + 1] = example.to_str().unwrap();
    dry.push("--print-config");
    let out = run(&dry);
    let printed = stdout(&out);
    assert!(printed.contains("[mqtt]"), "{printed}");

    // systemd's own check of the unit (directives, values), where systemd is installed; the
    // binary's path is this build's, since verify wants an executable there.
    let Ok(verify) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze not found: systemd's own check of lumi.service skipped");
        return;
    };
    assert!(verify.status.success());
    let dir = temp_dir("unit");
    let unit = dir.join("lumi.service");
    std::fs::write(
        &unit,
        text.replace("/usr/local/bin/lumi", env!("CARGO_BIN_EXE_lumi")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------------
// packaging/Dockerfile

#[test]
fn dockerfile_runs_lumi_with_arguments_lumi_accepts() {
    let text = std::fs::read_to_string(repo("packaging/Dockerfile")).unwrap();
    let instruction = |name: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix(&format!("{name} ")))
            .map(str::to_owned)
            .collect()
    };
    let entry: Vec<String> = serde_json::from_str(&instruction("ENTRYPOINT")[0]).unwrap();
    assert_eq!(entry, ["lumi"]);
    let cmd: Vec<String> = serde_json::from_str(&instruction("CMD")[0]).unwrap();
    let at = cmd.iter().position(|a| a == "--config").expect("--config");
    assert_eq!(cmd[at + 1], "/config/lumi.toml");
    assert!(instruction("VOLUME").iter().any(|v| v.contains("/config")));
    assert!(instruction("USER").len() == 1, "runs as a non-root user");
    let mut dry = cmd.clone();
    dry[at + 1] = repo("packaging/lumi.toml").display().to_string();
    dry.push("--print-config".to_owned());
    let dry: Vec<&str> = dry.iter().map(String::as_str).collect();
    stdout(&run(&dry));
    // The builder's Rust is at least the workspace's rust-version.
    let from = instruction("FROM");
    let builder = from
        .iter()
        .find(|f| f.starts_with("rust:"))
        .expect("a rust: builder");
    let version = builder
        .trim_start_matches("rust:")
        .split(['-', ' '])
        .next()
        .unwrap();
    let manifest = std::fs::read_to_string(repo("Cargo.toml")).unwrap();
    let needed = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap()).collect() };
    assert!(
        parse(version) >= parse(needed),
        "builder rust:{version} < rust-version {needed}"
    );
    assert!(
        text.contains("cargo build --release --locked -p lumi"),
        "a locked release build"
    );
}

// ---------------------------------------------------------------------------------------------
// packaging/lumi.toml: loads, and documents every key

/// Runs `lumi bridge --print-config` on a config text: (exit code, stdout, stderr).
fn print_config(text: &str) -> (Option<i32>, String, String) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("lumi-packaging-{}-configs", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.toml", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, text).unwrap();
    let out = run(&[
        "bridge",
        "--print-config",
        "--config",
        path.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&path);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Dotted paths of every key of a TOML document (arrays of tables without an index).
fn flatten(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(t, &path, out),
            toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                for item in items {
                    if let toml::Value::Table(t) = item {
                        flatten(t, &path, out);
                    }
                }
            }
            _ => {
                out.insert(path);
            }
        }
    }
}

/// The example with every option line (`#key = value`, `#[table]`) uncommented; prose
/// (`# …`) stays a comment.
fn options_uncommented(example: &str) -> String {
    example
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase() || c == '[') => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The keys an example documents: set, or commented out as `#key = value` under their
/// (possibly commented-out) table.
fn documented_keys(example: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut table = String::new();
    for line in options_uncommented(example).lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        if let Some(h) = t.strip_prefix('[') {
            table = h.trim_matches(|c| c == '[' || c == ']').trim().to_owned();
        } else if let Some((k, _)) = t.split_once('=') {
            let k = k.trim();
            keys.insert(if table.is_empty() {
                k.to_owned()
            } else {
                format!("{table}.{k}")
            });
        }
    }
    keys
}

/// Every key the configuration schema accepts, found by asking the binary: an unknown key
/// in a table is refused with the list of the table's keys (`unknown field `x`, expected one
/// of `a`, `b`…`); a key that opens as `[key]` or `[[key]]` is a table and is asked in turn.
/// So a key added to the schema later shows up here without this test knowing it.
fn schema_keys() -> BTreeSet<String> {
    const PROBE: &str = "zzz_probe";
    fn fields(opening: &str) -> Option<Vec<String>> {
        let (code, _, err) = print_config(&format!("{opening}\n{PROBE} = 1\n"));
        assert_eq!(code, Some(2), "{err}");
        let at = err.find(&format!("unknown field `{PROBE}`"))?;
        let rest = &err[at..];
        let rest = rest.split_once("expected").map_or("", |(_, r)| r);
        let list = rest.lines().next().unwrap_or("");
        Some(
            list.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect(),
        )
    }
    fn walk(opening: &str, path: &str, out: &mut BTreeSet<String>) {
        let names = fields(opening).unwrap_or_else(|| panic!("cannot list the keys of {path:?}"));
        for name in names {
            let full = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            let as_table = format!("{opening}\n[{full}]");
            let as_array = format!("{opening}\n[[{full}]]");
            if fields(&as_table).is_some() {
                walk(&as_table, &full, out);
            } else if fields(&as_array).is_some() {
                walk(&as_array, &full, out);
            } else {
                out.insert(full);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk("", "", &mut out);
    // The probe works (the message format is what it expects): known keys of every level.
    for known in [
        "interface",
        "gateway.sid",
        "mqtt.keepalive",
        "bridge.availability_timeout.battery",
        "device.motion_off_delay",
    ] {
        assert!(
            out.contains(known),
            "{known} not found by the probe: {out:?}"
        );
    }
    out
}

/// A configuration that sets every key (besides `mqtt.listen`, which excludes `mqtt.url`).
const EVERYTHING_EXTERNAL: &str = r#"
interface = "127.0.0.1"
password = "0987654321qwerty"
timeout = "5s"
[[gateway]]
sid = "34ce0088db0b"
ip = "127.0.0.2:9898"
password = "aaaaaaaaaaaaaaaa"
protocol = "v2"
miio_token = "1c1961595b889a1f42af6b16cf9a6b81"
[mqtt]
url = "mqtts://127.0.0.1:8883"
client_id = "lumi-test"
username = "lumi"
password = "secret"
ca = "/etc/lumi/ca.pem"
client_cert = "/etc/lumi/client.pem"
client_key = "/etc/lumi/client.key"
keepalive = "30s"
qos = 2
retain = false
[bridge]
base_topic = "home"
legacy_topics = true
legacy_base_topic = "xiaomi"
availability = false
motion_off_delay = "60s"
[bridge.availability_timeout]
gateway = "2m"
mains = "30m"
battery = "3h"
[homeassistant]
enabled = true
discovery_prefix = "ha"
status_topic = "ha/status"
[[device]]
sid = "158d0001a2b3c4"
name = "kitchen/window"
retain = true
availability_timeout = "2h"
motion_off_delay = "30s"
homeassistant = false
"#;

#[test]
fn example_config_loads_as_shipped_and_with_its_examples_uncommented() {
    let example = std::fs::read_to_string(repo("packaging/lumi.toml")).unwrap();
    let out = run(&[
        "bridge",
        "--print-config",
        "--config",
        repo("packaging/lumi.toml").to_str().unwrap(),
    ]);
    let printed = stdout(&out);
    // As shipped it is the defaults: the same as no file at all.
    let defaults = stdout(&run(&["bridge", "--print-config"]));
    let body = |s: &str| -> String { s.lines().filter(|l| !l.starts_with("# from")).collect() };
    assert_eq!(body(&printed), body(&defaults));

    // Every example value is valid: with the options uncommented, once for an external
    // broker over TLS (no mqtt.listen) and once for the embedded broker (no url, users or
    // TLS files), the file loads.
    let all = options_uncommented(&example);
    let keep = |drop: &[&str], url_tls: bool| -> String {
        let mut table = String::new();
        let mut lines = Vec::new();
        for line in all.lines() {
            let t = line.trim();
            if t.starts_with('[') {
                table = t.trim_matches(|c| c == '[' || c == ']').to_owned();
            }
            let key = t.split_once('=').map(|(k, _)| k.trim()).unwrap_or("");
            let full = format!("{table}.{key}");
            if drop.contains(&full.as_str()) {
                continue;
            }
            if url_tls && full == "mqtt.url" {
                lines.push(line.replace("mqtt://", "mqtts://"));
            } else {
                lines.push(line.to_owned());
            }
        }
        lines.join("\n")
    };
    let external = keep(&["mqtt.listen"], true);
    let (code, _, err) = print_config(&external);
    assert_eq!(code, Some(0), "{err}\n{external}");
    let embedded = keep(
        &[
            "mqtt.url",
            "mqtt.username",
            "mqtt.password",
            "mqtt.ca",
            "mqtt.client_cert",
            "mqtt.client_key",
        ],
        false,
    );
    let (code, _, err) = print_config(&embedded);
    assert_eq!(code, Some(0), "{err}\n{embedded}");
}

#[test]
fn example_config_documents_every_key() {
    let example = std::fs::read_to_string(repo("packaging/lumi.toml")).unwrap();
    let documented = documented_keys(&example);

    // Every key --print-config prints, for configurations that set everything it can.
    let mut printed = BTreeSet::new();
    let embedded = EVERYTHING_EXTERNAL
        .lines()
        .filter(|l| {
            ![
                "url",
                "username",
                "password = \"secret\"",
                "ca",
                "client_cert",
                "client_key",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replace("[mqtt]", "[mqtt]\nlisten = \"127.0.0.1:1884\"");
    for config in [EVERYTHING_EXTERNAL, embedded.as_str(), ""] {
        let (code, out, err) = print_config(config);
        assert_eq!(code, Some(0), "{err}\n{config}");
        let table: toml::Table = out.parse().unwrap();
        flatten(&table, "", &mut printed);
    }
    for key in [
        "mqtt.listen",
        "mqtt.url",
        "gateway.miio_token",
        "device.name",
    ] {
        assert!(printed.contains(key), "{key} not printed: {printed:?}");
    }
    let missing: Vec<_> = printed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "packaging/lumi.toml does not document {missing:?} (add a commented \"#key = value\" \
         line with what it does, its default and an example)"
    );

    // Every key the schema accepts, optional ones without a default included. Another
    // spelling of a key (a serde alias) is documented in the prose of the key it stands for:
    // both set would be a duplicate, so it cannot be one more "#key = value" line.
    const ALIASES: &[(&str, &str)] = &[("device.friendly_name", "device.name")];
    let schema = schema_keys();
    let missing: Vec<_> = schema
        .difference(&documented)
        .filter(|k| {
            !ALIASES.iter().any(|(alias, of)| {
                alias == k
                    && documented.contains(*of)
                    && example.contains(alias.rsplit('.').next().unwrap())
            })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "packaging/lumi.toml does not document {missing:?} (add a commented \"#key = value\" \
         line with what it does, its default and an example)"
    );
    // And documents nothing that is not (any more) a key.
    let stale: Vec<_> = documented.difference(&schema).collect();
    assert!(
        stale.is_empty(),
        "packaging/lumi.toml documents unknown keys {stale:?}"
    );
}
