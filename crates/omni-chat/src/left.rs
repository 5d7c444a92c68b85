//! A customer who leaves the chat while waiting. When the last page of a
//! visitor closes (the tab closed, the widget said goodbye, the network
//! dropped) and no page of theirs is open again within `[metrics]
//! abandon_grace_secs`, their conversation, if it still waits for an agent,
//! is resolved: the router counts it abandoned and offers no agent a
//! customer who is gone. A page opened within the grace keeps it waiting;
//! an assigned conversation is left to its agent.

use std::sync::Arc;
use std::time::Duration;

use omni_core::Identity;
use omni_proto::common as pb;
use omni_proto::context::{FindConversationRequest, ResolveConversationRequest};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::ChatAdapter;

/// Waits out the grace after `visitor`'s last page closed, then resolves
/// their conversation if they are still gone and it still waits.
pub async fn customer_left(
    adapter: Arc<ChatAdapter>,
    visitor: String,
    shutdown: CancellationToken,
) {
    let grace = Duration::from_secs(adapter.config().metrics.abandon_grace_secs);
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => return,
        _ = tokio::time::sleep(grace) => {}
    }
    if adapter.is_connected(&visitor) {
        return;
    }
    let mut context = adapter.context();
    let found = context
        .find_conversation(FindConversationRequest {
            identity: Some(pb::Identity::from(&Identity::ChatVisitor(visitor.clone()))),
        })
        .await;
    let conversation = match found {
        Ok(r) => r.into_inner().conversation,
        Err(status) if status.code() == tonic::Code::NotFound => None,
        Err(status) => {
            warn!(visitor = %visitor, error = %status, "cannot tell whether a customer who left still waits");
            None
        }
    };
    let Some(conversation) = conversation else {
        return;
    };
    if conversation.status() != pb::ConversationStatus::Queued {
        return;
    }
    info!(visitor = %visitor, conversation_id = %conversation.id, grace_secs = grace.as_secs(), "customer left the chat while waiting; closing the conversation");
    if let Err(status) = context
        .resolve_conversation(ResolveConversationRequest {
            conversation_id: conversation.id.clone(),
            agent_id: String::new(),
            ..Default::default()
        })
        .await
    {
        warn!(visitor = %visitor, conversation_id = %conversation.id, error = %status, "conversation of a customer who left not closed");
    }
}
