//! The engine: applies events to agents, queues, contacts and offers, then
//! matches what changed, using the open-agent index so that no decision
//! scans all agents or all contacts.
//!
//! Every handler checks all its preconditions before it changes anything, so
//! a refused event leaves the engine as it was.
//!
//! # Matching
//!
//! Before an event is handled, the engine catches up with `now`: ended
//! cooldowns, relaxation steps that came into force and overflows that fell
//! due (each marks its contact for matching). After the event, it matches
//! what changed, in two phases:
//!
//! 1. every agent that gained room or became available takes, in turn,
//!    the best waiting contact it is eligible for (higher priority, then
//!    older): per queue it may serve (precomputed per agent with the steps
//!    it meets), the oldest contact in a relaxation band it meets. That
//!    contact then goes to its best eligible agent, which is this agent
//!    unless another open agent ranks higher;
//! 2. every contact that started or resumed waiting, or whose requirement
//!    widened, in routing order, goes to its best eligible open agent.
//!
//! Agents already open that gained nothing stay unmatched: by the
//! invariant, no waiting contact was eligible for them before the event.
//!
//! # Decisions beyond the design's rules
//! - Time never runs backwards: an earlier `now_ms` counts as the latest seen.
//! - Only [`Event::Tick`] expires offers. Between the expiry time and the
//!   tick, the offer still reserves capacity, and accepting or declining it
//!   fails with [`EngineError::OfferExpired`]; after the tick, with
//!   [`EngineError::UnknownOffer`].
//! - An agent's streak of misses ends when they accept or decline an offer,
//!   or come back to available (also after the engine set them away).
//! - Several offers of one agent expiring in one tick all count as misses;
//!   an agent who reaches the threshold is set away once, and its other live
//!   offers are rescinded as [`RescindReason::AgentUnavailable`].
//! - Away and offline agents keep their assigned conversations.
//! - Reconfiguring an agent or a queue rescinds live offers that no longer
//!   fit (capacity or requirement) as [`RescindReason::AgentUnavailable`];
//!   assigned conversations stay, even beyond a reduced capacity.
//! - A restored assignment ([`Event::ContactRestored`] with an agent) is
//!   accepted even if its queue is no longer configured, so its agent's
//!   capacity stays occupied; a restored waiting contact needs its queue.
//! - Relaxation steps and overflow go by the contact's age (from its
//!   queued time, kept across re-queues and overflows); a transfer starts
//!   a new wait.
//! - Waiting contacts are ordered by priority, then queued time, then
//!   admission order.
//! - Business hours ([`QueueSpec::hours`](crate::QueueSpec::hours)): the
//!   contacts of a closed queue wait and are not offered (a transfer to a
//!   named agent still is); each is reported once as
//!   [`Effect::QueueClosed`] with the opening time. At the opening they are
//!   matched like new arrivals, so in routing order (priority, then age).
//!   A closed queue with `closed_overflow` sends its contacts (new ones,
//!   and those waiting at the closing) to that queue when it is open and
//!   has room, keeping their age. Relaxation steps and timed overflows go
//!   by age, closed or not. Service level: a wait counts from the later of
//!   the contact's queued time and the queue's current opening.
//!
//! # Layout
//!
//! The [`Engine`] type is defined here, with [`Engine::apply`] (validate,
//! catch up with time, handle, match, bring the index up to date) and the
//! lookups every part uses. Its other methods live in child modules, one
//! concern each:
//! - `state`: the internal agent and queue records and the routing key;
//! - `views`: read-only views ([`Engine::agents`], [`Engine::queues`],
//!   [`Engine::contact`]) and explanations ([`Engine::explain`]);
//! - `reconfigure`: agents and queues added or replaced at run time
//!   ([`Engine::upsert_agent`], [`Engine::upsert_queue`],
//!   [`Engine::validate_queue`]);
//! - `validate`: the preconditions of an event, checked before anything
//!   changes;
//! - `upkeep`: the open-agent index, the waiting sets and the timers kept
//!   current (`list`, `unlist`, `catch_up`, `flush`);
//! - `hours`: queues opening and closing by their business hours
//!   (`schedule_hours`, `catch_up_hours`);
//! - `matching`: matching what changed (`match_changes`), the best contact
//!   for an agent, the best agent for a contact and the debug-build
//!   cross-check against a scan of all agents;
//! - `offers`: making, rescinding and requeueing offers;
//! - `events`: the handler of each [`Event`];
//! - `positions`: the first waiting contacts of the lines that changed,
//!   with their positions and expected waits ([`Engine::take_positions`]).

mod events;
mod hours;
mod matching;
mod offers;
mod positions;
mod reconfigure;
mod state;
mod upkeep;
mod validate;
mod views;

