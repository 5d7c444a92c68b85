//! Customers' data for admins (`/api/admin/customers/...`): export
//! everything held about a customer, and erase them. The desk calls the
//! context service as the signed-in admin and names the browser's address
//! ([`FROM_HEADER`]), so the context service's audit line says who, and
//! from where; the gate lets only admins in, and the erasure, a `DELETE`,
//! needs the CSRF token.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use omni_proto::auth::FROM_HEADER;
use omni_proto::context::{EraseCustomerRequest, ExportCustomerRequest};
use serde_json::{Value, json};

use crate::Desk;
use crate::access::{Caller, ClientAddr};
use crate::desk::traced;
use crate::error::DeskError;

/// A request for the signed-in admin, naming the browser's address.
fn for_admin<T>(caller: &Caller, from: Option<std::net::IpAddr>, message: T) -> tonic::Request<T> {
    let mut request = traced(&caller.actor, message);
    if let Some(value) = from.and_then(|ip| ip.to_string().parse().ok()) {
        request.metadata_mut().insert(FROM_HEADER, value);
    }
    request
}

/// `GET /api/admin/customers/{id}/export`: the export document
/// (`omniroute.customer-export.v1`) as a JSON download.
pub async fn export(
    State(desk): State<Arc<Desk>>,
    Extension(ClientAddr(from)): Extension<ClientAddr>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let document = desk
        .context()
        .export_customer(for_admin(
            &caller,
            from,
            ExportCustomerRequest {
                customer_id: id.clone(),
            },
        ))
        .await?
        .into_inner()
        .json;
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document,
    )
        .into_response();
    let file: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    if let Ok(value) = format!("attachment; filename=\"customer-{file}.json\"").parse() {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `DELETE /api/admin/customers/{id}`: erases the customer; answers with
/// the counts of what went.
pub async fn erase(
    State(desk): State<Arc<Desk>>,
    Extension(ClientAddr(from)): Extension<ClientAddr>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, DeskError> {
    let erased = desk
        .context()
        .erase_customer(for_admin(
            &caller,
            from,
            EraseCustomerRequest { customer_id: id },
        ))
        .await?
        .into_inner();
    Ok(Json(json!({
        "customer_ids": erased.customer_ids,
        "conversations": erased.conversations,
        "messages": erased.messages,
        "attachments": erased.attachments,
        "merges": erased.merges,
        "bus_messages": erased.bus_messages,
    })))
}
