//! The gRPC server: context and router APIs plus the standard health
//! service and, when `grpc.reflection` is on, server reflection (v1 and
//! v1alpha), so generic clients (grpcurl, old and new, grpc_health_probe)
//! can discover and call them.
//!
//! Every service but health sits behind one gate
//! ([`omni_proto::auth::GateLayer`]): a bearer token of a configured
//! account, and the services' method tables. TLS (and mutual TLS) when
//! `grpc.tls` names the files.

use anyhow::Context as _;
use omni_core::config::{Config, SERVICE_ACCOUNT};
use omni_proto::auth::{Gate, GateLayer, TokenKind};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use omni_context::ContextApi;
use omni_router::RouterApi;

/// How the server admits calls.
#[derive(Debug)]
pub struct Admission {
    /// The accounts and method tables.
    pub gate: Gate,
    /// Serve reflection.
    pub reflection: bool,
    /// TLS on the listener.
    pub tls: Option<ServerTlsConfig>,
}

impl Admission {
    /// From the configuration: `service_token` (this process's, configured
    /// or made at start) plus every `[[grpc.accounts]]` entry.
    pub fn from_config(config: &Config, service_token: &SecretString) -> anyhow::Result<Self> {
        let mut gate = Gate::new([
            omni_context::authority::METHODS,
            omni_router::authority::METHODS,
        ])
        .with_account(SERVICE_ACCOUNT, TokenKind::Service, service_token);
        for account in config.grpc.accounts()? {
            let kind = account
                .kind
                .role()
                .map_or(TokenKind::Service, TokenKind::Person);
            gate = gate.with_account(&account.name, kind, &account.token);
        }
        let tls = match (&config.grpc.tls.cert, &config.grpc.tls.key) {
            (Some(cert), Some(key)) => {
                let read = |path: &std::path::Path| {
                    std::fs::read(path)
                        .with_context(|| format!("cannot read grpc.tls file {}", path.display()))
                };
                let mut tls =
                    ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
                if let Some(ca) = &config.grpc.tls.client_ca {
                    tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
                }
                Some(tls)
            }
            _ => None,
        };
        Ok(Self {
            gate,
            reflection: config.grpc.reflection,
            tls,
        })
    }
}

/// A service token for a process that has none configured: 32 random
/// bytes, hex, known only to this process.
pub fn random_token() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    SecretString::from(hex)
}

/// TLS for this process's calls to other parts over `https://`: the CA of
/// `grpc.tls.ca` (else the listener's own certificate, for a self-signed
/// embedded setup), and this process's certificate as its client identity
/// when it has one (for mutual TLS).
pub fn client_tls(config: &Config) -> anyhow::Result<Option<ClientTlsConfig>> {
    let tls = &config.grpc.tls;
    let read = |path: &std::path::Path| {
        std::fs::read(path).with_context(|| format!("cannot read grpc.tls file {}", path.display()))
    };
    let Some(ca) = tls.ca.as_ref().or(tls.cert.as_ref()) else {
        return Ok(None);
    };
    let mut client = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        client = client.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(Some(client))
}

