//! PushServer against the simulated gateway over loopback UDP: the gateway on 127.0.0.5–7
//! (miIO on an OS-chosen port), the push server on 127.0.0.1 (OS-chosen port, which the
//! simulated gateway is told as its push port). No sleeps: every wait is on a socket or a
//! channel, with a deadline.

mod support;

use std::net::{Ipv4Addr, SocketAddr};

use lumi_client::miio::push::{PushConfig, PushEvent, PushEvents, PushServer, PushServerError};
use lumi_proto::catalogue::TypedValue;
use lumi_proto::lan::Props;
use lumi_proto::miio::push::{self, FAKE_DEVICE_ID, PushError};
use lumi_proto::miio::{
    Cipher, DeviceId, HELLO, HelloReply, HelloToken, MiioToken, RpcReply, RpcRequest,
};
use lumi_sim::gateway::{Destination, SimEvent};
use serde_json::json;
use support::{GW_DID, GW_TOKEN, WAIT, miio_gateway, sid, spawn_sim};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedReceiver;

const BUTTON: &str = "158d0001a2b3c4";
const CUBE: &str = "158d000cccccc1";

fn token() -> MiioToken {
    GW_TOKEN.parse().unwrap()
}

async fn server() -> (PushServer, PushEvents) {
    PushServer::bind(PushConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..PushConfig::default()
    })
    .await
    .unwrap()
}

async fn next_event(events: &mut PushEvents) -> PushEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("the server runs")
}

/// The next datagram the simulated gateway sent to `port` (the push server's).
async fn next_push_sent(sim_events: &mut UnboundedReceiver<SimEvent>, port: u16) -> Vec<u8> {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(SimEvent::Sent {
                to: Destination::Miio { to },
                payload,
            }) = sim_events.recv().await
                && to.port() == port
            {
                return payload;
            }
        }
    })
    .await
    .expect("the gateway pushed")
}

async fn recv(sock: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("an answer in time")
        .unwrap();
    buf.truncate(n);
    buf
}

