//! MiioGateway against the simulated gateway over loopback UDP (127.0.0.2, 127.0.0.3; OS-chosen
//! ports), and against an in-memory caller for what the simulator cannot do (an unset LAN
//! key, a gateway without `device_list`).

mod support;

use std::net::Ipv4Addr;
use std::sync::Mutex;

use lumi_client::miio::MiioRpc;
use lumi_client::miio::gateway::{GatewayError, GatewayIdentity, MiioGateway, device_error};
use lumi_proto::key::{GatewayPassword, WriteKey};
use lumi_proto::lan::Token;
use lumi_proto::miio::gateway::{GatewayProtoError, Light, Rgb};
use lumi_proto::miio::{DeviceError, DeviceId};
use serde_json::{Map, Value, json};
use support::{PASSWORD, WAIT, miio_gateway, sid, spawn_sim};
use tokio::net::UdpSocket;

const BUTTON: &str = "158d0001a2b3c4";
const CUBE: &str = "158d000cccccc1";
const PLUG: &str = "158d00015879f9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_list_properties_light_sound_pairing() {
    let sim = spawn_sim(
        Ipv4Addr::new(127, 0, 0, 2),
        1,
        &[
            (BUTTON, "sensor_switch.aq2"),
            (CUBE, "cube"),
            (PLUG, "plug"),
        ],
    )
    .await;
    let gw = miio_gateway(&sim).await;
    assert_eq!(gw.identity().device_id, DeviceId(support::GW_DID));

    let devices = gw.devices().await.unwrap();
    let found: Vec<_> = devices
        .iter()
        .map(|d| (d.sid.as_str().to_owned(), d.type_id, d.model, d.online))
        .collect();
    assert_eq!(
        found,
        vec![
            (BUTTON.into(), 51, Some("lumi.sensor_switch.aq2"), true),
            (CUBE.into(), 8, Some("lumi.sensor_cube.v1"), true),
            (PLUG.into(), 11, Some("lumi.plug"), true),
        ]
    );
    assert_eq!(gw.model().await.unwrap(), "lumi.gateway.v3");

    // Properties: a write through set_device_prop reaches the device and reads back.
    gw.set_prop(&sid(PLUG), "status", json!("on"))
        .await
        .unwrap();
    let voltage = sim
        .inspect(|g| g.device(&support::sid(PLUG)).unwrap().voltage)
        .await
        .unwrap();
    assert_eq!(
        gw.get_prop(&sid(PLUG), &["status", "voltage", "nope"])
            .await
            .unwrap(),
        vec![json!("on"), json!(voltage), Value::Null]
    );
    let state = sim
        .inspect(|g| {
            g.device(&support::sid(PLUG))
                .unwrap()
                .state
                .get_str("status")
                .map(|s| s.into_owned())
        })
        .await
        .unwrap();
    assert_eq!(state.as_deref(), Some("on"));

    // The light, set and read back; the simulator's own state agrees.
    gw.set_light(Rgb::new(255, 0, 0), 50).await.unwrap();
    let light = gw.light().await.unwrap();
    assert_eq!((light.rgb(), light.brightness()), (Rgb::new(255, 0, 0), 50));
    assert_eq!(
        sim.inspect(|g| g.own_state().rgb).await.unwrap(),
        855_572_480
    );
    gw.light_off().await.unwrap();
    assert_eq!(gw.light().await.unwrap(), Light::OFF);
    // Refused before anything is sent.
    let e = gw.set_light(Rgb::new(1, 2, 3), 101).await.unwrap_err();
    assert!(
        matches!(
            e,
            GatewayError::Invalid {
                source: GatewayProtoError::Brightness { value: 101 },
                ..
            }
        ),
        "{e}"
    );

    // Sound.
    gw.play_sound(21, 30).await.unwrap();
    let s = sim.inspect(|g| g.own_state()).await.unwrap();
    assert_eq!((s.playing, s.volume), (Some(21), 30));
    gw.stop_sound().await.unwrap();
    assert_eq!(sim.inspect(|g| g.own_state().playing).await.unwrap(), None);

    // Pairing and unpairing.
    gw.join_permission(30).await.unwrap();
    assert!(
        sim.inspect(|g| g.own_state().join_permission)
            .await
            .unwrap()
    );
    gw.join_permission(0).await.unwrap();
    assert!(
        !sim.inspect(|g| g.own_state().join_permission)
            .await
            .unwrap()
    );
    gw.remove_device(&sid(PLUG)).await.unwrap();
    assert_eq!(gw.devices().await.unwrap().len(), 2);

    // A refused call names the gateway and the method, and keeps the device error.
    let e = gw
        .set_prop(&sid(PLUG), "status", json!("on"))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("set_device_prop") && text.contains(&sim.miio_addr.to_string()),
        "{text}"
    );
    let GatewayError::Call { source, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(device_error(source).unwrap().code, -5001);
    sim.stop().await;
}

