//! One scenario per routing rule, by concern: who is eligible and how much
//! they carry (`eligibility`), the life of an offer (`offers`), who wins
//! (`selection`), and the state around offers (`lifecycle`).

mod eligibility;
mod lifecycle;
mod offers;
mod selection;

use omni_core::Channel;
use omni_core::{AgentId, ConversationId};
use omni_router_core::{
    AgentSpec, ContactState, Effect, Engine, EngineConfig, EngineError, Event, Presence, QueueSpec,
    RescindReason,
};

use crate::support::*;

fn agent(id: &str) -> AgentSpec {
    AgentSpec::new(id)
        .with_capacity(Channel::CHAT, 3)
        .with_capacity(Channel::EMAIL, 5)
        .with_capacity(Channel::SMS, 4)
}

fn summaries(engine: &Engine, id: &str) -> Vec<String> {
    engine
        .explain(&ConversationId::from(id))
        .into_iter()
        .map(|r| r.summary)
        .collect()
}

fn presence_of(engine: &Engine, id: &str) -> Presence {
    engine.agent(&AgentId::from(id)).unwrap().presence
}
