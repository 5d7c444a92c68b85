//! Checks for the router's recoverable state and the open conversations it
//! rebuilds from.

use std::collections::BTreeMap;

use omni_core::config::{
    AgentConfig, HolidayConfig, HoursConfig, QueueConfig, QueueStepConfig, ServiceLevelConfig,
};
use omni_core::{AgentId, Channel, ConversationId, ConversationStatus, CustomerId};

use super::{POLICY, StoreFactory, T0, Tag, contact, inbound, open, presence, queue, step};
use crate::{ContextStore, DayCount, RouterStore};

/// Contacts and presence are upserted, removed and listed, and survive a restart.
pub async fn router_state_round_trips<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let customer = CustomerId::generate();
    let c1 = ConversationId::from(format!("con_1_{}", t.0));
    let c2 = ConversationId::from(format!("con_2_{}", t.0));
    let agent = AgentId::from(format!("agt_{}", t.0));

    let mut first = contact(&t, &c1, &customer);
    let second = contact(&t, &c2, &customer);
    step("put_contact", store.put_contact(&first)).await;
    step("put_contact", store.put_contact(&second)).await;
    first.assigned_agent = Some(agent.clone());
    first.preferred_agent = None;
    first.priority = 5;
    first.reasons = vec!["priority 5 by rule angry: sentiment -0.82".into()];
    step("put_contact again", store.put_contact(&first)).await;
    step("remove_contact", store.remove_contact(&c2)).await;
    step("remove_contact twice", store.remove_contact(&c2)).await;

    step(
        "put_presence",
        store.put_presence(&presence(&agent, "available", T0)),
    )
    .await;
    let mut away = presence(&agent, "away", T0 + 1_000);
    away.reason = Some("missed offers".into());
    step("put_presence again", store.put_presence(&away)).await;

    for round in ["before restart", "after restart"] {
        let contacts = step("contacts", store.contacts()).await;
        let mine: Vec<_> = contacts
            .iter()
            .filter(|c| c.conversation_id == c1 || c.conversation_id == c2)
            .collect();
        assert_eq!(
            mine,
            vec![&first],
            "{round}: the replaced contact, once; the removed one gone"
        );
        let presences = step("presences", store.presences()).await;
        let mine: Vec<_> = presences.iter().filter(|p| p.agent_id == agent).collect();
        assert_eq!(mine, vec![&away], "{round}: the latest presence, once");
    }
    drop(store);
    let store = open(factory).await;
    let contacts = step("contacts after restart", store.contacts()).await;
    assert!(contacts.contains(&first) && !contacts.iter().any(|c| c.conversation_id == c2));
    let presences = step("presences after restart", store.presences()).await;
    assert_eq!(
        presences
            .iter()
            .filter(|p| p.agent_id == agent)
            .collect::<Vec<_>>(),
        vec![&away]
    );
}

/// Agents and queues set through the administration API are upserted,
/// listed once each, and survive a restart.
pub async fn router_admin_config_round_trips<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let mut agent = AgentConfig {
        id: format!("agt_{}", t.0),
        name: Some("Zoe".into()),
        skills: BTreeMap::from([("billing".to_owned(), 7)]),
        languages: vec!["es".into()],
        capacity: BTreeMap::from([(Channel::CHAT, 2)]),
        total: None,
    };
    let mut queue = QueueConfig {
        id: format!("que_{}", t.0),
        name: None,
        priority: 3,
        skills: BTreeMap::new(),
        requirement: Some("billing >= 5 AND lang == \"es\"".into()),
        steps: vec![QueueStepConfig {
            after_secs: 30,
            requirement: Some("billing".into()),
            overflow: None,
        }],
        selection: Some(vec!["idle".into()]),
        preferred_window_secs: Some(60),
        service_level: Some(ServiceLevelConfig {
            percent: 90,
            threshold_secs: 15,
        }),
        max_waiting: Some(50),
        wrapup_codes: vec!["sold".into(), "no_sale".into()],
        hours: Some(HoursConfig {
            zone: "Europe/Madrid".into(),
            weekly: BTreeMap::from([("mon".into(), vec!["09:00-18:00".into()])]),
            holidays: vec![HolidayConfig {
                date: "2026-12-25".into(),
                name: Some("Christmas Day".into()),
            }],
            closed_overflow: None,
            closed_bot: None,
            closed_reply: BTreeMap::from([("es".into(), "Abrimos {opens_at}.".into())]),
        }),
        bot: None,
        bot_fields: Vec::new(),
        survey: None,
        followup: None,
    };
    step("put_agent_config", store.put_agent_config(&agent)).await;
    step("put_queue_config", store.put_queue_config(&queue)).await;
    agent.total = Some(3);
    queue.priority = 4;
    step("put_agent_config again", store.put_agent_config(&agent)).await;
    step("put_queue_config again", store.put_queue_config(&queue)).await;
    check_admin(&*store, &agent, &queue, "before restart").await;
    drop(store);
    let store = open(factory).await;
    check_admin(&*store, &agent, &queue, "after restart").await;
}

