//! Twilio's Messages API (or a compatible one) for outbound messages, and
//! the meaning of its message statuses.
//!
//! `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with
//! basic auth `AccountSid:AuthToken` and form fields `To`, `From`, `Body`,
//! `StatusCallback`. A 201 carries the message resource (`sid`, `status`,
//! `error_code`, `error_message`); an error carries `{code, message,
//! more_info, status}`.

use hyper::http::{Method, StatusCode, header};
use omni_adapter::http::HttpClient;
use omni_core::DeliveryStatus;
use omni_core::config::TwilioConfig;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::outbound::{SendError, Submitted};

/// Twilio's message resource, the fields the adapter reads.
#[derive(Debug, Deserialize)]
struct MessageResource {
    sid: String,
    status: String,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    error_message: Option<String>,
}

/// Twilio's error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

/// Submits one message.
pub async fn send(
    http: &HttpClient,
    config: &TwilioConfig,
    from: &str,
    to: &str,
    body: &str,
    status_callback: &str,
) -> Result<Submitted, SendError> {
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        config.api_base.trim_end_matches('/'),
        config.account_sid
    );
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("To", to)
        .append_pair("From", from)
        .append_pair("Body", body)
        .append_pair("StatusCallback", status_callback)
        .finish();
    use base64::Engine as _;
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        config.account_sid,
        config.auth_token.expose_secret()
    ));
    let response = http
        .send(
            Method::POST,
            &url,
            &[
                (header::AUTHORIZATION, format!("Basic {credentials}")),
                (header::ACCEPT, "application/json".into()),
            ],
            Some(("application/x-www-form-urlencoded", form)),
        )
        .await
        .map_err(|e| SendError::Transient(e.to_string()))?;
    let status = response.status;
    if status.is_success() {
        let resource: MessageResource = serde_json::from_slice(&response.body).map_err(|e| {
            SendError::Transient(format!(
                "twilio answered {status} with an unreadable body: {e}"
            ))
        })?;
        let delivery = status_of(&resource.status).unwrap_or(DeliveryStatus::Queued);
        if delivery == DeliveryStatus::Failed {
            return Err(SendError::Permanent {
                provider_id: resource.sid,
                error: describe(
                    resource.error_code,
                    resource.error_message.as_deref(),
                    status,
                ),
            });
        }
        return Ok(Submitted {
            provider_id: resource.sid,
            status: delivery,
        });
    }
    let error: Option<ErrorBody> = serde_json::from_slice(&response.body).ok();
    let text = describe(
        error.as_ref().and_then(|e| e.code),
        error.as_ref().and_then(|e| e.message.as_deref()),
        status,
    );
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Err(SendError::Transient(text))
    } else {
        Err(SendError::Permanent {
            provider_id: String::new(),
            error: text,
        })
    }
}

fn describe(code: Option<i64>, message: Option<&str>, status: StatusCode) -> String {
    match (code, message) {
        (Some(code), Some(message)) => format!("twilio error {code}: {message}"),
        (Some(code), None) => format!("twilio error {code}"),
        (None, Some(message)) => format!("twilio: {message}"),
        (None, None) => format!("twilio answered {status}"),
    }
}

/// What a Twilio `MessageStatus` / `status` means for the timeline; `None`
/// for the statuses of inbound messages and unknown ones.
pub fn status_of(status: &str) -> Option<DeliveryStatus> {
    Some(match status {
        "accepted" | "scheduled" | "queued" => DeliveryStatus::Queued,
        "sending" | "sent" => DeliveryStatus::Sent,
        "delivered" | "read" => DeliveryStatus::Delivered,
        "undelivered" | "failed" | "canceled" => DeliveryStatus::Failed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_timeline() {
        assert_eq!(status_of("queued"), Some(DeliveryStatus::Queued));
        assert_eq!(status_of("sent"), Some(DeliveryStatus::Sent));
        assert_eq!(status_of("delivered"), Some(DeliveryStatus::Delivered));
        assert_eq!(status_of("undelivered"), Some(DeliveryStatus::Failed));
        assert_eq!(status_of("failed"), Some(DeliveryStatus::Failed));
        assert_eq!(status_of("received"), None);
    }
}
