//! LAN API gateways: a cloneable [`Client`] handle and one driver task that owns the sockets,
//! one `GatewaySession` per gateway, the device registry and the event stream.
//!
//! ## How it works
//!
//! ```text
//!  Client (clone) ─┐  bounded mpsc, oneshot replies      ┌─ command socket (whois, commands, replies)
//!  Client (clone) ─┼──────────────────────────► driver ──┼─ report socket (224.0.0.50:9898)
//!  Events ◄────────┴── broadcast ◄──────────────  task   └─ one GatewaySession per gateway (sans-IO)
//! ```
//!
//! The driver task is the only owner of the state: handles send it commands over a bounded
//! channel and get their answer on a oneshot; nobody shares a lock with it. Every datagram is
//! routed by its source address to the gateway's `GatewaySession` (lumi-proto), which
//! correlates replies by address, sid and reply kind, retries, keys writes with the newest
//! token, refreshes the token and retries once on `Invalid key`, and declares the gateway
//! offline after 65 s without a heartbeat. Time is passed in as
//! `tokio::time::Instant::now().into_std()`, so tests with a paused clock control all of it.
//!
//! ## Gateways
//!
//! - **Discovery** ([`ClientConfig::discover`]): `whois` three times during
//!   [`ClientConfig::discovery_window`]; every gateway that answers `iam` is adopted. A
//!   gateway heartbeat from an unknown sid later triggers another `whois` (rate-limited); a
//!   gateway that never answers `whois` (the AC partner) is adopted from its heartbeats at port
//!   9898 after three tries.
//! - **Static gateways** ([`ClientConfig::gateways`]): probed by address (unicast
//!   `get_id_list`, then `discovery`), for networks where multicast does not reach this host.
//! - **Moves**: a heartbeat with a known sid from a new address triggers a `whois`; the `iam`
//!   gives the new command address and the session moves there with its outstanding requests
//!   ([`Event::GatewayMoved`]).
//! - **Passwords** ([`Passwords`]): per sid, per IP, or a default. Reads need none; a write to
//!   a gateway without one fails at once with [`ClientError::NoPassword`].
//!
//! ## Registry
//!
//! When a gateway is adopted the driver reads the gateway itself, then its device list
//! (`get_id_list`/`discovery`), then every device ([`ClientConfig::read_concurrency`] at a
//! time), decoding each with the catalogue; reports and heartbeats keep it current (see
//! [`registry`] for what is merged, and [`Availability`] for when a silent device becomes
//! unavailable). Requests for a sid that no gateway lists wait until discovery has settled
//! (the window has passed, probes and device lists are done), then fail with
//! [`ClientError::UnknownDevice`].
//!
//! ## Shutdown
//!
//! [`Client::shutdown`] stops the driver and waits until its sockets are closed; dropping the
//! last `Client` stops it too. Outstanding requests then fail with [`ClientError::Closed`] and
//! subscribers get [`EventsError::Closed`] after the last event.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use lumi_client::gateway::{Client, ClientConfig, Passwords};
//! use lumi_client::net::{self, InterfaceSpec, NetConfig};
//! use lumi_proto::catalogue::TypedValue;
//!
//! let iface = net::resolve_interface(&"eth0".parse::<InterfaceSpec>()?, None)?;
//! let mut cfg = ClientConfig::new(NetConfig::new(iface));
//! cfg.passwords = Passwords::new().with_default("0987654321qwerty".parse()?);
//! let client = Client::start(cfg)?;
//! let mut events = client.subscribe();
//! client.ready().await?;
//! for d in client.devices().await? {
//!     println!("{} {:?} {:?}", d.sid, d.model, d.state.values_json());
//! }
//! client.set(&"158d00015879f9".parse()?, "state", TypedValue::text("on")).await?;
//! while let Ok(e) = events.recv().await {
//!     println!("{}", serde_json::to_string(&e)?);
//! }
//! client.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use lumi_proto::catalogue::{self, DeviceState, Rgb, TypedValue, ValueType};
use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::{Props, ProtoVersion, Sid};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

