//! Builders and effect filters shared by the scenarios and property tests.

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId};
use omni_router_core::{Effect, Engine, EngineConfig, Event, Offer, Presence, RescindReason};

/// 10 s offers, away after 3 misses, 30 s cooldown, epoch 1.
pub fn config() -> EngineConfig {
    EngineConfig {
        offer_timeout_ms: 10_000,
        max_consecutive_misses: 3,
        decline_cooldown_ms: 30_000,
        epoch: 1,
        channels: Channel::BUILT_IN.to_vec(),
        default_max_waiting: None,
    }
}

/// Per-channel counts as an agent view has them: chat, email, SMS.
pub fn per_channel(counts: [u32; 3]) -> std::collections::BTreeMap<Channel, u32> {
    Channel::BUILT_IN.into_iter().zip(counts).collect()
}

pub fn arrive(id: &str, queue: &str, channel: Channel, queued_at_ms: Millis) -> Event {
    arrive_preferring(id, queue, channel, queued_at_ms, None)
}

pub fn arrive_preferring(
    id: &str,
    queue: &str,
    channel: Channel,
    queued_at_ms: Millis,
    preferred: Option<&str>,
) -> Event {
    Event::ContactArrived {
        conversation_id: id.into(),
        queue: queue.into(),
        channel,
        queued_at_ms,
        preferred_agent: preferred.map(AgentId::from),
        priority: 0,
        language: None,
    }
}

pub fn restore(id: &str, queue: &str, at: Millis, assigned: Option<&str>) -> Event {
    Event::ContactRestored {
        conversation_id: id.into(),
        queue: queue.into(),
        channel: Channel::CHAT,
        queued_at_ms: at,
        preferred_agent: None,
        priority: 0,
        language: None,
        assigned_agent: assigned.map(AgentId::from),
    }
}

pub fn presence(agent: &str, presence: Presence) -> Event {
    Event::SetPresence {
        agent_id: agent.into(),
        presence,
    }
}

pub fn accept(offer: &Offer) -> Event {
    Event::Accept {
        agent_id: offer.agent_id.clone(),
        offer_id: offer.offer_id.clone(),
    }
}

pub fn decline(offer: &Offer) -> Event {
    Event::Decline {
        agent_id: offer.agent_id.clone(),
        offer_id: offer.offer_id.clone(),
    }
}

pub fn release(id: &str) -> Event {
    Event::ContactReleased {
        conversation_id: id.into(),
    }
}

/// Sets every agent in `agents` available at `now`, returning the effects.
pub fn make_available(engine: &mut Engine, now: Millis, agents: &[&str]) -> Vec<Effect> {
    agents
        .iter()
        .flat_map(|a| engine.apply(now, presence(a, Presence::Available)).unwrap())
        .collect()
}

/// The offers among `effects`.
pub fn offers(effects: &[Effect]) -> Vec<Offer> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Offered(offer) => Some(offer.clone()),
            _ => None,
        })
        .collect()
}

/// (conversation, agent) of each offer among `effects`.
pub fn offered(effects: &[Effect]) -> Vec<(String, String)> {
    offers(effects)
        .into_iter()
        .map(|o| (o.conversation_id.to_string(), o.agent_id.to_string()))
        .collect()
}

/// (conversation, agent, reason) of each rescinded offer among `effects`.
pub fn rescinded(effects: &[Effect]) -> Vec<(String, String, RescindReason)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::OfferRescinded { offer, reason } => Some((
                offer.conversation_id.to_string(),
                offer.agent_id.to_string(),
                *reason,
            )),
            _ => None,
        })
        .collect()
}

/// The one offer live for `conversation`, if any.
pub fn live_offer(engine: &Engine, conversation: &str) -> Option<Offer> {
    match engine.contact(&ConversationId::from(conversation))?.state {
        omni_router_core::ContactState::Offered(offer) => Some(offer),
        _ => None,
    }
}
