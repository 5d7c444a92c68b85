//! The conformance suite every store implementation must pass.
//!
//! An implementation's test file provides a [`StoreFactory`] and makes one
//! `#[tokio::test]` per check with [`store_conformance_tests!`](crate::store_conformance_tests)
//! (or calls [`run_all`]). The list of checks is written once, in that macro,
//! and [`run_all`] runs the same list, so a check cannot be in one and
//! missing from the other. Every check uses its own
//! identities and keys, so checks may share one backing server, and looks
//! only at the records it made. Every store call is bounded by a timeout, so
//! a hung store fails the check instead of hanging it. A failed check panics
//! with what it expected, like an assertion.

//!
//! The suite ships only with the `conformance` feature, which the test
//! builds of the store implementations enable; a release build of `omni`
//! does not carry it.
//!
//! # Layout
//! - `timeline`: opening, continuing, deduplicating and reopening
//!   conversations; agent messages; assignment and resolution.
//! - `history`: history pages, timeline order, durability across a reopen,
//!   concurrent ingests.
//! - `router`: the router's recoverable state and open conversations.
//! - `customers`: profiles, linking, merging, unmerging, email threading,
//!   attachments, delivery reports, SMS opt-outs.
//! - `accounts`: accounts, session expiry and revocation, the audit log
//!   and its bound.
//! - `bounds`: the bound on a customer's unverified identities.
//! - `deadletters`: dead letters kept once, newest first, bounded.
//! - `lifecycle`: deleting conversations and customers (erasure), and the
//!   retention scan.
//! - `trace`: the trace context a conversation keeps for agents' actions.
//! - `canned`: canned responses, shared and personal.
//! - `schedule`: the durable scheduler (put once, claimed once, cancelled,
//!   answers listed by period).
//! - `notes`: internal notes in the timeline and the wrap-up code of a
//!   resolve.
//! - `bots`: a bot's hold on a conversation, its open turn, messages,
//!   attributes, handoff and resolve; a closed queue's bot, once per
//!   closure.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, CustomerId, Identity, InboundMessage, QueueId};
use tokio::task::JoinSet;

mod accounts;
mod bots;
mod bounds;
mod canned;
mod customers;
mod deadletters;
mod history;
mod lifecycle;
mod notes;
mod router;
mod schedule;
mod timeline;
mod trace;
pub use accounts::{
    accounts_round_trip, audit_lists_newest_first, audit_trims_to_the_newest,
    sessions_expire_and_are_revoked,
};
pub use bots::{
    a_bot_answers_collects_and_hands_off, a_bot_holds_a_new_conversation_and_its_open_turn,
    a_bot_resolves_and_a_reopened_conversation_returns_to_it,
    a_closed_queue_hands_a_waiting_conversation_to_its_bot_once,
};
pub use bounds::unverified_identities_are_bounded;
pub use canned::canned_responses_shared_and_personal;
pub use customers::{
    concurrent_links_and_merges_are_race_free, customer_profile_lists_conversations,
    delivery_reports_move_forward_only, email_threads_and_attachments,
    link_identity_adds_or_merges, sms_opt_out_and_in, unmerge_restores_both_customers,
};
pub use deadletters::{dead_letters_are_kept_once_newest_first, dead_letters_keep_the_newest};
pub use history::{
    concurrent_ingests_are_serialized, data_survives_reopen, history_follows_acceptance_order,
    history_pages_without_gaps,
};
pub use lifecycle::{erased_customer_leaves_no_record, resolved_before_finds_old_resolved};
pub use notes::{internal_notes_keep_their_mark, resolve_keeps_the_wrapup_code};
pub use router::{
    daily_counts_add_up_and_survive_restart, open_conversations_exclude_resolved,
    router_admin_config_round_trips, router_state_round_trips,
};
pub use schedule::{
    answered_items_are_listed_by_period, concurrent_claims_have_one_winner,
    scheduled_items_are_claimed_once, scheduled_items_cancel_by_conversation,
    sent_items_are_listed_by_period,
};
pub use timeline::{
    assign_and_resolve_follow_the_status_rules,
    automatic_messages_have_no_agent_and_keep_their_notice, duplicate_message_is_stored_once,
    first_message_opens_then_continues, outbound_messages_continue_the_timeline,
    resolved_conversation_reopens_within_window,
};
pub use trace::conversation_keeps_the_latest_trace;

use crate::{
    ContactRecord, ContextStore, ContinuityPolicy, Ingested, PresenceRecord, RouterStore,
    StoreError,
};

/// Opens the store under test.
#[async_trait]
pub trait StoreFactory: Send + Sync {
    /// The implementation under test.
    type Store: ContextStore + RouterStore + crate::AccountStore;

    /// A store under test. Called again after the previous store was
    /// dropped, it must see the same data, as a restarted process would.
    async fn open(&self) -> Result<Arc<Self::Store>, StoreError>;
}

/// How long one store call may take before the check fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// The reopen window every check uses.
const WINDOW_MS: Millis = 10 * 60 * 1000;
const POLICY: ContinuityPolicy = ContinuityPolicy {
    reopen_window_ms: WINDOW_MS,
};
/// A fixed base time, so windows are exact.
const T0: Millis = 1_700_000_000_000;

