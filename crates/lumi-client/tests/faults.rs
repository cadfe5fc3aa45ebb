//! Faults a client lives through for months: a gateway rebooting, silent for ten minutes, its
//! token rotating during a burst of writes, its heartbeats lost while its reports still
//! arrive, reports duplicated or out of order, a device reporting an empty model. Simulated
//! gateways on loopback; virtual time where the fault takes minutes.

mod lan_support;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use lan_support::{expect, house_with};
use lumi_client::gateway::{Client, Event};
use lumi_proto::catalogue::{DeviceKind, TypedValue};
use serde_json::json;

/// Sends `datagram` to the report group as if from the gateway at `gateway_ip` (loopback
/// lets a test use any 127.x address as its source).
async fn inject(h: &lan_support::House, gateway_ip: Ipv4Addr, datagram: &str) {
    let tx = lumi_sim::rt::multicast_sender(SocketAddrV4::new(gateway_ip, 0), Ipv4Addr::LOCALHOST)
        .unwrap();
    tx.send_to(
        datagram.as_bytes(),
        SocketAddr::V4(SocketAddrV4::new(h.net.group, h.net.report_port)),
    )
    .await
    .unwrap();
}

fn gateway_ip(h: &lan_support::House, i: usize) -> Ipv4Addr {
    match h.gateways[i].command_addr.ip() {
        std::net::IpAddr::V4(ip) => ip,
        other => panic!("{other}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_gateway_reboot_is_survived_and_writes_work_with_its_new_token() {
    let h = house_with(1, |_, _| {}).await;
    let (client, mut events) = Client::start_subscribed(h.config()).unwrap();
    client.ready().await.unwrap();
    let sid = h.gateways[0].sid.clone();
    let (plug, _) = h.find_on(0, DeviceKind::Plug).unwrap();
    // A long reboot: offline, then back with a new token.
    h.gateways[0].reboot(Duration::from_secs(90)).await.unwrap();
    expect(&mut events, 120, "gateway_offline", |e| match e {
        Event::GatewayOffline { gateway, .. } if *gateway == sid => Some(()),
        _ => None,
    })
    .await;
    expect(&mut events, 120, "gateway_online", |e| match e {
        Event::GatewayOnline { gateway } if *gateway == sid => Some(()),
        _ => None,
    })
    .await;
    client
        .set(&plug, "state", TypedValue::text("on"))
        .await
        .expect("a write with the token of the rebooted gateway");
    // A short one (shorter than the offline timeout): no offline, writes still work.
    h.gateways[0].reboot(Duration::from_secs(15)).await.unwrap();
    let back = tokio::time::Instant::now() + Duration::from_secs(30);
    tokio::time::sleep_until(back).await;
    client
        .set(&plug, "state", TypedValue::text("off"))
        .await
        .expect("a write after a short reboot");
    assert!(client.gateways().await.unwrap()[0].online);
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn ten_silent_minutes_then_back_as_if_nothing_happened() {
    let h = house_with(1, |_, _| {}).await;
    let (client, mut events) = Client::start_subscribed(h.config()).unwrap();
    client.ready().await.unwrap();
    let sid = h.gateways[0].sid.clone();
    h.gateways[0].set_online(false).await.unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(!client.gateways().await.unwrap()[0].online);
    h.gateways[0].set_online(true).await.unwrap();
    expect(&mut events, 30, "gateway_online", |e| match e {
        Event::GatewayOnline { gateway } if *gateway == sid => Some(()),
        _ => None,
    })
    .await;
    // Every device is known and readable again.
    let devices = client.devices().await.unwrap();
    assert_eq!(devices.len(), h.device_count());
    let (plug, _) = h.find_on(0, DeviceKind::Plug).unwrap();
    client.read(&plug).await.unwrap();
    client
        .set(&plug, "state", TypedValue::text("on"))
        .await
        .unwrap();
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn the_token_rotating_during_bursts_of_writes_loses_none() {
    let h = house_with(1, |_, _| {}).await;
    let client = Client::start(h.config()).unwrap();
    client.ready().await.unwrap();
    let (plug, _) = h.find_on(0, DeviceKind::Plug).unwrap();
    // Four bursts of ten concurrent writes, the token rotating once during each (a real
    // gateway rotates it every 10 s; here no heartbeat tells the client in between, so from
    // the third burst on its token is stale and the gateway answers "Invalid key").
    for burst in 0..4 {
        let writes: Vec<_> = (0..10)
            .map(|i| {
                let client = client.clone();
                let plug = plug.clone();
                tokio::spawn(async move {
                    let v = if i % 2 == 0 { "on" } else { "off" };
                    client.set(&plug, "state", TypedValue::text(v)).await
                })
            })
            .collect();
        h.gateways[0].rotate_token().await.unwrap();
        for w in writes {
            w.await.unwrap().unwrap_or_else(|e| {
                panic!("burst {burst}: every write succeeds, retried with a fresh token: {e}")
            });
        }
    }
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn reports_keep_a_gateway_alive_when_its_heartbeats_are_lost() {
    let h = house_with(1, |_, _| {}).await;
    let (client, mut events) = Client::start_subscribed(h.config()).unwrap();
    client.ready().await.unwrap();
    let ip = gateway_ip(&h, 0);
    let (door, _) = h.find_on(0, DeviceKind::DoorWindow).unwrap();
    // The gateway's heartbeats stop (silent), but its reports keep coming, every 20 s.
    h.gateways[0].set_online(false).await.unwrap();
    for i in 0..6 {
        let status = if i % 2 == 0 { "open" } else { "close" };
        let report = json!({"cmd": "report", "model": "magnet", "sid": door.as_str(),
            "short_id": 1, "data": json!({"status": status}).to_string()});
        inject(&h, ip, &report.to_string()).await;
        expect(&mut events, 5, "the report", |e| match e {
            Event::Report { sid, .. } if *sid == door => Some(()),
            Event::GatewayOffline { .. } => panic!("offline while its reports arrive"),
            _ => None,
        })
        .await;
        tokio::time::sleep(Duration::from_secs(20)).await;
    }
    assert!(
        client.gateways().await.unwrap()[0].online,
        "alive: it reports"
    );
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn duplicated_and_reordered_reports_and_an_empty_model_are_taken_in_stride() {
    let h = house_with(1, |_, _| {}).await;
    let (client, mut events) = Client::start_subscribed(h.config()).unwrap();
    client.ready().await.unwrap();
    let ip = gateway_ip(&h, 0);
    let (door, model) = h.find_on(0, DeviceKind::DoorWindow).unwrap();
    let report = |status: &str, model: &str| {
        json!({"cmd": "report", "model": model, "sid": door.as_str(), "short_id": 1,
               "data": json!({"status": status}).to_string()})
        .to_string()
    };
    // The same report twice, then an older one after a newer one: each is delivered as
    // received (reports carry no sequence number), and the last one received is the state.
    for (status, m) in [
        ("open", model.as_str()),
        ("open", model.as_str()),
        ("close", ""),
        ("open", ""),
    ] {
        inject(&h, ip, &report(status, m)).await;
        expect(&mut events, 5, "the report", |e| match e {
            Event::Report { sid, .. } if *sid == door => Some(()),
            _ => None,
        })
        .await;
    }
    let d = client
        .device(&door)
        .await
        .unwrap()
        .expect("the door is known");
    // An empty model does not erase the model the gateway gave before.
    assert_eq!(d.model.as_deref(), Some(model.as_str()));
    assert_eq!(d.state.get("contact"), Some(&TypedValue::Bool(false)));
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn hostile_datagrams_of_every_length_change_nothing() {
    let h = house_with(1, |_, _| {}).await;
    let (client, mut events) = Client::start_subscribed(h.config()).unwrap();
    client.ready().await.unwrap();
    let ip = gateway_ip(&h, 0);
    let group = SocketAddr::V4(SocketAddrV4::new(h.net.group, h.net.report_port));
    let from_gateway =
        lumi_sim::rt::multicast_sender(SocketAddrV4::new(ip, 0), Ipv4Addr::LOCALHOST).unwrap();
    let from_elsewhere = lumi_sim::rt::multicast_sender(
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
        Ipv4Addr::LOCALHOST,
    )
    .unwrap();
    let before = client.stats().await.unwrap();
    // Every length to 1500 (one Ethernet frame), then up to the UDP maximum, each of them
    // invalid UTF-8, JSON-like garbage, deep nesting or huge numbers; from the gateway's own
    // address and from elsewhere.
    let mut lengths: Vec<usize> = (0..=1500).collect();
    lengths.extend([2048, 4096, 8192, 16384, 32768, 65507]);
    let mut sent = 0u64;
    for (i, &n) in lengths.iter().enumerate() {
        let body: Vec<u8> = match i % 4 {
            0 => (0..n).map(|j| (j * 7 + 0x80) as u8).collect(),
            1 => {
                let mut b = b"{\"cmd\":\"report\",\"sid\":".to_vec();
                b.resize(n.max(b.len()), b'9');
                b.truncate(n);
                b
            }
            2 => {
                let mut b = vec![b'['; n / 2];
                b.resize(n, b']');
                b
            }
            _ => {
                let mut b =
                    b"{\"cmd\":\"heartbeat\",\"sid\":\"158d0001c1cdfb\",\"data\":{\"voltage\":"
                        .to_vec();
                b.resize(n.max(b.len()), b'9');
                b.truncate(n);
                b
            }
        };
        let tx = if i % 2 == 0 {
            &from_gateway
        } else {
            &from_elsewhere
        };
        tx.send_to(&body, group).await.unwrap();
        sent += 1;
        // Let the client keep up (the kernel buffer would drop a burst of 64 KiB datagrams).
        if i % 50 == 49 {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while client.stats().await.unwrap().datagrams < before.datagrams + sent {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the client stopped reading"
                );
                tokio::task::yield_now().await;
            }
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let s = client.stats().await.unwrap();
        if s.datagrams >= before.datagrams + sent {
            break s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the client stopped reading"
        );
        tokio::task::yield_now().await;
    };
    // Each one dropped and counted (none taken for a message).
    assert_eq!(after.reports, before.reports);
    let dropped = (after.dropped_undecodable + after.dropped_foreign)
        - (before.dropped_undecodable + before.dropped_foreign);
    assert_eq!(dropped, sent, "every one counted: {after:?}");
    assert!(after.decode_errors.total() > before.decode_errors.total());
    // And the client carries on: a read, and a real event.
    let (door, _) = h.find_on(0, DeviceKind::DoorWindow).unwrap();
    client.read(&door).await.unwrap();
    h.happen(&door, "contact", TypedValue::Bool(false)).await;
    expect(&mut events, 10, "the door's report", |e| match e {
        Event::Report { sid, .. } if *sid == door => Some(()),
        _ => None,
    })
    .await;
    client.shutdown().await;
    h.stop().await;
}
