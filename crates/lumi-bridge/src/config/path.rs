//! Key paths for errors: `mqtt.url`, `gateway[2].password`, `device."158d0001a2b3c4".name`.
//!
//! Validation builds paths as it walks the file. For the errors serde reports itself (an
//! unknown key, a value of the wrong type), the TOML error only carries a byte span; the
//! document is parsed again with spans ([`toml::de::DeTable`]) to find the key at that span.

use toml::de::{DeTable, DeValue};

/// A key in a table, printed bare when it can be (`[A-Za-z0-9_-]+`), quoted otherwise.
pub(crate) fn key(parent: &str, k: &str) -> String {
    let bare = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let k = if bare {
        k.to_owned()
    } else {
        // Debug quoting escapes quotes and control characters.
        format!("{:?}", lumi_proto::sanitize::truncated(k, 40))
    };
    if parent.is_empty() {
        k
    } else {
        format!("{parent}.{k}")
    }
}

/// The path of the `i`-th (0-based) `[[gateway]]` table: `gateway[1]` is the first, as the
/// command-line tools count them.
pub(crate) fn gateway(i: usize) -> String {
    format!("gateway[{}]", i + 1)
}

/// The path of a `[[device]]` table: by its sid when it has a plausible one, else by
/// position (`device[3]`).
pub(crate) fn device(i: usize, sid: Option<&str>) -> String {
    match sid.map(str::trim) {
        Some(s) if !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_graphic()) => {
            format!("device.{s:?}")
        }
        _ => format!("device[{}]", i + 1),
    }
}

/// The key path at byte offset `pos` of `text`, or `None` when the document does not parse
/// or no key covers the offset.
pub(crate) fn at(text: &str, pos: usize) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    find_in_table(doc.get_ref(), pos, "")
}

fn find_in_table(table: &DeTable<'_>, pos: usize, parent: &str) -> Option<String> {
    for (k, v) in table.iter() {
        let here = key(parent, k.get_ref());
        if let Some(deeper) = find_in_value(k.get_ref(), v.get_ref(), pos, &here, parent) {
            return Some(deeper);
        }
        let on_key = k.span().contains(&pos);
        let on_scalar = v.span().contains(&pos)
            && !matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_));
        if on_key || on_scalar {
            return Some(here);
        }
    }
    None
}

fn find_in_value(
    name: &str,
    v: &DeValue<'_>,
    pos: usize,
    here: &str,
    parent: &str,
) -> Option<String> {
    match v {
        DeValue::Table(t) => find_in_table(t, pos, here),
        DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let item_path = if parent.is_empty() && name == "gateway" {
                gateway(i)
            } else if parent.is_empty() && name == "device" {
                let sid = match item.get_ref() {
                    DeValue::Table(t) => t.get("sid").and_then(|s| s.get_ref().as_str()),
                    _ => None,
                };
                device(i, sid)
            } else {
                format!("{here}[{}]", i + 1)
            };
            let inside = match item.get_ref() {
                DeValue::Table(t) => find_in_table(t, pos, &item_path),
                _ => None,
            };
            // An error about the whole table (a duplicate key) points at its header.
            inside.or_else(|| item.span().contains(&pos).then_some(item_path))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(text: &str, needle: &str) -> Option<String> {
        at(text, text.find(needle)?)
    }

    #[test]
    fn finds_keys_and_values_at_any_depth() {
        let text = "interface = \"eth0\"\n[mqtt]\nurl = \"x\"\nqos = 1\n[[gateway]]\nip = \"10.0.0.1\"\n[[gateway]]\npasword = \"p\"\n[bridge.availability_timeout]\nmains = \"25m\"\n[[device]]\nsid = \"158d0001a2b3c4\"\nname = \"kitchen\"\n[[device]]\nretain = 3\n\"odd key\" = 1\n";
        assert_eq!(path_of(text, "interface").as_deref(), Some("interface"));
        assert_eq!(path_of(text, "\"x\"").as_deref(), Some("mqtt.url"));
        assert_eq!(path_of(text, "qos").as_deref(), Some("mqtt.qos"));
        assert_eq!(
            path_of(text, "pasword").as_deref(),
            Some("gateway[2].pasword")
        );
        assert_eq!(
            path_of(text, "\"25m\"").as_deref(),
            Some("bridge.availability_timeout.mains")
        );
        assert_eq!(
            path_of(text, "\"kitchen\"").as_deref(),
            Some("device.\"158d0001a2b3c4\".name")
        );
        assert_eq!(
            path_of(text, "retain = 3").as_deref(),
            Some("device[2].retain")
        );
        assert_eq!(
            path_of(text, "\"odd key\"").as_deref(),
            Some("device[2].\"odd key\"")
        );
        assert_eq!(at("not = [valid", 3), None);
    }
}
