//! Signing in and out, and who is signed in: `POST`/`DELETE /api/session`
//! and `GET /api/me`.
//!
//! Sign-in sets the session cookie ([`crate::access::SESSION_COOKIE`]:
//! HttpOnly, Secure, SameSite=Strict, lasting the session's absolute
//! lifetime) and answers the CSRF token the page sends back on every
//! state-changing call. The token itself never appears in a body.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use omni_core::access::Actor;
use omni_proto::routing::{Presence, SetPresenceRequest};
use omni_proto::view::AgentView;
use omni_store::Account;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Desk;
use crate::access::{Caller, ClientAddr, SESSION_COOKIE, SSO_EMAIL, SSO_USER};
use crate::api::body;
use crate::desk::traced;
use crate::error::DeskError;

/// `POST /api/session` body.
#[derive(Deserialize)]
pub struct SignIn {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    password: Option<SecretString>,
}

fn account_json(account: &Account) -> Value {
    json!({
        "id": account.id,
        "name": account.display_name,
        "role": account.role,
    })
}

fn session_cookie(value: &str, max_age_secs: i64) -> Result<HeaderValue, DeskError> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; Secure; SameSite=Strict"
    ))
    .map_err(|e| DeskError::Store(format!("cannot build the session cookie: {e}")))
}

/// `POST /api/session`: sign in with `{"user","password"}` (or, from a
/// trusted single sign-on proxy, by its headers); the answer names the
/// account, its agent state (`null` for a supervisor or admin who is not
/// an agent), the CSRF token and the enabled reply channels.
pub async fn sign_in(
    State(desk): State<Arc<Desk>>,
    Extension(ClientAddr(from)): Extension<ClientAddr>,
    headers: HeaderMap,
    payload: Result<Json<SignIn>, JsonRejection>,
) -> Result<Response, DeskError> {
    // The gate has removed these headers unless a trusted proxy sent them.
    let sso_user = headers.get(SSO_USER).and_then(|v| v.to_str().ok());
    let sso_email = headers.get(SSO_EMAIL).and_then(|v| v.to_str().ok());
    let signed = if sso_user.is_some() || sso_email.is_some() {
        desk.accounts()
            .sign_in_by_proxy(sso_user, sso_email, from)
            .await?
    } else {
        let req = body(payload)?;
        let user = req.user.filter(|u| !u.trim().is_empty());
        let (Some(user), Some(password)) = (user, req.password) else {
            return Err(DeskError::BadRequest(
                "user and password are required".into(),
            ));
        };
        desk.accounts().sign_in(&user, password, from).await?
    };
    let actor = Actor::new(signed.account.id.clone(), signed.account.role);
    let agent = match desk.agent_state_of(&actor).await {
        Ok(agent) => agent,
        Err(e) => {
            // No half sign-in: the session goes with the failed answer.
            let hash = omni_accounts::service::token_hash(&signed.token);
            if let Err(e) = desk.accounts().store().delete_session(&hash).await {
                tracing::warn!(error = %e, "cannot delete the session of a failed sign-in");
            }
            return Err(e);
        }
    };
    let max_age = desk.accounts().policy().absolute_ms / 1000;
    let cookie = session_cookie(&signed.token, max_age)?;
    let body = json!({
        "account": account_json(&signed.account),
        "csrf_token": signed.csrf_token,
        "agent": agent.as_ref().map(AgentView::from),
        "channels": desk.channels().list(),
    });
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `DELETE /api/session`: sign out (an agent goes offline); the cookie is
/// cleared and the session deleted.
pub async fn sign_out(
    State(desk): State<Arc<Desk>>,
    Extension(ClientAddr(from)): Extension<ClientAddr>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, DeskError> {
    desk.accounts().sign_out(&caller.session, from).await?;
    if desk.agent_state_of(&caller.actor).await?.is_some() {
        desk.router()
            .set_presence(traced(
                &caller.actor,
                SetPresenceRequest {
                    agent_id: caller.actor.user.clone(),
                    presence: Presence::Offline as i32,
                    reason: String::new(),
                },
            ))
            .await?;
    }
    tracing::info!(user = %caller.actor.user, "signed out");
    let cookie = session_cookie("", 0)?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({ "signed_out": caller.actor.user })),
    )
        .into_response())
}

/// `GET /api/me`: the agent state's fields (for an agent), plus
/// `"account"` and `"csrf_token"`.
pub async fn me(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, DeskError> {
    let state = desk.agent_state_of(&caller.actor).await?;
    let mut body = match &state {
        Some(state) => json!(AgentView::from(state)),
        None => json!({ "agent_id": caller.actor.user, "offers": [], "assigned": [] }),
    };
    if let Some(object) = body.as_object_mut() {
        object.insert(
            "account".into(),
            json!({
                "id": caller.actor.user,
                "name": caller.display_name,
                "role": caller.actor.role,
                "agent": state.is_some(),
            }),
        );
        object.insert("csrf_token".into(), json!(caller.session.csrf_token));
    }
    Ok(Json(body))
}
