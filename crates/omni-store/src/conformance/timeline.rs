//! Checks for a conversation's life: opening, continuing, deduplicating and
//! reopening, agent messages, assignment and resolution.

use omni_core::{
    AgentId, Channel, ConversationId, ConversationStatus, DeliveryStatus, Direction, MessageId,
    QueueId,
};

use super::{POLICY, StoreFactory, T0, Tag, WINDOW_MS, inbound, open, queue, step, step_err};
use crate::{ContextStore, NewOutbound, StoreError};

/// A first message creates the customer and a queued conversation that needs
/// routing; the next message from the same identity continues it.
pub async fn first_message_opens_then_continues<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let queue = queue();

    let first = step(
        "first ingest",
        store.ingest(&inbound(&who, &t.key("m1"), "hello", T0), &queue, POLICY),
    )
    .await;
    assert!(
        first.opened && first.needs_routing,
        "first message must open a conversation that needs routing: {first:?}"
    );
    assert!(!first.duplicate && !first.reopened, "{first:?}");
    let c = &first.conversation;
    assert_eq!(c.status, ConversationStatus::Queued);
    assert_eq!(c.queue, queue);
    assert_eq!(c.queued_at_ms, Some(T0));
    assert_eq!(c.customer_id, first.customer.id);
    assert_eq!((c.last_channel, &c.last_identity), (Channel::CHAT, &who));
    assert_eq!(
        (c.created_at_ms, c.updated_at_ms, c.message_count),
        (T0, T0, 1)
    );
    assert_eq!(
        (
            c.assigned_agent.as_ref(),
            c.last_agent.as_ref(),
            c.resolved_at_ms
        ),
        (None, None, None)
    );
    let m = &first.message;
    assert_eq!(
        (m.seq, m.direction, m.delivery),
        (1, Direction::Inbound, DeliveryStatus::Received)
    );
    assert_eq!(
        (m.conversation_id.clone(), m.at_ms, m.text.as_str()),
        (c.id.clone(), T0, "hello")
    );
    assert_eq!(first.customer.identities, vec![who.clone()]);
    assert_eq!(first.customer.display_name, None);
    assert_eq!(first.customer.created_at_ms, T0);

    let found = step("customer_by_identity", store.customer_by_identity(&who)).await;
    assert_eq!(found, Some(first.customer.id.clone()));
    let customer = step("customer", store.customer(&first.customer.id)).await;
    assert_eq!(customer.as_ref(), Some(&first.customer));
    let latest = step(
        "latest_conversation",
        store.latest_conversation(&first.customer.id),
    )
    .await;
    assert_eq!(latest.as_ref(), Some(&first.conversation));

    let mut named = inbound(&who, &t.key("m2"), "it's Ada", T0 + 1_000);
    named.display_name = Some("Ada".into());
    let second = step("second ingest", store.ingest(&named, &queue, POLICY)).await;
    assert_eq!(
        second.conversation.id, c.id,
        "the same identity must continue its open conversation"
    );
    assert!(
        !second.opened
            && !second.reopened
            && !second.duplicate
            && !second.needs_routing
            && !second.channel_changed,
        "{second:?}"
    );
    assert_eq!(second.message.seq, 2);
    assert_eq!(second.conversation.message_count, 2);
    assert_eq!(second.conversation.updated_at_ms, T0 + 1_000);
    assert_eq!(second.conversation.status, ConversationStatus::Queued);
    assert_eq!(
        second.conversation.queued_at_ms,
        Some(T0),
        "continuing must not reset the routing age"
    );
    assert_eq!(second.customer.id, first.customer.id);
    assert_eq!(
        second.customer.display_name.as_deref(),
        Some("Ada"),
        "a first display name is learned"
    );

    let mut renamed = inbound(&who, &t.key("m3"), "again", T0 + 2_000);
    renamed.display_name = Some("Someone Else".into());
    let third = step("third ingest", store.ingest(&renamed, &queue, POLICY)).await;
    assert_eq!(
        third.customer.display_name.as_deref(),
        Some("Ada"),
        "a known display name is kept"
    );
    let stored = step("customer", store.customer(&first.customer.id)).await;
    assert_eq!(stored.and_then(|c| c.display_name).as_deref(), Some("Ada"));

    let history = step("messages", store.messages(&c.id, 0, 10)).await;
    let texts: Vec<_> = history.iter().map(|m| (m.seq, m.text.as_str())).collect();
    assert_eq!(texts, vec![(1, "hello"), (2, "it's Ada"), (3, "again")]);

    let stranger = step(
        "unknown identity",
        store.customer_by_identity(&t.chat("nobody")),
    )
    .await;
    assert_eq!(stranger, None);
}

