//! The wall's survey section: `GET /api/wall/surveys`, today's (UTC) scored
//! answers per queue and per agent: CSAT % (the share of 4 and 5 of 5),
//! NPS (the share of 9-10 minus the share of 0-6, in points) and the CES
//! average (1-7), each with its response count, and the response rate (of
//! the surveys sent today, the share answered). Read from the context
//! service (`ListSurveyAnswers`, supervisors only there too, whose first
//! page carries the day's sends) a page at a time, at most [`MAX_ANSWERS`]
//! a day; the page polls it, not the live stream, as answers come slowly.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use omni_proto::context::{ListSurveyAnswersRequest, SurveyAnswer, SurveySends};
use serde::Serialize;

use crate::Desk;
use crate::access::Caller;
use crate::desk::traced;
use crate::error::DeskError;

/// The most answers one day's figures read.
pub const MAX_ANSWERS: usize = 20_000;
const PAGE: u32 = 1000;
const DAY_MS: i64 = 86_400_000;

/// One queue's or agent's figures of the day.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SurveyFigures {
    /// CSAT answers.
    pub csat_responses: u64,
    /// Share of CSAT answers of 4 or 5, in percent.
    pub csat_percent: Option<f64>,
    /// NPS answers.
    pub nps_responses: u64,
    /// Promoters' share minus detractors' share, in points (-100..100).
    pub nps: Option<f64>,
    /// CES answers.
    pub ces_responses: u64,
    /// Average CES score.
    pub ces_average: Option<f64>,
    /// Surveys sent today.
    pub sent: u64,
    /// How many of today's sent surveys were answered.
    pub responded: u64,
    /// `responded` over `sent`, in percent (none sent: none).
    pub response_rate: Option<f64>,
}

/// The sums behind [`SurveyFigures`].
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    csat: u64,
    satisfied: u64,
    nps: u64,
    promoters: u64,
    detractors: u64,
    ces: u64,
    ces_sum: u64,
    sent: u64,
    responded: u64,
}

impl Sums {
    fn add(&mut self, kind: &str, score: u32) {
        match kind {
            "csat" => {
                self.csat += 1;
                self.satisfied += u64::from(score >= 4);
            }
            "nps" => {
                self.nps += 1;
                self.promoters += u64::from(score >= 9);
                self.detractors += u64::from(score <= 6);
            }
            "ces" => {
                self.ces += 1;
                self.ces_sum += u64::from(score);
            }
            _ => {}
        }
    }

    #[allow(clippy::cast_precision_loss)] // counts of a day fit an f64
    fn figures(self) -> SurveyFigures {
        let share = |part: u64, of: u64| (of > 0).then(|| part as f64 * 100.0 / of as f64);
        SurveyFigures {
            csat_responses: self.csat,
            csat_percent: share(self.satisfied, self.csat),
            nps_responses: self.nps,
            nps: share(self.promoters, self.nps)
                .zip(share(self.detractors, self.nps))
                .map(|(p, d)| p - d),
            ces_responses: self.ces,
            ces_average: (self.ces > 0).then(|| self.ces_sum as f64 / self.ces as f64),
            sent: self.sent,
            responded: self.responded,
            response_rate: share(self.responded, self.sent),
        }
    }
}

/// Today's survey figures.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SurveysView {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Per queue id.
    pub queues: BTreeMap<String, SurveyFigures>,
    /// Per agent id (answers of conversations no agent handled are left out).
    pub agents: BTreeMap<String, SurveyFigures>,
    /// Whether the day had more than [`MAX_ANSWERS`] answers (the
    /// figures are of the first ones).
    pub truncated: bool,
}

/// The figures of `answers` and `sends` per queue and per agent.
pub fn figures(
    answers: &[SurveyAnswer],
    sends: &[SurveySends],
) -> (
    BTreeMap<String, SurveyFigures>,
    BTreeMap<String, SurveyFigures>,
) {
    let mut queues: BTreeMap<String, Sums> = BTreeMap::new();
    let mut agents: BTreeMap<String, Sums> = BTreeMap::new();
    for a in answers {
        queues
            .entry(a.queue.clone())
            .or_default()
            .add(&a.kind, a.score);
        if !a.agent_id.is_empty() {
            agents
                .entry(a.agent_id.clone())
                .or_default()
                .add(&a.kind, a.score);
        }
    }
    for s in sends {
        let add = |sums: &mut Sums| {
            sums.sent += s.sent;
            sums.responded += s.responded;
        };
        add(queues.entry(s.queue.clone()).or_default());
        if !s.agent_id.is_empty() {
            add(agents.entry(s.agent_id.clone()).or_default());
        }
    }
    let done = |m: BTreeMap<String, Sums>| m.into_iter().map(|(k, s)| (k, s.figures())).collect();
    (done(queues), done(agents))
}

