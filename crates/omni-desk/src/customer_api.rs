//! The desk's customer routes: the profile of a conversation's customer,
//! attribute updates, linking identities, merging and unmerging, finding a
//! customer by identity, and attachment downloads.
//!
//! Routes under `/api/conversations/{id}/...` need the conversation offered
//! or assigned to the signed-in agent (changes: assigned); the agent is
//! recorded as the author of every link, merge and unmerge. Merging,
//! unmerging and finding a customer by identity are a supervisor's (the
//! access table).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use omni_core::access::{Actor, Role};
use omni_proto::common as pb;
use omni_proto::context::{
    FindCustomerRequest, GetAttachmentRequest, GetConversationRequest, GetMergeRequest,
    LinkIdentityRequest, ListCustomerConversationsRequest, MergeCustomersRequest,
    UnmergeCustomersRequest, UpdateCustomerRequest,
};
use omni_proto::view::{ConversationView, CustomerView};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Desk;
use crate::access::Caller;
use crate::api::body;
use crate::desk::traced;
use crate::error::DeskError;

type ApiResult = Result<Json<Value>, DeskError>;

/// The customer of a conversation the agent may see.
async fn customer_of(
    desk: &Desk,
    actor: &Actor,
    conversation_id: &str,
    assigned_only: bool,
) -> Result<pb::Customer, DeskError> {
    desk.check_access(actor, conversation_id, assigned_only)
        .await?;
    desk.context()
        .get_conversation(traced(
            actor,
            GetConversationRequest {
                conversation_id: conversation_id.to_owned(),
            },
        ))
        .await?
        .into_inner()
        .customer
        .ok_or_else(|| DeskError::BadRequest("conversation has no customer".into()))
}

/// The profile JSON: the customer, one page of conversations and the
/// merges that can be undone.
async fn profile(desk: &Desk, actor: &Actor, customer: &pb::Customer, offset: u32) -> ApiResult {
    let mut context = desk.context();
    let page = context
        .list_customer_conversations(traced(
            actor,
            ListCustomerConversationsRequest {
                customer_id: customer.id.clone(),
                offset,
                limit: 20,
            },
        ))
        .await?
        .into_inner();
    let mut merges = Vec::new();
    for id in &customer.merge_ids {
        let record = context
            .get_merge(traced(
                actor,
                GetMergeRequest {
                    merge_id: id.clone(),
                },
            ))
            .await?
            .into_inner();
        merges.push(merge_json(&record));
    }
    Ok(Json(json!({
        "customer": CustomerView::from(customer),
        "conversations": page.conversations.iter().map(ConversationView::from).collect::<Vec<_>>(),
        "next_offset": page.next_offset,
        "merges": merges,
    })))
}

fn merge_json(record: &pb::MergeRecord) -> Value {
    let provenance = record.provenance.clone().unwrap_or_default();
    json!({
        "id": record.id,
        "survivor_id": record.survivor_id,
        "absorbed": record.absorbed.as_ref().map(CustomerView::from),
        "conversation_ids": record.conversation_ids,
        "at_ms": provenance.at_ms,
        "by": provenance.by,
        "evidence": provenance.evidence,
        "undone": record.undone.as_ref().map(|u| json!({"at_ms": u.at_ms, "by": u.by, "reason": u.evidence})),
    })
}

/// `?offset=` of the profile's conversation page.
#[derive(Debug, Deserialize)]
pub struct Page {
    #[serde(default)]
    offset: u32,
}

