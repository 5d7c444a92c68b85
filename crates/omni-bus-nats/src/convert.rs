//! Conversions between [`omni_bus::Message`] and NATS messages and headers.

use std::collections::BTreeMap;
use std::str::FromStr;

use async_nats::{HeaderMap, HeaderName, HeaderValue};
use omni_bus::{BusError, Message};

/// The largest message the bus accepts, counted as the embedded bus counts
/// it (payload plus headers), so both implementations refuse the same messages.
pub const MAX_MESSAGE_BYTES: usize = omni_bus::embedded::MAX_MESSAGE_BYTES;

/// The message's headers as NATS headers. NATS cannot carry a name with
/// `:`, control or non-ASCII characters, nor a value with a line break.
pub fn to_header_map(message: &Message) -> Result<HeaderMap, BusError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &message.headers {
        headers.insert(header_name(name)?, header_value(name, value)?);
    }
    Ok(headers)
}

/// A header name NATS can carry.
pub fn header_name(name: &str) -> Result<HeaderName, BusError> {
    HeaderName::from_str(name).map_err(|e| {
        BusError::Unavailable(format!("header {name:?} cannot be sent over NATS: {e}"))
    })
}

/// A header value NATS can carry.
pub fn header_value(name: &str, value: &str) -> Result<HeaderValue, BusError> {
    HeaderValue::from_str(value).map_err(|e| {
        BusError::Unavailable(format!(
            "value of header {name:?} cannot be sent over NATS: {e}"
        ))
    })
}

/// A received NATS message as a bus message. Of a header sent several
/// times, the last value wins.
pub fn from_nats(message: async_nats::Message) -> Message {
    let mut headers = BTreeMap::new();
    if let Some(map) = &message.headers {
        for (name, values) in map.iter() {
            if let Some(last) = values.last() {
                headers.insert(name.to_string(), last.as_str().to_owned());
            }
        }
    }
    Message {
        subject: message.subject.to_string(),
        headers,
        payload: message.payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_nats_cannot_carry_are_refused_not_panicked_on() {
        let bad_value = Message::new("omni.inbound.chat", "x").with_header("x-a", "line\nbreak");
        assert!(matches!(
            to_header_map(&bad_value),
            Err(BusError::Unavailable(_))
        ));
        let bad_name = Message::new("omni.inbound.chat", "x").with_header("x:a", "v");
        assert!(matches!(
            to_header_map(&bad_name),
            Err(BusError::Unavailable(_))
        ));
    }

    #[test]
    fn size_counts_payload_and_headers() {
        let message = Message::new("omni.inbound.chat", vec![0u8; 10]).with_header("ab", "cde");
        assert_eq!(message.size(), 10 + 2 + 3 + 4);
    }
}
