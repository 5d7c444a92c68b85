//! Every subject, stream and durable consumer of Omniroute, in one place.
//!
//! | subject | stream | consumers | payload (`omni.events.v1`) |
//! |---|---|---|---|
//! | `omni.inbound.<channel>` | `OMNI_INBOUND` | `context-inbound` | `InboundMessage` |
//! | `omni.routing.request` | `OMNI_ROUTING` | `router-requests` | `RoutingRequest` |
//! | `omni.routing.release` | `OMNI_ROUTING` | `router-requests` | `RoutingRelease` |
//! | `omni.assignment.created` | `OMNI_ASSIGNMENT` | `context-assignments` | `Assignment` |
//! | `omni.assignment.refused` | `OMNI_ASSIGNMENT` | `context-refusals` | `RoutingRefused` |
//! | `omni.assignment.closed` | `OMNI_ASSIGNMENT` | `context-closed` | `QueueClosedNotice` |
//! | `omni.outbound.<channel>` | `OMNI_OUTBOUND` | `<channel>-outbound` | `OutboundMessage` |
//! | `omni.delivery.<channel>` | `OMNI_DELIVERY` | `context-delivery` | `DeliveryReport` |
//! | `omni.conversation.event.<id>` | none (fan-out) | | `ConversationEvent` |
//! | `omni.queue.position.<id>` | none (fan-out) | | `QueuePosition` |
//! | `omni.adapter.announce.<channel>` | none (fan-out) | | `adapter.v1.Announcement` |
//! | `omni.deadletter.<channel>` | `OMNI_DEADLETTER` | `context-deadletters` | `adapter.v1.DeadLetter` |
//! | `omni.bot.turn.<bot>` | `OMNI_BOT` | `bot-<bot>` (the bot) | `bot.v1.BotTurn` |
//! | `omni.bot.reply` | `OMNI_BOT` | `context-bot-replies` | `bot.v1.BotReply` |
//! | `omni.enrich.request.<name>` | none (request/reply) | the enricher `<name>` | `enrich.v1.EnrichRequest` |
//! | `omni.reply.<id>` | none (fan-out) | the requester ([`crate::request`]) | the answer |
//! | `omni.schedule.due` | `OMNI_SCHEDULE` | `context-schedule` | `ScheduleDue` |
//!
//! Streams keep a message at most `[retention] stream_max_age_days` (NATS
//! `max_age`; the embedded bus expires what no consumer took), and
//! [`crate::Bus::purge`] deletes a customer's messages on erasure.
//!
//! The consumers that write into the store (`context-*`, `router-requests`)
//! have an ack wait of 5 s ([`INGEST_ACK_WAIT`]), the outbound ones 30 s;
//! either way a live consumer extends it while it works.

use std::time::Duration;

use omni_core::Channel;

/// A durable stream and the subjects it captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSpec {
    /// Stream name.
    pub name: &'static str,
    /// Subject filters it captures.
    pub subjects: &'static [&'static str],
}

/// A durable consumer: a named cursor on a stream, shared by replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// Durable consumer name.
    pub name: &'static str,
    /// The stream it reads.
    pub stream: &'static str,
    /// The subjects it takes from that stream.
    pub filter: &'static str,
    /// How long a delivery may stay unacked before it is delivered again.
    pub ack_wait: Duration,
    /// Unacked deliveries in flight at most, across all receivers.
    pub max_ack_pending: usize,
}

/// Customer messages from every adapter.
pub const INBOUND: StreamSpec = StreamSpec {
    name: "OMNI_INBOUND",
    subjects: &["omni.inbound.>"],
};

/// Routing requests and releases.
pub const ROUTING: StreamSpec = StreamSpec {
    name: "OMNI_ROUTING",
    subjects: &["omni.routing.>"],
};

/// Assignments made by the router.
pub const ASSIGNMENT: StreamSpec = StreamSpec {
    name: "OMNI_ASSIGNMENT",
    subjects: &["omni.assignment.>"],
};

/// Messages for customers, per channel.
pub const OUTBOUND: StreamSpec = StreamSpec {
    name: "OMNI_OUTBOUND",
    subjects: &["omni.outbound.>"],
};

/// What became of outbound messages, reported by the adapters.
pub const DELIVERY: StreamSpec = StreamSpec {
    name: "OMNI_DELIVERY",
    subjects: &["omni.delivery.>"],
};

/// Outbound messages an adapter gave up on after its last retry; the
/// context service keeps them for operators ([`CONTEXT_DEADLETTERS`]).
pub const DEADLETTER: StreamSpec = StreamSpec {
    name: "OMNI_DEADLETTER",
    subjects: &["omni.deadletter.>"],
};

/// Every durable stream.
pub const STREAMS: &[StreamSpec] = &[
    INBOUND, ROUTING, ASSIGNMENT, OUTBOUND, DELIVERY, DEADLETTER, BOT, SCHEDULE,
];

/// Turns for bots and their replies (docs/bots.md).
pub const BOT: StreamSpec = StreamSpec {
    name: "OMNI_BOT",
    subjects: &["omni.bot.>"],
};

