//! The gateway over miIO (UDP 54321): sub-device list and properties, light, sound, alarm,
//! the LAN key, and push events to fake devices registered with `send_data_frame` scenes.
//!
//! The gateway answers with a [`MiioServer`] holding `GatewayConfig::miio_token` and
//! `GatewayConfig::device_id`; its stamp is the gateway's uptime, its hello reply hides the
//! token (`ff`×16, a provisioned gateway), a wrong token or a repeated id gets silence (see
//! [`MiioServer`]). Methods (python-miio `miio/integrations/lumi/gateway/`, reference §4):
//!
//! | method | params | result |
//! |---|---|---|
//! | `miIO.info` | | model `lumi.gateway.v3` (`lumi.acpartner.v3` for an `acpartner.v3`), fw `1.4.1_175`, hw `MW300`, mac from the sid, `life` = uptime |
//! | `get_device_prop` | `["lumi.0", "device_list"]` | flat list, 5 per device: `[sid, type_id, online, 0, fw_ver, …]`, the gateway first as `"lumi.0", 0, 1, 0, 0` (corpus record 31) |
//! | `get_device_prop` | `["lumi.0", p]` / `["lumi.<sid>", p]` | `[value]`; `null` for an unknown property |
//! | `get_device_prop_exp` | `[["lumi.<sid>", p1, p2…], …]` | `[[v1, v2…], …]` |
//! | `set_device_prop` | `{"sid": "lumi.<sid>", key: value…}` | `["ok"]`; the same write, event and LAN `report` as a LAN `write` |
//! | `toggle_plug`, `toggle_ctrl_neutral` | `["channel_N", "on"\|"off"\|"toggle"]` + top-level `"sid"` | `["ok"]`, via the same write |
//! | `get_battery` | `["lumi.<sid>"]` | `[percent]` |
//! | `remove_device` | `["lumi.<sid>"]` | `["ok"]` |
//! | `get_rgb`, `get_night_light_rgb` | | `[brightness<<24 \| rgb]` |
//! | `set_rgb`, `set_night_light_rgb` | `[int]` | `["ok"]`; a change of the light is reported on the LAN as a LAN write does; the night light has its own memory and also sets the light |
//! | `get_prop` | `["rgb", "illumination", …]` | one value per name (`null` unknown) |
//! | `get_illumination` | | `[illumination]` (raw, as on the LAN) |
//! | `play_music_new` | `["<mid>", volume]` | `["ok"]` (`mid` 10000 stops) |
//! | `set_sound_playing` | `["off"]` | `["ok"]` |
//! | `get_gateway_volume`, `set_gateway_volume` | `[v]` | `[v]`, `["ok"]` (the ringtone volume `vol`) |
//! | `get_arming`, `set_arming` | `["on"\|"off"]` | `["on"\|"off"]`, `["ok"]` |
//! | `get_arm_wait_time`, `set_arm_wait_time`, `get_alarming_volume`, `set_alarming_volume` | `[n]` | `[n]`, `["ok"]` |
//! | `start_zigbee_join` | `[seconds]` (0 stops) | `["ok"]` (pairing flag) |
//! | `get_lumi_dpf_aes_key` | | `["<the 16-character LAN password>"]` |
//! | `set_lumi_dpf_aes_key` | `["<16 characters>"]` | `["ok"]`; LAN writes need keys from the new password from now on |
//! | `send_data_frame` | `{"cur", "data", "data_tkn", "total", "type": "scene"}` | `["ok"]` (scene stored, see below) |
//! | `miIO.xdel` | `["x.scene.N", …]` | `["ok"]` (unknown ids too) |
//! | anything else | | error `-10000` `"Method not found."` (chuangmi.plug.v1's answer) |
//!
//! Bad parameters give `-5001` `"invalid_arg"`.
//!
//! **type_id**: `lumi_proto::miio::gateway::type_id` (python-miio `subdevices.yaml`; the
//! table is shared with the client), −1 for a model it does not know.
//! `online` is always 1 and the 4th item 0; `fw_ver` is 1 unless set with
//! [`SimGateway::set_miio_firmware`].
//!
//! Sub-device properties are the device's raw LAN state; numeric strings (`"2120"`) are
//! given as numbers, as python-miio divides them (`devisor: 100`); `voltage` and `fw_ver`
//! are always there; python-miio's `neutral_N` reads and writes `channel_N` (and a plug's
//! `status` in v1).
//!
//! ## Push events (reference §5)
//!
//! `send_data_frame` stores each scene of its `data` (compact JSON:
//! `[[id, ["1.0", magic, ["0", trigger], [target…]]]]`): the trigger's `did`, `model`, `key`,
//! `extra` and per target `ip`, `did`, `model`, `command` (cut to 49 characters, python-miio
//! warns that longer ones are truncated), `extra`. A fragmented frame (`total` > 1) is
//! collected by `cur` until complete (inferred: no capture of one exists). Re-registering an
//! id replaces the scene.
//!
//! Every sub-device report goes through the catalogue; its event is matched against scenes
//! whose trigger `did` is `lumi.<sid>` and whose `extra` (compared as JSON) is the event's
//! code in the shared event table `lumi_proto::miio::push::PUSH_SOURCES` (python-miio
//! `subdevices.yaml` `push_properties`). The catalogue's actions map to the table's names:
//! button single/double/long → `click_ch0`/`d_click_ch0`/`l_click_ch0` (aq3 long also
//! `l_click_pres`, shake `shake`), wall switch `_left`/`_right`/`_both` → `…_ch0`/`…_ch1`/
//! `both_…`, cube flip90/flip180/slide/tap/shake/rotate → `flip90`/`flip180`/`move`/`taptap`/
//! `shakeair`/`rotate` (params `[angle, ms]`), door open/close → `open`/`close`, motion →
//! `motion`, vibration/tilt/fall → `vibrate`/`tilt`/`free_fall`; an action the model's table
//! entry lacks fires nothing. `no_motion` N s uses `push::no_motion_extra(N)`
//! (`[1,1030,1,8,[4,N],2,0]`; the table has N = 120). The `key` is not compared
//! (python-miio and the app name events differently; which one the real gateway uses is not
//! established).
//!
//! A match sends the target's command without its `"<target model>."` prefix — python-miio's
//! `"click_ch0:lumi_158d0001a2b3c4"` — to `target ip : GatewayConfig::push_port` from the
//! gateway's miIO socket: `{"id": <9 digits>, "method": …, "params": …, "from":
//! "nbl.<9 digits, fixed per gateway>"}`, sealed with the **gateway's** token, header did =
//! gateway did, stamp = gateway uptime. python-miio's PushServer opens it with the registered
//! gateway's token; the target `token` field is not decrypted (whether it is python-miio's
//! `token_enc` of the gateway token is only recorded in
//! [`SceneTarget::token_is_gateways`]). No hello is sent to the fake device first. Until a
//! reply with the same id arrives (any reply: python-miio acks `{"result":0}`), the push is
//! re-sent every [`PUSH_RESEND`], [`PUSH_ATTEMPTS`] sends in all, then dropped.
//!
//! Hostile input is bounded: at most [`MAX_SCENES`] scenes, [`MAX_FRAGMENTS`] fragments per
//! frame, [`MAX_GATEWAY_PROPS`] gateway properties.
//!
//! Not simulated: [`GatewayMiio::reboot`] restarts the uptime, but `SimGateway::reboot` (in
//! the LAN module) does not call it yet; scenes survive reboots; the gateway never pings fake
//! devices.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use lumi_proto::catalogue::{self, DeviceKind, battery_percent};
use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::{Message, Props, ProtoVersion, Sid};
use lumi_proto::miio::gateway::type_id;
use lumi_proto::miio::push;
use lumi_proto::miio::{RpcReply, RpcRequest};
use serde_json::{Value, json};

