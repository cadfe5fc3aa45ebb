//! `MiioDevice` over real UDP sockets on loopback against simulated miIO devices
//! (`lumi_sim::miio::spawn_miio_device`, the simulated gateway's miIO side), with tokio's
//! clock paused: retries and timeouts take virtual seconds.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use lumi_client::miio::{MiioDevice, MiioError, MiioOptions, MiioRpc};
use lumi_proto::lan::{ProtoVersion, Sid};
use lumi_proto::miio::{DeviceId, MiioToken};
use lumi_proto::session::miio::CallError;
use lumi_sim::device::SubDevice;
use lumi_sim::gateway::GatewayConfig;
use lumi_sim::miio::{MiioDeviceHandle, PlugModel, SimMiioDevice, SimPlug, spawn_miio_device};
use lumi_sim::rt::{NetConfig, spawn_gateway};
use lumi_sim::testkit::free_udp_port;
use serde_json::{Map, Value, json};

const TOKEN: &str = "9c3b2d1da5beceee2808a3d3653b485d";

fn token() -> MiioToken {
    TOKEN.parse().unwrap()
}

fn opts() -> MiioOptions {
    MiioOptions {
        bind: Some(Ipv4Addr::LOCALHOST.into()),
        ..MiioOptions::default()
    }
}

