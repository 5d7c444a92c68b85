//! JSON views of proto types, as the browser pages and the desk's HTTP API
//! show them. One shape per type, shared by the chat adapter and the desk.

use serde::Serialize;

use crate::convert::channel_from_pb;
use crate::{common as pb, routing as rpb};

/// A timeline message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MessageView {
    /// Message id.
    pub id: String,
    /// Conversation id.
    pub conversation_id: String,
    /// Position in the timeline.
    pub seq: u64,
    /// `inbound` (customer) or `outbound` (agent).
    pub direction: &'static str,
    /// `chat`, `email` or `sms`.
    pub channel: &'static str,
    /// Text.
    pub text: String,
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    /// Agent id, for outbound messages.
    pub agent_id: Option<String>,
    /// Agent display name, for outbound messages.
    pub agent_name: Option<String>,
    /// `received`, `queued`, `sent`, `delivered` or `failed`.
    pub delivery: &'static str,
    /// The chat client's own id for a message it sent, so it can match its pending bubble.
    pub client_id: Option<String>,
    /// Email details: subject, sanitized HTML, quoted text, signature, attachments.
    /// (Boxed: most messages are not email, and views travel in enums.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Box<EmailJson>>,
    /// Why delivery failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// An event the message carried, in words (e.g. an SMS opt-out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// An agent's internal note: shown to agents only, marked.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    /// The bot that wrote it (outbound); absent for an agent's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<String>,
    /// Quick-reply options offered with it (a bot's, a survey's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// The email part of a timeline message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EmailJson {
    /// Subject.
    pub subject: String,
    /// The sender's address (inbound mail; empty in mail stored before it
    /// was kept, and for outbound mail).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// Message-ID.
    pub message_id: String,
    /// Sanitized HTML (empty for plain text).
    pub html: String,
    /// Quoted earlier text, separated from the new text.
    pub quoted: String,
    /// Signature.
    pub signature: String,
    /// Attachments, without content.
    pub attachments: Vec<AttachmentJson>,
}

/// An attachment of a timeline message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AttachmentJson {
    /// Index, from 1 (download with it).
    pub index: u32,
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether the content can be downloaded.
    pub stored: bool,
}

/// The notice of a message, in words.
fn notice_text(n: &pb::Notice) -> Option<String> {
    use pb::notice::Kind;
    match n.kind.as_ref()? {
        Kind::SmsOptOut(c) => Some(format!(
            "customer opted out of SMS on {} ({})",
            c.phone, c.keyword
        )),
        Kind::SmsOptIn(c) => Some(format!(
            "customer opted in to SMS again on {} ({})",
            c.phone, c.keyword
        )),
        Kind::QueueFull(q) => Some(format!(
            "not routed: queue {} was full; the customer got the automatic answer and the conversation was resolved",
            q.queue
        )),
        Kind::QueueClosed(q) => Some(format!(
            "queue {} was closed; the customer got the closed reply and waits for the opening",
            q.queue
        )),
        Kind::InternalNote(n) if !n.transfer_to.is_empty() => {
            Some(format!("transferred to {}", n.transfer_to))
        }
        Kind::InternalNote(n) if !n.wrapup_code.is_empty() => {
            Some(format!("resolved with wrap-up code {}", n.wrapup_code))
        }
        Kind::InternalNote(_) => None,
    }
}

