//! The JetStream side of [`omni_bus::topology`]: stream and consumer
//! configurations, and their idempotent declaration at connect time.

use std::time::Duration;

use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::stream::{self, ConsumerErrorKind, RetentionPolicy, StorageType};
use async_nats::jetstream::{Context, ErrorCode};
use omni_bus::BusError;
use omni_bus::topology::{self, ConsumerSpec, StreamSpec};

/// How long a message id is remembered for deduplication, as on the embedded bus.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// What the streams keep, beyond the topology.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamLimits {
    /// The longest a stream keeps a message (`max_age`); `None` keeps it
    /// until it is deleted (`[retention] stream_max_age_days = 0`).
    pub max_age: Option<Duration>,
}

/// Declares every stream of [`topology::STREAMS`] and every durable consumer
/// of [`topology::CONSUMERS`], creating what is missing and updating what
/// exists, so running it on every connect is harmless:
///
/// | stream | subjects | consumers (filter) |
/// |---|---|---|
/// | `OMNI_INBOUND` | `omni.inbound.>` | `context-inbound` (`omni.inbound.>`) |
/// | `OMNI_ROUTING` | `omni.routing.>` | `router-requests` (`omni.routing.*`) |
/// | `OMNI_ASSIGNMENT` | `omni.assignment.>` | `context-assignments` (`omni.assignment.created`) |
/// | `OMNI_OUTBOUND` | `omni.outbound.>` | `chat-outbound` (`omni.outbound.chat`) |
///
/// Streams: file storage, limits retention (nothing expires by count; by
/// age only with [`StreamLimits::max_age`], applied to existing streams
/// too), duplicate window of two minutes ([`DUPLICATE_WINDOW`]).
/// Consumers: durable pull consumers with explicit acks, the spec's ack wait
/// and max ack pending, delivering everything the stream holds. A topology
/// consumer thus collects messages from its declaration on, before any
/// process consumes.
pub async fn declare_topology(js: &Context, limits: &StreamLimits) -> Result<(), BusError> {
    for spec in topology::STREAMS {
        js.create_or_update_stream(stream_config(spec, limits))
            .await
            .map_err(|e| {
                BusError::Unavailable(format!("cannot declare stream {}: {e}", spec.name))
            })?;
        tracing::debug!(stream = spec.name, "stream declared");
    }
    for spec in topology::CONSUMERS {
        declare_consumer(js, spec).await?;
    }
    Ok(())
}

/// Creates the durable consumer `spec`, or updates it to `spec`.
///
/// A consumer that is not in [`topology::CONSUMERS`] starts with the
/// messages published after its first declaration, as on the embedded bus;
/// a topology consumer takes everything its stream holds.
pub async fn declare_consumer(js: &Context, spec: &ConsumerSpec) -> Result<PullConsumer, BusError> {
    let consumer = js
        .create_consumer_on_stream(consumer_config(spec), spec.stream)
        .await
        .map_err(|e| match e.kind() {
            ConsumerErrorKind::JetStream(ref js_error)
                if js_error.error_code() == ErrorCode::STREAM_NOT_FOUND =>
            {
                BusError::UnknownConsumer(format!(
                    "{} (stream {} does not exist)",
                    spec.name, spec.stream
                ))
            }
            ConsumerErrorKind::InvalidName => {
                BusError::UnknownConsumer(format!("{} (invalid name)", spec.name))
            }
            _ => BusError::Unavailable(format!(
                "cannot declare consumer {} on stream {}: {e}",
                spec.name, spec.stream
            )),
        })?;
    tracing::debug!(
        consumer = spec.name,
        stream = spec.stream,
        "consumer declared"
    );
    Ok(consumer)
}

fn stream_config(spec: &StreamSpec, limits: &StreamLimits) -> stream::Config {
    stream::Config {
        name: spec.name.to_owned(),
        subjects: spec.subjects.iter().map(|s| (*s).to_owned()).collect(),
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: limits.max_age.unwrap_or_default(),
        ..Default::default()
    }
}

fn consumer_config(spec: &ConsumerSpec) -> consumer::pull::Config {
    let in_topology = topology::CONSUMERS.iter().any(|c| c.name == spec.name);
    consumer::pull::Config {
        durable_name: Some(spec.name.to_owned()),
        filter_subject: spec.filter.to_owned(),
        ack_policy: AckPolicy::Explicit,
        ack_wait: spec.ack_wait,
        max_ack_pending: i64::try_from(spec.max_ack_pending).unwrap_or(i64::MAX),
        deliver_policy: if in_topology {
            DeliverPolicy::All
        } else {
            DeliverPolicy::New
        },
        ..Default::default()
    }
}
