//! Agents: what they can do ([`AgentSpec`]), whether they take work
//! ([`Presence`]), and what they hold right now.

use std::collections::{BTreeMap, BTreeSet};

use omni_core::config::AgentConfig;
use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId};

use crate::offer::Offer;

/// An agent's configuration: skills and capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    /// The agent's id.
    pub id: AgentId,
    /// Display name.
    pub name: String,
    /// Skill name to proficiency (1-10).
    pub skills: BTreeMap<String, u8>,
    /// Languages the agent speaks. Not used for routing yet.
    pub languages: Vec<String>,
    /// Conversations the agent can hold at once, indexed by
    /// [`Channel::index`].
    pub capacity: [u32; 3],
    /// Optional cap on conversations across all channels.
    pub total: Option<u32>,
}

impl AgentSpec {
    /// An agent named after its id, with no skills and no capacity.
    pub fn new(id: impl Into<AgentId>) -> Self {
        let id = id.into();
        Self {
            name: id.to_string(),
            id,
            skills: BTreeMap::new(),
            languages: Vec::new(),
            capacity: [0; 3],
            total: None,
        }
    }

    /// This spec with `skill` at `proficiency`.
    pub fn with_skill(mut self, skill: &str, proficiency: u8) -> Self {
        self.skills.insert(skill.to_owned(), proficiency);
        self
    }

    /// This spec with capacity `capacity` on `channel`.
    pub fn with_capacity(mut self, channel: Channel, capacity: u32) -> Self {
        self.capacity[channel.index()] = capacity;
        self
    }

    /// This spec with a cap across all channels.
    pub fn with_total(mut self, total: u32) -> Self {
        self.total = Some(total);
        self
    }

    /// The agent's proficiency for a queue: the sum of its proficiency over
    /// the required skills, or `None` if it lacks one or is below a minimum.
    pub fn proficiency_for(&self, requirements: &BTreeMap<String, u8>) -> Option<u32> {
        requirements.iter().try_fold(0u32, |sum, (skill, minimum)| {
            let level = *self.skills.get(skill)?;
            (level >= *minimum).then_some(sum + u32::from(level))
        })
    }
}

impl From<&AgentConfig> for AgentSpec {
    fn from(config: &AgentConfig) -> Self {
        let mut capacity = [0; 3];
        for (channel, n) in &config.capacity {
            capacity[channel.index()] = *n;
        }
        Self {
            id: AgentId::from(config.id.as_str()),
            name: config.name.clone().unwrap_or_else(|| config.id.clone()),
            skills: config.skills.clone(),
            languages: config.languages.clone(),
            capacity,
            total: config.total,
        }
    }
}

/// Whether an agent takes new work. Agents start [`Presence::Offline`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Presence {
    /// Receives offers.
    Available,
    /// Signed in but receives no offers; keeps assigned conversations.
    Away {
        /// Why, if known (e.g. set by the engine after missed offers).
        reason: Option<String>,
    },
    /// Signed out; keeps assigned conversations.
    #[default]
    Offline,
}

impl Presence {
    /// Whether the agent receives offers.
    pub fn is_available(&self) -> bool {
        matches!(self, Presence::Available)
    }

    /// `available`, `away` or `offline`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Away { .. } => "away",
            Presence::Offline => "offline",
        }
    }
}

/// A snapshot of one agent, for APIs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    /// The agent's id.
    pub id: AgentId,
    /// Display name.
    pub name: String,
    /// Current presence.
    pub presence: Presence,
    /// Assigned conversations per channel, indexed by [`Channel::index`].
    pub load: [u32; 3],
    /// Capacity per channel, indexed by [`Channel::index`].
    pub capacity: [u32; 3],
    /// Optional cap across all channels.
    pub total: Option<u32>,
    /// Live offers, oldest first.
    pub offers: Vec<Offer>,
    /// Assigned conversations, sorted.
    pub assigned: Vec<ConversationId>,
    /// Skill name to proficiency.
    pub skills: BTreeMap<String, u8>,
    /// Languages the agent speaks.
    pub languages: Vec<String>,
    /// Offers in a row the agent let time out.
    pub consecutive_misses: u32,
    /// When the agent last accepted an offer, if ever.
    pub last_assigned_ms: Option<Millis>,
}

