//! Linking, merging and unmerging customers.
//!
//! The rules are planned here once, as pure functions from the records
//! involved to the records to write ([`Plan`]); each store loads the records
//! and applies the plan atomically its own way (one redb write transaction;
//! one compare-and-set script in Redis that writes only if none of the loaded
//! records changed meanwhile).
//!
//! A merge moves the absorbed customer's identities, opt-outs and
//! conversations to the survivor, fills the survivor's empty attributes from
//! the absorbed customer, and leaves the absorbed customer as a tombstone
//! (`merged_into`). Its [`MergeRecord`] keeps the absorbed customer as it was,
//! the conversations that moved and the attributes that were filled, so
//! unmerge restores exactly that: the absorbed customer with its identities,
//! its attributes, its opt-outs as they are now, and its conversations with
//! every message added since. Conversations opened after the merge stay with
//! the survivor.

use omni_core::time::Millis;
use omni_core::{
    Conversation, ConversationId, ConversationStatus, Customer, CustomerId, Identity, MergeRecord,
    Provenance,
};

use crate::StoreError;

/// A customer with every conversation of theirs and their latest-conversation pointer.
#[derive(Debug, Clone)]
pub struct Side {
    /// The customer record.
    pub customer: Customer,
    /// Every conversation of the customer.
    pub conversations: Vec<Conversation>,
}

/// The records a link, merge or unmerge writes.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Customer records to write.
    pub customers: Vec<Customer>,
    /// Conversation records to write (their owner changed).
    pub conversations: Vec<Conversation>,
    /// Identity keys to point at a customer.
    pub identities: Vec<(String, CustomerId)>,
    /// Each customer's new latest conversation (`None`: remove the pointer).
    pub latest: Vec<(CustomerId, Option<ConversationId>)>,
    /// Conversations that change owner: (conversation, created at, from, to),
    /// for the per-customer conversation lists.
    pub moved: Vec<(ConversationId, Millis, CustomerId, CustomerId)>,
    /// The merge record to write.
    pub record: Option<MergeRecord>,
}

/// The conversation a customer's next message continues: the newest open
/// one, else the newest.
pub fn pick_latest(conversations: &[Conversation]) -> Option<ConversationId> {
    let newest = |open: bool| {
        conversations
            .iter()
            .filter(|c| !open || c.status != ConversationStatus::Resolved)
            .max_by(|a, b| (a.created_at_ms, a.id.as_str()).cmp(&(b.created_at_ms, b.id.as_str())))
            .map(|c| c.id.clone())
    };
    newest(true).or_else(|| newest(false))
}

fn merged_away(customer: &Customer) -> Result<(), StoreError> {
    match &customer.merged_into {
        Some(into) => Err(StoreError::Conflict(format!(
            "customer {} was merged into {into}",
            customer.id
        ))),
        None => Ok(()),
    }
}

/// Adds an identity nobody owns to `customer`, with its provenance. Returns
/// whether anything changed.
pub fn add_identity(customer: &mut Customer, identity: &Identity, provenance: &Provenance) -> bool {
    customer.unverified.retain(|u| u != identity);
    if customer.identities.contains(identity) {
        return false;
    }
    customer.identities.push(identity.clone());
    customer
        .identity_sources
        .insert(identity.key(), provenance.clone());
    true
}

/// Refuses (as a conflict) a new unverified identity for a customer who
/// holds [`crate::MAX_UNVERIFIED`] of them; one they hold already is fine.
pub fn check_unverified_room(customer: &Customer, identity: &Identity) -> Result<(), StoreError> {
    let known = customer.identities.contains(identity) || customer.unverified.contains(identity);
    if !known && customer.unverified.len() >= crate::MAX_UNVERIFIED {
        return Err(StoreError::Conflict(format!(
            "customer {} already has {} unverified identities, the most allowed: a supervisor may verify or unlink some first",
            customer.id,
            customer.unverified.len()
        )));
    }
    Ok(())
}

/// Records `identity` as one `customer` was seen with but nobody verified
/// (shown to agents, never used to find customers or to reply). Returns
/// whether anything changed: nothing once the customer has
/// [`crate::MAX_UNVERIFIED`] of them (the message is kept all the same).
pub fn add_unverified(customer: &mut Customer, identity: &Identity) -> bool {
    if customer.identities.contains(identity)
        || customer.unverified.contains(identity)
        || customer.unverified.len() >= crate::MAX_UNVERIFIED
    {
        return false;
    }
    customer.unverified.push(identity.clone());
    true
}

/// Checks that `customer` can take a new identity.
pub fn check_linkable(customer: &Customer) -> Result<(), StoreError> {
    merged_away(customer)
}

