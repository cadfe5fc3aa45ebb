//! The effective configuration as TOML (`lumi bridge --print-config`): the same schema as
//! the file, every default written out, every secret `"<redacted>"`.

use super::file::{
    DurationValue, File, FileBridge, FileDevice, FileGateway, FileHomeAssistant, FileMqtt,
    FileTimeouts, FileWeb,
};
use super::{Broker, Config};
use crate::duration;

/// What secrets print as.
pub(crate) const REDACTED: &str = "<redacted>";

pub(super) fn print(c: &Config) -> String {
    let d = |x: std::time::Duration| Some(DurationValue::Text(duration::format(x)));
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let (url, listen) = match &c.mqtt.broker {
        Broker::External(u) => (Some(u.to_string()), None),
        Broker::Embedded { listen } => (None, Some(listen.to_string())),
    };
    let file = File {
        interface: c.interface.clone(),
        password: c.password.as_ref().map(|_| REDACTED.to_owned()),
        timeout: Some(DurationValue::Text(duration::format(c.timeout))),
        gateway: c
            .gateways
            .iter()
            .map(|g| FileGateway {
                sid: g.sid.as_ref().map(|s| s.to_string()),
                ip: g.addr.map(|a| a.to_string()),
                password: g.password.as_ref().map(|_| REDACTED.to_owned()),
                protocol: Some(g.protocol.map_or("auto".to_owned(), |p| p.to_string())),
                miio_token: g.miio_token.as_ref().map(|_| REDACTED.to_owned()),
            })
            .collect(),
        mqtt: Some(FileMqtt {
            url,
            listen,
            client_id: Some(c.mqtt.client_id.clone()),
            username: c.mqtt.username.clone(),
            password: c.mqtt.password.as_ref().map(|_| REDACTED.to_owned()),
            ca: path(&c.mqtt.tls.ca),
            client_cert: path(&c.mqtt.tls.client_cert),
            client_key: path(&c.mqtt.tls.client_key),
            keepalive: d(c.mqtt.keepalive),
            qos: Some(i64::from(c.mqtt.qos.as_u8())),
            retain: Some(c.mqtt.retain),
            persistent_session: Some(c.mqtt.persistent_session),
        }),
        bridge: Some(FileBridge {
            base_topic: Some(c.bridge.base_topic.clone()),
            legacy_topics: Some(c.bridge.legacy_topics),
            legacy_base_topic: Some(c.bridge.legacy_base_topic.clone()),
            availability: Some(c.bridge.availability),
            motion_off_delay: d(c.bridge.motion_off_delay),
            availability_timeout: Some(FileTimeouts {
                gateway: d(c.bridge.availability_timeout.gateway),
                mains: d(c.bridge.availability_timeout.mains),
                battery: d(c.bridge.availability_timeout.battery),
            }),
        }),
        homeassistant: Some(FileHomeAssistant {
            enabled: Some(c.homeassistant.enabled),
            discovery_prefix: Some(c.homeassistant.discovery_prefix.clone()),
            status_topic: Some(c.homeassistant.status_topic.clone()),
        }),
        web: Some(FileWeb {
            enabled: Some(c.web.enabled),
            listen: Some(c.web.listen.to_string()),
            token: c.web.token.as_ref().map(|_| REDACTED.to_owned()),
        }),
        device: c
            .devices
            .iter()
            .map(|dev| FileDevice {
                sid: Some(dev.sid.to_string()),
                name: dev.name.as_ref().map(|n| n.to_string()),
                retain: dev.retain,
                availability_timeout: dev.availability_timeout.and_then(d),
                motion_off_delay: dev.motion_off_delay.and_then(d),
                homeassistant: dev.homeassistant,
            })
            .collect(),
    };
    let body = toml::to_string(&file).unwrap_or_else(|e| {
        // Every field is a string, number, boolean or table: serialisation cannot fail.
        tracing::error!("cannot render the configuration as TOML: {e}");
        String::new()
    });
    let broker = match &c.mqtt.broker {
        Broker::Embedded { listen } => {
            format!("# MQTT: the embedded broker on {listen} (no mqtt.url)\n")
        }
        Broker::External(u) => format!("# MQTT: the broker at {u}\n"),
    };
    format!(
        "# lumi: effective configuration (defaults filled in, secrets redacted)\n{broker}\n{body}"
    )
}
