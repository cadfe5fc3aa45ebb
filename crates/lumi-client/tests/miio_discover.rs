//! miIO discovery by unicast hello to simulated devices on loopback (never broadcast), with
//! tokio's clock paused.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use lumi_client::miio::{DiscoverOptions, discover};
use lumi_proto::miio::{DeviceId, HelloToken, MiioToken};
use lumi_sim::miio::{PlugModel, SimMiioDevice, spawn_miio_device};

#[tokio::test(start_paused = true)]
async fn hello_replies_give_ids_stamps_and_revealed_tokens() {
    let provisioned: MiioToken = "9c3b2d1da5beceee2808a3d3653b485d".parse().unwrap();
    let fresh = MiioToken::from_bytes(*b"3VAx73HL6aZxVYBc");
    let boot = tokio::time::Instant::now().into_std();
    let a = SimMiioDevice::plug(
        PlugModel::M1,
        &provisioned,
        DeviceId(42),
        [127, 0, 0, 3].into(),
        boot,
    );
    let mut b = SimMiioDevice::plug(
        PlugModel::V3,
        &fresh,
        DeviceId(43),
        [127, 0, 0, 4].into(),
        boot,
    );
    b.server_mut().set_provisioned(false);
    let a = spawn_miio_device("127.0.0.3:0".parse().unwrap(), a)
        .await
        .unwrap();
    let b = spawn_miio_device("127.0.0.4:0".parse().unwrap(), b)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(553)).await;
    // A third target where nothing answers.
    let silent = std::net::UdpSocket::bind("127.0.0.5:0").unwrap();
    let opts = DiscoverOptions {
        bind: Some(Ipv4Addr::LOCALHOST.into()),
        ..DiscoverOptions::unicast(
            vec![b.addr, a.addr, silent.local_addr().unwrap()],
            Duration::from_secs(3),
        )
    };
    let started = tokio::time::Instant::now();
    let found = discover(&opts).await.unwrap();
    // The silent target keeps discovery listening until the deadline.
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(found.len(), 2, "{found:?}");
    let (fa, fb) = (&found[0], &found[1]);
    assert_eq!(
        (fa.addr, fa.device_id, fa.stamp),
        (a.addr, DeviceId(42), 553)
    );
    assert_eq!(fa.token, HelloToken::HiddenOnes);
    assert_eq!(fa.revealed_token(), None);
    assert_eq!((fb.addr, fb.device_id), (b.addr, DeviceId(43)));
    assert_eq!(fb.revealed_token(), Some(fresh));
    assert!(
        !format!("{found:?}").contains("3VAx"),
        "tokens are redacted in Debug"
    );

    // Only answering targets: done as soon as they all answered.
    let started = tokio::time::Instant::now();
    let only: Vec<SocketAddr> = vec![a.addr];
    let found = discover(&DiscoverOptions::unicast(only, Duration::from_secs(3)))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(started.elapsed() < Duration::from_millis(100));
}