/// Re-sends a captured push from another socket on the gateway's IP, as a gateway re-send
/// looks to the server: it must be acked again (checked) and not delivered again.
async fn replay_is_acked_not_delivered(
    gateway_ip: Ipv4Addr,
    server: SocketAddr,
    push: &[u8],
    events: &mut PushEvents,
) {
    let original = Cipher::new(&token()).open(push).unwrap();
    let id = RpcRequest::decode(&original.payload).unwrap().id;
    let sock = UdpSocket::bind((gateway_ip, 0)).await.unwrap();
    sock.send_to(push, server).await.unwrap();
    let ack = Cipher::new(&token()).open(&recv(&sock).await).unwrap();
    assert_eq!(
        ack.device_id(),
        FAKE_DEVICE_ID,
        "ack header did = the fake device"
    );
    assert_eq!(
        RpcReply::decode(&ack.payload).unwrap(),
        RpcReply::result(id, json!(0))
    );
    // The server queues an event before it acks: nothing queued means none delivered.
    assert!(
        events.try_recv().is_none(),
        "a re-send is not delivered twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribed_cube_rotation_and_double_click_arrive_once_each() {
    let ip = Ipv4Addr::new(127, 0, 0, 5);
    let (server, mut events) = server().await;
    let port = server.local_addr().port();
    let mut sim = spawn_sim(ip, port, &[(CUBE, "cube"), (BUTTON, "sensor_switch.aq2")]).await;
    let mut sim_events = sim.events().unwrap();
    let gw = miio_gateway(&sim).await;

    let rotate = server
        .subscribe(&gw, &sid(CUBE), "cube", "rotate")
        .await
        .unwrap();
    let double = server
        .subscribe(&gw, &sid(BUTTON), "lumi.sensor_switch.aq2", "d_click_ch0")
        .await
        .unwrap();
    assert_eq!(
        rotate.scene_id,
        push::scene_id(
            FAKE_DEVICE_ID,
            DeviceId(GW_DID),
            "lumi.158d000cccccc1",
            "rotate"
        )
    );
    assert_eq!(
        (rotate.model, rotate.action),
        ("lumi.sensor_cube.v1", "rotate")
    );
    let scenes = sim.inspect(|g| g.miio_scenes().to_vec()).await.unwrap();
    assert_eq!(scenes.len(), 2);
    assert_eq!(scenes[0].id, rotate.scene_id.as_str());
    assert_eq!(scenes[0].trigger_extra, "[1,12,3,85,[1,0],0,0]");
    assert_eq!(scenes[0].trigger_key, "event.lumi.sensor_cube.v1.rotate");
    assert_eq!(scenes[1].id, double.scene_id.as_str());
    assert_eq!(scenes[1].trigger_extra, "[1,13,1,85,[0,2],0,0]");
    for s in &scenes {
        let t = &s.targets[0];
        assert_eq!(t.ip, Ipv4Addr::LOCALHOST, "the server's own ip");
        assert_eq!(
            (t.did.as_str(), t.model.as_str()),
            ("120009025", "chuangmi.plug.v3")
        );
        assert!(t.token_is_gateways, "token_enc of the gateway token");
    }
    assert_eq!(
        scenes[0].targets[0].extra,
        "[1,19,7,1006,[42,[6066005667474548,12,3,85,0]],0,0]"
    );

    // A rotation: the event with its angle and duration.
    let values = vec![
        ("action".to_owned(), TypedValue::Text("rotate_right".into())),
        ("angle".to_owned(), TypedValue::Float(90.0)),
        ("duration".to_owned(), TypedValue::Int(500)),
    ];
    sim.stimulate(sid(CUBE), values).await.unwrap().unwrap();
    let e = next_event(&mut events).await;
    assert_eq!(
        (e.gateway, e.sid.as_str(), e.action.as_str(), &e.params),
        (sim.miio_addr, CUBE, "rotate", &json!([90, 500]))
    );
    let sent = next_push_sent(&mut sim_events, port).await;
    replay_is_acked_not_delivered(ip, server.local_addr(), &sent, &mut events).await;

    // A double click.
    let double_click = vec![("action".to_owned(), TypedValue::Text("double".into()))];
    sim.stimulate(sid(BUTTON), double_click)
        .await
        .unwrap()
        .unwrap();
    let e = next_event(&mut events).await;
    assert_eq!(
        (e.sid.as_str(), e.action.as_str(), &e.params),
        (BUTTON, "d_click_ch0", &json!([]))
    );
    let sent = next_push_sent(&mut sim_events, port).await;
    replay_is_acked_not_delivered(ip, server.local_addr(), &sent, &mut events).await;

    // The server acked the gateway's own sends too, before the replays' acks: a call on the
    // gateway's miIO socket after them finds nothing left to re-send.
    gw.light().await.unwrap();
    assert_eq!(sim.inspect(|g| g.miio_pending_pushes()).await.unwrap(), 0);

    // A single click is not subscribed: the gateway pushes nothing.
    let single = vec![("action".to_owned(), TypedValue::Text("single".into()))];
    sim.stimulate(sid(BUTTON), single).await.unwrap().unwrap();
    assert_eq!(sim.inspect(|g| g.miio_pending_pushes()).await.unwrap(), 0);

    let stats = server.stats().await.unwrap();
    assert_eq!(stats.events, 2);
    assert!(stats.duplicates >= 2, "{stats:?}");
    assert_eq!((stats.unknown_sender, stats.bad_packet), (0, 0));
    assert!(events.try_recv().is_none());

    assert_eq!(server.unsubscribe_all().await.unwrap(), 2);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scene_ids_are_reused_across_restarts_and_unsubscribe_removes_them() {
    let (first, _events) = server().await;
    let mut sim = spawn_sim(
        Ipv4Addr::new(127, 0, 0, 6),
        first.local_addr().port(),
        &[(CUBE, "cube"), (BUTTON, "sensor_switch.aq2")],
    )
    .await;
    let mut sim_events = sim.events().unwrap();
    let gw = miio_gateway(&sim).await;

    let a = first
        .subscribe(&gw, &sid(BUTTON), "sensor_switch.aq2", "click_ch0")
        .await
        .unwrap();
    let b = first
        .subscribe(&gw, &sid(BUTTON), "sensor_switch.aq2", "click_ch0")
        .await
        .unwrap();
    assert_eq!(a.scene_id, b.scene_id, "same inputs, same scene id");
    assert_eq!(sim.inspect(|g| g.miio_scenes().len()).await.unwrap(), 1);
    // Each subscribe deleted the id before adding it.
    let mut methods = Vec::new();
    while let Ok(e) = sim_events.try_recv() {
        if let SimEvent::MiioRequest { method, .. } = e {
            methods.push(method);
        }
    }
    let scene_calls: Vec<&str> = methods
        .iter()
        .map(String::as_str)
        .filter(|m| *m != "miIO.info")
        .collect();
    assert_eq!(
        scene_calls,
        vec![
            "miIO.xdel",
            "send_data_frame",
            "miIO.xdel",
            "send_data_frame"
        ]
    );

    // The process "crashes" (no unsubscribe); the next one subscribes the same thing and
    // replaces the scene instead of adding a second one.
    drop(first);
    let (second, _events2) = server().await;
    let c = second
        .subscribe(&gw, &sid(BUTTON), "sensor_switch.aq2", "click_ch0")
        .await
        .unwrap();
    assert_eq!(c.scene_id, a.scene_id);
    assert_eq!(sim.inspect(|g| g.miio_scenes().len()).await.unwrap(), 1);
    second
        .subscribe(&gw, &sid(CUBE), "cube", "flip90")
        .await
        .unwrap();
    assert_eq!(sim.inspect(|g| g.miio_scenes().len()).await.unwrap(), 2);

    // Unsubscribe removes every scene this server registered; a click then pushes nothing.
    assert_eq!(second.unsubscribe_all().await.unwrap(), 2);
    assert!(sim.inspect(|g| g.miio_scenes().is_empty()).await.unwrap());
    sim.report(sid(BUTTON), Props::new().with("status", "click"))
        .await
        .unwrap();
    assert_eq!(sim.inspect(|g| g.miio_pending_pushes()).await.unwrap(), 0);
    assert_eq!(second.unsubscribe_all().await.unwrap(), 0, "nothing left");

    // Subscribing to what the table does not have fails before any call, and says why.
    let e = second
        .subscribe(&gw, &sid(BUTTON), "sensor_switch.aq2", "shake")
        .await
        .unwrap_err();
    assert!(
        matches!(e, PushServerError::Event(PushError::UnknownAction { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("click_ch0"), "{e}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_from_unregistered_addresses_and_garbage_are_dropped_and_counted() {
    let ip = Ipv4Addr::new(127, 0, 0, 7);
    let (server, mut events) = server().await;
    let sim = spawn_sim(
        ip,
        server.local_addr().port(),
        &[(BUTTON, "sensor_switch.aq2")],
    )
    .await;
    let gw = miio_gateway(&sim).await;
    server
        .subscribe(&gw, &sid(BUTTON), "sensor_switch.aq2", "click_ch0")
        .await
        .unwrap();

    // A perfectly sealed push, but from an address that is no registered gateway.
    let push = Cipher::new(&token())
        .seal(
            DeviceId(GW_DID),
            1,
            &RpcRequest::new(123_456_789, "click_ch0:lumi_158d0001a2b3c4", json!([])).encode(),
        )
        .unwrap();
    let stranger = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 9), 0))
        .await
        .unwrap();
    stranger.send_to(&push, server.local_addr()).await.unwrap();
    stranger.send_to(&HELLO, server.local_addr()).await.unwrap();

    // Garbage from the gateway's address, then a hello from it: once the hello is answered,
    // everything sent before it has been handled (one socket, in order).
    let from_gateway = UdpSocket::bind((ip, 0)).await.unwrap();
    from_gateway
        .send_to(b"\x21\x31garbage", server.local_addr())
        .await
        .unwrap();
    let mut tampered = push.clone();
    if let Some(b) = tampered.last_mut() {
        *b ^= 1;
    }
    from_gateway
        .send_to(&tampered, server.local_addr())
        .await
        .unwrap();
    from_gateway
        .send_to(&HELLO, server.local_addr())
        .await
        .unwrap();
    let hello = HelloReply::parse(&recv(&from_gateway).await).unwrap();
    assert_eq!(hello.device_id, FAKE_DEVICE_ID);
    assert_eq!(
        hello.token,
        HelloToken::HiddenZeros,
        "no token in the hello reply"
    );

    let mut buf = [0u8; 64];
    assert!(
        stranger.try_recv_from(&mut buf).is_err(),
        "the stranger got no answer at all"
    );
    assert!(events.try_recv().is_none(), "nothing delivered");
    let stats = server.stats().await.unwrap();
    assert_eq!(stats.unknown_sender, 2, "{stats:?}");
    assert_eq!(stats.bad_packet, 2, "{stats:?}");
    assert_eq!((stats.hellos, stats.events), (1, 0), "{stats:?}");

    server.unsubscribe_all().await.unwrap();
    sim.stop().await;
}

#[tokio::test]
async fn binding_a_busy_port_is_a_clear_error() {
    let (a, _e) = server().await;
    let e = PushServer::bind(PushConfig {
        bind: a.local_addr(),
        ..PushConfig::default()
    })
    .await
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot bind the push server to {}",
            a.local_addr()
        )),
        "{text}"
    );
}
