//! The miIO token and device id newtypes.

use std::fmt;
use std::str::FromStr;

/// The 16-byte miIO token of a device (shown to users as 32 hex digits).
///
/// The token is the only secret of the protocol: it derives the AES key and IV and keys the
/// packet checksum. `Debug` and `Display` never show it (both print `MiioToken(****)`), and no
/// error of this module contains it. Use [`MiioToken::expose_hex`] where the hex form is really
/// needed (writing a configuration file).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MiioToken([u8; 16]);

impl MiioToken {
    /// The all-zero token: what python-miio uses when no token is given, and what its push
    /// server / simulator use for clients that are not registered gateways.
    pub const ZERO: MiioToken = MiioToken([0; 16]);

    /// Wraps 16 raw bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        MiioToken(bytes)
    }

    /// Parses 32 hex digits (either case; surrounding whitespace is ignored).
    pub fn from_hex(s: &str) -> Result<Self, ParseTokenError> {
        let s = s.trim();
        if s.len() != 32 {
            return Err(ParseTokenError::Length {
                len: s.chars().count(),
            });
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| ParseTokenError::NotHex)?;
        Ok(MiioToken(bytes))
    }

    /// The raw 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The token as 32 lowercase hex digits. This reveals the secret: only for configuration
    /// files and similar places where the user asked for it.
    pub fn expose_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether this is the all-`00` or all-`ff` pattern that devices put in a hello reply
    /// instead of their token; such a value is not a usable token.
    pub fn is_placeholder(&self) -> bool {
        self.0 == [0; 16] || self.0 == [0xff; 16]
    }
}

impl From<[u8; 16]> for MiioToken {
    fn from(bytes: [u8; 16]) -> Self {
        MiioToken(bytes)
    }
}

impl FromStr for MiioToken {
    type Err = ParseTokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MiioToken::from_hex(s)
    }
}

impl fmt::Debug for MiioToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MiioToken(****)")
    }
}

impl fmt::Display for MiioToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MiioToken(****)")
    }
}

/// Why a string is not a miIO token. Never contains any part of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseTokenError {
    /// Not 32 characters long.
    #[error(
        "miio token must be 32 hex digits, got {len} characters (get it with `miiocli cloud` or \
         a token extractor)"
    )]
    Length {
        /// Number of characters given (after trimming whitespace).
        len: usize,
    },
    /// 32 characters, but not all of them hex digits.
    #[error("miio token must be 32 hex digits (0-9, a-f), found another character")]
    NotHex,
}

/// The 32-bit device id ("did") in every miIO header; the same number as the cloud did of a
/// Wi-Fi device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(pub u32);

impl DeviceId {
    /// The id `0xffffffff` used in the hello request.
    pub const BROADCAST: DeviceId = DeviceId(u32::MAX);

    /// The numeric value.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl From<u32> for DeviceId {
    fn from(v: u32) -> Self {
        DeviceId(v)
    }
}

impl From<DeviceId> for u32 {
    fn from(v: DeviceId) -> Self {
        v.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for DeviceId {
    type Err = std::num::ParseIntError;

    /// Parses the decimal form used by Xiaomi (`"75223477"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(DeviceId)
    }
}
