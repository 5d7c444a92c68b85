//! Checks for customer profiles, linking, merging and unmerging, email
//! threading, attachments, delivery reports and SMS opt-outs.

use std::collections::BTreeMap;
use std::sync::Arc;

use omni_core::{
    AgentId, Attachment, Channel, ConversationStatus, CustomerId, CustomerUpdate, DeliveryStatus,
    EmailDetails, Identity, InboundMessage, MessageId, Notice, OptChange, Provenance, SmsDetails,
    StoredEmail,
};
use tokio::task::JoinSet;

use super::{POLICY, StoreFactory, T0, Tag, WINDOW_MS, inbound, open, queue, step, step_err};
use crate::{ContextStore, IngestOptions, NewOutbound, StoreError};

impl Tag {
    pub(super) fn email(&self, who: &str) -> Identity {
        Identity::Email(format!("{who}-{}@example.com", self.0))
    }

    fn phone(&self, n: u32) -> Identity {
        // Unique per check: the tag's hash picks the last digits.
        let hash = self
            .0
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
        Identity::Phone(format!("+1202555{:04}{n}", hash % 10_000))
    }
}

pub(super) fn agent_said(evidence: &str) -> Provenance {
    Provenance {
        at_ms: T0,
        by: "agt_alice".into(),
        evidence: evidence.into(),
    }
}

pub(super) fn email(from: &Identity, key: &str, message_id: &str, at: i64) -> InboundMessage {
    let mut m = inbound(from, key, "new text", at);
    m.email = Some(EmailDetails {
        message_id: message_id.into(),
        subject: "Order 42".into(),
        to: "support@example.com".into(),
        html: "<p>new text</p>".into(),
        quoted: "> earlier".into(),
        signature: "-- Ana".into(),
        ..EmailDetails::default()
    });
    m
}

fn options() -> IngestOptions {
    IngestOptions::new(queue(), POLICY)
}

/// A customer lists every conversation, newest first, in pages; attribute
/// updates set and clear fields.
pub async fn customer_profile_lists_conversations<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("profile");
    let first = step(
        "ingest",
        store.ingest(&inbound(&who, &t.key("1"), "a", T0), &queue(), POLICY),
    )
    .await;
    step("resolve", store.resolve(&first.conversation.id, T0 + 1)).await;
    let later = T0 + 2 * WINDOW_MS;
    let second = step(
        "ingest",
        store.ingest(&inbound(&who, &t.key("2"), "b", later), &queue(), POLICY),
    )
    .await;
    assert!(second.opened, "after the window a new conversation opens");
    let customer = first.customer.id.clone();
    let all = step(
        "customer_conversations",
        store.customer_conversations(&customer, 0, 10),
    )
    .await;
    let ids: Vec<_> = all.iter().map(|c| c.id.clone()).collect();
    assert_eq!(
        ids,
        vec![
            second.conversation.id.clone(),
            first.conversation.id.clone()
        ]
    );
    let page = step("page 2", store.customer_conversations(&customer, 1, 1)).await;
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, first.conversation.id);

    let mut update = CustomerUpdate {
        display_name: Some("Ana".into()),
        language: Some("de".into()),
        tier: Some("gold".into()),
        external_id: Some("crm-7".into()),
        attributes: BTreeMap::from([("plan".to_owned(), "pro".to_owned())]),
    };
    let updated = step("update_customer", store.update_customer(&customer, &update)).await;
    assert_eq!(updated.language.as_deref(), Some("de"));
    assert_eq!(
        updated.attributes.get("plan").map(String::as_str),
        Some("pro")
    );
    update = CustomerUpdate {
        tier: Some(String::new()),
        attributes: BTreeMap::from([("plan".to_owned(), String::new())]),
        ..CustomerUpdate::default()
    };
    step("clear", store.update_customer(&customer, &update)).await;
    let read = step("customer", store.customer(&customer))
        .await
        .expect("customer");
    assert_eq!(read.tier, None);
    assert!(read.attributes.is_empty());
    assert_eq!(read.external_id.as_deref(), Some("crm-7"));
    assert_eq!(read.display_name.as_deref(), Some("Ana"));

    let ghost = CustomerId::from(format!("cus_missing_{}", t.0));
    let err = step_err("update unknown", store.update_customer(&ghost, &update)).await;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// Linking an unknown identity adds it; linking another customer's identity
