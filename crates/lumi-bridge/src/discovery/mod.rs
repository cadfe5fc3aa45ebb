//! Home Assistant MQTT discovery, generated from the device catalogue alone.
//!
//! Every catalogued property with a Home Assistant mapping ([`HaEntity`]) becomes one entity
//! (a device trigger becomes one trigger per event). Each config is published **retained**
//! (QoS 1) to `<prefix>/<component>/<unique_id>/config`: without `retain` Home Assistant
//! forgets the entity when it restarts. An empty retained payload on the same topic deletes
//! it ([`Discovery::removal`]).
//!
//! ```text
//! homeassistant/sensor/lumi_158d0001a2b3c4_temperature/config
//! {
//!   "unique_id": "lumi_158d0001a2b3c4_temperature",
//!   "default_entity_id": "sensor.hall_climate_temperature",
//!   "name": "Temperature",
//!   "state_topic": "lumi/hall/climate",
//!   "value_template": "{{ value_json[\"temperature\"] }}",
//!   "device_class": "temperature", "unit_of_measurement": "°C", "state_class": "measurement",
//!   "enabled_by_default": true,
//!   "device": {"identifiers": ["lumi_158d0001a2b3c4"], "name": "hall/climate",
//!              "model": "Mi temperature and humidity sensor", "model_id": "WSDCGQ01LM",
//!              "manufacturer": "Xiaomi", "via_device": "lumi_34ce0088db0b"},
//!   "availability_mode": "all",
//!   "availability": [{"topic": "lumi/bridge/state", "value_template": "{{ value_json.state }}"},
//!                    {"topic": "lumi/hall/climate/availability", "value_template": "{{ value_json.state }}"}],
//!   "origin": {"name": "lumi", "sw_version": "0.1.0"}
//! }
//! ```
//!
//! - Ids: `unique_id` = `lumi_<sid>_<entity>`, also the topic's object id (Home Assistant's
//!   advice: no node id); `default_entity_id` (`<component>.<slug of the friendly name>_<entity>`)
//!   comes from the friendly name, so a rename gives new entity ids while the unique ids, and
//!   the topics, stay. No `object_id`: Home Assistant 2025.10 deprecated it for
//!   `default_entity_id` (a warning per entity while both are sent) and 2026.4 ignores it.
//! - One Home Assistant device per Xiaomi device (`identifiers: ["lumi_<sid>"]`), linked with
//!   `via_device` to its gateway; gateways are linked to the bridge's own device, whose
//!   connection-state entity comes from [`Discovery::bridge`].
//! - Availability: the bridge's state and, when per-device availability is on, the device's
//!   own topic, with `availability_mode: all`.
//! - Components: sensors (device class, unit, state class; enum sensors list their options),
//!   binary sensors, switches (`/set/<property>` with `ON`/`OFF`), the JSON-schema light
//!   (gateway ring, RGB dimmer: `/set` with `{"state","brightness","color"}`, brightness
//!   0–255, colour mode `rgb`), a siren plus a ringtone select for gateway sounds, covers for
//!   curtains (position = `level`, open/close/stop = `motor`), climate for air conditioners,
//!   a button for permit-join, device triggers for button and cube events (`<name>/action`),
//!   and a diagnostic `last_seen` timestamp (disabled by default). Battery and voltage are
//!   diagnostic sensors, as the catalogue says.

use lumi_proto::catalogue::{
    Device, EntityCategory, HaComponent, HaEntity, HaPayload, HaRole, Property, Scalar, StateClass,
    TypedValue, ValueType,
};
use lumi_proto::lan::Sid;
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::name::{FriendlyName, slug};
use crate::state::{mqtt_value, scaled_brightness};
use crate::topics::Topics;

/// The discovery generator of one bridge.
#[derive(Debug, Clone)]
pub struct Discovery {
    topics: Topics,
    prefix: String,
    availability: bool,
    bridge_id: String,
}

