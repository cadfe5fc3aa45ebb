//! The LAN API write key.
//!
//! Every `write` to a gateway carries a key proving that the sender knows the gateway's
//! 16-character LAN password ("developer key"):
//!
//! ```text
//! key = hex( AES-128-CBC( key = password (16 ASCII bytes),
//!                         iv  = 17 99 6d 09 3d 28 dd b3 ba 69 5a 2e 6f 58 56 2e,
//!                         plaintext = token (16 ASCII bytes) ) )      one block, no padding
//! ```
//!
//! The token rotates with every gateway heartbeat (10 s), so a key is only good for a short
//! while. v1 puts `"key"` inside `data`, v2 next to `params` at the top level.
//!
//! [`GatewayPassword`] and [`WriteKey`] never show their value through `Debug` or `Display`;
//! use [`WriteKey::to_hex`] where the key must go on the wire.

use aes::Aes128;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::NoPadding};
use std::fmt;

use crate::lan::Token;

/// The fixed IV of the LAN key derivation (Lumi's documentation).
pub const KEY_IV: [u8; 16] = [
    0x17, 0x99, 0x6d, 0x09, 0x3d, 0x28, 0xdd, 0xb3, 0xba, 0x69, 0x5a, 0x2e, 0x6f, 0x58, 0x56, 0x2e,
];

/// Why a password, token or key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The password is not 16 characters long.
    #[error(
        "gateway password must be exactly 16 characters, got {len}: copy it from the Mi Home app \
         (gateway > About > LAN communication protocol) or set one with `lumi miio enable-lan`"
    )]
    PasswordLength {
        /// The length given.
        len: usize,
    },
    /// The password has a character outside printable ASCII.
    #[error(
        "gateway password must be printable ASCII (letters and digits as shown in the Mi Home app), \
         found a character at position {position}"
    )]
    PasswordChar {
        /// Zero-based index of the bad character (the character itself is not shown).
        position: usize,
    },
    /// The token is not 16 bytes of ASCII.
    #[error(
        "token {token:?} is {len} bytes, a gateway token is 16 ASCII characters (take it from a fresh heartbeat or get_id_list reply)"
    )]
    TokenLength {
        /// The token (not a secret: gateways broadcast it).
        token: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A key on the wire is not 32 hex digits.
    #[error("write key is not 32 hex digits ({len} characters)")]
    KeyFormat {
        /// Its length.
        len: usize,
    },
}

/// The 16-character LAN password of a gateway. Redacted in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct GatewayPassword([u8; 16]);

impl GatewayPassword {
    /// Validates a password: exactly 16 printable ASCII characters (case matters).
    pub fn new(s: &str) -> Result<Self, KeyError> {
        let len = s.chars().count();
        if len != 16 {
            return Err(KeyError::PasswordLength { len });
        }
        if let Some(position) = s.chars().position(|c| !c.is_ascii_graphic()) {
            return Err(KeyError::PasswordChar { position });
        }
        // 16 ASCII characters are 16 bytes.
        let bytes: [u8; 16] = s
            .as_bytes()
            .try_into()
            .map_err(|_| KeyError::PasswordLength { len })?;
        Ok(GatewayPassword(bytes))
    }

    /// The password text, for the few places that must hand it on (a config file writer,
    /// the miIO `set_lumi_dpf_aes_key` call). Never log it.
    pub fn expose(&self) -> &str {
        // Only printable ASCII is accepted in `new`, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::str::FromStr for GatewayPassword {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        GatewayPassword::new(s)
    }
}

impl fmt::Debug for GatewayPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GatewayPassword(<redacted>)")
    }
}

impl fmt::Display for GatewayPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A write key as it travels in a `write`. Redacted in `Debug` and `Display`.
///
/// Keys received on the wire are kept as the text that was sent (documentation examples and
/// some clients send odd values, which the gateway answers with `Invalid key`), and compared
/// case-insensitively: Domoticz sends upper-case hex, PyXiaomiGateway lower-case, and the
/// gateway accepts both.
#[derive(Clone, Eq)]
pub struct WriteKey(String);

impl WriteKey {
    /// Derives the key for `token` from the gateway password.
    pub fn derive(password: &GatewayPassword, token: &Token) -> Result<WriteKey, KeyError> {
        let raw = derive_raw(password, token.as_str().as_bytes()).ok_or_else(|| {
            KeyError::TokenLength {
                token: crate::sanitize::for_terminal(token.as_str()).into_owned(),
                len: token.as_str().len(),
            }
        })?;
        Ok(WriteKey(hex::encode(raw)))
    }

    /// Wraps a key received on the wire, as it was sent.
    pub fn from_wire(s: impl Into<String>) -> WriteKey {
        WriteKey(s.into())
    }

    /// Parses 32 hex digits (either case) into a key.
    pub fn from_hex(s: &str) -> Result<WriteKey, KeyError> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyError::KeyFormat { len: s.len() });
        }
        Ok(WriteKey(s.to_owned()))
    }

    /// The key as sent on the wire (lower-case hex when derived here).
    pub fn to_hex(&self) -> &str {
        &self.0
    }

    /// The 16 key bytes, if the text is 32 hex digits.
    pub fn to_bytes(&self) -> Option<[u8; 16]> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(&self.0, &mut out).ok()?;
        Some(out)
    }
}

impl PartialEq for WriteKey {
    /// Case-insensitive comparison, as the gateway does.
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Debug for WriteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteKey(<redacted>)")
    }
}