/// Plans merging `absorbed` into `survivor`.
pub fn plan_merge(
    survivor: Side,
    absorbed: Side,
    merge_id: String,
    provenance: &Provenance,
) -> Result<Plan, StoreError> {
    if survivor.customer.id == absorbed.customer.id {
        return Err(StoreError::Conflict(format!(
            "cannot merge customer {} into itself",
            survivor.customer.id
        )));
    }
    merged_away(&survivor.customer)?;
    merged_away(&absorbed.customer)?;
    let mut s = survivor.customer;
    let a = absorbed.customer;
    let mut filled = std::collections::BTreeMap::new();
    let mut fill = |name: &str, field: &mut Option<String>, from: &Option<String>| {
        if field.is_none()
            && let Some(v) = from
        {
            *field = Some(v.clone());
            filled.insert(name.to_owned(), v.clone());
        }
    };
    fill("display_name", &mut s.display_name, &a.display_name);
    fill("language", &mut s.language, &a.language);
    fill("tier", &mut s.tier, &a.tier);
    fill("external_id", &mut s.external_id, &a.external_id);
    for (k, v) in &a.attributes {
        if !s.attributes.contains_key(k) {
            s.attributes.insert(k.clone(), v.clone());
            filled.insert(format!("attr:{k}"), v.clone());
        }
    }
    let mut plan = Plan::default();
    for identity in &a.identities {
        if !s.identities.contains(identity) {
            s.identities.push(identity.clone());
        }
        s.identity_sources
            .insert(identity.key(), provenance.clone());
        plan.identities.push((identity.key(), s.id.clone()));
    }
    for (k, v) in &a.opt_outs {
        s.opt_outs.insert(k.clone(), v.clone());
    }
    for u in &a.unverified {
        if !s.unverified.contains(u) && !s.identities.contains(u) {
            s.unverified.push(u.clone());
        }
    }
    s.merges.push(merge_id.clone());

    let mut moved_ids = Vec::new();
    let mut all = survivor.conversations;
    for mut c in absorbed.conversations {
        plan.moved
            .push((c.id.clone(), c.created_at_ms, a.id.clone(), s.id.clone()));
        moved_ids.push(c.id.clone());
        c.customer_id = s.id.clone();
        plan.conversations.push(c.clone());
        all.push(c);
    }
    plan.latest.push((s.id.clone(), pick_latest(&all)));
    plan.latest.push((a.id.clone(), None));

    let mut tombstone = a.clone();
    tombstone.identities.clear();
    tombstone.identity_sources.clear();
    tombstone.opt_outs.clear();
    tombstone.unverified.clear();
    tombstone.merged_into = Some(s.id.clone());
    plan.record = Some(MergeRecord {
        id: merge_id,
        survivor: s.id.clone(),
        absorbed: a,
        conversations: moved_ids,
        filled,
        provenance: provenance.clone(),
        undone: None,
    });
    plan.customers.push(s);
    plan.customers.push(tombstone);
    Ok(plan)
}

/// Plans undoing `record`, given the survivor now and the absorbed
/// customer's tombstone. The survivor's conversations must include those the
/// merge moved.
pub fn plan_unmerge(
    mut record: MergeRecord,
    survivor: Side,
    tombstone: &Customer,
    provenance: &Provenance,
) -> Result<Plan, StoreError> {
    if let Some(undone) = &record.undone {
        return Err(StoreError::Conflict(format!(
            "merge {} was already undone by {} at {}",
            record.id, undone.by, undone.at_ms
        )));
    }
    merged_away(&survivor.customer)
        .map_err(|e| StoreError::Conflict(format!("{e}; undo that merge first")))?;
    if survivor.customer.id != record.survivor
        || tombstone.merged_into.as_ref() != Some(&record.survivor)
    {
        return Err(StoreError::Conflict(format!(
            "merge {} does not match the customers' current state",
            record.id
        )));
    }
    let mut s = survivor.customer;
    let mut a = record.absorbed.clone();
    a.merged_into = None;
    let mut plan = Plan::default();
    for identity in &record.absorbed.identities {
        s.identities.retain(|i| i != identity);
        s.identity_sources.remove(&identity.key());
        if let Some(opt_out) = s.opt_outs.remove(&identity.key()) {
            a.opt_outs.insert(identity.key(), opt_out);
        } else {
            a.opt_outs.remove(&identity.key());
        }
        plan.identities.push((identity.key(), a.id.clone()));
    }
    s.unverified
        .retain(|u| !record.absorbed.unverified.contains(u));
    let unfill = |name: &str, field: &mut Option<String>| {
        if field.is_some() && record.filled.get(name) == field.as_ref() {
            *field = None;
        }
    };
    unfill("display_name", &mut s.display_name);
    unfill("language", &mut s.language);
    unfill("tier", &mut s.tier);
    unfill("external_id", &mut s.external_id);
    for (k, v) in &record.filled {
        if let Some(attr) = k.strip_prefix("attr:")
            && s.attributes.get(attr) == Some(v)
        {
            s.attributes.remove(attr);
        }
    }
    s.merges.retain(|m| m != &record.id);

    let mut kept = Vec::new();
    let mut restored = Vec::new();
    for mut c in survivor.conversations {
        if record.conversations.contains(&c.id) {
            plan.moved
                .push((c.id.clone(), c.created_at_ms, s.id.clone(), a.id.clone()));
            c.customer_id = a.id.clone();
            plan.conversations.push(c.clone());
            restored.push(c);
        } else {
            kept.push(c);
        }
    }
    plan.latest.push((s.id.clone(), pick_latest(&kept)));
    plan.latest.push((a.id.clone(), pick_latest(&restored)));
    record.undone = Some(provenance.clone());
    plan.record = Some(record);
    plan.customers.push(s);
    plan.customers.push(a);
    Ok(plan)
}

/// A new, time-ordered merge id (`mrg_…`).
pub fn new_merge_id() -> String {
    let id = ConversationId::generate();
    let unique = id.as_str().trim_start_matches("con_");
    format!("mrg_{unique}")
}