use super::{Destination, GatewayConfig, SimEvent, SimGateway, Transmit};
use crate::device::SubDevice;
use crate::miio::{MethodError, MethodResult, MiioInfo, MiioServer, Received, mac_from};
use crate::rng::Rng;

/// How long the gateway waits for a fake device's ack before sending a push again.
pub const PUSH_RESEND: Duration = Duration::from_secs(1);

/// How many times a push is sent at most (the first send included).
pub const PUSH_ATTEMPTS: u32 = 5;

/// The longest scene command kept (python-miio: "push server event command can be max 49
/// chars long … will be truncated").
pub use lumi_proto::miio::push::COMMAND_MAX;

/// The `fw_ver` reported for sub-devices unless set.
pub const DEFAULT_SUBDEVICE_FW: u32 = 1;

/// The most scenes the gateway keeps; `send_data_frame` beyond that is refused (`-5001`).
/// Real gateways have a limit too; its value is not known.
pub const MAX_SCENES: usize = 256;

/// The most fragments a `send_data_frame` may announce (`total`).
pub const MAX_FRAGMENTS: u64 = 16;

/// The most properties `set_device_prop` may give the gateway itself (`lumi.0`).
pub const MAX_GATEWAY_PROPS: usize = 64;

/// Where a scene sends its command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneTarget {
    /// `ip`: where the push goes (to port `GatewayConfig::push_port`).
    pub ip: IpAddr,
    /// `did` of the (fake) target device.
    pub did: String,
    /// `model` of the target device (`chuangmi.plug.v3` for python-miio).
    pub model: String,
    /// `command` as registered (at most [`COMMAND_MAX`] characters).
    pub command: String,
    /// `extra` of the target.
    pub extra: String,
    /// Whether the target `token` is python-miio's `token_enc` of the gateway's own token.
    /// The token itself is not kept.
    pub token_is_gateways: bool,
}

