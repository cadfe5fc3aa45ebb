//! Friendly names: what a device is called in MQTT topics (`lumi/<friendly_name>`).
//!
//! As in zigbee2mqtt, a name may contain `/` to build a hierarchy (`kitchen/window`). The rules
//! make every topic of the bridge mean one thing, whatever names the user picks:
//!
//! - 1 to [`FriendlyName::MAX_LEN`] characters: letters and digits (any script), spaces and
//!   `_ - . ' ( ) :`, with `/` between levels; no empty level, no space at either end of a
//!   level. MQTT wildcards (`+`, `#`), `$`, control characters and the like are refused.
//! - The last level is not `set`, `get`, `availability` or `action`, and the level before
//!   the last is not `set` or `get`: otherwise `lumi/a/set` could be both the state of
//!   device `a/set` and the command topic of device `a`.
//! - The first level is not `bridge` (`lumi/bridge/…` are the bridge's own topics).
//!
//! A device without a configured name is called by its sid, which always fits the rules
//! (see [`FriendlyName::from_sid`]).

use std::fmt;

use lumi_proto::lan::Sid;
use serde::Serialize;

/// Levels that may not end a name: the suffixes of a device's own topics.
const RESERVED_LAST: &[&str] = &["set", "get", "availability", "action"];
/// Levels that may not come just before the last: `…/set/<property>`, `…/get/<property>`.
const RESERVED_BEFORE_LAST: &[&str] = &["set", "get"];
/// The first level of the bridge's own topics.
const BRIDGE: &str = "bridge";

/// Punctuation allowed in a name besides letters, digits, spaces and `/`.
const PUNCTUATION: &[char] = &['_', '-', '.', '\'', '(', ')', ':'];

/// A validated friendly name. See the [module documentation](self) for the rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FriendlyName(String);

/// Why a text is not a usable friendly name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Nothing given.
    #[error("the name is empty")]
    Empty,
    /// Longer than [`FriendlyName::MAX_LEN`].
    #[error("the name is {len} characters long (at most {max})")]
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character that is not allowed.
    #[error(
        "the name contains {ch:?} at position {position}: use letters, digits, spaces and _ - . ' ( ) :, with / between levels"
    )]
    BadChar {
        /// The character.
        ch: char,
        /// Its position (0-based, in characters).
        position: usize,
    },
    /// `a//b`, `/a`, `a/`.
    #[error("the name has an empty level (a leading, trailing or doubled /)")]
    EmptyLevel,
    /// `" a"`, `"a /b"`.
    #[error("a level of the name starts or ends with a space")]
    Space,
    /// The name ends in a topic suffix of the bridge.
    #[error(
        "the name must not end in /{level}: {level} is part of the bridge's topics (lumi/<name>/{level})"
    )]
    ReservedLast {
        /// The reserved level.
        level: &'static str,
    },
    /// `a/set/b`: the level before the last is `set` or `get`.
    #[error(
        "the level before the last must not be {level}: lumi/<name>/{level}/<property> is a command topic"
    )]
    ReservedBeforeLast {
        /// The reserved level.
        level: &'static str,
    },
    /// The first level is `bridge`.
    #[error("the name must not start with bridge: lumi/bridge/… are the bridge's own topics")]
    Bridge,
}

impl FriendlyName {
    /// The longest name accepted, in characters.
    pub const MAX_LEN: usize = 100;

    /// Validates a name (surrounding white space is not trimmed: it would be a different topic).
    pub fn new(name: &str) -> Result<FriendlyName, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        let len = name.chars().count();
        if len > Self::MAX_LEN {
            return Err(NameError::TooLong {
                len,
                max: Self::MAX_LEN,
            });
        }
        if let Some((position, ch)) = name.chars().enumerate().find(|(_, c)| !allowed(*c)) {
            return Err(NameError::BadChar { ch, position });
        }
        let levels: Vec<&str> = name.split('/').collect();
        if levels.iter().any(|l| l.is_empty()) {
            return Err(NameError::EmptyLevel);
        }
        if levels
            .iter()
            .any(|l| l.starts_with(' ') || l.ends_with(' '))
        {
            return Err(NameError::Space);
        }
        if levels.first() == Some(&BRIDGE) {
            return Err(NameError::Bridge);
        }
        if let Some(last) = levels.last()
            && let Some(level) = RESERVED_LAST.iter().find(|r| *r == last)
        {
            return Err(NameError::ReservedLast { level });
        }
        if levels.len() >= 2
            && let Some(before) = levels.get(levels.len() - 2)
            && let Some(level) = RESERVED_BEFORE_LAST.iter().find(|r| *r == before)
        {
            return Err(NameError::ReservedBeforeLast { level });
        }
        Ok(FriendlyName(name.to_owned()))
    }

    /// The name of a device nobody named: its sid. Sids from the network may hold any
    /// printable ASCII (`158d000222****` in documentation), so characters a name may not
    /// contain become `_`, and a sid that is a reserved word gets a `sid_` prefix.
    pub fn from_sid(sid: &Sid) -> FriendlyName {
        let cleaned: String = sid
            .as_str()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(Self::MAX_LEN - 4)
            .collect();
        FriendlyName::new(&cleaned).unwrap_or_else(|_| FriendlyName(format!("sid_{cleaned}")))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How many topic levels the name takes (`kitchen/window`: 2).
    pub fn levels(&self) -> usize {
        self.0.split('/').count()
    }

    /// True when the name is 12 or 14 hex digits: the shape of a gateway or sub-device sid.
    pub fn looks_like_sid(&self) -> bool {
        matches!(self.0.len(), 12 | 14) && self.0.bytes().all(|b| b.is_ascii_hexdigit())
    }

    /// The name as a Home Assistant object id: lowercase ASCII letters, digits and `_`
    /// (`"Kitchen/Window (left)"` → `"kitchen_window_left"`; common accented letters lose
    /// their accent: `"Küche"` → `"kuche"`). Empty when nothing is left (`"客厅"`).
    pub fn slug(&self) -> String {
        slug(&self.0)
    }
}

