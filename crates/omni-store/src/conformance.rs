//! The conformance suite every store implementation must pass.
//!
//! An implementation's test file provides a [`StoreFactory`] and makes one
//! `#[tokio::test]` per check (or calls [`run_all`]). Every check uses its own
//! identities and keys, so checks may share one backing server, and looks
//! only at the records it made. Every store call is bounded by a timeout, so
//! a hung store fails the check instead of hanging it. A failed check panics
//! with what it expected, like an assertion.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use omni_core::config::{AgentConfig, QueueConfig, QueueStepConfig, ServiceLevelConfig};
use omni_core::time::Millis;
use omni_core::{
    AgentId, Channel, ConversationId, ConversationStatus, CustomerId, DeliveryStatus, Direction,
    Identity, InboundMessage, MessageId, QueueId,
};
use tokio::task::JoinSet;

mod customers;
pub use customers::{
    concurrent_links_and_merges_are_race_free, customer_profile_lists_conversations,
    delivery_reports_move_forward_only, email_threads_and_attachments,
    link_identity_adds_or_merges, sms_opt_out_and_in, unmerge_restores_both_customers,
};

use crate::{
    ContactRecord, ContextStore, ContinuityPolicy, Ingested, NewOutbound, PresenceRecord,
    RouterStore, StoreError,
};

/// Opens the store under test.
#[async_trait]
pub trait StoreFactory: Send + Sync {
    /// The implementation under test.
    type Store: ContextStore + RouterStore;

    /// A store under test. Called again after the previous store was
    /// dropped, it must see the same data, as a restarted process would.
    async fn open(&self) -> Result<Arc<Self::Store>, StoreError>;
}

/// How long one store call may take before the check fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// The reopen window every check uses.
const WINDOW_MS: Millis = 10 * 60 * 1000;
const POLICY: ContinuityPolicy = ContinuityPolicy {
    reopen_window_ms: WINDOW_MS,
};
/// A fixed base time, so windows are exact.
const T0: Millis = 1_700_000_000_000;

/// One `#[tokio::test]` per check of this suite, each on a fresh store from
/// `$factory` (an expression, evaluated per test): the implementations'
/// test files call this, so a check added here runs against every store.
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr) => {
        $crate::store_conformance_tests!(@each $factory;
            first_message_opens_then_continues,
            duplicate_message_is_stored_once,
            resolved_conversation_reopens_within_window,
            outbound_messages_continue_the_timeline,
            assign_and_resolve_follow_the_status_rules,
            history_pages_without_gaps,
            data_survives_reopen,
            concurrent_ingests_are_serialized,
            router_state_round_trips,
            router_admin_config_round_trips,
            open_conversations_exclude_resolved,
            customer_profile_lists_conversations,
            link_identity_adds_or_merges,
            unmerge_restores_both_customers,
            concurrent_links_and_merges_are_race_free,
            email_threads_and_attachments,
            delivery_reports_move_forward_only,
            sms_opt_out_and_in,
        );
    };
    (@each $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::conformance::$name(&$factory).await;
            }
        )*
    };
}

