//! Queues: what a contact needs ([`QueueSpec`]) and who is waiting in each.

use std::collections::{BTreeMap, BTreeSet};

use omni_core::config::QueueConfig;
use omni_core::time::Millis;
use omni_core::{ConversationId, QueueId};

/// A queue's configuration: priority and skill requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// The queue's id.
    pub id: QueueId,
    /// Display name.
    pub name: String,
    /// Higher is served first.
    pub priority: u32,
    /// Skill name to the minimum proficiency an agent needs.
    pub requirements: BTreeMap<String, u8>,
}

impl QueueSpec {
    /// A queue named after its id, priority 0, no requirements.
    pub fn new(id: impl Into<QueueId>) -> Self {
        let id = id.into();
        Self {
            name: id.to_string(),
            id,
            priority: 0,
            requirements: BTreeMap::new(),
        }
    }

    /// This spec with `priority`.
    pub fn with_priority(mut self, priority: u32) -> Self {
        self.priority = priority;
        self
    }

    /// This spec requiring `skill` at `minimum` or better.
    pub fn with_requirement(mut self, skill: &str, minimum: u8) -> Self {
        self.requirements.insert(skill.to_owned(), minimum);
        self
    }
}

impl From<&QueueConfig> for QueueSpec {
    fn from(config: &QueueConfig) -> Self {
        Self {
            id: QueueId::from(config.id.as_str()),
            name: config.name.clone().unwrap_or_else(|| config.id.clone()),
            priority: config.priority,
            requirements: config.skills.clone(),
        }
    }
}

/// A snapshot of one queue, for APIs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueView {
    /// The queue's id.
    pub id: QueueId,
    /// Display name.
    pub name: String,
    /// Higher is served first.
    pub priority: u32,
    /// Contacts waiting for an offer (not counting offered or assigned ones).
    pub waiting: u32,
    /// How long the oldest waiting contact has waited; 0 when none waits.
    pub longest_wait_ms: Millis,
    /// Skill name to minimum proficiency.
    pub requirements: BTreeMap<String, u8>,
}

/// A queue inside the engine, with its waiting contacts oldest first.
#[derive(Debug, Clone)]
pub(crate) struct QueueState {
    pub(crate) spec: QueueSpec,
    pub(crate) waiting: BTreeSet<(Millis, ConversationId)>,
}

impl QueueState {
    pub(crate) fn new(spec: QueueSpec) -> Self {
        Self {
            spec,
            waiting: BTreeSet::new(),
        }
    }

    pub(crate) fn view(&self, now_ms: Millis) -> QueueView {
        let longest_wait_ms = self
            .waiting
            .first()
            .map(|(queued_at, _)| now_ms.saturating_sub(*queued_at).max(0))
            .unwrap_or(0);
        QueueView {
            id: self.spec.id.clone(),
            name: self.spec.name.clone(),
            priority: self.spec.priority,
            waiting: u32::try_from(self.waiting.len()).unwrap_or(u32::MAX),
            longest_wait_ms,
            requirements: self.spec.requirements.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_counts_waiting_and_measures_the_oldest() {
        let mut queue = QueueState::new(QueueSpec::new("sales").with_priority(2));
        assert_eq!(queue.view(1_000).longest_wait_ms, 0);
        queue.waiting.insert((400, "c2".into()));
        queue.waiting.insert((100, "c1".into()));
        let view = queue.view(1_000);
        assert_eq!(
            (view.waiting, view.longest_wait_ms, view.priority),
            (2, 900, 2)
        );
        assert_eq!(queue.view(50).longest_wait_ms, 0, "never negative");
    }

    #[test]
    fn config_maps_skills_to_requirements() {
        let config = QueueConfig {
            id: "vip".into(),
            name: Some("VIP".into()),
            priority: 9,
            skills: BTreeMap::from([("sales".to_owned(), 5)]),
        };
        let spec = QueueSpec::from(&config);
        assert_eq!(spec.name, "VIP");
        assert_eq!(spec.priority, 9);
        assert_eq!(spec.requirements["sales"], 5);
    }
}
