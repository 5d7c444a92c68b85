//! The desk's errors, mapped to an HTTP status and a JSON body
//! `{"error":"<code>","message":"<text>"}` in one place.
//!
//! A backend's status is mapped by its gRPC code and the structured reason
//! it carries (`omni.common.v1.ErrorReason`), never by its message text.
//! An unavailable backend adds `"service":"context"|"router"` to the body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use omni_proto::common::ErrorReason;
use omni_proto::status;
use tonic::Code;
use tracing::warn;

/// Why a desk request failed.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// No valid session.
    #[error("sign in first")]
    Unauthorized,
    /// Unknown account, wrong password, disabled account: one answer.
    #[error("unknown account or wrong password")]
    BadCredentials,
    /// Signed in, but the role does not allow this route.
    #[error("your role ({have}) may not do this; it needs {need}")]
    Forbidden {
        /// The caller's role.
        have: omni_core::access::Role,
        /// The least role the route needs.
        need: omni_core::access::Role,
    },
    /// A state-changing call without the session's CSRF token.
    #[error("missing or wrong X-CSRF-Token header")]
    Csrf,
    /// A WebSocket upgrade from a page of another origin (or none).
    #[error("the Origin header does not match this desk")]
    BadOrigin,
    /// Too many sign-in attempts.
    #[error("too many sign-in attempts; try again in {} s", .0.as_secs().max(1))]
    Throttled(std::time::Duration),
    /// An account operation failed for a reason the caller can act on.
    #[error("{message}")]
    Account {
        /// The HTTP status.
        status: StatusCode,
        /// The error code.
        code: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The account store failed.
    #[error("account store: {0}")]
    Store(String),
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

/// What a failed request answers.
struct Answer {
    status: StatusCode,
    code: &'static str,
    message: String,
    service: Option<String>,
}

impl DeskError {
    fn answer(&self) -> Answer {
        let plain = |status, code| Answer {
            status,
            code,
            message: self.to_string(),
            service: None,
        };
        let said = |status, code, message: &str| Answer {
            status,
            code,
            message: message.to_owned(),
            service: None,
        };
        match self {
            DeskError::Unauthorized => plain(StatusCode::UNAUTHORIZED, "unauthorized"),
            DeskError::BadCredentials => plain(StatusCode::UNAUTHORIZED, "bad_credentials"),
            DeskError::Forbidden { .. } => plain(StatusCode::FORBIDDEN, "forbidden"),
            DeskError::Csrf => plain(StatusCode::FORBIDDEN, "csrf"),
            DeskError::BadOrigin => plain(StatusCode::FORBIDDEN, "bad_origin"),
            DeskError::Throttled(_) => plain(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            DeskError::Account {
                status,
                code,
                message,
            } => said(*status, *code, message),
            DeskError::Store(_) => said(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the account store is unavailable",
            ),
            DeskError::UnknownAgent(_) => plain(StatusCode::NOT_FOUND, "unknown_agent"),
            DeskError::NotYours(_) => plain(StatusCode::FORBIDDEN, "not_assigned"),
            DeskError::BadRequest(_) => plain(StatusCode::BAD_REQUEST, "bad_request"),
            DeskError::NoRoute => plain(StatusCode::NOT_FOUND, "not_found"),
            DeskError::Backend(s) => match (s.code(), status::reason(s)) {
                (Code::FailedPrecondition, Some(ErrorReason::OfferAlreadyAccepted)) => said(
                    StatusCode::CONFLICT,
                    "offer_taken",
                    "this offer was already accepted",
                ),
                (Code::FailedPrecondition, Some(ErrorReason::OfferExpired)) => said(
                    StatusCode::CONFLICT,
                    "offer_expired",
                    "this offer is no longer open: it timed out or was taken back",
                ),
                (Code::NotFound, Some(ErrorReason::OfferNotFound)) => said(
                    StatusCode::NOT_FOUND,
                    "offer_not_found",
                    "this offer is not known (it may predate a restart)",
                ),
                (Code::NotFound, Some(ErrorReason::AgentNotFound)) => {
                    plain(StatusCode::NOT_FOUND, "unknown_agent")
                }
                (Code::ResourceExhausted, Some(ErrorReason::QueueFull)) => said(
                    StatusCode::CONFLICT,
                    "queue_full",
                    "that queue is full: it holds its bound of waiting conversations",
                ),
                (Code::NotFound, _) => plain(StatusCode::NOT_FOUND, "not_found"),
                (Code::InvalidArgument, _) => plain(StatusCode::BAD_REQUEST, "invalid_argument"),
                (Code::FailedPrecondition, _) => plain(StatusCode::CONFLICT, "conflict"),
                (Code::PermissionDenied, _) => plain(StatusCode::FORBIDDEN, "forbidden"),
                (Code::Unavailable, _) => match status::unavailable_service(s) {
                    Some(service) => Answer {
                        status: StatusCode::SERVICE_UNAVAILABLE,
                        code: "unavailable",
                        message: format!("the {service} service is unavailable"),
                        service: Some(service),
                    },
                    None => plain(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                },
                _ => plain(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
        }
    }
}

impl IntoResponse for DeskError {
    fn into_response(self) -> Response {
        let answer = self.answer();
        if answer.status.is_server_error() {
            // The backend's own words (e.g. the transport error) go to the
            // log; the body says what the agent can act on.
            warn!(status = %answer.status, service = ?answer.service, error = %self, "desk request failed");
        }
        let mut body = omni_core::ErrorBody::new(answer.code, answer.message);
        if let Some(service) = answer.service {
            body = body.with_service(service);
        }
        let mut response = (answer.status, Json(body)).into_response();
        if let DeskError::Throttled(wait) = self {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

impl From<omni_accounts::AccountsError> for DeskError {
    fn from(e: omni_accounts::AccountsError) -> Self {
        use omni_accounts::AccountsError as E;
        let account = |status, code, message: String| DeskError::Account {
            status,
            code,
            message,
        };
        match e {
            E::BadCredentials => DeskError::BadCredentials,
            E::Throttled { retry_after } => DeskError::Throttled(retry_after),
            E::Invalid(m) => account(StatusCode::BAD_REQUEST, "bad_request", m),
            e @ E::NotFound(_) => account(StatusCode::NOT_FOUND, "unknown_account", e.to_string()),
            e @ E::Exists(_) => account(StatusCode::CONFLICT, "account_exists", e.to_string()),
            e @ (E::Hash(_) | E::Store(_)) => DeskError::Store(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use omni_proto::status::ROUTING_DOMAIN;

    use super::*;

    async fn body(e: DeskError) -> (StatusCode, serde_json::Value) {
        let response = e.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("json"))
    }

    #[tokio::test]
    async fn a_taken_offer_is_409_offer_taken_whatever_the_message_says() {
        let taken = status::with_reason(
            Code::FailedPrecondition,
            "anything at all",
            ROUTING_DOMAIN,
            ErrorReason::OfferAlreadyAccepted,
        );
        let (code, json) = body(DeskError::Backend(taken)).await;
        assert_eq!(code, StatusCode::CONFLICT);
        assert_eq!(
            json,
            serde_json::json!({"error":"offer_taken","message":"this offer was already accepted"})
        );
        // A conflict about something else that happens to say "offer".
        let other = status::with_reason(
            Code::FailedPrecondition,
            "customer opted out of the offer list",
            ROUTING_DOMAIN,
            ErrorReason::Conflict,
        );
        let (code, json) = body(DeskError::Backend(other)).await;
        assert_eq!(code, StatusCode::CONFLICT);
        assert_eq!(json["error"], "conflict");
    }

    #[tokio::test]
    async fn a_transfer_into_a_full_queue_is_409_queue_full() {
        let full = status::with_reason(
            Code::ResourceExhausted,
            "queue sales is full",
            ROUTING_DOMAIN,
            ErrorReason::QueueFull,
        );
        let (code, json) = body(DeskError::Backend(full)).await;
        assert_eq!(code, StatusCode::CONFLICT);
        assert_eq!(json["error"], "queue_full");
    }

    #[tokio::test]
    async fn an_unavailable_backend_is_named() {
        let down = status::unavailable("router", ROUTING_DOMAIN, "tcp connect error");
        let (code, json) = body(DeskError::Backend(down)).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            json,
            serde_json::json!({"error":"unavailable","service":"router","message":"the router service is unavailable"})
        );
    }
}
