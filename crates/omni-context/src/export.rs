//! Exporting everything held about a customer as one JSON document.
//!
//! Format `omniroute.customer-export.v1`:
//!
//! ```text
//! {
//!   "format": "omniroute.customer-export.v1",
//!   "exported_at_ms": 1700000000000,
//!   "customer": { ...the profile as stored... },
//!   "identities": [ { "kind": "email", "value": "ana@example.com",
//!                     "verified": true, "source": { "at_ms", "by", "evidence" } } ],
//!   "merged_customers": [ { ...each customer merged into this one... } ],
//!   "conversations": [ { "conversation": { ... }, "routing": { ...contact record... } | null,
//!                        "messages": [ { ...message..., "attachments": [ { "index", "name",
//!                          "content_type", "size", "stored",
//!                          "fetch": "/api/conversations/<id>/messages/<seq>/attachments/<index>" } ] } ] } ],
//!   "merges": [ { ...every merge record naming the customer... } ]
//! }
//! ```
//!
//! Attachments are listed with where to fetch their content (the desk route,
//! or `GetAttachment` over gRPC), not inlined: a document with every
//! attachment in base64 could be hundreds of megabytes. `verified` is true
//! for identities the customer used inbound or someone with authority
//! linked; false for those the customer typed (`unverified`). The
//! customer asked for stands for the person, as for erasure.

use omni_core::time::now_ms;
use omni_core::{CustomerId, Identity, StoredMessage};
use omni_proto::auth::Caller;
use serde_json::{Value, json};

use crate::erasure::require_admin;
use crate::{ContextError, ContextService};

/// Conversations and messages read per page while exporting.
const PAGE: usize = 200;

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, ContextError> {
    serde_json::to_value(value).map_err(|e| ContextError::Internal(format!("cannot export: {e}")))
}

fn identity(customer: &omni_core::Customer, identity: &Identity, verified: bool) -> Value {
    json!({
        "kind": identity.kind(),
        "value": identity.value(),
        "verified": verified,
        "source": customer.identity_sources.get(&identity.key()),
    })
}

fn message(m: &StoredMessage) -> Result<Value, ContextError> {
    let mut value = to_value(m)?;
    let attachments: Vec<Value> = m
        .email
        .iter()
        .flat_map(|e| &e.attachments)
        .map(|a| {
            json!({
                "index": a.index,
                "name": a.name,
                "content_type": a.content_type,
                "size": a.size,
                "stored": a.stored,
                "fetch": a.stored.then(|| format!(
                    "/api/conversations/{}/messages/{}/attachments/{}",
                    m.conversation_id, m.seq, a.index
                )),
            })
        })
        .collect();
    if let Value::Object(map) = &mut value {
        map.insert("attachments".into(), Value::Array(attachments));
    }
    Ok(value)
}

impl ContextService {
    /// Everything held about customer `id` (see the module doc). Admins only.
    pub async fn export_customer(
        &self,
        caller: &Caller,
        id: &CustomerId,
        from: &str,
    ) -> Result<Value, ContextError> {
        require_admin(caller, "export customers")?;
        let (root, absorbed) = self.person(id).await?;
        let mut identities: Vec<Value> = root
            .identities
            .iter()
            .map(|i| identity(&root, i, true))
            .collect();
        identities.extend(root.unverified.iter().map(|i| identity(&root, i, false)));

        let mut conversations = Vec::new();
        let mut offset = 0;
        let mut message_count = 0usize;
        loop {
            let page = self
                .store()
                .customer_conversations(&root.id, offset, PAGE)
                .await?;
            offset += page.len();
            let done = page.len() < PAGE;
            for c in page {
                let mut messages = Vec::new();
                let mut after = 0;
                loop {
                    let batch = self.store().messages(&c.id, after, PAGE).await?;
                    for m in &batch {
                        messages.push(message(m)?);
                    }
                    match batch.last() {
                        Some(last) if batch.len() == PAGE => after = last.seq,
                        _ => break,
                    }
                }
                message_count += messages.len();
                let routing = self.store().contact(&c.id).await?;
                conversations.push(json!({
                    "conversation": to_value(&c)?,
                    "routing": to_value(&routing)?,
                    "messages": messages,
                }));
            }
            if done {
                break;
            }
        }
        let mut merges = std::collections::BTreeMap::new();
        for customer in std::iter::once(&root).chain(&absorbed) {
            for record in self.store().merges_naming(&customer.id).await? {
                merges.insert(record.id.clone(), to_value(&record)?);
            }
        }
        let merges: Vec<Value> = merges.into_values().collect();
        let document = json!({
            "format": "omniroute.customer-export.v1",
            "exported_at_ms": now_ms(),
            "customer": to_value(&root)?,
            "identities": identities,
            "merged_customers": to_value(&absorbed)?,
            "conversations": conversations,
            "merges": merges,
        });
        omni_telemetry::count!(
            "omni_customers_exported_total",
            "customers whose data was exported",
            &[]
        );
        self.audit(
            caller,
            "customer_exported",
            root.id.as_str(),
            from,
            format!(
                "{} conversations, {} messages",
                conversations_len(&document),
                message_count
            ),
        )
        .await;
        Ok(document)
    }
}

fn conversations_len(document: &Value) -> usize {
    document["conversations"].as_array().map_or(0, Vec::len)
}
