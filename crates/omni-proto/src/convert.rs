//! Conversions between generated protobuf types and `omni-core` domain types.
//!
//! Domain to proto is infallible (`From`); proto to domain validates
//! (`TryFrom`) and names the offending field in [`ProtoError`].

use omni_core::{
    AgentId, Attachment, AttachmentInfo, Channel, Conversation, ConversationStatus, Customer,
    DeliveryStatus, Direction, EmailDetails, Identity, InboundMessage, MergeRecord, Notice,
    OptChange, Provenance, SmsDetails, StoredEmail, StoredMessage,
};

use crate::{common as pb, events as ev};

/// A protobuf message that does not make a valid domain value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError {
    /// The field, e.g. `from`.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ProtoError {}

fn missing(field: &'static str) -> ProtoError {
    ProtoError {
        field,
        reason: "required",
    }
}

impl From<Channel> for pb::Channel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::CHAT => pb::Channel::Chat,
            Channel::EMAIL => pb::Channel::Email,
            Channel::SMS => pb::Channel::Sms,
            _ => pb::Channel::Unspecified,
        }
    }
}

/// The domain channel of a proto (enum, name) pair: the name when set (a
/// channel this process knows), else the enum (old writers set only that).
/// `None` when neither names a known channel.
pub fn channel_from_pb(value: i32, name: &str) -> Option<Channel> {
    if name.is_empty() {
        channel_from_i32(value)
    } else {
        Channel::known(name).ok()
    }
}

/// The proto enum value of a channel (`CHANNEL_UNSPECIFIED` for one that
/// is not built in) and its name: writers set both.
pub fn channel_to_pb(channel: Channel) -> (i32, String) {
    (
        pb::Channel::from(channel) as i32,
        channel.as_str().to_owned(),
    )
}

/// The domain channel of a proto channel value; `None` when unspecified or unknown.
pub fn channel_from_i32(value: i32) -> Option<Channel> {
    match pb::Channel::try_from(value).ok()? {
        pb::Channel::Chat => Some(Channel::CHAT),
        pb::Channel::Email => Some(Channel::EMAIL),
        pb::Channel::Sms => Some(Channel::SMS),
        pb::Channel::Unspecified => None,
    }
}

fn channel_field(value: i32, name: &str, field: &'static str) -> Result<Channel, ProtoError> {
    channel_from_pb(value, name).ok_or(ProtoError {
        field,
        reason: "must name a declared channel",
    })
}

impl From<&Identity> for pb::Identity {
    fn from(i: &Identity) -> Self {
        use pb::identity::Kind;
        let kind = match i {
            Identity::ChatVisitor(v) => Kind::ChatVisitor(v.clone()),
            Identity::Email(v) => Kind::Email(v.clone()),
            Identity::Phone(v) => Kind::Phone(v.clone()),
            Identity::SmsSender(v) => Kind::SmsSender(v.clone()),
            Identity::Declared { kind, value } => Kind::Declared(pb::DeclaredIdentity {
                kind: kind.clone(),
                value: value.clone(),
            }),
        };
        pb::Identity { kind: Some(kind) }
    }
}

impl TryFrom<pb::Identity> for Identity {
    type Error = ProtoError;

    fn try_from(i: pb::Identity) -> Result<Self, ProtoError> {
        use pb::identity::Kind;
        let identity = match i.kind.ok_or(missing("identity"))? {
            Kind::ChatVisitor(v) => Identity::ChatVisitor(v),
            Kind::Email(v) => Identity::Email(v),
            Kind::Phone(v) => Identity::Phone(v),
            Kind::SmsSender(v) => Identity::SmsSender(v),
            Kind::Declared(d) => {
                if !omni_core::channel::is_valid_name(&d.kind) {
                    return Err(ProtoError {
                        field: "identity.declared.kind",
                        reason: "must be a kind name [a-z][a-z0-9_-]{0,31}",
                    });
                }
                Identity::of_kind(&d.kind, d.value)
            }
        };
        if identity.value().is_empty() {
            return Err(ProtoError {
                field: "identity",
                reason: "must not be empty",
            });
        }
        Ok(identity)
    }
}

