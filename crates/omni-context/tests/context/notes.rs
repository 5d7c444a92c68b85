//! Internal notes and wrap-up codes in the service: a note joins the
//! timeline marked and is never handed to an adapter (nor listed to one,
//! see `grpc`); only the conversation's holder writes one; a queue with
//! wrap-up codes needs one of them on a person's resolve, and the code is
//! kept on the conversation and counted.

use omni_bus::topology::CHAT_OUTBOUND;
use omni_context::ContextError;
use omni_context::service::{NoteOptions, WrapUp};
use omni_core::access::{Actor, Role};
use omni_core::trace::TraceContext;
use omni_core::{AgentId, ConversationId, Identity};
use omni_proto::auth::Caller;
use omni_proto::events as ev;
use prost::Message as _;

use crate::support::{Harness, inbound, next};

fn person(user: &str, role: Role) -> Caller {
    Caller::Person(Actor::new(user, role))
}

/// A chat conversation assigned to `agt_bob`.
async fn bobs_conversation(h: &Harness, visitor: &str) -> ConversationId {
    let got = h
        .service
        .ingest(
            &inbound(Identity::ChatVisitor(visitor.into()), visitor, "hi"),
            TraceContext::new_root(),
        )
        .await
        .expect("ingest");
    h.service
        .record_assignment(
            &got.conversation.id,
            &AgentId::from("agt_bob"),
            1,
            TraceContext::new_root(),
        )
        .await
        .expect("assign");
    got.conversation.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_is_stored_marked_and_never_handed_to_an_adapter() {
    let h = Harness::start(|_| {}).await;
    let mut chat_out = h.consume(&CHAT_OUTBOUND).await;
    let id = bobs_conversation(&h, "v-notes-0123456789").await;
    let (bob, carol) = (
        person("agt_bob", Role::Agent),
        person("agt_carol", Role::Agent),
    );
    let note = h
        .service
        .add_note(
            &id,
            &AgentId::from("agt_bob"),
            "VIP customer, be gentle",
            "n1",
            NoteOptions::default(),
            &bob,
        )
        .await
        .expect("note");
    assert!(note.is_internal(), "{note:?}");
    let err = h
        .service
        .add_note(
            &id,
            &AgentId::from("agt_carol"),
            "not mine",
            "n2",
            NoteOptions::default(),
            &carol,
        )
        .await
        .expect_err("carol does not hold it");
    assert!(matches!(err, ContextError::PermissionDenied(_)), "{err}");
    let err = h
        .service
        .add_note(
            &id,
            &AgentId::from("agt_bob"),
            "  ",
            "n3",
            NoteOptions::default(),
            &bob,
        )
        .await
        .expect_err("empty");
    assert!(matches!(err, ContextError::InvalidArgument(_)), "{err}");
    h.service
        .send_reply(
            &id,
            &AgentId::from("agt_bob"),
            "hello there",
            "r1",
            None,
            &bob,
            TraceContext::new_root(),
        )
        .await
        .expect("reply");
    // The chat adapter's next command is the reply: the note never went out.
    let out = next(&mut chat_out).await;
    let command = ev::OutboundMessage::decode(out.payload.as_ref()).expect("decode");
    assert_eq!(
        command.message.map(|m| m.text).as_deref(),
        Some("hello there")
    );
    let timeline = h.service.store().messages(&id, 0, 10).await.expect("read");
    let internal: Vec<bool> = timeline.iter().map(|m| m.is_internal()).collect();
    assert_eq!(
        internal,
        vec![false, true, false],
        "hi, the note, the reply"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_with_wrapup_codes_needs_one_to_resolve() {
    let h = Harness::start(|c| {
        for q in &mut c.queues {
            q.wrapup_codes = vec!["sold".into(), "no_sale".into()];
        }
    })
    .await;
    let id = bobs_conversation(&h, "v-wrapup-0123456789").await;
    let bob = person("agt_bob", Role::Agent);
    let resolve = |wrapup: WrapUp| {
        let (id, bob, service) = (id.clone(), bob.clone(), h.service.clone());
        async move {
            service
                .resolve(&id, &bob, &wrapup, TraceContext::new_root())
                .await
        }
    };
    let err = resolve(WrapUp::default()).await.expect_err("no code");
    assert!(
        matches!(&err, ContextError::InvalidArgument(m)
            if m.contains("needs a wrap-up code") && m.contains("sold, no_sale")),
        "{err}"
    );
    assert_eq!(
        tonic::Status::from(err).code(),
        tonic::Code::InvalidArgument
    );
    let err = resolve(WrapUp {
        code: Some("maybe".into()),
        note: None,
        followup_at_ms: None,
    })
    .await
    .expect_err("unknown code");
    assert!(
        matches!(&err, ContextError::InvalidArgument(m) if m.contains("\"maybe\" is not one of")),
        "{err}"
    );
    let queue = h
        .service
        .store()
        .conversation(&id)
        .await
        .expect("read")
        .expect("there")
        .queue;
    let counted = || {
        omni_telemetry::metrics::counter(
            "omni_wrapups_total",
            "conversations resolved, by queue and wrap-up code",
        )
        .get(&[("queue", queue.as_str()), ("code", "sold")])
    };
    let before = counted();
    let resolved = resolve(WrapUp {
        code: Some("sold".into()),
        note: Some("paid by card".into()),
        followup_at_ms: None,
    })
    .await
    .expect("resolve");
    assert_eq!(resolved.wrapup_code.as_deref(), Some("sold"));
    assert_eq!(counted(), before + 1, "counted once");
    // A retried resolve changes nothing and counts nothing.
    resolve(WrapUp {
        code: Some("sold".into()),
        note: Some("paid by card".into()),
        followup_at_ms: None,
    })
    .await
    .expect("again");
    assert_eq!(counted(), before + 1, "a retry is not counted");
    let timeline = h.service.store().messages(&id, 0, 10).await.expect("read");
    let last = timeline.last().expect("messages");
    assert_eq!(last.text, "paid by card");
    assert_eq!(
        last.notice,
        Some(omni_core::Notice::InternalNote {
            transfer_to: None,
            wrapup_code: Some("sold".into()),
        })
    );
    assert_eq!(timeline.len(), 2, "the note once");
}
