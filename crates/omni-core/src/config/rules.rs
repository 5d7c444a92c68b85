//! Routing rules: `[[rules]]`, conditions on what is known about a contact
//! (its enrichment, customer, channel and conversation attributes, in the
//! contact rules language of [`crate::contact_rules`]) that choose the
//! queue of a new conversation and the contact's priority in its queue
//! (docs/routing.md).
//!
//! ```toml
//! [[rules]]
//! name = "refunds"
//! when = 'intent == "refund"'
//! queue = "billing"          # a new conversation is routed here
//!
//! [[rules]]
//! name = "angry-customers"
//! when = "sentiment <= -0.5"
//! priority = 5               # 1-10: higher is offered first
//!
//! [[rules]]
//! name = "speak-their-language"
//! when = "lang"
//! require_language = true    # the agent must speak the message's language
//! ```

use serde::{Deserialize, Serialize};

use crate::contact_rules::Condition;

/// The highest contact priority a rule may set.
pub const MAX_CONTACT_PRIORITY: u8 = 10;

/// One `[[rules]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Its name, quoted by the router's explanation.
    pub name: String,
    /// The condition (contact rules language).
    pub when: String,
    /// The queue a new conversation goes to when it holds; the first rule
    /// that holds and has a queue chooses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The contact's priority in its queue when it holds, 1-10; the
    /// highest of the rules that hold counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// When it holds, the contact's agent must speak the message's
    /// language (`lang`, else the customer's `customer.language`) while
    /// its queue's base requirement is in force; from the queue's first
    /// relaxation step on, any agent the step allows (docs/routing.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_language: bool,
}

impl RuleConfig {
    /// The parsed condition, or why it does not parse, naming the rule
    /// (`rules[<i>] <name>`).
    pub fn condition(&self, index: usize) -> Result<Condition, String> {
        Condition::parse(&self.when).map_err(|e| format!("rules[{index}] {}: when: {e}", self.name))
    }

    /// Checks the rule alone; `queue_known` says whether a queue exists.
    pub(crate) fn check(
        &self,
        index: usize,
        queue_known: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        let at = format!("rules[{index}] {}", self.name);
        if self.name.trim().is_empty() {
            return Err(format!("rules[{index}]: a rule needs a name"));
        }
        self.condition(index)?;
        if let Some(queue) = &self.queue
            && !queue_known(queue)
        {
            return Err(format!("{at}: unknown queue {queue:?}"));
        }
        if let Some(priority) = self.priority
            && !(1..=MAX_CONTACT_PRIORITY).contains(&priority)
        {
            return Err(format!(
                "{at}: priority {priority} is outside 1-{MAX_CONTACT_PRIORITY}"
            ));
        }
        if self.queue.is_none() && self.priority.is_none() && !self.require_language {
            return Err(format!(
                "{at}: sets no queue, no priority and no require_language"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn validate(rules: &str) -> Result<Config, String> {
        let text = format!("[[queues]]\nid = \"support\"\n[[queues]]\nid = \"billing\"\n{rules}");
        let config = Config::parse(&text)?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn rules_parse_in_order() {
        let config = validate(
            "[[rules]]\nname = \"refunds\"\nwhen = 'intent == \"refund\"'\nqueue = \"billing\"\n\
             [[rules]]\nname = \"angry\"\nwhen = \"sentiment <= -0.5\"\npriority = 5\n",
        )
        .unwrap();
        assert_eq!(config.rules.len(), 2);
        assert_eq!(config.rules[0].queue.as_deref(), Some("billing"));
        assert_eq!(config.rules[1].priority, Some(5));
    }

    #[test]
    fn a_bad_rule_is_named_by_index_and_name() {
        let cases = [
            (
                "when = 'intent = \"refund\"'\nqueue = \"billing\"",
                "invalid configuration: rules[0] r: when: column 8: \"=\" is not an operator; use \"==\"",
            ),
            (
                "when = \"intent\"\nqueue = \"ghost\"",
                "invalid configuration: rules[0] r: unknown queue \"ghost\"",
            ),
            (
                "when = \"intent\"\npriority = 11",
                "invalid configuration: rules[0] r: priority 11 is outside 1-10",
            ),
            (
                "when = \"intent\"\npriority = 0",
                "invalid configuration: rules[0] r: priority 0 is outside 1-10",
            ),
            (
                "when = \"intent\"",
                "invalid configuration: rules[0] r: sets no queue, no priority and no require_language",
            ),
        ];
        for (body, expected) in cases {
            let err = validate(&format!("[[rules]]\nname = \"r\"\n{body}\n")).unwrap_err();
            assert_eq!(err, expected);
        }
        let err = validate("[[rules]]\nname = \" \"\nwhen = \"x\"\npriority = 1\n").unwrap_err();
        assert!(err.contains("rules[0]: a rule needs a name"), "{err}");
        let err = validate("[[rules]]\nname = \"r\"\nwhen = \"x\"\nprio = 1\n").unwrap_err();
        assert!(err.contains("prio"), "{err}");
    }

    #[test]
    fn a_rule_may_only_require_the_language() {
        let config = validate(
            "[[rules]]\nname = \"speak-their-language\"\nwhen = \"lang\"\nrequire_language = true\n",
        )
        .unwrap();
        assert!(config.rules[0].require_language);
        assert_eq!(config.rules[0].queue, None);
        assert_eq!(config.rules[0].priority, None);
        let plain =
            validate("[[rules]]\nname = \"angry\"\nwhen = \"sentiment <= -0.5\"\npriority = 5\n")
                .unwrap();
        assert!(!plain.rules[0].require_language, "off unless set");
        let err = validate("[[rules]]\nname = \"r\"\nwhen = \"lang\"\nrequire_language = false\n")
            .unwrap_err();
        assert!(
            err.contains("sets no queue, no priority and no require_language"),
            "{err}"
        );
    }
}
