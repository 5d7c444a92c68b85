//! Every conversion between the routing core's types and their proto,
//! configuration and store forms: agent and queue specs in (validated, with
//! errors that name the field), agent state, offers, agent events and queue
//! state out, presence to and from its store record; business hours in
//! [`hours`].

use std::collections::BTreeMap;

use omni_core::config::{AgentConfig, QueueConfig, QueueStepConfig, ServiceLevelConfig};
use omni_core::time::now_ms;
use omni_core::{AgentId, Channel, QueueId};
use omni_proto::common as cpb;
use omni_proto::convert::channel_from_pb;
use omni_proto::routing as pb;
use omni_router_core::{
    AgentSpec, AgentView, Offer, Overflow, Presence, QueueSpec, QueueView, RelaxStep, Requirement,
    SelectionRule, ServiceLevel,
};
use omni_store::PresenceRecord;

use crate::RouterError;
use crate::events::{AgentEvent, AgentEventKind};

mod hours;

pub use hours::{hours_from_pb, hours_to_pb, queue_hours};

/// An offer in its proto form.
pub fn offer_to_pb(offer: &Offer) -> pb::Offer {
    pb::Offer {
        offer_id: offer.offer_id.clone(),
        conversation_id: offer.conversation_id.to_string(),
        agent_id: offer.agent_id.to_string(),
        queue: offer.queue.to_string(),
        channel: cpb::Channel::from(offer.channel) as i32,
        channel_name: offer.channel.as_str().to_owned(),
        expires_at_ms: offer.expires_at_ms,
        queued_at_ms: offer.queued_at_ms,
    }
}

/// An agent's state in its proto form.
pub fn agent_state(view: &AgentView) -> pb::AgentState {
    let (presence, away_reason) = match &view.presence {
        Presence::Available => (pb::Presence::Available, String::new()),
        Presence::Away { reason } => (pb::Presence::Away, reason.clone().unwrap_or_default()),
        Presence::Offline => (pb::Presence::Offline, String::new()),
    };
    pb::AgentState {
        agent_id: view.id.to_string(),
        name: view.name.clone(),
        presence: presence as i32,
        away_reason,
        load: view
            .capacity
            .keys()
            // A channel the agent holds conversations on shows even without
            // capacity there (a conversation that moved channel stays).
            .filter(|c| view.capacity_on(**c) > 0 || view.used(**c) > 0)
            .map(|c| pb::ChannelLoad {
                channel: cpb::Channel::from(*c) as i32,
                channel_name: c.as_str().to_owned(),
                used: view.used(*c),
                capacity: view.capacity_on(*c),
            })
            .collect(),
        offers: view.offers.iter().map(offer_to_pb).collect(),
        assigned: view.assigned.iter().map(ToString::to_string).collect(),
        skills: view
            .skills
            .iter()
            .map(|(k, v)| (k.clone(), u32::from(*v)))
            .collect(),
        // The wall's fields come from the shell (RouterShell::add_wall_fields).
        ..Default::default()
    }
}

/// An agent event in its proto form.
pub fn agent_event_to_pb(event: &AgentEvent) -> pb::AgentEvent {
    use pb::agent_event::Kind;
    let kind = match &event.kind {
        AgentEventKind::State(view) => Kind::State(agent_state(view)),
        AgentEventKind::Offered(offer) => Kind::Offered(offer_to_pb(offer)),
        AgentEventKind::Rescinded { offer, reason } => Kind::Rescinded(pb::OfferRescinded {
            offer_id: offer.offer_id.clone(),
            conversation_id: offer.conversation_id.to_string(),
            reason: reason.as_str().to_owned(),
        }),
        AgentEventKind::Assigned {
            conversation_id,
            offer_id,
        } => Kind::Assigned(pb::Assigned {
            conversation_id: conversation_id.to_string(),
            offer_id: offer_id.clone(),
        }),
        AgentEventKind::Released { conversation_id } => Kind::Released(pb::Released {
            conversation_id: conversation_id.to_string(),
        }),
    };
    pb::AgentEvent {
        agent_id: event.agent_id.to_string(),
        kind: Some(kind),
    }
}

