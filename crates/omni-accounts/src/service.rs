//! [`Accounts`]: sign-in, sessions, single sign-on, account management and
//! the audit log, over an [`AccountStore`].

use std::net::IpAddr;
use std::sync::Arc;

use omni_core::access::Role;
use omni_core::config::{AuthConfig, Cidr};
use omni_core::time::{Millis, now_ms};
use omni_store::{Account, AccountStore, AuditEvent, Session, SessionPolicy, StoreError};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use crate::AccountsError;
use crate::password;
use crate::throttle::Throttle;

/// A new session: the token goes to the browser's cookie, the CSRF token
/// to the page. Its `Debug` shows neither.
pub struct SignedIn {
    /// The session token (only its hash is stored).
    pub token: String,
    /// The token state-changing calls carry in a header.
    pub csrf_token: String,
    /// Who signed in.
    pub account: Account,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("token", &"[redacted]")
            .field("csrf_token", &"[redacted]")
            .field("account", &self.account.id)
            .finish()
    }
}

/// An account to create.
#[derive(Debug)]
pub struct NewAccount {
    /// Its id (an agent's is the agent id).
    pub id: String,
    /// Its display name; the id when `None`.
    pub display_name: Option<String>,
    /// Its role.
    pub role: Role,
    /// Its password; `None` for an account that signs in only by single sign-on.
    pub password: Option<SecretString>,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct AccountChange {
    /// A new role.
    pub role: Option<Role>,
    /// A new display name.
    pub display_name: Option<String>,
    /// Disable (ends every session) or enable.
    pub disabled: Option<bool>,
    /// A new password (ends every session).
    pub password: Option<SecretString>,
}

/// Accounts, sign-in and sessions.
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    policy: SessionPolicy,
    throttle: Throttle,
    proxies: Vec<Cidr>,
    /// Audit log entries kept (`auth.max_audit_entries`).
    audit_keep: u64,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("policy", &self.policy)
            .field("proxies", &self.proxies)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 of a session token, in hex: the session's key in the store.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex(&bytes)
}

fn address(from: Option<IpAddr>) -> String {
    from.map(|ip| ip.to_string()).unwrap_or_default()
}

impl Accounts {
    /// Accounts in `store` with the sessions, rate limits and proxies of
    /// `auth`. Makes the dummy hash now, so the first unknown-account
    /// sign-in takes no longer than later ones.
    pub fn new(store: Arc<dyn AccountStore>, auth: &AuthConfig) -> Result<Self, AccountsError> {
        let proxies = auth
            .proxies()
            .map_err(|e| AccountsError::Invalid(e.to_string()))?;
        password::dummy();
        Ok(Self {
            store,
            policy: SessionPolicy {
                idle_ms: (auth.session_idle_secs as Millis).saturating_mul(1000),
                absolute_ms: (auth.session_max_secs as Millis).saturating_mul(1000),
            },
            throttle: Throttle::new(
                auth.sign_in_per_account_per_minute,
                auth.sign_in_per_address_per_minute,
            ),
            proxies,
            audit_keep: auth.max_audit_entries,
        })
    }

    /// How long sessions hold.
    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn AccountStore> {
        &self.store
    }

