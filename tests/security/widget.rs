//! The chat widget's doors (docs/widget.md): a customer's file only from a
//! visitor with a page connected, and only what its content says it is,
//! within the size limit; the widget's frame and settings only for a
//! configured site and its own origins.

use anyhow::ensure;
use hyper::Method;
use omni_core::config::SiteConfig;
use omni_proto::common as pb;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{FindConversationRequest, GetAttachmentRequest, ListMessagesRequest};
use omni_testkit::app::test_config;
use omni_testkit::grpc::{SERVICE_TOKEN, channel};
use omni_testkit::{HttpClient, JsonSocket, TestApp};
use serde_json::json;

use crate::support::for_user;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR a picture";

async fn app() -> anyhow::Result<TestApp> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.chat.max_attachment_bytes = 2048;
    config.chat.sites.insert(
        "acme".into(),
        SiteConfig {
            origins: vec!["https://shop.example".into()],
            ..SiteConfig::default()
        },
    );
    config.validate()?;
    TestApp::start_with(data, config).await
}

#[tokio::test]
async fn a_customers_file_needs_a_connected_visitor_and_the_content_it_claims() -> anyhow::Result<()>
{
    let app = app().await?;
    let chat = HttpClient::new(app.chat_url());
    let post = |client: &HttpClient, name: &str, body: &[u8]| {
        let (client, path, body) = (
            client.clone(),
            format!("/attachments?file={name}&client_id=f1"),
            body.to_vec(),
        );
        async move { client.send_raw(Method::POST, &path, body).await }
    };

    let r = post(&chat, "receipt.png", PNG).await?;
    ensure!(r.status == 400 && r.body["error"] == "bad_request", "{r:?}");
    let stranger = chat.with_header("x-visitor", "v_0123456789abcdef0123456789abcdef");
    let r = post(&stranger, "receipt.png", PNG).await?;
    ensure!(
        r.status == 403 && r.body["error"] == "not_connected",
        "{r:?}"
    );

    let mut socket = JsonSocket::connect(&app.chat_ws_url()).await?;
    socket
        .send(&json!({ "type": "hello", "visitor": null, "topic": "sales" }))
        .await?;
    let welcome = socket.recv_type("welcome").await?;
    ensure!(welcome["max_attachment_bytes"] == 2048, "{welcome}");
    let visitor = welcome["visitor"].as_str().unwrap_or_default().to_owned();
    let customer = chat.with_header("x-visitor", &visitor);

    let r = post(&customer, "invoice.pdf", PNG).await?;
    ensure!(
        r.status == 415 && r.body["error"] == "type_mismatch",
        "{r:?}"
    );
    let r = post(&customer, "photo.png", b"MZ\x90\0 a program").await?;
    ensure!(
        r.status == 415 && r.body["error"] == "unsupported_type",
        "{r:?}"
    );
    let big = [PNG, &[0u8; 4096][..]].concat();
    let r = post(&customer, "big.png", &big).await?;
    ensure!(r.status == 413 && r.body["error"] == "too_large", "{r:?}");

    let r = post(&customer, "..%2F..%2Freceipt.png", PNG).await?;
    ensure!(r.status == 200, "{r:?}");
    ensure!(
        r.body["name"] == "receipt.png" && r.body["content_type"] == "image/png",
        "{r:?}"
    );

    // Stored with the conversation, as an email's attachment would be.
    let mut context = ContextServiceClient::new(channel(&app.grpc_url(), SERVICE_TOKEN)?);
    let identity = pb::Identity::from(&omni_core::Identity::ChatVisitor(visitor.clone()));
    let conversation = loop {
        let found = context
            .find_conversation(for_user(
                FindConversationRequest {
                    identity: Some(identity.clone()),
                },
                "admin",
                "admin",
            ))
            .await;
        if let Ok(r) = found
            && let Some(c) = r.into_inner().conversation
        {
            break c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let messages = context
        .list_messages(for_user(
            ListMessagesRequest {
                conversation_id: conversation.id.clone(),
                after_seq: 0,
                limit: 10,
                include_notes: false,
            },
            "admin",
            "admin",
        ))
        .await?
        .into_inner()
        .messages;
    let stored = messages
        .iter()
        .find(|m| m.text == "receipt.png")
        .ok_or_else(|| anyhow::anyhow!("no message for the file: {messages:?}"))?;
    let file = context
        .get_attachment(for_user(
            GetAttachmentRequest {
                conversation_id: conversation.id.clone(),
                seq: stored.seq,
                index: 1,
            },
            "admin",
            "admin",
        ))
        .await?
        .into_inner();
    ensure!(
        file.content == PNG && file.content_type == "image/png",
        "{file:?}"
    );
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_widget_serves_only_configured_sites_on_their_origins() -> anyhow::Result<()> {
    let app = app().await?;
    let chat = HttpClient::new(app.chat_url());

    let r = chat
        .send(Method::GET, "/widget/frame?site=nosuch", None)
        .await?;
    ensure!(r.status == 404, "{r:?}");
    ensure!(
        r.body
            .as_str()
            .unwrap_or_default()
            .contains("no chat site \"nosuch\" is configured"),
        "{r:?}"
    );
    let r = chat
        .with_header("referer", "https://evil.example/page")
        .send(Method::GET, "/widget/frame?site=acme", None)
        .await?;
    ensure!(r.status == 403, "{r:?}");
    ensure!(
        r.body
            .as_str()
            .unwrap_or_default()
            .contains("may not be embedded on https://evil.example"),
        "{r:?}"
    );
    let r = chat
        .with_header("referer", "https://shop.example/cart")
        .send(Method::GET, "/widget/frame?site=acme", None)
        .await?;
    ensure!(r.status == 200, "{r:?}");
    let csp = r.headers["content-security-policy"].to_str()?;
    ensure!(
        csp.ends_with("frame-ancestors https://shop.example"),
        "{csp}"
    );

    let r = chat
        .with_header("origin", "https://evil.example")
        .send(Method::GET, "/widget/site?site=acme", None)
        .await?;
    ensure!(
        r.status == 403 && r.body["error"] == "origin_not_allowed",
        "{r:?}"
    );
    ensure!(
        !r.headers.contains_key("access-control-allow-origin"),
        "{r:?}"
    );
    let r = chat
        .with_header("origin", "https://shop.example")
        .send(Method::GET, "/widget/site?site=acme", None)
        .await?;
    ensure!(r.status == 200, "{r:?}");
    ensure!(
        r.headers["access-control-allow-origin"] == "https://shop.example",
        "{r:?}"
    );
    app.stop().await;
    Ok(())
}
