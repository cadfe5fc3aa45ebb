//! Discovery over real sockets on loopback: `whois` finds a v1 and a v2 gateway; static
//! gateways are probed by address without multicast; two clients share the report port.

mod lan_support;

use std::time::Duration;

use lan_support::*;
use lumi_client::discovery;
use lumi_client::gateway::{Client, Event, Origin, RegistryStatus, StaticGateway};
use lumi_proto::catalogue::{DeviceKind, TypedValue};
use lumi_proto::lan::ProtoVersion;

#[tokio::test]
async fn whois_finds_a_v1_and_a_v2_gateway() {
    let h = house().await;
    let found = discovery::discover(&h.net, Duration::from_millis(600))
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    for (g, spec) in found.iter().zip(&h.specs) {
        let handle = h.gateways.iter().find(|x| x.sid == g.sid).unwrap();
        assert_eq!(g.addr, handle.command_addr, "iam announces ip:port");
        assert_eq!(g.version, Some(spec.config.version));
        assert_eq!(g.model.as_deref(), Some(spec.config.model.as_str()));
    }
    assert_eq!(found[0].version, Some(ProtoVersion::V1));
    assert_eq!(found[1].version, Some(ProtoVersion::V2));
    h.stop().await;
}

#[tokio::test]
async fn static_gateways_are_probed_by_address_in_either_version() {
    let h = house().await;
    for (handle, spec) in h.gateways.iter().zip(&h.specs) {
        let p = discovery::probe(&h.net, handle.command_addr, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(p.gateway.sid, handle.sid);
        assert_eq!(p.gateway.version, Some(spec.config.version));
        assert_eq!(p.gateway.model.as_deref(), Some(spec.config.model.as_str()));
        assert_eq!(
            p.gateway.proto_version.as_deref(),
            Some(spec.config.proto_version())
        );
        assert!(p.token.is_some());
        assert_eq!(p.devices.len(), spec.devices.len());
    }
    // Nobody at that address: a clear error naming it, after the timeout.
    let nobody = "127.0.0.9:9".parse().unwrap();
    let e = discovery::probe(&h.net, nobody, Duration::from_millis(300))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("127.0.0.9:9") && e.contains("LAN protocol"),
        "{e}"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_static_gateway_works_without_multicast() {
    let h = house().await;
    let v2 = &h.gateways[1];
    let mut cfg = h.config();
    cfg.discover = false;
    cfg.listen = false; // no multicast socket at all: as in Docker without host networking
    cfg.gateways = vec![StaticGateway::new(v2.command_addr)];
    let (client, mut events) = Client::start_subscribed(cfg).unwrap();
    let appeared = expect(&mut events, 10, "gateway_appeared", |e| match e {
        Event::GatewayAppeared {
            gateway,
            origin,
            version,
            ..
        } => Some((gateway.clone(), *origin, *version)),
        _ => None,
    })
    .await;
    assert_eq!(
        appeared,
        (v2.sid.clone(), Origin::Static, Some(ProtoVersion::V2))
    );
    client.ready().await.unwrap();
    let gws = client.gateways().await.unwrap();
    assert_eq!(gws.len(), 1, "only the configured gateway");
    assert_eq!(gws[0].registry, RegistryStatus::Ready);
    assert_eq!(gws[0].devices, h.specs[1].devices.len());
    // Reads and writes work by unicast alone (the token comes from the id list).
    let (switch, _) = [
        DeviceKind::Plug,
        DeviceKind::WallSwitchWired,
        DeviceKind::Relay,
    ]
    .into_iter()
    .find_map(|k| h.find_on(1, k))
    .expect("a switchable device on the v2 gateway");
    client
        .switch(&switch, 0, lumi_client::gateway::SwitchAction::On)
        .await
        .unwrap();
    let applied = v2
        .inspect({
            let s = switch.clone();
            move |g| {
                g.device(&s)
                    .unwrap()
                    .state
                    .get_str("channel_0")
                    .map(|v| v.into_owned())
            }
        })
        .await
        .unwrap();
    assert_eq!(applied.as_deref(), Some("on"));
    let any = &h.specs[1].devices[0].sid;
    assert_eq!(&client.read(any).await.unwrap().sid, any);
    client.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn two_clients_on_one_report_port_both_receive_reports() {
    let h = house().await;
    let (a, mut ea) = Client::start_subscribed(h.config()).unwrap();
    let (b, mut eb) = Client::start_subscribed(h.config()).unwrap();
    a.ready().await.unwrap();
    b.ready().await.unwrap();
    let (g, door, _) = h.find(DeviceKind::DoorWindow);
    h.gateways[g]
        .stimulate(
            door.clone(),
            vec![("contact".into(), TypedValue::Bool(false))],
        )
        .await
        .unwrap()
        .unwrap();
    for events in [&mut ea, &mut eb] {
        let contact = expect(events, 10, "the door report", |e| match e {
            Event::Report { sid, state, .. } if *sid == door => state.get("contact").cloned(),
            _ => None,
        })
        .await;
        assert_eq!(contact, TypedValue::Bool(false));
    }
    a.shutdown().await;
    b.shutdown().await;
    h.stop().await;
}
