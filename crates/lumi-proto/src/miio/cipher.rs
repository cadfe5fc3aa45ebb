//! `seal` / `open`: AES-128-CBC with MD5-derived key and IV, and the MD5 checksum.

use std::fmt;

use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit, block_padding::Pkcs7};
use aes::{Aes128Dec, Aes128Enc};
use md5::{Digest, Md5};

use super::error::PacketError;
use super::header::{HEADER_LEN, Header};
use super::token::{DeviceId, MiioToken};

/// The largest plaintext that fits in one packet (the 16-bit length field counts the header
/// and the PKCS#7-padded ciphertext).
pub const MAX_PLAINTEXT: usize = 65487;

/// Keys derived from one token, ready to seal and open packets.
///
/// `key = md5(token)`, `iv = md5(key ‖ token)`; the AES key schedules are expanded once here,
/// so sealing and opening do no MD5 work beyond the checksum. Cheap to clone. `Debug` shows
/// neither the token nor the keys.
#[derive(Clone)]
pub struct Cipher {
    token: MiioToken,
    iv: [u8; 16],
    enc: Aes128Enc,
    dec: Aes128Dec,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// A decrypted packet: its header and the plaintext, exactly as sent (any trailing NUL kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The packet header (device id, stamp, checksum...).
    pub header: Header,
    /// The decrypted plaintext without the PKCS#7 padding.
    pub payload: Vec<u8>,
}

impl Opened {
    /// The device id from the header.
    pub fn device_id(&self) -> DeviceId {
        self.header.device_id
    }

    /// The stamp from the header.
    pub fn stamp(&self) -> u32 {
        self.header.stamp
    }

    /// The JSON text of the payload: everything before the first NUL, as UTF-8.
    pub fn json_text(&self) -> Result<&str, super::rpc::RpcError> {
        super::rpc::json_text(&self.payload)
    }

    /// Decodes the payload as a JSON-RPC request or reply (with the documented repairs).
    pub fn rpc(&self) -> Result<super::rpc::RpcMessage, super::rpc::RpcError> {
        super::rpc::RpcMessage::decode(&self.payload)
    }
}

impl Cipher {
    /// Derives the key and IV of `token`.
    pub fn new(token: &MiioToken) -> Cipher {
        let key = Md5::digest(token.as_bytes());
        let iv = Md5::new()
            .chain_update(key)
            .chain_update(token.as_bytes())
            .finalize();
        Cipher {
            token: *token,
            iv: iv.into(),
            enc: Aes128Enc::new(&key),
            dec: Aes128Dec::new(&key),
        }
    }

    /// The token these keys were derived from.
    pub fn token(&self) -> &MiioToken {
        &self.token
    }

    /// Builds a packet: header (`unknown` = 0), checksum, encrypted `payload`.
    ///
    /// The payload is sent as given: add the trailing NUL yourself if wanted (the RPC encoders
    /// of this module do). One allocation of exactly the packet size.
    pub fn seal(
        &self,
        device_id: DeviceId,
        stamp: u32,
        payload: &[u8],
    ) -> Result<Vec<u8>, PacketError> {
        let mut out = Vec::new();
        self.seal_into(device_id, stamp, payload, &mut out)?;
        Ok(out)
    }

