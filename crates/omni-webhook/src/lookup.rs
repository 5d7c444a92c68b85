//! Whether a delivery status the app posts is about one of our replies:
//! its conversation exists and holds the message, as the context service
//! says. Without this, a status for an id the app got wrong would be taken
//! (202) and dropped later, out of the app's sight.

use omni_proto::auth::AuthChannel as GrpcChannel;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{GetConversationRequest, ListMessagesRequest};
use tonic::Code;

use crate::error::WebhookError;

/// Messages asked for per page while looking for the one a status names.
const PAGE: u32 = 500;

/// The context service, asked about conversations and their messages.
#[derive(Clone)]
pub struct Replies {
    context: ContextServiceClient<GrpcChannel>,
}

impl Replies {
    /// Asks the context service on `channel` (with the service token).
    pub fn new(channel: GrpcChannel) -> Self {
        Self {
            context: ContextServiceClient::new(channel),
        }
    }

    /// Fails unless conversation `conversation_id` exists and holds
    /// message `message_id`: 404 `unknown_conversation` or
    /// `unknown_message`, 503 when the context service cannot say.
    pub async fn check(&self, conversation_id: &str, message_id: &str) -> Result<(), WebhookError> {
        let mut context = self.context.clone();
        context
            .get_conversation(GetConversationRequest {
                conversation_id: conversation_id.to_owned(),
            })
            .await
            .map_err(|status| match status.code() {
                Code::NotFound | Code::InvalidArgument => WebhookError::not_found(
                    "unknown_conversation",
                    format!("conversation {conversation_id:?} does not exist"),
                ),
                _ => WebhookError::ContextUnavailable(status.message().to_owned()),
            })?;
        let mut after_seq = 0;
        loop {
            let page = context
                .list_messages(ListMessagesRequest {
                    conversation_id: conversation_id.to_owned(),
                    after_seq,
                    limit: PAGE,
                    include_notes: false,
                })
                .await
                .map_err(|status| WebhookError::ContextUnavailable(status.message().to_owned()))?
                .into_inner();
            if page.messages.iter().any(|m| m.id == message_id) {
                return Ok(());
            }
            if page.next_after_seq == 0 || page.next_after_seq <= after_seq {
                return Err(WebhookError::not_found(
                    "unknown_message",
                    format!("message {message_id:?} is not in conversation {conversation_id:?}"),
                ));
            }
            after_seq = page.next_after_seq;
        }
    }
}
