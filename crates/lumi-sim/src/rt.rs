//! The tokio adaptor: a simulated gateway on real UDP sockets (loopback by default).
//!
//! Sockets, per gateway at address G with multicast interface I (127.0.0.1 by default):
//! - commands: bound to `G:command_port` (0 = a free port, announced in `iam`);
//! - discovery: bound to `group:discovery_port` with address/port reuse, joined on I only, so
//!   several simulated gateways (and a client) on one host all see each `whois`;
//! - sending reports and `iam`: bound to `G:0`, multicast interface I, loop on, TTL 1.
//!
//! Nothing is joined or sent on any interface but I: the interface is configuration.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use lumi_proto::catalogue::TypedValue;
use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::{Props, Sid};

use crate::device::SubDevice;
use crate::gateway::{Destination, GatewayConfig, Inbound, SimEvent, SimGateway, StimulusError};
use crate::scenario::{Action, Scenario};

/// Where the simulated network lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConfig {
    /// The interface address to join and send multicast on.
    pub interface: Ipv4Addr,
    /// The multicast group (224.0.0.50).
    pub group: Ipv4Addr,
    /// The `whois` port (4321).
    pub discovery_port: u16,
    /// The report/heartbeat port (9898).
    pub report_port: u16,
    /// The miIO port each gateway binds on its own address (54321; 0 = a free port).
    pub miio_port: u16,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            interface: Ipv4Addr::LOCALHOST,
            group: Ipv4Addr::new(224, 0, 0, 50),
            discovery_port: crate::gateway::DISCOVERY_PORT,
            report_port: crate::gateway::COMMAND_PORT,
            miio_port: lumi_proto::miio::PORT,
        }
    }
}

/// A multicast receiver: reuse address and port, only joined groups, joined on `interface`.
pub fn multicast_receiver(
    group: Ipv4Addr,
    port: u16,
    interface: Ipv4Addr,
) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_multicast_all_v4(false)?;
    s.bind(&SocketAddr::V4(SocketAddrV4::new(group, port)).into())?;
    s.join_multicast_v4(&group, &interface)?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

/// A sender bound to `addr` that multicasts on `interface` only (loop on, TTL 1).
pub fn multicast_sender(addr: SocketAddrV4, interface: Ipv4Addr) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_multicast_if_v4(&interface)?;
    s.set_multicast_loop_v4(true)?;
    s.set_multicast_ttl_v4(1)?;
    s.bind(&SocketAddr::V4(addr).into())?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

enum Control {
    Report(Sid, Props),
    Stimulate(
        Sid,
        Vec<(String, TypedValue)>,
        oneshot::Sender<Result<(), StimulusError>>,
    ),
    SetIp(Ipv4Addr),
    Password(GatewayPassword),
    Online(bool),
    Reboot(Duration),
    RotateToken,
    AddDevice(Box<SubDevice>),
    RandomEvents(Duration),
    Inspect(Box<dyn FnOnce(&SimGateway) + Send>),
    Stop(oneshot::Sender<()>),
}

/// A handle to a running simulated gateway. Dropping it stops the gateway.
#[derive(Debug)]
pub struct GatewayHandle {
    control: mpsc::Sender<Control>,
    /// Where commands go (`G:command_port`).
    pub command_addr: SocketAddr,
    /// Where miIO requests go (`G:miio_port`).
    pub miio_addr: SocketAddr,
    /// The gateway's sid.
    pub sid: Sid,
    events: Option<mpsc::UnboundedReceiver<SimEvent>>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Control")
    }
}

/// Why a control request did not reach the gateway.
#[derive(Debug, thiserror::Error)]
#[error("the simulated gateway has stopped")]
pub struct Stopped;

impl GatewayHandle {
    async fn send(&self, c: Control) -> Result<(), Stopped> {
        self.control.send(c).await.map_err(|_| Stopped)
    }

