//! Credentials of the apps under test, for tests that call the gRPC API.
//!
//! The embedded [`TestApp`](crate::TestApp) has an `admin` account holding
//! [`ADMIN_TOKEN`]; every process of a [`Cluster`](crate::Cluster) shares
//! the service token [`SERVICE_TOKEN`] (`OMNI_GRPC_TOKEN`), as a
//! deployment's parts do; the test app accepts it too.

use anyhow::Context as _;
use omni_core::config::{AccountKind, Config, GrpcAccount};
use omni_proto::auth::{AuthChannel, WithToken};

/// The token of the test app's `admin` account.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
/// The token of the test app's `wallboard` account (a supervisor).
pub const SUPERVISOR_TOKEN: &str = "test-supervisor-token-0123456789";
/// The token of the test app's `alice` account (an agent).
pub const AGENT_TOKEN: &str = "test-alice-token-0123456789";
/// The service token every process of a test cluster shares.
pub const SERVICE_TOKEN: &str = "test-service-token-0123456789";

/// Adds the test accounts: `admin`, `wallboard` (supervisor), `alice`
/// (agent), and `test-desk`, a service holding [`SERVICE_TOKEN`] (for a desk
/// a test starts by itself over the app's services).
pub fn add_accounts(config: &mut Config) {
    for (name, kind, token) in [
        ("test-desk", AccountKind::Service, SERVICE_TOKEN),
        ("admin", AccountKind::Admin, ADMIN_TOKEN),
        ("wallboard", AccountKind::Supervisor, SUPERVISOR_TOKEN),
        ("alice", AccountKind::Agent, AGENT_TOKEN),
    ] {
        config.grpc.accounts.push(GrpcAccount {
            name: name.to_owned(),
            kind,
            token: Some(token.into()),
            token_file: None,
        });
    }
}

/// A lazy channel to `url` presenting `token`.
pub fn channel(url: &str, token: &str) -> anyhow::Result<AuthChannel> {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("invalid gRPC URL {url}"))?
        .tcp_nodelay(true);
    Ok(WithToken::new(endpoint.connect_lazy(), &token.into())?)
}

/// A lazy channel to `url` as the test app's admin.
pub fn admin_channel(url: &str) -> anyhow::Result<AuthChannel> {
    channel(url, ADMIN_TOKEN)
}
