//! The context service's errors, mapped to gRPC status in one place.

use omni_store::StoreError;

/// Why a context operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// A request field is missing or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The conversation or customer does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request does not fit the current state (e.g. no identity on that channel).
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// The caller may not act on this record.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The conversation is resolved and takes no agent message until reopened.
    #[error(
        "conversation {0} is resolved: it takes no agent message until the customer writes again"
    )]
    Resolved(String),
    /// The agent sent too many replies too fast; retry later.
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// The store or bus is unavailable; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ContextError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ContextError::Unavailable(m),
            StoreError::NotFound { kind, id } => ContextError::NotFound(format!("{kind} {id}")),
            StoreError::Conflict(m) => ContextError::FailedPrecondition(m),
            e @ StoreError::Corrupt { .. } => ContextError::Internal(e.to_string()),
        }
    }
}

impl From<omni_bus::BusError> for ContextError {
    fn from(e: omni_bus::BusError) -> Self {
        ContextError::Unavailable(e.to_string())
    }
}

/// Each error's gRPC code and structured reason (`ErrorInfo`, domain
/// `context.omniroute`): unknown ids are `NOT_FOUND`, state conflicts
/// `FAILED_PRECONDITION`; an unavailable status names the service.
impl From<ContextError> for tonic::Status {
    fn from(e: ContextError) -> Self {
        use omni_proto::common::ErrorReason as R;
        use omni_proto::status::{self, CONTEXT_DOMAIN};
        use tonic::Code;
        let message = e.to_string();
        let (code, reason) = match e {
            ContextError::InvalidArgument(_) => (Code::InvalidArgument, R::InvalidArgument),
            ContextError::NotFound(_) => (Code::NotFound, R::NotFound),
            ContextError::FailedPrecondition(_) => (Code::FailedPrecondition, R::Conflict),
            ContextError::PermissionDenied(_) => (Code::PermissionDenied, R::PermissionDenied),
            ContextError::RateLimited(_) => (Code::ResourceExhausted, R::RateLimited),
            ContextError::Resolved(_) => (Code::FailedPrecondition, R::ConversationResolved),
            ContextError::Unavailable(_) => {
                return status::unavailable("context", CONTEXT_DOMAIN, message);
            }
            ContextError::Internal(_) => (Code::Internal, R::Internal),
        };
        status::with_reason(code, message, CONTEXT_DOMAIN, reason)
    }
}