/// Serves the APIs given on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    context: Option<ContextApi>,
    router: Option<RouterApi>,
    admission: Admission,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let mut routes = tonic::service::RoutesBuilder::default();
    routes.add_service(health);
    if admission.reflection {
        // Both versions: v1, and v1alpha for older grpcurl builds.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(omni_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        routes
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?);
    }
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
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = admission.tls {
        builder = builder
            .tls_config(tls)
            .context("invalid grpc.tls configuration")?;
    }
    let server = builder
        .layer(GateLayer::new(admission.gate))
        .layer(omni_telemetry::ServerTraceLayer)
        .layer(crate::grpc_measure::MeasureLayer)
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

    use omni_proto::auth::WithToken;

    use super::*;

    const TOKEN: &str = "test-service-token-0123456789";

    fn admission(reflection: bool) -> Admission {
        Admission {
            gate: Gate::new([]).with_account("svc", TokenKind::Service, &TOKEN.into()),
            reflection,
            tls: None,
        }
    }

    async fn start(
        reflection: bool,
    ) -> (
        tonic::transport::Channel,
        CancellationToken,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(
            listener,
            None,
            None,
            admission(reflection),
            stop.clone(),
        ));
        let channel = tonic::transport::Endpoint::from_shared(url)
            .expect("url")
            .connect()
            .await
            .expect("connect");
        (channel, stop, server)
    }

    fn list_services() -> v1::ServerReflectionRequest {
        v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        }
    }

    /// Every method of both services, with no token, then with the token of
    /// each role: `UNAUTHENTICATED`, then `PERMISSION_DENIED` below the
    /// method's least role and admitted from it up.
    #[test]
    fn every_method_is_held_to_its_least_role() {
        use omni_core::access::Role;
        use tonic::codegen::http::HeaderMap;
        let tokens = [
            (Role::Agent, "agent-token-0123456789"),
            (Role::Supervisor, "supervisor-token-0123456789"),
            (Role::Admin, "admin-token-0123456789"),
        ];
        let tables = [
            omni_context::authority::METHODS,
            omni_router::authority::METHODS,
        ];
        let gate = tokens
            .iter()
            .fold(Gate::new(tables), |gate, (role, token)| {
                gate.with_account(role.as_str(), TokenKind::Person(*role), &(*token).into())
            });
        let bearer = |token: &str| {
            let mut headers = HeaderMap::new();
            let value = format!("Bearer {token}").parse().expect("header");
            headers.insert("authorization", value);
            headers
        };
        for table in tables {
            for (method, least) in table.methods {
                let path = format!("/{}/{method}", table.service);
                let anonymous = gate.check(&path, &HeaderMap::new()).expect_err("no token");
                assert_eq!(anonymous.code(), tonic::Code::Unauthenticated, "{path}");
                for (role, token) in tokens {
                    let answer = gate.check(&path, &bearer(token));
                    if role.at_least(*least) {
                        assert!(answer.is_ok(), "{path} as {role}: {answer:?}");
                    } else {
                        let refused = answer.expect_err("too low");
                        assert_eq!(
                            refused.code(),
                            tonic::Code::PermissionDenied,
                            "{path} as {role}"
                        );
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn reflection_is_off_by_default_and_only_health_answers_without_a_token() {
        let (channel, stop, server) = start(false).await;
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        let serving = health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .expect("health answers without credentials");
        assert_eq!(serving.into_inner().status, 1);
        let mut anonymous =
            v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
        let refused = anonymous
            .server_reflection_info(tokio_stream::once(list_services()))
            .await
            .expect_err("no token");
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        let authed = WithToken::new(channel, &TOKEN.into()).expect("token");
        let mut reflection = v1::server_reflection_client::ServerReflectionClient::new(authed);
        let off = reflection
            .server_reflection_info(tokio_stream::once(list_services()))
            .await
            .expect_err("reflection is off");
        assert_eq!(off.code(), tonic::Code::Unimplemented);
        // Admitted calls are counted by method and code; the refused one is
        // the gate's, before any method.
        let text = omni_telemetry::metrics::render();
        for line in [
            "omni_grpc_requests_total{service=\"grpc.health.v1.Health\",method=\"Check\",code=\"0\"} 1",
            "omni_grpc_requests_total{service=\"grpc.reflection.v1.ServerReflection\",method=\"ServerReflectionInfo\",code=\"12\"} 1",
            "omni_grpc_request_seconds_count{service=\"grpc.health.v1.Health\",method=\"Check\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line} in:\n{text}"
            );
        }
        stop.cancel();
        server.await.expect("joins").expect("serves");
    }

    #[tokio::test]
    async fn both_reflection_versions_list_the_services() {
        let (channel, stop, server) = start(true).await;
        let channel = WithToken::new(channel, &TOKEN.into()).expect("token");

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
        let mut answers = new
            .server_reflection_info(tokio_stream::once(list_services()))
            .await
            .expect("v1 answers")
            .into_inner();
        assert!(answers.message().await.expect("answer").is_some());
        drop((answers, old, new));
        stop.cancel();
        server.await.expect("joins").expect("serves");
    }
}
