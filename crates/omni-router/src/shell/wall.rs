//! What the supervisor's wall reads from the router: agents with when
//! their state began and the offers they missed today, queues with today's
//! stored numbers, the contacts they hold and their agents by presence, and
//! the day in intervals (all of the day's numbers from [`crate::tally`]),
//! and whether a queue with business hours is open by the router's clock.

use omni_core::time::now_ms;
use omni_proto::routing as pb;
use omni_router_core::{AgentView, ContactState, QueueView};

use super::RouterShell;
use crate::convert::{agent_state, queue_hours, queue_state};

/// Agents meeting a queue's base requirement, by presence:
/// (available and holding nothing, available and holding something, away).
fn agents_by_presence(queue: &QueueView, agents: &[AgentView]) -> (u32, u32, u32) {
    let mut counts = (0, 0, 0);
    for a in agents
        .iter()
        .filter(|a| queue.requirement.matches(&a.skills, &a.languages))
    {
        let holds = a.capacity.keys().any(|c| a.used(*c) > 0);
        match (a.presence.is_available(), holds, a.presence.as_str()) {
            (true, false, _) => counts.0 += 1,
            (true, true, _) => counts.1 += 1,
            (false, _, "away") => counts.2 += 1,
            _ => {}
        }
    }
    counts
}

impl RouterShell {
    /// An agent's state with when its presence began and today's missed
    /// offers.
    pub fn agent_state_now(&self, view: &AgentView) -> pb::AgentState {
        let mut state = agent_state(view);
        self.add_wall_fields(&mut state, view);
        state
    }

    /// Sets the wall's fields of `state`, the state of `view`.
    pub fn add_wall_fields(&self, state: &mut pb::AgentState, view: &AgentView) {
        state.state_since_ms =
            self.tally
                .presence_since(&view.id, view.presence.as_str(), now_ms());
        state.offers_missed_today = self.tally.offers_missed_today(view.id.as_str());
    }

    /// Every queue with today's numbers, its contacts and its agents.
    pub fn queue_states(&self) -> Vec<pb::QueueState> {
        let held: Vec<_> = self
            .lock_contacts()
            .values()
            .filter(|c| c.assigned_agent.is_none())
            .map(|c| c.conversation_id.clone())
            .collect();
        let now = now_ms();
        // Hours go by the router's clock, as routing does.
        let clock = self.now();
        let engine = self.lock_engine();
        let agents = engine.agents();
        let mut contacts: Vec<_> = held
            .iter()
            .filter_map(|id| engine.contact(id))
            .filter(|c| !matches!(c.state, ContactState::Assigned(_)))
            .collect();
        contacts.sort_by(|a, b| (a.queued_at_ms, &a.id).cmp(&(b.queued_at_ms, &b.id)));
        engine
            .queues(now)
            .iter()
            .map(|q| {
                let mut state = queue_state(q);
                state.today = Some(self.tally.queue_today(q.id.as_str()));
                state.contacts = contacts
                    .iter()
                    .filter(|c| c.queue == q.id)
                    .map(|c| pb::QueuedContact {
                        conversation_id: c.id.to_string(),
                        channel_name: c.channel.as_str().to_owned(),
                        queued_at_ms: c.queued_at_ms,
                        step: c.step,
                        offered_to: match &c.state {
                            ContactState::Offered(o) => o.agent_id.to_string(),
                            _ => String::new(),
                        },
                    })
                    .collect();
                (state.agents_available, state.agents_busy, state.agents_away) =
                    agents_by_presence(q, &agents);
                state.hours = engine
                    .queue_hours(&q.id)
                    .map(|schedule| queue_hours(&schedule, clock));
                state
            })
            .collect()
    }

    /// Today's numbers of every queue in intervals, as stored.
    pub fn queue_day(&self) -> pb::QueueDayResponse {
        self.tally.queue_day()
    }
}
