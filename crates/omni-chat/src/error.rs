//! Why a chat page's frame was refused: one enum, its codes and messages,
//! sent to the page as an `error` frame (see [`crate::protocol`]).

use crate::protocol::{MAX_CLIENT_ID, MAX_READ_IDS};

/// Why a frame from the page was refused or not accepted now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// Not JSON, an unknown type, a missing field, a binary frame, a second
    /// hello, a `read` without ids or with too many.
    #[error("{0}")]
    BadFrame(String),
    /// A message or `read` before hello.
    #[error("send hello first")]
    NotReady,
    /// A message with no text.
    #[error("the message is empty")]
    Empty,
    /// A message over `chat.max_text_bytes`.
    #[error("the message is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A `client_id` that is empty, too long or has other characters.
    #[error("client_id must be 1-{MAX_CLIENT_ID} characters of letters, digits, '-' or '_'")]
    BadClientId,
    /// The bus or the context service cannot serve it now.
    #[error("{0}")]
    Unavailable(String),
    /// Over a bound of [`crate::bounds`]: too many messages from the
    /// address, or too many new conversations from the visitor or address.
    #[error("{0}")]
    Limited(String),
}

impl ChatError {
    /// The machine-readable code of the `error` frame.
    pub fn code(&self) -> &'static str {
        match self {
            ChatError::BadFrame(_) => "bad_frame",
            ChatError::NotReady => "not_ready",
            ChatError::Empty => "empty",
            ChatError::TooLarge { .. } => "too_large",
            ChatError::BadClientId => "bad_client_id",
            ChatError::Unavailable(_) => "unavailable",
            ChatError::Limited(_) => "rate_limited",
        }
    }

    /// A `read` frame with no ids or too many.
    pub fn read_ids() -> Self {
        ChatError::BadFrame(format!("read needs 1-{MAX_READ_IDS} message ids"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let all = [
            ChatError::BadFrame("x".into()),
            ChatError::NotReady,
            ChatError::Empty,
            ChatError::TooLarge { size: 2, limit: 1 },
            ChatError::BadClientId,
            ChatError::Unavailable("x".into()),
            ChatError::Limited("x".into()),
        ];
        let codes: Vec<&str> = all.iter().map(ChatError::code).collect();
        assert_eq!(
            codes,
            [
                "bad_frame",
                "not_ready",
                "empty",
                "too_large",
                "bad_client_id",
                "unavailable",
                "rate_limited"
            ]
        );
        assert_eq!(
            ChatError::TooLarge {
                size: 5000,
                limit: 4096
            }
            .to_string(),
            "the message is 5000 bytes; the limit is 4096 bytes"
        );
    }
}
