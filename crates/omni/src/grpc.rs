//! The gRPC server: context and router APIs plus the standard health
//! service and server reflection, so generic clients (grpcurl, grpc_health_probe)
//! can discover and call them.

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
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(omni_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let mut routes = tonic::service::RoutesBuilder::default();
    routes.add_service(health).add_service(reflection);
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
    tonic::transport::Server::builder()
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await?;
    Ok(())
}
