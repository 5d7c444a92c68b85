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
use omni_core::config::{ChannelSet, Config};
use omni_core::time::{Millis, now_ms};
use omni_core::trace::TraceContext;
use omni_core::{
    AgentId, Channel, Conversation, ConversationId, ConversationStatus, Customer, EmailDetails,
    Identity, IdentityNormalizer, InboundMessage, MessageId, QueueId, StoredMessage,
};
use omni_proto::{common as pb, events as ev};
use omni_store::{
    ContextStore, ContinuityPolicy, IngestOptions, Ingested, NewOutbound, StoreError,
};

use crate::threading::{outbound_email, parse_reply_address, referenced_ids, reply_address};
use prost::Message as _;
use tracing::{info, warn};

use crate::ContextError;
use crate::enrich::{Decision, Enrich, Input, Stage};

mod aftercare;
mod closed;
pub mod files;
pub mod followup;
mod notes;
mod priority;
mod refusal;
mod reply;
mod signal;
pub mod survey;
pub mod survey_link;
pub mod survey_view;
pub use notes::{NoteOptions, WrapUp};
use omni_proto::auth::Caller;
use priority::Change;
pub use signal::Signal;

/// Largest agent reply, in bytes.
pub const MAX_REPLY_BYTES: usize = 16 * 1024;

/// Messages read per page when a reply needs the thread's email history.
const HISTORY_PAGE: usize = 500;
/// Conversations looked at to find the customer's last agent.
const STICKY_LOOKBACK: usize = 20;

/// What the context service needs from the configuration.
#[derive(Debug, Clone)]
pub struct ContextSettings {
    config: Arc<Config>,
    normalizer: IdentityNormalizer,
    /// The declared channels: a message on any other is refused.
    channels: ChannelSet,
}

impl ContextSettings {
    /// Settings from the whole configuration. An invalid
    /// `context.default_region` (which `Config::validate` rejects) reads
    /// phone numbers without a region.
    pub fn new(config: Arc<Config>) -> Self {
        let normalizer = config
            .context
            .normalizer()
            .unwrap_or_else(|e| {
                warn!(error = %e, "phone numbers need a country code");
                IdentityNormalizer::default()
            })
            .with_kinds(config.identity_kinds());
        let channels = config.channel_set();
        Self {
            config,
            normalizer,
            channels,
        }
    }

    /// The identity kinds a reply on `channel` can go to (none for an
    /// undeclared channel).
    pub fn reply_kinds(&self, channel: Channel) -> Vec<String> {
        self.channels
            .get(channel)
            .map(|s| s.reply_kinds.clone())
            .unwrap_or_default()
    }

    /// The whole configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The capabilities of `channel`, when declared.
    pub fn channel_spec(&self, channel: Channel) -> Option<&omni_core::config::ChannelSpec> {
        self.channels.get(channel)
    }

    /// `queue`'s configuration, when the file has it.
    pub fn queue_config(&self, queue: &QueueId) -> Option<&omni_core::config::QueueConfig> {
        self.config.queues.iter().find(|q| q.id == queue.as_str())
    }

    /// How raw identities are normalized.
    pub fn normalizer(&self) -> IdentityNormalizer {
        self.normalizer.clone()
    }

    /// The domain of reply addresses and outbound Message-IDs.
    pub fn reply_domain(&self) -> &str {
        &self.config.context.reply_domain
    }

    /// The automatic answer to a customer whose queue was full.
    pub fn queue_full_answer(&self) -> &str {
        &self.config.limits.queue_full_answer
    }

    /// The wrap-up codes of `queue` (`[[queues]] wrapup_codes`); empty when
    /// it has none (or is not in the configuration).
    pub fn wrapup_codes(&self, queue: &QueueId) -> &[String] {
        self.config
            .queues
            .iter()
            .find(|q| q.id == queue.as_str())
            .map_or(&[], |q| q.wrapup_codes.as_slice())
    }

    /// Dead letters kept, the newest (`[retention] dead_letters_kept`).
    pub fn dead_letters_kept(&self) -> u64 {
        self.config.retention.dead_letters_kept
    }

    /// Where the contact center's day begins, east of UTC
    /// (`metrics.utc_offset_minutes`), in ms.
    pub fn utc_offset_ms(&self) -> i64 {
        i64::from(self.config.metrics.utc_offset_minutes) * 60_000
    }

    /// Replies one agent may send per minute.
    pub fn agent_replies_per_minute(&self) -> u32 {
        self.config.context.agent_replies_per_minute
    }

