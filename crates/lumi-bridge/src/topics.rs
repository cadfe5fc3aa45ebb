//! Every MQTT topic of the bridge, formatted from the configuration and a friendly name, and
//! the parser that turns an incoming topic into what it asks for.
//!
//! ```text
//! lumi/<name>                         JSON state (retained when configured)
//! lumi/<name>/set                     ← JSON command {"state": "ON", "brightness": 128}
//! lumi/<name>/set/<property>          ← plain value ON, OFF, TOGGLE, 50, #ff0000, doorbell
//! lumi/<name>/get                     ← read request {"state": ""} (or empty)
//! lumi/<name>/get/<property>          ← read request for one property
//! lumi/<name>/availability            {"state":"online"} / {"state":"offline"}, retained
//! lumi/<name>/action                  button and cube events, plain ("single"): device triggers
//! lumi/bridge/state                   {"state":"online"}, retained; the last will says offline
//! lumi/bridge/devices                 retained list of devices
//! lumi/bridge/event                   device_joined, device_removed, …
//! lumi/bridge/request/<request>       ← {"transaction": "1", …}
//! lumi/bridge/response/<request>      {"status": "ok", "data": {…}, "transaction": "1"}
//! xiaomi/<model>/<sid>/<property>     legacy plain values (when enabled)
//! homeassistant/status                ← Home Assistant's birth and last will
//! ```
//!
//! The rules on friendly names ([`crate::name`]) make parsing context-free: a topic is read
//! from its end (`…/set`, `…/set/<property>`, `…/get`, …), so no list of known devices is
//! needed and a name can never be mistaken for a command suffix.
//!
//! The bridge subscribes to [`Topics::subscriptions`] (the command topics of every name depth
//! in use, the requests and Home Assistant's status topic, never its own publications) and
//! hands every message to [`Topics::parse`]; should one of its own publications come back
//! anyway (an older lumi's `lumi/#`, kept in a persistent session), it parses as
//! [`Incoming::Own`] and is dropped. Home Assistant's status payload (`online`/`offline`) is
//! read with [`crate::state::parse_availability`]. Commands that arrive with the retain flag should be
//! ignored by the caller: a retained `…/set` would switch a device again at every restart.

use lumi_proto::lan::Sid;
use lumi_proto::sanitize;

use crate::config::Config;
use crate::name::FriendlyName;

/// The topics of one bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    base: String,
    legacy_base: Option<String>,
    ha_status: Option<String>,
}

/// What an incoming message is for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Incoming {
    /// `<base>/<name>/set` (property `None`: the payload is a JSON object) or
    /// `<base>/<name>/set/<property>` (a plain value).
    Set {
        /// The device's friendly name.
        device: FriendlyName,
        /// The property, for `/set/<property>`.
        property: Option<String>,
    },
    /// `<base>/<name>/get` or `<base>/<name>/get/<property>`.
    Get {
        /// The device's friendly name.
        device: FriendlyName,
        /// The property, for `/get/<property>`.
        property: Option<String>,
    },
    /// `<base>/bridge/request/<name>`.
    BridgeRequest {
        /// The request name as received (`permit_join`, `device/remove`, …).
        name: String,
    },
    /// Home Assistant's status topic (`homeassistant/status`): `online` means it (re)started
    /// and wants the states again.
    HomeAssistantStatus,
    /// A topic the bridge publishes itself (a state, an availability, an action, a
    /// `bridge/…` topic other than requests): nothing to do.
    Own,
    /// Not under the base topic.
    Foreign,
    /// Under the base topic but malformed; the reason says how.
    Invalid {
        /// What is wrong (safe to print: no raw input in it).
        reason: String,
    },
}

/// The longest property name accepted in a topic.
const MAX_PROPERTY: usize = 64;
/// The longest bridge request name accepted.
const MAX_REQUEST: usize = 64;

impl Topics {
    /// Topics under a base topic (already validated, as in a [`Config`]), without legacy
    /// topics and without Home Assistant.
    pub fn new(base_topic: &str) -> Topics {
        Topics {
            base: base_topic.to_owned(),
            legacy_base: None,
            ha_status: None,
        }
    }

    /// The topics a configuration asks for.
    pub fn from_config(c: &Config) -> Topics {
        Topics {
            base: c.bridge.base_topic.clone(),
            legacy_base: c
                .bridge
                .legacy_topics
                .then(|| c.bridge.legacy_base_topic.clone()),
            ha_status: c
                .homeassistant
                .enabled
                .then(|| c.homeassistant.status_topic.clone()),
        }
    }

