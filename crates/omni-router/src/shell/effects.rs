//! Carrying out the engine's effects: persistence, the assignment event on
//! the bus, metrics, and the agent events watchers receive.

use std::collections::BTreeSet;
use std::time::Duration;

use omni_bus::topology::subjects;
use omni_bus::{Message, TRACEPARENT};
use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_core::{AgentId, ConversationId, QueueId};
use omni_proto::events as ev;
use omni_router_core::{Effect, RescindReason};
use omni_telemetry::metrics::contact::Number;
use prost::Message as _;
use tracing::{error, info, warn};

use super::RouterShell;
use crate::RouterError;
use crate::convert::presence_record;
use crate::events::{AgentEvent, AgentEventKind};
use crate::settled::Outcome;

/// The reason of a refusal, on the bus and in the metrics.
const QUEUE_FULL: &str = "queue_full";

impl RouterShell {
    pub(super) async fn execute(&self, effects: Vec<Effect>) {
        self.execute_after(None, effects).await;
    }

    /// Carries out `effects`; `transferred` names the conversation the
    /// event transferred (its queue change is a transfer, not an overflow).
    pub(super) async fn execute_after(
        &self,
        transferred: Option<&ConversationId>,
        effects: Vec<Effect>,
    ) {
        let mut touched = BTreeSet::new();
        for effect in effects {
            match effect {
                Effect::Offered(offer) => {
                    omni_telemetry::count!(
                        "omni_routing_offers_total",
                        "offers made to agents",
                        &[]
                    );
                    // The decision's explanation, on the trace.
                    let why = self
                        .lock_engine()
                        .explain(&offer.conversation_id)
                        .into_iter()
                        .find(|d| d.kind == "offered");
                    let (eligible, rule, step, score, summary) = match &why {
                        Some(d) => (
                            d.eligible.unwrap_or(0),
                            d.rule.clone().unwrap_or_default(),
                            d.step.unwrap_or(0),
                            d.score.unwrap_or(0),
                            d.summary.clone(),
                        ),
                        None => (0, String::new(), 0, 0, String::new()),
                    };
                    info!(conversation_id = %offer.conversation_id, agent_id = %offer.agent_id, offer_id = %offer.offer_id, eligible, rule = %rule, step, score, explanation = %summary, "offered");
                    let span = tracing::Span::current();
                    span.record("omni.conversation_id", offer.conversation_id.as_str());
                    span.record("omni.agent_id", offer.agent_id.as_str());
                    span.record("omni.eligible_count", eligible);
                    span.record("omni.rule", rule.as_str());
                    span.record("omni.score", score);
                    span.record("omni.relaxation_step", step);
                    touched.insert(offer.agent_id.clone());
                    self.send(&offer.agent_id.clone(), AgentEventKind::Offered(offer));
                }
                Effect::OfferRescinded { offer, reason } => {
                    let number = match reason {
                        RescindReason::Timeout => Some(Number::OfferTimedOut),
                        RescindReason::Declined => Some(Number::OfferDeclined),
                        _ => None,
                    };
                    if let Some(number) = number {
                        self.count_for(&offer.conversation_id, number);
                        self.tally.offer_missed(offer.agent_id.as_str());
                    }
                    omni_telemetry::count!(
                        "omni_routing_offers_rescinded_total",
                        "offers taken back, by reason",
                        &[("reason", reason.as_str())],
                    );
                    info!(conversation_id = %offer.conversation_id, agent_id = %offer.agent_id, reason = reason.as_str(), "offer rescinded");
                    touched.insert(offer.agent_id.clone());
                    self.lock_settled()
                        .record(&offer.offer_id, Outcome::Rescinded(reason));
                    self.send(
                        &offer.agent_id.clone(),
                        AgentEventKind::Rescinded { offer, reason },
                    );
                }
                Effect::Assigned {
                    conversation_id,
                    agent_id,
                    offer_id,
                } => {
                    omni_telemetry::count!(
                        "omni_routing_assignments_total",
                        "contacts assigned to agents",
                        &[]
                    );
                    let record = self.lock_contacts().get(&conversation_id).cloned();
                    if let Some(r) = record {
                        self.tally.answered(
                            &conversation_id,
                            &r.queue,
                            r.channel.as_str(),
                            r.queued_at_ms,
                        );
                    }
                    info!(%conversation_id, %agent_id, "assigned");
                    let span = tracing::Span::current();
                    span.record("omni.conversation_id", conversation_id.as_str());
                    span.record("omni.agent_id", agent_id.as_str());
                    touched.insert(agent_id.clone());
                    self.lock_settled().record(&offer_id, Outcome::Accepted);
                    self.record_assignment(&conversation_id, &agent_id).await;
                    self.send(
                        &agent_id,
                        AgentEventKind::Assigned {
                            conversation_id,
                            offer_id,
                        },
                    );
                }
                Effect::Queued { .. } => {}
                Effect::Requeued {
                    conversation_id,
                    queue,
                    queued_at_ms,
                } => {
                    info!(%conversation_id, %queue, "contact moved to another queue");
                    let record = {
                        let mut contacts = self.lock_contacts();
                        contacts.get_mut(&conversation_id).map(|r| {
                            let from = std::mem::replace(&mut r.queue, queue.clone());
                            r.queued_at_ms = queued_at_ms;
                            (from, r.clone())
                        })
                    };
                    let record = record.map(|(from, r)| {
                        if transferred != Some(&conversation_id) {
                            self.tally
                                .count(Number::Overflowed, from.as_str(), r.channel.as_str());
                        }
                        self.tally
                            .count(Number::Offered, r.queue.as_str(), r.channel.as_str());
                        r
                    });
                    if let Some(record) = record
                        && let Err(e) = self.store.put_contact(&record).await
                    {
                        error!(%conversation_id, error = %e, "queue change not stored; a restart restores the old queue");
                    }
                }
                Effect::Unassigned {
                    conversation_id,
                    agent_id,
                } => {
                    info!(%conversation_id, %agent_id, "contact transferred away from its agent");
                    touched.insert(agent_id.clone());
                    let record = {
                        let mut contacts = self.lock_contacts();
                        contacts.get_mut(&conversation_id).map(|r| {
                            r.assigned_agent = None;
                            r.clone()
                        })
                    };
                    if let Some(record) = record
                        && let Err(e) = self.store.put_contact(&record).await
                    {
                        error!(%conversation_id, error = %e, "transfer not stored; a restart restores the old assignment");
                    }
                    self.send(&agent_id, AgentEventKind::Released { conversation_id });
                }
                Effect::Removed { conversation_id } => {
                    let record = self.lock_contacts().remove(&conversation_id);
                    if let Some(r) = &record {
                        self.tally.released(
                            &conversation_id,
                            &r.queue,
                            r.channel.as_str(),
                            r.queued_at_ms,
                            r.assigned_agent.is_some(),
                        );
                    }
                    if let Some(agent) = record.and_then(|r| r.assigned_agent) {
                        touched.insert(agent.clone());
                        self.send(&agent, AgentEventKind::Released { conversation_id });
                    }
                }
                Effect::Refused {
                    conversation_id,
                    queue,
                } => {
                    omni_telemetry::count!(
                        "omni_routing_refused_total",
                        "new contacts refused, by queue and reason",
                        &[("queue", queue.as_str()), ("reason", QUEUE_FULL)],
                    );
                    warn!(%conversation_id, %queue, reason = QUEUE_FULL, "conversation refused: its queue is full");
                    self.record_refusal(&conversation_id, &queue).await;
                }
                Effect::QueueClosed {
                    conversation_id,
                    queue,
                    opens_at_ms,
                } => {
                    self.record_closed(&conversation_id, &queue, opens_at_ms)
                        .await;
                }
                Effect::PresenceChanged { agent_id, presence } => {
                    info!(%agent_id, ?presence, "presence changed by the router");
                    let record = presence_record(&agent_id, &presence);
                    // The stored time, so the time in state is the same after a restart.
                    self.tally
                        .presence_changed(&agent_id, presence.as_str(), record.at_ms);
                    touched.insert(agent_id.clone());
                    if let Err(e) = self.store.put_presence(&record).await {
                        error!(%agent_id, error = %e, "presence change not stored");
                    }
                }
            }
        }
        for agent in touched {
            let view = self.lock_engine().agent(&agent);
            if let Some(view) = view {
                self.send(&agent, AgentEventKind::State(Box::new(view)));
            }
        }
    }

