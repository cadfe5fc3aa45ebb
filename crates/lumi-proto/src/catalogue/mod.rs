//! The device catalogue: one data entry per device model, and the conversion between the raw
//! properties of the LAN API (v1 `data` keys, v2 `params` keys) and typed values in one
//! vocabulary.
//!
//! Each [`Device`] in [`DEVICES`] lists every model string it goes by (`magnet` and
//! `sensor_magnet`), its name, product code, manufacturer, [`DeviceKind`], [`PowerSource`] and
//! its [`Property`]s. A property has a canonical name, a [`ValueType`], a unit, where it comes
//! from in v1 and in v2 ([`Source`]: raw key + [`Codec`]), how it is written ([`Write`]) and how
//! Home Assistant shows it ([`HaEntity`]). The bridge builds discovery from this data alone;
//! adding a model is adding one entry.
//!
//! # Reading
//!
//! [`decode`](fn@decode) turns `(model, version, props)` into a [`DeviceState`]: typed [`Reading`]s plus
//! the raw leftovers. v1 and v2 give the same readings for the same physical state. Numbers
//! may arrive as strings or numbers. Nothing is dropped: an unknown model, an unknown key, or a
//! value that does not convert (wrong type, out of range, garbage) stays in
//! [`DeviceState::raw`] exactly as received. A device that says "unknown"/"invalid" or sends
//! an invalid sentinel (weather temperature 10000, humidity 0, pressure 0; curtain level −1 or
//! 255) gives the typed value [`TypedValue::Null`].
//!
//! ```
//! use lumi_proto::catalogue::{self, TypedValue};
//! use lumi_proto::lan::{Props, ProtoVersion};
//!
//! let v1 = Props::new().with("voltage", 3005).with("temperature", "2120").with("humidity", "5277");
//! let state = catalogue::decode("sensor_ht", ProtoVersion::V1, &v1);
//! assert_eq!(state.get("temperature"), Some(&TypedValue::Float(21.2)));
//! assert_eq!(state.get("humidity"), Some(&TypedValue::Float(52.77)));
//! assert_eq!(state.get("battery"), Some(&TypedValue::Int(41)));
//! assert_eq!(state.get("voltage"), Some(&TypedValue::Int(3005)));
//! assert!(state.raw.is_empty());
//! assert_eq!(
//!     serde_json::to_string(&state)?,
//!     r#"{"model":"sensor_ht","values":{"temperature":21.2,"humidity":52.77,"battery":41,"voltage":3005},"raw":{}}"#
//! );
//!
//! // The same button press in both dialects.
//! let v1 = catalogue::decode("86sw2", ProtoVersion::V1, &Props::new().with("dual_channel", "both_click"));
//! let v2 = catalogue::decode("sensor_86sw2.aq1", ProtoVersion::V2, &Props::new().with("dual_channel", "click"));
//! assert_eq!(v1.get("action"), Some(&TypedValue::text("single_both")));
//! assert_eq!(v1.readings, v2.readings);
//!
//! // Writing: the raw keys differ by version, and v1 curtains want strings.
//! let w = catalogue::encode_write("curtain", ProtoVersion::V1, &[("level", TypedValue::Int(50))])?;
//! assert_eq!(serde_json::to_string(&w)?, r#"{"curtain_level":"50"}"#);
//! let w = catalogue::encode_write("plug", ProtoVersion::V2, &[("state", TypedValue::text("on"))])?;
//! assert_eq!(serde_json::to_string(&w)?, r#"{"channel_0":"on"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Vocabulary
//!
//! Property names (snake_case; units of the typed value):
//!
//! | property | type, unit | raw v1 → v2 keys |
//! |---|---|---|
//! | `temperature` | number, °C | `temperature` (hundredths) |
//! | `humidity` | number, % | `humidity` (hundredths) |
//! | `pressure` | number, hPa | `pressure` (Pa) |
//! | `illuminance` | integer, lx | `lux`/`illumination`; the gateway's raw `illumination` kept as is |
//! | `contact` | bool, true = closed | `status`/`no_close` → `window_status` |
//! | `no_close_seconds` | integer, s | `no_close` |
//! | `occupancy` | bool | `status` motion / `no_motion` → `motion_status` |
//! | `no_motion_seconds` | integer, s | `no_motion` |
//! | `water_leak` | bool | `status` → `wleak_status` |
//! | `alarm` | bool (null on a fault) | `alarm` code → `natgas_status`/`smoke_status` |
//! | `fault` | none, battery_fault, sensitivity_fault, i2c_failure | `alarm` code |
//! | `density` | number | `density` |
//! | `action` | enum of events (below) | `status`, `channel_N`, `dual_channel`, `rotate` → `button_N`, `dual_channel`, `cube_status` |
//! | `angle` | number, ° (cube, + clockwise) | `rotate` delta × 3.6 → `rotate_degree` |
//! | `duration` | integer, ms (cube) | `rotate` → `detect_time` |
//! | `tilt_angle`, `x_axis`, `y_axis`, `z_axis`, `bed_activity` | integer | vibration `final_tilt_angle`, `coordination`, `bed_activity` |
//! | `state`, `state_left`, `state_right`, `state_l1`, `state_l2`, `relay` | `on`/`off` | plug `status` → `channel_0`; switches and relays `channel_0`/`channel_1` |
//! | `power` | number, W | `load_power` |
//! | `energy` | number, Wh | `power_consumed` → `energy_consumed` |
//! | `in_use` | bool | `inuse` |
//! | `level` | integer 0–100, % | `curtain_level` |
//! | `motor` | open, close, stop, auto | `status` → `curtain_status` |
//! | `unlock_method`, `user_id`, `wrong_attempts` | finger/password/card, integer, integer | `*_verified` = method << 16 \| user, `verified_wrong` |
//! | `light`, `brightness`, `color` | `on`/`off`, 0–100 %, `{r,g,b}` | gateway `rgb` (see [`rgb_to_light`]) |
//! | `sound`, `volume` | sound name ([`SOUNDS`]) or `stop`, 0–100 % | `mid`, `vol` |
//! | `pairing`, `remove_device` | bool, sid | `join_permission`, `remove_device` |
//! | `system_mode`, `fan_mode`, `swing_mode`, `target_temperature`, `local_temperature` | climate | `mode_cfg`, `ws_cfg`, `swing_cfg`, `temp_cfg`, `env_temp` |
//! | `battery` | integer 0–100, % | `voltage` → `battery_voltage` (see [`battery_percent`]) |
//! | `voltage` | integer, mV | `voltage` → `battery_voltage` |
//! | `proto_version`, `ip` | text | `proto_version`, `ip` |
//!
//! Events (`action` values, also [`Device::events`] for Home Assistant device triggers):
//! buttons `single` (click), `double` (double_click), `long` (long_click_press, long_click),
//! `long_release` (long_click_release), `shake`; two-key wall switches add `_left`
//! (channel/button 0), `_right` (1) and `_both` (`dual_channel`): `single_left`,
//! `double_right`, `long_both` …; the cube `flip90`, `flip180`, `slide` (move), `tap`
//! (tap_twice), `shake` (shake_air), `throw` (swing), `wakeup` (alert), `fall` (free_fall),
//! `rotate_right`/`rotate_left` (by the sign of the rotation), `rotate` (v2 without an angle);
//! the vibration sensor `vibration`, `tilt`, `fall`.
//!
//! Battery: linear 2800 mV = 0 % to 3300 mV = 100 %, rounded and clamped, as Home Assistant
//! does; only battery devices have a `battery` property (mains devices report a fixed 3300 or
//! 3600 mV `voltage`).
//!
//! # Writing
//!
//! [`encode_write`] turns canonical values into the raw [`Props`] of a `write` for a version,
//! or a [`WriteError`] naming the model, the property, the value and what is allowed.

