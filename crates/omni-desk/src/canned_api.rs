//! Canned responses: shared ones (everyone reads them; supervisors and
//! admins write them) and personal ones (each person writes and reads only
//! their own). The page fills the placeholders (`{customer.name}`,
//! `{agent.name}`, `{conversation.id}`, `{queue}`, `{channel}`) when it
//! inserts one.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use omni_core::access::Role;
use omni_store::CannedResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Desk;
use crate::access::Caller;
use crate::api::body;
use crate::error::DeskError;

/// Longest canned text, in bytes (a reply's limit).
const MAX_TEXT_BYTES: usize = crate::api::MAX_REPLY_BYTES;
/// Longest shortcut and title, in bytes.
const MAX_NAME_BYTES: usize = 120;

type ApiResult = Result<Json<Value>, DeskError>;

/// `POST /api/canned` and `PUT /api/canned/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedBody {
    shortcut: String,
    title: String,
    text: String,
    /// Shared with every agent (supervisor or admin) rather than personal.
    #[serde(default)]
    shared: bool,
}

fn store_error(e: omni_store::StoreError) -> DeskError {
    DeskError::Store(e.to_string())
}

fn not_found(id: &str) -> DeskError {
    DeskError::Account {
        status: StatusCode::NOT_FOUND,
        code: "unknown_canned",
        message: format!("no canned response {id:?}"),
    }
}

fn view(c: &CannedResponse) -> Value {
    json!({
        "id": c.id,
        "shared": c.owner.is_none(),
        "shortcut": c.shortcut,
        "title": c.title,
        "text": c.text,
        "updated_by": c.updated_by,
        "updated_at_ms": c.updated_at_ms,
    })
}

/// Fails unless `caller` may write a canned response owned by `owner`:
/// shared ones (`None`) from a supervisor up. Someone else's personal
/// ones never reach here: to everyone but their owner they do not exist.
fn may_write(caller: &Caller, owner: Option<&str>) -> Result<(), DeskError> {
    match owner {
        None if !caller.actor.role.at_least(Role::Supervisor) => Err(DeskError::Forbidden {
            have: caller.actor.role,
            need: Role::Supervisor,
        }),
        _ => Ok(()),
    }
}

fn checked(req: CannedBody) -> Result<CannedBody, DeskError> {
    let req = CannedBody {
        shortcut: req.shortcut.trim().to_owned(),
        title: req.title.trim().to_owned(),
        ..req
    };
    if req.shortcut.is_empty()
        || req.shortcut.len() > MAX_NAME_BYTES
        || req.shortcut.chars().any(char::is_whitespace)
    {
        return Err(DeskError::BadRequest(format!(
            "shortcut must be 1-{MAX_NAME_BYTES} bytes without spaces"
        )));
    }
    if req.title.is_empty() || req.title.len() > MAX_NAME_BYTES {
        return Err(DeskError::BadRequest(format!(
            "title must be 1-{MAX_NAME_BYTES} bytes"
        )));
    }
    if req.text.trim().is_empty() || req.text.len() > MAX_TEXT_BYTES {
        return Err(DeskError::BadRequest(format!(
            "text must be 1-{MAX_TEXT_BYTES} bytes"
        )));
    }
    Ok(req)
}

/// `GET /api/canned`: the shared canned responses and the caller's own.
pub async fn list(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    let all = desk
        .accounts()
        .store()
        .canned_for(&caller.actor.user)
        .await
        .map_err(store_error)?;
    Ok(Json(json!({
        "canned": all.iter().map(view).collect::<Vec<_>>(),
    })))
}

/// `POST /api/canned`: a new canned response, personal or shared.
pub async fn create(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<CannedBody>, JsonRejection>,
) -> ApiResult {
    let req = checked(body(payload)?)?;
    let owner = (!req.shared).then(|| caller.actor.user.clone());
    may_write(&caller, owner.as_deref())?;
    let canned = CannedResponse {
        id: format!("can_{}", uuid::Uuid::new_v4().simple()),
        owner,
        shortcut: req.shortcut,
        title: req.title,
        text: req.text,
        updated_by: caller.actor.user.clone(),
        updated_at_ms: omni_core::time::now_ms(),
    };
    desk.accounts()
        .store()
        .put_canned(&canned)
        .await
        .map_err(store_error)?;
    Ok(Json(view(&canned)))
}

/// `PUT /api/canned/{id}`: change one the caller may write (a shared one
/// stays shared, a personal one stays its owner's).
pub async fn update(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<CannedBody>, JsonRejection>,
) -> ApiResult {
    let req = checked(body(payload)?)?;
    let store = desk.accounts().store();
    let mut canned = store
        .canned(&id)
        .await
        .map_err(store_error)?
        .filter(|c| c.owner.as_deref().is_none_or(|o| o == caller.actor.user))
        .ok_or_else(|| not_found(&id))?;
    may_write(&caller, canned.owner.as_deref())?;
    if req.shared != canned.owner.is_none() {
        return Err(DeskError::BadRequest(
            "a canned response stays shared or personal; create a new one instead".into(),
        ));
    }
    canned.shortcut = req.shortcut;
    canned.title = req.title;
    canned.text = req.text;
    canned.updated_by = caller.actor.user.clone();
    canned.updated_at_ms = omni_core::time::now_ms();
    store.put_canned(&canned).await.map_err(store_error)?;
    Ok(Json(view(&canned)))
}

/// `DELETE /api/canned/{id}`: delete one the caller may write.
pub async fn delete(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = desk.accounts().store();
    let canned = store
        .canned(&id)
        .await
        .map_err(store_error)?
        .filter(|c| c.owner.as_deref().is_none_or(|o| o == caller.actor.user))
        .ok_or_else(|| not_found(&id))?;
    may_write(&caller, canned.owner.as_deref())?;
    store.delete_canned(&id).await.map_err(store_error)?;
    Ok(Json(json!({ "deleted": id })))
}
