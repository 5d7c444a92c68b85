//! The contact center's numbers, with typed label sets: per queue and
//! channel (contacts offered, answered, abandoned, transferred, overflowed;
//! offers by result; wait, first-response and handle times) and per channel (outbound
//! results, delivery failures, delivery-report latency). The per-agent gauges are read at scrape
//! time by the router.
//!
//! The per-queue counts are [`Number`]s: the router adds to them here and,
//! through its store, per day, so they are restored at start
//! ([`ContactCenter::restore`]) and a restart neither zeroes them nor makes
//! them go backwards.

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use super::{Buckets, SECONDS_BUCKETS, register};

/// A queue and a declared channel's name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct QueueChannel {
    /// The queue.
    pub queue: String,
    /// The channel.
    pub channel: String,
}

impl QueueChannel {
    /// `queue` on `channel`.
    pub fn new(queue: &str, channel: &str) -> Self {
        Self {
            queue: queue.to_owned(),
            channel: channel.to_owned(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OfferResult {
    queue: String,
    channel: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelResult {
    channel: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelReason {
    channel: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelStatus {
    channel: String,
    status: String,
}

/// One of the counted numbers per queue and channel.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub enum Number {
    /// A contact entered a queue (arrived, overflowed or transferred in).
    Offered,
    /// An agent accepted the contact.
    Answered,
    /// Of those, within the queue's service-level threshold.
    AnsweredWithinTarget,
    /// The customer left (or the conversation was closed) while the
    /// contact waited or was offered.
    Abandoned,
    /// Of those, after the queue's service-level threshold.
    AbandonedAfterTarget,
    /// The contact was transferred out (to a queue or an agent).
    Transferred,
    /// The contact moved on to another queue by overflow.
    Overflowed,
    /// An offer was accepted.
    OfferAccepted,
    /// An offer was declined.
    OfferDeclined,
    /// An offer timed out.
    OfferTimedOut,
    /// A waiting contact left its queue for a bot (a closed queue's
    /// `closed_bot`); it enters the queue again, as a new contact, when the
    /// bot hands off.
    ToBot,
}

impl Number {
    /// Every number.
    pub const ALL: [Number; 11] = [
        Number::Offered,
        Number::Answered,
        Number::AnsweredWithinTarget,
        Number::Abandoned,
        Number::AbandonedAfterTarget,
        Number::Transferred,
        Number::Overflowed,
        Number::OfferAccepted,
        Number::OfferDeclined,
        Number::OfferTimedOut,
        Number::ToBot,
    ];

    /// The name in the store and in `omni_queue_today{number}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Number::Offered => "offered",
            Number::Answered => "answered",
            Number::AnsweredWithinTarget => "answered_within_target",
            Number::Abandoned => "abandoned",
            Number::AbandonedAfterTarget => "abandoned_after_target",
            Number::Transferred => "transferred",
            Number::Overflowed => "overflowed",
            Number::OfferAccepted => "offers_accepted",
            Number::OfferDeclined => "offers_declined",
            Number::OfferTimedOut => "offers_timed_out",
            Number::ToBot => "to_bot",
        }
    }

    /// The number named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == name)
    }

    /// The `result` label of `omni_offers_total`, for the offer numbers.
    fn offer_result(self) -> Option<&'static str> {
        match self {
            Number::OfferAccepted => Some("accepted"),
            Number::OfferDeclined => Some("declined"),
            Number::OfferTimedOut => Some("timed_out"),
            _ => None,
        }
    }

    /// The slot of a contact counter.
    fn slot(self) -> usize {
        self as usize
    }
}

/// Service level: answered within the threshold over answered plus
/// abandoned after the threshold (a customer who left before the threshold
/// counts for nothing); `None` before any.
pub fn service_level(
    answered: u64,
    answered_within_target: u64,
    abandoned_after_target: u64,
) -> Option<f64> {
    let base = answered.saturating_add(abandoned_after_target);
    (base > 0).then(|| answered_within_target.min(answered) as f64 / base as f64)
}

/// The contact center's families; one per process ([`contact_center`]).
#[derive(Debug)]
pub struct ContactCenter {
    /// By [`Number::slot`]; the offer numbers' slots stay unused.
    contacts: Vec<Family<QueueChannel, Counter>>,
    offers: Family<OfferResult, Counter>,
    wait: Family<QueueChannel, Histogram, Buckets>,
    first_response: Family<QueueChannel, Histogram, Buckets>,
    handle: Family<QueueChannel, Histogram, Buckets>,
    outbound: Family<ChannelResult, Counter>,
    failures: Family<ChannelReason, Counter>,
    report: Family<ChannelStatus, Histogram, Buckets>,
}

/// The process's [`ContactCenter`], registered on first use.
pub fn contact_center() -> &'static ContactCenter {
    static CENTER: OnceLock<ContactCenter> = OnceLock::new();
    CENTER.get_or_init(ContactCenter::register)
}

fn seconds() -> Family<QueueChannel, Histogram, Buckets> {
    Family::new_with_constructor(Buckets(SECONDS_BUCKETS))
}

impl ContactCenter {
    fn register() -> Self {
        let contacts: Vec<Family<QueueChannel, Counter>> =
            Number::ALL.iter().map(|_| Family::default()).collect();
        for (number, help) in [
            (Number::Offered, "contacts that entered a queue"),
            (Number::Answered, "contacts an agent accepted"),
            (
                Number::AnsweredWithinTarget,
                "contacts accepted within the queue's service-level threshold",
            ),
            (
                Number::Abandoned,
                "contacts whose customer left, or whose conversation was closed, while waiting",
            ),
            (
                Number::AbandonedAfterTarget,
                "abandoned contacts that had waited past the service-level threshold",
            ),
            (
                Number::Transferred,
                "contacts transferred to another queue or agent",
            ),
            (
                Number::Overflowed,
                "contacts moved on to another queue by overflow",
            ),
            (
                Number::ToBot,
                "waiting contacts a closed queue handed to its bot (not abandoned)",
            ),
        ] {
            let name = format!("omni_contacts_{}", number.as_str());
            register(&name, help, contacts[number.slot()].clone());
        }
        let center = Self {
            contacts,
            offers: Family::default(),
            wait: seconds(),
            first_response: seconds(),
            handle: seconds(),
            outbound: Family::default(),
            failures: Family::default(),
            report: Family::new_with_constructor(Buckets(SECONDS_BUCKETS)),
        };
        register(
            "omni_offers",
            "offers made to agents, by result (accepted, declined, timed_out)",
            center.offers.clone(),
        );
        register(
            "omni_wait_seconds",
            "time a contact waited until answered or abandoned",
            center.wait.clone(),
        );
        register(
            "omni_first_response_seconds",
            "customer's first message to the agent's first reply",
            center.first_response.clone(),
        );
        register(
            "omni_delivery_report_seconds",
            "a reply's store to the provider's delivery report, by the status reported",
            center.report.clone(),
        );
        register(
            "omni_handle_seconds",
            "an agent's accept to the contact's resolve",
            center.handle.clone(),
        );
        register(
            "omni_outbound_deliveries",
            "messages for customers handled by the channel's adapter, by result",
            center.outbound.clone(),
        );
        register(
            "omni_delivery_failures",
            "messages for customers that failed, by reason",
            center.failures.clone(),
        );
        center
    }

