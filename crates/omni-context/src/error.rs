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

impl From<ContextError> for tonic::Status {
    fn from(e: ContextError) -> Self {
        let message = e.to_string();
        match e {
            ContextError::InvalidArgument(_) => tonic::Status::invalid_argument(message),
            ContextError::NotFound(_) => tonic::Status::not_found(message),
            ContextError::FailedPrecondition(_) => tonic::Status::failed_precondition(message),
            ContextError::Unavailable(_) => tonic::Status::unavailable(message),
            ContextError::Internal(_) => tonic::Status::internal(message),
        }
    }
}
