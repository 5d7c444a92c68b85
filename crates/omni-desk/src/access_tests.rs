//! The route-by-route test of the access table, for every role: without a
//! session 401, with a role below the route's 403, with the route's role
//! (or higher) past the gate; a state-changing call without the CSRF token
//! 403; a path outside the table 404.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use omni_accounts::{Accounts, NewAccount};
use omni_core::access::Role;
use omni_core::config::AuthConfig;
use omni_store::EmbeddedStore;
use omni_web::Access;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;
use tower::ServiceExt as _;

use crate::Desk;
use crate::access::{ACCESS, CSRF_HEADER, SESSION_COOKIE};
use crate::server::routes;

const PASSWORD: &str = "route table password";

/// A session of one role: cookie token and CSRF token.
struct Signed {
    role: Role,
    token: String,
    csrf: String,
}

/// The desk over backends nobody listens on (a request past the gate that
/// reaches a backend fails with 503, never 401 or 403), with one signed-in
/// session per role.
async fn desk_without_backends(dir: &tempfile::TempDir) -> (Router, Vec<Signed>) {
    let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("store");
    let accounts = Arc::new(Accounts::new(store, &AuthConfig::default()).expect("accounts"));
    let mut signed = Vec::new();
    for role in Role::ALL {
        let id = format!("the-{role}");
        accounts
            .create(
                "test",
                None,
                NewAccount {
                    id: id.clone(),
                    display_name: None,
                    role,
                    password: Some(SecretString::from(PASSWORD)),
                },
            )
            .await
            .expect("create");
        let s = accounts
            .sign_in(&id, SecretString::from(PASSWORD), None)
            .await
            .expect("sign in");
        signed.push(Signed {
            role,
            token: s.token,
            csrf: s.csrf_token,
        });
    }
    let channel = || {
        let lazy = Endpoint::from_static("http://127.0.0.1:9").connect_lazy();
        omni_proto::auth::WithToken::new(lazy, &"unused-token-0123456789".into()).expect("token")
    };
    let desk = Arc::new(Desk::new(channel(), channel(), HashMap::new(), accounts));
    (routes(desk, CancellationToken::new()), signed)
}

async fn status(
    app: &Router,
    method: &str,
    path: &str,
    session: Option<(&str, Option<&str>)>,
) -> StatusCode {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "desk.test")
        .header("origin", "http://desk.test");
    if let Some((token, csrf)) = session {
        request = request.header("cookie", format!("theme=dark; {SESSION_COOKIE}={token}"));
        if let Some(csrf) = csrf {
            request = request.header(CSRF_HEADER, csrf);
        }
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
async fn every_route_keeps_to_the_access_table_for_every_role() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, signed) = desk_without_backends(&dir).await;
    // Signing out ends the session the later routes use: last.
    let mut table: Vec<_> = ACCESS.iter().collect();
    table.sort_by_key(|r| (r.method, r.path) == ("DELETE", "/api/session"));
    for route in table {
        let path = route.sample_path("desk/main.js");
        let what = format!("{} {path}", route.method);
        match route.access.role() {
            Some(needed) => {
                // A page sends whoever is not signed in to sign in.
                let unauthorized = if path.starts_with("/api/") {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::SEE_OTHER
                };
                for token in [None, Some(("unknown", Some("x")))] {
                    let got = status(&app, route.method, &path, token).await;
                    assert_eq!(got, unauthorized, "{what} with {token:?}");
                }
                for s in &signed {
                    let got =
                        status(&app, route.method, &path, Some((&s.token, Some(&s.csrf)))).await;
                    if s.role.at_least(needed) {
                        assert!(
                            got != StatusCode::UNAUTHORIZED && got != StatusCode::FORBIDDEN,
                            "{what} as {}: {got}",
                            s.role
                        );
                    } else {
                        assert_eq!(got, StatusCode::FORBIDDEN, "{what} as {}", s.role);
                    }
                }
            }
            None => {
                assert_eq!(
                    route.access,
                    Access::Public,
                    "the desk has no visitor route: {what}"
                );
                let got = status(&app, route.method, &path, None).await;
                assert_ne!(got, StatusCode::UNAUTHORIZED, "{what}");
                assert_ne!(got, StatusCode::NOT_FOUND, "{what} is not routed");
            }
        }
    }
}

