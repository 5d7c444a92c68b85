//! The errors of building an enricher from its configuration.

/// Why an [`crate::Enricher`] could not be built; each names the
/// configuration key at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnrichError {
    /// An intent rule without a name.
    #[error("enrichment.intents[{index}]: the intent name is empty")]
    EmptyName {
        /// The rule's position in `enrichment.intents`.
        index: usize,
    },
    /// An intent rule that can never match.
    #[error("enrichment.intents[{index}] ({name}): {reason}")]
    Rule {
        /// The rule's position in `enrichment.intents`.
        index: usize,
        /// The rule's intent name.
        name: String,
        /// What is wrong, e.g. an invalid pattern and the regex error.
        reason: String,
    },
    /// A language code the detector does not know.
    #[error("unknown language code {code:?} (ISO 639-1 expected, e.g. \"en\")")]
    UnknownLanguage {
        /// The code as given.
        code: String,
    },
}