/// A redelivered message (same idempotency key) changes nothing and answers
/// with the first stored message and the conversation as it is now.
pub async fn duplicate_message_is_stored_once<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let queue = queue();
    let key = t.key("m1");

    let first = step(
        "ingest",
        store.ingest(&inbound(&who, &key, "hello", T0), &queue, POLICY),
    )
    .await;
    let again = step(
        "redelivery",
        store.ingest(
            &inbound(&who, &key, "hello (redelivered)", T0 + 500),
            &queue,
            POLICY,
        ),
    )
    .await;
    assert!(again.duplicate, "same key must be a duplicate: {again:?}");
    assert!(!again.opened && !again.reopened, "{again:?}");
    assert!(
        again.needs_routing,
        "a duplicate of a still queued conversation must ask for routing again"
    );
    assert_eq!(
        again.message, first.message,
        "a duplicate answers with the message stored first"
    );
    assert_eq!(
        again.conversation, first.conversation,
        "a duplicate changes nothing"
    );
    assert_eq!(again.customer, first.customer);

    let agent = AgentId::from(format!("agt_{}", t.0));
    step(
        "assign",
        store.assign(&first.conversation.id, &agent, T0 + 1_000),
    )
    .await;
    let later = step(
        "late redelivery",
        store.ingest(&inbound(&who, &key, "hello", T0 + 2_000), &queue, POLICY),
    )
    .await;
    assert!(
        later.duplicate && !later.needs_routing,
        "an assigned conversation needs no routing: {later:?}"
    );
    assert_eq!(
        later.conversation.status,
        ConversationStatus::Assigned,
        "a duplicate shows the current state"
    );
    assert_eq!(later.conversation.message_count, 1);

    let history = step("messages", store.messages(&first.conversation.id, 0, 10)).await;
    assert_eq!(
        history.len(),
        1,
        "history must hold the message once: {history:?}"
    );
}

/// A message within the window after resolve reopens the conversation (same
/// id, queued again, last agent kept); after the window it opens a new one.
pub async fn resolved_conversation_reopens_within_window<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let queue = queue();
    let agent = AgentId::from(format!("agt_a_{}", t.0));

    let first = step(
        "ingest",
        store.ingest(&inbound(&who, &t.key("m1"), "hi", T0), &queue, POLICY),
    )
    .await;
    let id = first.conversation.id.clone();
    step("assign", store.assign(&id, &agent, T0 + 1_000)).await;
    let resolved_at = T0 + 2_000;
    let resolved = step("resolve", store.resolve(&id, resolved_at)).await;
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    assert_eq!(resolved.resolved_at_ms, Some(resolved_at));
    assert_eq!(resolved.assigned_agent, None);
    assert_eq!(resolved.last_agent.as_ref(), Some(&agent));

    // Exactly at the window's end still reopens.
    let at = resolved_at + WINDOW_MS;
    let back = step(
        "ingest within window",
        store.ingest(
            &inbound(&who, &t.key("m2"), "one more thing", at),
            &queue,
            POLICY,
        ),
    )
    .await;
    assert!(
        back.reopened && back.needs_routing && !back.opened && !back.duplicate,
        "{back:?}"
    );
    let c = &back.conversation;
    assert_eq!(c.id, id, "reopen keeps the conversation");
    assert_eq!(c.status, ConversationStatus::Queued);
    assert_eq!(c.queued_at_ms, Some(at));
    assert_eq!((c.assigned_agent.as_ref(), c.resolved_at_ms), (None, None));
    assert_eq!(
        c.last_agent.as_ref(),
        Some(&agent),
        "reopen keeps the last agent for sticky routing"
    );
    assert_eq!(c.queue, queue);
    assert_eq!(back.message.seq, 2);
    assert_eq!(c.message_count, 2);

    step("assign again", store.assign(&id, &agent, at + 1_000)).await;
    let resolved_again = at + 2_000;
    step("resolve again", store.resolve(&id, resolved_again)).await;
    let other_queue = QueueId::from(format!("que_other_{}", t.0));
    let late = resolved_again + WINDOW_MS + 1;
    let fresh = step(
        "ingest after window",
        store.ingest(
            &inbound(&who, &t.key("m3"), "new issue", late),
            &other_queue,
            POLICY,
        ),
    )
    .await;
    assert!(
        fresh.opened && fresh.needs_routing && !fresh.reopened,
        "{fresh:?}"
    );
    assert_ne!(
        fresh.conversation.id, id,
        "after the window a new conversation opens"
    );
    assert_eq!(fresh.conversation.queue, other_queue);
    assert_eq!(fresh.conversation.customer_id, first.customer.id);
    assert_eq!(fresh.conversation.last_agent, None);
    assert_eq!(fresh.message.seq, 1);
    assert_eq!(fresh.conversation.queued_at_ms, Some(late));

    let latest = step(
        "latest_conversation",
        store.latest_conversation(&first.customer.id),
    )
    .await;
    assert_eq!(latest.map(|c| c.id), Some(fresh.conversation.id.clone()));
    let old = step("old conversation", store.conversation(&id)).await;
    let old = old.unwrap_or_else(|| panic!("conversation {id} vanished"));
    assert_eq!(old.status, ConversationStatus::Resolved);
    assert_eq!(old.message_count, 2);
}

