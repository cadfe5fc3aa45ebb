//! `lumi bridge`: the MQTT daemon (`lumi_bridge::daemon`), configured from lumi.toml and the
//! global options.

use std::net::SocketAddr;
use std::path::PathBuf;

use lumi_bridge::Config;
use lumi_bridge::config::{Broker, GatewayConfig, MqttUrl};
use lumi_bridge::daemon::{Bridge, BridgeSetup};

use crate::cli::{BridgeArgs, Global};
use crate::exit::bad_input;
use crate::settings;

pub fn run(args: BridgeArgs, g: &Global) -> anyhow::Result<()> {
    let (mut config, file) = load(g)?;
    if let Some(url) = &args.mqtt {
        config.mqtt.broker = Broker::External(parse_url(url, "--mqtt")?);
    }
    if let Some(listen) = &args.mqtt_listen {
        let listen = parse_listen(listen, "--mqtt-listen")?;
        match &mut config.mqtt.broker {
            Broker::Embedded { listen: l } => *l = listen,
            _ => {
                return Err(bad_input(
                    "--mqtt-listen is only for the embedded broker; remove --mqtt / mqtt.url to run it",
                ));
            }
        }
    }
    if let Some(listen) = &args.web_listen {
        config.web.listen = parse_listen(listen, "--web-listen")?;
        config.web.enabled = true;
        if config.web.token.is_none() && !config.web.listen.ip().is_loopback() {
            return Err(bad_input(format!(
                "--web-listen {listen}: the dashboard can switch devices, so an address other than \
                 loopback needs [web] token in lumi.toml (a long random secret, e.g. `openssl rand -hex 16`)"
            )));
        }
    }
    if args.no_web {
        config.web.enabled = false;
    }
    if args.print_config {
        if let Some(f) = &file {
            println!("# from {}", f.display());
        }
        print!("{}", config.print_config());
        return Ok(());
    }
    let duration = args
        .duration
        .as_deref()
        .map(|d| settings::parse_duration(d).map_err(|e| bad_input(format!("--duration: {e}"))))
        .transpose()?;
    let lan = super::lan::resolve(g)?;
    let rt = super::lan::runtime()?;
    rt.block_on(async move {
        let mut bridge = Bridge::start(BridgeSetup {
            config: config.clone(),
            net: lan.net,
        })
        .await?;
        announce(&bridge, &config, &lan.net.interface.to_string());
        tokio::select! {
            () = super::stopped(duration) => {}
            r = bridge.wait() => return r.map_err(anyhow::Error::new),
        }
        tracing::info!("stopping: publishing offline and disconnecting");
        bridge.stop().await.map_err(anyhow::Error::new)
    })
}

/// What the operator sees at start (stderr, so stdout stays clean for scripts).
pub fn announce(bridge: &Bridge, config: &Config, interface: &str) {
    let broker = if bridge.embedded_broker() {
        format!("embedded broker on mqtt://{}", bridge.mqtt_addr())
    } else {
        match &config.mqtt.broker {
            Broker::External(url) => url.to_string(),
            _ => bridge.mqtt_addr().to_string(),
        }
    };
    eprintln!(
        "lumi bridge {}: gateways on interface {interface}, MQTT {broker}, topics {}/…{}",
        env!("CARGO_PKG_VERSION"),
        config.bridge.base_topic,
        if config.homeassistant.enabled {
            format!(
                ", Home Assistant discovery under {}/",
                config.homeassistant.discovery_prefix
            )
        } else {
            String::new()
        }
    );
    if let Some(web) = bridge.web_addr() {
        let shown = if web.ip().is_unspecified() {
            format!("http://<this host>:{}/", web.port())
        } else {
            format!("http://{web}/")
        };
        let token = if config.web.token.is_some() {
            " (with ?token=<web.token> the first time)"
        } else {
            ""
        };
        eprintln!("dashboard on {shown}{token}, Prometheus metrics on {shown}metrics");
    }
}

/// lumi.toml (the same file the other commands read) with the global options on top.
pub fn load(g: &Global) -> anyhow::Result<(Config, Option<PathBuf>)> {
    let path = match &g.config {
        Some(p) => Some(p.clone()),
        None => settings::default_config_path().filter(|p| p.is_file()),
    };
    let mut config = match &path {
        Some(p) => Config::load(p).map_err(|e| bad_input(e.to_string()))?,
        None => Config::default(),
    };
    if let Some(i) = &g.interface {
        config.interface = Some(i.clone());
    }
    if let Some(p) = &g.password {
        config.password = Some(
            p.parse()
                .map_err(|e| bad_input(format!("--password: {e}")))?,
        );
    }
    if let Some(t) = &g.timeout {
        config.timeout =
            settings::parse_duration(t).map_err(|e| bad_input(format!("--timeout: {e}")))?;
    }
    for s in &g.gateway {
        let addr =
            settings::parse_gateway_addr(s).map_err(|e| bad_input(format!("--gateway: {e}")))?;
        match config
            .gateways
            .iter_mut()
            .find(|e| e.addr.map(|a| a.ip()) == Some(addr.ip()))
        {
            Some(e) => e.addr = Some(addr),
            None => config.gateways.push(GatewayConfig {
                addr: Some(addr),
                ..GatewayConfig::default()
            }),
        }
    }
    Ok((config, path))
}

pub fn parse_url(s: &str, what: &str) -> anyhow::Result<MqttUrl> {
    s.parse::<MqttUrl>()
        .map_err(|e| bad_input(format!("{what} {s:?}: {e}")))
}

pub fn parse_listen(s: &str, what: &str) -> anyhow::Result<SocketAddr> {
    s.parse::<SocketAddr>().map_err(|_| {
        bad_input(format!(
            "{what} {s:?}: expected IP:PORT such as 127.0.0.1:1883"
        ))
    })
}
