//! Push events from a gateway: the event table, scene registration (`send_data_frame`),
//! deterministic scene ids, `miIO.xdel`, and the pushed method and its ack.
//!
//! ## How it works (reference §5; python-miio `push_server`, bskaplou's issue #699)
//!
//! A gateway runs local *scenes*: "IF sub-device X does E THEN call method M on Wi-Fi device
//! D". lumi poses as a miIO device D (a "fake device", by default python-miio's did
//! `120009025` and model `chuangmi.plug.v3`) at its own IP and registers scenes whose target is
//! itself. When the event fires, the gateway sends D a normal miIO request on UDP 54321, sealed
//! with the **gateway's** token; the method names the event:
//!
//! ```text
//! lumi → gateway   send_data_frame {"cur":0,"data":"<DATA>","data_tkn":29576,"total":1,"type":"scene"}  → ["ok"]
//!   DATA = [["x.scene.<n>",["1.0",<magic>,["0",TRIGGER],[TARGET]]]]                 (compact JSON)
//!   TRIGGER = {"did":"lumi.<sid>","extra":"[1,13,1,85,[0,1],0,0]","key":"event.<model>.<event>",
//!              "model":"<source model>","src":"device","timespan":[…],"token":""}
//!   TARGET  = {"command":"chuangmi.plug.v3.<action>:lumi_<sid>","did":"120009025","extra":"",
//!              "id":0,"ip":"<lumi's ip>","model":"chuangmi.plug.v3","token":"<token_enc>","value":""}
//! gateway → lumi   {"method":"click_ch0:lumi_158d0001a2b3c4","params":[],"from":"nbl.…","id":619969141}
//! lumi → gateway   {"result":0,"id":619969141}          (sealed with the gateway token, did = fake did)
//! lumi → gateway   miIO.xdel ["x.scene.<n>"]  → ["ok"]   (unsubscribe)
//! ```
//!
//! - The trigger `extra` identifies the event; the table [`PUSH_SOURCES`] (python-miio
//!   `subdevices.yaml` `push_properties`) is the one place lumi keeps these codes: the
//!   simulator reads it to decide which scenes fire, the client to register them.
//! - `token_enc` ([`TokenEnc`]) = the first AES-CBC block of the gateway token sealed with the
//!   gateway token's own key and IV (python-miio `calculated_token_enc`, found empirically).
//! - Scene ids are derived from (fake did, gateway did, source, action) by [`scene_id`], so the
//!   same subscription always has the same id: a restarted process deletes (`miIO.xdel`) and
//!   re-adds the scene of its predecessor instead of leaving a duplicate behind.
//! - The target `command` is at most [`COMMAND_MAX`] characters; longer ones are cut by the
//!   gateway (python-miio warns), so [`Scene::subscription`] refuses them.
//! - The pushed method is `"<action>:<sid with '.'→'_'>"` (python-miio's command format) or,
//!   in bskaplou's captures, `"<action>_<hex sid>"`; [`parse_push_method`] reads both.
//!
//! Everything here is pure: ids, stamps, IPs and the magic number are the caller's inputs.

use std::fmt;
use std::net::IpAddr;

use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use super::cipher::Cipher;
use super::gateway::{canonical_model, parse_node_id};
use super::token::{DeviceId, MiioToken};
use crate::lan::Sid;

/// python-miio's fake device id (from bskaplou's captures).
pub const FAKE_DEVICE_ID: DeviceId = DeviceId(120_009_025);

/// python-miio's fake device model.
pub const FAKE_MODEL: &str = "chuangmi.plug.v3";

/// The longest target `command` a gateway keeps (python-miio: "push server event command can
/// be max 49 chars long … will be truncated").
pub const COMMAND_MAX: usize = 49;

/// The `data_tkn` python-miio sends (a constant from captures; meaning unknown).
pub const DATA_TKN: u64 = 29_576;