impl SceneTarget {
    /// The method the gateway calls: the command without its `"<model>."` prefix.
    pub fn method(&self) -> &str {
        self.command
            .strip_prefix(self.model.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(&self.command)
    }
}

/// A scene registered with `send_data_frame`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scene {
    /// Its id (`x.scene.1000001`).
    pub id: String,
    /// Trigger `did` (`lumi.158d…`).
    pub trigger_did: String,
    /// Trigger `model` (`lumi.sensor_switch.aq2`).
    pub trigger_model: String,
    /// Trigger `key` (`event.lumi.sensor_switch.aq2.click_ch0`).
    pub trigger_key: String,
    /// Trigger `extra`, the event code (`[1,13,1,85,[0,1],0,0]`).
    pub trigger_extra: String,
    /// What to call.
    pub targets: Vec<SceneTarget>,
}

#[derive(Debug, Clone)]
struct Push {
    to: SocketAddr,
    request: RpcRequest,
    sent: u32,
    next: Instant,
}

#[derive(Clone)]
struct Fragments {
    token: Value,
    total: u64,
    parts: Vec<String>,
}

impl std::fmt::Debug for Fragments {
    /// Sizes only: the parts hold the targets' `token` fields.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fragments")
            .field("total", &self.total)
            .field("received", &self.parts.len())
            .finish_non_exhaustive()
    }
}

/// The miIO state of a simulated gateway. `Debug` shows neither the token nor the password.
#[derive(Debug)]
pub struct GatewayMiio {
    server: MiioServer,
    scenes: Vec<Scene>,
    pushes: Vec<Push>,
    fragments: Option<Fragments>,
    rng: Rng,
    from: String,
    night_light: u32,
    arming: bool,
    arm_wait_time: u64,
    alarming_volume: u64,
    props: BTreeMap<String, Value>,
    firmware: Vec<(Sid, u32)>,
}

