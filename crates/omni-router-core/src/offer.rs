//! Offers: a reservation of one agent's capacity for one contact, until it is
//! accepted, declined, rescinded or expires.

use std::collections::BTreeSet;

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};

use crate::hasher::FxMap;

/// A contact offered to an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// `off_{epoch:x}_{counter}`, unique across restarts with distinct epochs.
    pub offer_id: String,
    /// The contact.
    pub conversation_id: ConversationId,
    /// The agent it is offered to.
    pub agent_id: AgentId,
    /// The contact's queue.
    pub queue: QueueId,
    /// The contact's channel.
    pub channel: Channel,
    /// When the offer times out unless accepted.
    pub expires_at_ms: Millis,
    /// When the contact started waiting (its original age).
    pub queued_at_ms: Millis,
}

/// Why an offer was taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RescindReason {
    /// The agent did not accept in time.
    Timeout,
    /// The agent declined.
    Declined,
    /// The contact was released (resolved, or the customer left).
    Released,
    /// The agent went away or offline, or was reconfigured so the contact no
    /// longer fits (capacity or skills).
    AgentUnavailable,
    /// The contact was transferred elsewhere.
    Transferred,
    /// The customer moved the conversation to another channel.
    ChannelChanged,
}

impl RescindReason {
    /// `timeout`, `declined`, `released`, `agent_unavailable`,
    /// `transferred` or `channel_changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RescindReason::Timeout => "timeout",
            RescindReason::Declined => "declined",
            RescindReason::Released => "released",
            RescindReason::AgentUnavailable => "agent_unavailable",
            RescindReason::Transferred => "transferred",
            RescindReason::ChannelChanged => "channel_changed",
        }
    }
}

/// A live offer, compact: slots instead of ids. The engine builds the
/// public [`Offer`] when it reports one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LiveOffer {
    pub(crate) seq: u64,
    /// The contact's slot inside the engine.
    pub(crate) contact: u32,
    /// The agent's slot inside the engine.
    pub(crate) agent: u32,
    /// The queue's slot inside the engine.
    pub(crate) queue: u32,
    pub(crate) channel: Channel,
    pub(crate) expires_at_ms: Millis,
}

/// Every live offer, by sequence and by expiry.
#[derive(Debug, Clone)]
pub(crate) struct OfferBook {
    /// `off_{epoch:x}_`.
    prefix: String,
    next_seq: u64,
    by_seq: FxMap<u64, LiveOffer>,
    /// (expires at, sequence): the sequence makes expiry order the creation
    /// order among offers that expire together.
    expiry: BTreeSet<(Millis, u64)>,
}

impl OfferBook {
    pub(crate) fn new(epoch: u64) -> Self {
        Self {
            prefix: format!("off_{epoch:x}_"),
            next_seq: 1,
            by_seq: FxMap::default(),
            expiry: BTreeSet::new(),
        }
    }

    /// Creates a live offer and returns its sequence.
    pub(crate) fn create(
        &mut self,
        contact: u32,
        agent: u32,
        queue: u32,
        channel: Channel,
        expires_at_ms: Millis,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.expiry.insert((expires_at_ms, seq));
        self.by_seq.insert(
            seq,
            LiveOffer {
                seq,
                contact,
                agent,
                queue,
                channel,
                expires_at_ms,
            },
        );
        seq
    }

    /// The id of the offer with sequence `seq`: `off_{epoch:x}_{seq}`.
    pub(crate) fn id(&self, seq: u64) -> String {
        // Decimal digits by hand: cheaper than the formatting machinery.
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = seq;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut id = String::with_capacity(self.prefix.len() + digits.len() - at);
        id.push_str(&self.prefix);
        for d in &digits[at..] {
            id.push(char::from(*d));
        }
        id
    }

    /// The sequence an offer id names, if it is one of this epoch's.
    pub(crate) fn seq_of(&self, offer_id: &str) -> Option<u64> {
        offer_id.strip_prefix(&self.prefix)?.parse().ok()
    }

    pub(crate) fn get(&self, seq: u64) -> Option<&LiveOffer> {
        self.by_seq.get(&seq)
    }

    pub(crate) fn remove(&mut self, seq: u64) -> Option<LiveOffer> {
        let live = self.by_seq.remove(&seq)?;
        self.expiry.remove(&(live.expires_at_ms, seq));
        Some(live)
    }

    /// Sequences of offers expired at `now_ms`, in expiry then creation order.
    pub(crate) fn due(&self, now_ms: Millis) -> Vec<u64> {
        self.expiry
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .map(|(_, seq)| *seq)
            .collect()
    }

    pub(crate) fn next_expiry(&self) -> Option<Millis> {
        self.expiry.first().map(|(at, _)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_epoch_in_hex_and_expire_in_order() {
        let mut book = OfferBook::new(255);
        let a = book.create(0, 0, 0, Channel::CHAT, 500);
        let b = book.create(1, 0, 0, Channel::CHAT, 100);
        assert_eq!(book.id(a), "off_ff_1");
        assert_eq!(book.id(b), "off_ff_2");
        assert_eq!(book.seq_of("off_ff_2"), Some(2));
        assert_eq!(book.seq_of("off_fe_2"), None, "another epoch");
        assert_eq!(book.seq_of("off_ff_x"), None);
        assert_eq!(book.next_expiry(), Some(100));
        assert_eq!(book.due(99), Vec::<u64>::new());
        assert_eq!(book.due(500), vec![2, 1]);
        assert!(book.remove(2).is_some());
        assert!(book.remove(2).is_none());
        assert_eq!(book.next_expiry(), Some(500));
    }
}
