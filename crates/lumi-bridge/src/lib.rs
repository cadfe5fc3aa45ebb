//! # lumi-bridge
//!
//! lumi's MQTT bridge: everything `lumi bridge` does. Most of it is pure — functions from
//! values to values, and the sans-IO daemon core ([`daemon::Core`]) that takes what happened
//! and says what to publish and which commands to run — so every decision is tested without
//! a network. Around it: the daemon's driver ([`daemon::Bridge`]), the MQTT link
//! ([`mqtt`], rumqttc) and the embedded broker (`broker`, rumqttd, feature
//! `embedded-broker`).
//!
//! What it builds on: the device catalogue of `lumi-proto` ([`lumi_proto::catalogue`]) gives
//! each model's properties, units, writable values and Home Assistant mapping; this crate
//! turns that into topics, JSON states, commands and Home Assistant discovery, following the
//! conventions zigbee2mqtt users know (`lumi/<friendly_name>`, `…/set`, `…/availability`,
//! `bridge/state` with a last will, `bridge/request/…`).
//!
//! ## Layout
//!
//! - [`config`]: `lumi.toml` — the schema (shared with the command-line tools), defaults,
//!   validation with errors that name the key path, [`Config::print_config`] with secrets
//!   redacted.
//! - [`name`]: friendly names and the rules that keep every topic unambiguous.
//! - [`topics`]: every topic, formatted; [`topics::Topics::parse`] turns an incoming topic
//!   into a [`topics::Incoming`] (set, get, bridge request, Home Assistant status, …).
//! - [`state`]: JSON states from typed device states (`ON`/`OFF`, brightness 0–255,
//!   `last_seen`), availability, `bridge/devices`, `bridge/event`, legacy plain values; and
//!   [`state::parse_set`] / [`state::encode_set`], from a `/set` payload to a LAN `write`.
//! - [`request`]: `bridge/request/<name>` (permit_join, remove, rename, read, health) and
//!   their responses, with the transaction echoed.
//! - [`discovery`]: Home Assistant discovery configs for every catalogue model, and the
//!   topics to clear when a device goes.
//! - [`daemon`]: the bridge itself: [`daemon::Core`] (states, availability, discovery,
//!   commands, requests, motion off-delay) and [`daemon::Bridge`], which runs it with a
//!   `lumi_client` client, the MQTT link and, without `mqtt.url`, the embedded broker.
//! - [`mqtt`]: the connection to a broker: reconnects with backoff, subscribes again on
//!   every connection, keeps QoS 1 publishes across reconnects, TLS.
//! - `broker` (feature `embedded-broker`): the in-process MQTT 3.1.1 broker.
//! - `testkit` (feature `testkit`): mosquitto on a free port and a recording subscriber.
//!
//! ## Example
//!
//! A temperature report comes in; the bridge publishes its state and its discovery, then a
//! command for a plug arrives:
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use lumi_bridge::discovery::{DeviceInfo, Discovery};
//! use lumi_bridge::state::{self, Extras};
//! use lumi_bridge::topics::{Incoming, Topics};
//! use lumi_bridge::Config;
//! use lumi_proto::catalogue;
//! use lumi_proto::lan::{Props, ProtoVersion, Sid};
//!
//! let config = Config::from_toml(r#"
//!     [[device]]
//!     sid = "158d0001a2b3c4"
//!     name = "hall/climate"
//! "#)?;
//! let topics = Topics::from_config(&config);
//!
//! // A report from the gateway, decoded by the catalogue.
//! let sid: Sid = "158d0001a2b3c4".parse()?;
//! let report = Props::new().with("temperature", "2120").with("humidity", "5277").with("voltage", 3005);
//! let typed = catalogue::decode("sensor_ht", ProtoVersion::V1, &report);
//!
//! let name = config.friendly_name(&sid);
//! let seen = UNIX_EPOCH + Duration::from_secs(1_714_566_896);
//! assert_eq!(topics.state(&name), "lumi/hall/climate");
//! assert_eq!(
//!     state::state_json(&typed, &Extras { linkquality: None, last_seen: Some(seen) }),
//!     r#"{"battery":41,"humidity":52.77,"last_seen":"2024-05-01T12:34:56.000Z","temperature":21.2,"voltage":3005}"#
//! );
//!
//! // Home Assistant discovery for it (published retained).
//! let gateway: Sid = "34ce0088db0b".parse()?;
//! let device = typed.device.expect("a catalogued model");
//! let configs = Discovery::new(&config).device(&DeviceInfo { sid: &sid, name: &name, device, gateway: Some(&gateway) });
//! assert!(configs.iter().any(|c| c.topic == "homeassistant/sensor/lumi_158d0001a2b3c4_temperature/config"));
//!
//! // A command: lumi/kitchen/plug/set/state ← ON becomes a LAN write.
//! let Incoming::Set { device: target, property } = topics.parse("lumi/kitchen/plug/set/state") else { panic!() };
//! assert_eq!(target.as_str(), "kitchen/plug");
//! let plug = catalogue::lookup("plug").expect("catalogued");
//! let write = state::encode_set(plug, ProtoVersion::V2, property.as_deref(), b"ON", None)?;
//! assert_eq!(serde_json::to_string(&write)?, r#"{"channel_0":"on"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "embedded-broker")]
pub mod broker;
pub mod config;
pub mod daemon;
pub mod discovery;
mod duration;
pub mod metrics;
pub mod mqtt;
pub mod name;
pub mod request;
pub mod state;
#[cfg(feature = "testkit")]
pub mod testkit;
mod time;
pub mod topics;
pub mod web;

pub use config::{Config, ConfigError};
pub use name::FriendlyName;
pub use time::iso8601;