    /// The base topic (`lumi`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `<base>/<name>`: the device's JSON state.
    pub fn state(&self, name: &FriendlyName) -> String {
        format!("{}/{name}", self.base)
    }

    /// `<base>/<name>/set`: JSON commands.
    pub fn set(&self, name: &FriendlyName) -> String {
        format!("{}/{name}/set", self.base)
    }

    /// `<base>/<name>/set/<property>`: plain-value commands.
    pub fn set_property(&self, name: &FriendlyName, property: &str) -> String {
        format!("{}/{name}/set/{property}", self.base)
    }

    /// `<base>/<name>/get`: read requests.
    pub fn get(&self, name: &FriendlyName) -> String {
        format!("{}/{name}/get", self.base)
    }

    /// `<base>/<name>/get/<property>`.
    pub fn get_property(&self, name: &FriendlyName, property: &str) -> String {
        format!("{}/{name}/get/{property}", self.base)
    }

    /// `<base>/<name>/availability`: `{"state":"online"}` / `{"state":"offline"}`, retained.
    pub fn availability(&self, name: &FriendlyName) -> String {
        format!("{}/{name}/availability", self.base)
    }

    /// `<base>/<name>/action`: events as plain values (`single`, `flip90`), not retained;
    /// Home Assistant device triggers listen here.
    pub fn action(&self, name: &FriendlyName) -> String {
        format!("{}/{name}/action", self.base)
    }

    /// `<base>/bridge/state`: the bridge's own availability, also its last will.
    pub fn bridge_state(&self) -> String {
        format!("{}/bridge/state", self.base)
    }

    /// `<base>/bridge/devices`: the retained device list.
    pub fn bridge_devices(&self) -> String {
        format!("{}/bridge/devices", self.base)
    }

    /// `<base>/bridge/event`: joins, removals, renames.
    pub fn bridge_event(&self) -> String {
        format!("{}/bridge/event", self.base)
    }

    /// `<base>/bridge/request/<name>`.
    pub fn bridge_request(&self, name: &str) -> String {
        format!("{}/bridge/request/{name}", self.base)
    }

    /// `<base>/bridge/response/<name>`: the answer to a request of the same name.
    pub fn bridge_response(&self, name: &str) -> String {
        format!("{}/bridge/response/{name}", self.base)
    }

    /// Home Assistant's status topic, when discovery is on.
    pub fn homeassistant_status(&self) -> Option<&str> {
        self.ha_status.as_deref()
    }

    /// `<legacy base>/<model>/<sid>/<property>`, when legacy topics are on. Model and sid
    /// come from the network: characters that would change the topic's shape (`/`, `+`, `#`,
    /// control characters) become `_`.
    pub fn legacy(&self, model: &str, sid: &Sid, property: &str) -> Option<String> {
        let base = self.legacy_base.as_deref()?;
        Some(format!(
            "{base}/{}/{}/{property}",
            level(model),
            level(sid.as_str())
        ))
    }

    /// What to subscribe to, for friendly names of up to `depth` levels: the command topics
    /// of every name depth ([`Topics::command_filters`]), the bridge's requests and Home
    /// Assistant's status topic.
    ///
    /// None of the bridge's states, availability, actions or bridge topics match (only the
    /// response to a request named like a suffix, `bridge/request/get`, could, and it is
    /// dropped as [`Incoming::Own`]). `<base>/#` would match them all: the broker would send
    /// every state back to the bridge, which costs the broker as much as delivering it to
    /// Home Assistant (`lumi bench` through mosquitto: BENCHMARKS.md).
    pub fn subscriptions(&self, depth: usize) -> Vec<String> {
        let mut s = vec![format!("{}/bridge/request/#", self.base)];
        s.extend(self.command_filters(1..=depth));
        if let Some(ha) = &self.ha_status {
            s.push(ha.clone());
        }
        s
    }

    /// The four command filters of each name depth in `depths`: `<base>/+/set`,
    /// `<base>/+/get`, `<base>/+/set/+`, `<base>/+/get/+` for names of one level, then
    /// `<base>/+/+/set`, … A name of two levels needs its own filters because `+` matches
    /// exactly one level.
    pub fn command_filters(&self, depths: std::ops::RangeInclusive<usize>) -> Vec<String> {
        let mut out = Vec::new();
        for depth in depths {
            let name = vec!["+"; depth].join("/");
            for suffix in ["set", "get", "set/+", "get/+"] {
                out.push(format!("{}/{name}/{suffix}", self.base));
            }
        }
        out
    }

