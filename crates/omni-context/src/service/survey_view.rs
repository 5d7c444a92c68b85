//! A conversation's survey as the desk shows it on the conversation
//! (docs/surveys.md, "On the conversation"): its scale, where it is
//! (scheduled, asked, answered, not answered, not sent), the score, the
//! comment and when it was asked and answered. Read with the conversation
//! (`GetConversation`, so whoever may read the conversation, and nobody
//! else) and published as a conversation event when it changes, for the
//! agent it is attributed to.

use omni_store::{ScheduleKind, ScheduleState, ScheduledItem};

use super::survey::{SURVEY_OPEN_MS, SurveyPhase, SurveyState, decode};
use super::*;

/// The phase the desk shows for a survey in `state`, its item settled as
/// `item_state`, at `now`.
pub fn shown_phase(state: &SurveyState, item_state: ScheduleState, now: Millis) -> &'static str {
    match state.phase {
        SurveyPhase::Scheduled if item_state == ScheduleState::Pending => "scheduled",
        // Settled without going out: opted out, surveyed recently, reopened.
        SurveyPhase::Scheduled => "not_sent",
        _ if state.score.is_some() => "answered",
        SurveyPhase::Asked | SurveyPhase::Retried
            if state
                .asked_at_ms
                .is_some_and(|at| now.saturating_sub(at) <= SURVEY_OPEN_MS) =>
        {
            "asked"
        }
        _ => "not_answered",
    }
}

/// `item` (a survey's scheduled item) as the desk shows it.
pub fn view_of(item: &ScheduledItem, now: Millis) -> Result<ev::SurveyView, ContextError> {
    let state: SurveyState = decode(&item.payload)?;
    let (low, high) = state.kind.range();
    Ok(ev::SurveyView {
        kind: state.kind.as_str().to_owned(),
        low: u32::from(low),
        high: u32::from(high),
        phase: shown_phase(&state, item.state, now).to_owned(),
        score: state.score.map(u32::from).unwrap_or_default(),
        scored: state.score.is_some(),
        comment: state.comment.clone().unwrap_or_default(),
        asked_at_ms: state.asked_at_ms.unwrap_or_default(),
        answered_at_ms: state.answered_at_ms.unwrap_or_default(),
        agent: state.agent.clone().unwrap_or_default(),
        queue: state.queue.clone(),
    })
}

impl ContextService {
    /// The conversation's survey as the desk shows it; `None` when none
    /// was scheduled.
    pub async fn survey_view(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<ev::SurveyView>, ContextError> {
        let items = self.store.scheduled_for(conversation).await?;
        // One per conversation (`survey:<conversation>`).
        let Some(item) = items.iter().find(|i| i.kind == ScheduleKind::Survey) else {
            return Ok(None);
        };
        view_of(item, now_ms()).map(Some)
    }

    /// Publishes the conversation's survey as it now is (best effort,
    /// like every conversation event).
    pub(crate) async fn emit_survey(&self, conversation: &ConversationId) {
        let view = match self.survey_view(conversation).await {
            Ok(Some(view)) => view,
            Ok(None) => return,
            Err(e) => {
                warn!(conversation_id = %conversation, error = %e, "survey change not published");
                return;
            }
        };
        let event = ev::ConversationEvent {
            conversation_id: conversation.to_string(),
            kind: Some(ev::conversation_event::Kind::Survey(view)),
        };
        self.emit(conversation, event).await;
    }
}

#[cfg(test)]
mod tests {
    use omni_core::config::SurveyKind;

    use super::*;

    fn state(phase: SurveyPhase, asked: Option<Millis>, score: Option<u8>) -> SurveyState {
        SurveyState {
            kind: SurveyKind::Csat,
            queue: "sales".into(),
            agent: Some("bob".into()),
            phase,
            asked_at_ms: asked,
            score,
            comment: None,
            answered_at_ms: score.map(|_| 2_000),
            handled: Vec::new(),
        }
    }

    #[test]
    fn phases_say_where_the_survey_is() {
        let pending = ScheduleState::Pending;
        let done = ScheduleState::Done;
        let cases = [
            (
                state(SurveyPhase::Scheduled, None, None),
                pending,
                "scheduled",
            ),
            (state(SurveyPhase::Scheduled, None, None), done, "not_sent"),
            (
                state(SurveyPhase::Scheduled, None, None),
                ScheduleState::Cancelled,
                "not_sent",
            ),
            (state(SurveyPhase::Asked, Some(1_000), None), done, "asked"),
            (
                state(SurveyPhase::Retried, Some(1_000), None),
                done,
                "asked",
            ),
            (
                state(SurveyPhase::AwaitingComment, Some(1_000), Some(4)),
                done,
                "answered",
            ),
            (
                state(SurveyPhase::Closed, Some(1_000), Some(4)),
                done,
                "answered",
            ),
            (
                state(SurveyPhase::Closed, Some(1_000), None),
                done,
                "not_answered",
            ),
        ];
        for (s, item_state, want) in cases {
            assert_eq!(
                shown_phase(&s, item_state, 5_000),
                want,
                "{s:?} {item_state:?}"
            );
        }
        // Asked more than the open period ago: no answer can come now.
        let late = state(SurveyPhase::Asked, Some(1_000), None);
        assert_eq!(
            shown_phase(&late, done, 1_000 + SURVEY_OPEN_MS + 1),
            "not_answered"
        );
    }
}