/// One `#[tokio::test]` per check of this suite, each on a fresh store from
/// `$factory` (an expression, evaluated per test): the implementations'
/// test files call this, so a check added here runs against every store.
///
/// The list of checks lives here only; [`run_all`] expands the same list
/// (`@list run_all`).
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr) => {
        $crate::store_conformance_tests!(@list tests $factory);
    };
    (@list $mode:ident $factory:expr) => {
        $crate::store_conformance_tests! { @$mode $factory;
            first_message_opens_then_continues,
            duplicate_message_is_stored_once,
            resolved_conversation_reopens_within_window,
            outbound_messages_continue_the_timeline,
            automatic_messages_have_no_agent_and_keep_their_notice,
            assign_and_resolve_follow_the_status_rules,
            history_pages_without_gaps,
            history_follows_acceptance_order,
            data_survives_reopen,
            concurrent_ingests_are_serialized,
            router_state_round_trips,
            router_admin_config_round_trips,
            daily_counts_add_up_and_survive_restart,
            open_conversations_exclude_resolved,
            customer_profile_lists_conversations,
            link_identity_adds_or_merges,
            unmerge_restores_both_customers,
            concurrent_links_and_merges_are_race_free,
            email_threads_and_attachments,
            unverified_identities_are_bounded,
            delivery_reports_move_forward_only,
            sms_opt_out_and_in,
            accounts_round_trip,
            sessions_expire_and_are_revoked,
            audit_lists_newest_first,
            audit_trims_to_the_newest,
            erased_customer_leaves_no_record,
            resolved_before_finds_old_resolved,
            conversation_keeps_the_latest_trace,
            dead_letters_are_kept_once_newest_first,
            dead_letters_keep_the_newest,
            canned_responses_shared_and_personal,
            internal_notes_keep_their_mark,
            resolve_keeps_the_wrapup_code,
            a_bot_holds_a_new_conversation_and_its_open_turn,
            a_bot_answers_collects_and_hands_off,
            a_bot_resolves_and_a_reopened_conversation_returns_to_it,
            a_closed_queue_hands_a_waiting_conversation_to_its_bot_once,
            scheduled_items_are_claimed_once,
            scheduled_items_cancel_by_conversation,
            concurrent_claims_have_one_winner,
            answered_items_are_listed_by_period,
            sent_items_are_listed_by_period,
        }
    };
    (@tests $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::conformance::$name(&$factory).await;
            }
        )*
    };
    (@run_all $factory:expr; $($name:ident),* $(,)?) => {
        $(
            $crate::conformance::$name($factory).await;
        )*
    };
}

/// Runs every check of [`store_conformance_tests!`](crate::store_conformance_tests),
/// one after the other.
pub async fn run_all<F: StoreFactory>(factory: &F) {
    crate::store_conformance_tests!(@list run_all factory);
}

/// Unique names for one check's records.
struct Tag(String);

impl Tag {
    fn new() -> Self {
        Self(
            CustomerId::generate()
                .as_str()
                .trim_start_matches("cus_")
                .to_owned(),
        )
    }

    fn chat(&self, who: &str) -> Identity {
        Identity::ChatVisitor(format!("conformance-{who}-{}", self.0))
    }

    fn key(&self, name: &str) -> String {
        format!("conformance-{}-{name}", self.0)
    }
}

fn queue() -> QueueId {
    QueueId::from("que_conformance")
}

fn inbound(from: &Identity, key: &str, text: &str, at: Millis) -> InboundMessage {
    InboundMessage {
        idempotency_key: key.to_owned(),
        channel: from.channel().unwrap_or(Channel::CHAT),
        from: from.clone(),
        text: text.to_owned(),
        received_at_ms: at,
        topic: None,
        display_name: None,
        email: None,
        sms: None,
    }
}

fn contact(t: &Tag, conversation: &ConversationId, customer: &CustomerId) -> ContactRecord {
    ContactRecord {
        conversation_id: conversation.clone(),
        customer_id: customer.clone(),
        queue: queue(),
        channel: Channel::CHAT,
        queued_at_ms: T0,
        preferred_agent: Some(AgentId::from(format!("agt_sticky_{}", t.0))),
        assigned_agent: None,
        priority: 0,
        reasons: Vec::new(),
        language: None,
    }
}

fn presence(agent: &AgentId, state: &str, at: Millis) -> PresenceRecord {
    PresenceRecord {
        agent_id: agent.clone(),
        presence: state.to_owned(),
        reason: None,
        at_ms: at,
    }
}

fn ids<'a, T: ToString + 'a>(items: impl Iterator<Item = &'a T>) -> BTreeSet<String> {
    items.map(ToString::to_string).collect()
}

async fn open<F: StoreFactory>(factory: &F) -> Arc<F::Store> {
    step("open store", factory.open()).await
}

async fn join_all(mut tasks: JoinSet<Ingested>) -> Vec<Ingested> {
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => out.push(result),
            Err(e) => panic!("concurrent task failed: {e}"),
        }
    }
    out
}

/// Awaits one store call, failing the check on an error or a timeout.
async fn step<T>(what: &str, call: impl Future<Output = Result<T, StoreError>>) -> T {
    match tokio::time::timeout(STEP_TIMEOUT, call).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: no answer within {STEP_TIMEOUT:?}"),
    }
}

/// Awaits one store call that must fail.
async fn step_err<T: Debug>(
    what: &str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> StoreError {
    match tokio::time::timeout(STEP_TIMEOUT, call).await {
        Ok(Ok(value)) => panic!("{what}: expected an error, got {value:?}"),
        Ok(Err(e)) => e,
        Err(_) => panic!("{what}: no answer within {STEP_TIMEOUT:?}"),
    }
}