/// The "magic" number of a scene: python-miio draws it at random from
/// `[1590161094, 1642025774]` ("min/max taken from packet captures, unknown use"; it looks
/// like a creation time). lumi uses this fixed value from that range so that a scene is the
/// same bytes every time; corpus record 34 uses it too.
pub const SCENE_MAGIC: u64 = 1_600_000_000;

/// The trigger `timespan` of every python-miio scene (all day, every day).
pub const TIMESPAN: [&str; 2] = ["0 0 * * 0,1,2,3,4,5,6", "0 0 * * 0,1,2,3,4,5,6"];

/// The method that registers scenes.
pub const SEND_DATA_FRAME: &str = "send_data_frame";

/// The method that deletes scenes.
pub const XDEL: &str = "miIO.xdel";

/// Why a scene cannot be built, or pushed data is not understood. Lowercase; never contains a
/// token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The model has no push events in the table.
    #[error("no push events are known for model {model:?}; models with events: {known}")]
    UnknownModel {
        /// The model given (sanitised).
        model: String,
        /// The models that have events.
        known: String,
    },
    /// The model has events, but not this one.
    #[error("model {model} has no push event {action:?}; its events are: {known}")]
    UnknownAction {
        /// The model (Zigbee id).
        model: &'static str,
        /// The action given (sanitised).
        action: String,
        /// Its actions.
        known: String,
    },
    /// The target command would be cut by the gateway.
    #[error(
        "scene command {command:?} is {len} characters, gateways keep at most {max}: use a \
         shorter fake device model or action name"
    )]
    CommandTooLong {
        /// The command.
        command: String,
        /// Its length in characters.
        len: usize,
        /// [`COMMAND_MAX`].
        max: usize,
    },
    /// `send_data_frame` data that is not scenes.
    #[error("scene data is not [[id, [\"1.0\", magic, [\"0\", trigger], [targets]]]]: {reason}")]
    BadSceneData {
        /// What was wrong.
        reason: &'static str,
    },
    /// A pushed method that is neither `action:lumi_<sid>` nor `action_<hex sid>`.
    #[error("pushed method {method:?} is not \"<action>:lumi_<sid>\" or \"<action>_<sid>\"")]
    BadMethod {
        /// The method (sanitised, cut).
        method: String,
    },
}

// --- the event table ----------------------------------------------------------------------------

/// One event a source can trigger a scene with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PushAction {
    /// The name lumi (like python-miio) puts in the command, and receives back as the pushed
    /// method: `click_ch0`, `rotate`, `open`…
    pub action: &'static str,
    /// The trigger code `"[a,b,c,d,[e,f],g,h]"`: c = part of the device (1 left, 2 right,
    /// 3 both), f = event number (0 long click/close, 1 click/open, 2 double click).
    pub extra: &'static str,
    /// The event name in the trigger `key` when it differs from `action`.
    pub event: Option<&'static str>,
    /// The target `extra` (the cube rotation asks the gateway for angle and duration).
    pub command_extra: &'static str,
    /// Whether the trigger must carry the gateway's own token and did (the gateway alarm).
    pub gateway_trigger: bool,
}

impl PushAction {
    /// The event name of the trigger `key`.
    pub fn event(&self) -> &'static str {
        self.event.unwrap_or(self.action)
    }
}

const fn a(action: &'static str, extra: &'static str) -> PushAction {
    PushAction {
        action,
        extra,
        event: None,
        command_extra: "",
        gateway_trigger: false,
    }
}

/// A group of models with the same events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushSource {
    /// Zigbee model ids (as [`canonical_model`] gives them).
    pub models: &'static [&'static str],
    /// Their events.
    pub actions: &'static [PushAction],
}

