//! The JSON body of every HTTP error Omniroute answers (the SMS webhooks,
//! the desk's API, the chat adapter): `{"error": "<code>", "message":
//! "<text>"}`, a machine-readable code and a sentence for people, and
//! `"service"` when the error is that another part cannot be reached.

use serde::{Deserialize, Serialize};

/// `{"error": "<code>", "message": "<text>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_signature`.
    pub error: String,
    /// What was wrong, for people.
    pub message: String,
    /// The part that cannot be reached (`"router"`, `"context"`), for an
    /// `unavailable` error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

impl ErrorBody {
    /// A body with `code` and `message`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            error: code.to_owned(),
            message: message.into(),
            service: None,
        }
    }

    /// The same body, naming the part that cannot be reached.
    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
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
        let down = ErrorBody::new("unavailable", "the router service is unavailable")
            .with_service("router");
        assert_eq!(
            serde_json::to_value(&down).expect("json"),
            serde_json::json!({ "error": "unavailable", "service": "router",
                "message": "the router service is unavailable" })
        );
    }
}