    /// Whether `ip` is a configured single sign-on proxy.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|net| net.contains(ip))
    }

    /// Signs in with a password. Unknown account, wrong password, disabled
    /// account and an account without a password all answer
    /// [`AccountsError::BadCredentials`] after the same Argon2 work.
    pub async fn sign_in(
        &self,
        user: &str,
        password: SecretString,
        from: Option<IpAddr>,
    ) -> Result<SignedIn, AccountsError> {
        let typed = user.trim();
        if typed.is_empty() {
            return Err(AccountsError::Invalid("user is required".into()));
        }
        if let Err(e) = self.throttle.attempt(typed, from) {
            self.audit(typed, "sign_in_throttled", typed, from, "too many attempts")
                .await;
            return Err(e);
        }
        let account = self.find(typed).await?;
        let hash = account
            .as_ref()
            .filter(|a| !a.disabled)
            .and_then(|a| a.password_hash.clone());
        let ok = password::verify(hash, password).await;
        match account {
            Some(account) if ok => self.open_session(account, from, "password").await,
            found => {
                let why = match &found {
                    None => "unknown account",
                    Some(a) if a.disabled => "account disabled",
                    Some(a) if a.password_hash.is_none() => "no password set",
                    Some(_) => "wrong password",
                };
                let target = found.map_or_else(|| typed.to_owned(), |a| a.id);
                warn!(user = %typed, from = %address(from), "sign-in refused");
                self.audit(typed, "sign_in_failed", &target, from, why)
                    .await;
                Err(AccountsError::BadCredentials)
            }
        }
    }

    /// Signs in the account a trusted single sign-on proxy names in
    /// `X-Forwarded-User` (or, failing that, `X-Forwarded-Email`). The
    /// caller has checked that the request came from a trusted proxy.
    pub async fn sign_in_by_proxy(
        &self,
        user: Option<&str>,
        email: Option<&str>,
        from: Option<IpAddr>,
    ) -> Result<SignedIn, AccountsError> {
        let mut found = None;
        for name in [user, email].into_iter().flatten().map(str::trim) {
            if !name.is_empty()
                && let Some(account) = self.find(name).await?
            {
                found = Some(account);
                break;
            }
        }
        let named = user.or(email).unwrap_or_default().to_owned();
        match found {
            Some(account) if !account.disabled => self.open_session(account, from, "proxy").await,
            other => {
                let why = if other.is_some() {
                    "account disabled"
                } else {
                    "unknown account"
                };
                self.audit(
                    &named,
                    "sign_in_failed",
                    &named,
                    from,
                    &format!("single sign-on: {why}"),
                )
                .await;
                Err(AccountsError::BadCredentials)
            }
        }
    }

    async fn find(&self, typed: &str) -> Result<Option<Account>, AccountsError> {
        if let Some(a) = self.store.account(typed).await? {
            return Ok(Some(a));
        }
        let lower = typed.to_lowercase();
        if lower != typed {
            return Ok(self.store.account(&lower).await?);
        }
        Ok(None)
    }

    async fn open_session(
        &self,
        account: Account,
        from: Option<IpAddr>,
        how: &str,
    ) -> Result<SignedIn, AccountsError> {
        let token = random_token();
        let now = now_ms();
        let session = Session {
            token_hash: token_hash(&token),
            account: account.id.clone(),
            credentials_version: account.credentials_version,
            created_at_ms: now,
            last_seen_ms: now,
            csrf_token: random_token(),
        };
        self.store.create_session(&session, &self.policy).await?;
        info!(user = %account.id, role = %account.role, from = %address(from), how, "signed in");
        self.audit(&account.id, "sign_in", &account.id, from, how)
            .await;
        Ok(SignedIn {
            token,
            csrf_token: session.csrf_token,
            account,
        })
    }

    /// The session of a token and its account, if it still holds.
    pub async fn session(&self, token: &str) -> Result<Option<(Session, Account)>, AccountsError> {
        Ok(self
            .store
            .session(&token_hash(token), now_ms(), &self.policy)
            .await?)
    }

    /// Ends a session.
    pub async fn sign_out(
        &self,
        session: &Session,
        from: Option<IpAddr>,
    ) -> Result<(), AccountsError> {
        self.store.delete_session(&session.token_hash).await?;
        self.audit(&session.account, "sign_out", &session.account, from, "")
            .await;
        Ok(())
    }

    /// Creates an account, recording `actor` in the audit log.
    pub async fn create(
        &self,
        actor: &str,
        from: Option<IpAddr>,
        new: NewAccount,
    ) -> Result<Account, AccountsError> {
        let id = new.id.trim().to_owned();
        if id.is_empty()
            || id.len() > 128
            || id.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(AccountsError::Invalid(
                "an account id is 1-128 characters without spaces".into(),
            ));
        }
        let password_hash = match new.password {
            Some(p) => {
                password::check_rules(&p)?;
                Some(password::hash(p).await?)
            }
            None => None,
        };
        let now = now_ms();
        let account = Account {
            display_name: new
                .display_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| id.clone()),
            id,
            role: new.role,
            password_hash,
            disabled: false,
            credentials_version: 1,
            created_at_ms: now,
            updated_at_ms: now,
        };
        match self.store.create_account(&account).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(AccountsError::Exists(account.id)),
            Err(e) => return Err(e.into()),
        }
        self.audit(
            actor,
            "account_created",
            &account.id,
            from,
            &format!("role {}", account.role),
        )
        .await;
        Ok(account)
    }

    /// Changes an account, recording each change in the audit log. A new
    /// password or a disable bumps the credentials version, which ends
    /// every session of the account.
    pub async fn update(
        &self,
        actor: &str,
        from: Option<IpAddr>,
        id: &str,
        change: AccountChange,
    ) -> Result<Account, AccountsError> {
        let mut account = self
            .store
            .account(id)
            .await?
            .ok_or_else(|| AccountsError::NotFound(id.to_owned()))?;
        let mut events = Vec::new();
        if let Some(role) = change.role
            && role != account.role
        {
            events.push(("role_changed", format!("{} -> {role}", account.role)));
            account.role = role;
        }
        if let Some(name) = change.display_name.filter(|n| !n.trim().is_empty())
            && name != account.display_name
        {
            events.push((
                "name_changed",
                format!("{:?} -> {name:?}", account.display_name),
            ));
            account.display_name = name;
        }
        if let Some(disabled) = change.disabled
            && disabled != account.disabled
        {
            account.disabled = disabled;
            if disabled {
                account.credentials_version += 1;
                events.push(("account_disabled", String::new()));
            } else {
                events.push(("account_enabled", String::new()));
            }
        }
        if let Some(p) = change.password {
            password::check_rules(&p)?;
            account.password_hash = Some(password::hash(p).await?);
            account.credentials_version += 1;
            events.push(("password_set", "sessions revoked".into()));
        }
        if events.is_empty() {
            return Ok(account);
        }
        account.updated_at_ms = now_ms();
        self.store.update_account(&account).await?;
        for (action, detail) in events {
            self.audit(actor, action, &account.id, from, &detail).await;
        }
        Ok(account)
    }

    /// Every account, in id order.
    pub async fn list(&self) -> Result<Vec<Account>, AccountsError> {
        Ok(self.store.accounts().await?)
    }

    /// One account.
    pub async fn get(&self, id: &str) -> Result<Option<Account>, AccountsError> {
        Ok(self.store.account(id).await?)
    }

    /// The newest `limit` audit events, newest first.
    pub async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEvent>, AccountsError> {
        Ok(self.store.audit(limit).await?)
    }

    /// Appends to the audit log; a store failure is logged, not returned
    /// (the act it records has happened).
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        from: Option<IpAddr>,
        detail: &str,
    ) {
        let event = AuditEvent {
            at_ms: now_ms(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            from: address(from),
            detail: detail.to_owned(),
        };
        if let Err(e) = self.store.append_audit(&event).await {
            warn!(error = %e, action, "cannot write the audit log");
            return;
        }
        match self.store.trim_audit(self.audit_keep).await {
            Ok(0) => {}
            Ok(trimmed) => debug!(
                trimmed,
                keep = self.audit_keep,
                "oldest audit entries deleted"
            ),
            Err(e) => warn!(error = %e, "cannot trim the audit log"),
        }
    }

    /// Forgets idle rate-limit buckets; call now and then.
    pub fn sweep(&self) {
        self.throttle.sweep();
    }
}

