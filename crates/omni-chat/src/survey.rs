//! One-click survey links from email (docs/surveys.md, "Email links"):
//! `GET /survey/{token}/{score}` checks the link with the context service
//! and shows the choice with a button (and a comment box when the queue
//! keeps comments); `POST` of that form records it (`AnswerSurveyLink`,
//! the chat's service token). A GET records nothing, because mail
//! scanners fetch every link of a mail; the POST comes only from a
//! person's click. The token in the path is the capability (signed,
//! naming one survey, expiring with it); a POST must also come from this
//! page (`Sec-Fetch-Site`, `Origin`).
//!
//! | answer | when |
//! |---|---|
//! | 200 | the choice (GET), or the thanks (POST) |
//! | 400 | a malformed or forged token, a score that is not a number or off the scale |
//! | 403 | a POST from another site |
//! | 404 | survey links are off (`[surveys]`), or the conversation is gone |
//! | 410 | the survey is closed or the link expired |
//! | 413 | a form over [`MAX_FORM_BYTES`] |
//! | 503 | the context service cannot answer now |

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use omni_proto::context::AnswerSurveyLinkRequest;
use omni_proto::context::answer_survey_link_response::Outcome;
use tonic::Code;
use tracing::{info, warn};

use crate::server::AppState;
use crate::survey_page::{Form, Text, fill, html, text};

/// The largest form body taken, in bytes.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// The longest token taken, in bytes.
const MAX_TOKEN_BYTES: usize = 512;

/// Whether `token` has only a token's characters (base64url and `.`).
fn is_token_text(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_BYTES
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn page(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(omni_web::CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refused(status: StatusCode, text: &Text, line: &str, why: &str) -> Response {
    warn!(status = status.as_u16(), why, "survey link refused");
    page(status, html(text, line, None))
}

fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

/// The link's token and score, or the refusal page.
fn checked<'a>(
    state: &AppState,
    headers: &HeaderMap,
    token: &'a str,
    score: &str,
) -> Result<(&'a str, u32), Box<Response>> {
    let text = text(None, accept_language(headers));
    if !state.adapter.config().surveys.links_on() {
        return Err(Box::new(refused(
            StatusCode::NOT_FOUND,
            text,
            text.off,
            "survey links are off",
        )));
    }
    if !is_token_text(token) {
        return Err(Box::new(refused(
            StatusCode::BAD_REQUEST,
            text,
            text.invalid,
            "malformed token",
        )));
    }
    let Ok(score) = score.parse::<u32>() else {
        return Err(Box::new(refused(
            StatusCode::BAD_REQUEST,
            text,
            text.bad_score,
            "score is not a number",
        )));
    };
    Ok((token, score))
}

/// The page for a refusal of the context service.
fn refusal(status: &tonic::Status, headers: &HeaderMap) -> Response {
    let text = text(None, accept_language(headers));
    let message = status.message();
    match status.code() {
        Code::InvalidArgument if message.contains("score") => refused(
            StatusCode::BAD_REQUEST,
            text,
            text.bad_score,
            "score off the scale",
        ),
        Code::InvalidArgument => refused(
            StatusCode::BAD_REQUEST,
            text,
            text.invalid,
            "token not valid",
        ),
        Code::FailedPrecondition => refused(
            StatusCode::GONE,
            text,
            text.closed,
            "survey closed or expired",
        ),
        Code::NotFound => refused(
            StatusCode::NOT_FOUND,
            text,
            text.closed,
            "conversation not found",
        ),
        _ => {
            warn!(error = %status, "survey link not answered: context service unavailable");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                html(text, text.unavailable, None),
            )
        }
    }
}

async fn call(
    state: &AppState,
    token: &str,
    score: u32,
    comment: String,
    record: bool,
) -> Result<omni_proto::context::AnswerSurveyLinkResponse, tonic::Status> {
    let mut client = state.adapter.context();
    let request = AnswerSurveyLinkRequest {
        token: token.to_owned(),
        score,
        comment,
        record,
    };
    Ok(client.answer_survey_link(request).await?.into_inner())
}

/// `GET /survey/{token}/{score}`: the choice, and the form that sends it.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path((token, score)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (token, score) = match checked(&state, &headers, &token, &score) {
        Ok(checked) => checked,
        Err(page) => return *page,
    };
    let answer = match call(&state, token, score, String::new(), false).await {
        Ok(answer) => answer,
        Err(status) => return refusal(&status, &headers),
    };
    let text = text(Some(&answer.language), accept_language(&headers));
    let action = format!("/survey/{token}/{score}");
    let body = match (answer.outcome(), answer.scored) {
        (Outcome::AlreadyAnswered, _) => html(text, text.already, None),
        // Scored by a digit or a link; a comment is still welcome.
        (_, true) => html(
            text,
            &fill(text.rated, answer.score, answer.high),
            answer.comment_welcome.then_some(Form {
                action: &action,
                comment: true,
                button: text.send_comment,
            }),
        ),
        _ => html(
            text,
            &fill(text.chose, score, answer.high),
            Some(Form {
                action: &action,
                comment: answer.comment_welcome,
                button: text.send,
            }),
        ),
    };
    page(StatusCode::OK, body)
}

/// Whether a POST comes from this server's own page: a browser's
/// `Sec-Fetch-Site` says `same-origin`, and an `Origin` names this host.
/// (The page's `Referrer-Policy: no-referrer` makes a browser send
/// `Origin: null` on its own form's POST, so `null` is taken when the
/// browser says `same-origin`.)
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let site = get("sec-fetch-site");
    if site.is_some_and(|s| s != "same-origin") {
        return false;
    }
    match get(header::ORIGIN.as_str()) {
        None => true,
        Some("null") => site == Some("same-origin"),
        Some(origin) => {
            let host = origin.split_once("://").map(|(_, host)| host);
            host.is_some() && host == get(header::HOST.as_str())
        }
    }
}

/// `POST /survey/{token}/{score}`: records the rating (and the comment).
pub(crate) async fn answer(
    State(state): State<AppState>,
    Path((token, score)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (token, score) = match checked(&state, &headers, &token, &score) {
        Ok(checked) => checked,
        Err(page) => return *page,
    };
    let fallback = text(None, accept_language(&headers));
    if !same_origin(&headers) {
        return refused(
            StatusCode::FORBIDDEN,
            fallback,
            fallback.cross_site,
            "form from another site",
        );
    }
    if body.len() > MAX_FORM_BYTES {
        return refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            fallback,
            fallback.unavailable,
            "form too large",
        );
    }
    let comment = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "comment")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let gave_comment = !comment.trim().is_empty();
    let answer = match call(&state, token, score, comment, true).await {
        Ok(answer) => answer,
        Err(status) => return refusal(&status, &headers),
    };
    let text = text(Some(&answer.language), accept_language(&headers));
    let action = format!("/survey/{token}/{score}");
    let outcome = answer.outcome();
    info!(outcome = outcome.as_str_name(), "survey link answered");
    let body = match outcome {
        Outcome::Recorded => html(
            text,
            &fill(text.rated, answer.score, answer.high),
            // Welcome and not given yet: the box again.
            (answer.comment_welcome && !gave_comment).then_some(Form {
                action: &action,
                comment: true,
                button: text.send_comment,
            }),
        ),
        Outcome::CommentKept => html(text, text.comment_kept, None),
        _ => html(text, text.already, None),
    };
    page(StatusCode::OK, body)
}
