//! The store over a `rediss://` link with a Redis ACL user: a real
//! `redis-server` with a TLS port, test certificates from a private CA and
//! mutual TLS; wrong credentials and plain text to the TLS port fail with a
//! message naming the URL without its password.

use omni_core::config::LinkTls;
use omni_core::{Channel, Identity, InboundMessage, QueueId};
use omni_store::{ContextStore, ContinuityPolicy, StoreError};
use omni_store_redis::RedisStore;
use omni_testservers::redis::RedisServer;
use omni_testservers::tls::TestCerts;

const PASSWORD: &str = "acl-s3cret-pw";

/// A TLS server requiring client certificates, with the ACL user `omni`.
async fn server(certs: &TestCerts) -> RedisServer {
    let server = RedisServer::start_tls(certs, true).expect("start redis-server with TLS");
    let client = redis::Client::open(server.url()).expect("plain client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("plain connection");
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg("omni")
        .arg("on")
        .arg(format!(">{PASSWORD}"))
        .arg("~*")
        .arg("+@all")
        .query_async::<()>(&mut conn)
        .await
        .expect("ACL SETUSER");
    server
}

/// `rediss://omni:<password>@127.0.0.1:<TLS port>`.
fn url_as(server: &RedisServer, password: &str) -> String {
    let tls = server.tls_url().expect("a TLS port");
    tls.replacen("rediss://", &format!("rediss://omni:{password}@"), 1)
}

fn full_tls(certs: &TestCerts) -> LinkTls {
    LinkTls {
        ca_file: Some(certs.ca()),
        client: Some((certs.client_cert(), certs.client_key())),
    }
}

fn refusal(result: Result<std::sync::Arc<RedisStore>, StoreError>) -> String {
    let err = result.expect_err("connection must be refused");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    err.to_string()
}

#[tokio::test]
async fn the_store_works_over_tls_as_an_acl_user_with_a_private_ca_and_a_client_cert() {
    let certs = TestCerts::create().expect("certificates");
    let server = server(&certs).await;
    let store = RedisStore::connect_with(&url_as(&server, PASSWORD), "tls", &full_tls(&certs))
        .await
        .expect("connect over TLS");
    let message = InboundMessage {
        idempotency_key: "tls-1".into(),
        channel: Channel::EMAIL,
        from: Identity::Email("ada@example.com".into()),
        text: "over tls".into(),
        received_at_ms: 1_000,
        topic: None,
        display_name: None,
        email: None,
        sms: None,
    };
    let ingested = store
        .ingest(
            &message,
            &QueueId::from("que_tls"),
            ContinuityPolicy {
                reopen_window_ms: 60_000,
            },
        )
        .await
        .expect("ingest over TLS");
    let found = store
        .conversation(&ingested.conversation.id)
        .await
        .expect("read over TLS");
    assert_eq!(found.map(|c| c.id), Some(ingested.conversation.id));
    assert!(
        format!("{store:?}").contains("rediss://omni:***@"),
        "{store:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_the_message_hides_it() {
    let certs = TestCerts::create().expect("certificates");
    let server = server(&certs).await;
    let url = url_as(&server, "not-the-password");
    let message = refusal(RedisStore::connect_with(&url, "tls", &full_tls(&certs)).await);
    let shown = url_as(&server, "***");
    assert!(
        message.contains(&format!("cannot reach Redis at {shown}")),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("authentication failed"),
        "{message}"
    );
    assert!(!message.contains("not-the-password"), "{message}");
}

#[tokio::test]
async fn plain_text_to_the_tls_port_fails_naming_the_url_without_its_password() {
    let certs = TestCerts::create().expect("certificates");
    let server = server(&certs).await;
    let url = url_as(&server, PASSWORD).replacen("rediss://", "redis://", 1);
    let message = refusal(RedisStore::connect(&url, "tls").await);
    let shown = url_as(&server, "***").replacen("rediss://", "redis://", 1);
    assert!(
        message.contains(&format!("cannot reach Redis at {shown}")),
        "{message}"
    );
    assert!(!message.contains(PASSWORD), "{message}");
}

#[tokio::test]
async fn the_server_certificate_must_chain_to_the_configured_ca() {
    let certs = TestCerts::create().expect("certificates");
    let server = server(&certs).await;
    // Without the private CA, the system roots do not know the server.
    let no_ca = LinkTls {
        ca_file: None,
        ..full_tls(&certs)
    };
    let message =
        refusal(RedisStore::connect_with(&url_as(&server, PASSWORD), "tls", &no_ca).await);
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
}

#[tokio::test]
async fn a_server_requiring_client_certificates_refuses_a_link_without_one() {
    let certs = TestCerts::create().expect("certificates");
    let server = server(&certs).await;
    let no_client = LinkTls {
        client: None,
        ..full_tls(&certs)
    };
    refusal(RedisStore::connect_with(&url_as(&server, PASSWORD), "tls", &no_client).await);
}

#[tokio::test]
async fn tls_files_with_a_plain_url_are_refused() {
    let certs = TestCerts::create().expect("certificates");
    let message =
        refusal(RedisStore::connect_with("redis://127.0.0.1:1", "tls", &full_tls(&certs)).await);
    assert!(message.contains("not a rediss:// URL"), "{message}");
}
