//! Error statuses of the context and router services, one rule for both
//! (documented on `omni.common.v1.ErrorReason`): the gRPC code says what
//! kind of failure it is, a `google.rpc.ErrorInfo` in the status details
//! says exactly which, so clients never read the message text.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::common::ErrorReason;

/// `ErrorInfo.domain` of the context service's errors.
pub const CONTEXT_DOMAIN: &str = "context.omniroute";
/// `ErrorInfo.domain` of the router service's errors.
pub const ROUTING_DOMAIN: &str = "routing.omniroute";
/// `ErrorInfo.metadata` key naming the service that is unavailable.
pub const SERVICE_KEY: &str = "service";

const PREFIX: &str = "ERROR_REASON_";

/// The `ErrorInfo.reason` of `reason`: its proto name without the prefix.
pub fn reason_name(reason: ErrorReason) -> &'static str {
    let name = reason.as_str_name();
    name.strip_prefix(PREFIX).unwrap_or(name)
}

/// A status with `code`, `message` and an `ErrorInfo` naming `reason`.
pub fn with_reason(
    code: Code,
    message: impl Into<String>,
    domain: &str,
    reason: ErrorReason,
) -> Status {
    with_info(code, message, domain, reason, HashMap::new())
}

/// An `UNAVAILABLE` status naming the `service` that cannot serve now.
pub fn unavailable(service: &str, domain: &str, message: impl Into<String>) -> Status {
    with_info(
        Code::Unavailable,
        message,
        domain,
        ErrorReason::Unavailable,
        HashMap::from([(SERVICE_KEY.to_owned(), service.to_owned())]),
    )
}

fn with_info(
    code: Code,
    message: impl Into<String>,
    domain: &str,
    reason: ErrorReason,
    metadata: HashMap<String, String>,
) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason_name(reason), domain, metadata),
    )
}

/// The reason a status carries, if it carries a known one.
pub fn reason(status: &Status) -> Option<ErrorReason> {
    let details = status.get_error_details();
    let info = details.error_info()?;
    ErrorReason::from_str_name(&format!("{PREFIX}{}", info.reason))
}

/// The service a status says is unavailable, if it names one.
pub fn unavailable_service(status: &Status) -> Option<String> {
    status
        .get_error_details()
        .error_info()
        .and_then(|info| info.metadata.get(SERVICE_KEY).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_survives_the_trip_through_status_details() {
        let status = with_reason(
            Code::FailedPrecondition,
            "offer off_1 was already accepted",
            ROUTING_DOMAIN,
            ErrorReason::OfferAlreadyAccepted,
        );
        let details = status.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "OFFER_ALREADY_ACCEPTED");
        assert_eq!(info.domain, "routing.omniroute");
        assert_eq!(reason(&status), Some(ErrorReason::OfferAlreadyAccepted));
        assert_eq!(unavailable_service(&status), None);
        assert_eq!(reason(&Status::failed_precondition("offer")), None);
    }

    #[test]
    fn unavailable_names_the_service() {
        let status = unavailable("router", ROUTING_DOMAIN, "store down");
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(reason(&status), Some(ErrorReason::Unavailable));
        assert_eq!(unavailable_service(&status).as_deref(), Some("router"));
    }
}
