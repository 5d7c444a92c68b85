//! Delivers agents' replies to connected chat pages: chat as an
//! `omni_adapter::Provider`, run by the `omni-adapter` outbound consumer on
//! `chat-outbound`.
//!
//! A reply is pushed to every open page of its visitor and reported
//! `SENT`; a reply for a visitor with no open page is reported `QUEUED`
//! (it is in the conversation's history, which the page receives in its
//! next `welcome`). Each page's writer reports a reply `DELIVERED` once it
//! is written to the socket (see [`crate::receipts`]), on the reply's trace.
//! A reply whose recipient is not a chat visitor is reported `FAILED`.

use std::sync::Arc;

use async_trait::async_trait;
use omni_adapter::{
    Capabilities, Outbound, OutboundOptions, Provider, ProviderError, ProviderReceipt,
};
use omni_bus::topology::CHAT_OUTBOUND;
use omni_bus::{Bus, BusError};
use omni_core::{Channel, DeliveryStatus};
use omni_proto::common::identity::Kind;
use omni_proto::view::MessageView;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::ChatAdapter;
use crate::protocol::ServerFrame;

/// Chat as the outbound consumer drives it.
pub struct ChatOutbound(pub Arc<ChatAdapter>);

#[async_trait]
impl Provider for ChatOutbound {
    fn name(&self) -> String {
        concat!("omni-chat/", env!("CARGO_PKG_VERSION")).to_owned()
    }

    /// As `[channels.chat]` declares them (by default: text up to
    /// `chat.max_text_bytes`, read receipts, chat visitors).
    fn capabilities(&self) -> Capabilities {
        Capabilities::declared(self.0.config(), Channel::CHAT)
            .unwrap_or_else(|_| Capabilities::new(Channel::CHAT, "chat_visitor"))
    }

    fn check(&self, outbound: &Outbound) -> Result<(), ProviderError> {
        match outbound.to.as_ref().and_then(|to| to.kind.as_ref()) {
            Some(Kind::ChatVisitor(_)) => Ok(()),
            _ => Err(ProviderError::refused("recipient is not a chat visitor")),
        }
    }

    async fn send(&self, outbound: &Outbound) -> Result<ProviderReceipt, ProviderError> {
        let Some(Kind::ChatVisitor(visitor)) = outbound.to.as_ref().and_then(|to| to.kind.as_ref())
        else {
            return Err(ProviderError::refused("recipient is not a chat visitor"));
        };
        let adapter = &self.0;
        adapter.remember_trace(&outbound.message.id, outbound.trace);
        let view = MessageView::new(&outbound.message, |id| adapter.agent_name(id));
        let pages = adapter.push(
            visitor,
            &ServerFrame::Message {
                message: Box::new(view),
            },
        );
        debug!(visitor = %visitor, message_id = %outbound.message.id, pages, "reply pushed");
        Ok(ProviderReceipt {
            provider_message_id: String::new(),
            // Delivered or not, the reply is in the conversation's history.
            status: if pages > 0 {
                DeliveryStatus::Sent
            } else {
                DeliveryStatus::Queued
            },
        })
    }
}

/// Runs until `shutdown`.
pub async fn run(
    adapter: Arc<ChatAdapter>,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let options = OutboundOptions {
        metric: "omni_chat_outbound_total",
        report_metric: "omni_chat_delivery_reports_total",
        ..OutboundOptions::default()
    };
    omni_adapter::outbound::run(
        Arc::new(ChatOutbound(adapter)),
        bus,
        &CHAT_OUTBOUND,
        options,
        shutdown,
    )
    .await
}
