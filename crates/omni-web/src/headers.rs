//! The security headers of every answer of the HTTP servers, pages, API,
//! errors and 404s alike: framing forbidden (`X-Frame-Options: DENY` and
//! CSP `frame-ancestors 'none'`), no referrer, no content sniffing, and a
//! Content-Security-Policy: a page's own ([`crate::CSP`]) when it set one,
//! else [`API_CSP`], which allows nothing.

use axum::http::{HeaderName, HeaderValue, header};
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of an answer that is not a page (JSON, text, errors): it
/// loads nothing and may not be framed.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The headers, and whether a page's own value wins.
pub const HEADERS: &[(HeaderName, &str, bool)] = &[
    (header::CONTENT_SECURITY_POLICY, API_CSP, false),
    (header::X_FRAME_OPTIONS, "DENY", true),
    (header::REFERRER_POLICY, "no-referrer", true),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff", true),
];

type SetHeader = SetResponseHeaderLayer<HeaderValue>;

/// The layer that sets [`HEADERS`] on every response.
pub fn layer() -> ServiceBuilder<
    Stack<SetHeader, Stack<SetHeader, Stack<SetHeader, Stack<SetHeader, Identity>>>>,
> {
    let set = |(name, value, overriding): &(HeaderName, &'static str, bool)| {
        let value = HeaderValue::from_static(value);
        if *overriding {
            SetResponseHeaderLayer::overriding(name.clone(), value)
        } else {
            SetResponseHeaderLayer::if_not_present(name.clone(), value)
        }
    };
    ServiceBuilder::new()
        .layer(set(&HEADERS[0]))
        .layer(set(&HEADERS[1]))
        .layer(set(&HEADERS[2]))
        .layer(set(&HEADERS[3]))
}