/// The device a discovery is for.
#[derive(Debug, Clone, Copy)]
pub struct DeviceInfo<'a> {
    /// Its sid.
    pub sid: &'a Sid,
    /// Its friendly name.
    pub name: &'a FriendlyName,
    /// Its catalogue entry.
    pub device: &'static Device,
    /// The gateway it is paired with; `None` for a gateway itself.
    pub gateway: Option<&'a Sid>,
}

/// One discovery config: publish `payload` retained (QoS 1) to `topic`.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryMessage {
    /// The Home Assistant component (`sensor`, `light`, `device_automation`, …).
    pub component: &'static str,
    /// The object id of the topic: the entity's unique id (for triggers, the trigger's id).
    pub unique_id: String,
    /// `<prefix>/<component>/<unique_id>/config`.
    pub topic: String,
    /// The config.
    pub payload: Value,
}

impl DiscoveryMessage {
    /// The payload as JSON text.
    pub fn payload_string(&self) -> String {
        self.payload.to_string()
    }
}

/// The HVAC modes Home Assistant knows (`climate/const.py` `HVACMode`).
const HVAC_MODES: &[&str] = &[
    "off",
    "heat",
    "cool",
    "heat_cool",
    "auto",
    "dry",
    "fan_only",
];

impl Discovery {
    /// The generator for a configuration (the discovery prefix, base topic and availability
    /// setting are taken from it; whether discovery is enabled at all is the caller's
    /// business: [`Config::homeassistant`]).
    pub fn new(config: &Config) -> Discovery {
        Discovery {
            topics: Topics::from_config(config),
            prefix: config.homeassistant.discovery_prefix.clone(),
            availability: config.bridge.availability,
            bridge_id: format!("lumi_bridge_{}", slug(&config.bridge.base_topic)),
        }
    }

    /// The Home Assistant device identifier of the bridge itself.
    pub fn bridge_identifier(&self) -> &str {
        &self.bridge_id
    }

    /// The Home Assistant device identifier of a Xiaomi device: `lumi_<sid>`.
    pub fn device_identifier(sid: &Sid) -> String {
        format!("lumi_{}", id_part(sid.as_str()))
    }

    /// Every discovery config of a device.
    pub fn device(&self, info: &DeviceInfo<'_>) -> Vec<DiscoveryMessage> {
        let mut out = Vec::new();
        let d = info.device;
        for p in d.properties {
            let Some(ha) = p.ha else { continue };
            match ha.component {
                HaComponent::DeviceTrigger => {
                    for event in d.events() {
                        out.push(self.trigger(info, p, event));
                    }
                }
                HaComponent::Sensor => out.push(self.sensor(info, p, &ha)),
                HaComponent::BinarySensor => out.push(self.binary_sensor(info, p, &ha)),
                HaComponent::Switch if p.writable() => out.push(self.switch(info, p, &ha)),
                HaComponent::Light if p.writable() => out.push(self.light(info, p, &ha)),
                // A light that cannot be switched (the draft-documentation RGBW light) is
                // shown as what it is: something that is on or off.
                HaComponent::Light | HaComponent::Switch => {
                    let name = match ha.component {
                        HaComponent::Light => Some("Light".to_owned()),
                        _ => name_for(p, &ha),
                    };
                    let ha = HaEntity {
                        component: HaComponent::BinarySensor,
                        device_class: None,
                        entity_category: read_only_category(ha.entity_category),
                        ..ha
                    };
                    out.push(self.binary_sensor_named(info, p, &ha, name));
                }
                HaComponent::Cover => out.push(self.cover(info, p, &ha)),
                HaComponent::Siren if p.writable() => {
                    out.push(self.siren(info, p, &ha));
                    if matches!(p.value, ValueType::Enum(_)) {
                        out.push(self.select(info, p, &ha, true));
                    }
                }
                HaComponent::Select if p.writable() && matches!(p.value, ValueType::Enum(_)) => {
                    out.push(self.select(info, p, &ha, false));
                }
                HaComponent::Button if p.writable() => out.push(self.button(info, p, &ha)),
                HaComponent::Climate if p.writable() => out.push(self.climate(info, p, &ha)),
                HaComponent::Number if p.writable() && numeric(p) => {
                    out.push(self.number(info, p, &ha));
                }
                // Anything else (a read-only control, a component lumi has no template for)
                // is at least visible as a plain sensor.
                _ => {
                    let ha = HaEntity {
                        component: HaComponent::Sensor,
                        device_class: None,
                        state_class: None,
                        unit: p.unit,
                        entity_category: read_only_category(ha.entity_category),
                        payload: None,
                        parts: &[],
                        ..ha
                    };
                    out.push(self.sensor(info, p, &ha));
                }
            }
        }
        out.push(self.last_seen(info));
        out
    }

