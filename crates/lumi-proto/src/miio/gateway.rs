//! The gateway over miIO: sub-device list, properties, light, sound, LAN key, pairing.
//!
//! Xiaomi/Aqara gateways (`lumi.gateway.v3`, `lumi.acpartner.v3`, …) answer miIO JSON-RPC on
//! UDP 54321 with the gateway's miIO token. The gateway itself is node `"lumi.0"`; a Zigbee
//! sub-device is `"lumi.<sid>"` (`"lumi.158d0001a2b3c4"`). This module builds the requests
//! ([`GatewayCall`]: method + params, to hand to any miIO caller) and parses the results. It
//! holds no state and does no I/O.
//!
//! ## Wire format (python-miio `miio/integrations/lumi/gateway/`, reference §4)
//!
//! ```text
//! get_device_prop      ["lumi.0", "device_list"]        → ["lumi.0",0,1,0,0, "lumi.158d…",8,1,0,25, …]
//!                                                          5 items per device: sid, type_id,
//!                                                          online, unknown, fw_ver
//! get_device_prop      ["lumi.<sid>", "voltage"]        → [3015]
//! get_device_prop_exp  [["lumi.<sid>", "temperature", "humidity"]] → [[2150, 4520]]
//! set_device_prop      {"sid": "lumi.<sid>", "channel_0": "on"}    → ["ok"]
//! get_rgb / set_rgb    [brightness<<24 | r<<16 | g<<8 | b]          (brightness 0–100)
//! play_music_new       ["<sound id>", volume]            set_sound_playing ["off"]
//! get_lumi_dpf_aes_key → ["<16-character LAN password>"]  set_lumi_dpf_aes_key ["<16 chars>"]
//! remove_device        ["lumi.<sid>"]                     start_zigbee_join [seconds] (0 stops)
//! ```
//!
//! `type_id` ↔ model: [`type_id`], [`model_for_type_id`], [`canonical_model`] (python-miio
//! `subdevices.yaml`; the LAN API's short names such as `cube` or `86sw2` are aliases).
//!
//! Models differ: `lumi.gateway.mgl03` answers `device_list` with nothing useful (it has
//! `get_device_list`), `lumi.gateway.mieu01` has no local list at all; see
//! [`device_list_hint`].
//!
//! Parsers are total: odd values from firmware (numbers as strings, missing items, a trailing
//! partial record) never panic; what cannot be used is reported, not guessed.

use serde_json::{Map, Value, json};

use crate::key::{GatewayPassword, KeyError};
use crate::lan::Sid;

/// The miIO node name of the gateway itself.
pub const GATEWAY_NODE: &str = "lumi.0";

/// Items per device in a `device_list` reply.
pub const DEVICE_LIST_STRIDE: usize = 5;

/// `play_music_new` sound id that stops playback on the v3 gateway (python-miio radio notes).
pub const SOUND_STOP_ID: u32 = 10_000;

/// Why a gateway request cannot be built or a reply is not understood. Lowercase, names the
/// value; never contains a password or token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayProtoError {
    /// A brightness above 100.
    #[error("light brightness {value} is out of range: use 0 to 100 (percent)")]
    Brightness {
        /// The value given.
        value: u8,
    },
    /// A volume above 100.
    #[error("sound volume {value} is out of range: use 0 to 100 (percent)")]
    Volume {
        /// The value given.
        value: u8,
    },
    /// `get_device_prop_exp` without properties.
    #[error("no property names given: name at least one property to read")]
    NoProperties,
    /// A property named `sid` cannot be written: it would replace the target node.
    #[error("property name \"sid\" is reserved in set_device_prop (it names the device)")]
    ReservedProperty,
    /// The LAN key is not a valid gateway password.
    #[error("invalid lan key: {0}")]
    LanKey(#[from] KeyError),
    /// A result did not have the expected shape.
    #[error("unexpected result for {method}: expected {expected}, got {got}")]
    UnexpectedResult {
        /// The method answered.
        method: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What came (sanitised and cut, JSON).
        got: String,
    },
}

fn unexpected(method: &'static str, expected: &'static str, got: &Value) -> GatewayProtoError {
    GatewayProtoError::UnexpectedResult {
        method,
        expected,
        got: crate::sanitize::truncated(&got.to_string(), 120),
    }
}

// --- type_id ↔ model ----------------------------------------------------------------------------

struct TypeEntry {
    id: i64,
    model: &'static str,
    aliases: &'static [&'static str],
}

