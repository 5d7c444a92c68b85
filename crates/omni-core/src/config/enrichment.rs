//! Enrichment: `[enrichment]`, what the context service learns from each
//! customer message before routing it (docs/enrichment.md): sentiment,
//! language, and intent from rules; optionally an external enricher.
//!
//! ```toml
//! [enrichment]
//! deadline_ms = 200            # routing goes on without it after this
//! external = "crm-intents"     # an enricher on omni.enrich.request.<name>
//!
//! [[enrichment.intents]]
//! name = "refund"
//! language = "en"              # absent: every language
//! keywords = ["refund", "money back"]
//! patterns = ['\bcharged twice\b']
//! ```

use serde::{Deserialize, Serialize};

/// The `[enrichment]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichmentConfig {
    /// Whether customer messages are enriched at all. Default true.
    pub enabled: bool,
    /// Milliseconds enrichment may take before routing goes on without it
    /// (counted in metrics). Default 200.
    pub deadline_ms: u64,
    /// Score each message's sentiment (built in). Default true.
    pub sentiment: bool,
    /// Detect each message's language (built in). Default true.
    pub language: bool,
    /// An external enricher, asked on `omni.enrich.request.<name>` within
    /// the deadline; absent: none.
    pub external: Option<String>,
    /// Intent rules, tried in order; the first that matches names the
    /// message's intent.
    pub intents: Vec<IntentRuleConfig>,
}

impl Default for EnrichmentConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            deadline_ms: 200,
            sentiment: true,
            language: true,
            external: None,
            intents: Vec::new(),
        }
    }
}

/// One intent rule: the intent `name` when any keyword or pattern matches.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IntentRuleConfig {
    /// The intent, e.g. `refund`.
    pub name: String,
    /// Only for messages in this language (ISO 639-1); absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Words or phrases matched case-insensitively on word boundaries.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Regular expressions (Rust `regex` syntax), matched
    /// case-insensitively.
    #[serde(default)]
    pub patterns: Vec<String>,
}