mod driver;
mod error;
mod event;
pub mod registry;

pub use error::ClientError;
pub use event::{DropReason, Event, Events, EventsError, Origin, TokenOrigin};
pub use registry::{Availability, DeviceInfo, GatewayInfo, RegistryStatus};

use crate::net::NetConfig;
use driver::Command;

/// A gateway configured by address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticGateway {
    /// Its command address (`ip:9898`).
    pub addr: SocketAddr,
    /// Its sid, when known: then it is adopted even if the probe gets no answer.
    pub sid: Option<Sid>,
    /// Its protocol version, when forced (otherwise detected).
    pub version: Option<ProtoVersion>,
}

impl StaticGateway {
    /// A gateway at `addr`, sid and version to be learned.
    pub fn new(addr: SocketAddr) -> StaticGateway {
        StaticGateway {
            addr,
            sid: None,
            version: None,
        }
    }
}

/// Gateway passwords: per sid, per IP, and a default for the rest. `Debug` shows no password.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Passwords {
    default: Option<GatewayPassword>,
    by_sid: Vec<(Sid, GatewayPassword)>,
    by_ip: Vec<(IpAddr, GatewayPassword)>,
}

impl Passwords {
    /// No passwords: reads only.
    pub fn new() -> Passwords {
        Passwords::default()
    }

    /// The password of every gateway without its own.
    #[must_use]
    pub fn with_default(mut self, p: GatewayPassword) -> Passwords {
        self.default = Some(p);
        self
    }

    /// The password of the gateway with this sid.
    #[must_use]
    pub fn with_sid(mut self, sid: Sid, p: GatewayPassword) -> Passwords {
        self.by_sid.retain(|(s, _)| *s != sid);
        self.by_sid.push((sid, p));
        self
    }

    /// The password of the gateway at this IP.
    #[must_use]
    pub fn with_ip(mut self, ip: IpAddr, p: GatewayPassword) -> Passwords {
        self.by_ip.retain(|(i, _)| *i != ip);
        self.by_ip.push((ip, p));
        self
    }

    /// The password for a gateway: by sid, then by IP, then the default.
    pub fn lookup(&self, sid: &Sid, ip: IpAddr) -> Option<&GatewayPassword> {
        self.by_sid
            .iter()
            .find(|(s, _)| s == sid)
            .map(|(_, p)| p)
            .or_else(|| self.by_ip.iter().find(|(i, _)| *i == ip).map(|(_, p)| p))
            .or(self.default.as_ref())
    }
}

/// How a [`Client`] is set up. [`ClientConfig::new`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Interface, group and ports.
    pub net: NetConfig,
    /// Send `whois` at start and adopt gateways that announce themselves (default true).
    pub discover: bool,
    /// How long the initial `whois` collects answers before discovery counts as settled
    /// (default 3 s).
    pub discovery_window: Duration,
    /// Gateways configured by address.
    pub gateways: Vec<StaticGateway>,
    /// Gateway passwords.
    pub passwords: Passwords,
    /// How long one request may take, retries included (default 3 s: 3 attempts of 1 s).
    pub request_timeout: Duration,
    /// Datagrams per request before giving up (default 3).
    pub attempts: u32,
    /// Silence after which a gateway is offline (default 65 s, as documented).
    pub offline_after: Duration,
    /// When silent sub-devices become unavailable.
    pub availability: Availability,
    /// Device reads in flight per gateway while the registry loads (default 4).
    pub read_concurrency: usize,
    /// Events kept for slow subscribers (default 1024); see [`Events`].
    pub event_capacity: usize,
    /// Stop reading reports while subscribers are more than three quarters of
    /// `event_capacity` behind, so a burst waits in the kernel's socket buffer instead of
    /// overrunning them (default false: a slow subscriber lags and resyncs instead). For a
    /// single consumer that must see every report: the MQTT bridge.
    pub backpressure: bool,
    /// Listen for multicast reports and heartbeats (default true).
    pub listen: bool,
    /// Read every gateway's device list and devices when it is adopted (default true).
    pub load_devices: bool,
}

