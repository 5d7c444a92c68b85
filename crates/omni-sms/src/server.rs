//! The SMS adapter's HTTP routes, called by the providers:
//!
//! | route | caller | exists with provider |
//! |---|---|---|
//! | `POST /twilio/sms` | Twilio's incoming-message webhook | `twilio` |
//! | `POST /twilio/status` | Twilio's status callbacks for outbound messages | `twilio` |
//! | `GET /kannel/inbound` | Kannel smsbox `get-url` | `kannel` |
//! | `GET /kannel/dlr` | Kannel delivery reports (`dlr-url`) | `kannel` |
//! | `GET /healthz` | probes | both |
//!
//! Only the configured provider's routes exist: the other provider's
//! credentials are not configured, and a webhook checked against an empty
//! key would verify for anyone (a forged Twilio `STOP` under Kannel would
//! opt a customer out). The other provider's paths answer 404.
//!
//! Every refusal is a JSON error with a precise code and a log line that
//! carries the request's trace id.
//!
//! A delivery report (Twilio's status callback, Kannel's DLR) continues the
//! trace of the delivery that sent the message: the adapter gives the
//! provider a callback URL that carries the delivery span's context
//! (`traceparent=...`, next to `message_id` and `conversation_id`), and the
//! report's `sms.status` span is its child once the request is
//! authenticated. A refused request, or one without it, starts a trace.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use omni_core::Identity;
use omni_core::config::SmsProvider;
use omni_core::trace::TraceContext;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info};

use crate::adapter::InboundSms;
use crate::error::SmsError;
use crate::{SmsAdapter, kannel, signature};

mod reports;

pub use reports::TRACEPARENT_PARAM;

/// Requests refused, by route and code.
static REFUSED: std::sync::LazyLock<omni_telemetry::metrics::Counters> =
    std::sync::LazyLock::new(|| {
        omni_telemetry::metrics::counter(
            "omni_sms_refused_total",
            "SMS webhook requests refused, by route and code",
        )
    });

/// Empty TwiML: Twilio sends no automatic reply.
pub const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// Twilio's signature header.
pub const TWILIO_SIGNATURE: &str = "x-twilio-signature";

/// The routes, for embedding or testing.
pub fn routes(adapter: Arc<SmsAdapter>) -> Router {
    let provider = Router::new();
    let provider = match adapter.config().provider {
        SmsProvider::Twilio => provider
            .route("/twilio/sms", post(twilio_sms))
            .route("/twilio/status", post(reports::twilio_status)),
        SmsProvider::Kannel => provider
            .route("/kannel/inbound", get(kannel_inbound))
            .route("/kannel/dlr", get(reports::kannel_dlr)),
    };
    provider
        .route("/healthz", get(|| async { "ok" }))
        .with_state(adapter)
}

/// Serves on an already bound `listener` until `shutdown` with
/// [`omni_web::serve`] (header-read timeout, per-address limits, security
/// headers, TCP_NODELAY).
pub async fn serve(
    listener: TcpListener,
    adapter: Arc<SmsAdapter>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = adapter.limits().clone();
    omni_web::serve("sms", listener, routes(adapter), &limits, shutdown).await
}

/// What Kannel gets back: an empty body, so smsbox sends no reply when
/// `omit-empty = true`.
const KANNEL_EMPTY: (StatusCode, [(header::HeaderName, &str); 1], &str) =
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], "");

/// Answers a provider callback: `ok` once `done` succeeds, else the refusal
/// of `route`.
async fn answer(
    route: &'static str,
    trace: &TraceContext,
    done: impl Future<Output = Result<(), SmsError>>,
    ok: impl IntoResponse,
) -> Response {
    match done.await {
        Ok(()) => ok.into_response(),
        Err(e) => refuse(route, trace, e),
    }
}

/// Logs a refusal with the trace id and turns it into the response.
fn refuse(route: &'static str, trace: &TraceContext, error: SmsError) -> Response {
    error.refusal().answer("sms", route, trace, &REFUSED)
}

/// Form parameters in order, duplicates kept (the signature covers them all).
type Params = Vec<(String, String)>;

fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<Params, SmsError> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let ok = content_type
            .to_str()
            .map(|v| {
                v.trim_start()
                    .starts_with("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        if !ok {
            return Err(SmsError::bad_request(
                "malformed_body",
                "expected an application/x-www-form-urlencoded body",
            ));
        }
    }
    parse_pairs(body, "body")
}