async fn check_admin<S: RouterStore + ?Sized>(
    store: &S,
    agent: &AgentConfig,
    queue: &QueueConfig,
    round: &str,
) {
    let agents = step("agent_configs", store.agent_configs()).await;
    let mine: Vec<_> = agents.iter().filter(|a| a.id == agent.id).collect();
    assert_eq!(mine, vec![agent], "{round}: the latest agent, once");
    let queues = step("queue_configs", store.queue_configs()).await;
    let mine: Vec<_> = queues.iter().filter(|q| q.id == queue.id).collect();
    assert_eq!(mine, vec![queue], "{round}: the latest queue, once");
}

/// `open_conversations` lists queued and assigned conversations in their
/// current state, and not resolved ones until they reopen.
pub async fn open_conversations_exclude_resolved<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let agent = AgentId::from(format!("agt_{}", t.0));
    let queue = queue();

    let queued = step(
        "ingest",
        store.ingest(&inbound(&t.chat("q"), &t.key("q"), "q", T0), &queue, POLICY),
    )
    .await;
    let assigned = step(
        "ingest",
        store.ingest(&inbound(&t.chat("a"), &t.key("a"), "a", T0), &queue, POLICY),
    )
    .await;
    let resolved_who = t.chat("r");
    let resolved = step(
        "ingest",
        store.ingest(
            &inbound(&resolved_who, &t.key("r"), "r", T0),
            &queue,
            POLICY,
        ),
    )
    .await;
    let assigned_now = step(
        "assign",
        store.assign(&assigned.conversation.id, &agent, T0 + 1),
    )
    .await;
    step("resolve", store.resolve(&resolved.conversation.id, T0 + 2)).await;

    let open = step("open_conversations", store.open_conversations()).await;
    let find = |id: &ConversationId| open.iter().find(|c| &c.id == id).cloned();
    assert_eq!(
        find(&queued.conversation.id),
        Some(queued.conversation.clone())
    );
    assert_eq!(
        find(&assigned.conversation.id),
        Some(assigned_now),
        "listed in its current state"
    );
    assert_eq!(
        find(&resolved.conversation.id),
        None,
        "a resolved conversation is not open"
    );
    assert!(
        open.iter()
            .all(|c| c.status != ConversationStatus::Resolved)
    );

    step(
        "reopen",
        store.ingest(
            &inbound(&resolved_who, &t.key("r2"), "r2", T0 + 3),
            &queue,
            POLICY,
        ),
    )
    .await;
    let open = step("open_conversations", store.open_conversations()).await;
    let reopened = open.iter().find(|c| c.id == resolved.conversation.id);
    assert_eq!(
        reopened.map(|c| c.status),
        Some(ConversationStatus::Queued),
        "a reopened conversation is open again"
    );
}

/// Daily counts add up per (day, queue, channel, number), in one call or
/// many, read back per day or all days in order, and survive a restart.
pub async fn daily_counts_add_up_and_survive_restart<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let queue = format!("q_{}", t.0);
    let count = |day: &str, channel: &str, number: &str, value: u64| DayCount {
        day: day.to_owned(),
        queue: queue.clone(),
        channel: channel.to_owned(),
        number: number.to_owned(),
        value,
    };
    // Days far from any other test's, made unique by the tag.
    let d1 = format!("1999-01-01-{}", t.0);
    let d2 = format!("1999-01-02-{}", t.0);
    step(
        "add_counts",
        store.add_counts(&[
            count(&d1, "chat", "offered", 2),
            count(&d1, "chat", "answered", 1),
            count(&d2, "sms", "offered", 1),
        ]),
    )
    .await;
    step(
        "add_counts again",
        store.add_counts(&[
            count(&d1, "chat", "offered", 3),
            count(&d1, "chat", "offered", 1),
        ]),
    )
    .await;
    step("add_counts with nothing", store.add_counts(&[])).await;
    let want_d1 = vec![
        count(&d1, "chat", "answered", 1),
        count(&d1, "chat", "offered", 6),
    ];
    let want_d2 = vec![count(&d2, "sms", "offered", 1)];
    let mut store = Some(store);
    for round in ["before restart", "after restart"] {
        let store = match store.take() {
            Some(s) => s,
            None => open(factory).await,
        };
        let day1 = step("counts of a day", store.counts(Some(&d1))).await;
        assert_eq!(day1, want_d1, "{round}: one day's counts, summed, in order");
        let unknown = step(
            "counts of an unknown day",
            store.counts(Some("1999-12-31-none")),
        )
        .await;
        assert!(unknown.is_empty(), "{round}: {unknown:?}");
        let all: Vec<DayCount> = step("counts of every day", store.counts(None))
            .await
            .into_iter()
            .filter(|c| c.queue == queue)
            .collect();
        let want: Vec<DayCount> = want_d1.iter().chain(&want_d2).cloned().collect();
        assert_eq!(all, want, "{round}: every day's counts, day by day");
    }
}