impl ClientConfig {
    /// The defaults on `net`.
    pub fn new(net: NetConfig) -> ClientConfig {
        ClientConfig {
            net,
            discover: true,
            discovery_window: Duration::from_secs(3),
            gateways: Vec::new(),
            passwords: Passwords::new(),
            request_timeout: Duration::from_secs(3),
            attempts: 3,
            offline_after: Duration::from_secs(65),
            availability: Availability::default(),
            read_concurrency: 4,
            event_capacity: 1024,
            backpressure: false,
            listen: true,
            load_devices: true,
        }
    }

    /// Adds a gateway the user named (lumi.toml's `[[gateway]]`, `--gateway`): its password
    /// goes under its sid and its IP, and with an address it is probed as a static gateway.
    pub fn add_gateway(
        &mut self,
        sid: Option<&Sid>,
        addr: Option<SocketAddr>,
        password: Option<&GatewayPassword>,
        protocol: Option<ProtoVersion>,
    ) {
        if let Some(p) = password {
            let mut passwords = std::mem::take(&mut self.passwords);
            if let Some(sid) = sid {
                passwords = passwords.with_sid(sid.clone(), p.clone());
            }
            if let Some(a) = addr {
                passwords = passwords.with_ip(a.ip(), p.clone());
            }
            self.passwords = passwords;
        }
        if let Some(addr) = addr {
            self.gateways.push(StaticGateway {
                addr,
                sid: sid.cloned(),
                version: protocol,
            });
        }
    }
}

/// A device's state as a `read` returned it, or (for a write) as it was before the write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceData {
    /// The gateway that answered.
    pub gateway: Sid,
    /// The device.
    pub sid: Sid,
    /// Its model, when the gateway named it.
    pub model: Option<String>,
    /// The typed values (and what could not be typed).
    pub state: DeviceState,
    /// The raw properties as received.
    pub props: Props,
}

/// What the client did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClientStats {
    /// Datagrams received.
    pub datagrams: u64,
    /// Reports received from known gateways.
    pub reports: u64,
    /// Sub-device heartbeats received.
    pub heartbeats: u64,
    /// Datagrams from addresses that are no known gateway.
    pub dropped_foreign: u64,
    /// Replies that answered nothing outstanding.
    pub dropped_unmatched: u64,
    /// Datagrams that were not LAN API messages.
    pub dropped_undecodable: u64,
    /// The undecodable datagrams by what was wrong with them.
    pub decode_errors: DecodeErrors,
    /// Gateways known.
    pub gateways: usize,
    /// Sub-devices known.
    pub devices: usize,
}

/// Undecodable datagrams counted by [`LanError::kind`](lumi_proto::lan::LanError::kind).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeErrors([u64; lumi_proto::lan::LanError::KINDS.len()]);

impl DecodeErrors {
    /// Counts one error.
    pub fn count(&mut self, e: &lumi_proto::lan::LanError) {
        if let Some(n) = self.0.get_mut(e.kind_index()) {
            *n += 1;
        }
    }

    /// Every kind with its count (zeros included), in the order of
    /// [`LanError::KINDS`](lumi_proto::lan::LanError::KINDS).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        lumi_proto::lan::LanError::KINDS
            .iter()
            .copied()
            .zip(self.0.iter().copied())
    }

    /// All of them.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl Serialize for DecodeErrors {
    /// `{"not_json": 2, …}`: the kinds seen, without the zeros.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, n) in self.iter().filter(|(_, n)| *n > 0) {
            m.serialize_entry(k, &n)?;
        }
        m.end()
    }
}

