//! The desk's one gate: the access table ([`ACCESS`]) of every route and
//! the middleware ([`gate`]) that enforces it for every request, so no
//! handler checks sessions itself.
//!
//! For a signed-in route the gate reads the session cookie
//! ([`SESSION_COOKIE`]), answers 401 without a valid session and 403 to a
//! role below the route's, requires the session's CSRF token in
//! [`CSRF_HEADER`] on every state-changing method, checks `Origin` on the
//! event WebSocket, and hands the handler a [`Caller`]. Single sign-on
//! headers (`X-Forwarded-User`, `X-Forwarded-Email`) from an address that
//! is not a trusted proxy are logged and removed before any handler sees
//! them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use omni_core::access::Actor;
use omni_store::Session;
use omni_web::{Access, RouteAccess};
use tracing::warn;

use crate::Desk;
use crate::error::DeskError;

/// The session cookie: HttpOnly, Secure, SameSite=Strict.
pub const SESSION_COOKIE: &str = "omni_session";
/// The header every state-changing call carries the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The single sign-on proxy's user header.
pub const SSO_USER: &str = "x-forwarded-user";
/// The single sign-on proxy's email header.
pub const SSO_EMAIL: &str = "x-forwarded-email";

/// Who is calling a signed-in route, as the gate found them.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The person and their role.
    pub actor: Actor,
    /// Their session.
    pub session: Session,
    /// Their display name.
    pub display_name: String,
}

/// The client's address (when the server was started with connect info),
/// set by the gate on every routed request.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The client's address for limits and the audit log: forwarded by a
/// trusted proxy (`limits.trusted_proxies`, see [`omni_web::client`]) or
/// the socket peer.
pub fn client_addr(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<omni_web::client::Client>()
        .map(|c| c.0)
        .or_else(|| client_ip(request))
}

