//! Store operation latency: [`Timed`] wraps any store and records how long
//! each call took in the histogram `omni_store_operation_seconds`
//! (`operation`: the trait method, e.g. `ingest` or `put_contact`;
//! `backend`: `embedded` or `redis`), whatever the call's outcome.
//!
//! One wrapper for both backends, so their figures are measured the same
//! way, at the trait: a Redis operation that takes several round trips (a
//! compare-and-set retried) is one observation, as the caller waits for it.
//! A call costs two clock reads and one histogram observation (the family's
//! shared read lock and the series' own; no process-wide lock).
//!
//! Every method of every store trait is forwarded explicitly below (a
//! method the wrapper does not forward would fail to compile, unless the
//! trait gives it a default body: add new methods here too).
//! `ContextStore::ingest` keeps its default body, so it is timed as the
//! `ingest_with` it calls.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use omni_core::config::{AgentConfig, QueueConfig};
use omni_core::time::Millis;
use omni_core::{
    AgentId, Conversation, ConversationId, Customer, CustomerId, CustomerUpdate, DeliveryStatus,
    Identity, InboundMessage, MergeRecord, MessageId, Provenance, StoredMessage,
};
use omni_telemetry::metrics::{Histograms, histogram};

use crate::{
    Account, AccountStore, AuditEvent, BotChange, BotStore, CannedResponse, CannedStore,
    ContactRecord, ContextStore, CustomerRecords, DayCount, DeadLetterRecord, DeadLetterStore,
    DeletedConversation, DeletedCustomer, IngestOptions, Ingested, Linked, NewBotMessage,
    NewOutbound, PresenceRecord, RouterStore, ScheduleKind, ScheduleStore, ScheduledItem, Session,
    SessionPolicy, StoreError,
};

/// The histogram's name.
pub const METRIC: &str = "omni_store_operation_seconds";

/// Upper bounds (seconds): 50 µs to 10 s. A read of the embedded store
/// takes tens of microseconds, a durable write an fsync (milliseconds), a
/// Redis call a network round trip.
pub const BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

/// A store whose every call is timed into `omni_store_operation_seconds`.
pub struct Timed<S: ?Sized> {
    inner: Arc<S>,
    backend: &'static str,
    seconds: Histograms,
}

impl<S: ?Sized> Timed<S> {
    /// Wraps `inner`, labelling its figures `backend` (`embedded`, `redis`).
    pub fn new(inner: Arc<S>, backend: &'static str) -> Arc<Self> {
        Arc::new(Self {
            inner,
            backend,
            seconds: histogram(
                METRIC,
                "store operation latency, by operation and backend",
                BUCKETS,
            ),
        })
    }

    fn observe(&self, operation: &'static str, start: Instant) {
        self.seconds.observe(
            &[("operation", operation), ("backend", self.backend)],
            start.elapsed().as_secs_f64(),
        );
    }
}

/// Implements `$store` for [`Timed`] by forwarding each listed method,
/// timed under its own name.
macro_rules! timed {
    ($store:ident { $( fn $op:ident ( $($arg:ident : $ty:ty),* ) -> $out:ty; )* }) => {
        #[async_trait]
        impl<S: $store + ?Sized> $store for Timed<S> {
            $(
                async fn $op(&self, $($arg: $ty),*) -> Result<$out, StoreError> {
                    let start = Instant::now();
                    let out = self.inner.$op($($arg),*).await;
                    self.observe(stringify!($op), start);
                    out
                }
            )*
        }
    };
}

/// `ingest_with` is observed as `ingest`: the one way messages are stored.
#[async_trait]
impl<S: ContextStore + ?Sized> ContextStore for Timed<S> {
    async fn ingest_with(
        &self,
        message: &InboundMessage,
        options: &IngestOptions,
    ) -> Result<Ingested, StoreError> {
        let start = Instant::now();
        let out = self.inner.ingest_with(message, options).await;
        self.observe("ingest", start);
        out
    }

    async fn record_delivery(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let start = Instant::now();
        let out = self
            .inner
            .record_delivery(conversation_id, message_id, status, error)
            .await;
        self.observe("record_delivery", start);
        out
    }

    async fn update_customer(
        &self,
        id: &CustomerId,
        update: &CustomerUpdate,
    ) -> Result<Customer, StoreError> {
        let start = Instant::now();
        let out = self.inner.update_customer(id, update).await;
        self.observe("update_customer", start);
        out
    }

    async fn customer_conversations(
        &self,
        id: &CustomerId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let start = Instant::now();
        let out = self.inner.customer_conversations(id, offset, limit).await;
        self.observe("customer_conversations", start);
        out
    }

