//! The FAQ bot's conversation, one turn at a time.
//!
//! The bot keeps no state of its own: everything it needs is in the turn
//! (the history with its own earlier messages, the attributes collected so
//! far, the queue's fields). So any replica can take any turn, a restart
//! loses nothing, and a redelivered turn gets the same answer.
//!
//! - An option the customer picked, or their text, that matches an entry
//!   (see `matching`): the entry's answer; the conversation continues.
//! - Nothing matches on the bot's first turn: the greeting, with options.
//! - Nothing matches after that: "sorry, say it another way", with options;
//!   the second miss in a row hands off (`no_answer`).
//! - The person option ("Talk to a person", localized): hand off
//!   (`asked_for_person`).
//! - Before a handoff, each of the queue's fields not yet collected is
//!   asked for, one by one, in the turn's language (else English); an
//!   answer that does not match the field's pattern is asked for once
//!   more, then the field is left out. Answers are kept as attributes.
//! - The handoff carries a summary (the customer's questions), the intent
//!   (the closest entry's id, if any came close at all) and the reason.

use std::collections::BTreeMap;

use omni_proto::bot::bot_reply::Action;
use omni_proto::bot::{BotMessage, BotReply, BotTurn, Continue, Field, Handoff};
use omni_proto::common::Message;

use super::file::Faq;
use super::matching::{best, words};

/// The handoff reason when the customer asked for a person.
pub const ASKED_FOR_PERSON: &str = "asked_for_person";
/// The handoff reason when the bot could not answer twice in a row.
pub const NO_ANSWER: &str = "no_answer";

/// How many of the customer's questions the summary quotes, at most.
const SUMMARY_QUESTIONS: usize = 3;

/// The FAQ bot's reply to `turn` (its `turn_id`, `bot` and
/// `conversation_id` are left for the runner to fill).
pub fn reply(faq: &Faq, turn: &BotTurn) -> BotReply {
    let language = if turn.language.is_empty() {
        faq.language.as_str()
    } else {
        turn.language.as_str()
    };
    let texts = faq.texts(language);
    let said = if turn.option.is_empty() {
        turn.message.as_ref().map_or("", |m| m.text.as_str())
    } else {
        turn.option.as_str()
    };
    let bot_messages: Vec<&Message> = turn.history.iter().filter(|m| !m.bot.is_empty()).collect();
    let last_bot = bot_messages.last().map(|m| m.text.as_str());
    let collected: BTreeMap<String, String> = turn
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    // Collecting a field: this message is its answer.
    if let Some((field, retried)) = last_bot.and_then(|text| asking(faq, &turn.fields, text)) {
        let mut attributes = collected.clone();
        let mut reply_attributes = BTreeMap::new();
        let answer = said.trim();
        if !fits(field, answer) {
            if !retried {
                let prompt = prompt(field, language);
                return keep_going(
                    vec![message(format!("{} {prompt}", texts.invalid), vec![])],
                    reply_attributes,
                );
            }
        } else {
            attributes.insert(field.name.clone(), answer.to_owned());
            reply_attributes.insert(field.name.clone(), answer.to_owned());
        }
        let after = turn
            .fields
            .iter()
            .skip_while(|f| f.name != field.name)
            .skip(1);
        return hand_off(faq, turn, language, after, &attributes, reply_attributes);
    }

    if is_person_option(faq, said) {
        return hand_off(
            faq,
            turn,
            language,
            turn.fields.iter(),
            &collected,
            BTreeMap::new(),
        );
    }

    let heard = words(said, language);
    let candidates = candidates(faq, language);
    if let Some((i, score)) = best(
        candidates.iter().map(|&i| (i, &faq.entries[i].matchable)),
        &heard,
    ) && score >= faq.threshold
    {
        let entry = &faq.entries[i];
        return keep_going(
            vec![message(entry.answer.clone(), entry.options.clone())],
            BTreeMap::new(),
        );
    }
    let options = greeting_options(faq, language);
    if bot_messages.is_empty() {
        let text = faq
            .greetings
            .get(language)
            .map_or(texts.greeting.clone(), |g| g.text.clone());
        return keep_going(vec![message(text, options)], BTreeMap::new());
    }
    if last_bot.is_some_and(|text| is_not_understood(faq, text)) {
        return hand_off(
            faq,
            turn,
            language,
            turn.fields.iter(),
            &collected,
            BTreeMap::new(),
        );
    }
    keep_going(
        vec![message(texts.not_understood.clone(), options)],
        BTreeMap::new(),
    )
}

