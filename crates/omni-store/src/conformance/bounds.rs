//! Checks for the bounds a store keeps on what outsiders can make it hold:
//! a customer's unverified identities.

use omni_core::{EmailDetails, Identity};

use super::{POLICY, StoreFactory, T0, Tag, inbound, open, queue, step, step_err};
use crate::{ContextStore, IngestOptions, MAX_UNVERIFIED, StoreError};

/// A customer holds at most [`MAX_UNVERIFIED`] unverified identities: an
/// agent claiming one more is refused with a conflict that says why; a
/// stranger's mail into the thread beyond it is stored in the conversation
/// without recording its sender.
pub async fn unverified_identities_are_bounded<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let ana = Identity::Email(format!("ana-{}@example.com", t.0));
    let first = step(
        "ingest",
        store.ingest(&inbound(&ana, &t.key("m0"), "hi", T0), &queue(), POLICY),
    )
    .await;
    let customer = first.customer.id.clone();
    let conversation = first.conversation.id.clone();
    // Half by agents' claims, half by strangers' mail into the thread.
    let mut thread = IngestOptions::new(queue(), POLICY);
    thread.thread = Some(conversation.clone());
    thread.thread_evidence = "email reply to the conversation's reply address".into();
    for i in 0..MAX_UNVERIFIED {
        let who = Identity::Email(format!("x{i}-{}@example.com", t.0));
        if i % 2 == 0 {
            step("claim", store.claim_identity(&customer, &who)).await;
        } else {
            let mut mail = inbound(&who, &t.key(&format!("e{i}")), "me too", T0 + 1);
            mail.email = Some(EmailDetails {
                message_id: format!("e{i}-{}@x.example", t.0),
                ..EmailDetails::default()
            });
            step("threaded mail", store.ingest_with(&mail, &thread)).await;
        }
    }
    let full = step("customer", store.customer(&customer)).await;
    let full = full.unwrap_or_else(|| panic!("customer {customer} vanished"));
    assert_eq!(full.unverified.len(), MAX_UNVERIFIED);

    let one_more = Identity::Email(format!("more-{}@example.com", t.0));
    let err = step_err("claim beyond", store.claim_identity(&customer, &one_more)).await;
    match err {
        StoreError::Conflict(why) => assert!(why.contains("unverified"), "{why}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Claiming one it holds already is no new room.
    let held = full.unverified[0].clone();
    step("claim held", store.claim_identity(&customer, &held)).await;

    let mut mail = inbound(&one_more, &t.key("beyond"), "and me", T0 + 2);
    mail.email = Some(EmailDetails {
        message_id: format!("beyond-{}@x.example", t.0),
        ..EmailDetails::default()
    });
    let got = step("threaded mail beyond", store.ingest_with(&mail, &thread)).await;
    assert_eq!(
        got.conversation.id, conversation,
        "the mail is kept in the thread"
    );
    assert_eq!(got.message.text, "and me");
    assert_eq!(got.customer.unverified.len(), MAX_UNVERIFIED);
    assert!(!got.customer.unverified.contains(&one_more));
}
