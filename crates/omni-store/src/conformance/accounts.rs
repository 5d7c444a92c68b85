//! Checks for accounts, sessions and the audit log.

use omni_core::access::Role;

use super::{StoreFactory, T0, Tag, open, step, step_err};
use crate::StoreError;
use crate::accounts::{Account, AccountStore, AuditEvent, Session, SessionPolicy};

const SESSIONS: SessionPolicy = SessionPolicy {
    idle_ms: 60_000,
    absolute_ms: 600_000,
};

fn account(id: &str, role: Role) -> Account {
    Account {
        id: id.to_owned(),
        display_name: format!("Name of {id}"),
        role,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        disabled: false,
        credentials_version: 1,
        created_at_ms: T0,
        updated_at_ms: T0,
    }
}

fn session(t: &Tag, name: &str, account: &Account) -> Session {
    Session {
        token_hash: t.key(name),
        account: account.id.clone(),
        credentials_version: account.credentials_version,
        created_at_ms: T0,
        last_seen_ms: T0,
        csrf_token: format!("csrf-{name}"),
    }
}

/// Accounts are created once (a second create conflicts), updated only
/// when they exist, read back as written and listed in id order, across a
/// restart.
pub async fn accounts_round_trip<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let (a_id, b_id) = (t.key("a-agent"), t.key("b-admin"));
    let b = account(&b_id, Role::Admin);
    let mut a = account(&a_id, Role::Agent);
    a.password_hash = None;
    step("create b", store.create_account(&b)).await;
    step("create a", store.create_account(&a)).await;
    let again = step_err("create a twice", store.create_account(&a)).await;
    assert!(matches!(again, StoreError::Conflict(_)), "{again}");
    let missing = account(&t.key("nobody"), Role::Agent);
    let err = step_err("update a missing account", store.update_account(&missing)).await;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    a.role = Role::Supervisor;
    a.credentials_version = 2;
    step("update a", store.update_account(&a)).await;
    drop(store);
    let store = open(factory).await;
    assert_eq!(step("read a", store.account(&a_id)).await, Some(a.clone()));
    assert_eq!(step("read missing", store.account(&missing.id)).await, None);
    let ours: Vec<Account> = step("list", store.accounts())
        .await
        .into_iter()
        .filter(|x| x.id.starts_with(&t.key("")))
        .collect();
    assert_eq!(ours, vec![a, b], "listed in id order");
}

/// A session holds until it is idle too long or too old, its account is
/// disabled or changes credentials, or it is deleted; one that no longer
/// holds is gone for good.
pub async fn sessions_expire_and_are_revoked<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let mut alice = account(&t.key("alice"), Role::Agent);
    step("create", store.create_account(&alice)).await;
    let read = |s: &Session, at| {
        let (store, hash) = (store.clone(), s.token_hash.clone());
        async move { store.session(&hash, at, &SESSIONS).await }
    };

    let kept = session(&t, "kept", &alice);
    step("create kept", store.create_session(&kept, &SESSIONS)).await;
    let (got, owner) = step("read kept", read(&kept, T0 + 1_000))
        .await
        .expect("a fresh session holds");
    assert_eq!(
        (got.csrf_token.as_str(), owner.id.as_str()),
        ("csrf-kept", alice.id.as_str())
    );
    // Used every 50 s, it outlives the 60 s idle limit...
    for at in [T0 + 50_000, T0 + 100_000, T0 + 150_000] {
        assert!(
            step("read while used", read(&kept, at)).await.is_some(),
            "at {at}"
        );
    }
    // ...but not the absolute one.
    assert!(
        step("read too old", read(&kept, T0 + 600_000))
            .await
            .is_none()
    );
    assert!(
        step("read again", read(&kept, T0 + 150_001))
            .await
            .is_none(),
        "deleted"
    );

    let idle = session(&t, "idle", &alice);
    step("create idle", store.create_session(&idle, &SESSIONS)).await;
    assert!(step("read idle", read(&idle, T0 + 60_000)).await.is_none());

    let gone = session(&t, "signed-out", &alice);
    step("create", store.create_session(&gone, &SESSIONS)).await;
    step("delete", store.delete_session(&gone.token_hash)).await;
    step("delete twice", store.delete_session(&gone.token_hash)).await;
    assert!(step("read deleted", read(&gone, T0 + 1)).await.is_none());

    let before = session(&t, "before-password-change", &alice);
    step("create", store.create_session(&before, &SESSIONS)).await;
    alice.credentials_version += 1;
    step("change password", store.update_account(&alice)).await;
    assert!(step("read revoked", read(&before, T0 + 1)).await.is_none());
    let after = session(&t, "after-password-change", &alice);
    step("create", store.create_session(&after, &SESSIONS)).await;
    assert!(step("read new", read(&after, T0 + 1)).await.is_some());
    alice.disabled = true;
    step("disable", store.update_account(&alice)).await;
    assert!(step("read disabled", read(&after, T0 + 2)).await.is_none());
    alice.disabled = false;
    step("enable", store.update_account(&alice)).await;
    assert!(
        step("read after enable", read(&after, T0 + 3))
            .await
            .is_none(),
        "a disable ends the session for good"
    );
}

/// The audit log lists the newest first, as appended, across a restart.
pub async fn audit_lists_newest_first<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let actor = t.key("admin");
    let events: Vec<AuditEvent> = (0..5)
        .map(|i| AuditEvent {
            at_ms: T0 + i,
            actor: actor.clone(),
            action: format!("action_{i}"),
            target: t.key("target"),
            from: "192.0.2.1".into(),
            detail: format!("step {i}"),
        })
        .collect();
    for e in &events {
        step("append", store.append_audit(e)).await;
    }
    drop(store);
    let store = open(factory).await;
    let ours: Vec<AuditEvent> = step("list", store.audit(10_000))
        .await
        .into_iter()
        .filter(|e| e.actor == actor)
        .collect();
    let newest_first: Vec<AuditEvent> = events.iter().rev().cloned().collect();
    assert_eq!(ours, newest_first);
    let two = step("list two", store.audit(2)).await;
    assert_eq!(two.len(), 2);
}

/// The audit log keeps the newest entries it is trimmed to, across a
/// restart; trimming to more than it holds deletes nothing.
pub async fn audit_trims_to_the_newest<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let actor = t.key("admin");
    let events: Vec<AuditEvent> = (0..6)
        .map(|i| AuditEvent {
            at_ms: T0 + i,
            actor: actor.clone(),
            action: format!("action_{i}"),
            target: t.key("target"),
            from: "192.0.2.1".into(),
            detail: String::new(),
        })
        .collect();
    // Checks run before on a shared store may have left entries.
    let before = step("list before", store.audit(usize::MAX)).await.len() as u64;
    for e in &events {
        step("append", store.append_audit(e)).await;
    }
    assert_eq!(step("trim to all", store.trim_audit(before + 6)).await, 0);
    assert_eq!(step("trim to 4", store.trim_audit(4)).await, before + 2);
    drop(store);
    let store = open(factory).await;
    let kept = step("list", store.audit(100)).await;
    let newest: Vec<AuditEvent> = events.iter().rev().take(4).cloned().collect();
    assert_eq!(kept, newest, "the newest four, newest first");
    step("append after trim", store.append_audit(&events[0])).await;
    assert_eq!(step("trim to 4 again", store.trim_audit(4)).await, 1);
    let kept = step("list again", store.audit(100)).await;
    assert_eq!(kept.len(), 4);
    assert_eq!(kept.first(), Some(&events[0]), "the newest entry is kept");
}