/// merges that customer; a claimed identity is recorded but never matched.
pub async fn link_identity_adds_or_merges<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let chat = t.chat("link");
    let mail = t.email("link");
    let phone = t.phone(1);
    let a = step(
        "chat",
        store.ingest(&inbound(&chat, &t.key("c1"), "hi", T0), &queue(), POLICY),
    )
    .await;
    let b = step(
        "mail",
        store.ingest(
            &inbound(&mail, &t.key("e1"), "hi", T0 + 1),
            &queue(),
            POLICY,
        ),
    )
    .await;
    assert_ne!(a.customer.id, b.customer.id);

    let claimed = t.email("typed");
    let claim = step("claim", store.claim_identity(&a.customer.id, &claimed)).await;
    assert_eq!(claim.unverified, vec![claimed.clone()]);
    assert_eq!(
        step("lookup claimed", store.customer_by_identity(&claimed)).await,
        None
    );

    let linked = step(
        "link phone",
        store.link_identity(&a.customer.id, &phone, &agent_said("caller confirmed")),
    )
    .await;
    assert!(linked.merge.is_none());
    assert!(linked.customer.identities.contains(&phone));
    assert_eq!(
        linked.customer.identity_sources[&phone.key()].evidence,
        "caller confirmed"
    );
    let sms = step(
        "sms",
        store.ingest(
            &inbound(&phone, &t.key("s1"), "hi", T0 + 2),
            &queue(),
            POLICY,
        ),
    )
    .await;
    assert_eq!(
        sms.conversation.id, a.conversation.id,
        "the phone continues the chat conversation"
    );
    assert!(
        sms.channel_changed && !a.channel_changed && !b.channel_changed,
        "chat then sms is a change of channel; a first message is not"
    );

    let linked = step(
        "link mail",
        store.link_identity(&a.customer.id, &mail, &agent_said("same order")),
    )
    .await;
    let record = linked
        .merge
        .expect("linking another customer's identity merges it");
    assert_eq!(record.survivor, a.customer.id);
    assert_eq!(record.absorbed.id, b.customer.id);
    assert_eq!(record.conversations, vec![b.conversation.id.clone()]);
    assert!(linked.customer.merges.contains(&record.id));
    assert_eq!(
        step("owner", store.customer_by_identity(&mail)).await,
        Some(a.customer.id.clone())
    );
    let tomb = step("absorbed", store.customer(&b.customer.id))
        .await
        .expect("tombstone");
    assert_eq!(tomb.merged_into, Some(a.customer.id.clone()));
    let moved = step("moved", store.conversation(&b.conversation.id))
        .await
        .expect("conversation");
    assert_eq!(moved.customer_id, a.customer.id);
    let list = step("list", store.customer_conversations(&a.customer.id, 0, 10)).await;
    assert_eq!(list.len(), 2);
    assert!(
        step(
            "absorbed list",
            store.customer_conversations(&b.customer.id, 0, 10)
        )
        .await
        .is_empty()
    );

    // Linking again is a no-op; linking to the tombstone is refused.
    let again = step(
        "relink",
        store.link_identity(&a.customer.id, &mail, &agent_said("x")),
    )
    .await;
    assert!(again.merge.is_none());
    let err = step_err(
        "link to tombstone",
        store.link_identity(&b.customer.id, &t.email("z"), &agent_said("x")),
    )
    .await;
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = step_err(
        "merge into itself",
        store.merge_customers(&a.customer.id, &a.customer.id, &agent_said("x")),
    )
    .await;
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

