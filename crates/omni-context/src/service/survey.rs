//! Surveys after service (docs/surveys.md): scheduled when a conversation
//! of a queue with `[queues.survey]` is resolved (one per conversation,
//! one per customer per `min_days_between`, never to an opted-out customer
//! or number, within sending hours), sent on the conversation's channel
//! (chat: the scores as quick-reply buttons; SMS and email: a text asking
//! for a digit, and on email one-click links when they are on, see
//! `service/survey_link`), and answered by the customer's next message: a valid score
//! is kept (attributed to the agent and queue that handled the
//! conversation) and thanked; anything else gets one polite retry, then is
//! kept as a comment; a new question (a `?`, or more than
//! [`MAX_ANSWER_WORDS`] words) is not an answer and goes on as a message,
//! reopening the conversation as usual. With `comment = true` a message
//! after the score is kept as its comment.
//!
//! The survey's state is the scheduled item's payload ([`SurveyState`]),
//! changed by compare-and-set, so a redelivered answer counts once. A
//! sent survey is marked in the store's sent index at the time it was
//! asked (`mark_sent`), once, for the response rate of a period.

use omni_core::config::{SurveyConfig, SurveyKind, localized};
use omni_store::{ScheduleKind, ScheduleState, ScheduledItem};
use serde::{Deserialize, Serialize};

use super::aftercare::not_stored;
use super::*;

/// A survey takes answers this long after it was sent.
pub const SURVEY_OPEN_MS: Millis = 7 * 24 * 3600 * 1000;
/// A message of more words than this is a new question, not an answer.
pub const MAX_ANSWER_WORDS: usize = 3;
/// The thanks when the queue sets none.
pub const DEFAULT_THANKS: &str = "Thank you for your feedback!";
/// Conversations of the customer looked at for the one-per-period rule.
const PERIOD_LOOKBACK: usize = 20;
/// Attempts at recording an answer against concurrent changes.
const ATTEMPTS: usize = 8;

/// Where a survey is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyPhase {
    /// Waiting for its time.
    #[default]
    Scheduled,
    /// Sent; waiting for a score.
    Asked,
    /// One answer was not a score; asked again.
    Retried,
    /// Scored; a comment is welcome.
    AwaitingComment,
    /// Over: scored (and commented), or not answered.
    Closed,
}

/// A survey, as its scheduled item's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyState {
    /// The scale.
    pub kind: SurveyKind,
    /// The queue that handled the conversation.
    pub queue: String,
    /// The agent who handled it, if any.
    #[serde(default)]
    pub agent: Option<String>,
    /// Where it is.
    #[serde(default)]
    pub phase: SurveyPhase,
    /// When it was sent.
    #[serde(default)]
    pub asked_at_ms: Option<Millis>,
    /// The score.
    #[serde(default)]
    pub score: Option<u8>,
    /// The comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// When it was scored.
    #[serde(default)]
    pub answered_at_ms: Option<Millis>,
    /// The customer messages taken as answers (idempotency keys), so a
    /// redelivered one changes nothing.
    #[serde(default)]
    pub handled: Vec<String>,
}

/// The survey item's id for a conversation.
pub fn survey_id(conversation: &ConversationId) -> String {
    format!("survey:{conversation}")
}

/// A score in `text` on `kind`'s scale: the whole message, a number in
/// range (trailing `.` or `!` allowed).
pub fn parse_score(kind: SurveyKind, text: &str) -> Option<u8> {
    let digits = text.trim().trim_end_matches(['.', '!']).trim();
    let score: u8 = digits.parse().ok()?;
    let (low, high) = kind.range();
    (low..=high).contains(&score).then_some(score)
}

/// Whether `text` is clearly a new question rather than an answer.
pub fn is_new_question(text: &str) -> bool {
    text.contains('?') || text.split_whitespace().count() > MAX_ANSWER_WORDS
}

/// The scores offered as options.
fn options(kind: SurveyKind) -> Vec<String> {
    let (low, high) = kind.range();
    (low..=high).map(|n| n.to_string()).collect()
}

impl ContextService {
    pub(super) fn survey_config(&self, queue: &QueueId) -> Option<&SurveyConfig> {
        self.queue_config(queue).and_then(|q| q.survey.as_ref())
    }

