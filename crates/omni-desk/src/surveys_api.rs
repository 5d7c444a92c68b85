//! `GET /api/surveys.csv?from=YYYY-MM-DD&to=YYYY-MM-DD`: the scored survey
//! answers of a period (UTC days, both included, at most [`MAX_DAYS`]) as
//! CSV, one row per answer, for supervisors and admins. The desk asks the
//! context service as the signed-in caller (`ListSurveyAnswers`,
//! supervisors there too), a page at a time, and streams the rows as the
//! pages come: the first page is read before answering (so a refusal or an
//! outage is a status), the rest while the body is sent.
//!
//! Columns: `answered_at` (UTC, ISO 8601), `conversation`, `queue`,
//! `agent`, `channel`, `kind`, `score`, `comment`. Fields are quoted when
//! they hold a comma, a quote or a line break (RFC 4180); a field that a
//! spreadsheet would take as a formula (`=`, `+`, `-`, `@` first) gets a
//! leading `'`, since comments are the customer's words.
//!
//! `&report=rates` exports the response rate instead (a summary, not a
//! row per answer): one row per queue and kind (`scope` `queue`, agent
//! empty: all its agents) and one per queue, agent and kind (`scope`
//! `agent`), with `sent` (surveys sent in the period), `responded` (how
//! many of those were answered so far) and `response_rate` (percent, one
//! decimal; empty when none was sent). Columns: `scope`, `queue`,
//! `agent`, `kind`, `sent`, `responded`, `response_rate`.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use jiff::civil::Date;
use std::collections::BTreeMap;

use omni_proto::context::{ListSurveyAnswersRequest, SurveyAnswer, SurveySends};
use serde::Deserialize;

use crate::Desk;
use crate::access::Caller;
use crate::desk::traced;
use crate::error::DeskError;

/// The longest period one export covers, in days.
pub const MAX_DAYS: i64 = 366;
/// Answers read per page from the context service.
const PAGE: u32 = 500;
/// The header row.
const HEADER: &str = "answered_at,conversation,queue,agent,channel,kind,score,comment\r\n";

/// `?from=&to=` of the export.
#[derive(Deserialize)]
pub struct SurveysQuery {
    /// The first day, `YYYY-MM-DD` (UTC).
    #[serde(default)]
    from: Option<String>,
    /// The last day, `YYYY-MM-DD` (UTC), included.
    #[serde(default)]
    to: Option<String>,
    /// `answers` (the default) or `rates`.
    #[serde(default)]
    report: Option<String>,
}

/// The header row of the response rate report.
const RATES_HEADER: &str = "scope,queue,agent,kind,sent,responded,response_rate\r\n";

/// The response rate report's rows: per queue and kind, then per queue,
/// agent and kind (agents that handled no conversation are left out).
pub fn rates(sends: &[SurveySends]) -> String {
    let mut queues: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
    for s in sends {
        let q = queues.entry((&s.queue, &s.kind)).or_default();
        q.0 += s.sent;
        q.1 += s.responded;
    }
    let line =
        |scope: &str, queue: &str, agent: &str, kind: &str, (sent, responded): (u64, u64)| {
            #[allow(clippy::cast_precision_loss)] // counts of a period fit an f64
            let rate = if sent == 0 {
                String::new()
            } else {
                format!("{:.1}", responded as f64 * 100.0 / sent as f64)
            };
            let fields = [scope, queue, agent, kind];
            let text: Vec<String> = fields.iter().map(|f| field(f)).collect();
            format!("{},{sent},{responded},{rate}\r\n", text.join(","))
        };
    let mut out = String::from(RATES_HEADER);
    for ((queue, kind), counts) in &queues {
        out.push_str(&line("queue", queue, "", kind, *counts));
    }
    let mut agents: Vec<&SurveySends> = sends.iter().filter(|s| !s.agent_id.is_empty()).collect();
    agents.sort_by(|a, b| (&a.queue, &a.agent_id, &a.kind).cmp(&(&b.queue, &b.agent_id, &b.kind)));
    for s in agents {
        out.push_str(&line(
            "agent",
            &s.queue,
            &s.agent_id,
            &s.kind,
            (s.sent, s.responded),
        ));
    }
    out
}

/// The period's bounds in ms: `[from 00:00, day after to 00:00)` UTC.
pub fn period(from: Option<&str>, to: Option<&str>) -> Result<(i64, i64), DeskError> {
    let day = |name: &str, value: Option<&str>| -> Result<Date, DeskError> {
        value
            .and_then(|v| v.parse::<Date>().ok())
            .ok_or_else(|| DeskError::BadRequest(format!("{name} must be a date YYYY-MM-DD")))
    };
    let (first, last) = (day("from", from)?, day("to", to)?);
    if last < first {
        return Err(DeskError::BadRequest("to must not be before from".into()));
    }
    let days = last.duration_since(first).as_secs() / 86_400 + 1;
    if days > MAX_DAYS {
        return Err(DeskError::BadRequest(format!(
            "to: the period is {days} days; at most {MAX_DAYS}"
        )));
    }
    let epoch = Date::constant(1970, 1, 1);
    let ms = |d: Date, name: &str| -> Result<i64, DeskError> {
        i64::try_from(d.duration_since(epoch).as_millis())
            .map_err(|_| DeskError::BadRequest(format!("{name} is out of range")))
    };
    let end = last
        .tomorrow()
        .map_err(|_| DeskError::BadRequest("to is out of range".into()))?;
    Ok((ms(first, "from")?, ms(end, "to")?))
}

