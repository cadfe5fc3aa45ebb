//! Test scaffolding: a minimal [`MiioRpc`] over one loopback UDP socket, and a simulated
//! gateway on loopback. Not the product's miIO driver: no retries, no re-handshake.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lumi_client::miio::MiioRpc;
use lumi_client::miio::gateway::{GatewayIdentity, MiioGateway};
use lumi_proto::lan::{ProtoVersion, Sid};
use lumi_proto::miio::{
    Cipher, DeviceError, DeviceId, HELLO, HelloReply, MiioToken, PacketError, RpcReply, RpcRequest,
};
use lumi_sim::device::SubDevice;
use lumi_sim::gateway::GatewayConfig;
use lumi_sim::rt::{GatewayHandle, NetConfig, spawn_gateway};
use lumi_sim::testkit::free_udp_port;
use serde_json::{Map, Value};
use tokio::net::UdpSocket;
use tokio::sync::Mutex;

/// How long any single wait in these tests may take before it fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// TOK_GW of the corpus.
pub const GW_TOKEN: &str = "1c1961595b889a1f42af6b16cf9a6b81";
pub const GW_DID: u32 = 63_217_102;
pub const PASSWORD: &str = "0987654321qwerty";

/// Message ids unique across every caller in the process: the simulated gateway silently
/// drops a repeated id, as real devices do.
static NEXT_ID: AtomicU64 = AtomicU64::new(1000);

/// Why a test call failed.
#[derive(Debug, thiserror::Error)]
pub enum TestRpcError {
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("packet: {0}")]
    Packet(#[from] PacketError),
    /// The device answered with an error (kept as the source, as the real driver must).
    #[error("device answered with an error")]
    Device(#[source] DeviceError),
}

struct State {
    socket: UdpSocket,
    stamp: u32,
}

/// One loopback socket, hello once, then sealed requests with increasing stamps and ids.
pub struct TestRpc {
    state: Mutex<State>,
    peer: SocketAddr,
    cipher: Cipher,
    /// From the hello reply.
    pub device_id: DeviceId,
}

impl TestRpc {
    /// Handshakes with `peer` (loopback).
    pub async fn connect(peer: SocketAddr, token: MiioToken) -> TestRpc {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        socket.send_to(&HELLO, peer).await.unwrap();
        let mut buf = [0u8; 64];
        let hello = tokio::time::timeout(WAIT, async {
            loop {
                let (n, from) = socket.recv_from(&mut buf).await.unwrap();
                if from == peer
                    && let Ok(h) = HelloReply::parse(&buf[..n])
                {
                    return h;
                }
            }
        })
        .await
        .expect("hello reply");
        TestRpc {
            state: Mutex::new(State {
                socket,
                stamp: hello.stamp,
            }),
            peer,
            cipher: Cipher::new(&token),
            device_id: hello.device_id,
        }
    }
}

impl MiioRpc for TestRpc {
    type Error = TestRpcError;

    async fn call(
        &self,
        method: &str,
        params: Value,
        extra: Option<Map<String, Value>>,
    ) -> Result<Value, TestRpcError> {
        let mut st = self.state.lock().await;
        st.stamp = st.stamp.wrapping_add(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut request = RpcRequest::new(id, method, params);
        if let Some(extra) = extra {
            request.extra = extra;
        }
        let packet = self
            .cipher
            .seal(self.device_id, st.stamp, &request.encode())?;
        st.socket.send_to(&packet, self.peer).await?;
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut buf = vec![0u8; 65_536];
        loop {
            let (n, from) = tokio::time::timeout_at(deadline, st.socket.recv_from(&mut buf))
                .await
                .map_err(|_| TestRpcError::Timeout(WAIT))??;
            if from != self.peer {
                continue;
            }
            let Ok(opened) = self.cipher.open(&buf[..n]) else {
                continue;
            };
            match RpcReply::decode(&opened.payload) {
                Ok(reply) if reply.id == Some(id) => {
                    return reply.into_result().map_err(TestRpcError::Device);
                }
                _ => continue,
            }
        }
    }
}

pub fn sid(s: &str) -> Sid {
    Sid::new(s).unwrap()
}

/// A v1 simulated gateway on `ip` (miIO on port 0, LAN command port 0, multicast on
/// loopback with free ports) pushing events to `push_port`.
pub async fn spawn_sim(ip: Ipv4Addr, push_port: u16, devices: &[(&str, &str)]) -> GatewayHandle {
    let mut cfg = GatewayConfig::new(
        sid("7811dcb06972"),
        ip,
        ProtoVersion::V1,
        PASSWORD.parse().unwrap(),
    );
    cfg.command_port = 0;
    cfg.miio_token = GW_TOKEN.parse().unwrap();
    cfg.device_id = DeviceId(GW_DID);
    cfg.push_port = push_port;
    let net = NetConfig {
        discovery_port: free_udp_port(),
        report_port: free_udp_port(),
        miio_port: 0,
        ..NetConfig::default()
    };
    let devices = devices
        .iter()
        .map(|(s, m)| SubDevice::from_catalogue(sid(s), m, ProtoVersion::V1).unwrap())
        .collect();
    spawn_gateway(cfg, devices, net).await.unwrap()
}

/// A [`MiioGateway`] for a simulated gateway, through a [`TestRpc`].
pub async fn miio_gateway(sim: &GatewayHandle) -> MiioGateway<TestRpc> {
    let token: MiioToken = GW_TOKEN.parse().unwrap();
    let rpc = TestRpc::connect(sim.miio_addr, token).await;
    let device_id = rpc.device_id;
    MiioGateway::new(
        rpc,
        GatewayIdentity {
            addr: sim.miio_addr,
            token,
            device_id,
        },
    )
}
