//! The embeddable widget's routes: `/widget.js`, the one script a website
//! adds (a launcher button and the chat in a frame, in a shadow root so
//! the host page's styles and the widget's never mix); `/widget/frame`,
//! the chat page for a site's frame, with `frame-ancestors` naming the
//! site's origins; `/widget/site`, the site's look and text in a language.
//! An unknown site or a framing page of another origin is refused with a
//! clear error and a log line (see [`crate::sites`]).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use omni_core::error_body::ErrorBody;
use tracing::{info, warn};

use crate::server::AppState;
use crate::sites::{self, SiteRefused};

/// The script a website embeds.
pub const WIDGET_JS: &str = include_str!("../assets/widget.js");

const CHAT_PAGE: &str = include_str!("../assets/chat.html");

/// The page a refused frame shows: no script, just why.
const REFUSED_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Chat unavailable</title></head><body><main><h1>Chat unavailable</h1><p>";

fn status_of(refused: &SiteRefused) -> StatusCode {
    match refused {
        SiteRefused::UnknownSite(_) => StatusCode::NOT_FOUND,
        SiteRefused::OriginNotAllowed { .. } => StatusCode::FORBIDDEN,
    }
}

/// `GET /widget.js`: served to any page (it is public and loads nothing
/// by itself but the site's frame).
pub async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                HeaderValue::from_static("cross-origin"),
            ),
        ],
        WIDGET_JS,
    )
        .into_response()
}

/// `GET /widget/frame?site=<id>[&lang=<l>]`: the chat page, frameable by
/// the site's origins only.
pub(crate) async fn frame(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let config = state.adapter.config();
    let id = query.get("site").map(String::as_str);
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok());
    let site = match sites::for_frame(config, id, referer) {
        Ok(site) => site,
        Err(refused) => {
            warn!(
                site = %id.unwrap_or_default().chars().take(40).collect::<String>(),
                referer = %referer.unwrap_or_default().chars().take(200).collect::<String>(),
                code = refused.code(),
                "chat widget frame refused"
            );
            let text = refused.to_string();
            let escaped = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            let page = format!("{REFUSED_PAGE}{escaped}</p></main></body></html>");
            let mut response = (status_of(&refused), page).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            return response;
        }
    };
    info!(site = %id.unwrap_or_default(), "chat widget frame served");
    let csp = sites::frame_csp(site);
    let mut response = omni_web::page(CHAT_PAGE);
    match HeaderValue::from_str(&csp) {
        Ok(value) => {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
        // Origins are checked at load; a value that is no header keeps
        // the page unframeable rather than open.
        Err(e) => warn!(error = %e, "chat widget frame policy is not a header value"),
    }
    response
}

/// `GET /widget/site?site=<id>[&lang=<l>]`: the site's look and its text
/// in `lang` (else its default language), for the framed page and, across
/// origins (CORS), for the widget script on the site's own pages only.
pub(crate) async fn site(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let config = state.adapter.config();
    let id = query.get("site").map(String::as_str);
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let found = sites::find(config, id).and_then(|site| match origin {
        Some(o) if !site.allows(o) => Err(SiteRefused::OriginNotAllowed {
            site: id.unwrap_or_default().to_owned(),
            origin: o.chars().take(200).collect(),
        }),
        _ => Ok(site),
    });
    match found {
        Ok(site) => {
            let view = sites::view(
                config,
                id.unwrap_or_default(),
                site,
                query.get("lang").map(String::as_str),
            );
            let mut response = Json(view).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            if let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
                headers.insert(header::VARY, HeaderValue::from_static("origin"));
            }
            response
        }
        Err(refused) => {
            warn!(
                site = %id.unwrap_or_default().chars().take(40).collect::<String>(),
                origin = %origin.unwrap_or_default().chars().take(200).collect::<String>(),
                code = refused.code(),
                "chat widget site refused"
            );
            (
                status_of(&refused),
                Json(ErrorBody::new(refused.code(), refused.to_string())),
            )
                .into_response()
        }
    }
}
