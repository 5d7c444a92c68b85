//! The engine behind a lock, the operations the API and intake call, the
//! timer, and who is connected.
//!
//! The lock is a plain mutex held only while the engine computes (no I/O
//! under it); effects are carried out after it is released.
//!
//! # Layout
//! - [`effects`]: carrying out the engine's effects.
//! - [`restore`]: admin changes, contacts and presence at start.
//! - [`positions`]: queue positions published for waiting customers.
//! - [`clock`]: the router's clock (the wall clock; tests move it on).
//! - [`closed`]: the closed-queue notice (business hours) for the context
//!   service.
//! - [`schedule`]: due scheduled items (surveys, follow-ups) claimed and
//!   published for the context service.
//! - [`admin`]: agents and queues created or replaced, and presence set, at
//!   run time (durable first).

mod admin;
mod clock;
mod closed;
mod effects;
mod positions;
mod raise;
mod restore;
mod schedule;
mod wall;

pub use positions::{POSITION_EVERY, POSITIONS_PER_LINE};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use omni_bus::Bus;
use omni_core::config::Config;
use omni_core::time::{Millis, now_ms};
use omni_core::{AgentId, Channel, ConversationId};
use omni_router_core::{AgentSpec, Engine, EngineConfig, EngineError, Event, Presence, QueueSpec};
use omni_store::{ContactRecord, RouterStore};
use omni_telemetry::metrics;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, warn};

use crate::RouterError;
use crate::connections::{Connections, DISCONNECTED};
use crate::events::{AgentEvent, AgentEventKind};
use crate::settled::SettledOffers;
use crate::tally::Tally;
use omni_telemetry::metrics::contact::Number;

/// The router: engine, persistence and notifications.
pub struct RouterShell {
    engine: Mutex<Engine>,
    contacts: Mutex<HashMap<ConversationId, ContactRecord>>,
    settled: Mutex<SettledOffers>,
    connections: Mutex<Connections>,
    store: Arc<dyn RouterStore>,
    bus: Arc<dyn Bus>,
    events: broadcast::Sender<AgentEvent>,
    wake: Notify,
    tally: Tally,
    /// Added to the wall clock (see `clock`); 0 but in tests.
    clock_offset: std::sync::atomic::AtomicI64,
}

/// An open watch of an agent's events: the agent counts as connected
/// until every one of their watches is dropped.
pub struct Watch {
    shell: Arc<RouterShell>,
    agent: AgentId,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.shell.lock_connections().closed(&self.agent, now_ms());
        info!(agent_id = %self.agent, "agent watch closed");
        self.shell.wake.notify_one();
    }
}

impl RouterShell {
    /// Builds the engine from the configuration and restores the contacts
    /// and presence recorded before the last stop.
    pub async fn start(
        config: &Config,
        store: Arc<dyn RouterStore>,
        bus: Arc<dyn Bus>,
    ) -> Result<Arc<Self>, RouterError> {
        let epoch = now_ms().max(0) as u64;
        let queues = config
            .queues
            .iter()
            .map(QueueSpec::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RouterError::InvalidArgument(e.to_string()))?;
        let engine = Engine::new(
            EngineConfig::from_config(&config.routing, epoch)
                .with_channels(config.channel_set().channels())
                .with_default_max_waiting(config.limits.max_waiting_per_queue),
            config.agents.iter().map(AgentSpec::from).collect(),
            queues,
        );
        let (events, _) = broadcast::channel(1024);
        let grace_ms = Millis::try_from(config.routing.disconnect_grace_secs)
            .unwrap_or(Millis::MAX)
            .saturating_mul(1000);
        let shell = Arc::new(Self {
            engine: Mutex::new(engine),
            contacts: Mutex::new(HashMap::new()),
            settled: Mutex::new(SettledOffers::default()),
            connections: Mutex::new(Connections::new(grace_ms, now_ms())),
            tally: Tally::new(store.clone(), &config.metrics),
            store,
            bus,
            events,
            wake: Notify::new(),
            clock_offset: std::sync::atomic::AtomicI64::new(0),
        });
        shell.load_admin_changes().await?;
        shell.read_thresholds();
        // The stored counts first: what restoring the contacts counts
        // (an overflow due meanwhile) comes on top.
        shell.tally.restore().await?;
        shell.restore().await?;
        let weak = Arc::downgrade(&shell);
        metrics::gauges("router", move |out| {
            if let Some(shell) = weak.upgrade() {
                shell.read_gauges(out);
            }
        });
        Ok(shell)
    }

