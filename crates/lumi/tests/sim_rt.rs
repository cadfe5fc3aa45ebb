//! The simulator's socket adaptor: a gateway that changes its IP address answers from the new
//! one, as a gateway does after a DHCP renewal.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use lumi_proto::lan::{self, Message, ProtoVersion, Sid};
use lumi_sim::gateway::GatewayConfig;
use lumi_sim::rt::{NetConfig, multicast_sender, spawn_gateway};
use lumi_sim::testkit::free_udp_port;

async fn whois(net: &NetConfig) -> (std::net::SocketAddr, lan::Iam) {
    let sock = multicast_sender(
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
        Ipv4Addr::LOCALHOST,
    )
    .unwrap();
    sock.send_to(br#"{"cmd":"whois"}"#, (net.group, net.discovery_port))
        .await
        .unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = tokio::time::timeout(Duration::from_secs(10), sock.recv_from(&mut buf))
        .await
        .expect("an iam within 10 s")
        .unwrap();
    let Message::Iam(iam) = lan::decode(&buf[..n]).unwrap().message else {
        panic!("not an iam")
    };
    (from, iam)
}

#[tokio::test]
async fn ip_change_rebinds_and_announces_the_new_address() {
    let net = NetConfig {
        discovery_port: free_udp_port(),
        report_port: free_udp_port(),
        miio_port: 0,
        ..NetConfig::default()
    };
    let mut cfg = GatewayConfig::new(
        Sid::new("7811dcb06972").unwrap(),
        Ipv4Addr::new(127, 0, 0, 40),
        ProtoVersion::V1,
        "0987654321qwerty".parse().unwrap(),
    );
    cfg.command_port = 0;
    let gw = spawn_gateway(cfg, Vec::new(), net).await.unwrap();
    let (from, iam) = whois(&net).await;
    assert_eq!(from.ip(), Ipv4Addr::new(127, 0, 0, 40));
    assert_eq!(iam.ip, Some(Ipv4Addr::new(127, 0, 0, 40).into()));

    gw.set_ip(Ipv4Addr::new(127, 0, 0, 41)).await.unwrap();
    let (from, iam) = whois(&net).await;
    assert_eq!(from.ip(), Ipv4Addr::new(127, 0, 0, 41));
    assert_eq!(iam.ip, Some(Ipv4Addr::new(127, 0, 0, 41).into()));
    // Commands reach it at the port it announces now.
    let port = iam.port.unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(
        br#"{"cmd":"get_id_list"}"#,
        (Ipv4Addr::new(127, 0, 0, 41), port),
    )
    .await
    .unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = tokio::time::timeout(Duration::from_secs(10), sock.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        lan::decode(&buf[..n]).unwrap().message,
        Message::IdList(_)
    ));
    gw.stop().await;
}
