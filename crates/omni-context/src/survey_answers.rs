//! Scored survey answers by period ([`ContextService::survey_answers`]),
//! read from the store's answers index a page at a time, each attributed
//! to the queue and agent that handled the conversation: the desk's CSV
//! export and the wall's survey numbers. The first page also carries the
//! period's sends ([`SurveySends`]): surveys sent per queue, agent and kind
//! (from the store's sent index) and how many of them were answered, the
//! response rate. Supervisors and admins only.

use std::collections::BTreeMap;

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

/// The surveys sent in a period for one queue, agent and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveySends {
    /// The queue that handled the conversations.
    pub queue: String,
    /// The agent who handled them (empty: none).
    pub agent: String,
    /// `csat`, `nps` or `ces`.
    pub kind: String,
    /// Surveys sent (asked) in the period.
    pub sent: u64,
    /// How many of those got a score (at any time so far).
    pub responded: u64,
}

/// A page of answers and the token of the next (`None`: the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswersPage {
    /// The answers, by answer time.
    pub answers: Vec<SurveyAnswer>,
    /// Where the next page starts.
    pub next_page_token: Option<String>,
    /// The period's sends, by queue, agent and kind: on the first page
    /// (no `page_token`) only.
    pub sends: Vec<SurveySends>,
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
        let sends = match page_token {
            None => self.survey_sends(from_ms, to_ms).await?,
            Some(_) => Vec::new(),
        };
        Ok(AnswersPage {
            answers,
            next_page_token,
            sends,
        })
    }

    /// The surveys sent with `from_ms <= sent at < to_ms`, counted per
    /// queue, agent and kind with how many of them got a score, read from
    /// the sent index [`MAX_LIST`] at a time.
    async fn survey_sends(
        &self,
        from_ms: Millis,
        to_ms: Millis,
    ) -> Result<Vec<SurveySends>, ContextError> {
        let mut tally: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
        let mut after = None;
        loop {
            let items = self
                .store()
                .sent_between(from_ms, to_ms, after, MAX_LIST)
                .await?;
            let full = items.len() >= MAX_LIST;
            after = items
                .last()
                .map(|i| (i.sent_at_ms.unwrap_or(from_ms), i.id.clone()));
            for item in items.iter().filter(|i| i.kind == ScheduleKind::Survey) {
                let state: SurveyState = decode(&item.payload)?;
                let key = (
                    state.queue,
                    state.agent.unwrap_or_default(),
                    state.kind.as_str().to_owned(),
                );
                let counts = tally.entry(key).or_default();
                counts.0 += 1;
                counts.1 += u64::from(state.score.is_some());
            }
            if !full {
                break;
            }
        }
        Ok(tally
            .into_iter()
            .map(|((queue, agent, kind), (sent, responded))| SurveySends {
                queue,
                agent,
                kind,
                sent,
                responded,
            })
            .collect())
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