    /// Schedules the conversation's survey, if its queue has one and the
    /// customer may get it.
    pub(super) async fn schedule_survey(
        &self,
        conversation: &Conversation,
        customer: &Customer,
    ) -> Result<(), ContextError> {
        let Some(survey) = self.survey_config(&conversation.queue) else {
            return Ok(());
        };
        let agent = conversation.last_agent.as_ref().map_or("", AgentId::as_str);
        if Self::opted_out(customer) {
            count_sent(conversation.queue.as_str(), agent, survey.kind, "opted_out");
            return Ok(());
        }
        let now = conversation.resolved_at_ms.unwrap_or_else(now_ms);
        let period = Millis::from(survey.min_days_between).saturating_mul(86_400_000);
        if self
            .surveyed_since(customer, &conversation.id, now.saturating_sub(period))
            .await?
        {
            count_sent(
                conversation.queue.as_str(),
                agent,
                survey.kind,
                "recently_surveyed",
            );
            info!(conversation_id = %conversation.id, "customer surveyed recently; no survey");
            return Ok(());
        }
        let state = SurveyState {
            kind: survey.kind,
            queue: conversation.queue.to_string(),
            agent: conversation.last_agent.as_ref().map(AgentId::to_string),
            phase: SurveyPhase::Scheduled,
            asked_at_ms: None,
            score: None,
            comment: None,
            answered_at_ms: None,
            handled: Vec::new(),
        };
        let due = self.sending_time(customer, &conversation.queue, now);
        self.put_item(ScheduledItem::new(
            survey_id(&conversation.id),
            ScheduleKind::Survey,
            conversation.id.clone(),
            due,
            encode(&state)?,
        ))
        .await?;
        self.emit_survey(&conversation.id).await;
        Ok(())
    }

