//! The chat adapter passes the adapter conformance kit: one open page
//! writes the customer's messages and receives the replies.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use omni_adapter::conformance::{CustomerMessage, Kit, ProviderAnswer, Subject};
use omni_adapter::{Capabilities, Provider};
use omni_bus::{Bus, EmbeddedBus};
use omni_chat::ChatAdapter;
use omni_chat::outbound::ChatOutbound;
use omni_core::config::Config;
use omni_proto::common as pb;
use omni_testclients::ws::JsonSocket;
use serde_json::json;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

pub struct Chat {
    adapter: Arc<ChatAdapter>,
    page: Mutex<JsonSocket>,
    pub visitor: String,
    _shutdown: CancellationToken,
}

fn visitor(id: &str) -> pb::Identity {
    pb::Identity {
        kind: Some(pb::identity::Kind::ChatVisitor(id.into())),
    }
}

impl Chat {
    /// The adapter on `bus`, with one page open.
    pub async fn start(bus: Arc<dyn Bus>) -> Chat {
        let mut config = Config::default();
        // The kit writes faster than a person types.
        config.limits.chat_messages_per_second = 1000;
        config.limits.chat_message_burst = 1000;
        // No context service: history cannot be shown, messages are taken.
        let context = omni_proto::auth::WithToken::new(
            Endpoint::from_static("http://127.0.0.1:9").connect_lazy(),
            &"unused-token-0123456789".into(),
        )
        .expect("token");
        let adapter = ChatAdapter::new(bus.clone(), context, Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("ws://{}/ws", listener.local_addr().expect("addr"));
        let shutdown = CancellationToken::new();
        tokio::spawn(omni_chat::serve(
            listener,
            adapter.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(omni_chat::outbound::run(
            adapter.clone(),
            bus,
            shutdown.clone(),
        ));
        let mut page = JsonSocket::connect(&url).await.expect("page connects");
        page.send(&json!({ "type": "hello" })).await.expect("hello");
        let welcome = page.recv_type("welcome").await.expect("welcome");
        let visitor = welcome["visitor"].as_str().expect("visitor").to_owned();
        Chat {
            adapter,
            page: Mutex::new(page),
            visitor,
            _shutdown: shutdown,
        }
    }
}

#[async_trait]
impl Subject for Chat {
    fn capabilities(&self) -> Capabilities {
        ChatOutbound(self.adapter.clone()).capabilities()
    }

    fn customer(&self) -> (String, pb::Identity) {
        (self.visitor.clone(), visitor(&self.visitor))
    }

    async fn customer_writes(&self, message: &CustomerMessage) -> ProviderAnswer {
        let mut page = self.page.lock().await;
        let id = message.provider_message_id.as_str();
        let frame = json!({ "type": "message", "client_id": id, "text": message.text });
        if let Err(e) = page.send(&frame).await {
            return ProviderAnswer::NotAcknowledged {
                retryable: true,
                detail: e.to_string(),
            };
        }
        // Replies and status frames may come in between.
        loop {
            let next = tokio::time::timeout(Duration::from_secs(20), page.recv()).await;
            let Ok(Ok(frame)) = next else {
                return ProviderAnswer::NotAcknowledged {
                    retryable: false,
                    detail: "no ack or error for the message within 20 s".into(),
                };
            };
            if frame["client_id"] != id {
                continue;
            }
            match frame["type"].as_str() {
                Some("ack") => return ProviderAnswer::Acknowledged,
                Some("error") => {
                    return ProviderAnswer::NotAcknowledged {
                        // The page resends with the same client_id.
                        retryable: frame["code"] == "unavailable",
                        detail: frame.to_string(),
                    };
                }
                _ => {}
            }
        }
    }

    fn recipient(&self) -> pb::Identity {
        visitor(&self.visitor)
    }

    fn refused_recipient(&self) -> Option<(pb::Identity, String)> {
        let phone = pb::Identity {
            kind: Some(pb::identity::Kind::Phone("+14155552671".into())),
        };
        Some((phone, "recipient is not a chat visitor".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_adapter_passes_the_adapter_conformance_kit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
    let kit = Kit::new(bus);
    let subject = Chat::start(kit.bus()).await;
    // `[channels.chat]` declares chat.max_text_bytes characters by default:
    // the kit checks the limit too.
    assert_eq!(subject.capabilities().max_text_chars, Some(4096));
    let verdict = kit.check(&subject).await.expect("kit runs");
    assert!(verdict.is_pass(), "{verdict}");
    assert_eq!(verdict.skipped, [], "{verdict}");
}
