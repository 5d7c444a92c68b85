//! The desk's HTTP routes and `serve(listener, shutdown)`.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the agent page |
//! | `GET /assets/...` | the page's modules and styles (and the shared ones of [`omni_web`]) |
//! | `POST /api/session` | sign in `{"agent_id"}` → `{"token","agent","channels":[{"channel","max_bytes","max_segments"?}]}` |
//! | `DELETE /api/session` | sign out (goes offline) |
//! | `GET /api/me` | the agent's state |
//! | `PUT /api/presence` | `{"presence":"available\|away\|offline","reason"}` |
//! | `POST /api/offers/{offer_id}/accept` / `decline` | settle an offer |
//! | `GET /api/conversations/{id}` | conversation, customer, timeline |
//! | `POST /api/conversations/{id}/messages` | reply `{"text","client_id","channel"?}`; 400 over the channel's limit |
//! | `POST /api/conversations/{id}/resolve` | resolve |
//! | `GET /api/conversations/{id}/customer` | the customer's profile, conversations (`?offset=`) and merges |
//! | `PUT /api/conversations/{id}/customer` | update attributes `{"display_name","language","tier","external_id","attributes"}` |
//! | `POST /api/conversations/{id}/customer/identities` | link `{"kind":"email\|phone","value","evidence","verified"}` |
//! | `POST /api/conversations/{id}/customer/merge` | merge `{"customer_id","evidence"}` into this customer |
//! | `POST /api/conversations/{id}/customer/unmerge` | undo `{"merge_id","reason"}` |
//! | `GET /api/conversations/{id}/messages/{seq}/attachments/{index}` | download an attachment |
//! | `GET /api/customers?email=\|phone=` | find a customer by identity |
//! | `GET /api/events?token=` | live events (WebSocket) |
//! | `GET /healthz` | liveness |
//! | `GET /metrics` | Prometheus metrics of the parts in this process |

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::serve::ListenerExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;

use omni_web::{Access, Asset, RouteAccess};

use crate::{Desk, api, customer_api, events};

const DESK_PAGE: &str = include_str!("../assets/desk.html");

/// The page's own files, embedded; `main.js` says what each module does.
const ASSETS: &[Asset] = &[
    Asset::style(
        "/assets/desk/desk.css",
        include_str!("../assets/desk/desk.css"),
    ),
    Asset::script(
        "/assets/desk/main.js",
        include_str!("../assets/desk/main.js"),
    ),
    Asset::script("/assets/desk/api.js", include_str!("../assets/desk/api.js")),
    Asset::script(
        "/assets/desk/conversations.js",
        include_str!("../assets/desk/conversations.js"),
    ),
    Asset::script("/assets/desk/dom.js", include_str!("../assets/desk/dom.js")),
    Asset::script(
        "/assets/desk/events.js",
        include_str!("../assets/desk/events.js"),
    ),
    Asset::script(
        "/assets/desk/feedback.js",
        include_str!("../assets/desk/feedback.js"),
    ),
    Asset::script(
        "/assets/desk/header.js",
        include_str!("../assets/desk/header.js"),
    ),
    Asset::script(
        "/assets/desk/offers.js",
        include_str!("../assets/desk/offers.js"),
    ),
    Asset::script(
        "/assets/desk/profile.js",
        include_str!("../assets/desk/profile.js"),
    ),
    Asset::script(
        "/assets/desk/reply.js",
        include_str!("../assets/desk/reply.js"),
    ),
    Asset::script("/assets/desk/sms.js", include_str!("../assets/desk/sms.js")),
    Asset::script(
        "/assets/desk/state.js",
        include_str!("../assets/desk/state.js"),
    ),
    Asset::script(
        "/assets/desk/timeline.js",
        include_str!("../assets/desk/timeline.js"),
    ),
    Asset::script(
        "/assets/desk/view.js",
        include_str!("../assets/desk/view.js"),
    ),
];

