//! Scored survey answers by period ([`ContextService::survey_answers`]),
//! read from the store's answers index a page at a time, each attributed
//! to the queue and agent that handled the conversation: the desk's CSV
//! export and the wall's survey numbers. Supervisors and admins only.

use omni_core::ConversationId;
use omni_core::time::Millis;
use omni_proto::auth::Caller;
use omni_store::ScheduleKind;

use crate::service::survey::{SurveyState, decode};
use crate::{ContextError, ContextService};

/// The most answers one call lists.
pub const MAX_LIST: usize = 1000;
/// What a call that names no limit lists.
pub const DEFAULT_LIST: usize = 100;

/// One scored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyAnswer {
    /// When it was scored.
    pub answered_at_ms: Millis,
    /// The conversation surveyed.
    pub conversation_id: ConversationId,
    /// The queue that handled it.
    pub queue: String,
    /// The agent who handled it (empty: none).
    pub agent: String,
    /// The conversation's last channel.
    pub channel: String,
    /// `csat`, `nps` or `ces`.
    pub kind: String,
    /// The score.
    pub score: u8,
    /// The comment (empty: none).
    pub comment: String,
}

/// A page of answers and the token of the next (`None`: the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswersPage {
    /// The answers, by answer time.
    pub answers: Vec<SurveyAnswer>,
    /// Where the next page starts.
    pub next_page_token: Option<String>,
}

/// `<answered at>:<item id>`, the last answer of a page.
fn token(at: Millis, id: &str) -> String {
    format!("{at}:{id}")
}

fn parse_token(token: &str) -> Result<(Millis, String), ContextError> {
    token
        .split_once(':')
        .and_then(|(at, id)| Some((at.parse().ok()?, id.to_owned())))
        .ok_or_else(|| ContextError::InvalidArgument("page_token is not valid".into()))
}

impl ContextService {
    /// Scored answers with `from_ms <= answered at < to_ms`, by answer
    /// time, `limit` a page (0: [`DEFAULT_LIST`]; at most [`MAX_LIST`]),
    /// starting after `page_token`. Supervisors and admins only.
    pub async fn survey_answers(
        &self,
        caller: &Caller,
        from_ms: Millis,
        to_ms: Millis,
        page_token: Option<&str>,
        limit: usize,
    ) -> Result<AnswersPage, ContextError> {
        if !caller.at_least(omni_core::access::Role::Supervisor) {
            return Err(ContextError::PermissionDenied(format!(
                "{} may not list survey answers: supervisors only",
                crate::audit::actor_name(caller)
            )));
        }
        let limit = match limit {
            0 => DEFAULT_LIST,
            n => n.min(MAX_LIST),
        };
        let after = page_token.map(parse_token).transpose()?;
        let items = self
            .store()
            .answered_between(from_ms, to_ms, after, limit)
            .await?;
        let full = items.len() >= limit;
        let next_page_token = items
            .last()
            .filter(|_| full)
            .map(|i| token(i.answered_at_ms.unwrap_or(from_ms), &i.id));
        let mut answers = Vec::with_capacity(items.len());
        for item in items.into_iter().filter(|i| i.kind == ScheduleKind::Survey) {
            let state: SurveyState = decode(&item.payload)?;
            let Some(score) = state.score else { continue };
            let channel = self
                .store()
                .conversation(&item.conversation_id)
                .await?
                .map(|c| c.last_channel.to_string())
                .unwrap_or_default();
            answers.push(SurveyAnswer {
                answered_at_ms: item.answered_at_ms.unwrap_or(from_ms),
                conversation_id: item.conversation_id,
                queue: state.queue,
                agent: state.agent.unwrap_or_default(),
                channel,
                kind: state.kind.as_str().to_owned(),
                score,
                comment: state.comment.unwrap_or_default(),
            });
        }
        Ok(AnswersPage {
            answers,
            next_page_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_token_round_trips_and_garbage_is_refused() {
        assert_eq!(
            parse_token(&token(42, "survey:c1")).ok(),
            Some((42, "survey:c1".to_owned()))
        );
        assert!(parse_token("nonsense").is_err());
        assert!(parse_token("x:survey:c1").is_err());
    }
}
