//! The supervisor's wall: its page (`GET /wall`) and the JSON it reads.
//!
//! | route | what |
//! |---|---|
//! | `GET /wall` | the page |
//! | `GET /api/wall` | [`WallView`]: every queue and agent now, with today's numbers |
//! | `GET /api/wall/day` | [`DayView`]: today's intervals per queue, for the charts |
//! | `GET /api/wall/conversations/{id}/explain` | the router's decisions on a conversation ("why this agent") |
//!
//! Today's numbers are the router's stored counts (the same as the
//! `omni_queue_today` metric), so they survive a restart; averages are
//! computed here from the stored sums. Supervisors and admins only (the
//! router checks again: `ListQueues`, `ListAgents`, `QueueDay` and
//! `ExplainConversation` need a supervisor).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Json};
use omni_core::access::Actor;
use omni_proto::routing::{
    self as pb, ExplainRequest, ListAgentsRequest, ListQueuesRequest, QueueDayRequest,
};
use omni_proto::view::{AgentView, LoadView};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Desk;
use crate::access::Caller;
use crate::desk::{as_desk, traced};
use crate::error::DeskError;

const WALL_PAGE: &str = include_str!("../assets/wall.html");

/// `GET /wall`: the page (the gate has let a supervisor or admin in).
pub async fn page() -> Response {
    omni_web::page(WALL_PAGE)
}

/// Everything the wall shows now.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WallView {
    /// When the desk read it (ms since the epoch): the page counts waits
    /// up from here.
    pub now_ms: i64,
    /// Every queue.
    pub queues: Vec<QueueWall>,
    /// Every agent.
    pub agents: Vec<AgentWall>,
}

/// A queue on the wall.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueWall {
    /// Queue id.
    pub queue: String,
    /// Display name (the id when none).
    pub name: String,
    /// Contacts waiting for an offer.
    pub waiting: u32,
    /// Contacts offered, not yet answered.
    pub offered: u32,
    /// Since when the oldest waiting contact waits (ms since the epoch);
    /// `None` when none waits. The page counts the wait up itself.
    pub oldest_since_ms: Option<i64>,
    /// Service-level target: percent answered within `threshold_ms`.
    pub target_percent: u32,
    /// The target's threshold.
    pub threshold_ms: i64,
    /// Today's numbers.
    pub today: TodayView,
    /// Agents meeting the base requirement, by presence.
    pub agents: PresenceCounts,
    /// The base requirement (step 1) and each relaxation step, with the
    /// contacts waiting under it now.
    pub steps: Vec<StepWall>,
    /// Contacts waiting or offered, oldest first.
    pub contacts: Vec<ContactWall>,
    /// Business hours now; `None` for a queue without hours (always open).
    pub hours: Option<HoursWall>,
}

/// A queue's business hours now, by the router's clock.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HoursWall {
    /// Open now.
    pub open: bool,
    /// The schedule's IANA zone.
    pub zone: String,
    /// When it next opens (closed) or closes (open), ms since the epoch;
    /// `None` when not within the schedule's horizon.
    pub next_change_ms: Option<i64>,
    /// The holiday it is now in the queue's zone: its name, or `holiday`
    /// when it has none; `None` on other days.
    pub holiday: Option<String>,
    /// What the wall shows: `closed, opens Mon 09:00 Europe/Madrid`,
    /// `closed: Christmas Day, opens Mon 09:00 Europe/Madrid` on a holiday,
    /// `open until Mon 18:00 Europe/Madrid` (`closed` or `open` alone when
    /// no change is in sight).
    pub text: String,
}

impl From<&pb::QueueHours> for HoursWall {
    fn from(h: &pb::QueueHours) -> Self {
        let next = (h.next_change_ms > 0 && !h.next_change_local.is_empty())
            .then(|| format!("{} {}", h.next_change_local, h.zone));
        let holiday = (!h.holiday_date.is_empty()).then(|| match h.holiday_name.trim() {
            "" => "holiday".to_owned(),
            name => name.to_owned(),
        });
        let closed = match &holiday {
            Some(name) if !h.open => format!("closed: {name}"),
            _ => "closed".to_owned(),
        };
        let text = match (h.open, next) {
            (false, Some(at)) => format!("{closed}, opens {at}"),
            (true, Some(at)) => format!("open until {at}"),
            (false, None) => closed,
            (true, None) => "open".to_owned(),
        };
        Self {
            open: h.open,
            zone: h.zone.clone(),
            next_change_ms: (h.next_change_ms > 0).then_some(h.next_change_ms),
            holiday,
            text,
        }
    }
}

/// Today's numbers of a queue, every channel together.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TodayView {
    /// Contacts that entered the queue.
    pub offered: u64,
    /// Answered by an agent.
    pub answered: u64,
    /// Of those, within the target's threshold.
    pub answered_within_target: u64,
    /// Left (or closed) while waiting or offered.
    pub abandoned: u64,
    /// Moved to another queue or agent.
    pub transferred: u64,
    /// Moved on by overflow.
    pub overflowed: u64,
    /// Answered within target over answered plus abandoned after target, 0-1.
    pub service_level: Option<f64>,
    /// Average wait of the answered contacts, ms.
    pub average_speed_of_answer_ms: Option<u64>,
    /// Average accept-to-resolve time, ms.
    pub average_handle_ms: Option<u64>,
    /// Average customer's-first-message-to-first-reply time, ms.
    pub average_first_response_ms: Option<u64>,
}

