//! What became of recent offers, so that a late answer to one (a second
//! window accepting, an accept after the timeout) is told exactly what
//! happened rather than that the offer is unknown.
//!
//! The engine forgets an offer once it is settled; this keeps the outcome
//! of the last [`KEEP`] settled offers, oldest forgotten first.

use std::collections::{HashMap, VecDeque};

use omni_router_core::RescindReason;

use crate::RouterError;

/// Settled offers remembered.
pub const KEEP: usize = 4096;

/// How an offer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted: the conversation is assigned.
    Accepted,
    /// Taken back, for this reason.
    Rescinded(RescindReason),
}

/// The outcomes of the last [`KEEP`] settled offers.
#[derive(Debug, Default)]
pub struct SettledOffers {
    order: VecDeque<String>,
    outcomes: HashMap<String, Outcome>,
}

impl SettledOffers {
    /// Records how `offer_id` ended.
    pub fn record(&mut self, offer_id: &str, outcome: Outcome) {
        if self.outcomes.insert(offer_id.to_owned(), outcome).is_none() {
            self.order.push_back(offer_id.to_owned());
        }
        while self.order.len() > KEEP {
            if let Some(old) = self.order.pop_front() {
                self.outcomes.remove(&old);
            }
        }
    }

    /// The error for an answer to `offer_id`, which the engine no longer
    /// holds: taken, closed, or (never seen or long forgotten) unknown.
    pub fn error_for(&self, offer_id: &str, unknown: RouterError) -> RouterError {
        match self.outcomes.get(offer_id) {
            Some(Outcome::Accepted) => RouterError::OfferTaken(offer_id.to_owned()),
            Some(Outcome::Rescinded(reason)) => RouterError::OfferClosed {
                offer_id: offer_id.to_owned(),
                why: reason.as_str().to_owned(),
            },
            None => unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use omni_router_core::EngineError;

    use super::*;

    fn unknown(id: &str) -> RouterError {
        EngineError::UnknownOffer(id.to_owned()).into()
    }

    #[test]
    fn a_settled_offer_is_named_by_its_outcome_until_forgotten() {
        let mut settled = SettledOffers::default();
        settled.record("off_a", Outcome::Accepted);
        settled.record("off_b", Outcome::Rescinded(RescindReason::Timeout));
        assert!(matches!(
            settled.error_for("off_a", unknown("off_a")),
            RouterError::OfferTaken(_)
        ));
        assert_eq!(
            settled.error_for("off_b", unknown("off_b")).to_string(),
            "offer off_b is no longer open (timeout)"
        );
        assert!(matches!(
            settled.error_for("off_c", unknown("off_c")),
            RouterError::Engine(EngineError::UnknownOffer(_))
        ));
        for i in 0..KEEP {
            settled.record(&format!("off_{i}"), Outcome::Accepted);
        }
        assert!(matches!(
            settled.error_for("off_a", unknown("off_a")),
            RouterError::Engine(EngineError::UnknownOffer(_))
        ));
        assert_eq!(settled.order.len(), KEEP);
    }
}
