//! The context service's lines in the audit log: merges, unmerges,
//! erasures and exports, with who, what, when and from where.
//!
//! The audit log is the account store's ([`AccountStore::append_audit`]);
//! a service without one (a test) only logs. A failed append is logged and
//! does not undo the operation, which is already durable.

use std::sync::Arc;

use omni_core::time::now_ms;
use omni_proto::auth::{Caller, FROM_HEADER};
use omni_store::{AccountStore, AuditEvent};
use tracing::warn;

use crate::ContextService;

/// Where a gRPC call comes from: the address the desk names for a person it
/// acts for ([`FROM_HEADER`], trusted on service-token calls only), else
/// the peer's address.
pub fn origin<T>(request: &tonic::Request<T>, caller: &Caller) -> String {
    let named = request
        .metadata()
        .get(FROM_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|_| matches!(caller, Caller::Person(_)))
        .map(str::to_owned);
    named
        .or_else(|| request.remote_addr().map(|a| a.to_string()))
        .unwrap_or_default()
}

/// Who acted, for the audit log: the person, or the service account.
pub fn actor_name(caller: &Caller) -> String {
    match caller {
        Caller::Service { account } => account.clone(),
        Caller::Person(actor) => actor.user.clone(),
    }
}

impl ContextService {
    /// Sets the audit log this service appends to.
    pub fn with_audit(mut self, store: Option<Arc<dyn AccountStore>>) -> Self {
        self.audit = store;
        self
    }

    /// Appends one line to the audit log (never personal data in `detail`).
    pub async fn audit(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        from: &str,
        detail: String,
    ) {
        let event = AuditEvent {
            at_ms: now_ms(),
            actor: actor_name(caller),
            action: action.to_owned(),
            target: target.to_owned(),
            from: from.to_owned(),
            detail,
        };
        tracing::info!(actor = %event.actor, action, target, from, detail = %event.detail, "audit");
        let Some(store) = &self.audit else {
            return;
        };
        if let Err(e) = store.append_audit(&event).await {
            warn!(action, target, error = %e, "audit event not stored");
        }
    }
}