/// Unmerge restores both customers: identities, attributes, opt-outs and
/// conversations (with messages added since); it cannot be done twice.
pub async fn unmerge_restores_both_customers<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let chat = t.chat("unmerge");
    let phone = t.phone(2);
    let a = step(
        "chat",
        store.ingest(&inbound(&chat, &t.key("c1"), "hi", T0), &queue(), POLICY),
    )
    .await;
    let b = step(
        "sms",
        store.ingest(
            &inbound(&phone, &t.key("s1"), "hi", T0 + 1),
            &queue(),
            POLICY,
        ),
    )
    .await;
    let lang = CustomerUpdate {
        language: Some("pt".into()),
        tier: Some("gold".into()),
        ..CustomerUpdate::default()
    };
    step("attrs", store.update_customer(&b.customer.id, &lang)).await;
    let mine = CustomerUpdate {
        tier: Some("silver".into()),
        ..CustomerUpdate::default()
    };
    step("attrs a", store.update_customer(&a.customer.id, &mine)).await;

    let record = step(
        "merge",
        store.merge_customers(&a.customer.id, &b.customer.id, &agent_said("same person")),
    )
    .await;
    let merged = step("survivor", store.customer(&a.customer.id))
        .await
        .expect("survivor");
    assert_eq!(
        merged.language.as_deref(),
        Some("pt"),
        "empty attributes are filled"
    );
    assert_eq!(
        merged.tier.as_deref(),
        Some("silver"),
        "the survivor's own attributes win"
    );
    assert!(merged.identities.contains(&phone));

    // After the merge the phone writes into the merged customer's open conversation...
    let mut stop = inbound(&phone, &t.key("s2"), "STOP", T0 + 5);
    stop.sms = Some(SmsDetails {
        opt: Some(OptChange::Out),
        ..SmsDetails::default()
    });
    let after = step("sms after merge", store.ingest(&stop, &queue(), POLICY)).await;
    assert_eq!(after.customer.id, a.customer.id);

    let (survivor, restored) = step(
        "unmerge",
        store.unmerge(&record.id, &agent_said("different people")),
    )
    .await;
    assert_eq!(restored.id, b.customer.id);
    assert_eq!(restored.identities, vec![phone.clone()]);
    assert_eq!(restored.language.as_deref(), Some("pt"));
    assert_eq!(restored.merged_into, None);
    assert!(
        restored.opt_out(&phone).is_some(),
        "the opt-out follows its phone back"
    );
    assert_eq!(survivor.identities, vec![chat.clone()]);
    assert_eq!(survivor.language, None, "filled attributes are cleared");
    assert_eq!(survivor.tier.as_deref(), Some("silver"));
    assert!(survivor.opt_outs.is_empty());
    assert_eq!(
        step("owner", store.customer_by_identity(&phone)).await,
        Some(b.customer.id.clone())
    );
    let back = step("conversation", store.conversation(&b.conversation.id))
        .await
        .expect("conversation");
    assert_eq!(back.customer_id, b.customer.id);
    let list = step(
        "list b",
        store.customer_conversations(&b.customer.id, 0, 10),
    )
    .await;
    assert_eq!(
        list.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![b.conversation.id.clone()]
    );
    let list = step(
        "list a",
        store.customer_conversations(&a.customer.id, 0, 10),
    )
    .await;
    assert!(list.iter().all(|c| c.customer_id == a.customer.id));
    let stored = step("record", store.merge_record(&record.id))
        .await
        .expect("record");
    assert_eq!(
        stored.undone.map(|p| p.evidence),
        Some("different people".to_owned())
    );

    // The phone's next message goes to the restored customer again.
    let next = step(
        "sms after unmerge",
        store.ingest(
            &inbound(&phone, &t.key("s3"), "hi", T0 + 6),
            &queue(),
            POLICY,
        ),
    )
    .await;
    assert_eq!(next.customer.id, b.customer.id);
    let err = step_err("unmerge twice", store.unmerge(&record.id, &agent_said("x"))).await;
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = step_err(
        "unknown merge",
        store.unmerge("mrg_missing", &agent_said("x")),
    )
    .await;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// Concurrent messages from one identity, links of that identity and merges
