//! [`MiioGateway`]: a Xiaomi/Aqara gateway controlled over miIO.
//!
//! The requests and result parsers are `lumi_proto::miio::gateway` (sans-IO); this layer
//! makes the calls through any [`MiioRpc`] (the real device driver, or a test double), turns
//! results into types and failures into [`GatewayError`]s that name the gateway and the method.
//!
//! | method | miIO call |
//! |---|---|
//! | [`MiioGateway::devices`] | `get_device_prop ["lumi.0","device_list"]` (v3 / acpartner) |
//! | [`MiioGateway::get_prop`] | `get_device_prop_exp [["lumi.<sid>", p…]]` |
//! | [`MiioGateway::set_prop`] | `set_device_prop {"sid":"lumi.<sid>", key: value}` |
//! | [`MiioGateway::light`] / [`set_light`](MiioGateway::set_light) / [`light_off`](MiioGateway::light_off) | `get_rgb` / `set_rgb [brightness<<24 \| rgb]` |
//! | [`MiioGateway::play_sound`] / [`stop_sound`](MiioGateway::stop_sound) | `play_music_new ["<id>", volume]` / `set_sound_playing ["off"]` |
//! | [`MiioGateway::lan_key`] / [`set_lan_key`](MiioGateway::set_lan_key) / [`enable_lan_api`](MiioGateway::enable_lan_api) | `get_lumi_dpf_aes_key` / `set_lumi_dpf_aes_key [key]` |
//! | [`MiioGateway::remove_device`] | `remove_device ["lumi.<sid>"]` |
//! | [`MiioGateway::join_permission`] | `start_zigbee_join [seconds]` |
//! | [`MiioGateway::add_scene`] / [`delete_scene`](MiioGateway::delete_scene) | `send_data_frame` / `miIO.xdel` (used by the push server) |
//!
//! **Enabling the LAN API without the app.** The LAN ("developer") API on UDP 9898 needs the
//! gateway's 16-character LAN password; the Mi Home app shows it only after a hidden menu is
//! unlocked. [`MiioGateway::enable_lan_api`] reads it over miIO and, when none is set, sets a
//! random one (16 letters and digits from the OS random source, `/dev/urandom`) and returns it.
//!
//! The handle is cheap to clone (the caller is behind an `Arc`), so the push server can keep
//! one to delete its scenes later.

use std::error::Error as StdError;
use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;

use lumi_proto::key::GatewayPassword;
use lumi_proto::lan::Sid;
use lumi_proto::miio::gateway::{
    self as proto, GatewayCall, GatewayProtoError, Light, Node, Rgb, SubDeviceEntry,
};
use lumi_proto::miio::push::{self, Scene, SceneId};
use lumi_proto::miio::{DeviceError, DeviceId, MiioToken};
use serde_json::Value;

use super::MiioRpc;

/// Who a gateway is on miIO: where it listens, its token, its device id.
///
/// The push server needs all three: the address to recognise the gateway's pushes, the token
/// to open them and derive the scene's `token_enc`, the device id for stable scene ids.
/// `Debug` does not show the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIdentity {
    /// The gateway's miIO address (`ip:54321`).
    pub addr: SocketAddr,
    /// Its miIO token.
    pub token: MiioToken,
    /// Its miIO device id (from the hello reply).
    pub device_id: DeviceId,
}