    fn options(&self, queue: QueueId) -> IngestOptions {
        let mut options = IngestOptions::new(queue, self.policy());
        options.max_attachment_bytes = self.config.context.max_attachment_bytes;
        options
    }

    fn sticky_window_ms(&self) -> Millis {
        (self.config.context.sticky_window_secs as Millis).saturating_mul(1000)
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
    pub(crate) store: Arc<dyn ContextStore>,
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) settings: ContextSettings,
    /// Replies per agent (`context.agent_replies_per_minute`), per replica.
    replies: governor::DefaultKeyedRateLimiter<String>,
    /// The audit log (see [`crate::audit`]).
    pub(crate) audit: Option<Arc<dyn omni_store::AccountStore>>,
    /// The router's daily counts, where first responses are added for the
    /// supervisor's wall (see `omni_router::tally::day`).
    pub(crate) counts: Option<Arc<dyn omni_store::RouterStore>>,
    /// The enrichment stage and routing rules (see [`crate::enrich`]).
    pub(crate) enrichment: Arc<Stage>,
    /// The HTTP client toward webhook bots, made on first use.
    pub(crate) bot_http: std::sync::OnceLock<Result<omni_adapter::http::HttpClient, String>>,
}

impl ContextService {
    /// A service over `store` and `bus`.
    pub fn new(store: Arc<dyn ContextStore>, bus: Arc<dyn Bus>, settings: ContextSettings) -> Self {
        let per_minute = std::num::NonZeroU32::new(settings.agent_replies_per_minute())
            .unwrap_or(std::num::NonZeroU32::MIN);
        let enrichment = Arc::new(Stage::new(&settings.config, None));
        Self {
            store,
            bus,
            replies: governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)),
            settings,
            audit: None,
            counts: None,
            enrichment,
            bot_http: std::sync::OnceLock::new(),
        }
    }

    /// The same service with `builtin` as the enrichment stage's built-in
    /// analyzers (see [`crate::enrich`]).
    pub fn with_enricher(mut self, builtin: Arc<dyn Enrich>) -> Self {
        self.enrichment = Arc::new(Stage::new(&self.settings.config, Some(builtin)));
        self
    }

    /// The same service adding each first response to the day's counts in
    /// `store` (the supervisor's wall reads them back from there).
    pub fn with_counts(mut self, store: Option<Arc<dyn omni_store::RouterStore>>) -> Self {
        self.counts = store;
        self
    }

    /// The store, for reads.
    pub fn store(&self) -> &Arc<dyn ContextStore> {
        &self.store
    }

    /// The bus.
    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// The settings.
    pub fn settings(&self) -> &ContextSettings {
        &self.settings
    }

    /// The proto view of a conversation, with its reply address.
    pub fn conversation_pb(&self, conversation: &Conversation) -> pb::Conversation {
        let mut view = pb::Conversation::from(conversation);
        view.reply_address = reply_address(&conversation.id, self.settings.reply_domain());
        view
    }

    /// The conversation an inbound email continues, with the evidence: see
    /// [`crate::threading`].
    async fn email_thread(
        &self,
        email: &EmailDetails,
    ) -> Result<Option<(ConversationId, String)>, ContextError> {
        if let Some(id) = parse_reply_address(&email.to, self.settings.reply_domain())
            && self.store.conversation(&id).await?.is_some()
        {
            let evidence = format!(
                "email sent to the conversation's reply address {}",
                email.to
            );
            return Ok(Some((id, evidence)));
        }
        for referenced in referenced_ids(email) {
            if let Some(id) = self.store.conversation_by_email_id(referenced).await? {
                let evidence = format!("email replying to <{referenced}> of the conversation");
                return Ok(Some((id, evidence)));
            }
        }
        Ok(None)
    }

    /// Adds a customer message to its conversation and, if the conversation
    /// (newly) waits for an agent, asks the router for one. Idempotent.
    pub async fn ingest(
        &self,
        message: &InboundMessage,
        trace: TraceContext,
    ) -> Result<Ingested, ContextError> {
        self.settings
            .channels
            .require(message.channel)
            .map_err(|e| ContextError::InvalidArgument(e.to_string()))?;
        let mut message = message.clone();
        match self.settings.normalizer.normalize(&message.from) {
            Ok(identity) => message.from = identity,
            // The adapter accepted it: store it under the identity as given
            // rather than lose it.
            Err(e) => warn!(
                trace_id = %trace.trace_id_hex(),
                key = %message.idempotency_key,
                error = %e,
                "sender identity not normalizable; kept as given"
            ),
        }
        let decision = self.enrich(&message).await;
        let config = &self.settings.config;
        // A customer's pre-chat topic chooses the queue; without one, the
        // first routing rule with a queue does, then the channel's default.
        let chosen_topic = message
            .topic
            .as_deref()
            .is_some_and(|t| config.context.topics.contains_key(t));
        let queue = match decision.as_ref().and_then(|d| d.queue.as_deref()) {
            Some(rule_queue) if !chosen_topic => QueueId::from(rule_queue),
            _ => QueueId::from(config.queue_for(message.channel, message.topic.as_deref())),
        };
        let mut options = self.settings.options(queue.clone());
        options.bot = self.settings.bot_of(&queue);
        if let Some(email) = &message.email
            && let Some((thread, evidence)) = self.email_thread(email).await?
        {
            options.thread = Some(thread);
            options.thread_evidence = evidence;
        }
        // The conversation keeps this message's trace, for the agents'
        // actions on it to continue.
        options.trace =
            Some(omni_telemetry::outgoing(&tracing::Span::current(), &trace).to_string());
        // After service: an open survey takes the message as its answer; a
        // follow-up is cancelled or replied to (service/aftercare).
        if let aftercare::BeforeIngest::Answered(answered) =
            self.before_ingest(&message, &mut options, trace).await?
        {
            return Ok(*answered);
        }
        let message = &message;
        let ingested = self.store.ingest_with(message, &options).await?;
        let span = tracing::Span::current();
        span.record("omni.conversation_id", ingested.conversation.id.as_str());
        span.record("omni.customer_id", ingested.customer.id.as_str());
        if !ingested.duplicate && ingested.customer.unverified.contains(&message.from) {
            info!(
                trace_id = %trace.trace_id_hex(),
                conversation_id = %ingested.conversation.id,
                customer_id = %ingested.customer.id,
                evidence = %options.thread_evidence,
                "sender kept as an unverified participant of the thread"
            );
        }
        let conversation = &ingested.conversation;
        let result = if ingested.duplicate {
            "duplicate"
        } else {
            "stored"
        };
        omni_telemetry::count!(
            "omni_inbound_messages_total",
            "customer messages handled by the context service, by result",
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
        // With what enrichment learned kept on it, when it was.
        let mut kept = None;
        if !ingested.duplicate
            && let Some(d) = &decision
        {
            kept = self.keep_facts(conversation, &d.message_facts).await;
        }
        if ingested.needs_bot {
            self.offer_to_bot(&ingested, trace).await?;
        } else if ingested.needs_routing {
            self.request_routing(conversation, None, decision.as_ref(), trace)
                .await?;
        } else if ingested.channel_changed
            && !ingested.duplicate
            && conversation.status != ConversationStatus::Resolved
        {
            // The router counts the conversation on the channel it is on
            // now: the same request on the new channel moves it there.
            self.request_routing(
                conversation,
                Some(Change::Channel(ingested.message.seq)),
                decision.as_ref(),
                trace,
            )
            .await?;
        } else if !ingested.duplicate {
            // A rule with a priority may raise a waiting contact's
            // (service/priority).
            self.raise_priority(conversation, ingested.message.seq, decision.as_ref(), trace)
                .await?;
        }
        if !ingested.duplicate {
            self.emit_message(&ingested.message).await;
            // Watchers (the desk's header and "same channel" reply) follow
            // the conversation's last channel too, and its intent and
            // sentiment trend.
            if ingested.opened || ingested.reopened || ingested.channel_changed || kept.is_some() {
                self.emit_conversation(kept.as_ref().unwrap_or(conversation))
                    .await;
            }
        }
        Ok(ingested)
    }

    /// Keeps what enrichment learned from the latest customer message
    /// (`intent`, `sentiment`, `sentiment_label`, `lang`, an external
    /// enricher's facts, and the last scores in `sentiment_trend`) on the
    /// conversation's attributes, where the desk
    /// shows them and the rules at a bot's handoff read them; written only
    /// when they change what is kept. Returns the conversation with them
    /// when they were written. A failure is logged: the facts rode the
    /// routing request already.
    async fn keep_facts(
        &self,
        conversation: &Conversation,
        facts: &omni_core::contact_rules::Facts,
    ) -> Option<Conversation> {
        let mut changed: std::collections::BTreeMap<String, String> = facts
            .iter()
            .filter(|(k, v)| conversation.attributes.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Each message's score joins the trend, even one equal to the last.
        if let Some(score) = facts.get("sentiment") {
            let kept = conversation.attributes.get(crate::enrich::SENTIMENT_TREND);
            changed.insert(
                crate::enrich::SENTIMENT_TREND.to_owned(),
                crate::enrich::push_trend(kept.map(String::as_str), score),
            );
        }
        if changed.is_empty() {
            return None;
        }
        let change = omni_store::BotChange::Attributes(changed);
        match self
            .store
            .bot_change(&conversation.id, &change, now_ms())
            .await
        {
            Ok(with_facts) => Some(with_facts),
            Err(e) => {
                warn!(conversation_id = %conversation.id, error = %e, "enrichment facts not kept on the conversation");
                None
            }
        }
    }

    /// Asks the router to route `conversation` on its last channel. A
    /// change of channel or priority (`changed_at`, with the message that
    /// made it) is a request of its own: the bus would drop it as a
    /// duplicate of the first.
    pub(crate) async fn request_routing(
        &self,
        conversation: &Conversation,
        changed_at: Option<Change>,
        decision: Option<&Decision>,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let queued_at_ms = conversation
            .queued_at_ms
            .unwrap_or(conversation.updated_at_ms);
        let preferred_agent = self.preferred_agent(conversation).await;
        let request = ev::RoutingRequest {
            conversation_id: conversation.id.to_string(),
            customer_id: conversation.customer_id.to_string(),
            queue: conversation.queue.to_string(),
            channel: pb::Channel::from(conversation.last_channel) as i32,
            channel_name: conversation.last_channel.as_str().to_owned(),
            queued_at_ms,
            preferred_agent: preferred_agent
                .as_ref()
                .map(AgentId::to_string)
                .unwrap_or_default(),
            // The conversation's attributes (a bot's), then enrichment and
            // routing rules (crate::enrich) over them.
            attributes: {
                let mut attributes = crate::bots::routing_attributes(conversation);
                if let Some(d) = decision {
                    attributes.extend(d.facts.clone());
                }
                attributes
            },
            priority: decision.map_or(0, |d| u32::from(d.priority)),
            language: decision
                .and_then(|d| d.language.clone())
                .unwrap_or_default(),
            reasons: {
                let mut reasons = crate::bots::routing_reasons(conversation);
                if let Some(d) = decision {
                    let chosen = d.queue.as_deref() == Some(conversation.queue.as_str());
                    reasons.extend(d.reason_lines(chosen));
                }
                reasons
            },
        };
        let msg = Message::new(subjects::ROUTING_REQUEST, request.encode_to_vec()).with_header(
            TRACEPARENT,
            omni_telemetry::outgoing(&tracing::Span::current(), &trace).to_string(),
        );
        let id = match changed_at {
            None => format!("route:{}:{}", conversation.id, queued_at_ms),
            Some(Change::Channel(seq)) => {
                format!("route:{}:{}:channel:{seq}", conversation.id, queued_at_ms)
            }
            Some(Change::Priority(seq)) => {
                format!("route:{}:{}:priority:{seq}", conversation.id, queued_at_ms)
            }
        } + &crate::bots::closed::routing_id_suffix(conversation);
        self.bus.publish(msg, Some(&id)).await?;
        Ok(())
    }

    /// Runs the enrichment stage on a customer message, with its customer
    /// when known (a store error leaves the customer out: enrichment never
    /// stops a message). `None` when there is nothing to do.
    async fn enrich(&self, message: &InboundMessage) -> Option<Decision> {
        if !self.enrichment.active() {
            return None;
        }
        let customer = match self.store.customer_by_identity(&message.from).await {
            Ok(Some(id)) => self.store.customer(&id).await.unwrap_or_else(|e| {
                warn!(key = %message.idempotency_key, error = %e, "customer unavailable to enrichment");
                None
            }),
            Ok(None) => None,
            Err(e) => {
                warn!(key = %message.idempotency_key, error = %e, "customer unavailable to enrichment");
                None
            }
        };
        let input = Input {
            conversation_id: "",
            message_key: &message.idempotency_key,
            text: &message.text,
            channel: message.channel.as_str(),
            customer: customer.as_ref(),
        };
        Some(self.enrichment.run(self.bus.as_ref(), &input).await)
    }

    /// The agent who last handled the customer, on any of their
    /// conversations, if that was within `context.sticky_window_secs`: the
    /// agent of the conversation handled most recently (its resolve time, or
    /// its last change while open).
    pub async fn preferred_agent(&self, conversation: &Conversation) -> Option<AgentId> {
        // A reply to a follow-up goes to its agent, however long ago.
        if let Some(agent) = self.followup_agent(conversation).await {
            return Some(agent);
        }
        let recent = match self
            .store
            .customer_conversations(&conversation.customer_id, 0, STICKY_LOOKBACK)
            .await
        {
            Ok(recent) => recent,
            Err(e) => {
                warn!(conversation_id = %conversation.id, error = %e, "customer history unavailable; sticky routing uses this conversation only");
                vec![conversation.clone()]
            }
        };
        let handled_at = |c: &Conversation| c.resolved_at_ms.unwrap_or(c.updated_at_ms);
        let (agent, at) = recent
            .iter()
            .chain(std::iter::once(conversation))
            .filter_map(|c| c.last_agent.clone().map(|a| (a, handled_at(c))))
            .max_by_key(|(_, at)| *at)?;
        (now_ms().saturating_sub(at) <= self.settings.sticky_window_ms()).then_some(agent)
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

    pub(crate) async fn release(
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

    /// Resolves the conversation and releases the agent's capacity, with
    /// the wrap-up's code (checked against the queue's) and note.
    pub async fn resolve(
        &self,
        conversation_id: &ConversationId,
        caller: &Caller,
        wrapup: &WrapUp,
        trace: TraceContext,
    ) -> Result<Conversation, ContextError> {
        let current = self.conversation(conversation_id).await?;
        let current = self.awaiting_assignment(current, caller).await?;
        // Resolving again is answered by the store, as for the one who resolved it.
        let resolved_by_them = current.status == ConversationStatus::Resolved
            && caller.actor().is_some_and(|a| {
                current
                    .last_agent
                    .as_ref()
                    .is_some_and(|l| l.as_str() == a.user)
            });
        if !crate::authority::may_hold(caller, &current) && !resolved_by_them {
            return Err(ContextError::PermissionDenied(format!(
                "{} may not resolve conversation {conversation_id}: it is not theirs",
                caller.actor().map_or("the caller", |a| a.user.as_str())
            )));
        }
        // A retried resolve republishes the release; its wrap-up was
        // checked, stored and counted the first time.
        let first = current.status != ConversationStatus::Resolved;
        if first {
            self.check_wrapup(&current, wrapup.code.as_deref(), caller)?;
            self.wrapup_note(&current, wrapup, caller).await?;
        }
        let conversation = self
            .store
            .resolve_with(conversation_id, now_ms(), wrapup.code.as_deref())
            .await?;
        if first && let Some(code) = &conversation.wrapup_code {
            notes::count_wrapup(&conversation.queue, code);
        }
        let at = conversation
            .resolved_at_ms
            .unwrap_or(conversation.updated_at_ms);
        self.release(conversation_id, "resolved", at, trace).await?;
        info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, "conversation resolved");
        self.emit_conversation(&conversation).await;
        if first {
            self.after_resolve(&conversation, wrapup.followup_at_ms)
                .await;
        }
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

    pub(crate) async fn emit_message(&self, message: &StoredMessage) {
        let event = ev::ConversationEvent {
            conversation_id: message.conversation_id.to_string(),
            kind: Some(ev::conversation_event::Kind::Message(pb::Message::from(
                message,
            ))),
        };
        self.emit(&message.conversation_id, event).await;
    }

    pub(crate) async fn emit_conversation(&self, conversation: &Conversation) {
        let event = ev::ConversationEvent {
            conversation_id: conversation.id.to_string(),
            kind: Some(ev::conversation_event::Kind::Updated(
                self.conversation_pb(conversation),
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

/// `YYYY-MM-DD` (UTC) of a millisecond timestamp.
pub fn date(at_ms: Millis) -> String {
    omni_core::time::day_of(at_ms, 0)
}

/// Whether a conversation still needs an agent.
pub fn is_open(conversation: &Conversation) -> bool {
    conversation.status != ConversationStatus::Resolved
}

#[cfg(test)]
mod tests {
    use super::date;

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_700_000_000_000), "2023-11-14");
        assert_eq!(date(951_782_400_000), "2000-02-29");
        assert_eq!(date(-86_400_000), "1969-12-31");
    }
}
