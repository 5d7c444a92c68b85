//! The chat adapter's HTTP routes: the page at `/`, its modules and styles
//! under `/assets/` (with the shared ones from [`omni_web`]), the topics a
//! customer can pick at `/topics`, the WebSocket at `/ws`, `/healthz`,
//! survey links at `/survey/{token}/{score}` ([`crate::survey`]);
//! the embeddable widget's routes ([`crate::widget`]) and customers' files
//! at `/attachments` ([`crate::upload`]).

use std::sync::Arc;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::{Extensions, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use omni_web::{Access, Asset, Peer, RouteAccess};

use crate::bounds::Bounds;
use crate::{ChatAdapter, socket};

const CHAT_PAGE: &str = include_str!("../assets/chat.html");

/// The page's own files, embedded.
const ASSETS: &[Asset] = &[
    Asset::style(
        "/assets/chat/chat.css",
        include_str!("../assets/chat/chat.css"),
    ),
    Asset::script(
        "/assets/chat/main.js",
        include_str!("../assets/chat/main.js"),
    ),
    Asset::script("/assets/chat/log.js", include_str!("../assets/chat/log.js")),
    Asset::script(
        "/assets/chat/pending.js",
        include_str!("../assets/chat/pending.js"),
    ),
    Asset::script(
        "/assets/chat/socket.js",
        include_str!("../assets/chat/socket.js"),
    ),
    Asset::script(
        "/assets/chat/receipts.js",
        include_str!("../assets/chat/receipts.js"),
    ),
    Asset::script(
        "/assets/chat/status.js",
        include_str!("../assets/chat/status.js"),
    ),
    Asset::script(
        "/assets/chat/topics.js",
        include_str!("../assets/chat/topics.js"),
    ),
    Asset::script(
        "/assets/chat/i18n.js",
        include_str!("../assets/chat/i18n.js"),
    ),
    Asset::script(
        "/assets/chat/i18n/en.js",
        include_str!("../assets/chat/i18n/en.js"),
    ),
    Asset::script(
        "/assets/chat/i18n/es.js",
        include_str!("../assets/chat/i18n/es.js"),
    ),
    Asset::script(
        "/assets/chat/i18n/fr.js",
        include_str!("../assets/chat/i18n/fr.js"),
    ),
    Asset::script(
        "/assets/chat/i18n/de.js",
        include_str!("../assets/chat/i18n/de.js"),
    ),
    Asset::script(
        "/assets/chat/site.js",
        include_str!("../assets/chat/site.js"),
    ),
    Asset::script(
        "/assets/chat/attach.js",
        include_str!("../assets/chat/attach.js"),
    ),
    Asset::script(
        "/assets/chat/typing.js",
        include_str!("../assets/chat/typing.js"),
    ),
    Asset::script(
        "/assets/chat/options.js",
        include_str!("../assets/chat/options.js"),
    ),
];

/// The chat's access table: every route, who may call it, and why. The
/// customer is anonymous until the WebSocket's `hello`, so everything but
/// the socket is public, and serves no customer's data; the test below
/// holds the routes to it.
pub const ACCESS: &[RouteAccess] = &[
    RouteAccess {
        method: "GET",
        path: "/",
        access: Access::Public,
        why: "the chat page",
    },
    RouteAccess {
        method: "GET",
        path: "/assets/*",
        access: Access::Public,
        why: "the page's embedded modules and styles",
    },
    RouteAccess {
        method: "GET",
        path: "/topics",
        access: Access::Public,
        why: "the configured topics' ids and names, for the menu before hello",
    },
    RouteAccess {
        method: "GET",
        path: "/healthz",
        access: Access::Public,
        why: "liveness for the orchestrator",
    },
    RouteAccess {
        method: "GET",
        path: "/ws",
        access: Access::Visitor,
        why: "the customer's socket: the visitor id selects their own conversation only",
    },
    RouteAccess {
        method: "GET",
        path: "/widget.js",
        access: Access::Public,
        why: "the script a website embeds: a launcher and the chat's frame",
    },
    RouteAccess {
        method: "GET",
        path: "/widget/frame",
        access: Access::Public,
        why: "the chat page for a configured site, frameable by its origins only",
    },
    RouteAccess {
        method: "GET",
        path: "/widget/site",
        access: Access::Public,
        why: "a configured site's look, greeting and topic labels",
    },
    RouteAccess {
        method: "GET",
        path: "/survey/{token}/{score}",
        access: Access::Link,
        why: "a survey link from email: shows the choice; the signed token names one survey, records nothing",
    },
    RouteAccess {
        method: "POST",
        path: "/survey/{token}/{score}",
        access: Access::Link,
        why: "the survey page's form: records the score of the survey the signed token names; same-origin only",
    },
    RouteAccess {
        method: "POST",
        path: "/attachments",
        access: Access::Visitor,
        why: "a customer's file into their own conversation; the visitor must have a page connected",
    },
];

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) adapter: Arc<ChatAdapter>,
    pub(crate) bounds: Arc<Bounds>,
    shutdown: CancellationToken,
}