const fn t(id: i64, model: &'static str, aliases: &'static [&'static str]) -> TypeEntry {
    TypeEntry { id, model, aliases }
}

/// python-miio `subdevices.yaml` (`zigbee_id`, `type_id`), plus the ids its comment quotes from
/// aholstenson/miio#26 (166–170, 202–206). Aliases are written without `lumi.`: the LAN API's
/// model names (`cube`, `86sw2`, `magnet`…) and older spellings.
const TYPES: &[TypeEntry] = &[
    t(1, "lumi.sensor_switch.v2", &["switch", "sensor_switch"]),
    t(2, "lumi.sensor_motion.v2", &["motion", "sensor_motion"]),
    t(3, "lumi.sensor_magnet.v2", &["magnet", "sensor_magnet"]),
    t(7, "lumi.ctrl_neutral2", &["ctrl_neutral2.aq1"]),
    t(8, "lumi.sensor_cube.v1", &["cube", "sensor_cube"]),
    t(
        9,
        "lumi.ctrl_neutral1.v1",
        &["ctrl_neutral1", "ctrl_neutral1.aq1"],
    ),
    t(10, "lumi.sensor_ht.v1", &["sensor_ht"]),
    t(11, "lumi.plug", &[]),
    t(
        12,
        "lumi.sensor_86sw2.v1",
        &["86sw2", "sensor_86sw2", "sensor_86sw2.aq1"],
    ),
    t(13, "lumi.curtain", &[]),
    t(
        14,
        "lumi.sensor_86sw1.v1",
        &["86sw1", "sensor_86sw1", "sensor_86sw1.aq1"],
    ),
    t(15, "lumi.sensor_smoke", &["smoke"]),
    t(17, "lumi.ctrl_86plug.v1", &["86plug", "ctrl_86plug"]),
    t(18, "lumi.sensor_natgas", &["natgas"]),
    t(19, "lumi.weather.v1", &["weather"]),
    t(20, "lumi.ctrl_ln1", &[]),
    t(21, "lumi.ctrl_ln2", &[]),
    t(51, "lumi.sensor_switch.aq2", &[]),
    t(52, "lumi.sensor_motion.aq2", &[]),
    t(53, "lumi.sensor_magnet.aq2", &[]),
    t(54, "lumi.relay.c2acn01", &["ctrl_dualchn"]),
    t(55, "lumi.sensor_wleak.aq1", &[]),
    t(56, "lumi.vibration.aq1", &["vibration"]),
    t(59, "lumi.lock.aq1", &[]),
    t(62, "lumi.sensor_switch.aq3", &[]),
    t(63, "lumi.ctrl_ln1.aq1", &[]),
    t(64, "lumi.ctrl_ln2.aq1", &[]),
    t(65, "lumi.ctrl_86plug.aq1", &[]),
    t(66, "lumi.light.aqcn02", &[]),
    t(68, "lumi.sensor_cube.aqgl01", &[]),
    t(70, "lumi.lock.acn02", &[]),
    t(71, "lumi.curtain.aq2", &[]),
    t(72, "lumi.curtain.hagl04", &[]),
    t(81, "lumi.lock.v1", &[]),
    t(82, "ikea.light.led1545g12", &[]),
    t(83, "ikea.light.led1546g12", &[]),
    t(84, "ikea.light.led1536g5", &[]),
    t(85, "ikea.light.led1537r6", &[]),
    t(86, "ikea.light.led1623g12", &[]),
    t(87, "ikea.light.led1650r5", &[]),
    t(88, "ikea.light.led1649c5", &[]),
    t(133, "lumi.remote.b1acn01", &[]),
    t(134, "lumi.remote.b186acn01", &[]),
    t(135, "lumi.remote.b286acn01", &[]),
    t(163, "lumi.lock.acn03", &[]),
    t(166, "lumi.lock.acn05", &[]),
    t(167, "lumi.switch.b1lacn02", &["switch_b1lacn02"]),
    t(168, "lumi.switch.b2lacn02", &["switch_b2lacn02"]),
    t(169, "lumi.switch.b1nacn02", &["switch_b1nacn02"]),
    t(170, "lumi.switch.b2nacn02", &["switch_b2nacn02"]),
    t(171, "lumi.remote.b186acn02", &[]),
    t(172, "lumi.remote.b286acn02", &[]),
    t(176, "lumi.switch.n3acn3", &[]),
    t(177, "lumi.switch.l3acn3", &[]),
    t(202, "lumi.dimmer.rgbegl01", &[]),
    t(203, "lumi.dimmer.c3egl01", &[]),
    t(204, "lumi.dimmer.cwegl01", &[]),
    t(205, "lumi.airrtc.vrfegl01", &[]),
    t(206, "lumi.airrtc.tcpecn01", &[]),
    t(207, "lumi.airrtc.tcpecn02", &[]),
    // The yaml gives the EU plug a negative id of its own.
    t(-2, "lumi.plug.mmeu01", &[]),
];

fn type_entry(model: &str) -> Option<&'static TypeEntry> {
    let m = model.trim().to_ascii_lowercase();
    let short = m.strip_prefix("lumi.").unwrap_or(&m);
    TYPES.iter().find(|e| {
        e.model == m || e.model.strip_prefix("lumi.") == Some(short) || e.aliases.contains(&short)
    })
}

