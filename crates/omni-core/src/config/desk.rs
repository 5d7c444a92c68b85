//! The `[desk]` section: what the agent's desk offers its agents.
//!
//! `away_reasons` is the list an agent picks from when going away (shown in
//! the desk's header, sent with the presence, kept by the router); the
//! desk refuses a reason not on it. The wrap-up codes an agent picks when
//! resolving are per queue (`[[queues]] wrapup_codes`), checked by
//! [`check_codes`].

use serde::Deserialize;

/// Longest away reason or wrap-up code, in bytes.
pub const MAX_CODE_BYTES: usize = 64;

/// What the agent's desk offers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeskConfig {
    /// The reasons an agent may give for going away, in the order shown.
    pub away_reasons: Vec<String>,
}

impl Default for DeskConfig {
    fn default() -> Self {
        Self {
            away_reasons: ["break", "lunch", "training", "meeting"]
                .map(str::to_owned)
                .to_vec(),
        }
    }
}

impl DeskConfig {
    /// Checks the reasons: at least one, each non-empty, short, unique.
    pub fn check(&self) -> Result<(), String> {
        if self.away_reasons.is_empty() {
            return Err("desk.away_reasons: at least one reason is required".into());
        }
        check_codes("desk.away_reasons", &self.away_reasons)
    }
}

/// Checks a list of codes (away reasons, wrap-up codes): each non-empty,
/// at most [`MAX_CODE_BYTES`], no control characters, no duplicates.
pub fn check_codes(key: &str, codes: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for code in codes {
        if code.trim().is_empty() || code.len() > MAX_CODE_BYTES {
            return Err(format!(
                "{key}: {code:?} must be 1-{MAX_CODE_BYTES} bytes and not blank"
            ));
        }
        if code.chars().any(char::is_control) {
            return Err(format!("{key}: {code:?} has a control character"));
        }
        if !seen.insert(code.as_str()) {
            return Err(format!("{key}: {code:?} is listed twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_checked() {
        assert!(DeskConfig::default().check().is_ok());
        let none = DeskConfig {
            away_reasons: Vec::new(),
        };
        assert!(none.check().is_err());
        let twice = DeskConfig {
            away_reasons: vec!["lunch".into(), "lunch".into()],
        };
        assert!(twice.check().unwrap_err().contains("listed twice"));
        let blank = DeskConfig {
            away_reasons: vec![" ".into()],
        };
        assert!(blank.check().unwrap_err().contains("not blank"));
    }

    #[test]
    fn wrapup_codes_are_checked() {
        let text = "[[queues]]\nid = \"sales\"\nwrapup_codes = [\"sold\", \"sold\"]\n";
        let config = crate::config::Config::parse(text).expect("parses");
        let err = config.validate().expect_err("a code twice").to_string();
        assert!(err.contains("queues.sales.wrapup_codes"), "{err}");
        let text = "[desk]\naway_reasons = []\n[[queues]]\nid = \"sales\"\n";
        let config = crate::config::Config::parse(text).expect("parses");
        let err = config.validate().expect_err("no reasons").to_string();
        assert!(err.contains("desk.away_reasons"), "{err}");
    }
}