/// One CSV field: quoted when needed, formulas defused.
pub fn field(value: &str) -> String {
    let value = match value.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{value}"),
        _ => value.to_owned(),
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// One answer as a CSV line.
fn row(a: &SurveyAnswer) -> String {
    let at = jiff::Timestamp::from_millisecond(a.answered_at_ms)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let fields = [
        at,
        a.conversation_id.clone(),
        a.queue.clone(),
        a.agent_id.clone(),
        a.channel.clone(),
        a.kind.clone(),
        a.score.to_string(),
        a.comment.clone(),
    ];
    let mut line = fields
        .iter()
        .map(|f| field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Reads one page: its rows and the next page's token (`None`: last).
async fn page(
    desk: &Desk,
    caller: &Caller,
    (from_ms, to_ms): (i64, i64),
    token: String,
) -> Result<(String, Option<String>), DeskError> {
    let page = desk
        .context()
        .list_survey_answers(traced(
            &caller.actor,
            ListSurveyAnswersRequest {
                from_ms,
                to_ms,
                page_token: token,
                limit: PAGE,
            },
        ))
        .await?
        .into_inner();
    let rows: String = page.answers.iter().map(row).collect();
    Ok((rows, Some(page.next_page_token).filter(|t| !t.is_empty())))
}

/// `GET /api/surveys.csv`: the period's answers as CSV (`text/csv`, a
/// download named `surveys-<from>-<to>.csv`).
pub async fn export(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<SurveysQuery>,
) -> Result<Response, DeskError> {
    let bounds = period(q.from.as_deref(), q.to.as_deref())?;
    let name = |what: &str| {
        format!(
            "attachment; filename=\"{what}-{}-{}.csv\"",
            q.from.as_deref().unwrap_or_default(),
            q.to.as_deref().unwrap_or_default()
        )
    };
    match q.report.as_deref() {
        None | Some("answers") => {}
        Some("rates") => {
            let first = desk
                .context()
                .list_survey_answers(traced(
                    &caller.actor,
                    ListSurveyAnswersRequest {
                        from_ms: bounds.0,
                        to_ms: bounds.1,
                        page_token: String::new(),
                        limit: 1,
                    },
                ))
                .await?
                .into_inner();
            return Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, name("survey-rates")),
                ],
                rates(&first.sends),
            )
                .into_response());
        }
        Some(_) => {
            return Err(DeskError::BadRequest(
                "report must be answers or rates".into(),
            ));
        }
    }
    let (rows, next) = page(&desk, &caller, bounds, String::new()).await?;
    let first = format!("{HEADER}{rows}");
    // The rest, a page at a time while the body is sent; an error ends
    // the body early (the client sees a cut download, the log says why).
    let rest = stream::unfold(next, move |token| {
        let (desk, caller) = (desk.clone(), caller.clone());
        async move {
            let token = token?;
            match page(&desk, &caller, bounds, token).await {
                Ok((rows, next)) => Some((Ok::<_, std::io::Error>(rows), next)),
                Err(e) => {
                    tracing::warn!(error = %e, "survey export cut short");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let body = stream::once(async move { Ok::<_, std::io::Error>(first) });
    let name = name("surveys");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        Body::from_stream(futures_util::StreamExt::chain(body, rest)),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_when_needed_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a, b"), "\"a, b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(field("-1,2"), "\"'-1,2\"");
        assert_eq!(field(""), "");
    }

    #[test]
    fn a_row_has_every_column_in_order() {
        let a = SurveyAnswer {
            answered_at_ms: 1_765_000_000_000,
            conversation_id: "conv_1".into(),
            queue: "support".into(),
            agent_id: "ana".into(),
            channel: "sms".into(),
            kind: "csat".into(),
            score: 5,
            comment: "great, thanks".into(),
        };
        assert_eq!(
            row(&a),
            "2025-12-06T05:46:40Z,conv_1,support,ana,sms,csat,5,\"great, thanks\"\r\n"
        );
    }

    #[test]
    fn the_rates_report_has_a_row_per_queue_and_per_agent() {
        let sends = |queue: &str, agent: &str, sent, responded| SurveySends {
            queue: queue.into(),
            agent_id: agent.into(),
            kind: "csat".into(),
            sent,
            responded,
        };
        let report = rates(&[
            sends("support", "bob", 3, 1),
            sends("support", "ana", 1, 1),
            sends("support", "", 2, 0),
        ]);
        assert_eq!(
            report,
            "scope,queue,agent,kind,sent,responded,response_rate\r\n\
             queue,support,,csat,6,2,33.3\r\n\
             agent,support,ana,csat,1,1,100.0\r\n\
             agent,support,bob,csat,3,1,33.3\r\n"
        );
        assert_eq!(
            rates(&[sends("q", "", 0, 0)]).lines().nth(1),
            Some("queue,q,,csat,0,0,")
        );
    }

    #[test]
    fn a_period_is_whole_utc_days_and_bad_ones_name_the_parameter() {
        let (from, to) = period(Some("2026-01-01"), Some("2026-01-02")).expect("period");
        assert_eq!(from, 1_767_225_600_000);
        assert_eq!(to - from, 2 * 86_400_000);
        let message = |r: Result<(i64, i64), DeskError>| r.err().map(|e| e.to_string());
        assert!(message(period(None, Some("2026-01-02"))).is_some_and(|m| m.starts_with("from")));
        assert!(
            message(period(Some("2026-01-01"), Some("soon"))).is_some_and(|m| m.starts_with("to"))
        );
        assert!(
            message(period(Some("2026-01-02"), Some("2026-01-01")))
                .is_some_and(|m| m.starts_with("to"))
        );
        assert!(
            message(period(Some("2025-01-01"), Some("2026-01-02")))
                .is_some_and(|m| m.contains("at most 366"))
        );
        assert!(
            period(Some("2025-01-01"), Some("2026-01-01")).is_ok(),
            "366 days"
        );
    }
}
