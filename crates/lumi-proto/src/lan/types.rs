//! Identifiers of the LAN API, parsed at the boundary.

use std::fmt;

/// Which dialect of the LAN API a message or a gateway speaks.
///
/// v1 (`proto_version` 1.x, Mi multifunction gateways): `data` is a JSON object encoded as a
/// string, replies end in `_ack`. v2 (`proto_version` 2.x, Aqara AC partner, `gateway.aq1`):
/// `params` is an array of one-key objects, replies end in `_rsp`, the write key is top-level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtoVersion {
    /// Protocol 1.x.
    V1,
    /// Protocol 2.x.
    V2,
}

impl ProtoVersion {
    /// The version named by a `proto_version` string such as `"1.1.2"` or `"2.0.0"`:
    /// by its major digit, as PyXiaomiGateway and homebridge-mi-aqara do.
    pub fn from_proto_version(s: &str) -> Option<Self> {
        let major = s.trim().split('.').next()?;
        match major {
            "1" => Some(ProtoVersion::V1),
            "2" => Some(ProtoVersion::V2),
            _ => None,
        }
    }
}

impl fmt::Display for ProtoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtoVersion::V1 => "v1",
            ProtoVersion::V2 => "v2",
        })
    }
}

impl std::str::FromStr for ProtoVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "1" | "v1" => Ok(ProtoVersion::V1),
            "2" | "v2" => Ok(ProtoVersion::V2),
            other => Err(format!("unknown protocol version {other:?}: use v1 or v2")),
        }
    }
}

/// Why a string is not a usable sid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SidError {
    /// The sid is empty.
    #[error("sid is empty")]
    Empty,
    /// The sid is longer than any device id.
    #[error("sid is {len} characters long (at most {max})")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The sid contains a character that is not printable ASCII, or a space.
    #[error("sid contains the character {ch:?} (only printable ASCII without spaces is allowed)")]
    BadChar {
        /// The offending character.
        ch: char,
    },
}

/// A device id ("sid"): 12 hex digits for a gateway (its MAC), 14 for a Zigbee sub-device
/// (`158d…`, its IEEE address).
///
/// Parsing is liberal where gateways are: hex sids are lower-cased, and an 11-digit hex sid
/// (a gateway MAC printed without its leading zero, which PyXiaomiGateway and ioBroker pad back)
/// gets its zero again. Any other printable ASCII is kept as it is (documentation and logs mask
/// sids as `158d000222****`), so nothing a gateway sends is refused for the shape of its sid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Sid(String);

impl Sid {
    /// The longest sid accepted.
    pub const MAX_LEN: usize = 32;

    /// Parses and normalises a sid. Surrounding white space is dropped (documentation
    /// examples have `" 158d0000f2ac34"`).
    pub fn new(s: &str) -> Result<Sid, SidError> {
        let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
        if s.is_empty() {
            return Err(SidError::Empty);
        }
        if s.len() > Self::MAX_LEN {
            return Err(SidError::TooLong {
                len: s.len(),
                max: Self::MAX_LEN,
            });
        }
        if let Some(ch) = s.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(SidError::BadChar { ch });
        }
        if s.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut out = String::with_capacity(12.max(s.len()));
            if s.len() == 11 {
                out.push('0');
            }
            out.extend(s.chars().map(|c| c.to_ascii_lowercase()));
            Ok(Sid(out))
        } else {
            Ok(Sid(s.to_owned()))
        }
    }

    /// The sid as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the 12-hex-digit form of a gateway sid.
    pub fn looks_like_gateway(&self) -> bool {
        self.0.len() == 12 && self.0.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Sid {
    type Err = SidError;
    fn from_str(s: &str) -> Result<Self, SidError> {
        Sid::new(s)
    }
}

impl AsRef<str> for Sid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The rotating 16-character token of a gateway, from its heartbeat or its id-list reply.
///
/// The token is broadcast to the whole LAN every 10 s, so it is not a secret; what protects
/// writes is the password it is encrypted with (see [`crate::key`]). Early documentation
/// shows message counters (`"token":"8"`) in this field, so any text is accepted here and the
/// 16-byte requirement is checked only when a key is derived.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a token as received.
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into())
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sid_normalisation() {
        assert_eq!(Sid::new("34CE00FB7438").unwrap().as_str(), "34ce00fb7438");
        assert_eq!(Sid::new("4cf8c1234567").unwrap().as_str(), "4cf8c1234567");
        assert_eq!(Sid::new("4cf8c123456").unwrap().as_str(), "04cf8c123456");
        assert_eq!(
            Sid::new("158d0001a2b3c4").unwrap().as_str(),
            "158d0001a2b3c4"
        );
        assert_eq!(
            Sid::new("158d000222****").unwrap().as_str(),
            "158d000222****"
        );
        assert!(Sid::new("04cf8c123456").unwrap().looks_like_gateway());
        assert!(!Sid::new("158d0001a2b3c4").unwrap().looks_like_gateway());
        assert_eq!(Sid::new(""), Err(SidError::Empty));
        assert_eq!(Sid::new("a b"), Err(SidError::BadChar { ch: ' ' }));
        assert_eq!(
            Sid::new(" 158d0000f2ac34 ").unwrap().as_str(),
            "158d0000f2ac34"
        );
        assert_eq!(Sid::new("  "), Err(SidError::Empty));
        assert_eq!(Sid::new("é"), Err(SidError::BadChar { ch: 'é' }));
        assert!(matches!(
            Sid::new(&"a".repeat(33)),
            Err(SidError::TooLong { len: 33, .. })
        ));
    }

    #[test]
    fn proto_version_from_string() {
        assert_eq!(
            ProtoVersion::from_proto_version("1.1.2"),
            Some(ProtoVersion::V1)
        );
        assert_eq!(
            ProtoVersion::from_proto_version("2.0.0"),
            Some(ProtoVersion::V2)
        );
        assert_eq!(ProtoVersion::from_proto_version("3"), None);
        assert_eq!(ProtoVersion::from_proto_version(""), None);
        assert_eq!("V2".parse::<ProtoVersion>(), Ok(ProtoVersion::V2));
        assert!("x".parse::<ProtoVersion>().is_err());
    }
}
