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

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use jiff::civil::Date;
use omni_proto::context::{ListSurveyAnswersRequest, SurveyAnswer};
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
    let name = format!(
        "attachment; filename=\"surveys-{}-{}.csv\"",
        q.from.unwrap_or_default(),
        q.to.unwrap_or_default()
    );
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
