//! Queues: what a contact needs ([`QueueSpec`]): a requirement, relaxation
//! steps over wait time, an overflow target, the selection order and a
//! service-level target; and what a queue looks like now ([`QueueView`]).

use omni_core::QueueId;
use omni_core::config::QueueConfig;
use omni_core::hours::Schedule;
use omni_core::time::Millis;

use crate::requirement::Requirement;
use crate::select::SelectionRule;

/// Most relaxation steps a queue may have.
pub const MAX_STEPS: usize = 16;

/// A relaxation step: once a contact has waited `after_ms`, agents meeting
/// `requirement` are eligible for it (instead of the earlier step's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaxStep {
    /// Wait, from the contact's queued time, after which the step applies.
    pub after_ms: Millis,
    /// The requirement in force from then on.
    pub requirement: Requirement,
}

/// Overflow: once a contact has waited `after_ms`, it moves to `queue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overflow {
    /// Wait after which the contact moves.
    pub after_ms: Millis,
    /// The queue it moves to.
    pub queue: QueueId,
}

/// A service-level target: `percent` of contacts answered within
/// `threshold_ms` (e.g. 80% in 20 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLevel {
    /// The answer-time threshold.
    pub threshold_ms: Millis,
    /// The target share, 1-100.
    pub percent: u8,
}

impl Default for ServiceLevel {
    /// 80% in 20 s.
    fn default() -> Self {
        Self {
            threshold_ms: 20_000,
            percent: 80,
        }
    }
}

/// A queue's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// The queue's id.
    pub id: QueueId,
    /// Display name.
    pub name: String,
    /// Higher is served first.
    pub priority: u32,
    /// What an agent needs before any relaxation step applies.
    pub requirement: Requirement,
    /// Relaxation steps, by increasing `after_ms`.
    pub steps: Vec<RelaxStep>,
    /// Where contacts go after waiting long enough, if anywhere.
    pub overflow: Option<Overflow>,
    /// How eligible agents are ranked; the agent id breaks remaining ties.
    pub selection: Vec<SelectionRule>,
    /// The preferred agent ranks first only while the contact has waited
    /// less than this; `None` is no limit.
    pub preferred_window_ms: Option<Millis>,
    /// The service-level target statistics are measured against.
    pub service_level: ServiceLevel,
    /// Contacts the queue holds at most, waiting or offered; `None`: the
    /// engine's default ([`EngineConfig::default_max_waiting`](crate::EngineConfig::default_max_waiting)).
    /// A new contact for a full queue goes to its overflow queue if that
    /// has room, else the engine refuses it ([`Effect::Refused`](crate::Effect::Refused)).
    pub max_waiting: Option<u32>,
    /// Business hours; `None`: always open. While closed, the queue's
    /// contacts are not offered (see [`crate::engine`]'s module docs).
    pub hours: Option<Schedule>,
}

impl QueueSpec {
    /// A queue named after its id, priority 0, no requirement, the default
    /// selection order and an 80% in 20 s service-level target.
    pub fn new(id: impl Into<QueueId>) -> Self {
        let id = id.into();
        Self {
            name: id.to_string(),
            id,
            priority: 0,
            requirement: Requirement::any(),
            steps: Vec::new(),
            overflow: None,
            selection: SelectionRule::DEFAULT.to_vec(),
            preferred_window_ms: None,
            service_level: ServiceLevel::default(),
            max_waiting: None,
            hours: None,
        }
    }

    /// This spec open only by `hours`.
    pub fn with_hours(mut self, hours: Schedule) -> Self {
        self.hours = Some(hours);
        self
    }

    /// This spec holding at most `max` contacts, waiting or offered.
    pub fn with_max_waiting(mut self, max: u32) -> Self {
        self.max_waiting = Some(max);
        self
    }

    /// This spec with `priority`.
    pub fn with_priority(mut self, priority: u32) -> Self {
        self.priority = priority;
        self
    }

    /// This spec also requiring `skill` at `minimum` or better.
    pub fn with_requirement(mut self, skill: &str, minimum: u8) -> Self {
        self.requirement = self.requirement.and_minimum(skill, minimum);
        self
    }

    /// This spec requiring `requirement` (replacing the earlier one).
    pub fn with_expression(mut self, requirement: Requirement) -> Self {
        self.requirement = requirement;
        self
    }