#[tokio::test]
async fn a_state_changing_call_needs_the_csrf_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, signed) = desk_without_backends(&dir).await;
    let admin = signed
        .iter()
        .find(|s| s.role == Role::Admin)
        .expect("admin");
    for route in ACCESS
        .iter()
        .filter(|r| r.access.role().is_some() && r.method != "GET")
    {
        let path = route.sample_path("x");
        for csrf in [None, Some("not-the-token")] {
            let got = status(&app, route.method, &path, Some((&admin.token, csrf))).await;
            assert_eq!(
                got,
                StatusCode::FORBIDDEN,
                "{} {path} with csrf {csrf:?}",
                route.method
            );
        }
    }
    // A read needs none.
    let got = status(
        &app,
        "GET",
        "/api/admin/accounts",
        Some((&admin.token, None)),
    )
    .await;
    assert_eq!(got, StatusCode::OK);
}

#[tokio::test]
async fn a_path_outside_the_table_is_not_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, _) = desk_without_backends(&dir).await;
    assert_eq!(
        status(&app, "GET", "/api/agents", None).await,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn customers_data_routes_are_admin_only() {
    for (method, path) in [
        ("GET", "/api/admin/customers/{id}/export"),
        ("DELETE", "/api/admin/customers/{id}"),
    ] {
        let line = omni_web::RouteAccess::find(ACCESS, method, path)
            .unwrap_or_else(|| panic!("{method} {path} is in the table"));
        assert_eq!(line.access, Access::Admin, "{method} {path}");
    }
}

#[tokio::test]
async fn dead_letters_are_for_admins_only() {
    let line = omni_web::RouteAccess::find(ACCESS, "GET", "/api/admin/deadletters")
        .expect("GET /api/admin/deadletters is in the table");
    assert_eq!(line.access, Access::Admin);
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, signed) = desk_without_backends(&dir).await;
    let path = "/api/admin/deadletters?channel=app&limit=5";
    assert_eq!(
        status(&app, "GET", path, None).await,
        StatusCode::UNAUTHORIZED
    );
    for s in &signed {
        let got = status(&app, "GET", path, Some((&s.token, None))).await;
        if s.role == Role::Admin {
            // Past the gate, to the context service nobody runs here.
            assert_eq!(got, StatusCode::SERVICE_UNAVAILABLE, "as admin");
        } else {
            assert_eq!(got, StatusCode::FORBIDDEN, "as {}", s.role);
        }
    }
}

#[tokio::test]
async fn desk_tools_are_for_signed_in_agents_and_up() {
    for (method, path) in [
        ("POST", "/api/conversations/{id}/notes"),
        ("POST", "/api/conversations/{id}/handover"),
        ("GET", "/api/canned"),
        ("POST", "/api/canned"),
        ("PUT", "/api/canned/{id}"),
        ("DELETE", "/api/canned/{id}"),
        ("GET", "/api/desk/settings"),
    ] {
        let line = omni_web::RouteAccess::find(ACCESS, method, path)
            .unwrap_or_else(|| panic!("{method} {path} is in the table"));
        assert_eq!(line.access, Access::Agent, "{method} {path}");
    }
    // Without a session: 401; the settings as an agent: the defaults.
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, signed) = desk_without_backends(&dir).await;
    assert_eq!(
        status(&app, "GET", "/api/desk/settings", None).await,
        StatusCode::UNAUTHORIZED
    );
    let agent = signed
        .iter()
        .find(|s| s.role == Role::Agent)
        .expect("agent");
    let got = status(
        &app,
        "GET",
        "/api/desk/settings",
        Some((&agent.token, None)),
    )
    .await;
    assert_eq!(got, StatusCode::OK);
    // An agent may not write a shared canned response; their own, yes.
    let shared = r#"{"shortcut":"hi","title":"Hi","text":"Hello","shared":true}"#;
    let personal = r#"{"shortcut":"hi","title":"Hi","text":"Hello"}"#;
    let post = |body: &'static str| {
        let request = Request::builder()
            .method("POST")
            .uri("/api/canned")
            .header("cookie", format!("{SESSION_COOKIE}={}", agent.token))
            .header(CSRF_HEADER, agent.csrf.as_str())
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request");
        let app = app.clone();
        async move { app.oneshot(request).await.expect("answer").status() }
    };
    assert_eq!(post(shared).await, StatusCode::FORBIDDEN);
    assert_eq!(post(personal).await, StatusCode::OK);
}

