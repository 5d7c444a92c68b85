//! The SMS adapter's errors and their HTTP form: a status and a code each,
//! answered as every adapter answers a refusal ([`Refusal`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use omni_adapter::http::Refusal;
use omni_bus::BusError;

/// Why a provider request was refused or could not be taken now.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The request is not from the provider (signature, secret, account).
    #[error("{message}")]
    Forbidden {
        /// Machine-readable reason, e.g. `invalid_signature`.
        code: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The request is malformed (missing parameter, unparsable number).
    #[error("{message}")]
    BadRequest {
        /// Machine-readable reason, e.g. `invalid_phone_number`.
        code: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The bus cannot take the message now; the provider should retry.
    #[error("cannot accept the message now: {0}")]
    Unavailable(#[from] BusError),
}

impl From<omni_adapter::InboundError> for SmsError {
    fn from(e: omni_adapter::InboundError) -> Self {
        match e {
            omni_adapter::InboundError::Bus(e) => SmsError::Unavailable(e),
            omni_adapter::InboundError::Invalid(message) => {
                SmsError::bad_request("invalid_message", message)
            }
        }
    }
}

impl SmsError {
    /// A 403.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
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
            SmsError::Forbidden { .. } => StatusCode::FORBIDDEN,
            SmsError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            SmsError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SmsError::Forbidden { code, .. } | SmsError::BadRequest { code, .. } => code,
            SmsError::Unavailable(_) => "unavailable",
        }
    }
}

impl SmsError {
    /// Its HTTP form.
    pub fn refusal(&self) -> Refusal {
        Refusal::new(self.status(), self.code(), self.to_string())
    }
}

impl IntoResponse for SmsError {
    fn into_response(self) -> Response {
        self.refusal().into_response()
    }
}
