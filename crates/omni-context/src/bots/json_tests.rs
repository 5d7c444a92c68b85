use serde_json::json;

use super::*;

fn turn() -> bp::BotTurn {
    bp::BotTurn {
        turn_id: "turn_m2".into(),
        bot: "faq".into(),
        conversation_id: "c1".into(),
        queue: "sales".into(),
        turn: 2,
        message: Some(pb::Message {
            id: "m2".into(),
            conversation_id: "c1".into(),
            seq: 3,
            direction: pb::Direction::Inbound as i32,
            channel: pb::Channel::Chat as i32,
            text: "Refunds".into(),
            at_ms: 1_700_000_000_123,
            ..pb::Message::default()
        }),
        option: "Refunds".into(),
        history: vec![pb::Message {
            id: "m1".into(),
            direction: pb::Direction::Outbound as i32,
            bot: "faq".into(),
            options: vec!["Opening hours".into(), "Refunds".into()],
            ..pb::Message::default()
        }],
        customer: Some(pb::Customer {
            id: "cu1".into(),
            identities: vec![pb::Identity {
                kind: Some(pb::identity::Kind::Email("jo@example.com".into())),
            }],
            display_name: "Jo".into(),
            language: "en".into(),
            attributes: [("tier".to_owned(), "gold".to_owned())].into(),
            ..pb::Customer::default()
        }),
        past_conversations: vec![pb::Conversation {
            id: "c0".into(),
            status: pb::ConversationStatus::Resolved as i32,
            handoff: Some(pb::BotHandoff {
                bot: "faq".into(),
                reason: "timeout".into(),
                ..pb::BotHandoff::default()
            }),
            ..pb::Conversation::default()
        }],
        channel: Some(ap::Capabilities {
            channel: "chat".into(),
            max_text_chars: 4000,
            quick_replies: true,
            ..ap::Capabilities::default()
        }),
        attributes: [("order_number".to_owned(), "123456".to_owned())].into(),
        fields: vec![bp::Field {
            name: "email".into(),
            prompts: [("en".to_owned(), "Your email?".to_owned())].into(),
            pattern: "@".into(),
        }],
        deadline_ms: 1_700_000_010_000,
        language: "en".into(),
    }
}

#[test]
fn a_turn_reads_in_lower_camel_case_with_enum_names() {
    let value = serde_json::to_value(Turn::from(&turn())).unwrap();
    assert_eq!(value["turnId"], "turn_m2");
    assert_eq!(value["conversationId"], "c1");
    assert_eq!(value["deadlineMs"], 1_700_000_010_000_i64);
    assert_eq!(value["message"]["text"], "Refunds");
    assert_eq!(value["message"]["direction"], "DIRECTION_INBOUND");
    assert_eq!(value["message"]["channel"], "CHANNEL_CHAT");
    assert_eq!(value["message"]["atMs"], 1_700_000_000_123_i64);
    assert_eq!(value["option"], "Refunds");
    assert_eq!(
        value["history"][0]["options"],
        json!(["Opening hours", "Refunds"])
    );
    assert_eq!(value["history"][0]["bot"], "faq");
    assert_eq!(
        value["customer"]["identities"][0],
        json!({"email": "jo@example.com"})
    );
    assert_eq!(value["customer"]["displayName"], "Jo");
    assert_eq!(value["customer"]["attributes"]["tier"], "gold");
    assert_eq!(
        value["pastConversations"][0]["status"],
        "CONVERSATION_STATUS_RESOLVED"
    );
    assert_eq!(
        value["pastConversations"][0]["handoff"]["reason"],
        "timeout"
    );
    assert_eq!(value["channel"]["quickReplies"], true);
    assert_eq!(value["channel"]["maxTextChars"], 4000);
    assert_eq!(value["attributes"]["order_number"], "123456");
    assert_eq!(value["fields"][0]["prompts"]["en"], "Your email?");
    // What a bot reads back is what was sent.
    let again: Turn = serde_json::from_value(value).unwrap();
    assert_eq!(again, Turn::from(&turn()));
}

#[test]
fn every_reply_round_trips_through_json_to_the_proto_type() {
    use bp::bot_reply::Action;
    let base = bp::BotReply {
        turn_id: "turn_m2".into(),
        bot: "faq".into(),
        conversation_id: "c1".into(),
        messages: vec![bp::BotMessage {
            text: "Which order?".into(),
            options: vec!["12345".into()],
        }],
        attributes: [("intent".to_owned(), "refund".to_owned())].into(),
        customer_attributes: [("tier".to_owned(), "gold".to_owned())].into(),
        action: None,
    };
    let actions = [
        None,
        Some(Action::Continue(bp::Continue {})),
        Some(Action::Handoff(bp::Handoff {
            queue: "support".into(),
            summary: "wants a refund".into(),
            intent: "refund".into(),
            reason: "no_answer".into(),
        })),
        Some(Action::Resolve(bp::Resolve {
            reason: "answered".into(),
        })),
    ];
    for action in actions {
        let reply = bp::BotReply {
            action,
            ..base.clone()
        };
        let text = serde_json::to_string(&Reply::from(&reply)).unwrap();
        let back: Reply = serde_json::from_str(&text).unwrap();
        assert_eq!(bp::BotReply::from(back), reply, "through {text}");
    }
}

#[test]
fn a_hand_written_reply_needs_only_what_it_says() {
    let body = r#"{"turnId":"t1","bot":"faq","conversationId":"c1",
        "messages":[{"text":"Hello"}],"continue":{}}"#;
    let reply = bp::BotReply::from(serde_json::from_str::<Reply>(body).unwrap());
    assert_eq!(reply.messages[0].text, "Hello");
    assert!(reply.messages[0].options.is_empty());
    assert_eq!(
        reply.action,
        Some(bp::bot_reply::Action::Continue(bp::Continue {}))
    );
    let handoff: Reply = serde_json::from_str(r#"{"handoff":{"summary":"s"}}"#).unwrap();
    assert!(matches!(
        bp::BotReply::from(handoff).action,
        Some(bp::bot_reply::Action::Handoff(h)) if h.summary == "s" && h.queue.is_empty()
    ));
    assert!(serde_json::from_str::<Reply>("not json").is_err());
}
