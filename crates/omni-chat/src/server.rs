//! The chat adapter's HTTP routes: the page at `/`, the WebSocket at `/ws`,
//! and `/healthz`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::{ChatAdapter, socket};

const CHAT_PAGE: &str = include_str!("../assets/chat.html");

#[derive(Clone)]
struct AppState {
    adapter: Arc<ChatAdapter>,
    shutdown: CancellationToken,
}

/// The routes, for embedding or testing.
pub fn routes(adapter: Arc<ChatAdapter>, shutdown: CancellationToken) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/ws", get(upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(AppState { adapter, shutdown })
}

async fn page() -> Response {
    ([(header::CACHE_CONTROL, "no-cache")], Html(CHAT_PAGE)).into_response()
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