impl From<&InboundMessage> for ev::InboundMessage {
    fn from(m: &InboundMessage) -> Self {
        ev::InboundMessage {
            idempotency_key: m.idempotency_key.clone(),
            channel: channel_to_pb(m.channel).0,
            channel_name: m.channel.as_str().to_owned(),
            from: Some((&m.from).into()),
            text: m.text.clone(),
            received_at_ms: m.received_at_ms,
            topic: m.topic.clone().unwrap_or_default(),
            display_name: m.display_name.clone().unwrap_or_default(),
            email: m.email.as_ref().map(|e| ev::EmailDetails {
                message_id: e.message_id.clone(),
                in_reply_to: e.in_reply_to.clone().unwrap_or_default(),
                references: e.references.clone(),
                subject: e.subject.clone(),
                to: e.to.clone(),
                html: e.html.clone(),
                quoted: e.quoted.clone(),
                signature: e.signature.clone(),
                attachments: e
                    .attachments
                    .iter()
                    .map(|a| ev::Attachment {
                        name: a.name.clone(),
                        content_type: a.content_type.clone(),
                        size: a.content.len() as u64,
                        content: a.content.clone(),
                    })
                    .collect(),
            }),
            sms: m.sms.as_ref().map(|s| ev::SmsDetails {
                provider: s.provider.clone(),
                provider_message_id: s.provider_message_id.clone(),
                to: s.to.clone(),
                segments: s.segments,
                opt: match s.opt {
                    None => ev::OptChange::Unspecified,
                    Some(OptChange::Out) => ev::OptChange::Out,
                    Some(OptChange::In) => ev::OptChange::In,
                } as i32,
            }),
        }
    }
}

impl TryFrom<ev::InboundMessage> for InboundMessage {
    type Error = ProtoError;

    fn try_from(m: ev::InboundMessage) -> Result<Self, ProtoError> {
        if m.idempotency_key.is_empty() {
            return Err(missing("idempotency_key"));
        }
        Ok(InboundMessage {
            idempotency_key: m.idempotency_key,
            channel: channel_field(m.channel, &m.channel_name, "channel")?,
            from: m.from.ok_or(missing("from"))?.try_into()?,
            text: m.text,
            received_at_ms: m.received_at_ms,
            topic: non_empty(m.topic),
            display_name: non_empty(m.display_name),
            email: m.email.map(|e| EmailDetails {
                message_id: e.message_id,
                in_reply_to: non_empty(e.in_reply_to),
                references: e.references,
                subject: e.subject,
                to: e.to,
                html: e.html,
                quoted: e.quoted,
                signature: e.signature,
                attachments: e
                    .attachments
                    .into_iter()
                    .map(|a| Attachment {
                        name: a.name,
                        content_type: a.content_type,
                        content: a.content,
                    })
                    .collect(),
            }),
            sms: m.sms.map(|s| SmsDetails {
                provider: s.provider,
                provider_message_id: s.provider_message_id,
                to: s.to,
                segments: s.segments,
                opt: match ev::OptChange::try_from(s.opt) {
                    Ok(ev::OptChange::Out) => Some(OptChange::Out),
                    Ok(ev::OptChange::In) => Some(OptChange::In),
                    _ => None,
                },
            }),
        })
    }
}

impl From<&StoredEmail> for pb::EmailView {
    fn from(e: &StoredEmail) -> Self {
        pb::EmailView {
            message_id: e.message_id.clone(),
            in_reply_to: e.in_reply_to.clone().unwrap_or_default(),
            references: e.references.clone(),
            subject: e.subject.clone(),
            html: e.html.clone(),
            quoted: e.quoted.clone(),
            signature: e.signature.clone(),
            attachments: e
                .attachments
                .iter()
                .map(|a| pb::AttachmentInfo {
                    index: a.index,
                    name: a.name.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                    stored: a.stored,
                })
                .collect(),
            reply_to: e.reply_to.clone(),
            from: e.from.clone(),
        }
    }
}

