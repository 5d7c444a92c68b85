//! The context service's operations, over a store and a bus.
//!
//! Every operation that changes state writes the store first, then publishes
//! what follows from it (routing requests, outbound messages, releases) with
//! a deterministic message id, so a retry after a crash republishes the same
//! id and the bus deduplicates it: exactly-once effects on at-least-once
//! delivery.

use std::sync::Arc;

use omni_bus::topology::subjects;
use omni_bus::{Bus, Message, TRACEPARENT};
use omni_core::config::Config;
use omni_core::time::{Millis, now_ms};
use omni_core::trace::TraceContext;
use omni_core::{
    AgentId, Channel, Conversation, ConversationId, ConversationStatus, Customer, Identity,
    InboundMessage, QueueId, StoredMessage,
};
use omni_proto::{common as pb, events as ev};
use omni_store::{ContextStore, ContinuityPolicy, Ingested, NewOutbound, StoreError};
use prost::Message as _;
use tracing::{info, warn};

use crate::ContextError;

/// Largest agent reply, in bytes.
pub const MAX_REPLY_BYTES: usize = 16 * 1024;

/// What the context service needs from the configuration.
#[derive(Debug, Clone)]
pub struct ContextSettings {
    config: Arc<Config>,
}

impl ContextSettings {
    /// Settings from the whole configuration.
    pub fn new(config: Arc<Config>) -> Self {
        Self { config }
    }

    fn policy(&self) -> ContinuityPolicy {
        ContinuityPolicy {
            reopen_window_ms: (self.config.context.reopen_window_secs as Millis)
                .saturating_mul(1000),
        }
    }
}

/// Customers, conversations and history.
pub struct ContextService {
    store: Arc<dyn ContextStore>,
    bus: Arc<dyn Bus>,
    settings: ContextSettings,
}

impl ContextService {
    /// A service over `store` and `bus`.
    pub fn new(store: Arc<dyn ContextStore>, bus: Arc<dyn Bus>, settings: ContextSettings) -> Self {
        Self {
            store,
            bus,
            settings,
        }
    }

    /// The store, for reads.
    pub fn store(&self) -> &Arc<dyn ContextStore> {
        &self.store
    }

    /// The bus.
    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// Adds a customer message to its conversation and, if the conversation
    /// (newly) waits for an agent, asks the router for one. Idempotent.
    pub async fn ingest(
        &self,
        message: &InboundMessage,
        trace: TraceContext,
    ) -> Result<Ingested, ContextError> {
        let queue = QueueId::from(
            self.settings
                .config
                .queue_for(message.channel, message.topic.as_deref()),
        );
        let ingested = self
            .store
            .ingest(message, &queue, self.settings.policy())
            .await?;
        let conversation = &ingested.conversation;
        let result = if ingested.duplicate {
            "duplicate"
        } else {
            "stored"
        };
        omni_telemetry::metrics::inc(
            "omni_inbound_messages_total",
            &[("channel", message.channel.as_str()), ("result", result)],
        );
        if ingested.duplicate {
            info!(
                trace_id = %trace.trace_id_hex(),
                conversation_id = %conversation.id,
                key = %message.idempotency_key,
                "duplicate inbound message ignored"
            );
        } else {
            info!(
                trace_id = %trace.trace_id_hex(),
                conversation_id = %conversation.id,
                customer_id = %ingested.customer.id,
                channel = %message.channel,
                seq = ingested.message.seq,
                opened = ingested.opened,
                reopened = ingested.reopened,
                "inbound message stored"
            );
        }
        if ingested.needs_routing {
            self.request_routing(conversation, trace).await?;
        }
        if !ingested.duplicate {
            self.emit_message(&ingested.message).await;
            if ingested.opened || ingested.reopened {
                self.emit_conversation(conversation).await;
            }
        }
        Ok(ingested)
    }