/// Agent messages take the next seq, are deduplicated by key, start queued
/// for delivery, and their delivery status can be updated.
pub async fn outbound_messages_continue_the_timeline<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let agent = AgentId::from(format!("agt_{}", t.0));

    let first = step(
        "ingest",
        store.ingest(&inbound(&who, &t.key("m1"), "hi", T0), &queue(), POLICY),
    )
    .await;
    let id = first.conversation.id.clone();
    step("assign", store.assign(&id, &agent, T0 + 100)).await;

    let reply = NewOutbound {
        conversation_id: id.clone(),
        agent_id: Some(agent.clone()),
        text: "how can I help?".into(),
        channel: Channel::EMAIL,
        idempotency_key: t.key("out1"),
        at_ms: T0 + 1_000,
        id: MessageId::generate(),
        email: None,
        notice: None,
        options: Vec::new(),
    };
    let sent = step("append_outbound", store.append_outbound(reply.clone())).await;
    assert_eq!(sent.seq, 2);
    assert_eq!(
        (sent.direction, sent.delivery),
        (Direction::Outbound, DeliveryStatus::Queued)
    );
    assert_eq!(sent.agent_id.as_ref(), Some(&agent));
    assert_eq!(
        (sent.channel, sent.at_ms, sent.text.as_str()),
        (Channel::EMAIL, T0 + 1_000, "how can I help?")
    );
    assert_eq!(sent.conversation_id, id);

    let retried = step("retried append_outbound", store.append_outbound(reply)).await;
    assert_eq!(
        retried, sent,
        "a retried send must answer with the first stored message"
    );
    let c = step("conversation", store.conversation(&id)).await;
    let c = c.unwrap_or_else(|| panic!("conversation {id} vanished"));
    assert_eq!(c.message_count, 2);
    assert_eq!(c.updated_at_ms, T0 + 1_000);
    assert_eq!(
        c.last_channel,
        Channel::CHAT,
        "an agent's channel is not the customer's last channel"
    );

    step(
        "record_delivery",
        store.record_delivery(&id, &sent.id, DeliveryStatus::Delivered, None),
    )
    .await;
    let history = step("messages", store.messages(&id, 0, 10)).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].id, sent.id);
    assert_eq!(history[1].delivery, DeliveryStatus::Delivered);
    assert_eq!(
        history[0].delivery,
        DeliveryStatus::Received,
        "only the named message changes"
    );

    let next = step(
        "ingest after reply",
        store.ingest(
            &inbound(&who, &t.key("m2"), "thanks", T0 + 2_000),
            &queue(),
            POLICY,
        ),
    )
    .await;
    assert_eq!(next.message.seq, 3);

    let unknown = ConversationId::from(format!("con_missing_{}", t.0));
    let err = step_err(
        "append_outbound to an unknown conversation",
        store.append_outbound(NewOutbound {
            conversation_id: unknown.clone(),
            agent_id: Some(agent.clone()),
            text: "x".into(),
            channel: Channel::CHAT,
            idempotency_key: t.key("out2"),
            at_ms: T0,
            id: MessageId::generate(),
            email: None,
            notice: None,
            options: Vec::new(),
        }),
    )
    .await;
    assert!(
        matches!(err, StoreError::NotFound { .. }),
        "expected NotFound, got {err:?}"
    );
    let err = step_err(
        "record_delivery of an unknown message",
        store.record_delivery(
            &id,
            &MessageId::from(format!("msg_missing_{}", t.0)),
            DeliveryStatus::Sent,
            None,
        ),
    )
    .await;
    assert!(
        matches!(err, StoreError::NotFound { .. }),
        "expected NotFound, got {err:?}"
    );
    let err = step_err(
        "record_delivery under another conversation",
        store.record_delivery(&unknown, &sent.id, DeliveryStatus::Sent, None),
    )
    .await;
    assert!(
        matches!(err, StoreError::NotFound { .. }),
        "expected NotFound, got {err:?}"
    );
}