/// in both directions: one merge wins, every message is stored once, and
/// every conversation belongs to the customer who owns its identities.
pub async fn concurrent_links_and_merges_are_race_free<F: StoreFactory>(factory: &F)
where
    F::Store: ContextStore,
{
    let store: Arc<F::Store> = open(factory).await;
    let t = Tag::new();
    let chat = t.chat("race");
    let mail = t.email("race");
    let a = step(
        "chat",
        store.ingest(&inbound(&chat, &t.key("c0"), "hi", T0), &queue(), POLICY),
    )
    .await;
    let b = step(
        "mail",
        store.ingest(&inbound(&mail, &t.key("e0"), "hi", T0), &queue(), POLICY),
    )
    .await;

    let mut ingests = JoinSet::new();
    for i in 1..=12 {
        let store = Arc::clone(&store);
        let m = inbound(&mail, &t.key(&format!("e{i}")), "again", T0 + i);
        ingests.spawn(async move { step("ingest", store.ingest(&m, &queue(), POLICY)).await });
    }
    let mut merges = JoinSet::new();
    for i in 0..6 {
        let store = Arc::clone(&store);
        let (a_id, b_id, mail) = (a.customer.id.clone(), b.customer.id.clone(), mail.clone());
        merges.spawn(async move {
            match i % 3 {
                0 => store
                    .link_identity(&a_id, &mail, &agent_said("race"))
                    .await
                    .map(|l| l.merge.is_some()),
                1 => store
                    .merge_customers(&a_id, &b_id, &agent_said("race"))
                    .await
                    .map(|_| true),
                _ => store
                    .merge_customers(&b_id, &a_id, &agent_said("race"))
                    .await
                    .map(|_| true),
            }
        });
    }
    while let Some(r) = ingests.join_next().await {
        r.expect("ingest task");
    }
    let mut merged = 0;
    while let Some(r) = merges.join_next().await {
        match r.expect("merge task") {
            Ok(true) => merged += 1,
            Ok(false) => {}
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("merge failed: {e}"),
        }
    }
    assert_eq!(merged, 1, "exactly one merge happened");

    let owner = step("owner", store.customer_by_identity(&mail))
        .await
        .expect("owned");
    assert_eq!(
        step("chat owner", store.customer_by_identity(&chat)).await,
        Some(owner.clone())
    );
    let survivor = step("survivor", store.customer(&owner))
        .await
        .expect("survivor");
    assert_eq!(survivor.merged_into, None);
    assert_eq!(survivor.identities.len(), 2);
    let conversations = step("list", store.customer_conversations(&owner, 0, 100)).await;
    let mut total = 0;
    for c in &conversations {
        assert_eq!(c.customer_id, owner);
        let messages = step("messages", store.messages(&c.id, 0, 1000)).await;
        let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
        assert_eq!(
            seqs,
            (1..=c.message_count).collect::<Vec<_>>(),
            "gap-free timeline"
        );
        total += messages.len();
    }
    assert_eq!(total, 14, "every message stored once, none lost");
}

