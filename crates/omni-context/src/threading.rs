//! Email threading: per-conversation reply addresses, finding the
//! conversation an inbound email continues, and the headers of an outbound
//! reply.
//!
//! An inbound email continues, in this order: the conversation whose reply
//! address (`reply+<conversation id>@<context.reply_domain>`) it was sent
//! to; the conversation holding the message its `In-Reply-To` names; the
//! conversation holding the newest message its `References` name. Otherwise
//! it goes to its sender's customer like any message. A changed subject does
//! not matter.

use omni_core::{ConversationId, Direction, EmailDetails, StoredEmail, StoredMessage};

/// The reply address of a conversation.
pub fn reply_address(conversation: &ConversationId, reply_domain: &str) -> String {
    format!("reply+{conversation}@{reply_domain}")
}

/// The conversation id in a reply address of `reply_domain`, if `to` is one.
/// The domain matches case-insensitively; the local part exactly.
pub fn parse_reply_address(to: &str, reply_domain: &str) -> Option<ConversationId> {
    let to = to.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = to.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(reply_domain) {
        return None;
    }
    let id = local.strip_prefix("reply+")?;
    let valid = id.starts_with("con_")
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| ConversationId::from(id))
}

/// The Message-IDs an inbound email refers to, most specific first:
/// In-Reply-To, then References from the newest.
pub fn referenced_ids(email: &EmailDetails) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    if let Some(id) = email.in_reply_to.as_deref().filter(|s| !s.is_empty()) {
        ids.push(id);
    }
    for id in email.references.iter().rev() {
        if !id.is_empty() && !ids.contains(&id.as_str()) {
            ids.push(id);
        }
    }
    ids
}

/// Most References an outbound reply carries (the oldest and the newest are
/// kept, as RFC 5322 suggests for long threads).
const MAX_REFERENCES: usize = 20;

/// The threading of an agent's email reply in a conversation whose email
/// messages so far are `history` (oldest first): Message-ID
/// `<message id>@<reply_domain>`, In-Reply-To the last inbound Message-ID,
/// References the chain, `Re: <thread subject>`, and the reply address.
pub fn outbound_email(
    message_id: &str,
    history: &[StoredMessage],
    reply_to: String,
    reply_domain: &str,
) -> StoredEmail {
    let emails: Vec<(&StoredMessage, &StoredEmail)> = history
        .iter()
        .filter_map(|m| m.email.as_ref().map(|e| (m, e)))
        .collect();
    let last_inbound = emails
        .iter()
        .rev()
        .find(|(m, e)| m.direction == Direction::Inbound && !e.message_id.is_empty())
        .map(|(_, e)| *e);
    let mut references: Vec<String> = last_inbound
        .map(|e| e.references.clone())
        .unwrap_or_default();
    for (_, e) in &emails {
        if !e.message_id.is_empty() && !references.contains(&e.message_id) {
            references.push(e.message_id.clone());
        }
    }
    if references.len() > MAX_REFERENCES {
        let tail = references.split_off(references.len() - (MAX_REFERENCES - 1));
        references.truncate(1);
        references.extend(tail);
    }
    let subject = emails
        .iter()
        .map(|(_, e)| e.subject.trim())
        .find(|s| !s.is_empty())
        .map(strip_reply_prefixes)
        .unwrap_or("Your conversation with us");
    let quoted = history
        .iter()
        .rev()
        .find(|m| m.direction == Direction::Inbound && !m.text.trim().is_empty())
        .map(quote)
        .unwrap_or_default();
    StoredEmail {
        message_id: format!("{message_id}@{reply_domain}"),
        in_reply_to: last_inbound.map(|e| e.message_id.clone()),
        references,
        subject: format!("Re: {subject}"),
        reply_to,
        quoted,
        ..StoredEmail::default()
    }
}

/// Most lines of the customer's message quoted under a reply.
const MAX_QUOTED_LINES: usize = 40;

/// The customer's message a reply answers, quoted under it as mail programs
/// do: `On 2026-12-06, ana@example.net wrote:`, then each line behind `> `
/// (the customer's new text only: what they quoted in turn is not repeated).
fn quote(message: &StoredMessage) -> String {
    let who = message
        .email
        .as_ref()
        .map(|e| e.from.as_str())
        .filter(|f| !f.is_empty())
        .unwrap_or("you");
    let mut out = format!("On {}, {who} wrote:", crate::service::date(message.at_ms));
    for line in message.text.trim_end().lines().take(MAX_QUOTED_LINES) {
        out.push_str(if line.is_empty() { "\n>" } else { "\n> " });
        out.push_str(line);
    }
    out
}

