//! Agents: what they can do ([`AgentSpec`]), whether they take work
//! ([`Presence`]), and what they hold right now.

use std::collections::BTreeMap;

use omni_core::config::AgentConfig;
use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId};

use crate::requirement::Requirement;

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
    /// Languages the agent speaks, matched by `lang == "xx"` in queue
    /// requirements.
    pub languages: Vec<String>,
    /// Conversations the agent can hold at once, per channel; a channel
    /// not listed has capacity 0.
    pub capacity: BTreeMap<Channel, u32>,
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
            capacity: BTreeMap::new(),
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
        self.capacity.insert(channel, capacity);
        self
    }

    /// This spec with a cap across all channels.
    pub fn with_total(mut self, total: u32) -> Self {
        self.total = Some(total);
        self
    }

    /// This spec speaking `language`.
    pub fn with_language(mut self, language: &str) -> Self {
        self.languages.push(language.to_owned());
        self
    }

    /// The agent's score for a requirement (the sum of its proficiency over
    /// the skills it names outside `NOT`), or `None` if it does not meet it.
    pub fn score_for(&self, requirement: &Requirement) -> Option<u32> {
        requirement
            .matches(&self.skills, &self.languages)
            .then(|| requirement.score(&self.skills))
    }

    /// Checks the spec: proficiency 1-10, a non-empty id.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.as_str().trim().is_empty() {
            return Err("agent id is empty".into());
        }
        for (skill, level) in &self.skills {
            if skill.trim().is_empty() {
                return Err("a skill name is empty".into());
            }
            if !(1..=10).contains(level) {
                return Err(format!(
                    "skill {skill:?} proficiency {level} is outside 1-10"
                ));
            }
        }
        if self.languages.iter().any(|l| l.trim().is_empty()) {
            return Err("a language is empty".into());
        }
        Ok(())
    }
}

impl From<&AgentConfig> for AgentSpec {
    fn from(config: &AgentConfig) -> Self {
        Self {
            id: AgentId::from(config.id.as_str()),
            name: config.name.clone().unwrap_or_else(|| config.id.clone()),
            skills: config.skills.clone(),
            languages: config.languages.clone(),
            capacity: config.capacity.clone(),
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
    /// Assigned conversations per channel, on every channel the engine
    /// routes.
    pub load: BTreeMap<Channel, u32>,
    /// Live offers per channel, on every channel the engine routes: each
    /// reserves room until it is answered or expires.
    pub offered: BTreeMap<Channel, u32>,
    /// Capacity per channel, on every channel the engine routes.
    pub capacity: BTreeMap<Channel, u32>,
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

impl AgentView {
    /// The room held on `channel`: assigned conversations plus live offers,
    /// the count capacity is checked against (and the `occupancy` of
    /// selection and queue views is made of).
    pub fn used(&self, channel: Channel) -> u32 {
        let on = |m: &BTreeMap<Channel, u32>| m.get(&channel).copied().unwrap_or(0);
        on(&self.load).saturating_add(on(&self.offered))
    }

    /// The capacity on `channel` (0 when the engine does not route it).
    pub fn capacity_on(&self, channel: Channel) -> u32 {
        self.capacity.get(&channel).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_sums_named_skills_and_rejects_misses() {
        let agent = AgentSpec::new("a")
            .with_skill("sales", 7)
            .with_skill("billing", 4)
            .with_language("es");
        let req = |t: &str| Requirement::parse(t).unwrap();
        assert_eq!(agent.score_for(&Requirement::any()), Some(0));
        assert_eq!(agent.score_for(&req("sales >= 3")), Some(7));
        assert_eq!(
            agent.score_for(&req("sales >= 3 AND billing >= 4")),
            Some(11)
        );
        assert_eq!(agent.score_for(&req("billing >= 5")), None);
        assert_eq!(agent.score_for(&req("legal")), None);
        assert_eq!(agent.score_for(&req("sales AND lang == \"es\"")), Some(7));
        assert_eq!(agent.score_for(&req("lang == \"fr\"")), None);
    }

    #[test]
    fn validation_names_the_bad_skill() {
        assert!(AgentSpec::new("a").with_skill("x", 10).validate().is_ok());
        assert_eq!(
            AgentSpec::new("a")
                .with_skill("x", 0)
                .validate()
                .unwrap_err(),
            "skill \"x\" proficiency 0 is outside 1-10"
        );
        assert!(AgentSpec::new(" ").validate().is_err());
    }

    #[test]
    fn config_maps_capacity_by_channel_and_defaults_the_name() {
        let config = AgentConfig {
            id: "alice".into(),
            name: None,
            skills: BTreeMap::from([("sales".to_owned(), 8)]),
            languages: vec!["en".into()],
            capacity: BTreeMap::from([(Channel::EMAIL, 5), (Channel::SMS, 4)]),
            total: Some(6),
        };
        let spec = AgentSpec::from(&config);
        assert_eq!(spec.name, "alice");
        assert_eq!(
            spec.capacity,
            BTreeMap::from([(Channel::EMAIL, 5), (Channel::SMS, 4)])
        );
        assert_eq!(spec.total, Some(6));
        assert_eq!(spec.skills["sales"], 8);
    }
}