#[cfg(test)]
mod tests {
    use omni_store::EmbeddedStore;

    use super::*;

    const PASSWORD: &str = "the first password";

    async fn accounts(dir: &tempfile::TempDir) -> Accounts {
        let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("store");
        Accounts::new(store, &AuthConfig::default()).expect("accounts")
    }

    fn new(id: &str, role: Role) -> NewAccount {
        NewAccount {
            id: id.into(),
            display_name: None,
            role,
            password: Some(SecretString::from(PASSWORD)),
        }
    }

    #[tokio::test]
    async fn every_account_change_is_audited_and_credentials_changes_revoke() {
        let dir = tempfile::tempdir().expect("tempdir");
        let accounts = accounts(&dir).await;
        let from = Some(IpAddr::from([192, 0, 2, 7]));
        accounts
            .create("root", from, new("ana", Role::Agent))
            .await
            .expect("create");
        let signed = accounts
            .sign_in("ana", SecretString::from(PASSWORD), from)
            .await
            .expect("sign in");
        assert!(
            accounts
                .session(&signed.token)
                .await
                .expect("read")
                .is_some()
        );
        // The store has the hash of the token, not the token.
        let (policy, hash) = (accounts.policy(), token_hash(&signed.token));
        let store = accounts.store();
        assert!(
            store
                .session(&hash, now_ms(), &policy)
                .await
                .expect("read")
                .is_some()
        );
        assert!(
            store
                .session(&signed.token, now_ms(), &policy)
                .await
                .expect("read")
                .is_none()
        );

        // A role change keeps the session; a disable ends it.
        let change = AccountChange {
            role: Some(Role::Supervisor),
            ..AccountChange::default()
        };
        accounts
            .update("root", from, "ana", change)
            .await
            .expect("promote");
        let (_, account) = accounts
            .session(&signed.token)
            .await
            .expect("read")
            .expect("still signed in");
        assert_eq!(account.role, Role::Supervisor);
        let change = AccountChange {
            disabled: Some(true),
            ..AccountChange::default()
        };
        accounts
            .update("root", from, "ana", change)
            .await
            .expect("disable");
        assert!(
            accounts
                .session(&signed.token)
                .await
                .expect("read")
                .is_none()
        );
        assert!(matches!(
            accounts
                .sign_in("ana", SecretString::from(PASSWORD), from)
                .await,
            Err(AccountsError::BadCredentials)
        ));

        let log = accounts.audit_log(10).await.expect("audit");
        let actions: Vec<(&str, &str, &str)> = log
            .iter()
            .map(|e| (e.actor.as_str(), e.action.as_str(), e.detail.as_str()))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("ana", "sign_in_failed", "account disabled"),
                ("root", "account_disabled", ""),
                ("root", "role_changed", "agent -> supervisor"),
                ("ana", "sign_in", "password"),
                ("root", "account_created", "role agent"),
            ]
        );
        assert!(
            log.iter()
                .all(|e| e.from == "192.0.2.7" && e.target == "ana")
        );
    }

    #[tokio::test]
    async fn an_id_is_taken_once_and_rules_hold() {
        let dir = tempfile::tempdir().expect("tempdir");
        let accounts = accounts(&dir).await;
        accounts
            .create("cli", None, new("ana", Role::Agent))
            .await
            .expect("create");
        assert!(matches!(
            accounts.create("cli", None, new("ana", Role::Admin)).await,
            Err(AccountsError::Exists(_))
        ));
        for bad in ["", "has space", &"x".repeat(129)] {
            assert!(
                matches!(
                    accounts.create("cli", None, new(bad, Role::Agent)).await,
                    Err(AccountsError::Invalid(_))
                ),
                "{bad:?}"
            );
        }
        let short = AccountChange {
            password: Some(SecretString::from("short")),
            ..AccountChange::default()
        };
        assert!(matches!(
            accounts.update("cli", None, "ana", short).await,
            Err(AccountsError::Invalid(_))
        ));
        let missing = accounts
            .update("cli", None, "nobody", AccountChange::default())
            .await;
        assert!(matches!(missing, Err(AccountsError::NotFound(_))));
    }
}
