//! The security headers of every answer of the HTTP servers, pages, API,
//! errors and 404s alike: framing forbidden (`X-Frame-Options: DENY` and
//! CSP `frame-ancestors 'none'`), no referrer, no content sniffing, and a
//! Content-Security-Policy: a page's own ([`crate::CSP`]) when it set one,
//! else [`API_CSP`], which allows nothing.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of an answer that is not a page (JSON, text, errors): it
/// loads nothing and may not be framed.
pub const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The headers, and whether a page's own value wins.
pub const HEADERS: &[(HeaderName, &str, bool)] = &[
    (header::CONTENT_SECURITY_POLICY, API_CSP, false),
    (header::X_FRAME_OPTIONS, "DENY", true),
    (header::REFERRER_POLICY, "no-referrer", true),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff", true),
];

/// `router` with [`HEADERS`] set on every response (its fallback's too).
pub fn apply(router: Router) -> Router {
    HEADERS
        .iter()
        .fold(router, |router, (name, value, overriding)| {
            let value = HeaderValue::from_static(value);
            let layer = if *overriding {
                SetResponseHeaderLayer::overriding(name.clone(), value)
            } else {
                SetResponseHeaderLayer::if_not_present(name.clone(), value)
            };
            router.layer(layer)
        })
}