    /// Adds `n` to `number` of `queue` on `channel`.
    pub fn add(&self, number: Number, queue: &str, channel: &str, n: u64) {
        if let Some(result) = number.offer_result() {
            self.offers
                .get_or_create(&OfferResult {
                    queue: queue.to_owned(),
                    channel: channel.to_owned(),
                    result,
                })
                .inc_by(n);
        } else {
            self.contacts[number.slot()]
                .get_or_create(&QueueChannel::new(queue, channel))
                .inc_by(n);
        }
    }

    /// The count of `number` of `queue` on `channel` since start (restored
    /// counts included).
    pub fn get(&self, number: Number, queue: &str, channel: &str) -> u64 {
        if let Some(result) = number.offer_result() {
            let key = OfferResult {
                queue: queue.to_owned(),
                channel: channel.to_owned(),
                result,
            };
            self.offers.get(&key).map_or(0, |c| c.get())
        } else {
            self.contacts[number.slot()]
                .get(&QueueChannel::new(queue, channel))
                .map_or(0, |c| c.get())
        }
    }

    /// Raises `number` of `queue` on `channel` to `total` (the count the
    /// store holds over every day) if it is lower: at start, so the
    /// exported counter continues from where the last process left it.
    pub fn restore(&self, number: Number, queue: &str, channel: &str, total: u64) {
        let now = self.get(number, queue, channel);
        if total > now {
            self.add(number, queue, channel, total - now);
        }
    }

