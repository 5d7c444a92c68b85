//! Generic gRPC clients can find and call the APIs: health and the
//! generated clients.

use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_proto::routing::{ListAgentsRequest, ListQueuesRequest};
use omni_testkit::TestApp;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn health_and_router_api() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let channel = tonic::transport::Endpoint::from_shared(app.grpc_url())?
        .connect()
        .await?;
    let mut health = HealthClient::new(channel.clone());
    for service in [
        "",
        "omni.context.v1.ContextService",
        "omni.routing.v1.RouterService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await?
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "service {service:?}");
    }
    let mut router = RouterServiceClient::new(omni_testkit::grpc::admin_channel(&app.grpc_url())?);
    let agents = router
        .list_agents(ListAgentsRequest {})
        .await?
        .into_inner()
        .agents;
    let ids: Vec<_> = agents.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(ids, ["alice", "bob", "carmen", "dmitri", "emma"]);
    let queues = router
        .list_queues(ListQueuesRequest {})
        .await?
        .into_inner()
        .queues;
    assert_eq!(queues.len(), 2);
    let unknown = router
        .get_agent(omni_proto::routing::GetAgentRequest {
            agent_id: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    app.stop().await;
    Ok(())
}
