//! Answering a survey by a one-click link from its email (docs/surveys.md,
//! "Email links"): the links the survey email lists, and
//! [`ContextService::answer_survey_link`], which the chat service calls
//! (`AnswerSurveyLink`, service tokens only) to check a link and, from the
//! page's form, to record its score.
//!
//! The score goes the way of a digit answer: kept in the survey's record by
//! compare-and-set (the first answer counts), indexed for the answers by
//! period, counted for the queue and agent that handled the conversation,
//! and thanked on the conversation's channel. A link used after the score
//! changes nothing, except that a comment is kept when the queue keeps
//! comments and none was given yet, as the message after a digit is.

use omni_core::config::SurveyKind;
use omni_proto::auth::Caller;
use omni_proto::context::AnswerSurveyLinkResponse;
use omni_proto::context::answer_survey_link_response::Outcome;
use omni_store::{ScheduleKind, ScheduleState, ScheduledItem};
use secrecy::ExposeSecret as _;

use super::survey::{Reply, SURVEY_OPEN_MS, SurveyPhase, SurveyState, decode, survey_id};
use super::*;
use crate::survey_links::{LinkError, LinkKey};

/// Attempts at recording an answer against concurrent changes.
const ATTEMPTS: usize = 8;
/// The longest comment kept from the page, in characters.
pub const MAX_LINK_COMMENT_CHARS: usize = 2000;

/// What became of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    /// The link is good and the survey open (only checked).
    Open,
    /// The score was recorded.
    Recorded,
    /// The survey was scored already; the comment was kept.
    CommentKept,
    /// The survey was answered already; nothing changed.
    AlreadyAnswered,
}

/// The answer to a link: what became of it and what the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkAnswer {
    /// What became of it.
    pub outcome: LinkOutcome,
    /// The survey's scale.
    pub kind: SurveyKind,
    /// The score that counts (the first one), if any.
    pub score: Option<u8>,
    /// Whether the queue keeps a comment with the score.
    pub comment_welcome: bool,
    /// The customer's language, if known.
    pub language: Option<String>,
}

impl ContextService {
    /// The key of survey links, when they are on.
    fn link_key(&self) -> Option<LinkKey> {
        let surveys = &self.settings.config.surveys;
        surveys
            .links_on()
            .then(|| LinkKey::new(surveys.link_key.expose_secret().as_bytes()))
    }

    /// Says at start whether email surveys carry links, when a queue has
    /// a survey.
    pub fn log_survey_links(&self) {
        let config = &self.settings.config;
        if !config.queues.iter().any(|q| q.survey.is_some()) {
            return;
        }
        match config.surveys.links_off_reason() {
            None => info!(
                base = config.surveys.base_url(),
                "survey links on: email surveys carry one-click links"
            ),
            Some(reason) => info!(
                reason,
                "survey links off: email surveys ask for a digit only"
            ),
        }
    }

    /// The lines an email survey adds to its prompt: one link per score,
    /// good until the survey closes. `None` when links are off.
    pub(super) fn survey_links_text(
        &self,
        conversation: &ConversationId,
        kind: SurveyKind,
        asked_at_ms: Millis,
    ) -> Option<String> {
        let key = self.link_key()?;
        let token = key.sign(conversation, asked_at_ms.saturating_add(SURVEY_OPEN_MS));
        let base = self.settings.config.surveys.base_url();
        let (low, high) = kind.range();
        let mut text = String::from("\n\nOr answer with one click:\n");
        for score in low..=high {
            text.push_str(&format!("{score}: {base}/survey/{token}/{score}\n"));
        }
        Some(text)
    }

