//! The engine behind a lock, effect execution, the offer timer and restart
//! recovery.
//!
//! The lock is a plain mutex held only while the engine computes (no I/O
//! under it); effects are carried out after it is released.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use omni_bus::topology::subjects;
use omni_bus::{Bus, Message, TRACEPARENT};
use omni_core::config::Config;
use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_core::{AgentId, Channel, ConversationId};
use omni_proto::{events as ev, routing as pb};
use omni_router_core::{
    AgentSpec, Effect, Engine, EngineConfig, EngineError, Event, Presence, QueueSpec,
};
use omni_store::{ContactRecord, PresenceRecord, RouterStore};
use omni_telemetry::metrics;
use prost::Message as _;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, warn};

use crate::RouterError;
use crate::grpc::{agent_state, offer_to_pb};

/// The router: engine, persistence and notifications.
pub struct RouterShell {
    engine: Mutex<Engine>,
    contacts: Mutex<HashMap<ConversationId, ContactRecord>>,
    store: Arc<dyn RouterStore>,
    bus: Arc<dyn Bus>,
    events: broadcast::Sender<pb::AgentEvent>,
    wake: Notify,
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
            EngineConfig::from_config(&config.routing, epoch),
            config.agents.iter().map(AgentSpec::from).collect(),
            queues,
        );
        let (events, _) = broadcast::channel(1024);
        let shell = Arc::new(Self {
            engine: Mutex::new(engine),
            contacts: Mutex::new(HashMap::new()),
            store,
            bus,
            events,
            wake: Notify::new(),
        });
        shell.load_admin_changes().await?;
        shell.restore().await?;
        let weak = Arc::downgrade(&shell);
        metrics::gauges("router", move |out| {
            if let Some(shell) = weak.upgrade() {
                shell.read_gauges(out);
            }
        });
        Ok(shell)
    }

    /// Applies the agents and queues set through the admin API before the
    /// last stop, over the configuration file's.
    async fn load_admin_changes(&self) -> Result<(), RouterError> {
        let queues = self.store.queue_configs().await?;
        let agents = self.store.agent_configs().await?;
        let now = now_ms();
        let mut engine = self.lock_engine();
        // Queues may overflow to each other: apply those whose target is
        // known, until no more can be.
        let mut pending: Vec<QueueSpec> = Vec::new();
        for q in &queues {
            match QueueSpec::try_from(q) {
                Ok(spec) => pending.push(spec),
                Err(e) => warn!(queue = %q.id, error = %e, "stored queue ignored"),
            }
        }
        loop {
            let before = pending.len();
            pending.retain(|spec| {
                if engine.validate_queue(spec).is_ok() {
                    engine.upsert_queue(now, spec.clone());
                    false
                } else {
                    true
                }
            });
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        for spec in pending {
            let why = engine.validate_queue(&spec).err().map(|e| e.to_string());
            warn!(queue = %spec.id, error = ?why, "stored queue ignored");
        }
        for a in &agents {
            let spec = AgentSpec::from(a);
            match spec.validate() {
                Ok(()) => {
                    engine.upsert_agent(now, spec);
                }
                Err(e) => warn!(agent_id = %a.id, error = %e, "stored agent ignored"),
            }
        }
        info!(
            queues = queues.len(),
            agents = agents.len(),
            "admin changes applied"
        );
        Ok(())
    }

    async fn restore(&self) -> Result<(), RouterError> {
        let contacts = self.store.contacts().await?;
        let presences = self.store.presences().await?;
        let (mut queued, mut assigned) = (0usize, 0usize);
        for c in contacts {
            let event = Event::ContactRestored {
                conversation_id: c.conversation_id.clone(),
                queue: c.queue.clone(),
                channel: c.channel,
                queued_at_ms: c.queued_at_ms,
                preferred_agent: c.preferred_agent.clone(),
                assigned_agent: c.assigned_agent.clone(),
            };
            if c.assigned_agent.is_some() {
                assigned += 1;
            } else {
                queued += 1;
            }
            self.lock_contacts()
                .insert(c.conversation_id.clone(), c.clone());
            match self.apply(event).await {
                Ok(()) => {}
                Err(RouterError::Engine(e)) => {
                    warn!(conversation_id = %c.conversation_id, error = %e, "stored contact not restored")
                }
                Err(e) => return Err(e),
            }
        }
        for p in presences {
            let Some(presence) = presence_from_record(&p) else {
                warn!(agent_id = %p.agent_id, presence = %p.presence, "unknown stored presence ignored");
                continue;
            };
            if let Err(e) = self
                .apply(Event::SetPresence {
                    agent_id: p.agent_id.clone(),
                    presence,
                })
                .await
            {
                warn!(agent_id = %p.agent_id, error = %e, "stored presence not restored");
            }
        }
        info!(queued, assigned, "router state restored");
        Ok(())
    }

    fn lock_engine(&self) -> MutexGuard<'_, Engine> {
        // A panic while holding the lock cannot leave the engine half-updated
        // in a way later events could not handle: take it over.
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_contacts(&self) -> MutexGuard<'_, HashMap<ConversationId, ContactRecord>> {
        self.contacts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_gauges(&self, out: &mut Vec<metrics::Sample>) {
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
        let mut load = [(0u32, 0u32); 3];
        for a in engine.agents() {
            *presence.entry(a.presence.as_str()).or_default() += 1;
            for c in Channel::ALL {
                load[c.index()].0 += a.used(c);
                load[c.index()].1 += a.capacity[c.index()];
            }
        }
        for c in Channel::ALL {
            let (used, capacity) = load[c.index()];
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
    pub fn subscribe(&self) -> broadcast::Receiver<pb::AgentEvent> {
        self.events.subscribe()
    }

    /// Runs `f` with the engine locked (reads only).
    pub fn with_engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> T {
        f(&self.lock_engine())
    }

    /// Applies one event and carries out its effects.
    pub async fn apply(&self, event: Event) -> Result<(), RouterError> {
        let span = tracing::info_span!("router.decide", event = event_name(&event));
        let effects = {
            let _entered = span.enter();
            let mut engine = self.lock_engine();
            engine.apply(now_ms(), event)?
        };
        self.execute(effects).instrument(span).await;
        self.wake.notify_one();
        Ok(())
    }

    /// A new contact to route: recorded durably, then given to the engine.
    /// A contact the engine already holds is a redelivery (nothing to do),
    /// or, on another channel, the customer changed channel.
    pub async fn arrive(&self, record: ContactRecord) -> Result<(), RouterError> {
        let held = self
            .lock_contacts()
            .get(&record.conversation_id)
            .map(|r| r.channel);
        if let Some(channel) = held {
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
        };
        match self.apply(event).await {
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
            let state = self
                .lock_engine()
                .agent(&agent)
                .map(|view| agent_state(&view));
            if let Some(state) = state {
                self.send(&agent, pb::agent_event::Kind::State(state));
            }
        }
        Ok(())
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

    /// Creates or replaces an agent (checked by the caller), effective at
    /// once.
    pub async fn upsert_agent(&self, spec: AgentSpec) -> Result<(), RouterError> {
        let id = spec.id.clone();
        // Durable first: an acknowledged change survives a restart.
        self.store
            .put_agent_config(&crate::admin::agent_to_config(&spec))
            .await?;
        let effects = self.lock_engine().upsert_agent(now_ms(), spec);
        info!(agent_id = %id, "agent created or updated");
        self.execute(effects).await;
        self.wake.notify_one();
        Ok(())
    }

    /// Creates or replaces a queue, effective at once; refuses an overflow
    /// to an unknown queue or one that comes back.
    pub async fn upsert_queue(&self, spec: QueueSpec) -> Result<(), RouterError> {
        let id = spec.id.clone();
        self.lock_engine()
            .validate_queue(&spec)
            .map_err(|e| RouterError::InvalidArgument(format!("queue: {e}")))?;
        // Durable first: an acknowledged change survives a restart.
        self.store
            .put_queue_config(&crate::admin::queue_to_config(&spec))
            .await?;
        let effects = {
            let mut engine = self.lock_engine();
            engine
                .validate_queue(&spec)
                .map_err(|e| RouterError::InvalidArgument(format!("queue: {e}")))?;
            engine.upsert_queue(now_ms(), spec)
        };
        info!(queue = %id, "queue created or updated");
        self.execute(effects).await;
        self.wake.notify_one();
        Ok(())
    }

    /// Sets an agent's presence, durably.
    pub async fn set_presence(
        &self,
        agent_id: &AgentId,
        presence: Presence,
    ) -> Result<(), RouterError> {
        if self.lock_engine().agent(agent_id).is_none() {
            return Err(EngineError::UnknownAgent(agent_id.clone()).into());
        }
        self.store
            .put_presence(&presence_record(agent_id, &presence))
            .await?;
        self.apply(Event::SetPresence {
            agent_id: agent_id.clone(),
            presence,
        })
        .await
    }

    async fn execute(&self, effects: Vec<Effect>) {
        let mut touched = BTreeSet::new();
        for effect in effects {
            match effect {
                Effect::Offered(offer) => {
                    metrics::inc("omni_routing_offers_total", &[]);
                    // The decision's explanation, on the trace.
                    let why = self
                        .lock_engine()
                        .explain(&offer.conversation_id)
                        .into_iter()
                        .find(|d| d.kind == "offered");
                    let (eligible, rule, step, score, summary) = match &why {
                        Some(d) => (
                            d.eligible.unwrap_or(0),
                            d.rule.clone().unwrap_or_default(),
                            d.step.unwrap_or(0),
                            d.score.unwrap_or(0),
                            d.summary.clone(),
                        ),
                        None => (0, String::new(), 0, 0, String::new()),
                    };
                    info!(conversation_id = %offer.conversation_id, agent_id = %offer.agent_id, offer_id = %offer.offer_id, eligible, rule = %rule, step, score, explanation = %summary, "offered");
                    touched.insert(offer.agent_id.clone());
                    self.send(
                        &offer.agent_id,
                        pb::agent_event::Kind::Offered(offer_to_pb(&offer)),
                    );
                }
                Effect::OfferRescinded { offer, reason } => {
                    metrics::inc(
                        "omni_routing_offers_rescinded_total",
                        &[("reason", reason.as_str())],
                    );
                    info!(conversation_id = %offer.conversation_id, agent_id = %offer.agent_id, reason = reason.as_str(), "offer rescinded");
                    touched.insert(offer.agent_id.clone());
                    self.send(
                        &offer.agent_id,
                        pb::agent_event::Kind::Rescinded(pb::OfferRescinded {
                            offer_id: offer.offer_id.clone(),
                            conversation_id: offer.conversation_id.to_string(),
                            reason: reason.as_str().to_owned(),
                        }),
                    );
                }
                Effect::Assigned {
                    conversation_id,
                    agent_id,
                    offer_id,
                } => {
                    metrics::inc("omni_routing_assignments_total", &[]);
                    info!(%conversation_id, %agent_id, "assigned");
                    touched.insert(agent_id.clone());
                    self.record_assignment(&conversation_id, &agent_id).await;
                    self.send(
                        &agent_id,
                        pb::agent_event::Kind::Assigned(pb::Assigned {
                            conversation_id: conversation_id.to_string(),
                            offer_id,
                        }),
                    );
                }
                Effect::Queued { .. } => {}
                Effect::Requeued {
                    conversation_id,
                    queue,
                    queued_at_ms,
                } => {
                    info!(%conversation_id, %queue, "contact moved to another queue");
                    let record = {
                        let mut contacts = self.lock_contacts();
                        contacts.get_mut(&conversation_id).map(|r| {
                            r.queue = queue.clone();
                            r.queued_at_ms = queued_at_ms;
                            r.clone()
                        })
                    };
                    if let Some(record) = record
                        && let Err(e) = self.store.put_contact(&record).await
                    {
                        error!(%conversation_id, error = %e, "queue change not stored; a restart restores the old queue");
                    }
                }
                Effect::Unassigned {
                    conversation_id,
                    agent_id,
                } => {
                    info!(%conversation_id, %agent_id, "contact transferred away from its agent");
                    touched.insert(agent_id.clone());
                    let record = {
                        let mut contacts = self.lock_contacts();
                        contacts.get_mut(&conversation_id).map(|r| {
                            r.assigned_agent = None;
                            r.clone()
                        })
                    };
                    if let Some(record) = record
                        && let Err(e) = self.store.put_contact(&record).await
                    {
                        error!(%conversation_id, error = %e, "transfer not stored; a restart restores the old assignment");
                    }
                    self.send(
                        &agent_id,
                        pb::agent_event::Kind::Released(pb::Released {
                            conversation_id: conversation_id.to_string(),
                        }),
                    );
                }
                Effect::Removed { conversation_id } => {
                    let record = self.lock_contacts().remove(&conversation_id);
                    if let Some(agent) = record.and_then(|r| r.assigned_agent) {
                        touched.insert(agent.clone());
                        self.send(
                            &agent,
                            pb::agent_event::Kind::Released(pb::Released {
                                conversation_id: conversation_id.to_string(),
                            }),
                        );
                    }
                }
                Effect::PresenceChanged { agent_id, presence } => {
                    info!(%agent_id, ?presence, "presence changed by the router");
                    touched.insert(agent_id.clone());
                    if let Err(e) = self
                        .store
                        .put_presence(&presence_record(&agent_id, &presence))
                        .await
                    {
                        error!(%agent_id, error = %e, "presence change not stored");
                    }
                }
            }
        }
        for agent in touched {
            let state = self
                .lock_engine()
                .agent(&agent)
                .map(|view| agent_state(&view));
            if let Some(state) = state {
                self.send(&agent, pb::agent_event::Kind::State(state));
            }
        }
    }

    /// Records the assignment durably and tells the context service. Retries
    /// a bounded number of times; the publish is deduplicated by id.
    async fn record_assignment(&self, conversation_id: &ConversationId, agent_id: &AgentId) {
        let at_ms = now_ms();
        let record = {
            let mut contacts = self.lock_contacts();
            contacts.get_mut(conversation_id).map(|r| {
                r.assigned_agent = Some(agent_id.clone());
                r.clone()
            })
        };
        let assignment = ev::Assignment {
            conversation_id: conversation_id.to_string(),
            agent_id: agent_id.to_string(),
            at_ms,
        };
        let msg = Message::new(subjects::ASSIGNMENT_CREATED, assignment.encode_to_vec())
            .with_header(
                TRACEPARENT,
                omni_telemetry::outgoing(&tracing::Span::current(), &TraceContext::new_root())
                    .to_string(),
            );
        let id = format!("assign:{conversation_id}:{agent_id}:{at_ms}");
        for attempt in 1..=5u32 {
            let stored = match &record {
                Some(r) => self.store.put_contact(r).await.map_err(RouterError::from),
                None => Ok(()),
            };
            let result = match stored {
                Ok(()) => self
                    .bus
                    .publish(msg.clone(), Some(&id))
                    .await
                    .map(|_| ())
                    .map_err(RouterError::from),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => return,
                Err(e) => {
                    warn!(%conversation_id, %agent_id, attempt, error = %e, "assignment not recorded yet; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
        error!(%conversation_id, %agent_id, "assignment could not be recorded; the desk has it, the timeline does not");
    }

    fn send(&self, agent: &AgentId, kind: pb::agent_event::Kind) {
        // No receiver means no desk is watching: not an error.
        let _ = self.events.send(pb::AgentEvent {
            agent_id: agent.to_string(),
            kind: Some(kind),
        });
    }

    /// Wakes the engine when an offer or cooldown falls due, until `shutdown`.
    pub async fn run_timer(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            let deadline = self.lock_engine().next_deadline();
            let sleep = match deadline {
                Some(at) => Duration::from_millis((at - now_ms()).max(0) as u64),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => continue,
                _ = tokio::time::sleep(sleep) => {}
            }
            if deadline.is_some_and(|at| at <= now_ms())
                && let Err(e) = self.apply(Event::Tick).await
            {
                warn!(error = %e, "timer tick failed");
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
    }
}

fn presence_record(agent_id: &AgentId, presence: &Presence) -> PresenceRecord {
    let (name, reason) = match presence {
        Presence::Available => ("available", None),
        Presence::Away { reason } => ("away", reason.clone()),
        Presence::Offline => ("offline", None),
    };
    PresenceRecord {
        agent_id: agent_id.clone(),
        presence: name.to_owned(),
        reason,
        at_ms: now_ms(),
    }
}

fn presence_from_record(record: &PresenceRecord) -> Option<Presence> {
    match record.presence.as_str() {
        "available" => Some(Presence::Available),
        "away" => Some(Presence::Away {
            reason: record.reason.clone(),
        }),
        "offline" => Some(Presence::Offline),
        _ => None,
    }
}
