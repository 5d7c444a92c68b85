//! Who may do what on the context service: the method table the gRPC gate
//! enforces ([`METHODS`]: the least role per method), and the service's own
//! checks of the records a call touches ([`Authority`]).
//!
//! A service token acting as itself (the chat adapter) passes every check.
//! A person is held to their relation to the record:
//!
//! | record | an agent may | a supervisor or admin |
//! |---|---|---|
//! | conversation: read (get, messages, attachments) | when it is assigned to them, they handled it last, or it waits in its queue unassigned | any |
//! | conversation: reply, resolve, add an internal note, signal typing or read | when it is assigned to them, and only as themselves | any |
//! | customer: read, update | when one of the customer's 50 latest conversations is one they may read | any |
//! | customer: link an identity | as unverified, when one of those conversations is assigned to them, and only an identity no other customer has | any, verified or not (linking another customer's identity merges them) |
//! | customer: find by identity, merge, unmerge | never (the method table) | any |
//! | customer: erase, export | never (the method table) | an admin only |
//! | dead letters: list | never (the method table) | an admin only |
//! | survey link: check, answer | never | never: service tokens only (the chat service) |
//!
//! **How "offered" is known.** Offers live in the router and reach the desk
//! over `WatchAgent`; the context service never sees them. A conversation
//! is offered only while it waits in its queue, unassigned, so that is the
//! state in which an agent may read a conversation not yet theirs (to
//! decide on an offer); once another agent holds it, or it is resolved by
//! someone else, it is closed to them. The desk narrows this further to the
//! offers the router shows the signed-in agent.

use omni_core::access::Role;
use omni_core::{AgentId, Conversation, ConversationStatus, CustomerId, Identity};
use omni_proto::auth::{Caller, MethodTable};

use crate::{ContextError, ContextService};

/// The least role a person needs per method of `omni.context.v1.ContextService`.
pub const METHODS: MethodTable = MethodTable {
    service: "omni.context.v1.ContextService",
    methods: &[
        ("GetConversation", Role::Agent),
        ("ListMessages", Role::Agent),
        ("GetCustomer", Role::Agent),
        ("SendMessage", Role::Agent),
        ("ResolveConversation", Role::Agent),
        ("FindConversation", Role::Supervisor),
        ("WatchConversations", Role::Supervisor),
        ("UpdateCustomer", Role::Agent),
        ("ListCustomerConversations", Role::Agent),
        ("FindCustomer", Role::Supervisor),
        ("LinkIdentity", Role::Agent),
        ("MergeCustomers", Role::Supervisor),
        ("UnmergeCustomers", Role::Supervisor),
        ("GetMerge", Role::Agent),
        ("GetAttachment", Role::Agent),
        ("EraseCustomer", Role::Admin),
        ("ExportCustomer", Role::Admin),
        ("ListDeadLetters", Role::Admin),
        ("AddNote", Role::Agent),
        ("SignalConversation", Role::Agent),
        ("ListSurveyAnswers", Role::Supervisor),
        // Service only: the gate lets a service token through, and the
        // handler refuses every person (an admin too); the table holds
        // the highest role so no person passes here either way.
        ("AnswerSurveyLink", Role::Admin),
    ],
};

/// How many of a customer's latest conversations are searched for one
/// the agent may read.
const CUSTOMER_WINDOW: usize = 50;

fn denied(caller: &Caller, what: String) -> ContextError {
    let who = caller.actor().map_or("the caller", |a| a.user.as_str());
    ContextError::PermissionDenied(format!("{who} may not {what}"))
}

/// Whether `caller` may read `conversation`.
pub fn may_read(caller: &Caller, conversation: &Conversation) -> bool {
    let Some(actor) = caller.actor() else {
        return true;
    };
    let is = |agent: &Option<omni_core::AgentId>| {
        agent.as_ref().is_some_and(|a| a.as_str() == actor.user)
    };
    actor.role.at_least(Role::Supervisor)
        || is(&conversation.assigned_agent)
        || is(&conversation.last_agent)
        || (conversation.status == ConversationStatus::Queued
            && conversation.assigned_agent.is_none())
}

/// Whether `caller` holds `conversation` (or may act on anyone's).
pub fn may_hold(caller: &Caller, conversation: &Conversation) -> bool {
    match caller.actor() {
        None => true,
        Some(actor) => {
            actor.role.at_least(Role::Supervisor)
                || conversation
                    .assigned_agent
                    .as_ref()
                    .is_some_and(|a| a.as_str() == actor.user)
        }
    }
}

/// The checks that need the store.
pub trait Authority {
    /// The conversation, if `caller` may read it.
    fn readable(
        &self,
        caller: &Caller,
        id: &omni_core::ConversationId,
    ) -> impl std::future::Future<Output = Result<Conversation, ContextError>> + Send;

    /// Fails unless `caller` may act on the customer's record.
    fn check_customer(
        &self,
        caller: &Caller,
        id: &CustomerId,
    ) -> impl std::future::Future<Output = Result<(), ContextError>> + Send;

    /// Fails unless `caller` may link `identity` (normalized) to the
    /// customer as asked: an agent only on the customer of a conversation
    /// assigned to them, only unverified, and only an identity no other
    /// customer has.
    fn check_link(
        &self,
        caller: &Caller,
        id: &CustomerId,
        identity: &Identity,
        verified: bool,
    ) -> impl std::future::Future<Output = Result<(), ContextError>> + Send;
}