    /// Records a contact's wait until answered or abandoned.
    pub fn observe_wait(&self, queue: &str, channel: &str, seconds: f64) {
        self.wait
            .get_or_create(&QueueChannel::new(queue, channel))
            .observe(seconds);
    }

    /// Records the time from the customer's first message to the agent's
    /// first reply.
    pub fn observe_first_response(&self, queue: &str, channel: &str, seconds: f64) {
        self.first_response
            .get_or_create(&QueueChannel::new(queue, channel))
            .observe(seconds);
    }

    /// Records the time from an agent's accept to the contact's resolve.
    pub fn observe_handle(&self, queue: &str, channel: &str, seconds: f64) {
        self.handle
            .get_or_create(&QueueChannel::new(queue, channel))
            .observe(seconds);
    }

    /// Counts a message for a customer handled by `channel`'s adapter
    /// (`result`: `submitted`, `failed`, ...).
    pub fn outbound(&self, channel: &str, result: &str) {
        self.outbound
            .get_or_create(&ChannelResult {
                channel: channel.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts a failed message for a customer, by `reason`.
    pub fn delivery_failure(&self, channel: &str, reason: &str) {
        self.failures
            .get_or_create(&ChannelReason {
                channel: channel.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Records the time from a reply's store to a delivery report that
    /// moved it to `status`.
    pub fn observe_delivery_report(&self, channel: &str, status: &str, seconds: f64) {
        self.report
            .get_or_create(&ChannelStatus {
                channel: channel.to_owned(),
                status: status.to_owned(),
            })
            .observe(seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_level_counts_answered_in_target_over_answered_and_late_abandons() {
        assert_eq!(service_level(0, 0, 0), None);
        // 3 answered, 2 of them in target, 1 abandoned late: 2 / 4.
        assert_eq!(service_level(3, 2, 1), Some(0.5));
        // Early abandons are not in the inputs at all: 1 / 1.
        assert_eq!(service_level(1, 1, 0), Some(1.0));
        // Only late abandons: 0.
        assert_eq!(service_level(0, 0, 2), Some(0.0));
        // In target can never exceed answered.
        assert_eq!(service_level(1, 5, 0), Some(1.0));
    }

    #[test]
    fn numbers_round_trip_their_names() {
        for n in Number::ALL {
            assert_eq!(Number::parse(n.as_str()), Some(n));
        }
        assert_eq!(Number::parse("nonsense"), None);
    }

    #[test]
    fn counts_render_per_queue_and_channel_and_restore_never_lowers() {
        let cc = contact_center();
        cc.add(Number::Offered, "qa_render", "chat", 2);
        cc.add(Number::OfferDeclined, "qa_render", "chat", 1);
        cc.observe_wait("qa_render", "chat", 3.0);
        cc.restore(Number::Offered, "qa_render", "chat", 5);
        cc.restore(Number::Offered, "qa_render", "chat", 1);
        assert_eq!(cc.get(Number::Offered, "qa_render", "chat"), 5);
        let text = super::super::render();
        assert!(
            text.contains("omni_contacts_offered_total{queue=\"qa_render\",channel=\"chat\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "omni_offers_total{queue=\"qa_render\",channel=\"chat\",result=\"declined\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("omni_wait_seconds_count{queue=\"qa_render\",channel=\"chat\"} 1\n"),
            "{text}"
        );
    }
}
