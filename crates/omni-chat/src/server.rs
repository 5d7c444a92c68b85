//! The chat adapter's HTTP routes: the page at `/`, its modules and styles
//! under `/assets/` (with the shared ones from [`omni_web`]), the topics a
//! customer can pick at `/topics`, the WebSocket at `/ws`, and `/healthz`.

use std::sync::Arc;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use omni_web::Asset;

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
];

#[derive(Clone)]
struct AppState {
    adapter: Arc<ChatAdapter>,
    shutdown: CancellationToken,
}

/// The routes, for embedding or testing.
pub fn routes(adapter: Arc<ChatAdapter>, shutdown: CancellationToken) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/topics", get(topics))
        .route("/ws", get(upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .merge(omni_web::assets(ASSETS))
        .with_state(AppState { adapter, shutdown })
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

async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    let max = state.adapter.config().chat.max_frame_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| socket::handle(state.adapter, socket, state.shutdown))
}

/// Serves on an already bound `listener` until `shutdown`; open WebSockets
/// are closed with code 1001.
pub async fn serve(
    listener: TcpListener,
    adapter: Arc<ChatAdapter>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = routes(adapter, shutdown.clone());
    axum::serve(listener.tap_io(no_delay), app)
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
