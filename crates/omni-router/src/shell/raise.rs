//! A later message raises a held contact's priority: the context service
//! sends the conversation's routing request again when a routing rule with
//! a `priority` matches a message of a conversation the router already
//! holds, and the shell raises the contact ([`Event::PriorityRaised`]):
//! the contact record takes the new priority and the rule's reason,
//! durably first, then the engine moves it up its queue, at its age. A
//! lower or equal priority, or a redelivery, changes nothing.

use omni_router_core::{EngineError, Event};
use omni_store::ContactRecord;
use tracing::info;

use super::RouterShell;
use crate::RouterError;

impl RouterShell {
    /// Raises the held contact of `request` to `request.priority` when that
    /// is higher than its own, adding the request's new reasons to its
    /// record (the explanation's `rules` lines).
    pub(super) async fn raise_priority(&self, request: &ContactRecord) -> Result<(), RouterError> {
        let updated = {
            let contacts = self.lock_contacts();
            let Some(held) = contacts.get(&request.conversation_id) else {
                return Ok(());
            };
            if request.priority <= held.priority {
                return Ok(());
            }
            let mut updated = held.clone();
            updated.priority = request.priority;
            for reason in &request.reasons {
                if !updated.reasons.contains(reason) {
                    updated.reasons.push(reason.clone());
                }
            }
            updated
        };
        self.store.put_contact(&updated).await?;
        info!(
            conversation_id = %updated.conversation_id,
            priority = updated.priority,
            "contact priority raised by a later message"
        );
        self.lock_contacts()
            .insert(updated.conversation_id.clone(), updated.clone());
        let event = Event::PriorityRaised {
            conversation_id: updated.conversation_id.clone(),
            priority: updated.priority,
        };
        match self.apply(event).await {
            Err(RouterError::Engine(EngineError::UnknownContact(_))) => Ok(()),
            other => other,
        }
    }
}
