//! Erasing a customer: everything the service holds about them goes, and
//! the audit log keeps counts only.
//!
//! The customer asked for stands for the person: if they were merged into
//! another customer, that customer is erased, with every customer merged
//! into it. The steps, each safe to repeat, in an order that never leaves a
//! conversation without its messages or a customer the desk cannot show:
//!
//! 1. Every open conversation is resolved and released, so the router frees
//!    the agent and forgets the contact, and the desk drops it.
//! 2. The bus streams that carry the customer's words are purged
//!    ([`omni_bus::Bus::purge`]): `OMNI_INBOUND` (messages from one of the
//!    customer's identities), `OMNI_OUTBOUND` (messages to them or in their
//!    conversations), `OMNI_DELIVERY` (reports on their conversations)
//!    and `OMNI_DEADLETTER` (replies in their conversations given up on).
//!    The subjects do not name customers, so each purge scans its stream once
//!    and decodes the payloads: bounded by what the stream holds, which the
//!    streams' max age (`[retention] stream_max_age_days`) bounds. Recording
//!    sequences at ingest would add a write on the message path for a rare
//!    operation, and miss what never reached the store. `OMNI_ROUTING` and
//!    `OMNI_ASSIGNMENT` carry ids only, and step 1's releases travel there.
//! 3. The dead letters of their conversations are deleted from the store
//!    (after the stream's purge, so none comes back from it), then each
//!    conversation whole ([`omni_store::CustomerRecords`]).
//! 4. The customers merged in, then the customer: profile, identities, merge
//!    records naming them.
//! 5. One audit line: who, when, from where, and counts.
//!
//! A crash anywhere leaves the customer visible with fewer conversations;
//! running the erasure again finishes it. A message the customer sends
//! while the erasure runs may survive it: erase again.

use std::collections::BTreeSet;
use std::sync::Arc;

use omni_bus::topology;
use omni_bus::{Message, MessageFilter};
use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_core::{ConversationId, Customer, CustomerId, Identity};
use omni_proto::auth::Caller;
use omni_proto::events as ev;
use prost::Message as _;
use tracing::info;

use crate::{ContextError, ContextService};

/// Conversations read per page while erasing.
const PAGE: usize = 200;
/// How many customers deep a chain of merges is followed.
const MAX_MERGE_DEPTH: usize = 64;

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// The customers erased (the person and those merged into them).
    pub customer_ids: Vec<CustomerId>,
    /// Conversations deleted.
    pub conversations: u64,
    /// Messages deleted from the store.
    pub messages: u64,
    /// Attachment contents deleted.
    pub attachments: u64,
    /// Merge records deleted.
    pub merges: u64,
    /// Messages deleted from the bus streams.
    pub bus_messages: u64,
    /// Dead letters (replies never delivered) deleted from the store.
    pub dead_letters: u64,
}

impl Erased {
    /// The audit line's detail: counts only.
    pub fn summary(&self) -> String {
        format!(
            "{} customers, {} conversations, {} messages, {} attachments, {} merge records, {} bus messages, {} dead letters",
            self.customer_ids.len(),
            self.conversations,
            self.messages,
            self.attachments,
            self.merges,
            self.bus_messages,
            self.dead_letters
        )
    }
}

/// What identifies a person's data on the bus.
struct Marks {
    identities: BTreeSet<String>,
    conversations: BTreeSet<String>,
    /// Adapters publish identities as the provider wrote them; the store
    /// holds them normalized.
    normalizer: omni_core::IdentityNormalizer,
}

impl Marks {
    fn identity(&self, identity: Option<omni_proto::common::Identity>) -> bool {
        let Some(raw) = identity.and_then(|i| Identity::try_from(i).ok()) else {
            return false;
        };
        let normalized = self
            .normalizer
            .normalize(&raw)
            .unwrap_or_else(|_| raw.clone());
        self.identities.contains(&raw.key()) || self.identities.contains(&normalized.key())
    }

    fn inbound(&self, m: &Message) -> bool {
        ev::InboundMessage::decode(m.payload.as_ref()).is_ok_and(|i| self.identity(i.from))
    }

    fn outbound(&self, m: &Message) -> bool {
        ev::OutboundMessage::decode(m.payload.as_ref()).is_ok_and(|o| {
            o.message
                .as_ref()
                .is_some_and(|msg| self.conversations.contains(&msg.conversation_id))
                || self.identity(o.to)
        })
    }

    fn dead_letter(&self, m: &Message) -> bool {
        omni_proto::adapter::DeadLetter::decode(m.payload.as_ref())
            .is_ok_and(|d| self.conversations.contains(&d.conversation_id))
    }

    fn delivery(&self, m: &Message) -> bool {
        ev::DeliveryReport::decode(m.payload.as_ref())
            .is_ok_and(|d| self.conversations.contains(&d.conversation_id))
    }
}

