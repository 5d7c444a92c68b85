//! Delivers agents' replies to connected chat pages.
//!
//! Consumes `chat-outbound`. A reply for a visitor with no open page is
//! acked all the same: it is in the conversation's history, which the page
//! receives in its next `welcome`. Each page's writer reports a reply
//! `delivered` once it is written to the socket (see [`crate::receipts`]).

use std::sync::Arc;

use omni_bus::topology::CHAT_OUTBOUND;
use omni_bus::{Bus, BusError, Delivery, drain_until};
use omni_proto::common::identity::Kind;
use omni_proto::events as ev;
use omni_proto::view::MessageView;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error};

use crate::ChatAdapter;
use crate::protocol::ServerFrame;

/// Runs until `shutdown`.
pub async fn run(
    adapter: Arc<ChatAdapter>,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let deliveries = bus.consume(&CHAT_OUTBOUND).await?;
    drain_until(deliveries, shutdown.cancelled(), |delivery| {
        let adapter = adapter.clone();
        async move {
            deliver(&adapter, &delivery);
            // Delivered or not, the reply is in the conversation's history.
            delivery.settle(Ok::<(), BusError>(())).await;
        }
    })
    .await;
    Ok(())
}

fn deliver(adapter: &ChatAdapter, delivery: &Delivery) {
    match ev::OutboundMessage::decode(delivery.message.payload.as_ref()) {
        Ok(ev::OutboundMessage {
            message: Some(message),
            to: Some(to),
            ..
        }) => match to.kind {
            Some(Kind::ChatVisitor(visitor)) => {
                let view = MessageView::new(&message, |id| adapter.agent_name(id));
                let pages = adapter.push(&visitor, &ServerFrame::Message { message: view });
                debug!(visitor = %visitor, message_id = %message.id, pages, "reply pushed");
            }
            _ => {
                error!(message_id = %message.id, "chat reply without a chat visitor recipient dropped")
            }
        },
        Ok(_) | Err(_) => {
            error!(subject = %delivery.message.subject, "undecodable chat reply dropped")
        }
    }
}
