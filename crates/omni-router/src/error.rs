//! The router service's errors, mapped to gRPC status in one place, each
//! with its structured reason (`omni.common.v1.ErrorReason`).

use omni_core::ConversationId;
use omni_proto::common::ErrorReason;
use omni_proto::status::{self, ROUTING_DOMAIN};
use omni_router_core::EngineError;
use tonic::Code;

/// Why a router operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The routing core refused the event.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The offer was accepted already (by this agent, perhaps in another
    /// window, or before a retry).
    #[error("offer {0} was already accepted")]
    OfferTaken(String),
    /// The offer was open once but is no longer: it timed out, was declined
    /// or was taken back.
    #[error("offer {offer_id} is no longer open ({why})")]
    OfferClosed {
        /// The offer.
        offer_id: String,
        /// What closed it, e.g. `timeout`.
        why: String,
    },
    /// The router holds nothing about this conversation.
    #[error("unknown conversation {0}")]
    UnknownConversation(ConversationId),
    /// A request field is missing or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The caller may not act for that agent or on that conversation.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
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

impl RouterError {
    /// The gRPC code and structured reason of this error: unknown ids are
    /// `NOT_FOUND`, state conflicts `FAILED_PRECONDITION`.
    pub fn code_and_reason(&self) -> (Code, ErrorReason) {
        use ErrorReason as R;
        match self {
            RouterError::Engine(e) => match e {
                EngineError::UnknownAgent(_) => (Code::NotFound, R::AgentNotFound),
                EngineError::UnknownQueue(_) => (Code::NotFound, R::QueueNotFound),
                EngineError::UnknownContact(_) => (Code::NotFound, R::ConversationNotFound),
                EngineError::UnknownOffer(_) => (Code::NotFound, R::OfferNotFound),
                EngineError::OfferExpired { .. } => (Code::FailedPrecondition, R::OfferExpired),
                EngineError::OfferNotForAgent { .. } => {
                    (Code::PermissionDenied, R::OfferNotForAgent)
                }
                EngineError::AgentNotAvailable(_) => {
                    (Code::FailedPrecondition, R::AgentNotAvailable)
                }
                EngineError::InvalidSpec(_) | EngineError::UndeclaredChannel(_) => {
                    (Code::InvalidArgument, R::InvalidArgument)
                }
                EngineError::QueueFull(_) => (Code::ResourceExhausted, R::QueueFull),
                EngineError::DuplicateContact(_) => {
                    (Code::FailedPrecondition, R::ConversationAlreadyRouted)
                }
            },
            RouterError::OfferTaken(_) => (Code::FailedPrecondition, R::OfferAlreadyAccepted),
            RouterError::OfferClosed { .. } => (Code::FailedPrecondition, R::OfferExpired),
            RouterError::UnknownConversation(_) => (Code::NotFound, R::ConversationNotFound),
            RouterError::InvalidArgument(_) => (Code::InvalidArgument, R::InvalidArgument),
            RouterError::PermissionDenied(_) => (Code::PermissionDenied, R::PermissionDenied),
            RouterError::Unavailable(_) => (Code::Unavailable, R::Unavailable),
        }
    }
}

impl From<RouterError> for tonic::Status {
    fn from(e: RouterError) -> Self {
        let message = e.to_string();
        match e.code_and_reason() {
            (Code::Unavailable, _) => status::unavailable("router", ROUTING_DOMAIN, message),
            (code, reason) => status::with_reason(code, message, ROUTING_DOMAIN, reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ids_are_not_found_and_conflicts_carry_their_reason() {
        let unknown =
            tonic::Status::from(RouterError::from(EngineError::UnknownOffer("off_1".into())));
        assert_eq!(unknown.code(), Code::NotFound);
        assert_eq!(status::reason(&unknown), Some(ErrorReason::OfferNotFound));
        let taken = tonic::Status::from(RouterError::OfferTaken("off_1".into()));
        assert_eq!(taken.code(), Code::FailedPrecondition);
        assert_eq!(
            status::reason(&taken),
            Some(ErrorReason::OfferAlreadyAccepted)
        );
        assert_eq!(taken.message(), "offer off_1 was already accepted");
        let down = tonic::Status::from(RouterError::Unavailable("redis".into()));
        assert_eq!(
            status::unavailable_service(&down).as_deref(),
            Some("router")
        );
    }
}