const MAGNET: &[PushAction] = &[
    a("open", "[1,6,1,0,[0,1],2,0]"),
    a("close", "[1,6,1,0,[0,0],2,0]"),
];
const MOTION: &[PushAction] = &[
    a("motion", "[1,1030,1,0,[0,1],0,0]"),
    a("no_motion", "[1,1030,1,8,[4,120],2,0]"),
];
const CUBE: &[PushAction] = &[
    a("move", "[1,18,2,85,[6,256],0,0]"),
    a("flip90", "[1,18,2,85,[6,64],0,0]"),
    a("flip180", "[1,18,2,85,[6,128],0,0]"),
    a("taptap", "[1,18,2,85,[6,512],0,0]"),
    a("shakeair", "[1,18,2,85,[0,0],0,0]"),
    PushAction {
        event: Some("rotate"),
        command_extra: "[1,19,7,1006,[42,[6066005667474548,12,3,85,0]],0,0]",
        ..a("rotate", "[1,12,3,85,[1,0],0,0]")
    },
];
const VIBRATION: &[PushAction] = &[
    a("vibrate", "[1,257,1,85,[0,1],0,0]"),
    a("tilt", "[1,257,1,85,[0,2],0,0]"),
    a("free_fall", "[1,257,1,85,[0,3],0,0]"),
];
const ONE_KEY: &[PushAction] = &[
    a("l_click_ch0", "[1,13,1,85,[0,0],0,0]"),
    a("click_ch0", "[1,13,1,85,[0,1],0,0]"),
    a("d_click_ch0", "[1,13,1,85,[0,2],0,0]"),
];
const TWO_KEYS: &[PushAction] = &[
    a("l_click_ch0", "[1,13,1,85,[0,0],0,0]"),
    a("click_ch0", "[1,13,1,85,[0,1],0,0]"),
    a("d_click_ch0", "[1,13,1,85,[0,2],0,0]"),
    a("l_click_ch1", "[1,13,2,85,[0,0],0,0]"),
    a("click_ch1", "[1,13,2,85,[0,1],0,0]"),
    a("d_click_ch1", "[1,13,2,85,[0,2],0,0]"),
    a("both_l_click", "[1,13,3,85,[0,0],0,0]"),
    a("both_click", "[1,13,3,85,[0,1],0,0]"),
    a("both_d_click", "[1,13,3,85,[0,2],0,0]"),
];
const AQ3: &[PushAction] = &[
    a("l_click_ch0", "[1,13,1,85,[0,0],0,0]"),
    a("click_ch0", "[1,13,1,85,[0,1],0,0]"),
    a("d_click_ch0", "[1,13,1,85,[0,2],0,0]"),
    a("l_click_pres", "[1,13,1,85,[0,16],0,0]"),
    a("shake", "[1,13,1,85,[0,18],0,0]"),
];
const GATEWAY_ALARM: &[PushAction] = &[PushAction {
    gateway_trigger: true,
    ..a("alarm_triggering", "[1,19,1,111,[0,1],2,0]")
}];

/// Every source of push events: python-miio `subdevices.yaml` `push_properties`, plus the
/// gateway alarm of python-miio's `PushServer` docstring.
pub const PUSH_SOURCES: &[PushSource] = &[
    PushSource {
        models: &["lumi.sensor_magnet.v2", "lumi.sensor_magnet.aq2"],
        actions: MAGNET,
    },
    PushSource {
        models: &["lumi.sensor_motion.v2", "lumi.sensor_motion.aq2"],
        actions: MOTION,
    },
    PushSource {
        models: &["lumi.sensor_cube.v1", "lumi.sensor_cube.aqgl01"],
        actions: CUBE,
    },
    PushSource {
        models: &["lumi.vibration.aq1"],
        actions: VIBRATION,
    },
    PushSource {
        models: &[
            "lumi.sensor_86sw1.v1",
            "lumi.remote.b186acn01",
            "lumi.remote.b186acn02",
            "lumi.sensor_switch.v2",
            "lumi.sensor_switch.aq2",
            "lumi.remote.b1acn01",
        ],
        actions: ONE_KEY,
    },
    PushSource {
        models: &[
            "lumi.sensor_86sw2.v1",
            "lumi.remote.b286acn01",
            "lumi.remote.b286acn02",
        ],
        actions: TWO_KEYS,
    },
    PushSource {
        models: &["lumi.sensor_switch.aq3"],
        actions: AQ3,
    },
    PushSource {
        models: &["lumi.gateway.v3", "lumi.gateway.mieu01"],
        actions: GATEWAY_ALARM,
    },
];

