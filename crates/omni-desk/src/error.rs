//! The desk's errors, mapped to an HTTP status and a JSON body
//! `{"error":"<code>","message":"<text>"}` in one place.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tracing::warn;

/// Why a desk request failed.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// No valid session token.
    #[error("sign in first")]
    Unauthorized,
    /// The agent id is not configured.
    #[error("unknown agent {0}")]
    UnknownAgent(String),
    /// The conversation is neither offered nor assigned to this agent.
    #[error("conversation {0} is not assigned to you")]
    NotYours(String),
    /// The request body or path is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No route matches the path.
    #[error("no such route")]
    NoRoute,
    /// A backend service said no.
    #[error("{}", .0.message())]
    Backend(#[from] tonic::Status),
}

impl IntoResponse for DeskError {
    fn into_response(self) -> Response {
        use tonic::Code;
        let (status, code) = match &self {
            DeskError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            DeskError::UnknownAgent(_) => (StatusCode::NOT_FOUND, "unknown_agent"),
            DeskError::NotYours(_) => (StatusCode::FORBIDDEN, "not_assigned"),
            DeskError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            DeskError::NoRoute => (StatusCode::NOT_FOUND, "not_found"),
            DeskError::Backend(s) => match s.code() {
                Code::NotFound => (StatusCode::NOT_FOUND, "not_found"),
                Code::InvalidArgument => (StatusCode::BAD_REQUEST, "invalid_argument"),
                Code::FailedPrecondition if s.message().contains("offer") => {
                    (StatusCode::CONFLICT, "offer_expired")
                }
                Code::FailedPrecondition => (StatusCode::CONFLICT, "conflict"),
                Code::PermissionDenied => (StatusCode::FORBIDDEN, "forbidden"),
                Code::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
        };
        let message = self.to_string();
        if status.is_server_error() {
            warn!(%status, %message, "desk request failed");
        }
        (status, Json(omni_core::ErrorBody::new(code, message))).into_response()
    }
}
