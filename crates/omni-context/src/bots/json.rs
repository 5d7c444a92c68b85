//! The JSON a webhook bot reads and writes: [`BotTurn`](bp::BotTurn) and
//! [`BotReply`](bp::BotReply) with field names as the proto3 JSON mapping
//! spells them (lowerCamelCase), so an author in Python or Node needs no
//! protobuf tooling.
//!
//! Written by hand (the generated types have no serde) and kept to what a
//! bot uses: a message carries its id, conversation, sequence, direction,
//! channel, agent, text, time, bot and options; a customer its id,
//! identities, name, language, tier, external id and attributes; a past
//! conversation its id, status, queue, channel, times, message count,
//! attributes and bot handoff. Enums are their proto names
//! (`"DIRECTION_INBOUND"`); 64-bit numbers are JSON numbers. Every field of
//! a reply is optional.

use std::collections::BTreeMap;

use omni_proto::adapter as ap;
use omni_proto::bot as bp;
use omni_proto::common as pb;
use serde::{Deserialize, Serialize};

/// A turn, as POSTed to the bot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Turn {
    pub turn_id: String,
    pub bot: String,
    pub conversation_id: String,
    pub queue: String,
    pub turn: u32,
    pub message: Option<Message>,
    pub option: String,
    pub history: Vec<Message>,
    pub customer: Option<Customer>,
    pub past_conversations: Vec<Conversation>,
    pub channel: Option<Capabilities>,
    pub attributes: BTreeMap<String, String>,
    pub fields: Vec<Field>,
    pub deadline_ms: i64,
    pub language: String,
}

/// A message of the conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub seq: u64,
    pub direction: String,
    pub channel: String,
    pub channel_name: String,
    pub agent_id: String,
    pub text: String,
    pub at_ms: i64,
    pub bot: String,
    pub options: Vec<String>,
}

/// One of the customer's identities: exactly one key is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Identity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_visitor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_sender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<Declared>,
}

/// An identity of a declared channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Declared {
    pub kind: String,
    pub value: String,
}

/// Who the customer is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Customer {
    pub id: String,
    pub identities: Vec<Identity>,
    pub display_name: String,
    pub language: String,
    pub tier: String,
    pub external_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// One of the customer's earlier conversations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Conversation {
    pub id: String,
    pub status: String,
    pub queue: String,
    pub last_channel: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub message_count: u64,
    pub attributes: BTreeMap<String, String>,
    pub handoff: Option<BotHandoff>,
}

/// How a bot handed a conversation off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BotHandoff {
    pub bot: String,
    pub summary: String,
    pub intent: String,
    pub reason: String,
    pub turns: u32,
    pub at_ms: i64,
}

/// What the customer's channel can carry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Capabilities {
    pub channel: String,
    pub max_text_chars: u32,
    pub attachments: bool,
    pub max_attachment_bytes: u64,
    pub rich_text: bool,
    pub read_receipts: bool,
    pub threading: bool,
    pub outbound_first: bool,
    pub identity_kind: String,
    pub quick_replies: bool,
}

/// Something the queue asks the bot to collect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Field {
    pub name: String,
    pub prompts: BTreeMap<String, String>,
    pub pattern: String,
}

/// The bot's answer, the response body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Reply {
    pub turn_id: String,
    pub bot: String,
    pub conversation_id: String,
    pub messages: Vec<BotMessage>,
    pub attributes: BTreeMap<String, String>,
    pub customer_attributes: BTreeMap<String, String>,
    /// `{}`: keep the conversation.
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    pub keep_going: Option<Empty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Handoff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolve: Option<Resolve>,
}

/// A message from the bot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BotMessage {
    pub text: String,
    pub options: Vec<String>,
}

/// `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Empty {}

/// Hand the conversation to a person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Handoff {
    pub queue: String,
    pub summary: String,
    pub intent: String,
    pub reason: String,
}

/// The conversation is resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resolve {
    pub reason: String,
}

impl From<&bp::BotTurn> for Turn {
    fn from(t: &bp::BotTurn) -> Self {
        Self {
            turn_id: t.turn_id.clone(),
            bot: t.bot.clone(),
            conversation_id: t.conversation_id.clone(),
            queue: t.queue.clone(),
            turn: t.turn,
            message: t.message.as_ref().map(Message::from),
            option: t.option.clone(),
            history: t.history.iter().map(Message::from).collect(),
            customer: t.customer.as_ref().map(Customer::from),
            past_conversations: t
                .past_conversations
                .iter()
                .map(Conversation::from)
                .collect(),
            channel: t.channel.as_ref().map(Capabilities::from),
            attributes: t.attributes.clone().into_iter().collect(),
            fields: t
                .fields
                .iter()
                .map(|f| Field {
                    name: f.name.clone(),
                    prompts: f.prompts.clone().into_iter().collect(),
                    pattern: f.pattern.clone(),
                })
                .collect(),
            deadline_ms: t.deadline_ms,
            language: t.language.clone(),
        }
    }
}

