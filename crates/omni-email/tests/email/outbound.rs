//! Replies into a real SMTP sink (aiosmtpd), with the headers a mail client
//! threads by, and delivery reports on the bus.

use std::sync::Arc;
use std::time::Duration;

use omni_bus::topology::subjects;
use omni_bus::{Bus, EmbeddedBus, Message};
use omni_core::Channel;
use omni_core::config::Config;
use omni_email::EmailAdapter;
use omni_proto::common as pb;
use omni_proto::common::identity::Kind;
use omni_proto::events as ev;
use omni_testservers::smtp::{SinkOptions, SmtpSink, SunkMail};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use crate::support::{self, Server, delivery_reports, inbound, smtplib};

/// Asserts that `report` says sent, naming the sink's queue id of `mail`
/// (the relay's 250 answer).
fn assert_sent(report: &ev::DeliveryReport, mail: &SunkMail) {
    assert_eq!(report.status, pb::DeliveryStatus::Sent as i32, "{report:?}");
    assert_eq!(report.provider_message_id, mail.queue_id);
}

struct Outbound {
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Outbound {
    async fn start(config: Config) -> Outbound {
        let dir = tempfile::tempdir().expect("temp dir");
        let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
        let adapter = EmailAdapter::new(bus.clone(), Arc::new(config));
        let shutdown = CancellationToken::new();
        let run = omni_email::outbound::run(adapter, bus.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = run.await {
                panic!("outbound consumer failed: {e}");
            }
        });
        Outbound {
            bus,
            shutdown,
            _dir: dir,
        }
    }

    async fn send(&self, id: &str, to: &str, threading: ev::EmailOutbound) {
        let outbound = ev::OutboundMessage {
            attachments: Vec::new(),
            message: Some(pb::Message {
                id: id.into(),
                conversation_id: "c_42".into(),
                agent_id: "alice".into(),
                text: "Your parcel left our warehouse today.\nKind regards, Alice".into(),
                ..Default::default()
            }),
            to: Some(pb::Identity {
                kind: Some(Kind::Email(to.into())),
            }),
            email: Some(threading),
        };
        self.bus
            .publish(
                Message::new(subjects::outbound(Channel::EMAIL), outbound.encode_to_vec()),
                Some(id),
            )
            .await
            .expect("publish outbound");
    }
}

impl Drop for Outbound {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn relay_config(sink: &SmtpSink) -> Config {
    let mut config = support::config();
    config.email.relay = sink.url();
    config
}

fn threading() -> ev::EmailOutbound {
    ev::EmailOutbound {
        message_id: "out-m_1@support.test".into(),
        in_reply_to: "p1@mail.example.com".into(),
        references: vec!["p0@mail.example.com".into(), "p1@mail.example.com".into()],
        subject: "Re: Where is my parcel?".into(),
        reply_to: "reply+c_42@support.test".into(),
        queue: "support".into(),
    }
}

// The sink is read with blocking waits: the consumer needs its own worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_reaches_the_relay_with_threading_headers_and_is_reported_sent() {
    let sink = SmtpSink::start().expect("smtp sink");
    let out = Outbound::start(relay_config(&sink)).await;
    out.send("m_1", "ann@example.com", threading()).await;

    let mails = sink.wait_for(1, Duration::from_secs(15)).expect("mail");
    let mail = &mails[0];
    assert_eq!(mail.mail_from, "support@support.test");
    assert_eq!(mail.rcpt_to, ["ann@example.com"]);
    let header = |name: &str| mail.header(name).unwrap_or_default();
    assert_eq!(header("Message-ID"), "<out-m_1@support.test>");
    assert_eq!(header("In-Reply-To"), "<p1@mail.example.com>");
    assert_eq!(
        header("References"),
        "<p0@mail.example.com> <p1@mail.example.com>"
    );
    assert_eq!(header("Subject"), "Re: Where is my parcel?");
    assert_eq!(
        header("Reply-To"),
        "\"Example Support\" <reply+c_42@support.test>"
    );
    assert_eq!(header("From"), "\"Example Support\" <support@support.test>");
    assert_eq!(header("To"), "ann@example.com");
    assert_eq!(header("MIME-Version"), "1.0", "RFC 2045, with Content-Type");
    assert!(!header("Date").is_empty());
    // The body as a mail client decodes it.
    let parsed = omni_email::mime::parse(&mail.raw).expect("parses");
    assert_eq!(
        parsed.text,
        "Your parcel left our warehouse today.\nKind regards, Alice"
    );

