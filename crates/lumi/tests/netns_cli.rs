//! The network interface going away and coming back, for real: two network namespaces made
//! by the test (a "gateway" one with a bridge and the simulated gateway, a "host" one where
//! `lumi listen` runs), joined by a veth pair. The host end of the pair is deleted (as when a
//! USB adapter, a VPN or a Wi-Fi interface disappears, taking every multicast membership on
//! it) and created again; lumi must say so, join the group again by itself, and hear the
//! gateway's reports again.
//!
//! Needs root and `ip` (iproute2). Without them the test says so and passes, unless
//! `LUMI_REQUIRE_NETNS=1`. Nothing touches the machine's own interfaces: everything lives in
//! the two namespaces, which are deleted at the end.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Runs `ip ARGS`; the error says which command failed.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The two namespaces; deleted (with whatever runs in them) when dropped.
struct Net {
    gw: String,
    host: String,
    children: Vec<Child>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = ip(&["netns", "del", &self.gw]);
        let _ = ip(&["netns", "del", &self.host]);
    }
}

impl Net {
    fn create() -> Result<Net, String> {
        let id = std::process::id();
        let net = Net {
            gw: format!("lumi-gw-{id}"),
            host: format!("lumi-host-{id}"),
            children: Vec::new(),
        };
        ip(&["netns", "add", &net.gw])?;
        ip(&["netns", "add", &net.host])?;
        for ns in [&net.gw, &net.host] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        // The gateway side: a bridge with the simulated gateway's addresses (gateway, miIO plug).
        ip(&["-n", &net.gw, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &net.gw, "addr", "add", "10.77.0.2/24", "dev", "br0"])?;
        ip(&["-n", &net.gw, "addr", "add", "10.77.0.3/24", "dev", "br0"])?;
        ip(&["-n", &net.gw, "link", "set", "br0", "up"])?;
        net.plug_in()?;
        Ok(net)
    }

    /// The host's interface: a veth pair, host end `lumi0` (10.77.0.1), other end on the bridge.
    fn plug_in(&self) -> Result<(), String> {
        ip(&[
            "-n", &self.host, "link", "add", "lumi0", "type", "veth", "peer", "name", "lumip",
            "netns", &self.gw,
        ])?;
        ip(&["-n", &self.gw, "link", "set", "lumip", "master", "br0"])?;
        ip(&["-n", &self.gw, "link", "set", "lumip", "up"])?;
        ip(&[
            "-n",
            &self.host,
            "addr",
            "add",
            "10.77.0.1/24",
            "dev",
            "lumi0",
        ])?;
        ip(&["-n", &self.host, "link", "set", "lumi0", "up"])
    }

    /// Deletes the host's interface (and with it the pair).
    fn unplug(&self) -> Result<(), String> {
        ip(&["-n", &self.host, "link", "del", "lumi0"])
    }

    fn spawn(&mut self, ns: &str, args: &[&str], stdout: Stdio) -> &mut Child {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_lumi")])
            .args(args)
            .env_remove("LUMI_CONFIG")
            .env_remove("LUMI_PASSWORD")
            .env_remove("LUMI_INTERFACE")
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .expect("ip netns exec starts");
        self.children.push(child);
        self.children.last_mut().unwrap()
    }
}

fn unavailable(why: String) {
    assert!(
        std::env::var("LUMI_REQUIRE_NETNS").as_deref() != Ok("1"),
        "LUMI_REQUIRE_NETNS=1 but network namespaces are not available: {why}"
    );
    eprintln!(
        "skipped: network namespaces are not available here ({why}); run as root with iproute2"
    );
}

/// The next event whose name is `name`, within `within`.
fn wait_event(
    rx: &mpsc::Receiver<Value>,
    name: &str,
    within: Duration,
    seen: &mut Vec<String>,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(v) => {
                let e = v["event"].as_str().unwrap_or("?").to_owned();
                seen.push(e.clone());
                if e == name {
                    return v;
                }
            }
            Err(_) => panic!("no {name} event within {within:?}; events so far: {seen:?}"),
        }
    }
}

#[test]
fn lumi_rejoins_the_multicast_group_when_its_interface_comes_back() {
    if !Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    {
        return unavailable("not root".into());
    }
    let mut net = match Net::create() {
        Ok(n) => n,
        Err(e) => return unavailable(e),
    };
    let gw = net.gw.clone();
    let host = net.host.clone();
    // One simulated gateway on the bridge, an event every 200 ms. The simulator and lumi use
    // the LAN API's real ports (4321, 9898) here: nothing else lives in these namespaces, and
    // the multicast ports must be the same on both sides, so port 0 cannot be used.
    net.spawn(
        &gw,
        &[
            "sim",
            "--bind",
            "10.77.0.2",
            "--interface",
            "10.77.0.2",
            "--gateways",
            "1",
            "--random-every",
            "200ms",
            "--duration",
            "120s",
        ],
        Stdio::null(),
    );
    let listen = net.spawn(
        &host,
        &[
            "listen",
            "--json",
            "--interface",
            "10.77.0.1",
            "--duration",
            "120s",
        ],
        Stdio::piped(),
    );
    let stdout = listen.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let mut seen = Vec::new();
    let wait = Duration::from_secs(20);
    wait_event(&rx, "gateway_appeared", wait, &mut seen);
    wait_event(&rx, "report", wait, &mut seen);

    // The interface disappears: lumi notices and says so.
    net.unplug().unwrap();
    let down = wait_event(&rx, "interface_down", wait, &mut seen);
    assert_eq!(down["interface"], "10.77.0.1");

    // A new interface with the same address: lumi joins again and the reports come back.
    net.plug_in().unwrap();
    let up = wait_event(&rx, "interface_up", wait, &mut seen);
    assert_eq!(up["interface"], "10.77.0.1");
    assert!(up["down_for"].as_f64().unwrap() > 0.0, "{up}");
    let before = seen.len();
    let report = wait_event(&rx, "report", wait, &mut seen);
    assert!(report["sid"].is_string(), "{report}");
    assert!(seen.len() > before);
}