mod decode;
mod devices;
mod model;
mod report;
mod sound;
mod value;
mod write;

#[cfg(test)]
mod tests;

pub use decode::{DeviceState, Reading, battery_percent};
pub use devices::DEVICES;
pub use model::{
    AlarmCode, Codec, Device, DeviceKind, EntityCategory, HaComponent, HaEntity, HaPart, HaPayload,
    HaRole, Manufacturer, PowerSource, Property, RgbPart, Scalar, Source, StateClass, ValueType,
    Write,
};
pub use report::encode_report;
pub use sound::{
    CUSTOM_SOUND_MIN, MAX_VOLUME, SOUND_NAMES, SOUND_STOP, SOUNDS, STOP_NAME, Sound, SoundGroup,
    SoundId, VolumeError, sound_by_id, sound_by_name, validate_volume,
};
pub use value::{Light, MAX_BRIGHTNESS, Rgb, TypedValue, light_to_rgb, rgb_to_light};
pub use write::WriteError;

use crate::lan::{Props, ProtoVersion};

/// Every catalogued device (the same as [`DEVICES`]).
pub fn devices() -> &'static [Device] {
    DEVICES
}

/// Every model string the catalogue knows, aliases included.
pub fn model_strings() -> impl Iterator<Item = &'static str> {
    DEVICES.iter().flat_map(|d| d.models.iter().copied())
}