    async fn claim_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
    ) -> Result<Customer, StoreError> {
        let start = Instant::now();
        let out = self.inner.claim_identity(id, identity).await;
        self.observe("claim_identity", start);
        out
    }

    async fn link_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
        provenance: &Provenance,
    ) -> Result<Linked, StoreError> {
        let start = Instant::now();
        let out = self.inner.link_identity(id, identity, provenance).await;
        self.observe("link_identity", start);
        out
    }

    async fn merge_customers(
        &self,
        survivor: &CustomerId,
        absorbed: &CustomerId,
        provenance: &Provenance,
    ) -> Result<MergeRecord, StoreError> {
        let start = Instant::now();
        let out = self
            .inner
            .merge_customers(survivor, absorbed, provenance)
            .await;
        self.observe("merge_customers", start);
        out
    }

    async fn unmerge(
        &self,
        merge_id: &str,
        provenance: &Provenance,
    ) -> Result<(Customer, Customer), StoreError> {
        let start = Instant::now();
        let out = self.inner.unmerge(merge_id, provenance).await;
        self.observe("unmerge", start);
        out
    }

    async fn merge_record(&self, merge_id: &str) -> Result<Option<MergeRecord>, StoreError> {
        let start = Instant::now();
        let out = self.inner.merge_record(merge_id).await;
        self.observe("merge_record", start);
        out
    }

    async fn conversation_by_email_id(
        &self,
        message_id: &str,
    ) -> Result<Option<ConversationId>, StoreError> {
        let start = Instant::now();
        let out = self.inner.conversation_by_email_id(message_id).await;
        self.observe("conversation_by_email_id", start);
        out
    }

    async fn attachment(
        &self,
        message_id: &MessageId,
        index: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let start = Instant::now();
        let out = self.inner.attachment(message_id, index).await;
        self.observe("attachment", start);
        out
    }

    async fn append_outbound(&self, message: NewOutbound) -> Result<StoredMessage, StoreError> {
        let start = Instant::now();
        let out = self.inner.append_outbound(message).await;
        self.observe("append_outbound", start);
        out
    }

    async fn assign(
        &self,
        conversation_id: &ConversationId,
        agent: &AgentId,
        at_ms: Millis,
    ) -> Result<Conversation, StoreError> {
        let start = Instant::now();
        let out = self.inner.assign(conversation_id, agent, at_ms).await;
        self.observe("assign", start);
        out
    }

    async fn put_attachments(
        &self,
        message_id: &MessageId,
        contents: &[(u32, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let start = Instant::now();
        let out = self.inner.put_attachments(message_id, contents).await;
        self.observe("put_attachments", start);
        out
    }

    /// Observed as `resolve`, with or without a wrap-up code.
    async fn resolve_with(
        &self,
        conversation_id: &ConversationId,
        at_ms: Millis,
        wrapup_code: Option<&str>,
    ) -> Result<Conversation, StoreError> {
        let start = Instant::now();
        let out = self
            .inner
            .resolve_with(conversation_id, at_ms, wrapup_code)
            .await;
        self.observe("resolve", start);
        out
    }

    async fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        let start = Instant::now();
        let out = self.inner.conversation(id).await;
        self.observe("conversation", start);
        out
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let start = Instant::now();
        let out = self.inner.customer(id).await;
        self.observe("customer", start);
        out
    }

    async fn customer_by_identity(
        &self,
        identity: &Identity,
    ) -> Result<Option<CustomerId>, StoreError> {
        let start = Instant::now();
        let out = self.inner.customer_by_identity(identity).await;
        self.observe("customer_by_identity", start);
        out
    }

    async fn latest_conversation(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<Conversation>, StoreError> {
        let start = Instant::now();
        let out = self.inner.latest_conversation(customer).await;
        self.observe("latest_conversation", start);
        out
    }

    async fn messages(
        &self,
        conversation_id: &ConversationId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let start = Instant::now();
        let out = self.inner.messages(conversation_id, after_seq, limit).await;
        self.observe("messages", start);
        out
    }

    async fn open_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        let start = Instant::now();
        let out = self.inner.open_conversations().await;
        self.observe("open_conversations", start);
        out
    }
}

timed!(CustomerRecords {
    fn delete_conversation(id: &ConversationId) -> Option<DeletedConversation>;
    fn delete_customer(id: &CustomerId) -> DeletedCustomer;
    fn merges_naming(id: &CustomerId) -> Vec<MergeRecord>;
    fn contact(id: &ConversationId) -> Option<ContactRecord>;
    fn resolved_before(cutoff_ms: Millis, limit: usize) -> Vec<ConversationId>;
});