async fn plug(ip: [u8; 4], model: PlugModel, did: u32) -> MiioDeviceHandle<SimPlug> {
    let now = tokio::time::Instant::now().into_std();
    let dev = SimMiioDevice::plug(model, &token(), DeviceId(did), ip.into(), now);
    spawn_miio_device(SocketAddr::from((ip, 0)), dev)
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn connect_info_and_calls_change_the_device() {
    let sim = plug([127, 0, 0, 3], PlugModel::M1, 42).await;
    let dev = MiioDevice::connect(sim.addr, token(), opts())
        .await
        .unwrap();
    assert_eq!(dev.device_id(), DeviceId(42));
    assert_eq!(dev.peer(), sim.addr);

    let started = tokio::time::Instant::now();
    let info = dev.info().await.unwrap();
    assert_eq!(info.model, "chuangmi.plug.m1");
    assert_eq!(info.fw_ver.as_deref(), Some("1.2.4_16"));
    assert_eq!(info.hw_ver.as_deref(), Some("MW300"));
    assert_eq!(info.ip.as_deref(), Some("127.0.0.3"));
    assert_eq!(info.mac.as_ref().map(String::len), Some(17));
    assert_eq!(info.token, None, "the simulator's info token is all zeros");

    assert_eq!(
        dev.call("get_prop", json!(["power"])).await.unwrap(),
        json!(["off"])
    );
    assert_eq!(
        dev.call("set_power", json!(["on"])).await.unwrap(),
        json!(["ok"])
    );
    // Answered at once: no attempt timed out, the paused clock never moved.
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert!(sim.inspect(|d| d.backend().power).await.unwrap());
    assert_eq!(
        dev.call("get_prop", json!(["power", "temperature", "nope"]))
            .await
            .unwrap(),
        json!(["on", 38, null])
    );
}

#[tokio::test(start_paused = true)]
async fn device_errors_are_typed_and_name_the_device() {
    let sim = plug([127, 0, 0, 3], PlugModel::M1, 42).await;
    let dev = MiioDevice::connect(sim.addr, token(), opts())
        .await
        .unwrap();
    let err = dev.call("fly", json!([])).await.unwrap_err();
    assert_eq!(err.device_error().map(|e| e.code), Some(-10000));
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("fly on miio device at {}", sim.addr)),
        "{msg}"
    );
    assert!(msg.contains("does not support the method"), "{msg}");
    let err = dev.call("set_power", json!(["maybe"])).await.unwrap_err();
    assert_eq!(err.device_error().map(|e| e.code), Some(-5001));
    // The device still works after errors.
    assert_eq!(
        dev.call("set_power", json!(["on"])).await.unwrap(),
        json!(["ok"])
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_calls_from_clones_each_get_their_own_answer() {
    let sim = plug([127, 0, 0, 4], PlugModel::V3, 7).await;
    let dev = MiioDevice::connect(sim.addr, token(), opts())
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40u32 {
        let d = dev.clone();
        tasks.spawn(async move {
            let (method, params, want) = match i % 4 {
                0 => ("get_prop", json!(["temperature"]), json!([38])),
                1 => (
                    "get_prop",
                    json!(["wifi_led", "temperature"]),
                    json!(["on", 38]),
                ),
                2 => ("set_usb_on", json!([]), json!(["ok"])),
                _ => ("miIO.info", json!([]), Value::Null),
            };
            let got = d.call(method, params).await.unwrap();
            if want.is_null() {
                assert_eq!(got["model"], "chuangmi.plug.v3", "call {i}");
            } else {
                assert_eq!(got, want, "call {i}");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    assert!(sim.inspect(|d| d.backend().usb).await.unwrap());
}

/// Through the `MiioRpc` trait, with extra top-level members, against the simulated
/// gateway's miIO side.
#[tokio::test(start_paused = true)]
async fn miio_rpc_against_the_simulated_gateway() {
    async fn device_list<R: MiioRpc>(r: &R) -> Result<Value, R::Error> {
        r.call("get_device_prop", json!(["lumi.0", "device_list"]), None)
            .await
    }
    let gw_sid = Sid::new("7811dcb06972").unwrap();
    let plug_sid = Sid::new("158d00015879f9").unwrap();
    let mut cfg = GatewayConfig::new(
        gw_sid,
        Ipv4Addr::new(127, 0, 0, 5),
        ProtoVersion::V1,
        "0987654321qwerty".parse().unwrap(),
    );
    cfg.command_port = 0;
    let gw_token = cfg.miio_token;
    let devices =
        vec![SubDevice::from_catalogue(plug_sid.clone(), "plug", ProtoVersion::V1).unwrap()];
    let net = NetConfig {
        discovery_port: free_udp_port(),
        report_port: free_udp_port(),
        miio_port: 0,
        ..NetConfig::default()
    };
    let gw = spawn_gateway(cfg, devices, net).await.unwrap();
    let dev = MiioDevice::connect(gw.miio_addr, gw_token, opts())
        .await
        .unwrap();
    assert_eq!(dev.device_id(), DeviceId(63_217_102));
    let list = device_list(&dev).await.unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(
        list[..5],
        [json!("lumi.0"), json!(0), json!(1), json!(0), json!(0)]
    );
    assert!(list.contains(&json!("lumi.158d00015879f9")), "{list:?}");
    // A sub-device command with "sid" as a top-level member.
    let mut extra = Map::new();
    extra.insert("sid".into(), json!("lumi.158d00015879f9"));
    let ok = MiioRpc::call(&dev, "toggle_plug", json!(["channel_0", "on"]), Some(extra))
        .await
        .unwrap();
    assert_eq!(ok, json!(["ok"]));
    let status = dev
        .call("get_device_prop", json!(["lumi.158d00015879f9", "status"]))
        .await
        .unwrap();
    assert_eq!(status, json!(["on"]));
    gw.stop().await;
}

#[tokio::test(start_paused = true)]
async fn wrong_token_times_out_with_a_token_hint() {
    let sim = plug([127, 0, 0, 3], PlugModel::M1, 42).await;
    let wrong = MiioToken::from_bytes([0x42; 16]);
    // The hello works: the token is not checked there.
    let dev = MiioDevice::connect(sim.addr, wrong, opts()).await.unwrap();
    let started = tokio::time::Instant::now();
    let err = dev.call("set_power", json!(["on"])).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(err.is_timeout(), "{err}");
    assert!(
        matches!(
            &err,
            MiioError::Call(CallError::Timeout {
                attempts: 3,
                answered_hello: true,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(6) && elapsed < Duration::from_secs(7),
        "{elapsed:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("check the token"), "{msg}");
    assert!(!msg.contains("42424242") && !format!("{err:?}").contains("42424242"));
    assert!(!sim.inspect(|d| d.backend().power).await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn nothing_listening_fails_the_handshake_with_an_address_hint() {
    // A socket that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.6:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let started = tokio::time::Instant::now();
    let err = MiioDevice::connect(
        addr,
        token(),
        opts().with_total_timeout(Duration::from_secs(3)),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            MiioError::Call(CallError::Timeout {
                attempts: 3,
                answered_hello: false,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "hello to miio device at {addr}: no reply after 3 attempts"
        )),
        "{msg}"
    );
    assert!(msg.contains("check the address"), "{msg}");
}

#[tokio::test(start_paused = true)]
async fn another_device_at_the_address_is_refused() {
    let sim = plug([127, 0, 0, 3], PlugModel::M1, 42).await;
    let o = MiioOptions {
        device_id: Some(DeviceId(43)),
        ..opts()
    };
    let err = MiioDevice::connect(sim.addr, token(), o).await.unwrap_err();
    assert!(
        matches!(
            &err,
            MiioError::Call(CallError::DeviceIdMismatch {
                expected: DeviceId(43),
                found: DeviceId(42),
                ..
            })
        ),
        "{err:?}"
    );
}

/// A caller that gives up cancels its call: the next call does not wait behind it.
#[tokio::test(start_paused = true)]
async fn an_abandoned_call_does_not_hold_up_the_next() {
    let sim = plug([127, 0, 0, 3], PlugModel::M1, 42).await;
    let addr = sim.addr;
    let dev = MiioDevice::connect(addr, token(), opts()).await.unwrap();
    // The device goes away: this call waits in vain, and its caller gives up after 100 ms.
    sim.stop().await;
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        dev.call("set_power", json!(["on"])),
    );
    assert!(gave_up.await.is_err());
    // The device is back on the same address.
    let now = tokio::time::Instant::now().into_std();
    let fresh = SimMiioDevice::plug(
        PlugModel::M1,
        &token(),
        DeviceId(42),
        [127, 0, 0, 3].into(),
        now,
    );
    let sim = spawn_miio_device(addr, fresh).await.unwrap();
    let started = tokio::time::Instant::now();
    assert_eq!(
        dev.call("get_prop", json!(["power"])).await.unwrap(),
        json!(["off"])
    );
    // Sent at once, not after the abandoned call's 2 s timeout and retry.
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        !sim.inspect(|d| d.backend().power).await.unwrap(),
        "the abandoned call never ran"
    );
}

#[tokio::test(start_paused = true)]
async fn the_driver_stops_when_the_last_handle_is_dropped() {
    let sim = plug([127, 0, 0, 3], PlugModel::M1, 42).await;
    let dev = MiioDevice::connect(sim.addr, token(), opts())
        .await
        .unwrap();
    let local = dev.local_addr();
    let clone = dev.clone();
    drop(dev);
    assert_eq!(
        clone.call("get_prop", json!(["power"])).await.unwrap(),
        json!(["off"])
    );
    drop(clone);
    // The driver task owned the socket: once it has stopped, its port is free again.
    for _ in 0..100 {
        if std::net::UdpSocket::bind(local).is_ok() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the driver still holds {local}");
}
