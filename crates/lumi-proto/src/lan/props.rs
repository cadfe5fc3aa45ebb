//! Raw device properties, in wire order.
//!
//! v1 carries them as the keys of the `data` object (`"data":"{\"status\":\"open\"}"`), v2 as an
//! array of one-key objects (`"params":[{"window_status":"open"}]`). Both become one [`Props`]:
//! an ordered list of `(key, value)` pairs. Values stay raw JSON because real gateways mix
//! strings and numbers (`"temperature":"2120"` next to `"voltage":3005`); the device catalogue
//! turns them into typed values.

use std::borrow::Cow;

use serde_json::Value;

/// An ordered list of raw `(key, value)` properties, as they appeared on the wire.
///
/// Keys that real devices send (`status`, `voltage`, `temperature`, …) are kept as static
/// strings, so decoding a report allocates nothing for them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Props(Vec<(Cow<'static, str>, Value)>);

/// `intern(key)`: the static copy of a raw key of the LAN API, if it is one (a `match`, so
/// the compiler builds a length-then-bytes decision tree).
macro_rules! interned {
    ($($k:literal),* $(,)?) => {
        fn intern(key: &str) -> Option<&'static str> {
            match key {
                $($k => Some($k),)*
                _ => None,
            }
        }
    };
}

interned!(
    "status",
    "voltage",
    "battery_voltage",
    "temperature",
    "humidity",
    "pressure",
    "ip",
    "rgb",
    "illumination",
    "proto_version",
    "channel_0",
    "channel_1",
    "dual_channel",
    "button_0",
    "button_1",
    "load_power",
    "power_consumed",
    "energy_consumed",
    "inuse",
    "no_motion",
    "no_close",
    "lux",
    "window_status",
    "motion_status",
    "wleak_status",
    "cube_status",
    "rotate",
    "rotate_degree",
    "detect_time",
    "alarm",
    "density",
    "curtain_level",
    "curtain_status",
    "coordination",
    "final_tilt_angle",
    "bed_activity",
    "mid",
    "vol",
    "join_permission",
    "error",
    "key",
);

fn key_of(key: String) -> Cow<'static, str> {
    match intern(&key) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(key),
    }
}

impl Props {
    /// An empty property list.
    pub const fn new() -> Self {
        Props(Vec::new())
    }

    /// Appends a property. A later value for the same key wins in [`Props::get`].
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.0.push((key_of(key.into()), value.into()));
    }

    /// [`Props::push`] for a borrowed key: no allocation for the keys devices send.
    pub fn push_key(&mut self, key: &str, value: Value) {
        let key = match intern(key) {
            Some(k) => Cow::Borrowed(k),
            None => Cow::Owned(key.to_owned()),
        };
        self.0.push((key, value));
    }

    /// Builder form of [`Props::push`].
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.push(key, value);
        self
    }

    /// The value of `key`; when a key repeats, the last one (as PyXiaomiGateway's `_list2map`).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key` as text: strings as they are, numbers and booleans printed.
    pub fn get_str(&self, key: &str) -> Option<Cow<'_, str>> {
        match self.get(key)? {
            Value::String(s) => Some(Cow::Borrowed(s)),
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            Value::Bool(b) => Some(Cow::Owned(b.to_string())),
            _ => None,
        }
    }

    /// Removes every entry for `key`, returning the last value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let mut found = None;
        self.0.retain_mut(|(k, v)| {
            if k == key {
                found = Some(std::mem::take(v));
                false
            } else {
                true
            }
        });
        found
    }

    /// True when `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// The properties in wire order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Number of entries (repeated keys count each time).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no properties.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs, consuming the list.
    pub fn into_vec(self) -> Vec<(String, Value)> {
        self.0
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect()
    }
}

impl From<Vec<(String, Value)>> for Props {
    fn from(v: Vec<(String, Value)>) -> Self {
        Props(v.into_iter().map(|(k, v)| (key_of(k), v)).collect())
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Props {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Props(
            iter.into_iter()
                .map(|(k, v)| (key_of(k.into()), v.into()))
                .collect(),
        )
    }
}

impl<'a> IntoIterator for &'a Props {
    type Item = (&'a str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Cow<'static, str>, Value)>,
        fn(&'a (Cow<'static, str>, Value)) -> (&'a str, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl serde::Serialize for Props {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn last_value_wins_and_order_is_kept() {
        let p = Props::new().with("a", 1).with("b", "x").with("a", 2);
        assert_eq!(p.get("a"), Some(&json!(2)));
        assert_eq!(p.get_str("a").as_deref(), Some("2"));
        assert_eq!(p.get_str("b").as_deref(), Some("x"));
        let keys: Vec<_> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b", "a"]);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"a":1,"b":"x","a":2}"#
        );
    }

    #[test]
    fn interned_and_owned_keys_are_the_same_key() {
        // Decoded keys come through `push_key` (interned when known), built ones through
        // `push`; neither representation shows.
        let mut a = Props::new();
        a.push_key("status", json!("open"));
        a.push_key("x-custom", json!(1));
        let b = Props::new().with("status", "open").with("x-custom", 1);
        assert_eq!(a, b);
        assert_eq!(a.get("status"), Some(&json!("open")));
        assert!(matches!(a.0[0].0, Cow::Borrowed(_)));
        assert!(matches!(a.0[1].0, Cow::Owned(_)));
        assert_eq!(
            a.clone().into_vec(),
            vec![
                ("status".to_owned(), json!("open")),
                ("x-custom".to_owned(), json!(1))
            ]
        );
        assert_eq!(intern("status"), Some("status"));
        assert_eq!(intern("statu"), None);
    }

    #[test]
    fn remove_takes_every_entry() {
        let mut p = Props::new().with("a", 1).with("b", 2).with("a", 3);
        assert_eq!(p.remove("a"), Some(json!(3)));
        assert!(!p.contains("a"));
        assert_eq!(p.len(), 1);
    }
}