/// The `no_motion` code for `seconds` without motion: `[1,1030,1,8,[4,<seconds>],2,0]`
/// (python-miio's table has the 120 s one).
pub fn no_motion_extra(seconds: u64) -> String {
    format!("[1,1030,1,8,[4,{seconds}],2,0]")
}

/// A model's events, with the model's Zigbee id as the table spells it; `None` when the model
/// has none. Any spelling [`canonical_model`] knows works (`cube`, `lumi.sensor_cube.v1`).
pub fn push_source(model: &str) -> Option<(&'static str, &'static PushSource)> {
    let m = model.trim().to_ascii_lowercase();
    let wanted = canonical_model(&m).unwrap_or(m.as_str()).to_owned();
    PUSH_SOURCES
        .iter()
        .find_map(|s| s.models.iter().find(|x| **x == wanted).map(|x| (*x, s)))
}

/// The events of a model (empty when it has none).
pub fn push_actions(model: &str) -> &'static [PushAction] {
    push_source(model).map_or(&[], |(_, s)| s.actions)
}

/// One event of a model in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSource {
    /// The source's Zigbee model id (goes into the trigger `model` and `key`).
    pub model: &'static str,
    /// The event.
    pub action: &'static PushAction,
}

/// Looks up `action` of `model`, with errors that list what exists.
pub fn find_event(model: &str, action: &str) -> Result<EventSource, PushError> {
    let Some((model_id, source)) = push_source(model) else {
        let known: Vec<&str> = PUSH_SOURCES
            .iter()
            .flat_map(|s| s.models.iter().copied())
            .collect();
        return Err(PushError::UnknownModel {
            model: crate::sanitize::truncated(model, 60),
            known: known.join(", "),
        });
    };
    source
        .actions
        .iter()
        .find(|p| p.action == action)
        .map(|p| EventSource {
            model: model_id,
            action: p,
        })
        .ok_or_else(|| PushError::UnknownAction {
            model: model_id,
            action: crate::sanitize::truncated(action, 60),
            known: source
                .actions
                .iter()
                .map(|p| p.action)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

// --- token_enc, scene ids ------------------------------------------------------------------------

/// The target `token` of a scene: the first AES-CBC block of the gateway token encrypted with
/// the gateway token's key and IV, as hex (python-miio `calculated_token_enc`). Derived from a
/// secret, so `Debug` does not show it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenEnc([u8; 16]);

impl TokenEnc {
    /// `token_enc` of a gateway token.
    pub fn of(gateway_token: &MiioToken) -> TokenEnc {
        let cipher = Cipher::new(gateway_token);
        // Sealing the 16 token bytes gives the header and two blocks (the second is padding);
        // the first block is AES-CBC(key, iv, token). Sealing 16 bytes cannot fail.
        let mut out = [0u8; 16];
        if let Ok(packet) = cipher.seal(DeviceId(0), 0, gateway_token.as_bytes())
            && let Some(block) = packet.get(32..48)
        {
            out.copy_from_slice(block);
        }
        TokenEnc(out)
    }

    /// The 32 hex digits that go into the scene.
    pub fn expose_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for TokenEnc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenEnc(****)")
    }
}

/// A scene id, `x.scene.<n>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SceneId(String);

impl SceneId {
    /// `x.scene.<n>`.
    pub fn numbered(n: u64) -> SceneId {
        SceneId(format!("x.scene.{n}"))
    }

    /// An id as found on the wire (not checked: gateways accept any string).
    pub fn from_wire(s: impl Into<String>) -> SceneId {
        SceneId(s.into())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SceneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The scene id of a subscription: `x.scene.<n>`, n = 1 000 000 000 + (the first 8 bytes of
/// md5(`"lumi-push|<fake did>|<gateway did>|<source>|<action>"`) mod 10⁹). The same inputs
/// always give the same id, different subscriptions practically never the same one, and n
/// stays below 2³¹ in case firmware stores it as a 32-bit integer (not known).
pub fn scene_id(fake_did: DeviceId, gateway_did: DeviceId, source: &str, action: &str) -> SceneId {
    let digest = Md5::new()
        .chain_update(b"lumi-push|")
        .chain_update(fake_did.get().to_string())
        .chain_update(b"|")
        .chain_update(gateway_did.get().to_string())
        .chain_update(b"|")
        .chain_update(source.as_bytes())
        .chain_update(b"|")
        .chain_update(action.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    SceneId::numbered(1_000_000_000 + u64::from_be_bytes(first) % 1_000_000_000)
}

// --- scenes -------------------------------------------------------------------------------------

/// The trigger ("IF") of a scene.
#[derive(Clone, PartialEq)]
pub struct SceneTrigger {
    /// The source: `lumi.<sid>`, or the gateway's did for gateway events.
    pub did: String,
    /// The event code.
    pub extra: String,
    /// `event.<model>.<event>`.
    pub key: String,
    /// The source model.
    pub model: String,
    /// `""` for sub-devices; the gateway token (hex) for gateway events. Not in `Debug`.
    pub token: String,
    /// A threshold (`{"max":20,"min":0}`) for value triggers; `None` for events.
    pub value: Option<Value>,
}

impl fmt::Debug for SceneTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SceneTrigger")
            .field("did", &self.did)
            .field("extra", &self.extra)
            .field("key", &self.key)
            .field("model", &self.model)
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

/// A target ("THEN") of a scene: the device the gateway calls.
#[derive(Clone, PartialEq)]
pub struct SceneTarget {
    /// `"<target model>.<method>"`.
    pub command: String,
    /// The target's did (decimal).
    pub did: String,
    /// Extra data for the command.
    pub extra: String,
    /// `0` in every capture.
    pub id: i64,
    /// Where the gateway sends the call.
    pub ip: IpAddr,
    /// The target model.
    pub model: String,
    /// The target token field ([`TokenEnc`] for a fake device). Not in `Debug`.
    pub token: String,
    /// `""` in every capture.
    pub value: String,
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

impl fmt::Debug for SceneTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SceneTarget")
            .field("command", &self.command)
            .field("did", &self.did)
            .field("extra", &self.extra)
            .field("id", &self.id)
            .field("ip", &self.ip)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// A scene as `send_data_frame` carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Its id.
    pub id: SceneId,
    /// The magic number ([`SCENE_MAGIC`] for lumi's scenes).
    pub magic: u64,
    /// IF.
    pub trigger: SceneTrigger,
    /// THEN.
    pub targets: Vec<SceneTarget>,
}

/// What a subscription scene is made of.
#[derive(Debug, Clone, Copy)]
pub struct Subscription<'a> {
    /// Its id (normally [`scene_id`] of the other inputs).
    pub scene_id: &'a SceneId,
    /// The source: `lumi.<sid>` (or the gateway did for gateway events).
    pub source_did: &'a str,
    /// The event, from the table ([`find_event`]).
    pub event: EventSource,
    /// The trigger token: `""` for sub-devices, the gateway token hex for gateway events.
    pub trigger_token: &'a str,
    /// The fake device's did.
    pub fake_did: DeviceId,
    /// The fake device's model.
    pub fake_model: &'a str,
    /// The fake device's IP, as the gateway reaches it.
    pub fake_ip: IpAddr,
    /// [`TokenEnc`] of the gateway token.
    pub token_enc: &'a TokenEnc,
}

impl Scene {
    /// The scene python-miio's `PushServer._construct_event` builds for these inputs (with
    /// [`SCENE_MAGIC`]); refuses a command longer than [`COMMAND_MAX`].
    pub fn subscription(s: &Subscription<'_>) -> Result<Scene, PushError> {
        let command = format!(
            "{}.{}:{}",
            s.fake_model,
            s.event.action.action,
            s.source_did.replace('.', "_")
        );
        let len = command.chars().count();
        if len > COMMAND_MAX {
            return Err(PushError::CommandTooLong {
                command: crate::sanitize::truncated(&command, 120),
                len,
                max: COMMAND_MAX,
            });
        }
        Ok(Scene {
            id: s.scene_id.clone(),
            magic: SCENE_MAGIC,
            trigger: SceneTrigger {
                did: s.source_did.to_owned(),
                extra: s.event.action.extra.to_owned(),
                key: format!("event.{}.{}", s.event.model, s.event.action.event()),
                model: s.event.model.to_owned(),
                token: s.trigger_token.to_owned(),
                value: None,
            },
            targets: vec![SceneTarget {
                command,
                did: s.fake_did.get().to_string(),
                extra: s.event.action.command_extra.to_owned(),
                id: 0,
                ip: s.fake_ip,
                model: s.fake_model.to_owned(),
                token: s.token_enc.expose_hex(),
                value: String::new(),
            }],
        })
    }

    fn to_value(&self) -> Value {
        // Members in python-miio's order, which is also alphabetical, so the text is the same
        // whether or not serde_json preserves insertion order.
        let mut trigger = json!({
            "did": self.trigger.did,
            "extra": self.trigger.extra,
            "key": self.trigger.key,
            "model": self.trigger.model,
            "src": "device",
            "timespan": TIMESPAN,
            "token": self.trigger.token,
        });
        if let (Some(v), Some(m)) = (&self.trigger.value, trigger.as_object_mut()) {
            m.insert("value".into(), v.clone());
        }
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                json!({
                    "command": t.command,
                    "did": t.did,
                    "extra": t.extra,
                    "id": t.id,
                    "ip": t.ip.to_string(),
                    "model": t.model,
                    "token": t.token,
                    "value": t.value,
                })
            })
            .collect();
        json!([
            self.id.as_str(),
            ["1.0", self.magic, ["0", trigger], targets]
        ])
    }

    /// The `data` string for `send_data_frame`: compact JSON of `[[scene…]]`.
    pub fn to_data(&self) -> String {
        Scene::data_of(std::slice::from_ref(self))
    }

    /// The `data` string for several scenes.
    pub fn data_of(scenes: &[Scene]) -> String {
        Value::Array(scenes.iter().map(Scene::to_value).collect()).to_string()
    }
}

/// The params of `send_data_frame` for `data` in one fragment:
/// `{"cur":0,"data":data,"data_tkn":29576,"total":1,"type":"scene"}`.
pub fn send_data_frame_params(data: &str) -> Value {
    json!({"cur": 0, "data": data, "data_tkn": DATA_TKN, "total": 1, "type": "scene"})
}

/// The params of `miIO.xdel`: `["x.scene.<n>", …]`.
pub fn xdel_params(ids: &[SceneId]) -> Value {
    Value::Array(ids.iter().map(|i| Value::from(i.as_str())).collect())
}

/// A string member as the gateway would read it: strings as they are, `null`/absent as `""`,
/// anything else as its JSON text.
fn text(o: &Map<String, Value>, k: &str) -> String {
    match o.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn bad(reason: &'static str) -> PushError {
    PushError::BadSceneData { reason }
}

/// Parses the (complete) `data` of `send_data_frame` into scenes; the inverse of
/// [`Scene::data_of`]. Lenient about member types as a gateway is (a number where a string is
/// expected is taken as its text), strict about the structure and the target IPs.
pub fn parse_scene_data(data: &str) -> Result<Vec<Scene>, PushError> {
    let v: Value = serde_json::from_str(data).map_err(|_| bad("not json"))?;
    let entries = v.as_array().ok_or(bad("not a list"))?;
    let mut scenes = Vec::with_capacity(entries.len());
    for entry in entries {
        let entry = entry.as_array().ok_or(bad("a scene is not a list"))?;
        let id = entry
            .first()
            .and_then(Value::as_str)
            .ok_or(bad("scene id is not a string"))?;
        let body = entry
            .get(1)
            .and_then(Value::as_array)
            .ok_or(bad("scene body is not a list"))?;
        let magic = body.get(1).and_then(Value::as_u64).unwrap_or(0);
        let trigger = body
            .get(2)
            .and_then(Value::as_array)
            .and_then(|t| t.get(1))
            .and_then(Value::as_object)
            .ok_or(bad("trigger is not [\"0\", {…}]"))?;
        let mut targets = Vec::new();
        for t in body
            .get(3)
            .and_then(Value::as_array)
            .ok_or(bad("targets are not a list"))?
        {
            let t = t.as_object().ok_or(bad("a target is not an object"))?;
            let ip = t
                .get("ip")
                .and_then(Value::as_str)
                .and_then(|s| s.trim().parse().ok())
                .ok_or(bad("target ip is not an ip address"))?;
            targets.push(SceneTarget {
                command: text(t, "command"),
                did: text(t, "did"),
                extra: text(t, "extra"),
                id: t.get("id").and_then(Value::as_i64).unwrap_or(0),
                ip,
                model: text(t, "model"),
                token: text(t, "token"),
                value: text(t, "value"),
            });
        }
        scenes.push(Scene {
            id: SceneId::from_wire(id),
            magic,
            trigger: SceneTrigger {
                did: text(trigger, "did"),
                extra: text(trigger, "extra"),
                key: text(trigger, "key"),
                model: text(trigger, "model"),
                token: text(trigger, "token"),
                value: trigger.get("value").cloned(),
            },
            targets,
        });
    }
    Ok(scenes)
}

// --- pushes and acks ----------------------------------------------------------------------------

/// A pushed method, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMethod<'a> {
    /// The action (`click_ch0`, `rotate`…).
    pub action: &'a str,
    /// The source: a sub-device's sid, or for gateway events the id the scene named.
    pub sid: Sid,
}

/// Action names are lumi's own (`click_ch0`, `both_l_click`): letters, digits, `_`, `-`, `.`.
/// Anything else in a pushed method is refused, so an action is always safe to print.
fn is_action(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn looks_like_hex_sid(s: &str) -> bool {
    (11..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses a pushed method: python-miio's `"<action>:<source with '.'→'_'>"`
/// (`"click_ch0:lumi_158d0001a2b3c4"`), or bskaplou's `"<action>_<hex sid>"`
/// (`"move_158d000103ec74"`). The action must be letters, digits, `_`, `-` or `.` (at most
/// 64). Total: anything else is an error.
pub fn parse_push_method(method: &str) -> Result<PushMethod<'_>, PushError> {
    let bad = || PushError::BadMethod {
        method: crate::sanitize::truncated(method, 80),
    };
    if let Some((action, source)) = method.rsplit_once(':') {
        if !is_action(action) {
            return Err(bad());
        }
        let dotted = source.replace('_', ".");
        let sid = if dotted.starts_with("lumi.") {
            parse_node_id(&dotted)
        } else {
            Sid::new(&dotted).ok()
        };
        return sid.map(|sid| PushMethod { action, sid }).ok_or_else(bad);
    }
    match method.rsplit_once('_') {
        Some((action, hex)) if is_action(action) && looks_like_hex_sid(hex) => Sid::new(hex)
            .map(|sid| PushMethod { action, sid })
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// The ack a fake device sends for a push, to stop the gateway re-sending it:
/// `{"result":0,"id":N}` followed by `\0` (python-miio's member order, compact).
pub fn ack_payload(id: u64) -> Vec<u8> {
    let mut out = format!("{{\"result\":0,\"id\":{id}}}").into_bytes();
    out.push(0);
    out
}

#[cfg(test)]
mod tests;
