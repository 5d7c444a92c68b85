//! gRPC over TLS with client certificates (`grpc.tls`): the listener speaks
//! only TLS, a caller without a certificate the client CA signed is cut off
//! even with a good token, and the app's own parts (the desk) still reach
//! the services over the same link.

use std::path::{Path, PathBuf};

use omni_proto::auth::WithToken;
use omni_proto::routing::ListQueuesRequest;
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_testkit::TestApp;
use omni_testkit::actors::Agent;
use omni_testkit::app::test_config;
use omni_testkit::grpc::ADMIN_TOKEN;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// A test CA and a certificate it signed for `127.0.0.1`, good for a server
/// and a client, as PEM files in `dir`: `(ca, cert, key)`.
fn ca_and_leaf(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf, PathBuf)> {
    let certs = omni_testservers::tls::TestCerts::create()?;
    Ok(certs.server_files_in(dir)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_over_mutual_tls_refuses_callers_without_a_client_certificate() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let (ca, cert, key) = ca_and_leaf(data.path())?;
    let mut config = test_config(&data.path().join("data"))?;
    config.grpc.tls.cert = Some(cert.clone());
    config.grpc.tls.key = Some(key.clone());
    config.grpc.tls.client_ca = Some(ca.clone());
    config.grpc.tls.ca = Some(ca.clone());
    let app = TestApp::start_with(data, config).await?;
    let https = app.grpc_url().replacen("http://", "https://", 1);
    let ca_pem = Certificate::from_pem(std::fs::read(&ca)?);

    // Plain text: the listener does not speak it.
    let plain = Endpoint::from_shared(app.grpc_url())?.connect().await;
    let refused = match plain {
        Err(_) => true,
        Ok(channel) => RouterServiceClient::new(WithToken::new(channel, &ADMIN_TOKEN.into())?)
            .list_queues(ListQueuesRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a plain-text call was answered");

    // TLS with a good token but no client certificate: cut off.
    let anonymous_tls = Endpoint::from_shared(https.clone())?
        .tls_config(ClientTlsConfig::new().ca_certificate(ca_pem.clone()))?
        .connect()
        .await;
    let refused = match anonymous_tls {
        Err(_) => true,
        Ok(channel) => RouterServiceClient::new(WithToken::new(channel, &ADMIN_TOKEN.into())?)
            .list_queues(ListQueuesRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a call without a client certificate was answered");

    // With the certificate and the token: answered.
    let identity = Identity::from_pem(std::fs::read(&cert)?, std::fs::read(&key)?);
    let channel = Endpoint::from_shared(https)?
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(ca_pem)
                .identity(identity),
        )?
        .connect()
        .await?;
    let mut router = RouterServiceClient::new(WithToken::new(channel, &ADMIN_TOKEN.into())?);
    let queues = router
        .list_queues(ListQueuesRequest {})
        .await?
        .into_inner()
        .queues;
    assert!(!queues.is_empty());

    // The desk reaches the router over the same TLS link.
    let bob = Agent::sign_in(&app, "bob").await?;
    assert_eq!(bob.id, "bob");
    app.stop().await;
    Ok(())
}