impl fmt::Display for WriteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl serde::Serialize for WriteKey {
    /// Serialised redacted: typed output (`lumi decode`, logs) must not leak keys.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// The 16 raw key bytes for a 16-byte token, or `None` if the token is not 16 bytes.
///
/// This is the hot path of writes; it allocates nothing.
pub fn derive_raw(password: &GatewayPassword, token: &[u8]) -> Option<[u8; 16]> {
    let token: &[u8; 16] = token.try_into().ok()?;
    let mut block = *token;
    let enc = cbc::Encryptor::<Aes128>::new(&password.0.into(), &KEY_IV.into());
    // One whole block with no padding always fits the buffer.
    enc.encrypt_padded::<NoPadding>(&mut block, 16).ok()?;
    Some(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The five vectors of `lan-api.md` §6: one published by Lumi, four computed with
    /// Python `cryptography` from passwords and tokens seen in public sources.
    const VECTORS: [(&str, &str, &str); 5] = [
        (
            "0987654321qwerty",
            "1234567890abcdef",
            "3EB43E37C20AFF4C5872CC0D04D81314",
        ),
        (
            "91bg8zfkf9vd6uw7",
            "3qwM6ve5aFuqiGpQ",
            "2a3d183bcc565aed72bc654fcb4c2abb",
        ),
        (
            "29p9i40jeypwck38",
            "Imt6Sb7zCBInddjX",
            "aacb6009b92426223e63b48a1db936e6",
        ),
        (
            "a6c567lbkcmr47fp",
            "TahkC7dalbIhXG22",
            "9450971f3b12bdce590b61d770b206c4",
        ),
        (
            "t7ew6r4y612eml0f",
            "dcw5vsmC3GK5KEoH",
            "5ca39498aeba9eec3a183ff707d9c1b7",
        ),
    ];

    #[test]
    fn published_and_computed_vectors() {
        for (pw, token, want) in VECTORS {
            let pw: GatewayPassword = pw.parse().unwrap();
            let key = WriteKey::derive(&pw, &Token::new(token)).unwrap();
            assert_eq!(key.to_hex(), want.to_ascii_lowercase(), "{token}");
            // Comparison with the wire form is case-insensitive.
            assert_eq!(key, WriteKey::from_wire(want));
            assert_eq!(key, WriteKey::from_hex(&want.to_ascii_uppercase()).unwrap());
        }
    }

    #[test]
    fn equals_ecb_of_token_xor_iv() {
        // CBC of one block == ECB(token ^ IV): an independent formulation.
        use aes::cipher::{BlockCipherEncrypt, KeyInit};
        let pw: GatewayPassword = "0987654321qwerty".parse().unwrap();
        let token = *b"1234567890abcdef";
        let mut block = [0u8; 16];
        for i in 0..16 {
            block[i] = token[i] ^ KEY_IV[i];
        }
        let ecb = Aes128::new(&pw.0.into());
        let mut b = block.into();
        ecb.encrypt_block(&mut b);
        assert_eq!(derive_raw(&pw, &token).unwrap(), <[u8; 16]>::from(b));
    }

    #[test]
    fn password_validation() {
        assert_eq!(
            GatewayPassword::new("short"),
            Err(KeyError::PasswordLength { len: 5 })
        );
        assert_eq!(
            GatewayPassword::new("0987654321qwerty1"),
            Err(KeyError::PasswordLength { len: 17 })
        );
        assert_eq!(
            GatewayPassword::new("0987654321qwert "),
            Err(KeyError::PasswordChar { position: 15 })
        );
        assert_eq!(
            GatewayPassword::new("0987654321qwertü"),
            Err(KeyError::PasswordChar { position: 15 })
        );
        let err = GatewayPassword::new("abc").unwrap_err().to_string();
        assert!(err.contains("exactly 16 characters, got 3"), "{err}");
    }

    #[test]
    fn bad_token_is_a_clear_error() {
        let pw: GatewayPassword = "0987654321qwerty".parse().unwrap();
        let err = WriteKey::derive(&pw, &Token::new("8")).unwrap_err();
        assert_eq!(
            err,
            KeyError::TokenLength {
                token: "8".into(),
                len: 1
            }
        );
        assert!(derive_raw(&pw, b"").is_none());
        assert!(derive_raw(&pw, &[0u8; 17]).is_none());
    }

    #[test]
    fn secrets_are_redacted() {
        let pw: GatewayPassword = "0987654321qwerty".parse().unwrap();
        let key = WriteKey::derive(&pw, &Token::new("1234567890abcdef")).unwrap();
        for shown in [
            format!("{pw:?}"),
            format!("{pw}"),
            format!("{key:?}"),
            format!("{key}"),
            serde_json::to_string(&key).unwrap(),
        ] {
            assert!(!shown.contains("0987654321qwerty"), "{shown}");
            assert!(!shown.to_ascii_lowercase().contains("3eb43e37"), "{shown}");
        }
        assert_eq!(pw.expose(), "0987654321qwerty");
    }

    #[test]
    fn key_parsing() {
        assert!(WriteKey::from_hex("3EB43E37C20AFF4C5872CC0D04D81314").is_ok());
        assert_eq!(
            WriteKey::from_hex("xyz"),
            Err(KeyError::KeyFormat { len: 3 })
        );
        assert_eq!(WriteKey::from_wire("8").to_bytes(), None);
        assert_eq!(
            WriteKey::from_wire("3EB43E37C20AFF4C5872CC0D04D81314")
                .to_bytes()
                .unwrap()[0],
            0x3e
        );
    }
}
