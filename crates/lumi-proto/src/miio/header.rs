//! The 32-byte header, the hello request and the hello reply.

use std::fmt;

use super::error::PacketError;
use super::token::{DeviceId, MiioToken};

/// The magic number in bytes 0..2 of every miIO packet.
pub const MAGIC: u16 = 0x2131;

/// Size of the header; also the size of a hello and of a hello reply.
pub const HEADER_LEN: usize = 32;

/// The hello (handshake / discovery) request: magic, length 32, then 28 bytes of `ff`.
pub const HELLO: [u8; HEADER_LEN] = {
    let mut b = [0xff; HEADER_LEN];
    b[0] = 0x21;
    b[1] = 0x31;
    b[2] = 0x00;
    b[3] = 0x20;
    b
};

/// Whether `datagram` is exactly the hello request.
pub fn is_hello(datagram: &[u8]) -> bool {
    datagram == HELLO
}

/// A parsed miIO header (all fields big-endian on the wire).
///
/// [`Header::parse`] is strict: `length == datagram.len()`, `length >= 32`,
/// `(length - 32) % 16 == 0` and the magic are all checked before anything else is read.
///
/// `Debug` shows the checksum in hex, except in a 32-byte header whose field holds a revealed
/// token (a hello reply): that is redacted.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Bytes 2..4: total packet length including the header.
    pub length: u16,
    /// Bytes 4..8: `0` in normal packets and hello replies, `0xffffffff` in the hello request.
    pub unknown: u32,
    /// Bytes 8..12: the device id.
    pub device_id: DeviceId,
    /// Bytes 12..16: the device's seconds counter (uptime or unix time, see the module docs).
    pub stamp: u32,
    /// Bytes 16..32: MD5 checksum, or the token / `ff`*16 / `00`*16 in a hello reply.
    pub checksum: [u8; 16],
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Hex<'a>(&'a [u8]);
        impl fmt::Debug for Hex<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
        let mut d = f.debug_struct("Header");
        d.field("length", &self.length)
            .field("unknown", &format_args!("{:#010x}", self.unknown))
            .field("device_id", &self.device_id)
            .field("stamp", &self.stamp);
        let is_token = usize::from(self.length) == HEADER_LEN
            && matches!(
                HelloToken::from_field(self.checksum),
                HelloToken::Revealed(_)
            );
        if is_token {
            d.field("checksum", &format_args!("<token, redacted>"));
        } else {
            d.field("checksum", &Hex(&self.checksum));
        }
        d.finish()
    }
}

impl Header {
    /// Parses and validates the header of a whole datagram.
    pub fn parse(datagram: &[u8]) -> Result<Header, PacketError> {
        let len = datagram.len();
        let Some(h) = datagram.first_chunk::<HEADER_LEN>() else {
            return Err(PacketError::TooShort { len });
        };
        let found = u16::from_be_bytes([h[0], h[1]]);
        if found != MAGIC {
            return Err(PacketError::BadMagic { found });
        }
        let length = u16::from_be_bytes([h[2], h[3]]);
        if usize::from(length) != len {
            if len > usize::from(u16::MAX) {
                return Err(PacketError::TooLong { len });
            }
            return Err(PacketError::LengthMismatch {
                header: length,
                datagram: len,
            });
        }
        let payload = len - HEADER_LEN;
        if !payload.is_multiple_of(16) {
            return Err(PacketError::UnalignedPayload { len: payload });
        }
        Ok(Header::from_bytes(h))
    }

    /// Reads the fields of 32 header bytes without any validation.
    pub fn from_bytes(h: &[u8; HEADER_LEN]) -> Header {
        let be32 = |o: usize| u32::from_be_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        let mut checksum = [0u8; 16];
        checksum.copy_from_slice(&h[16..32]);
        Header {
            length: u16::from_be_bytes([h[2], h[3]]),
            unknown: be32(4),
            device_id: DeviceId(be32(8)),
            stamp: be32(12),
            checksum,
        }
    }

    /// Writes the header (with magic `0x2131`) into 32 bytes.
    pub fn write(&self, out: &mut [u8; HEADER_LEN]) {
        out[0..2].copy_from_slice(&MAGIC.to_be_bytes());
        out[2..4].copy_from_slice(&self.length.to_be_bytes());
        out[4..8].copy_from_slice(&self.unknown.to_be_bytes());
        out[8..12].copy_from_slice(&self.device_id.0.to_be_bytes());
        out[12..16].copy_from_slice(&self.stamp.to_be_bytes());
        out[16..32].copy_from_slice(&self.checksum);
    }

