//! The gateway client over real sockets on loopback against simulated gateways: registry,
//! typed events, writes, token rotation, passwords, liveness, IP changes.

mod lan_support;

use std::net::Ipv4Addr;
use std::time::Duration;

use lan_support::*;
use lumi_client::gateway::{
    Client, ClientError, CurtainCommand, Event, Passwords, RegistryStatus, SwitchAction,
};
use lumi_proto::catalogue::{self, DeviceKind, PowerSource, Rgb, TypedValue};
use lumi_proto::lan::{Props, Sid};
use lumi_sim::gateway::SimEvent;

#[tokio::test]
async fn the_registry_has_every_simulated_device_with_typed_state() {
    let h = house().await;
    let (client, mut events) = Client::start_subscribed(h.config()).unwrap();
    client.ready().await.unwrap();
    let gws = client.gateways().await.unwrap();
    assert_eq!(gws.len(), 2);
    for g in &gws {
        assert_eq!(g.registry, RegistryStatus::Ready, "{g:?}");
        assert!(g.has_password);
        // The gateway read itself: model, version, light state.
        assert!(g.model.is_some() && g.version.is_some(), "{g:?}");
        assert!(g.state.get("proto_version").is_some(), "{g:?}");
        if g.model.as_deref() == Some("gateway") {
            assert_eq!(g.state.get("light"), Some(&TypedValue::text("off")));
        }
    }
    let devices = client.devices().await.unwrap();
    assert_eq!(devices.len(), h.device_count());
    for spec in &h.specs {
        for d in &spec.devices {
            let info = devices
                .iter()
                .find(|i| i.sid == d.sid)
                .unwrap_or_else(|| panic!("{} ({}) missing", d.sid, d.model));
            assert_eq!(info.gateway, spec.config.sid);
            assert_eq!(info.model.as_deref(), Some(d.model.as_str()));
            let entry = catalogue::lookup(&d.model).unwrap();
            assert_eq!(info.kind, Some(entry.kind));
            // (A v2-only model behind a v1 gateway has nothing to say in v1.)
            let speaks = entry
                .properties
                .iter()
                .any(|p| !p.sources(spec.config.version).is_empty());
            assert!(
                !speaks || !info.state.readings.is_empty(),
                "{} ({}) has no typed state: {:?}",
                d.sid,
                d.model,
                info.state
            );
            assert!(info.available);
            if entry.power == PowerSource::Battery {
                assert_eq!(info.battery, Some(41), "{} 3005 mV", d.model);
            }
        }
    }
    let value = |kind, property: &str| {
        let (_, sid, _) = h.find(kind);
        devices
            .iter()
            .find(|i| i.sid == sid)
            .and_then(|i| i.state.get(property).cloned())
    };
    assert_eq!(
        value(DeviceKind::DoorWindow, "contact"),
        Some(TypedValue::Bool(true))
    );
    assert_eq!(
        value(DeviceKind::Climate, "temperature"),
        Some(TypedValue::Float(21.5))
    );
    assert_eq!(
        value(DeviceKind::Plug, "state"),
        Some(TypedValue::text("off"))
    );
    // Both lists were announced as loaded.
    for _ in 0..2 {
        expect(&mut events, 5, "devices_loaded", |e| match e {
            Event::DevicesLoaded { unread: 0, .. } => Some(()),
            _ => None,
        })
        .await;
    }
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn a_door_opening_arrives_as_a_typed_event_and_updates_the_registry() {
    let h = house().await;
    let client = Client::start(h.config()).unwrap();
    client.ready().await.unwrap();
    let mut events = client.subscribe();
    let (g, door, model) = h.find(DeviceKind::DoorWindow);
    h.gateways[g]
        .stimulate(
            door.clone(),
            vec![("contact".into(), TypedValue::Bool(false))],
        )
        .await
        .unwrap()
        .unwrap();
    let (gateway, m, state, props) = expect(&mut events, 10, "the door report", |e| match e {
        Event::Report {
            gateway,
            sid,
            model,
            state,
            props,
        } if *sid == door => Some((gateway.clone(), model.clone(), state.clone(), props.clone())),
        _ => None,
    })
    .await;
    assert_eq!(gateway, h.gateways[g].sid);
    assert_eq!(m.as_deref(), Some(model.as_str()));
    assert_eq!(state.get("contact"), Some(&TypedValue::Bool(false)));
    assert_eq!(
        props.get_str("status").as_deref(),
        Some("open"),
        "{props:?}"
    );
    // JSON lines carry the typed and the raw form.
    let json = serde_json::to_value(Event::Report {
        gateway,
        sid: door.clone(),
        model: m,
        state,
        props,
    })
    .unwrap();
    assert_eq!(json["event"], "report");
    assert_eq!(json["state"]["values"]["contact"], false);
    assert_eq!(json["props"]["status"], "open");
    let info = client.device(&door).await.unwrap().unwrap();
    assert_eq!(info.state.get("contact"), Some(&TypedValue::Bool(false)));
    assert!(info.last_seen.is_some());
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn set_and_write_a_plug_and_see_the_report() {
    let h = house().await;
    let client = Client::start(h.config()).unwrap();
    client.ready().await.unwrap();
    let mut events = client.subscribe();
    let (g, plug, _) = h.find(DeviceKind::Plug);
    let before = client
        .set(&plug, "state", TypedValue::text("on"))
        .await
        .unwrap();
    // The ack shows the state before the write …
    assert_eq!(before.state.get("state"), Some(&TypedValue::text("off")));
    // … and the result comes as a report.
    expect(&mut events, 10, "the plug's report", |e| match e {
        Event::Report { sid, state, .. } if *sid == plug => {
            (state.get("state") == Some(&TypedValue::text("on"))).then_some(())
        }
        _ => None,
    })
    .await;
    assert_eq!(
        plug_state(&h.gateways[g], &plug).await,
        Some(TypedValue::text("on"))
    );
    // Raw write, in the gateway's own keys.
    let raw_key = if h.specs[g].config.version == lumi_proto::lan::ProtoVersion::V1 {
        "status"
    } else {
        "channel_0"
    };
    client
        .write(&plug, Props::new().with(raw_key, "off"))
        .await
        .unwrap();
    assert_eq!(
        plug_state(&h.gateways[g], &plug).await,
        Some(TypedValue::text("off"))
    );
    // Toggle reads the registry's current state.
    client.switch(&plug, 0, SwitchAction::Toggle).await.unwrap();
    assert_eq!(
        plug_state(&h.gateways[g], &plug).await,
        Some(TypedValue::text("on"))
    );
    client.shutdown().await;
    h.stop().await;
}

/// The plug's typed `state` inside the simulator.
async fn plug_state(g: &lumi_sim::rt::GatewayHandle, plug: &Sid) -> Option<TypedValue> {
    let plug = plug.clone();
    g.inspect(move |gw| {
        let d = gw.device(&plug).unwrap();
        catalogue::decode(&d.model, d.version, &d.state)
            .get("state")
            .cloned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn gateway_helpers_light_sound_pairing_and_curtain() {
    let h = house().await;
    let client = Client::start(h.config()).unwrap();
    client.ready().await.unwrap();
    for (i, gw) in h.gateways.iter().enumerate() {
        if h.specs[i].config.version != lumi_proto::lan::ProtoVersion::V1 {
            continue; // acpartner.v3 has no light ring
        }
        client
            .light(&gw.sid, Rgb { r: 255, g: 0, b: 0 }, 100)
            .await
            .unwrap();
        client
            .play_sound(&gw.sid, "doorbell", Some(30))
            .await
            .unwrap();
        client.pairing(&gw.sid, true).await.unwrap();
        let own = gw.inspect(|g| g.own_state()).await.unwrap();
        assert_eq!(own.rgb, 0x64FF_0000);
        assert_eq!((own.playing, own.volume), (Some(10), 30));
        assert!(own.join_permission);
        client.stop_sound(&gw.sid).await.unwrap();
        client.light_off(&gw.sid).await.unwrap();
        let own = gw.inspect(|g| g.own_state()).await.unwrap();
        assert_eq!((own.rgb, own.playing), (0, None));
    }
    let (g, curtain, _) = h.find(DeviceKind::Curtain);
    client
        .curtain(&curtain, CurtainCommand::Level(40))
        .await
        .unwrap();
    let level = h.gateways[g]
        .inspect(move |gw| {
            let d = gw.device(&curtain).unwrap();
            catalogue::decode(&d.model, d.version, &d.state)
                .get("level")
                .cloned()
        })
        .await
        .unwrap();
    assert_eq!(level, Some(TypedValue::Int(40)));
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn token_rotation_between_writes_is_invisible() {
    let mut h = house().await;
    let client = Client::start(h.config()).unwrap();
    client.ready().await.unwrap();
    let (g, plug, _) = h.find(DeviceKind::Plug);
    let mut sim_events = h.gateways[g].events().unwrap();
    for i in 0..12 {
        // 0, 1 or 2 rotations the client does not hear about (no heartbeat in between):
        // the gateway accepts the previous token, so 2 rotations force one "Invalid key",
        // a token refresh and a retry.
        for _ in 0..(i % 3) {
            h.gateways[g].rotate_token().await.unwrap();
        }
        let on = if i % 2 == 0 { "on" } else { "off" };
        client
            .set(&plug, "state", TypedValue::text(on))
            .await
            .unwrap_or_else(|e| panic!("write {i}: {e}"));
    }
    let (mut refused, mut applied) = (0, 0);
    while let Ok(e) = sim_events.try_recv() {
        match e {
            SimEvent::WriteRefused { .. } => refused += 1,
            SimEvent::WriteApplied { .. } => applied += 1,
            _ => {}
        }
    }
    assert_eq!(applied, 12);
    assert!(
        refused >= 1,
        "two rotations must have stale-keyed at least one write"
    );
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn each_gateway_uses_its_own_password() {
    let h = house_with(2, |i, c| {
        if i == 1 {
            c.password = pw(PASSWORD2);
        }
    })
    .await;
    let mut cfg = h.config();
    cfg.passwords = Passwords::new()
        .with_default(pw(PASSWORD))
        .with_sid(h.gateways[1].sid.clone(), pw(PASSWORD2));
    let client = Client::start(cfg).unwrap();
    client.ready().await.unwrap();
    for gw in &h.gateways {
        client.pairing(&gw.sid, true).await.unwrap();
    }
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn a_wrong_password_gives_the_clear_invalid_key_error() {
    let h = house().await;
    let mut cfg = h.config();
    cfg.passwords = Passwords::new().with_default(pw(PASSWORD2));
    let client = Client::start(cfg).unwrap();
    client.ready().await.unwrap();
    let (_, plug, _) = h.find(DeviceKind::Plug);
    let e = client
        .set(&plug, "state", TypedValue::text("on"))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::InvalidKey { .. }), "{e:?}");
    let msg = e.to_string();
    for needle in [
        "Invalid key",
        "password",
        "interface",
        "multicast",
        plug.as_str(),
    ] {
        assert!(msg.contains(needle), "{needle:?} missing: {msg}");
    }
    assert!(!msg.contains(PASSWORD2), "password leaked: {msg}");

    // No password at all: refused before anything is sent, saying how to give one.
    let mut cfg = h.config();
    cfg.passwords = Passwords::new();
    let client2 = Client::start(cfg).unwrap();
    client2.ready().await.unwrap();
    let e = client2
        .set(&plug, "state", TypedValue::text("on"))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::NoPassword { .. }), "{e:?}");
    assert!(e.to_string().contains("--password"), "{e}");
    client.shutdown().await;
    client2.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn unknown_devices_and_bad_values_are_named() {
    let h = house().await;
    let client = Client::start(h.config()).unwrap();
    // Asked before discovery settles: it waits, then says the sid is unknown.
    let ghost = Sid::new("158d00000000ff").unwrap();
    let e = client.read(&ghost).await.unwrap_err();
    assert!(matches!(e, ClientError::UnknownDevice { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("158d00000000ff") && msg.contains("lumi devices"),
        "{msg}"
    );

    let (_, door, _) = h.find(DeviceKind::DoorWindow);
    let e = client
        .set(&door, "contact", TypedValue::Bool(true))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("contact") && e.contains("read-only") && e.contains("writable"),
        "{e}"
    );
    let (_, plug, _) = h.find(DeviceKind::Plug);
    let e = client
        .set(&plug, "colour", TypedValue::text("red"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"colour\"") && e.contains("writable: state"),
        "{e}"
    );
    let e = client
        .switch(&plug, 3, SwitchAction::On)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("no channel 3"), "{e}");
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_silent_gateway_goes_offline_after_65_s_and_comes_back() {
    let h = house_with(1, |_, _| {}).await;
    let (client, mut events) = Client::start_subscribed(h.config()).unwrap();
    let sid = h.gateways[0].sid.clone();
    expect(&mut events, 30, "gateway_online", |e| match e {
        Event::GatewayOnline { gateway } if *gateway == sid => Some(()),
        _ => None,
    })
    .await;
    client.ready().await.unwrap();
    h.gateways[0].set_online(false).await.unwrap();
    let silenced = tokio::time::Instant::now();
    let silent_for = expect(&mut events, 300, "gateway_offline", |e| match e {
        Event::GatewayOffline {
            gateway,
            silent_for,
        } if *gateway == sid => Some(*silent_for),
        Event::GatewayOnline { .. } => panic!("online while silent"),
        _ => None,
    })
    .await;
    let waited = silenced.elapsed();
    assert!(silent_for >= Duration::from_secs(65), "{silent_for:?}");
    // The last heartbeat came at most 10 s before the gateway went silent.
    assert!(
        waited >= Duration::from_secs(55) && waited <= Duration::from_secs(66),
        "{waited:?}"
    );
    assert!(!client.gateways().await.unwrap()[0].online);
    h.gateways[0].set_online(true).await.unwrap();
    expect(&mut events, 30, "gateway_online again", |e| match e {
        Event::GatewayOnline { gateway } if *gateway == sid => Some(()),
        _ => None,
    })
    .await;
    assert!(client.gateways().await.unwrap()[0].online);
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn a_gateway_ip_change_is_followed_with_its_requests() {
    let h = house_with(1, |_, c| c.heartbeat = Duration::from_millis(300)).await;
    let mut cfg = h.config();
    cfg.request_timeout = Duration::from_secs(9);
    let (client, mut events) = Client::start_subscribed(cfg).unwrap();
    client.ready().await.unwrap();
    let gw = &h.gateways[0];
    let device = h.specs[0].devices[0].sid.clone();
    let new_ip = Ipv4Addr::new(127, 0, 0, 4);
    gw.set_ip(new_ip).await.unwrap();
    // Sent to the old address, answered at the new one after the move.
    let read = tokio::spawn({
        let client = client.clone();
        let device = device.clone();
        async move { client.read(&device).await }
    });
    let (from, to) = expect(&mut events, 15, "gateway_moved", |e| match e {
        Event::GatewayMoved { gateway, from, to } if *gateway == gw.sid => Some((*from, *to)),
        _ => None,
    })
    .await;
    assert_eq!(from, gw.command_addr);
    assert_eq!(to.ip(), std::net::IpAddr::V4(new_ip));
    assert_eq!(read.await.unwrap().unwrap().sid, device);
    assert_eq!(client.gateways().await.unwrap()[0].addr, to);
    // And writes work there.
    let (plug, _) = h.find_on(0, DeviceKind::Plug).unwrap();
    client
        .set(&plug, "state", TypedValue::text("on"))
        .await
        .unwrap();
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn shutdown_waits_and_later_calls_fail_cleanly() {
    let h = house().await;
    let client = Client::start(h.config()).unwrap();
    let other = client.clone();
    let mut events = other.subscribe();
    client.ready().await.unwrap();
    client.shutdown().await;
    assert!(matches!(other.devices().await, Err(ClientError::Closed)));
    // Subscribers drain what is left, then see the end (the driver, the only strong
    // sender, is gone).
    while events.recv().await != Err(lumi_client::gateway::EventsError::Closed) {}
    // A new client on the same ports starts from scratch.
    let again = Client::start(h.config()).unwrap();
    again.ready().await.unwrap();
    assert_eq!(again.devices().await.unwrap().len(), h.device_count());
    again.shutdown().await;
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn silent_devices_become_unavailable_by_kind_and_come_back() {
    let h = house_with(1, |_, _| {}).await;
    let client = Client::start(h.config()).unwrap();
    client.ready().await.unwrap();
    let mut events = client.subscribe();
    let (plug, _) = h.find_on(0, DeviceKind::Plug).unwrap();
    let (door, _) = h.find_on(0, DeviceKind::DoorWindow).unwrap();
    let start = tokio::time::Instant::now();
    h.gateways[0].set_online(false).await.unwrap();
    // Mains: 25 min of silence (the plug heartbeats every 10 min).
    let silent = expect(&mut events, 3 * 3600, "the plug unavailable", |e| match e {
        Event::DeviceAvailability {
            sid,
            available: false,
            silent_for,
            ..
        } if *sid == plug => Some(*silent_for),
        Event::DeviceAvailability {
            sid,
            available: false,
            ..
        } if *sid == door => {
            panic!("a battery device went first")
        }
        _ => None,
    })
    .await;
    assert!(silent >= Duration::from_secs(25 * 60), "{silent:?}");
    assert!(
        start.elapsed() <= Duration::from_secs(26 * 60),
        "{:?}",
        start.elapsed()
    );
    // Battery: 2 h.
    let silent = expect(&mut events, 3 * 3600, "the door unavailable", |e| match e {
        Event::DeviceAvailability {
            sid,
            available: false,
            silent_for,
            ..
        } if *sid == door => Some(*silent_for),
        _ => None,
    })
    .await;
    assert!(silent >= Duration::from_secs(2 * 3600), "{silent:?}");
    assert!(!client.device(&door).await.unwrap().unwrap().available);
    // Back: the plug's next heartbeat (within 10 min) makes it available again.
    h.gateways[0].set_online(true).await.unwrap();
    expect(&mut events, 3600, "the plug available again", |e| match e {
        Event::DeviceAvailability {
            sid,
            available: true,
            ..
        } if *sid == plug => Some(()),
        _ => None,
    })
    .await;
    assert!(client.device(&plug).await.unwrap().unwrap().available);
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn garbage_is_counted_and_reported_at_a_limited_rate() {
    let h = house().await;
    let (client, mut events) = Client::start_subscribed(h.config()).unwrap();
    client.ready().await.unwrap();
    let stranger = lumi_sim::rt::multicast_sender(
        std::net::SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 9), 0),
        Ipv4Addr::LOCALHOST,
    )
    .unwrap();
    let group = (h.net.group, h.net.report_port);
    let mut bad: Vec<Vec<u8>> = vec![
        b"\xff\xfe not json".to_vec(),
        br#"{"cmd":"report","sid":"158d0001a2b3c4","data":"{\"status\":"#.to_vec(),
        br#"{"cmd":"report","model":"magnet","sid":"158d0001a2b3c4","data":"{\"status\":\"open\"}"}"#.to_vec(),
    ];
    bad.extend((0..97).map(|i| vec![b'{'; i]));
    for d in &bad {
        stranger.send_to(d, group).await.unwrap();
    }
    // The first drop is announced at once, the rest only counted.
    let first = expect(&mut events, 5, "a dropped event", |e| match e {
        Event::Dropped { from, total, .. } => Some((*from, *total)),
        _ => None,
    })
    .await;
    assert_eq!(
        first.0.ip(),
        std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9))
    );
    assert_eq!(first.1, 1);
    // Everything was counted (a stats query is answered after the datagrams queued before it).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = client.stats().await.unwrap();
        let dropped = s.dropped_foreign + s.dropped_undecodable;
        if dropped >= 100 {
            assert!(
                s.dropped_undecodable >= 99 && s.dropped_foreign >= 1,
                "{s:?}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {dropped} counted: {s:?}"
        );
        tokio::task::yield_now().await;
    }
    let mut announced = 0;
    while let Ok(Some(e)) = events.try_recv() {
        if matches!(e, Event::Dropped { .. }) {
            announced += 1;
        }
    }
    assert!(
        announced <= 1,
        "{announced} dropped events for 100 datagrams within a second"
    );
    // The client still works.
    let (_, door, _) = h.find(DeviceKind::DoorWindow);
    client.read(&door).await.unwrap();
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn requests_go_out_as_soon_as_a_gateway_lists_the_sid() {
    let h = house().await;
    let mut cfg = h.config();
    cfg.discovery_window = Duration::from_secs(10);
    let client = Client::start(cfg).unwrap();
    let (_, door, _) = h.find(DeviceKind::DoorWindow);
    let start = tokio::time::Instant::now();
    // Issued before any gateway is known: deferred, then sent when the device list names it,
    // not when the 10 s discovery window closes.
    let r = client.read(&door).await.unwrap();
    assert_eq!(r.sid, door);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    client.shutdown().await;
    h.stop().await;
}

/// With backpressure and a small event channel, a burst of reports arrives complete and in
/// order while the subscriber reads nothing: the driver takes the reports already waiting in
/// batches, never more than the room its channel keeps free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_into_a_small_event_channel_with_backpressure_loses_nothing() {
    const N: u64 = 400;
    let h = house_of_plugs(1).await;
    let mut cfg = h.config();
    cfg.event_capacity = 16;
    cfg.backpressure = true;
    let client = Client::start(cfg).unwrap();
    client.ready().await.unwrap();
    let plug = h.specs[0].devices[0].sid.clone();
    let mut events = client.subscribe();
    for i in 0..N {
        let mut p = Props::new();
        p.push("load_power", i.to_string());
        h.gateways[0].report(plug.clone(), p).await.unwrap();
    }
    let mut next = 0;
    while next < N {
        let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap_or_else(|_| panic!("report {next} of {N} in time"))
            .unwrap_or_else(|e| panic!("after report {next}: {e}"));
        if let Event::Report { sid, props, .. } = &e
            && *sid == plug
        {
            assert_eq!(
                props.get_str("load_power").as_deref(),
                Some(&*next.to_string())
            );
            next += 1;
        }
    }
    client.shutdown().await;
    h.stop().await;
}
