//! A signed request's signature, both ways (the webhook channel's requests
//! and replies, and the turns POSTed to a webhook bot): `X-Omni-Timestamp`
//! (Unix seconds) and `X-Omni-Signature: v1=<hex>`, the HMAC-SHA256 of
//! `"<timestamp>.<body>"` keyed by the shared key.
//!
//! Signing the timestamp with the body lets the receiver refuse a replayed
//! request once the timestamp is older than its tolerance. During a key
//! rotation two keys are active: a request verifies under either.

use ring::hmac;

/// The timestamp header.
pub const TIMESTAMP: &str = "x-omni-timestamp";
/// The signature header.
pub const SIGNATURE: &str = "x-omni-signature";

/// The two headers that sign `body` with `key`, sent at `timestamp` (Unix
/// seconds): what the webhook sends with a reply and an app with its
/// requests.
pub fn headers(key: &[u8], timestamp: i64, body: &[u8]) -> [(&'static str, String); 2] {
    let timestamp = timestamp.to_string();
    let signed = sign(key, &timestamp, body);
    [(TIMESTAMP, timestamp), (SIGNATURE, signed)]
}

/// The `X-Omni-Signature` value for `body` sent at `timestamp`.
pub fn sign(key: &[u8], timestamp: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, &signed_data(timestamp, body));
    format!("v1={}", hex(tag.as_ref()))
}

/// Whether `header` carries a `v1=` signature of `body` at `timestamp`
/// under one of `keys` (empty keys are skipped). The comparison takes the
/// same time wherever the digests differ.
pub fn verify(keys: &[&[u8]], timestamp: &str, body: &[u8], header: &str) -> bool {
    let data = signed_data(timestamp, body);
    // Several `v1=` values may be sent, comma-separated (one per active key).
    header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(unhex)
        .any(|claimed| {
            keys.iter().filter(|k| !k.is_empty()).any(|key| {
                hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), &data, &claimed).is_ok()
            })
        })
}

/// Why a timestamp is refused: `Some(reason)` when it is not a number or
/// lies more than `tolerance_secs` away from `now_secs`.
pub fn stale(timestamp: &str, now_secs: i64, tolerance_secs: u64) -> Option<String> {
    let Ok(at) = timestamp.trim().parse::<i64>() else {
        return Some(format!("timestamp {timestamp:?} is not Unix seconds"));
    };
    let skew = now_secs.saturating_sub(at).unsigned_abs();
    (skew > tolerance_secs).then(|| {
        format!("timestamp {at} is {skew} s away from now, more than the tolerance of {tolerance_secs} s")
    })
}

fn signed_data(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(timestamp.len() + 1 + body.len());
    data.extend_from_slice(timestamp.as_bytes());
    data.push(b'.');
    data.extend_from_slice(body);
    data
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"app-signing-key-0001";
    const OLD: &[u8] = b"app-signing-key-0000";

    #[test]
    fn matches_hmac_sha256_of_timestamp_dot_body() {
        let direct = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, KEY), b"1700000000.{}");
        assert_eq!(
            sign(KEY, "1700000000", b"{}"),
            format!("v1={}", hex(direct.as_ref()))
        );
        // RFC 4231 test case 2, through the hex encoding.
        let rfc = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"Jefe"),
            b"what do ya want for nothing?",
        );
        assert_eq!(
            hex(rfc.as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn either_active_key_verifies_and_any_change_breaks_it() {
        let body = br#"{"message_id":"m1"}"#;
        let new = sign(KEY, "1700000000", body);
        let old = sign(OLD, "1700000000", body);
        let keys: [&[u8]; 2] = [KEY, OLD];
        assert!(verify(&keys, "1700000000", body, &new));
        assert!(
            verify(&keys, "1700000000", body, &old),
            "the previous key still verifies"
        );
        assert!(verify(&keys, "1700000000", body, &format!("v1=00, {new}")));
        assert!(
            !verify(&[KEY], "1700000000", body, &old),
            "a removed key no longer verifies"
        );
        assert!(
            !verify(&keys, "1700000001", body, &new),
            "the timestamp is signed"
        );
        assert!(!verify(
            &keys,
            "1700000000",
            br#"{"message_id":"m2"}"#,
            &new
        ));
        assert!(!verify(
            &keys,
            "1700000000",
            body,
            new.trim_start_matches("v1=")
        ));
        assert!(!verify(&keys, "1700000000", body, "v1=zz"));
        assert!(!verify(
            &[b"", b""],
            "1700000000",
            body,
            &sign(b"", "1700000000", body)
        ));
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_stale_both_ways() {
        assert_eq!(stale("1000", 1000, 300), None);
        assert_eq!(stale("700", 1000, 300), None);
        assert!(stale("699", 1000, 300).is_some_and(|r| r.contains("301 s")));
        assert!(stale("1301", 1000, 300).is_some(), "from the future too");
        assert!(stale("yesterday", 1000, 300).is_some_and(|r| r.contains("not Unix seconds")));
    }
}
