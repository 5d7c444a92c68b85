//! Proactive follow-ups (docs/surveys.md): a check-in scheduled at resolve,
//! `[queues.followup] after_days` after it or on the date the agent set
//! (`followup_at_ms`, the agent's wins), moved into sending hours; sent on
//! the conversation's last channel with the queue's template; cancelled
//! when the customer writes first; and a reply to it reopens its
//! conversation (whatever the reopen window) and is offered first to the
//! agent who handled it (whatever the sticky window). Counted in
//! `omni_followups_total{result}`. Every change (scheduled, cancelled,
//! settled, replied) is published as a `FollowupChanged` conversation
//! event, which the desk passes to the follow-up's agent.

use omni_core::config::localized;
use omni_store::{ScheduleKind, ScheduleState, ScheduledItem};
use serde::{Deserialize, Serialize};

use super::survey::decode;
use super::*;

/// The message when the queue sets no template.
pub const DEFAULT_FOLLOWUP: &str = "We are checking in: is everything all right?";
/// A reply this long after the follow-up was sent counts as a reply to it.
pub const FOLLOWUP_REPLY_MS: Millis = 14 * 24 * 3600 * 1000;

/// A follow-up, as its scheduled item's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowupState {
    /// The queue that handled the conversation.
    pub queue: String,
    /// The agent who handled it, to be offered the reply first.
    #[serde(default)]
    pub agent: Option<String>,
    /// Set by the agent at resolve (rather than by the queue).
    #[serde(default)]
    pub by_agent: bool,
    /// When it was sent.
    #[serde(default)]
    pub sent_at_ms: Option<Millis>,
    /// The customer replied to it.
    #[serde(default)]
    pub replied: bool,
}

/// The follow-up item's id for a conversation.
pub fn followup_id(conversation: &ConversationId) -> String {
    format!("followup:{conversation}")
}

fn count(result: &str) {
    omni_telemetry::count!(
        "omni_followups_total",
        "proactive follow-ups, by result (scheduled, sent, cancelled, opted_out, reopened, replied)",
        &[("result", result)],
    );
}

impl ContextService {
    /// Schedules the conversation's follow-up: on `at_ms` when the agent
    /// set one, else `after_days` after resolve when its queue has them.
    pub(super) async fn schedule_followup(
        &self,
        conversation: &Conversation,
        customer: &Customer,
        at_ms: Option<Millis>,
    ) -> Result<(), ContextError> {
        let resolved = conversation.resolved_at_ms.unwrap_or_else(now_ms);
        let by_queue = self
            .queue_config(&conversation.queue)
            .and_then(|q| q.followup.as_ref())
            .filter(|f| f.after_days > 0)
            .map(|f| resolved.saturating_add(Millis::from(f.after_days) * 86_400_000));
        let Some(due) = at_ms.or(by_queue) else {
            return Ok(());
        };
        if Self::opted_out(customer) {
            count("opted_out");
            return Ok(());
        }
        let state = FollowupState {
            queue: conversation.queue.to_string(),
            agent: conversation.last_agent.as_ref().map(AgentId::to_string),
            by_agent: at_ms.is_some(),
            sent_at_ms: None,
            replied: false,
        };
        let payload = serde_json::to_string(&state)
            .map_err(|e| ContextError::Internal(format!("cannot encode a follow-up: {e}")))?;
        let due = self.sending_time(customer, &conversation.queue, due);
        self.put_item(ScheduledItem::new(
            followup_id(&conversation.id),
            ScheduleKind::Followup,
            conversation.id.clone(),
            due,
            payload,
        ))
        .await?;
        count("scheduled");
        self.emit_followup(&conversation.id).await;
        Ok(())
    }

    /// Publishes the conversation's follow-up as it now is (best effort,
    /// like every conversation event).
    pub(crate) async fn emit_followup(&self, conversation: &ConversationId) {
        let view = match self.followup_view(conversation).await {
            Ok(Some(view)) => view,
            Ok(None) => return,
            Err(e) => {
                warn!(conversation_id = %conversation, error = %e, "follow-up change not published");
                return;
            }
        };
        let event = ev::ConversationEvent {
            conversation_id: conversation.to_string(),
            kind: Some(ev::conversation_event::Kind::Followup(
                ev::FollowupChanged {
                    due_at_ms: view.due_at_ms,
                    state: view.state,
                    outcome: view.outcome,
                    agent: view.agent,
                    by_agent: view.by_agent,
                    sent_at_ms: view.sent_at_ms,
                    replied: view.replied,
                },
            )),
        };
        self.emit(conversation, event).await;
    }