fn invalid(field: &str, message: impl std::fmt::Display) -> RouterError {
    RouterError::InvalidArgument(format!("{field}: {message}"))
}

/// An agent spec from its proto form, checked.
pub fn agent_from_pb(agent: Option<pb::AgentSpec>) -> Result<AgentSpec, RouterError> {
    let agent = agent.ok_or_else(|| invalid("agent", "is required"))?;
    if agent.agent_id.trim().is_empty() {
        return Err(invalid("agent.agent_id", "is required"));
    }
    let mut spec = AgentSpec::new(agent.agent_id.as_str());
    if !agent.name.is_empty() {
        spec.name = agent.name;
    }
    for (skill, level) in agent.skills {
        let level = u8::try_from(level)
            .ok()
            .filter(|l| (1..=10).contains(l))
            .ok_or_else(|| {
                invalid(
                    &format!("agent.skills[{skill:?}]"),
                    format!("proficiency {level} is outside 1-10"),
                )
            })?;
        spec.skills.insert(skill, level);
    }
    spec.languages = agent.languages;
    for (i, c) in agent.capacity.iter().enumerate() {
        let channel = channel_from_pb(c.channel, &c.channel_name).ok_or_else(|| {
            invalid(
                &format!("agent.capacity[{i}].channel"),
                format!("unknown channel {}", c.channel),
            )
        })?;
        if c.capacity > 10_000 {
            return Err(invalid(
                &format!("agent.capacity[{i}].capacity"),
                format!("{} is more than 10000", c.capacity),
            ));
        }
        spec.capacity.insert(channel, c.capacity);
    }
    spec.total = agent.total;
    spec.validate().map_err(|m| invalid("agent", m))?;
    Ok(spec)
}

/// The configuration record of an agent spec, for the store.
pub fn agent_to_config(spec: &AgentSpec) -> AgentConfig {
    AgentConfig {
        id: spec.id.to_string(),
        name: Some(spec.name.clone()),
        skills: spec.skills.clone(),
        languages: spec.languages.clone(),
        capacity: spec
            .capacity
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| (*c, *n))
            .collect::<BTreeMap<_, _>>(),
        total: spec.total,
    }
}