    let reports = delivery_reports(&out.bus, 1).await;
    assert_eq!(reports[0].message_id, "m_1");
    assert_eq!(reports[0].conversation_id, "c_42");
    assert_sent(&reports[0], mail);
    assert!(reports[0].error.is_empty());
}

// The sink is read with blocking waits: the consumer needs its own worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_reply_to_the_sent_mail_threads_back() {
    // What the customer's client sends back lands with In-Reply-To and
    // References pointing at our reply, at the conversation's address.
    let sink = SmtpSink::start().expect("smtp sink");
    let out = Outbound::start(relay_config(&sink)).await;
    out.send("m_1", "ann@example.com", threading()).await;
    let sent = &sink.wait_for(1, Duration::from_secs(15)).expect("mail")[0];
    let reply_to = sent.header("Reply-To").unwrap_or_default();
    let message_id = sent.header("Message-ID").unwrap_or_default();
    let references = sent.header("References").unwrap_or_default();

    let server = Server::start().await;
    let code = format!(
        r#"
from email.utils import parseaddr
rcpts = [parseaddr({reply_to:?})[1]]
msg = EmailMessage()
msg['From'] = 'ann@example.com'
msg['To'] = {reply_to:?}
msg['Subject'] = 'Re: Re: Where is my parcel?'
msg['Message-ID'] = '<p3@mail.example.com>'
msg['In-Reply-To'] = {message_id:?}
msg['References'] = {references:?} + ' ' + {message_id:?}
msg.set_content('Great, thanks!\n\nOn Tue, Nov 24, 2026 at 11:00 AM Example Support <reply+c_42@support.test> wrote:\n> Your parcel left our warehouse today.')
"#
    );
    assert!(smtplib(server.port, &code).await.starts_with("OK"));
    let m = &inbound(&server.bus, 1).await[0];
    let e = m.email.as_ref().unwrap();
    assert_eq!(e.to, "reply+c_42@support.test");
    assert_eq!(e.in_reply_to, "out-m_1@support.test");
    assert_eq!(
        e.references,
        [
            "p0@mail.example.com",
            "p1@mail.example.com",
            "out-m_1@support.test"
        ]
    );
    assert_eq!(m.text, "Great, thanks!");
}

// The sink is read with blocking waits: the consumer needs its own worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_refusal_is_reported_failed_with_the_relay_reply() {
    let sink = SmtpSink::start().expect("smtp sink");
    let out = Outbound::start(relay_config(&sink)).await;
    out.send("m_2", "reject-me@example.com", threading()).await;
    let reports = delivery_reports(&out.bus, 1).await;
    assert_eq!(reports[0].message_id, "m_2");
    assert_eq!(reports[0].status, pb::DeliveryStatus::Failed as i32);
    assert!(reports[0].error.contains("550"), "{}", reports[0].error);
    assert!(
        reports[0].error.contains("recipient rejected"),
        "{}",
        reports[0].error
    );
    assert!(sink.messages().expect("read sink").is_empty());
}

// The sink is read with blocking waits: the consumer needs its own worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_down_is_retried_until_it_is_back() {
    let mut sink = SmtpSink::start().expect("smtp sink");
    let config = relay_config(&sink);
    sink.stop().expect("stop sink");
    let out = Outbound::start(config).await;
    out.send("m_3", "ann@example.com", threading()).await;
    // Connection refused: nak'ed and retried, nothing reported yet.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sink.restart().expect("restart sink");
    let mails = sink
        .wait_for(1, Duration::from_secs(30))
        .expect("delivered after retry");
    assert_eq!(mails.len(), 1);
    let reports = delivery_reports(&out.bus, 1).await;
    assert_eq!(reports[0].message_id, "m_3");
    assert_sent(&reports[0], &mails[0]);
}