    fn lock_engine(&self) -> MutexGuard<'_, Engine> {
        // A panic while holding the lock cannot leave the engine half-updated
        // in a way later events could not handle: take it over.
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_contacts(&self) -> MutexGuard<'_, HashMap<ConversationId, ContactRecord>> {
        self.contacts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_settled(&self) -> MutexGuard<'_, SettledOffers> {
        self.settled.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_connections(&self) -> MutexGuard<'_, Connections> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Copies every queue's service-level threshold to the tally.
    fn read_thresholds(&self) {
        let queues = self.lock_engine().queues(now_ms());
        for q in queues {
            self.tally
                .set_threshold(&q.id, q.service_level_target.threshold_ms);
        }
    }

    fn read_gauges(&self, out: &mut Vec<metrics::Sample>) {
        self.tally.read_gauges(out);
        let engine = self.lock_engine();
        for q in engine.queues(now_ms()) {
            out.push(metrics::Sample {
                name: "omni_queue_waiting",
                labels: vec![("queue", q.id.to_string())],
                value: f64::from(q.waiting),
            });
            out.push(metrics::Sample {
                name: "omni_queue_longest_wait_seconds",
                labels: vec![("queue", q.id.to_string())],
                value: q.longest_wait_ms as f64 / 1000.0,
            });
        }
        let mut presence: BTreeMap<&'static str, u32> = BTreeMap::new();
        // Room held (assigned plus live offers) and capacity per channel.
        let mut load: BTreeMap<Channel, (u32, u32)> =
            engine.channels().iter().map(|c| (*c, (0, 0))).collect();
        let now = now_ms();
        for a in engine.agents() {
            *presence.entry(a.presence.as_str()).or_default() += 1;
            let since = self.tally.presence_since(&a.id, a.presence.as_str(), now);
            out.push(metrics::Sample {
                name: "omni_agent_presence",
                labels: vec![
                    ("agent", a.id.to_string()),
                    ("presence", a.presence.as_str().to_owned()),
                ],
                value: 1.0,
            });
            out.push(metrics::Sample {
                name: "omni_agent_state_seconds",
                labels: vec![("agent", a.id.to_string())],
                value: now.saturating_sub(since).max(0) as f64 / 1000.0,
            });
            for c in engine.channels() {
                out.push(metrics::Sample {
                    name: "omni_agent_channel_load",
                    labels: vec![
                        ("agent", a.id.to_string()),
                        ("channel", c.as_str().to_owned()),
                    ],
                    value: f64::from(a.used(*c)),
                });
            }
            for (c, room) in load.iter_mut() {
                room.0 += a.used(*c);
                room.1 += a.capacity_on(*c);
            }
        }
        for (c, (used, capacity)) in load {
            for (name, value) in [("omni_agent_load", used), ("omni_agent_capacity", capacity)] {
                out.push(metrics::Sample {
                    name,
                    labels: vec![("channel", c.as_str().to_owned())],
                    value: f64::from(value),
                });
            }
        }
        for (name, count) in presence {
            out.push(metrics::Sample {
                name: "omni_agents",
                labels: vec![("presence", name.to_owned())],
                value: f64::from(count),
            });
        }
    }

    /// Live agent events (offers, rescinded offers, assignments, state).
    pub fn subscribe(&self) -> broadcast::Receiver<AgentEvent> {
        self.events.subscribe()
    }

    /// Counts a watcher of `agent`'s events (a desk window) until the
    /// returned guard is dropped.
    pub fn watch(self: &Arc<Self>, agent: &AgentId) -> Watch {
        self.lock_connections().opened(agent);
        info!(agent_id = %agent, "agent watch opened");
        Watch {
            shell: self.clone(),
            agent: agent.clone(),
        }
    }

    /// Accepts or declines an offer. An offer the engine no longer holds is
    /// named by what became of it: already accepted, no longer open, or
    /// unknown.
    pub async fn settle(
        &self,
        agent_id: &AgentId,
        offer_id: String,
        accept: bool,
    ) -> Result<(), RouterError> {
        let event = if accept {
            Event::Accept {
                agent_id: agent_id.clone(),
                offer_id,
            }
        } else {
            Event::Decline {
                agent_id: agent_id.clone(),
                offer_id,
            }
        };
        match self.apply(event).await {
            Err(RouterError::Engine(EngineError::UnknownOffer(id))) => {
                let unknown = EngineError::UnknownOffer(id.clone()).into();
                Err(self.lock_settled().error_for(&id, unknown))
            }
            other => other,
        }
    }

    /// Runs `f` with the engine locked (reads only).
    pub fn with_engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> T {
        f(&self.lock_engine())
    }