    /// The topics to clear (publish an empty retained payload to each) when a device is
    /// removed: every topic [`Discovery::device`] publishes for it. They depend only on the
    /// sid and the model, so a rename or another gateway does not change them.
    pub fn removal(&self, sid: &Sid, device: &'static Device) -> Vec<String> {
        let name = FriendlyName::from_sid(sid);
        self.device(&DeviceInfo {
            sid,
            name: &name,
            device,
            gateway: None,
        })
        .into_iter()
        .map(|m| m.topic)
        .collect()
    }

    /// The bridge's own Home Assistant device and its connection-state entity.
    pub fn bridge(&self) -> Vec<DiscoveryMessage> {
        let unique_id = format!("{}_connection_state", self.bridge_id);
        let object_id = format!("{}_connection_state", slug(self.topics.base()));
        let payload = json!({
            "unique_id": unique_id,
            "default_entity_id": format!("binary_sensor.{object_id}"),
            "name": "Connection state",
            "state_topic": self.topics.bridge_state(),
            "value_template": "{{ value_json.state }}",
            "payload_on": "online",
            "payload_off": "offline",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
            "enabled_by_default": true,
            "device": {
                "identifiers": [self.bridge_id],
                "name": format!("lumi bridge ({})", self.topics.base()),
                "model": "lumi bridge",
                "manufacturer": "lumi",
                "sw_version": env!("CARGO_PKG_VERSION"),
            },
            "origin": origin(),
        });
        vec![self.message("binary_sensor", unique_id, payload)]
    }

    // -----------------------------------------------------------------------------------------
    // Components

    fn sensor(&self, info: &DeviceInfo<'_>, p: &Property, ha: &HaEntity) -> DiscoveryMessage {
        let mut c = self.entity(info, "sensor", p.name, name_for(p, ha), ha);
        c.insert("state_topic".into(), self.topics.state(info.name).into());
        c.insert("value_template".into(), template(p.name).into());
        put(&mut c, "device_class", ha.device_class);
        put(&mut c, "unit_of_measurement", ha.unit);
        put(&mut c, "state_class", ha.state_class.map(state_class));
        if ha.device_class == Some("enum")
            && let ValueType::Enum(values) = p.value
        {
            c.insert("options".into(), json!(values));
        }
        self.finish(info, "sensor", p.name, c)
    }

    fn binary_sensor(
        &self,
        info: &DeviceInfo<'_>,
        p: &Property,
        ha: &HaEntity,
    ) -> DiscoveryMessage {
        self.binary_sensor_named(info, p, ha, name_for(p, ha))
    }

    fn binary_sensor_named(
        &self,
        info: &DeviceInfo<'_>,
        p: &Property,
        ha: &HaEntity,
        name: Option<String>,
    ) -> DiscoveryMessage {
        let mut c = self.entity(info, "binary_sensor", p.name, name, ha);
        c.insert("state_topic".into(), self.topics.state(info.name).into());
        c.insert("value_template".into(), template(p.name).into());
        let payload = ha.payload.unwrap_or(HaPayload {
            on: Scalar::Bool(true),
            off: Scalar::Bool(false),
        });
        c.insert("payload_on".into(), scalar(info.device, p, payload.on));
        c.insert("payload_off".into(), scalar(info.device, p, payload.off));
        put(&mut c, "device_class", ha.device_class);
        self.finish(info, "binary_sensor", p.name, c)
    }

