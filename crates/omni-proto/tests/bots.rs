//! A bot's marks on the wire: a conversation's bot status, attributes and
//! handoff, and a bot's message with its options, as the desk and the
//! chat page read them.

use std::collections::BTreeMap;

use omni_core::{
    BotHandoff, Channel, Conversation, ConversationStatus, DeliveryStatus, Direction, Identity,
    StoredMessage,
};
use omni_proto::common as pb;

#[test]
fn a_bot_held_conversation_carries_its_status_attributes_and_handoff() {
    let handoff = BotHandoff {
        bot: "faq".into(),
        summary: "refund for order 123".into(),
        intent: "refund".into(),
        reason: "asked_for_person".into(),
        turns: 2,
        at_ms: 5,
    };
    let c = Conversation {
        id: "con_1".into(),
        customer_id: "cus_1".into(),
        status: ConversationStatus::Bot,
        queue: "support".into(),
        last_channel: Channel::CHAT,
        last_identity: Identity::ChatVisitor("v".into()),
        created_at_ms: 1,
        updated_at_ms: 5,
        queued_at_ms: None,
        assigned_agent: None,
        last_agent: None,
        resolved_at_ms: None,
        message_count: 3,
        trace: None,
        wrapup_code: None,
        attributes: BTreeMap::from([("order".to_owned(), "123".to_owned())]),
        handoff: Some(handoff.clone()),
        bot: None,
    };
    let view = pb::Conversation::from(&c);
    assert_eq!(view.status, pb::ConversationStatus::Bot as i32);
    assert_eq!(
        view.attributes.get("order").map(String::as_str),
        Some("123")
    );
    let back = view.handoff.map(BotHandoff::from);
    assert_eq!(back, Some(handoff));
}

#[test]
fn a_bots_message_round_trips_with_its_bot_and_options() {
    let m = StoredMessage {
        id: "msg_1".into(),
        conversation_id: "con_1".into(),
        seq: 2,
        direction: Direction::Outbound,
        channel: Channel::SMS,
        agent_id: None,
        text: "Which one?".into(),
        at_ms: 1,
        delivery: DeliveryStatus::Queued,
        idempotency_key: "turn_1/0".into(),
        email: None,
        error: None,
        notice: None,
        bot: Some("faq".into()),
        options: vec!["Billing".into(), "Shipping".into()],
    };
    let wire = pb::Message::from(&m);
    assert_eq!((wire.bot.as_str(), wire.options.len()), ("faq", 2));
    assert_eq!(StoredMessage::try_from(wire).expect("valid"), m);
}