impl From<pb::EmailView> for StoredEmail {
    fn from(e: pb::EmailView) -> Self {
        StoredEmail {
            message_id: e.message_id,
            in_reply_to: non_empty(e.in_reply_to),
            references: e.references,
            subject: e.subject,
            html: e.html,
            quoted: e.quoted,
            signature: e.signature,
            attachments: e
                .attachments
                .into_iter()
                .map(|a| AttachmentInfo {
                    index: a.index,
                    name: a.name,
                    content_type: a.content_type,
                    size: a.size,
                    stored: a.stored,
                })
                .collect(),
            reply_to: e.reply_to,
            from: e.from,
        }
    }
}

impl From<&Notice> for pb::Notice {
    fn from(n: &Notice) -> Self {
        use pb::notice::Kind;
        let kind = match n {
            Notice::SmsOptOut { phone, keyword } => Kind::SmsOptOut(pb::SmsOptChange {
                phone: phone.clone(),
                keyword: keyword.clone(),
            }),
            Notice::SmsOptIn { phone, keyword } => Kind::SmsOptIn(pb::SmsOptChange {
                phone: phone.clone(),
                keyword: keyword.clone(),
            }),
            Notice::QueueFull { queue } => Kind::QueueFull(pb::QueueFull {
                queue: queue.clone(),
            }),
            Notice::InternalNote {
                transfer_to,
                wrapup_code,
            } => Kind::InternalNote(pb::InternalNote {
                transfer_to: transfer_to.clone().unwrap_or_default(),
                wrapup_code: wrapup_code.clone().unwrap_or_default(),
            }),
            Notice::QueueClosed { queue, opens_at_ms } => Kind::QueueClosed(pb::QueueClosed {
                queue: queue.clone(),
                opens_at_ms: opens_at_ms.unwrap_or(0),
            }),
        };
        pb::Notice { kind: Some(kind) }
    }
}

fn notice_from(n: pb::Notice) -> Option<Notice> {
    use pb::notice::Kind;
    match n.kind? {
        Kind::SmsOptOut(c) => Some(Notice::SmsOptOut {
            phone: c.phone,
            keyword: c.keyword,
        }),
        Kind::SmsOptIn(c) => Some(Notice::SmsOptIn {
            phone: c.phone,
            keyword: c.keyword,
        }),
        Kind::QueueFull(q) => Some(Notice::QueueFull { queue: q.queue }),
        Kind::InternalNote(n) => Some(Notice::InternalNote {
            transfer_to: (!n.transfer_to.is_empty()).then_some(n.transfer_to),
            wrapup_code: (!n.wrapup_code.is_empty()).then_some(n.wrapup_code),
        }),
        Kind::QueueClosed(q) => Some(Notice::QueueClosed {
            queue: q.queue,
            opens_at_ms: (q.opens_at_ms > 0).then_some(q.opens_at_ms),
        }),
    }
}

impl From<&Provenance> for pb::Provenance {
    fn from(p: &Provenance) -> Self {
        pb::Provenance {
            at_ms: p.at_ms,
            by: p.by.clone(),
            evidence: p.evidence.clone(),
        }
    }
}

impl From<&MergeRecord> for pb::MergeRecord {
    fn from(m: &MergeRecord) -> Self {
        pb::MergeRecord {
            id: m.id.clone(),
            survivor_id: m.survivor.to_string(),
            absorbed: Some(pb::Customer::from(&m.absorbed)),
            conversation_ids: m.conversations.iter().map(ToString::to_string).collect(),
            provenance: Some(pb::Provenance::from(&m.provenance)),
            undone: m.undone.as_ref().map(pb::Provenance::from),
        }
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

impl From<Direction> for pb::Direction {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Inbound => pb::Direction::Inbound,
            Direction::Outbound => pb::Direction::Outbound,
        }
    }
}

impl From<DeliveryStatus> for pb::DeliveryStatus {
    fn from(d: DeliveryStatus) -> Self {
        match d {
            DeliveryStatus::Received => pb::DeliveryStatus::Received,
            DeliveryStatus::Queued => pb::DeliveryStatus::Queued,
            DeliveryStatus::Sent => pb::DeliveryStatus::Sent,
            DeliveryStatus::Delivered => pb::DeliveryStatus::Delivered,
            DeliveryStatus::Failed => pb::DeliveryStatus::Failed,
            DeliveryStatus::Read => pb::DeliveryStatus::Read,
        }
    }
}