/// The desk's access table: every route, who may call it, and why. The
/// route-by-route test below holds the routes to it: every `Agent` route
/// answers 401 to a caller without a session (or with an unknown token),
/// every `Public` one answers without credentials.
pub const ACCESS: &[RouteAccess] = &[
    RouteAccess {
        method: "GET",
        path: "/",
        access: Access::Public,
        why: "the sign-in page",
    },
    RouteAccess {
        method: "GET",
        path: "/assets/*",
        access: Access::Public,
        why: "the page's embedded modules and styles",
    },
    RouteAccess {
        method: "GET",
        path: "/healthz",
        access: Access::Public,
        why: "liveness for the orchestrator",
    },
    RouteAccess {
        method: "GET",
        path: "/metrics",
        access: Access::Public,
        why: "Prometheus scrape (counts, no customer data)",
    },
    RouteAccess {
        method: "POST",
        path: "/api/session",
        access: Access::Public,
        why: "sign in",
    },
    RouteAccess {
        method: "DELETE",
        path: "/api/session",
        access: Access::Agent,
        why: "sign out",
    },
    RouteAccess {
        method: "GET",
        path: "/api/me",
        access: Access::Agent,
        why: "the agent's own state",
    },
    RouteAccess {
        method: "PUT",
        path: "/api/presence",
        access: Access::Agent,
        why: "the agent's own presence",
    },
    RouteAccess {
        method: "POST",
        path: "/api/offers/{offer_id}/{action}",
        access: Access::Agent,
        why: "the agent's own offers",
    },
    RouteAccess {
        method: "GET",
        path: "/api/conversations/{id}",
        access: Access::Agent,
        why: "a conversation offered or assigned to the agent",
    },
    RouteAccess {
        method: "POST",
        path: "/api/conversations/{id}/messages",
        access: Access::Agent,
        why: "reply in an assigned conversation",
    },
    RouteAccess {
        method: "POST",
        path: "/api/conversations/{id}/resolve",
        access: Access::Agent,
        why: "resolve an assigned conversation",
    },
    RouteAccess {
        method: "GET",
        path: "/api/conversations/{id}/customer",
        access: Access::Agent,
        why: "the customer of a conversation offered or assigned",
    },
    RouteAccess {
        method: "PUT",
        path: "/api/conversations/{id}/customer",
        access: Access::Agent,
        why: "edit that customer (assigned)",
    },
    RouteAccess {
        method: "POST",
        path: "/api/conversations/{id}/customer/identities",
        access: Access::Agent,
        why: "link an identity (assigned)",
    },
    RouteAccess {
        method: "POST",
        path: "/api/conversations/{id}/customer/merge",
        access: Access::Agent,
        why: "merge customers (assigned)",
    },
    RouteAccess {
        method: "POST",
        path: "/api/conversations/{id}/customer/unmerge",
        access: Access::Agent,
        why: "undo a merge (assigned)",
    },
    RouteAccess {
        method: "GET",
        path: "/api/conversations/{id}/messages/{seq}/attachments/{index}",
        access: Access::Agent,
        why: "an attachment of such a conversation",
    },
    RouteAccess {
        method: "GET",
        path: "/api/customers",
        access: Access::Agent,
        why: "find a customer by identity",
    },
    RouteAccess {
        method: "GET",
        path: "/api/events",
        access: Access::Agent,
        why: "the agent's live events (token in the query)",
    },
];