    fn switch(&self, info: &DeviceInfo<'_>, p: &Property, ha: &HaEntity) -> DiscoveryMessage {
        let mut c = self.entity(info, "switch", p.name, name_for(p, ha), ha);
        c.insert("state_topic".into(), self.topics.state(info.name).into());
        c.insert("value_template".into(), template(p.name).into());
        c.insert(
            "command_topic".into(),
            self.topics.set_property(info.name, p.name).into(),
        );
        let payload = ha.payload.unwrap_or(HaPayload {
            on: Scalar::Text("on"),
            off: Scalar::Text("off"),
        });
        c.insert("payload_on".into(), scalar(info.device, p, payload.on));
        c.insert("payload_off".into(), scalar(info.device, p, payload.off));
        put(&mut c, "device_class", ha.device_class);
        self.finish(info, "switch", p.name, c)
    }

    fn light(&self, info: &DeviceInfo<'_>, p: &Property, ha: &HaEntity) -> DiscoveryMessage {
        let d = info.device;
        let part = |role: HaRole| {
            ha.parts
                .iter()
                .find(|x| x.role == role)
                .and_then(|x| d.property(x.property))
        };
        let brightness = part(HaRole::Brightness);
        let color = part(HaRole::Color);
        let mut c = self.entity(info, "light", p.name, name_for(p, ha), ha);
        c.insert("schema".into(), "json".into());
        c.insert("state_topic".into(), self.topics.state(info.name).into());
        c.insert("command_topic".into(), self.topics.set(info.name).into());
        let modes: &[&str] = match (brightness.is_some(), color.is_some()) {
            (_, true) => &["rgb"],
            (true, false) => &["brightness"],
            (false, false) => &["onoff"],
        };
        c.insert("supported_color_modes".into(), json!(modes));
        if let Some(b) = brightness {
            c.insert("brightness".into(), true.into());
            // Home Assistant takes any `brightness_scale` ≥ 1 (`schema_json.py`:
            // `vol.Range(min=1)`).
            let scale = match b.value {
                _ if scaled_brightness(d, b) => 255,
                ValueType::Integer { max: Some(m), .. } if m >= 1 => m,
                _ => 255,
            };
            c.insert("brightness_scale".into(), scale.into());
        }
        self.finish(info, "light", p.name, c)
    }

    fn cover(&self, info: &DeviceInfo<'_>, p: &Property, ha: &HaEntity) -> DiscoveryMessage {
        let d = info.device;
        let mut c = self.entity(info, "cover", p.name, name_for(p, ha), ha);
        c.insert("position_topic".into(), self.topics.state(info.name).into());
        c.insert("position_template".into(), template(p.name).into());
        if p.writable() {
            c.insert(
                "set_position_topic".into(),
                self.topics.set_property(info.name, p.name).into(),
            );
        }
        let command = ha
            .parts
            .iter()
            .find(|x| x.role == HaRole::Command)
            .and_then(|x| d.property(x.property))
            .filter(|m| m.writable());
        if let Some(m) = command {
            c.insert(
                "command_topic".into(),
                self.topics.set_property(info.name, m.name).into(),
            );
            let values = match m.value {
                ValueType::Enum(v) => v,
                _ => &[],
            };
            for (key, value) in [
                ("payload_open", "open"),
                ("payload_close", "close"),
                ("payload_stop", "stop"),
            ] {
                if values.contains(&value) {
                    c.insert(key.into(), value.into());
                } else {
                    // Home Assistant's default ("OPEN", …) would be refused: no such command.
                    c.insert(key.into(), Value::Null);
                }
            }
        }
        put(&mut c, "device_class", ha.device_class);
        self.finish(info, "cover", p.name, c)
    }