/// The catalogue entry for a model string: exact, then ignoring case and surrounding spaces
/// (`" ctrl_neutral1"` appears in the docs), then without a `lumi.` prefix (miIO spells models
/// `lumi.sensor_magnet.aq2`).
///
/// ```
/// use lumi_proto::catalogue::{self, DeviceKind};
/// assert_eq!(catalogue::lookup("sensor_magnet.aq2").unwrap().product_code, "MCCGQ11LM");
/// assert_eq!(catalogue::lookup("lumi.sensor_86sw2.aq1").unwrap().kind, DeviceKind::WallSwitchWireless);
/// assert!(catalogue::lookup("").is_none());
/// ```
pub fn lookup(model: &str) -> Option<&'static Device> {
    let find = |m: &str| {
        DEVICES
            .iter()
            .find(|d| d.models.iter().any(|x| x.eq_ignore_ascii_case(m)))
    };
    let m = model.trim();
    if m.is_empty() {
        return None;
    }
    find(m).or_else(|| {
        let stripped = m.get(..5).filter(|p| p.eq_ignore_ascii_case("lumi."))?;
        find(&m[stripped.len()..])
    })
}

/// Typed values of the raw properties of a message from a device of `model`, for a protocol
/// version. An unknown model gives no readings and every property raw.
pub fn decode(model: &str, version: ProtoVersion, props: &Props) -> DeviceState {
    match lookup(model) {
        Some(device) => device.decode(version, props),
        None => DeviceState {
            device: None,
            readings: Vec::new(),
            raw: props.clone(),
        },
    }
}

/// The raw properties to put in a `write` to a device of `model`, for canonical
/// `(property, value)` pairs, in the order given (a later value for the same raw key wins).
///
/// Brightness and colour parts written together become one packed value (gateway `rgb`); sound
/// and volume become `mid` and `vol`.
///
/// ```
/// use lumi_proto::catalogue::{self, Rgb, TypedValue};
/// use lumi_proto::lan::ProtoVersion;
/// let w = catalogue::encode_write(
///     "gateway",
///     ProtoVersion::V1,
///     &[("brightness", TypedValue::Int(100)), ("color", Rgb { r: 255, g: 0, b: 0 }.into())],
/// )?;
/// assert_eq!(serde_json::to_string(&w)?, r#"{"rgb":1694433280}"#);
/// let err = catalogue::encode_write("sensor_ht", ProtoVersion::V1, &[("temperature", TypedValue::Int(20))])
///     .unwrap_err();
/// assert_eq!(err.to_string(), "property temperature of model sensor_ht is read-only (writable: none)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_write(
    model: &str,
    version: ProtoVersion,
    values: &[(&str, TypedValue)],
) -> Result<Props, WriteError> {
    device_for(model)?.encode_write(version, values)
}

/// The catalogue entry of `model`, or the error that says it is not catalogued.
pub(crate) fn device_for(model: &str) -> Result<&'static Device, WriteError> {
    lookup(model).ok_or_else(|| WriteError::UnknownModel {
        model: model.to_owned(),
    })
}

/// [`encode_write`] for one property.
pub fn encode_write_one(
    model: &str,
    version: ProtoVersion,
    property: &str,
    value: TypedValue,
) -> Result<Props, WriteError> {
    encode_write(model, version, &[(property, value)])
}
