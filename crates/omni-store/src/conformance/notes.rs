//! Checks for the desk's records on a conversation: agents' internal notes
//! in the timeline, marked as such, and the wrap-up code a resolve keeps.

use omni_core::{AgentId, Channel, ConversationStatus, MessageId, Notice};

use super::{POLICY, StoreFactory, T0, Tag, inbound, open, queue, step};
use crate::{ContextStore, NewOutbound};

/// An internal note joins the timeline like an agent's message and is read
/// back, after a reopen, still marked as a note with its transfer target.
pub async fn internal_notes_keep_their_mark<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let first = step(
        "ingest",
        store.ingest(&inbound(&who, &t.key("m1"), "hi", T0), &queue(), POLICY),
    )
    .await;
    let id = first.conversation.id.clone();
    let notice = Notice::InternalNote {
        transfer_to: Some("queue billing".into()),
        wrapup_code: None,
    };
    let note = step(
        "append note",
        store.append_outbound(NewOutbound {
            conversation_id: id.clone(),
            agent_id: Some(AgentId::from("ann")),
            text: "customer is angry, be gentle".into(),
            channel: Channel::CHAT,
            idempotency_key: t.key("note"),
            at_ms: T0 + 10,
            id: MessageId::generate(),
            email: None,
            notice: Some(notice.clone()),
            options: Vec::new(),
        }),
    )
    .await;
    assert!(note.is_internal(), "stored as a note: {note:?}");
    drop(store);
    let store = open(factory).await;
    let history = step("messages", store.messages(&id, 0, 10)).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history.get(1), Some(&note), "read back as written");
    assert_eq!(history[1].notice.as_ref(), Some(&notice));
    assert!(
        !history[0].is_internal(),
        "the customer's message is not a note"
    );
}

/// A resolve with a wrap-up code keeps it on the conversation (durably); a
/// second resolve changes nothing; a reopened conversation resolved without
/// a code has none.
pub async fn resolve_keeps_the_wrapup_code<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let first = step(
        "ingest",
        store.ingest(&inbound(&who, &t.key("m1"), "hi", T0), &queue(), POLICY),
    )
    .await;
    let id = first.conversation.id.clone();
    let resolved = step(
        "resolve with a code",
        store.resolve_with(&id, T0 + 10, Some("sold")),
    )
    .await;
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    assert_eq!(resolved.wrapup_code.as_deref(), Some("sold"));
    let again = step(
        "resolve again",
        store.resolve_with(&id, T0 + 20, Some("other")),
    )
    .await;
    assert_eq!(again.wrapup_code.as_deref(), Some("sold"), "unchanged");
    drop(store);
    let store = open(factory).await;
    let read = step("read", store.conversation(&id)).await;
    assert_eq!(read.and_then(|c| c.wrapup_code).as_deref(), Some("sold"));
    let reopened = step(
        "reopen",
        store.ingest(
            &inbound(&who, &t.key("m2"), "again", T0 + 30),
            &queue(),
            POLICY,
        ),
    )
    .await;
    assert_eq!(reopened.conversation.id, id, "reopened within the window");
    let plain = step("resolve without", store.resolve(&id, T0 + 40)).await;
    assert_eq!(
        plain.wrapup_code, None,
        "a resolve without a code clears it"
    );
}
