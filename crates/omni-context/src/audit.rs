//! The context service's lines in the audit log: merges, unmerges,
//! erasures and exports, with who, what, when and from where.
//!
//! The audit log is the account store's ([`AccountStore::append_audit`]);
//! a service without one (a test) only logs. A failed append is logged and
//! does not undo the operation, which is already durable.

use std::sync::Arc;

use omni_core::time::now_ms;
use omni_proto::auth::{Caller, FROM_HEADER, USER_HEADER};
use omni_store::{AccountStore, AuditEvent};
use tracing::warn;

use crate::ContextService;

/// Where a gRPC call comes from: the address the desk names for a person it
/// acts for ([`FROM_HEADER`]), else the peer's address. The named address
/// is believed only on a service-token call made for a person (it carries
/// [`USER_HEADER`], which the gate accepts from service tokens only), so a
/// person's own token cannot hide where it calls from.
pub fn origin<T>(request: &tonic::Request<T>, caller: &Caller) -> String {
    let acting_for =
        matches!(caller, Caller::Person(_)) && request.metadata().contains_key(USER_HEADER);
    let named = request
        .metadata()
        .get(FROM_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|_| acting_for)
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

#[cfg(test)]
mod tests {
    use omni_core::access::{Actor, Role};
    use omni_proto::auth::{Caller, FROM_HEADER, USER_HEADER};

    use super::origin;

    fn request(headers: &[(&'static str, &str)]) -> tonic::Request<()> {
        let mut request = tonic::Request::new(());
        for (name, value) in headers {
            if let Ok(value) = value.parse() {
                request.metadata_mut().insert(*name, value);
            }
        }
        request
    }

    #[test]
    fn the_named_address_is_believed_only_for_the_desk_acting_for_someone() {
        let admin = Caller::Person(Actor::new("adm", Role::Admin));
        let desk = request(&[(USER_HEADER, "adm"), (FROM_HEADER, "203.0.113.9")]);
        assert_eq!(origin(&desk, &admin), "203.0.113.9");
        // A person's own token naming an address: not believed (no peer
        // address in a request made in memory, so nothing).
        let own = request(&[(FROM_HEADER, "203.0.113.9")]);
        assert_eq!(origin(&own, &admin), "");
        let service = Caller::Service {
            account: "desk".into(),
        };
        assert_eq!(origin(&desk, &service), "");
    }
}
