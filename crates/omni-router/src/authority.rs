//! Who may do what on the router: the method table the gRPC gate enforces
//! ([`METHODS`]: the least role per method) and the router's own checks of
//! whom a call acts for ([`for_self`], [`for_self_or`]).
//!
//! A service token acting as itself (the desk signing someone in) passes
//! every check. A person:
//!
//! | method | an agent | a supervisor | an admin |
//! |---|---|---|---|
//! | `GetAgent`, `WatchAgent` | themselves | anyone | anyone |
//! | `AcceptOffer`, `DeclineOffer` | their own offers | their own offers | anyone's |
//! | `SetPresence` | themselves | anyone | anyone |
//! | `TransferConversation` | a conversation assigned to them | any | any |
//! | `ListAgents`, `ListQueues`, `ExplainConversation`, `QueueDay` | no | yes | yes |
//! | `UpsertAgent`, `UpsertQueue` | no | no | yes |

use omni_core::access::Role;
use omni_proto::auth::{Caller, MethodTable};

use crate::RouterError;

/// The least role a person needs per method of `omni.routing.v1.RouterService`.
pub const METHODS: MethodTable = MethodTable {
    service: "omni.routing.v1.RouterService",
    methods: &[
        ("ListAgents", Role::Supervisor),
        ("GetAgent", Role::Agent),
        ("SetPresence", Role::Agent),
        ("AcceptOffer", Role::Agent),
        ("DeclineOffer", Role::Agent),
        ("ListQueues", Role::Supervisor),
        ("ExplainConversation", Role::Supervisor),
        ("WatchAgent", Role::Agent),
        ("UpsertAgent", Role::Admin),
        ("UpsertQueue", Role::Admin),
        ("TransferConversation", Role::Agent),
        ("QueueDay", Role::Supervisor),
    ],
};

/// Fails unless `caller` is `agent`, a service, or a person with at least `role`.
pub fn for_self_or(
    caller: &Caller,
    agent: &str,
    role: Role,
    what: &str,
) -> Result<(), RouterError> {
    if caller.is_or_at_least(agent, role) {
        Ok(())
    } else {
        let who = caller.actor().map_or("the caller", |a| a.user.as_str());
        Err(RouterError::PermissionDenied(format!(
            "{who} may not {what} for {agent}"
        )))
    }
}

/// Fails unless `caller` acts for `agent` (or is a service or an admin).
pub fn for_self(caller: &Caller, agent: &str, what: &str) -> Result<(), RouterError> {
    for_self_or(caller, agent, Role::Admin, what)
}

#[cfg(test)]
mod tests {
    use omni_core::access::Actor;

    use super::*;

    #[test]
    fn every_method_of_the_proto_is_in_the_table() {
        let proto = include_str!("../../../proto/omni/routing/v1/routing.proto");
        if let Err(verdict) = METHODS.check_against(proto) {
            panic!("{verdict}");
        }
    }

    #[test]
    fn offers_are_settled_only_by_their_agent_presence_also_by_a_supervisor() {
        let alice = Caller::Person(Actor::new("alice", Role::Agent));
        let sam = Caller::Person(Actor::new("sam", Role::Supervisor));
        let desk = Caller::Service {
            account: "omniroute".into(),
        };
        assert!(for_self(&alice, "alice", "accept an offer").is_ok());
        assert!(for_self(&alice, "bob", "accept an offer").is_err());
        assert!(for_self(&sam, "bob", "accept an offer").is_err());
        assert!(for_self(&desk, "bob", "accept an offer").is_ok());
        assert!(for_self_or(&sam, "bob", Role::Supervisor, "set presence").is_ok());
        assert!(for_self_or(&alice, "bob", Role::Supervisor, "set presence").is_err());
    }
}