/// The socket peer's address, when the server was started with connect
/// info: what single sign-on trusts (the proxy itself).
pub fn client_ip(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether a method changes state (and so needs the CSRF token).
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware: enforces [`ACCESS`] for the request's route.
pub async fn gate(State(desk): State<Arc<Desk>>, mut request: Request, next: Next) -> Response {
    let from = client_ip(&request);
    let client = client_addr(&request);
    request.extensions_mut().insert(ClientAddr(client));
    let headers = request.headers();
    if (headers.contains_key(SSO_USER) || headers.contains_key(SSO_EMAIL))
        && !from.is_some_and(|ip| desk.accounts().is_trusted_proxy(ip))
    {
        warn!(from = ?from, "single sign-on headers from an untrusted address ignored");
        request.headers_mut().remove(SSO_USER);
        request.headers_mut().remove(SSO_EMAIL);
    }
    let method = match *request.method() {
        Method::HEAD => "GET".to_owned(),
        ref m => m.as_str().to_owned(),
    };
    let routed = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    // A route missing from the table is refused: the table is the truth.
    let Some(line) = RouteAccess::find(ACCESS, &method, &routed) else {
        warn!(%method, path = %routed, "route missing from the access table");
        return DeskError::NoRoute.into_response();
    };
    let Some(needed) = line.access.role() else {
        return next.run(request).await;
    };
    let (headers, method) = (request.headers().clone(), request.method().clone());
    let caller = match admit(&desk, &headers, &method, needed, routed == "/api/events").await {
        Ok(caller) => caller,
        // A page (not the API) sends whoever is not signed in to sign in.
        Err(DeskError::Unauthorized) if !routed.starts_with("/api/") => {
            return axum::response::Redirect::to("/").into_response();
        }
        Err(e) => return e.into_response(),
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

async fn admit(
    desk: &Desk,
    headers: &HeaderMap,
    method: &Method,
    needed: omni_core::access::Role,
    websocket: bool,
) -> Result<Caller, DeskError> {
    let token = cookie(headers, SESSION_COOKIE).ok_or(DeskError::Unauthorized)?;
    let (session, account) = desk
        .accounts()
        .session(token)
        .await?
        .ok_or(DeskError::Unauthorized)?;
    if !account.role.at_least(needed) {
        return Err(DeskError::Forbidden {
            have: account.role,
            need: needed,
        });
    }
    if changes_state(method) {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if sent != Some(session.csrf_token.as_str()) {
            return Err(DeskError::Csrf);
        }
    }
    if websocket && !same_origin(headers) {
        warn!(user = %account.id, origin = ?headers.get(header::ORIGIN), "event socket from another origin refused");
        return Err(DeskError::BadOrigin);
    }
    Ok(Caller {
        actor: Actor::new(account.id.clone(), account.role),
        session,
        display_name: account.display_name,
    })
}

/// Whether `Origin` names this desk (`http(s)://` and the `Host` header).
/// A browser always sends it on a WebSocket handshake; a page of another
/// site cannot fake it.
fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .is_some_and(|o| o.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// The desk's access table: every route, who may call it, and why. The
/// gate ([`gate`]) reads it for every request, and the route-by-route test
/// below holds the routes to it: every signed-in route answers 401 without
/// a session (or with an unknown one) and 403 to a role below its own;
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
        why: "the signed-in person's account, agent state and CSRF token",
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
        why: "a conversation offered or assigned to the agent (a supervisor: any)",
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
        why: "link an identity (assigned; an agent's unverified, a supervisor's verified)",
    },
    RouteAccess {
        method: "POST",
        path: "/api/conversations/{id}/customer/merge",
        access: Access::Supervisor,
        why: "merge another customer into the conversation's customer",
    },
    RouteAccess {
        method: "POST",
        path: "/api/conversations/{id}/customer/unmerge",
        access: Access::Supervisor,
        why: "undo a merge into the conversation's customer",
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
        access: Access::Supervisor,
        why: "find a customer by identity (any customer's profile)",
    },
    RouteAccess {
        method: "PUT",
        path: "/api/agents/{id}/presence",
        access: Access::Supervisor,
        why: "change another agent's presence, with a reason (audited)",
    },
    RouteAccess {
        method: "POST",
        path: "/api/conversations/{id}/transfer",
        access: Access::Supervisor,
        why: "move a waiting or assigned conversation to a queue or an agent (audited)",
    },
    RouteAccess {
        method: "GET",
        path: "/api/events",
        access: Access::Agent,
        why: "the agent's live events (session cookie; Origin checked)",
    },
    RouteAccess {
        method: "GET",
        path: "/api/admin/accounts",
        access: Access::Admin,
        why: "list accounts",
    },
    RouteAccess {
        method: "POST",
        path: "/api/admin/accounts",
        access: Access::Admin,
        why: "create an account",
    },
    RouteAccess {
        method: "PUT",
        path: "/api/admin/accounts/{id}",
        access: Access::Admin,
        why: "change role, name, disable, reset the password",
    },
    RouteAccess {
        method: "GET",
        path: "/api/admin/audit",
        access: Access::Admin,
        why: "the audit log",
    },
    RouteAccess {
        method: "GET",
        path: "/api/admin/customers/{id}/export",
        access: Access::Admin,
        why: "everything held about a customer, as one JSON document (audited)",
    },
    RouteAccess {
        method: "DELETE",
        path: "/api/admin/customers/{id}",
        access: Access::Admin,
        why: "erase a customer from the store and the bus (audited)",
    },
    RouteAccess {
        method: "GET",
        path: "/api/admin/deadletters",
        access: Access::Admin,
        why: "replies adapters gave up on after their last retry, with the customer's text",
    },
    RouteAccess {
        method: "POST",
        path: "/api/conversations/{id}/notes",
        access: Access::Agent,
        why: "an internal note on a conversation assigned to the agent (a supervisor: any)",
    },
    RouteAccess {
        method: "POST",
        path: "/api/conversations/{id}/handover",
        access: Access::Agent,
        why: "the agent transfers a conversation assigned to them, with a note",
    },
    RouteAccess {
        method: "GET",
        path: "/api/canned",
        access: Access::Agent,
        why: "the shared canned responses and the caller's own",
    },
    RouteAccess {
        method: "POST",
        path: "/api/canned",
        access: Access::Agent,
        why: "a personal canned response (a shared one: supervisor or admin, checked in the handler)",
    },
    RouteAccess {
        method: "PUT",
        path: "/api/canned/{id}",
        access: Access::Agent,
        why: "change the caller's own canned response (a shared one: supervisor or admin)",
    },
    RouteAccess {
        method: "DELETE",
        path: "/api/canned/{id}",
        access: Access::Agent,
        why: "delete the caller's own canned response (a shared one: supervisor or admin)",
    },
    RouteAccess {
        method: "GET",
        path: "/api/desk/settings",
        access: Access::Agent,
        why: "the configured away reasons and wrap-up codes",
    },
    // The supervisor's wall.
    RouteAccess {
        method: "GET",
        path: "/wall",
        access: Access::Supervisor,
        why: "the supervisor's wall page (no session: sent to sign in)",
    },
    RouteAccess {
        method: "GET",
        path: "/api/wall",
        access: Access::Supervisor,
        why: "every queue and agent now, with today's numbers",
    },
    RouteAccess {
        method: "GET",
        path: "/api/wall/day",
        access: Access::Supervisor,
        why: "today's numbers per queue in intervals, for the wall's charts",
    },
    RouteAccess {
        method: "GET",
        path: "/api/wall/events",
        access: Access::Supervisor,
        why: "the wall live, as server-sent events (session checked every 5 s)",
    },
    RouteAccess {
        method: "GET",
        path: "/api/wall/conversations/{id}/explain",
        access: Access::Supervisor,
        why: "the router's decisions on any conversation (why this agent)",
    },
    // Survey results.
    RouteAccess {
        method: "GET",
        path: "/api/surveys.csv",
        access: Access::Supervisor,
        why: "the scored survey answers of a period as CSV (customers' comments)",
    },
    RouteAccess {
        method: "GET",
        path: "/api/wall/surveys",
        access: Access::Supervisor,
        why: "today's survey figures per queue and agent, for the wall",
    },
];