use std::collections::{BTreeMap, BTreeSet};

use omni_core::time::Millis;
use omni_core::{AgentId, ConversationId, QueueId};

use crate::agent::AgentSpec;
use crate::channels::ChannelSlots;
use crate::config::EngineConfig;
use crate::contact::Contact;
use crate::error::EngineError;
use crate::event::{Effect, Event};
use crate::explain::{self, Rec, ReleasedLogs, What};
use crate::hasher::FxMap;
use crate::ids::IdTable;
use crate::index::{Interner, OpenIndex};
use crate::offer::OfferBook;
use crate::queue::QueueSpec;

use events::Admission;
use state::{AgentState, QueuePace, QueueState, RouteKey};

/// The routing engine: a deterministic state machine.
///
/// Feed it [`Event`]s with the current time through [`Engine::apply`] and
/// carry out the returned [`Effect`]s in order. Call [`Event::Tick`] at (or
/// after) [`Engine::next_deadline`] so offers expire, and steps and
/// overflows apply, on time.
#[derive(Debug, Clone)]
pub struct Engine {
    config: EngineConfig,
    /// The declared channels, at dense slots.
    chans: ChannelSlots,
    now_ms: Millis,
    skills: Interner,
    langs: Interner,
    agents: Vec<AgentState>,
    agent_slots: FxMap<AgentId, u32>,
    /// Agent slots in id order.
    by_rank: Vec<u32>,
    queues: Vec<QueueState>,
    /// Each queue's answering pace, by queue slot.
    paces: Vec<QueuePace>,
    /// Queue slots in id order, for listing.
    queue_slots: BTreeMap<QueueId, u32>,
    /// Queue slots by id, for lookups on the hot path.
    queue_lookup: FxMap<QueueId, u32>,
    contacts: Vec<Option<Contact>>,
    free: Vec<u32>,
    /// Id hash to contact slots (ids are stored once, in the slab).
    contact_slots: IdTable,
    next_contact_seq: u64,
    offers: OfferBook,
    /// (ends at, contact slot, agent slot) for every decline/miss cooldown.
    cooldowns: BTreeSet<(Millis, u32, u32)>,
    /// (due, contact slot): a waiting contact's next step or overflow.
    timers: BTreeSet<(Millis, u32)>,
    /// (due, queue slot): when a queue with business hours next opens or
    /// closes (`Millis::MIN`: to be worked out at the next event).
    hours: BTreeSet<(Millis, u32)>,
    index: OpenIndex,
    released: ReleasedLogs,
    dirty_agents: Vec<u32>,
    dirty_contacts: Vec<u32>,
    /// Agents whose index entries may be stale: their state changed during
    /// the event being applied, and the index catches up once the event is
    /// matched ([`Engine::flush`]). Readers of the index skip their entries
    /// and consider them with their current state instead. An agent freed
    /// and filled again by one event (the common case) so costs the index
    /// nothing.
    pending: Vec<u32>,
    /// Contacts with a cooldown entry; while zero, exclusion checks are
    /// skipped.
    excluding: u32,
    /// Contacts that require a language (their agent must speak it); while
    /// zero, language checks are skipped.
    language_bound: u32,
    /// Reused by matching, to spare an allocation per event.
    scratch: Vec<RouteKey>,
}

#[cfg(not(test))]
fn id_hash(id: &ConversationId) -> u64 {
    explain::id_hash(id)
}

/// In unit tests every id of a length collides, to exercise the chains.
#[cfg(test)]
fn id_hash(id: &ConversationId) -> u64 {
    id.as_str().len() as u64
}