#[tokio::test]
async fn the_wall_is_for_supervisors_and_admins_and_sends_others_to_sign_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, signed) = desk_without_backends(&dir).await;
    let page = |token: Option<String>| {
        let mut request = Request::builder().uri("/wall").header("host", "desk.test");
        if let Some(token) = token {
            request = request.header("cookie", format!("{SESSION_COOKIE}={token}"));
        }
        app.clone()
            .oneshot(request.body(Body::empty()).expect("request"))
    };
    let nobody = page(None).await.expect("answer");
    assert_eq!(nobody.status(), StatusCode::SEE_OTHER);
    assert_eq!(nobody.headers()["location"], "/");
    for s in &signed {
        let got = page(Some(s.token.clone())).await.expect("answer");
        if s.role.at_least(Role::Supervisor) {
            assert_eq!(got.status(), StatusCode::OK, "as {}", s.role);
            let csp = got.headers()["content-security-policy"]
                .to_str()
                .expect("ascii");
            assert!(csp.contains("script-src 'self'"), "{csp}");
        } else {
            assert_eq!(got.status(), StatusCode::FORBIDDEN, "as {}", s.role);
        }
        for api in [
            "/api/wall",
            "/api/wall/day",
            "/api/wall/events",
            "/api/wall/conversations/c1/explain",
            "/api/wall/surveys",
        ] {
            let got = status(&app, "GET", api, Some((&s.token, None))).await;
            if s.role.at_least(Role::Supervisor) {
                assert_ne!(got, StatusCode::FORBIDDEN, "{api} as {}", s.role);
            } else {
                assert_eq!(got, StatusCode::FORBIDDEN, "{api} as {}", s.role);
            }
        }
    }
}

#[tokio::test]
async fn the_wall_stream_says_when_the_router_cannot_be_read() {
    use futures_util::StreamExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, signed) = desk_without_backends(&dir).await;
    let supervisor = signed
        .iter()
        .find(|s| s.role == Role::Supervisor)
        .expect("supervisor");
    let request = Request::builder()
        .uri("/api/wall/events")
        .header("host", "desk.test")
        .header("cookie", format!("{SESSION_COOKIE}={}", supervisor.token))
        .body(Body::empty())
        .expect("request");
    let answer = app.oneshot(request).await.expect("answer");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "text/event-stream");
    let mut body = answer.into_body().into_data_stream();
    let mut seen = String::new();
    let read = async {
        while let Some(Ok(chunk)) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: down") {
                return;
            }
        }
    };
    // A guard against a hang, not a measurement: the first read fails at once.
    tokio::time::timeout(std::time::Duration::from_secs(30), read)
        .await
        .expect("a down event");
    assert!(seen.contains("retry: 1000"), "{seen}");
    assert!(
        seen.contains("router"),
        "the event names the router: {seen}"
    );
}

#[tokio::test]
async fn the_survey_export_is_for_supervisors_and_admins() {
    let line = omni_web::RouteAccess::find(ACCESS, "GET", "/api/surveys.csv")
        .expect("GET /api/surveys.csv is in the table");
    assert_eq!(line.access, Access::Supervisor);
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, signed) = desk_without_backends(&dir).await;
    let path = "/api/surveys.csv?from=2026-01-01&to=2026-01-31";
    assert_eq!(
        status(&app, "GET", path, None).await,
        StatusCode::UNAUTHORIZED
    );
    for s in &signed {
        let got = status(&app, "GET", path, Some((&s.token, None))).await;
        if s.role.at_least(Role::Supervisor) {
            // Past the gate, to the context service nobody runs here.
            assert_eq!(got, StatusCode::SERVICE_UNAVAILABLE, "as {}", s.role);
            let bad = "/api/surveys.csv?from=2026-01-01&to=2027-06-01";
            let got = status(&app, "GET", bad, Some((&s.token, None))).await;
            assert_eq!(
                got,
                StatusCode::BAD_REQUEST,
                "a too-long period as {}",
                s.role
            );
        } else {
            assert_eq!(got, StatusCode::FORBIDDEN, "as {}", s.role);
        }
    }
}