    /// Applies one event and carries out its effects.
    pub async fn apply(&self, event: Event) -> Result<(), RouterError> {
        // The explanation of an offer made here lands on the span's
        // `omni.*` attributes (see `execute`).
        let span = tracing::info_span!(
            "router.decide",
            event = event_name(&event),
            omni.conversation_id = tracing::field::Empty,
            omni.agent_id = tracing::field::Empty,
            omni.eligible_count = tracing::field::Empty,
            omni.rule = tracing::field::Empty,
            omni.score = tracing::field::Empty,
            omni.relaxation_step = tracing::field::Empty,
        );
        let transferred = match &event {
            Event::TransferToQueue {
                conversation_id, ..
            }
            | Event::TransferToAgent {
                conversation_id, ..
            } => Some(conversation_id.clone()),
            _ => None,
        };
        let effects = {
            let _entered = span.enter();
            let mut engine = self.lock_engine();
            engine.apply(self.now(), event)?
        };
        if let Some(id) = &transferred {
            let from = self
                .lock_contacts()
                .get(id)
                .map(|r| (r.queue.clone(), r.channel));
            if let Some((queue, channel)) = from {
                self.tally
                    .count(Number::Transferred, queue.as_str(), channel.as_str());
            }
        }
        self.execute_after(transferred.as_ref(), effects)
            .instrument(span)
            .await;
        self.wake.notify_one();
        Ok(())
    }

    /// The routing rules' reasons for a held contact's queue and priority
    /// (from its routing request), as decisions of kind `rules` at its
    /// queued time, for the explanation; none once released.
    pub fn rule_decisions(&self, id: &ConversationId) -> Vec<omni_proto::routing::Decision> {
        let contacts = self.lock_contacts();
        let Some(record) = contacts.get(id) else {
            return Vec::new();
        };
        record
            .reasons
            .iter()
            .map(|reason| omni_proto::routing::Decision {
                at_ms: record.queued_at_ms,
                summary: reason.clone(),
                kind: "rules".into(),
                ..Default::default()
            })
            .collect()
    }

    /// A new contact to route: recorded durably, then given to the engine.
    /// A contact the engine already holds is a redelivery (nothing to do),
    /// or, on another channel, the customer changed channel; with a higher
    /// priority, a later message raised it.
    pub async fn arrive(&self, record: ContactRecord) -> Result<(), RouterError> {
        let held = self
            .lock_contacts()
            .get(&record.conversation_id)
            .map(|r| r.channel);
        if let Some(channel) = held {
            // A later message may have raised its priority (shell/raise).
            self.raise_priority(&record).await?;
            if channel != record.channel {
                return self.change_channel(record).await;
            }
            return Ok(());
        }
        self.store.put_contact(&record).await?;
        self.lock_contacts()
            .insert(record.conversation_id.clone(), record.clone());
        let event = Event::ContactArrived {
            conversation_id: record.conversation_id.clone(),
            queue: record.queue.clone(),
            channel: record.channel,
            queued_at_ms: record.queued_at_ms,
            preferred_agent: record.preferred_agent.clone(),
            priority: record.priority,
            language: record.language.clone(),
        };
        let applied = self.apply(event).await;
        if applied.is_ok() && self.lock_contacts().contains_key(&record.conversation_id) {
            self.tally.count(
                Number::Offered,
                record.queue.as_str(),
                record.channel.as_str(),
            );
        }
        match applied {
            Err(RouterError::Engine(EngineError::DuplicateContact(_))) => Ok(()),
            Err(RouterError::Engine(e @ EngineError::UnknownQueue(_))) => {
                // Nothing can route it until the queue exists; keep no record.
                self.lock_contacts().remove(&record.conversation_id);
                self.store.remove_contact(&record.conversation_id).await?;
                error!(conversation_id = %record.conversation_id, error = %e, "contact cannot be routed");
                Ok(())
            }
            other => other,
        }
    }

    /// A held contact is now on `record.channel`: its record follows
    /// (durably first), then the engine counts it there (an assigned
    /// contact's load moves with it) and its agent's desk is told.
    async fn change_channel(&self, record: ContactRecord) -> Result<(), RouterError> {
        let updated = {
            let mut contacts = self.lock_contacts();
            let Some(r) = contacts.get_mut(&record.conversation_id) else {
                return Ok(());
            };
            r.channel = record.channel;
            r.clone()
        };
        self.store.put_contact(&updated).await?;
        info!(conversation_id = %updated.conversation_id, channel = %updated.channel, "contact changed channel");
        let event = Event::ChannelChanged {
            conversation_id: updated.conversation_id.clone(),
            channel: updated.channel,
        };
        match self.apply(event).await {
            Err(RouterError::Engine(EngineError::UnknownContact(_))) => return Ok(()),
            other => other?,
        }
        let agent = self
            .lock_contacts()
            .get(&updated.conversation_id)
            .and_then(|r| r.assigned_agent.clone());
        if let Some(agent) = agent {
            let view = self.lock_engine().agent(&agent);
            if let Some(view) = view {
                self.send(&agent, AgentEventKind::State(Box::new(view)));
            }
        }
        Ok(())
    }

