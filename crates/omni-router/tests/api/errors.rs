//! One rule for errors: unknown ids are NOT_FOUND, state conflicts
//! FAILED_PRECONDITION, each with its structured reason.

use omni_proto::common::ErrorReason;
use omni_proto::routing::{ExplainRequest, GetAgentRequest, OfferRequest};
use omni_proto::status;
use tonic::Code;

use super::Router;

#[tokio::test]
async fn a_second_accept_is_told_the_offer_was_already_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = Router::start(dir.path()).await;
    router.available("alice").await;
    router.arrive("con_1", "support").await;
    let alice = router.agent("alice").await;
    let offer_id = alice.offers[0].offer_id.clone();
    let accept = OfferRequest {
        agent_id: "alice".into(),
        offer_id: offer_id.clone(),
    };
    router
        .client
        .accept_offer(accept.clone())
        .await
        .expect("first accept");

    // The same agent in a second window.
    let err = router.client.accept_offer(accept).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        status::reason(&err),
        Some(ErrorReason::OfferAlreadyAccepted)
    );
    assert_eq!(
        err.message(),
        format!("offer {offer_id} was already accepted")
    );

    // An offer that never existed is an unknown id.
    let err = router
        .client
        .decline_offer(OfferRequest {
            agent_id: "alice".into(),
            offer_id: "off_never".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(status::reason(&err), Some(ErrorReason::OfferNotFound));

    // So is a conversation the router never held, for every method.
    let err = router
        .client
        .explain_conversation(ExplainRequest {
            conversation_id: "con_nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(
        status::reason(&err),
        Some(ErrorReason::ConversationNotFound)
    );
    let err = router
        .client
        .get_agent(GetAgentRequest {
            agent_id: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(status::reason(&err), Some(ErrorReason::AgentNotFound));
    router.stop().await;
}