/// `get_id_list` on the LAN command port: the gateway's current token.
async fn lan_token(sock: &UdpSocket, to: std::net::SocketAddr) -> Token {
    sock.send_to(br#"{"cmd":"get_id_list"}"#, to).await.unwrap();
    let reply = lan_reply(sock).await;
    Token::new(reply["token"].as_str().unwrap())
}

async fn lan_reply(sock: &UdpSocket) -> Value {
    let mut buf = [0u8; 2048];
    let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("a lan reply")
        .unwrap();
    serde_json::from_slice(&buf[..n]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lan_key_read_set_then_lan_writes_need_the_new_key() {
    let sim = spawn_sim(Ipv4Addr::new(127, 0, 0, 3), 1, &[(PLUG, "plug")]).await;
    let gw = miio_gateway(&sim).await;

    let old: GatewayPassword = PASSWORD.parse().unwrap();
    assert_eq!(gw.lan_key().await.unwrap(), Some(old.clone()));
    let enabled = gw.enable_lan_api().await.unwrap();
    assert_eq!((enabled.key, enabled.generated), (old.clone(), false));

    let new = lumi_client::miio::gateway::generate_lan_key().unwrap();
    gw.set_lan_key(&new).await.unwrap();
    assert_eq!(gw.lan_key().await.unwrap(), Some(new.clone()));

    // A LAN write keyed with the old password is refused, with the new one obeyed.
    let lan = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let write = |password: &GatewayPassword, token: &Token| {
        let key = WriteKey::derive(password, token).unwrap();
        format!(
            r#"{{"cmd":"write","sid":"{PLUG}","data":{{"status":"on","key":"{}"}}}}"#,
            key.to_hex()
        )
    };
    let token = lan_token(&lan, sim.command_addr).await;
    lan.send_to(write(&old, &token).as_bytes(), sim.command_addr)
        .await
        .unwrap();
    let refused = lan_reply(&lan).await;
    assert_eq!(refused["data"], r#"{"error":"Invalid key"}"#, "{refused}");
    let token = lan_token(&lan, sim.command_addr).await;
    lan.send_to(write(&new, &token).as_bytes(), sim.command_addr)
        .await
        .unwrap();
    let accepted = lan_reply(&lan).await;
    assert_eq!(accepted["cmd"], "write_ack", "{accepted}");
    assert!(
        !accepted["data"].as_str().unwrap().contains("error"),
        "{accepted}"
    );
    let state = sim
        .inspect(|g| {
            g.device(&support::sid(PLUG))
                .unwrap()
                .state
                .get_str("status")
                .map(|s| s.into_owned())
        })
        .await
        .unwrap();
    assert_eq!(state.as_deref(), Some("on"));
    sim.stop().await;
}

// --- an in-memory gateway -------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
enum FakeError {
    #[error("device answered with an error")]
    Device(#[source] DeviceError),
    #[error("no reply")]
    Timeout,
}

type Answer = Box<dyn Fn(&str, &Value) -> Result<Value, FakeError> + Send + Sync>;

/// Answers calls with a function and records them.
struct FakeRpc {
    answer: Answer,
    calls: Mutex<Vec<(String, Value)>>,
}

impl MiioRpc for FakeRpc {
    type Error = FakeError;

    async fn call(
        &self,
        method: &str,
        params: Value,
        _extra: Option<Map<String, Value>>,
    ) -> Result<Value, FakeError> {
        self.calls
            .lock()
            .unwrap()
            .push((method.to_owned(), params.clone()));
        (self.answer)(method, &params)
    }
}

fn fake(
    answer: impl Fn(&str, &Value) -> Result<Value, FakeError> + Send + Sync + 'static,
) -> MiioGateway<FakeRpc> {
    MiioGateway::new(
        FakeRpc {
            answer: Box::new(answer),
            calls: Mutex::new(Vec::new()),
        },
        GatewayIdentity {
            addr: "127.0.0.4:54321".parse().unwrap(),
            token: support::GW_TOKEN.parse().unwrap(),
            device_id: DeviceId(1),
        },
    )
}

#[tokio::test]
async fn enable_lan_api_generates_and_sets_a_key_when_none_is_set() {
    let set = std::sync::Arc::new(Mutex::new(None::<String>));
    let seen = set.clone();
    let gw = fake(move |method, params| match method {
        "get_lumi_dpf_aes_key" => Ok(json!([seen.lock().unwrap().clone().unwrap_or_default()])),
        "set_lumi_dpf_aes_key" => {
            *seen.lock().unwrap() = params[0].as_str().map(str::to_owned);
            Ok(json!(["ok"]))
        }
        _ => Err(FakeError::Timeout),
    });
    assert_eq!(gw.lan_key().await.unwrap(), None);
    let enabled = gw.enable_lan_api().await.unwrap();
    assert!(enabled.generated);
    assert_eq!(set.lock().unwrap().as_deref(), Some(enabled.key.expose()));
    // Now set: read back, not generated again.
    let again = gw.enable_lan_api().await.unwrap();
    assert_eq!((again.key, again.generated), (enabled.key.clone(), false));
    // The key never shows in Debug.
    assert!(!format!("{enabled:?}").contains(enabled.key.expose()));
}

#[tokio::test]
async fn a_gateway_without_device_list_is_named_with_what_to_use() {
    let gw = fake(|method, _| match method {
        "get_device_prop" => Err(FakeError::Device(DeviceError::new(
            -10000,
            "Method not found.",
        ))),
        "miIO.info" => Ok(json!({"model": "lumi.gateway.mgl03", "fw_ver": "1.4.6_0012"})),
        _ => Err(FakeError::Timeout),
    });
    let e = gw.devices().await.unwrap_err();
    let GatewayError::DeviceListUnsupported {
        model, hint, why, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(model, "lumi.gateway.mgl03");
    assert!(hint.contains("get_device_list"), "{hint}");
    assert!(why.contains("-10000"), "{why}");
    let text = e.to_string();
    assert!(
        text.starts_with(
            "gateway 127.0.0.4:54321 (lumi.gateway.mgl03) does not answer device_list"
        ),
        "{text}"
    );

    // A timeout is not the model's fault: reported as the failed call.
    let gw = fake(|_, _| Err(FakeError::Timeout));
    let e = gw.devices().await.unwrap_err();
    assert!(
        matches!(
            e,
            GatewayError::Call {
                method: "get_device_prop",
                ..
            }
        ),
        "{e:?}"
    );

    // An answer that is no list, from a gateway whose info fails too.
    let gw = fake(|method, _| match method {
        "get_device_prop" => Ok(json!({"weird": true})),
        _ => Err(FakeError::Timeout),
    });
    let e = gw.devices().await.unwrap_err();
    let GatewayError::DeviceListUnsupported { model, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(model, "unknown model");

    // Odd records are skipped, the rest is used.
    let gw = fake(|_, _| {
        Ok(json!([
            "lumi.0",
            0,
            1,
            0,
            0,
            7,
            1,
            1,
            0,
            1,
            "lumi.158d0001a2b3c4",
            51,
            1,
            0,
            3
        ]))
    });
    let list = gw.devices().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].fw_ver, Some(3));
}

#[tokio::test]
async fn commands_that_do_not_get_ok_are_errors() {
    let gw = fake(|_, _| Ok(json!(["error"])));
    let e = gw.stop_sound().await.unwrap_err();
    assert!(
        matches!(
            e,
            GatewayError::Reply {
                method: "set_sound_playing",
                ..
            }
        ),
        "{e:?}"
    );
    let e = gw.lan_key().await.unwrap_err();
    assert!(e.to_string().contains("get_lumi_dpf_aes_key"), "{e}");
}