    /// Sends an email survey: `prompt` is stored as the conversation's
    /// message, and the mail says it with `links` after it. The links stay
    /// out of the store, so no agent reading the conversation holds the
    /// customer's answer links. Repeating it stores and publishes once.
    pub(super) async fn send_with_links(
        &self,
        conversation: &Conversation,
        to: &Identity,
        prompt: String,
        links: String,
        key: &str,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let id = MessageId::generate();
        let history = self.history(&conversation.id).await?;
        let domain = self.settings.reply_domain();
        let email = outbound_email(
            id.as_str(),
            &history,
            reply_address(&conversation.id, domain),
            domain,
        );
        let stored = self
            .store
            .append_outbound(NewOutbound {
                conversation_id: conversation.id.clone(),
                agent_id: None,
                text: prompt,
                channel: conversation.last_channel,
                idempotency_key: key.to_owned(),
                at_ms: now_ms(),
                id,
                email: Some(email),
                notice: None,
                options: Vec::new(),
            })
            .await?;
        let mut mailed = stored.clone();
        mailed.text.push_str(&links);
        self.publish_outbound(conversation, &mailed, to, &[], trace)
            .await?;
        omni_telemetry::count!(
            "omni_outbound_messages_total",
            "messages for customers stored and queued for delivery",
            &[("channel", conversation.last_channel.as_str())],
        );
        self.emit_message(&stored).await;
        Ok(())
    }

    /// Checks the link `token` for `score` and, with `record`, records the
    /// score (and `comment`) as the survey's answer. Omniroute's own parts
    /// only: a person is refused whatever their role.
    pub async fn answer_survey_link(
        &self,
        caller: &Caller,
        token: &str,
        score: u32,
        comment: &str,
        record: bool,
        trace: TraceContext,
    ) -> Result<LinkAnswer, ContextError> {
        if let Some(actor) = caller.actor() {
            return Err(ContextError::PermissionDenied(format!(
                "{} may not answer a survey link: only Omniroute's own parts may",
                actor.user
            )));
        }
        let key = self
            .link_key()
            .ok_or_else(|| ContextError::FailedPrecondition("survey links are off".into()))?;
        let now = now_ms();
        let claims = key.verify(token, now).map_err(|e| {
            warn!(error = %e, "survey link refused");
            match e {
                LinkError::Invalid => ContextError::InvalidArgument(e.to_string()),
                LinkError::Expired => ContextError::FailedPrecondition(e.to_string()),
            }
        })?;
        let conversation = self.conversation(&claims.conversation).await?;
        let id = survey_id(&conversation.id);
        let find = |items: Vec<ScheduledItem>| {
            items
                .into_iter()
                .find(|i| i.id == id && i.kind == ScheduleKind::Survey)
        };
        let mut item = find(self.store.scheduled_for(&conversation.id).await?)
            .filter(|i| i.state != ScheduleState::Cancelled)
            .ok_or_else(|| ContextError::FailedPrecondition("the survey is closed".into()))?;
        let customer = self.customer(&conversation.customer_id).await?;
        let comment_welcome = self
            .survey_config(&conversation.queue)
            .is_some_and(|c| c.comment);
        let comment: String = comment
            .trim()
            .chars()
            .take(MAX_LINK_COMMENT_CHARS)
            .collect();
        for _ in 0..ATTEMPTS {
            let mut state: SurveyState = decode(&item.payload)?;
            let (low, high) = state.kind.range();
            let score = u8::try_from(score)
                .ok()
                .filter(|s| (low..=high).contains(s))
                .ok_or_else(|| {
                    warn!(conversation_id = %conversation.id, score, "survey link score out of range");
                    ContextError::InvalidArgument(format!(
                        "the score must be from {low} to {high}"
                    ))
                })?;
            let open = state
                .asked_at_ms
                .is_some_and(|at| now.saturating_sub(at) < SURVEY_OPEN_MS)
                && conversation.status == ConversationStatus::Resolved;
            let mut answer = LinkAnswer {
                outcome: LinkOutcome::Open,
                kind: state.kind,
                score: state.score,
                comment_welcome,
                language: customer.language.clone(),
            };
            let outcome = match state.phase {
                _ if !open && state.score.is_none() => {
                    return Err(ContextError::FailedPrecondition(
                        "the survey is closed".into(),
                    ));
                }
                SurveyPhase::Scheduled => {
                    return Err(ContextError::FailedPrecondition(
                        "the survey was not sent".into(),
                    ));
                }
                // Scored; a comment is still welcome (the page offers the box).
                SurveyPhase::AwaitingComment if open && (!record || !comment.is_empty()) => {
                    LinkOutcome::CommentKept
                }
                SurveyPhase::AwaitingComment | SurveyPhase::Closed => LinkOutcome::AlreadyAnswered,
                SurveyPhase::Asked | SurveyPhase::Retried => LinkOutcome::Recorded,
            };
            if outcome == LinkOutcome::AlreadyAnswered {
                answer.outcome = outcome;
                return Ok(answer);
            }
            if !record {
                return Ok(answer);
            }
            match outcome {
                LinkOutcome::Recorded => {
                    state.score = Some(score);
                    state.answered_at_ms = Some(now);
                    state.phase = match (comment_welcome, comment.is_empty()) {
                        (true, true) => SurveyPhase::AwaitingComment,
                        (true, false) => {
                            state.comment = Some(comment.clone());
                            SurveyPhase::Closed
                        }
                        (false, _) => SurveyPhase::Closed,
                    };
                }
                _ => {
                    state.comment = Some(comment.clone());
                    state.phase = SurveyPhase::Closed;
                }
            }
            let next = serde_json::to_string(&state).map_err(|e| {
                ContextError::Internal(format!("cannot encode a scheduled item: {e}"))
            })?;
            if !self
                .store
                .swap_scheduled_payload(&item.id, &item.payload, &next)
                .await?
            {
                // Changed meanwhile (a concurrent answer): read it again.
                item =
                    find(self.store.scheduled_for(&conversation.id).await?).ok_or_else(|| {
                        ContextError::FailedPrecondition("the survey is closed".into())
                    })?;
                continue;
            }
            answer.outcome = outcome;
            answer.score = state.score;
            let reply = if outcome == LinkOutcome::Recorded {
                if let Some(at) = state.answered_at_ms {
                    self.store.mark_answered(&item.id, at).await?;
                }
                Some(Reply::Thanks)
            } else {
                None
            };
            let message = link_message(&conversation, &customer, now, &comment);
            self.answered(&conversation, &customer, &state, reply, &message, trace)
                .await?;
            self.emit_survey(&conversation.id).await;
            info!(conversation_id = %conversation.id, outcome = ?outcome, "survey answered by link");
            return Ok(answer);
        }
        Err(ContextError::Unavailable(
            "survey answer kept changing; try again".into(),
        ))
    }
}