    /// Multicasts a report of raw properties from sub-device `sid`.
    pub async fn report(&self, sid: Sid, props: Props) -> Result<(), Stopped> {
        self.send(Control::Report(sid, props)).await
    }

    /// A sub-device event in lumi's vocabulary (see [`SimGateway::stimulate`]).
    pub async fn stimulate(
        &self,
        sid: Sid,
        values: Vec<(String, TypedValue)>,
    ) -> Result<Result<(), StimulusError>, Stopped> {
        let (tx, rx) = oneshot::channel();
        self.send(Control::Stimulate(sid, values, tx)).await?;
        rx.await.map_err(|_| Stopped)
    }

    /// Moves the gateway to another address: its sockets are bound anew there.
    pub async fn set_ip(&self, ip: Ipv4Addr) -> Result<(), Stopped> {
        self.send(Control::SetIp(ip)).await
    }

    /// Changes the LAN password.
    pub async fn set_password(&self, password: GatewayPassword) -> Result<(), Stopped> {
        self.send(Control::Password(password)).await
    }

    /// Goes silent or comes back.
    pub async fn set_online(&self, online: bool) -> Result<(), Stopped> {
        self.send(Control::Online(online)).await
    }

    /// Reboots (silent for `downtime`, new token).
    pub async fn reboot(&self, downtime: Duration) -> Result<(), Stopped> {
        self.send(Control::Reboot(downtime)).await
    }

    /// Rotates the token now.
    pub async fn rotate_token(&self) -> Result<(), Stopped> {
        self.send(Control::RotateToken).await
    }

    /// Adds a sub-device.
    pub async fn add_device(&self, d: SubDevice) -> Result<(), Stopped> {
        self.send(Control::AddDevice(Box::new(d))).await
    }