    /// This spec with a relaxation step after `after_ms`.
    pub fn with_step(mut self, after_ms: Millis, requirement: Requirement) -> Self {
        self.steps.push(RelaxStep {
            after_ms,
            requirement,
        });
        self
    }

    /// This spec overflowing to `queue` after `after_ms`.
    pub fn with_overflow(mut self, after_ms: Millis, queue: impl Into<QueueId>) -> Self {
        self.overflow = Some(Overflow {
            after_ms,
            queue: queue.into(),
        });
        self
    }

    /// This spec ranking eligible agents by `rules`, in order.
    pub fn with_selection(mut self, rules: Vec<SelectionRule>) -> Self {
        self.selection = rules;
        self
    }

    /// This spec with a preferred-agent window.
    pub fn with_preferred_window(mut self, window_ms: Millis) -> Self {
        self.preferred_window_ms = Some(window_ms);
        self
    }

    /// This spec with a service-level target.
    pub fn with_service_level(mut self, percent: u8, threshold_ms: Millis) -> Self {
        self.service_level = ServiceLevel {
            threshold_ms,
            percent,
        };
        self
    }

    /// The requirement in force for a contact that has waited `waited_ms`,
    /// and its step number (0 before the first step).
    pub fn requirement_at(&self, waited_ms: Millis) -> (usize, &Requirement) {
        self.steps
            .iter()
            .enumerate()
            .rev()
            .find(|(_, s)| waited_ms >= s.after_ms)
            .map(|(i, s)| (i + 1, &s.requirement))
            .unwrap_or((0, &self.requirement))
    }

    /// Checks the spec on its own: steps strictly increasing and positive,
    /// overflow after the last step and not to itself, a sensible
    /// service-level target, no rule twice in the selection order.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.as_str().trim().is_empty() {
            return Err("queue id is empty".into());
        }
        if self.steps.len() > MAX_STEPS {
            return Err(format!("at most {MAX_STEPS} relaxation steps"));
        }
        let mut last = 0;
        for (i, step) in self.steps.iter().enumerate() {
            if step.after_ms <= last {
                return Err(format!(
                    "steps[{i}]: after {} ms must be later than {last} ms (the previous step)",
                    step.after_ms
                ));
            }
            last = step.after_ms;
        }
        if let Some(overflow) = &self.overflow {
            if overflow.after_ms <= 0 || overflow.after_ms < last {
                return Err(format!(
                    "overflow after {} ms must be positive and not before the last step ({last} ms)",
                    overflow.after_ms
                ));
            }
            if overflow.queue == self.id {
                return Err("overflow to the queue itself".into());
            }
        }
        if !(1..=100).contains(&self.service_level.percent) || self.service_level.threshold_ms <= 0
        {
            return Err(format!(
                "service level {}% in {} ms: the share must be 1-100 and the threshold positive",
                self.service_level.percent, self.service_level.threshold_ms
            ));
        }
        for (i, rule) in self.selection.iter().enumerate() {
            if self.selection[..i].contains(rule) {
                return Err(format!("selection rule {} listed twice", rule.as_str()));
            }
        }
        if self.preferred_window_ms.is_some_and(|w| w < 0) {
            return Err("preferred window is negative".into());
        }
        if let Some(hours) = &self.hours
            && hours.config().closed_overflow.as_deref() == Some(self.id.as_str())
        {
            return Err("hours.closed_overflow: overflow to the queue itself".into());
        }
        if self.max_waiting == Some(0) {
            return Err("max_waiting must be at least 1 (leave it out for the default)".into());
        }
        Ok(())
    }
}

/// Why a queue configuration could not become a [`QueueSpec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queues.{queue}: {field}: {message}")]
pub struct QueueConfigError {
    /// The queue's id.
    pub queue: String,
    /// The key at fault, e.g. `requirement` or `steps[1].requirement`.
    pub field: String,
    /// What is wrong, with the column for a requirement.
    pub message: String,
}

impl TryFrom<&QueueConfig> for QueueSpec {
    type Error = QueueConfigError;

