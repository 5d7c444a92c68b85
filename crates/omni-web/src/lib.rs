//! The pages' shared browser side: the theme and the common ES module that
//! both the customer chat page and the agent desk load, the one way both
//! servers hand out a page and its static files, and the one way every HTTP
//! server (chat, desk, SMS webhooks) serves: header-read timeout,
//! per-address limits and the security headers.
//!
//! Pages are plain HTML with no inline script or style; their code is
//! static ES modules (no build step) embedded in the binary, so the
//! release binary stays self-contained. Every page and asset goes out with
//! a strict Content-Security-Policy ([`CSP`]): scripts, styles and
//! connections (the WebSocket included) only from the page's own origin.
//!
//! # Layout
//! - [`Asset`]: one embedded file and its content type.
//! - [`SHARED`]: the theme (`/assets/common/theme.css`) and the common
//!   module (`/assets/common/common.js`).
//! - [`page`], [`page_with`] and [`assets`]: the responses and routes,
//!   with [`CSP`] (or [`CSP_REMOTE_IMAGES`] for the desk's email frames).
//! - [`Access`], [`RouteAccess`]: the lines of a part's access table.
//! - [`serve()`] (`serve.rs`): the accept loop every HTTP server runs.
//! - [`client`]: the client's address ([`client::Client`]), from the
//!   forwarded headers of a trusted proxy only.
//! - [`limit`]: per-address connection and request limits, the keyed
//!   [`limit::RateLimit`], and the 429 / close-1008 refusal.
//! - [`headers`]: the security headers of every answer.
//! - [`measure`]: every request counted and timed by route pattern.

#![forbid(unsafe_code)]

pub mod client;
pub mod headers;
pub mod limit;
pub mod measure;
mod serve;

pub use serve::{Peer, serve};

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use omni_core::access::Role;

/// The Content-Security-Policy of every page and asset.
///
/// `'self'` in `connect-src` covers the page's own `ws:`/`wss:` origin
/// (CSP level 3). Images allow `data:` for the empty favicon.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// [`CSP`] with remote images allowed, for a page that shows sanitized
/// email HTML in sandboxed `srcdoc` frames: those frames inherit the
/// page's policy, and whether an email keeps its remote images is the
/// email sanitizer's decision (`email.allow_remote_images`), not the
/// page's. Scripts stay the page's own only.
pub const CSP_REMOTE_IMAGES: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: http: https:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// One embedded static file, served at `path`.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Where it is served, e.g. `/assets/chat/main.js`.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its text.
    pub body: &'static str,
}

impl Asset {
    /// A JavaScript module at `path`.
    pub const fn script(path: &'static str, body: &'static str) -> Self {
        Self {
            path,
            content_type: "text/javascript; charset=utf-8",
            body,
        }
    }

    /// A stylesheet at `path`.
    pub const fn style(path: &'static str, body: &'static str) -> Self {
        Self {
            path,
            content_type: "text/css; charset=utf-8",
            body,
        }
    }

    fn response(&self) -> Response {
        with_headers(self.content_type, self.body, CSP)
    }
}

/// The files both pages load.
pub const SHARED: &[Asset] = &[
    Asset::style(
        "/assets/common/theme.css",
        include_str!("../assets/theme.css"),
    ),
    Asset::script(
        "/assets/common/common.js",
        include_str!("../assets/common.js"),
    ),
];

/// An HTML page with the security headers and [`CSP`].
pub fn page(html: &'static str) -> Response {
    page_with(html, CSP)
}

/// An HTML page with the security headers and the policy `csp`.
pub fn page_with(html: &'static str, csp: &'static str) -> Response {
    with_headers("text/html; charset=utf-8", html, csp)
}

/// Routes serving [`SHARED`] and `own`, each at its path.
pub fn assets<S: Clone + Send + Sync + 'static>(own: &'static [Asset]) -> Router<S> {
    SHARED
        .iter()
        .chain(own)
        .fold(Router::new(), |router, asset| {
            router.route(asset.path, get(move || async move { asset.response() }))
        })
}

fn with_headers(content_type: &'static str, body: &'static str, csp: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(csp),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_allow_only_their_own_scripts() {
        for (csp, response) in [
            (CSP, page("<!doctype html>")),
            (
                CSP_REMOTE_IMAGES,
                page_with("<!doctype html>", CSP_REMOTE_IMAGES),
            ),
        ] {
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_SECURITY_POLICY], csp);
            assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert!(csp.contains("script-src 'self';"), "{csp}");
            assert!(!csp.contains("unsafe"), "{csp}");
        }
    }

    #[test]
    fn shared_files_have_their_content_types() {
        for asset in SHARED {
            let response = asset.response();
            let want = if asset.path.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else {
                "text/css; charset=utf-8"
            };
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                want,
                "{}",
                asset.path
            );
        }
    }
}

/// Who may call an HTTP route of a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the pages, their static files, health, and what a customer
    /// needs before saying who they are. Serves no customer's data.
    Public,
    /// A chat visitor: the WebSocket, where a visitor id (the browser's
    /// credential) selects the visitor's own conversation and nothing else.
    Visitor,
    /// The holder of a signed link (a survey link from email): the token
    /// in the path is the capability, naming one record and nothing else.
    Link,
    /// A signed-in agent, supervisor or admin (a session; without one the
    /// answer is 401).
    Agent,
    /// A signed-in supervisor or admin (an agent gets 403).
    Supervisor,
    /// A signed-in admin (an agent or supervisor gets 403).
    Admin,
}

impl Access {
    /// The least role a route needs, if it needs a signed-in person.
    pub fn role(self) -> Option<Role> {
        match self {
            Access::Public | Access::Visitor | Access::Link => None,
            Access::Agent => Some(Role::Agent),
            Access::Supervisor => Some(Role::Supervisor),
            Access::Admin => Some(Role::Admin),
        }
    }
}

/// One line of a part's access table: a route, who may call it, and why.
#[derive(Debug, Clone, Copy)]
pub struct RouteAccess {
    /// The HTTP method.
    pub method: &'static str,
    /// The path as routed (`{name}` for a path parameter; a trailing `*`
    /// for the embedded files under a prefix).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Why, for the reader of the table.
    pub why: &'static str,
}

impl RouteAccess {
    /// The line of `table` for a request: `method` and the path as routed
    /// (axum's matched path; a file under `/assets/` matches `/assets/*`).
    pub fn find<'a>(
        table: &'a [RouteAccess],
        method: &str,
        routed: &str,
    ) -> Option<&'a RouteAccess> {
        table.iter().find(|r| {
            r.method == method
                && match r.path.strip_suffix('*') {
                    Some(prefix) => routed.starts_with(prefix),
                    None => r.path == routed,
                }
        })
    }

    /// A concrete path for a request to this route (`{name}` becomes `1`,
    /// a trailing `*` the given file), for the route-by-route tests.
    pub fn sample_path(&self, file: &str) -> String {
        let path = self.path.replace('*', file);
        path.split('/')
            .map(|s| if s.starts_with('{') { "1" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    }
}
