//! `lumi demo`: the simulated house, the bridge and the embedded broker in one process, on
//! loopback.

use std::net::Ipv4Addr;

use lumi_bridge::Config;
use lumi_bridge::config::Broker;
use lumi_bridge::daemon::{Bridge, BridgeSetup};
use lumi_client::gateway::EventsError;
use lumi_client::net::NetConfig;
use lumi_sim::rt::{self, run_scenario};
use lumi_sim::scenario::{Scenario, parse_duration};

use crate::cli::{DemoArgs, Global};
use crate::exit::bad_input;

use super::bridge::{parse_listen, parse_url};

/// A line on stdout; a closed stdout (`lumi demo | head`) is not an error of the demo.
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = super::out(&format!($($t)*));
    }};
}
use super::sim::SIM_PASSWORD;

pub fn run(args: DemoArgs, g: &Global) -> anyhow::Result<()> {
    // The demo is its own world on loopback: say so rather than ignore these silently.
    let ignored: Vec<&str> = [
        ("--interface / LUMI_INTERFACE", g.interface.is_some()),
        ("--gateway", !g.gateway.is_empty()),
        ("--password / LUMI_PASSWORD", g.password.is_some()),
        ("--config / LUMI_CONFIG", g.config.is_some()),
        ("--timeout", g.timeout.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    if !ignored.is_empty() {
        eprintln!(
            "lumi demo: ignoring {}: the demo runs its own simulated gateways on loopback (use `lumi bridge` for a real setup)",
            ignored.join(", ")
        );
    }
    let every = parse_duration(&args.random_every)
        .map_err(|e| bad_input(format!("--random-every: {e}")))?;
    let duration = args
        .duration
        .as_deref()
        .map(|d| parse_duration(d).map_err(|e| bad_input(format!("--duration: {e}"))))
        .transpose()?;
    let password: lumi_proto::key::GatewayPassword = SIM_PASSWORD
        .parse()
        .map_err(|e| anyhow::anyhow!("demo password: {e}"))?;
    let mut scenario = Scenario::demo(args.bind, password.clone(), every);
    for gw in &mut scenario.gateways {
        gw.config.command_port = args.command_port;
        if every.is_zero() {
            gw.random_events = None;
        }
    }
    let interface = Ipv4Addr::LOCALHOST;
    let sim_defaults = rt::NetConfig::default();
    let sim_net = rt::NetConfig {
        interface,
        discovery_port: g.discovery_port.unwrap_or(sim_defaults.discovery_port),
        report_port: g.report_port.unwrap_or(sim_defaults.report_port),
        miio_port: args.miio_port,
        ..sim_defaults
    };
    let broker = match &args.mqtt {
        Some(url) => Broker::External(parse_url(url, "--mqtt")?),
        None => Broker::Embedded {
            listen: parse_listen(&args.mqtt_listen, "--mqtt-listen")?,
        },
    };
    let web_listen = parse_listen(&args.web_listen, "--web-listen")?;
    if !web_listen.ip().is_loopback() {
        return Err(bad_input(format!(
            "--web-listen {web_listen}: the demo's dashboard has no token, so it listens on loopback only (e.g. 127.0.0.1:8099)"
        )));
    }
    let defaults = Config::default();
    let config = Config {
        password: Some(password),
        interface: Some(interface.to_string()),
        mqtt: lumi_bridge::config::MqttConfig {
            broker,
            ..defaults.mqtt.clone()
        },
        web: lumi_bridge::config::WebConfig {
            enabled: !args.no_web,
            listen: web_listen,
            token: None,
        },
        ..defaults
    };
    let net = NetConfig {
        discovery_port: sim_net.discovery_port,
        report_port: sim_net.report_port,
        ..NetConfig::new(interface)
    };
    let rt = super::lan::runtime()?;
    rt.block_on(async move {
        let house = run_scenario(scenario, sim_net).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot start the simulated gateways on {}: {e} (is `lumi sim` or another demo running?)",
                args.bind
            )
        })?;
        let mut bridge = Bridge::start(BridgeSetup {
            config: config.clone(),
            net,
        })
        .await?;
        let addr = bridge.mqtt_addr();
        super::bridge::announce(&bridge, &config, &interface.to_string());
        say!("lumi demo: two simulated gateways (v1 at {}, v2 at the next address) with one device of every kind, on loopback", args.bind);
        say!("  MQTT broker    mqtt://{addr}");
        say!(
            "  watch          mosquitto_sub -h {} -p {} -t 'lumi/#' -v",
            addr.ip(),
            addr.port()
        );
        say!(
            "  command        mosquitto_pub -h {} -p {} -t 'lumi/<name>/set' -m '{{\"state\":\"TOGGLE\"}}'",
            addr.ip(),
            addr.port()
        );
        say!(
            "  Home Assistant add the MQTT integration with broker {} port {}: the devices appear by themselves",
            addr.ip(),
            addr.port()
        );
        if let Some(web) = bridge.web_addr() {
            say!("  dashboard      http://{web}/");
            say!("  metrics        http://{web}/metrics");
        }
        say!("  password       {SIM_PASSWORD} (the simulated gateways' LAN password)");
        say!("Ctrl-C stops.");
        let mut events = bridge.client().subscribe();
        let quiet = args.quiet;
        let json = g.json;
        let stream = async move {
            loop {
                match events.recv().await {
                    Ok(e) => {
                        if !quiet && !super::listen::print(&e, json, false) {
                            break;
                        }
                    }
                    Err(EventsError::Lagged { .. }) => {}
                    Err(_) => break,
                }
            }
            std::future::pending::<()>().await
        };
        let result = tokio::select! {
            () = super::stopped(duration) => Ok(()),
            r = bridge.wait() => r.map_err(anyhow::Error::new),
            () = stream => Ok(()),
        };
        bridge.stop().await?;
        house.stop().await;
        result
    })
}
