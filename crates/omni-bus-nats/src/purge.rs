//! [`omni_bus::Bus::purge`] on JetStream: an ordered consumer reads the
//! stream once, from its first message to the last one stored when the purge
//! began, and every message the filter selects is deleted by sequence
//! (`$JS.API.STREAM.MSG.DELETE`). The streams' subjects do not name
//! customers, so a subject-filtered purge cannot select a customer's
//! messages; the scan is bounded by what the stream holds, which its max age
//! bounds.

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use omni_bus::{BusError, MessageFilter, topology};

use crate::convert;

/// How long the scan waits for the next message before it stops (the last
/// one may have been deleted meanwhile).
const NEXT_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn purge(
    js: &jetstream::Context,
    stream_name: &str,
    matches: MessageFilter,
) -> Result<u64, BusError> {
    if !topology::STREAMS.iter().any(|s| s.name == stream_name) {
        return Err(BusError::NoStream(stream_name.to_owned()));
    }
    let unavailable = |what: &str, e: &dyn std::fmt::Display| {
        BusError::Unavailable(format!("purge of {stream_name}: {what}: {e}"))
    };
    let stream = js
        .get_stream(stream_name)
        .await
        .map_err(|e| unavailable("cannot read the stream", &e))?;
    let state = stream
        .get_info()
        .await
        .map_err(|e| unavailable("cannot read the stream state", &e))?
        .state;
    if state.messages == 0 {
        return Ok(0);
    }
    let last = state.last_sequence;
    let reader = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable("cannot create the scan consumer", &e))?;
    let mut messages = reader
        .messages()
        .await
        .map_err(|e| unavailable("cannot read the stream", &e))?;
    let mut deleted = 0u64;
    loop {
        let next = match tokio::time::timeout(NEXT_TIMEOUT, messages.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(e))) => return Err(unavailable("reading failed", &e)),
            Ok(None) | Err(_) => break,
        };
        let info = next
            .info()
            .map_err(|e| unavailable("message without stream info", &e))?;
        let (seq, remaining) = (info.stream_sequence, info.pending);
        if matches(&convert::from_nats(next.message.clone())) {
            let gone = stream
                .delete_message(seq)
                .await
                .map_err(|e| unavailable("cannot delete a message", &e))?;
            if gone {
                deleted += 1;
            }
        }
        if seq >= last || remaining == 0 {
            break;
        }
    }
    tracing::debug!(stream = stream_name, deleted, "stream purged by filter");
    Ok(deleted)
}