impl MessageView {
    /// The view of `m`; `agent_name` resolves agent ids to names.
    pub fn new(m: &pb::Message, agent_name: impl Fn(&str) -> Option<String>) -> Self {
        let agent_id = (!m.agent_id.is_empty()).then(|| m.agent_id.clone());
        Self {
            id: m.id.clone(),
            conversation_id: m.conversation_id.clone(),
            seq: m.seq,
            direction: match pb::Direction::try_from(m.direction) {
                Ok(pb::Direction::Outbound) => "outbound",
                _ => "inbound",
            },
            channel: channel_name(m.channel, &m.channel_name),
            text: m.text.clone(),
            at_ms: m.at_ms,
            agent_name: agent_id.as_deref().and_then(agent_name),
            agent_id,
            delivery: match pb::DeliveryStatus::try_from(m.delivery) {
                Ok(pb::DeliveryStatus::Queued) => "queued",
                Ok(pb::DeliveryStatus::Sent) => "sent",
                Ok(pb::DeliveryStatus::Delivered) => "delivered",
                Ok(pb::DeliveryStatus::Failed) => "failed",
                Ok(pb::DeliveryStatus::Read) => "read",
                _ => "received",
            },
            client_id: m
                .idempotency_key
                .strip_prefix("chat:")
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, client)| client.to_owned()),
            email: m.email.as_ref().map(|e| {
                Box::new(EmailJson {
                    subject: e.subject.clone(),
                    from: e.from.clone(),
                    message_id: e.message_id.clone(),
                    html: e.html.clone(),
                    quoted: e.quoted.clone(),
                    signature: e.signature.clone(),
                    attachments: e
                        .attachments
                        .iter()
                        .map(|a| AttachmentJson {
                            index: a.index,
                            name: a.name.clone(),
                            content_type: a.content_type.clone(),
                            size: a.size,
                            stored: a.stored,
                        })
                        .collect(),
                })
            }),
            error: (!m.error.is_empty()).then(|| m.error.clone()),
            notice: m.notice.as_ref().and_then(notice_text),
            internal: matches!(
                m.notice.as_ref().and_then(|n| n.kind.as_ref()),
                Some(pb::notice::Kind::InternalNote(_))
            ),
            bot: (!m.bot.is_empty()).then(|| m.bot.clone()),
            options: m.options.clone(),
        }
    }
}

fn channel_name(value: i32, name: &str) -> &'static str {
    channel_from_pb(value, name)
        .map(|c| c.as_str())
        .unwrap_or("unknown")
}

/// A conversation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConversationView {
    /// Conversation id.
    pub id: String,
    /// Customer id.
    pub customer_id: String,
    /// `queued`, `assigned`, `resolved` or `bot`.
    pub status: &'static str,
    /// Queue id.
    pub queue: String,
    /// Channel the customer used last.
    pub last_channel: &'static str,
    /// Agent handling it.
    pub assigned_agent: Option<String>,
    /// Agent who handled it last.
    pub last_agent: Option<String>,
    /// Opened at, ms since the epoch.
    pub created_at_ms: i64,
    /// Last change, ms since the epoch.
    pub updated_at_ms: i64,
    /// Number of messages.
    pub message_count: u64,
    /// Email to this address threads into the conversation.
    pub reply_address: String,
    /// The trace id of its latest customer message (32 hex digits), to find
    /// in the traces backend; `None` when it arrived without one.
    pub trace_id: Option<String>,
    /// The wrap-up code of its latest resolve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapup_code: Option<String>,
    /// What is known about the contact (a bot's collected fields,
    /// enrichment's findings).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub attributes: std::collections::BTreeMap<String, String>,
    /// The bot's handoff to a person, shown at the top of the conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff: Option<HandoffView>,
}

/// A bot's handoff, as the desk shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HandoffView {
    /// The bot.
    pub bot: String,
    /// What the customer wants, in the bot's words.
    pub summary: String,
    /// The intent the bot understood.
    pub intent: String,
    /// Why it handed off.
    pub reason: String,
    /// Turns the bot took.
    pub turns: u32,
    /// When, ms since the epoch.
    pub at_ms: i64,
}