impl From<&StoredMessage> for pb::Message {
    fn from(m: &StoredMessage) -> Self {
        pb::Message {
            id: m.id.to_string(),
            conversation_id: m.conversation_id.to_string(),
            seq: m.seq,
            direction: pb::Direction::from(m.direction) as i32,
            channel: channel_to_pb(m.channel).0,
            channel_name: m.channel.as_str().to_owned(),
            agent_id: m
                .agent_id
                .as_ref()
                .map(AgentId::to_string)
                .unwrap_or_default(),
            text: m.text.clone(),
            at_ms: m.at_ms,
            delivery: pb::DeliveryStatus::from(m.delivery) as i32,
            idempotency_key: m.idempotency_key.clone(),
            email: m.email.as_ref().map(pb::EmailView::from),
            error: m.error.clone().unwrap_or_default(),
            notice: m.notice.as_ref().map(pb::Notice::from),
            bot: String::new(),
            options: m.options.clone(),
        }
    }
}

impl TryFrom<pb::Message> for StoredMessage {
    type Error = ProtoError;

    fn try_from(m: pb::Message) -> Result<Self, ProtoError> {
        let direction = match pb::Direction::try_from(m.direction) {
            Ok(pb::Direction::Inbound) => Direction::Inbound,
            Ok(pb::Direction::Outbound) => Direction::Outbound,
            _ => {
                return Err(ProtoError {
                    field: "direction",
                    reason: "must be inbound or outbound",
                });
            }
        };
        let delivery = match pb::DeliveryStatus::try_from(m.delivery) {
            Ok(pb::DeliveryStatus::Received) => DeliveryStatus::Received,
            Ok(pb::DeliveryStatus::Queued) => DeliveryStatus::Queued,
            Ok(pb::DeliveryStatus::Sent) => DeliveryStatus::Sent,
            Ok(pb::DeliveryStatus::Delivered) => DeliveryStatus::Delivered,
            Ok(pb::DeliveryStatus::Failed) => DeliveryStatus::Failed,
            Ok(pb::DeliveryStatus::Read) => DeliveryStatus::Read,
            _ => {
                return Err(ProtoError {
                    field: "delivery",
                    reason: "unknown status",
                });
            }
        };
        if m.id.is_empty() {
            return Err(missing("id"));
        }
        Ok(StoredMessage {
            id: m.id.into(),
            conversation_id: m.conversation_id.into(),
            seq: m.seq,
            direction,
            channel: channel_field(m.channel, &m.channel_name, "channel")?,
            agent_id: non_empty(m.agent_id).map(AgentId::from),
            text: m.text,
            at_ms: m.at_ms,
            delivery,
            idempotency_key: m.idempotency_key,
            email: m.email.map(StoredEmail::from),
            error: non_empty(m.error),
            notice: m.notice.and_then(notice_from),
            options: m.options,
        })
    }
}

impl From<ConversationStatus> for pb::ConversationStatus {
    fn from(s: ConversationStatus) -> Self {
        match s {
            ConversationStatus::Queued => pb::ConversationStatus::Queued,
            ConversationStatus::Assigned => pb::ConversationStatus::Assigned,
            ConversationStatus::Resolved => pb::ConversationStatus::Resolved,
        }
    }
}

