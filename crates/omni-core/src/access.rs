//! Who is acting: the roles of the people who sign in, and the person a
//! call is made for.
//!
//! Roles are ordered: an admin may do everything a supervisor may, and a
//! supervisor everything an agent may. What each role may do is written in
//! each part's access table (the desk's routes, the services' methods), not
//! here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A person's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Answers the conversations offered or assigned to them.
    Agent,
    /// Reads every conversation, moves conversations, changes presence.
    Supervisor,
    /// Changes agents, queues and accounts.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    /// Its name in configuration, APIs and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn at_least(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected agent, supervisor or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// The signed-in person a call is made for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// The account id (for an agent, the agent id).
    pub user: String,
    /// The account's role.
    pub role: Role,
}

impl Actor {
    /// `user` acting in `role`.
    pub fn new(user: impl Into<String>, role: Role) -> Self {
        Self {
            user: user.into(),
            role,
        }
    }

    /// Whether the actor is `user` or holds at least `role` (a supervisor
    /// may act on anyone's conversation, an agent only on their own).
    pub fn is_or_at_least(&self, user: &str, role: Role) -> bool {
        self.user == user || self.role.at_least(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Admin.at_least(Role::Supervisor));
        assert!(Role::Supervisor.at_least(Role::Agent));
        assert!(!Role::Agent.at_least(Role::Supervisor));
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("root".parse::<Role>(), Err(UnknownRole("root".to_owned())));
    }

    #[test]
    fn an_agent_acts_only_for_themselves_a_supervisor_for_anyone() {
        let alice = Actor::new("alice", Role::Agent);
        assert!(alice.is_or_at_least("alice", Role::Supervisor));
        assert!(!alice.is_or_at_least("bob", Role::Supervisor));
        assert!(Actor::new("sam", Role::Supervisor).is_or_at_least("bob", Role::Supervisor));
    }
}