// The sink is read with blocking waits: the consumer needs its own worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_auth_is_used_and_bad_credentials_fail() {
    let sink = SmtpSink::start_with_auth("omni", "s3cret").expect("smtp sink");
    let mut config = relay_config(&sink);
    config.email.relay_user = Some("omni".into());
    config.email.relay_password = Some("s3cret".into());
    let out = Outbound::start(config).await;
    out.send("m_4", "ann@example.com", threading()).await;
    let mails = sink.wait_for(1, Duration::from_secs(15)).expect("mail");
    assert!(mails[0].authenticated);
    let reports = delivery_reports(&out.bus, 1).await;
    assert_eq!(reports[0].status, pb::DeliveryStatus::Sent as i32);
    drop(out);

    let mut config = relay_config(&sink);
    config.email.relay_user = Some("omni".into());
    config.email.relay_password = Some("wrong".into());
    let out = Outbound::start(config).await;
    out.send("m_5", "ann@example.com", threading()).await;
    let reports = delivery_reports(&out.bus, 1).await;
    assert_eq!(reports[0].message_id, "m_5");
    assert_eq!(reports[0].status, pb::DeliveryStatus::Failed as i32);
    assert!(reports[0].error.contains("535"), "{}", reports[0].error);
}

// The sink is read with blocking waits: the consumer needs its own worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_for_a_phone_number_is_reported_failed() {
    let sink = SmtpSink::start().expect("smtp sink");
    let out = Outbound::start(relay_config(&sink)).await;
    let outbound = ev::OutboundMessage {
        attachments: Vec::new(),
        message: Some(pb::Message {
            id: "m_6".into(),
            conversation_id: "c_42".into(),
            text: "hi".into(),
            ..Default::default()
        }),
        to: Some(pb::Identity {
            kind: Some(Kind::Phone("+15550100".into())),
        }),
        email: None,
    };
    out.bus
        .publish(
            Message::new(subjects::outbound(Channel::EMAIL), outbound.encode_to_vec()),
            Some("m_6"),
        )
        .await
        .expect("publish");
    let reports = delivery_reports(&out.bus, 1).await;
    assert_eq!(reports[0].status, pb::DeliveryStatus::Failed as i32);
    assert!(
        reports[0].error.contains("not an email address"),
        "{}",
        reports[0].error
    );
}

// The sink is read with blocking waits: the consumer needs its own worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_starttls_with_a_private_ca_and_auth() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, cert, key) = support::ca_and_leaf(dir.path());
    let sink = SmtpSink::start_with(SinkOptions {
        auth: Some(("omni".into(), "s3cret".into())),
        tls: Some((cert, key)),
    })
    .expect("smtp sink");
    let mut config = relay_config(&sink);
    config.email.relay_tls = omni_core::config::RelayTls::Starttls;
    config.email.relay_ca_cert = Some(ca);
    config.email.relay_user = Some("omni".into());
    config.email.relay_password = Some("s3cret".into());
    let out = Outbound::start(config).await;
    out.send("m_7", "ann@example.com", threading()).await;
    let mails = sink
        .wait_for(1, Duration::from_secs(15))
        .expect("mail over TLS");
    assert!(mails[0].authenticated);
    let reports = delivery_reports(&out.bus, 1).await;
    assert_sent(&reports[0], &mails[0]);
}

#[tokio::test]
async fn plain_relay_is_refused_by_a_sink_that_requires_starttls() {
    // The sink refuses MAIL before STARTTLS: with relay_tls = "none" the
    // relay's 530 is permanent and reported.
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, cert, key) = support::ca_and_leaf(dir.path());
    let sink = SmtpSink::start_with(SinkOptions {
        auth: None,
        tls: Some((cert, key)),
    })
    .expect("smtp sink");
    let out = Outbound::start(relay_config(&sink)).await;
    out.send("m_8", "ann@example.com", threading()).await;
    let reports = delivery_reports(&out.bus, 1).await;
    assert_eq!(reports[0].status, pb::DeliveryStatus::Failed as i32);
    assert!(reports[0].error.contains("530"), "{}", reports[0].error);
}
