//! `lumi sim`: simulated gateways and devices on loopback.

use std::time::Duration;

use lumi_proto::lan::{self, ProtoVersion};
use lumi_proto::sanitize;
use lumi_sim::gateway::{Destination, SimEvent};
use lumi_sim::rt::{NetConfig, run_scenario};
use lumi_sim::scenario::{Scenario, parse_duration};
use serde_json::json;

use crate::cli::{Global, SimArgs};

/// `println!` that stops printing (instead of panicking) when stdout is closed.
macro_rules! out {
    ($($t:tt)*) => {
        super::out(&format!($($t)*))
    };
}
use crate::exit::bad_input;

/// The simulated gateways' LAN password unless --password or LUMI_PASSWORD says otherwise.
pub const SIM_PASSWORD: &str = "0987654321qwerty";

pub fn run(args: SimArgs, g: &Global) -> anyhow::Result<()> {
    let scenario = build_scenario(&args, g)?;
    let stop_after = args
        .duration
        .as_deref()
        .map(|d| parse_duration(d).map_err(|e| bad_input(format!("--duration: {e}"))))
        .transpose()?;
    let defaults = NetConfig::default();
    let interface = match g.interface.as_deref() {
        None => defaults.interface,
        Some(i) => i.parse().map_err(|_| {
            bad_input(format!(
                "--interface {i:?}: the simulator needs an IPv4 address such as 127.0.0.1"
            ))
        })?,
    };
    let net = NetConfig {
        interface,
        discovery_port: g.discovery_port.unwrap_or(defaults.discovery_port),
        report_port: g.report_port.unwrap_or(defaults.report_port),
        miio_port: args.miio_port,
        ..defaults
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(scenario, net, args.command_port, stop_after, g.json))
}

fn build_scenario(args: &SimArgs, g: &Global) -> anyhow::Result<Scenario> {
    if let Some(path) = &args.scenario {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read scenario {}: {e}", path.display()))?;
        return Scenario::from_toml(&text)
            .map_err(|e| bad_input(format!("{}: {e}", path.display())));
    }
    let version = match args.protocol.as_str() {
        "both" => None,
        other => Some(
            other
                .parse::<ProtoVersion>()
                .map_err(|e| bad_input(format!("--protocol: {e}, or both")))?,
        ),
    };
    let password = g
        .password
        .as_deref()
        .unwrap_or(SIM_PASSWORD)
        .parse()
        .map_err(|e| bad_input(format!("--password: {e}")))?;
    let every = parse_duration(&args.random_every)
        .map_err(|e| bad_input(format!("--random-every: {e}")))?;
    let every = (!every.is_zero()).then_some(every);
    Ok(Scenario::house(
        args.bind,
        usize::from(args.gateways),
        version,
        password,
        every,
    ))
}

async fn serve(
    mut scenario: Scenario,
    net: NetConfig,
    command_port: u16,
    stop_after: Option<Duration>,
    json_out: bool,
) -> anyhow::Result<()> {
    for g in &mut scenario.gateways {
        g.config.command_port = command_port;
    }
    let specs: Vec<_> = scenario
        .gateways
        .iter()
        .map(|g| (g.config.sid.clone(), g.config.version, g.devices.len()))
        .collect();
    let mut running = run_scenario(scenario, net).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot start the simulated gateways: {e}\n  (is another `lumi sim` running on the same addresses? use --bind 127.0.0.10 or --command-port 0)"
        )
    })?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (h, (sid, version, devices)) in running.gateways.iter_mut().zip(&specs) {
        if json_out {
            out!(
                "{}",
                json!({"event":"started","gateway":sid,"protocol":version,"command":h.command_addr.to_string(),"miio":h.miio_addr.to_string(),"devices":devices})
            );
        } else {
            out!(
                "gateway {sid} ({version}) at {} (miIO {}), {devices} devices",
                h.command_addr,
                h.miio_addr
            );
        }
        if let Some(mut events) = h.events() {
            let tx = tx.clone();
            let sid = sid.clone();
            tokio::spawn(async move {
                while let Some(e) = events.recv().await {
                    if tx.send((sid.clone(), e)).is_err() {
                        break;
                    }
                }
            });
        }
    }
    drop(tx);
    for d in &running.miio_devices {
        if json_out {
            out!(
                "{}",
                json!({"event":"started","miio_device":d.addr.to_string()})
            );
        } else {
            out!("miIO plug at {}", d.addr);
        }
    }
    if !json_out {
        out!(
            "multicast on {} (whois :{}, reports :{}); Ctrl-C to stop",
            net.interface,
            net.discovery_port,
            net.report_port
        );
    }
    let stop = super::stopped(stop_after);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            e = rx.recv() => match e {
                Some((sid, e)) => {
                    if !print_event(&sid, &e, json_out) {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    running.stop().await;
    Ok(())
}

/// Prints one event; false when stdout is gone.
fn print_event(gateway: &lan::Sid, e: &SimEvent, json_out: bool) -> bool {
    let (kind, detail): (&str, serde_json::Value) = match e {
        SimEvent::Sent { to, payload } => {
            let to = match to {
                Destination::Multicast => "multicast".to_owned(),
                Destination::Unicast { to, .. } | Destination::Miio { to } => to.to_string(),
            };
            let body = match std::str::from_utf8(payload) {
                Ok(t) => {
                    serde_json::from_str(t).unwrap_or_else(|_| json!(sanitize::truncated(t, 200)))
                }
                Err(_) => json!(format!("<{} bytes miIO>", payload.len())),
            };
            ("sent", json!({"to": to, "message": body}))
        }
        SimEvent::Received { from, cmd } => {
            ("received", json!({"from": from.to_string(), "cmd": cmd}))
        }
        SimEvent::Undecodable { from, error } => (
            "undecodable",
            json!({"from": from.to_string(), "error": error.to_string()}),
        ),
        SimEvent::WriteRefused { from, sid, error } => (
            "write_refused",
            json!({"from": from.to_string(), "sid": sid, "error": error.to_string()}),
        ),
        SimEvent::WriteApplied { sid, props } => {
            ("write_applied", json!({"sid": sid, "props": props}))
        }
        SimEvent::TokenRotated => return true,
        SimEvent::Online(on) => ("online", json!(on)),
        SimEvent::MiioRequest { from, method } => (
            "miio_request",
            json!({"from": from.to_string(), "method": method}),
        ),
        SimEvent::MiioDropped { from, reason } => (
            "miio_dropped",
            json!({"from": from.to_string(), "reason": reason}),
        ),
        other => ("other", json!(format!("{other:?}"))),
    };
    if json_out {
        out!(
            "{}",
            json!({"event": kind, "gateway": gateway, "detail": detail})
        )
    } else {
        out!("{gateway} {kind} {detail}")
    }
}