impl Authority for ContextService {
    async fn readable(
        &self,
        caller: &Caller,
        id: &omni_core::ConversationId,
    ) -> Result<Conversation, ContextError> {
        let conversation = self.conversation(id).await?;
        if may_read(caller, &conversation) {
            Ok(conversation)
        } else {
            Err(denied(caller, format!("read conversation {id}")))
        }
    }

    async fn check_customer(&self, caller: &Caller, id: &CustomerId) -> Result<(), ContextError> {
        if caller.at_least(Role::Supervisor) {
            return Ok(());
        }
        // Any recent conversation of theirs will do: after a merge the
        // customer's latest conversation may be the absorbed one's.
        // (An unknown customer is NOT_FOUND, as for anyone.)
        let recent = self.customer_conversations(id, 0, CUSTOMER_WINDOW).await?;
        if recent.iter().any(|c| may_read(caller, c)) {
            return Ok(());
        }
        Err(denied(caller, format!("act on customer {id}")))
    }

    async fn check_link(
        &self,
        caller: &Caller,
        id: &CustomerId,
        identity: &Identity,
        verified: bool,
    ) -> Result<(), ContextError> {
        if caller.actor().is_none() || caller.at_least(Role::Supervisor) {
            return Ok(());
        }
        if verified {
            return Err(denied(
                caller,
                format!(
                    "verify identity {identity}: an agent links it unverified, a supervisor verifies it"
                ),
            ));
        }
        let recent = self.customer_conversations(id, 0, CUSTOMER_WINDOW).await?;
        if !recent.iter().any(|c| may_hold(caller, c)) {
            return Err(denied(
                caller,
                format!(
                    "link an identity to customer {id}: no conversation of theirs is assigned to them"
                ),
            ));
        }
        match self.store().customer_by_identity(identity).await? {
            Some(owner) if owner != *id => Err(denied(
                caller,
                format!(
                    "link identity {identity}: it belongs to another customer, and linking it is a supervisor's (it merges the customers)"
                ),
            )),
            _ => Ok(()),
        }
    }
}

impl ContextService {
    /// `conversation`, read again until its assignment is recorded when it
    /// is still waiting unassigned and the caller does not hold it: an
    /// agent who just accepted it may act before the router's assignment,
    /// which travels over the bus, reaches the store. Waits at most
    /// [`ASSIGNMENT_WAIT`], and only on the way to a refusal.
    pub(crate) async fn awaiting_assignment(
        &self,
        mut conversation: Conversation,
        caller: &Caller,
    ) -> Result<Conversation, ContextError> {
        let deadline = tokio::time::Instant::now() + ASSIGNMENT_WAIT;
        while !may_hold(caller, &conversation)
            && conversation.status == ConversationStatus::Queued
            && conversation.assigned_agent.is_none()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            conversation = self.conversation(&conversation.id).await?;
        }
        Ok(conversation)
    }
}

/// How long a reply or resolve waits for an assignment still on its way
/// from the router before it is refused.
pub const ASSIGNMENT_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Whether `caller` may reply as `agent` on `conversation`: only the agent
/// holding it (as themselves) or a supervisor, and never on a resolved one.
pub(crate) fn check_reply(
    caller: &Caller,
    agent: &AgentId,
    conversation: &Conversation,
) -> Result<(), ContextError> {
    if let Some(actor) = caller.actor() {
        if agent.as_str() != actor.user && !actor.role.at_least(Role::Supervisor) {
            return Err(ContextError::PermissionDenied(format!(
                "{} may not send as {agent}",
                actor.user
            )));
        }
        if !may_hold(caller, conversation) {
            return Err(ContextError::PermissionDenied(format!(
                "{} may not reply on conversation {}: it is not theirs",
                actor.user, conversation.id
            )));
        }
    }
    if conversation.status == ConversationStatus::Resolved {
        return Err(ContextError::Resolved(conversation.id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use omni_core::access::Actor;

    use super::*;

    #[test]
    fn every_method_of_the_proto_is_in_the_table() {
        let proto = include_str!("../../../proto/omni/context/v1/context.proto");
        if let Err(verdict) = METHODS.check_against(proto) {
            panic!("{verdict}");
        }
    }

    #[test]
    fn an_agent_reads_only_their_own_or_a_waiting_conversation() {
        let json = |status: ConversationStatus, assigned: Option<&str>| Conversation {
            id: "c1".into(),
            customer_id: "k1".into(),
            status,
            queue: "q".into(),
            last_channel: omni_core::Channel::CHAT,
            last_identity: omni_core::Identity::ChatVisitor("v".into()),
            created_at_ms: 0,
            updated_at_ms: 0,
            queued_at_ms: None,
            assigned_agent: assigned.map(Into::into),
            last_agent: assigned.map(Into::into),
            resolved_at_ms: None,
            message_count: 1,
            trace: None,
            wrapup_code: None,
            attributes: Default::default(),
            handoff: None,
            bot: None,
        };
        let alice = Caller::Person(Actor::new("alice", Role::Agent));
        let sam = Caller::Person(Actor::new("sam", Role::Supervisor));
        let bobs = json(ConversationStatus::Assigned, Some("bob"));
        assert!(!may_read(&alice, &bobs) && !may_hold(&alice, &bobs));
        assert!(may_read(&sam, &bobs) && may_hold(&sam, &bobs));
        let alices = json(ConversationStatus::Assigned, Some("alice"));
        assert!(may_read(&alice, &alices) && may_hold(&alice, &alices));
        let waiting = json(ConversationStatus::Queued, None);
        assert!(may_read(&alice, &waiting) && !may_hold(&alice, &waiting));
    }
}
