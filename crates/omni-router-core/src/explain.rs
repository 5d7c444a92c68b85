//! The decision log: why the engine did what it did, per conversation.
//!
//! Records are kept compact and structured while the engine runs (agents
//! and queues by slot, no text) and rendered into [`DecisionRecord`]s when
//! read. Memory stays bounded: each conversation keeps its last
//! [`MAX_RECORDS_PER_CONVERSATION`] records, and the logs of released
//! conversations are kept for the last [`MAX_RELEASED_CONVERSATIONS`]
//! releases only.

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};

use crate::hasher::FxMap;
use crate::offer::RescindReason;
use crate::select::{Scores, SelectionRule};

/// Records kept per conversation; older ones are dropped.
pub const MAX_RECORDS_PER_CONVERSATION: usize = 32;

/// Released conversations whose log is kept; the oldest releases are
/// forgotten first.
pub const MAX_RELEASED_CONVERSATIONS: usize = 10_000;

/// One decision about a conversation, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    /// When it was made.
    pub at_ms: Millis,
    /// What was decided and why, e.g. `offered to alice (step 1, score 9):
    /// 3 of 5 agents eligible; won on proficiency (9 vs 5 for bob)`.
    pub summary: String,
    /// `queued`, `offered`, `rescinded`, `assigned`, `released`, `step`,
    /// `overflowed`, `transferred`, `channel_changed` or `priority_raised`.
    pub kind: &'static str,
    /// The agent concerned, if any.
    pub agent: Option<AgentId>,
    /// For an offer: how many agents were eligible.
    pub eligible: Option<u32>,
    /// For an offer: the rule that put the winner ahead of the runner-up
    /// (`preferred`, `proficiency`, `occupancy`, `idle`, `agent_id`, or
    /// `only_eligible`).
    pub rule: Option<String>,
    /// The step in force, counted from 1: step 1 is the base requirement,
    /// step 2 the queue's first relaxation step, and so on.
    pub step: Option<u32>,
    /// For an offer: the winner's score over the requirement's skills.
    pub score: Option<u32>,
}

/// A decision as the engine keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rec {
    pub(crate) at_ms: Millis,
    pub(crate) what: What,
}

/// An offer decision, boxed to keep [`Rec`] small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OfferRec {
    pub(crate) agent: u32,
    pub(crate) step: u8,
    pub(crate) eligible: u32,
    pub(crate) winner: Scores,
    pub(crate) runner_up: Option<(u32, Scores)>,
    /// The deciding rule; `None` with a runner-up means the agent id.
    pub(crate) rule: Option<SelectionRule>,
    /// The contact's preferred agent, when it was not the winner.
    pub(crate) preferred_passed: Option<u32>,
    /// Agents configured when the decision was made.
    pub(crate) agents_total: u32,
    /// A direct transfer to this agent, not a selection.
    pub(crate) direct: bool,
}

