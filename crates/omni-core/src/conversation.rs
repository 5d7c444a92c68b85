//! Conversations and customers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::Millis;
use crate::{AgentId, Channel, ConversationId, CustomerId, Identity, QueueId};

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    /// Waiting for an agent.
    Queued,
    /// Accepted by an agent.
    Assigned,
    /// Closed by an agent; a new customer message may reopen it.
    Resolved,
    /// A bot holds it (docs/bots.md): in no queue, not waiting for a person.
    Bot,
}

/// One customer's conversation, across channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// The conversation id.
    pub id: ConversationId,
    /// Whose conversation it is.
    pub customer_id: CustomerId,
    /// Where it stands.
    pub status: ConversationStatus,
    /// The queue it routes through.
    pub queue: QueueId,
    /// The channel the customer used last; replies go there by default.
    pub last_channel: Channel,
    /// The identity the customer used last, on `last_channel`.
    pub last_identity: Identity,
    /// When it was opened.
    pub created_at_ms: Millis,
    /// When anything last changed.
    pub updated_at_ms: Millis,
    /// When it last entered the queue (its routing age); `None` unless queued.
    pub queued_at_ms: Option<Millis>,
    /// The agent handling it, while assigned.
    pub assigned_agent: Option<AgentId>,
    /// The agent who handled it last, kept after resolve.
    pub last_agent: Option<AgentId>,
    /// When it was resolved, while resolved.
    pub resolved_at_ms: Option<Millis>,
    /// How many messages its timeline holds; the last message's seq.
    pub message_count: u64,
    /// The W3C `traceparent` its latest customer message arrived with: an
    /// agent's action on the conversation continues that trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// The wrap-up code of its latest resolve, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapup_code: Option<String>,
    /// What is known about the contact for routing and for the agent:
    /// collected by a bot, found by enrichment. An empty map is left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Set once a bot handed the conversation to a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<BotHandoff>,
    /// The bot holding it or that held it last, with its turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotState>,
}

/// A bot's handoff of a conversation to a person (`common.v1.BotHandoff`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotHandoff {
    /// The bot that handed off.
    pub bot: String,
    /// What the customer wants, in the bot's words.
    #[serde(default)]
    pub summary: String,
    /// The customer's intent as the bot understood it.
    #[serde(default)]
    pub intent: String,
    /// Why: the bot's reason, or the context service's (`timeout`,
    /// `error`, `too_many_turns`, `asked_for_person`).
    pub reason: String,
    /// Turns the bot took.
    pub turns: u32,
    /// When.
    pub at_ms: Millis,
}

/// A bot's hold on a conversation: which bot, how many turns it took, and
/// the turn it must still answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotState {
    /// The bot's name (`[bots.<name>]`).
    pub bot: String,
    /// Turns published to the bot in this conversation.
    pub turns: u32,
    /// The turn waiting for the bot's reply, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_turn: Option<OpenTurn>,
    /// Set when the bot took the conversation because its queue was
    /// closed (`[queues.hours] closed_bot`): the closure it held it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closure: Option<Closure>,
}

/// A closure of a queue (business hours), named by the queue and the
/// opening that ends it: a conversation is given to a queue's closed bot
/// at most once per closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    /// The closed queue.
    pub queue: QueueId,
    /// When it opens (epoch ms); 0 when not within a year.
    pub opens_at_ms: Millis,
}

/// A turn published to a bot and not answered yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenTurn {
    /// The turn id the reply must name.
    pub turn_id: String,
    /// Its number in the conversation, from 1.
    pub turn: u32,
    /// When the bot's time is up (epoch ms): the conversation is then
    /// handed to a person with the reason `timeout`.
    pub deadline_ms: Millis,
}