    /// Adds one to `number` of `conversation_id`'s queue and channel.
    fn count_for(&self, conversation_id: &ConversationId, number: Number) {
        let at = self
            .lock_contacts()
            .get(conversation_id)
            .map(|r| (r.queue.clone(), r.channel));
        if let Some((queue, channel)) = at {
            self.tally.count(number, queue.as_str(), channel.as_str());
        }
    }

    /// Records the assignment durably and tells the context service. Retries
    /// a bounded number of times; the publish is deduplicated by id.
    async fn record_assignment(&self, conversation_id: &ConversationId, agent_id: &AgentId) {
        let at_ms = now_ms();
        let record = {
            let mut contacts = self.lock_contacts();
            contacts.get_mut(conversation_id).map(|r| {
                r.assigned_agent = Some(agent_id.clone());
                r.clone()
            })
        };
        let assignment = ev::Assignment {
            conversation_id: conversation_id.to_string(),
            agent_id: agent_id.to_string(),
            at_ms,
        };
        let msg = Message::new(subjects::ASSIGNMENT_CREATED, assignment.encode_to_vec())
            .with_header(
                TRACEPARENT,
                omni_telemetry::outgoing(&tracing::Span::current(), &TraceContext::new_root())
                    .to_string(),
            );
        let id = format!("assign:{conversation_id}:{agent_id}:{at_ms}");
        for attempt in 1..=5u32 {
            let stored = match &record {
                Some(r) => self.store.put_contact(r).await.map_err(RouterError::from),
                None => Ok(()),
            };
            let result = match stored {
                Ok(()) => self
                    .bus
                    .publish(msg.clone(), Some(&id))
                    .await
                    .map(|_| ())
                    .map_err(RouterError::from),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => return,
                Err(e) => {
                    warn!(%conversation_id, %agent_id, attempt, error = %e, "assignment not recorded yet; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
        error!(%conversation_id, %agent_id, "assignment could not be recorded; the desk has it, the timeline does not");
    }

    /// Forgets a refused contact (the engine holds nothing of it) and tells
    /// the context service, which answers the customer. Retries a bounded
    /// number of times; the publish is deduplicated by id.
    async fn record_refusal(&self, conversation_id: &ConversationId, queue: &QueueId) {
        let record = self.lock_contacts().remove(conversation_id);
        let at_ms = now_ms();
        let queued_at = record.map_or(at_ms, |r| r.queued_at_ms);
        let refused = ev::RoutingRefused {
            conversation_id: conversation_id.to_string(),
            queue: queue.to_string(),
            reason: QUEUE_FULL.to_owned(),
            at_ms,
        };
        let msg = Message::new(subjects::ASSIGNMENT_REFUSED, refused.encode_to_vec()).with_header(
            TRACEPARENT,
            omni_telemetry::outgoing(&tracing::Span::current(), &TraceContext::new_root())
                .to_string(),
        );
        // One refusal per routing request: a redelivered request refused
        // again is the same refusal.
        let id = format!("refuse:{conversation_id}:{queued_at}");
        for attempt in 1..=5u32 {
            let result = match self.store.remove_contact(conversation_id).await {
                Ok(()) => self
                    .bus
                    .publish(msg.clone(), Some(&id))
                    .await
                    .map(|_| ())
                    .map_err(RouterError::from),
                Err(e) => Err(RouterError::from(e)),
            };
            match result {
                Ok(()) => return,
                Err(e) => {
                    warn!(%conversation_id, attempt, error = %e, "refusal not recorded yet; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
        error!(%conversation_id, %queue, "refusal could not be recorded; the customer was not told");
    }

    pub(super) fn send(&self, agent: &AgentId, kind: AgentEventKind) {
        // No receiver means no desk is watching: not an error.
        let _ = self.events.send(AgentEvent {
            agent_id: agent.clone(),
            kind,
        });
    }
}