/// python-miio's `type_id` of a model, given as a Zigbee id (`lumi.sensor_cube.v1`), without
/// `lumi.`, or as a LAN API name (`cube`); −1 (python-miio's "unknown") when not known.
/// Case and surrounding white space do not matter.
pub fn type_id(model: &str) -> i64 {
    type_entry(model).map_or(-1, |e| e.id)
}

/// The Zigbee model id of a `type_id` (`8` → `lumi.sensor_cube.v1`), `None` when unknown.
pub fn model_for_type_id(type_id: i64) -> Option<&'static str> {
    TYPES.iter().find(|e| e.id == type_id).map(|e| e.model)
}

/// The Zigbee model id for any spelling of a known model (`86sw2`, `sensor_86sw2.aq1`,
/// `LUMI.SENSOR_86SW2.V1` → `lumi.sensor_86sw2.v1`); `None` when not in the table.
pub fn canonical_model(model: &str) -> Option<&'static str> {
    type_entry(model).map(|e| e.model)
}

/// Why `device_list` may not work on a gateway model, and what to use instead; `None` for
/// models where it should work (v3, acpartner) or that are unknown.
pub fn device_list_hint(gateway_model: &str) -> Option<&'static str> {
    match gateway_model.trim().to_ascii_lowercase().as_str() {
        "lumi.gateway.mgl03" => {
            Some("the Gateway 3 (mgl03) lists sub-devices with get_device_list, not device_list")
        }
        "lumi.gateway.mieu01" => Some(
            "the EU gateway (mieu01) has no local sub-device list; take it from the Mi Home \
             cloud device list (parent_id = the gateway's did)",
        ),
        _ => None,
    }
}

// --- nodes --------------------------------------------------------------------------------------

/// The miIO node name of a sub-device: `"lumi.<sid>"`.
pub fn node_id(sid: &Sid) -> String {
    format!("lumi.{}", sid.as_str())
}

/// The sid in a sub-device node name (`"lumi.158d…"` → `158d…`); `None` for the gateway itself
/// (`lumi.0`) and for anything that is not `lumi.<sid>`.
pub fn parse_node_id(node: &str) -> Option<Sid> {
    let rest = node.trim().strip_prefix("lumi.")?;
    if rest == "0" {
        return None;
    }
    Sid::new(rest).ok()
}

/// Which node of the gateway a property request is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    /// The gateway itself (`lumi.0`).
    Gateway,
    /// A Zigbee sub-device (`lumi.<sid>`).
    Sub(Sid),
}

impl Node {
    /// The node name on the wire.
    pub fn wire(&self) -> String {
        match self {
            Node::Gateway => GATEWAY_NODE.to_owned(),
            Node::Sub(sid) => node_id(sid),
        }
    }
}

impl From<Sid> for Node {
    fn from(sid: Sid) -> Node {
        Node::Sub(sid)
    }
}

impl From<&Sid> for Node {
    fn from(sid: &Sid) -> Node {
        Node::Sub(sid.clone())
    }
}

// --- calls --------------------------------------------------------------------------------------

/// A request to the gateway: method and params, for any miIO JSON-RPC caller.
#[derive(Clone, PartialEq)]
pub struct GatewayCall {
    /// The miIO method.
    pub method: &'static str,
    /// Its params.
    pub params: Value,
}

