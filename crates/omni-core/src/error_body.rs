//! The JSON body of every HTTP error Omniroute answers (the SMS webhooks,
//! the desk's API, the chat adapter): `{"error": "<code>", "message":
//! "<text>"}`, a machine-readable code and a sentence for people.

use serde::{Deserialize, Serialize};

/// `{"error": "<code>", "message": "<text>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_signature`.
    pub error: String,
    /// What was wrong, for people.
    pub message: String,
}

impl ErrorBody {
    /// A body with `code` and `message`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            error: code.to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_error_and_message() {
        let body = ErrorBody::new("bad_request", "no text");
        assert_eq!(
            serde_json::to_value(&body).expect("json"),
            serde_json::json!({ "error": "bad_request", "message": "no text" })
        );
    }
}