    fn siren(&self, info: &DeviceInfo<'_>, p: &Property, ha: &HaEntity) -> DiscoveryMessage {
        let d = info.device;
        let payload = ha.payload.unwrap_or(HaPayload {
            on: Scalar::Text("doorbell"),
            off: Scalar::Text("stop"),
        });
        let (on, off) = match (payload.on, payload.off) {
            (Scalar::Text(on), Scalar::Text(off)) => (on, off),
            _ => ("doorbell", "stop"),
        };
        let volume = ha
            .parts
            .iter()
            .find(|x| x.role == HaRole::Volume)
            .and_then(|x| d.property(x.property))
            .filter(|v| v.writable());
        let mut c = self.entity(info, "siren", p.name, name_for(p, ha), ha);
        c.insert("state_topic".into(), self.topics.state(info.name).into());
        c.insert(
            "state_value_template".into(),
            format!(
                "{{{{ 'OFF' if value_json.get('{n}') in (none, '{off}') else 'ON' }}}}",
                n = p.name
            )
            .into(),
        );
        c.insert("command_topic".into(), self.topics.set(info.name).into());
        let volume_part = match volume {
            Some(v) => format!(
                "{{% if volume_level is defined %}}, \"{}\": {{{{ (volume_level * 100) | round(0) | int }}}}{{% endif %}}",
                v.name
            ),
            None => String::new(),
        };
        // Home Assistant offers tones only when `available_tones` is a non-empty list (there is
        // no `support_tones` key); without tones the template sends the default sound.
        let tones: Vec<&str> = match p.value {
            ValueType::Enum(values) => values.iter().copied().filter(|v| *v != off).collect(),
            _ => Vec::new(),
        };
        let sound = if tones.is_empty() {
            on.to_owned()
        } else {
            format!("{{{{ tone | default('{on}') }}}}")
        };
        c.insert(
            "command_template".into(),
            format!("{{\"{n}\": \"{sound}\"{volume_part}}}", n = p.name).into(),
        );
        c.insert(
            "command_off_template".into(),
            format!("{{\"{}\": \"{off}\"}}", p.name).into(),
        );
        if !tones.is_empty() {
            c.insert("available_tones".into(), json!(tones));
        }
        c.insert("support_duration".into(), false.into());
        c.insert("support_volume_set".into(), volume.is_some().into());
        self.finish(info, "siren", p.name, c)
    }

    /// A select over an enum property. `ringtone` marks the select that goes with a siren.
    fn select(
        &self,
        info: &DeviceInfo<'_>,
        p: &Property,
        ha: &HaEntity,
        ringtone: bool,
    ) -> DiscoveryMessage {
        let key = if ringtone {
            if p.name == "sound" {
                "ringtone".to_owned()
            } else {
                format!("{}_select", p.name)
            }
        } else {
            p.name.to_owned()
        };
        let name = if ringtone && p.name == "sound" {
            Some("Ringtone".to_owned())
        } else {
            name_for(p, ha)
        };
        let ha = HaEntity {
            icon: Some(if ringtone {
                "mdi:music-note"
            } else {
                ha.icon.unwrap_or("mdi:format-list-bulleted")
            }),
            ..*ha
        };
        let mut c = self.entity(info, "select", &key, name, &ha);
        c.insert("state_topic".into(), self.topics.state(info.name).into());
        c.insert("value_template".into(), template(p.name).into());
        c.insert(
            "command_topic".into(),
            self.topics.set_property(info.name, p.name).into(),
        );
        if let ValueType::Enum(values) = p.value {
            c.insert("options".into(), json!(values));
        }
        self.finish(info, "select", &key, c)
    }

    fn button(&self, info: &DeviceInfo<'_>, p: &Property, ha: &HaEntity) -> DiscoveryMessage {
        let mut c = self.entity(info, "button", p.name, name_for(p, ha), ha);
        c.insert(
            "command_topic".into(),
            self.topics.set_property(info.name, p.name).into(),
        );
        let press = match ha.payload.map(|pl| pl.on) {
            Some(Scalar::Text(t)) => t.to_owned(),
            // A boolean property is pressed by writing true: "ON" reads as "turn it on".
            _ => "ON".to_owned(),
        };
        c.insert("payload_press".into(), press.into());
        put(&mut c, "device_class", ha.device_class);
        self.finish(info, "button", p.name, c)
    }

