//! The providers' delivery reports on this adapter's messages: Twilio's
//! status callbacks (`POST /twilio/status`) and Kannel's DLRs
//! (`GET /kannel/dlr`), each authenticated, read into a [`Report`] and
//! published in the trace of the delivery that sent the message (see the
//! parent module).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use omni_core::DeliveryStatus;
use omni_core::trace::TraceContext;
use tracing::{Instrument as _, info};

use super::{
    KANNEL_EMPTY, Params, answer, check_kannel_secret, check_twilio, lookup, parse_form,
    query_params, required,
};
use crate::adapter::Report;
use crate::error::SmsError;
use crate::{SmsAdapter, kannel, twilio};

pub(super) async fn twilio_status(
    State(adapter): State<Arc<SmsAdapter>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let checked = twilio_status_check(&adapter, &uri, &headers, &body);
    report_callback(&adapter, "twilio_status", checked, StatusCode::NO_CONTENT).await
}

/// Twilio's status callback, authenticated and read.
fn twilio_status_check(
    adapter: &SmsAdapter,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<StatusCallback, SmsError> {
    let params = parse_form(headers, body)?;
    check_twilio(adapter, uri, headers, &params)?;
    let query = query_params(uri)?;
    let message_id = required(&query, "message_id")?;
    let conversation_id = lookup(&query, "conversation_id").unwrap_or("");
    let sid = required(&params, "MessageSid")?;
    let state = required(&params, "MessageStatus")?;
    let mut callback = StatusCallback {
        delivery: delivery_trace(&query),
        message_id: message_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        report: None,
        provider_state: state.to_owned(),
        provider_message_id: sid.to_owned(),
    };
    let Some(status) = twilio::status_of(state) else {
        return Ok(callback);
    };
    let error = if status == DeliveryStatus::Failed {
        match lookup(&params, "ErrorCode").filter(|c| !c.is_empty()) {
            Some(code) => format!("twilio error {code} ({state})"),
            None => format!("twilio: {state}"),
        }
    } else {
        String::new()
    };
    callback.report = Some(Report {
        message_id: message_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        status,
        provider_message_id: sid.to_owned(),
        error,
    });
    Ok(callback)
}

/// A provider's delivery report on a message this adapter sent, its
/// request authenticated (Twilio's signature covers the callback URL, query
/// included; Kannel's carries the shared secret).
struct StatusCallback {
    /// The trace of the delivery that sent the message: the `traceparent`
    /// this adapter put in the callback URL it gave the provider.
    delivery: Option<TraceContext>,
    message_id: String,
    conversation_id: String,
    /// What to publish; `None` for a provider state that is not reported.
    report: Option<Report>,
    /// The provider's state and id for the message, for the log.
    provider_state: String,
    provider_message_id: String,
}

/// The delivery's trace context in a callback URL's query, if well-formed.
fn delivery_trace(query: &Params) -> Option<TraceContext> {
    lookup(query, TRACEPARENT_PARAM).and_then(TraceContext::parse)
}

/// The query parameter of a callback URL that carries the delivery's trace.
pub const TRACEPARENT_PARAM: &str = "traceparent";

/// Answers a delivery report callback: its span `sms.status` continues the
/// trace of the delivery that sent the message (so the report is in the
/// customer message's trace), or starts one when the request carries none
/// or was refused; then the report is published.
async fn report_callback(
    adapter: &SmsAdapter,
    route: &'static str,
    checked: Result<StatusCallback, SmsError>,
    ok: impl IntoResponse,
) -> Response {
    let (message_id, conversation_id, delivery) = match &checked {
        Ok(c) => (
            c.message_id.as_str(),
            c.conversation_id.as_str(),
            c.delivery,
        ),
        Err(_) => ("", "", None),
    };
    let span = tracing::info_span!(
        "sms.status",
        route,
        omni.message_id = %message_id,
        omni.conversation_id = %conversation_id,
    );
    let trace = match delivery {
        Some(delivery) => {
            omni_telemetry::continue_trace(&span, &delivery);
            omni_telemetry::outgoing(&span, &delivery)
        }
        None => omni_telemetry::start_trace(&span),
    };
    let done = async {
        let callback = checked?;
        match &callback.report {
            Some(report) => adapter.report(report, &trace).await?,
            None => info!(
                trace_id = %trace.trace_id_hex(),
                message_id = %callback.message_id,
                sid = %callback.provider_message_id,
                state = %callback.provider_state,
                "provider state not reported"
            ),
        }
        Ok(())
    };
    answer(route, &trace, done.instrument(span), ok).await
}

pub(super) async fn kannel_dlr(
    State(adapter): State<Arc<SmsAdapter>>,
    uri: axum::http::Uri,
) -> Response {
    let checked = kannel_dlr_check(&adapter, &uri);
    report_callback(&adapter, "kannel_dlr", checked, KANNEL_EMPTY).await
}

/// Kannel's delivery report, authenticated and read.
fn kannel_dlr_check(
    adapter: &SmsAdapter,
    uri: &axum::http::Uri,
) -> Result<StatusCallback, SmsError> {
    let params = query_params(uri)?;
    check_kannel_secret(adapter, &params)?;
    let message_id = required(&params, "message_id")?;
    let conversation_id = lookup(&params, "conversation_id").unwrap_or("");
    let raw_type = required(&params, "type")?;
    let status = raw_type
        .parse()
        .ok()
        .and_then(kannel::status_of)
        .ok_or_else(|| {
            SmsError::bad_request(
                "invalid_parameter",
                format!("type {raw_type:?} is not a Kannel DLR type (1, 2, 4, 8, 16)"),
            )
        })?;
    let reply = lookup(&params, "reply").unwrap_or("").trim();
    let error = if status == DeliveryStatus::Failed {
        if reply.is_empty() {
            format!("kannel dlr type {raw_type}")
        } else {
            format!("kannel dlr type {raw_type}: {reply}")
        }
    } else {
        String::new()
    };
    Ok(StatusCallback {
        delivery: delivery_trace(&params),
        message_id: message_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        report: Some(Report {
            message_id: message_id.to_owned(),
            conversation_id: conversation_id.to_owned(),
            status,
            provider_message_id: String::new(),
            error,
        }),
        provider_state: raw_type.to_owned(),
        provider_message_id: String::new(),
    })
}