impl GatewayMiio {
    /// The miIO state of a new gateway booted at `now`.
    pub fn new(cfg: &GatewayConfig, now: Instant) -> GatewayMiio {
        let model = match cfg.model.as_str() {
            "acpartner.v3" => "lumi.acpartner.v3",
            _ => "lumi.gateway.v3",
        };
        let mut info = MiioInfo::new(model, mac_from(cfg.sid.as_str()), cfg.ip);
        info.fw_ver = "1.4.1_175".into();
        info.hw_ver = "MW300".into();
        let server = MiioServer::new(&cfg.miio_token, cfg.device_id, info, now);
        let props = [
            ("tzone_sec", json!(28800)),
            ("alarm_time_len", json!(30)),
            ("en_alarm_light", json!(1)),
            ("used_for_public", json!(0)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut rng = Rng::new(cfg.seed ^ 0x6d69_696f);
        let from = format!("nbl.{}", 100_000_000 + rng.below(900_000_000));
        GatewayMiio {
            server,
            scenes: Vec::new(),
            pushes: Vec::new(),
            fragments: None,
            rng,
            from,
            night_light: 0,
            arming: false,
            arm_wait_time: 5,
            alarming_volume: 80,
            props,
            firmware: Vec::new(),
        }
    }

    /// The gateway rebooted and is back at `at`: the uptime (stamp) restarts, pending pushes
    /// and half-received frames are forgotten; scenes are kept (where real gateways keep them
    /// is not established).
    pub fn reboot(&mut self, at: Instant) {
        self.server.reboot(at);
        self.pushes.clear();
        self.fragments = None;
    }

    fn nine_digits(&mut self) -> u64 {
        100_000_000 + self.rng.below(900_000_000)
    }
}

fn ok() -> MethodResult {
    Ok(json!(["ok"]))
}

fn invalid() -> MethodError {
    MethodError::invalid_arg()
}

/// A number given as a JSON number or a numeric string.
fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// `params[i]` as a number.
fn param_u64(params: &Value, i: usize) -> Result<u64, MethodError> {
    params
        .as_array()
        .and_then(|a| a.get(i))
        .and_then(as_u64)
        .ok_or_else(invalid)
}

/// `params[0]` as a string.
fn param_str(params: &Value) -> Result<&str, MethodError> {
    params
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .ok_or_else(invalid)
}

/// `"lumi.158d…"` → the sid (`None` for `lumi.0`, the gateway, or anything else).
fn subdevice_sid(s: &str) -> Option<Sid> {
    lumi_proto::miio::gateway::parse_node_id(s)
}

/// A raw LAN value as a miIO gateway gives it: numeric strings become numbers.
fn miio_value(v: &Value) -> Value {
    if let Some(s) = v.as_str() {
        let t = s.trim();
        if let Ok(i) = t.parse::<i64>() {
            return Value::from(i);
        }
        if t.contains('.')
            && let Ok(f) = t.parse::<f64>()
            && f.is_finite()
        {
            return Value::from(f);
        }
    }
    v.clone()
}

/// The raw LAN keys a miIO property name may stand for, in order.
fn key_candidates(prop: &str) -> Vec<String> {
    let mut keys = vec![prop.to_owned()];
    if let Some(n) = prop.strip_prefix("neutral_") {
        keys.push(format!("channel_{n}"));
    }
    if matches!(prop, "neutral_0" | "channel_0") {
        keys.push("status".into());
    }
    keys
}

/// A sub-device event as the gateway's scene engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PushEvent {
    /// The event codes (`extra`) a scene trigger may use for it.
    pub extras: Vec<Value>,
    /// The params of the push (`[angle, ms]` for a cube rotation, else `[]`).
    pub params: Value,
}

/// The python-miio action names (`lumi_proto::miio::push` table) of a decoded catalogue
/// action of a device of `kind`.
fn action_names(kind: DeviceKind, action: &str) -> &'static [&'static str] {
    match kind {
        DeviceKind::Button => match action {
            "single" => &["click_ch0"],
            "double" => &["d_click_ch0"],
            // The aq3 has a code of its own for the press besides the long click.
            "long" => &["l_click_ch0", "l_click_pres"],
            "shake" => &["shake"],
            _ => &[],
        },
        DeviceKind::WallSwitchWireless => match action {
            "single" | "single_left" => &["click_ch0"],
            "double" | "double_left" => &["d_click_ch0"],
            "long" | "long_left" => &["l_click_ch0"],
            "single_right" => &["click_ch1"],
            "double_right" => &["d_click_ch1"],
            "long_right" => &["l_click_ch1"],
            "single_both" => &["both_click"],
            "double_both" => &["both_d_click"],
            "long_both" => &["both_l_click"],
            _ => &[],
        },
        DeviceKind::Cube => match action {
            "flip90" => &["flip90"],
            "flip180" => &["flip180"],
            "slide" => &["move"],
            "tap" => &["taptap"],
            "shake" => &["shakeair"],
            "rotate" | "rotate_left" | "rotate_right" => &["rotate"],
            _ => &[],
        },
        DeviceKind::Vibration => match action {
            "vibration" => &["vibrate"],
            "tilt" => &["tilt"],
            "fall" => &["free_fall"],
            _ => &[],
        },
        _ => &[],
    }
}

/// The scene events in a report of `props` from a device of `model` (module docs). The codes
/// come from the one event table, `lumi_proto::miio::push::PUSH_SOURCES`; an action the
/// model's table entry does not have gives nothing.
pub fn push_events(model: &str, version: ProtoVersion, props: &Props) -> Vec<PushEvent> {
    let st = catalogue::decode(model, version, props);
    let Some(device) = st.device else {
        return Vec::new();
    };
    let table = push::push_actions(model);
    let extra_of = |name: &str| {
        table
            .iter()
            .find(|a| a.action == name)
            .map(|a| extra_value(a.extra))
    };
    let event = |extras: Vec<Value>, params: Value| {
        (!extras.is_empty()).then_some(PushEvent { extras, params })
    };
    let action = st.get("action").and_then(|v| v.as_str()).map(str::to_owned);
    let mut out = Vec::new();
    match device.kind {
        DeviceKind::DoorWindow if st.get("no_close_seconds").is_none() => {
            let name = match st.get("contact").and_then(|v| v.as_bool()) {
                Some(false) => "open",
                Some(true) => "close",
                None => "",
            };
            out.extend(event(extra_of(name).into_iter().collect(), json!([])));
        }
        DeviceKind::Motion if !table.is_empty() => {
            if let Some(n) = st.get("no_motion_seconds").and_then(|v| v.as_i64()) {
                // The table has python-miio's 120 s code; the seconds are part of the code.
                let n = u64::try_from(n).unwrap_or(0);
                out.extend(event(
                    vec![extra_value(&push::no_motion_extra(n))],
                    json!([]),
                ));
            } else if st.get("occupancy").and_then(|v| v.as_bool()) == Some(true) {
                out.extend(event(extra_of("motion").into_iter().collect(), json!([])));
            }
        }
        kind => {
            let Some(a) = action.as_deref() else {
                return out;
            };
            let extras: Vec<Value> = action_names(kind, a)
                .iter()
                .filter_map(|n| extra_of(n))
                .collect();
            let params = if kind == DeviceKind::Cube && a.starts_with("rotate") {
                let angle = st.get("angle").and_then(|v| v.as_f64());
                let ms = st.get("duration").and_then(|v| v.as_i64());
                match (angle, ms) {
                    (Some(a), Some(ms)) => json!([a.round() as i64, ms]),
                    _ => json!([]),
                }
            } else {
                json!([])
            };
            out.extend(event(extras, params));
        }
    }
    out
}