impl std::fmt::Debug for GatewayCall {
    /// The method only: `set_lumi_dpf_aes_key` params are a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayCall")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

fn call(method: &'static str, params: Value) -> GatewayCall {
    GatewayCall { method, params }
}

/// `get_device_prop [node, "device_list"]` (v3 / acpartner).
pub fn device_list() -> GatewayCall {
    get_device_prop(&Node::Gateway, "device_list")
}

/// `get_device_prop [node, prop]` → `[value]` (see [`parse_single_value`]).
pub fn get_device_prop(node: &Node, prop: &str) -> GatewayCall {
    call("get_device_prop", json!([node.wire(), prop]))
}

/// `get_device_prop_exp [[node, p1, p2…]]` → `[[v1, v2…]]` (see [`parse_prop_values`]).
pub fn get_device_prop_exp(node: &Node, props: &[&str]) -> Result<GatewayCall, GatewayProtoError> {
    if props.is_empty() {
        return Err(GatewayProtoError::NoProperties);
    }
    let mut list = vec![Value::from(node.wire())];
    list.extend(props.iter().map(|p| Value::from(*p)));
    Ok(call(
        "get_device_prop_exp",
        Value::Array(vec![Value::Array(list)]),
    ))
}

/// `set_device_prop {"sid": node, key: value}` → `["ok"]`.
pub fn set_device_prop(
    node: &Node,
    key: &str,
    value: Value,
) -> Result<GatewayCall, GatewayProtoError> {
    if key == "sid" {
        return Err(GatewayProtoError::ReservedProperty);
    }
    let mut m = Map::new();
    m.insert("sid".into(), Value::from(node.wire()));
    m.insert(key.into(), value);
    Ok(call("set_device_prop", Value::Object(m)))
}

/// `get_rgb` → `[int]` (see [`Light::parse_result`]).
pub fn get_rgb() -> GatewayCall {
    call("get_rgb", json!([]))
}

/// `set_rgb [int]` → `["ok"]`; [`Light::OFF`] turns the light off.
pub fn set_rgb(light: Light) -> GatewayCall {
    call("set_rgb", json!([light.to_int()]))
}

/// `play_music_new ["<id>", volume]` → `["ok"]` (the id as a string, as the app sends it).
pub fn play_sound(id: u32, volume: u8) -> Result<GatewayCall, GatewayProtoError> {
    if volume > 100 {
        return Err(GatewayProtoError::Volume { value: volume });
    }
    Ok(call("play_music_new", json!([id.to_string(), volume])))
}

/// `set_sound_playing ["off"]` → `["ok"]`.
pub fn stop_sound() -> GatewayCall {
    call("set_sound_playing", json!(["off"]))
}

/// `get_lumi_dpf_aes_key` → `["<key>"]` (see [`parse_lan_key`]).
pub fn get_lan_key() -> GatewayCall {
    call("get_lumi_dpf_aes_key", json!([]))
}

/// `set_lumi_dpf_aes_key ["<16 characters>"]` → `["ok"]`. The password is validated by its
/// type ([`GatewayPassword`]); the returned call's `Debug` does not show it.
pub fn set_lan_key(key: &GatewayPassword) -> GatewayCall {
    call("set_lumi_dpf_aes_key", json!([key.expose()]))
}

/// `remove_device ["lumi.<sid>"]` → `["ok"]`: unpairs a sub-device.
pub fn remove_device(sid: &Sid) -> GatewayCall {
    call("remove_device", json!([node_id(sid)]))
}

/// `start_zigbee_join [seconds]` → `["ok"]`: allows pairing for that long (0 stops).
pub fn join_permission(seconds: u16) -> GatewayCall {
    call("start_zigbee_join", json!([seconds]))
}

/// `miIO.info` → an object with `model`, `fw_ver`, …
pub fn info() -> GatewayCall {
    call("miIO.info", json!([]))
}

// --- results ------------------------------------------------------------------------------------

/// Whether a result is the `["ok"]` of a successful command (a bare `"ok"` is accepted too).
pub fn is_ok(result: &Value) -> bool {
    match result {
        Value::String(s) => s.eq_ignore_ascii_case("ok"),
        Value::Array(a) => a.len() == 1 && a.first().is_some_and(is_ok),
        _ => false,
    }
}

/// Checks a command's `["ok"]`.
pub fn expect_ok(method: &'static str, result: &Value) -> Result<(), GatewayProtoError> {
    if is_ok(result) {
        Ok(())
    } else {
        Err(unexpected(method, "[\"ok\"]", result))
    }
}

/// The value of a single-value reply (`get_device_prop`): `[v]` → `v`; a bare value is taken
/// as is.
pub fn parse_single_value(
    method: &'static str,
    result: &Value,
) -> Result<Value, GatewayProtoError> {
    match result {
        Value::Array(a) if a.len() == 1 => Ok(a.first().cloned().unwrap_or(Value::Null)),
        Value::Array(_) | Value::Object(_) => Err(unexpected(method, "[value]", result)),
        other => Ok(other.clone()),
    }
}

/// The values of a `get_device_prop_exp` reply for `count` properties: `[[v1, v2…]]`
/// (python-miio pops the outer list); a flat `[v1, v2…]` of the right length is accepted too.
pub fn parse_prop_values(result: &Value, count: usize) -> Result<Vec<Value>, GatewayProtoError> {
    const M: &str = "get_device_prop_exp";
    let outer = result
        .as_array()
        .ok_or_else(|| unexpected(M, "[[values…]]", result))?;
    let inner = match outer.as_slice() {
        [Value::Array(inner)] => inner,
        flat if flat.len() == count && !flat.iter().any(Value::is_array) => flat,
        _ => return Err(unexpected(M, "[[values…]]", result)),
    };
    if inner.len() != count {
        return Err(unexpected(M, "one value per property", result));
    }
    Ok(inner.to_vec())
}

/// A number given as a JSON number or a numeric string (firmware does both).
fn loose_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// The LAN key from a `get_lumi_dpf_aes_key` result: `Ok(None)` when no key is set (`[""]`,
/// `[]`, `[null]`, `""`, `null`), `Ok(Some)` for a valid 16-character key, an error for
/// anything else (a key this library cannot use is reported, not overwritten).
pub fn parse_lan_key(result: &Value) -> Result<Option<GatewayPassword>, GatewayProtoError> {
    const M: &str = "get_lumi_dpf_aes_key";
    let v = match result {
        Value::Array(a) if a.len() <= 1 => a.first().unwrap_or(&Value::Null),
        Value::Array(_) => return Err(unexpected(M, "[key]", &json!("a list of several items"))),
        other => other,
    };
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        // The key itself never goes into an error: only its shape.
        Value::String(s) => Ok(Some(GatewayPassword::new(s)?)),
        other => Err(unexpected(M, "a string key", &json!(json_kind(other)))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

// --- light --------------------------------------------------------------------------------------

/// A colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rgb {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
}

impl Rgb {
    /// A colour from its parts.
    pub const fn new(r: u8, g: u8, b: u8) -> Rgb {
        Rgb { r, g, b }
    }
}

/// The gateway light: `brightness<<24 | r<<16 | g<<8 | b`, brightness 0–100 (percent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Light {
    brightness: u8,
    rgb: Rgb,
}

impl Light {
    /// The light off (`0`).
    pub const OFF: Light = Light {
        brightness: 0,
        rgb: Rgb::new(0, 0, 0),
    };

