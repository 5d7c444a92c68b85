//! The FAQ bot's flow, turn by turn, without a bus.

use std::collections::HashMap;

use omni_proto::bot::bot_reply::Action;
use omni_proto::bot::{BotReply, BotTurn, Field, Handoff};
use omni_proto::common::{Direction, Message};

use super::Faq;
use super::flow::{ASKED_FOR_PERSON, NO_ANSWER, reply};

const FAQ: &str = r#"
[greetings.en]
text = "Hi! Ask me anything, or pick one:"
options = ["Opening hours", "Returns"]

[greetings.es]
text = "¡Hola! Pregunta lo que quieras:"
options = ["Horario"]

[[entries]]
id = "opening_hours"
questions = ["What are your opening hours?", "When are you open?"]
keywords = ["hours", "open", "close"]
answer = "We are open Monday to Friday, 9:00 to 18:00."

[[entries]]
id = "returns"
questions = ["How do I return an item?", "Can I get a refund?"]
keywords = ["return", "refund"]
answer = "You can return anything within 30 days."
options = ["Opening hours"]

[[entries]]
id = "horario"
language = "es"
questions = ["¿Cuál es vuestro horario?", "¿Cuándo abrís?"]
keywords = ["horario", "abrir", "abris"]
answer = "Abrimos de lunes a viernes, de 9:00 a 18:00."
"#;

/// A conversation with the bot: what the context service would send it.
struct Chat {
    faq: Faq,
    history: Vec<Message>,
    attributes: HashMap<String, String>,
    fields: Vec<Field>,
    language: String,
    turns: u32,
}

impl Chat {
    fn new(language: &str) -> Self {
        Self {
            faq: Faq::parse(FAQ).unwrap(),
            history: Vec::new(),
            attributes: HashMap::new(),
            fields: Vec::new(),
            language: language.to_owned(),
            turns: 0,
        }
    }

    fn with_field(mut self, name: &str, prompt: &str, pattern: &str) -> Self {
        self.fields.push(Field {
            name: name.to_owned(),
            prompts: HashMap::from([("en".to_owned(), prompt.to_owned())]),
            pattern: pattern.to_owned(),
        });
        self
    }

    fn turn(&mut self, text: &str, option: &str) -> BotReply {
        self.turns += 1;
        let message = Message {
            text: text.to_owned(),
            direction: Direction::Inbound as i32,
            ..Message::default()
        };
        let turn = BotTurn {
            turn_id: format!("t{}", self.turns),
            bot: "faq".into(),
            conversation_id: "k_1".into(),
            turn: self.turns,
            message: Some(message.clone()),
            option: option.to_owned(),
            history: self.history.clone(),
            attributes: self.attributes.clone(),
            fields: self.fields.clone(),
            language: self.language.clone(),
            ..BotTurn::default()
        };
        let reply = reply(&self.faq, &turn);
        self.history.push(message);
        for m in &reply.messages {
            self.history.push(Message {
                text: m.text.clone(),
                direction: Direction::Outbound as i32,
                bot: "faq".into(),
                options: m.options.clone(),
                ..Message::default()
            });
        }
        for (k, v) in &reply.attributes {
            self.attributes.insert(k.clone(), v.clone());
        }
        reply
    }

    fn say(&mut self, text: &str) -> BotReply {
        self.turn(text, "")
    }

    fn pick(&mut self, option: &str) -> BotReply {
        self.turn(option, option)
    }
}

fn text(reply: &BotReply) -> &str {
    &reply.messages[0].text
}

fn continues(reply: &BotReply) -> bool {
    matches!(reply.action, Some(Action::Continue(_)))
}

fn handoff(reply: &BotReply) -> &Handoff {
    match &reply.action {
        Some(Action::Handoff(h)) => h,
        other => panic!("expected a handoff, got {other:?}"),
    }
}

#[test]
fn a_greeting_gets_the_greeting_with_options_and_the_person_option() {
    let mut chat = Chat::new("en");
    let reply = chat.say("hello");
    assert!(continues(&reply));
    assert_eq!(text(&reply), "Hi! Ask me anything, or pick one:");
    assert_eq!(
        reply.messages[0].options,
        ["Opening hours", "Returns", "Talk to a person"]
    );
}

#[test]
fn a_question_is_answered_and_the_conversation_continues() {
    let mut chat = Chat::new("en");
    let reply = chat.say("when do you open on saturdays?");
    assert!(continues(&reply));
    assert_eq!(text(&reply), "We are open Monday to Friday, 9:00 to 18:00.");
    let reply = chat.pick("Returns");
    assert_eq!(text(&reply), "You can return anything within 30 days.");
    assert_eq!(reply.messages[0].options, ["Opening hours"]);
}

#[test]
fn spanish_is_answered_in_spanish_and_greeted_in_spanish() {
    let mut chat = Chat::new("es");
    assert_eq!(text(&chat.say("hola")), "¡Hola! Pregunta lo que quieras:");
    assert_eq!(
        chat.history[1].options,
        ["Horario", "Hablar con una persona"]
    );
    let reply = chat.say("¿Cuándo abrís?");
    assert_eq!(text(&reply), "Abrimos de lunes a viernes, de 9:00 a 18:00.");
}