impl Engine {
    /// An engine with these agents (all offline) and queues, and no contacts.
    /// A later spec with an id already seen replaces the earlier one.
    pub fn new(config: EngineConfig, agents: Vec<AgentSpec>, queues: Vec<QueueSpec>) -> Self {
        let offers = OfferBook::new(config.epoch);
        let chans = ChannelSlots::new(&config.channels);
        let index = OpenIndex::new(chans.len());
        let mut engine = Self {
            config,
            chans,
            now_ms: Millis::MIN,
            skills: Interner::default(),
            langs: Interner::default(),
            agents: Vec::new(),
            agent_slots: FxMap::default(),
            by_rank: Vec::new(),
            queues: Vec::new(),
            paces: Vec::new(),
            queue_slots: BTreeMap::new(),
            queue_lookup: FxMap::default(),
            contacts: Vec::new(),
            free: Vec::new(),
            contact_slots: IdTable::default(),
            next_contact_seq: 0,
            offers,
            cooldowns: BTreeSet::new(),
            timers: BTreeSet::new(),
            hours: BTreeSet::new(),
            index,
            released: ReleasedLogs::default(),
            dirty_agents: Vec::new(),
            dirty_contacts: Vec::new(),
            pending: Vec::new(),
            excluding: 0,
            language_bound: 0,
            scratch: Vec::new(),
        };
        // Exactly the room the configuration needs: agents added later
        // grow it as usual.
        engine.agents.reserve_exact(agents.len());
        engine.agent_slots.reserve(agents.len());
        for spec in queues {
            engine.put_queue(spec);
        }
        for spec in agents {
            engine.put_agent(spec);
        }
        engine.rerank();
        for a in 0..engine.agents.len() as u32 {
            engine.recompute_agent_queues(a);
        }
        engine
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The channels the engine routes, in the order of its settings.
    pub fn channels(&self) -> &[omni_core::Channel] {
        self.chans.all()
    }

    /// Applies one event at `now_ms` and returns what to do, in order. After
    /// it returns, no waiting contact has an eligible agent. On error nothing
    /// changed.
    pub fn apply(&mut self, now_ms: Millis, event: Event) -> Result<Vec<Effect>, EngineError> {
        let mut fx = Vec::new();
        self.apply_into(now_ms, event, &mut fx)?;
        Ok(fx)
    }

    /// [`Engine::apply`], appending the effects to `fx`: a caller that
    /// reuses one buffer spares an allocation per event. On error nothing
    /// changed and nothing is appended.
    pub fn apply_into(
        &mut self,
        now_ms: Millis,
        event: Event,
        fx: &mut Vec<Effect>,
    ) -> Result<(), EngineError> {
        let now = now_ms.max(self.now_ms);
        let found = self.validate_event(now, &event)?;
        self.now_ms = now;
        self.catch_up(now, fx);
        match event {
            Event::ContactArrived {
                conversation_id,
                queue,
                channel,
                queued_at_ms,
                preferred_agent,
                priority,
                language,
            } => self.admit(
                now,
                Admission {
                    conversation_id,
                    queue,
                    channel,
                    queued_at_ms,
                    preferred_agent,
                    priority,
                    language,
                    assigned_agent: None,
                    restored: false,
                    hash: found.hash,
                },
                fx,
            ),
            Event::ContactRestored {
                conversation_id,
                queue,
                channel,
                queued_at_ms,
                preferred_agent,
                priority,
                language,
                assigned_agent,
            } => self.admit(
                now,
                Admission {
                    conversation_id,
                    queue,
                    channel,
                    queued_at_ms,
                    preferred_agent,
                    priority,
                    language,
                    assigned_agent,
                    restored: true,
                    hash: found.hash,
                },
                fx,
            ),
            Event::ContactReleased { conversation_id } => {
                self.release(now, found.contact, found.hash, conversation_id, fx)
            }
            Event::SetPresence { agent_id, presence } => {
                self.set_presence(now, &agent_id, presence, fx)
            }
            Event::Accept { agent_id, offer_id } => {
                self.accept(now, found.offer, agent_id, offer_id, fx)
            }
            Event::Decline { .. } => self.decline(now, found.offer, fx),
            Event::Tick => self.tick(now, fx),
            Event::TransferToQueue {
                conversation_id,
                queue,
            } => self.transfer_to_queue(now, &conversation_id, &queue, fx),
            Event::TransferToAgent {
                conversation_id,
                agent_id,
            } => self.transfer_to_agent(now, &conversation_id, &agent_id, fx),
            Event::ChannelChanged { channel, .. } => {
                self.change_channel(now, found.contact, channel, fx)
            }
            Event::PriorityRaised { priority, .. } => {
                self.raise_priority(now, found.contact, priority);
            }
        }
        self.match_changes(now, fx);
        self.flush();
        Ok(())
    }

    /// The earliest time at which a [`Event::Tick`] would do something (an
    /// offer expiring, a cooldown ending, a relaxation step or overflow
    /// falling due, a queue opening or closing), if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        [
            self.offers.next_expiry(),
            self.cooldowns.first().map(|(at, _, _)| *at),
            self.timers.first().map(|(at, _)| *at),
            self.hours.first().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- lookups every part uses -----

    pub(super) fn contact_ref(&self, slot: u32) -> Option<&Contact> {
        self.contacts.get(slot as usize).and_then(Option::as_ref)
    }

    pub(super) fn contact_mut(&mut self, slot: u32) -> Option<&mut Contact> {
        self.contacts
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
    }

    pub(super) fn contact_slot(&self, id: &ConversationId) -> Result<u32, EngineError> {
        self.find(id)
            .ok_or_else(|| EngineError::UnknownContact(id.clone()))
    }

    /// The slot of the contact with this id.
    pub(super) fn find(&self, id: &ConversationId) -> Option<u32> {
        self.find_hashed(id, id_hash(id))
    }

    /// [`Engine::find`] with the id's hash at hand.
    pub(super) fn find_hashed(&self, id: &ConversationId, hash: u64) -> Option<u32> {
        self.contact_slots
            .find(hash, |c| self.contact_ref(c).is_some_and(|x| x.id == *id))
    }

    /// Makes the contact in slot `c`, whose id hashes to `hash`, findable
    /// by id.
    pub(super) fn link(&mut self, c: u32, hash: u64) {
        self.contact_slots.insert(hash, c);
    }

    /// Makes the contact in slot `c`, whose id hashes to `hash`, unfindable
    /// (before it leaves the slab).
    pub(super) fn unlink(&mut self, c: u32, hash: u64) {
        self.contact_slots.remove(hash, c);
    }

    pub(super) fn known_queue(&self, id: &QueueId) -> Result<u32, EngineError> {
        self.queue_lookup
            .get(id)
            .copied()
            .filter(|q| !self.queues[*q as usize].hidden)
            .ok_or_else(|| EngineError::UnknownQueue(id.clone()))
    }

    pub(super) fn agent_slot(&self, id: &AgentId) -> Result<u32, EngineError> {
        self.agent_slots
            .get(id)
            .copied()
            .ok_or_else(|| EngineError::UnknownAgent(id.clone()))
    }

    pub(super) fn record(&mut self, c: u32, at_ms: Millis, what: What) {
        if let Some(contact) = self.contact_mut(c) {
            explain::push(&mut contact.log, Rec { at_ms, what });
        }
    }
}

#[cfg(test)]
mod tests {
    use omni_core::Channel;

