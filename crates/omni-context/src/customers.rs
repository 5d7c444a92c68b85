//! Customer operations of the context service: profiles, linking, merging
//! and unmerging, attachments and delivery reports.
//!
//! Every identity given to these operations is normalized first (see
//! [`omni_core::identity`]), so an agent may type `Ana@BÜCHER.example` or
//! `(202) 555-0143` and reach the stored identity.

use omni_core::time::now_ms;
use omni_core::{
    AttachmentInfo, Conversation, ConversationId, Customer, CustomerId, CustomerUpdate,
    DeliveryStatus, Identity, MergeRecord, MessageId, Provenance, StoredMessage,
};
use omni_proto::events as ev;
use omni_store::Linked;
use tracing::{debug, info, warn};

use crate::{ContextError, ContextService};

/// Longest attribute value, and most attributes per update.
const MAX_ATTRIBUTE_BYTES: usize = 1024;
const MAX_ATTRIBUTES: usize = 64;
/// Longest evidence or reason text.
const MAX_EVIDENCE_BYTES: usize = 1024;

/// An attachment with its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentContent {
    /// Name, type and size.
    pub info: AttachmentInfo,
    /// The bytes.
    pub content: Vec<u8>,
}

impl ContextService {
    /// Normalizes an identity an agent or API client typed.
    pub fn normalize(&self, identity: &Identity) -> Result<Identity, ContextError> {
        self.settings()
            .normalizer()
            .normalize(identity)
            .map_err(|e| ContextError::InvalidArgument(e.to_string()))
    }

    /// The customer known by `identity`, or `NotFound`.
    pub async fn find_customer(&self, identity: &Identity) -> Result<Customer, ContextError> {
        let identity = self.normalize(identity)?;
        let id = self
            .store()
            .customer_by_identity(&identity)
            .await?
            .ok_or_else(|| ContextError::NotFound(format!("customer with identity {identity}")))?;
        self.customer(&id).await
    }

    /// Sets or clears attributes.
    pub async fn update_customer(
        &self,
        id: &CustomerId,
        update: &CustomerUpdate,
    ) -> Result<Customer, ContextError> {
        if update.attributes.len() > MAX_ATTRIBUTES {
            return Err(ContextError::InvalidArgument(format!(
                "at most {MAX_ATTRIBUTES} attributes per update"
            )));
        }
        let fields = [
            &update.display_name,
            &update.language,
            &update.tier,
            &update.external_id,
        ];
        let too_long = fields
            .iter()
            .filter_map(|f| f.as_deref())
            .any(|v| v.len() > MAX_ATTRIBUTE_BYTES)
            || update
                .attributes
                .iter()
                .any(|(k, v)| k.is_empty() || k.len() > 128 || v.len() > MAX_ATTRIBUTE_BYTES);
        if too_long {
            return Err(ContextError::InvalidArgument(format!(
                "attribute keys must be 1-128 bytes and values at most {MAX_ATTRIBUTE_BYTES} bytes"
            )));
        }
        let customer = self.store().update_customer(id, update).await?;
        info!(customer_id = %id, "customer updated");
        Ok(customer)
    }

    /// The customer's conversations, newest first.
    pub async fn customer_conversations(
        &self,
        id: &CustomerId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>, ContextError> {
        self.customer(id).await?;
        Ok(self
            .store()
            .customer_conversations(id, offset, limit)
            .await?)
    }

    /// Links an identity to a customer on an agent's word (merging its
    /// current owner in, if any), or records it as unverified when the
    /// customer merely typed it.
    pub async fn link_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
        agent: &str,
        evidence: &str,
        verified: bool,
    ) -> Result<Linked, ContextError> {
        let identity = self.normalize(identity)?;
        if !verified {
            let customer = self.store().claim_identity(id, &identity).await?;
            info!(customer_id = %id, identity = %identity, "unverified identity recorded");
            return Ok(Linked {
                customer,
                merge: None,
            });
        }
        let provenance = self.provenance(agent, evidence)?;
        let linked = self
            .store()
            .link_identity(id, &identity, &provenance)
            .await?;
        info!(customer_id = %id, identity = %identity, agent_id = agent, merged = linked.merge.is_some(), "identity linked");
        if let Some(record) = &linked.merge {
            self.announce_moved(&record.conversations).await;
        }
        Ok(linked)
    }

    /// Merges `absorbed` into `survivor` on an agent's word.
    pub async fn merge_customers(
        &self,
        survivor: &CustomerId,
        absorbed: &CustomerId,
        agent: &str,
        evidence: &str,
    ) -> Result<MergeRecord, ContextError> {
        let provenance = self.provenance(agent, evidence)?;
        let record = self
            .store()
            .merge_customers(survivor, absorbed, &provenance)
            .await?;
        info!(merge_id = %record.id, survivor = %survivor, absorbed = %absorbed, agent_id = agent, "customers merged");
        self.announce_moved(&record.conversations).await;
        Ok(record)
    }

    /// Undoes a merge. Returns (survivor, restored customer).
    pub async fn unmerge(
        &self,
        merge_id: &str,
        agent: &str,
        reason: &str,
    ) -> Result<(Customer, Customer), ContextError> {
        let provenance = self.provenance(agent, reason)?;
        let (survivor, restored) = self.store().unmerge(merge_id, &provenance).await?;
        info!(merge_id, survivor = %survivor.id, restored = %restored.id, agent_id = agent, "merge undone");
        if let Some(record) = self.store().merge_record(merge_id).await? {
            self.announce_moved(&record.conversations).await;
        }
        Ok((survivor, restored))
    }

