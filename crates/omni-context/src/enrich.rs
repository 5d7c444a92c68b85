//! The enrichment stage: what the context service learns from a customer
//! message before routing it (docs/enrichment.md), and the routing rules
//! (`[[rules]]`) evaluated on it.
//!
//! For each new customer message: the built-in analyzers ([`Enrich`]: the
//! `omni-enrich` engine) give its intent, sentiment and language; then, if
//! `[enrichment] external` names one, the external enricher is asked over
//! the bus (`omni.enrich.request.<name>`, request/reply) and what it sets
//! replaces the built-in results. All of it within `deadline_ms`: a late or
//! failing enricher is counted (`omni_enrichment_total{source,result}`) and
//! routing goes on with what is known (fail open). The facts, with the
//! customer's (`tier`, `customer.language`, `customer.<attribute>`) and the
//! channel, are what the rules' conditions read ([`Stage::decide`]).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use omni_bus::topology::subjects;
use omni_bus::{Bus, Message, RequestError};
use omni_core::config::{Config, EnrichmentConfig};
use omni_core::contact_rules::{Condition, Facts};
use omni_proto::enrich as en;
use omni_telemetry::metrics::{self, Histograms, SECONDS_BUCKETS};
use prost::Message as _;
use tracing::warn;

/// What an analyzer learned from one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnrichmentFacts {
    /// The intent, e.g. `refund`.
    pub intent: Option<String>,
    /// Sentiment, -1 (negative) to 1 (positive).
    pub sentiment: Option<f64>,
    /// `negative`, `neutral` or `positive`.
    pub sentiment_label: Option<String>,
    /// The message's language (ISO 639-1).
    pub lang: Option<String>,
    /// More facts by name (an external enricher's).
    pub attributes: BTreeMap<String, String>,
}

impl EnrichmentFacts {
    /// The facts as routing rules and the conversation's attributes name
    /// them: `intent`, `sentiment` (two decimals), `sentiment_label`,
    /// `lang`, and the other attributes.
    pub fn attributes(&self) -> Facts {
        let mut out = self.attributes.clone();
        if let Some(intent) = &self.intent {
            out.insert("intent".into(), intent.clone());
        }
        if let Some(score) = self.sentiment {
            out.insert("sentiment".into(), format!("{score:.2}"));
        }
        if let Some(label) = &self.sentiment_label {
            out.insert("sentiment_label".into(), label.clone());
        }
        if let Some(lang) = &self.lang {
            out.insert("lang".into(), lang.clone());
        }
        out
    }

    /// `other`'s facts over these: each one `other` knows replaces ours.
    fn overlay(&mut self, other: EnrichmentFacts) {
        if other.intent.is_some() {
            self.intent = other.intent;
        }
        if other.sentiment.is_some() {
            self.sentiment = other.sentiment;
            self.sentiment_label = other.sentiment_label;
        }
        if other.lang.is_some() {
            self.lang = other.lang;
        }
        self.attributes.extend(other.attributes);
    }
}

/// The built-in analyzers: the `omni-enrich` engine's shape.
pub trait Enrich: Send + Sync {
    /// What `text` says, with the customer's language as a hint.
    fn enrich(&self, text: &str, language_hint: Option<&str>) -> EnrichmentFacts;
}

/// The built-in analyzers: the `omni-enrich` engine.
impl Enrich for omni_enrich::Enricher {
    fn enrich(&self, text: &str, language_hint: Option<&str>) -> EnrichmentFacts {
        let found = omni_enrich::Enricher::enrich(self, text, language_hint);
        EnrichmentFacts {
            intent: found.intent.map(|i| i.name),
            sentiment: found.sentiment.map(|s| f64::from(s.score)),
            sentiment_label: found.sentiment.map(|s| s.label.as_str().to_owned()),
            lang: found.language.map(|l| l.code),
            attributes: BTreeMap::new(),
        }
    }
}

/// A message to enrich, with what is known around it.
#[derive(Debug, Clone, Default)]
pub struct Input<'a> {
    /// Its conversation, when known (empty for a message that may open
    /// one).
    pub conversation_id: &'a str,
    /// Its idempotency key.
    pub message_key: &'a str,
    /// Its text.
    pub text: &'a str,
    /// Its channel's name.
    pub channel: &'a str,
    /// The customer's language, tier and attributes, when the customer is
    /// known.
    pub customer: Option<&'a omni_core::Customer>,
}

/// What the rules decided for a contact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Every fact the rules could read (the message's, the customer's, the
    /// channel).
    pub facts: Facts,
    /// The message's own facts (enrichment), for the conversation.
    pub message_facts: Facts,
    /// The queue the first matching rule with a queue chose.
    pub queue: Option<String>,
    /// The highest priority of the matching rules; 0 when none.
    pub priority: u8,
    /// The language the contact's agent must speak: the message's `lang`
    /// (else `customer.language`) when a matching rule has
    /// `require_language`.
    pub language: Option<String>,
    /// The matching rules that did something, in order.
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// One line per rule that counted, e.g. `priority 5 by rule
    /// angry-customers: sentiment -0.82`; a rule's queue is named only
    /// when `queue_applied` (the conversation is in it because of the
    /// rule: one the message opened), and a rule that did nothing else
    /// then is left out.
    pub fn reason_lines(&self, queue_applied: bool) -> Vec<String> {
        self.reasons
            .iter()
            .filter_map(|r| r.line(queue_applied))
            .collect()
    }
}