    /// The conversation's follow-up as the desk shows it: when, by whom,
    /// and whether it was sent; `None` when none was scheduled.
    pub async fn followup_view(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<omni_proto::context::FollowupView>, ContextError> {
        let items = self.store.scheduled_for(conversation).await?;
        // The latest: a conversation resolved again schedules a new one.
        let Some(item) = items
            .into_iter()
            .filter(|i| i.kind == ScheduleKind::Followup)
            .max_by_key(|i| i.due_at_ms)
        else {
            return Ok(None);
        };
        let state: FollowupState = decode(&item.payload)?;
        Ok(Some(omni_proto::context::FollowupView {
            due_at_ms: item.due_at_ms,
            state: match item.state {
                ScheduleState::Pending => "pending",
                ScheduleState::Done => "done",
                ScheduleState::Cancelled => "cancelled",
            }
            .to_owned(),
            outcome: item.outcome,
            agent: state.agent.unwrap_or_default(),
            by_agent: state.by_agent,
            sent_at_ms: state.sent_at_ms.unwrap_or_default(),
            replied: state.replied,
        }))
    }

    /// Sends a due follow-up; returns the item's outcome.
    pub(super) async fn send_followup(
        &self,
        item: &ScheduledItem,
        conversation: &Conversation,
        customer: &Customer,
        now: Millis,
        trace: TraceContext,
    ) -> Result<&'static str, ContextError> {
        let mut state: FollowupState = decode(&item.payload)?;
        if conversation.status != ConversationStatus::Resolved {
            count("reopened");
            return Ok("reopened");
        }
        let to = match Self::opted_out(customer) {
            true => None,
            false => self.auto_answer_to(conversation, customer, trace),
        };
        let Some(to) = to else {
            count("opted_out");
            return Ok("opted_out");
        };
        let template = self
            .queue_config(&conversation.queue)
            .and_then(|q| q.followup.as_ref())
            .map_or(DEFAULT_FOLLOWUP, |f| {
                localized(&f.template, customer.language.as_deref(), DEFAULT_FOLLOWUP)
            });
        // Marked sent before it goes out: a quick reply is a reply to it,
        // not a message that cancels it. A retried send sends the same one.
        if state.sent_at_ms.is_none() {
            state.sent_at_ms = Some(now);
            let next = serde_json::to_string(&state)
                .map_err(|e| ContextError::Internal(format!("cannot encode a follow-up: {e}")))?;
            if !self
                .store
                .swap_scheduled_payload(&item.id, &item.payload, &next)
                .await?
            {
                return Err(ContextError::Unavailable(
                    "follow-up changed while being sent; try again".into(),
                ));
            }
        }
        self.send_automatic(
            conversation,
            &to,
            template.to_owned(),
            Vec::new(),
            item.id.clone(),
            trace,
        )
        .await?;
        count("sent");
        Ok("sent")
    }

    /// Before a customer message of `last`'s customer is stored: a pending
    /// follow-up is cancelled; a sent one not yet replied to makes this
    /// message reopen `last` whatever the reopen window.
    pub(super) async fn followup_before_ingest(
        &self,
        message: &InboundMessage,
        last: &Conversation,
        items: &[ScheduledItem],
        options: &mut IngestOptions,
    ) -> Result<(), ContextError> {
        for item in items.iter().filter(|i| i.kind == ScheduleKind::Followup) {
            let sending = decode::<FollowupState>(&item.payload)
                .ok()
                .is_some_and(|s| s.sent_at_ms.is_some());
            match item.state {
                ScheduleState::Pending if !sending => {
                    let n = self
                        .store
                        .cancel_scheduled(&last.id, ScheduleKind::Followup, "customer_wrote")
                        .await?;
                    if n > 0 {
                        count("cancelled");
                        info!(conversation_id = %last.id, "customer wrote first; follow-up cancelled");
                        self.emit_followup(&last.id).await;
                    }
                }
                ScheduleState::Pending | ScheduleState::Done
                    if sending
                        && (item.state == ScheduleState::Pending || item.outcome == "sent") =>
                {
                    let mut state: FollowupState = decode(&item.payload)?;
                    let recent = state.sent_at_ms.is_some_and(|at| {
                        message.received_at_ms.saturating_sub(at) <= FOLLOWUP_REPLY_MS
                    });
                    if !recent {
                        continue;
                    }
                    let resolved = last.resolved_at_ms.unwrap_or(last.updated_at_ms);
                    let since = message.received_at_ms.saturating_sub(resolved);
                    options.policy.reopen_window_ms =
                        options.policy.reopen_window_ms.max(since.saturating_add(1));
                    if !state.replied {
                        state.replied = true;
                        let next = serde_json::to_string(&state).map_err(|e| {
                            ContextError::Internal(format!("cannot encode a follow-up: {e}"))
                        })?;
                        if self
                            .store
                            .swap_scheduled_payload(&item.id, &item.payload, &next)
                            .await?
                        {
                            count("replied");
                            self.emit_followup(&last.id).await;
                        }
                    }
                    info!(conversation_id = %last.id, "reply to a follow-up; reopening its conversation");
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The agent a reply to the conversation's follow-up is offered to
    /// first, if the customer replied to one.
    pub(super) async fn followup_agent(&self, conversation: &Conversation) -> Option<AgentId> {
        let items = self.store.scheduled_for(&conversation.id).await.ok()?;
        items
            .iter()
            .filter(|i| i.kind == ScheduleKind::Followup && i.state != ScheduleState::Cancelled)
            .filter_map(|i| decode::<FollowupState>(&i.payload).ok())
            .find(|s| s.replied)
            .and_then(|s| s.agent)
            .map(AgentId::from)
    }
}
