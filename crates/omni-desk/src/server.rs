//! The desk's HTTP routes and `serve(listener, desk, limits, shutdown)`.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the agent page |
//! | `GET /assets/...` | the page's modules and styles (and the shared ones of [`omni_web`]) |
//! | `POST /api/session` | sign in `{"user","password"}` → session cookie and `{"account","csrf_token","agent","channels":[{"channel","max_bytes","max_segments"?}]}` |
//! | `DELETE /api/session` | sign out (an agent goes offline) |
//! | `GET /api/me` | the agent's state, `account` and `csrf_token` |
//! | `PUT /api/presence` | `{"presence":"available\|away\|offline","reason"}` |
//! | `POST /api/offers/{offer_id}/accept` / `decline` | settle an offer |
//! | `GET /api/conversations/{id}` | conversation, customer, timeline |
//! | `POST /api/conversations/{id}/messages` | reply `{"text","client_id","channel"?}`; 400 over the channel's limit |
//! | `POST /api/conversations/{id}/resolve` | resolve `{"wrapup_code"?,"note"?,"followup_at_ms"?}` (a code is required when the queue has some); answers the conversation with its scheduled `followup` |
//! | `GET /api/conversations/{id}/customer` | the customer's profile, conversations (`?offset=`) and merges |
//! | `PUT /api/conversations/{id}/customer` | update attributes `{"display_name","language","tier","external_id","attributes"}` |
//! | `POST /api/conversations/{id}/customer/identities` | link `{"kind":"email\|phone","value","evidence","verified"}` |
//! | `POST /api/conversations/{id}/customer/merge` | merge `{"customer_id","evidence"}` into this customer |
//! | `POST /api/conversations/{id}/customer/unmerge` | undo `{"merge_id","reason"}` |
//! | `GET /api/conversations/{id}/messages/{seq}/attachments/{index}` | download an attachment |
//! | `GET /api/customers?email=\|phone=` | find a customer by identity |
//! | `GET /api/events` | live events (WebSocket; the session cookie, `Origin` checked) |
//! | `GET`/`POST /api/admin/accounts`, `PUT /api/admin/accounts/{id}` | accounts (admin) |
//! | `GET /api/admin/audit` | the audit log (admin) |
//! | `GET /api/admin/customers/{id}/export` | everything held about a customer, one JSON document (admin) |
//! | `DELETE /api/admin/customers/{id}` | erase a customer (admin; CSRF token) |
//! | `GET /api/admin/deadletters?channel=&limit=` | replies adapters gave up on, newest first (admin) |
//! | `GET /api/surveys.csv?from=&to=` | scored survey answers of a period as CSV; `&report=rates` the response rates per queue and agent (supervisor) |
//! | `GET /api/wall/surveys` | today's CSAT %, NPS and CES per queue and agent (supervisor) |
//! | `POST /api/conversations/{id}/notes` | an internal note `{"text","client_id"}` (agents only; never sent to the customer) |
//! | `POST /api/conversations/{id}/handover` | the agent transfers their conversation `{"queue"\|"agent","note"?}` |
//! | `GET`/`POST /api/canned`, `PUT`/`DELETE /api/canned/{id}` | canned responses `{"shortcut","title","text","shared"}` (shared: supervisor+) |
//! | `GET /api/desk/settings` | `{"away_reasons":[...],"wrapup_codes":{"queue":[...]}}` |
//! | `GET /wall`, `GET /api/wall`, `/api/wall/day`, `/api/wall/events`, `/api/wall/conversations/{id}/explain` | the supervisor's wall ([`crate::wall_api`], [`crate::wall_events`]) |
//!
//! Who may call each route is in [`crate::access::ACCESS`], enforced by
//! one middleware for every route.
//! | `GET /healthz` | liveness |

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use omni_core::config::LimitsConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;

use omni_web::Asset;