impl From<&pb::Message> for Message {
    fn from(m: &pb::Message) -> Self {
        Self {
            id: m.id.clone(),
            conversation_id: m.conversation_id.clone(),
            seq: m.seq,
            direction: m.direction().as_str_name().to_owned(),
            channel: m.channel().as_str_name().to_owned(),
            channel_name: m.channel_name.clone(),
            agent_id: m.agent_id.clone(),
            text: m.text.clone(),
            at_ms: m.at_ms,
            bot: m.bot.clone(),
            options: m.options.clone(),
        }
    }
}

impl From<&pb::Identity> for Identity {
    fn from(i: &pb::Identity) -> Self {
        use pb::identity::Kind;
        let mut out = Self::default();
        match &i.kind {
            Some(Kind::ChatVisitor(v)) => out.chat_visitor = Some(v.clone()),
            Some(Kind::Email(v)) => out.email = Some(v.clone()),
            Some(Kind::Phone(v)) => out.phone = Some(v.clone()),
            Some(Kind::SmsSender(v)) => out.sms_sender = Some(v.clone()),
            Some(Kind::Declared(d)) => {
                out.declared = Some(Declared {
                    kind: d.kind.clone(),
                    value: d.value.clone(),
                });
            }
            None => {}
        }
        out
    }
}

impl From<&pb::Customer> for Customer {
    fn from(c: &pb::Customer) -> Self {
        Self {
            id: c.id.clone(),
            identities: c.identities.iter().map(Identity::from).collect(),
            display_name: c.display_name.clone(),
            language: c.language.clone(),
            tier: c.tier.clone(),
            external_id: c.external_id.clone(),
            attributes: c.attributes.clone().into_iter().collect(),
        }
    }
}

impl From<&pb::Conversation> for Conversation {
    fn from(c: &pb::Conversation) -> Self {
        Self {
            id: c.id.clone(),
            status: c.status().as_str_name().to_owned(),
            queue: c.queue.clone(),
            last_channel: c.last_channel().as_str_name().to_owned(),
            created_at_ms: c.created_at_ms,
            updated_at_ms: c.updated_at_ms,
            message_count: c.message_count,
            attributes: c.attributes.clone().into_iter().collect(),
            handoff: c.handoff.as_ref().map(|h| BotHandoff {
                bot: h.bot.clone(),
                summary: h.summary.clone(),
                intent: h.intent.clone(),
                reason: h.reason.clone(),
                turns: h.turns,
                at_ms: h.at_ms,
            }),
        }
    }
}

impl From<&ap::Capabilities> for Capabilities {
    fn from(c: &ap::Capabilities) -> Self {
        Self {
            channel: c.channel.clone(),
            max_text_chars: c.max_text_chars,
            attachments: c.attachments,
            max_attachment_bytes: c.max_attachment_bytes,
            rich_text: c.rich_text,
            read_receipts: c.read_receipts,
            threading: c.threading,
            outbound_first: c.outbound_first,
            identity_kind: c.identity_kind.clone(),
            quick_replies: c.quick_replies,
        }
    }
}

impl From<Reply> for bp::BotReply {
    fn from(r: Reply) -> Self {
        use bp::bot_reply::Action;
        // One action at most; a body naming several is read in the order
        // handoff, resolve, continue (the safest for the customer first).
        let action = match (r.handoff, r.resolve, r.keep_going) {
            (Some(h), _, _) => Some(Action::Handoff(bp::Handoff {
                queue: h.queue,
                summary: h.summary,
                intent: h.intent,
                reason: h.reason,
            })),
            (None, Some(v), _) => Some(Action::Resolve(bp::Resolve { reason: v.reason })),
            (None, None, Some(_)) => Some(Action::Continue(bp::Continue {})),
            (None, None, None) => None,
        };
        Self {
            turn_id: r.turn_id,
            bot: r.bot,
            conversation_id: r.conversation_id,
            messages: r
                .messages
                .into_iter()
                .map(|m| bp::BotMessage {
                    text: m.text,
                    options: m.options,
                })
                .collect(),
            attributes: r.attributes.into_iter().collect(),
            customer_attributes: r.customer_attributes.into_iter().collect(),
            action,
        }
    }
}

impl From<&bp::BotReply> for Reply {
    fn from(r: &bp::BotReply) -> Self {
        use bp::bot_reply::Action;
        let mut out = Self {
            turn_id: r.turn_id.clone(),
            bot: r.bot.clone(),
            conversation_id: r.conversation_id.clone(),
            messages: r
                .messages
                .iter()
                .map(|m| BotMessage {
                    text: m.text.clone(),
                    options: m.options.clone(),
                })
                .collect(),
            attributes: r.attributes.clone().into_iter().collect(),
            customer_attributes: r.customer_attributes.clone().into_iter().collect(),
            ..Self::default()
        };
        match &r.action {
            Some(Action::Continue(_)) => out.keep_going = Some(Empty {}),
            Some(Action::Handoff(h)) => {
                out.handoff = Some(Handoff {
                    queue: h.queue.clone(),
                    summary: h.summary.clone(),
                    intent: h.intent.clone(),
                    reason: h.reason.clone(),
                });
            }
            Some(Action::Resolve(v)) => {
                out.resolve = Some(Resolve {
                    reason: v.reason.clone(),
                });
            }
            None => {}
        }
        out
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
