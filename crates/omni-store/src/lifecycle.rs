//! Deleting customers' records: what erasure and retention need from a store.
//!
//! Erasure and retention delete in steps that are each atomic and each safe
//! to repeat: a conversation goes whole (with its messages, attachments,
//! idempotency keys, email threads and the router's contact record) in one
//! step, and the customer (profile, identities, merge records naming them)
//! in a last one. A crash between steps leaves a customer with fewer
//! conversations, never a conversation without its messages; running the
//! erasure again finishes it.

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_core::{ConversationId, Customer, CustomerId, MergeRecord};

use crate::{ContactRecord, StoreError};

/// What [`CustomerRecords::delete_conversation`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeletedConversation {
    /// Messages of its timeline.
    pub messages: u64,
    /// Stored attachment contents.
    pub attachments: u64,
}

/// What [`CustomerRecords::delete_customer`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletedCustomer {
    /// The customer record as it was (for counts; never logged).
    pub customer: Option<Customer>,
    /// Merge records that named the customer.
    pub merges: u64,
}

/// Deleting and listing records for erasure, export and retention.
#[async_trait]
pub trait CustomerRecords: Send + Sync + 'static {
    /// Atomically deletes one conversation and everything stored for it: its
    /// messages, their attachments, inbound and outbound idempotency keys and
    /// email threads, its place in the open set and in its customer's list
    /// (and the customer's latest pointer if it was that one), and the
    /// router's contact record. An absent conversation is `Ok(None)`, so a
    /// repeated call is harmless.
    async fn delete_conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<DeletedConversation>, StoreError>;

    /// Atomically deletes a customer record, the identities that point at
    /// it, its latest pointer and every merge record naming it (as survivor
    /// or absorbed). Delete the customer's conversations first; one that
    /// remains is left alone. An absent customer deletes only the merge
    /// records still naming it, so a repeated call is harmless.
    async fn delete_customer(&self, id: &CustomerId) -> Result<DeletedCustomer, StoreError>;

    /// Every merge record naming the customer, as survivor or absorbed,
    /// undone ones included.
    async fn merges_naming(&self, id: &CustomerId) -> Result<Vec<MergeRecord>, StoreError>;

    /// The router's contact record of a conversation (its queue and
    /// preferred agent), if the router holds it.
    async fn contact(&self, id: &ConversationId) -> Result<Option<ContactRecord>, StoreError>;

    /// Up to `limit` conversations resolved before `cutoff_ms` (a scan of
    /// the conversations, for the retention task's batches).
    async fn resolved_before(
        &self,
        cutoff_ms: Millis,
        limit: usize,
    ) -> Result<Vec<ConversationId>, StoreError>;
}
