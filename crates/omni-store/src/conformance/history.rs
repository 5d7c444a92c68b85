//! Checks for history: pages, order, durability across a reopen and
//! concurrent ingests.

use std::sync::Arc;

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, DeliveryStatus, MessageId};
use tokio::task::JoinSet;

use super::{
    POLICY, StoreFactory, T0, Tag, contact, ids, inbound, join_all, open, presence, queue, step,
};
use crate::{ContextStore, NewOutbound, RouterStore};

/// A long history reads back in pages via `after_seq`, in order, without gaps.
pub async fn history_pages_without_gaps<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let first = step(
        "ingest",
        store.ingest(
            &inbound(&who, &t.key("1"), "message 1", T0),
            &queue(),
            POLICY,
        ),
    )
    .await;
    let id = first.conversation.id;
    for i in 2..=250u64 {
        let text = format!("message {i}");
        let at = T0 + i as Millis;
        let got = step(
            "ingest",
            store.ingest(
                &inbound(&who, &t.key(&i.to_string()), &text, at),
                &queue(),
                POLICY,
            ),
        )
        .await;
        assert_eq!((&got.conversation.id, got.message.seq), (&id, i));
    }

    let mut sizes = Vec::new();
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let page = step("messages page", store.messages(&id, after, 100)).await;
        let Some(last) = page.last() else { break };
        after = last.seq;
        sizes.push(page.len());
        for m in &page {
            assert_eq!(
                m.text,
                format!("message {}", m.seq),
                "seq and content must match"
            );
            seqs.push(m.seq);
        }
        assert!(sizes.len() <= 3, "more pages than messages: {sizes:?}");
    }
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(seqs, (1..=250).collect::<Vec<_>>());

    let middle = step("messages from the middle", store.messages(&id, 120, 5)).await;
    assert_eq!(
        middle.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![121, 122, 123, 124, 125]
    );
    let none = step("messages with limit 0", store.messages(&id, 0, 0)).await;
    assert!(none.is_empty());
    let past = step("messages past the end", store.messages(&id, 250, 10)).await;
    assert!(past.is_empty());
}

/// A conversation's timeline follows the adapter's acceptance stamp
/// (`received_at_ms`), not the order messages reach the store: a message
/// whose ingest was retried, or redelivered after a crash, is listed before
/// the messages accepted after it (agent replies included), equal stamps
/// keep their arrival order, seqs stay gapless, and the messages moved keep
/// working by id and key (redelivery, delivery reports, outbound retries).
pub async fn history_follows_acceptance_order<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let ingest = |key: &str, text: &str, at: Millis| {
        let store = store.clone();
        let message = inbound(&who, &t.key(key), text, at);
        async move { step("ingest", store.ingest(&message, &queue(), POLICY)).await }
    };
    let first = ingest("a", "accepted first", T0 + 1_000).await;
    let id = first.conversation.id.clone();
    ingest("c", "accepted third", T0 + 3_000).await;
    let agent = AgentId::from(format!("agt_{}", t.0));
    let reply = NewOutbound {
        conversation_id: id.clone(),
        agent_id: Some(agent),
        text: "agent reply".into(),
        channel: Channel::CHAT,
        idempotency_key: t.key("reply"),
        at_ms: T0 + 3_500,
        id: MessageId::generate(),
        email: None,
        notice: None,
        options: Vec::new(),
    };
    let sent = step("append_outbound", store.append_outbound(reply.clone())).await;
    assert_eq!(sent.seq, 3);
    // Accepted second, stored last: its first ingest failed and was retried.
    let late = ingest("b", "accepted second", T0 + 2_000).await;
    assert!(!late.duplicate, "{late:?}");
    assert_eq!(late.message.seq, 2, "the late message takes its place");
    assert_eq!(late.conversation.message_count, 4);
    ingest("c2", "accepted with the third", T0 + 3_000).await;

    let texts = |page: &[omni_core::StoredMessage]| {
        page.iter()
            .map(|m| (m.seq, m.text.clone()))
            .collect::<Vec<_>>()
    };
    let history = step("messages", store.messages(&id, 0, 100)).await;
    assert_eq!(
        texts(&history),
        vec![
            (1, "accepted first".to_owned()),
            (2, "accepted second".to_owned()),
            (3, "accepted third".to_owned()),
            (4, "accepted with the third".to_owned()),
            (5, "agent reply".to_owned()),
        ],
        "timeline in acceptance order, equal stamps in arrival order"
    );
    let page = step("messages after seq 2", store.messages(&id, 2, 2)).await;
    assert_eq!(
        page.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![3, 4],
        "pages by seq follow the same order"
    );

    // Every moved message is still found by its id and its key.
    let again = ingest("c", "accepted third", T0 + 3_000).await;
    assert!(again.duplicate, "{again:?}");
    assert_eq!(
        again.message.seq, 3,
        "a redelivery answers the moved message"
    );
    let retried = step("append_outbound again", store.append_outbound(reply)).await;
    assert_eq!((retried.id, retried.seq), (sent.id.clone(), 5));
    let reported = step(
        "record_delivery on the moved reply",
        store.record_delivery(&id, &sent.id, DeliveryStatus::Delivered, None),
    )
    .await
    .expect("the report moves the status forward");
    assert_eq!(reported.seq, 5);
    let history = step("messages", store.messages(&id, 0, 100)).await;
    assert_eq!(history.len(), 5, "nothing stored twice: {history:?}");
    assert_eq!(history[4].delivery, DeliveryStatus::Delivered);
}

