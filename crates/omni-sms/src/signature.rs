//! Twilio's request signature (`X-Twilio-Signature`).
//!
//! Twilio signs each webhook with HMAC-SHA1 keyed by the account's auth
//! token, over the full URL it called (scheme, host, path and query string)
//! followed, for a form POST, by every parameter sorted by name, each name
//! immediately followed by its value; the header carries the digest in
//! base64. The URL is the public one, so behind a proxy it comes from
//! configuration, not from the request.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

/// The signature Twilio sends for a request to `url` with form `params`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    let tag = hmac::sign(&key, &signed_data(url, params));
    STANDARD.encode(tag.as_ref())
}

/// Whether `signature` (the header value) is Twilio's for this request.
/// The comparison takes the same time wherever the digests differ.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(claimed) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    hmac::verify(&key, &signed_data(url, params), &claimed).is_ok()
}

fn signed_data(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // By name, byte order; a repeated name keeps its values in order too.
    sorted.sort();
    let mut data = url.as_bytes().to_vec();
    for (name, value) in sorted {
        data.extend_from_slice(name.as_bytes());
        data.extend_from_slice(value.as_bytes());
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The worked example of Twilio's webhook security documentation.
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const PUBLISHED: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    fn published_params() -> Vec<(String, String)> {
        // Deliberately not in sorted order.
        pairs(&[
            ("Digits", "1234"),
            ("To", "+18005551212"),
            ("From", "+14158675309"),
            ("Caller", "+14158675309"),
            ("CallSid", "CA1234567890ABCDE"),
        ])
    }

    #[test]
    fn matches_twilios_published_example() {
        assert_eq!(sign("12345", URL, &published_params()), PUBLISHED);
        assert!(verify("12345", URL, &published_params(), PUBLISHED));
    }

    #[test]
    fn any_change_breaks_it() {
        let params = published_params();
        assert!(!verify("12346", URL, &params, PUBLISHED));
        assert!(!verify("12345", &format!("{URL}&x=1"), &params, PUBLISHED));
        assert!(!verify(
            "12345",
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
            PUBLISHED
        ));
        let mut tampered = params.clone();
        tampered[0].1 = "9999".into();
        assert!(!verify("12345", URL, &tampered, PUBLISHED));
        assert!(!verify("12345", URL, &params, ""));
        assert!(!verify("12345", URL, &params, "not base64 at all!"));
    }
}
