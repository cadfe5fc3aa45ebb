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