    /// Runs `f` on the gateway's state and returns its result.
    pub async fn inspect<R: Send + 'static>(
        &self,
        f: impl FnOnce(&SimGateway) -> R + Send + 'static,
    ) -> Result<R, Stopped> {
        let (tx, rx) = oneshot::channel();
        self.send(Control::Inspect(Box::new(move |g| {
            let _ = tx.send(f(g));
        })))
        .await?;
        rx.await.map_err(|_| Stopped)
    }

    /// The stream of what the gateway did (take it once).
    pub fn events(&mut self) -> Option<mpsc::UnboundedReceiver<SimEvent>> {
        self.events.take()
    }

    /// Stops the gateway and waits until its sockets are closed.
    pub async fn stop(self) {
        let (tx, rx) = oneshot::channel();
        if self.control.send(Control::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// Starts a simulated gateway on real sockets.
pub async fn spawn_gateway(
    mut cfg: GatewayConfig,
    devices: Vec<SubDevice>,
    net: NetConfig,
) -> io::Result<GatewayHandle> {
    let cmd_port_fixed = cfg.command_port != 0;
    let mut socks = Sockets::bind(cfg.ip, cfg.command_port, net.miio_port, net.interface)?;
    let command_addr = socks.cmd.local_addr()?;
    cfg.command_port = command_addr.port();
    let miio_addr = socks.miio.local_addr()?;
    let disco = multicast_receiver(net.group, net.discovery_port, net.interface)?;

    let now = tokio::time::Instant::now().into_std();
    let sid = cfg.sid.clone();
    let mut gw = SimGateway::new(cfg, now);
    for d in devices {
        gw.add_device(now, d);
    }
    let (ctl_tx, mut ctl_rx) = mpsc::channel::<Control>(64);
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let group_addr = SocketAddr::V4(SocketAddrV4::new(net.group, net.report_port));

    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        let mut dbuf = vec![0u8; 65_536];
        let mut mbuf = vec![0u8; 65_536];
        loop {
            let deadline = gw
                .poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                r = socks.cmd.recv_from(&mut buf) => {
                    if let Ok((n, from)) = r {
                        gw.handle_datagram(tokio::time::Instant::now().into_std(), from, Inbound::Command, &buf[..n]);
                    }
                }
                r = disco.recv_from(&mut dbuf) => {
                    if let Ok((n, from)) = r {
                        gw.handle_datagram(tokio::time::Instant::now().into_std(), from, Inbound::Discovery, &dbuf[..n]);
                    }
                }
                r = socks.miio.recv_from(&mut mbuf) => {
                    if let Ok((n, from)) = r {
                        gw.handle_datagram(tokio::time::Instant::now().into_std(), from, Inbound::Miio, &mbuf[..n]);
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    gw.handle_timeout(tokio::time::Instant::now().into_std());
                }
                c = ctl_rx.recv() => {
                    let now = tokio::time::Instant::now().into_std();
                    match c {
                        None => break,
                        Some(Control::Stop(done)) => { let _ = done.send(()); break; }
                        Some(Control::Report(sid, props)) => { gw.report(now, &sid, props); }
                        Some(Control::Stimulate(sid, values, done)) => {
                            let values: Vec<(&str, TypedValue)> = values.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                            let _ = done.send(gw.stimulate(now, &sid, &values));
                        }
                        Some(Control::Password(p)) => gw.set_password(p),
                        Some(Control::SetIp(ip)) => {
                            // Ports chosen by the OS stay OS-chosen; fixed ones stay fixed.
                            let cmd_port = if cmd_port_fixed { gw.config().command_port } else { 0 };
                            match Sockets::bind(ip, cmd_port, net.miio_port, net.interface) {
                                Ok(new) => {
                                    socks = new;
                                    gw.set_ip(ip);
                                    if let Ok(a) = socks.cmd.local_addr() {
                                        gw.set_command_port(a.port());
                                    }
                                }
                                Err(e) => tracing::warn!(gateway = %gw.config().sid, "cannot move to {ip}: {e}"),
                            }
                        }
                        Some(Control::Online(on)) => gw.set_online(now, on),
                        Some(Control::Reboot(d)) => gw.reboot(now, d),
                        Some(Control::RotateToken) => gw.rotate_token(),
                        Some(Control::AddDevice(d)) => gw.add_device(now, *d),
                        Some(Control::RandomEvents(every)) => gw.start_random_events(now, every),
                        Some(Control::Inspect(f)) => f(&gw),
                    }
                }
            }
            while let Some(t) = gw.poll_transmit() {
                let r = match t.to {
                    Destination::Multicast => socks.send.send_to(&t.payload, group_addr).await,
                    Destination::Miio { to } => socks.miio.send_to(&t.payload, to).await,
                    Destination::Unicast { to, from_port }
                        if from_port == crate::gateway::DISCOVERY_PORT =>
                    {
                        socks.send.send_to(&t.payload, to).await
                    }
                    Destination::Unicast { to, .. } => socks.cmd.send_to(&t.payload, to).await,
                };
                if let Err(e) = r {
                    tracing::warn!(gateway = %gw.config().sid, "send failed: {e}");
                }
                let _ = ev_tx.send(SimEvent::Sent {
                    to: t.to,
                    payload: t.payload,
                });
            }
            while let Some(e) = gw.poll_event() {
                tracing::debug!(gateway = %gw.config().sid, event = ?e, "sim");
                let _ = ev_tx.send(e);
            }
        }
    });
    Ok(GatewayHandle {
        control: ctl_tx,
        command_addr,
        miio_addr,
        sid,
        events: Some(ev_rx),
    })
}

/// The sockets a gateway owns at its current address.
struct Sockets {
    cmd: UdpSocket,
    send: UdpSocket,
    miio: UdpSocket,
}

