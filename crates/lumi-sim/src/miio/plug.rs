//! A simulated Wi-Fi smart plug (`chuangmi.plug.m1` or `chuangmi.plug.v3`).
//!
//! Methods, as python-miio's `ChuangmiPlug` uses them
//! (`miio/integrations/chuangmi/plug/chuangmi_plug.py`):
//!
//! | method | params | result |
//! |---|---|---|
//! | `get_prop` | property names | one value per name, `null` for an unknown name |
//! | `set_power` | `["on"]` / `["off"]` | `["ok"]` |
//! | `set_wifi_led` | `["on"]` / `["off"]` | `["ok"]` |
//! | `set_usb_on`, `set_usb_off` (v3) | none | `["ok"]` |
//! | `get_power` (v3) | none | `[load in W]` |
//!
//! Properties: m1 `power` (`"on"`/`"off"`), `temperature` (°C, integer), `wifi_led`; v3 `on`
//! and `usb_on` (booleans), `temperature`, `wifi_led`. Other methods: `-10000`.

use std::time::Instant;

use lumi_proto::miio::RpcRequest;
use serde_json::{Value, json};

use super::server::{MethodError, MethodResult, MiioBackend};

/// Which plug is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlugModel {
    /// `chuangmi.plug.m1`: `power` as `"on"`/`"off"`.
    M1,
    /// `chuangmi.plug.v3`: `on` and `usb_on` as booleans, `get_power` for the load.
    V3,
}

impl PlugModel {
    /// The model string (`chuangmi.plug.m1`, `chuangmi.plug.v3`).
    pub fn as_str(self) -> &'static str {
        match self {
            PlugModel::M1 => "chuangmi.plug.m1",
            PlugModel::V3 => "chuangmi.plug.v3",
        }
    }
}

/// The state of a simulated plug; it is also its [`MiioBackend`].
#[derive(Debug, Clone, PartialEq)]
pub struct SimPlug {
    /// The model.
    pub model: PlugModel,
    /// Relay on.
    pub power: bool,
    /// USB port on (v3).
    pub usb: bool,
    /// Wi-Fi LED on.
    pub wifi_led: bool,
    /// Temperature, °C.
    pub temperature: i64,
    /// Load while on, W (`get_power` answers 0 while off).
    pub load: f64,
}

impl SimPlug {
    /// A plug that is off, at 38 °C, drawing 12.5 W when on.
    pub fn new(model: PlugModel) -> SimPlug {
        SimPlug {
            model,
            power: false,
            usb: false,
            wifi_led: true,
            temperature: 38,
            load: 12.5,
        }
    }

    fn prop(&self, name: &str) -> Value {
        let on_off = |b: bool| Value::from(if b { "on" } else { "off" });
        match (self.model, name) {
            (PlugModel::M1, "power") => on_off(self.power),
            (PlugModel::V3, "on") => Value::Bool(self.power),
            (PlugModel::V3, "usb_on") => Value::Bool(self.usb),
            (_, "temperature") => Value::from(self.temperature),
            (_, "wifi_led") => on_off(self.wifi_led),
            _ => Value::Null,
        }
    }
}

/// `["on"]` → true, `["off"]` → false.
pub(crate) fn on_off_param(params: &Value) -> Result<bool, MethodError> {
    match params
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_str)
    {
        Some("on") => Ok(true),
        Some("off") => Ok(false),
        _ => Err(MethodError::invalid_arg()),
    }
}

fn ok() -> MethodResult {
    Ok(json!(["ok"]))
}

impl MiioBackend for SimPlug {
    fn call(&mut self, _now: Instant, request: &RpcRequest) -> MethodResult {
        match (self.model, request.method.as_str()) {
            (_, "get_prop") => {
                let names = request
                    .params
                    .as_array()
                    .ok_or_else(MethodError::invalid_arg)?;
                Ok(Value::Array(
                    names
                        .iter()
                        .map(|n| n.as_str().map_or(Value::Null, |n| self.prop(n)))
                        .collect(),
                ))
            }
            (_, "set_power") => {
                self.power = on_off_param(&request.params)?;
                ok()
            }
            (_, "set_wifi_led") => {
                self.wifi_led = on_off_param(&request.params)?;
                ok()
            }
            (PlugModel::V3, "set_usb_on") => {
                self.usb = true;
                ok()
            }
            (PlugModel::V3, "set_usb_off") => {
                self.usb = false;
                ok()
            }
            (PlugModel::V3, "get_power") => {
                let w = if self.power { self.load } else { 0.0 };
                Ok(json!([w]))
            }
            _ => Err(MethodError::not_found()),
        }
    }
}