impl From<&pb::Conversation> for ConversationView {
    fn from(c: &pb::Conversation) -> Self {
        Self {
            id: c.id.clone(),
            customer_id: c.customer_id.clone(),
            status: match pb::ConversationStatus::try_from(c.status) {
                Ok(pb::ConversationStatus::Assigned) => "assigned",
                Ok(pb::ConversationStatus::Resolved) => "resolved",
                Ok(pb::ConversationStatus::Bot) => "bot",
                _ => "queued",
            },
            queue: c.queue.clone(),
            last_channel: channel_name(c.last_channel, &c.last_channel_name),
            assigned_agent: (!c.assigned_agent.is_empty()).then(|| c.assigned_agent.clone()),
            last_agent: (!c.last_agent.is_empty()).then(|| c.last_agent.clone()),
            created_at_ms: c.created_at_ms,
            updated_at_ms: c.updated_at_ms,
            message_count: c.message_count,
            reply_address: c.reply_address.clone(),
            trace_id: omni_core::trace::TraceContext::parse(&c.traceparent)
                .map(|t| t.trace_id_hex()),
            wrapup_code: (!c.wrapup_code.is_empty()).then(|| c.wrapup_code.clone()),
            attributes: c
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            handoff: c.handoff.as_ref().map(|h| HandoffView {
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

/// One identity of a customer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IdentityView {
    /// `chat_visitor`, `email`, `phone`, `sms_sender` or a declared kind.
    pub kind: std::borrow::Cow<'static, str>,
    /// The address, number or visitor id.
    pub value: String,
    /// Why the value is not what its kind usually guarantees, for the
    /// agent: set for an SMS sender that is not a valid phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// The note on an `sms_sender` identity.
pub const SMS_SENDER_NOTE: &str =
    "unverified: the sender as the SMS gateway gave it, not a valid phone number";

impl IdentityView {
    /// The view of an identity; `None` when it has no kind.
    pub fn new(i: &pb::Identity) -> Option<Self> {
        use pb::identity::Kind;
        i.kind.as_ref().map(|k| match k {
            // The visitor id is the visitor's credential: show only a prefix.
            Kind::ChatVisitor(v) => IdentityView {
                kind: "chat_visitor".into(),
                value: format!("{}…", v.chars().take(10).collect::<String>()),
                note: None,
            },
            Kind::Email(v) => IdentityView {
                kind: "email".into(),
                value: v.clone(),
                note: None,
            },
            Kind::Phone(v) => IdentityView {
                kind: "phone".into(),
                value: v.clone(),
                note: None,
            },
            Kind::SmsSender(v) => IdentityView {
                kind: "sms_sender".into(),
                value: v.clone(),
                note: Some(SMS_SENDER_NOTE),
            },
            Kind::Declared(d) => IdentityView {
                kind: d.kind.clone().into(),
                value: d.value.clone(),
                note: None,
            },
        })
    }
}

/// How an identity joined a customer, or an SMS opt-out of one.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IdentityEventView {
    /// The identity.
    pub identity: IdentityView,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// Who (agent id or `system`), for a link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The evidence of a link, or the keyword of an opt-out.
    pub detail: String,
}

/// A customer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CustomerView {
    /// Customer id.
    pub id: String,
    /// Name the customer gave.
    pub display_name: Option<String>,
    /// Every identity.
    pub identities: Vec<IdentityView>,
    /// Preferred language.
    pub language: Option<String>,
    /// Service tier.
    pub tier: Option<String>,
    /// External CRM id.
    pub external_id: Option<String>,
    /// Free-form attributes.
    pub attributes: std::collections::BTreeMap<String, String>,
    /// Identities nobody verified: typed by the customer, or the senders
    /// of mail into the customer's thread (a reply address or a quoted
    /// Message-ID proves nothing). Replies never go to them.
    pub unverified: Vec<IdentityView>,
    /// SMS opt-outs (`detail` is the keyword).
    pub sms_opt_outs: Vec<IdentityEventView>,
    /// How identities were linked (`detail` is the evidence).
    pub identity_sources: Vec<IdentityEventView>,
    /// Merges into this customer that can be undone.
    pub merge_ids: Vec<String>,
    /// Set when merged into another customer.
    pub merged_into: Option<String>,
}

impl From<&pb::Customer> for CustomerView {
    fn from(c: &pb::Customer) -> Self {
        let text = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Self {
            id: c.id.clone(),
            display_name: text(&c.display_name),
            identities: c.identities.iter().filter_map(IdentityView::new).collect(),
            language: text(&c.language),
            tier: text(&c.tier),
            external_id: text(&c.external_id),
            attributes: c.attributes.clone().into_iter().collect(),
            unverified: c.unverified.iter().filter_map(IdentityView::new).collect(),
            sms_opt_outs: c
                .sms_opt_outs
                .iter()
                .filter_map(|o| {
                    Some(IdentityEventView {
                        identity: IdentityView::new(o.identity.as_ref()?)?,
                        at_ms: o.at_ms,
                        by: None,
                        detail: o.keyword.clone(),
                    })
                })
                .collect(),
            identity_sources: c
                .identity_sources
                .iter()
                .filter_map(|s| {
                    let p = s.provenance.as_ref()?;
                    Some(IdentityEventView {
                        identity: IdentityView::new(s.identity.as_ref()?)?,
                        at_ms: p.at_ms,
                        by: Some(p.by.clone()),
                        detail: p.evidence.clone(),
                    })
                })
                .collect(),
            merge_ids: c.merge_ids.clone(),
            merged_into: text(&c.merged_into),
        }
    }
}

/// An offer to an agent.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OfferView {
    /// Offer id.
    pub offer_id: String,
    /// Conversation offered.
    pub conversation_id: String,
    /// Agent offered to.
    pub agent_id: String,
    /// Queue it came from.
    pub queue: String,
    /// Channel.
    pub channel: &'static str,
    /// Deadline to accept, ms since the epoch.
    pub expires_at_ms: i64,
    /// Since when the contact waits, ms since the epoch.
    pub queued_at_ms: i64,
}

impl From<&rpb::Offer> for OfferView {
    fn from(o: &rpb::Offer) -> Self {
        Self {
            offer_id: o.offer_id.clone(),
            conversation_id: o.conversation_id.clone(),
            agent_id: o.agent_id.clone(),
            queue: o.queue.clone(),
            channel: channel_name(o.channel, &o.channel_name),
            expires_at_ms: o.expires_at_ms,
            queued_at_ms: o.queued_at_ms,
        }
    }
}

/// Used and total capacity on one channel.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LoadView {
    /// Channel.
    pub channel: &'static str,
    /// Conversations held.
    pub used: u32,
    /// Capacity.
    pub capacity: u32,
}

/// An agent's state.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AgentView {
    /// Agent id.
    pub agent_id: String,
    /// Display name.
    pub name: String,
    /// `available`, `away` or `offline`.
    pub presence: &'static str,
    /// Why away, if set.
    pub away_reason: Option<String>,
    /// Load per channel.
    pub load: Vec<LoadView>,
    /// Live offers.
    pub offers: Vec<OfferView>,
    /// Conversations assigned.
    pub assigned: Vec<String>,
    /// Skills and proficiency.
    pub skills: std::collections::BTreeMap<String, u32>,
    /// When the present presence (and reason) began, epoch ms, as the
    /// router keeps it across restarts; absent when it does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_since_ms: Option<i64>,
}

