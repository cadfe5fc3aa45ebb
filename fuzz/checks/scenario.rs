//! `scenario`: a `lumi sim` scenario file, any text. `Scenario::from_toml` must not panic;
//! a scenario it accepts is played on sans-IO simulated gateways (its devices added, random
//! events started, every step applied at its time, capped at ten seconds of simulated time)
//! without panic.

use std::time::{Duration, Instant};

use lumi_sim::gateway::SimGateway;
use lumi_sim::scenario::{Action, Scenario};

/// The simulated time the timeline is played for, at most.
const HORIZON: Duration = Duration::from_secs(10);

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = Scenario::from_toml(text) else {
        return;
    };
    let t0 = Instant::now();
    let mut gateways: Vec<SimGateway> = Vec::new();
    for g in &scenario.gateways {
        let mut gw = SimGateway::new(g.config.clone(), t0);
        for d in &g.devices {
            gw.add_device(t0, d.clone());
        }
        if let Some(every) = g.random_events {
            gw.start_random_events(t0, every);
        }
        gateways.push(gw);
    }
    let drain =
        |gw: &mut SimGateway| while gw.poll_transmit().is_some() || gw.poll_event().is_some() {};
    for step in &scenario.steps {
        let now = t0 + step.at.min(HORIZON);
        let Some(target) = scenario.target(step) else {
            continue;
        };
        let Some(gw) = gateways.iter_mut().find(|g| g.config().sid == target) else {
            continue;
        };
        gw.handle_timeout(now);
        drain(gw);
        match &step.action {
            Action::Set { sid, values } => {
                let values: Vec<(&str, _)> = values
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect();
                let _ = gw.stimulate(now, sid, &values);
            }
            Action::Reboot(d) => gw.reboot(now, *d),
            Action::Silent(_) => gw.set_online(now, false),
            Action::Online => gw.set_online(now, true),
            Action::IpChange(ip) => gw.set_ip(*ip),
            Action::TokenChange => gw.rotate_token(),
            Action::Password(p) => gw.set_password(p.clone()),
            _ => {}
        }
        drain(gw);
    }
    for gw in &mut gateways {
        gw.handle_timeout(t0 + HORIZON);
        drain(gw);
    }
}