/// Bots' replies, for the context service.
pub const CONTEXT_BOT_REPLIES: ConsumerSpec = ConsumerSpec {
    name: "context-bot-replies",
    stream: BOT.name,
    filter: subjects::BOT_REPLY,
    ack_wait: INGEST_ACK_WAIT,
    max_ack_pending: 64,
};

/// The durable consumer a bot takes its turns from: `bot-<bot>` on
/// `omni.bot.turn.<bot>`. Built once per configured bot (its names are
/// kept for the process's life); the context service declares it before
/// it publishes a turn, so turns wait for a bot that starts later.
pub fn bot_turns(bot: &str) -> ConsumerSpec {
    let name: &'static str = Box::leak(format!("bot-{bot}").into_boxed_str());
    let filter: &'static str = Box::leak(subjects::bot_turn(bot).into_boxed_str());
    ConsumerSpec {
        name,
        stream: BOT.name,
        filter,
        ack_wait: Duration::from_secs(30),
        max_ack_pending: 64,
    }
}

/// Scheduled items the router found due (surveys, follow-ups;
/// docs/surveys.md).
pub const SCHEDULE: StreamSpec = StreamSpec {
    name: "OMNI_SCHEDULE",
    subjects: &["omni.schedule.>"],
};

/// The context service's sending of due scheduled items.
pub const CONTEXT_SCHEDULE: ConsumerSpec = ConsumerSpec {
    name: "context-schedule",
    stream: SCHEDULE.name,
    filter: subjects::SCHEDULE_DUE,
    ack_wait: INGEST_ACK_WAIT,
    max_ack_pending: 64,
};

/// The ack wait of the consumers that send to customers' providers, where a
/// second attempt is visible to the customer.
const ACK_WAIT: Duration = Duration::from_secs(30);

/// The ack wait of the consumers that write into the store. Short, so a
/// message held by a consumer that crashed comes again after a few seconds,
/// not after half a minute behind hundreds of later ones; a consumer that is
/// alive keeps its deliveries however long they take by signalling progress
/// every third of it ([`crate::Delivery::keep_alive`], which
/// [`crate::drain_until`] and [`crate::drain_keyed`] apply to every delivery).
pub const INGEST_ACK_WAIT: Duration = Duration::from_secs(5);

/// The context service's intake of customer messages.
pub const CONTEXT_INBOUND: ConsumerSpec = ConsumerSpec {
    name: "context-inbound",
    stream: INBOUND.name,
    filter: "omni.inbound.>",
    ack_wait: INGEST_ACK_WAIT,
    max_ack_pending: 256,
};

/// The context service's record of assignments.
pub const CONTEXT_ASSIGNMENTS: ConsumerSpec = ConsumerSpec {
    name: "context-assignments",
    stream: ASSIGNMENT.name,
    filter: "omni.assignment.created",
    ack_wait: INGEST_ACK_WAIT,
    max_ack_pending: 256,
};

/// The context service's handling of conversations the router turned away
/// (a full queue): the customer's automatic answer.
pub const CONTEXT_REFUSALS: ConsumerSpec = ConsumerSpec {
    name: "context-refusals",
    stream: ASSIGNMENT.name,
    filter: "omni.assignment.refused",
    ack_wait: INGEST_ACK_WAIT,
    max_ack_pending: 256,
};

/// The context service's handling of conversations waiting in a closed
/// queue (business hours): the customer's automatic answer.
pub const CONTEXT_CLOSED: ConsumerSpec = ConsumerSpec {
    name: "context-closed",
    stream: ASSIGNMENT.name,
    filter: "omni.assignment.closed",
    ack_wait: INGEST_ACK_WAIT,
    max_ack_pending: 256,
};

/// The router's intake of routing requests and releases.
pub const ROUTER_REQUESTS: ConsumerSpec = ConsumerSpec {
    name: "router-requests",
    stream: ROUTING.name,
    filter: "omni.routing.*",
    ack_wait: INGEST_ACK_WAIT,
    max_ack_pending: 1024,
};

/// The chat adapter's outbound deliveries.
pub const CHAT_OUTBOUND: ConsumerSpec = ConsumerSpec {
    name: "chat-outbound",
    stream: OUTBOUND.name,
    filter: "omni.outbound.chat",
    ack_wait: ACK_WAIT,
    max_ack_pending: 256,
};

/// The email adapter's outbound deliveries.
pub const EMAIL_OUTBOUND: ConsumerSpec = ConsumerSpec {
    name: "email-outbound",
    stream: OUTBOUND.name,
    filter: "omni.outbound.email",
    ack_wait: ACK_WAIT,
    max_ack_pending: 64,
};

/// The SMS adapter's outbound deliveries.
pub const SMS_OUTBOUND: ConsumerSpec = ConsumerSpec {
    name: "sms-outbound",
    stream: OUTBOUND.name,
    filter: "omni.outbound.sms",
    ack_wait: ACK_WAIT,
    max_ack_pending: 64,
};

