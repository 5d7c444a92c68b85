//! A conversation's survey as the desk's conversation view shows it
//! (docs/desk.md): in `GET /api/conversations/{id}` (read with the
//! conversation, so only by whoever may read it), in the resolve's answer,
//! and in the `survey` event the agent it is attributed to gets when it
//! changes.

use serde_json::{Value, json};

/// `s` as JSON: the scale, the phase (`scheduled`, `asked`, `answered`,
/// `not_answered`, `not_sent`), the score and comment (`null` for none),
/// when it was asked and answered (`null`: not yet), and to whom it is
/// attributed (`agent_name` resolves the agent's id).
pub fn survey_json(
    s: &omni_proto::events::SurveyView,
    agent_name: impl Fn(&str) -> Option<String>,
) -> Value {
    json!({
        "kind": s.kind,
        "low": s.low,
        "high": s.high,
        "phase": s.phase,
        "score": s.scored.then_some(s.score),
        "comment": (!s.comment.is_empty()).then_some(&s.comment),
        "asked_at_ms": (s.asked_at_ms > 0).then_some(s.asked_at_ms),
        "answered_at_ms": (s.answered_at_ms > 0).then_some(s.answered_at_ms),
        "agent": s.agent,
        "agent_name": agent_name(&s.agent).unwrap_or_else(|| s.agent.clone()),
        "queue": s.queue,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unanswered_survey_has_no_score_and_a_scored_one_has_its_score() {
        let mut s = omni_proto::events::SurveyView {
            kind: "csat".into(),
            low: 1,
            high: 5,
            phase: "asked".into(),
            asked_at_ms: 1_000,
            agent: "bob".into(),
            queue: "sales".into(),
            ..Default::default()
        };
        let asked = survey_json(&s, |_| Some("Bob Okafor".into()));
        assert_eq!(asked["score"], Value::Null);
        assert_eq!(asked["comment"], Value::Null);
        assert_eq!(asked["answered_at_ms"], Value::Null);
        assert_eq!(asked["agent_name"], "Bob Okafor");
        s.phase = "answered".into();
        s.scored = true;
        s.score = 4;
        s.comment = "Quick and kind".into();
        s.answered_at_ms = 2_000;
        let answered = survey_json(&s, |_| None);
        assert_eq!(answered["score"], 4);
        assert_eq!(answered["comment"], "Quick and kind");
        assert_eq!(answered["answered_at_ms"], 2_000);
        assert_eq!(answered["agent_name"], "bob");
    }
}