/// What one rule did, and the facts it read.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// The rule's name.
    pub rule: String,
    /// The queue it chose (the first rule with a queue only).
    pub queue: Option<String>,
    /// The priority it set.
    pub priority: Option<u8>,
    /// The language it required (the first such rule only).
    pub language: Option<String>,
    /// `name value` of each fact its condition named, e.g. `sentiment
    /// -0.82`.
    pub cited: Vec<String>,
}

impl Reason {
    fn line(&self, queue_applied: bool) -> Option<String> {
        let mut did = Vec::new();
        if let Some(queue) = self.queue.as_ref().filter(|_| queue_applied) {
            did.push(format!("queue {queue}"));
        }
        if let Some(priority) = self.priority {
            did.push(format!("priority {priority}"));
        }
        if let Some(language) = &self.language {
            did.push(format!("language {language} required"));
        }
        if did.is_empty() {
            return None;
        }
        let cited = if self.cited.is_empty() {
            "always".to_owned()
        } else {
            self.cited.join(", ")
        };
        Some(format!("{} by rule {}: {cited}", did.join(", "), self.rule))
    }
}

/// One parsed `[[rules]]` entry.
struct Rule {
    name: String,
    condition: Condition,
    queue: Option<String>,
    priority: Option<u8>,
    require_language: bool,
}

/// The stage: the configuration, the built-in analyzers and the rules.
pub struct Stage {
    config: EnrichmentConfig,
    builtin: Option<Arc<dyn Enrich>>,
    rules: Vec<Rule>,
}

impl Stage {
    /// The stage of `config` with the built-in analyzers `builtin` (none:
    /// only an external enricher and the rules). A rule that does not parse
    /// (which `Config::validate` refuses) is left out.
    pub fn new(config: &Config, builtin: Option<Arc<dyn Enrich>>) -> Self {
        let rules = config
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r.condition(i) {
                Ok(condition) => Some(Rule {
                    name: r.name.clone(),
                    condition,
                    queue: r.queue.clone(),
                    priority: r.priority,
                    require_language: r.require_language,
                }),
                Err(e) => {
                    warn!(error = %e, "routing rule left out");
                    None
                }
            })
            .collect();
        Self {
            config: config.enrichment.clone(),
            builtin,
            rules,
        }
    }

    /// Whether any routing rule is configured.
    pub fn has_rules(&self) -> bool {
        !self.rules.is_empty()
    }

    /// Whether there is anything to do for a message.
    pub fn active(&self) -> bool {
        !self.rules.is_empty()
            || (self.config.enabled && (self.builtin.is_some() || self.config.external.is_some()))
    }

    /// Enriches `input` (built in, then external, within the deadline) and
    /// evaluates the rules on the facts.
    pub async fn run(&self, bus: &dyn Bus, input: &Input<'_>) -> Decision {
        let message = if self.config.enabled {
            self.enrich(bus, input).await
        } else {
            EnrichmentFacts::default()
        };
        self.decide(input, message.attributes())
    }

    async fn enrich(&self, bus: &dyn Bus, input: &Input<'_>) -> EnrichmentFacts {
        let started = Instant::now();
        let deadline = Duration::from_millis(self.config.deadline_ms);
        let hint = input.customer.and_then(|c| c.language.as_deref());
        let mut facts = EnrichmentFacts::default();
        if let Some(builtin) = &self.builtin {
            facts.overlay(builtin.enrich(input.text, hint));
            count("builtin", "ok", started);
        }
        if let Some(name) = &self.config.external {
            let left = deadline.saturating_sub(started.elapsed());
            let asked = Instant::now();
            match ask(bus, name, input, &facts, hint, left).await {
                Ok(found) => {
                    facts.overlay(found);
                    count("external", "ok", asked);
                }
                Err(e) => {
                    let result = match e {
                        ExternalError::Timeout => "timeout",
                        ExternalError::Failed(_) => "error",
                    };
                    count("external", result, asked);
                    warn!(
                        conversation_id = input.conversation_id,
                        enricher = %name,
                        %result,
                        error = %e,
                        "external enricher gave nothing; routing goes on without it"
                    );
                }
            }
        }
        facts
    }

    /// Evaluates the rules on the message's facts (`message`) with the
    /// customer's and the channel.
    pub fn decide(&self, input: &Input<'_>, message: Facts) -> Decision {
        let mut facts = message.clone();
        facts.insert("channel".into(), input.channel.to_owned());
        if let Some(customer) = input.customer {
            for (key, value) in &customer.attributes {
                facts.insert(format!("customer.{key}"), value.clone());
            }
            if let Some(tier) = &customer.tier {
                facts.insert("tier".into(), tier.clone());
                facts.insert("customer.tier".into(), tier.clone());
            }
            if let Some(language) = &customer.language {
                facts.insert("customer.language".into(), language.clone());
            }
        }
        let mut decision = Decision {
            message_facts: message,
            ..Decision::default()
        };
        for rule in &self.rules {
            if !rule.condition.holds(&facts) {
                continue;
            }
            let cited: Vec<String> = rule
                .condition
                .cited(&facts)
                .into_iter()
                .map(|(name, value)| format!("{name} {value}"))
                .collect();
            let queue = rule.queue.clone().filter(|_| decision.queue.is_none());
            // The message's language, else the customer's.
            let language = facts
                .get("lang")
                .or_else(|| facts.get("customer.language"))
                .filter(|_| rule.require_language && decision.language.is_none())
                .cloned();
            if queue.is_none() && rule.priority.is_none() && language.is_none() {
                continue;
            }
            if queue.is_some() {
                decision.queue.clone_from(&queue);
            }
            if language.is_some() {
                decision.language.clone_from(&language);
            }
            if let Some(priority) = rule.priority {
                decision.priority = decision.priority.max(priority);
            }
            decision.reasons.push(Reason {
                rule: rule.name.clone(),
                queue,
                priority: rule.priority,
                language,
                cited,
            });
        }
        decision.facts = facts;
        decision
    }
}