    /// Like [`Cipher::seal`], but writes into `out` (cleared first), so a caller can reuse
    /// one buffer and avoid allocating.
    pub fn seal_into(
        &self,
        device_id: DeviceId,
        stamp: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), PacketError> {
        if payload.len() > MAX_PLAINTEXT {
            return Err(PacketError::PayloadTooLarge {
                len: payload.len(),
                max: MAX_PLAINTEXT,
            });
        }
        let padded = (payload.len() / 16 + 1) * 16;
        let total = HEADER_LEN + padded;
        let length = u16::try_from(total).map_err(|_| PacketError::PayloadTooLarge {
            len: payload.len(),
            max: MAX_PLAINTEXT,
        })?;
        // The checksum field starts as the token: md5 over the whole packet is then
        // md5(header[0..16] ‖ token ‖ ciphertext).
        let header = Header {
            length,
            unknown: 0,
            device_id,
            stamp,
            checksum: *self.token.as_bytes(),
        };
        out.clear();
        out.reserve_exact(total);
        out.extend_from_slice(&header.to_bytes());
        out.extend_from_slice(payload);
        out.resize(total, 0);
        let body = &mut out[HEADER_LEN..];
        let ct_len = cbc::Encryptor::<&Aes128Enc>::inner_iv_init(&self.enc, &self.iv.into())
            .encrypt_padded::<Pkcs7>(body, payload.len())
            .map_err(|_| PacketError::PayloadTooLarge {
                len: payload.len(),
                max: MAX_PLAINTEXT,
            })?
            .len();
        debug_assert_eq!(ct_len, padded);
        let sum = Md5::digest(&out[..]);
        out[16..32].copy_from_slice(&sum);
        Ok(())
    }

    /// Checks the header and the checksum of an encrypted packet, without decrypting.
    pub fn verify(&self, datagram: &[u8]) -> Result<Header, PacketError> {
        let header = Header::parse(datagram)?;
        if datagram.len() == HEADER_LEN {
            return Err(PacketError::NoPayload);
        }
        let (head, ciphertext) = datagram.split_at(HEADER_LEN);
        let sum = Md5::new()
            .chain_update(&head[..16])
            .chain_update(self.token.as_bytes())
            .chain_update(ciphertext)
            .finalize();
        if !ct_eq(&sum, &head[16..32]) {
            return Err(PacketError::ChecksumMismatch {
                device_id: header.device_id,
            });
        }
        Ok(header)
    }

    /// Verifies and decrypts a packet. The checksum is checked before anything is decrypted;
    /// a 32-byte packet (hello, hello reply) is [`PacketError::NoPayload`].
    ///
    /// One allocation (the plaintext buffer, decrypted in place).
    pub fn open(&self, datagram: &[u8]) -> Result<Opened, PacketError> {
        let header = self.verify(datagram)?;
        let mut payload = datagram[HEADER_LEN..].to_vec();
        let len = self.decrypt(&header, &mut payload)?.len();
        payload.truncate(len);
        Ok(Opened { header, payload })
    }

    /// Verifies and decrypts a packet in place, without allocating; returns the header and
    /// the plaintext (a sub-slice of `datagram`). On error the ciphertext part of `datagram`
    /// may have been overwritten.
    pub fn open_in_place<'a>(
        &self,
        datagram: &'a mut [u8],
    ) -> Result<(Header, &'a [u8]), PacketError> {
        let header = self.verify(datagram)?;
        let plain = self.decrypt(&header, &mut datagram[HEADER_LEN..])?;
        Ok((header, plain))
    }

    fn decrypt<'a>(&self, header: &Header, body: &'a mut [u8]) -> Result<&'a [u8], PacketError> {
        cbc::Decryptor::<&Aes128Dec>::inner_iv_init(&self.dec, &self.iv.into())
            .decrypt_padded::<Pkcs7>(body)
            .map_err(|_| PacketError::BadPadding {
                device_id: header.device_id,
            })
    }
}

/// Compares two byte strings without an early exit.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Builds a packet with `token` (derives the keys each call; keep a [`Cipher`] on hot paths).
pub fn seal(
    token: &MiioToken,
    device_id: DeviceId,
    stamp: u32,
    payload: &[u8],
) -> Result<Vec<u8>, PacketError> {
    Cipher::new(token).seal(device_id, stamp, payload)
}

/// Verifies and decrypts a packet with `token` (derives the keys each call; keep a
/// [`Cipher`] on hot paths).
pub fn open(token: &MiioToken, datagram: &[u8]) -> Result<Opened, PacketError> {
    Cipher::new(token).open(datagram)
}