    use super::*;

    #[test]
    fn colliding_ids_are_found_and_removed_in_any_order() {
        let mut engine = Engine::new(
            EngineConfig::default(),
            Vec::new(),
            vec![QueueSpec::new("q")],
        );
        let ids: Vec<ConversationId> = (0..20).map(|i| format!("c{i:02}").into()).collect();
        let arrive = |id: &ConversationId| Event::ContactArrived {
            conversation_id: id.clone(),
            queue: "q".into(),
            channel: Channel::CHAT,
            queued_at_ms: 0,
            preferred_agent: None,
            priority: 0,
            language: None,
        };
        for id in &ids {
            engine.apply(0, arrive(id)).unwrap();
        }
        // Release from the middle, the head and the tail of the chain.
        for i in [7, 19, 0, 12, 1] {
            engine
                .apply(
                    1,
                    Event::ContactReleased {
                        conversation_id: ids[i].clone(),
                    },
                )
                .unwrap();
        }
        for (i, id) in ids.iter().enumerate() {
            let gone = [7, 19, 0, 12, 1].contains(&i);
            assert_eq!(engine.contact(id).is_none(), gone, "{id}");
        }
        // Slots are reused and still found.
        engine.apply(2, arrive(&ids[7])).unwrap();
        assert!(engine.contact(&ids[7]).is_some());
        assert_eq!(engine.waiting().len(), 16);
        assert_eq!(
            engine.apply(3, arrive(&ids[8])),
            Err(EngineError::DuplicateContact(ids[8].clone()))
        );
    }

    #[test]
    fn apply_into_appends_and_leaves_the_buffer_alone_on_error() {
        let mut engine = Engine::new(
            EngineConfig::default(),
            Vec::new(),
            vec![QueueSpec::new("q")],
        );
        let arrive = |id: &str| Event::ContactArrived {
            conversation_id: id.into(),
            queue: "q".into(),
            channel: Channel::CHAT,
            queued_at_ms: 0,
            preferred_agent: None,
            priority: 0,
            language: None,
        };
        let mut fx = Vec::new();
        engine.apply_into(0, arrive("a"), &mut fx).unwrap();
        engine.apply_into(0, arrive("b"), &mut fx).unwrap();
        let queued: Vec<&str> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Queued { conversation_id } => Some(conversation_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(queued, ["a", "b"], "effects appended in order");
        let before = fx.len();
        assert_eq!(
            engine.apply_into(0, arrive("a"), &mut fx),
            Err(EngineError::DuplicateContact("a".into()))
        );
        assert_eq!(fx.len(), before, "nothing appended on error");
        assert_eq!(engine.apply(0, arrive("c")).unwrap(), {
            let mut again = Engine::new(
                EngineConfig::default(),
                Vec::new(),
                vec![QueueSpec::new("q")],
            );
            let mut fx = Vec::new();
            again.apply_into(0, arrive("c"), &mut fx).unwrap();
            fx
        });
    }
}
