//! The durable scheduler: work due at a time (a survey after service, a
//! follow-up), kept in the store so that no timer lives only in a
//! process's memory ([`ScheduleStore`], a part of every
//! [`ContextStore`](crate::ContextStore) and [`RouterStore`](crate::RouterStore)).
//!
//! An item is put once (its id says what it is for, e.g.
//! `survey:<conversation>`, so a second put changes nothing), listed when
//! due, claimed by one caller at a time for a lease (two router replicas or
//! a restarted router never hand the same item out twice while the lease
//! holds; a claim that is never completed is handed out again after it),
//! and completed (`done`) or cancelled. The sender makes the send itself
//! idempotent by the item's id, so a claim that outlives a crash sends once.

use async_trait::async_trait;
use omni_core::ConversationId;
use omni_core::time::Millis;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// What a scheduled item is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// A survey after service.
    Survey,
    /// A proactive follow-up (check-in).
    Followup,
}

impl ScheduleKind {
    /// `survey` or `followup`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::Survey => "survey",
            ScheduleKind::Followup => "followup",
        }
    }
}

/// Where a scheduled item is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleState {
    /// Waiting for its time (or claimed and not completed yet).
    Pending,
    /// Sent, or settled without sending (the reason in `outcome`).
    Done,
    /// Cancelled before it was due (the customer wrote first).
    Cancelled,
}

/// One scheduled item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledItem {
    /// Unique id, saying what it is for (`survey:<conversation>`).
    pub id: String,
    /// What it is for.
    pub kind: ScheduleKind,
    /// The conversation it belongs to.
    pub conversation_id: ConversationId,
    /// When it is due.
    pub due_at_ms: Millis,
    /// What the sender needs, as the feature encodes it (JSON).
    pub payload: String,
    /// Where it is in its life.
    pub state: ScheduleState,
    /// A claim holds until then; 0 when unclaimed.
    #[serde(default)]
    pub claimed_until_ms: Millis,
    /// How it was settled (`sent`, `opted_out`, ...), once done or cancelled.
    #[serde(default)]
    pub outcome: String,
    /// When the customer answered it (a survey's score), once marked by
    /// [`ScheduleStore::mark_answered`]; the answers index is by this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at_ms: Option<Millis>,
    /// When it went out to the customer (a survey asked), once marked by
    /// [`ScheduleStore::mark_sent`]; the sent index is by this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at_ms: Option<Millis>,
}

impl ScheduledItem {
    /// A pending, unclaimed item.
    pub fn new(
        id: impl Into<String>,
        kind: ScheduleKind,
        conversation_id: ConversationId,
        due_at_ms: Millis,
        payload: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            kind,
            conversation_id,
            due_at_ms,
            payload: payload.into(),
            state: ScheduleState::Pending,
            claimed_until_ms: 0,
            outcome: String::new(),
            answered_at_ms: None,
            sent_at_ms: None,
        }
    }
}

/// Scheduled work, durable.
#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    /// Keeps `item` unless an item with its id is kept already (in any
    /// state). Returns whether it was new.
    async fn put_scheduled(&self, item: &ScheduledItem) -> Result<bool, StoreError>;

    /// Up to `limit` pending items due at or before `now_ms` and not held
    /// by a claim at `now_ms`, earliest due first.
    async fn due_scheduled(
        &self,
        now_ms: Millis,
        limit: usize,
    ) -> Result<Vec<ScheduledItem>, StoreError>;

    /// Atomically claims a pending item that no claim holds at `now_ms`,
    /// until `now_ms + lease_ms`. Returns the item when this call claimed
    /// it, `None` otherwise (claimed by another, done, cancelled, absent).
    async fn claim_scheduled(
        &self,
        id: &str,
        now_ms: Millis,
        lease_ms: Millis,
    ) -> Result<Option<ScheduledItem>, StoreError>;

    /// Settles a pending item as done with `outcome`, or moves it to
    /// `due_at_ms` unclaimed when `reschedule` is given. Returns whether it
    /// was pending.
    async fn finish_scheduled(
        &self,
        id: &str,
        outcome: &str,
        reschedule: Option<Millis>,
    ) -> Result<bool, StoreError>;

    /// Cancels the conversation's pending items of `kind` with `outcome`;
    /// returns how many.
    async fn cancel_scheduled(
        &self,
        conversation_id: &ConversationId,
        kind: ScheduleKind,
        outcome: &str,
    ) -> Result<u64, StoreError>;

    /// Replaces an item's payload (in any state) if it is still `old`: the
    /// feature's own state after sending (a survey's answer). Returns
    /// whether it was replaced (`false`: changed meanwhile, or absent).
    async fn swap_scheduled_payload(
        &self,
        id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError>;

    /// Deletes every item of the conversation (erasure, retention: a
    /// survey's comment is the customer's words); returns how many.
    async fn delete_scheduled(&self, conversation_id: &ConversationId) -> Result<u64, StoreError>;

    /// Every item of the conversation (any state), earliest due first.
    async fn scheduled_for(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Vec<ScheduledItem>, StoreError>;

    /// Marks the item answered at `at_ms` (clamped to 0 and up) and puts it
    /// in the answers index by that time. Returns whether it was marked now
    /// (`false`: answered already, which keeps the first time, or absent).
    async fn mark_answered(&self, id: &str, at_ms: Millis) -> Result<bool, StoreError>;

    /// Up to `limit` answered items with `from_ms <= answered_at_ms <
    /// to_ms`, by (answered time, id), starting after the cursor `after`
    /// (the last (answered time, id) of the previous page). Deleted items
    /// leave the index.
    async fn answered_between(
        &self,
        from_ms: Millis,
        to_ms: Millis,
        after: Option<(Millis, String)>,
        limit: usize,
    ) -> Result<Vec<ScheduledItem>, StoreError>;

    /// Marks the item sent at `at_ms` (clamped to 0 and up) and puts it in
    /// the sent index by that time (a survey's response rate is its answers
    /// over its sends). Returns whether it was marked now (`false`: marked
    /// already, which keeps the first time, or absent).
    async fn mark_sent(&self, id: &str, at_ms: Millis) -> Result<bool, StoreError>;

    /// Up to `limit` sent items with `from_ms <= sent_at_ms < to_ms`, by
    /// (sent time, id), starting after the cursor `after` (the last (sent
    /// time, id) of the previous page). Deleted items leave the index.
    async fn sent_between(
        &self,
        from_ms: Millis,
        to_ms: Millis,
        after: Option<(Millis, String)>,
        limit: usize,
    ) -> Result<Vec<ScheduledItem>, StoreError>;
}