/// `GET /api/conversations/{id}/customer`: profile, conversations, merges.
pub async fn get_profile(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult {
    let customer = customer_of(&desk, &caller.actor, &id, false).await?;
    profile(&desk, &caller.actor, &customer, page.offset).await
}

/// `PUT /api/conversations/{id}/customer` body: fields to set (`""` clears).
#[derive(Debug, Deserialize)]
pub struct ProfileUpdate {
    display_name: Option<String>,
    language: Option<String>,
    tier: Option<String>,
    external_id: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

/// `PUT /api/conversations/{id}/customer`: update attributes.
pub async fn update_profile(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<ProfileUpdate>, JsonRejection>,
) -> ApiResult {
    let actor = caller.actor.clone();
    let req = body(payload)?;
    let customer = customer_of(&desk, &caller.actor, &id, true).await?;
    let updated = desk
        .context()
        .update_customer(traced(
            &actor,
            UpdateCustomerRequest {
                customer_id: customer.id,
                display_name: req.display_name,
                language: req.language,
                tier: req.tier,
                external_id: req.external_id,
                attributes: req.attributes.into_iter().collect(),
            },
        ))
        .await?
        .into_inner();
    profile(&desk, &actor, &updated, 0).await
}

/// An identity as the desk sends it.
#[derive(Debug, Deserialize)]
pub struct IdentityBody {
    /// `email` or `phone`.
    kind: String,
    /// The address or number, in any spelling.
    value: String,
}

fn identity(body: &IdentityBody) -> Result<pb::Identity, DeskError> {
    use pb::identity::Kind;
    let kind = match body.kind.as_str() {
        "email" => Kind::Email(body.value.clone()),
        "phone" => Kind::Phone(body.value.clone()),
        other => {
            return Err(DeskError::BadRequest(format!(
                "identity kind {other:?} is not email or phone"
            )));
        }
    };
    Ok(pb::Identity { kind: Some(kind) })
}

/// `POST /api/conversations/{id}/customer/identities` body.
#[derive(Debug, Deserialize)]
pub struct LinkBody {
    #[serde(flatten)]
    identity: IdentityBody,
    /// Why the agent is sure (required when verified).
    #[serde(default)]
    evidence: String,
    /// False: only record what the customer typed, unverified. Absent: a
    /// supervisor's link is verified, an agent's is not (an agent's `true`
    /// is refused by the context service).
    #[serde(default)]
    verified: Option<bool>,
}

/// `POST /api/conversations/{id}/customer/identities`: link an identity.
/// A supervisor's verified link of an identity that belongs to another
/// customer merges that customer in; an agent links only unverified
/// identities no other customer has (the context service checks).
pub async fn link_identity(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<LinkBody>, JsonRejection>,
) -> ApiResult {
    let agent = caller.actor.user.clone();
    let actor = caller.actor.clone();
    let req = body(payload)?;
    let identity = identity(&req.identity)?;
    let customer = customer_of(&desk, &caller.actor, &id, true).await?;
    let linked = desk
        .context()
        .link_identity(traced(
            &actor,
            LinkIdentityRequest {
                customer_id: customer.id,
                identity: Some(identity),
                agent_id: agent,
                evidence: req.evidence,
                verified: req
                    .verified
                    .unwrap_or(actor.role.at_least(Role::Supervisor)),
            },
        ))
        .await?
        .into_inner();
    let customer = linked.customer.unwrap_or_default();
    let Json(mut out) = profile(&desk, &actor, &customer, 0).await?;
    out["merged"] = linked.merge.as_ref().map(merge_json).unwrap_or(Value::Null);
    Ok(Json(out))
}

/// `POST /api/conversations/{id}/customer/merge` body.
#[derive(Debug, Deserialize)]
pub struct MergeBody {
    /// The customer to merge into this conversation's customer.
    customer_id: String,
    evidence: String,
}

/// `POST /api/conversations/{id}/customer/merge`: merge another customer
/// into this conversation's customer.
pub async fn merge(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<MergeBody>, JsonRejection>,
) -> ApiResult {
    let agent = caller.actor.user.clone();
    let actor = caller.actor.clone();
    let req = body(payload)?;
    let customer = customer_of(&desk, &caller.actor, &id, true).await?;
    let mut context = desk.context();
    let record = context
        .merge_customers(traced(
            &actor,
            MergeCustomersRequest {
                survivor_id: customer.id.clone(),
                absorbed_id: req.customer_id,
                agent_id: agent.clone(),
                evidence: req.evidence,
            },
        ))
        .await?
        .into_inner();
    let customer = customer_of(&desk, &caller.actor, &id, true).await?;
    let Json(mut out) = profile(&desk, &caller.actor, &customer, 0).await?;
    out["merged"] = merge_json(&record);
    Ok(Json(out))
}

/// `POST /api/conversations/{id}/customer/unmerge` body.
#[derive(Debug, Deserialize)]
pub struct UnmergeBody {
    merge_id: String,
    reason: String,
}

/// `POST /api/conversations/{id}/customer/unmerge`: undo a merge into this
/// conversation's customer.
pub async fn unmerge(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<UnmergeBody>, JsonRejection>,
) -> ApiResult {
    let agent = caller.actor.user.clone();
    let actor = caller.actor.clone();
    let req = body(payload)?;
    let customer = customer_of(&desk, &caller.actor, &id, true).await?;
    if !customer.merge_ids.contains(&req.merge_id) {
        return Err(DeskError::BadRequest(format!(
            "merge {} is not a merge into this conversation's customer",
            req.merge_id
        )));
    }
    let out = desk
        .context()
        .unmerge_customers(traced(
            &actor,
            UnmergeCustomersRequest {
                merge_id: req.merge_id,
                agent_id: agent,
                reason: req.reason,
            },
        ))
        .await?
        .into_inner();
    let survivor = out.survivor.unwrap_or_default();
    let Json(mut json) = profile(&desk, &actor, &survivor, 0).await?;
    json["restored"] = json!(out.restored.as_ref().map(CustomerView::from));
    Ok(Json(json))
}

/// `GET /api/customers?email=` or `?phone=`.
#[derive(Debug, Deserialize)]
pub struct FindQuery {
    email: Option<String>,
    phone: Option<String>,
}

/// `GET /api/customers?email=…|phone=…`: the customer known by an identity.
pub async fn find(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<FindQuery>,
) -> ApiResult {
    // A supervisor or admin (the gate has checked).
    let actor = caller.actor;
    let body = match (query.email, query.phone) {
        (Some(value), None) => IdentityBody {
            kind: "email".into(),
            value,
        },
        (None, Some(value)) => IdentityBody {
            kind: "phone".into(),
            value,
        },
        _ => {
            return Err(DeskError::BadRequest(
                "give exactly one of ?email= or ?phone=".into(),
            ));
        }
    };
    let customer = desk
        .context()
        .find_customer(traced(
            &actor,
            FindCustomerRequest {
                identity: Some(identity(&body)?),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(json!({ "customer": CustomerView::from(&customer) })))
}

/// `GET /api/conversations/{id}/messages/{seq}/attachments/{index}`: the
/// file, as a download.
pub async fn attachment(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path((id, seq, index)): Path<(String, u64, u32)>,
) -> Result<Response, DeskError> {
    desk.check_access(&caller.actor, &id, false).await?;
    let actor = caller.actor.clone();
    let file = desk
        .context()
        .get_attachment(traced(
            &actor,
            GetAttachmentRequest {
                conversation_id: id,
                seq,
                index,
            },
        ))
        .await?
        .into_inner();
    let content_type = HeaderValue::from_str(&file.content_type)
        .ok()
        .filter(|_| file.content_type.contains('/'))
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&content_disposition(&file.name))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        file.content,
    )
        .into_response())
}

/// `attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>` (RFC 6266).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn content_disposition_is_safe_for_any_name() {
        assert_eq!(
            content_disposition("invoice 42.pdf"),
            "attachment; filename=\"invoice 42.pdf\"; filename*=UTF-8''invoice%2042.pdf"
        );
        let tricky = content_disposition("a\"b\r\nX: y/ü.txt");
        assert!(!tricky.contains('\r') && !tricky.contains('\n'), "{tricky}");
        assert!(
            tricky.starts_with("attachment; filename=\"a_b__X: y/_.txt\""),
            "{tricky}"
        );
        assert!(
            tricky.ends_with("a%22b%0D%0AX%3A%20y%2F%C3%BC.txt"),
            "{tricky}"
        );
    }
}