    fn climate(&self, info: &DeviceInfo<'_>, p: &Property, ha: &HaEntity) -> DiscoveryMessage {
        let d = info.device;
        let state = self.topics.state(info.name);
        let part = |role: HaRole| {
            ha.parts
                .iter()
                .find(|x| x.role == role)
                .and_then(|x| d.property(x.property))
        };
        let mut c = self.entity(info, "climate", p.name, name_for(p, ha), ha);
        let power = part(HaRole::Power).filter(|x| x.writable());
        let mut modes: Vec<&str> = Vec::new();
        if power.is_some() {
            modes.push("off");
        }
        if let ValueType::Enum(values) = p.value {
            modes.extend(values.iter().copied().filter(|m| HVAC_MODES.contains(m)));
        }
        c.insert("modes".into(), json!(modes));
        c.insert("mode_state_topic".into(), state.clone().into());
        match power {
            Some(pw) => {
                c.insert(
                    "mode_state_template".into(),
                    format!(
                        "{{% if value_json.get('{pw}') == 'OFF' %}}off{{% else %}}{{{{ value_json.get('{m}') }}}}{{% endif %}}",
                        pw = pw.name,
                        m = p.name
                    )
                    .into(),
                );
                c.insert(
                    "mode_command_topic".into(),
                    self.topics.set(info.name).into(),
                );
                c.insert(
                    "mode_command_template".into(),
                    format!(
                        "{{% if value == 'off' %}}{{\"{pw}\": \"OFF\"}}{{% else %}}{{\"{pw}\": \"ON\", \"{m}\": \"{{{{ value }}}}\"}}{{% endif %}}",
                        pw = pw.name,
                        m = p.name
                    )
                    .into(),
                );
                c.insert(
                    "power_command_topic".into(),
                    self.topics.set_property(info.name, pw.name).into(),
                );
                c.insert("payload_on".into(), "ON".into());
                c.insert("payload_off".into(), "OFF".into());
            }
            None => {
                c.insert("mode_state_template".into(), template(p.name).into());
                c.insert(
                    "mode_command_topic".into(),
                    self.topics.set_property(info.name, p.name).into(),
                );
            }
        }
        for (role, prefix, list) in [
            (HaRole::FanMode, "fan_mode", "fan_modes"),
            (HaRole::SwingMode, "swing_mode", "swing_modes"),
        ] {
            let Some(x) = part(role) else { continue };
            if let ValueType::Enum(values) = x.value {
                c.insert(list.into(), json!(values));
            }
            c.insert(format!("{prefix}_state_topic"), state.clone().into());
            c.insert(format!("{prefix}_state_template"), template(x.name).into());
            if x.writable() {
                c.insert(
                    format!("{prefix}_command_topic"),
                    self.topics.set_property(info.name, x.name).into(),
                );
            }
        }
        if let Some(t) = part(HaRole::TargetTemperature) {
            c.insert("temperature_state_topic".into(), state.clone().into());
            c.insert("temperature_state_template".into(), template(t.name).into());
            if t.writable() {
                c.insert(
                    "temperature_command_topic".into(),
                    self.topics.set_property(info.name, t.name).into(),
                );
            }
            if let ValueType::Integer { min, max } = t.value {
                put(&mut c, "min_temp", min);
                put(&mut c, "max_temp", max);
                c.insert("temp_step".into(), 1.into());
                c.insert("precision".into(), 1.0.into());
            }
            c.insert("temperature_unit".into(), "C".into());
        }
        if let Some(t) = part(HaRole::CurrentTemperature) {
            c.insert("current_temperature_topic".into(), state.clone().into());
            c.insert(
                "current_temperature_template".into(),
                template(t.name).into(),
            );
        }
        self.finish(info, "climate", p.name, c)
    }

