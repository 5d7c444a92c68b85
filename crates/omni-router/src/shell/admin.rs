//! Agents and queues created or replaced, and an agent's presence set, at
//! run time through the API: each durable in the store first, so an
//! acknowledged change survives a restart, then applied to the engine.

use omni_core::time::now_ms;
use omni_core::{AgentId, QueueId};
use omni_router_core::{AgentSpec, EngineError, Event, Presence, QueueSpec};
use tracing::info;

use super::RouterShell;
use crate::RouterError;
use crate::events::AgentEventKind;

impl RouterShell {
    /// Creates or replaces an agent (checked by the caller), effective at
    /// once.
    pub async fn upsert_agent(&self, spec: AgentSpec) -> Result<(), RouterError> {
        let id = spec.id.clone();
        self.lock_engine().validate_agent(&spec)?;
        // Durable first: an acknowledged change survives a restart.
        self.store
            .put_agent_config(&crate::convert::agent_to_config(&spec))
            .await?;
        let effects = self.lock_engine().upsert_agent(self.now(), spec);
        info!(agent_id = %id, "agent created or updated");
        self.execute(effects).await;
        self.wake.notify_one();
        Ok(())
    }

    /// Creates or replaces a queue, effective at once; refuses an overflow
    /// (or a closed overflow) to an unknown queue or one that comes back.
    /// With `keep_hours` the queue keeps the business hours it has (from
    /// the configuration file or an earlier call), whatever `spec` says;
    /// else `spec.hours` replaces them (`None`: always open).
    pub async fn upsert_queue(
        &self,
        mut spec: QueueSpec,
        keep_hours: bool,
    ) -> Result<(), RouterError> {
        let id = spec.id.clone();
        {
            let engine = self.lock_engine();
            if keep_hours {
                spec.hours = engine.queue_hours(&id);
            }
            engine
                .validate_queue(&spec)
                .map_err(|e| RouterError::InvalidArgument(format!("queue: {e}")))?;
            if let Some(target) = spec.hours.as_ref().and_then(|h| h.closed_overflow())
                && engine.queue_spec(&QueueId::from(target)).is_none()
            {
                return Err(RouterError::InvalidArgument(format!(
                    "hours.closed_overflow: unknown queue {target:?}"
                )));
            }
        }
        // Durable first: an acknowledged change survives a restart.
        self.store
            .put_queue_config(&crate::convert::queue_to_config(&spec))
            .await?;
        let effects = {
            let mut engine = self.lock_engine();
            engine
                .validate_queue(&spec)
                .map_err(|e| RouterError::InvalidArgument(format!("queue: {e}")))?;
            engine.upsert_queue(self.now(), spec)
        };
        info!(queue = %id, "queue created or updated");
        self.execute(effects).await;
        self.read_thresholds();
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
        let record = crate::convert::presence_record(agent_id, &presence);
        self.store.put_presence(&record).await?;
        if presence == Presence::Available {
            self.lock_connections().made_available(agent_id, now_ms());
        }
        // The stored time, so the time in state is the same after a restart.
        self.tally
            .presence_changed(agent_id, presence.as_str(), record.at_ms);
        self.apply(Event::SetPresence {
            agent_id: agent_id.clone(),
            presence,
        })
        .await?;
        // The agent's desks learn of it, also when a supervisor set it.
        let view = self.lock_engine().agent(agent_id);
        if let Some(view) = view {
            self.send(agent_id, AgentEventKind::State(Box::new(view)));
        }
        Ok(())
    }
}
