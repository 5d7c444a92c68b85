//! Presence follows the agent's connection.
//!
//! An agent is connected while at least one `WatchAgent` stream is open for
//! them: every desk event socket (a browser tab) holds one, whichever desk
//! replica serves it, so with several desk replicas the router's count is
//! the sum over all of them. When an available agent has had no stream for
//! the grace period (`routing.disconnect_grace_secs`), the router sets them
//! away with the reason [`DISCONNECTED`] and their offers move on at once.
//!
//! The clock starts for everyone at the router's start (streams do not
//! survive a restart, presence does), when an agent's last stream closes,
//! and when an agent with no stream is set available (so a program that
//! sets presence over the API without watching gets the same grace).

use std::collections::HashMap;

use omni_core::AgentId;
use omni_core::time::Millis;

/// The away reason of an agent set away for want of a connection.
pub const DISCONNECTED: &str = "disconnected";

/// Open streams per agent, and when unconnected agents are due to go away.
#[derive(Debug)]
pub struct Connections {
    grace_ms: Millis,
    /// When every agent still unconnected since the start is due.
    start_due_at: Option<Millis>,
    open: HashMap<AgentId, usize>,
    due: HashMap<AgentId, Millis>,
}

/// Who is due to go away (if still available and unconnected).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Due {
    /// Every agent without a stream (the grace after start ran out).
    pub everyone: bool,
    /// These agents.
    pub agents: Vec<AgentId>,
}

impl Connections {
    /// No connections yet, as of `now` (the router's start).
    pub fn new(grace_ms: Millis, now: Millis) -> Self {
        Self {
            grace_ms,
            start_due_at: Some(now.saturating_add(grace_ms)),
            open: HashMap::new(),
            due: HashMap::new(),
        }
    }

    /// A stream for `agent` opened.
    pub fn opened(&mut self, agent: &AgentId) {
        *self.open.entry(agent.clone()).or_default() += 1;
        self.due.remove(agent);
    }

    /// A stream for `agent` closed at `now`.
    pub fn closed(&mut self, agent: &AgentId, now: Millis) {
        if let Some(count) = self.open.get_mut(agent) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.open.remove(agent);
                self.due
                    .insert(agent.clone(), now.saturating_add(self.grace_ms));
            }
        }
    }

    /// `agent` was set available at `now`: without a stream, the grace
    /// period starts again.
    pub fn made_available(&mut self, agent: &AgentId, now: Millis) {
        if !self.is_connected(agent) {
            self.due
                .insert(agent.clone(), now.saturating_add(self.grace_ms));
        }
    }

    /// Whether `agent` has a stream open.
    pub fn is_connected(&self, agent: &AgentId) -> bool {
        self.open.contains_key(agent)
    }

    /// The next time someone is due, if anyone is.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.due.values().copied().chain(self.start_due_at).min()
    }

    /// Takes who is due at `now`.
    pub fn take_due(&mut self, now: Millis) -> Due {
        let everyone = self.start_due_at.is_some_and(|at| at <= now);
        if everyone {
            self.start_due_at = None;
        }
        let mut agents: Vec<AgentId> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(a, _)| a.clone())
            .collect();
        for a in &agents {
            self.due.remove(a);
        }
        agents.sort();
        Due { everyone, agents }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(everyone: bool, agents: &[&str]) -> Due {
        Due {
            everyone,
            agents: agents.iter().map(|a| AgentId::from(*a)).collect(),
        }
    }

    #[test]
    fn the_grace_period_runs_from_start_last_close_or_being_made_available() {
        let alice = AgentId::from("alice");
        let mut c = Connections::new(1_000, 10_000);
        assert_eq!(c.next_deadline(), Some(11_000));
        c.opened(&alice);
        c.opened(&alice);
        assert_eq!(c.take_due(11_000), due(true, &[]));
        assert_eq!(c.next_deadline(), None);
        c.closed(&alice, 12_000);
        assert_eq!(c.next_deadline(), None, "one window is still open");
        c.closed(&alice, 13_000);
        assert_eq!(c.next_deadline(), Some(14_000));
        assert_eq!(c.take_due(13_999), due(false, &[]));
        assert_eq!(c.take_due(14_000), due(false, &["alice"]));
        assert_eq!(c.next_deadline(), None);
        c.made_available(&alice, 20_000);
        assert_eq!(c.next_deadline(), Some(21_000));
        c.opened(&alice);
        assert_eq!(c.next_deadline(), None);
        c.made_available(&alice, 30_000);
        assert_eq!(c.next_deadline(), None, "a connected agent is never due");
    }
}
