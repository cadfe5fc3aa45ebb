//! The `lumi.toml` schema exactly as written in the file: every key optional, unknown keys
//! refused (`deny_unknown_fields` on every table). [`super::validate`] turns it into the
//! effective [`super::Config`]; [`super::print`] turns a `Config` back into it.
//!
//! The top-level `interface`, `password`, `timeout` and the `[[gateway]]` tables are shared
//! with the command-line tools (`crates/lumi/src/settings.rs`) and must keep their keys and
//! types: both read `timeout` as a text or a whole number of seconds.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateway: Vec<FileGateway>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<FileMqtt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge: Option<FileBridge>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub homeassistant: Option<FileHomeAssistant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web: Option<FileWeb>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device: Vec<FileDevice>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileWeb {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileGateway {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miio_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileMqtt {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<DurationValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_session: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileBridge {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_topics: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_base_topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motion_off_delay: Option<DurationValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_timeout: Option<FileTimeouts>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileTimeouts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<DurationValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mains: Option<DurationValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub battery: Option<DurationValue>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileHomeAssistant {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_topic: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileDevice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(alias = "friendly_name", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_timeout: Option<DurationValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motion_off_delay: Option<DurationValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub homeassistant: Option<bool>,
}

/// A duration as written: a text (`"90s"`) or a whole number of seconds (`90`). Parsed in
/// validation so that the error names the key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DurationValue {
    Text(String),
    Seconds(i64),
}

impl DurationValue {
    pub fn parse(&self) -> Result<std::time::Duration, String> {
        match self {
            DurationValue::Text(t) => duration::parse(t),
            DurationValue::Seconds(s) => u64::try_from(*s)
                .map(std::time::Duration::from_secs)
                .map_err(|_| format!("{s} is negative: give a duration such as \"90s\"")),
        }
    }
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"90s\", \"10m\", \"2h\" or a number of seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationValue, E> {
                Ok(DurationValue::Text(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationValue, E> {
                Ok(DurationValue::Seconds(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationValue, E> {
                Ok(DurationValue::Seconds(i64::try_from(v).unwrap_or(i64::MAX)))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for DurationValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DurationValue::Text(t) => s.serialize_str(t),
            DurationValue::Seconds(n) => s.serialize_i64(*n),
        }
    }
}