fn parse_pairs(raw: &[u8], what: &str) -> Result<Params, SmsError> {
    if std::str::from_utf8(raw).is_err() {
        return Err(SmsError::bad_request(
            "malformed_body",
            format!("the {what} is not UTF-8"),
        ));
    }
    let mut params = Params::new();
    for (name, value) in form_urlencoded::parse(raw) {
        if matches!(name, std::borrow::Cow::Owned(ref s) if s.contains('\u{FFFD}'))
            || matches!(value, std::borrow::Cow::Owned(ref s) if s.contains('\u{FFFD}'))
        {
            return Err(SmsError::bad_request(
                "malformed_body",
                format!("the {what} has a percent-encoded value that is not UTF-8"),
            ));
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    Ok(params)
}

fn lookup<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, SmsError> {
    match lookup(params, name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(SmsError::bad_request(
            "missing_parameter",
            format!("the {name} parameter is missing or empty"),
        )),
    }
}

fn query_params(uri: &axum::http::Uri) -> Result<Params, SmsError> {
    parse_pairs(uri.query().unwrap_or("").as_bytes(), "query string")
}

/// Checks Twilio's signature over the public URL and the form, then the account.
fn check_twilio(
    adapter: &SmsAdapter,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), SmsError> {
    let twilio = &adapter.config().twilio;
    // Validation requires both with provider twilio; an empty key would
    // make every forged signature verify, so refuse rather than trust it.
    if twilio.auth_token.expose_secret().is_empty() || twilio.account_sid.is_empty() {
        return Err(SmsError::forbidden(
            "not_configured",
            "twilio webhooks are not configured",
        ));
    }
    let Some(claimed) = headers.get(TWILIO_SIGNATURE) else {
        return Err(SmsError::forbidden(
            "missing_signature",
            "the X-Twilio-Signature header is missing",
        ));
    };
    let claimed = claimed.to_str().unwrap_or("");
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let url = adapter.public_url(path);
    if !signature::verify(twilio.auth_token.expose_secret(), &url, params, claimed) {
        return Err(SmsError::forbidden(
            "invalid_signature",
            format!("the X-Twilio-Signature does not match a request to {url}"),
        ));
    }
    let account = lookup(params, "AccountSid").unwrap_or("");
    if account != twilio.account_sid {
        return Err(SmsError::forbidden(
            "wrong_account",
            format!("AccountSid {account:?} is not this adapter's account"),
        ));
    }
    Ok(())
}

/// The sender's identity; only an empty sender is refused (a sender that
/// is not a phone number is kept, unverified: see [`SmsAdapter::sender`]).
fn sender_or_400(
    adapter: &SmsAdapter,
    raw: &str,
    name: &str,
    trace: &TraceContext,
) -> Result<Identity, SmsError> {
    adapter
        .sender(raw, trace)
        .ok_or_else(|| SmsError::bad_request("missing_parameter", format!("{name} is empty")))
}

/// Our own number as the provider gives it: E.164 when it is one, as given
/// otherwise (short codes, alphanumeric senders).
fn our_number(adapter: &SmsAdapter, raw: &str) -> String {
    adapter.e164(raw).unwrap_or_else(|_| raw.trim().to_owned())
}

async fn twilio_sms(
    State(adapter): State<Arc<SmsAdapter>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let span = tracing::info_span!("sms.callback", route = "twilio_sms");
    let trace = omni_telemetry::start_trace(&span);
    let done = twilio_sms_inner(&adapter, &uri, &headers, &body, &trace);
    let empty = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        EMPTY_TWIML,
    );
    answer("twilio_sms", &trace, done.instrument(span), empty).await
}

async fn twilio_sms_inner(
    adapter: &SmsAdapter,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
    trace: &TraceContext,
) -> Result<(), SmsError> {
    let params = parse_form(headers, body)?;
    check_twilio(adapter, uri, headers, &params)?;
    let sid = required(&params, "MessageSid")?;
    let from = sender_or_400(adapter, required(&params, "From")?, "From", trace)?;
    let to = our_number(adapter, lookup(&params, "To").unwrap_or(""));
    let segments = match lookup(&params, "NumSegments") {
        None | Some("") => 0,
        Some(n) => n.parse().map_err(|_| {
            SmsError::bad_request(
                "invalid_parameter",
                format!("NumSegments {n:?} is not a number"),
            )
        })?,
    };
    let media: u32 = lookup(&params, "NumMedia")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if media > 0 {
        info!(trace_id = %trace.trace_id_hex(), sid, media, "mms media not carried; text only");
    }
    adapter
        .accept(
            InboundSms {
                provider: "twilio",
                provider_message_id: sid.to_owned(),
                from,
                to,
                text: lookup(&params, "Body").unwrap_or("").to_owned(),
                segments,
            },
            trace,
        )
        .await?;
    Ok(())
}

fn check_kannel_secret(adapter: &SmsAdapter, query: &Params) -> Result<(), SmsError> {
    let expected = adapter.config().kannel.secret.expose_secret().as_bytes();
    let given = lookup(query, "secret").unwrap_or("").as_bytes();
    if expected.is_empty() || !constant_time_eq(expected, given) {
        return Err(SmsError::forbidden(
            "invalid_secret",
            "the secret parameter is missing or wrong",
        ));
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn kannel_inbound(State(adapter): State<Arc<SmsAdapter>>, uri: axum::http::Uri) -> Response {
    let span = tracing::info_span!("sms.callback", route = "kannel_inbound");
    let trace = omni_telemetry::start_trace(&span);
    let done = kannel_inbound_inner(&adapter, &uri, &trace);
    answer(
        "kannel_inbound",
        &trace,
        done.instrument(span),
        KANNEL_EMPTY,
    )
    .await
}

async fn kannel_inbound_inner(
    adapter: &SmsAdapter,
    uri: &axum::http::Uri,
    trace: &TraceContext,
) -> Result<(), SmsError> {
    let raw = uri.query().unwrap_or("").as_bytes();
    // The text may be UTF-16 (coding 2): decode it as bytes, the rest as UTF-8.
    let text_bytes = raw_value(raw, "text").unwrap_or_default();
    let stripped: Vec<u8> = raw
        .split(|b| *b == b'&')
        .filter(|pair| !pair.starts_with(b"text=") && *pair != b"text")
        .collect::<Vec<_>>()
        .join(&b'&');
    let query = parse_pairs(&stripped, "query string")?;
    check_kannel_secret(adapter, &query)?;
    let id = required(&query, "id")?;
    let from = sender_or_400(adapter, required(&query, "from")?, "from", trace)?;
    let to = our_number(adapter, lookup(&query, "to").unwrap_or(""));
    let text = kannel::decode_text(
        &text_bytes,
        lookup(&query, "coding").unwrap_or(""),
        lookup(&query, "charset").unwrap_or(""),
    )
    .map_err(|reason| SmsError::bad_request("malformed_text", reason))?;
    adapter
        .accept(
            InboundSms {
                provider: "kannel",
                provider_message_id: id.to_owned(),
                from,
                to,
                text,
                segments: 0,
            },
            trace,
        )
        .await?;
    Ok(())
}

/// The percent-decoded bytes of the first `name` parameter of a query.
fn raw_value(query: &[u8], name: &str) -> Option<Vec<u8>> {
    query.split(|b| *b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        (key == name.as_bytes()).then(|| percent_decode(value))
    })
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(input[i + 1]), hex(input[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_keep_non_utf8_bytes() {
        let query = b"secret=s&text=%04%1F%04%40+x%&id=1&texts=no";
        assert_eq!(
            raw_value(query, "text").unwrap(),
            vec![0x04, 0x1f, 0x04, 0x40, b' ', b'x', b'%']
        );
        assert_eq!(raw_value(query, "id").unwrap(), b"1");
        assert_eq!(raw_value(b"a=%4", "a").unwrap(), b"%4");
        assert!(raw_value(query, "missing").is_none());
    }

    #[test]
    fn refusals_are_json_with_a_code() {
        let params = parse_pairs(b"a=%FF", "body").unwrap_err();
        assert_eq!(params.status(), StatusCode::BAD_REQUEST);
        assert_eq!(params.code(), "malformed_body");
        assert!(parse_pairs(&[0xff], "body").is_err());
        assert_eq!(
            required(&vec![("a".into(), " ".into())], "a")
                .unwrap_err()
                .code(),
            "missing_parameter"
        );
    }
}