/// Everything written is there after the store is dropped and opened again,
/// including idempotency keys.
pub async fn data_survives_reopen<F: StoreFactory>(factory: &F) {
    let t = Tag::new();
    let who = t.chat("visitor");
    let agent = AgentId::from(format!("agt_{}", t.0));
    let key = t.key("m1");

    let store = open(factory).await;
    let first = step(
        "ingest",
        store.ingest(&inbound(&who, &key, "before restart", T0), &queue(), POLICY),
    )
    .await;
    let id = first.conversation.id.clone();
    step("assign", store.assign(&id, &agent, T0 + 1)).await;
    let reply = NewOutbound {
        conversation_id: id.clone(),
        agent_id: Some(agent.clone()),
        text: "reply".into(),
        channel: Channel::CHAT,
        idempotency_key: t.key("out1"),
        at_ms: T0 + 2,
        id: MessageId::generate(),
        email: None,
        notice: None,
        options: Vec::new(),
    };
    let sent = step("append_outbound", store.append_outbound(reply.clone())).await;
    step(
        "record_delivery",
        store.record_delivery(&id, &sent.id, DeliveryStatus::Sent, None),
    )
    .await;
    let contact = contact(&t, &id, &first.customer.id);
    step("put_contact", store.put_contact(&contact)).await;
    let presence = presence(&agent, "available", T0);
    step("put_presence", store.put_presence(&presence)).await;
    let conversation = step("conversation", store.conversation(&id)).await;
    let history = step("messages", store.messages(&id, 0, 10)).await;
    drop(store);

    let store = open(factory).await;
    assert_eq!(
        step("conversation", store.conversation(&id)).await,
        conversation
    );
    assert_eq!(
        step("customer", store.customer(&first.customer.id))
            .await
            .as_ref(),
        Some(&first.customer)
    );
    assert_eq!(
        step("customer_by_identity", store.customer_by_identity(&who)).await,
        Some(first.customer.id.clone())
    );
    let latest = step(
        "latest_conversation",
        store.latest_conversation(&first.customer.id),
    )
    .await;
    assert_eq!(latest, conversation);
    let reread = step("messages", store.messages(&id, 0, 10)).await;
    assert_eq!(reread, history);
    assert_eq!(reread.len(), 2);
    assert_eq!(reread[1].delivery, DeliveryStatus::Sent);
    let open_ids = ids(step("open_conversations", store.open_conversations())
        .await
        .iter()
        .map(|c| &c.id));
    assert!(
        open_ids.contains(id.as_str()),
        "an assigned conversation is open after restart"
    );
    let contacts = step("contacts", store.contacts()).await;
    assert!(contacts.contains(&contact), "contact lost on restart");
    let presences = step("presences", store.presences()).await;
    assert!(presences.contains(&presence), "presence lost on restart");

    let dup = step(
        "redelivery after restart",
        store.ingest(&inbound(&who, &key, "before restart", T0), &queue(), POLICY),
    )
    .await;
    assert!(dup.duplicate, "idempotency keys must survive a restart");
    let retried = step("retried reply after restart", store.append_outbound(reply)).await;
    assert_eq!(
        retried.id, sent.id,
        "outbound idempotency keys must survive a restart"
    );
    let next = step(
        "ingest after restart",
        store.ingest(
            &inbound(&who, &t.key("m2"), "after restart", T0 + 3),
            &queue(),
            POLICY,
        ),
    )
    .await;
    assert_eq!((next.conversation.id, next.message.seq), (id, 3));
}