/// An agent's live state inside the engine.
#[derive(Debug, Clone)]
pub(crate) struct AgentState {
    pub(crate) spec: AgentSpec,
    pub(crate) presence: Presence,
    /// Assigned conversations per channel.
    pub(crate) load: [u32; 3],
    /// Live offers per channel.
    pub(crate) offered: [u32; 3],
    /// Live offers: creation sequence to offer id.
    pub(crate) offers: BTreeMap<u64, String>,
    pub(crate) assigned: BTreeSet<ConversationId>,
    pub(crate) last_assigned_ms: Option<Millis>,
    pub(crate) consecutive_misses: u32,
}

impl AgentState {
    pub(crate) fn new(spec: AgentSpec) -> Self {
        Self {
            spec,
            presence: Presence::Offline,
            load: [0; 3],
            offered: [0; 3],
            offers: BTreeMap::new(),
            assigned: BTreeSet::new(),
            last_assigned_ms: None,
            consecutive_misses: 0,
        }
    }

    /// Assigned plus offered on `channel`.
    pub(crate) fn occupied(&self, channel: Channel) -> u32 {
        let i = channel.index();
        self.load[i].saturating_add(self.offered[i])
    }

    /// Whether one more contact on `channel` fits, per channel and in total.
    pub(crate) fn has_room(&self, channel: Channel) -> bool {
        if self.occupied(channel) >= self.spec.capacity[channel.index()] {
            return false;
        }
        match self.spec.total {
            None => true,
            Some(total) => {
                let all: u64 = Channel::ALL
                    .iter()
                    .map(|c| u64::from(self.occupied(*c)))
                    .sum();
                all < u64::from(total)
            }
        }
    }

    /// Whether the agent could take a contact on some channel now.
    pub(crate) fn is_open(&self) -> bool {
        self.presence.is_available() && Channel::ALL.iter().any(|c| self.has_room(*c))
    }

    pub(crate) fn view(&self, offers: Vec<Offer>) -> AgentView {
        AgentView {
            id: self.spec.id.clone(),
            name: self.spec.name.clone(),
            presence: self.presence.clone(),
            load: self.load,
            capacity: self.spec.capacity,
            total: self.spec.total,
            offers,
            assigned: self.assigned.iter().cloned().collect(),
            skills: self.spec.skills.clone(),
            languages: self.spec.languages.clone(),
            consecutive_misses: self.consecutive_misses,
            last_assigned_ms: self.last_assigned_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirements(pairs: &[(&str, u8)]) -> BTreeMap<String, u8> {
        pairs.iter().map(|(s, l)| ((*s).to_owned(), *l)).collect()
    }

    #[test]
    fn proficiency_sums_required_skills_and_rejects_gaps() {
        let agent = AgentSpec::new("a")
            .with_skill("sales", 7)
            .with_skill("billing", 4);
        assert_eq!(agent.proficiency_for(&requirements(&[])), Some(0));
        assert_eq!(
            agent.proficiency_for(&requirements(&[("sales", 3)])),
            Some(7)
        );
        assert_eq!(
            agent.proficiency_for(&requirements(&[("sales", 3), ("billing", 4)])),
            Some(11)
        );
        assert_eq!(
            agent.proficiency_for(&requirements(&[("billing", 5)])),
            None
        );
        assert_eq!(agent.proficiency_for(&requirements(&[("legal", 1)])), None);
    }

    #[test]
    fn room_respects_channel_and_total() {
        let spec = AgentSpec::new("a")
            .with_capacity(Channel::Chat, 2)
            .with_capacity(Channel::Email, 2)
            .with_total(3);
        let mut agent = AgentState::new(spec);
        agent.load = [2, 0, 0];
        assert!(!agent.has_room(Channel::Chat));
        assert!(agent.has_room(Channel::Email));
        assert!(!agent.has_room(Channel::Sms), "no sms capacity");
        agent.offered = [0, 1, 0];
        assert!(!agent.has_room(Channel::Email), "total of 3 reached");
    }

    #[test]
    fn config_maps_capacity_by_channel_and_defaults_the_name() {
        let config = AgentConfig {
            id: "alice".into(),
            name: None,
            skills: BTreeMap::from([("sales".to_owned(), 8)]),
            languages: vec!["en".into()],
            capacity: BTreeMap::from([(Channel::Email, 5), (Channel::Sms, 4)]),
            total: Some(6),
        };
        let spec = AgentSpec::from(&config);
        assert_eq!(spec.name, "alice");
        assert_eq!(spec.capacity, [0, 5, 4]);
        assert_eq!(spec.total, Some(6));
        assert_eq!(spec.skills["sales"], 8);
    }
}