/// Why a gateway operation failed. Messages name the gateway and the method; they never
/// contain the token or a LAN key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError<E: StdError + 'static> {
    /// The miIO call itself failed (timeout, device error reply, …).
    #[error("miio call {method} to gateway {gateway} failed: {source}")]
    Call {
        /// The method.
        method: &'static str,
        /// The gateway.
        gateway: SocketAddr,
        /// What the caller reported.
        #[source]
        source: E,
    },
    /// The gateway answered, but not in a way this library understands.
    #[error("gateway {gateway} answered {method} unexpectedly: {source}")]
    Reply {
        /// The method.
        method: &'static str,
        /// The gateway.
        gateway: SocketAddr,
        /// What was wrong with the answer.
        #[source]
        source: GatewayProtoError,
    },
    /// The request could not be built from the arguments given (brightness, volume, …).
    #[error("invalid request to gateway {gateway}: {source}")]
    Invalid {
        /// The gateway.
        gateway: SocketAddr,
        /// What was wrong.
        #[source]
        source: GatewayProtoError,
    },
    /// The model does not list its sub-devices with `device_list`.
    #[error("gateway {gateway} ({model}) does not answer device_list ({why}): {hint}")]
    DeviceListUnsupported {
        /// The gateway.
        gateway: SocketAddr,
        /// Its model from `miIO.info` (sanitised), or `unknown model`.
        model: String,
        /// The answer it gave (sanitised).
        why: String,
        /// What to do instead.
        hint: &'static str,
    },
    /// No random source for a new LAN key.
    #[error("cannot read /dev/urandom to generate a lan key for gateway {gateway}: {source}")]
    Random {
        /// The gateway.
        gateway: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The LAN key after [`MiioGateway::enable_lan_api`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanKey {
    /// The key (redacted in `Debug`; [`GatewayPassword::expose`] for the text).
    pub key: GatewayPassword,
    /// Whether it was generated and set just now (the gateway had none).
    pub generated: bool,
}

/// A device error reply anywhere in an error's `source()` chain (the device driver reports
/// `{"error": {...}}` replies as a `lumi_proto::miio::DeviceError` there).
pub fn device_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a DeviceError> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(d) = err.downcast_ref::<DeviceError>() {
            return Some(d);
        }
        // The device driver's error carries the device's answer as a field, not a source.
        if let Some(d) = err
            .downcast_ref::<super::MiioError>()
            .and_then(super::MiioError::device_error)
        {
            return Some(d);
        }
        cur = err.source();
    }
    None
}

struct Inner<R> {
    rpc: R,
    identity: GatewayIdentity,
}

/// A gateway over miIO, generic over the caller `R`. Cheap to clone.
pub struct MiioGateway<R> {
    inner: Arc<Inner<R>>,
}

impl<R> Clone for MiioGateway<R> {
    fn clone(&self) -> Self {
        MiioGateway {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<R> fmt::Debug for MiioGateway<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MiioGateway")
            .field("addr", &self.inner.identity.addr)
            .field("device_id", &self.inner.identity.device_id)
            .finish_non_exhaustive()
    }
}

impl<R: MiioRpc> MiioGateway<R> {
    /// A gateway reached through `rpc` (which must talk to `identity.addr` with
    /// `identity.token`).
    pub fn new(rpc: R, identity: GatewayIdentity) -> Self {
        MiioGateway {
            inner: Arc::new(Inner { rpc, identity }),
        }
    }

    /// Address, token and device id.
    pub fn identity(&self) -> &GatewayIdentity {
        &self.inner.identity
    }

    /// The gateway's miIO address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.identity.addr
    }

    /// The caller, for methods this type does not wrap.
    pub fn rpc(&self) -> &R {
        &self.inner.rpc
    }

    async fn call(&self, c: GatewayCall) -> Result<Value, GatewayError<R::Error>> {
        tracing::debug!(gateway = %self.addr(), method = c.method, "miio gateway call");
        self.inner
            .rpc
            .call(c.method, c.params, None)
            .await
            .map_err(|source| GatewayError::Call {
                method: c.method,
                gateway: self.addr(),
                source,
            })
    }

    /// A call whose answer must be `["ok"]`.
    async fn command(&self, c: GatewayCall) -> Result<(), GatewayError<R::Error>> {
        let method = c.method;
        let result = self.call(c).await?;
        proto::expect_ok(method, &result).map_err(|e| self.reply_error(method, e))
    }

    fn reply_error(
        &self,
        method: &'static str,
        source: GatewayProtoError,
    ) -> GatewayError<R::Error> {
        GatewayError::Reply {
            method,
            gateway: self.addr(),
            source,
        }
    }

    fn invalid(&self, source: GatewayProtoError) -> GatewayError<R::Error> {
        GatewayError::Invalid {
            gateway: self.addr(),
            source,
        }
    }