/// Parses the `data` of a `send_data_frame` into scenes (the shared codec), keeping what the
/// gateway keeps.
fn parse_scenes(data: &str, token_enc: &str) -> Option<Vec<Scene>> {
    let scenes = push::parse_scene_data(data).ok()?;
    Some(
        scenes
            .into_iter()
            .map(|s| Scene {
                id: s.id.as_str().to_owned(),
                trigger_did: s.trigger.did,
                trigger_model: s.trigger.model,
                trigger_key: s.trigger.key,
                trigger_extra: s.trigger.extra,
                targets: s
                    .targets
                    .into_iter()
                    .map(|t| SceneTarget {
                        ip: t.ip,
                        did: t.did,
                        model: t.model,
                        command: t.command.chars().take(COMMAND_MAX).collect(),
                        extra: t.extra,
                        token_is_gateways: t.token.eq_ignore_ascii_case(token_enc),
                    })
                    .collect(),
            })
            .collect(),
    )
}

/// A trigger `extra` as JSON (spacing-insensitive), or as a string if it is not JSON.
fn extra_value(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned()))
}

impl SimGateway {
    /// The scenes registered over miIO (`send_data_frame`), in registration order.
    pub fn miio_scenes(&self) -> &[Scene] {
        &self.miio.scenes
    }

    /// How many pushes wait for an ack.
    pub fn miio_pending_pushes(&self) -> usize {
        self.miio.pushes.len()
    }

    /// The miIO stamp (uptime seconds) at `now`.
    pub fn miio_stamp(&self, now: Instant) -> u32 {
        self.miio.server.stamp(now)
    }

    /// Sets the `fw_ver` the miIO `device_list` reports for a sub-device.
    pub fn set_miio_firmware(&mut self, sid: &Sid, fw: u32) {
        self.miio.firmware.retain(|(s, _)| s != sid);
        self.miio.firmware.push((sid.clone(), fw));
    }

    /// Provisioned gateways (the default) hide their token in the hello reply; a gateway in
    /// factory state reveals it.
    pub fn set_miio_provisioned(&mut self, provisioned: bool) {
        self.miio.server.set_provisioned(provisioned);
    }

    /// A datagram arrived on the gateway's miIO port.
    pub(super) fn handle_miio(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        self.miio.server.info_mut().ip = self.cfg.ip;
        match self.miio.server.receive(now, bytes) {
            Received::Answer(payload) => self.out.push_back(Transmit {
                to: Destination::Miio { to: from },
                payload,
            }),
            Received::Request(request) => {
                self.events.push_back(SimEvent::MiioRequest {
                    from,
                    method: lumi_proto::sanitize::truncated(&request.method, 60),
                });
                let outcome = match self.miio.server.builtin(now, &request) {
                    Some(o) => o,
                    None => self.miio_call(now, &request),
                };
                if let Some(payload) = self.miio.server.reply(now, request.id, outcome) {
                    self.out.push_back(Transmit {
                        to: Destination::Miio { to: from },
                        payload,
                    });
                }
            }
            Received::Reply(reply) => self.miio_ack(&reply),
            Received::Dropped(why) => self.events.push_back(SimEvent::MiioDropped {
                from,
                reason: format!("{why:?}"),
            }),
        }
    }

    fn miio_ack(&mut self, reply: &RpcReply) {
        if let Some(id) = reply.id {
            self.miio.pushes.retain(|p| p.request.id != id);
        }
    }