    /// The header as 32 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        self.write(&mut out);
        out
    }

    /// Length of the encrypted payload that follows the header.
    pub fn payload_len(&self) -> usize {
        usize::from(self.length).saturating_sub(HEADER_LEN)
    }
}

/// What a hello reply carries in bytes 16..32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HelloToken {
    /// A real token (unprovisioned devices and some old firmware reveal it). Redacted in `Debug`.
    Revealed(MiioToken),
    /// `ff`*16: token hidden (provisioned device).
    HiddenOnes,
    /// `00`*16: token hidden (some devices, and python-miio's fake device).
    HiddenZeros,
}

impl HelloToken {
    /// Classifies the 16 bytes of the checksum field: all-`ff` and all-`00` mean hidden.
    pub fn from_field(field: [u8; 16]) -> HelloToken {
        if field == [0xff; 16] {
            HelloToken::HiddenOnes
        } else if field == [0; 16] {
            HelloToken::HiddenZeros
        } else {
            HelloToken::Revealed(MiioToken::from_bytes(field))
        }
    }

    /// The 16 bytes as they go on the wire.
    pub fn to_field(&self) -> [u8; 16] {
        match self {
            HelloToken::Revealed(t) => *t.as_bytes(),
            HelloToken::HiddenOnes => [0xff; 16],
            HelloToken::HiddenZeros => [0; 16],
        }
    }
}

/// A hello reply: `21 31 00 20 | 00000000 | did | stamp | token or ff*16 or 00*16`.
///
/// It authenticates nothing: only a successful encrypted exchange proves a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HelloReply {
    /// Bytes 4..8, `0` in every reply seen.
    pub unknown: u32,
    /// The device id to put in every later request.
    pub device_id: DeviceId,
    /// The device's stamp, the base for the stamps of later requests.
    pub stamp: u32,
    /// The token field.
    pub token: HelloToken,
}

impl HelloReply {
    /// A reply that hides the token with `00`*16, as python-miio's fake device sends it.
    pub fn hidden(device_id: DeviceId, stamp: u32) -> HelloReply {
        HelloReply {
            unknown: 0,
            device_id,
            stamp,
            token: HelloToken::HiddenZeros,
        }
    }

    /// A reply that reveals `token`, as an unprovisioned device sends it.
    pub fn revealing(device_id: DeviceId, stamp: u32, token: MiioToken) -> HelloReply {
        HelloReply {
            unknown: 0,
            device_id,
            stamp,
            token: HelloToken::from_field(*token.as_bytes()),
        }
    }

    /// Parses a hello reply: a valid 32-byte header that is not the hello request.
    pub fn parse(datagram: &[u8]) -> Result<HelloReply, PacketError> {
        match Hello::parse(datagram)? {
            Hello::Request => Err(PacketError::UnexpectedHelloRequest),
            Hello::Reply(r) => Ok(r),
        }
    }

    /// The revealed token, if the device sent one.
    pub fn revealed_token(&self) -> Option<MiioToken> {
        match self.token {
            HelloToken::Revealed(t) => Some(t),
            HelloToken::HiddenOnes | HelloToken::HiddenZeros => None,
        }
    }

    /// Whether the token field holds a token (neither all-`ff` nor all-`00`).
    pub fn token_revealed(&self) -> bool {
        matches!(self.token, HelloToken::Revealed(_))
    }

    /// The 32 bytes of the reply.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        Header {
            length: HEADER_LEN as u16,
            unknown: self.unknown,
            device_id: self.device_id,
            stamp: self.stamp,
            checksum: self.token.to_field(),
        }
        .to_bytes()
    }
}

/// A 32-byte packet: the hello request or a hello reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hello {
    /// Exactly [`HELLO`].
    Request,
    /// Anything else with a valid 32-byte header.
    Reply(HelloReply),
}

impl Hello {
    /// Parses a 32-byte packet (header checks as in [`Header::parse`], then length must be 32).
    pub fn parse(datagram: &[u8]) -> Result<Hello, PacketError> {
        let h = Header::parse(datagram)?;
        if usize::from(h.length) != HEADER_LEN {
            return Err(PacketError::NotHello {
                len: datagram.len(),
            });
        }
        if is_hello(datagram) {
            return Ok(Hello::Request);
        }
        Ok(Hello::Reply(HelloReply {
            unknown: h.unknown,
            device_id: h.device_id,
            stamp: h.stamp,
            token: HelloToken::from_field(h.checksum),
        }))
    }

    /// The 32 bytes of this packet.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        match self {
            Hello::Request => HELLO,
            Hello::Reply(r) => r.to_bytes(),
        }
    }
}