/// The answer as a message, for the digit path's bookkeeping: its key
/// makes the thanks one message however often the form is sent.
fn link_message(
    conversation: &Conversation,
    customer: &Customer,
    at_ms: Millis,
    comment: &str,
) -> InboundMessage {
    InboundMessage {
        idempotency_key: format!("survey-link:{}", conversation.id),
        channel: conversation.last_channel,
        from: customer
            .identities
            .first()
            .cloned()
            .unwrap_or_else(|| Identity::ChatVisitor(String::new())),
        text: comment.to_owned(),
        received_at_ms: at_ms,
        topic: None,
        display_name: None,
        email: None,
        sms: None,
    }
}

impl From<LinkAnswer> for AnswerSurveyLinkResponse {
    fn from(a: LinkAnswer) -> Self {
        let (low, high) = a.kind.range();
        let outcome = match a.outcome {
            LinkOutcome::Open => Outcome::Open,
            LinkOutcome::Recorded => Outcome::Recorded,
            LinkOutcome::CommentKept => Outcome::CommentKept,
            LinkOutcome::AlreadyAnswered => Outcome::AlreadyAnswered,
        };
        Self {
            outcome: outcome.into(),
            kind: a.kind.as_str().to_owned(),
            low: u32::from(low),
            high: u32::from(high),
            score: a.score.map_or(0, u32::from),
            scored: a.score.is_some(),
            comment_welcome: a.comment_welcome,
            language: a.language.unwrap_or_default(),
        }
    }
}