/// Assign is idempotent per agent and may move a conversation to another
/// agent, but never reopens a resolved one; resolve is idempotent.
pub async fn assign_and_resolve_follow_the_status_rules<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let a = AgentId::from(format!("agt_a_{}", t.0));
    let b = AgentId::from(format!("agt_b_{}", t.0));

    let first = step(
        "ingest",
        store.ingest(
            &inbound(&t.chat("visitor"), &t.key("m1"), "hi", T0),
            &queue(),
            POLICY,
        ),
    )
    .await;
    let id = first.conversation.id.clone();

    let assigned = step("assign", store.assign(&id, &a, T0 + 1_000)).await;
    assert_eq!(assigned.status, ConversationStatus::Assigned);
    assert_eq!(
        (
            assigned.assigned_agent.as_ref(),
            assigned.last_agent.as_ref()
        ),
        (Some(&a), Some(&a))
    );
    assert_eq!(
        assigned.queued_at_ms, None,
        "an assigned conversation has no routing age"
    );
    assert_eq!(assigned.updated_at_ms, T0 + 1_000);
    let again = step("assign again", store.assign(&id, &a, T0 + 1_500)).await;
    assert_eq!(
        again, assigned,
        "assigning to the same agent again changes nothing"
    );

    let moved = step("assign to another agent", store.assign(&id, &b, T0 + 2_000)).await;
    assert_eq!(
        (moved.assigned_agent.as_ref(), moved.last_agent.as_ref()),
        (Some(&b), Some(&b))
    );

    let resolved = step("resolve", store.resolve(&id, T0 + 3_000)).await;
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    assert_eq!(resolved.resolved_at_ms, Some(T0 + 3_000));
    assert_eq!(
        (
            resolved.assigned_agent.as_ref(),
            resolved.last_agent.as_ref()
        ),
        (None, Some(&b))
    );
    assert_eq!(resolved.queued_at_ms, None);

    let twice = step("resolve twice", store.resolve(&id, T0 + 4_000)).await;
    assert_eq!(
        twice, resolved,
        "resolving a resolved conversation changes nothing"
    );

    let err = step_err(
        "assign a resolved conversation",
        store.assign(&id, &a, T0 + 5_000),
    )
    .await;
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "expected Conflict, got {err:?}"
    );
    let after = step("conversation", store.conversation(&id)).await;
    assert_eq!(
        after.as_ref(),
        Some(&resolved),
        "a refused assign changes nothing"
    );

    let unknown = ConversationId::from(format!("con_missing_{}", t.0));
    let err = step_err("assign unknown", store.assign(&unknown, &a, T0)).await;
    assert!(
        matches!(err, StoreError::NotFound { .. }),
        "expected NotFound, got {err:?}"
    );
    let err = step_err("resolve unknown", store.resolve(&unknown, T0)).await;
    assert!(
        matches!(err, StoreError::NotFound { .. }),
        "expected NotFound, got {err:?}"
    );
    let none = step("conversation unknown", store.conversation(&unknown)).await;
    assert_eq!(none, None);
}

/// An automatic message of the service (a full queue's answer) is stored
/// without an agent and keeps its notice, read back as written.
pub async fn automatic_messages_have_no_agent_and_keep_their_notice<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let first = step(
        "ingest",
        store.ingest(&inbound(&who, &t.key("m1"), "hi", T0), &queue(), POLICY),
    )
    .await;
    let id = first.conversation.id.clone();
    let notice = omni_core::Notice::QueueFull {
        queue: "sales".into(),
    };
    let sent = step(
        "append_outbound",
        store.append_outbound(NewOutbound {
            conversation_id: id.clone(),
            agent_id: None,
            text: "all our agents are busy".into(),
            channel: Channel::CHAT,
            idempotency_key: t.key("auto"),
            at_ms: T0 + 10,
            id: MessageId::generate(),
            email: None,
            notice: Some(notice.clone()),
            options: vec!["1".into(), "2".into()],
        }),
    )
    .await;
    assert_eq!((sent.seq, sent.agent_id.as_ref()), (2, None));
    assert_eq!(sent.notice.as_ref(), Some(&notice));
    assert_eq!(sent.options, ["1", "2"], "quick-reply options are kept");
    let history = step("messages", store.messages(&id, 0, 10)).await;
    assert_eq!(history.get(1), Some(&sent), "read back as written");
}