    /// The filter of the bridge's subscription before it narrowed to commands. A broker that
    /// kept the session of an older lumi still has it, and would send back every state.
    pub fn everything(&self) -> String {
        format!("{}/#", self.base)
    }

    /// What an incoming topic asks for. Total: any text gives an answer, never a panic.
    pub fn parse(&self, topic: &str) -> Incoming {
        if self.ha_status.as_deref() == Some(topic) {
            return Incoming::HomeAssistantStatus;
        }
        let Some(rest) = topic
            .strip_prefix(self.base.as_str())
            .and_then(|r| r.strip_prefix('/'))
        else {
            return Incoming::Foreign;
        };
        if let Some(bridge) = rest.strip_prefix("bridge/") {
            if let Some(name) = bridge.strip_prefix("request/") {
                return request(name);
            }
            let own = matches!(bridge, "state" | "devices" | "event" | "info" | "logging")
                || bridge.starts_with("response/");
            return if own {
                Incoming::Own
            } else {
                Incoming::Invalid {
                    reason: "not a topic of the bridge (bridge/request/<name> takes requests)"
                        .to_owned(),
                }
            };
        }
        if rest == "bridge" {
            return Incoming::Own;
        }
        let levels: Vec<&str> = rest.split('/').collect();
        let n = levels.len();
        let last = levels.last().copied().unwrap_or("");
        let before = n.checked_sub(2).and_then(|i| levels.get(i)).copied();
        let device = |upto: usize| levels.get(..upto).map(|l| l.join("/"));
        match (before, last) {
            (_, "set") => command(device(n - 1), None, true),
            (_, "get") => command(device(n - 1), None, false),
            (Some("set"), p) => command(device(n - 2), Some(p), true),
            (Some("get"), p) => command(device(n - 2), Some(p), false),
            (_, "availability" | "action") => Incoming::Own,
            _ => match FriendlyName::new(rest) {
                Ok(_) => Incoming::Own,
                Err(e) => Incoming::Invalid {
                    reason: format!("not a device topic: {e}"),
                },
            },
        }
    }
}

/// A `/set` or `/get` topic once its suffix is known.
fn command(device: Option<String>, property: Option<&str>, set: bool) -> Incoming {
    let verb = if set { "set" } else { "get" };
    let device = match device.as_deref().map(FriendlyName::new) {
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            return Incoming::Invalid {
                reason: format!("/{verb} for an impossible device name: {e}"),
            };
        }
        None => {
            return Incoming::Invalid {
                reason: format!("/{verb} without a device name"),
            };
        }
    };
    let property = match property {
        None => None,
        Some(p) if is_property(p) => Some(p.to_owned()),
        Some(p) => {
            return Incoming::Invalid {
                reason: format!(
                    "/{verb}/{:?} is not a property name (lowercase letters, digits and _)",
                    sanitize::truncated(p, 40)
                ),
            };
        }
    };
    if set {
        Incoming::Set { device, property }
    } else {
        Incoming::Get { device, property }
    }
}

fn request(name: &str) -> Incoming {
    let ok = !name.is_empty()
        && name.len() <= MAX_REQUEST
        && name.split('/').all(|l| !l.is_empty() && is_property(l));
    if ok {
        Incoming::BridgeRequest {
            name: name.to_owned(),
        }
    } else {
        Incoming::Invalid {
            reason: format!(
                "{:?} is not a request name (e.g. permit_join, remove, rename, read, health)",
                sanitize::truncated(name, 40)
            ),
        }
    }
}

