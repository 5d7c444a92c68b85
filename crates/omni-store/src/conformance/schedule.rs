//! Checks for the durable scheduler: put once, due in time order, claimed
//! once per lease (also under concurrent claims), finished, rescheduled,
//! cancelled by conversation, and durable across a reopen.

use std::collections::BTreeSet;

use omni_core::ConversationId;
use tokio::task::JoinSet;

use super::{StoreFactory, T0, Tag, open, step};
use crate::{ScheduleKind, ScheduleState, ScheduleStore, ScheduledItem};

fn item(t: &Tag, name: &str, kind: ScheduleKind, due: i64) -> ScheduledItem {
    ScheduledItem::new(
        t.key(name),
        kind,
        ConversationId::from(t.key("conv")),
        T0 + due,
        format!("{{\"name\":\"{name}\"}}"),
    )
}

async fn due_mine<S: ScheduleStore + ?Sized>(store: &S, t: &Tag, now: i64) -> Vec<String> {
    step("due", store.due_scheduled(T0 + now, usize::MAX))
        .await
        .into_iter()
        .filter(|i| i.id.starts_with(&t.key("")))
        .map(|i| i.id)
        .collect()
}

/// An item is kept once, listed when due earliest first, claimed by one
/// caller until its lease ends, handed out again after an unfinished
/// lease, finished once, rescheduled, and all of it survives a reopen.
pub async fn scheduled_items_are_claimed_once<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let late = item(&t, "late", ScheduleKind::Followup, 20);
    let early = item(&t, "early", ScheduleKind::Survey, 10);
    assert!(step("put late", store.put_scheduled(&late)).await);
    assert!(step("put early", store.put_scheduled(&early)).await);
    let mut again = early.clone();
    again.due_at_ms = T0;
    assert!(
        !step("put again", store.put_scheduled(&again)).await,
        "an item is kept once"
    );
    assert_eq!(due_mine(&*store, &t, 5).await, Vec::<String>::new());
    assert_eq!(due_mine(&*store, &t, 10).await, vec![early.id.clone()]);
    assert_eq!(
        due_mine(&*store, &t, 30).await,
        vec![early.id.clone(), late.id.clone()],
        "earliest due first"
    );

    let claimed = step("claim", store.claim_scheduled(&early.id, T0 + 30, 100)).await;
    assert_eq!(claimed.map(|i| i.payload), Some(early.payload.clone()));
    assert!(
        step(
            "claim again",
            store.claim_scheduled(&early.id, T0 + 31, 100)
        )
        .await
        .is_none(),
        "a claimed item is not claimed again while the lease holds"
    );
    assert_eq!(due_mine(&*store, &t, 31).await, vec![late.id.clone()]);
    drop(store);

    let store = open(factory).await;
    assert!(
        step(
            "claim after reopen",
            store.claim_scheduled(&early.id, T0 + 31, 100)
        )
        .await
        .is_none(),
        "a claim survives a reopen"
    );
    assert_eq!(
        due_mine(&*store, &t, 131).await,
        vec![early.id.clone(), late.id.clone()],
        "an unfinished claim is handed out again after its lease"
    );
    assert!(
        step(
            "claim after lease",
            store.claim_scheduled(&early.id, T0 + 131, 100)
        )
        .await
        .is_some()
    );
    assert!(step("finish", store.finish_scheduled(&early.id, "sent", None)).await);
    assert!(
        !step(
            "finish again",
            store.finish_scheduled(&early.id, "sent", None)
        )
        .await,
        "an item is finished once"
    );
    assert!(
        step(
            "claim done",
            store.claim_scheduled(&early.id, T0 + 500, 100)
        )
        .await
        .is_none()
    );
    assert!(
        step(
            "reschedule",
            store.finish_scheduled(&late.id, "", Some(T0 + 1000))
        )
        .await
    );
    assert_eq!(due_mine(&*store, &t, 999).await, Vec::<String>::new());
    assert_eq!(due_mine(&*store, &t, 1000).await, vec![late.id.clone()]);

    assert!(
        step(
            "swap payload",
            store.swap_scheduled_payload(&early.id, &early.payload, "{\"answered\":5}")
        )
        .await,
        "a done item's payload can be replaced"
    );
    assert!(
        !step(
            "swap stale payload",
            store.swap_scheduled_payload(&early.id, &early.payload, "{}")
        )
        .await,
        "a payload changed meanwhile is not replaced"
    );
    let all = step(
        "of conversation",
        store.scheduled_for(&early.conversation_id),
    )
    .await;
    let states: Vec<(String, ScheduleState, String)> = all
        .into_iter()
        .map(|i| (i.id, i.state, i.outcome))
        .collect();
    let payloads: Vec<String> = step("payloads", store.scheduled_for(&early.conversation_id))
        .await
        .into_iter()
        .map(|i| i.payload)
        .collect();
    assert_eq!(
        payloads,
        ["{\"answered\":5}".to_owned(), late.payload.clone()]
    );
    assert_eq!(
        states,
        vec![
            (early.id.clone(), ScheduleState::Done, "sent".to_owned()),
            (late.id.clone(), ScheduleState::Pending, String::new()),
        ]
    );
}

