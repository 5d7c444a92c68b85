//! Restart recovery: the admin changes stored over the configuration's
//! agents and queues, then the contacts and presence recorded before the
//! last stop.

use omni_router_core::{AgentSpec, Event, QueueSpec};
use tracing::{info, warn};

use super::RouterShell;
use crate::RouterError;
use crate::convert::presence_from_record;

impl RouterShell {
    /// Applies the agents and queues set through the admin API before the
    /// last stop, over the configuration file's.
    pub(super) async fn load_admin_changes(&self) -> Result<(), RouterError> {
        let queues = self.store.queue_configs().await?;
        let agents = self.store.agent_configs().await?;
        let now = self.now();
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

    pub(super) async fn restore(&self) -> Result<(), RouterError> {
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
                priority: c.priority,
                language: c.language.clone(),
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
            let name = presence.as_str();
            if let Err(e) = self
                .apply(Event::SetPresence {
                    agent_id: p.agent_id.clone(),
                    presence,
                })
                .await
            {
                warn!(agent_id = %p.agent_id, error = %e, "stored presence not restored");
            } else {
                self.tally.presence_changed(&p.agent_id, name, p.at_ms);
            }
        }
        info!(queued, assigned, "router state restored");
        Ok(())
    }
}