    fn number(&self, info: &DeviceInfo<'_>, p: &Property, ha: &HaEntity) -> DiscoveryMessage {
        let mut c = self.entity(info, "number", p.name, name_for(p, ha), ha);
        c.insert("state_topic".into(), self.topics.state(info.name).into());
        c.insert("value_template".into(), template(p.name).into());
        c.insert(
            "command_topic".into(),
            self.topics.set_property(info.name, p.name).into(),
        );
        match p.value {
            ValueType::Integer { min, max } => {
                put(&mut c, "min", min);
                put(&mut c, "max", max);
                c.insert("step".into(), 1.into());
            }
            ValueType::Number { min, max } => {
                put(&mut c, "min", min);
                put(&mut c, "max", max);
            }
            _ => {}
        }
        put(&mut c, "unit_of_measurement", ha.unit.or(p.unit));
        self.finish(info, "number", p.name, c)
    }

    fn last_seen(&self, info: &DeviceInfo<'_>) -> DiscoveryMessage {
        let ha = HaEntity {
            component: HaComponent::Sensor,
            device_class: Some("timestamp"),
            unit: None,
            state_class: None,
            entity_category: Some(EntityCategory::Diagnostic),
            icon: Some("mdi:clock"),
            enabled_by_default: false,
            payload: None,
            parts: &[],
        };
        let mut c = self.entity(info, "sensor", "last_seen", Some("Last seen".into()), &ha);
        c.insert("state_topic".into(), self.topics.state(info.name).into());
        c.insert("value_template".into(), template("last_seen").into());
        c.insert("device_class".into(), "timestamp".into());
        self.finish(info, "sensor", "last_seen", c)
    }

    fn trigger(&self, info: &DeviceInfo<'_>, p: &Property, event: &str) -> DiscoveryMessage {
        let unique_id = format!(
            "{}_{}_{}",
            Self::device_identifier(info.sid),
            p.name,
            id_part(event)
        );
        let payload = json!({
            "automation_type": "trigger",
            "type": p.name,
            "subtype": event,
            "payload": event,
            "topic": self.topics.action(info.name),
            "device": self.device_block(info),
            "origin": origin(),
        });
        self.message("device_automation", unique_id, payload)
    }

    // -----------------------------------------------------------------------------------------
    // Common parts

    /// The keys every entity has; the component adds its own, then [`Self::finish`].
    fn entity(
        &self,
        info: &DeviceInfo<'_>,
        component: &str,
        key: &str,
        name: Option<String>,
        ha: &HaEntity,
    ) -> Map<String, Value> {
        let object_id = format!("{}_{}", object_base(info), slug(key));
        let mut c = Map::new();
        c.insert("unique_id".into(), self.unique_id(info.sid, key).into());
        c.insert(
            "default_entity_id".into(),
            format!("{component}.{object_id}").into(),
        );
        c.insert("name".into(), name.map_or(Value::Null, Value::String));
        c.insert("enabled_by_default".into(), ha.enabled_by_default.into());
        put(
            &mut c,
            "entity_category",
            ha.entity_category.map(entity_category),
        );
        put(&mut c, "icon", ha.icon);
        c
    }

    fn finish(
        &self,
        info: &DeviceInfo<'_>,
        component: &'static str,
        key: &str,
        mut c: Map<String, Value>,
    ) -> DiscoveryMessage {
        c.insert("device".into(), self.device_block(info));
        let mut availability = vec![json!({
            "topic": self.topics.bridge_state(),
            "value_template": "{{ value_json.state }}",
        })];
        if self.availability {
            availability.push(json!({
                "topic": self.topics.availability(info.name),
                "value_template": "{{ value_json.state }}",
            }));
            c.insert("availability_mode".into(), "all".into());
        }
        c.insert("availability".into(), Value::Array(availability));
        c.insert("origin".into(), origin());
        self.message(component, self.unique_id(info.sid, key), Value::Object(c))
    }

    fn device_block(&self, info: &DeviceInfo<'_>) -> Value {
        let d = info.device;
        let via = match info.gateway {
            Some(g) => Self::device_identifier(g),
            None => self.bridge_id.clone(),
        };
        let model_id = if d.product_code == "unknown" {
            d.model()
        } else {
            d.product_code
        };
        json!({
            "identifiers": [Self::device_identifier(info.sid)],
            "name": info.name.as_str(),
            "model": d.name,
            "model_id": model_id,
            "manufacturer": serde_json::to_value(d.manufacturer).unwrap_or(Value::Null),
            "via_device": via,
        })
    }