/// The context service's record of delivery reports.
pub const CONTEXT_DELIVERY: ConsumerSpec = ConsumerSpec {
    name: "context-delivery",
    stream: DELIVERY.name,
    filter: "omni.delivery.>",
    ack_wait: INGEST_ACK_WAIT,
    max_ack_pending: 256,
};

/// The context service's record of dead letters, which operators read
/// through its `ListDeadLetters` call and the desk.
pub const CONTEXT_DEADLETTERS: ConsumerSpec = ConsumerSpec {
    name: "context-deadletters",
    stream: DEADLETTER.name,
    filter: "omni.deadletter.>",
    ack_wait: INGEST_ACK_WAIT,
    max_ack_pending: 64,
};

/// Every durable consumer.
pub const CONSUMERS: &[ConsumerSpec] = &[
    CONTEXT_INBOUND,
    CONTEXT_ASSIGNMENTS,
    CONTEXT_REFUSALS,
    ROUTER_REQUESTS,
    CHAT_OUTBOUND,
    EMAIL_OUTBOUND,
    SMS_OUTBOUND,
    CONTEXT_DELIVERY,
    CONTEXT_DEADLETTERS,
    CONTEXT_CLOSED,
    CONTEXT_BOT_REPLIES,
    CONTEXT_SCHEDULE,
];

/// Subject names.
pub mod subjects {
    use super::Channel;

    /// Routing requests.
    pub const ROUTING_REQUEST: &str = "omni.routing.request";
    /// Conversations that no longer need an agent.
    pub const ROUTING_RELEASE: &str = "omni.routing.release";
    /// The release reason of a waiting contact handed to a closed queue's
    /// bot: the router counts it as handed to the bot, not abandoned.
    pub const RELEASE_TO_BOT: &str = "bot";
    /// Assignments made by the router.
    pub const ASSIGNMENT_CREATED: &str = "omni.assignment.created";
    /// Conversations the router turned away (a full queue).
    pub const ASSIGNMENT_REFUSED: &str = "omni.assignment.refused";
    /// Conversations waiting in a closed queue (business hours).
    pub const ASSIGNMENT_CLOSED: &str = "omni.assignment.closed";

    /// A customer message on `channel`.
    pub fn inbound(channel: Channel) -> String {
        format!("omni.inbound.{channel}")
    }

    /// A message for a customer on `channel`.
    pub fn outbound(channel: Channel) -> String {
        format!("omni.outbound.{channel}")
    }

    /// A delivery report from the adapter of `channel`.
    pub fn delivery(channel: Channel) -> String {
        format!("omni.delivery.{channel}")
    }

    /// Turns for the bot `bot`.
    pub fn bot_turn(bot: &str) -> String {
        format!("omni.bot.turn.{bot}")
    }

    /// Bots' replies.
    pub const BOT_REPLY: &str = "omni.bot.reply";

    /// Enrichment requests for the external enricher `name`
    /// (docs/enrichment.md).
    pub fn enrich_request(name: &str) -> String {
        format!("omni.enrich.request.{name}")
    }

    /// Answers to one request ([`crate::request`]), `id` unique per
    /// request.
    pub fn reply(id: &str) -> String {
        format!("omni.reply.{id}")
    }
    /// Scheduled items the router found due.
    pub const SCHEDULE_DUE: &str = "omni.schedule.due";

    /// Live events of one conversation.
    pub fn conversation_event(conversation_id: &str) -> String {
        format!("omni.conversation.event.{conversation_id}")
    }

    /// Live events of every conversation.
    pub const CONVERSATION_EVENTS: &str = "omni.conversation.event.>";

    /// A waiting conversation's place in its queue, from the router.
    pub fn queue_position(conversation_id: &str) -> String {
        format!("omni.queue.position.{conversation_id}")
    }

    /// Queue positions of every waiting conversation.
    pub const QUEUE_POSITIONS: &str = "omni.queue.position.>";

    /// An outbound message of `channel` given up after its last retry.
    pub fn deadletter(channel: Channel) -> String {
        format!("omni.deadletter.{channel}")
    }

    /// An adapter's capability declaration for `channel`, on start.
    pub fn adapter_announce(channel: Channel) -> String {
        format!("omni.adapter.announce.{channel}")
    }
}

/// The stream that captures `subject`, if any.
pub fn stream_for(subject: &str) -> Option<&'static StreamSpec> {
    STREAMS.iter().find(|s| {
        s.subjects
            .iter()
            .any(|f| crate::subject::matches(f, subject))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_out_subjects_are_in_no_stream() {
        assert!(stream_for(&subjects::queue_position("k_1")).is_none());
        assert!(stream_for(&subjects::conversation_event("k_1")).is_none());
        assert!(crate::subject::matches(
            subjects::QUEUE_POSITIONS,
            &subjects::queue_position("k_1")
        ));
        assert_eq!(
            stream_for(subjects::ROUTING_REQUEST).map(|s| s.name),
            Some("OMNI_ROUTING")
        );
    }
}
