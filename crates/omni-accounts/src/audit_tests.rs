//! The audit log's bound through the service: `auth.max_audit_entries`
//! entries are kept, the newest.

use omni_core::config::AuthConfig;
use omni_store::{AccountStore, EmbeddedStore};

use crate::Accounts;

#[tokio::test]
async fn the_audit_log_keeps_only_the_newest_entries_it_is_configured_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("store");
    let auth = AuthConfig {
        max_audit_entries: 2,
        ..AuthConfig::default()
    };
    let accounts = Accounts::new(store.clone(), &auth).expect("accounts");
    for action in ["first", "second", "third"] {
        accounts.audit("admin", action, "x", None, "").await;
    }
    let kept: Vec<String> = store
        .audit(10)
        .await
        .expect("audit log")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(kept, ["third", "second"]);
}
