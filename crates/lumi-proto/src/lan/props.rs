//! Raw device properties, in wire order.
//!
//! v1 carries them as the keys of the `data` object (`"data":"{\"status\":\"open\"}"`), v2 as an
//! array of one-key objects (`"params":[{"window_status":"open"}]`). Both become one [`Props`]:
//! an ordered list of `(key, value)` pairs. Values stay raw JSON because real gateways mix
//! strings and numbers (`"temperature":"2120"` next to `"voltage":3005`); the device catalogue
//! turns them into typed values.

use serde_json::Value;

/// An ordered list of raw `(key, value)` properties, as they appeared on the wire.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Props(Vec<(String, Value)>);

impl Props {
    /// An empty property list.
    pub const fn new() -> Self {
        Props(Vec::new())
    }

    /// Appends a property. A later value for the same key wins in [`Props::get`].
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.0.push((key.into(), value.into()));
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
    pub fn get_str(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        match self.get(key)? {
            Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
            Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
            Value::Bool(b) => Some(std::borrow::Cow::Owned(b.to_string())),
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
        self.0.iter().map(|(k, v)| (k.as_str(), v))
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
    }
}

impl From<Vec<(String, Value)>> for Props {
    fn from(v: Vec<(String, Value)>) -> Self {
        Props(v)
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Props {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Props(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl<'a> IntoIterator for &'a Props {
    type Item = (&'a str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Value)>,
        fn(&'a (String, Value)) -> (&'a str, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl serde::Serialize for Props {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
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
    fn remove_takes_every_entry() {
        let mut p = Props::new().with("a", 1).with("b", 2).with("a", 3);
        assert_eq!(p.remove("a"), Some(json!(3)));
        assert!(!p.contains("a"));
        assert_eq!(p.len(), 1);
    }
}