impl fmt::Display for FriendlyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for FriendlyName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for FriendlyName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        FriendlyName::new(s)
    }
}

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || c == '/' || PUNCTUATION.contains(&c)
}

/// Lowercase ASCII letters, digits and single `_` between words (empty when nothing is left).
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_sep = false;
    for c in text.chars().flat_map(fold) {
        if c.is_ascii_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_sep = true;
        }
    }
    out
}

/// Drops the accent of common Latin letters (`ü` → `u`, `ß` → `ss`); other characters stay.
fn fold(c: char) -> impl Iterator<Item = char> {
    let s: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ß' => "ss",
        _ => "",
    };
    let (folded, original) = if s.is_empty() {
        (None, Some(c))
    } else {
        (Some(s.chars()), None)
    };
    folded.into_iter().flatten().chain(original)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_hierarchical_names() {
        for name in [
            "kitchen",
            "kitchen/window",
            "Living room/Motion (left)",
            "Küche/Fenster",
            "客厅",
            "a.b-c_d:e'f",
            "setup",
            "settings/get up",
            "x/bridge",
            "set/x/y",
            "158d0001a2b3c4",
        ] {
            assert!(FriendlyName::new(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_every_kind_of_mistake() {
        let long = "a".repeat(101);
        for (name, want) in [
            ("", NameError::Empty),
            (long.as_str(), NameError::TooLong { len: 101, max: 100 }),
            (
                "a+b",
                NameError::BadChar {
                    ch: '+',
                    position: 1,
                },
            ),
            (
                "a/#",
                NameError::BadChar {
                    ch: '#',
                    position: 2,
                },
            ),
            (
                "$SYS",
                NameError::BadChar {
                    ch: '$',
                    position: 0,
                },
            ),
            (
                "a\u{0}",
                NameError::BadChar {
                    ch: '\0',
                    position: 1,
                },
            ),
            (
                "tab\tname",
                NameError::BadChar {
                    ch: '\t',
                    position: 3,
                },
            ),
            (
                "rtl\u{202e}",
                NameError::BadChar {
                    ch: '\u{202e}',
                    position: 3,
                },
            ),
            ("/a", NameError::EmptyLevel),
            ("a/", NameError::EmptyLevel),
            ("a//b", NameError::EmptyLevel),
            (" a", NameError::Space),
            ("a /b", NameError::Space),
            ("bridge", NameError::Bridge),
            ("bridge/x", NameError::Bridge),
            ("lamp/set", NameError::ReservedLast { level: "set" }),
            ("lamp/get", NameError::ReservedLast { level: "get" }),
            (
                "lamp/availability",
                NameError::ReservedLast {
                    level: "availability",
                },
            ),
            ("lamp/action", NameError::ReservedLast { level: "action" }),
            ("set", NameError::ReservedLast { level: "set" }),
            (
                "lamp/set/state",
                NameError::ReservedBeforeLast { level: "set" },
            ),
            (
                "lamp/get/state",
                NameError::ReservedBeforeLast { level: "get" },
            ),
        ] {
            assert_eq!(FriendlyName::new(name), Err(want), "{name:?}");
            let msg = FriendlyName::new(name).unwrap_err().to_string();
            assert!(
                msg.starts_with("the name")
                    || msg.starts_with("a level")
                    || msg.starts_with("the level"),
                "{msg}"
            );
        }
    }

    #[test]
    fn names_from_sids_are_always_valid() {
        for sid in [
            "158d0001a2b3c4",
            "34ce0088db0b",
            "158d000222****",
            "a/b+c#",
            "set",
            "bridge",
            "availability",
            "$x",
        ] {
            let sid = Sid::new(sid).unwrap();
            let name = FriendlyName::from_sid(&sid);
            assert!(FriendlyName::new(name.as_str()).is_ok(), "{sid} → {name}");
        }
        let sid = Sid::new("158d000222****").unwrap();
        assert_eq!(FriendlyName::from_sid(&sid).as_str(), "158d000222____");
        assert_eq!(
            FriendlyName::from_sid(&Sid::new("bridge").unwrap()).as_str(),
            "sid_bridge"
        );
        assert!(FriendlyName::from_sid(&Sid::new("158D0001A2B3C4").unwrap()).looks_like_sid());
    }

    #[test]
    fn slugs_are_home_assistant_object_ids() {
        for (name, slug) in [
            ("Kitchen/Window (left)", "kitchen_window_left"),
            ("Küche", "kuche"),
            ("Straße", "strasse"),
            ("客厅", ""),
            ("客厅 lamp", "lamp"),
            ("158d0001a2b3c4", "158d0001a2b3c4"),
            ("__a__b__", "a_b"),
        ] {
            assert_eq!(FriendlyName::new(name).unwrap().slug(), slug, "{name}");
        }
    }
}
