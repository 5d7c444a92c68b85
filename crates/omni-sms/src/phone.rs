//! Phone numbers from providers, normalized to E.164 with a real
//! numbering-plan library; national formats resolve in the configured
//! default region.

use phonenumber::Mode;
use phonenumber::country::Id;

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// The text is not a phone number.
    #[error("{0:?} is not a phone number: {1}")]
    Unparsable(String, String),
    /// It parses but no numbering plan has it.
    #[error("{0:?} is not a valid phone number")]
    Invalid(String),
}

/// A region code such as `US`, as the library knows it.
pub fn region(code: &str) -> Option<Id> {
    code.parse().ok()
}

/// Parses `raw` (E.164, international with `00`, or national in `region`)
/// to E.164, e.g. `+14155550123`.
pub fn to_e164(raw: &str, region: Id) -> Result<String, PhoneError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Unparsable(raw.to_owned(), "empty".into()));
    }
    let number = phonenumber::parse(Some(region), trimmed)
        .map_err(|e| PhoneError::Unparsable(raw.to_owned(), e.to_string()))?;
    if !number.is_valid() {
        return Err(PhoneError::Invalid(raw.to_owned()));
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_international_and_national_forms() {
        let us = region("US").unwrap();
        assert_eq!(to_e164("+1 415 555 2671", us).unwrap(), "+14155552671");
        assert_eq!(to_e164("(415) 555-2671", us).unwrap(), "+14155552671");
        assert_eq!(to_e164("14155552671", us).unwrap(), "+14155552671");
        let gb = region("GB").unwrap();
        assert_eq!(to_e164("07400 123456", gb).unwrap(), "+447400123456");
        assert_eq!(to_e164("0044 7400 123456", gb).unwrap(), "+447400123456");
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        let us = region("US").unwrap();
        assert!(matches!(
            to_e164("hello", us),
            Err(PhoneError::Unparsable(..))
        ));
        assert!(matches!(to_e164("", us), Err(PhoneError::Unparsable(..))));
        assert!(to_e164("+1 000 000 0000", us).is_err());
        assert!(region("XX").is_none());
    }
}
