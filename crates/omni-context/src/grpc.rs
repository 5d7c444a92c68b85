//! The `omni.context.v1.ContextService` gRPC API.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use omni_bus::topology::subjects;
use omni_core::trace::TraceContext;
use omni_core::{AgentId, ConversationId, CustomerId, Identity};
use omni_proto::context::context_service_server::{
    ContextService as ContextGrpc, ContextServiceServer,
};
use omni_proto::context::*;
use omni_proto::convert::channel_from_i32;
use omni_proto::{common as pb, events as ev};
use prost::Message as _;
use tonic::{Request, Response, Status};
use tracing::{Instrument, warn};

use crate::{ContextError, ContextService};

/// Default and largest page of [`ListMessages`](ContextGrpc::list_messages).
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 500;

/// The gRPC face of a [`ContextService`].
#[derive(Clone)]
pub struct ContextApi {
    service: Arc<ContextService>,
}

impl ContextApi {
    /// An API over `service`.
    pub fn new(service: Arc<ContextService>) -> Self {
        Self { service }
    }

    /// The tonic service, ready to add to a server.
    pub fn into_server(self) -> ContextServiceServer<Self> {
        ContextServiceServer::new(self)
    }
}

/// The trace context of a gRPC request's `traceparent` metadata, or a new one.
pub fn trace_of<T>(request: &Request<T>) -> TraceContext {
    request
        .metadata()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse)
        .unwrap_or_else(TraceContext::new_root)
}

fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, Status> {
    if value.is_empty() {
        Err(ContextError::InvalidArgument(format!("{field} is required")).into())
    } else {
        Ok(value)
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<ev::ConversationEvent, Status>> + Send>>;

#[tonic::async_trait]
impl ContextGrpc for ContextApi {
    async fn get_conversation(
        &self,
        request: Request<GetConversationRequest>,
    ) -> Result<Response<GetConversationResponse>, Status> {
        let id = ConversationId::from(required(
            &request.get_ref().conversation_id,
            "conversation_id",
        )?);
        let conversation = self.service.conversation(&id).await?;
        let customer = self.service.customer(&conversation.customer_id).await?;
        Ok(Response::new(GetConversationResponse {
            conversation: Some(pb::Conversation::from(&conversation)),
            customer: Some(pb::Customer::from(&customer)),
        }))
    }

    async fn list_messages(
        &self,
        request: Request<ListMessagesRequest>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        let req = request.get_ref();
        let id = ConversationId::from(required(&req.conversation_id, "conversation_id")?);
        let limit = match req.limit as usize {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        // Distinguish an empty page from an unknown conversation.
        self.service.conversation(&id).await?;
        let messages = self
            .service
            .store()
            .messages(&id, req.after_seq, limit)
            .await
            .map_err(ContextError::from)?;
        let next_after_seq = if messages.len() == limit {
            messages.last().map(|m| m.seq).unwrap_or(0)
        } else {
            0
        };
        Ok(Response::new(ListMessagesResponse {
            messages: messages.iter().map(pb::Message::from).collect(),
            next_after_seq,
        }))
    }

    async fn get_customer(
        &self,
        request: Request<GetCustomerRequest>,
    ) -> Result<Response<pb::Customer>, Status> {
        let id = CustomerId::from(required(&request.get_ref().customer_id, "customer_id")?);
        let customer = self.service.customer(&id).await?;
        Ok(Response::new(pb::Customer::from(&customer)))
    }

    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> Result<Response<pb::Message>, Status> {
        let trace = trace_of(&request);
        let req = request.into_inner();
        let id = ConversationId::from(required(&req.conversation_id, "conversation_id")?);
        let agent = AgentId::from(required(&req.agent_id, "agent_id")?);
        let channel = match req.channel {
            0 => None,
            value => Some(channel_from_i32(value).ok_or_else(|| {
                ContextError::InvalidArgument(format!("unknown channel {value}"))
            })?),
        };
        let span = tracing::info_span!("context.send_message", trace_id = %trace.trace_id_hex(), conversation_id = %id);
        omni_telemetry::continue_trace(&span, &trace);
        let message = self
            .service
            .send_reply(&id, &agent, &req.text, &req.idempotency_key, channel, trace)
            .instrument(span)
            .await?;
        Ok(Response::new(pb::Message::from(&message)))
    }

    async fn resolve_conversation(
        &self,
        request: Request<ResolveConversationRequest>,
    ) -> Result<Response<pb::Conversation>, Status> {
        let trace = trace_of(&request);
        let id = ConversationId::from(required(
            &request.get_ref().conversation_id,
            "conversation_id",
        )?);
        let span = tracing::info_span!("context.resolve", trace_id = %trace.trace_id_hex(), conversation_id = %id);
        omni_telemetry::continue_trace(&span, &trace);
        let conversation = self.service.resolve(&id, trace).instrument(span).await?;
        Ok(Response::new(pb::Conversation::from(&conversation)))
    }

    async fn find_conversation(
        &self,
        request: Request<FindConversationRequest>,
    ) -> Result<Response<GetConversationResponse>, Status> {
        let identity = request
            .into_inner()
            .identity
            .ok_or_else(|| ContextError::InvalidArgument("identity is required".into()))
            .and_then(|i| {
                Identity::try_from(i).map_err(|e| ContextError::InvalidArgument(e.to_string()))
            })?;
        let store = self.service.store();
        let customer_id = store
            .customer_by_identity(&identity)
            .await
            .map_err(ContextError::from)?
            .ok_or_else(|| ContextError::NotFound(format!("customer with identity {identity}")))?;
        let conversation = store
            .latest_conversation(&customer_id)
            .await
            .map_err(ContextError::from)?
            .ok_or_else(|| {
                ContextError::NotFound(format!("conversation of customer {customer_id}"))
            })?;
        let customer = self.service.customer(&customer_id).await?;
        Ok(Response::new(GetConversationResponse {
            conversation: Some(pb::Conversation::from(&conversation)),
            customer: Some(pb::Customer::from(&customer)),
        }))
    }

    type WatchConversationsStream = EventStream;

    async fn watch_conversations(
        &self,
        request: Request<WatchConversationsRequest>,
    ) -> Result<Response<Self::WatchConversationsStream>, Status> {
        let wanted: std::collections::HashSet<String> =
            request.into_inner().conversation_ids.into_iter().collect();
        let messages = self
            .service
            .bus()
            .subscribe(subjects::CONVERSATION_EVENTS)
            .await
            .map_err(ContextError::from)?;
        let stream = messages.filter_map(move |msg| {
            let event = match ev::ConversationEvent::decode(msg.payload.as_ref()) {
                Ok(e) => Some(e),
                Err(e) => {
                    warn!(subject = %msg.subject, error = %e, "undecodable conversation event skipped");
                    None
                }
            };
            let event = event.filter(|e| wanted.is_empty() || wanted.contains(&e.conversation_id));
            std::future::ready(event.map(Ok))
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
