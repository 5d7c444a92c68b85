//! One-click survey links in email (docs/surveys.md, "Email links"): the
//! signed token a link carries, `<public_url>/survey/<token>/<score>`.
//!
//! A token is `<payload>.<tag>`, both base64url without padding: the
//! payload is `v1|<expires_ms>|<conversation id>` (an opaque id, nothing
//! about the customer), the tag its HMAC-SHA256 under `surveys.link_key`.
//! The token names the survey, not the score: one token serves every
//! score's link, and the score in the path is checked against the
//! survey's scale. A token expires when its survey closes (sent +
//! [`SURVEY_OPEN_MS`](crate::service::survey::SURVEY_OPEN_MS)). The tag
//! is checked with `ring::hmac::verify`, which compares in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use omni_core::ConversationId;
use omni_core::time::Millis;
use ring::hmac;

/// The token format's version, first in the payload.
const VERSION: &str = "v1";
/// The longest token accepted, in bytes (a real one is about 120).
pub const MAX_TOKEN_BYTES: usize = 512;

/// What a good token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    /// The surveyed conversation.
    pub conversation: ConversationId,
    /// When the link stops working.
    pub expires_ms: Millis,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token of this format, or its tag does not match.
    #[error("the survey link is not valid")]
    Invalid,
    /// Signed, but past its time.
    #[error("the survey link has expired")]
    Expired,
}

/// The key that signs and checks tokens.
pub struct LinkKey(hmac::Key);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([REDACTED])")
    }
}

impl LinkKey {
    /// A key from the configured secret.
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The token for `conversation`'s survey, good until `expires_ms`.
    pub fn sign(&self, conversation: &ConversationId, expires_ms: Millis) -> String {
        let payload = format!("{VERSION}|{expires_ms}|{conversation}");
        let tag = hmac::sign(&self.0, payload.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// What `token` says, if this key signed it and it has not expired
    /// at `now_ms`.
    pub fn verify(&self, token: &str, now_ms: Millis) -> Result<LinkClaims, LinkError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(LinkError::Invalid);
        }
        let (payload, tag) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Invalid)?;
        hmac::verify(&self.0, &payload, &tag).map_err(|_| LinkError::Invalid)?;
        let payload = String::from_utf8(payload).map_err(|_| LinkError::Invalid)?;
        let mut parts = payload.splitn(3, '|');
        let (Some(VERSION), Some(expires), Some(conversation)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Invalid);
        };
        let expires_ms: Millis = expires.parse().map_err(|_| LinkError::Invalid)?;
        if conversation.is_empty() {
            return Err(LinkError::Invalid);
        }
        if now_ms >= expires_ms {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaims {
            conversation: ConversationId::from(conversation.to_owned()),
            expires_ms,
        })
    }
}

/// Whether `token` is made only of the characters a token has (base64url
/// and the `.`), so it can go into a page or a log line as it is.
pub fn is_token_text(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_BYTES
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_765_000_000_000;

    fn key() -> LinkKey {
        LinkKey::new(b"a-survey-link-key-of-32-bytes-ok")
    }

    #[test]
    fn a_signed_token_names_its_survey_until_it_expires() {
        let conversation = ConversationId::from("conv_0192".to_owned());
        let token = key().sign(&conversation, NOW + 1000);
        assert!(is_token_text(&token), "{token}");
        assert_eq!(
            key().verify(&token, NOW),
            Ok(LinkClaims {
                conversation,
                expires_ms: NOW + 1000
            })
        );
        assert_eq!(key().verify(&token, NOW + 1000), Err(LinkError::Expired));
    }

    #[test]
    fn a_tampered_token_or_another_key_is_refused() {
        let token = key().sign(&ConversationId::from("conv_a".to_owned()), NOW + 1000);
        let other = LinkKey::new(b"another-key-of-at-least-32-bytes");
        assert_eq!(other.verify(&token, NOW), Err(LinkError::Invalid));
        // Another conversation's payload under the first one's tag.
        let (_, tag) = token.split_once('.').expect("two parts");
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(format!("v1|{}|conv_b", NOW + 1000))
        );
        assert_eq!(key().verify(&forged, NOW), Err(LinkError::Invalid));
        // A later expiry under the same tag.
        let later = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(format!("v1|{}|conv_a", NOW + 9_000_000))
        );
        assert_eq!(key().verify(&later, NOW), Err(LinkError::Invalid));
        for bad in ["", ".", "abc", "a.b.c", &token[..token.len() - 2]] {
            assert_eq!(key().verify(bad, NOW), Err(LinkError::Invalid), "{bad:?}");
        }
        assert!(!is_token_text("<script>"));
        assert!(!is_token_text(&"a".repeat(MAX_TOKEN_BYTES + 1)));
    }

    #[test]
    fn the_key_is_never_printed() {
        assert_eq!(format!("{:?}", key()), "LinkKey([REDACTED])");
    }
}