/// Cancelling a conversation's items of one kind leaves its other kind and
/// other conversations' items, a cancelled item is never due again, and
/// deleting the conversation's items (erasure) leaves the others.
pub async fn scheduled_items_cancel_by_conversation<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let survey = item(&t, "survey", ScheduleKind::Survey, 1);
    let followup = item(&t, "followup", ScheduleKind::Followup, 2);
    let mut elsewhere = item(&t, "elsewhere", ScheduleKind::Followup, 3);
    elsewhere.conversation_id = ConversationId::from(t.key("other"));
    for i in [&survey, &followup, &elsewhere] {
        assert!(step("put", store.put_scheduled(i)).await);
    }
    let n = step(
        "cancel",
        store.cancel_scheduled(
            &survey.conversation_id,
            ScheduleKind::Followup,
            "customer wrote",
        ),
    )
    .await;
    assert_eq!(n, 1);
    assert_eq!(
        due_mine(&*store, &t, 10).await,
        vec![survey.id.clone(), elsewhere.id.clone()]
    );
    assert!(
        step(
            "claim cancelled",
            store.claim_scheduled(&followup.id, T0 + 10, 100)
        )
        .await
        .is_none()
    );
    let cancelled = step(
        "of conversation",
        store.scheduled_for(&survey.conversation_id),
    )
    .await
    .into_iter()
    .find(|i| i.id == followup.id)
    .map(|i| (i.state, i.outcome));
    assert_eq!(
        cancelled,
        Some((ScheduleState::Cancelled, "customer wrote".to_owned()))
    );
    let again = step(
        "cancel again",
        store.cancel_scheduled(&survey.conversation_id, ScheduleKind::Followup, "x"),
    )
    .await;
    assert_eq!(again, 0);
    let deleted = step("delete", store.delete_scheduled(&survey.conversation_id)).await;
    assert_eq!(deleted, 2, "both items of the conversation");
    assert!(
        step("after delete", store.scheduled_for(&survey.conversation_id))
            .await
            .is_empty()
    );
    assert_eq!(
        due_mine(&*store, &t, 10).await,
        vec![elsewhere.id.clone()],
        "another conversation's item stays"
    );
}

/// Many concurrent claims of one item: exactly one wins.
pub async fn concurrent_claims_have_one_winner<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let one = item(&t, "one", ScheduleKind::Survey, 0);
    assert!(step("put", store.put_scheduled(&one)).await);
    let mut tasks = JoinSet::new();
    for n in 0..8 {
        let (store, id) = (store.clone(), one.id.clone());
        tasks.spawn(async move {
            step("claim", store.claim_scheduled(&id, T0 + 1, 60_000))
                .await
                .map(|_| n)
        });
    }
    let mut winners = BTreeSet::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(won) => winners.extend(won),
            Err(e) => panic!("concurrent claim failed: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one claim wins: {winners:?}");
}