    /// The model from `miIO.info` (`lumi.gateway.v3`), sanitised for printing.
    pub async fn model(&self) -> Result<String, GatewayError<R::Error>> {
        let info = self.call(proto::info()).await?;
        info.get("model")
            .and_then(Value::as_str)
            .map(|m| lumi_proto::sanitize::truncated(m, 60))
            .ok_or_else(|| {
                self.reply_error(
                    "miIO.info",
                    GatewayProtoError::UnexpectedResult {
                        method: "miIO.info",
                        expected: "an object with \"model\"",
                        got: lumi_proto::sanitize::truncated(&info.to_string(), 120),
                    },
                )
            })
    }

    /// The sub-devices (`device_list`, v3 and acpartner gateways). Records the gateway sends
    /// that cannot be used are logged and left out. A gateway that refuses the method (or
    /// answers something else than a list) gives
    /// [`GatewayError::DeviceListUnsupported`] naming its model and what to use instead
    /// (mgl03: `get_device_list`).
    pub async fn devices(&self) -> Result<Vec<SubDeviceEntry>, GatewayError<R::Error>> {
        let c = proto::device_list();
        let why = match self.call(c).await {
            Ok(result) => match proto::parse_device_list(&result) {
                Ok(list) => {
                    for s in &list.skipped {
                        tracing::warn!(
                            gateway = %self.addr(),
                            index = s.index,
                            item = %s.first,
                            "device_list record skipped: {}",
                            s.reason
                        );
                    }
                    return Ok(list.devices);
                }
                Err(e) => e.to_string(),
            },
            Err(e) => match &e {
                GatewayError::Call { source, .. } => match device_error(source) {
                    Some(d) => format!(
                        "device error {}: {}",
                        d.code,
                        lumi_proto::sanitize::truncated(&d.message, 80)
                    ),
                    // Timeouts and the like are not the model's fault.
                    None => return Err(e),
                },
                _ => return Err(e),
            },
        };
        let model = match self.model().await {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(gateway = %self.addr(), "miIO.info failed too: {e}");
                "unknown model".to_owned()
            }
        };
        let hint = proto::device_list_hint(&model).unwrap_or(
            "this gateway model may not list sub-devices over miio; take the list from the \
             Mi Home cloud or the LAN API (get_id_list)",
        );
        Err(GatewayError::DeviceListUnsupported {
            gateway: self.addr(),
            model,
            why,
            hint,
        })
    }

    /// Reads properties of a sub-device (`get_device_prop_exp`), one value per name, in
    /// order (`null` for one the device does not have).
    pub async fn get_prop(
        &self,
        sid: &Sid,
        props: &[&str],
    ) -> Result<Vec<Value>, GatewayError<R::Error>> {
        let c = proto::get_device_prop_exp(&Node::from(sid), props).map_err(|e| self.invalid(e))?;
        let method = c.method;
        let result = self.call(c).await?;
        proto::parse_prop_values(&result, props.len()).map_err(|e| self.reply_error(method, e))
    }

    /// Writes one property of a sub-device (`set_device_prop`).
    pub async fn set_prop(
        &self,
        sid: &Sid,
        key: &str,
        value: Value,
    ) -> Result<(), GatewayError<R::Error>> {
        let c =
            proto::set_device_prop(&Node::from(sid), key, value).map_err(|e| self.invalid(e))?;
        self.command(c).await
    }

    /// The gateway light.
    pub async fn light(&self) -> Result<Light, GatewayError<R::Error>> {
        let result = self.call(proto::get_rgb()).await?;
        Light::parse_result(&result).map_err(|e| self.reply_error("get_rgb", e))
    }

    /// Sets the light: a colour and a brightness 0–100 (0 is off).
    pub async fn set_light(&self, rgb: Rgb, brightness: u8) -> Result<(), GatewayError<R::Error>> {
        let light = Light::new(rgb, brightness).map_err(|e| self.invalid(e))?;
        self.command(proto::set_rgb(light)).await
    }

    /// Turns the light off.
    pub async fn light_off(&self) -> Result<(), GatewayError<R::Error>> {
        self.command(proto::set_rgb(Light::OFF)).await
    }

    /// Plays sound `id` (ringtones, alarm sounds, user uploads ≥ 10001) at `volume` 0–100.
    pub async fn play_sound(&self, id: u32, volume: u8) -> Result<(), GatewayError<R::Error>> {
        let c = proto::play_sound(id, volume).map_err(|e| self.invalid(e))?;
        self.command(c).await
    }

    /// Stops the sound playing.
    pub async fn stop_sound(&self) -> Result<(), GatewayError<R::Error>> {
        self.command(proto::stop_sound()).await
    }

    /// The LAN API password, `None` when none is set.
    pub async fn lan_key(&self) -> Result<Option<GatewayPassword>, GatewayError<R::Error>> {
        let result = self.call(proto::get_lan_key()).await?;
        proto::parse_lan_key(&result).map_err(|e| self.reply_error("get_lumi_dpf_aes_key", e))
    }

    /// Sets the LAN API password. Writes on the LAN API then need keys derived from it.
    pub async fn set_lan_key(&self, key: &GatewayPassword) -> Result<(), GatewayError<R::Error>> {
        self.command(proto::set_lan_key(key)).await
    }

    /// Enables the LAN API without the app: returns the LAN password, generating a random one
    /// and setting it when the gateway has none.
    pub async fn enable_lan_api(&self) -> Result<LanKey, GatewayError<R::Error>> {
        if let Some(key) = self.lan_key().await? {
            return Ok(LanKey {
                key,
                generated: false,
            });
        }
        let key = generate_lan_key().map_err(|source| GatewayError::Random {
            gateway: self.addr(),
            source,
        })?;
        self.set_lan_key(&key).await?;
        tracing::info!(gateway = %self.addr(), "generated and set a new lan key");
        Ok(LanKey {
            key,
            generated: true,
        })
    }

    /// Unpairs a sub-device.
    pub async fn remove_device(&self, sid: &Sid) -> Result<(), GatewayError<R::Error>> {
        self.command(proto::remove_device(sid)).await
    }

    /// Allows new sub-devices to pair for `seconds` (0 stops).
    pub async fn join_permission(&self, seconds: u16) -> Result<(), GatewayError<R::Error>> {
        self.command(proto::join_permission(seconds)).await
    }

    /// Registers a scene (`send_data_frame`, one fragment). The gateway must answer `["ok"]`.
    pub async fn add_scene(&self, scene: &Scene) -> Result<(), GatewayError<R::Error>> {
        let params = push::send_data_frame_params(&scene.to_data());
        self.command(GatewayCall {
            method: push::SEND_DATA_FRAME,
            params,
        })
        .await
    }

    /// Deletes a scene (`miIO.xdel`); unknown ids are fine for the gateways seen.
    pub async fn delete_scene(&self, id: &SceneId) -> Result<(), GatewayError<R::Error>> {
        self.command(GatewayCall {
            method: push::XDEL,
            params: push::xdel_params(std::slice::from_ref(id)),
        })
        .await
    }
}

/// Characters of a generated LAN key: the letters and digits the app uses.
const KEY_ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A random 16-character LAN key (letters and digits) from `/dev/urandom`, unbiased
/// (rejection sampling).
pub fn generate_lan_key() -> std::io::Result<GatewayPassword> {
    let mut urandom = std::fs::File::open("/dev/urandom")?;
    let mut key = String::with_capacity(16);
    let mut buf = [0u8; 32];
    while key.len() < 16 {
        urandom.read_exact(&mut buf)?;
        for b in buf {
            // 248 = 4 × 62: bytes above would favour the first characters.
            if b < 248 && key.len() < 16 {
                key.push(char::from(KEY_ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    GatewayPassword::new(&key).map_err(|e| std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_valid_and_differ() {
        let a = generate_lan_key().unwrap();
        let b = generate_lan_key().unwrap();
        assert_ne!(a, b);
        for k in [&a, &b] {
            assert_eq!(k.expose().len(), 16);
            assert!(k.expose().bytes().all(|c| c.is_ascii_alphanumeric()));
        }
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
