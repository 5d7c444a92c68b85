//! Bots: `[bots.<name>]`, the programs that answer customers first
//! (docs/bots.md), and what a queue asks its bot to collect
//! (`[[queues]] bot`, `bot_fields`).
//!
//! ```toml
//! [bots.faq]
//! transport = "bus"          # or "webhook", with url and secret
//! faq_file = "faq.toml"      # the built-in FAQ bot, run in process
//! deadline_secs = 10
//! max_turns = 8
//! person_keywords = { en = ["agent", "person", "human"], es = ["agente", "persona"] }
//!
//! [[queues]]
//! id = "support"
//! bot = "faq"
//! bot_fields = [{ name = "order_number", prompts = { en = "What is your order number?" }, pattern = "^[0-9]{6}$" }]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How the context service reaches a bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BotTransport {
    /// Turns on `omni.bot.turn.<bot>`, replies on `omni.bot.reply`.
    #[default]
    Bus,
    /// Turns POSTed (signed) to `url`; the response is the reply.
    Webhook,
}

/// One `[bots.<name>]` table. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// How turns reach the bot.
    #[serde(default)]
    pub transport: BotTransport,
    /// The bot's HTTPS URL (webhook transport).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The key turns are signed with (webhook transport; at least
    /// [`super::MIN_WEBHOOK_KEY_BYTES`] bytes). `OMNI_BOTS_<NAME>_SECRET`
    /// overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The built-in FAQ bot answers as this bot, from this question and
    /// answer file (in process in embedded mode; `omni bot faq` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faq_file: Option<PathBuf>,
    /// Seconds the bot has to answer a turn before the conversation is
    /// handed to a person with the reason `timeout`. Default 10.
    #[serde(default = "default_deadline_secs")]
    pub deadline_secs: u64,
    /// Turns the bot may take in one conversation before it is handed to a
    /// person with the reason `too_many_turns`. Default 10.
    #[serde(default = "default_max_turns")]
    pub max_turns: u32,
    /// Words with which a customer asks for a person, per language
    /// (matched as whole words, case-insensitively); the defaults cover
    /// en, es, fr and de.
    #[serde(default = "default_person_keywords")]
    pub person_keywords: BTreeMap<String, Vec<String>>,
}

impl std::fmt::Debug for BotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotConfig")
            .field("transport", &self.transport)
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| super::REDACTED))
            .field("faq_file", &self.faq_file)
            .field("deadline_secs", &self.deadline_secs)
            .field("max_turns", &self.max_turns)
            .field("person_keywords", &self.person_keywords)
            .finish()
    }
}

/// Something a queue asks its bot to collect before a person takes over.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BotFieldConfig {
    /// The attribute it is kept under, e.g. `order_number`.
    pub name: String,
    /// What to ask, per language.
    #[serde(default)]
    pub prompts: BTreeMap<String, String>,
    /// A regular expression the answer must match; absent: any answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

fn default_deadline_secs() -> u64 {
    10
}

fn default_max_turns() -> u32 {
    10
}

fn default_person_keywords() -> BTreeMap<String, Vec<String>> {
    let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect();
    BTreeMap::from([
        (
            "en".to_owned(),
            words(&["agent", "person", "human", "operator", "representative"]),
        ),
        (
            "es".to_owned(),
            words(&["agente", "persona", "humano", "operador"]),
        ),
        (
            "fr".to_owned(),
            words(&["agent", "conseiller", "humain", "personne"]),
        ),
        (
            "de".to_owned(),
            words(&["mitarbeiter", "mensch", "berater", "person"]),
        ),
    ])
}

impl BotConfig {
    /// Checks the bot `name`'s table; the message names the key.
    pub fn check(&self, name: &str) -> Result<(), String> {
        let at = format!("bots.{name}");
        if !crate::channel::is_valid_name(name) {
            return Err(format!(
                "{at}: a bot name is lowercase letters, digits, '-' and '_', starting with a letter"
            ));
        }
        if self.deadline_secs == 0 || self.deadline_secs > 300 {
            return Err(format!(
                "{at}.deadline_secs: {} is outside 1-300",
                self.deadline_secs
            ));
        }
        if self.max_turns == 0 {
            return Err(format!("{at}.max_turns: must be at least 1"));
        }
        match self.transport {
            BotTransport::Webhook => {
                let url = self.url.as_deref().unwrap_or("");
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(format!("{at}.url: a webhook bot needs an http(s) URL"));
                }
                if self.secret.as_deref().map_or(0, str::len) < super::MIN_WEBHOOK_KEY_BYTES {
                    return Err(format!(
                        "{at}.secret: a webhook bot needs a key of at least {} bytes",
                        super::MIN_WEBHOOK_KEY_BYTES
                    ));
                }
                if self.faq_file.is_some() {
                    return Err(format!(
                        "{at}.faq_file: the built-in FAQ bot uses the bus transport"
                    ));
                }
            }
            BotTransport::Bus => {
                if self.url.is_some() {
                    return Err(format!("{at}.url: only a webhook bot has a URL"));
                }
            }
        }
        Ok(())
    }
}

