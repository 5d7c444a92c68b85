//! An agent's typing and reading: published for the customer's page as
//! conversation events, only by the agent holding the conversation.

use futures_util::StreamExt;
use omni_bus::topology::subjects;
use omni_context::ContextError;
use omni_context::service::Signal;
use omni_core::access::{Actor, Role};
use omni_core::trace::TraceContext;
use omni_core::{AgentId, Identity};
use omni_proto::auth::Caller;
use omni_proto::events as ev;
use prost::Message as _;

use crate::support::{Harness, inbound};

/// The next event of `kind` on the conversation-event fan-out.
async fn next_event(
    events: &mut omni_bus::BusStream<omni_bus::Message>,
) -> ev::conversation_event::Kind {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), events.next())
            .await
            .expect("an event within 10 s")
            .expect("stream open");
        let event = ev::ConversationEvent::decode(message.payload.as_ref()).expect("decodes");
        match event.kind {
            Some(
                k @ (ev::conversation_event::Kind::Typing(_)
                | ev::conversation_event::Kind::Read(_)),
            ) => {
                return k;
            }
            _ => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holder_signals_typing_and_reading_and_nobody_else_does() {
    let h = Harness::start(|_| {}).await;
    let visitor = Identity::ChatVisitor("v_0123456789abcdef0123456789abcdef".into());
    let first = h
        .service
        .ingest(
            &inbound(
                visitor.clone(),
                "chat:v_0123456789abcdef0123456789abcdef:c-1",
                "hello",
            ),
            TraceContext::new_root(),
        )
        .await
        .expect("first");
    let conversation = first.conversation.id.clone();
    h.service
        .ingest(
            &inbound(
                visitor,
                "chat:v_0123456789abcdef0123456789abcdef:c-2",
                "anyone?",
            ),
            TraceContext::new_root(),
        )
        .await
        .expect("second");
    let alice = AgentId::from("alice");
    h.service
        .record_assignment(&conversation, &alice, 1, TraceContext::new_root())
        .await
        .expect("assign");
    let mut events = h
        .bus
        .subscribe(subjects::CONVERSATION_EVENTS)
        .await
        .expect("subscribe");
    let as_alice = Caller::Person(Actor::new("alice", Role::Agent));

    h.service
        .signal(&conversation, &alice, Signal::Typing(true), &as_alice)
        .await
        .expect("alice types");
    match next_event(&mut events).await {
        ev::conversation_event::Kind::Typing(t) => {
            assert_eq!(
                (t.by.as_str(), t.agent_id.as_str(), t.typing),
                ("agent", "alice", true)
            );
        }
        other => panic!("expected typing, got {other:?}"),
    }

    // Read up to the first message: only its chat client id.
    h.service
        .signal(&conversation, &alice, Signal::ReadUpTo(1), &as_alice)
        .await
        .expect("alice reads");
    match next_event(&mut events).await {
        ev::conversation_event::Kind::Read(r) => {
            assert_eq!((r.up_to_seq, r.client_ids), (1, vec!["c-1".to_owned()]));
        }
        other => panic!("expected read, got {other:?}"),
    }

    // Bob does not hold it, and alice may not sign as bob.
    let as_bob = Caller::Person(Actor::new("bob", Role::Agent));
    let refused = h
        .service
        .signal(
            &conversation,
            &AgentId::from("bob"),
            Signal::Typing(true),
            &as_bob,
        )
        .await;
    assert!(
        matches!(refused, Err(ContextError::PermissionDenied(_))),
        "{refused:?}"
    );
    let refused = h
        .service
        .signal(
            &conversation,
            &AgentId::from("bob"),
            Signal::Typing(true),
            &as_alice,
        )
        .await;
    assert!(
        matches!(refused, Err(ContextError::PermissionDenied(_))),
        "{refused:?}"
    );
}