    fn try_from(config: &QueueConfig) -> Result<Self, Self::Error> {
        let err = |field: &str, message: String| QueueConfigError {
            queue: config.id.clone(),
            field: field.to_owned(),
            message,
        };
        let legacy = Requirement::from_minimums(&config.skills);
        let requirement = match &config.requirement {
            None => legacy,
            Some(_) if !config.skills.is_empty() => {
                return Err(err(
                    "requirement",
                    "give either skills or requirement, not both".into(),
                ));
            }
            Some(text) => {
                Requirement::parse(text).map_err(|e| err("requirement", e.to_string()))?
            }
        };
        let mut spec = QueueSpec::new(config.id.as_str())
            .with_priority(config.priority)
            .with_expression(requirement);
        spec.name = config.name.clone().unwrap_or_else(|| config.id.clone());
        for (i, step) in config.steps.iter().enumerate() {
            let after_ms = secs_to_ms(step.after_secs);
            match (&step.requirement, &step.overflow) {
                (Some(text), None) => {
                    let requirement = Requirement::parse(text)
                        .map_err(|e| err(&format!("steps[{i}].requirement"), e.to_string()))?;
                    spec.steps.push(RelaxStep {
                        after_ms,
                        requirement,
                    });
                }
                (None, Some(queue)) if i + 1 == config.steps.len() => {
                    spec.overflow = Some(Overflow {
                        after_ms,
                        queue: QueueId::from(queue.as_str()),
                    });
                }
                (None, Some(_)) => {
                    return Err(err(
                        &format!("steps[{i}].overflow"),
                        "an overflow step must be the last step".into(),
                    ));
                }
                _ => {
                    return Err(err(
                        &format!("steps[{i}]"),
                        "a step has exactly one of requirement or overflow".into(),
                    ));
                }
            }
        }
        if let Some(rules) = &config.selection {
            spec.selection = rules
                .iter()
                .map(|r| {
                    SelectionRule::parse(r).ok_or_else(|| {
                        err(
                            "selection",
                            format!(
                                "unknown rule {r:?} (expected preferred, proficiency, occupancy or idle)"
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        spec.preferred_window_ms = config.preferred_window_secs.map(secs_to_ms);
        if let Some(sl) = &config.service_level {
            spec.service_level = ServiceLevel {
                threshold_ms: secs_to_ms(sl.threshold_secs),
                percent: sl.percent,
            };
        }
        spec.max_waiting = config.max_waiting.filter(|max| *max > 0);
        if let Some(hours) = &config.hours {
            spec.hours = Some(Schedule::parse(hours).map_err(|e| err(&e.field, e.message))?);
        }
        spec.validate().map_err(|m| err("steps", m))?;
        Ok(spec)
    }
}

fn secs_to_ms(secs: u64) -> Millis {
    Millis::try_from(secs.saturating_mul(1000)).unwrap_or(Millis::MAX)
}

/// Live statistics of one queue since the engine started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueStats {
    /// Contacts that entered the queue (arrived, overflowed or transferred in).
    pub entered: u64,
    /// Contacts accepted by an agent from this queue.
    pub answered: u64,
    /// Of those, answered within the service-level threshold (measured
    /// from the contact's queued time).
    pub answered_in_target: u64,
    /// Contacts released while waiting or offered (the customer left).
    pub abandoned: u64,
    /// Of those, abandoned after the service-level threshold.
    pub abandoned_after_target: u64,
    /// Contacts that overflowed to another queue.
    pub overflowed: u64,
    /// Contacts transferred out to another queue or agent.
    pub transferred: u64,
    /// New contacts refused because the queue (and its overflow queue) was
    /// full.
    pub refused: u64,
}

impl QueueStats {
    /// Share answered within the threshold, of those answered or abandoned
    /// after the threshold; `None` before any.
    pub fn service_level(&self) -> Option<f64> {
        let base = self.answered + self.abandoned_after_target;
        (base > 0).then(|| self.answered_in_target as f64 / base as f64)
    }
}

/// A relaxation step as a view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    /// When it applies.
    pub after_ms: Millis,
    /// Its requirement.
    pub requirement: Requirement,
    /// Contacts waiting under it now.
    pub waiting: u32,
}

/// A snapshot of one queue, for APIs and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueView {
    /// The queue's id.
    pub id: QueueId,
    /// Display name.
    pub name: String,
    /// Higher is served first.
    pub priority: u32,
    /// Contacts waiting for an offer (not counting offered or assigned ones).
    pub waiting: u32,
    /// Contacts offered to an agent, not yet answered.
    pub offered: u32,
    /// The bound on `waiting + offered` in force (the queue's own or the
    /// engine's default); `None`: unbounded.
    pub max_waiting: Option<u32>,
    /// How long the oldest waiting contact has waited; 0 when none waits.
    pub longest_wait_ms: Millis,
    /// The step in force for the oldest waiting contact, counted from 1
    /// (step 1 is the base requirement, step 2 the first of `steps`); 0
    /// when none waits.
    pub oldest_step: u32,
    /// The base requirement.
    pub requirement: Requirement,
    /// Contacts waiting under the base requirement now.
    pub waiting_base: u32,
    /// Relaxation steps and who waits under each.
    pub steps: Vec<StepView>,
    /// The overflow, if any.
    pub overflow: Option<Overflow>,
    /// The selection order.
    pub selection: Vec<SelectionRule>,
    /// The service-level target.
    pub service_level_target: ServiceLevel,
    /// Counters since start.
    pub stats: QueueStats,
    /// Share of capacity held among available agents who meet the base
    /// requirement: their assigned conversations plus live offers (an offer
    /// reserves its room until answered, as in
    /// [`AgentView::used`](crate::AgentView::used)), over
    /// their capacity; `None` when none is available.
    pub occupancy: Option<f64>,
}

impl QueueView {
    /// The requirement in force for a contact that has waited `waited_ms`,
    /// and its step number.
    pub fn requirement_at(&self, waited_ms: Millis) -> (usize, &Requirement) {
        self.steps
            .iter()
            .enumerate()
            .rev()
            .find(|(_, s)| waited_ms >= s.after_ms)
            .map(|(i, s)| (i + 1, &s.requirement))
            .unwrap_or((0, &self.requirement))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn base() -> QueueConfig {
        QueueConfig {
            id: "vip".into(),
            name: Some("VIP".into()),
            priority: 9,
            skills: BTreeMap::new(),
            requirement: None,
            steps: Vec::new(),
            selection: None,
            preferred_window_secs: None,
            service_level: None,
            max_waiting: None,
            wrapup_codes: Vec::new(),
            hours: None,
            bot: None,
            bot_fields: Vec::new(),
            survey: None,
            followup: None,
        }
    }

    #[test]
    fn legacy_skills_mean_and_of_minimums() {
        let config = QueueConfig {
            skills: BTreeMap::from([("sales".to_owned(), 5)]),
            ..base()
        };
        let spec = QueueSpec::try_from(&config).unwrap();
        assert_eq!(spec.name, "VIP");
        assert_eq!(spec.priority, 9);
        assert_eq!(spec.requirement.to_string(), "sales >= 5");
    }

    #[test]
    fn steps_overflow_and_errors_name_the_key_and_column() {
        use omni_core::config::QueueStepConfig;
        let step =
            |after_secs, requirement: Option<&str>, overflow: Option<&str>| QueueStepConfig {
                after_secs,
                requirement: requirement.map(Into::into),
                overflow: overflow.map(Into::into),
            };
        let config = QueueConfig {
            requirement: Some("billing >= 5 AND lang == \"es\"".into()),
            steps: vec![
                step(30, Some("billing >= 3"), None),
                step(90, Some("billing"), None),
                step(180, None, Some("support")),
            ],
            ..base()
        };
        let spec = QueueSpec::try_from(&config).unwrap();
        assert_eq!(spec.requirement_at(29_999).0, 0);
        assert_eq!(spec.requirement_at(30_000).1.to_string(), "billing >= 3");
        assert_eq!(spec.requirement_at(500_000).0, 2);
        assert_eq!(spec.overflow.as_ref().unwrap().after_ms, 180_000);

        let bad = QueueConfig {
            steps: vec![step(30, Some("billing >> 3"), None)],
            ..base()
        };
        assert_eq!(
            QueueSpec::try_from(&bad).unwrap_err().to_string(),
            "queues.vip: steps[0].requirement: column 10: unexpected \">\"; expected a level 0-10"
        );
        let unordered = QueueConfig {
            steps: vec![step(30, Some("a"), None), step(30, Some("b"), None)],
            ..base()
        };
        assert!(QueueSpec::try_from(&unordered).is_err());
        let early_overflow = QueueConfig {
            steps: vec![step(30, None, Some("x")), step(60, Some("b"), None)],
            ..base()
        };
        assert!(QueueSpec::try_from(&early_overflow).is_err());
    }
}