/// The routes, for embedding or testing.
pub fn routes(adapter: Arc<ChatAdapter>, shutdown: CancellationToken) -> Router {
    let bounds = Arc::new(Bounds::new(&adapter.config().limits));
    routes_with(adapter, bounds, shutdown)
}

fn routes_with(
    adapter: Arc<ChatAdapter>,
    bounds: Arc<Bounds>,
    shutdown: CancellationToken,
) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/topics", get(topics))
        .route("/ws", get(upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/widget.js", get(crate::widget::script))
        .route("/widget/frame", get(crate::widget::frame))
        .route("/widget/site", get(crate::widget::site))
        .route("/attachments", post(crate::upload::upload))
        .route(
            "/survey/{token}/{score}",
            get(crate::survey::show).post(crate::survey::answer),
        )
        .merge(omni_web::assets(ASSETS))
        .with_state(AppState {
            adapter,
            bounds,
            shutdown,
        })
}

async fn page() -> Response {
    omni_web::page(CHAT_PAGE)
}

/// The configured topics, `[{"id":"sales","name":"Sales"},…]`.
async fn topics(State(state): State<AppState>) -> Response {
    let mut response = Json(crate::topics::list(state.adapter.config())).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn upgrade(
    State(state): State<AppState>,
    extensions: Extensions,
    ws: WebSocketUpgrade,
) -> Response {
    let max = state.adapter.config().chat.max_frame_bytes;
    let peer = peer(&extensions);
    let bounds = state.bounds;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            socket::handle(
                state.adapter,
                socket,
                socket::Limits { peer, bounds },
                state.shutdown,
            )
        })
}

/// The client's address, as the chat's bounds count it: set by
/// `omni_web::serve`; absent only when the routes are called in-process.
pub(crate) fn peer(extensions: &Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<omni_web::client::Client>()
        .map(|c| c.0)
        .or_else(|| extensions.get::<Peer>().map(|p| p.0.ip()))
        .map(omni_web::limit::address)
}

/// Serves on an already bound `listener` until `shutdown` with
/// [`omni_web::serve`] (header-read timeout, per-address limits, security
/// headers, TCP_NODELAY); open WebSockets are closed with code 1001.
pub async fn serve(
    listener: TcpListener,
    adapter: Arc<ChatAdapter>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = adapter.config().limits.clone();
    let bounds = Arc::new(Bounds::new(&limits));
    let forget = bounds.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        while stop.run_until_cancelled(every.tick()).await.is_some() {
            forget.forget_idle();
        }
    });
    let app = routes_with(adapter, bounds, shutdown.clone());
    omni_web::serve("chat", listener, app, &limits, shutdown).await
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use omni_bus::{Bus as _, EmbeddedBus};
    use omni_core::config::Config;
    use tonic::transport::Endpoint;
    use tower::ServiceExt as _;

    use super::*;

    async fn get(app: &Router, path: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("answer");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn every_route_keeps_to_the_access_table() {
        let dir = tempfile::tempdir().expect("dir");
        let bus = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
        let context = omni_proto::auth::WithToken::new(
            Endpoint::from_static("http://127.0.0.1:9").connect_lazy(),
            &"unused-token-0123456789".into(),
        )
        .expect("token");
        let mut config = Config::default();
        config.chat.sites.insert(
            "acme".into(),
            omni_core::config::SiteConfig {
                origins: vec!["https://shop.example".into()],
                ..Default::default()
            },
        );
        let config = Arc::new(config);
        let app = routes(
            ChatAdapter::new(bus.clone(), context, config.clone()),
            CancellationToken::new(),
        );
        for route in ACCESS {
            let mut path = route.sample_path("chat/main.js");
            if route.path.starts_with("/widget/") {
                path.push_str("?site=acme");
            }
            let (status, body) = get(&app, &path).await;
            match route.access {
                Access::Public => assert_eq!(status, StatusCode::OK, "{path}"),
                // Not a WebSocket handshake: refused before any visitor is known.
                Access::Visitor => assert!(status.is_client_error(), "{path}: {status}"),
                // No signed link (and links off by default): refused.
                Access::Link => assert!(status.is_client_error(), "{path}: {status}"),
                Access::Agent | Access::Supervisor | Access::Admin => {
                    panic!("the chat has no signed-in route: {path}")
                }
            }
            if route.path == "/topics" {
                // Only the configuration's topic ids and names.
                let topics: Vec<serde_json::Value> = serde_json::from_str(&body).expect("json");
                assert_eq!(topics.len(), config.context.topics.len(), "{body}");
                for t in topics {
                    let keys: Vec<&String> = t.as_object().expect("object").keys().collect();
                    assert!(keys.iter().all(|k| *k == "id" || *k == "name"), "{t}");
                }
            }
        }
        assert_eq!(get(&app, "/api/me").await.0, StatusCode::NOT_FOUND);
        // The widget's routes refuse what is not configured.
        assert_eq!(
            get(&app, "/widget/frame?site=other").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(get(&app, "/widget/site").await.0, StatusCode::NOT_FOUND);
        bus.close().await;
    }
}