/// Agents by presence.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct PresenceCounts {
    /// Available, holding nothing.
    pub available: u32,
    /// Available, holding a conversation or an offer.
    pub busy: u32,
    /// Away.
    pub away: u32,
}

/// A step of a queue: who may take a contact once it waited `after_ms`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StepWall {
    /// Counted from 1 (the base requirement).
    pub step: u32,
    /// When it applies.
    pub after_ms: i64,
    /// Its requirement (empty: anyone).
    pub requirement: String,
    /// Contacts waiting under it now.
    pub waiting: u32,
}

/// A contact waiting or offered.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContactWall {
    /// Conversation id.
    pub conversation_id: String,
    /// Channel.
    pub channel: String,
    /// Since when it waits (its routing age).
    pub queued_at_ms: i64,
    /// The step in force.
    pub step: u32,
    /// The agent it is offered to, if offered.
    pub offered_to: Option<String>,
    /// The intent of the customer's latest message, if known
    /// ([`crate::wall_cx`]).
    pub intent: Option<String>,
    /// Its sentiment label (`negative`, `neutral`, `positive`), if known.
    pub sentiment: Option<String>,
    /// Its language (ISO 639-1), if known.
    pub lang: Option<String>,
}

/// An agent on the wall.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgentWall {
    /// Agent id.
    pub agent_id: String,
    /// Display name.
    pub name: String,
    /// `available`, `away` or `offline`.
    pub presence: &'static str,
    /// Why away, if said.
    pub away_reason: Option<String>,
    /// Since when in this presence (ms since the epoch).
    pub state_since_ms: i64,
    /// Load per channel against capacity.
    pub load: Vec<LoadView>,
    /// Conversations held.
    pub assigned: Vec<String>,
    /// Live offers' conversations.
    pub offered: Vec<String>,
    /// Offers declined or timed out today.
    pub offers_missed_today: u32,
}

fn average(sum: u64, count: u64) -> Option<u64> {
    (count > 0).then(|| sum / count)
}

impl From<&pb::QueueToday> for TodayView {
    fn from(t: &pb::QueueToday) -> Self {
        Self {
            offered: t.offered,
            answered: t.answered,
            answered_within_target: t.answered_within_target,
            abandoned: t.abandoned,
            transferred: t.transferred,
            overflowed: t.overflowed,
            service_level: t.service_level,
            average_speed_of_answer_ms: average(t.answer_wait_ms, t.answered),
            average_handle_ms: average(t.handle_ms, t.handled),
            average_first_response_ms: average(t.first_response_ms, t.first_responses),
        }
    }
}

impl QueueWall {
    /// The wall's view of `q`, read at `now_ms`.
    pub fn new(q: &pb::QueueState, now_ms: i64) -> Self {
        let target = q.service_level_target.unwrap_or_default();
        let base = StepWall {
            step: 1,
            after_ms: 0,
            requirement: q.requirement.clone(),
            waiting: q.waiting_base,
        };
        let relaxed = q.steps.iter().enumerate().map(|(i, s)| StepWall {
            step: i as u32 + 2,
            after_ms: s.after_ms,
            requirement: s.requirement.clone(),
            waiting: s.waiting,
        });
        Self {
            queue: q.queue.clone(),
            name: if q.name.is_empty() {
                q.queue.clone()
            } else {
                q.name.clone()
            },
            waiting: q.waiting,
            offered: q.offered,
            oldest_since_ms: (q.waiting > 0).then(|| now_ms - q.longest_wait_ms),
            target_percent: target.percent,
            threshold_ms: target.threshold_ms,
            today: q.today.as_ref().map(TodayView::from).unwrap_or_default(),
            agents: PresenceCounts {
                available: q.agents_available,
                busy: q.agents_busy,
                away: q.agents_away,
            },
            steps: std::iter::once(base).chain(relaxed).collect(),
            contacts: q
                .contacts
                .iter()
                .map(|c| ContactWall {
                    conversation_id: c.conversation_id.clone(),
                    channel: c.channel_name.clone(),
                    queued_at_ms: c.queued_at_ms,
                    step: c.step,
                    offered_to: (!c.offered_to.is_empty()).then(|| c.offered_to.clone()),
                    intent: None,
                    sentiment: None,
                    lang: None,
                })
                .collect(),
            hours: q.hours.as_ref().map(HoursWall::from),
        }
    }
}

impl From<&pb::AgentState> for AgentWall {
    fn from(a: &pb::AgentState) -> Self {
        let view = AgentView::from(a);
        Self {
            agent_id: view.agent_id,
            name: view.name,
            presence: view.presence,
            away_reason: view.away_reason,
            state_since_ms: a.state_since_ms,
            load: view.load,
            assigned: view.assigned,
            offered: a.offers.iter().map(|o| o.conversation_id.clone()).collect(),
            offers_missed_today: a.offers_missed_today,
        }
    }
}

