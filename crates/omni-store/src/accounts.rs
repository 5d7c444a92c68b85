//! Accounts, sign-in sessions and the audit log: the [`AccountStore`]
//! trait and the records both implementations keep.
//!
//! A session is stored under a hash of its token, never the token itself,
//! so a copy of the store signs nobody in. Whether a session still holds is
//! decided in one place ([`SessionPolicy::holds`]) for every
//! implementation: idle and absolute expiry, and revocation by the
//! account's credentials version (bumped by a password change or a
//! disable), so revoking every session of an account is one account write.

use async_trait::async_trait;
use omni_core::access::Role;
use omni_core::time::Millis;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A person who signs in: an agent (whose account id is their agent id), a
/// supervisor or an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account id (for an agent, the agent id).
    pub id: String,
    /// The name shown to others.
    pub display_name: String,
    /// What the account may do.
    pub role: Role,
    /// The Argon2id PHC string of the password; `None` for an account that
    /// signs in only through the single sign-on proxy.
    pub password_hash: Option<String>,
    /// A disabled account cannot sign in and has no session.
    pub disabled: bool,
    /// Bumped by a password change or a disable: sessions made under an
    /// older version no longer hold.
    pub credentials_version: u64,
    /// When it was created.
    pub created_at_ms: Millis,
    /// When it last changed.
    pub updated_at_ms: Millis,
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The hash of the session token (hex SHA-256); the token itself is
    /// only in the browser's cookie.
    pub token_hash: String,
    /// The account signed in.
    pub account: String,
    /// The account's credentials version at sign-in.
    pub credentials_version: u64,
    /// When it was made.
    pub created_at_ms: Millis,
    /// When it was last used (refreshed at most every
    /// [`SessionPolicy::touch_every_ms`]).
    pub last_seen_ms: Millis,
    /// The token every state-changing call must carry in a header.
    pub csrf_token: String,
}

/// How long sessions hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long has expired.
    pub idle_ms: Millis,
    /// A session this old has expired, used or not.
    pub absolute_ms: Millis,
}

impl SessionPolicy {
    /// Whether `session` still holds at `now` for `account` (as stored now):
    /// not idle too long, not too old, the account present, enabled and
    /// with the credentials version of the sign-in.
    pub fn holds(&self, session: &Session, account: Option<&Account>, now: Millis) -> bool {
        let fresh = now.saturating_sub(session.last_seen_ms) < self.idle_ms
            && now.saturating_sub(session.created_at_ms) < self.absolute_ms;
        fresh
            && account.is_some_and(|a| {
                !a.disabled && a.credentials_version == session.credentials_version
            })
    }

    /// How stale `last_seen_ms` may get before a read refreshes it: a
    /// quarter of the idle time, at most 15 s, so most reads do not write.
    pub fn touch_every_ms(&self) -> Millis {
        (self.idle_ms / 4).clamp(0, 15_000)
    }

    /// When `session` expires at the latest (its absolute expiry).
    pub fn absolute_deadline(&self, session: &Session) -> Millis {
        session.created_at_ms.saturating_add(self.absolute_ms)
    }
}

/// One line of the audit log: who did what, to whom, when and from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When.
    pub at_ms: Millis,
    /// Who acted (an account id, `cli`, or the name typed at a failed sign-in).
    pub actor: String,
    /// What, e.g. `sign_in`, `sign_in_failed`, `account_created`, `role_changed`.
    pub action: String,
    /// What it was done to (an account id), or empty.
    pub target: String,
    /// The client address, or empty when not over the network.
    pub from: String,
    /// More, in words.
    pub detail: String,
}

/// Accounts, sessions and the audit log (and the accounts' canned
/// responses, [`crate::CannedStore`]).
#[async_trait]
pub trait AccountStore: crate::CannedStore + Send + Sync + 'static {
    /// Stores a new account; [`StoreError::Conflict`] if the id is taken.
    async fn create_account(&self, account: &Account) -> Result<(), StoreError>;
    /// Replaces an existing account; [`StoreError::NotFound`] if there is none.
    async fn update_account(&self, account: &Account) -> Result<(), StoreError>;
    /// The account with this id, if any.
    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError>;
    /// Every account, in id order.
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// Stores a new session (it expires by `policy` at the latest).
    async fn create_session(
        &self,
        session: &Session,
        policy: &SessionPolicy,
    ) -> Result<(), StoreError>;
    /// The session under `token_hash` and its account, if it holds at `now`
    /// ([`SessionPolicy::holds`]); one that no longer holds is deleted. A
    /// read refreshes `last_seen_ms` when it is older than
    /// [`SessionPolicy::touch_every_ms`].
    async fn session(
        &self,
        token_hash: &str,
        now: Millis,
        policy: &SessionPolicy,
    ) -> Result<Option<(Session, Account)>, StoreError>;
    /// Deletes a session; deleting an absent one is not an error.
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Appends to the audit log.
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// The newest `limit` audit events, newest first.
    async fn audit(&self, limit: usize) -> Result<Vec<AuditEvent>, StoreError>;
    /// Keeps the newest `keep` audit events and deletes the older ones;
    /// returns how many it deleted.
    async fn trim_audit(&self, keep: u64) -> Result<u64, StoreError>;
}
