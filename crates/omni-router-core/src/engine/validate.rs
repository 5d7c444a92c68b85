//! The preconditions of an event, checked before anything changes: a
//! refused event leaves the engine as it was.

use omni_core::time::Millis;
use omni_core::{AgentId, Channel};

use crate::contact::Slot;
use crate::error::EngineError;
use crate::event::Event;

use super::{Engine, id_hash};

/// What [`Engine::validate_event`] looked up, so handlers need not look again.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// The slot of the contact the event names.
    pub(super) contact: Option<u32>,
    /// The offer's sequence and its agent's slot.
    pub(super) offer: Option<(u64, u32)>,
    /// The hash of the conversation id the event names (arrivals,
    /// restores, releases): computed once per event.
    pub(super) hash: u64,
}

impl Engine {
    /// Checks an event's preconditions without changing anything.
    pub(super) fn validate_event(&self, now: Millis, event: &Event) -> Result<Found, EngineError> {
        let mut found = Found::default();
        match event {
            Event::ContactArrived {
                conversation_id,
                queue,
                channel,
                ..
            } => {
                self.routed(*channel)?;
                found.hash = id_hash(conversation_id);
                if self.find_hashed(conversation_id, found.hash).is_some() {
                    return Err(EngineError::DuplicateContact(conversation_id.clone()));
                }
                self.known_queue(queue)?;
            }
            Event::ContactRestored {
                conversation_id,
                queue,
                assigned_agent,
                channel,
                ..
            } => {
                self.routed(*channel)?;
                found.hash = id_hash(conversation_id);
                if self.find_hashed(conversation_id, found.hash).is_some() {
                    return Err(EngineError::DuplicateContact(conversation_id.clone()));
                }
                // An assignment restored after a restart keeps its agent's
                // capacity occupied even if its queue left the configuration.
                if assigned_agent.is_none() {
                    self.known_queue(queue)?;
                }
                if let Some(agent) = assigned_agent
                    && !self.agent_slots.contains_key(agent)
                {
                    return Err(EngineError::UnknownAgent(agent.clone()));
                }
            }
            Event::ContactReleased { conversation_id } => {
                found.hash = id_hash(conversation_id);
                found.contact = Some(
                    self.find_hashed(conversation_id, found.hash)
                        .ok_or_else(|| EngineError::UnknownContact(conversation_id.clone()))?,
                );
            }
            Event::ChannelChanged {
                conversation_id,
                channel,
            } => {
                self.routed(*channel)?;
                found.contact = Some(self.contact_slot(conversation_id)?);
            }
            Event::PriorityRaised {
                conversation_id, ..
            } => {
                found.contact = Some(self.contact_slot(conversation_id)?);
            }
            Event::SetPresence { agent_id, .. } => {
                self.agent_slot(agent_id)?;
            }
            Event::Accept { agent_id, offer_id } | Event::Decline { agent_id, offer_id } => {
                found.offer = Some(self.validate_answer(now, agent_id, offer_id)?);
            }
            Event::Tick => {}
            Event::TransferToQueue {
                conversation_id,
                queue,
            } => {
                let c = self.contact_slot(conversation_id)?;
                let to = self.known_queue(queue)?;
                // A contact already in line there takes no new room.
                let in_line = self
                    .contact_ref(c)
                    .is_some_and(|x| x.queue == to && !matches!(x.slot, Slot::Assigned(_)));
                if !in_line && self.queues[to as usize].is_full() {
                    return Err(EngineError::QueueFull(queue.clone()));
                }
            }
            Event::TransferToAgent {
                conversation_id,
                agent_id,
            } => {
                let c = self.contact_slot(conversation_id)?;
                let a = self.agent_slot(agent_id)?;
                let contact = self.contact_ref(c);
                let agent = &self.agents[a as usize];
                let holds = match contact.map(|c| c.slot) {
                    Some(Slot::Assigned(x)) => x == a,
                    Some(Slot::Offered(seq)) => self.offers.get(seq).is_some_and(|l| l.agent == a),
                    _ => false,
                };
                let ch = contact.map(|c| self.chans.dense(c.channel)).unwrap_or(0);
                if holds || !agent.presence.is_available() || !agent.has_room(ch) {
                    return Err(EngineError::AgentNotAvailable(agent_id.clone()));
                }
            }
        }
        Ok(found)
    }

    /// Fails unless the engine routes `channel`.
    fn routed(&self, channel: Channel) -> Result<(), EngineError> {
        match self.chans.slot(channel) {
            Some(_) => Ok(()),
            None => Err(EngineError::UndeclaredChannel(channel)),
        }
    }

    /// Checks that `agent_id` may accept or decline `offer_id` at `now`; returns the
    /// offer's sequence and the agent's slot.
    pub(super) fn validate_answer(
        &self,
        now: Millis,
        agent_id: &AgentId,
        offer_id: &str,
    ) -> Result<(u64, u32), EngineError> {
        let a = self.agent_slot(agent_id)?;
        let Some(live) = self
            .offers
            .seq_of(offer_id)
            .and_then(|s| self.offers.get(s))
        else {
            return Err(EngineError::UnknownOffer(offer_id.to_owned()));
        };
        if live.agent != a {
            return Err(EngineError::OfferNotForAgent {
                offer_id: offer_id.to_owned(),
                agent_id: agent_id.clone(),
                offered_to: self.agents[live.agent as usize].id.clone(),
            });
        }
        if now >= live.expires_at_ms {
            return Err(EngineError::OfferExpired {
                offer_id: offer_id.to_owned(),
                expires_at_ms: live.expires_at_ms,
            });
        }
        Ok((live.seq, a))
    }
}
