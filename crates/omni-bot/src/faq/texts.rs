//! What the FAQ bot says besides its answers, per language: built in for
//! en, es, fr and de, each overridable in the file's `[texts.<lang>]`.

use serde::Deserialize;

/// The FAQ bot's own phrases in one language.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    /// The greeting, when the file has no `[greetings.<lang>]`.
    pub greeting: String,
    /// After a question the bot could not match.
    pub not_understood: String,
    /// Said when the conversation goes to a person.
    pub handoff: String,
    /// Put before a field's prompt when the answer did not fit.
    pub invalid: String,
    /// The option with which the customer asks for a person.
    pub person_option: String,
}

/// A `[texts.<lang>]` table: any phrase may be left out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TextsToml {
    greeting: Option<String>,
    not_understood: Option<String>,
    handoff: Option<String>,
    invalid: Option<String>,
    person_option: Option<String>,
}

impl TextsToml {
    /// These phrases over `base`.
    pub(super) fn over(self, base: Texts) -> Texts {
        Texts {
            greeting: self.greeting.unwrap_or(base.greeting),
            not_understood: self.not_understood.unwrap_or(base.not_understood),
            handoff: self.handoff.unwrap_or(base.handoff),
            invalid: self.invalid.unwrap_or(base.invalid),
            person_option: self.person_option.unwrap_or(base.person_option),
        }
    }
}

/// The built-in English phrases: what every other language falls back to.
pub fn english() -> Texts {
    texts(
        "Hello! I can answer common questions. What can I help you with?",
        "Sorry, I did not understand. Could you say it another way, or pick one of these?",
        "I am passing you to a person, who will see what you told me.",
        "That does not look right.",
        "Talk to a person",
    )
}

/// The built-in phrases of `language`, if it has them.
pub fn built_in(language: &str) -> Option<Texts> {
    Some(match language {
        "en" => english(),
        "es" => texts(
            "¡Hola! Puedo responder las preguntas frecuentes. ¿En qué puedo ayudarte?",
            "Perdona, no te he entendido. ¿Puedes decirlo de otra forma o elegir una de estas opciones?",
            "Te paso con una persona, que verá lo que me has contado.",
            "Eso no parece correcto.",
            "Hablar con una persona",
        ),
        "fr" => texts(
            "Bonjour ! Je réponds aux questions fréquentes. Comment puis-je vous aider ?",
            "Désolé, je n'ai pas compris. Pouvez-vous reformuler, ou choisir l'une de ces options ?",
            "Je vous passe à un conseiller, qui verra ce que vous m'avez dit.",
            "Cela ne semble pas correct.",
            "Parler à un conseiller",
        ),
        "de" => texts(
            "Hallo! Ich beantworte häufige Fragen. Wobei kann ich helfen?",
            "Entschuldigung, das habe ich nicht verstanden. Können Sie es anders sagen oder eine Option wählen?",
            "Ich verbinde Sie mit einem Mitarbeiter, der sieht, was Sie mir gesagt haben.",
            "Das sieht nicht richtig aus.",
            "Mit einem Mitarbeiter sprechen",
        ),
        _ => return None,
    })
}

fn texts(
    greeting: &str,
    not_understood: &str,
    handoff: &str,
    invalid: &str,
    person_option: &str,
) -> Texts {
    Texts {
        greeting: greeting.to_owned(),
        not_understood: not_understood.to_owned(),
        handoff: handoff.to_owned(),
        invalid: invalid.to_owned(),
        person_option: person_option.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_language_has_every_phrase() {
        for language in ["en", "es", "fr", "de"] {
            let texts = built_in(language).expect(language);
            for phrase in [
                &texts.greeting,
                &texts.not_understood,
                &texts.handoff,
                &texts.invalid,
                &texts.person_option,
            ] {
                assert!(!phrase.is_empty(), "{language}");
            }
        }
        assert!(built_in("xx").is_none());
    }
}