impl Sockets {
    fn bind(
        ip: Ipv4Addr,
        cmd_port: u16,
        miio_port: u16,
        interface: Ipv4Addr,
    ) -> io::Result<Sockets> {
        let udp = |port| -> io::Result<UdpSocket> {
            let s = std::net::UdpSocket::bind(SocketAddrV4::new(ip, port))?;
            s.set_nonblocking(true)?;
            UdpSocket::from_std(s)
        };
        Ok(Sockets {
            cmd: udp(cmd_port)?,
            miio: udp(miio_port)?,
            send: multicast_sender(SocketAddrV4::new(ip, 0), interface)?,
        })
    }
}

/// A running scenario: its gateways, its miIO devices, and the task playing its timeline.
#[derive(Debug)]
pub struct RunningScenario {
    /// One handle per gateway, in scenario order.
    pub gateways: Vec<GatewayHandle>,
    /// One handle per stand-alone miIO device, in scenario order.
    pub miio_devices: Vec<crate::miio::MiioDeviceHandle<crate::miio::SimPlug>>,
    player: Option<tokio::task::JoinHandle<()>>,
}

impl RunningScenario {
    /// Stops the timeline and every gateway.
    pub async fn stop(mut self) {
        if let Some(p) = self.player.take() {
            p.abort();
        }
        for g in self.gateways.drain(..) {
            g.stop().await;
        }
        for d in self.miio_devices.drain(..) {
            d.stop().await;
        }
    }
}

/// Starts every gateway of `scenario` and plays its timeline from now. Failures of single
/// steps are logged with the step, and the timeline goes on.
pub async fn run_scenario(scenario: Scenario, net: NetConfig) -> io::Result<RunningScenario> {
    let mut gateways = Vec::new();
    let mut controls = Vec::new();
    for g in &scenario.gateways {
        let h = spawn_gateway(g.config.clone(), g.devices.clone(), net).await?;
        if let Some(every) = g.random_events {
            h.send(Control::RandomEvents(every))
                .await
                .map_err(|_| io::Error::other("gateway stopped"))?;
        }
        controls.push((h.sid.clone(), h.control.clone()));
        gateways.push(h);
    }
    let mut miio_devices = Vec::new();
    for m in &scenario.miio_devices {
        let now = tokio::time::Instant::now().into_std();
        let dev = crate::miio::SimMiioDevice::plug(m.model, &m.token, m.device_id, m.ip, now);
        let addr = SocketAddr::V4(SocketAddrV4::new(m.ip, net.miio_port));
        miio_devices.push(crate::miio::spawn_miio_device(addr, dev).await?);
    }
    let start = tokio::time::Instant::now();
    let player = tokio::spawn(async move {
        for (i, step) in scenario.steps.iter().enumerate() {
            tokio::time::sleep_until(start + step.at).await;
            let Some(target) = scenario.target(step) else {
                continue;
            };
            let Some((_, ctl)) = controls.iter().find(|(s, _)| *s == target) else {
                continue;
            };
            let c = match &step.action {
                Action::Set { sid, values } => {
                    let (tx, rx) = oneshot::channel();
                    let _ = ctl
                        .send(Control::Stimulate(sid.clone(), values.clone(), tx))
                        .await;
                    if let Ok(Err(e)) = rx.await {
                        tracing::warn!("scenario step {}: {e}", i + 1);
                    }
                    continue;
                }
                Action::Reboot(d) => Control::Reboot(*d),
                Action::Silent(d) => {
                    let _ = ctl.send(Control::Online(false)).await;
                    let ctl = ctl.clone();
                    let d = *d;
                    tokio::spawn(async move {
                        tokio::time::sleep(d).await;
                        let _ = ctl.send(Control::Online(true)).await;
                    });
                    continue;
                }
                Action::Online => Control::Online(true),
                Action::IpChange(ip) => Control::SetIp(*ip),
                Action::TokenChange => Control::RotateToken,
                Action::Password(p) => Control::Password(p.clone()),
            };
            let _ = ctl.send(c).await;
        }
    });
    Ok(RunningScenario {
        gateways,
        miio_devices,
        player: Some(player),
    })
}