/// [`What::Rescinded`] without a cooldown.
pub(crate) const NO_COOLDOWN: Millis = Millis::MIN;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum What {
    Queued {
        queue: u32,
        priority: u32,
        /// The contact's own priority in the queue (routing rules).
        contact_priority: u8,
        restored: bool,
    },
    RestoredAssigned {
        agent: u32,
    },
    Offered(Box<OfferRec>),
    Rescinded {
        agent: u32,
        reason: RescindReason,
        /// [`NO_COOLDOWN`] when the agent is not excluded (a plain time
        /// keeps the record at 24 bytes).
        cooldown_until: Millis,
    },
    Assigned {
        agent: u32,
        offer_seq: u64,
    },
    Released {
        was: ReleasedWhile,
    },
    Step {
        queue: u32,
        step: u8,
    },
    Overflowed {
        from: u32,
        to: u32,
    },
    TransferredToQueue {
        from: u32,
        to: u32,
    },
    TransferredToAgent {
        agent: u32,
    },
    ChannelChanged {
        from: Channel,
        to: Channel,
        /// The agent keeping the conversation, when it is assigned.
        kept_by: Option<u32>,
        /// Whether that agent is now beyond its capacity on `to`.
        over_capacity: bool,
    },
    /// A later message raised the contact's priority.
    PriorityRaised {
        from: u8,
        to: u8,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReleasedWhile {
    Waiting,
    Offered(u32),
    Assigned(u32),
}

/// Names for rendering: agent and queue slots to ids, offer ids.
pub(crate) trait Names {
    fn agent(&self, slot: u32) -> &AgentId;
    fn queue(&self, slot: u32) -> &QueueId;
    fn offer_id(&self, seq: u64) -> String;
}

impl Rec {
    pub(crate) fn render(&self, names: &impl Names) -> DecisionRecord {
        let mut out = DecisionRecord {
            at_ms: self.at_ms,
            summary: String::new(),
            kind: "",
            agent: None,
            eligible: None,
            rule: None,
            step: None,
            score: None,
        };
        match &self.what {
            What::Queued {
                queue,
                priority,
                contact_priority,
                restored,
            } => {
                let verb = if *restored {
                    "restored to"
                } else {
                    "queued in"
                };
                out.kind = "queued";
                out.summary = if *contact_priority > 0 {
                    format!(
                        "{verb} {} (priority {priority}, contact priority {contact_priority})",
                        names.queue(*queue)
                    )
                } else {
                    format!("{verb} {} (priority {priority})", names.queue(*queue))
                };
            }
            What::RestoredAssigned { agent } => {
                out.kind = "assigned";
                out.agent = Some(names.agent(*agent).clone());
                out.summary = format!("restored as assigned to {}", names.agent(*agent));
            }
            What::Offered(o) => {
                let winner = names.agent(o.agent);
                out.kind = "offered";
                out.agent = Some(winner.clone());
                out.eligible = Some(o.eligible);
                out.step = Some(shown_step(o.step));
                out.score = Some(o.winner.score);
                if o.direct {
                    out.rule = Some("transfer".into());
                    out.summary = format!("offered to {winner} by transfer");
                } else {
                    let (rule, why) = match &o.runner_up {
                        None => ("only_eligible".to_owned(), "only eligible agent".to_owned()),
                        Some((r, rs)) => {
                            let r = names.agent(*r);
                            let w = &o.winner;
                            match o.rule {
                                None => (
                                    "agent_id".into(),
                                    format!("won on agent id (tied with {r})"),
                                ),
                                Some(SelectionRule::Preferred) => {
                                    ("preferred".into(), "won as preferred agent".into())
                                }
                                Some(SelectionRule::Proficiency) => (
                                    "proficiency".into(),
                                    format!(
                                        "won on proficiency ({} vs {} for {r})",
                                        w.score, rs.score
                                    ),
                                ),
                                Some(SelectionRule::Occupancy) => (
                                    "occupancy".into(),
                                    format!(
                                        "won on occupancy ({}/{} vs {}/{} for {r})",
                                        w.occupied, w.capacity, rs.occupied, rs.capacity
                                    ),
                                ),
                                Some(SelectionRule::Idle) => (
                                    "idle".into(),
                                    format!(
                                        "won on idle time ({} vs {} for {r})",
                                        idle(w.last_assigned_ms),
                                        idle(rs.last_assigned_ms)
                                    ),
                                ),
                            }
                        }
                    };
                    let preferred = o
                        .preferred_passed
                        .map(|p| format!("; preferred agent {} not eligible", names.agent(p)))
                        .unwrap_or_default();
                    out.summary = format!(
                        "offered to {winner} (step {}, score {}): {} of {} agents eligible; {why}{preferred}",
                        shown_step(o.step),
                        o.winner.score,
                        o.eligible,
                        o.agents_total
                    );
                    out.rule = Some(rule);
                }
            }
            What::Rescinded {
                agent,
                reason,
                cooldown_until,
            } => {
                let a = names.agent(*agent);
                out.kind = "rescinded";
                out.agent = Some(a.clone());
                let what = match reason {
                    RescindReason::Declined => format!("declined by {a}"),
                    RescindReason::Timeout => format!("offer to {a} timed out"),
                    RescindReason::AgentUnavailable => {
                        format!("offer to {a} rescinded: agent unavailable")
                    }
                    RescindReason::Released => format!("offer to {a} rescinded"),
                    RescindReason::Transferred => format!("offer to {a} rescinded by a transfer"),
                    RescindReason::ChannelChanged => {
                        format!("offer to {a} rescinded: the customer changed channel")
                    }
                };
                let cooldown = if *cooldown_until == NO_COOLDOWN {
                    String::new()
                } else {
                    format!(" ({a} excluded until {cooldown_until})")
                };
                out.summary = format!("{what}; back in queue at original age{cooldown}");
            }
            What::Assigned { agent, offer_seq } => {
                let a = names.agent(*agent);
                out.kind = "assigned";
                out.agent = Some(a.clone());
                out.summary = format!("assigned to {a} (accepted {})", names.offer_id(*offer_seq));
            }
            What::Released { was } => {
                out.kind = "released";
                out.summary = match was {
                    ReleasedWhile::Waiting => "released while waiting".to_owned(),
                    ReleasedWhile::Offered(a) => {
                        out.agent = Some(names.agent(*a).clone());
                        format!("released while offered to {}", names.agent(*a))
                    }
                    ReleasedWhile::Assigned(a) => {
                        out.agent = Some(names.agent(*a).clone());
                        format!("released by {}", names.agent(*a))
                    }
                };
            }
            What::Step { queue, step } => {
                out.kind = "step";
                out.step = Some(shown_step(*step));
                out.summary = format!(
                    "step {} of {} now in force",
                    shown_step(*step),
                    names.queue(*queue)
                );
            }
            What::Overflowed { from, to } => {
                out.kind = "overflowed";
                out.summary = format!(
                    "overflowed from {} to {} at original age",
                    names.queue(*from),
                    names.queue(*to)
                );
            }
            What::TransferredToQueue { from, to } => {
                out.kind = "transferred";
                out.summary = format!(
                    "transferred from {} to queue {}; waits from now",
                    names.queue(*from),
                    names.queue(*to)
                );
            }
            What::TransferredToAgent { agent } => {
                out.kind = "transferred";
                out.agent = Some(names.agent(*agent).clone());
                out.summary = format!("transferred to agent {}", names.agent(*agent));
            }
            What::ChannelChanged {
                from,
                to,
                kept_by,
                over_capacity,
            } => {
                out.kind = "channel_changed";
                out.summary = match kept_by {
                    None => format!("channel changed from {from} to {to}"),
                    Some(a) => {
                        let a = names.agent(*a);
                        out.agent = Some(a.clone());
                        let room = if *over_capacity {
                            format!("; {a} has no room on {to} but keeps it (continuity first)")
                        } else {
                            String::new()
                        };
                        format!(
                            "channel changed from {from} to {to}: stays with {a}, counted on {to}{room}"
                        )
                    }
                };
            }
            What::PriorityRaised { from, to } => {
                out.kind = "priority_raised";
                out.summary = format!("contact priority raised from {from} to {to}");
            }
        }
        out
    }
}

/// A step as users count it: from 1, the base requirement being step 1
/// (the engine counts from 0).
pub(crate) fn shown_step(step: u8) -> u32 {
    u32::from(step) + 1
}

fn idle(last_assigned_ms: Option<Millis>) -> String {
    match last_assigned_ms {
        None => "never assigned".to_owned(),
        Some(at) => format!("last assigned at {at}"),
    }
}

/// Appends a record, dropping the oldest beyond the bound.
pub(crate) fn push(log: &mut Vec<Rec>, rec: Rec) {
    if log.len() >= MAX_RECORDS_PER_CONVERSATION {
        log.remove(0);
    }
    log.push(rec);
}

/// Logs of released conversations, bounded: a ring of the last
/// [`MAX_RELEASED_CONVERSATIONS`] releases, found by the id's hash.
///
/// Two ids with the same 64-bit hash would make the older log unreachable
/// (it only loses an explanation); the ids are compared on every lookup, so
/// a log is never given for the wrong conversation.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReleasedLogs {
    ring: Vec<(IdText, Vec<Rec>)>,
    /// The id hash of each ring entry, so that forgetting one need not
    /// read its (long cold) id again.
    hashes: Vec<u64>,
    /// Where the next release goes once the ring is full.
    next: usize,
    by_hash: FxMap<u64, u32>,
}

impl ReleasedLogs {
    /// Keeps the log of a released conversation, forgetting the oldest
    /// release when full.
    pub(crate) fn keep(&mut self, id: ConversationId, log: Vec<Rec>) {
        let hash = id_hash(&id);
        let at = if self.ring.len() < MAX_RELEASED_CONVERSATIONS {
            self.ring.push((IdText::new(id), log));
            self.hashes.push(hash);
            self.ring.len() - 1
        } else {
            let at = self.next;
            self.next = (self.next + 1) % MAX_RELEASED_CONVERSATIONS;
            self.ring[at] = (IdText::new(id), log);
            let old_hash = std::mem::replace(&mut self.hashes[at], hash);
            if self.by_hash.get(&old_hash) == Some(&(at as u32)) {
                self.by_hash.remove(&old_hash);
            }
            at
        };
        self.by_hash.insert(hash, at as u32);
    }

    fn position(&self, id: &ConversationId) -> Option<usize> {
        let at = *self.by_hash.get(&id_hash(id))? as usize;
        self.ring.get(at)?.0.is(id).then_some(at)
    }

    /// Takes back the log of a conversation routed again.
    pub(crate) fn reopen(&mut self, id: &ConversationId) -> Vec<Rec> {
        if self.by_hash.is_empty() {
            return Vec::new();
        }
        let hash = id_hash(id);
        let Some(at) = self.by_hash.get(&hash).map(|at| *at as usize) else {
            return Vec::new();
        };
        if self.ring.get(at).is_none_or(|(x, _)| !x.is(id)) {
            return Vec::new();
        }
        self.by_hash.remove(&hash);
        std::mem::take(&mut self.ring[at].1)
    }

    pub(crate) fn get(&self, id: &ConversationId) -> Option<&[Rec]> {
        self.position(id).map(|at| self.ring[at].1.as_slice())
    }
}

/// A released conversation's id, its text inline when it fits (generated
/// ids do): forgetting the release then touches no other memory, where a
/// shared id would be a cold reference count to drop.
#[derive(Debug, Clone)]
enum IdText {
    Short { len: u8, bytes: [u8; SHORT_ID] },
    Long(ConversationId),
}

const SHORT_ID: usize = 46;

impl IdText {
    fn new(id: ConversationId) -> Self {
        let text = id.as_str().as_bytes();
        if text.len() > SHORT_ID {
            return IdText::Long(id);
        }
        let mut bytes = [0; SHORT_ID];
        bytes[..text.len()].copy_from_slice(text);
        IdText::Short {
            len: text.len() as u8,
            bytes,
        }
    }

    fn is(&self, id: &ConversationId) -> bool {
        match self {
            IdText::Short { len, bytes } => &bytes[..usize::from(*len)] == id.as_str().as_bytes(),
            IdText::Long(long) => long == id,
        }
    }
}

/// The hash the engine finds conversations by.
pub(crate) fn id_hash(id: &ConversationId) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = crate::hasher::FxBuild.build_hasher();
    hasher.write(id.as_str().as_bytes());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: i64) -> Rec {
        Rec {
            at_ms: i,
            what: What::Released {
                was: ReleasedWhile::Waiting,
            },
        }
    }

    #[test]
    fn keeps_the_newest_records() {
        let mut log = Vec::new();
        for i in 0..40 {
            push(&mut log, rec(i));
        }
        assert_eq!(log.len(), MAX_RECORDS_PER_CONVERSATION);
        assert_eq!(log[0].at_ms, 8);
        assert_eq!(log[MAX_RECORDS_PER_CONVERSATION - 1].at_ms, 39);
    }

    #[test]
    fn records_stay_small() {
        assert!(
            std::mem::size_of::<Rec>() <= 24,
            "{}",
            std::mem::size_of::<Rec>()
        );
    }

    #[test]
    fn forgets_the_oldest_release_and_gives_back_reopened_logs() {
        let mut logs = ReleasedLogs::default();
        logs.keep("a".into(), vec![rec(1)]);
        assert_eq!(logs.reopen(&"a".into()).len(), 1);
        assert!(logs.get(&"a".into()).is_none());
        for i in 0..=MAX_RELEASED_CONVERSATIONS {
            logs.keep(format!("c{i}").into(), vec![rec(0)]);
        }
        assert!(logs.get(&"c0".into()).is_none(), "oldest forgotten");
        assert!(logs.get(&"c1".into()).is_some());
        // Ids too long to keep inline, and ids that share a prefix.
        let long: ConversationId = "x".repeat(SHORT_ID + 5).into();
        let short: ConversationId = "x".repeat(SHORT_ID).into();
        logs.keep(long.clone(), vec![rec(5), rec(6)]);
        logs.keep(short.clone(), vec![rec(7)]);
        assert_eq!(logs.get(&long).map(<[Rec]>::len), Some(2));
        assert_eq!(logs.get(&short).map(<[Rec]>::len), Some(1));
        assert!(logs.get(&"x".repeat(SHORT_ID - 1).into()).is_none());
        assert_eq!(logs.reopen(&long).len(), 2);
    }
}
