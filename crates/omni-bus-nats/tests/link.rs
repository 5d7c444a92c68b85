//! The bus over a TLS link to a real `nats-server`: a private CA, mutual
//! TLS and an NKey user; the whole conformance suite runs over it, and a
//! wrong key, a missing client certificate or a plain-text client fail with
//! a message naming the server.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use omni_bus::conformance::{self, BusFactory};
use omni_bus::{Bus, BusError};
use omni_bus_nats::{NatsBus, NatsLink};
use omni_core::config::LinkTls;
use omni_testservers::nats::NatsServer;
use omni_testservers::tls::TestCerts;

/// A TLS-only server verifying client certificates, whose one user is an
/// NKey; the seed sits in a file as a deployment would mount it.
struct Secured {
    certs: TestCerts,
    server: NatsServer,
    seed_file: PathBuf,
}

impl Secured {
    fn start() -> Self {
        let certs = TestCerts::create().expect("certificates");
        let user = nkeys::KeyPair::new_user();
        let server = NatsServer::start_tls(&certs, true, Some(&user.public_key()))
            .expect("start nats-server with TLS");
        let seed_file = certs.dir().join("omni.nk");
        std::fs::write(&seed_file, user.seed().expect("seed") + "\n").expect("seed file");
        Secured {
            certs,
            server,
            seed_file,
        }
    }

    fn link(&self) -> NatsLink {
        NatsLink {
            tls: LinkTls {
                ca_file: Some(self.certs.ca()),
                client: Some((self.certs.client_cert(), self.certs.client_key())),
            },
            creds_file: None,
            nkey_seed_file: Some(self.seed_file.clone()),
        }
    }

    async fn refused(&self, url: &str, link: &NatsLink) -> String {
        let err = NatsBus::connect_with(url, link)
            .await
            .expect_err("the server must refuse this link");
        assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");
        err.to_string()
    }
}

#[async_trait]
impl BusFactory for Secured {
    async fn open(&self) -> Arc<dyn Bus> {
        NatsBus::connect_with(&self.server.tls_url(), &self.link())
            .await
            .expect("connect over TLS with the NKey")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_passes_its_conformance_suite_over_tls_with_an_nkey_user() {
    conformance::run_all(&Secured::start()).await;
}

#[tokio::test]
async fn a_wrong_nkey_is_refused() {
    let secured = Secured::start();
    let other = nkeys::KeyPair::new_user();
    let wrong = secured.certs.dir().join("other.nk");
    std::fs::write(&wrong, other.seed().expect("seed")).expect("seed file");
    let link = NatsLink {
        nkey_seed_file: Some(wrong),
        ..secured.link()
    };
    let message = secured.refused(&secured.server.tls_url(), &link).await;
    let url = secured.server.tls_url();
    assert!(
        message.contains(&format!("cannot reach NATS at {url}")),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("authorization"),
        "{message}"
    );
    assert!(!message.contains(&other.seed().expect("seed")), "{message}");
}

#[tokio::test]
async fn a_link_without_the_client_certificate_is_refused() {
    let secured = Secured::start();
    let mut link = secured.link();
    link.tls.client = None;
    let message = secured.refused(&secured.server.tls_url(), &link).await;
    assert!(message.contains("cannot reach NATS at"), "{message}");
    assert!(message.to_lowercase().contains("certificate"), "{message}");
}

#[tokio::test]
async fn the_server_certificate_must_chain_to_the_configured_ca() {
    let secured = Secured::start();
    let mut link = secured.link();
    link.tls.ca_file = None;
    let message = secured.refused(&secured.server.tls_url(), &link).await;
    assert!(message.contains("cannot reach NATS at"), "{message}");
    assert!(message.contains("UnknownIssuer"), "{message}");
}

#[tokio::test]
async fn a_seed_file_without_a_user_seed_is_refused_without_quoting_it() {
    let secured = Secured::start();
    let bad = secured.certs.dir().join("bad.nk");
    std::fs::write(&bad, "not-a-seed-value").expect("file");
    let link = NatsLink {
        nkey_seed_file: Some(bad),
        ..secured.link()
    };
    let message = secured.refused(&secured.server.tls_url(), &link).await;
    assert!(message.contains("does not hold a user seed"), "{message}");
    assert!(!message.contains("not-a-seed-value"), "{message}");
}