impl From<&Conversation> for pb::Conversation {
    fn from(c: &Conversation) -> Self {
        pb::Conversation {
            id: c.id.to_string(),
            customer_id: c.customer_id.to_string(),
            status: pb::ConversationStatus::from(c.status) as i32,
            queue: c.queue.to_string(),
            last_channel: channel_to_pb(c.last_channel).0,
            last_channel_name: c.last_channel.as_str().to_owned(),
            created_at_ms: c.created_at_ms,
            updated_at_ms: c.updated_at_ms,
            assigned_agent: c
                .assigned_agent
                .as_ref()
                .map(AgentId::to_string)
                .unwrap_or_default(),
            last_agent: c
                .last_agent
                .as_ref()
                .map(AgentId::to_string)
                .unwrap_or_default(),
            message_count: c.message_count,
            queued_at_ms: c.queued_at_ms.unwrap_or(0),
            last_identity: Some(pb::Identity::from(&c.last_identity)),
            traceparent: c.trace.clone().unwrap_or_default(),
            wrapup_code: c.wrapup_code.clone().unwrap_or_default(),
            // Set by the context service, which knows the reply domain.
            reply_address: String::new(),
            attributes: Default::default(),
            handoff: None,
        }
    }
}

impl From<&Customer> for pb::Customer {
    fn from(c: &Customer) -> Self {
        pb::Customer {
            id: c.id.to_string(),
            identities: c.identities.iter().map(pb::Identity::from).collect(),
            display_name: c.display_name.clone().unwrap_or_default(),
            created_at_ms: c.created_at_ms,
            language: c.language.clone().unwrap_or_default(),
            tier: c.tier.clone().unwrap_or_default(),
            external_id: c.external_id.clone().unwrap_or_default(),
            attributes: c.attributes.clone().into_iter().collect(),
            unverified: c.unverified.iter().map(pb::Identity::from).collect(),
            sms_opt_outs: c
                .identities
                .iter()
                .filter_map(|i| {
                    c.opt_out(i).map(|o| pb::SmsOptOut {
                        identity: Some(pb::Identity::from(i)),
                        at_ms: o.at_ms,
                        keyword: o.keyword.clone(),
                    })
                })
                .collect(),
            identity_sources: c
                .identities
                .iter()
                .filter_map(|i| {
                    c.identity_sources
                        .get(&i.key())
                        .map(|p| pb::IdentitySource {
                            identity: Some(pb::Identity::from(i)),
                            provenance: Some(pb::Provenance::from(p)),
                        })
                })
                .collect(),
            merge_ids: c.merges.clone(),
            merged_into: c
                .merged_into
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_round_trips() {
        let m = InboundMessage {
            idempotency_key: "chat:v1:c1".into(),
            channel: Channel::CHAT,
            from: Identity::ChatVisitor("v1".into()),
            text: "hello".into(),
            received_at_ms: 42,
            topic: Some("sales".into()),
            display_name: None,
            email: None,
            sms: None,
        };
        let back = InboundMessage::try_from(ev::InboundMessage::from(&m)).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn email_and_sms_details_round_trip() {
        let mut m = InboundMessage {
            idempotency_key: "<a@b>".into(),
            channel: Channel::EMAIL,
            from: Identity::Email("ana@example.com".into()),
            text: "new".into(),
            received_at_ms: 7,
            topic: None,
            display_name: Some("Ana".into()),
            email: Some(EmailDetails {
                message_id: "a@b".into(),
                in_reply_to: Some("x@y".into()),
                references: vec!["w@y".into(), "x@y".into()],
                subject: "Hi".into(),
                to: "reply+con_1@reply.example".into(),
                html: "<p>new</p>".into(),
                quoted: "> old".into(),
                signature: "-- A".into(),
                attachments: vec![Attachment {
                    name: "a.pdf".into(),
                    content_type: "application/pdf".into(),
                    content: vec![1, 2, 3],
                }],
            }),
            sms: None,
        };
        let back = InboundMessage::try_from(ev::InboundMessage::from(&m)).unwrap();
        assert_eq!(back, m);
        m.email = None;
        m.channel = Channel::SMS;
        m.sms = Some(SmsDetails {
            provider: "twilio".into(),
            provider_message_id: "SM1".into(),
            to: "+15550001".into(),
            segments: 2,
            opt: Some(OptChange::Out),
        });
        let back = InboundMessage::try_from(ev::InboundMessage::from(&m)).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn inbound_without_sender_names_the_field() {
        let err = InboundMessage::try_from(ev::InboundMessage {
            idempotency_key: "k".into(),
            channel: pb::Channel::Chat as i32,
            channel_name: "chat".to_owned(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.field, "from");
    }
}