/// Property names: snake_case as in the catalogue.
fn is_property(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= MAX_PROPERTY
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// One topic level from network text: `/`, `+`, `#`, NUL and control characters become
/// `_`; an empty text becomes `unknown`.
fn level(s: &str) -> String {
    if s.is_empty() {
        return "unknown".to_owned();
    }
    s.chars()
        .map(|c| {
            if matches!(c, '/' | '+' | '#') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> FriendlyName {
        FriendlyName::new(s).unwrap()
    }

    fn topics() -> Topics {
        Topics::from_config(&Config::default())
    }

    #[test]
    fn formats_every_topic() {
        let t = topics();
        let n = name("kitchen/window");
        assert_eq!(t.state(&n), "lumi/kitchen/window");
        assert_eq!(t.set(&n), "lumi/kitchen/window/set");
        assert_eq!(
            t.set_property(&n, "state_left"),
            "lumi/kitchen/window/set/state_left"
        );
        assert_eq!(t.get(&n), "lumi/kitchen/window/get");
        assert_eq!(t.get_property(&n, "state"), "lumi/kitchen/window/get/state");
        assert_eq!(t.availability(&n), "lumi/kitchen/window/availability");
        assert_eq!(t.action(&n), "lumi/kitchen/window/action");
        assert_eq!(t.bridge_state(), "lumi/bridge/state");
        assert_eq!(t.bridge_devices(), "lumi/bridge/devices");
        assert_eq!(t.bridge_event(), "lumi/bridge/event");
        assert_eq!(
            t.bridge_request("permit_join"),
            "lumi/bridge/request/permit_join"
        );
        assert_eq!(
            t.bridge_response("permit_join"),
            "lumi/bridge/response/permit_join"
        );
        assert_eq!(t.homeassistant_status(), Some("homeassistant/status"));
        assert_eq!(
            t.subscriptions(1),
            [
                "lumi/bridge/request/#",
                "lumi/+/set",
                "lumi/+/get",
                "lumi/+/set/+",
                "lumi/+/get/+",
                "homeassistant/status"
            ]
        );
        assert_eq!(t.subscriptions(3).len(), 1 + 3 * 4 + 1);
        assert_eq!(
            t.command_filters(2..=2),
            [
                "lumi/+/+/set",
                "lumi/+/+/get",
                "lumi/+/+/set/+",
                "lumi/+/+/get/+"
            ]
        );
        let sid = Sid::new("158d0001a2b3c4").unwrap();
        assert_eq!(
            t.legacy("sensor_ht", &sid, "temperature"),
            None,
            "off by default"
        );

        let c = Config::from_toml(
            "[bridge]\nbase_topic = \"home/lumi\"\nlegacy_topics = true\n[homeassistant]\nenabled = false",
        )
        .unwrap();
        let t = Topics::from_config(&c);
        assert_eq!(t.state(&n), "home/lumi/kitchen/window");
        assert_eq!(t.subscriptions(1).len(), 5);
        assert_eq!(t.subscriptions(1)[0], "home/lumi/bridge/request/#");
        assert_eq!(t.everything(), "home/lumi/#");
        assert_eq!(t.homeassistant_status(), None);
        assert_eq!(
            t.legacy("sensor_ht", &sid, "temperature").as_deref(),
            Some("xiaomi/sensor_ht/158d0001a2b3c4/temperature")
        );
        // Hostile model and sid strings cannot add levels or wildcards.
        let odd = Sid::new("a/b+#").unwrap();
        assert_eq!(
            t.legacy("x/y#\u{1}", &odd, "state").as_deref(),
            Some("xiaomi/x_y__/a_b__/state")
        );
        assert_eq!(
            t.legacy("", &sid, "state").as_deref(),
            Some("xiaomi/unknown/158d0001a2b3c4/state")
        );
    }

    #[test]
    fn parses_commands_and_requests() {
        let t = topics();
        let set = |d: &str, p: Option<&str>| Incoming::Set {
            device: name(d),
            property: p.map(str::to_owned),
        };
        let get = |d: &str, p: Option<&str>| Incoming::Get {
            device: name(d),
            property: p.map(str::to_owned),
        };
        for (topic, want) in [
            ("lumi/plug/set", set("plug", None)),
            ("lumi/plug/set/state", set("plug", Some("state"))),
            ("lumi/kitchen/window/set", set("kitchen/window", None)),
            (
                "lumi/kitchen/window/set/state_left",
                set("kitchen/window", Some("state_left")),
            ),
            ("lumi/a/set/b/c/set", set("a/set/b/c", None)),
            ("lumi/setup/set", set("setup", None)),
            ("lumi/plug/get", get("plug", None)),
            ("lumi/plug/get/power", get("plug", Some("power"))),
            ("lumi/158d0001a2b3c4/set", set("158d0001a2b3c4", None)),
            (
                "lumi/bridge/request/permit_join",
                Incoming::BridgeRequest {
                    name: "permit_join".into(),
                },
            ),
            (
                "lumi/bridge/request/device/remove",
                Incoming::BridgeRequest {
                    name: "device/remove".into(),
                },
            ),
            ("homeassistant/status", Incoming::HomeAssistantStatus),
            ("lumi/plug", Incoming::Own),
            ("lumi/kitchen/window", Incoming::Own),
            ("lumi/plug/availability", Incoming::Own),
            ("lumi/plug/action", Incoming::Own),
            ("lumi/bridge/state", Incoming::Own),
            ("lumi/bridge/response/permit_join", Incoming::Own),
            ("lumi/bridge", Incoming::Own),
            ("lumi/a/set/b/c", Incoming::Own),
            ("zigbee2mqtt/plug/set", Incoming::Foreign),
            ("lumix/plug/set", Incoming::Foreign),
            ("lumi", Incoming::Foreign),
            ("", Incoming::Foreign),
        ] {
            assert_eq!(t.parse(topic), want, "{topic:?}");
        }
    }

    #[test]
    fn malformed_topics_are_invalid_with_a_reason() {
        let t = topics();
        for topic in [
            "lumi/set",
            "lumi//set",
            "lumi/set/state",
            "lumi/bridge/set",
            "lumi/plug/set/State",
            "lumi/plug/set/",
            "lumi/plug/set/a b",
            "lumi/plug/get/x-y",
            "lumi/bridge/request/",
            "lumi/bridge/request/Permit",
            "lumi/bridge/request/a//b",
            "lumi/a+b/set",
            "lumi/",
            "lumi/a//b",
            "lumi/\u{0}/set",
        ] {
            match t.parse(topic) {
                Incoming::Invalid { reason } => {
                    assert!(!reason.is_empty());
                    assert!(!reason.contains('\u{0}'), "{reason:?}");
                }
                other => panic!("{topic:?} → {other:?}"),
            }
        }
    }

    #[test]
    fn every_device_topic_parses_back_to_its_device() {
        let t = topics();
        for n in [
            "plug",
            "kitchen/window",
            "a/set/b/c",
            "Küche/Licht (2)",
            "158d0001a2b3c4",
        ] {
            let n = name(n);
            assert_eq!(
                t.parse(&t.set(&n)),
                Incoming::Set {
                    device: n.clone(),
                    property: None
                }
            );
            assert_eq!(
                t.parse(&t.set_property(&n, "state_l1")),
                Incoming::Set {
                    device: n.clone(),
                    property: Some("state_l1".into())
                }
            );
            assert_eq!(
                t.parse(&t.get(&n)),
                Incoming::Get {
                    device: n.clone(),
                    property: None
                }
            );
            assert_eq!(t.parse(&t.state(&n)), Incoming::Own);
            assert_eq!(t.parse(&t.availability(&n)), Incoming::Own);
            assert_eq!(t.parse(&t.action(&n)), Incoming::Own);
        }
    }

    #[test]
    fn subscriptions_take_every_command_and_none_of_the_bridges_own_topics() {
        let t = topics();
        let subs = t.subscriptions(3);
        let heard = |topic: &str| subs.iter().any(|f| rumqttc::matches(topic, f));
        let own_bridge = [
            t.bridge_state(),
            t.bridge_devices(),
            t.bridge_event(),
            t.bridge_response("permit_join"),
            t.bridge_response("device/remove"),
        ];
        for topic in &own_bridge {
            assert!(!heard(topic), "{topic} would come back to the bridge");
        }
        for request in ["permit_join", "device/rename", "nonsense"] {
            assert!(heard(&t.bridge_request(request)), "{request}");
        }
        assert!(heard("homeassistant/status"));
        for (n, in_depth) in [
            ("plug", true),
            ("kitchen/window", true),
            ("Küche/Licht (2)", true),
            ("a/b/c", true),
            ("a/set/b/c", false),
        ] {
            let n = name(n);
            for topic in [t.state(&n), t.availability(&n), t.action(&n)] {
                assert!(!heard(&topic), "{topic} would come back to the bridge");
            }
            for topic in [
                t.set(&n),
                t.get(&n),
                t.set_property(&n, "state"),
                format!("{}/brightness", t.get(&n)),
            ] {
                assert_eq!(heard(&topic), in_depth, "{topic}");
            }
        }
        // One level more: the next four filters.
        let deeper = t.command_filters(4..=4);
        let n = name("a/set/b/c");
        assert!(deeper.iter().any(|f| rumqttc::matches(&t.set(&n), f)));
        assert!(!deeper.iter().any(|f| rumqttc::matches(&t.state(&n), f)));
    }

    #[test]
    fn parse_is_total_over_arbitrary_text() {
        // Every short combination of the characters that matter, and some long junk.
        let alphabet = [
            "lumi", "/", "set", "get", "bridge", "request", "a", "", "+", "#", "\u{202e}", " ",
        ];
        let t = topics();
        let mut count = 0;
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    for d in alphabet {
                        let topic = format!("{a}{b}{c}{d}");
                        let _ = t.parse(&topic);
                        let _ = t.parse(&format!("lumi/{topic}"));
                        count += 1;
                    }
                }
            }
        }
        assert_eq!(count, 12 * 12 * 12 * 12);
        let _ = t.parse(&"lumi/".repeat(10_000));
        let _ = t.parse(&format!("lumi/{}/set", "x".repeat(100_000)));
    }
}
