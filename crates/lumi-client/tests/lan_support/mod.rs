//! Shared set-up for the LAN client tests: simulated gateways from `lumi_sim::rt` on
//! 127.0.0.2, 127.0.0.3, … with free discovery/report ports and multicast on 127.0.0.1 only.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::time::Duration;

use lumi_client::gateway::{ClientConfig, Event, Events, Passwords};
use lumi_client::net::NetConfig;
use lumi_proto::catalogue::{self, DeviceKind};
use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::Sid;
use lumi_sim::rt::{self, GatewayHandle};
use lumi_sim::scenario::{GatewaySpec, Scenario};
use lumi_sim::testkit::free_udp_port;

pub const PASSWORD: &str = "0987654321qwerty";
pub const PASSWORD2: &str = "t7ew6r4y612eml0f";

pub fn pw(s: &str) -> GatewayPassword {
    s.parse().unwrap()
}

/// Simulated gateways and the network they live on.
pub struct House {
    pub gateways: Vec<GatewayHandle>,
    pub specs: Vec<GatewaySpec>,
    pub net: NetConfig,
}

/// `count` gateways (v1, v2, v1, …) from 127.0.0.2 with one device of every kind between
/// them; `tweak` may change each gateway's config (password, heartbeat) before it starts.
pub async fn house_with(
    count: usize,
    tweak: impl Fn(usize, &mut lumi_sim::gateway::GatewayConfig),
) -> House {
    house_with_spec(count, |i, spec| tweak(i, &mut spec.config)).await
}

/// One v1 gateway on 127.0.0.2 with `plugs` Mi plugs and nothing else.
pub async fn house_of_plugs(plugs: usize) -> House {
    house_with_spec(1, |_, spec| {
        spec.devices = (0..plugs)
            .map(|i| {
                let sid = Sid::new(&format!("158d00aa{i:06x}")).unwrap();
                lumi_sim::device::SubDevice::from_catalogue(sid, "plug", spec.config.version)
                    .unwrap()
            })
            .collect();
    })
    .await
}

/// As [`house_with`], `tweak` seeing each gateway's whole spec (its devices too).
pub async fn house_with_spec(count: usize, tweak: impl Fn(usize, &mut GatewaySpec)) -> House {
    let net = NetConfig {
        discovery_port: free_udp_port(),
        report_port: free_udp_port(),
        ..NetConfig::new(Ipv4Addr::LOCALHOST)
    };
    let sim_net = rt::NetConfig {
        interface: Ipv4Addr::LOCALHOST,
        group: net.group,
        discovery_port: net.discovery_port,
        report_port: net.report_port,
        miio_port: 0,
    };
    let scenario = Scenario::house(Ipv4Addr::new(127, 0, 0, 2), count, None, pw(PASSWORD), None);
    let mut gateways = Vec::new();
    let mut specs = Vec::new();
    for (i, mut spec) in scenario.gateways.into_iter().enumerate() {
        spec.config.command_port = 0;
        tweak(i, &mut spec);
        let h = rt::spawn_gateway(spec.config.clone(), spec.devices.clone(), sim_net)
            .await
            .expect("simulated gateway starts");
        gateways.push(h);
        specs.push(spec);
    }
    House {
        gateways,
        specs,
        net,
    }
}

/// Two gateways, v1 on 127.0.0.2 and v2 on 127.0.0.3, same password.
pub async fn house() -> House {
    house_with(2, |_, _| {}).await
}

impl House {
    /// A client config for this house: short discovery window, the default password.
    pub fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(self.net);
        c.discovery_window = Duration::from_millis(600);
        c.request_timeout = Duration::from_millis(1500);
        c.passwords = Passwords::new().with_default(pw(PASSWORD));
        c
    }

    /// The first device of `kind`: (gateway index, sid, model).
    pub fn find(&self, kind: DeviceKind) -> (usize, Sid, String) {
        for (i, s) in self.specs.iter().enumerate() {
            for d in &s.devices {
                if catalogue::lookup(&d.model).map(|c| c.kind) == Some(kind) {
                    return (i, d.sid.clone(), d.model.clone());
                }
            }
        }
        panic!("no {kind:?} in the house")
    }

    pub fn device_count(&self) -> usize {
        self.specs.iter().map(|s| s.devices.len()).sum()
    }

    pub async fn stop(self) {
        for g in self.gateways {
            g.stop().await;
        }
    }
}

/// The first event `f` accepts, within `secs` (a deadline, not a sleep).
pub async fn expect<T>(
    events: &mut Events,
    secs: u64,
    what: &str,
    f: impl FnMut(&Event) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(secs), events.wait_for(f))
        .await
        .unwrap_or_else(|_| panic!("no {what} within {secs} s"))
        .unwrap_or_else(|| panic!("client closed before {what}"))
}

impl House {
    /// Something happens to a device in the simulator (its gateway reports it):
    /// `house.happen(&door, "contact", TypedValue::Bool(false))`.
    pub async fn happen(&self, sid: &Sid, property: &str, value: catalogue::TypedValue) {
        let g = self
            .specs
            .iter()
            .position(|s| s.devices.iter().any(|d| &d.sid == sid))
            .unwrap_or_else(|| panic!("{sid} is in no simulated gateway"));
        self.gateways[g]
            .stimulate(sid.clone(), vec![(property.to_owned(), value)])
            .await
            .expect("the simulated gateway runs")
            .unwrap_or_else(|e| panic!("{sid} {property}: {e}"));
    }

    /// A device's typed property as the simulator has it (what a write changed).
    pub async fn sim_value(
        &self,
        sid: &Sid,
        property: &'static str,
    ) -> Option<catalogue::TypedValue> {
        let g = self
            .specs
            .iter()
            .position(|s| s.devices.iter().any(|d| &d.sid == sid))?;
        let sid = sid.clone();
        self.gateways[g]
            .inspect(move |gw| {
                let d = gw.device(&sid)?;
                catalogue::decode(&d.model, d.version, &d.state)
                    .get(property)
                    .cloned()
            })
            .await
            .ok()
            .flatten()
    }

    /// The first device of `kind` on gateway `g`.
    pub fn find_on(&self, g: usize, kind: DeviceKind) -> Option<(Sid, String)> {
        self.specs[g]
            .devices
            .iter()
            .find(|d| catalogue::lookup(&d.model).map(|c| c.kind) == Some(kind))
            .map(|d| (d.sid.clone(), d.model.clone()))
    }
}