impl BotFieldConfig {
    /// Checks one of queue `queue`'s `bot_fields`.
    pub fn check(&self, queue: &str) -> Result<(), String> {
        let at = format!("queues.{queue}.bot_fields");
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(format!(
                "{at}: field name {:?} must be letters, digits, '_', '-' or '.'",
                self.name
            ));
        }
        if self.prompts.is_empty() {
            return Err(format!("{at}.{}: give at least one prompt", self.name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn check(text: &str) -> Result<(), String> {
        Config::parse(text)?.validate().map_err(|e| e.to_string())
    }

    const QUEUE: &str = "[[queues]]\nid = \"support\"\nbot = \"faq\"\n";

    #[test]
    fn a_bus_bot_with_defaults_is_valid() {
        check(&format!("{QUEUE}[bots.faq]\n")).unwrap();
        let config = Config::parse(&format!("{QUEUE}[bots.faq]\n")).unwrap();
        let bot = &config.bots["faq"];
        assert_eq!((bot.deadline_secs, bot.max_turns), (10, 10));
        assert!(bot.person_keywords["en"].contains(&"agent".to_owned()));
    }

    #[test]
    fn a_webhook_bots_key_comes_from_the_environment_and_never_prints() {
        let mut config = Config::parse(&format!(
            "{QUEUE}[bots.faq]\ntransport = \"webhook\"\nurl = \"https://b.example/turn\"\n"
        ))
        .unwrap();
        let key = "k".repeat(40);
        let env =
            std::collections::BTreeMap::from([("OMNI_BOTS_FAQ_SECRET".to_owned(), key.clone())]);
        config.apply_env(&env).unwrap();
        config.validate().unwrap();
        assert_eq!(config.bots["faq"].secret.as_deref(), Some(key.as_str()));
        assert!(!format!("{:?}", config.bots["faq"]).contains(&key));
        let unknown =
            std::collections::BTreeMap::from([("OMNI_BOTS_NOPE_SECRET".to_owned(), key.clone())]);
        assert!(
            config.apply_env(&unknown).is_err(),
            "an unknown bot's key is refused"
        );
    }

    #[test]
    fn bad_bots_are_refused_naming_the_key() {
        for (text, want) in [
            (QUEUE.to_owned(), "queues.support.bot: unknown bot \"faq\""),
            (
                format!("{QUEUE}[bots.faq]\ndeadline_secs = 0\n"),
                "bots.faq.deadline_secs",
            ),
            (
                format!("{QUEUE}[bots.faq]\nmax_turns = 0\n"),
                "bots.faq.max_turns",
            ),
            (
                format!("{QUEUE}[bots.faq]\ntransport = \"webhook\"\n"),
                "bots.faq.url",
            ),
            (
                format!(
                    "{QUEUE}[bots.faq]\ntransport = \"webhook\"\nurl = \"https://b.example/turn\"\nsecret = \"short\"\n"
                ),
                "bots.faq.secret",
            ),
            (
                format!("{QUEUE}[bots.faq]\nurl = \"https://b.example\"\n"),
                "bots.faq.url",
            ),
            (
                format!(
                    "{QUEUE}bot_fields = [{{ name = \"order number\", prompts = {{ en = \"?\" }} }}]\n[bots.faq]\n"
                ),
                "queues.support.bot_fields",
            ),
            (
                format!("{QUEUE}bot_fields = [{{ name = \"order\" }}]\n[bots.faq]\n"),
                "queues.support.bot_fields.order",
            ),
        ] {
            let err = check(&text).expect_err(want);
            assert!(err.contains(want), "{want}: {err}");
        }
    }
}