/// Today in intervals, as the charts draw it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DayView {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// When the day began (ms since the epoch).
    pub day_start_ms: i64,
    /// Length of an interval, ms.
    pub interval_ms: i64,
    /// Per queue.
    pub queues: Vec<QueueDayView>,
}

/// One queue's day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueDayView {
    /// Queue id.
    pub queue: String,
    /// The intervals with anything counted, in order.
    pub intervals: Vec<IntervalView>,
}

/// One interval of a queue's day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IntervalView {
    /// Its index in the day.
    pub index: u32,
    /// Contacts that entered the queue.
    pub arrivals: u64,
    /// Contacts answered.
    pub answered: u64,
    /// Service level of the interval, 0-1 (none without an answer or a
    /// late abandon).
    pub service_level: Option<f64>,
    /// Average contacts waiting over the interval (so far, for the current
    /// one).
    pub depth: f64,
}

impl DayView {
    /// The charts' view of `day`, read at `now_ms`.
    pub fn new(day: &pb::QueueDayResponse, now_ms: i64) -> Self {
        let interval = day.interval_ms.max(1);
        Self {
            day: day.day.clone(),
            day_start_ms: day.day_start_ms,
            interval_ms: day.interval_ms,
            queues: day
                .queues
                .iter()
                .map(|q| QueueDayView {
                    queue: q.queue.clone(),
                    intervals: q
                        .intervals
                        .iter()
                        .map(|i| {
                            let start = day.day_start_ms + i64::from(i.index) * interval;
                            // The current interval has lasted only until now.
                            let lasted = (now_ms - start).clamp(1, interval);
                            let judged = i.answered + i.abandoned_after_target;
                            IntervalView {
                                index: i.index,
                                arrivals: i.arrivals,
                                answered: i.answered,
                                service_level: (judged > 0)
                                    .then(|| i.answered_within_target as f64 / judged as f64),
                                depth: i.waiting_ms as f64 / lasted as f64,
                            }
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Everything the wall shows now, read from the router for `actor` (`None`:
/// as the desk itself).
pub async fn read_wall(desk: &Desk, actor: Option<&Actor>) -> Result<WallView, DeskError> {
    let mut router = desk.router();
    let queues = router
        .list_queues(for_actor(actor, ListQueuesRequest {}))
        .await?
        .into_inner()
        .queues;
    let agents = router
        .list_agents(for_actor(actor, ListAgentsRequest {}))
        .await?
        .into_inner()
        .agents;
    let now = omni_core::time::now_ms();
    let mut queues: Vec<QueueWall> = queues.iter().map(|q| QueueWall::new(q, now)).collect();
    crate::wall_cx::add_facts(desk, actor, &mut queues).await;
    Ok(WallView {
        now_ms: now,
        queues,
        agents: agents.iter().map(AgentWall::from).collect(),
    })
}

/// Today's intervals, read from the router for `actor` (`None`: as the
/// desk itself).
pub async fn read_day(desk: &Desk, actor: Option<&Actor>) -> Result<DayView, DeskError> {
    let day = desk
        .router()
        .queue_day(for_actor(actor, QueueDayRequest {}))
        .await?
        .into_inner();
    Ok(DayView::new(&day, omni_core::time::now_ms()))
}

/// A request made for `actor`, or as the desk itself (the walls' shared
/// poller, [`crate::wall_feed`]).
pub(crate) fn for_actor<T>(actor: Option<&Actor>, message: T) -> tonic::Request<T> {
    match actor {
        Some(actor) => traced(actor, message),
        None => as_desk(message),
    }
}

/// `GET /api/wall`.
pub async fn wall(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<WallView>, DeskError> {
    Ok(Json(read_wall(&desk, Some(&caller.actor)).await?))
}

/// `GET /api/wall/day`.
pub async fn day(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<DayView>, DeskError> {
    Ok(Json(read_day(&desk, Some(&caller.actor)).await?))
}

/// `GET /api/wall/conversations/{id}/explain`: the router's decisions on
/// a conversation, newest first.
pub async fn explain(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, DeskError> {
    let decisions = desk
        .router()
        .explain_conversation(traced(
            &caller.actor,
            ExplainRequest {
                conversation_id: id.clone(),
            },
        ))
        .await?
        .into_inner()
        .decisions;
    let decisions: Vec<Value> = decisions
        .iter()
        .map(|d| {
            json!({
                "at_ms": d.at_ms,
                "kind": d.kind,
                "summary": d.summary,
                "agent_id": (!d.agent_id.is_empty()).then_some(&d.agent_id),
                "eligible": d.eligible,
                "rule": (!d.rule.is_empty()).then_some(&d.rule),
                "score": d.score,
                "step": d.step,
            })
        })
        .collect();
    Ok(Json(
        json!({ "conversation_id": id, "decisions": decisions }),
    ))
}

#[cfg(test)]
#[path = "wall_tests.rs"]
mod tests;
