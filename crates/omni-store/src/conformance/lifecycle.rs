//! Checks for deleting records: erasure step by step, and the retention scan.

use omni_core::{Attachment, Channel, MessageId};

use super::customers::{agent_said, email};
use super::{POLICY, StoreFactory, T0, Tag, contact, inbound, open, queue, step};
use crate::{ContextStore, CustomerRecords, IngestOptions, NewOutbound, RouterStore};

/// Deleting a customer's conversations and then the customer leaves nothing
/// readable: no profile, identity, conversation, message, attachment, email
/// thread, merge record or contact record. Each step repeated is harmless,
/// and the customer's old idempotency key no longer marks a duplicate.
pub async fn erased_customer_leaves_no_record<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let ana = t.email("erase");
    let chat = t.chat("erase");
    let mid = format!("erase-{}@mail.example", t.0);
    let mut first = email(&ana, &t.key("e1"), &mid, T0);
    if let Some(e) = first.email.as_mut() {
        e.attachments = vec![Attachment {
            name: "a.txt".into(),
            content_type: "text/plain".into(),
            content: b"secret".to_vec(),
        }];
    }
    let got = step(
        "ingest",
        store.ingest_with(&first, &IngestOptions::new(queue(), POLICY)),
    )
    .await;
    let customer = got.customer.id.clone();
    let conversation = got.conversation.id.clone();
    step(
        "reply",
        store.append_outbound(NewOutbound {
            conversation_id: conversation.clone(),
            agent_id: Some("agt_alice".into()),
            text: "hello".into(),
            channel: Channel::EMAIL,
            idempotency_key: t.key("out1"),
            at_ms: T0 + 1,
            id: MessageId::generate(),
            email: None,
            notice: None,
            options: Vec::new(),
        }),
    )
    .await;
    step(
        "contact",
        store.put_contact(&contact(&t, &conversation, &customer)),
    )
    .await;
    assert_eq!(
        step("contact read", store.contact(&conversation))
            .await
            .map(|c| c.customer_id),
        Some(customer.clone())
    );
    // A second customer on chat, merged into the first.
    let other = step(
        "chat",
        store.ingest(
            &inbound(&chat, &t.key("c1"), "hi", T0 + 2),
            &queue(),
            POLICY,
        ),
    )
    .await;
    let merge = step(
        "merge",
        store.merge_customers(&customer, &other.customer.id, &agent_said("same person")),
    )
    .await;

    let mut listed = step(
        "conversations",
        store.customer_conversations(&customer, 0, 100),
    )
    .await;
    assert_eq!(listed.len(), 2, "both conversations belong to the survivor");
    let mut messages = 0;
    let mut attachments = 0;
    for c in listed.drain(..) {
        let deleted = step("delete conversation", store.delete_conversation(&c.id))
            .await
            .expect("the conversation existed");
        messages += deleted.messages;
        attachments += deleted.attachments;
        assert_eq!(
            step("again", store.delete_conversation(&c.id)).await,
            None,
            "a second delete finds nothing"
        );
    }
    assert_eq!((messages, attachments), (3, 1));
    let naming = step("merges naming", store.merges_naming(&customer)).await;
    assert_eq!(
        naming.iter().map(|m| &m.id).collect::<Vec<_>>(),
        vec![&merge.id]
    );
    let deleted = step("delete customer", store.delete_customer(&customer)).await;
    assert_eq!(deleted.customer.map(|c| c.id), Some(customer.clone()));
    assert_eq!(deleted.merges, 1);
    let tombstone = step(
        "delete tombstone",
        store.delete_customer(&other.customer.id),
    )
    .await;
    assert!(tombstone.customer.is_some());
    let again = step("delete customer again", store.delete_customer(&customer)).await;
    assert_eq!((again.customer, again.merges), (None, 0));

    assert_eq!(step("customer", store.customer(&customer)).await, None);
    assert_eq!(
        step("tombstone", store.customer(&other.customer.id)).await,
        None
    );
    for identity in [&ana, &chat] {
        assert_eq!(
            step("identity", store.customer_by_identity(identity)).await,
            None
        );
    }
    assert_eq!(
        step("conversation", store.conversation(&conversation)).await,
        None
    );
    assert!(
        step("messages", store.messages(&conversation, 0, 10))
            .await
            .is_empty()
    );
    assert_eq!(
        step("attachment", store.attachment(&got.message.id, 1)).await,
        None
    );
    assert_eq!(
        step("thread", store.conversation_by_email_id(&mid)).await,
        None
    );
    assert_eq!(
        step("merge record", store.merge_record(&merge.id)).await,
        None
    );
    assert_eq!(
        step("latest", store.latest_conversation(&customer)).await,
        None
    );
    assert_eq!(
        step("contact gone", store.contact(&conversation)).await,
        None
    );
    let contacts = step("contacts", store.contacts()).await;
    assert!(contacts.iter().all(|c| c.conversation_id != conversation));
    let open_now = step("open", store.open_conversations()).await;
    assert!(open_now.iter().all(|c| c.customer_id != customer));
    assert!(
        step("list", store.customer_conversations(&customer, 0, 10))
            .await
            .is_empty()
    );

    // The same message again is new: its key went with it.
    let again = step(
        "ingest again",
        store.ingest_with(&first, &IngestOptions::new(queue(), POLICY)),
    )
    .await;
    assert!(!again.duplicate);
    assert_ne!(again.customer.id, customer);
}

/// The retention scan finds conversations resolved before the cutoff, and
/// neither later ones nor open ones.
pub async fn resolved_before_finds_old_resolved<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let old = step(
        "old",
        store.ingest(
            &inbound(&t.chat("old"), &t.key("o"), "hi", T0),
            &queue(),
            POLICY,
        ),
    )
    .await;
    let open_one = step(
        "open",
        store.ingest(
            &inbound(&t.chat("open"), &t.key("p"), "hi", T0),
            &queue(),
            POLICY,
        ),
    )
    .await;
    step("resolve", store.resolve(&old.conversation.id, T0 + 10)).await;
    let found = step("scan", store.resolved_before(T0 + 11, 1_000_000)).await;
    assert!(found.contains(&old.conversation.id));
    assert!(!found.contains(&open_one.conversation.id));
    let found = step("scan earlier", store.resolved_before(T0 + 10, 1_000_000)).await;
    assert!(
        !found.contains(&old.conversation.id),
        "resolved at the cutoff is kept"
    );
    assert!(
        step("limit", store.resolved_before(T0 + 11, 0))
            .await
            .is_empty()
    );
}
