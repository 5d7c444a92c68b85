//! Dead letters: the durable consumer `context-deadletters` keeps every
//! outbound message an adapter gave up on (`omni.deadletter.<channel>`) in
//! the store, and admins list them ([`ContextService::dead_letters`]).
//!
//! A record is keyed by the outbound message id, so a redelivered dead
//! letter is kept once. A payload that does not decode is still kept: its
//! channel from the subject, its id from a hash of subject and payload, the
//! decode error as its `decode_error`. The store keeps the newest
//! `[retention] dead_letters_kept` (10 000 by default). A delivery is acked after the record is in the
//! store; a store outage naks it for redelivery.

use std::sync::Arc;

use omni_bus::topology::CONTEXT_DEADLETTERS;
use omni_bus::{BusError, Delivery, drain_until, key_hash};
use omni_proto::adapter as adapter_pb;
use omni_proto::auth::Caller;
use omni_store::DeadLetterRecord;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, warn};

use crate::erasure::require_admin;
use crate::{ContextError, ContextService};

/// The most dead letters one call lists.
pub const MAX_LIST: usize = 1000;
/// What a call that names no limit lists.
pub const DEFAULT_LIST: usize = 100;

/// Consumes dead letters until `shutdown`.
pub async fn run(
    service: Arc<ContextService>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let deliveries = service.bus().consume(&CONTEXT_DEADLETTERS).await?;
    drain_until(deliveries, shutdown.cancelled(), |d| keep(&service, d)).await;
    Ok(())
}

/// The record of a dead letter as delivered on `subject`, received at
/// `now`: decoded, or what the subject says and why it did not decode.
pub fn record_of(subject: &str, payload: &[u8], now: i64) -> DeadLetterRecord {
    let subject_channel = subject
        .strip_prefix("omni.deadletter.")
        .unwrap_or(subject)
        .to_owned();
    match adapter_pb::DeadLetter::decode(payload) {
        Ok(d) if !d.message_id.is_empty() => DeadLetterRecord {
            message_id: d.message_id,
            conversation_id: d.conversation_id,
            channel: if d.channel.is_empty() {
                subject_channel
            } else {
                d.channel
            },
            destination: d.destination,
            attempts: d.attempts,
            reason: d.reason,
            at_ms: if d.at_ms > 0 { d.at_ms } else { now },
            text: d.text,
            decode_error: None,
        },
        other => {
            let why = match other {
                Ok(_) => "no message id".to_owned(),
                Err(e) => e.to_string(),
            };
            let hash = key_hash(&[subject.as_bytes(), b"\n", payload].concat());
            DeadLetterRecord {
                message_id: format!("undecodable-{hash:016x}"),
                conversation_id: String::new(),
                channel: subject_channel,
                destination: String::new(),
                attempts: 0,
                reason: String::new(),
                at_ms: now,
                text: String::new(),
                decode_error: Some(why),
            }
        }
    }
}

async fn keep(service: &ContextService, delivery: Delivery) {
    let trace = delivery.trace_context();
    let span = tracing::info_span!("context.deadletter", trace_id = %trace.trace_id_hex(), subject = %delivery.message.subject);
    omni_telemetry::continue_trace(&span, &trace);
    async {
        let record = record_of(
            &delivery.message.subject,
            &delivery.message.payload,
            omni_core::time::now_ms(),
        );
        if let Some(why) = &record.decode_error {
            error!(trace_id = %trace.trace_id_hex(), subject = %delivery.message.subject, error = %why, "undecodable dead letter kept as received");
        }
        let result = service
            .store()
            .put_dead_letter(&record, service.settings().dead_letters_kept())
            .await
            .map_err(ContextError::from);
        match &result {
            Ok(true) => info!(trace_id = %trace.trace_id_hex(), channel = %record.channel, message_id = %record.message_id, "dead letter kept"),
            Ok(false) => {}
            Err(e) => warn!(trace_id = %trace.trace_id_hex(), message_id = %record.message_id, error = %e, attempt = delivery.attempt, "dead letter not kept; will retry"),
        }
        delivery.settle(result.map(|_| ())).await;
    }
    .instrument(span)
    .await
}

impl ContextService {
    /// The newest `limit` dead letters (of `channel` when given), newest
    /// first. Admins only. A `limit` of 0 lists [`DEFAULT_LIST`]; more than
    /// [`MAX_LIST`] lists that many.
    pub async fn dead_letters(
        &self,
        caller: &Caller,
        channel: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetterRecord>, ContextError> {
        require_admin(caller, "list dead letters")?;
        let limit = match limit {
            0 => DEFAULT_LIST,
            n => n.min(MAX_LIST),
        };
        Ok(self.store().dead_letters(channel, limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undecodable_payload_is_kept_with_its_channel_and_error() {
        let garbage = [0xff, 0xff, 0xff];
        let record = record_of("omni.deadletter.app", &garbage, 42);
        assert_eq!(record.channel, "app");
        assert_eq!(record.at_ms, 42);
        assert!(record.message_id.starts_with("undecodable-"));
        assert!(record.decode_error.is_some());
        // The same payload redelivered is the same record.
        assert_eq!(
            record_of("omni.deadletter.app", &garbage, 43).message_id,
            record.message_id
        );
        // A letter that names no channel is the subject's.
        let letter = adapter_pb::DeadLetter {
            message_id: "msg_1".into(),
            attempts: 5,
            at_ms: 7,
            ..Default::default()
        };
        let record = record_of("omni.deadletter.app", &letter.encode_to_vec(), 42);
        assert_eq!((record.message_id.as_str(), record.at_ms), ("msg_1", 7));
        assert_eq!(record.channel, "app");
        assert_eq!(record.decode_error, None);
    }
}