/// A customer and every identity they are known by.
///
/// Optional collections are left out of the stored record while empty, so
/// that the record reads the same in every store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The customer id.
    pub id: CustomerId,
    /// Every identity, in the order they were learned.
    pub identities: Vec<Identity>,
    /// A display name the customer gave, if any.
    pub display_name: Option<String>,
    /// When the customer was first seen.
    pub created_at_ms: Millis,
    /// Preferred language (e.g. `de`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Service tier (e.g. `gold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The customer's id in an external CRM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Free-form key/values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Identities the customer typed (e.g. a pre-chat email) that nobody has
    /// verified: shown to agents, never used to find or merge customers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<Identity>,
    /// SMS opt-outs, by phone identity key (`phone:+1...`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub opt_outs: BTreeMap<String, OptOut>,
    /// How each identity came to belong to this customer, by identity key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identity_sources: BTreeMap<String, Provenance>,
    /// Merges into this customer that can still be undone, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merges: Vec<String>,
    /// Set when this customer was merged into another: the survivor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<CustomerId>,
}

impl Customer {
    /// A new customer known by one identity.
    pub fn new(id: CustomerId, identity: Identity, at_ms: Millis) -> Self {
        Self {
            id,
            identities: vec![identity],
            display_name: None,
            created_at_ms: at_ms,
            language: None,
            tier: None,
            external_id: None,
            attributes: BTreeMap::new(),
            unverified: Vec::new(),
            opt_outs: BTreeMap::new(),
            identity_sources: BTreeMap::new(),
            merges: Vec::new(),
            merged_into: None,
        }
    }

    /// The SMS opt-out of a phone identity, if the customer opted out.
    pub fn opt_out(&self, identity: &Identity) -> Option<&OptOut> {
        self.opt_outs.get(&identity.key())
    }
}

/// An SMS opt-out: when, and with which keyword.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    /// When the keyword arrived.
    pub at_ms: Millis,
    /// The keyword as sent (e.g. `STOP`).
    pub keyword: String,
}

/// Why two records were joined: what, when, by whom, on which evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// When.
    pub at_ms: Millis,
    /// Who: an agent id, or `system` for automatic links.
    pub by: String,
    /// The evidence, in words (e.g. `agent verified by phone call`,
    /// `email reply to reply+con_...@...`).
    pub evidence: String,
}

/// A partial update of a customer's attributes: `None` leaves a field as it
/// is, `Some("")` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerUpdate {
    /// Display name.
    pub display_name: Option<String>,
    /// Preferred language.
    pub language: Option<String>,
    /// Service tier.
    pub tier: Option<String>,
    /// External CRM id.
    pub external_id: Option<String>,
    /// Free-form attributes to set; an empty value removes the key.
    pub attributes: BTreeMap<String, String>,
}

impl CustomerUpdate {
    /// Applies the update to `customer`.
    pub fn apply(&self, customer: &mut Customer) {
        fn set(field: &mut Option<String>, value: &Option<String>) {
            if let Some(v) = value {
                *field = if v.is_empty() { None } else { Some(v.clone()) };
            }
        }
        set(&mut customer.display_name, &self.display_name);
        set(&mut customer.language, &self.language);
        set(&mut customer.tier, &self.tier);
        set(&mut customer.external_id, &self.external_id);
        for (k, v) in &self.attributes {
            if v.is_empty() {
                customer.attributes.remove(k);
            } else {
                customer.attributes.insert(k.clone(), v.clone());
            }
        }
    }
}

/// One merge of a customer into another, with everything needed to undo it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// The merge id.
    pub id: String,
    /// The customer that remained.
    pub survivor: CustomerId,
    /// The customer merged into it, as it was just before the merge.
    pub absorbed: Customer,
    /// The conversations that moved from the absorbed customer.
    pub conversations: Vec<ConversationId>,
    /// Attributes of the survivor that were empty and filled from the absorbed
    /// customer (field name → value), cleared again by unmerge unless changed since.
    #[serde(default)]
    pub filled: BTreeMap<String, String>,
    /// What, when, by whom, on which evidence.
    pub provenance: Provenance,
    /// When it was undone, by whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undone: Option<Provenance>,
}