    fn unique_id(&self, sid: &Sid, key: &str) -> String {
        format!("{}_{}", Self::device_identifier(sid), id_part(key))
    }

    fn message(
        &self,
        component: &'static str,
        unique_id: String,
        payload: Value,
    ) -> DiscoveryMessage {
        DiscoveryMessage {
            component,
            topic: format!("{}/{component}/{unique_id}/config", self.prefix),
            unique_id,
            payload,
        }
    }
}

/// `{"name": "lumi", "sw_version": …}`: who published the config.
fn origin() -> Value {
    json!({"name": "lumi", "sw_version": env!("CARGO_PKG_VERSION")})
}

/// `{{ value_json["<property>"] }}`.
fn template(property: &str) -> String {
    format!("{{{{ value_json[\"{property}\"] }}}}")
}

/// An id part from network text: `[a-zA-Z0-9_-]`, anything else `_`.
fn id_part(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() { "_".to_owned() } else { out }
}

/// The object-id stem of a device: its name's slug, else its sid.
fn object_base(info: &DeviceInfo<'_>) -> String {
    let s = info.name.slug();
    if s.is_empty() {
        slug(info.sid.as_str())
    } else {
        s
    }
}

fn numeric(p: &Property) -> bool {
    matches!(
        p.value,
        ValueType::Integer { .. } | ValueType::Number { .. }
    )
}

fn put<T: Into<Value>>(c: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        c.insert(key.to_owned(), v.into());
    }
}

fn state_class(s: StateClass) -> &'static str {
    match s {
        StateClass::Measurement => "measurement",
        StateClass::Total => "total",
        StateClass::TotalIncreasing => "total_increasing",
    }
}

/// The category of a read-only stand-in for a control: Home Assistant refuses a sensor or
/// binary sensor in the `config` category (`sensor/__init__.py`, `binary_sensor/__init__.py`:
/// "cannot be added as the entity category is set to config"), so it becomes `diagnostic`.
fn read_only_category(c: Option<EntityCategory>) -> Option<EntityCategory> {
    match c {
        Some(EntityCategory::Config) => Some(EntityCategory::Diagnostic),
        other => other,
    }
}

fn entity_category(c: EntityCategory) -> &'static str {
    match c {
        EntityCategory::Config => "config",
        EntityCategory::Diagnostic => "diagnostic",
    }
}

/// A payload constant as the state topic carries it (`"on"` of a switch is `"ON"`).
fn scalar(device: &Device, p: &Property, s: Scalar) -> Value {
    match s {
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Text(t) => mqtt_value(device, p, &TypedValue::text(t)),
    }
}

/// The entity's name: `None` (JSON null: the device's name alone) for the main feature of a
/// device (its switch `state`, its light, cover or climate), else the property in words.
fn name_for(p: &Property, ha: &HaEntity) -> Option<String> {
    let main = matches!(
        ha.component,
        HaComponent::Light | HaComponent::Cover | HaComponent::Climate
    ) || (ha.component == HaComponent::Switch && p.name == "state");
    if main {
        return None;
    }
    let words = match p.name {
        "state_left" => "Left",
        "state_right" => "Right",
        "state_l1" => "L1",
        "state_l2" => "L2",
        "no_close_seconds" => "Open for",
        "no_motion_seconds" => "No motion for",
        "pairing" => "Permit join",
        "sound" => "Siren",
        "proto_version" => "Protocol version",
        "ip" => "IP address",
        "user_id" => "User",
        _ => "",
    };
    if !words.is_empty() {
        return Some(words.to_owned());
    }
    let text = p.name.replace('_', " ");
    let mut chars = text.chars();
    Some(match chars.next() {
        Some(f) => f.to_uppercase().chain(chars).collect(),
        None => text,
    })
}

#[cfg(test)]
mod tests;
