//! The router service's errors, mapped to gRPC status in one place.

use omni_router_core::EngineError;

/// Why a router operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The routing core refused the event.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A request field is missing or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The store or bus is unavailable; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<omni_store::StoreError> for RouterError {
    fn from(e: omni_store::StoreError) -> Self {
        RouterError::Unavailable(e.to_string())
    }
}

impl From<omni_bus::BusError> for RouterError {
    fn from(e: omni_bus::BusError) -> Self {
        RouterError::Unavailable(e.to_string())
    }
}

impl From<RouterError> for tonic::Status {
    fn from(e: RouterError) -> Self {
        let message = e.to_string();
        match e {
            RouterError::Engine(EngineError::UnknownAgent(_) | EngineError::UnknownQueue(_)) => {
                tonic::Status::not_found(message)
            }
            RouterError::Engine(EngineError::UnknownOffer(_)) => {
                tonic::Status::failed_precondition(message)
            }
            RouterError::Engine(EngineError::OfferNotForAgent { .. }) => {
                tonic::Status::permission_denied(message)
            }
            RouterError::Engine(EngineError::UnknownContact(_)) => {
                tonic::Status::not_found(message)
            }
            RouterError::Engine(EngineError::InvalidSpec(_)) => {
                tonic::Status::invalid_argument(message)
            }
            RouterError::Engine(_) => tonic::Status::failed_precondition(message),
            RouterError::InvalidArgument(_) => tonic::Status::invalid_argument(message),
            RouterError::Unavailable(_) => tonic::Status::unavailable(message),
        }
    }
}