/// A queue spec from its proto form, checked on its own (the engine checks
/// overflow targets).
pub fn queue_from_pb(queue: Option<pb::QueueSpec>) -> Result<QueueSpec, RouterError> {
    let queue = queue.ok_or_else(|| invalid("queue", "is required"))?;
    if queue.queue_id.trim().is_empty() {
        return Err(invalid("queue.queue_id", "is required"));
    }
    let requirement =
        Requirement::parse(&queue.requirement).map_err(|e| invalid("queue.requirement", e))?;
    let mut spec = QueueSpec::new(queue.queue_id.as_str())
        .with_priority(queue.priority)
        .with_expression(requirement);
    if !queue.name.is_empty() {
        spec.name = queue.name;
    }
    let last = queue.steps.len().saturating_sub(1);
    for (i, step) in queue.steps.into_iter().enumerate() {
        let field = format!("queue.steps[{i}]");
        match (step.requirement.is_empty(), step.overflow_queue.is_empty()) {
            (false, true) => {
                let requirement = Requirement::parse(&step.requirement)
                    .map_err(|e| invalid(&format!("{field}.requirement"), e))?;
                spec.steps.push(RelaxStep {
                    after_ms: step.after_ms,
                    requirement,
                });
            }
            (true, false) if i == last => {
                spec.overflow = Some(Overflow {
                    after_ms: step.after_ms,
                    queue: QueueId::from(step.overflow_queue.as_str()),
                });
            }
            (true, false) => {
                return Err(invalid(&field, "an overflow step must be the last step"));
            }
            _ => {
                return Err(invalid(
                    &field,
                    "a step has exactly one of requirement or overflow_queue",
                ));
            }
        }
    }
    if !queue.selection.is_empty() {
        spec.selection = queue
            .selection
            .iter()
            .map(|r| {
                SelectionRule::parse(r).ok_or_else(|| {
                    invalid(
                        "queue.selection",
                        format!(
                            "unknown rule {r:?} (expected preferred, proficiency, occupancy or idle)"
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
    }
    spec.preferred_window_ms = queue.preferred_window_ms;
    if let Some(sl) = queue.service_level_target {
        spec.service_level = ServiceLevel {
            threshold_ms: sl.threshold_ms,
            percent: u8::try_from(sl.percent).unwrap_or(0),
        };
    }
    spec.max_waiting = (queue.max_waiting > 0).then_some(queue.max_waiting);
    spec.validate().map_err(|m| invalid("queue", m))?;
    Ok(spec)
}

/// The configuration record of a queue spec, for the store.
pub fn queue_to_config(spec: &QueueSpec) -> QueueConfig {
    let secs = |ms: i64| u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000);
    let mut steps: Vec<QueueStepConfig> = spec
        .steps
        .iter()
        .map(|s| QueueStepConfig {
            after_secs: secs(s.after_ms),
            requirement: Some(s.requirement.to_string()),
            overflow: None,
        })
        .collect();
    if let Some(o) = &spec.overflow {
        steps.push(QueueStepConfig {
            after_secs: secs(o.after_ms),
            requirement: None,
            overflow: Some(o.queue.to_string()),
        });
    }
    QueueConfig {
        id: spec.id.to_string(),
        name: Some(spec.name.clone()),
        priority: spec.priority,
        skills: BTreeMap::new(),
        requirement: Some(spec.requirement.to_string()),
        steps,
        selection: Some(
            spec.selection
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
        ),
        preferred_window_secs: spec.preferred_window_ms.map(secs),
        service_level: Some(ServiceLevelConfig {
            percent: spec.service_level.percent,
            threshold_secs: secs(spec.service_level.threshold_ms),
        }),
        max_waiting: spec.max_waiting,
        // The context service reads wrap-up codes from the configuration.
        wrapup_codes: Vec::new(),
        hours: spec.hours.as_ref().map(|h| h.config().clone()),
        // The context service reads a queue's bot from the configuration.
        bot: None,
        bot_fields: Vec::new(),
        survey: None,
        followup: None,
    }
}

/// A queue's live state in its proto form.
pub fn queue_state(q: &QueueView) -> pb::QueueState {
    pb::QueueState {
        queue: q.id.to_string(),
        priority: q.priority,
        waiting: q.waiting,
        longest_wait_ms: q.longest_wait_ms,
        requirements: q
            .requirement
            .minimums()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, u32::from(v)))
            .collect(),
        name: q.name.clone(),
        requirement: q.requirement.to_string(),
        waiting_base: q.waiting_base,
        steps: q
            .steps
            .iter()
            .map(|s| pb::StepState {
                after_ms: s.after_ms,
                requirement: s.requirement.to_string(),
                waiting: s.waiting,
            })
            .collect(),
        oldest_step: q.oldest_step,
        overflow_queue: q
            .overflow
            .as_ref()
            .map(|o| o.queue.to_string())
            .unwrap_or_default(),
        overflow_after_ms: q.overflow.as_ref().map(|o| o.after_ms).unwrap_or(0),
        selection: q.selection.iter().map(|r| r.as_str().to_owned()).collect(),
        service_level_target: Some(pb::ServiceLevelTarget {
            percent: u32::from(q.service_level_target.percent),
            threshold_ms: q.service_level_target.threshold_ms,
        }),
        stats: Some(pb::QueueStats {
            entered: q.stats.entered,
            answered: q.stats.answered,
            answered_in_target: q.stats.answered_in_target,
            abandoned: q.stats.abandoned,
            abandoned_after_target: q.stats.abandoned_after_target,
            overflowed: q.stats.overflowed,
            transferred: q.stats.transferred,
            refused: q.stats.refused,
            service_level: q.stats.service_level(),
        }),
        occupancy: q.occupancy,
        offered: q.offered,
        max_waiting: q.max_waiting.unwrap_or(0),
        // The wall's fields come from the shell (RouterShell::queue_states).
        ..Default::default()
    }
}

/// The proto channel of a core channel (for capacity lists).
pub fn channel_pb(c: Channel) -> i32 {
    cpb::Channel::from(c) as i32
}

/// The store record of an agent's presence, stamped now.
pub fn presence_record(agent_id: &AgentId, presence: &Presence) -> PresenceRecord {
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

/// An agent's presence from its store record; `None` for an unknown name.
pub fn presence_from_record(record: &PresenceRecord) -> Option<Presence> {
    match record.presence.as_str() {
        "available" => Some(Presence::Available),
        "away" => Some(Presence::Away {
            reason: record.reason.clone(),
        }),
        "offline" => Some(Presence::Offline),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(requirement: &str) -> pb::QueueSpec {
        pb::QueueSpec {
            queue_id: "billing".into(),
            requirement: requirement.into(),
            ..Default::default()
        }
    }

    #[test]
    fn bad_queue_input_names_the_field_and_column() {
        let err = queue_from_pb(Some(queue("billing >= 5 AND"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid argument: queue.requirement: column 17: unexpected end; expected a skill name, lang, NOT or \"(\""
        );
        let mut q = queue("billing");
        q.steps = vec![
            pb::QueueStep {
                after_ms: 30_000,
                requirement: String::new(),
                overflow_queue: "support".into(),
            },
            pb::QueueStep {
                after_ms: 60_000,
                requirement: "x".into(),
                overflow_queue: String::new(),
            },
        ];
        assert_eq!(
            queue_from_pb(Some(q)).unwrap_err().to_string(),
            "invalid argument: queue.steps[0]: an overflow step must be the last step"
        );
        let mut q = queue("");
        q.selection = vec!["fastest".into()];
        assert!(queue_from_pb(Some(q)).is_err());
        assert!(queue_from_pb(None).is_err());
    }

    #[test]
    fn queue_round_trips_through_its_config_record() {
        let mut q = queue("billing >= 5 AND lang == \"es\"");
        q.steps = vec![
            pb::QueueStep {
                after_ms: 30_000,
                requirement: "billing >= 3".into(),
                overflow_queue: String::new(),
            },
            pb::QueueStep {
                after_ms: 180_000,
                requirement: String::new(),
                overflow_queue: "support".into(),
            },
        ];
        q.selection = vec!["idle".into(), "proficiency".into()];
        let spec = queue_from_pb(Some(q)).unwrap();
        let back = QueueSpec::try_from(&queue_to_config(&spec)).unwrap();
        assert_eq!(back, spec);
    }

    #[test]
    fn bad_agent_input_names_the_field() {
        let agent = pb::AgentSpec {
            agent_id: "zoe".into(),
            skills: [("billing".to_owned(), 11)].into(),
            ..Default::default()
        };
        assert_eq!(
            agent_from_pb(Some(agent)).unwrap_err().to_string(),
            "invalid argument: agent.skills[\"billing\"]: proficiency 11 is outside 1-10"
        );
        let agent = pb::AgentSpec {
            agent_id: "zoe".into(),
            capacity: vec![pb::ChannelCapacity {
                channel: 42,
                channel_name: String::new(),
                capacity: 1,
            }],
            ..Default::default()
        };
        assert!(agent_from_pb(Some(agent)).is_err());
        let ok = pb::AgentSpec {
            agent_id: "zoe".into(),
            skills: [("billing".to_owned(), 7)].into(),
            languages: vec!["es".into()],
            capacity: vec![pb::ChannelCapacity {
                channel: channel_pb(Channel::EMAIL),
                channel_name: String::new(),
                capacity: 4,
            }],
            total: Some(3),
            ..Default::default()
        };
        let spec = agent_from_pb(Some(ok)).unwrap();
        assert_eq!(spec.capacity, BTreeMap::from([(Channel::EMAIL, 4)]));
        assert_eq!(AgentSpec::from(&agent_to_config(&spec)), spec);
    }
}
