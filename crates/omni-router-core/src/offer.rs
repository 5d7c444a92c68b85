//! Offers: a reservation of one agent's capacity for one contact, until it is
//! accepted, declined, rescinded or expires.

use std::collections::{BTreeSet, HashMap};

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};

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
}

impl RescindReason {
    /// `timeout`, `declined`, `released` or `agent_unavailable`.
    pub fn as_str(self) -> &'static str {
        match self {
            RescindReason::Timeout => "timeout",
            RescindReason::Declined => "declined",
            RescindReason::Released => "released",
            RescindReason::AgentUnavailable => "agent_unavailable",
        }
    }
}

/// A live offer and its creation sequence.
#[derive(Debug, Clone)]
pub(crate) struct LiveOffer {
    pub(crate) offer: Offer,
    pub(crate) seq: u64,
}

/// Every live offer, by id and by expiry.
#[derive(Debug, Clone)]
pub(crate) struct OfferBook {
    epoch: u64,
    next_seq: u64,
    by_id: HashMap<String, LiveOffer>,
    /// (expires at, sequence, id): the sequence makes expiry order the
    /// creation order among offers that expire together.
    expiry: BTreeSet<(Millis, u64, String)>,
}

impl OfferBook {
    pub(crate) fn new(epoch: u64) -> Self {
        Self {
            epoch,
            next_seq: 1,
            by_id: HashMap::new(),
            expiry: BTreeSet::new(),
        }
    }

    /// Creates a live offer and returns it.
    pub(crate) fn create(
        &mut self,
        conversation_id: ConversationId,
        agent_id: AgentId,
        queue: QueueId,
        channel: Channel,
        expires_at_ms: Millis,
    ) -> LiveOffer {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let offer = Offer {
            offer_id: format!("off_{:x}_{seq}", self.epoch),
            conversation_id,
            agent_id,
            queue,
            channel,
            expires_at_ms,
        };
        let live = LiveOffer { offer, seq };
        self.expiry
            .insert((expires_at_ms, seq, live.offer.offer_id.clone()));
        self.by_id.insert(live.offer.offer_id.clone(), live.clone());
        live
    }

    pub(crate) fn get(&self, offer_id: &str) -> Option<&LiveOffer> {
        self.by_id.get(offer_id)
    }

    pub(crate) fn remove(&mut self, offer_id: &str) -> Option<LiveOffer> {
        let live = self.by_id.remove(offer_id)?;
        self.expiry.remove(&(
            live.offer.expires_at_ms,
            live.seq,
            live.offer.offer_id.clone(),
        ));
        Some(live)
    }

    /// Ids of offers expired at `now_ms`, in expiry then creation order.
    pub(crate) fn due(&self, now_ms: Millis) -> Vec<String> {
        self.expiry
            .iter()
            .take_while(|(at, _, _)| *at <= now_ms)
            .map(|(_, _, id)| id.clone())
            .collect()
    }

    pub(crate) fn next_expiry(&self) -> Option<Millis> {
        self.expiry.first().map(|(at, _, _)| *at)
    }

    /// Every live offer, in creation order.
    pub(crate) fn all(&self) -> Vec<&LiveOffer> {
        let mut all: Vec<_> = self.by_id.values().collect();
        all.sort_by_key(|live| live.seq);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_epoch_in_hex_and_expire_in_order() {
        let mut book = OfferBook::new(255);
        let a = book.create("c1".into(), "x".into(), "q".into(), Channel::Chat, 500);
        let b = book.create("c2".into(), "x".into(), "q".into(), Channel::Chat, 100);
        assert_eq!(a.offer.offer_id, "off_ff_1");
        assert_eq!(b.offer.offer_id, "off_ff_2");
        assert_eq!(book.next_expiry(), Some(100));
        assert_eq!(book.due(99), Vec::<String>::new());
        assert_eq!(
            book.due(500),
            vec!["off_ff_2".to_owned(), "off_ff_1".to_owned()]
        );
        assert!(book.remove("off_ff_2").is_some());
        assert!(book.remove("off_ff_2").is_none());
        assert_eq!(book.next_expiry(), Some(500));
    }
}
