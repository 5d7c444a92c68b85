//! What the security tests share: gRPC clients holding a token, a request
//! a service token makes for a person, and the check that a call was
//! refused with the status and reason a client would act on.

use omni_proto::auth::{AuthChannel, ROLE_HEADER, USER_HEADER};
use omni_proto::common::ErrorReason;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_proto::status::reason;
use omni_testkit::TestApp;
use omni_testkit::grpc::channel;
use tonic::{Code, Request, Status};

/// The app's context service, called with `token`.
pub fn context(app: &TestApp, token: &str) -> anyhow::Result<ContextServiceClient<AuthChannel>> {
    Ok(ContextServiceClient::new(channel(&app.grpc_url(), token)?))
}

/// The app's router service, called with `token`.
pub fn router(app: &TestApp, token: &str) -> anyhow::Result<RouterServiceClient<AuthChannel>> {
    Ok(RouterServiceClient::new(channel(&app.grpc_url(), token)?))
}

/// A request a service token (the desk) makes for `user` in `role`.
pub fn for_user<T>(message: T, user: &str, role: &str) -> Request<T> {
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert(USER_HEADER, user.parse().expect("user"));
    metadata.insert(ROLE_HEADER, role.parse().expect("role"));
    request
}

/// Fails unless `answer` is a refusal with `code` and reason `why`.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(
    answer: Result<T, Status>,
    code: Code,
    why: ErrorReason,
    what: &str,
) {
    refused_saying(answer, code, why, "", what);
}

/// [`refused`], and its message contains `says`.
#[track_caller]
pub fn refused_saying<T: std::fmt::Debug>(
    answer: Result<T, Status>,
    code: Code,
    why: ErrorReason,
    says: &str,
    what: &str,
) {
    match answer {
        Ok(v) => panic!("{what}: answered {v:?}"),
        Err(status) => {
            assert_eq!(status.code(), code, "{what}: {status:?}");
            assert_eq!(reason(&status), Some(why), "{what}: {status:?}");
            assert!(status.message().contains(says), "{what}: {status:?}");
        }
    }
}
