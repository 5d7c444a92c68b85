//! What enrichment learned about the contacts waiting on the wall
//! (docs/enrichment.md): each waiting contact's intent, sentiment label and
//! language, read from its conversation's attributes in the context
//! service, for the wall's filter. The router's queue snapshot does not
//! carry them; the desk asks for at most [`MAX_CONTACTS_WITH_FACTS`]
//! contacts per read (the oldest first), concurrently, for at most
//! [`FACTS_WAIT`]: a contact whose conversation cannot be read in time
//! (the context service down, the conversation resolved meanwhile) goes
//! without, and the wall shows the router's numbers all the same.

use futures_util::future::join_all;
use omni_core::access::Actor;
use omni_proto::context::GetConversationRequest;

use crate::Desk;
use crate::wall_api::{ContactWall, QueueWall, for_actor};

/// The most contacts whose facts one wall read asks for.
pub const MAX_CONTACTS_WITH_FACTS: usize = 100;

/// How long one wall read waits for the facts.
pub const FACTS_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Sets `intent`, `sentiment` and `lang` on the contacts of `queues`, read
/// for `actor` (`None`: as the desk itself).
pub async fn add_facts(desk: &Desk, actor: Option<&Actor>, queues: &mut [QueueWall]) {
    let mut contacts: Vec<&mut ContactWall> = queues
        .iter_mut()
        .flat_map(|q| q.contacts.iter_mut())
        .collect();
    contacts.sort_by_key(|c| c.queued_at_ms);
    contacts.truncate(MAX_CONTACTS_WITH_FACTS);
    let reads = contacts.iter().map(|c| {
        let mut context = desk.context();
        let request = GetConversationRequest {
            conversation_id: c.conversation_id.clone(),
        };
        async move { context.get_conversation(for_actor(actor, request)).await }
    });
    let Ok(found) = tokio::time::timeout(FACTS_WAIT, join_all(reads)).await else {
        tracing::debug!("waiting contacts' facts not read in time");
        return;
    };
    for (contact, found) in contacts.into_iter().zip(found) {
        let Ok(found) = found else { continue };
        let Some(conversation) = found.into_inner().conversation else {
            continue;
        };
        let fact = |k: &str| {
            conversation
                .attributes
                .get(k)
                .filter(|v| !v.is_empty())
                .cloned()
        };
        contact.intent = fact("intent");
        contact.sentiment = fact("sentiment_label");
        contact.lang = fact("lang");
    }
}