use crate::{
    Desk, access, admin_api, api, canned_api, customer_api, deadletters_api, events, notes_api,
    records_api, session_api, settings_api, supervise_api, surveys_api, wall_api, wall_events,
    wall_surveys,
};

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
        "/assets/desk/account.js",
        include_str!("../assets/desk/account.js"),
    ),
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
    Asset::script(
        "/assets/desk/canned.js",
        include_str!("../assets/desk/canned.js"),
    ),
    Asset::script(
        "/assets/desk/notes.js",
        include_str!("../assets/desk/notes.js"),
    ),
    Asset::script(
        "/assets/desk/wrapup.js",
        include_str!("../assets/desk/wrapup.js"),
    ),
    Asset::script(
        "/assets/desk/presence.js",
        include_str!("../assets/desk/presence.js"),
    ),
    // deskflow
    Asset::script(
        "/assets/desk/alert.js",
        include_str!("../assets/desk/alert.js"),
    ),
    Asset::script(
        "/assets/desk/typing.js",
        include_str!("../assets/desk/typing.js"),
    ),
    Asset::script(
        "/assets/desk/attach.js",
        include_str!("../assets/desk/attach.js"),
    ),
    // deskcx
    Asset::script("/assets/desk/cx.js", include_str!("../assets/desk/cx.js")),
    Asset::script(
        "/assets/desk/followup.js",
        include_str!("../assets/desk/followup.js"),
    ),
    // The supervisor's wall; `wall/main.js` says what each module does.
    Asset::style(
        "/assets/wall/wall.css",
        include_str!("../assets/wall/wall.css"),
    ),
    Asset::script(
        "/assets/wall/main.js",
        include_str!("../assets/wall/main.js"),
    ),
    Asset::script(
        "/assets/wall/board.js",
        include_str!("../assets/wall/board.js"),
    ),
    Asset::script(
        "/assets/wall/chart.js",
        include_str!("../assets/wall/chart.js"),
    ),
    Asset::script(
        "/assets/wall/actions.js",
        include_str!("../assets/wall/actions.js"),
    ),
    Asset::script(
        "/assets/wall/surveys.js",
        include_str!("../assets/wall/surveys.js"),
    ),
    Asset::script(
        "/assets/wall/filter.js",
        include_str!("../assets/wall/filter.js"),
    ),
    // surveyview
    Asset::script(
        "/assets/desk/survey.js",
        include_str!("../assets/desk/survey.js"),
    ),
];

/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest reply body, in bytes: the text and up to 512 KiB of files
/// (the context service's limit) in base64.
pub const MAX_REPLY_BODY_BYTES: usize = 1024 * 1024;

/// The routes, for embedding or testing.
pub fn routes(desk: Arc<Desk>, shutdown: CancellationToken) -> Router {
    let api = Router::new()
        .route(
            "/api/session",
            post(session_api::sign_in).delete(session_api::sign_out),
        )
        .route("/api/me", get(session_api::me))
        .route(
            "/api/admin/accounts",
            get(admin_api::list).post(admin_api::create),
        )
        .route("/api/admin/accounts/{id}", put(admin_api::update))
        .route("/api/admin/audit", get(admin_api::audit))
        .route("/api/admin/customers/{id}/export", get(records_api::export))
        .route("/api/admin/customers/{id}", delete(records_api::erase))
        .route("/api/admin/deadletters", get(deadletters_api::list))
        .route("/api/surveys.csv", get(surveys_api::export))
        .route("/api/wall/surveys", get(wall_surveys::today))
        .route("/api/presence", put(api::set_presence))
        .route("/api/offers/{offer_id}/{action}", post(api::settle_offer))
        .route("/api/conversations/{id}", get(api::conversation))
        // A reply may carry files (base64 in its JSON): its own, larger limit.
        .route(
            "/api/conversations/{id}/messages",
            post(api::reply).layer(DefaultBodyLimit::max(MAX_REPLY_BODY_BYTES)),
        )
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
        .route(
            "/api/agents/{id}/presence",
            put(supervise_api::set_agent_presence),
        )
        .route(
            "/api/conversations/{id}/transfer",
            post(supervise_api::transfer),
        )
        .route("/api/conversations/{id}/notes", post(notes_api::add))
        .route(
            "/api/conversations/{id}/handover",
            post(notes_api::handover),
        )
        .route(
            "/api/canned",
            get(canned_api::list).post(canned_api::create),
        )
        .route(
            "/api/canned/{id}",
            put(canned_api::update).delete(canned_api::delete),
        )
        .route("/api/desk/settings", get(settings_api::get))
        .route("/api/wall", get(wall_api::wall))
        .route("/api/wall/day", get(wall_api::day))
        .route(
            "/api/wall/conversations/{id}/explain",
            get(wall_api::explain),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            Duration::from_secs(15),
        ))
        .with_state(desk.clone());
    let events = Router::new()
        .route("/api/events", get(events::upgrade))
        .route("/api/wall/events", get(wall_events::events))
        .with_state((desk.clone(), shutdown));
    Router::new()
        .route("/", get(page))
        .route("/wall", get(wall_api::page))
        .route("/healthz", get(|| async { "ok" }))
        .merge(omni_web::assets(ASSETS))
        .merge(api)
        .merge(events)
        // One gate for every route, reading the access table.
        .route_layer(axum::middleware::from_fn_with_state(desk, access::gate))
        .fallback(|| async { crate::error::DeskError::NoRoute })
}

async fn page() -> Response {
    // Formatted email shows in sandboxed frames that inherit this policy.
    omni_web::page_with(DESK_PAGE, omni_web::CSP_REMOTE_IMAGES)
}

/// Serves on an already bound `listener` until `shutdown` with
/// [`omni_web::serve`] (header-read timeout, per-address `limits`, security
/// headers, TCP_NODELAY).
pub async fn serve(
    listener: TcpListener,
    desk: Arc<Desk>,
    limits: LimitsConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = routes(desk, shutdown.clone());
    omni_web::serve("desk", listener, app, &limits, shutdown).await
}