timed!(ScheduleStore {
    fn put_scheduled(item: &ScheduledItem) -> bool;
    fn due_scheduled(now_ms: Millis, limit: usize) -> Vec<ScheduledItem>;
    fn claim_scheduled(id: &str, now_ms: Millis, lease_ms: Millis) -> Option<ScheduledItem>;
    fn finish_scheduled(id: &str, outcome: &str, reschedule: Option<Millis>) -> bool;
    fn cancel_scheduled(conversation_id: &ConversationId, kind: ScheduleKind, outcome: &str) -> u64;
    fn swap_scheduled_payload(id: &str, old: &str, new: &str) -> bool;
    fn delete_scheduled(conversation_id: &ConversationId) -> u64;
    fn scheduled_for(conversation_id: &ConversationId) -> Vec<ScheduledItem>;
    fn mark_answered(id: &str, at_ms: Millis) -> bool;
    fn answered_between(from_ms: Millis, to_ms: Millis, after: Option<(Millis, String)>, limit: usize) -> Vec<ScheduledItem>;
    fn mark_sent(id: &str, at_ms: Millis) -> bool;
    fn sent_between(from_ms: Millis, to_ms: Millis, after: Option<(Millis, String)>, limit: usize) -> Vec<ScheduledItem>;
});

timed!(DeadLetterStore {
    fn put_dead_letter(record: &DeadLetterRecord, keep: u64) -> bool;
    fn delete_dead_letters(conversations: &[String]) -> u64;
    fn dead_letters(channel: Option<&str>, limit: usize) -> Vec<DeadLetterRecord>;
});

timed!(BotStore {
    fn bot_change(conversation_id: &ConversationId, change: &BotChange, at_ms: Millis) -> Conversation;
    fn append_bot_message(message: NewBotMessage) -> StoredMessage;
});

timed!(RouterStore {
    fn put_contact(contact: &ContactRecord) -> ();
    fn remove_contact(conversation_id: &ConversationId) -> ();
    fn contacts() -> Vec<ContactRecord>;
    fn put_presence(presence: &PresenceRecord) -> ();
    fn presences() -> Vec<PresenceRecord>;
    fn put_agent_config(agent: &AgentConfig) -> ();
    fn agent_configs() -> Vec<AgentConfig>;
    fn put_queue_config(queue: &QueueConfig) -> ();
    fn queue_configs() -> Vec<QueueConfig>;
    fn add_counts(counts: &[DayCount]) -> ();
    fn counts(day: Option<&str>) -> Vec<DayCount>;
});

timed!(AccountStore {
    fn create_account(account: &Account) -> ();
    fn update_account(account: &Account) -> ();
    fn account(id: &str) -> Option<Account>;
    fn accounts() -> Vec<Account>;
    fn create_session(session: &Session, policy: &SessionPolicy) -> ();
    fn session(token_hash: &str, now: Millis, policy: &SessionPolicy) -> Option<(Session, Account)>;
    fn delete_session(token_hash: &str) -> ();
    fn append_audit(event: &AuditEvent) -> ();
    fn audit(limit: usize) -> Vec<AuditEvent>;
    fn trim_audit(keep: u64) -> u64;
});

timed!(CannedStore {
    fn put_canned(canned: &CannedResponse) -> ();
    fn canned(id: &str) -> Option<CannedResponse>;
    fn delete_canned(id: &str) -> bool;
    fn canned_for(owner: &str) -> Vec<CannedResponse>;
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedStore;

    fn count(text: &str, operation: &str) -> u64 {
        let series = format!("{METRIC}_count{{");
        text.lines()
            .filter(|l| l.starts_with(&series))
            .filter(|l| l.contains(&format!("operation=\"{operation}\"")))
            .filter(|l| l.contains("backend=\"embedded\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    #[tokio::test]
    async fn every_call_is_timed_by_operation_and_backend_whatever_its_outcome() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("store");
        let timed = Timed::new(store, "embedded");
        let before = omni_telemetry::metrics::render();
        let missing = ConversationId::from("con_missing");
        assert!(timed.conversation(&missing).await.expect("read").is_none());
        assert!(timed.conversation(&missing).await.expect("read").is_none());
        assert!(timed.contacts().await.expect("read").is_empty());
        let refused = timed.resolve(&missing, 1).await;
        assert!(
            matches!(refused, Err(StoreError::NotFound { .. })),
            "{refused:?}"
        );
        let after = omni_telemetry::metrics::render();
        assert_eq!(
            count(&after, "conversation") - count(&before, "conversation"),
            2
        );
        assert_eq!(count(&after, "contacts") - count(&before, "contacts"), 1);
        assert_eq!(count(&after, "resolve") - count(&before, "resolve"), 1);
        assert!(
            after.contains(&format!("# TYPE {METRIC} histogram")),
            "{after}"
        );
    }
}