/// `GET /api/wall/surveys`: [`SurveysView`] of today (UTC).
pub async fn today(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<SurveysView>, DeskError> {
    let now = omni_core::time::now_ms();
    let from_ms = now - now.rem_euclid(DAY_MS);
    let mut answers = Vec::new();
    let mut sends = Vec::new();
    let mut token = String::new();
    let truncated = loop {
        let page = desk
            .context()
            .list_survey_answers(traced(
                &caller.actor,
                ListSurveyAnswersRequest {
                    from_ms,
                    to_ms: from_ms + DAY_MS,
                    page_token: token,
                    limit: PAGE,
                },
            ))
            .await?
            .into_inner();
        answers.extend(page.answers);
        sends.extend(page.sends);
        if page.next_page_token.is_empty() {
            break false;
        }
        if answers.len() >= MAX_ANSWERS {
            break true;
        }
        token = page.next_page_token;
    };
    let (queues, agents) = figures(&answers, &sends);
    Ok(Json(SurveysView {
        day: omni_core::time::day_of(from_ms, 0),
        queues,
        agents,
        truncated,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(queue: &str, agent: &str, kind: &str, score: u32) -> SurveyAnswer {
        SurveyAnswer {
            queue: queue.into(),
            agent_id: agent.into(),
            kind: kind.into(),
            score,
            ..SurveyAnswer::default()
        }
    }

    #[test]
    fn csat_nps_and_ces_per_queue_and_agent() {
        let answers = [
            answer("support", "ana", "csat", 5),
            answer("support", "ana", "csat", 4),
            answer("support", "bob", "csat", 2),
            answer("support", "", "csat", 1),
            answer("sales", "bob", "nps", 10),
            answer("sales", "bob", "nps", 9),
            answer("sales", "bob", "nps", 7),
            answer("sales", "bob", "nps", 3),
            answer("billing", "ana", "ces", 2),
            answer("billing", "ana", "ces", 5),
        ];
        let sends = [
            SurveySends {
                queue: "support".into(),
                agent_id: "ana".into(),
                kind: "csat".into(),
                sent: 3,
                responded: 1,
            },
            SurveySends {
                queue: "support".into(),
                agent_id: "bob".into(),
                kind: "csat".into(),
                sent: 1,
                responded: 1,
            },
            SurveySends {
                queue: "quiet".into(),
                agent_id: String::new(),
                kind: "ces".into(),
                sent: 2,
                responded: 0,
            },
        ];
        let (queues, agents) = figures(&answers, &sends);
        let support = &queues["support"];
        assert_eq!(
            (support.csat_responses, support.csat_percent),
            (4, Some(50.0))
        );
        assert_eq!((support.nps_responses, support.nps), (0, None));
        let sales = &queues["sales"];
        assert_eq!((sales.nps_responses, sales.nps), (4, Some(25.0)));
        assert_eq!(queues["billing"].ces_average, Some(3.5));
        assert_eq!(agents["ana"].csat_percent, Some(100.0));
        assert_eq!(agents["ana"].ces_average, Some(3.5));
        assert_eq!(agents["bob"].csat_percent, Some(0.0));
        assert_eq!(agents["bob"].nps, Some(25.0));
        assert!(!agents.contains_key(""), "no agent, no agent row");
        assert_eq!(
            (support.sent, support.responded, support.response_rate),
            (4, 2, Some(50.0))
        );
        assert_eq!(agents["ana"].response_rate.map(f64::round), Some(33.0));
        assert_eq!(
            (queues["quiet"].sent, queues["quiet"].response_rate),
            (2, Some(0.0)),
            "a queue with sends and no answers has a row"
        );
        assert_eq!(queues["sales"].response_rate, None, "none sent: no rate");
    }
}
