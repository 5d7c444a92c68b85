//! What one client address may take of the SMTP server: a session ends at
//! its lifetime however busy, an address holds at most its cap of
//! sessions, and sends at most its messages a minute; each limit is a 421
//! and a closed connection, and the address's other sessions or other
//! addresses are not affected.

use std::time::Duration;

use crate::support::{self, Raw, Server};

#[tokio::test]
async fn a_session_ends_at_its_lifetime_however_busy() {
    let mut config = support::config();
    config.email.max_session_secs = 1;
    let server = Server::start_with(config).await;
    let (mut c, _) = Raw::connect(server.port).await;
    assert!(c.cmd("HELO client.test").await.starts_with("250"));
    // NOOP keeps it from ever being idle: only the lifetime can end it.
    let reply = loop {
        let reply = c.cmd("NOOP").await;
        if !reply.starts_with("250") {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        reply.starts_with("421 4.4.2 session lifetime over"),
        "{reply}"
    );
    assert!(c.closed().await);
}

#[tokio::test]
async fn an_address_holds_at_most_its_cap_of_sessions() {
    let mut config = support::config();
    config.email.max_sessions_per_address = 2;
    let server = Server::start_with(config).await;
    let (mut first, greeting) = Raw::connect(server.port).await;
    assert!(greeting.starts_with("220"), "{greeting}");
    let (_second, greeting) = Raw::connect(server.port).await;
    assert!(greeting.starts_with("220"), "{greeting}");
    let (mut third, greeting) = Raw::connect(server.port).await;
    assert!(
        greeting.starts_with("421 4.7.0 too many connections from your address"),
        "{greeting}"
    );
    assert!(third.closed().await);
    // A session that ends gives its slot back.
    assert!(first.cmd("QUIT").await.starts_with("221"));
    assert!(first.closed().await);
    let (_again, greeting) = Raw::connect(server.port).await;
    assert!(greeting.starts_with("220"), "{greeting}");
}

#[tokio::test]
async fn an_address_sends_at_most_its_messages_a_minute() {
    let mut config = support::config();
    config.email.max_messages_per_minute = 2;
    let server = Server::start_with(config).await;
    let (mut c, _) = Raw::connect(server.port).await;
    assert!(c.cmd("HELO client.test").await.starts_with("250"));
    for _ in 0..2 {
        assert!(
            c.cmd("MAIL FROM:<ann@example.com>")
                .await
                .starts_with("250")
        );
        assert!(c.cmd("RSET").await.starts_with("250"));
    }
    let reply = c.cmd("MAIL FROM:<ann@example.com>").await;
    assert!(
        reply.starts_with("421 4.7.0 too many messages from your address"),
        "{reply}"
    );
    assert!(c.closed().await);
}
