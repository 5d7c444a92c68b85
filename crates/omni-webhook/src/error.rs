//! The webhook adapter's errors and their HTTP form: a status and a code
//! each, answered as every adapter answers a refusal ([`Refusal`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use omni_adapter::http::Refusal;
use omni_bus::BusError;

/// Why a request from the app was refused or could not be taken now.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Not signed by the app: missing or bad signature, stale timestamp (401).
    #[error("{message}")]
    Unauthorized {
        /// `missing_signature`, `invalid_signature` or `stale_timestamp`.
        code: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Malformed: bad JSON, a missing field, an invalid customer id (400).
    #[error("{message}")]
    BadRequest {
        /// Machine-readable reason, e.g. `invalid_json`.
        code: &'static str,
        /// What was wrong.
        message: String,
    },
    /// What the request names does not exist: a status for a conversation
    /// or a message that is not ours (404).
    #[error("{message}")]
    NotFound {
        /// `unknown_conversation` or `unknown_message`.
        code: &'static str,
        /// What was not found.
        message: String,
    },
    /// The context service cannot say now whether it exists; the app
    /// should retry (503).
    #[error("cannot check the reply now: {0}")]
    ContextUnavailable(String),
    /// The body or the text is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// The bus cannot take it now; the app should retry (503).
    #[error("cannot accept the message now: {0}")]
    Unavailable(#[from] BusError),
}

impl From<omni_adapter::InboundError> for WebhookError {
    fn from(e: omni_adapter::InboundError) -> Self {
        match e {
            omni_adapter::InboundError::Bus(BusError::TooLarge { .. }) => {
                WebhookError::TooLarge(e.to_string())
            }
            omni_adapter::InboundError::Bus(e) => WebhookError::Unavailable(e),
            omni_adapter::InboundError::Invalid(message) => {
                WebhookError::bad_request("invalid_message", message)
            }
        }
    }
}

impl WebhookError {
    /// A 401.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    /// A 404.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }

    /// A 400.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            WebhookError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            WebhookError::NotFound { .. } => StatusCode::NOT_FOUND,
            WebhookError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::Unavailable(_) | WebhookError::ContextUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::Unauthorized { code, .. }
            | WebhookError::BadRequest { code, .. }
            | WebhookError::NotFound { code, .. } => code,
            WebhookError::TooLarge(_) => "too_large",
            WebhookError::Unavailable(_) | WebhookError::ContextUnavailable(_) => "unavailable",
        }
    }
}

impl WebhookError {
    /// Its HTTP form.
    pub fn refusal(&self) -> Refusal {
        Refusal::new(self.status(), self.code(), self.to_string())
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        self.refusal().into_response()
    }
}