    /// One merge record, or `NotFound`.
    pub async fn merge_record(&self, merge_id: &str) -> Result<MergeRecord, ContextError> {
        self.store()
            .merge_record(merge_id)
            .await?
            .ok_or_else(|| ContextError::NotFound(format!("merge {merge_id}")))
    }

    /// One attachment of the message at `seq` of a conversation.
    pub async fn attachment(
        &self,
        conversation_id: &ConversationId,
        seq: u64,
        index: u32,
    ) -> Result<AttachmentContent, ContextError> {
        let message = self
            .store()
            .messages(conversation_id, seq.saturating_sub(1), 1)
            .await?
            .into_iter()
            .find(|m| m.seq == seq)
            .ok_or_else(|| {
                ContextError::NotFound(format!("message {seq} of conversation {conversation_id}"))
            })?;
        let info = message
            .email
            .as_ref()
            .and_then(|e| e.attachments.iter().find(|a| a.index == index))
            .cloned()
            .ok_or_else(|| {
                ContextError::NotFound(format!("attachment {index} of message {}", message.id))
            })?;
        if !info.stored {
            return Err(ContextError::FailedPrecondition(format!(
                "attachment {index} of message {} ({} bytes) exceeded the size limit and was not stored",
                message.id, info.size
            )));
        }
        let content = self
            .store()
            .attachment(&message.id, index)
            .await?
            .ok_or_else(|| {
                ContextError::Internal(format!(
                    "attachment {index} of message {} is recorded but its content is missing",
                    message.id
                ))
            })?;
        Ok(AttachmentContent { info, content })
    }

    /// Applies an adapter's delivery report to its message and tells the
    /// desks. Idempotent: a repeated or late report changes nothing.
    pub async fn record_delivery(
        &self,
        report: &ev::DeliveryReport,
    ) -> Result<Option<StoredMessage>, ContextError> {
        if report.message_id.is_empty() || report.conversation_id.is_empty() {
            return Err(ContextError::InvalidArgument(
                "delivery report without message_id or conversation_id".into(),
            ));
        }
        let status = match omni_proto::common::DeliveryStatus::try_from(report.status) {
            Ok(omni_proto::common::DeliveryStatus::Sent) => DeliveryStatus::Sent,
            Ok(omni_proto::common::DeliveryStatus::Delivered) => DeliveryStatus::Delivered,
            Ok(omni_proto::common::DeliveryStatus::Failed) => DeliveryStatus::Failed,
            Ok(omni_proto::common::DeliveryStatus::Read) => DeliveryStatus::Read,
            // The provider took it and will send it (Twilio answers
            // "queued"): an outbound message already is queued, so this
            // changes nothing, and is no error.
            Ok(omni_proto::common::DeliveryStatus::Queued) => {
                debug!(conversation_id = %report.conversation_id, message_id = %report.message_id, "queued at the provider");
                return Ok(None);
            }
            _ => {
                return Err(ContextError::InvalidArgument(format!(
                    "delivery report status {} is not sent, delivered, failed or read",
                    report.status
                )));
            }
        };
        let conversation = ConversationId::from(report.conversation_id.as_str());
        let message = MessageId::from(report.message_id.as_str());
        let error = (!report.error.is_empty()).then_some(report.error.as_str());
        let updated = self
            .store()
            .record_delivery(&conversation, &message, status, error)
            .await?;
        match &updated {
            Some(m) => {
                if status == DeliveryStatus::Failed {
                    warn!(conversation_id = %conversation, message_id = %message, error = report.error, "outbound message failed");
                } else {
                    info!(conversation_id = %conversation, message_id = %message, status = ?status, "delivery status updated");
                }
                let timed = match status {
                    DeliveryStatus::Sent => Some("sent"),
                    DeliveryStatus::Delivered => Some("delivered"),
                    DeliveryStatus::Failed => Some("failed"),
                    _ => None,
                };
                if let Some(name) = timed {
                    omni_telemetry::metrics::contact::contact_center().observe_delivery_report(
                        m.channel.as_str(),
                        name,
                        report.at_ms.saturating_sub(m.at_ms).max(0) as f64 / 1000.0,
                    );
                }
                self.emit_message(m).await;
            }
            None => {
                info!(conversation_id = %conversation, message_id = %message, status = ?status, "delivery report changed nothing")
            }
        }
        Ok(updated)
    }

    fn provenance(&self, agent: &str, evidence: &str) -> Result<Provenance, ContextError> {
        if agent.trim().is_empty() {
            return Err(ContextError::InvalidArgument("agent_id is required".into()));
        }
        let evidence = evidence.trim();
        if evidence.is_empty() || evidence.len() > MAX_EVIDENCE_BYTES {
            return Err(ContextError::InvalidArgument(format!(
                "evidence (why) is required, at most {MAX_EVIDENCE_BYTES} bytes"
            )));
        }
        Ok(Provenance {
            at_ms: now_ms(),
            by: agent.to_owned(),
            evidence: evidence.to_owned(),
        })
    }

    /// Tells desks that conversations changed owner.
    async fn announce_moved(&self, conversations: &[ConversationId]) {
        for id in conversations {
            match self.store().conversation(id).await {
                Ok(Some(c)) => self.emit_conversation(&c).await,
                Ok(None) => {}
                Err(e) => {
                    warn!(conversation_id = %id, error = %e, "moved conversation not announced")
                }
            }
        }
    }
}