/// Asks the first of `fields` not yet in `attributes`, or hands off.
fn hand_off<'a>(
    faq: &Faq,
    turn: &BotTurn,
    language: &str,
    mut fields: impl Iterator<Item = &'a Field>,
    attributes: &BTreeMap<String, String>,
    reply_attributes: BTreeMap<String, String>,
) -> BotReply {
    if let Some(field) = fields.find(|f| !attributes.contains_key(&f.name)) {
        return keep_going(
            vec![message(prompt(field, language).to_owned(), vec![])],
            reply_attributes,
        );
    }
    let questions = questions(faq, turn);
    let intent = questions
        .iter()
        .filter_map(|q| {
            let heard = words(q, language);
            best(
                faq.entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (i, &e.matchable)),
                &heard,
            )
        })
        .fold(None::<(usize, f64)>, |acc, (i, s)| match acc {
            Some((_, b)) if b >= s => acc,
            _ => Some((i, s)),
        })
        .map(|(i, _)| faq.entries[i].id.clone())
        .unwrap_or_default();
    let asked = turn
        .history
        .iter()
        .filter(|m| m.bot.is_empty())
        .map(|m| m.text.as_str())
        .chain([turn.option.as_str(), said_text(turn)])
        .any(|t| is_person_option(faq, t));
    BotReply {
        messages: vec![message(faq.texts(language).handoff.clone(), vec![])],
        attributes: reply_attributes.into_iter().collect(),
        action: Some(Action::Handoff(Handoff {
            queue: String::new(),
            summary: questions
                .iter()
                .rev()
                .take(SUMMARY_QUESTIONS)
                .rev()
                .cloned()
                .collect::<Vec<_>>()
                .join(" / "),
            intent,
            reason: if asked { ASKED_FOR_PERSON } else { NO_ANSWER }.to_owned(),
        })),
        ..BotReply::default()
    }
}

fn said_text(turn: &BotTurn) -> &str {
    turn.message.as_ref().map_or("", |m| m.text.as_str())
}

/// The customer's questions in the conversation, oldest first: what they
/// wrote, leaving out answers to the bot's field prompts, person-option
/// picks and words that carry nothing (greetings).
fn questions(faq: &Faq, turn: &BotTurn) -> Vec<String> {
    let mut out = Vec::new();
    let mut last_bot: Option<&str> = None;
    let current = turn.message.iter();
    for m in turn.history.iter().chain(current) {
        if !m.bot.is_empty() {
            last_bot = Some(m.text.as_str());
            continue;
        }
        let answers_a_field = last_bot.is_some_and(|t| asking(faq, &turn.fields, t).is_some());
        let text = m.text.trim();
        if answers_a_field || is_person_option(faq, text) || words(text, &faq.language).is_empty() {
            continue;
        }
        out.push(text.to_owned());
    }
    out
}

/// The field the bot's message `text` asks for, and whether it was the
/// second time of asking.
fn asking<'a>(faq: &Faq, fields: &'a [Field], text: &str) -> Option<(&'a Field, bool)> {
    fields.iter().find_map(|field| {
        field
            .prompts
            .values()
            .find(|p| !p.is_empty() && text.ends_with(p.as_str()))
            .map(|p| {
                let before = text[..text.len() - p.len()].trim();
                (
                    field,
                    !before.is_empty() && faq.texts.values().any(|t| before == t.invalid),
                )
            })
    })
}

/// Whether `answer` fits `field`'s pattern (any non-empty answer when it
/// has none; a pattern that is not a valid expression accepts any).
fn fits(field: &Field, answer: &str) -> bool {
    if answer.is_empty() {
        return false;
    }
    if field.pattern.is_empty() {
        return true;
    }
    match regex::Regex::new(&field.pattern) {
        Ok(pattern) => pattern.is_match(answer),
        Err(e) => {
            tracing::warn!(field = %field.name, error = %e, "field pattern is not a valid expression; any answer accepted");
            true
        }
    }
}

/// `field`'s prompt in `language`, else English, else any.
fn prompt<'a>(field: &'a Field, language: &str) -> &'a str {
    field
        .prompts
        .get(language)
        .or_else(|| field.prompts.get("en"))
        .or_else(|| field.prompts.iter().min_by_key(|(l, _)| *l).map(|(_, p)| p))
        .map_or(field.name.as_str(), String::as_str)
}

fn is_person_option(faq: &Faq, said: &str) -> bool {
    let said = said.trim();
    !said.is_empty()
        && faq
            .texts
            .values()
            .any(|t| t.person_option.eq_ignore_ascii_case(said) || t.person_option == said)
}

fn is_not_understood(faq: &Faq, text: &str) -> bool {
    faq.texts.values().any(|t| t.not_understood == text)
}

/// The entries a turn in `language` is matched against: those in that
/// language, or those in the file's language when none is.
fn candidates(faq: &Faq, language: &str) -> Vec<usize> {
    let of = |l: &str| -> Vec<usize> {
        faq.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.language == l)
            .map(|(i, _)| i)
            .collect()
    };
    let own = of(language);
    if own.is_empty() {
        of(&faq.language)
    } else {
        own
    }
}

/// The greeting's options in `language`, then the person option.
fn greeting_options(faq: &Faq, language: &str) -> Vec<String> {
    let mut options = faq
        .greetings
        .get(language)
        .map(|g| g.options.clone())
        .unwrap_or_default();
    options.push(faq.texts(language).person_option.clone());
    options
}

fn message(text: String, options: Vec<String>) -> BotMessage {
    BotMessage { text, options }
}

fn keep_going(messages: Vec<BotMessage>, attributes: BTreeMap<String, String>) -> BotReply {
    BotReply {
        messages,
        attributes: attributes.into_iter().collect(),
        action: Some(Action::Continue(Continue {})),
        ..BotReply::default()
    }
}
