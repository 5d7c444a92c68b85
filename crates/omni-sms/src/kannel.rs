//! Kannel's HTTP interfaces: `sendsms` for outbound messages and the
//! meaning of its delivery report types.
//!
//! `GET {sendsms_url}?username=&password=&from=&to=&text=&charset=UTF-8&coding=&dlr-mask=&dlr-url=`
//! answers 202 (`0: Accepted for delivery` or `3: Queued for later
//! delivery`) or an error status with a text reason. Kannel calls
//! `dlr-url` back with `%d` replaced by the report type (1 delivered, 2
//! failed, 4 buffered, 8 accepted by the SMSC, 16 rejected by the SMSC).

use hyper::http::{Method, StatusCode};
use omni_adapter::http::HttpClient;
use omni_core::DeliveryStatus;
use omni_core::config::KannelConfig;
use secrecy::ExposeSecret;

use crate::outbound::{SendError, Submitted};
use crate::segments::Encoding;

/// Submits one message; `dlr_url` is where Kannel reports on it.
pub async fn send(
    http: &HttpClient,
    config: &KannelConfig,
    from: &str,
    to: &str,
    text: &str,
    encoding: Encoding,
    dlr_url: &str,
) -> Result<Submitted, SendError> {
    // coding 0 is the GSM default alphabet, 2 is UCS-2; Kannel converts
    // from the UTF-8 we send and splits long texts with concatenation.
    let coding = match encoding {
        Encoding::Gsm7 => "0",
        Encoding::Ucs2 => "2",
    };
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("username", &config.username)
        .append_pair("password", config.password.expose_secret())
        .append_pair("from", from)
        .append_pair("to", to)
        .append_pair("text", text)
        .append_pair("charset", "UTF-8")
        .append_pair("coding", coding)
        .append_pair("dlr-mask", &config.dlr_mask.to_string())
        .append_pair("dlr-url", dlr_url)
        .finish();
    let separator = if config.sendsms_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let url = format!("{}{separator}{query}", config.sendsms_url);
    let response = http
        .send(Method::GET, &url, &[], None)
        .await
        .map_err(|e| SendError::Transient(e.to_string()))?;
    let reason = String::from_utf8_lossy(&response.body).trim().to_owned();
    match response.status {
        StatusCode::OK | StatusCode::ACCEPTED => Ok(Submitted {
            // sendsms gives no message id; the DLR URL carries ours.
            provider_id: String::new(),
            status: DeliveryStatus::Queued,
        }),
        s if s.is_server_error() => Err(SendError::Transient(format!(
            "kannel answered {s}: {reason}"
        ))),
        s => Err(SendError::Permanent {
            provider_id: String::new(),
            error: format!("kannel answered {s}: {reason}"),
        }),
    }
}

/// The text of an incoming message from smsbox's `%a` with `coding=%c` and
/// `charset=%C`: UTF-16BE for coding 2 (UCS-2), UTF-8 when the bytes are,
/// else ISO-8859-1 (smsbox's charset for the GSM alphabet).
pub fn decode_text(bytes: &[u8], coding: &str, charset: &str) -> Result<String, String> {
    let utf16 = coding == "2" || charset.eq_ignore_ascii_case("UTF-16BE");
    if utf16 {
        if !bytes.len().is_multiple_of(2) {
            return Err(format!("a UCS-2 text of {} bytes (odd)", bytes.len()));
        }
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .collect();
        return String::from_utf16(&units)
            .map_err(|e| format!("a UCS-2 text that is not UTF-16: {e}"));
    }
    if coding == "1" {
        return Err("a binary (8-bit) message has no text".into());
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => Ok(bytes.iter().map(|b| char::from(*b)).collect()),
    }
}

/// What a Kannel DLR type means for the timeline; `None` for a type that is
/// not one of the five.
pub fn status_of(dlr_type: u32) -> Option<DeliveryStatus> {
    Some(match dlr_type {
        1 => DeliveryStatus::Delivered,
        2 | 16 => DeliveryStatus::Failed,
        4 => DeliveryStatus::Queued,
        8 => DeliveryStatus::Sent,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_decode_by_coding() {
        assert_eq!(decode_text(b"hello", "0", "").unwrap(), "hello");
        assert_eq!(
            decode_text(&[0x04, 0x1f, 0xd8, 0x3d, 0xde, 0x00], "2", "UTF-16BE").unwrap(),
            "П😀"
        );
        assert_eq!(
            decode_text(&[0x63, 0x61, 0x66, 0xe9], "0", "ISO-8859-1").unwrap(),
            "café"
        );
        assert!(decode_text(&[0x04], "2", "").is_err());
        assert!(
            decode_text(&[0xd8, 0x3d], "2", "").is_err(),
            "lone surrogate"
        );
        assert!(decode_text(b"x", "1", "binary").is_err());
    }

    #[test]
    fn dlr_types_map_to_the_timeline() {
        assert_eq!(status_of(1), Some(DeliveryStatus::Delivered));
        assert_eq!(status_of(2), Some(DeliveryStatus::Failed));
        assert_eq!(status_of(4), Some(DeliveryStatus::Queued));
        assert_eq!(status_of(8), Some(DeliveryStatus::Sent));
        assert_eq!(status_of(16), Some(DeliveryStatus::Failed));
        assert_eq!(status_of(3), None);
    }
}