    /// Releases a contact that leaves its queue for a bot (release reason
    /// [`omni_bus::topology::subjects::RELEASE_TO_BOT`]): counted as handed
    /// to the bot, not abandoned.
    pub async fn release_to_bot(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<(), RouterError> {
        if self.lock_contacts().contains_key(conversation_id) {
            self.tally.leaving_for_bot(conversation_id);
        }
        self.release(conversation_id).await
    }

    /// The conversation no longer needs an agent.
    pub async fn release(&self, conversation_id: &ConversationId) -> Result<(), RouterError> {
        let known = self.lock_contacts().contains_key(conversation_id);
        if known {
            self.apply(Event::ContactReleased {
                conversation_id: conversation_id.clone(),
            })
            .await
            .or_else(|e| match e {
                RouterError::Engine(_) => Ok(()),
                other => Err(other),
            })?;
        }
        self.store.remove_contact(conversation_id).await?;
        self.lock_contacts().remove(conversation_id);
        Ok(())
    }

    /// Wakes the engine when an offer or cooldown falls due, sets away the
    /// available agents whose grace without a connection ran out, and
    /// publishes changed queue positions every second, until `shutdown`.
    pub async fn run_timer(self: Arc<Self>, shutdown: CancellationToken) {
        tokio::join!(
            self.clone().run_deadlines(shutdown.clone()),
            self.tally.run(shutdown.clone(), || {
                self.lock_engine()
                    .queues(now_ms())
                    .into_iter()
                    .map(|q| (q.id.to_string(), q.waiting))
                    .collect()
            }),
            self.clone().run_positions(shutdown.clone()),
            self.clone().run_schedule(shutdown),
        );
    }

    /// The deadlines of [`RouterShell::run_timer`].
    async fn run_deadlines(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            let deadline = self.lock_engine().next_deadline();
            let disconnect = self.lock_connections().next_deadline();
            let sleep = match deadline.into_iter().chain(disconnect).min() {
                Some(at) => Duration::from_millis(at.saturating_sub(self.now()).max(0) as u64),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => continue,
                _ = tokio::time::sleep(sleep) => {}
            }
            if deadline.is_some_and(|at| at <= self.now())
                && let Err(e) = self.apply(Event::Tick).await
            {
                warn!(error = %e, "timer tick failed");
            }
            if disconnect.is_some_and(|at| at <= now_ms()) {
                self.away_disconnected().await;
            }
        }
    }

    /// Sets away, with the reason [`DISCONNECTED`], every agent who is due
    /// and still available without a connection.
    async fn away_disconnected(&self) {
        let due = self.lock_connections().take_due(now_ms());
        let candidates: Vec<AgentId> = if due.everyone {
            self.lock_engine()
                .agents()
                .into_iter()
                .map(|a| a.id)
                .collect()
        } else {
            due.agents
        };
        for agent in candidates {
            let available = self
                .lock_engine()
                .agent(&agent)
                .is_some_and(|a| a.presence == Presence::Available);
            if !available || self.lock_connections().is_connected(&agent) {
                continue;
            }
            info!(agent_id = %agent, "agent has no desk connection; setting away");
            let away = Presence::Away {
                reason: Some(DISCONNECTED.to_owned()),
            };
            if let Err(e) = self.set_presence(&agent, away).await {
                error!(agent_id = %agent, error = %e, "cannot set a disconnected agent away; trying again after the grace period");
                self.lock_connections().made_available(&agent, now_ms());
            }
        }
    }
}

fn event_name(event: &Event) -> &'static str {
    match event {
        Event::ContactArrived { .. } => "contact_arrived",
        Event::ContactRestored { .. } => "contact_restored",
        Event::ContactReleased { .. } => "contact_released",
        Event::SetPresence { .. } => "set_presence",
        Event::Accept { .. } => "accept",
        Event::Decline { .. } => "decline",
        Event::Tick => "tick",
        Event::TransferToQueue { .. } => "transfer_to_queue",
        Event::TransferToAgent { .. } => "transfer_to_agent",
        Event::ChannelChanged { .. } => "channel_changed",
        Event::PriorityRaised { .. } => "priority_raised",
    }
}