    /// Executes a miIO request (everything but `miIO.info`).
    fn miio_call(&mut self, now: Instant, r: &RpcRequest) -> MethodResult {
        let p = &r.params;
        match r.method.as_str() {
            "get_device_prop" => {
                let a = p.as_array().ok_or_else(invalid)?;
                let sid = a.first().and_then(Value::as_str).ok_or_else(invalid)?;
                let prop = a.get(1).and_then(Value::as_str).ok_or_else(invalid)?;
                if sid == "lumi.0" && prop == "device_list" {
                    return Ok(self.miio_device_list());
                }
                Ok(json!([self.miio_prop(sid, prop)?]))
            }
            "get_device_prop_exp" => {
                let lists = p.as_array().ok_or_else(invalid)?;
                let mut out = Vec::new();
                for l in lists {
                    let l = l.as_array().ok_or_else(invalid)?;
                    let sid = l.first().and_then(Value::as_str).ok_or_else(invalid)?;
                    let mut values = Vec::new();
                    for prop in &l[1..] {
                        values.push(self.miio_prop(sid, prop.as_str().ok_or_else(invalid)?)?);
                    }
                    out.push(Value::Array(values));
                }
                Ok(Value::Array(out))
            }
            "set_device_prop" => {
                let o = p.as_object().ok_or_else(invalid)?;
                let sid = o.get("sid").and_then(Value::as_str).ok_or_else(invalid)?;
                let values = o.iter().filter(|(k, _)| k.as_str() != "sid");
                if sid == "lumi.0" {
                    for (k, v) in values {
                        if self.miio.props.len() >= MAX_GATEWAY_PROPS
                            && !self.miio.props.contains_key(k)
                        {
                            return Err(invalid());
                        }
                        self.miio.props.insert(k.clone(), v.clone());
                    }
                    return ok();
                }
                let sid = subdevice_sid(sid).ok_or_else(invalid)?;
                let props: Vec<(String, Value)> =
                    values.map(|(k, v)| (k.clone(), v.clone())).collect();
                self.miio_write(&sid, props)
            }
            "toggle_plug" | "toggle_ctrl_neutral" => {
                let sid = r
                    .extra
                    .get("sid")
                    .and_then(Value::as_str)
                    .and_then(subdevice_sid)
                    .ok_or_else(invalid)?;
                let a = p.as_array().ok_or_else(invalid)?;
                let channel = a.first().and_then(Value::as_str).ok_or_else(invalid)?;
                let what = a.get(1).and_then(Value::as_str).ok_or_else(invalid)?;
                let d = self.device(&sid).ok_or_else(invalid)?;
                let key = key_candidates(channel)
                    .into_iter()
                    .find(|k| d.writable_keys.contains(k))
                    .ok_or_else(invalid)?;
                let value = match what {
                    "on" | "off" => what,
                    "toggle" if d.state.get_str(&key).as_deref() == Some("on") => "off",
                    "toggle" => "on",
                    _ => return Err(invalid()),
                };
                self.miio_write(&sid, vec![(key, Value::from(value))])
            }
            "get_battery" => {
                let sid = subdevice_sid(param_str(p)?).ok_or_else(invalid)?;
                let d = self.device(&sid).ok_or_else(invalid)?;
                Ok(json!([battery_percent(f64::from(d.voltage))]))
            }
            "remove_device" => {
                let sid = subdevice_sid(param_str(p)?).ok_or_else(invalid)?;
                self.devices.retain(|d| d.sid != sid);
                ok()
            }
            "get_rgb" => Ok(json!([self.own.rgb])),
            "get_night_light_rgb" => Ok(json!([self.miio.night_light])),
            "set_rgb" => {
                let v = u32::try_from(param_u64(p, 0)?).map_err(|_| invalid())?;
                self.miio_set_rgb(now, v);
                ok()
            }
            "set_night_light_rgb" => {
                let v = u32::try_from(param_u64(p, 0)?).map_err(|_| invalid())?;
                self.miio.night_light = v;
                self.miio_set_rgb(now, v);
                ok()
            }
            "get_prop" => {
                let names = p.as_array().ok_or_else(invalid)?;
                Ok(Value::Array(
                    names
                        .iter()
                        .map(|n| self.miio_gateway_prop(n.as_str().unwrap_or("")))
                        .collect(),
                ))
            }
            "get_illumination" => Ok(json!([self.own.illumination])),
            "play_music_new" => {
                let mid = param_u64(p, 0)?;
                self.own.playing = if mid == 10_000 {
                    None
                } else {
                    Some(u32::try_from(mid).map_err(|_| invalid())?)
                };
                if let Ok(vol) = param_u64(p, 1) {
                    self.own.volume = vol.min(100) as u32;
                }
                ok()
            }
            "set_sound_playing" => {
                if param_str(p)? != "off" {
                    return Err(invalid());
                }
                self.own.playing = None;
                ok()
            }
            "get_gateway_volume" => Ok(json!([self.own.volume])),
            "set_gateway_volume" => {
                self.own.volume = param_u64(p, 0)?.min(100) as u32;
                ok()
            }
            "get_arming" => Ok(json!([if self.miio.arming { "on" } else { "off" }])),
            "set_arming" => {
                self.miio.arming = crate::miio::on_off_param(p)?;
                ok()
            }
            "get_arm_wait_time" => Ok(json!([self.miio.arm_wait_time])),
            "set_arm_wait_time" => {
                self.miio.arm_wait_time = param_u64(p, 0)?;
                ok()
            }
            "get_alarming_volume" => Ok(json!([self.miio.alarming_volume])),
            "set_alarming_volume" => {
                self.miio.alarming_volume = param_u64(p, 0)?.min(100);
                ok()
            }
            "start_zigbee_join" => {
                self.own.join_permission = param_u64(p, 0)? > 0;
                ok()
            }
            "get_lumi_dpf_aes_key" => Ok(json!([self.cfg.password.expose()])),
            "set_lumi_dpf_aes_key" => {
                let password = GatewayPassword::new(param_str(p)?).map_err(|_| invalid())?;
                self.set_password(password);
                ok()
            }
            "send_data_frame" => self.miio_data_frame(p),
            "miIO.xdel" => {
                let ids = p.as_array().ok_or_else(invalid)?;
                for id in ids {
                    let id = id.as_str().ok_or_else(invalid)?;
                    self.miio.scenes.retain(|s| s.id != id);
                }
                ok()
            }
            _ => Err(MethodError::not_found()),
        }
    }