/// Concurrent messages from one new identity make one customer and one
/// conversation with gapless seqs; concurrent redeliveries store one message.
pub async fn concurrent_ingests_are_serialized<F: StoreFactory>(factory: &F) {
    const N: u64 = 20;
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("burst");

    let mut tasks = JoinSet::new();
    for i in 0..N {
        let store = Arc::clone(&store);
        let message = inbound(
            &who,
            &t.key(&format!("b{i}")),
            &format!("burst {i}"),
            // One stamp for the burst: each message is placed in arrival
            // order, so the seqs the ingests answer are all different.
            T0,
        );
        tasks.spawn(async move {
            step(
                "concurrent ingest",
                store.ingest(&message, &queue(), POLICY),
            )
            .await
        });
    }
    let results = join_all(tasks).await;
    let customers = ids(results.iter().map(|r| &r.customer.id));
    assert_eq!(
        customers.len(),
        1,
        "one identity must make one customer: {customers:?}"
    );
    let conversations = ids(results.iter().map(|r| &r.conversation.id));
    assert_eq!(
        conversations.len(),
        1,
        "one customer must get one conversation: {conversations:?}"
    );
    assert_eq!(
        results.iter().filter(|r| r.opened).count(),
        1,
        "exactly one ingest opens the conversation"
    );
    let mut seqs: Vec<u64> = results.iter().map(|r| r.message.seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=N).collect::<Vec<_>>(),
        "seqs must be 1..={N} without gaps or repeats"
    );
    let id = results[0].conversation.id.clone();
    let history = step("messages", store.messages(&id, 0, 100)).await;
    assert_eq!(
        history.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=N).collect::<Vec<_>>()
    );
    let keys = ids(history.iter().map(|m| &m.idempotency_key));
    assert_eq!(keys.len(), N as usize, "every message stored once");
    let c = step("conversation", store.conversation(&id)).await;
    assert_eq!(c.map(|c| c.message_count), Some(N));

    let who = t.chat("redelivery");
    let key = t.key("same");
    let mut tasks = JoinSet::new();
    for _ in 0..N {
        let store = Arc::clone(&store);
        let message = inbound(&who, &key, "once", T0);
        tasks.spawn(async move {
            step(
                "concurrent redelivery",
                store.ingest(&message, &queue(), POLICY),
            )
            .await
        });
    }
    let results = join_all(tasks).await;
    assert_eq!(
        results.iter().filter(|r| !r.duplicate).count(),
        1,
        "exactly one delivery is not a duplicate"
    );
    let messages = ids(results.iter().map(|r| &r.message.id));
    assert_eq!(
        messages.len(),
        1,
        "every redelivery answers with the same message"
    );
    let history = step(
        "messages",
        store.messages(&results[0].conversation.id, 0, 100),
    )
    .await;
    assert_eq!(history.len(), 1);
}