    /// Whether another conversation of the customer has a survey pending,
    /// or sent at or after `since_ms`.
    async fn surveyed_since(
        &self,
        customer: &Customer,
        this: &ConversationId,
        since_ms: Millis,
    ) -> Result<bool, ContextError> {
        let recent = self
            .store
            .customer_conversations(&customer.id, 0, PERIOD_LOOKBACK)
            .await?;
        for c in recent.iter().filter(|c| &c.id != this) {
            for item in self.store.scheduled_for(&c.id).await? {
                if item.kind != ScheduleKind::Survey {
                    continue;
                }
                let asked = decode::<SurveyState>(&item.payload)
                    .ok()
                    .and_then(|s| s.asked_at_ms);
                if item.state == ScheduleState::Pending || asked.is_some_and(|at| at >= since_ms) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Sends a due survey; returns the item's outcome.
    pub(super) async fn send_survey(
        &self,
        item: &ScheduledItem,
        conversation: &Conversation,
        customer: &Customer,
        now: Millis,
        trace: TraceContext,
    ) -> Result<&'static str, ContextError> {
        let mut state: SurveyState = decode(&item.payload)?;
        let config = self.survey_config(&conversation.queue).cloned();
        let (queue, agent) = (state.queue.clone(), state.agent.clone().unwrap_or_default());
        let count = |result: &str| count_sent(&queue, &agent, state.kind, result);
        if conversation.status != ConversationStatus::Resolved {
            count("reopened");
            return Ok("reopened");
        }
        if Self::opted_out(customer) {
            count("opted_out");
            return Ok("opted_out");
        }
        let Some(to) = self.auto_answer_to(conversation, customer, trace) else {
            count("opted_out");
            return Ok("opted_out");
        };
        let language = customer.language.as_deref();
        let prompt = config.as_ref().map_or(state.kind.default_prompt(), |c| {
            localized(&c.prompt, language, state.kind.default_prompt())
        });
        let options = if conversation.last_channel == Channel::CHAT {
            options(state.kind)
        } else {
            Vec::new()
        };
        // Open before it goes out: the customer may answer at once. A
        // retried send finds it open already and sends the same message.
        if state.phase == SurveyPhase::Scheduled {
            state.phase = SurveyPhase::Asked;
            state.asked_at_ms = Some(now);
            let next = encode(&state)?;
            if !self
                .store
                .swap_scheduled_payload(&item.id, &item.payload, &next)
                .await?
            {
                return Err(ContextError::Unavailable(
                    "survey changed while being sent; try again".into(),
                ));
            }
        }
        let asked_at = state.asked_at_ms.unwrap_or(now);
        let links = (conversation.last_channel == Channel::EMAIL)
            .then(|| self.survey_links_text(&conversation.id, state.kind, asked_at))
            .flatten();
        if let Some(links) = links {
            self.send_with_links(conversation, &to, prompt.to_owned(), links, &item.id, trace)
                .await?;
        } else {
            self.send_automatic(
                conversation,
                &to,
                prompt.to_owned(),
                options,
                item.id.clone(),
                trace,
            )
            .await?;
        }
        // Indexed by the time it was asked (a retried send keeps the
        // first), for the response rate of a period.
        if self.store.mark_sent(&item.id, asked_at).await? {
            count("sent");
        }
        Ok("sent")
    }

    /// Takes `message` as the answer to the open survey among `items` of
    /// the customer's last conversation `last`, if there is one and the
    /// message is not a new question. `None`: store the message as usual.
    pub(super) async fn survey_answer(
        &self,
        message: &InboundMessage,
        last: &Conversation,
        items: &[ScheduledItem],
        trace: TraceContext,
    ) -> Result<Option<Ingested>, ContextError> {
        // Pending too: a survey being sent is open from just before it goes out.
        let Some(mut item) = items
            .iter()
            .find(|i| i.kind == ScheduleKind::Survey && i.state != ScheduleState::Cancelled)
            .cloned()
        else {
            return Ok(None);
        };
        for _ in 0..ATTEMPTS {
            let mut state: SurveyState = decode(&item.payload)?;
            let open = matches!(
                state.phase,
                SurveyPhase::Asked | SurveyPhase::Retried | SurveyPhase::AwaitingComment
            ) && state
                .asked_at_ms
                .is_some_and(|at| message.received_at_ms.saturating_sub(at) <= SURVEY_OPEN_MS);
            let customer = self.customer(&last.customer_id).await?;
            if state.handled.contains(&message.idempotency_key) {
                // A redelivery after a crash between keeping the answer and
                // indexing it completes the index.
                if let Some(at) = state.answered_at_ms {
                    self.store.mark_answered(&item.id, at).await?;
                }
                return Ok(Some(not_stored(customer, last.clone(), message)));
            }
            if !open {
                return Ok(None);
            }
            let text = message.text.trim();
            let reply = match state.phase {
                _ if is_new_question(text) => {
                    state.phase = SurveyPhase::Closed;
                    None
                }
                SurveyPhase::AwaitingComment => {
                    state.comment = Some(text.to_owned());
                    state.phase = SurveyPhase::Closed;
                    None
                }
                _ => match parse_score(state.kind, text) {
                    Some(score) => {
                        state.score = Some(score);
                        state.answered_at_ms = Some(message.received_at_ms);
                        let comment = self.survey_config(&last.queue).is_some_and(|c| c.comment);
                        state.phase = if comment {
                            SurveyPhase::AwaitingComment
                        } else {
                            SurveyPhase::Closed
                        };
                        Some(Reply::Thanks)
                    }
                    None if state.phase == SurveyPhase::Asked => {
                        state.phase = SurveyPhase::Retried;
                        Some(Reply::Retry)
                    }
                    None => {
                        state.comment = Some(text.to_owned());
                        state.phase = SurveyPhase::Closed;
                        None
                    }
                },
            };
            let new_question = is_new_question(text);
            if !new_question {
                state.handled.push(message.idempotency_key.clone());
            }
            let next = encode(&state)?;
            if !self
                .store
                .swap_scheduled_payload(&item.id, &item.payload, &next)
                .await?
            {
                // Changed meanwhile (a concurrent answer): read it again.
                let fresh = self.store.scheduled_for(&last.id).await?;
                match fresh.into_iter().find(|i| i.id == item.id) {
                    Some(fresh) => item = fresh,
                    None => return Ok(None),
                }
                continue;
            }
            if new_question {
                info!(conversation_id = %last.id, "a new question while a survey was open; survey closed");
                self.emit_survey(&last.id).await;
                return Ok(None);
            }
            if let (Some(Reply::Thanks), Some(at)) = (reply, state.answered_at_ms) {
                self.store.mark_answered(&item.id, at).await?;
            }
            self.answered(last, &customer, &state, reply, message, trace)
                .await?;
            self.emit_survey(&last.id).await;
            return Ok(Some(not_stored(customer, last.clone(), message)));
        }
        Err(ContextError::Unavailable(
            "survey answer kept changing; try again".into(),
        ))
    }

    /// Counts and answers a recorded survey answer.
    pub(super) async fn answered(
        &self,
        conversation: &Conversation,
        customer: &Customer,
        state: &SurveyState,
        reply: Option<Reply>,
        message: &InboundMessage,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let agent = state.agent.as_deref().unwrap_or("");
        let labels = [
            ("queue", state.queue.as_str()),
            ("agent", agent),
            ("kind", state.kind.as_str()),
        ];
        if matches!(reply, Some(Reply::Thanks))
            && let Some(score) = state.score
        {
            omni_telemetry::count!(
                "omni_survey_responses_total",
                "survey scores received, by queue, agent and kind",
                &labels,
            );
            score_histogram().observe(&labels, f64::from(score));
            info!(conversation_id = %conversation.id, queue = %state.queue, agent_id = agent, kind = state.kind.as_str(), score, "survey answered");
        } else if state.comment.is_some() {
            info!(conversation_id = %conversation.id, "survey comment kept");
        }
        let Some(reply) = reply else {
            return Ok(());
        };
        let Some(to) = self.auto_answer_to(conversation, customer, trace) else {
            return Ok(());
        };
        let language = customer.language.as_deref();
        let config = self.survey_config(&conversation.queue);
        let text = match reply {
            Reply::Thanks => config
                .map_or(DEFAULT_THANKS, |c| {
                    localized(&c.thanks, language, DEFAULT_THANKS)
                })
                .to_owned(),
            Reply::Retry => {
                let (low, high) = state.kind.range();
                format!(
                    "Sorry, we did not get that. Please reply with a number from {low} to {high}."
                )
            }
        };
        let options = match (reply, conversation.last_channel == Channel::CHAT) {
            (Reply::Retry, true) => options(state.kind),
            _ => Vec::new(),
        };
        let key = format!("survey-reply:{}", message.idempotency_key);
        self.send_automatic(conversation, &to, text, options, key, trace)
            .await?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reply {
    Thanks,
    Retry,
}

fn score_histogram() -> &'static omni_telemetry::metrics::Histograms {
    static FAMILY: std::sync::OnceLock<omni_telemetry::metrics::Histograms> =
        std::sync::OnceLock::new();
    FAMILY.get_or_init(|| {
        omni_telemetry::metrics::histogram(
            "omni_survey_score",
            "survey scores, by queue, agent and kind (sum / count is the average)",
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        )
    })
}

/// Counts a survey's scheduling or sending outcome under the queue and
/// agent its answers count under, so `omni_survey_responses_total` over
/// `omni_surveys_sent_total{result="sent"}` is the response rate.
fn count_sent(queue: &str, agent: &str, kind: SurveyKind, result: &str) {
    omni_telemetry::count!(
        "omni_surveys_sent_total",
        "surveys after service, by queue, agent, kind and result (sent, opted_out, recently_surveyed, reopened)",
        &[
            ("queue", queue),
            ("agent", agent),
            ("kind", kind.as_str()),
            ("result", result),
        ],
    );
}

fn encode<T: Serialize>(value: &T) -> Result<String, ContextError> {
    serde_json::to_string(value)
        .map_err(|e| ContextError::Internal(format!("cannot encode a scheduled item: {e}")))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(payload: &str) -> Result<T, ContextError> {
    serde_json::from_str(payload)
        .map_err(|e| ContextError::Internal(format!("scheduled item does not decode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_whole_numbers_in_range() {
        assert_eq!(parse_score(SurveyKind::Csat, " 5 "), Some(5));
        assert_eq!(parse_score(SurveyKind::Csat, "4!"), Some(4));
        assert_eq!(parse_score(SurveyKind::Csat, "6"), None);
        assert_eq!(parse_score(SurveyKind::Csat, "0"), None);
        assert_eq!(parse_score(SurveyKind::Nps, "0"), Some(0));
        assert_eq!(parse_score(SurveyKind::Nps, "10"), Some(10));
        assert_eq!(parse_score(SurveyKind::Ces, "7"), Some(7));
        assert_eq!(parse_score(SurveyKind::Csat, "great thanks"), None);
        assert_eq!(parse_score(SurveyKind::Csat, "5 stars"), None);
    }

    #[test]
    fn new_questions_are_not_answers() {
        assert!(is_new_question("can I change my order?"));
        assert!(is_new_question("my parcel never arrived at all"));
        assert!(!is_new_question("great thanks"));
        assert!(!is_new_question("5"));
    }
}