    fn miio_device_list(&self) -> Value {
        let mut list = vec![json!("lumi.0"), json!(0), json!(1), json!(0), json!(0)];
        for d in &self.devices {
            let fw = self
                .miio
                .firmware
                .iter()
                .find(|(s, _)| s == &d.sid)
                .map_or(DEFAULT_SUBDEVICE_FW, |(_, fw)| *fw);
            list.extend([
                json!(format!("lumi.{}", d.sid.as_str())),
                json!(type_id(&d.model)),
                json!(1),
                json!(0),
                json!(fw),
            ]);
        }
        Value::Array(list)
    }

    fn miio_gateway_prop(&self, prop: &str) -> Value {
        match prop {
            "rgb" => json!(self.own.rgb),
            "illumination" => json!(self.own.illumination),
            "arming" => json!(if self.miio.arming { "on" } else { "off" }),
            "alarming_volume" => json!(self.miio.alarming_volume),
            "gateway_volume" => json!(self.own.volume),
            _ => self.miio.props.get(prop).cloned().unwrap_or(Value::Null),
        }
    }

    fn miio_prop(&self, sid: &str, prop: &str) -> MethodResult {
        if sid == "lumi.0" {
            return Ok(self.miio_gateway_prop(prop));
        }
        let sid = subdevice_sid(sid).ok_or_else(invalid)?;
        let d = self.device(&sid).ok_or_else(invalid)?;
        Ok(self.miio_subdevice_prop(d, prop))
    }

    fn miio_subdevice_prop(&self, d: &SubDevice, prop: &str) -> Value {
        match prop {
            "voltage" | "battery_voltage" => json!(d.voltage),
            "fw_ver" => json!(
                self.miio
                    .firmware
                    .iter()
                    .find(|(s, _)| s == &d.sid)
                    .map_or(DEFAULT_SUBDEVICE_FW, |(_, fw)| *fw)
            ),
            _ => key_candidates(prop)
                .iter()
                .find_map(|k| d.state.get(k))
                .map_or(Value::Null, miio_value),
        }
    }

    /// A write to a sub-device over miIO: the same as a LAN `write` (state, event, report).
    fn miio_write(&mut self, sid: &Sid, values: Vec<(String, Value)>) -> MethodResult {
        let idx = self
            .devices
            .iter()
            .position(|d| &d.sid == sid)
            .ok_or_else(invalid)?;
        let d = &self.devices[idx];
        let mut props = Props::new();
        for (k, v) in values {
            let key = key_candidates(&k)
                .into_iter()
                .find(|c| d.writable_keys.contains(c) || d.event_keys.contains(c))
                .unwrap_or(k);
            props.push(key, v);
        }
        let report = self.devices[idx]
            .apply_write(&props)
            .map_err(|_| invalid())?;
        self.events.push_back(SimEvent::WriteApplied {
            sid: sid.clone(),
            props,
        });
        if !report.is_empty() {
            let msg = self.devices[idx].report_message(report);
            self.multicast(&Message::Report(msg));
        }
        ok()
    }

    /// The light changes as a LAN write of `rgb` changes it (reported when it changed).
    fn miio_set_rgb(&mut self, now: Instant, rgb: u32) {
        let changed = self.apply_gateway_write(now, &Props::new().with("rgb", rgb));
        if !changed.is_empty() {
            let mut m = self.gateway_state_message(false);
            m.props = changed;
            self.multicast(&Message::Report(m));
        }
    }

