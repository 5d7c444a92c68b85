//! The gRPC server: context and router APIs plus the standard health
//! service and server reflection (v1 and v1alpha), so generic clients
//! (grpcurl, old and new, grpc_health_probe) can discover and call them.

use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

use omni_context::ContextApi;
use omni_router::RouterApi;

/// Serves the APIs given on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    context: Option<ContextApi>,
    router: Option<RouterApi>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    // Reflection in both versions: v1, and v1alpha for older grpcurl builds.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(omni_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let mut routes = tonic::service::RoutesBuilder::default();
    routes
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    if let Some(context) = context {
        reporter
            .set_serving::<omni_proto::context::context_service_server::ContextServiceServer<ContextApi>>()
            .await;
        routes.add_service(context.into_server());
    }
    if let Some(router) = router {
        reporter
            .set_serving::<omni_proto::routing::router_service_server::RouterServiceServer<RouterApi>>()
            .await;
        routes.add_service(router.into_server());
    }
    // TCP_NODELAY on every accepted connection: streamed events are small
    // writes that must not wait ~40 ms for the peer's delayed ACK.
    let incoming = TcpListenerStream::new(listener).map(|accepted| {
        accepted.and_then(|stream| {
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    });
    let server = tonic::transport::Server::builder()
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
    // Graceful shutdown waits for open calls, and a watch stream (a desk in
    // another process) never ends by itself: after a grace period those
    // streams are cut, and their clients reconnect elsewhere.
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(STREAM_GRACE).await;
    };
    tokio::select! {
        served = server => served?,
        _ = grace => tracing::info!(grace = ?STREAM_GRACE, "gRPC streams still open at shutdown were closed"),
    }
    Ok(())
}

/// How long shutdown waits for open gRPC calls (watch streams) to end.
const STREAM_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use tonic_reflection::pb::{v1, v1alpha};

    use super::*;

    #[tokio::test]
    async fn both_reflection_versions_list_the_services() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(listener, None, None, stop.clone()));
        let channel = tonic::transport::Endpoint::from_shared(url)
            .expect("url")
            .connect()
            .await
            .expect("connect");

        let mut old =
            v1alpha::server_reflection_client::ServerReflectionClient::new(channel.clone());
        let request = v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
            ),
        };
        let mut answers = old
            .server_reflection_info(tokio_stream::once(request))
            .await
            .expect("v1alpha answers")
            .into_inner();
        let answer = answers.message().await.expect("answer").expect("one");
        let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
            answer.message_response
        else {
            panic!("not a service list: {answer:?}");
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        assert!(
            names.iter().any(|n| n == "omni.routing.v1.RouterService"),
            "{names:?}"
        );

        let mut new = v1::server_reflection_client::ServerReflectionClient::new(channel);
        let request = v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        };
        let mut answers = new
            .server_reflection_info(tokio_stream::once(request))
            .await
            .expect("v1 answers")
            .into_inner();
        assert!(answers.message().await.expect("answer").is_some());
        drop((answers, old, new));
        stop.cancel();
        server.await.expect("joins").expect("serves");
    }
}