    async fn request_routing(
        &self,
        conversation: &Conversation,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let queued_at_ms = conversation
            .queued_at_ms
            .unwrap_or(conversation.updated_at_ms);
        let request = ev::RoutingRequest {
            conversation_id: conversation.id.to_string(),
            customer_id: conversation.customer_id.to_string(),
            queue: conversation.queue.to_string(),
            channel: pb::Channel::from(conversation.last_channel) as i32,
            queued_at_ms,
            preferred_agent: conversation
                .last_agent
                .as_ref()
                .map(AgentId::to_string)
                .unwrap_or_default(),
        };
        let msg = Message::new(subjects::ROUTING_REQUEST, request.encode_to_vec()).with_header(
            TRACEPARENT,
            omni_telemetry::outgoing(&tracing::Span::current(), &trace).to_string(),
        );
        let id = format!("route:{}:{}", conversation.id, queued_at_ms);
        self.bus.publish(msg, Some(&id)).await?;
        Ok(())
    }

    /// Records the router's assignment. If the conversation was resolved in
    /// the meantime, tells the router to release it again.
    pub async fn record_assignment(
        &self,
        conversation_id: &ConversationId,
        agent: &AgentId,
        at_ms: Millis,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        match self.store.assign(conversation_id, agent, at_ms).await {
            Ok(conversation) => {
                info!(
                    trace_id = %trace.trace_id_hex(),
                    conversation_id = %conversation_id,
                    agent_id = %agent,
                    "conversation assigned"
                );
                self.emit_conversation(&conversation).await;
                Ok(())
            }
            Err(StoreError::Conflict(reason)) => {
                warn!(conversation_id = %conversation_id, agent_id = %agent, %reason, "assignment of a resolved conversation; releasing it");
                self.release(conversation_id, "resolved", at_ms, trace)
                    .await
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn release(
        &self,
        conversation_id: &ConversationId,
        reason: &str,
        at_ms: Millis,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let release = ev::RoutingRelease {
            conversation_id: conversation_id.to_string(),
            reason: reason.to_owned(),
        };
        let msg = Message::new(subjects::ROUTING_RELEASE, release.encode_to_vec()).with_header(
            TRACEPARENT,
            omni_telemetry::outgoing(&tracing::Span::current(), &trace).to_string(),
        );
        let id = format!("release:{conversation_id}:{at_ms}");
        self.bus.publish(msg, Some(&id)).await?;
        Ok(())
    }

    /// Stores an agent's reply and hands it to the adapter of `channel`
    /// (default: the channel the customer used last). Idempotent by key.
    pub async fn send_reply(
        &self,
        conversation_id: &ConversationId,
        agent: &AgentId,
        text: &str,
        idempotency_key: &str,
        channel: Option<Channel>,
        trace: TraceContext,
    ) -> Result<StoredMessage, ContextError> {
        if text.trim().is_empty() {
            return Err(ContextError::InvalidArgument(
                "text must not be empty".into(),
            ));
        }
        if text.len() > MAX_REPLY_BYTES {
            return Err(ContextError::InvalidArgument(format!(
                "text of {} bytes exceeds the limit of {MAX_REPLY_BYTES} bytes",
                text.len()
            )));
        }
        if idempotency_key.is_empty() || idempotency_key.len() > 128 {
            return Err(ContextError::InvalidArgument(
                "idempotency_key must be 1-128 bytes".into(),
            ));
        }
        let conversation = self
            .store
            .conversation(conversation_id)
            .await?
            .ok_or_else(|| ContextError::NotFound(format!("conversation {conversation_id}")))?;
        let channel = channel.unwrap_or(conversation.last_channel);
        let to = self.recipient(&conversation, channel).await?;
        let message = self
            .store
            .append_outbound(NewOutbound {
                conversation_id: conversation_id.clone(),
                agent_id: agent.clone(),
                text: text.to_owned(),
                channel,
                idempotency_key: format!("reply:{conversation_id}:{idempotency_key}"),
                at_ms: now_ms(),
            })
            .await?;
        let outbound = ev::OutboundMessage {
            message: Some(pb::Message::from(&message)),
            to: Some(pb::Identity::from(&to)),
            email: None,
        };
        let msg = Message::new(subjects::outbound(channel), outbound.encode_to_vec()).with_header(
            TRACEPARENT,
            omni_telemetry::outgoing(&tracing::Span::current(), &trace).to_string(),
        );
        self.bus
            .publish(msg, Some(&format!("out:{}", message.id)))
            .await?;
        omni_telemetry::metrics::inc(
            "omni_outbound_messages_total",
            &[("channel", channel.as_str())],
        );
        info!(
            trace_id = %trace.trace_id_hex(),
            conversation_id = %conversation_id,
            agent_id = %agent,
            %channel,
            seq = message.seq,
            "reply stored and queued for delivery"
        );
        self.emit_message(&message).await;
        Ok(message)
    }

    /// The customer's identity on `channel`: the one they used last if that
    /// is the channel, else the newest of that kind.
    async fn recipient(
        &self,
        conversation: &Conversation,
        channel: Channel,
    ) -> Result<Identity, ContextError> {
        if conversation.last_identity.channel() == channel {
            return Ok(conversation.last_identity.clone());
        }
        let customer = self.customer(&conversation.customer_id).await?;
        customer
            .identities
            .iter()
            .rev()
            .find(|i| i.channel() == channel)
            .cloned()
            .ok_or_else(|| {
                ContextError::FailedPrecondition(format!(
                    "customer {} has no {channel} identity",
                    customer.id
                ))
            })
    }

    /// Resolves the conversation and releases the agent's capacity.
    pub async fn resolve(
        &self,
        conversation_id: &ConversationId,
        trace: TraceContext,
    ) -> Result<Conversation, ContextError> {
        let conversation = self.store.resolve(conversation_id, now_ms()).await?;
        let at = conversation
            .resolved_at_ms
            .unwrap_or(conversation.updated_at_ms);
        self.release(conversation_id, "resolved", at, trace).await?;
        info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, "conversation resolved");
        self.emit_conversation(&conversation).await;
        Ok(conversation)
    }

    /// One customer, or `NotFound`.
    pub async fn customer(&self, id: &omni_core::CustomerId) -> Result<Customer, ContextError> {
        self.store
            .customer(id)
            .await?
            .ok_or_else(|| ContextError::NotFound(format!("customer {id}")))
    }

    /// One conversation, or `NotFound`.
    pub async fn conversation(&self, id: &ConversationId) -> Result<Conversation, ContextError> {
        self.store
            .conversation(id)
            .await?
            .ok_or_else(|| ContextError::NotFound(format!("conversation {id}")))
    }

    async fn emit_message(&self, message: &StoredMessage) {
        let event = ev::ConversationEvent {
            conversation_id: message.conversation_id.to_string(),
            kind: Some(ev::conversation_event::Kind::Message(pb::Message::from(
                message,
            ))),
        };
        self.emit(&message.conversation_id, event).await;
    }

    async fn emit_conversation(&self, conversation: &Conversation) {
        let event = ev::ConversationEvent {
            conversation_id: conversation.id.to_string(),
            kind: Some(ev::conversation_event::Kind::Updated(
                pb::Conversation::from(conversation),
            )),
        };
        self.emit(&conversation.id, event).await;
    }

    /// Live notifications are best effort: watchers re-read state on reconnect.
    async fn emit(&self, conversation_id: &ConversationId, event: ev::ConversationEvent) {
        let msg = Message::new(
            subjects::conversation_event(conversation_id.as_str()),
            event.encode_to_vec(),
        );
        if let Err(e) = self.bus.notify(msg).await {
            warn!(conversation_id = %conversation_id, error = %e, "conversation event not sent");
        }
    }
}

/// Whether a conversation still needs an agent.
pub fn is_open(conversation: &Conversation) -> bool {
    conversation.status != ConversationStatus::Resolved
}