/// What to do with an on/off channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchAction {
    /// Switch on.
    On,
    /// Switch off.
    Off,
    /// The opposite of the current state (read first if it is unknown).
    Toggle,
}

/// What to do with a curtain motor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurtainCommand {
    /// Open fully.
    Open,
    /// Close fully.
    Close,
    /// Stop moving.
    Stop,
    /// Move to a level, 0–100 % open.
    Level(u8),
}

/// A handle to a running LAN API client; cheap to clone. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Client {
    tx: mpsc::Sender<Command>,
    events: broadcast::WeakSender<std::sync::Arc<Event>>,
    interface: Ipv4Addr,
}

impl Client {
    /// Opens the sockets and starts the driver task (on the current tokio runtime).
    pub fn start(cfg: ClientConfig) -> Result<Client, ClientError> {
        Client::start_subscribed(cfg).map(|(c, _)| c)
    }

    /// [`Client::start`], with a subscription that sees every event from the very start.
    pub fn start_subscribed(cfg: ClientConfig) -> Result<(Client, Events), ClientError> {
        let interface = cfg.net.interface;
        let (events_tx, events_rx) = broadcast::channel(cfg.event_capacity.max(16));
        let weak = events_tx.downgrade();
        let (tx, rx) = mpsc::channel(64);
        driver::spawn(cfg, rx, events_tx)?;
        Ok((
            Client {
                tx,
                events: weak,
                interface,
            },
            Events::new(events_rx),
        ))
    }

    /// The interface address the client listens and sends on.
    pub fn interface(&self) -> Ipv4Addr {
        self.interface
    }