/// `Re: Fwd: RE: x` → `x`.
fn strip_reply_prefixes(mut subject: &str) -> &str {
    loop {
        let lower = subject.to_ascii_lowercase();
        let cut = ["re:", "fw:", "fwd:", "aw:", "wg:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match cut {
            Some(n) => subject = subject[n..].trim_start(),
            None => return subject,
        }
    }
}

#[cfg(test)]
mod tests {
    use omni_core::{Channel, DeliveryStatus, MessageId};

    use super::*;

    #[test]
    fn reply_addresses_round_trip_and_foreign_domains_do_not_match() {
        let id = ConversationId::from("con_0191abc");
        let addr = reply_address(&id, "reply.example.com");
        assert_eq!(addr, "reply+con_0191abc@reply.example.com");
        assert_eq!(
            parse_reply_address(&addr, "reply.example.com"),
            Some(id.clone())
        );
        assert_eq!(
            parse_reply_address("<reply+con_0191abc@REPLY.Example.com>", "reply.example.com"),
            Some(id)
        );
        assert_eq!(parse_reply_address(&addr, "other.example"), None);
        assert_eq!(
            parse_reply_address("support@reply.example.com", "reply.example.com"),
            None
        );
        assert_eq!(
            parse_reply_address("reply+x/../y@reply.example.com", "reply.example.com"),
            None
        );
    }

    fn email(direction: Direction, id: &str, subject: &str, refs: &[&str]) -> StoredMessage {
        StoredMessage {
            id: MessageId::generate(),
            conversation_id: ConversationId::from("con_1"),
            seq: 1,
            direction,
            channel: Channel::EMAIL,
            agent_id: None,
            text: String::new(),
            at_ms: 0,
            delivery: DeliveryStatus::Received,
            idempotency_key: id.into(),
            email: Some(StoredEmail {
                message_id: id.into(),
                subject: subject.into(),
                references: refs.iter().map(|s| s.to_string()).collect(),
                ..StoredEmail::default()
            }),
            error: None,
            notice: None,
            options: Vec::new(),
        }
    }

    #[test]
    fn a_reply_threads_to_the_last_inbound_email() {
        let history = vec![
            email(Direction::Inbound, "a@mail", "Order 42", &[]),
            email(
                Direction::Outbound,
                "m1@reply.example",
                "Re: Order 42",
                &["a@mail"],
            ),
            email(
                Direction::Inbound,
                "b@mail",
                "RE: Re: other subject",
                &["a@mail", "m1@reply.example"],
            ),
        ];
        let out = outbound_email(
            "msg_2",
            &history,
            "reply+con_1@reply.example".into(),
            "reply.example",
        );
        assert_eq!(out.message_id, "msg_2@reply.example");
        assert_eq!(out.in_reply_to.as_deref(), Some("b@mail"));
        assert_eq!(out.references, vec!["a@mail", "m1@reply.example", "b@mail"]);
        assert_eq!(out.subject, "Re: Order 42");
        assert_eq!(out.reply_to, "reply+con_1@reply.example");
        assert_eq!(out.quoted, "", "no customer text to quote");
    }

    #[test]
    fn a_reply_quotes_the_customers_last_message() {
        let mut first = email(Direction::Inbound, "a@mail", "Order 42", &[]);
        first.text = "Where is it?".into();
        let mut last = email(Direction::Inbound, "b@mail", "Order 42", &[]);
        last.text = "Still nothing.\n\nPlease check".into();
        last.at_ms = 1_764_979_200_000;
        if let Some(e) = last.email.as_mut() {
            e.from = "ana@example.net".into();
        }
        let out = outbound_email("msg_3", &[first, last], "r@x.example".into(), "x.example");
        assert_eq!(
            out.quoted,
            "On 2025-12-06, ana@example.net wrote:\n> Still nothing.\n>\n> Please check"
        );
    }

    #[test]
    fn a_first_email_reply_to_a_chat_has_a_subject_and_no_parent() {
        let out = outbound_email("msg_1", &[], "r@x.example".into(), "x.example");
        assert_eq!(out.in_reply_to, None);
        assert!(out.references.is_empty());
        assert_eq!(out.subject, "Re: Your conversation with us");
    }

    #[test]
    fn referenced_ids_prefer_in_reply_to_then_newest_reference() {
        let details = EmailDetails {
            in_reply_to: Some("c".into()),
            references: vec!["a".into(), "b".into(), "c".into()],
            ..EmailDetails::default()
        };
        assert_eq!(referenced_ids(&details), vec!["c", "b", "a"]);
    }
}
