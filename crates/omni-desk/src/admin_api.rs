//! Account management for admins (`/api/admin/...`): list, create and
//! change accounts, and read the audit log. The gate lets only admins in;
//! every change is in the audit log under the admin's name.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use omni_accounts::{AccountChange, NewAccount};
use omni_core::access::Role;
use omni_store::Account;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Desk;
use crate::access::{Caller, ClientAddr};
use crate::api::body;
use crate::error::DeskError;

type ApiResult = Result<Json<Value>, DeskError>;

/// An account as the API shows it: never the password hash.
pub fn account_view(a: &Account) -> Value {
    json!({
        "id": a.id,
        "name": a.display_name,
        "role": a.role,
        "disabled": a.disabled,
        "password_set": a.password_hash.is_some(),
        "created_at_ms": a.created_at_ms,
        "updated_at_ms": a.updated_at_ms,
    })
}

fn role(name: &str) -> Result<Role, DeskError> {
    name.parse::<Role>()
        .map_err(|e| DeskError::BadRequest(e.to_string()))
}

/// `GET /api/admin/accounts`.
pub async fn list(State(desk): State<Arc<Desk>>) -> ApiResult {
    let accounts = desk.accounts().list().await?;
    Ok(Json(json!({
        "accounts": accounts.iter().map(account_view).collect::<Vec<_>>(),
    })))
}

/// `POST /api/admin/accounts` body.
#[derive(Deserialize)]
pub struct Create {
    id: String,
    role: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    password: Option<SecretString>,
}

/// `POST /api/admin/accounts`: create `{"id","role","name"?,"password"?}`.
pub async fn create(
    State(desk): State<Arc<Desk>>,
    Extension(ClientAddr(from)): Extension<ClientAddr>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<Create>, JsonRejection>,
) -> ApiResult {
    let req = body(payload)?;
    let account = desk
        .accounts()
        .create(
            &caller.actor.user,
            from,
            NewAccount {
                id: req.id,
                display_name: req.name,
                role: role(&req.role)?,
                password: req.password,
            },
        )
        .await?;
    Ok(Json(account_view(&account)))
}

/// `PUT /api/admin/accounts/{id}` body: what to change.
#[derive(Deserialize)]
pub struct Update {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    password: Option<SecretString>,
}

/// `PUT /api/admin/accounts/{id}`: role, display name, disable or enable,
/// password reset (a reset or a disable ends the account's sessions).
pub async fn update(
    State(desk): State<Arc<Desk>>,
    Extension(ClientAddr(from)): Extension<ClientAddr>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<Update>, JsonRejection>,
) -> ApiResult {
    let req = body(payload)?;
    if id == caller.actor.user
        && (req.disabled == Some(true) || req.role.as_deref().is_some_and(|r| r != "admin"))
    {
        return Err(DeskError::BadRequest(
            "an admin cannot disable or demote their own account".into(),
        ));
    }
    let change = AccountChange {
        role: req.role.as_deref().map(role).transpose()?,
        display_name: req.name,
        disabled: req.disabled,
        password: req.password,
    };
    let account = desk
        .accounts()
        .update(&caller.actor.user, from, &id, change)
        .await?;
    Ok(Json(account_view(&account)))
}

/// `?limit=` of the audit log.
#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/admin/audit?limit=`: the newest events first (100 by default,
/// at most 1000).
pub async fn audit(State(desk): State<Arc<Desk>>, Query(q): Query<AuditQuery>) -> ApiResult {
    let limit = q.limit.unwrap_or(100).min(1000);
    let events = desk.accounts().audit_log(limit).await?;
    Ok(Json(json!({ "events": events })))
}