    /// A light setting; brightness above 100 is refused.
    pub fn new(rgb: Rgb, brightness: u8) -> Result<Light, GatewayProtoError> {
        if brightness > 100 {
            return Err(GatewayProtoError::Brightness { value: brightness });
        }
        Ok(Light { brightness, rgb })
    }

    /// The wire integer.
    pub fn to_int(self) -> u32 {
        (u32::from(self.brightness) << 24)
            | (u32::from(self.rgb.r) << 16)
            | (u32::from(self.rgb.g) << 8)
            | u32::from(self.rgb.b)
    }

    /// From the wire integer. Total: a brightness byte above 100 (not seen, but the field is
    /// a byte) reads as 100.
    pub fn from_int(v: u32) -> Light {
        let [br, r, g, b] = v.to_be_bytes();
        Light {
            brightness: br.min(100),
            rgb: Rgb::new(r, g, b),
        }
    }

    /// The light from a `get_rgb` result `[int]` (a numeric string or a bare number too).
    pub fn parse_result(result: &Value) -> Result<Light, GatewayProtoError> {
        let v = parse_single_value("get_rgb", result)?;
        loose_i64(&v)
            .and_then(|i| u32::try_from(i).ok())
            .map(Light::from_int)
            .ok_or_else(|| unexpected("get_rgb", "[integer 0..2^32)", result))
    }

    /// Brightness, 0–100.
    pub fn brightness(self) -> u8 {
        self.brightness
    }

    /// The colour.
    pub fn rgb(self) -> Rgb {
        self.rgb
    }

    /// Whether the light is on (brightness above 0).
    pub fn is_on(self) -> bool {
        self.brightness > 0
    }
}

// --- device list --------------------------------------------------------------------------------

/// One sub-device of a `device_list` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubDeviceEntry {
    /// Its sid (`158d0001a2b3c4`).
    pub sid: Sid,
    /// The Zigbee model of its `type_id`, `None` when the id is not in the table.
    pub model: Option<&'static str>,
    /// python-miio's `type_id` (−1 when the item was not a number).
    pub type_id: i64,
    /// The third item (aholstenson reads it as "online": `1`).
    pub online: bool,
    /// The fifth item, firmware version; `None` when not a number that fits.
    pub fw_ver: Option<u32>,
}

/// A record of a `device_list` reply that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// Index of its first item in the flat list.
    pub index: usize,
    /// Why (lowercase).
    pub reason: &'static str,
    /// Its first item (sanitised, cut), for logs.
    pub first: String,
}