/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The routes, for embedding or testing.
pub fn routes(desk: Arc<Desk>, shutdown: CancellationToken) -> Router {
    let api = Router::new()
        .route("/api/session", post(api::sign_in).delete(api::sign_out))
        .route("/api/me", get(api::me))
        .route("/api/presence", put(api::set_presence))
        .route("/api/offers/{offer_id}/{action}", post(api::settle_offer))
        .route("/api/conversations/{id}", get(api::conversation))
        .route("/api/conversations/{id}/messages", post(api::reply))
        .route("/api/conversations/{id}/resolve", post(api::resolve))
        .route(
            "/api/conversations/{id}/customer",
            get(customer_api::get_profile).put(customer_api::update_profile),
        )
        .route(
            "/api/conversations/{id}/customer/identities",
            post(customer_api::link_identity),
        )
        .route(
            "/api/conversations/{id}/customer/merge",
            post(customer_api::merge),
        )
        .route(
            "/api/conversations/{id}/customer/unmerge",
            post(customer_api::unmerge),
        )
        .route(
            "/api/conversations/{id}/messages/{seq}/attachments/{index}",
            get(customer_api::attachment),
        )
        .route("/api/customers", get(customer_api::find))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            Duration::from_secs(15),
        ))
        .with_state(desk.clone());
    let events = Router::new()
        .route("/api/events", get(events::upgrade))
        .with_state((desk, shutdown));
    Router::new()
        .route("/", get(page))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .merge(omni_web::assets(ASSETS))
        .merge(api)
        .merge(events)
        .fallback(|| async { crate::error::DeskError::NoRoute })
}

/// Prometheus metrics of every part in this process.
async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        omni_telemetry::metrics::render(),
    )
        .into_response()
}

async fn page() -> Response {
    // Formatted email shows in sandboxed frames that inherit this policy.
    omni_web::page_with(DESK_PAGE, omni_web::CSP_REMOTE_IMAGES)
}

/// Serves on an already bound `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    desk: Arc<Desk>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener.tap_io(no_delay), routes(desk, shutdown.clone()))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// Small frames go out at once: without this, Nagle's algorithm and delayed
/// ACKs hold interactive WebSocket frames for ~40 ms.
fn no_delay(stream: &mut TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::warn!(error = %e, "cannot set TCP_NODELAY");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tonic::transport::Endpoint;
    use tower::ServiceExt as _;

    use super::*;

    fn desk_without_backends() -> Router {
        // Nothing listens there: a request that got past the access check
        // and reached a backend would fail with 503, not 401.
        let channel = || {
            let lazy = Endpoint::from_static("http://127.0.0.1:9").connect_lazy();
            omni_proto::auth::WithToken::new(lazy, &"unused-token-0123456789".into())
                .expect("token")
        };
        let desk = Arc::new(Desk::new(channel(), channel(), HashMap::new()));
        routes(desk, CancellationToken::new())
    }

    async fn status(app: &Router, method: &str, path: &str, token: Option<&str>) -> StatusCode {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = if method == "GET" || method == "DELETE" {
            Body::empty()
        } else {
            request = request.header("content-type", "application/json");
            Body::from("{}")
        };
        app.clone()
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("answer")
            .status()
    }

    #[tokio::test]
    async fn every_route_keeps_to_the_access_table() {
        let app = desk_without_backends();
        for route in ACCESS {
            let path = route.sample_path("desk/main.js");
            match route.access {
                Access::Agent if route.path == "/api/events" => {
                    // A WebSocket: without a token (or with an unknown one)
                    // the upgrade is refused before it starts.
                    for query in ["", "?token=unknown"] {
                        let got = status(&app, route.method, &format!("{path}{query}"), None).await;
                        assert!(
                            got.is_client_error(),
                            "{} {path}{query}: {got}",
                            route.method
                        );
                    }
                }
                Access::Agent => {
                    for token in [None, Some("unknown")] {
                        let got = status(&app, route.method, &path, token).await;
                        assert_eq!(
                            got,
                            StatusCode::UNAUTHORIZED,
                            "{} {path} with {token:?}",
                            route.method
                        );
                    }
                }
                Access::Public => {
                    let got = status(&app, route.method, &path, None).await;
                    assert_ne!(got, StatusCode::UNAUTHORIZED, "{} {path}", route.method);
                    assert_ne!(
                        got,
                        StatusCode::NOT_FOUND,
                        "{} {path} is not routed",
                        route.method
                    );
                }
                Access::Visitor => panic!("the desk has no visitor route: {}", route.path),
            }
        }
    }

    #[tokio::test]
    async fn a_path_outside_the_table_is_not_found() {
        let app = desk_without_backends();
        assert_eq!(
            status(&app, "GET", "/api/agents", None).await,
            StatusCode::NOT_FOUND
        );
    }
}