#[derive(Debug, thiserror::Error)]
enum ExternalError {
    #[error("no answer within the deadline")]
    Timeout,
    #[error("{0}")]
    Failed(String),
}

/// Asks the external enricher `name` within `left`.
async fn ask(
    bus: &dyn Bus,
    name: &str,
    input: &Input<'_>,
    builtin: &EnrichmentFacts,
    hint: Option<&str>,
    left: Duration,
) -> Result<EnrichmentFacts, ExternalError> {
    if left.is_zero() {
        return Err(ExternalError::Timeout);
    }
    let request = en::EnrichRequest {
        conversation_id: input.conversation_id.to_owned(),
        text: input.text.to_owned(),
        channel: input.channel.to_owned(),
        customer_language: hint.unwrap_or_default().to_owned(),
        builtin: builtin.attributes().into_iter().collect(),
        message_key: input.message_key.to_owned(),
    };
    let message = Message::new(subjects::enrich_request(name), request.encode_to_vec());
    let answer = omni_bus::request(bus, message, left)
        .await
        .map_err(|e| match e {
            RequestError::Timeout(_) => ExternalError::Timeout,
            RequestError::Bus(e) => ExternalError::Failed(e.to_string()),
        })?;
    let response = en::EnrichResponse::decode(answer.payload.as_ref())
        .map_err(|e| ExternalError::Failed(format!("undecodable answer: {e}")))?;
    let sentiment = response
        .sentiment
        .filter(|s| s.is_finite())
        .map(|s| s.clamp(-1.0, 1.0));
    let non_empty = |s: String| (!s.trim().is_empty()).then_some(s);
    Ok(EnrichmentFacts {
        intent: non_empty(response.intent),
        sentiment,
        sentiment_label: sentiment.map(|s| label(s).to_owned()),
        lang: non_empty(response.language),
        attributes: response.attributes.into_iter().collect(),
    })
}

/// The label of an external enricher's score: the built-in analyzers'
/// thresholds (±0.05, VADER's).
fn label(score: f64) -> &'static str {
    if score <= -0.05 {
        "negative"
    } else if score >= 0.05 {
        "positive"
    } else {
        "neutral"
    }
}

/// The attribute that keeps the sentiment of the conversation's latest
/// customer messages, oldest first, for the desk's trend.
pub const SENTIMENT_TREND: &str = "sentiment_trend";

/// How many scores [`SENTIMENT_TREND`] keeps.
pub const TREND_LEN: usize = 10;

/// The conversation's `sentiment_trend` after one more message scored
/// `score` (as `sentiment` spells it): `kept` (space-separated scores)
/// with `score` appended, at most [`TREND_LEN`] of the latest. A word in
/// `kept` that is not a number (an old or hand-edited value) is dropped.
pub fn push_trend(kept: Option<&str>, score: &str) -> String {
    let mut scores: Vec<&str> = kept
        .unwrap_or_default()
        .split_whitespace()
        .filter(|w| w.parse::<f64>().is_ok())
        .collect();
    scores.push(score);
    let from = scores.len().saturating_sub(TREND_LEN);
    scores[from..].join(" ")
}

fn count(source: &'static str, result: &'static str, since: Instant) {
    omni_telemetry::count!(
        "omni_enrichment_total",
        "customer messages enriched, by source (builtin, external) and result (ok, timeout, error)",
        &[("source", source), ("result", result)],
    );
    seconds().observe(&[("source", source)], since.elapsed().as_secs_f64());
}

fn seconds() -> &'static Histograms {
    static FAMILY: OnceLock<Histograms> = OnceLock::new();
    FAMILY.get_or_init(|| {
        metrics::histogram(
            "omni_enrichment_seconds",
            "time enrichment of a customer message took, by source",
            SECONDS_BUCKETS,
        )
    })
}

#[cfg(test)]
#[path = "enrich_tests.rs"]
mod tests;
