//! Errors of the miIO packet layer.

use super::token::DeviceId;

/// Why a datagram is not a valid miIO packet, or cannot be built.
///
/// Messages are lowercase and say what was wrong and where. None of them contains the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The datagram is shorter than the 32-byte header.
    #[error("miio datagram too short: {len} bytes, a header needs 32")]
    TooShort {
        /// Length of the datagram.
        len: usize,
    },
    /// The datagram is longer than the 16-bit length field can describe.
    #[error("miio datagram too long: {len} bytes, the length field allows at most 65535")]
    TooLong {
        /// Length of the datagram.
        len: usize,
    },
    /// Bytes 0..2 are not `21 31`.
    #[error("bad miio magic 0x{found:04x} at offset 0, expected 0x2131")]
    BadMagic {
        /// The value found.
        found: u16,
    },
    /// The length field (bytes 2..4) does not match the size of the datagram.
    #[error("miio length field at offset 2 says {header} bytes but the datagram has {datagram}")]
    LengthMismatch {
        /// The value of the length field.
        header: u16,
        /// The actual datagram length.
        datagram: usize,
    },
    /// The payload after the header is not a whole number of 16-byte AES blocks.
    #[error("miio payload at offset 32 is {len} bytes, not a multiple of the 16-byte aes block")]
    UnalignedPayload {
        /// Length of the payload (datagram length minus 32).
        len: usize,
    },
    /// A 32-byte packet (hello or hello reply) was given where an encrypted one was expected.
    #[error("miio packet has no encrypted payload (32 bytes: a hello or hello reply)")]
    NoPayload,
    /// A packet with a payload was given where a 32-byte hello was expected.
    #[error("miio packet of {len} bytes carries a payload, a hello is exactly 32 bytes")]
    NotHello {
        /// Length of the packet.
        len: usize,
    },
    /// The exact hello request was given where a hello reply was expected.
    #[error("expected a miio hello reply, got the hello request (21 31 00 20 ff..ff)")]
    UnexpectedHelloRequest,
    /// The MD5 checksum (bytes 16..32) does not match: wrong token, or a corrupted packet.
    #[error(
        "miio checksum mismatch at offset 16 in a packet from device {device_id}: wrong token \
         or corrupted packet"
    )]
    ChecksumMismatch {
        /// Device id from the packet header.
        device_id: DeviceId,
    },
    /// The checksum was right but the decrypted payload does not end in valid PKCS#7 padding.
    #[error(
        "bad pkcs#7 padding after decrypting the payload from device {device_id} (checksum was \
         valid: the sender encrypted it wrongly)"
    )]
    BadPadding {
        /// Device id from the packet header.
        device_id: DeviceId,
    },
    /// The payload to seal is too large for the 16-bit length field.
    #[error("miio payload too large: {len} bytes, at most {max} fit in one packet")]
    PayloadTooLarge {
        /// Length of the plaintext given.
        len: usize,
        /// The largest plaintext that fits.
        max: usize,
    },
}