/// Answered items are listed by answer time within a period, a page at a
/// time after a cursor; an item is marked once (the first time is kept);
/// the index survives a reopen and deleting the conversation takes its
/// items out of it.
pub async fn answered_items_are_listed_by_period<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let mine = |items: Vec<ScheduledItem>| -> Vec<String> {
        items
            .into_iter()
            .filter(|i| i.id.starts_with(&t.key("")))
            .map(|i| i.id)
            .collect()
    };
    let a = item(&t, "a", ScheduleKind::Survey, 0);
    let b = item(&t, "b", ScheduleKind::Survey, 0);
    let c = item(&t, "c", ScheduleKind::Survey, 0);
    let late = item(&t, "late", ScheduleKind::Survey, 0);
    for i in [&a, &b, &c, &late] {
        assert!(step("put", store.put_scheduled(i)).await);
    }
    assert!(step("mark b", store.mark_answered(&b.id, T0 + 10)).await);
    assert!(step("mark a", store.mark_answered(&a.id, T0 + 10)).await);
    assert!(step("mark c", store.mark_answered(&c.id, T0 + 20)).await);
    assert!(step("mark late", store.mark_answered(&late.id, T0 + 30)).await);
    assert!(
        !step("mark again", store.mark_answered(&a.id, T0 + 25)).await,
        "an item is marked answered once"
    );
    assert!(
        !step("mark absent", store.mark_answered(&t.key("absent"), T0)).await,
        "an absent item is not marked"
    );
    let period = mine(
        step(
            "period",
            store.answered_between(T0 + 10, T0 + 30, None, 100),
        )
        .await,
    );
    assert_eq!(
        period,
        vec![a.id.clone(), b.id.clone(), c.id.clone()],
        "by answer time then id; the end is excluded"
    );
    let kept = step("of a", store.scheduled_for(&a.conversation_id)).await;
    let first = kept
        .iter()
        .find(|i| i.id == a.id)
        .and_then(|i| i.answered_at_ms);
    assert_eq!(first, Some(T0 + 10), "the first answer time is kept");
    drop(store);

    let store = open(factory).await;
    let page = step("page 1", store.answered_between(T0, T0 + 100, None, 2)).await;
    let last = page
        .last()
        .map(|i| (i.answered_at_ms.unwrap_or_default(), i.id.clone()));
    assert_eq!(
        mine(page),
        vec![a.id.clone(), b.id.clone()],
        "after a reopen"
    );
    let next = mine(step("page 2", store.answered_between(T0, T0 + 100, last, 2)).await);
    assert_eq!(next, vec![c.id.clone(), late.id.clone()], "the next page");
    assert_eq!(
        mine(
            step(
                "empty period",
                store.answered_between(T0 + 40, T0 + 40, None, 10)
            )
            .await
        ),
        Vec::<String>::new()
    );

    step("delete", store.delete_scheduled(&a.conversation_id)).await;
    assert_eq!(
        mine(
            step(
                "after delete",
                store.answered_between(T0, T0 + 100, None, 100)
            )
            .await
        ),
        Vec::<String>::new(),
        "deleted items leave the index"
    );
}

/// Sent items are listed by send time within a period, a page at a time
/// after a cursor, apart from answers; an item is marked sent once (the
/// first time is kept); the index survives a reopen and deleting the
/// conversation takes its items out of it.
pub async fn sent_items_are_listed_by_period<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let mine = |items: Vec<ScheduledItem>| -> Vec<String> {
        items
            .into_iter()
            .filter(|i| i.id.starts_with(&t.key("")))
            .map(|i| i.id)
            .collect()
    };
    let a = item(&t, "a", ScheduleKind::Survey, 0);
    let b = item(&t, "b", ScheduleKind::Survey, 0);
    let c = item(&t, "c", ScheduleKind::Survey, 0);
    for i in [&a, &b, &c] {
        assert!(step("put", store.put_scheduled(i)).await);
    }
    assert!(step("send b", store.mark_sent(&b.id, T0 + 10)).await);
    assert!(step("send a", store.mark_sent(&a.id, T0 + 10)).await);
    assert!(step("send c", store.mark_sent(&c.id, T0 + 20)).await);
    assert!(
        !step("send again", store.mark_sent(&a.id, T0 + 15)).await,
        "an item is marked sent once"
    );
    assert!(
        !step("send absent", store.mark_sent(&t.key("absent"), T0)).await,
        "an absent item is not marked"
    );
    assert!(step("answer b", store.mark_answered(&b.id, T0 + 50)).await);
    assert_eq!(
        mine(step("period", store.sent_between(T0 + 10, T0 + 20, None, 100)).await),
        vec![a.id.clone(), b.id.clone()],
        "by send time then id; the end is excluded"
    );
    assert_eq!(
        mine(step("answers", store.answered_between(T0, T0 + 100, None, 100)).await),
        vec![b.id.clone()],
        "sending is not answering"
    );
    drop(store);

    let store = open(factory).await;
    let page = step("page 1", store.sent_between(T0, T0 + 100, None, 1)).await;
    let last = page
        .last()
        .map(|i| (i.sent_at_ms.unwrap_or_default(), i.id.clone()));
    let first = page.first().cloned();
    assert_eq!(mine(page), vec![a.id.clone()], "after a reopen");
    assert_eq!(
        first.and_then(|i| i.sent_at_ms),
        Some(T0 + 10),
        "the first send time is kept"
    );
    let next = mine(step("page 2", store.sent_between(T0, T0 + 100, last, 5)).await);
    assert_eq!(next, vec![b.id.clone(), c.id.clone()], "the next page");

    step("delete", store.delete_scheduled(&a.conversation_id)).await;
    assert_eq!(
        mine(step("after delete", store.sent_between(T0, T0 + 100, None, 100)).await),
        Vec::<String>::new(),
        "deleted items leave the index"
    );
}