impl From<&rpb::AgentState> for AgentView {
    fn from(a: &rpb::AgentState) -> Self {
        Self {
            agent_id: a.agent_id.clone(),
            name: a.name.clone(),
            presence: match rpb::Presence::try_from(a.presence) {
                Ok(rpb::Presence::Available) => "available",
                Ok(rpb::Presence::Away) => "away",
                _ => "offline",
            },
            away_reason: (!a.away_reason.is_empty()).then(|| a.away_reason.clone()),
            load: a
                .load
                .iter()
                .map(|l| LoadView {
                    channel: channel_name(l.channel, &l.channel_name),
                    used: l.used,
                    capacity: l.capacity,
                })
                .collect(),
            offers: a.offers.iter().map(OfferView::from).collect(),
            assigned: a.assigned.clone(),
            skills: a.skills.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            state_since_ms: (a.state_since_ms > 0).then_some(a.state_since_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agents_time_in_state_is_the_routers_when_it_gives_one() {
        let mut state = rpb::AgentState {
            agent_id: "bob".into(),
            presence: rpb::Presence::Away as i32,
            away_reason: "lunch".into(),
            state_since_ms: 1_700_000_000_000,
            ..Default::default()
        };
        assert_eq!(
            AgentView::from(&state).state_since_ms,
            Some(1_700_000_000_000)
        );
        state.state_since_ms = 0;
        assert_eq!(AgentView::from(&state).state_since_ms, None);
    }
    #[test]
    fn a_bots_message_carries_its_bot_and_options_and_an_agents_neither() {
        let bot = pb::Message {
            id: "m_1".into(),
            direction: pb::Direction::Outbound as i32,
            text: "Pick one".into(),
            bot: "faq".into(),
            options: vec!["Opening hours".into(), "Talk to a person".into()],
            ..Default::default()
        };
        let json = serde_json::to_value(MessageView::new(&bot, |_| None)).unwrap();
        assert_eq!(json["bot"], "faq");
        assert_eq!(
            json["options"],
            serde_json::json!(["Opening hours", "Talk to a person"])
        );
        let agent = pb::Message {
            agent_id: "bob".into(),
            bot: String::new(),
            options: vec![],
            ..bot
        };
        let json = serde_json::to_value(MessageView::new(&agent, |_| None)).unwrap();
        assert!(
            json.get("bot").is_none() && json.get("options").is_none(),
            "{json}"
        );
    }
}