    fn miio_data_frame(&mut self, p: &Value) -> MethodResult {
        let o = p.as_object().ok_or_else(invalid)?;
        if o.get("type").and_then(Value::as_str) != Some("scene") {
            return Err(invalid());
        }
        let data = o.get("data").and_then(Value::as_str).ok_or_else(invalid)?;
        let total = o.get("total").map_or(Some(1), as_u64).ok_or_else(invalid)?;
        let cur = o.get("cur").map_or(Some(0), as_u64).ok_or_else(invalid)?;
        if total > MAX_FRAGMENTS {
            return Err(invalid());
        }
        let complete = if total <= 1 {
            self.miio.fragments = None;
            data.to_owned()
        } else {
            let token = o.get("data_tkn").cloned().unwrap_or(Value::Null);
            if cur == 0 {
                self.miio.fragments = Some(Fragments {
                    token,
                    total,
                    parts: Vec::new(),
                });
            }
            let f = self.miio.fragments.as_mut().ok_or_else(invalid)?;
            if f.token != o.get("data_tkn").cloned().unwrap_or(Value::Null)
                || f.total != total
                || f.parts.len() as u64 != cur
            {
                self.miio.fragments = None;
                return Err(invalid());
            }
            f.parts.push(data.to_owned());
            if (f.parts.len() as u64) < total {
                return ok();
            }
            let joined = f.parts.concat();
            self.miio.fragments = None;
            joined
        };
        let scenes = parse_scenes(&complete, &self.miio_token_enc()).ok_or_else(invalid)?;
        let added = scenes
            .iter()
            .filter(|s| !self.miio.scenes.iter().any(|old| old.id == s.id))
            .count();
        if self.miio.scenes.len() + added > MAX_SCENES {
            return Err(invalid());
        }
        for s in scenes {
            self.miio.scenes.retain(|old| old.id != s.id);
            self.miio.scenes.push(s);
        }
        ok()
    }

    /// python-miio's `calculated_token_enc` of the gateway token (the shared codec).
    fn miio_token_enc(&self) -> String {
        push::TokenEnc::of(self.miio.server.cipher().token()).expose_hex()
    }

    /// A sub-device reported `props`: call the scenes subscribed to it.
    pub(super) fn miio_subdevice_event(&mut self, now: Instant, sid: &Sid, props: &Props) {
        if self.miio.scenes.is_empty() {
            return;
        }
        let Some(d) = self.device(sid) else { return };
        let events = push_events(&d.model, d.version, props);
        let did = format!("lumi.{}", sid.as_str());
        let mut calls = Vec::new();
        for e in &events {
            for s in &self.miio.scenes {
                if s.trigger_did == did && e.extras.contains(&extra_value(&s.trigger_extra)) {
                    for t in &s.targets {
                        calls.push((
                            SocketAddr::new(t.ip, self.cfg.push_port),
                            t.method().to_owned(),
                            e.params.clone(),
                        ));
                    }
                }
            }
        }
        for (to, method, params) in calls {
            self.miio_push(now, to, method, params);
        }
    }

    fn miio_push(&mut self, now: Instant, to: SocketAddr, method: String, params: Value) {
        let id = self.miio.nine_digits();
        let mut request = RpcRequest::new(id, method, params);
        request.from = Some(self.miio.from.clone());
        let mut push = Push {
            to,
            request,
            sent: 0,
            next: now,
        };
        self.miio_send_push(now, &mut push);
        self.miio.pushes.push(push);
    }

    fn miio_send_push(&mut self, now: Instant, push: &mut Push) {
        if let Some(payload) = self.miio.server.seal_request(now, &push.request) {
            self.out.push_back(Transmit {
                to: Destination::Miio { to: push.to },
                payload,
            });
        }
        push.sent += 1;
        push.next = now + PUSH_RESEND;
    }

    /// Time passed: re-send unacknowledged pushes.
    pub(super) fn miio_timeout(&mut self, now: Instant) {
        let mut pushes = std::mem::take(&mut self.miio.pushes);
        pushes.retain(|p| p.next > now || p.sent < PUSH_ATTEMPTS);
        for p in &mut pushes {
            if p.next <= now {
                self.miio_send_push(now, p);
            }
        }
        self.miio.pushes = pushes;
    }

    /// When [`SimGateway::miio_timeout`] needs to run next.
    pub(super) fn miio_next_timeout(&self) -> Option<Instant> {
        self.miio.pushes.iter().map(|p| p.next).min()
    }
}