/// Runs every check, one after the other.
pub async fn run_all<F: StoreFactory>(factory: &F) {
    first_message_opens_then_continues(factory).await;
    duplicate_message_is_stored_once(factory).await;
    resolved_conversation_reopens_within_window(factory).await;
    outbound_messages_continue_the_timeline(factory).await;
    assign_and_resolve_follow_the_status_rules(factory).await;
    history_pages_without_gaps(factory).await;
    data_survives_reopen(factory).await;
    concurrent_ingests_are_serialized(factory).await;
    router_state_round_trips(factory).await;
    router_admin_config_round_trips(factory).await;
    open_conversations_exclude_resolved(factory).await;
    customer_profile_lists_conversations(factory).await;
    link_identity_adds_or_merges(factory).await;
    unmerge_restores_both_customers(factory).await;
    concurrent_links_and_merges_are_race_free(factory).await;
    email_threads_and_attachments(factory).await;
    delivery_reports_move_forward_only(factory).await;
    sms_opt_out_and_in(factory).await;
}

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
    assert_eq!((c.last_channel, &c.last_identity), (Channel::Chat, &who));
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
        agent_id: agent.clone(),
        text: "how can I help?".into(),
        channel: Channel::Email,
        idempotency_key: t.key("out1"),
        at_ms: T0 + 1_000,
        id: MessageId::generate(),
        email: None,
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
        (Channel::Email, T0 + 1_000, "how can I help?")
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
        Channel::Chat,
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
            agent_id: agent.clone(),
            text: "x".into(),
            channel: Channel::Chat,
            idempotency_key: t.key("out2"),
            at_ms: T0,
            id: MessageId::generate(),
            email: None,
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
        agent_id: agent.clone(),
        text: "reply".into(),
        channel: Channel::Chat,
        idempotency_key: t.key("out1"),
        at_ms: T0 + 2,
        id: MessageId::generate(),
        email: None,
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
            T0 + i as Millis,
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
        capacity: BTreeMap::from([(Channel::Chat, 2)]),
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

/// Unique names for one check's records.
struct Tag(String);

impl Tag {
    fn new() -> Self {
        Self(
            CustomerId::generate()
                .as_str()
                .trim_start_matches("cus_")
                .to_owned(),
        )
    }

    fn chat(&self, who: &str) -> Identity {
        Identity::ChatVisitor(format!("conformance-{who}-{}", self.0))
    }

    fn key(&self, name: &str) -> String {
        format!("conformance-{}-{name}", self.0)
    }
}

fn queue() -> QueueId {
    QueueId::from("que_conformance")
}

fn inbound(from: &Identity, key: &str, text: &str, at: Millis) -> InboundMessage {
    InboundMessage {
        idempotency_key: key.to_owned(),
        channel: from.channel(),
        from: from.clone(),
        text: text.to_owned(),
        received_at_ms: at,
        topic: None,
        display_name: None,
        email: None,
        sms: None,
    }
}

fn contact(t: &Tag, conversation: &ConversationId, customer: &CustomerId) -> ContactRecord {
    ContactRecord {
        conversation_id: conversation.clone(),
        customer_id: customer.clone(),
        queue: queue(),
        channel: Channel::Chat,
        queued_at_ms: T0,
        preferred_agent: Some(AgentId::from(format!("agt_sticky_{}", t.0))),
        assigned_agent: None,
    }
}

fn presence(agent: &AgentId, state: &str, at: Millis) -> PresenceRecord {
    PresenceRecord {
        agent_id: agent.clone(),
        presence: state.to_owned(),
        reason: None,
        at_ms: at,
    }
}

fn ids<'a, T: ToString + 'a>(items: impl Iterator<Item = &'a T>) -> BTreeSet<String> {
    items.map(ToString::to_string).collect()
}

async fn open<F: StoreFactory>(factory: &F) -> Arc<F::Store> {
    step("open store", factory.open()).await
}

async fn join_all(mut tasks: JoinSet<Ingested>) -> Vec<Ingested> {
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => out.push(result),
            Err(e) => panic!("concurrent task failed: {e}"),
        }
    }
    out
}

/// Awaits one store call, failing the check on an error or a timeout.
async fn step<T>(what: &str, call: impl Future<Output = Result<T, StoreError>>) -> T {
    match tokio::time::timeout(STEP_TIMEOUT, call).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: no answer within {STEP_TIMEOUT:?}"),
    }
}

/// Awaits one store call that must fail.
async fn step_err<T: Debug>(
    what: &str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> StoreError {
    match tokio::time::timeout(STEP_TIMEOUT, call).await {
        Ok(Ok(value)) => panic!("{what}: expected an error, got {value:?}"),
        Ok(Err(e)) => e,
        Err(_) => panic!("{what}: no answer within {STEP_TIMEOUT:?}"),
    }
}