/// A parsed `device_list`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceList {
    /// The sub-devices, in the gateway's order (the gateway itself, `lumi.0`, left out).
    pub devices: Vec<SubDeviceEntry>,
    /// Records that were not usable (bad sid, a trailing partial record).
    pub skipped: Vec<SkippedEntry>,
}

/// Parses a `device_list` result: a flat list, 5 items per device
/// `[sid, type_id, online, unknown, fw_ver, …]`; `lumi.0` is skipped. Numbers may be strings;
/// a sid may lack `lumi.`. Only a result that is not a list is an error.
pub fn parse_device_list(result: &Value) -> Result<DeviceList, GatewayProtoError> {
    let items = result
        .as_array()
        .ok_or_else(|| unexpected("get_device_prop device_list", "a flat list", result))?;
    let mut out = DeviceList::default();
    for (n, rec) in items.chunks(DEVICE_LIST_STRIDE).enumerate() {
        let index = n * DEVICE_LIST_STRIDE;
        let first = rec.first().unwrap_or(&Value::Null);
        let show = || match first {
            Value::String(s) => crate::sanitize::truncated(s, 40),
            other => crate::sanitize::truncated(&other.to_string(), 40),
        };
        if rec.len() < DEVICE_LIST_STRIDE {
            out.skipped.push(SkippedEntry {
                index,
                reason: "trailing partial record (fewer than 5 items)",
                first: show(),
            });
            continue;
        }
        let Some(node) = first.as_str() else {
            out.skipped.push(SkippedEntry {
                index,
                reason: "sid is not a string",
                first: show(),
            });
            continue;
        };
        let node = node.trim();
        if node == GATEWAY_NODE || node == "0" {
            continue;
        }
        let sid = parse_node_id(node).or_else(|| {
            // Tolerate a bare sid without `lumi.`, as long as it looks like one.
            (!node.contains('.')).then(|| Sid::new(node).ok()).flatten()
        });
        let Some(sid) = sid else {
            out.skipped.push(SkippedEntry {
                index,
                reason: "not a lumi.<sid> node name",
                first: show(),
            });
            continue;
        };
        let type_id = rec.get(1).and_then(loose_i64).unwrap_or(-1);
        let online = rec.get(2).and_then(loose_i64) == Some(1);
        let fw_ver = rec
            .get(4)
            .and_then(loose_i64)
            .and_then(|v| u32::try_from(v).ok());
        out.devices.push(SubDeviceEntry {
            sid,
            model: model_for_type_id(type_id),
            type_id,
            online,
            fw_ver,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/miio.jsonl"
    ));

    fn record(n: usize) -> Value {
        serde_json::from_str(CORPUS.lines().nth(n - 1).unwrap()).unwrap()
    }

    fn sid(s: &str) -> Sid {
        Sid::new(s).unwrap()
    }

    #[test]
    fn type_ids_both_ways_follow_subdevices_yaml() {
        for (model, id) in [
            ("magnet", 3),
            ("lumi.sensor_magnet.aq2", 53),
            ("sensor_switch.aq2", 51),
            ("86sw2", 12),
            ("cube", 8),
            ("sensor_cube.aqgl01", 68),
            ("sensor_motion.aq2", 52),
            ("weather.v1", 19),
            ("ctrl_86plug.aq1", 65),
            ("LUMI.Sensor_HT.v1 ", 10),
            ("switch.b2nacn02", 170),
            ("ikea.light.led1545g12", 82),
            ("lumi.plug.mmeu01", -2),
            ("gateway", -1),
            ("lumi.0", -1),
            ("", -1),
        ] {
            assert_eq!(type_id(model), id, "{model}");
        }
        // Every id maps back to a model whose type_id is that id (one entry per id).
        for e in TYPES {
            assert_eq!(model_for_type_id(e.id), Some(e.model));
            assert_eq!(type_id(e.model), e.id);
            for a in e.aliases {
                assert_eq!(canonical_model(a), Some(e.model), "{a}");
            }
        }
        assert_eq!(model_for_type_id(8), Some("lumi.sensor_cube.v1"));
        assert_eq!(model_for_type_id(-1), None);
        assert_eq!(model_for_type_id(9999), None);
        assert_eq!(canonical_model("86sw1"), Some("lumi.sensor_86sw1.v1"));
    }

    #[test]
    fn corpus_record_31_device_list() {
        let reply = record(31)["python_miio_parse"]["result"].clone();
        let list = parse_device_list(&reply).unwrap();
        assert!(list.skipped.is_empty());
        assert_eq!(
            list.devices,
            vec![
                SubDeviceEntry {
                    sid: sid("158d0001a2b3c4"),
                    model: Some("lumi.sensor_cube.v1"),
                    type_id: 8,
                    online: true,
                    fw_ver: Some(25),
                },
                SubDeviceEntry {
                    sid: sid("158d0002d4e5f6"),
                    model: Some("lumi.sensor_motion.aq2"),
                    type_id: 52,
                    online: true,
                    fw_ver: Some(10),
                },
            ]
        );
        // Record 30: the request this module builds is python-miio's.
        let req = &record(30)["python_miio_parse"];
        let c = device_list();
        assert_eq!(c.method, req["method"]);
        assert_eq!(c.params, req["params"]);
    }

    #[test]
    fn device_list_is_tolerant_and_never_panics() {
        let odd = json!([
            "lumi.0",
            0,
            1,
            0,
            0,
            "lumi.158d0001a2b3c4",
            "51",
            "1",
            null,
            "7",
            "158d0002d4e5f6",
            9999,
            0,
            0,
            -3,
            5,
            1,
            1,
            0,
            1,
            "lumi.",
            1,
            1,
            0,
            1,
            "x.y",
            1,
            1,
            0,
            1,
            "lumi.158d000aaaaaaa",
            1.0,
            true,
            0,
            1e30,
            "lumi.158d000bbbbbbb",
            1
        ]);
        let list = parse_device_list(&odd).unwrap();
        assert_eq!(list.devices.len(), 3, "{list:?}");
        assert_eq!(list.devices[0].type_id, 51);
        assert_eq!(list.devices[0].model, Some("lumi.sensor_switch.aq2"));
        assert!(list.devices[0].online);
        assert_eq!(list.devices[0].fw_ver, Some(7));
        assert_eq!(list.devices[1].sid, sid("158d0002d4e5f6"));
        assert_eq!(list.devices[1].model, None);
        assert!(!list.devices[1].online);
        assert_eq!(list.devices[1].fw_ver, None);
        assert_eq!(list.devices[2].type_id, 1);
        assert!(list.devices[2].online);
        assert_eq!(list.devices[2].fw_ver, None);
        let reasons: Vec<_> = list.skipped.iter().map(|s| (s.index, s.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                (15, "sid is not a string"),
                (20, "not a lumi.<sid> node name"),
                (25, "not a lumi.<sid> node name"),
                (35, "trailing partial record (fewer than 5 items)"),
            ]
        );
        assert!(parse_device_list(&json!({"a": 1})).is_err());
        assert_eq!(
            parse_device_list(&json!([])).unwrap(),
            DeviceList::default()
        );
        // Every truncation of the corpus list parses without panicking.
        let full = record(31)["python_miio_parse"]["result"].clone();
        let items = full.as_array().unwrap();
        for n in 0..=items.len() {
            let _ = parse_device_list(&Value::Array(items[..n].to_vec())).unwrap();
        }
        // A control character in a sid is escaped in the skip note.
        let evil = parse_device_list(&json!(["\u{1b}[2J", 1, 1, 0, 1])).unwrap();
        assert!(!evil.skipped[0].first.contains('\u{1b}'));
    }

    #[test]
    fn property_requests_match_python_miio() {
        let node = Node::from(sid("158d0001a2b3c4"));
        let c = get_device_prop_exp(&node, &["temperature", "humidity"]).unwrap();
        assert_eq!(c.method, record(32)["python_miio_parse"]["method"]);
        assert_eq!(c.params, record(32)["python_miio_parse"]["params"]);
        assert_eq!(
            get_device_prop_exp(&node, &[]).unwrap_err(),
            GatewayProtoError::NoProperties
        );
        let c = get_device_prop(&Node::Gateway, "tzone_sec");
        assert_eq!(c.params, json!(["lumi.0", "tzone_sec"]));
        let c = set_device_prop(&node, "channel_0", json!("on")).unwrap();
        assert_eq!(c.method, "set_device_prop");
        assert_eq!(
            c.params,
            json!({"sid": "lumi.158d0001a2b3c4", "channel_0": "on"})
        );
        assert!(set_device_prop(&node, "sid", json!(1)).is_err());
        assert_eq!(
            parse_prop_values(&json!([[2150, 4520]]), 2).unwrap(),
            vec![json!(2150), json!(4520)]
        );
        assert_eq!(
            parse_prop_values(&json!([2150, 4520]), 2).unwrap(),
            vec![json!(2150), json!(4520)]
        );
        assert!(parse_prop_values(&json!([[1]]), 2).is_err());
        assert!(parse_prop_values(&json!("x"), 1).is_err());
        assert!(parse_prop_values(&json!([[1], [2]]), 1).is_err());
        assert_eq!(
            parse_single_value("m", &json!([3015])).unwrap(),
            json!(3015)
        );
        assert_eq!(parse_single_value("m", &json!(5)).unwrap(), json!(5));
        assert!(parse_single_value("m", &json!([1, 2])).is_err());
        assert_eq!(
            remove_device(&sid("158d0001a2b3c4")).params,
            json!(["lumi.158d0001a2b3c4"])
        );
        assert_eq!(join_permission(30).params, json!([30]));
        assert_eq!(parse_node_id("lumi.0"), None);
        assert_eq!(
            parse_node_id("lumi.158D0001A2B3C4"),
            Some(sid("158d0001a2b3c4"))
        );
        assert_eq!(parse_node_id("158d0001a2b3c4"), None);
    }

    #[test]
    fn light_integer_both_ways() {
        // Record 33: python-miio's set_rgb(50, (255, 0, 0)).
        let light = Light::new(Rgb::new(255, 0, 0), 50).unwrap();
        assert_eq!(light.to_int(), 855_572_480);
        assert_eq!(
            set_rgb(light).params,
            record(33)["python_miio_parse"]["params"]
        );
        assert_eq!(Light::from_int(855_572_480), light);
        for v in [0u32, 1, 0x64ff_ffff, 0x0a01_0203] {
            assert_eq!(Light::from_int(v).to_int(), v);
        }
        assert_eq!(Light::from_int(0xff00_0000).brightness(), 100);
        assert_eq!(
            Light::new(Rgb::default(), 101).unwrap_err(),
            GatewayProtoError::Brightness { value: 101 }
        );
        assert_eq!(set_rgb(Light::OFF).params, json!([0]));
        assert!(!Light::OFF.is_on());
        assert_eq!(Light::parse_result(&json!([855_572_480])).unwrap(), light);
        assert_eq!(Light::parse_result(&json!(["855572480"])).unwrap(), light);
        assert!(Light::parse_result(&json!([-1])).is_err());
        assert!(Light::parse_result(&json!(["red"])).is_err());
        assert!(Light::parse_result(&json!([u64::MAX])).is_err());
    }

    #[test]
    fn sound_and_lan_key() {
        assert_eq!(play_sound(21, 30).unwrap().params, json!(["21", 30]));
        assert_eq!(
            play_sound(21, 101).unwrap_err(),
            GatewayProtoError::Volume { value: 101 }
        );
        assert_eq!(stop_sound().params, json!(["off"]));

        let key: GatewayPassword = "0987654321qwerty".parse().unwrap();
        let c = set_lan_key(&key);
        assert_eq!(c.params, json!(["0987654321qwerty"]));
        assert!(!format!("{c:?}").contains("qwerty"), "Debug hides the key");
        assert_eq!(
            parse_lan_key(&json!(["0987654321qwerty"])).unwrap(),
            Some(key)
        );
        for unset in [
            json!([""]),
            json!([]),
            json!([null]),
            json!(""),
            json!(null),
            json!(["  "]),
        ] {
            assert_eq!(parse_lan_key(&unset).unwrap(), None, "{unset}");
        }
        let short = parse_lan_key(&json!(["secret"])).unwrap_err();
        assert!(matches!(
            short,
            GatewayProtoError::LanKey(KeyError::PasswordLength { len: 6 })
        ));
        assert!(!short.to_string().contains("secret"));
        let err = parse_lan_key(&json!([12345])).unwrap_err().to_string();
        assert!(err.contains("a number"), "{err}");
        assert!(parse_lan_key(&json!(["a", "b"])).is_err());
    }

    #[test]
    fn ok_results() {
        assert!(is_ok(&json!(["ok"])));
        assert!(is_ok(&json!("ok")));
        assert!(is_ok(&json!(["OK"])));
        assert!(!is_ok(&json!(["ok", "ok"])));
        assert!(!is_ok(&json!(0)));
        assert!(!is_ok(&json!([])));
        assert!(!is_ok(&json!([["ok"], 1])));
        let e = expect_ok("set_rgb", &json!({"code": -1}))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("unexpected result for set_rgb"), "{e}");
    }

    #[test]
    fn device_list_hints_name_the_alternative() {
        assert!(
            device_list_hint("lumi.gateway.mgl03")
                .unwrap()
                .contains("get_device_list")
        );
        assert!(device_list_hint("lumi.gateway.mieu01").is_some());
        assert_eq!(device_list_hint("lumi.gateway.v3"), None);
    }
}
