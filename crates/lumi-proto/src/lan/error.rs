//! Decode errors of the LAN API.

/// Why a datagram is not a usable LAN API message. Every variant names what was wrong and
/// where; strings from the network are sanitised and shortened before they are stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LanError {
    /// The datagram is larger than any UDP payload.
    #[error("datagram is {len} bytes, larger than the {max}-byte UDP maximum")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The datagram is not UTF-8 text.
    #[error("datagram is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The datagram is not a JSON object.
    #[error("datagram is not a JSON object: {reason}")]
    NotJson {
        /// What the JSON parser said (with line and column).
        reason: String,
    },
    /// The message has no `cmd`.
    #[error("message has no \"cmd\" field")]
    MissingCmd,
    /// The `cmd` is not one this API has.
    #[error("unknown command {cmd:?}")]
    UnknownCommand {
        /// The command (sanitised).
        cmd: String,
    },
    /// A field the command needs is absent.
    #[error("{cmd}: missing field \"{field}\"")]
    MissingField {
        /// The command.
        cmd: String,
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong type or value.
    #[error("{cmd}: field \"{field}\" {problem}")]
    InvalidField {
        /// The command.
        cmd: String,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// Both `data` (v1) and `params` (v2) are present.
    #[error("{cmd}: has both \"data\" (v1) and \"params\" (v2); cannot tell which to use")]
    BothBodies {
        /// The command.
        cmd: String,
    },
}

impl LanError {
    /// Every value [`LanError::kind`] returns, for counters that list each kind (metrics).
    pub const KINDS: [&'static str; 8] = [
        "too_large",
        "not_utf8",
        "not_json",
        "missing_cmd",
        "unknown_command",
        "missing_field",
        "invalid_field",
        "both_bodies",
    ];

    /// A short, stable name of what went wrong (`not_json`, `missing_field`, …), one of
    /// [`LanError::KINDS`]: for counting errors by kind without their details.
    pub fn kind(&self) -> &'static str {
        match self {
            LanError::TooLarge { .. } => "too_large",
            LanError::NotUtf8 { .. } => "not_utf8",
            LanError::NotJson { .. } => "not_json",
            LanError::MissingCmd => "missing_cmd",
            LanError::UnknownCommand { .. } => "unknown_command",
            LanError::MissingField { .. } => "missing_field",
            LanError::InvalidField { .. } => "invalid_field",
            LanError::BothBodies { .. } => "both_bodies",
        }
    }

    /// The position of [`LanError::kind`] in [`LanError::KINDS`].
    pub fn kind_index(&self) -> usize {
        let k = self.kind();
        LanError::KINDS.iter().position(|x| *x == k).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::LanError;

    #[test]
    fn every_kind_is_listed_once_and_found_by_its_index() {
        let errors = [
            LanError::TooLarge {
                len: 70_000,
                max: 65_507,
            },
            LanError::NotUtf8 { offset: 3 },
            LanError::NotJson { reason: "x".into() },
            LanError::MissingCmd,
            LanError::UnknownCommand { cmd: "x".into() },
            LanError::MissingField {
                cmd: "report".into(),
                field: "sid",
            },
            LanError::InvalidField {
                cmd: "report".into(),
                field: "sid",
                problem: "x".into(),
            },
            LanError::BothBodies {
                cmd: "report".into(),
            },
        ];
        assert_eq!(errors.len(), LanError::KINDS.len());
        for (i, e) in errors.iter().enumerate() {
            assert_eq!(e.kind_index(), i, "{e:?}");
            assert_eq!(LanError::KINDS[i], e.kind());
        }
    }

    #[test]
    fn decoding_garbage_gives_the_expected_kinds() {
        let kind = |b: &[u8]| crate::lan::decode(b).err().map(|e| e.kind());
        assert_eq!(kind(b"\xff\xfe"), Some("not_utf8"));
        assert_eq!(kind(b"not json"), Some("not_json"));
        assert_eq!(kind(br#"{"sid":"158d0001c1cdfb"}"#), Some("missing_cmd"));
        assert_eq!(kind(br#"{"cmd":"frobnicate"}"#), Some("unknown_command"));
    }
}