#[test]
fn two_misses_in_a_row_hand_off_with_the_questions_and_the_closest_intent() {
    let mut chat = Chat::new("en");
    chat.say("hi");
    let reply = chat.say("my parcel arrived broken, can I return it");
    // "return" is a keyword: an answer, not a miss.
    assert_eq!(text(&reply), "You can return anything within 30 days.");
    let reply = chat.say("the courier was rude");
    assert!(continues(&reply));
    assert!(text(&reply).starts_with("Sorry, I did not understand"));
    assert!(
        reply.messages[0]
            .options
            .contains(&"Talk to a person".to_owned())
    );
    let reply = chat.say("he threw the box at my door");
    let handoff = handoff(&reply);
    assert_eq!(handoff.reason, NO_ANSWER);
    assert_eq!(
        handoff.summary,
        "my parcel arrived broken, can I return it / the courier was rude / he threw the box at my door"
    );
    assert_eq!(handoff.intent, "returns");
    assert!(text(&reply).contains("passing you to a person"));
}

#[test]
fn a_miss_then_an_answer_resets_the_count() {
    let mut chat = Chat::new("en");
    chat.say("hi");
    assert!(continues(&chat.say("blue elephants")));
    assert!(continues(&chat.say("opening hours")));
    assert!(continues(&chat.say("purple giraffes")));
}

#[test]
fn the_person_option_hands_off_at_once_in_any_language() {
    let mut chat = Chat::new("en");
    chat.say("hello");
    let reply = chat.pick("Talk to a person");
    let handoff = handoff(&reply);
    assert_eq!(handoff.reason, ASKED_FOR_PERSON);
    assert_eq!(handoff.intent, "");
    let mut chat = Chat::new("es");
    let reply = chat.say("hablar con una persona");
    assert_eq!(handoff_reason(&reply), ASKED_FOR_PERSON);
}

fn handoff_reason(reply: &BotReply) -> &str {
    &handoff(reply).reason
}

#[test]
fn fields_are_asked_one_by_one_and_checked_before_the_handoff() {
    let mut chat = Chat::new("en")
        .with_field("order_number", "What is your order number?", "^[0-9]{6}$")
        .with_field("email", "What is your account email?", "@");
    chat.say("hello");
    let reply = chat.pick("Talk to a person");
    assert!(continues(&reply));
    assert_eq!(text(&reply), "What is your order number?");
    let reply = chat.say("12ab");
    assert!(continues(&reply));
    assert_eq!(
        text(&reply),
        "That does not look right. What is your order number?"
    );
    let reply = chat.say("123456");
    assert_eq!(reply.attributes["order_number"], "123456");
    assert_eq!(text(&reply), "What is your account email?");
    let reply = chat.say("ana@example.com");
    assert_eq!(reply.attributes["email"], "ana@example.com");
    let handoff = handoff(&reply);
    assert_eq!(handoff.reason, ASKED_FOR_PERSON);
    // Field answers and the option are not the customer's question.
    assert_eq!(handoff.summary, "");
}

#[test]
fn a_field_answered_wrong_twice_is_left_out() {
    let mut chat = Chat::new("en").with_field("order_number", "Order number?", "^[0-9]{6}$");
    chat.say("hi");
    chat.say("xyzzy plugh");
    let reply = chat.say("frobnicate the quux");
    assert_eq!(text(&reply), "Order number?");
    assert!(continues(&chat.say("no idea")));
    let reply = chat.say("still no idea");
    assert!(!reply.attributes.contains_key("order_number"));
    let handoff = handoff(&reply);
    assert_eq!(handoff.reason, NO_ANSWER);
    assert_eq!(handoff.summary, "xyzzy plugh / frobnicate the quux");
}

#[test]
fn a_field_already_collected_is_not_asked_again() {
    let mut chat = Chat::new("en").with_field("order_number", "Order number?", "");
    chat.attributes
        .insert("order_number".into(), "654321".into());
    chat.say("hi");
    assert_eq!(
        handoff_reason(&chat.pick("Talk to a person")),
        ASKED_FOR_PERSON
    );
}

#[test]
fn a_prompt_in_the_turns_language_else_english() {
    let mut chat = Chat::new("es").with_field("order_number", "Order number?", "");
    chat.fields[0]
        .prompts
        .insert("es".into(), "¿Número de pedido?".into());
    chat.fields.push(Field {
        name: "email".into(),
        prompts: HashMap::from([("en".into(), "Email?".into())]),
        pattern: String::new(),
    });
    assert_eq!(
        text(&chat.pick("Hablar con una persona")),
        "¿Número de pedido?"
    );
    assert_eq!(text(&chat.say("123")), "Email?");
}

#[test]
fn the_same_turn_gets_the_same_reply() {
    let mut chat = Chat::new("en");
    chat.say("hi");
    let faq = Faq::parse(FAQ).unwrap();
    let turn = BotTurn {
        message: Some(Message {
            text: "blue elephants".into(),
            ..Message::default()
        }),
        history: chat.history.clone(),
        language: "en".into(),
        ..BotTurn::default()
    };
    assert_eq!(reply(&faq, &turn), reply(&faq, &turn));
}
