//! Dead letters: outbound messages an adapter gave up on after its last
//! retry, kept for operators ([`DeadLetterStore`], a part of every
//! [`ContextStore`](crate::ContextStore)).
//!
//! A record is kept once per outbound message id (a redelivered dead
//! letter changes nothing) and the store keeps the newest `keep` records
//! (by the time the adapter gave up, then message id), so a channel that
//! fails for days cannot fill the store.

use async_trait::async_trait;
use omni_core::time::Millis;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// One dead letter as the context service keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterRecord {
    /// The outbound message id (its key); for a payload that did not
    /// decode, `undecodable-<hash of subject and payload>`.
    pub message_id: String,
    /// Its conversation, or empty when unknown.
    pub conversation_id: String,
    /// The channel's declared name.
    pub channel: String,
    /// Where the adapter was sending it (e.g. the app's webhook URL).
    pub destination: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure, in the provider's words.
    pub reason: String,
    /// When the adapter gave up (or, for a payload that did not decode,
    /// when the context service received it).
    pub at_ms: Millis,
    /// The message's text, so it can be delivered by hand.
    pub text: String,
    /// Why the payload did not decode, for a record kept from what its
    /// subject said; `None` for a record that decoded.
    #[serde(default)]
    pub decode_error: Option<String>,
}

/// Dead letters, kept for operators.
#[async_trait]
pub trait DeadLetterStore: Send + Sync + 'static {
    /// Keeps `record` unless one with its message id is kept already, then
    /// deletes the oldest records beyond the newest `keep`. Returns whether
    /// the record was new.
    async fn put_dead_letter(
        &self,
        record: &DeadLetterRecord,
        keep: u64,
    ) -> Result<bool, StoreError>;

    /// Deletes the dead letters of `conversations` (a customer's erasure);
    /// returns how many it deleted.
    async fn delete_dead_letters(&self, conversations: &[String]) -> Result<u64, StoreError>;

    /// The newest `limit` dead letters, of `channel` only when given,
    /// newest first.
    async fn dead_letters(
        &self,
        channel: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetterRecord>, StoreError>;
}