impl ContextService {
    /// The live customer `id` stands for, and every customer merged into it.
    pub(crate) async fn person(
        &self,
        id: &CustomerId,
    ) -> Result<(Customer, Vec<Customer>), ContextError> {
        let mut root = self.customer(id).await?;
        for _ in 0..MAX_MERGE_DEPTH {
            let Some(survivor) = root.merged_into.clone() else {
                break;
            };
            root = self.customer(&survivor).await?;
        }
        let mut absorbed = Vec::new();
        let mut seen = BTreeSet::from([root.id.clone()]);
        let mut next: Vec<CustomerId> = vec![root.id.clone()];
        while let Some(current) = next.pop() {
            for record in self.store().merges_naming(&current).await? {
                let other = record.absorbed.id.clone();
                if record.survivor != current
                    || record.undone.is_some()
                    || !seen.insert(other.clone())
                {
                    continue;
                }
                if let Some(customer) = self.store().customer(&other).await?
                    && customer.merged_into.is_some()
                {
                    next.push(other);
                    absorbed.push(customer);
                }
            }
        }
        Ok((root, absorbed))
    }

    /// Erases customer `id` (see the module doc). Admins only.
    pub async fn erase_customer(
        &self,
        caller: &Caller,
        id: &CustomerId,
        from: &str,
    ) -> Result<Erased, ContextError> {
        require_admin(caller, "erase customers")?;
        let (root, absorbed) = self.person(id).await?;
        let people: Vec<&Customer> = std::iter::once(&root).chain(&absorbed).collect();
        let mut conversations: Vec<ConversationId> = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .store()
                .customer_conversations(&root.id, offset, PAGE)
                .await?;
            offset += page.len();
            let done = page.len() < PAGE;
            for c in page {
                if crate::service::is_open(&c) {
                    self.end_for_erasure(&c.id).await?;
                }
                conversations.push(c.id);
            }
            if done {
                break;
            }
        }
        let marks = Arc::new(Marks {
            identities: people
                .iter()
                .flat_map(|c| c.identities.iter().chain(&c.unverified))
                .map(Identity::key)
                .collect(),
            conversations: conversations.iter().map(ToString::to_string).collect(),
            normalizer: self.settings().normalizer(),
        });
        let mut erased = Erased {
            customer_ids: people.iter().map(|c| c.id.clone()).collect(),
            ..Erased::default()
        };
        let filters: [(&str, MessageFilter); 4] = [
            (topology::INBOUND.name, {
                let m = Arc::clone(&marks);
                Arc::new(move |msg: &Message| m.inbound(msg))
            }),
            (topology::OUTBOUND.name, {
                let m = Arc::clone(&marks);
                Arc::new(move |msg: &Message| m.outbound(msg))
            }),
            (topology::DELIVERY.name, {
                let m = Arc::clone(&marks);
                Arc::new(move |msg: &Message| m.delivery(msg))
            }),
            (topology::DEADLETTER.name, {
                let m = Arc::clone(&marks);
                Arc::new(move |msg: &Message| m.dead_letter(msg))
            }),
        ];
        for (stream, filter) in filters {
            erased.bus_messages += self.bus().purge(stream, filter).await?;
        }
        let ids: Vec<String> = marks.conversations.iter().cloned().collect();
        erased.dead_letters = self.store().delete_dead_letters(&ids).await?;
        for c in &conversations {
            self.store().delete_scheduled(c).await?;
            if let Some(deleted) = self.store().delete_conversation(c).await? {
                erased.conversations += 1;
                erased.messages += deleted.messages;
                erased.attachments += deleted.attachments;
            }
        }
        for customer in absorbed.iter().chain(std::iter::once(&root)) {
            erased.merges += self.store().delete_customer(&customer.id).await?.merges;
        }
        omni_telemetry::count!("omni_customers_erased_total", "customers erased", &[]);
        info!(customer_id = %root.id, conversations = erased.conversations, messages = erased.messages, bus_messages = erased.bus_messages, "customer erased");
        self.audit(
            caller,
            "customer_erased",
            root.id.as_str(),
            from,
            erased.summary(),
        )
        .await;
        Ok(erased)
    }

    /// Resolves an open conversation and releases it, so the router frees
    /// its agent before the records go.
    async fn end_for_erasure(&self, id: &ConversationId) -> Result<(), ContextError> {
        let conversation = self.store().resolve(id, now_ms()).await?;
        let at = conversation
            .resolved_at_ms
            .unwrap_or(conversation.updated_at_ms);
        self.release(id, "erased", at, TraceContext::new_root())
            .await?;
        self.emit_conversation(&conversation).await;
        Ok(())
    }
}

/// Refuses anyone below admin (the method table refuses them first).
pub(crate) fn require_admin(caller: &Caller, what: &str) -> Result<(), ContextError> {
    if caller.at_least(omni_core::access::Role::Admin) {
        Ok(())
    } else {
        Err(ContextError::PermissionDenied(format!(
            "{} may not {what}: admins only",
            crate::audit::actor_name(caller)
        )))
    }
}