    /// A new subscription to the events (from now on).
    pub fn subscribe(&self) -> Events {
        match self.events.upgrade() {
            Some(tx) => Events::new(tx.subscribe()),
            None => {
                let (tx, rx) = broadcast::channel(1);
                drop(tx);
                Events::new(rx)
            }
        }
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)
    }

    /// Waits until discovery has settled: the discovery window has passed, static gateways
    /// were probed, and every adopted gateway's device list was loaded (or failed).
    pub async fn ready(&self) -> Result<(), ClientError> {
        self.ask(Command::Ready).await
    }

    /// The gateways known now.
    pub async fn gateways(&self) -> Result<Vec<GatewayInfo>, ClientError> {
        self.ask(Command::Gateways).await
    }

    /// Every sub-device of every gateway, by gateway then sid.
    pub async fn devices(&self) -> Result<Vec<DeviceInfo>, ClientError> {
        self.ask(Command::Devices).await
    }

    /// One device (a gateway's own record for a gateway sid), if known.
    pub async fn device(&self, sid: &Sid) -> Result<Option<DeviceInfo>, ClientError> {
        let sid = sid.clone();
        self.ask(|reply| Command::Device { sid, reply }).await
    }

    /// Counters.
    pub async fn stats(&self) -> Result<ClientStats, ClientError> {
        self.ask(Command::Stats).await
    }

    /// Reads a device (or a gateway, by its own sid); the registry is updated too.
    pub async fn read(&self, sid: &Sid) -> Result<DeviceData, ClientError> {
        let sid = sid.clone();
        self.ask(|reply| Command::Read { sid, reply }).await?
    }

    /// Writes raw properties (`{"status":"on"}`); the answer is the state *before* the
    /// write, the result follows as an [`Event::Report`].
    pub async fn write(&self, sid: &Sid, props: Props) -> Result<DeviceData, ClientError> {
        let sid = sid.clone();
        self.ask(|reply| Command::Write { sid, props, reply })
            .await?
    }

    /// Writes one property in lumi's vocabulary (`state` = `on`), through
    /// `catalogue::encode_write` for the device's model and the gateway's protocol version.
    pub async fn set(
        &self,
        sid: &Sid,
        property: &str,
        value: TypedValue,
    ) -> Result<DeviceData, ClientError> {
        self.set_many(sid, &[(property, value)]).await
    }

    /// Writes several properties in one datagram (a light's brightness and colour).
    pub async fn set_many(
        &self,
        sid: &Sid,
        values: &[(&str, TypedValue)],
    ) -> Result<DeviceData, ClientError> {
        let sid = sid.clone();
        let values = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        self.ask(|reply| Command::Set { sid, values, reply })
            .await?
    }

    /// The gateway's light ring in a colour at a brightness (0–100 %; 0 is off).
    pub async fn light(
        &self,
        gateway: &Sid,
        color: Rgb,
        brightness: u8,
    ) -> Result<DeviceData, ClientError> {
        self.set_many(
            gateway,
            &[
                ("brightness", TypedValue::Int(i64::from(brightness))),
                ("color", TypedValue::Color(color)),
            ],
        )
        .await
    }

    /// The gateway's light ring off.
    pub async fn light_off(&self, gateway: &Sid) -> Result<DeviceData, ClientError> {
        self.set(gateway, "light", TypedValue::text("off")).await
    }

    /// Plays a gateway sound by name (`doorbell`, see `catalogue::SOUNDS`) or id (`"10001"`
    /// for a custom one), at a volume (0–100 %) if given.
    pub async fn play_sound(
        &self,
        gateway: &Sid,
        sound: &str,
        volume: Option<u8>,
    ) -> Result<DeviceData, ClientError> {
        let mut values = vec![("sound", TypedValue::text(sound))];
        if let Some(v) = volume {
            values.push(("volume", TypedValue::Int(i64::from(v))));
        }
        self.set_many(gateway, &values).await
    }

    /// Stops the gateway's sound.
    pub async fn stop_sound(&self, gateway: &Sid) -> Result<DeviceData, ClientError> {
        self.set(gateway, "sound", TypedValue::text(catalogue::STOP_NAME))
            .await
    }

    /// Switches channel `channel` (0-based: a plug or a one-key switch has channel 0, two-key
    /// switches and relays 0 and 1) on, off, or to the opposite of its current state.
    pub async fn switch(
        &self,
        sid: &Sid,
        channel: usize,
        action: SwitchAction,
    ) -> Result<DeviceData, ClientError> {
        let info = match self.device(sid).await? {
            Some(i) => i,
            None => {
                // Unknown now: a read waits for discovery to settle and says why it failed.
                self.read(sid).await?;
                self.device(sid)
                    .await?
                    .ok_or_else(|| ClientError::UnknownModel { sid: sid.clone() })?
            }
        };
        let Some(device) = info.state.device else {
            return Err(ClientError::UnknownModel { sid: sid.clone() });
        };
        let channels: Vec<&'static str> = device
            .writable()
            .filter(|p| {
                p.name.starts_with("state")
                    && matches!(p.value, ValueType::Enum(v) if v.contains(&"on") && v.contains(&"off"))
            })
            .map(|p| p.name)
            .collect();
        let Some(property) = channels.get(channel).copied() else {
            return Err(ClientError::NoChannel {
                sid: sid.clone(),
                model: device.model().to_owned(),
                channel,
                count: channels.len(),
            });
        };
        let target = match action {
            SwitchAction::On => "on",
            SwitchAction::Off => "off",
            SwitchAction::Toggle => {
                let mut current = info
                    .state
                    .get(property)
                    .and_then(|v| v.as_str().map(str::to_owned));
                if current.is_none() {
                    current = self
                        .read(sid)
                        .await?
                        .state
                        .get(property)
                        .and_then(|v| v.as_str().map(str::to_owned));
                }
                match current.as_deref() {
                    Some("on") => "off",
                    Some("off") => "on",
                    _ => {
                        return Err(ClientError::UnknownState {
                            sid: sid.clone(),
                            property: property.to_owned(),
                        });
                    }
                }
            }
        };
        self.set(sid, property, TypedValue::text(target)).await
    }

    /// Moves a curtain motor.
    pub async fn curtain(
        &self,
        sid: &Sid,
        command: CurtainCommand,
    ) -> Result<DeviceData, ClientError> {
        match command {
            CurtainCommand::Open => self.set(sid, "motor", TypedValue::text("open")).await,
            CurtainCommand::Close => self.set(sid, "motor", TypedValue::text("close")).await,
            CurtainCommand::Stop => self.set(sid, "motor", TypedValue::text("stop")).await,
            CurtainCommand::Level(l) => self.set(sid, "level", TypedValue::Int(i64::from(l))).await,
        }
    }

    /// Opens (for 30 s) or closes pairing of new sub-devices on a gateway.
    pub async fn pairing(&self, gateway: &Sid, open: bool) -> Result<DeviceData, ClientError> {
        self.set(gateway, "pairing", TypedValue::Bool(open)).await
    }

    /// Removes (unpairs) a sub-device from its gateway.
    pub async fn remove_device(
        &self,
        gateway: &Sid,
        device: &Sid,
    ) -> Result<DeviceData, ClientError> {
        self.set(gateway, "remove_device", TypedValue::text(device.as_str()))
            .await
    }

    /// Stops the driver and waits until its sockets are closed. Other handles' requests then
    /// fail with [`ClientError::Closed`].
    pub async fn shutdown(self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_gateway_gets_its_password_by_sid_and_ip_and_a_probe_with_an_address() {
        let mut c = ClientConfig::new(NetConfig::new(Ipv4Addr::LOCALHOST));
        let sid: Sid = "34ce0088db0b".parse().unwrap();
        let pw: GatewayPassword = "0987654321qwerty".parse().unwrap();
        let addr: SocketAddr = "127.0.0.2:9898".parse().unwrap();
        c.add_gateway(Some(&sid), Some(addr), Some(&pw), Some(ProtoVersion::V2));
        c.add_gateway(Some(&"34ce0088db0c".parse().unwrap()), None, None, None);
        let other: Sid = "34ce00000000".parse().unwrap();
        assert_eq!(
            c.passwords.lookup(&sid, "10.0.0.1".parse().unwrap()),
            Some(&pw)
        );
        assert_eq!(c.passwords.lookup(&other, addr.ip()), Some(&pw));
        assert_eq!(
            c.passwords.lookup(&other, "10.0.0.1".parse().unwrap()),
            None
        );
        assert_eq!(
            c.gateways.len(),
            1,
            "only a gateway with an address is probed"
        );
        assert_eq!(c.gateways[0].version, Some(ProtoVersion::V2));
    }

    #[test]
    fn passwords_by_sid_then_ip_then_default_and_never_shown() {
        let sid = Sid::new("7811dcb06972").unwrap();
        let other = Sid::new("7811dcb06973").unwrap();
        let ip: IpAddr = "192.168.1.20".parse().unwrap();
        let p = Passwords::new()
            .with_default("0987654321qwerty".parse().unwrap())
            .with_ip(ip, "t7ew6r4y612eml0f".parse().unwrap())
            .with_sid(sid.clone(), "a6c567lbkcmr47fp".parse().unwrap());
        let x = |s: &Sid, ip: &str| {
            p.lookup(s, ip.parse().unwrap())
                .unwrap()
                .expose()
                .to_owned()
        };
        assert_eq!(x(&sid, "192.168.1.20"), "a6c567lbkcmr47fp");
        assert_eq!(x(&other, "192.168.1.20"), "t7ew6r4y612eml0f");
        assert_eq!(x(&other, "192.168.1.21"), "0987654321qwerty");
        let mut cfg = ClientConfig::new(NetConfig::new(Ipv4Addr::LOCALHOST));
        cfg.passwords = p;
        let dbg = format!("{cfg:?}");
        for secret in ["a6c567lbkcmr47fp", "t7ew6r4y612eml0f", "0987654321qwerty"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
        assert!(Passwords::new().lookup(&sid, ip).is_none());
    }
}