/// Email threading: Message-IDs find their conversation; a reply from an
/// unknown address into a thread stays in the thread with the sender as an
/// unverified identity of its customer (not linked, not the reply target); a
/// known customer's mail into another's thread stays in the thread without a
/// merge, as an unverified participant too; attachments are stored up to
/// the size limit.
pub async fn email_threads_and_attachments<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let ana = t.email("ana");
    let mid = format!("m1-{}@mail.example", t.0);
    let mut first = email(&ana, &t.key("e1"), &mid, T0);
    if let Some(e) = first.email.as_mut() {
        e.attachments = vec![
            Attachment {
                name: "a.txt".into(),
                content_type: "text/plain".into(),
                content: b"small".to_vec(),
            },
            Attachment {
                name: "big.bin".into(),
                content_type: "application/octet-stream".into(),
                content: vec![7; 64],
            },
        ];
    }
    let mut opts = options();
    opts.max_attachment_bytes = 16;
    let got = step("ingest", store.ingest_with(&first, &opts)).await;
    let conversation = got.conversation.id.clone();
    let stored = got.message.email.clone().expect("email details stored");
    assert_eq!(stored.html, "<p>new text</p>");
    assert_eq!(stored.quoted, "> earlier");
    assert_eq!(stored.signature, "-- Ana");
    assert_eq!(stored.attachments.len(), 2);
    assert!(stored.attachments[0].stored && !stored.attachments[1].stored);
    assert_eq!(stored.attachments[1].size, 64);
    assert_eq!(
        step("attachment", store.attachment(&got.message.id, 1)).await,
        Some(b"small".to_vec())
    );
    assert_eq!(
        step("too big", store.attachment(&got.message.id, 2)).await,
        None
    );
    assert_eq!(
        step("thread lookup", store.conversation_by_email_id(&mid)).await,
        Some(conversation.clone())
    );
    let read = step("read back", store.messages(&conversation, 0, 10)).await;
    assert_eq!(read[0].email, got.message.email);

    // A forwarded address nobody knows replies into the thread.
    let other = t.email("colleague");
    let mut reply = email(
        &other,
        &t.key("e2"),
        &format!("m2-{}@x.example", t.0),
        T0 + 1,
    );
    if let Some(e) = reply.email.as_mut() {
        e.in_reply_to = Some(mid.clone());
    }
    let mut opts = options();
    opts.thread = Some(conversation.clone());
    opts.thread_evidence = "email reply to the conversation's reply address".into();
    let got = step("threaded", store.ingest_with(&reply, &opts)).await;
    assert_eq!(got.conversation.id, conversation);
    assert!(
        !got.customer.identities.contains(&other),
        "a new sender is not linked on a reply address or Message-ID alone"
    );
    assert_eq!(got.customer.unverified, vec![other.clone()]);
    assert_eq!(
        got.message
            .email
            .as_ref()
            .map(|e| Identity::Email(e.from.clone())),
        Some(other.clone()),
        "the message names its sender"
    );
    assert_eq!(
        got.conversation.last_identity, ana,
        "the verified address stays the reply target"
    );
    assert_eq!(
        step("unknown owner", store.customer_by_identity(&other)).await,
        None
    );
    let again = step(
        "threaded again",
        store.ingest_with(
            &email(
                &other,
                &t.key("e2b"),
                &format!("m2b-{}@x.example", t.0),
                T0 + 1,
            ),
            &opts,
        ),
    )
    .await;
    assert_eq!(again.customer.unverified, vec![other.clone()], "kept once");

    // A known, different customer writing into the thread: no merge.
    let bob = t.chat("bob");
    let bob_first = step(
        "bob",
        store.ingest(&inbound(&bob, &t.key("b1"), "hi", T0), &queue(), POLICY),
    )
    .await;
    let bob_mail = t.email("bob");
    step(
        "bob mail",
        store.link_identity(&bob_first.customer.id, &bob_mail, &agent_said("x")),
    )
    .await;
    let cross = email(
        &bob_mail,
        &t.key("e3"),
        &format!("m3-{}@x.example", t.0),
        T0 + 2,
    );
    let got = step("cross", store.ingest_with(&cross, &opts)).await;
    assert_eq!(got.conversation.id, conversation, "the thread wins");
    assert_eq!(
        got.customer.unverified,
        vec![other.clone(), bob_mail.clone()]
    );
    assert_eq!(got.conversation.last_identity, ana);
    assert_eq!(
        step("bob owner", store.customer_by_identity(&bob_mail)).await,
        Some(bob_first.customer.id.clone())
    );

    // Our own outbound Message-IDs thread too.
    let out_id = MessageId::generate();
    let sent = step(
        "outbound",
        store.append_outbound(NewOutbound {
            conversation_id: conversation.clone(),
            agent_id: Some(AgentId::from("agt_alice")),
            text: "thanks".into(),
            channel: Channel::EMAIL,
            idempotency_key: t.key("o1"),
            at_ms: T0 + 3,
            id: out_id.clone(),
            email: Some(StoredEmail {
                message_id: format!("{out_id}@reply.example"),
                subject: "Re: Order 42".into(),
                in_reply_to: Some(mid.clone()),
                ..StoredEmail::default()
            }),
            notice: None,
            options: Vec::new(),
        }),
    )
    .await;
    assert_eq!(sent.id, out_id);
    assert_eq!(
        sent.email.as_ref().map(|e| e.subject.as_str()),
        Some("Re: Order 42")
    );
    // An agent's attachments are kept where inbound ones are; again is harmless.
    let reply_file = vec![(1, b"%PDF-1.4 reply".to_vec())];
    step("put", store.put_attachments(&out_id, &reply_file)).await;
    step("put again", store.put_attachments(&out_id, &reply_file)).await;
    assert_eq!(
        step("reply attachment", store.attachment(&out_id, 1)).await,
        Some(b"%PDF-1.4 reply".to_vec())
    );
    assert_eq!(step("no second", store.attachment(&out_id, 2)).await, None);
    assert_eq!(
        step(
            "out lookup",
            store.conversation_by_email_id(&format!("{out_id}@reply.example"))
        )
        .await,
        Some(conversation)
    );
}

