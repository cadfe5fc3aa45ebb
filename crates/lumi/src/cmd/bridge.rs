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
    // Under systemd (`Type=notify`, packaging/lumi.service) every failure, a bad
    // configuration included, is shown by `systemctl status` too.
    let notifier = match crate::systemd::Notifier::from_env() {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!("not notifying systemd: {e}");
            None
        }
    };
    let r = configure_and_serve(args, g, notifier.as_ref());
    if let (Err(e), Some(n)) = (&r, &notifier) {
        n.send(&crate::systemd::status(&format!("failed: {e:#}")));
    }
    r
}

fn configure_and_serve(
    args: BridgeArgs,
    g: &Global,
    notifier: Option<&crate::systemd::Notifier>,
) -> anyhow::Result<()> {
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
            super::out(&format!("# from {}", f.display()));
        }
        // `out`, not `print!`: `lumi bridge --print-config | head` must not panic.
        super::out(config.print_config().trim_end());
        return Ok(());
    }
    let duration = args
        .duration
        .as_deref()
        .map(|d| settings::parse_duration(d).map_err(|e| bad_input(format!("--duration: {e}"))))
        .transpose()?;
    serve(&config, g, duration, notifier)
}

/// Runs the bridge until Ctrl-C, SIGTERM or `duration`, telling systemd how it goes when
/// `notifier` is set (`crate::systemd`): `READY=1` once it runs, `WATCHDOG=1` while the LAN
/// client answers, `STOPPING=1` when it stops.
fn serve(
    config: &Config,
    g: &Global,
    duration: Option<std::time::Duration>,
    notifier: Option<&crate::systemd::Notifier>,
) -> anyhow::Result<()> {
    let watchdog = match notifier.map(|_| crate::systemd::watchdog_interval()) {
        Some(Ok(w)) => w,
        Some(Err(e)) => {
            tracing::warn!("systemd watchdog off: {e}");
            None
        }
        None => None,
    };
    let lan = super::lan::resolve(g)?;
    let rt = super::lan::runtime()?;
    rt.block_on(async move {
        let mut bridge = Bridge::start(BridgeSetup {
            config: config.clone(),
            net: lan.net,
        })
        .await?;
        let interface = lan.net.interface.to_string();
        announce(&bridge, config, &interface);
        if let Some(n) = notifier {
            n.send(&format!(
                "READY=1\n{}",
                crate::systemd::status(&format!(
                    "bridging gateways on interface {interface} to MQTT {}",
                    broker_text(&bridge, config)
                ))
            ));
        }
        // Liveness: the daemon task and the LAN client's driver both answer.
        let liveness = bridge.liveness();
        let watchdog = async {
            match (notifier, watchdog) {
                (Some(n), Some(every)) => {
                    crate::systemd::watchdog(n, every, || {
                        let liveness = liveness.clone();
                        async move {
                            if liveness.check(every).await {
                                Ok(())
                            } else {
                                Err("the bridge's daemon task or LAN client did not answer"
                                    .to_owned())
                            }
                        }
                    })
                    .await;
                }
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            () = super::stopped(duration) => {}
            r = bridge.wait() => {
                // It stops by itself only on an error, which `run` puts in a STATUS line.
                if let Some(n) = notifier {
                    n.send("STOPPING=1");
                }
                return r.map_err(anyhow::Error::new);
            }
            () = watchdog => {}
        }
        if let Some(n) = notifier {
            n.send(&format!(
                "STOPPING=1\n{}",
                crate::systemd::status("stopping: publishing offline and disconnecting")
            ));
        }
        tracing::info!("stopping: publishing offline and disconnecting");
        bridge.stop().await.map_err(anyhow::Error::new)
    })
}

/// What the operator sees at start (stderr, so stdout stays clean for scripts).
pub fn announce(bridge: &Bridge, config: &Config, interface: &str) {
    eprintln!(
        "lumi bridge {}: gateways on interface {interface}, MQTT {}, topics {}/…{}",
        env!("CARGO_PKG_VERSION"),
        broker_text(bridge, config),
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

/// Which broker the bridge talks to, for people (no credentials: URLs carry none).
fn broker_text(bridge: &Bridge, config: &Config) -> String {
    if bridge.embedded_broker() {
        format!("embedded broker on mqtt://{}", bridge.mqtt_addr())
    } else {
        match &config.mqtt.broker {
            Broker::External(url) => url.to_string(),
            _ => bridge.mqtt_addr().to_string(),
        }
    }
}

/// lumi.toml (the same file the other commands read) with the global options on top.
pub fn load(g: &Global) -> anyhow::Result<(Config, Option<PathBuf>)> {
    let path = match &g.config {
        Some(p) => Some(p.clone()),
        None => settings::default_config_path().filter(|p| p.is_file()),
    };
    let mut config = match &path {
        Some(p) => {
            if let Ok(text) = std::fs::read_to_string(p) {
                settings::warn_if_world_readable(p, &text);
            }
            Config::load(p).map_err(|e| match e {
                // The read error names the file already.
                lumi_bridge::ConfigError::Read { .. } => bad_input(e.to_string()),
                e => bad_input(format!("config file {}: {e}", p.display())),
            })?
        }
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
        for e in config.gateways.iter().filter(|e| e.password.is_some()) {
            tracing::warn!(
                "gateway {} keeps its own password from the config file, not the one from --password or LUMI_PASSWORD",
                settings::gateway_name(e.sid.as_ref(), e.addr)
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::{file, global};

    #[test]
    fn the_password_option_replaces_the_default_and_a_gateways_own_stays() {
        let (_d, p) = file(
            "password = \"0987654321qwerty\"\n\
             [[gateway]]\nsid = \"34ce0088db0b\"\npassword = \"aaaaaaaaaaaaaaaa\"\n\
             [[gateway]]\nip = \"192.168.1.21\"\n",
        );
        let mut g = global();
        g.config = Some(p);
        g.password = Some("bbbbbbbbbbbbbbbb".into());
        let (c, _) = load(&g).unwrap();
        assert_eq!(c.password.as_ref().unwrap().expose(), "bbbbbbbbbbbbbbbb");
        assert_eq!(
            c.gateways[0].password.as_ref().unwrap().expose(),
            "aaaaaaaaaaaaaaaa"
        );
        assert!(c.gateways[1].password.is_none(), "it takes the default");
    }
}
