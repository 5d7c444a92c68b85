//! Omniroute's routing core: a deterministic state machine that decides which
//! agent gets which contact.
//!
//! The engine does no I/O, reads no clock and draws no random numbers. The
//! router service feeds it [`Event`]s together with the current time and
//! carries out the [`Effect`]s it returns (publishing offers, persisting
//! assignments, notifying agents). The same engine runs in the service, in
//! property tests, in benchmarks and in the simulator, so a sequence of events
//! always produces the same decisions.
//!
//! The rules it keeps after every event:
//! - no agent holds more than its capacity on any channel, or in total
//!   (assignments plus live offers);
//! - a contact has at most one live offer;
//! - work-conserving: no waiting contact has an eligible agent;
//! - higher queue priority first, then the contact's own priority (set by
//!   routing rules, 0-10), then older contacts (declined and timed-out
//!   contacts keep their original age and priority).
//!
//! # Layout
//! - [`config`] holds [`EngineConfig`]: timeouts, thresholds and the
//!   declared channels the engine routes.
//! - `channels` (internal) gives each declared channel a dense slot and
//!   keeps per-channel values inline for the first three.
//! - [`agent`] holds agents: [`AgentSpec`], [`Presence`], capacity, [`AgentView`].
//! - [`requirement`] (from `omni-core`) is the requirements language:
//!   [`Requirement`], e.g. `billing >= 5 AND lang == "es"`.
//! - [`queue`] holds queues: [`QueueSpec`] with relaxation steps, overflow,
//!   selection order and service-level target; [`QueueView`] with live
//!   statistics.
//! - `compile` (internal) lowers requirements onto interned names and finds
//!   the index sets that cover them.
//! - `index` (internal) is the open-agent index: available agents with room,
//!   per channel, by skill and language, in ranking order.
//! - [`contact`] holds contacts and their routing order: [`ContactView`].
//! - [`offer`] holds [`Offer`]s, their ids and expiry.
//! - [`event`] holds what goes in ([`Event`]) and what comes out ([`Effect`]).
//! - [`select`] ranks eligible agents ([`SelectionRule`]) and names the rule
//!   that decided.
//! - [`explain`] keeps the bounded per-conversation decision log
//!   ([`DecisionRecord`]).
//! - [`engine`] holds the [`Engine`] that ties them together, in child
//!   modules with one concern each (all `impl Engine` blocks):
//!   - `engine/state` (internal): the engine's records of agents and queues;
//!   - `engine/views` (internal): read-only views and explanations;
//!   - `engine/reconfigure` (internal): agents and queues added or replaced
//!     at run time ([`Engine::upsert_agent`], [`Engine::upsert_queue`],
//!     [`Engine::validate_queue`]);
//!   - `engine/validate` (internal): an event's preconditions, checked before
//!     anything changes;
//!   - `engine/upkeep` (internal): the open-agent index, waiting sets and
//!     timers kept current;
//!   - `engine/matching` (internal): matching what changed, selection and
//!     its debug-build cross-check against a scan of all agents;
//!   - `engine/offers` (internal): making, rescinding and requeueing offers;
//!   - `engine/events` (internal): one handler per [`Event`];
//!   - `engine/positions` (internal): positions in line and expected waits
//!     ([`Engine::take_positions`]), computed on the caller's timer.
//! - [`position`] holds [`QueuePosition`] and [`PositionReport`], and says
//!   what a position means and how the expected wait is estimated.
//! - `hasher` (internal) is the fast deterministic hasher of the engine's maps.
//! - `ids` (internal) finds a contact's slot by conversation id (one array,
//!   linear probing).
//! - `small` (internal) is a short list kept inline (an agent's assignments
//!   and offers).
//! - [`coverage`] checks a configuration alone: queues no configured agent
//!   can serve, skills no agent has (with the nearest one), for `omni
//!   check-config`.
//! - [`error`] holds [`EngineError`].

#![forbid(unsafe_code)]

pub mod agent;
mod channels;
mod compile;
pub mod config;
pub mod contact;
pub mod coverage;
pub mod engine;
pub mod error;
pub mod event;
pub mod explain;
mod hasher;
mod ids;
mod index;
pub mod offer;
pub mod position;
pub mod queue;
pub mod select;
mod small;

pub use omni_core::requirement;

pub use agent::{AgentSpec, AgentView, Presence};
pub use config::EngineConfig;
pub use contact::{ContactState, ContactView, MAX_CONTACT_PRIORITY};
pub use engine::Engine;
pub use error::EngineError;
pub use event::{Effect, Event};
pub use explain::DecisionRecord;
pub use offer::{Offer, RescindReason};
pub use position::{PositionReport, QueuePosition};
pub use queue::{Overflow, QueueSpec, QueueStats, QueueView, RelaxStep, ServiceLevel, StepView};
pub use requirement::{ParseError, Requirement};
pub use select::SelectionRule;