/// Delivery reports move a message forward only, keep a failure's error,
/// and a repeated report changes nothing.
pub async fn delivery_reports_move_forward_only<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.phone(3);
    let first = step(
        "ingest",
        store.ingest(&inbound(&who, &t.key("s1"), "hi", T0), &queue(), POLICY),
    )
    .await;
    let id = first.conversation.id.clone();
    let send = |key: &str| NewOutbound {
        conversation_id: id.clone(),
        agent_id: Some(AgentId::from("agt_alice")),
        text: "reply".into(),
        channel: Channel::SMS,
        idempotency_key: t.key(key),
        at_ms: T0 + 1,
        id: MessageId::generate(),
        email: None,
        notice: None,
        options: Vec::new(),
    };
    let one = step("out", store.append_outbound(send("o1"))).await;
    let sent = step(
        "sent",
        store.record_delivery(&id, &one.id, DeliveryStatus::Sent, None),
    )
    .await;
    assert_eq!(sent.map(|m| m.delivery), Some(DeliveryStatus::Sent));
    assert_eq!(
        step(
            "sent again",
            store.record_delivery(&id, &one.id, DeliveryStatus::Sent, None)
        )
        .await,
        None
    );
    let delivered = step(
        "delivered",
        store.record_delivery(&id, &one.id, DeliveryStatus::Delivered, None),
    )
    .await;
    assert_eq!(
        delivered.map(|m| m.delivery),
        Some(DeliveryStatus::Delivered)
    );
    assert_eq!(
        step(
            "late sent",
            store.record_delivery(&id, &one.id, DeliveryStatus::Sent, None)
        )
        .await,
        None
    );

    let two = step("out 2", store.append_outbound(send("o2"))).await;
    let failed = step(
        "failed",
        store.record_delivery(&id, &two.id, DeliveryStatus::Failed, Some("30006 landline")),
    )
    .await;
    assert_eq!(
        failed.as_ref().and_then(|m| m.error.as_deref()),
        Some("30006 landline")
    );
    let read = step("read", store.messages(&id, 0, 10)).await;
    assert_eq!(read[1].delivery, DeliveryStatus::Delivered);
    assert_eq!(read[2].delivery, DeliveryStatus::Failed);
    assert_eq!(read[2].error.as_deref(), Some("30006 landline"));
    let err = step_err(
        "unknown",
        store.record_delivery(&id, &MessageId::generate(), DeliveryStatus::Sent, None),
    )
    .await;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// An SMS STOP records the opt-out on the phone identity and marks the
/// message with its notice; START clears it.
pub async fn sms_opt_out_and_in<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let phone = t.phone(4);
    let mut stop = inbound(&phone, &t.key("s1"), " STOP ", T0);
    stop.sms = Some(SmsDetails {
        opt: Some(OptChange::Out),
        ..SmsDetails::default()
    });
    let got = step("stop", store.ingest(&stop, &queue(), POLICY)).await;
    let opt_out = got.customer.opt_out(&phone).expect("opted out");
    assert_eq!((opt_out.at_ms, opt_out.keyword.as_str()), (T0, "STOP"));
    assert_eq!(
        got.message.notice,
        Some(Notice::SmsOptOut {
            phone: phone.value().to_owned(),
            keyword: "STOP".into()
        })
    );
    let mut start = inbound(&phone, &t.key("s2"), "START", T0 + 1);
    start.sms = Some(SmsDetails {
        opt: Some(OptChange::In),
        ..SmsDetails::default()
    });
    let got = step("start", store.ingest(&start, &queue(), POLICY)).await;
    assert!(got.customer.opt_outs.is_empty());
    assert_eq!(got.conversation.status, ConversationStatus::Queued);
    let read = step("customer", store.customer(&got.customer.id))
        .await
        .expect("customer");
    assert!(read.opt_outs.is_empty());
}
